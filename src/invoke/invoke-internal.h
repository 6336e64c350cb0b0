/* Shared between the files of the invoke module only. */
#ifndef HEARTH_INVOKE_INTERNAL_H
#define HEARTH_INVOKE_INTERNAL_H

#include "invoke/invoke.h"
#include "lib/map.h"

/* Durations of the latest calls, for percentiles: a ring, not a full history. */
#define FN_STATS_RING 1024

struct fn_stats {
	uint64_t invocations, cold_starts, warm_starts, errors, timeouts, throttles;
	float dur_ms[FN_STATS_RING];
	size_t ndur, next;
};

struct fn_entry {
	struct fn_stats stats;
	struct fn_config cfg;
	struct pool_fn *pf;	/* instances of cfg.revision; created on first call */
	int log_fd;		/* <data>/logs/<name>.log, opened on first line */
};

struct invocation;

struct invoke_service {
	uv_loop_t *loop;
	struct store *store;
	struct pool *pool;
	struct invoke_config cfg;
	char *log_dir;
	struct map fns;			/* name -> struct fn_entry */
	struct invocation *inflight;	/* doubly linked */
	size_t ninflight;
	bool draining;
	/* async dispatcher */
	uv_timer_t async_timer;
	size_t async_running;
	bool async_scheduled;	/* async_timer was initialised */
};

/* registry.c */
struct fn_entry *invoke__fn(struct invoke_service *svc, const char *name);
struct pool_fn *invoke__pool_fn(struct invoke_service *svc, struct fn_entry *fe);
void invoke__registry_release(struct invoke_service *svc);
int invoke__load(struct invoke_service *svc, struct err *err);

/* fnlog.c: one line "<ISO time>\t<text>\n" appended to the function's log. */
void invoke__log_line(struct invoke_service *svc, const char *name, const char *fmt, ...)
	FORMAT(3, 4);
void invoke__log_raw(struct invoke_service *svc, const char *name, const char *request_id,
		     struct str line);

/* async.c */
int invoke__async_start(struct invoke_service *svc, struct err *err);
void invoke__async_stop(struct invoke_service *svc);
void invoke__async_kick(struct invoke_service *svc);
/* Closes the dispatcher's timer; its close callback frees svc. */
void invoke__async_free(struct invoke_service *svc);

/* invoke.c: invoke_sync() with a given request id (an async event keeps its own). */
int invoke__start(struct invoke_service *svc, const char *name, const char *request_id,
		  const void *payload, size_t len, const char *client_context,
		  invoke_done_fn *done, void *data, struct err *err);

/* invoke.c: the pool's hooks */
extern const struct pool_hooks invoke__pool_hooks;

#endif
