/*
 * Where calls go, and how long instances stay: the pool's decisions.
 *
 * Each decision is asked of policy.c (pure, table-tested) with what this file
 * observes; this file only gathers the observations and carries the answers
 * out: dispatch or queue a call, evict idle instances under memory pressure,
 * make a call wait (bounded, in FIFO order) and throttle it when the wait
 * runs out, time keep-alive windows, pre-warm, and keep provisioned
 * instances at their count.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/err.h"
#include "lib/log.h"
#include "pool/pool-internal.h"
#include "lib/banned.h"

#define REASON_FN "ReservedFunctionConcurrentInvocationLimitExceeded"
#define REASON_HOST "ConcurrentInvocationLimitExceeded"

/* A function whose instances die before they are ready would be re-created
 * in a tight loop: after this many in a row, provisioning waits for the next
 * call or setting change. */
#define PROVISION_MAX_FAILURES 3

static void ensure_provisioned(struct pool_fn *fn);

static void
observe(const struct pool_fn *fn, struct policy_fn_obs *o)
{
	const struct instance *in;

	memset(o, 0, sizeof(*o));
	o->reserved = fn->group->reserved;
	o->live = fn->group->live;
	o->mem_mb = pool__fn_mem_mb(fn);
	for (in = fn->insts; in; in = in->fn_next) {
		if (in->state == INST_IDLE)
			o->idle++;
		else if (in->state == INST_FINISHING && !in->queued)
			o->finishing++;
	}
}

/* An idle instance of another version of fn's function, longest idle first:
 * what POLICY_END_OTHER ends. Provisioned instances are kept. */
static struct instance *
idle_other(const struct pool_fn *fn, uint32_t *count)
{
	struct instance *in, *best = NULL;

	*count = 0;
	for (in = fn->pool->insts; in; in = in->next) {
		if (in->fn == fn || in->fn->group != fn->group || in->state != INST_IDLE ||
		    in->provisioned)
			continue;
		(*count)++;
		if (!best || in->idle_since_ms < best->idle_since_ms)
			best = in;
	}
	return best;
}

/* Memory idle instances of other functions hold: what eviction could free. */
static uint64_t
evictable_mb(const struct pool *p, const struct pool_fn *except)
{
	const struct instance *in;
	uint64_t mb = 0;

	for (in = p->insts; in; in = in->next)
		if (in->fn != except && in->state == INST_IDLE && !in->provisioned)
			mb += pool__fn_mem_mb(in->fn);
	return mb;
}

/* Evicts idle instances of other functions, lowest GDSF priority first, until
 * need_mb fits in the budget. An ending instance stops counting at once. */
static void
evict_for(struct pool *p, const struct pool_fn *fn, uint64_t need_mb)
{
	while (p->used_mb + need_mb > p->cfg.budget_mb) {
		struct policy_victim v[64];
		struct instance *cand[64], *in;
		size_t n = 0;
		long pick;

		for (in = p->insts; in && n < 64; in = in->next) {
			if (in->fn == fn || in->state != INST_IDLE || in->provisioned)
				continue;
			v[n].freq = in->fn->calls;
			v[n].cold_cost_us = in->fn->init_us;
			v[n].mem_mb = pool__fn_mem_mb(in->fn);
			v[n].idle_since_ms = in->idle_since_ms;
			cand[n++] = in;
		}
		pick = policy_pick_victim(v, n, p->gdsf_clock);
		if (pick < 0)
			return;
		/* FaasCache's clock: later priorities start from the evicted one,
		 * so what was used long ago ages relative to what is used now. */
		p->gdsf_clock = policy_gdsf_priority(p->gdsf_clock, &v[pick]);
		log_debug("evicting instance %llu of '%s' to make room for '%s'",
			  (unsigned long long)cand[pick]->id, cand[pick]->fn->name, fn->name);
		pool__inst_end(cand[pick], NULL);
	}
}

static void wait_arm(struct pool *p);

static void
enqueue_wait(struct pool *p, struct pool_call *c, uint64_t wait_ms, const char *reason)
{
	c->waiting = true;
	c->fn->nwaiting++;
	c->wait_deadline_ms = clock_mono_ms() + wait_ms;
	c->wait_reason = reason;
	c->next = NULL;
	if (p->waiting_tail)
		p->waiting_tail->next = c;
	else
		p->waiting = c;
	p->waiting_tail = c;
	p->nwaiting++;
	wait_arm(p);
}

