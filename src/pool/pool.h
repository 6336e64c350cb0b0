/*
 * The pool: instances per function revision, warm-first dispatch, scale-out,
 * keep-alive and scale to zero.
 *
 * A call submitted to a function revision goes to an idle instance if there is
 * one (a warm start), else to an instance that has just answered and is about
 * to ask for its next event, else to a new instance (a cold start): concurrent
 * calls never queue behind one another. An instance idle for the function's
 * keep-alive window is ended, so an idle function has no process at all.
 * An instance idle a little while (pool_config.freeze_after_ms) is frozen in
 * between, so it uses no CPU; the next call thaws it.
 *
 * The pool owns instances and their relay sockets; it knows nothing of HTTP or
 * SQL. Results come back through struct pool_hooks. One loop thread; not
 * thread-safe.
 */
#ifndef HEARTH_POOL_H
#define HEARTH_POOL_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "lib/buf.h"
#include "sandbox/sandbox.h"

struct pool;
struct pool_fn;
struct instance;

struct pool_fn_spec {
	const char *name;
	uint64_t revision;
	const char *code_dir;
	const char *runtime_dir;	/* NULL for runtime "provided" */
	const char *const *argv;	/* runtime command inside the sandbox */
	const char *const *envp;
	uint64_t mem_bytes;
	uint64_t tmp_bytes;
	uint32_t pids_max;
	int network;			/* SANDBOX_NET_NONE or SANDBOX_NET_HOST */
	uint64_t keepalive_ms;		/* the fixed window (and the adaptive fallback) */
	int keepalive_adaptive;		/* learn the window from idle times (policy.h) */
	uint32_t provisioned;		/* instances kept initialised at all times */
};

/* Pool-wide limits. */
struct pool_config {
	uint64_t budget_mb;		/* memory all instances may hold, each at its size */
	uint64_t queue_wait_ms;		/* how long a call waits for capacity before a throttle */
	size_t queue_max;		/* calls that may wait at once; more are throttled */
	uint64_t freeze_after_ms;	/* freeze an instance idle this long; 0 = never freeze */
};

/* What freezing costs, since the pool started. */
struct pool_freeze_stats {
	uint64_t freezes, thaws;
	uint64_t thaw_ns_total, thaw_ns_max;	/* the daemon's write that thaws, per thaw */
};

enum pool_outcome {
	POOL_RESPONSE = 1,	/* the runtime answered */
	POOL_ERROR,		/* the runtime reported a function error */
	POOL_INIT_ERROR,	/* the runtime failed to initialise */
	POOL_DIED,		/* the instance ended (crash, exit, OOM) or could not start */
	POOL_THROTTLED,		/* no capacity within the wait: reason says which limit */
};

struct pool_result {
	enum pool_outcome kind;
	struct str body;	/* RESPONSE, ERROR, INIT_ERROR; valid during the callback */
	struct str errtype;	/* ERROR, INIT_ERROR */
	const char *reason;	/* DIED: e.g. "Runtime exited with error: signal: aborted";
				 * THROTTLED: "ReservedFunctionConcurrentInvocationLimitExceeded"
				 * or "ConcurrentInvocationLimitExceeded" */
	bool oom;		/* DIED: the memory limit was hit */
	uint64_t mem_peak_bytes;
};

/* One call as the pool sees it; embedded in the caller's invocation struct. */
struct pool_call {
	const char *request_id;	/* borrowed; matched against the runtime's answers */
	struct buf frame;	/* the RELAY_INVOKE frame, complete when dispatched() returns */
	/* private */
	struct pool_fn *fn;
	struct instance *inst;
	struct pool_call *next;		/* the wait queue */
	bool waiting;
	uint64_t wait_deadline_ms;
	const char *wait_reason;
};

