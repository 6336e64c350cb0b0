/*
 * Shared by the files of the pool module only: pool.c (instances, relay
 * sockets, the spawner's events) and sched.c (where calls go, waiting,
 * eviction, keep-alive, pre-warming, provisioned instances).
 */
#ifndef HEARTH_POOL_INTERNAL_H
#define HEARTH_POOL_INTERNAL_H

#include "lib/map.h"
#include "pool/policy.h"
#include "pool/pool.h"

enum inst_state { INST_STARTING, INST_IDLE, INST_BUSY, INST_FINISHING, INST_ENDING };

/*
 * The concurrency group of one function: every revision and version of it
 * (each its own pool_fn) counts against one reservation, as on Lambda. Kept
 * in pool->groups by name while a pool_fn refers to it or a reservation is
 * set.
 */
struct pool_group {
	char *name;
	uint32_t reserved;		/* cap on live, POOL_UNRESERVED for none */
	uint32_t live;			/* instances of its pool_fns not ENDING */
	size_t refs;			/* pool_fns that point at it */
};

struct pool_fn {
	struct pool *pool;
	char *name;
	uint64_t revision;
	char *code_dir, *runtime_dir;
	char **argv, **envp;
	uint64_t mem_bytes, tmp_bytes, keepalive_ms;
	uint32_t pids_max;
	int network;			/* SANDBOX_NET_NONE or SANDBOX_NET_HOST */
	struct pool_group *group;	/* shared with the function's other versions */
	uint32_t provisioned;		/* instances kept initialised at all times */
	uint32_t provision_failures;	/* provisioned instances in a row that died starting */
	enum policy_keepalive_kind keepalive_kind;
	bool retired;
	size_t ninst;
	/* Calls waiting for capacity (pool->waiting) that will run here: a retired
	 * function, and its code, stay until they are placed or throttled too. */
	size_t nwaiting;
	struct instance *insts;		/* this function's instances (in->fn_next) */
	/* What the policies learn. */
	struct policy_hist hist;
	uint64_t calls;			/* GDSF frequency */
	uint64_t init_us;		/* GDSF cost: moving average of cold starts' init times */
	size_t active_calls;		/* calls between submit and done, for the histogram */
	/* Pre-warming decided by the adaptive keep-alive. */
	uv_timer_t *prewarm;		/* own allocation: see pool__sched_fn_release() */
	uint64_t prewarm_keepalive_ms;
	struct pool_fn *next;		/* pool->fns */
};

struct instance {
	struct pool *pool;
	struct pool_fn *fn;
	uint64_t id;
	enum inst_state state;
	int pid, pidfd, cgroup_fd, relay_fd;
	int freeze_fd;			/* for sandbox_freeze(); -1 without a freezer */
	int peak_fd;			/* the cgroup's peak-memory file, opened on first use */
	bool frozen;			/* idle and frozen: thaw before it runs or dies */
	uv_poll_t poll;
	bool poll_open, poll_writing;
	int poll_events;		/* what uv_poll_start() last asked for; 0 = stopped */
	uv_timer_t keepalive;
	bool timer_open;
	int closing;			/* handles still to close before free */
	struct buf in, out;
	bool dirty;			/* out has bytes to flush this iteration */
	bool exited;			/* spawner reported EXITED */
	bool oom;
	bool provisioned;		/* kept by provisioned concurrency: no keep-alive */
	uint64_t keepalive_ms;		/* for a pre-warmed instance: its window; 0 = decide */
	uint64_t keepalive_left_ms;	/* of the window, what remains once it is frozen */
	char exit_reason[96];		/* from the runtime's RELAY_EXIT */
	struct buf init_error_type, init_error_body;
	bool init_failed;
	uint64_t spawn_ns, calls, created_ms, idle_since_ms;
	struct pool_call *call;		/* in flight, or assigned while STARTING */
	struct pool_call *queued;	/* waits for FINISHING -> IDLE */
	struct instance *next;		/* pool->insts */
	struct instance *fn_next;	/* fn->insts */
	struct instance *next_dirty;
};

struct pool {
	uv_loop_t *loop;
	struct sandbox_client *sc;
	const struct pool_hooks *hooks;
	void *hooks_data;
	struct pool_config cfg;
	uv_poll_t sc_poll;
	uv_check_t flusher;
	uv_timer_t wait_timer;		/* throttles calls whose wait ran out */
	struct pool_fn *fns;
	struct map groups;		/* function name -> struct pool_group */
	struct instance *insts;
	struct instance *dirty;
	struct pool_call *waiting, *waiting_tail;	/* FIFO, through c->next */
	size_t nwaiting;
	size_t ninst;
	uint64_t used_mb;		/* live instances, each at its memory size */
	double gdsf_clock;		/* priority of the latest eviction (FaasCache's L) */
	uint64_t next_id;
	struct pool_freeze_stats fz;
	bool stopping;
	int closing;			/* handles still to close in pool_free() */
	void (*stopped_cb)(void *);
	void *stopped_data;
};

/* sched.c: the group of fn's function, made on first use; released by fn_free(). */
struct pool_group *pool__group_ref(struct pool *p, const char *name);
void pool__group_unref(struct pool *p, struct pool_group *g);
void pool__groups_release(struct pool *p);

/* pool.c: mechanism */
void pool__inst_spawn(struct pool_fn *fn, struct pool_call *c);
void pool__inst_dispatch(struct instance *in, struct pool_call *c, uint64_t init_ns);
void pool__inst_end(struct instance *in, const char *why);
void pool__inst_freeze(struct instance *in);
void pool__inst_thaw(struct instance *in);

/* sched.c: decisions, called by pool.c at each change of state */
void pool__sched_idle(struct instance *in);		/* ready, nothing to run */
void pool__sched_freed(struct instance *in);		/* in is gone; fn still alive */
void pool__sched_call_ended(struct pool_fn *fn);	/* a call finished, any way */
void pool__sched_init(struct pool *p);
void pool__sched_fn_init(struct pool_fn *fn);
void pool__sched_fn_release(struct pool_fn *fn);	/* closes the fn's timer */
void pool__sched_stop(struct pool *p);			/* throttles every waiting call */
/* Removes c from the wait queue; false when it was not waiting. */
bool pool__sched_unwait(struct pool_call *c);
void pool__fn_maybe_free(struct pool_fn *fn);

static inline uint64_t
pool__fn_mem_mb(const struct pool_fn *fn)
{
	return fn->mem_bytes >> 20;
}

#endif