bool
pool__sched_unwait(struct pool_call *c)
{
	struct pool *p;
	struct pool_call **pp, *prev = NULL;

	if (!c->waiting)
		return false;
	p = c->fn->pool;
	for (pp = &p->waiting; *pp; prev = *pp, pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			if (p->waiting_tail == c)
				p->waiting_tail = prev;
			break;
		}
	}
	c->waiting = false;
	c->next = NULL;
	p->nwaiting--;
	c->fn->nwaiting--;
	return true;
}

static void
throttle(struct pool_call *c, const char *reason)
{
	struct pool_fn *fn = c->fn;
	struct pool_result r = { 0 };

	r.kind = POOL_THROTTLED;
	r.reason = reason;
	fn->pool->hooks->done(c, &r);
	pool__sched_call_ended(fn);
}

enum placed {
	PLACED,		/* dispatched, queued on an instance or started */
	MUST_WAIT,	/* no capacity now: wait (bounded) for some */
	REFUSED,	/* reserved concurrency 0: throttle without a wait */
};

/* Tries to place c now; *wait_reason says which limit stopped it. */
static enum placed
place(struct pool_fn *fn, struct pool_call *c, const char **wait_reason)
{
	struct pool *p = fn->pool;
	struct policy_fn_obs o;
	struct policy_host_obs h;
	struct instance *in, *other;
	enum policy_dispatch d;

	/* Each POLICY_END_OTHER ends one instance, so this ends. */
	for (;;) {
		observe(fn, &o);
		h = (struct policy_host_obs){ p->cfg.budget_mb, p->used_mb, 0 };
		d = policy_dispatch(&o, &h);
		other = NULL;
		if (d == POLICY_WAIT_FN) {
			/* Only now is it worth looking at the other versions. */
			other = idle_other(fn, &o.idle_other);
			d = policy_dispatch(&o, &h);
		}
		if (d == POLICY_WAIT_HOST) {
			/* Only now is it worth counting what eviction could free. */
			h.evictable_mb = evictable_mb(p, fn);
			d = policy_dispatch(&o, &h);
		}
		if (d != POLICY_END_OTHER)
			break;
		assert(other);
		log_debug("ending idle instance %llu of '%s' revision %llu: its slot of the "
			  "reserved concurrency goes to revision %llu",
			  (unsigned long long)other->id, fn->name,
			  (unsigned long long)other->fn->revision, (unsigned long long)fn->revision);
		pool__inst_end(other, NULL);
	}
	switch (d) {
	case POLICY_WARM:
		for (in = fn->insts; in; in = in->fn_next) {
			if (in->state == INST_IDLE) {
				pool__inst_dispatch(in, c, 0);
				return PLACED;
			}
		}
		BUG("no idle instance for a warm dispatch");
	case POLICY_QUEUE_FINISHING:
		for (in = fn->insts; in; in = in->fn_next) {
			if (in->state == INST_FINISHING && !in->queued) {
				in->queued = c;
				c->inst = in;
				return PLACED;
			}
		}
		BUG("no finishing instance to queue on");
	case POLICY_EVICT_COLD:
		evict_for(p, fn, pool__fn_mem_mb(fn));
		/* fall through */
	case POLICY_COLD:
		pool__inst_spawn(fn, c);
		return PLACED;
	case POLICY_THROTTLE:
		*wait_reason = REASON_FN;
		return REFUSED;
	case POLICY_WAIT_FN:
		*wait_reason = REASON_FN;
		return MUST_WAIT;
	case POLICY_WAIT_HOST:
		*wait_reason = REASON_HOST;
		return MUST_WAIT;
	case POLICY_END_OTHER:
		break;
	}
	BUG("unknown dispatch decision %d", d);
}

/* Whether calls of fn's function (any version) wait already. */
static bool
group_waiting(const struct pool *p, const struct pool_fn *fn)
{
	const struct pool_call *c;

	for (c = p->waiting; c; c = c->next)
		if (c->fn->group == fn->group)
			return true;
	return false;
}