struct pool_hooks {
	/* The call is being handed to an instance. init_ns > 0 on a cold start: the
	 * time from spawn to the runtime's first request for work. c->frame is
	 * queued to the instance right after this returns, so the deadline can be
	 * stamped here. */
	void (*dispatched)(struct pool_call *c, uint64_t init_ns);
	/* The call ended. Called exactly once per submitted call unless it was
	 * aborted with pool_call_abort(). */
	void (*done)(struct pool_call *c, const struct pool_result *r);
	/* One line of the runtime's output; c is the call in flight or NULL. */
	void (*log)(void *data, const char *fn_name, struct pool_call *c, int stream,
		    struct str line);
	/* A retired function (pool_fn_retire()) has no instance left: nothing of it
	 * runs code_dir any more (other functions' instances may). May be NULL.
	 * Called from the loop; the callee must not call back into the pool now. */
	void (*code_released)(void *data, const char *code_dir);
};

struct pool_instance_info {
	uint64_t id;
	const char *function;
	uint64_t revision;
	const char *state;	/* "starting", "idle", "frozen", "busy", "ending" */
	int pid;
	uint64_t age_ms;
	uint64_t calls;
	uint64_t mem_bytes;	/* the instance's cgroup usage now (0 while starting) */
	bool provisioned;
};

/* Whether an instance (starting, idle, busy, frozen or still ending) of any
 * function runs the code at code_dir: its bind mount shares the tree, so the
 * tree must stay until the instance is gone. */
bool pool_code_in_use(const struct pool *p, const char *code_dir);

/* Borrows sc and hooks for the pool's life; data goes to hooks->log. Watches sc->fd on loop.
 * cfg is copied. */
struct pool *pool_new(uv_loop_t *loop, struct sandbox_client *sc, const struct pool_config *cfg,
		      const struct pool_hooks *hooks, void *data);

/* No reserved concurrency: the function's instances are capped only by memory. */
#define POOL_UNRESERVED UINT32_MAX

/*
 * Sets the reserved concurrency of the function called name: a cap on its
 * instances, counted across all its revisions and versions (Lambda counts it
 * per function). Calls over the cap wait in the bounded queue like calls over
 * the memory budget, then get a throttle with reason
 * "ReservedFunctionConcurrentInvocationLimitExceeded"; 0 throttles every call
 * at once. POOL_UNRESERVED removes the cap. Lowering it ends no instance; the
 * function simply starts no new one until it is under the cap. Waiting calls
 * are looked at again at once. Copies name; works before or after the
 * function's revisions are registered.
 */
void pool_set_reserved(struct pool *p, const char *name, uint32_t reserved);

/* Registers a function revision. Copies spec. */
struct pool_fn *pool_fn_new(struct pool *p, const struct pool_fn_spec *spec);
/* No more calls go to fn: idle instances end now, busy ones after their call.
 * The pool frees fn once its last instance has gone. */
void pool_fn_retire(struct pool_fn *fn);
/* Changes fn's provisioned count and keep-alive policy in place: instances
 * beyond a lowered count become ordinary ones (ended now if idle), missing
 * ones start now. */
void pool_fn_set_sched(struct pool_fn *fn, uint32_t provisioned, int keepalive_adaptive);
/* Queues c for fn (c->frame and c->request_id set). Never fails: a failure to
 * start an instance arrives as done(POOL_DIED). */
void pool_submit(struct pool_fn *fn, struct pool_call *c);
/* Ends the call's instance (timeout, caller gone). done() is not called for c.
 * Returns the instance's memory peak in bytes (0 if unknown). */
uint64_t pool_call_abort(struct pool_call *c);

void pool_freeze_stats(const struct pool *p, struct pool_freeze_stats *out);

/* Instances alive (any state). */
size_t pool_count(const struct pool *p);
/* Memory held by live instances, each counted at its memory size, and the budget. */
uint64_t pool_used_mb(const struct pool *p);
void pool_foreach(const struct pool *p, void (*cb)(const struct pool_instance_info *, void *), void *data);
/* Ends every instance and fails every call; cb(data) runs when none is left. */
void pool_stop(struct pool *p, void (*cb)(void *), void *data);
/* Frees the pool (after its close callbacks run) once pool_stop() completed. */
void pool_free(struct pool *p);

#endif
