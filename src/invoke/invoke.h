/*
 * One invocation's life: from a request for a function to its answer.
 *
 * invoke_sync() finds the function, hands the call to the pool, arms the
 * timeout, writes Lambda's START/END/REPORT log lines and tells the caller the
 * result. invoke_async() commits the event to the store first (so it survives
 * a crash of the daemon), then runs it soon after through the same path,
 * retrying on failure with backoff.
 *
 * The registry of deployed functions also lives here: the daemon keeps every
 * function's configuration in memory (the store is the durable copy) so the
 * hot path never touches SQL.
 *
 * Loop thread only.
 */
#ifndef HEARTH_INVOKE_H
#define HEARTH_INVOKE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "lib/buf.h"
#include "lib/err.h"
#include "pool/pool.h"
#include "store/store.h"

#define INVOKE_MAX_SYNC_PAYLOAD (6u * 1024 * 1024)
#define INVOKE_MAX_ASYNC_PAYLOAD (256u * 1024)

struct invoke_config {
	const char *data_dir;
	const char *code_root;		/* where code_unpack() puts trees */
	const char *runtimes_dir;	/* holds python/, node/ bootstraps; may be NULL */
	const char *region;		/* AWS_REGION given to functions */
	uint64_t keepalive_ms;		/* default keep-alive when a function sets none */
	uint64_t retry_base_ms;		/* first async retry delay (doubles), Lambda: 60 s */
	uint32_t async_max_attempts;	/* Lambda: 3 (the call and two retries) */
	uint64_t event_retention_ms;	/* finished events older than this are pruned (those
					 * that reached no destination never are); 0: never */
	uint64_t log_max_bytes;		/* a function log rotates past this; 0: never */
	bool keepalive_adaptive;	/* default keep-alive policy: hybrid histogram */
	struct pool_config pool;	/* memory budget, wait queue */
};

struct invoke_service;

struct invoke_result {
	int status;			/* 200; 429 when throttled (the call never ran) */
	const char *function_error;	/* NULL, or "Unhandled" */
	const char *throttle_reason;	/* 429: Lambda's Reason, e.g.
					 * "ReservedFunctionConcurrentInvocationLimitExceeded" */
	struct str body;		/* the function's answer or the error JSON; valid in the callback */
	const char *request_id;
	const char *executed_version;
	struct str log_tail;		/* last 4 KB of the call's log when asked for (log_tail) */
};

typedef void invoke_done_fn(const struct invoke_result *r, void *data);

/* Creates the service and the pool it drives (borrows st and sc), and loads
 * the deployed functions from the store. */
int invoke_service_new(struct invoke_service **out, uv_loop_t *loop, struct store *st,
		       struct sandbox_client *sc, const struct invoke_config *cfg, struct err *err);
struct pool *invoke_pool(struct invoke_service *svc);
/* Frees the service and its pool; call once pool_stop() has completed. */
void invoke_service_free(struct invoke_service *svc);

/* The registry. fn is borrowed and copied; the function's instances of older
 * revisions finish their calls and are not reused. */
void invoke_fn_set(struct invoke_service *svc, const struct fn_config *fn);
void invoke_fn_remove(struct invoke_service *svc, const char *name);
const struct fn_config *invoke_fn_get(struct invoke_service *svc, const char *name);
/* Validates a runtime name; -EINVAL with a message when hearth cannot run it. */
int invoke_runtime_check(struct invoke_service *svc, const char *runtime, struct err *err);

/* Runs name with payload (copied). Returns -ENOENT if there is no such
 * function; otherwise 0, and done(data) is called exactly once, later, from
 * the loop. client_context (base64 JSON) may be NULL. */
int invoke_sync(struct invoke_service *svc, const char *name, const void *payload, size_t len,
		const char *client_context, invoke_done_fn *done, void *data, struct err *err);

/* One synchronous call with every option. name may carry a qualifier
 * ("name:3", "name:live") unless qualifier is given. */
struct invoke_request {
	const char *name;
	const char *qualifier;		/* NULL, "$LATEST", a version number or an alias */
	const void *payload;		/* copied */
	size_t len;
	const char *client_context;	/* base64 JSON, or NULL */
	bool log_tail;			/* collect the call's log lines for invoke_result.log_tail */
};

