/*
 * When pre-started runtimes (stem.c) are made, taken and lost: the spawner's
 * side of them. A stem is one of the spawner's instances (inst->stem) whose
 * fds the spawner keeps until a spawn of its class takes it; the daemon never
 * hears of it before then. The loop (spawner.c) starts missing stems while it
 * idles, after every other pool is full: a stem is a whole sandbox, the
 * longest refill step.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "sandbox/spawner.h"
#include "lib/banned.h"

/*
 * A stem's start is work done ahead of need: it must not slow the cold starts
 * it is meant to speed up. So it runs at the least CPU weight there is, with
 * a full core's quota: on an idle host it starts as fast as any instance, on
 * a busy one it waits for spare time. Its quota stays until a spawn takes it
 * (no init boost to end: its limits are rewritten then).
 */
static void
stem_idle_cpu(struct spawner *sp, struct instance *inst)
{
	struct sandbox_cpu steady, idle;
	struct err err = ERR_INIT;

	sandbox_cpu_for_memory(SANDBOX__STEM_MEM_BYTES, &steady);
	sandbox_cpu_boost(&steady, &idle);
	idle.shares = 2;
	idle.weight = 1;
	inst->boost_until_ms = 0;
	if (sp->cg.ops->set_cpu(&sp->cg, &inst->cg, &idle, &err) < 0)
		log_warn("spawner: pre-started runtime: %s", err.msg);
}

/* One more stem of c failed, to start or before use; three in a row and the
 * class starts no more (its runtime does not work as a stem). */
static void
stem_failed(struct sandbox__stem_class *c)
{
	if (++c->failures == SANDBOX__STEM_MAX_FAILURES)
		log_warn("spawner: runtime %s fails to pre-start; its cold starts start it "
			 "afresh from now on", c->runtime_dir);
}

/* Starts one stem of class c. Returns whether it started. */
static bool
stem_start(struct spawner *sp, struct sandbox__stem_class *c, struct sandbox__stem *slot)
{
	struct sandbox__msg *m = xmalloc(sizeof(*m));
	struct err err = ERR_INIT;
	struct buf req = BUF_INIT;
	struct instance *inst;
	pid_t pid;
	int r;

	sandbox__msg_init(m, SANDBOX__MSG_SPAWN, SANDBOX__STEM_ID_BASE + ++sp->stems.seq);
	m->runtime_dir = c->runtime_dir;
	memcpy(m->argv, c->argv, (c->argc + 1) * sizeof(*c->argv));
	m->argc = c->argc;
	memcpy(m->envp, c->envp, (c->envc + 1) * sizeof(*c->envp));
	m->envc = c->envc;
	m->mem_bytes = SANDBOX__STEM_MEM_BYTES;
	m->tmp_bytes = SANDBOX__STEM_TMP_BYTES;
	m->pids_max = 1024;
	m->network = SANDBOX_NET_NONE;
	/* A seed decodes the request itself. */
	r = sandbox__msg_encode(m, &req);
	if (r < 0)
		err_set(&err, -r, "cannot encode the request");
	else
		r = sandbox__spawn(sp, m, req.ptr, req.len, slot->fds, &pid, &err);
	if (r < 0) {
		log_warn("spawner: cannot pre-start runtime %s: %s", c->runtime_dir, err.msg);
		stem_failed(c);
	} else {
		inst = sandbox__find_instance(sp, m->id);
		inst->stem = true;
		slot->id = m->id;
		slot->pid = pid;
		stem_idle_cpu(sp, inst);
	}
	buf_release(&req);
	free(m);
	return r == 0;
}

/* Starts a missing stem, one per call, while the spawner is idle; returns
 * whether more are missing. */
bool
sandbox__stems_refill(struct spawner *sp)
{
	bool started = false, missing = false;
	size_t i, j;

	for (i = 0; i < sp->stems.ncls; i++) {
		struct sandbox__stem_class *c = &sp->stems.cls[i];

		if (c->failures >= SANDBOX__STEM_MAX_FAILURES)
			continue;
		for (j = 0; j < sp->stems.want && j < SANDBOX__STEMS_MAX; j++) {
			if (c->stems[j].id)
				continue;
			if (started)
				return true;
			stem_start(sp, c, &c->stems[j]);
			started = true;
			missing = missing || !c->stems[j].id;
		}
	}
	return missing;
}

bool
sandbox__stems_short(const struct spawner *sp)
{
	size_t i, j;

	for (i = 0; i < sp->stems.ncls; i++) {
		if (sp->stems.cls[i].failures >= SANDBOX__STEM_MAX_FAILURES)
			continue;
		for (j = 0; j < sp->stems.want && j < SANDBOX__STEMS_MAX; j++)
			if (!sp->stems.cls[i].stems[j].id)
				return true;
	}
	return false;
}

