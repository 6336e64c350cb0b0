/*
 * Instances and their life: spawn, dispatch, keep-alive, death.
 *
 * An instance moves STARTING -> IDLE <-> BUSY -> FINISHING -> IDLE ... and
 * finally to ENDING, where it waits for the spawner's EXITED event before it
 * is freed. FINISHING is the short span between the runtime's answer and its
 * next request for work: a call arriving then is queued on that instance
 * rather than paying for a cold start, because the runtime is about to ask.
 *
 * Every write to a relay socket is appended to the instance's output buffer
 * and flushed once per loop iteration from a uv_check handle: a burst of
 * calls costs one write per instance, not one per call (DESIGN.md section 7).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/relay.h"
#include "pool/pool-internal.h"
#include "lib/banned.h"

static const char *const state_names[] = { "starting", "idle", "busy", "busy", "ending" };

void
pool__inst_freeze(struct instance *in)
{
	int r;

	if (in->frozen || in->freeze_fd < 0)
		return;
	r = sandbox_freeze(in->pool->sc, in->freeze_fd, true);
	if (r < 0) {
		/* Not worth ending it over: it merely keeps its CPU. */
		log_warn("cannot freeze instance %llu of '%s': %s", (unsigned long long)in->id,
			 in->fn->name, strerror(-r));
		return;
	}
	in->frozen = true;
	in->pool->fz.freezes++;
}

/* One write on the dispatch path, timed: `hearth stats` and the bench report
 * what thawing costs the daemon. */
void
pool__inst_thaw(struct instance *in)
{
	struct pool_freeze_stats *fz = &in->pool->fz;
	uint64_t t0, ns;
	int r;

	if (!in->frozen)
		return;
	t0 = clock_mono_ns();
	r = sandbox_freeze(in->pool->sc, in->freeze_fd, false);
	ns = clock_mono_ns() - t0;
	in->frozen = false;
	if (r < 0) {
		/* A frozen instance that cannot be thawed would hang its call. */
		log_error("cannot thaw instance %llu of '%s': %s", (unsigned long long)in->id,
			  in->fn->name, strerror(-r));
		return;
	}
	fz->thaws++;
	fz->thaw_ns_total += ns;
	if (ns > fz->thaw_ns_max)
		fz->thaw_ns_max = ns;
}

void
pool_freeze_stats(const struct pool *p, struct pool_freeze_stats *out)
{
	*out = p->fz;
}

/* An ending instance no longer counts against the memory budget: it is being
 * killed, and the kernel frees its memory within milliseconds. */
static void
set_ending(struct instance *in)
{
	if (in->state != INST_ENDING) {
		in->pool->used_mb -= pool__fn_mem_mb(in->fn);
		in->fn->group->live--;
	}
	in->state = INST_ENDING;
}

static char **
dup_vec(const char *const *v)
{
	size_t n = 0, i;
	char **out;

	while (v && v[n])
		n++;
	out = xcalloc(n + 1, sizeof(*out));
	for (i = 0; i < n; i++)
		out[i] = xstrdup(v[i]);
	return out;
}