void
pool_submit(struct pool_fn *fn, struct pool_call *c)
{
	struct pool *p = fn->pool;
	const char *reason = NULL;
	enum placed r = MUST_WAIT;

	c->fn = fn;
	c->inst = NULL;
	c->waiting = false;
	fn->calls++;
	if (fn->provision_failures >= PROVISION_MAX_FAILURES) {
		/* A call is a reason to try again (perhaps the cause is gone). */
		fn->provision_failures = 0;
		ensure_provisioned(fn);
	}
	if (fn->active_calls++ == 0)
		policy_hist_call_start(&fn->hist, clock_mono_ms());
	/* Calls of this function (of any version) already waiting go first;
	 * other functions' waits are theirs alone (no head-of-line blocking
	 * across functions). */
	if (!group_waiting(p, fn))
		r = place(fn, c, &reason);
	if (r == PLACED)
		return;
	if (!reason) {
		/* Queued behind others; its own limit is found when its turn comes. */
		reason = fn->group->reserved != POOL_UNRESERVED ? REASON_FN : REASON_HOST;
	}
	/* Reserved 0 refuses at once even behind queued calls: no wait can help. */
	if (r == REFUSED || fn->group->reserved == 0 || p->nwaiting >= p->cfg.queue_max ||
	    p->stopping) {
		/* A throttle with no wait. Answered from the loop, never inside
		 * the caller's submit, so the caller's state is complete. */
		enqueue_wait(p, c, 0, reason);
		return;
	}
	enqueue_wait(p, c, p->cfg.queue_wait_ms, reason);
}

/* Functions found to wait in one pass of drain_waiting(), with the reason. */
#define DRAIN_MEMO 8

/* Gives waiting calls, oldest first, whatever capacity there is now. The list
 * is taken whole and rebuilt, so a call that must wait on goes back in order.
 *
 * Under load most of the list is calls of one function, and this runs each
 * time an instance comes free. place() is a function of the pool's state, and
 * only a placed call changes that state in a way that could let a waiting one
 * in, so once a function must wait, its later calls in the pass are not asked
 * again until something is placed: one pass costs O(waiting), not
 * O(waiting x instances). */
static void
drain_waiting(struct pool *p)
{
	struct pool_call *c = p->waiting, *next;
	uint64_t now = clock_mono_ms();
	const struct pool_fn *memo_fn[DRAIN_MEMO];
	const char *memo_reason[DRAIN_MEMO];
	size_t nmemo = 0, i;

	p->waiting = p->waiting_tail = NULL;
	p->nwaiting = 0;
	for (; c; c = next) {
		const char *reason = c->wait_reason;
		enum placed r = MUST_WAIT;

		next = c->next;
		c->waiting = false;
		c->next = NULL;
		c->fn->nwaiting--;	/* placed, it holds an instance instead */
		if (c->wait_deadline_ms > now && !p->stopping) {
			for (i = 0; i < nmemo && memo_fn[i] != c->fn; i++)
				;
			if (i < nmemo) {
				reason = memo_reason[i];
			} else {
				r = place(c->fn, c, &reason);
				if (r == MUST_WAIT && nmemo < DRAIN_MEMO) {
					memo_fn[nmemo] = c->fn;
					memo_reason[nmemo++] = reason;
				}
			}
		}
		if (r == PLACED) {
			nmemo = 0;
			continue;
		}
		/* Not placed (or due for its throttle): back in, same deadline,
		 * unless it is refused outright (reservation set to 0 meanwhile). */
		if (r == REFUSED)
			c->wait_deadline_ms = now;
		c->waiting = true;
		c->fn->nwaiting++;
		c->wait_reason = reason;
		if (p->waiting_tail)
			p->waiting_tail->next = c;
		else
			p->waiting = c;
		p->waiting_tail = c;
		p->nwaiting++;
	}
	wait_arm(p);
}

static void
wait_fired(uv_timer_t *t)
{
	struct pool *p = t->data;
	uint64_t now = clock_mono_ms();
	struct pool_call *c;

	drain_waiting(p);
	/* Whoever is still waiting past its deadline gets its throttle. */
	for (c = p->waiting; c;) {
		struct pool_call *next = c->next;

		if (c->wait_deadline_ms <= now || p->stopping) {
			const char *reason = c->wait_reason;
			struct pool_fn *fn = c->fn;

			pool__sched_unwait(c);
			throttle(c, reason);
			pool__fn_maybe_free(fn);	/* retired while c waited */
		}
		c = next;
	}
	wait_arm(p);
}