/* As invoke_sync(); -ENOENT for an unknown function, version or alias. A call
 * over a limit (reserved concurrency, the memory budget) is accepted, waits
 * in the pool and may end as a throttle: done() with status 429 and
 * throttle_reason. */
int invoke_call(struct invoke_service *svc, const struct invoke_request *rq,
		invoke_done_fn *done, void *data, struct err *err);

/* The configuration "name[:qualifier]" would run (borrowed from the registry,
 * valid until the next change to it), or NULL with err filled. */
const struct fn_config *invoke_resolve(struct invoke_service *svc, const char *name,
				       const char *qualifier, struct err *err);

/* Registry of versions, aliases and reservations, kept in step with the store
 * by the API after each committed change. Arguments are copied. */
void invoke_version_add(struct invoke_service *svc, const struct fn_config *version);
void invoke_alias_set(struct invoke_service *svc, const struct fn_alias *alias);
void invoke_alias_remove(struct invoke_service *svc, const char *function, const char *alias);
/* reserved -1 removes the reservation. */
void invoke_concurrency_set(struct invoke_service *svc, const char *function, int64_t reserved);
/* Applies a function's scheduling settings (already stored): provisioned
 * instances of $LATEST start at once; the keep-alive policy applies to every
 * version's instances. -ENOENT for an unknown function. */
int invoke_sched_set(struct invoke_service *svc, const char *function, const struct fn_sched *s);
/* s->keepalive_policy points into the registry; valid until the next change. */
int invoke_sched_get(struct invoke_service *svc, const char *function, struct fn_sched *s);
/* -1 when the function has none (or does not exist). */
int64_t invoke_concurrency_get(struct invoke_service *svc, const char *function);

/* Commits an event for name (which may carry a qualifier, checked now and
 * resolved again when the event runs) and schedules it. Fills request_id (37
 * bytes). The event is durable when this returns 0. */
int invoke_async(struct invoke_service *svc, const char *name, const void *payload, size_t len,
		 char request_id[37], struct err *err);

/* Redrive: runs FAILED events of function again, as new events (see
 * store_event_redrive(): one by request id, or with request_id NULL every one
 * that reached no destination). Returns how many; -ENOENT when the function no
 * longer exists (a redriven event could only fail again), -ENOENT or -EEXIST
 * for a request id that is unknown or not failed. */
int invoke_async_retry(struct invoke_service *svc, const char *function, const char *request_id,
		       struct err *err);

/*
 * Unused code (codegc.c). invoke_code_gc() removes every unpacked tree under
 * cfg.code_root that no function or version in the store references and no
 * instance runs; it returns how many it removed (their files are deleted on the
 * worker pool). While an unpack is in flight it removes nothing and owes a sweep
 * for when the last one ends. invoke_code_gc_soon() asks for a sweep shortly
 * (after a delete). The API brackets every unpack with
 * invoke_code_unpacking(svc, true) / (svc, false); the second asks for a sweep.
 */
int invoke_code_gc(struct invoke_service *svc, struct err *err);
void invoke_code_gc_soon(struct invoke_service *svc);
void invoke_code_unpacking(struct invoke_service *svc, bool started);

/* Per-function counters since the daemon started (or the function was created). */
struct invoke_stats {
	uint64_t invocations, cold_starts, warm_starts, errors, timeouts, throttles;
	size_t samples;			/* durations kept for the percentiles (the latest) */
	double p50_ms, p90_ms, p99_ms;	/* of Duration as in the REPORT line */
};
int invoke_fn_stats(struct invoke_service *svc, const char *name, struct invoke_stats *out);

/* Stops new calls from starting (shutdown): sync calls get an error, async events wait in the store. */
void invoke_drain(struct invoke_service *svc);
/* Number of calls in flight. */
size_t invoke_inflight(const struct invoke_service *svc);

/* Function logs: reads complete lines after byte offset *cursor (0 = start), at
 * most max_bytes, appending them to out (each ending in '\n') and advancing
 * *cursor. -ENOENT when the function has no log yet (not an error for callers). */
int invoke_logs_read(struct invoke_service *svc, const char *name, uint64_t *cursor,
		     size_t max_bytes, struct buf *out, struct err *err);

#endif