static void
free_vec(char **v)
{
	size_t i;

	for (i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static void
fn_free(struct pool_fn *fn)
{
	struct pool_fn **pp;

	for (pp = &fn->pool->fns; *pp; pp = &(*pp)->next) {
		if (*pp == fn) {
			*pp = fn->next;
			break;
		}
	}
	pool__sched_fn_release(fn);
	pool__group_unref(fn->pool, fn->group);
	free(fn->name);
	free(fn->code_dir);
	free(fn->runtime_dir);
	free_vec(fn->argv);
	free_vec(fn->envp);
	free(fn);
}

/* A retired function's last instance is gone (or it never had one). */
static void
retired_free(struct pool_fn *fn)
{
	struct pool *p = fn->pool;
	char *code_dir = fn->code_dir;

	fn->code_dir = NULL;
	fn_free(fn);
	if (p->hooks->code_released)
		p->hooks->code_released(p->hooks_data, code_dir);
	free(code_dir);
}

/* A retired function goes once nothing refers to it: no instance, and no call
 * waiting for capacity that would start one with its code. */
void
pool__fn_maybe_free(struct pool_fn *fn)
{
	if (fn->retired && fn->ninst == 0 && fn->nwaiting == 0)
		retired_free(fn);
}

bool
pool_code_in_use(const struct pool *p, const char *code_dir)
{
	const struct pool_fn *fn;

	for (fn = p->fns; fn; fn = fn->next)
		if ((fn->ninst || fn->nwaiting) && fn->code_dir && strcmp(fn->code_dir, code_dir) == 0)
			return true;
	return false;
}

static void
maybe_stopped(struct pool *p)
{
	if (p->stopping && p->ninst == 0 && p->stopped_cb) {
		void (*cb)(void *) = p->stopped_cb;

		p->stopped_cb = NULL;
		cb(p->stopped_data);
	}
}

static void
inst_closed(uv_handle_t *h)
{
	struct instance *in = h->data;
	struct pool *p = in->pool;
	struct pool_fn *fn = in->fn;

	if (--in->closing > 0)
		return;
	buf_release(&in->in);
	buf_release(&in->out);
	buf_release(&in->init_error_type);
	buf_release(&in->init_error_body);
	free(in);
	p->ninst--;
	fn->ninst--;
	pool__fn_maybe_free(fn);
	maybe_stopped(p);
}

/* Unlinks and frees an instance whose process is gone. */
static void
inst_free(struct instance *in)
{
	struct pool *p = in->pool;
	struct instance **pp;

	for (pp = &p->insts; *pp; pp = &(*pp)->next) {
		if (*pp == in) {
			*pp = in->next;
			break;
		}
	}
	for (pp = &p->dirty; *pp; pp = &(*pp)->next_dirty) {
		if (*pp == in) {
			*pp = in->next_dirty;
			break;
		}
	}
	for (pp = &in->fn->insts; *pp; pp = &(*pp)->fn_next) {
		if (*pp == in) {
			*pp = in->fn_next;
			break;
		}
	}

	if (in->relay_fd >= 0)
		close(in->relay_fd);
	if (in->pidfd >= 0)
		close(in->pidfd);
	if (in->cgroup_fd >= 0)
		close(in->cgroup_fd);
	if (in->freeze_fd >= 0)
		close(in->freeze_fd);
	if (in->peak_fd >= 0)
		close(in->peak_fd);
	in->relay_fd = in->pidfd = in->cgroup_fd = in->freeze_fd = in->peak_fd = -1;
	/* The handles may be closed already (by inst_end); count what remains. */
	in->closing = 1;
	if (in->poll_open) {
		in->poll_open = false;
		in->closing++;
		uv_close((uv_handle_t *)&in->poll, inst_closed);
	}
	if (in->timer_open) {
		in->timer_open = false;
		in->closing++;
		uv_close((uv_handle_t *)&in->keepalive, inst_closed);
	}
	/* Capacity came free: waiting calls and provisioned counts get a look
	 * while fn is still alive (inst_closed() may free a retired one). */
	pool__sched_freed(in);
	inst_closed((uv_handle_t *)&in->keepalive);
}

/* Read after every call (the REPORT line's Max Memory Used): the file stays
 * open for the instance's life, so each read is one pread, not open+read+close. */
static uint64_t
inst_peak(struct instance *in)
{
	uint64_t v = 0;

	if (in->peak_fd < 0 && in->cgroup_fd >= 0)
		in->peak_fd = sandbox_mem_peak_open(in->cgroup_fd);
	if (in->peak_fd >= 0)
		sandbox_mem_peak_read(in->peak_fd, &v);
	return v;
}

static void
call_done(struct instance *in, struct pool_call *c, struct pool_result *r)
{
	struct pool_fn *fn = c->fn;

	c->inst = NULL;
	r->mem_peak_bytes = inst_peak(in);
	in->pool->hooks->done(c, r);
	pool__sched_call_ended(fn);
}

static void
mark_dirty(struct instance *in)
{
	if (!in->dirty) {
		in->dirty = true;
		in->next_dirty = in->pool->dirty;
		in->pool->dirty = in;
	}
}

/* The runtime asked for work: hand it the queued call or go idle. */
static void
inst_ready(struct instance *in)
{
	struct pool_call *c;
	uint64_t init_ns = 0;
	int r;

	if (in->state == INST_STARTING) {
		/* Init is over: the instance's proportional CPU share from now on.
		 * Not sent, the spawner ends the boost at its own deadline. */
		r = sandbox_init_done(in->pool->sc, in->id);
		if (r < 0)
			log_warn("instance %" PRIu64 ": cannot end its init CPU boost: %s", in->id,
				 strerror(-r));
		init_ns = clock_mono_ns() - in->spawn_ns;
		/* GDSF's cost: a moving average, so one slow start on a busy
		 * machine does not decide an eviction. */
		in->fn->init_us = in->fn->init_us ? (3 * in->fn->init_us + init_ns / 1000) / 4 :
						    init_ns / 1000;
		c = in->call;
		in->call = NULL;
	} else {
		c = in->queued;
		in->queued = NULL;
	}
	in->state = INST_IDLE;
	/* A call submitted before the function was retired still runs here. */
	if (c) {
		pool__inst_dispatch(in, c, init_ns);
		return;
	}
	in->idle_since_ms = clock_mono_ms();
	pool__sched_idle(in);
}

/* The hook runs before the frame is queued so the caller can stamp the
 * deadline at the moment the call really starts. */
void
pool__inst_dispatch(struct instance *in, struct pool_call *c, uint64_t init_ns)
{
	uv_timer_stop(&in->keepalive);
	pool__inst_thaw(in);
	in->state = INST_BUSY;
	in->call = c;
	c->inst = in;
	in->calls++;
	in->pool->hooks->dispatched(c, init_ns);
	buf_add(&in->out, c->frame.ptr, c->frame.len);
	mark_dirty(in);
}

static void
on_frame(struct instance *in, const struct relay_msg *m)
{
	struct pool_result r = { 0 };
	struct pool_call *c = in->call;

	switch (m->type) {
	case RELAY_NEXT:
		if (in->state == INST_STARTING || in->state == INST_FINISHING)
			inst_ready(in);
		/* A NEXT while BUSY would be a runtime asking twice; init dedups. */
		return;
	case RELAY_RESPONSE:
	case RELAY_ERROR:
		if (in->state != INST_BUSY || !c || !str_eqs(m->f[RELAY_T_ID], c->request_id))
			return;	/* hearth-init already answered 400 for a stale id */
		in->call = NULL;
		in->state = INST_FINISHING;
		r.kind = m->type == RELAY_RESPONSE ? POOL_RESPONSE : POOL_ERROR;
		r.body = m->f[RELAY_T_BODY];
		r.errtype = m->f[RELAY_T_ERRTYPE];
		call_done(in, c, &r);
		return;
	case RELAY_INIT_ERROR:
		in->init_failed = true;
		buf_reset(&in->init_error_type);
		buf_reset(&in->init_error_body);
		buf_addstr(&in->init_error_type, m->f[RELAY_T_ERRTYPE]);
		buf_addstr(&in->init_error_body, m->f[RELAY_T_BODY]);
		if (c) {
			in->call = NULL;
			r.kind = POOL_INIT_ERROR;
			r.body = m->f[RELAY_T_BODY];
			r.errtype = m->f[RELAY_T_ERRTYPE];
			call_done(in, c, &r);
		}
		pool__inst_end(in, NULL);
		return;
	case RELAY_LOG:
		/* A starting instance holds the call that made it, but that call is
		 * not in flight yet: init-phase output belongs to no request. */
		in->pool->hooks->log(in->pool->hooks_data, in->fn->name,
				     in->state == INST_BUSY ? c : NULL,
				     str_eqs(m->f[RELAY_T_STREAM], "2") ? 2 : 1, m->f[RELAY_T_BODY]);
		return;
	case RELAY_EXIT:
		snprintf(in->exit_reason, sizeof(in->exit_reason), "%.*s", (int)m->f[RELAY_T_STATUS].len,
			 m->f[RELAY_T_STATUS].ptr ? m->f[RELAY_T_STATUS].ptr : "");
		pool__inst_end(in, NULL);
		return;
	default:
		pool__inst_end(in, "unexpected frame from hearth-init");
		return;
	}
}

/* Reads and handles what the relay has. Returns -1 once the instance is ending. */
static int
relay_read(struct instance *in)
{
	for (;;) {
		struct relay_msg m;
		size_t off = 0;
		ssize_t n;
		bool full;

		buf_grow(&in->in, 64 * 1024);
		n = read(in->relay_fd, in->in.ptr + in->in.len, in->in.cap - in->in.len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0) {
			pool__inst_end(in, NULL);
			return -1;
		}
		full = (size_t)n == in->in.cap - in->in.len - 1;
		buf_setlen(&in->in, in->in.len + (size_t)n);
		for (;;) {
			ssize_t used = relay_parse(in->in.ptr + off, in->in.len - off, &m);

			if (used == 0)
				break;
			if (used < 0) {
				pool__inst_end(in, "garbage on the relay socket");
				return -1;
			}
			off += (size_t)used;
			on_frame(in, &m);
			if (in->state == INST_ENDING || in->relay_fd < 0)
				return -1;
		}
		buf_consume(&in->in, off);
		/* A short read emptied the socket: the poll is level-triggered and
		 * reports what comes later, so a read just to see EAGAIN is waste. */
		if (!full)
			return 0;
	}
}

static int
relay_flush(struct instance *in)
{
	while (in->out.len) {
		ssize_t n = write(in->relay_fd, in->out.ptr, in->out.len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			in->poll_writing = true;
			return 1;
		}
		if (n < 0) {
			pool__inst_end(in, NULL);
			return -1;
		}
		buf_consume(&in->out, (size_t)n);
	}
	in->poll_writing = false;
	return 0;
}

static void relay_event(uv_poll_t *h, int status, int events);

/* uv_poll_start() always stops and re-adds the fd (two epoll_ctl calls):
 * call it only when the events wanted change, not after every event. */
static void
relay_watch(struct instance *in)
{
	int want = UV_READABLE | (in->poll_writing ? UV_WRITABLE : 0);

	if (in->poll_open && in->poll_events != want) {
		uv_poll_start(&in->poll, want, relay_event);
		in->poll_events = want;
	}
}

static void
relay_event(uv_poll_t *h, int status, int events)
{
	struct instance *in = h->data;

	if (status < 0) {
		pool__inst_end(in, NULL);
		return;
	}
	if ((events & UV_WRITABLE) && relay_flush(in) < 0)
		return;
	if ((events & UV_READABLE) && relay_read(in) < 0)
		return;
	relay_watch(in);
}

static void
flush_dirty(uv_check_t *h)
{
	struct pool *p = h->data;

	while (p->dirty) {
		struct instance *in = p->dirty;
		bool was_writing;

		p->dirty = in->next_dirty;
		in->dirty = false;
		if (in->relay_fd < 0 || in->state == INST_ENDING)
			continue;
		was_writing = in->poll_writing;
		if (relay_flush(in) < 0)
			continue;
		if (in->poll_writing != was_writing)
			relay_watch(in);
	}
}

/* Starts ending an instance: kill it and wait for EXITED. Idempotent. If why is
 * set it is logged: the daemon, not the function, decided. */
void
pool__inst_end(struct instance *in, const char *why)
{
	if (in->state == INST_ENDING)
		return;
	if (why)
		log_warn("instance %llu of '%s': %s", (unsigned long long)in->id, in->fn->name, why);
	set_ending(in);
	if (in->timer_open)
		uv_timer_stop(&in->keepalive);
	if (in->poll_open)
		uv_poll_stop(&in->poll);
	in->poll_events = 0;
	/* SIGKILL waits on a v1-frozen task until it is thawed. */
	pool__inst_thaw(in);
	if (in->pidfd >= 0)
		sandbox_kill(in->pidfd);
}

static void
describe_exit(const struct instance *in, char *out, size_t n)
{
	const char *r = in->exit_reason;
	int num;

	if (in->oom)
		snprintf(out, n, "Runtime exited with error: signal: killed (out of memory: the "
			 "instance reached its %llu MB memory limit)",
			 (unsigned long long)(in->fn->mem_bytes >> 20));
	else if (sscanf(r, "signal %d", &num) == 1)
		snprintf(out, n, "Runtime exited with error: signal: %s", strsignal(num));
	else if (sscanf(r, "exit %d", &num) == 1)
		snprintf(out, n, "Runtime exited with error: exit status %d", num);
	else
		snprintf(out, n, "Runtime exited without providing a reason");
}

/* The spawner reaped hearth-init: the instance is gone. Fail or requeue its calls. */
static void
inst_exited(struct instance *in, const struct sandbox_event *ev)
{
	struct pool_call *c, *q;
	char reason[160];

	in->exited = true;
	in->oom = ev->oom_killed;
	/* Frames may still sit in the socket (a last response, the EXIT status):
	 * read them before deciding what the caller is told. An instance we ended
	 * ourselves has nothing more to say that matters. */
	if (in->relay_fd >= 0 && in->state != INST_ENDING)
		relay_read(in);
	set_ending(in);
	c = in->call;
	q = in->queued;
	in->call = in->queued = NULL;
	if (c) {
		struct pool_result r = { 0 };

		if (in->pool->stopping)
			snprintf(reason, sizeof(reason), "the platform is shutting down");
		else
			describe_exit(in, reason, sizeof(reason));
		if (in->init_failed) {
			r.kind = POOL_INIT_ERROR;
			r.errtype = str_from(in->init_error_type.ptr, in->init_error_type.len);
			r.body = str_from(in->init_error_body.ptr, in->init_error_body.len);
		} else {
			r.kind = POOL_DIED;
			r.reason = reason;
			r.oom = in->oom;
		}
		call_done(in, c, &r);
	}
	/* A queued call never reached this runtime: give it another instance. */
	if (q) {
		q->inst = NULL;
		pool_submit(in->fn, q);
	}
	inst_free(in);
}

static struct instance *
inst_find(struct pool *p, uint64_t id)
{
	struct instance *in;

	for (in = p->insts; in; in = in->next)
		if (in->id == id)
			return in;
	return NULL;
}

static void
on_spawned(struct pool *p, struct sandbox_event *ev)
{
	struct instance *in = inst_find(p, ev->id);

	if (!in) {
		/* Cannot happen: instances live until EXITED. Do not leak the sandbox. */
		sandbox_kill(ev->pidfd);
		close(ev->pidfd);
		close(ev->relay_fd);
		close(ev->cgroup_fd);
		if (ev->freeze_fd >= 0)
			close(ev->freeze_fd);
		return;
	}
	log_debug("instance %llu of '%s' spawned in %.2f ms", (unsigned long long)in->id,
		  in->fn->name, (double)(clock_mono_ns() - in->spawn_ns) / 1e6);
	in->pid = ev->pid;
	in->pidfd = ev->pidfd;
	in->relay_fd = ev->relay_fd;
	in->cgroup_fd = ev->cgroup_fd;
	in->freeze_fd = ev->freeze_fd;
	if (in->state == INST_ENDING) {
		sandbox_kill(in->pidfd);
		return;
	}
	uv_poll_init(p->loop, &in->poll, in->relay_fd);
	in->poll.data = in;
	in->poll_open = true;
	relay_watch(in);
}

static void
on_spawn_failed(struct pool *p, struct sandbox_event *ev)
{
	struct instance *in = inst_find(p, ev->id);
	struct pool_call *c;

	if (!in)
		return;
	log_error("cannot start an instance of '%s': %s", in->fn->name, ev->err.msg);
	c = in->call;
	in->call = NULL;
	set_ending(in);
	if (c) {
		struct pool_result r = { 0 };
		char reason[300];

		snprintf(reason, sizeof(reason), "cannot start the sandbox: %s", ev->err.msg);
		r.kind = POOL_DIED;
		r.reason = reason;
		call_done(in, c, &r);
	}
	inst_free(in);
}

static void
spawner_event(uv_poll_t *h, int status, int events)
{
	struct pool *p = h->data;
	struct sandbox_event ev;
	int r;

	(void)events;
	if (status < 0)
		die("spawner socket failed: %s", uv_strerror(status));
	for (;;) {
		r = sandbox_read_event(p->sc, &ev);
		if (r == -EAGAIN)
			return;
		if (r < 0) {
			/* Without the spawner no instance can start or be reaped. */
			log_error("the sandbox spawner is gone: %s", strerror(-r));
			uv_poll_stop(h);
			die("cannot continue without the sandbox spawner");
		}
		switch (ev.kind) {
		case SANDBOX_SPAWNED:
			on_spawned(p, &ev);
			break;
		case SANDBOX_SPAWN_FAILED:
			on_spawn_failed(p, &ev);
			break;
		case SANDBOX_EXITED: {
			struct instance *in = inst_find(p, ev.id);

			if (in)
				inst_exited(in, &ev);
			break;
		}
		}
	}
}

struct pool *
pool_new(uv_loop_t *loop, struct sandbox_client *sc, const struct pool_config *cfg,
	 const struct pool_hooks *hooks, void *data)
{
	struct pool *p = xcalloc(1, sizeof(*p));

	p->cfg = *cfg;
	p->hooks_data = data;
	p->loop = loop;
	p->sc = sc;
	p->hooks = hooks;
	p->next_id = 1;
	map_init(&p->groups);
	uv_poll_init(loop, &p->sc_poll, sc->fd);
	p->sc_poll.data = p;
	uv_poll_start(&p->sc_poll, UV_READABLE, spawner_event);
	uv_check_init(loop, &p->flusher);
	p->flusher.data = p;
	uv_check_start(&p->flusher, flush_dirty);
	pool__sched_init(p);
	return p;
}

struct pool_fn *
pool_fn_new(struct pool *p, const struct pool_fn_spec *spec)
{
	struct pool_fn *fn = xcalloc(1, sizeof(*fn));

	fn->pool = p;
	fn->name = xstrdup(spec->name);
	fn->revision = spec->revision;
	fn->code_dir = xstrdup(spec->code_dir);
	fn->runtime_dir = spec->runtime_dir ? xstrdup(spec->runtime_dir) : NULL;
	fn->argv = dup_vec(spec->argv);
	fn->envp = dup_vec(spec->envp);
	fn->mem_bytes = spec->mem_bytes;
	fn->tmp_bytes = spec->tmp_bytes;
	fn->pids_max = spec->pids_max;
	fn->network = spec->network;
	fn->keepalive_ms = spec->keepalive_ms;
	fn->keepalive_kind = spec->keepalive_adaptive ? POLICY_KEEPALIVE_ADAPTIVE :
							POLICY_KEEPALIVE_FIXED;
	fn->group = pool__group_ref(p, spec->name);
	fn->provisioned = spec->provisioned;
	fn->next = p->fns;
	p->fns = fn;
	pool__sched_fn_init(fn);
	return fn;
}

void
pool_fn_retire(struct pool_fn *fn)
{
	struct instance *in;

	fn->retired = true;
	for (in = fn->pool->insts; in; in = in->next)
		if (in->fn == fn && in->state == INST_IDLE)
			pool__inst_end(in, NULL);
	pool__fn_maybe_free(fn);
}

void
pool__inst_spawn(struct pool_fn *fn, struct pool_call *c)
{
	struct pool *p = fn->pool;
	struct instance *in = xcalloc(1, sizeof(*in));
	struct sandbox_spec spec = { 0 };
	struct err err = ERR_INIT;

	in->pool = p;
	in->fn = fn;
	in->id = p->next_id++;
	in->state = INST_STARTING;
	in->pid = 0;
	in->pidfd = in->cgroup_fd = in->relay_fd = in->freeze_fd = in->peak_fd = -1;
	buf_init(&in->in);
	buf_init(&in->out);
	buf_init(&in->init_error_type);
	buf_init(&in->init_error_body);
	in->spawn_ns = clock_mono_ns();
	in->created_ms = clock_mono_ms();
	uv_timer_init(p->loop, &in->keepalive);
	in->keepalive.data = in;
	in->timer_open = true;
	in->call = c;
	if (c)
		c->inst = in;
	in->next = p->insts;
	p->insts = in;
	in->fn_next = fn->insts;
	fn->insts = in;
	p->ninst++;
	fn->ninst++;
	p->used_mb += pool__fn_mem_mb(fn);
	fn->group->live++;

	spec.id = in->id;
	spec.code_dir = fn->code_dir;
	spec.runtime_dir = fn->runtime_dir;
	spec.argv = (const char *const *)fn->argv;
	spec.envp = (const char *const *)fn->envp;
	spec.mem_bytes = fn->mem_bytes;
	spec.tmp_bytes = fn->tmp_bytes;
	spec.pids_max = fn->pids_max;
	spec.network = fn->network;
	if (sandbox_spawn(p->sc, &spec, &err) < 0) {
		struct sandbox_event ev = { 0 };

		ev.kind = SANDBOX_SPAWN_FAILED;
		ev.id = in->id;
		ev.err = err;
		on_spawn_failed(p, &ev);
	}
}

uint64_t
pool_call_abort(struct pool_call *c)
{
	struct instance *in = c->inst;
	uint64_t peak;

	if (pool__sched_unwait(c)) {
		/* Ended without running, but it was a call all the same: the
		 * keep-alive histogram must see the function go idle. */
		pool__sched_call_ended(c->fn);
		pool__fn_maybe_free(c->fn);
		return 0;
	}
	if (!in)
		return 0;
	peak = inst_peak(in);
	if (in->call == c)
		in->call = NULL;
	if (in->queued == c) {
		/* Never reached the runtime: the instance itself is fine. */
		in->queued = NULL;
		c->inst = NULL;
		pool__sched_call_ended(c->fn);
		return peak;
	}
	c->inst = NULL;
	pool__inst_end(in, NULL);
	pool__sched_call_ended(c->fn);
	return peak;
}

size_t
pool_count(const struct pool *p)
{
	return p->ninst;
}

uint64_t
pool_used_mb(const struct pool *p)
{
	return p->used_mb;
}

void
pool_foreach(const struct pool *p, void (*cb)(const struct pool_instance_info *, void *), void *data)
{
	struct instance *in;
	uint64_t now = clock_mono_ms();

	for (in = p->insts; in; in = in->next) {
		struct pool_instance_info info = {
			.id = in->id,
			.function = in->fn->name,
			.revision = in->fn->revision,
			.state = in->frozen ? "frozen" : state_names[in->state],
			.pid = in->pid,
			.age_ms = now - in->created_ms,
			.calls = in->calls,
			.provisioned = in->provisioned,
		};

		if (in->cgroup_fd >= 0)
			sandbox_mem_current(in->cgroup_fd, &info.mem_bytes);
		cb(&info, data);
	}
}

void
pool_stop(struct pool *p, void (*cb)(void *), void *data)
{
	struct instance *in;

	p->stopping = true;
	p->stopped_cb = cb;
	p->stopped_data = data;
	pool__sched_stop(p);
	for (in = p->insts; in; in = in->next)
		pool__inst_end(in, NULL);
	maybe_stopped(p);
}

/* libuv runs close callbacks in no promised order: free with the last one. */
static void
pool_closed(uv_handle_t *h)
{
	struct pool *p = h->data;

	if (--p->closing == 0)
		free(p);
}

void
pool_free(struct pool *p)
{
	while (p->fns) {
		struct pool_fn *fn = p->fns;

		if (fn->ninst)
			BUG("pool_free with live instances");
		fn_free(fn);
	}
	pool__groups_release(p);
	p->closing = 3;
	uv_close((uv_handle_t *)&p->wait_timer, pool_closed);
	uv_close((uv_handle_t *)&p->sc_poll, pool_closed);
	uv_close((uv_handle_t *)&p->flusher, pool_closed);
}