static void
wait_arm(struct pool *p)
{
	uint64_t now = clock_mono_ms(), first = UINT64_MAX;
	struct pool_call *c;

	for (c = p->waiting; c; c = c->next)
		if (c->wait_deadline_ms < first)
			first = c->wait_deadline_ms;
	if (first == UINT64_MAX) {
		uv_timer_stop(&p->wait_timer);
		return;
	}
	uv_timer_start(&p->wait_timer, wait_fired, first > now ? first - now : 0, 0);
}

/* ---- keep-alive, pre-warm, provisioned -------------------------------- */

static void
keepalive_fired(uv_timer_t *t)
{
	struct instance *in = t->data;

	if (in->state == INST_IDLE && !in->provisioned) {
		log_debug("instance %llu of '%s' idle past keep-alive, ending",
			  (unsigned long long)in->id, in->fn->name);
		pool__inst_end(in, NULL);
	}
}

/* Idle a little while: frozen, it uses no CPU for the rest of its window. */
static void
freeze_fired(uv_timer_t *t)
{
	struct instance *in = t->data;

	if (in->state != INST_IDLE)
		return;
	pool__inst_freeze(in);
	if (!in->provisioned)
		uv_timer_start(&in->keepalive, keepalive_fired, in->keepalive_left_ms, 0);
}

/*
 * Starts an idle instance's window of window_ms (UINT64_MAX: none, for a
 * provisioned instance). One timer does both steps, freeze then end, so a
 * warm call pays one timer stop, as before freezing existed.
 */
static void
idle_arm(struct instance *in, uint64_t window_ms)
{
	uint64_t after = in->pool->cfg.freeze_after_ms;

	if (after && in->freeze_fd >= 0 && after < window_ms) {
		in->keepalive_left_ms = window_ms - after;
		uv_timer_start(&in->keepalive, freeze_fired, after, 0);
	} else if (window_ms != UINT64_MAX) {
		uv_timer_start(&in->keepalive, keepalive_fired, window_ms, 0);
	}
}

static void
prewarm_fired(uv_timer_t *t)
{
	struct pool_fn *fn = t->data;

	if (!fn || fn->retired || fn->pool->stopping)
		return;	/* data is NULL once fn is gone (pool__sched_fn_release) */
	log_debug("pre-warming '%s'", fn->name);
	pool__inst_spawn(fn, NULL);
	/* The new instance keeps the window the histogram chose for it. */
	fn->insts->keepalive_ms = fn->prewarm_keepalive_ms;
}

static void
ensure_provisioned(struct pool_fn *fn)
{
	struct instance *in;
	uint32_t have = 0;

	if (fn->retired || fn->pool->stopping)
		return;
	if (fn->provision_failures >= PROVISION_MAX_FAILURES)
		return;
	for (in = fn->insts; in; in = in->fn_next)
		if (in->provisioned && in->state != INST_ENDING)
			have++;
	while (have < fn->provisioned) {
		pool__inst_spawn(fn, NULL);
		fn->insts->provisioned = true;
		have++;
	}
}

void
pool__sched_idle(struct instance *in)
{
	struct pool_fn *fn = in->fn;
	struct pool *p = fn->pool;
	struct policy_keepalive ka;

	if (fn->retired || p->stopping) {
		pool__inst_end(in, NULL);
		return;
	}
	/* A waiting call of this function takes it at once. */
	if (p->nwaiting) {
		drain_waiting(p);
		if (in->state != INST_IDLE)
			return;
	}
	if (in->provisioned) {
		idle_arm(in, UINT64_MAX);
		return;
	}
	if (in->keepalive_ms) {
		/* Pre-warmed: the window was chosen when it was scheduled. */
		idle_arm(in, in->keepalive_ms);
		in->keepalive_ms = 0;
		return;
	}
	policy_keepalive(&fn->hist, fn->keepalive_kind, fn->keepalive_ms, &ka);
	if (ka.prewarm_ms > 0) {
		/* The next call is not expected before prewarm_ms: holding the
		 * memory until then is waste. End it, start one just in time. */
		pool__inst_end(in, NULL);
		if (!fn->prewarm) {
			fn->prewarm = xmalloc(sizeof(*fn->prewarm));
			uv_timer_init(p->loop, fn->prewarm);
			fn->prewarm->data = fn;
		}
		fn->prewarm_keepalive_ms = ka.keepalive_ms;
		uv_timer_start(fn->prewarm, prewarm_fired, ka.prewarm_ms, 0);
		return;
	}
	idle_arm(in, ka.keepalive_ms);
}