/* Turns stem s (instance inst) into the instance m asks for. */
static int
stem_adopt(struct spawner *sp, struct sandbox__stem *s, struct instance *inst,
	   const struct sandbox__msg *m, struct err *err)
{
	int r;

	r = sp->cg.ops->set_limits(&sp->cg, &inst->cg, m->mem_bytes, m->pids_max, err);
	if (r == 0)
		r = sandbox__stem_mount(s->fds[1], m->code_dir, m->tmp_bytes, sp->home_mnt_fd,
					sp->home_cwd_fd, err);
	if (r == 0)
		r = sandbox__stem_assign(s->fds[0], m->envp, err);
	if (r < 0)
		return r;
	inst->id = m->id;
	inst->stem = false;
	inst->mem_bytes = m->mem_bytes;
	inst->boost_until_ms = clock_mono_ms() + SANDBOX_INIT_BOOST_MS;
	return 0;
}

/* A full class table gives up the class unused longest, if it has been
 * idle long enough (sandbox__stems_victim()), killing its ready stems. */
static void
stems_make_room(struct spawner *sp)
{
	struct sandbox__stem_class *c;
	struct instance *inst;
	int victim;
	size_t j;

	victim = sandbox__stems_victim(&sp->stems, clock_mono_ms());
	if (victim < 0)
		return;
	c = &sp->stems.cls[victim];
	log_info("spawner: runtime %s: a pre-started kind unused for %" PRIu64 " s gives its "
		 "place to a new one", c->runtime_dir, (clock_mono_ms() - c->used_ms) / 1000);
	for (j = 0; j < SANDBOX__STEMS_MAX; j++) {
		if (!c->stems[j].id)
			continue;
		/* Reaped as any stem; sandbox__stem_dead() then finds no slot of it. */
		inst = sandbox__find_instance(sp, c->stems[j].id);
		if (inst && !inst->dead)
			kill(inst->pid, SIGKILL);
	}
	sandbox__stems_remove(&sp->stems, (size_t)victim);
}

/*
 * Serves spawn m with a stem when one fits: 1 with fds and *pid filled, 0
 * when the ordinary path must run (no class, no stem ready, or the one taken
 * failed; it is then killed). The first request of a kind founds its class,
 * whose stems the idle loop starts.
 */
int
sandbox__stem_take(struct spawner *sp, const struct sandbox__msg *m, int fds[4], pid_t *pid)
{
	struct sandbox__stem_class *c;
	struct buf key = BUF_INIT;
	struct err err = ERR_INIT;
	struct instance *inst;
	size_t j;

	if (!sp->stems.want || sandbox__stem_key(m, &key) < 0) {
		buf_release(&key);
		return 0;
	}
	c = sandbox__stems_find(&sp->stems, &key);
	if (!c) {
		stems_make_room(sp);
		c = sandbox__stems_add(&sp->stems, m, &key);
		if (c)
			c->used_ms = clock_mono_ms();
		buf_release(&key);
		return 0;
	}
	buf_release(&key);
	c->used_ms = clock_mono_ms();
	for (j = 0; j < SANDBOX__STEMS_MAX; j++) {
		struct sandbox__stem *s = &c->stems[j];

		if (!s->id)
			continue;
		inst = sandbox__find_instance(sp, s->id);
		if (inst && !inst->dead && stem_adopt(sp, s, inst, m, &err) == 0) {
			memcpy(fds, s->fds, sizeof(s->fds));
			*pid = s->pid;
			memset(s, 0, sizeof(*s));
			c->failures = 0;
			return 1;
		}
		if (inst && !inst->dead) {
			log_warn("spawner: a pre-started runtime cannot become instance %" PRIu64
				 ": %s; starting one afresh", m->id, err.msg);
			kill(inst->pid, SIGKILL);
			stem_failed(c);
			sandbox__stem_forget(s);
			/* The cause may be the request's, not the stem's: one
			 * failure costs one stem, never the whole class. */
			return 0;
		}
		sandbox__stem_forget(s);
	}
	return 0;
}

/* A stem died before any spawn took it: nobody to tell but its class. */
void
sandbox__stem_dead(struct spawner *sp, const struct instance *inst)
{
	size_t i, j;

	for (i = 0; i < sp->stems.ncls; i++) {
		for (j = 0; j < SANDBOX__STEMS_MAX; j++) {
			struct sandbox__stem *s = &sp->stems.cls[i].stems[j];

			if (s->id != inst->id)
				continue;
			if (!sp->stopping)
				log_warn("spawner: pre-started runtime %s ended before use (status "
					 "0x%x)", sp->stems.cls[i].runtime_dir, inst->wait_status);
			stem_failed(&sp->stems.cls[i]);
			sandbox__stem_forget(s);
		}
	}
}