void
pool__sched_freed(struct instance *in)
{
	struct pool_fn *fn = in->fn;
	struct pool *p = fn->pool;

	if (in->provisioned) {
		if (in->idle_since_ms || in->calls) {
			fn->provision_failures = 0;
		} else if (++fn->provision_failures == PROVISION_MAX_FAILURES) {
			log_error("'%s': %u provisioned instances in a row died before they were "
				  "ready; not re-creating them until the next call",
				  fn->name, fn->provision_failures);
		}
	}
	ensure_provisioned(fn);
	if (p->nwaiting)
		drain_waiting(p);
}

void
pool__sched_call_ended(struct pool_fn *fn)
{
	if (fn->active_calls && --fn->active_calls == 0)
		policy_hist_call_end(&fn->hist, clock_mono_ms());
}

void
pool_fn_set_sched(struct pool_fn *fn, uint32_t provisioned, int keepalive_adaptive)
{
	struct instance *in;
	uint32_t have = 0;

	fn->keepalive_kind = keepalive_adaptive ? POLICY_KEEPALIVE_ADAPTIVE :
						  POLICY_KEEPALIVE_FIXED;
	for (in = fn->insts; in; in = in->fn_next) {
		if (!in->provisioned || in->state == INST_ENDING)
			continue;
		if (++have <= provisioned)
			continue;
		/* Beyond the new count: an ordinary instance from now on. An idle
		 * one ends (its window as a provisioned one is unknown); a busy
		 * one gets its keep-alive when it goes idle. */
		in->provisioned = false;
		if (in->state == INST_IDLE)
			pool__inst_end(in, NULL);
	}
	fn->provisioned = provisioned;
	fn->provision_failures = 0;
	ensure_provisioned(fn);
}

/* ---- concurrency groups ---------------------------------------------- */

struct pool_group *
pool__group_ref(struct pool *p, const char *name)
{
	struct pool_group *g = map_get(&p->groups, name);

	if (!g) {
		g = xcalloc(1, sizeof(*g));
		g->name = xstrdup(name);
		g->reserved = POOL_UNRESERVED;
		map_put(&p->groups, g->name, g);
	}
	g->refs++;
	return g;
}

static void
group_maybe_free(struct pool *p, struct pool_group *g)
{
	if (g->refs || g->reserved != POOL_UNRESERVED)
		return;
	assert(g->live == 0);
	map_del(&p->groups, g->name);
	free(g->name);
	free(g);
}

void
pool__group_unref(struct pool *p, struct pool_group *g)
{
	assert(g->refs > 0);
	g->refs--;
	group_maybe_free(p, g);
}

void
pool__groups_release(struct pool *p)
{
	struct pool_group *g;
	size_t it = 0;

	/* Only reservations without a pool_fn are left: fn_free() ran for all. */
	while (map_next(&p->groups, &it, NULL, (void **)&g)) {
		assert(g->refs == 0);
		free(g->name);
		free(g);
	}
	map_release(&p->groups);
}

void
pool_set_reserved(struct pool *p, const char *name, uint32_t reserved)
{
	struct pool_group *g = pool__group_ref(p, name);

	g->reserved = reserved;
	pool__group_unref(p, g);
	/* A raised cap lets waiting calls in; a cap of 0 refuses them now. */
	if (p->nwaiting)
		drain_waiting(p);
}

void
pool__sched_init(struct pool *p)
{
	uv_timer_init(p->loop, &p->wait_timer);
	p->wait_timer.data = p;
}

void
pool__sched_fn_init(struct pool_fn *fn)
{
	ensure_provisioned(fn);
}

static void
free_handle(uv_handle_t *h)
{
	free(h);
}

/* The timer lives on its own allocation: libuv holds it until its close
 * callback, which may run after fn is freed. */
void
pool__sched_fn_release(struct pool_fn *fn)
{
	if (!fn->prewarm)
		return;
	fn->prewarm->data = NULL;
	uv_close((uv_handle_t *)fn->prewarm, free_handle);
	fn->prewarm = NULL;
}

void
pool__sched_stop(struct pool *p)
{
	struct pool_fn *fn;

	for (fn = p->fns; fn; fn = fn->next)
		if (fn->prewarm)
			uv_timer_stop(fn->prewarm);
	if (p->nwaiting)
		uv_timer_start(&p->wait_timer, wait_fired, 0, 0);
}
