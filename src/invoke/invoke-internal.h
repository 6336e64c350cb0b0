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

/* A published version: its snapshot and its own pool handle, so instances of
 * version 3 never serve $LATEST or version 4. */
struct fn_version {
	char key[12];		/* "3": the key in fn_entry.versions */
	struct fn_config cfg;
	struct pool_fn *pf;	/* created on first call */
};

struct fn_entry {
	struct fn_stats stats;
	struct fn_config cfg;
	struct pool_fn *pf;	/* instances of cfg.revision; created on first call */
	int log_fd;		/* <data>/logs/<name>.log, opened on first line; -1 closed */
	struct fn_entry *log_prev, *log_next;	/* svc->log_lru while log_fd is open */
	struct buf log_pending;	/* whole lines not yet written: see fnlog.c */
	/* Rotation (fnlog.c): where the current file starts in the function's log
	 * as a whole (read from disk on first use), and its size while it is open. */
	uint64_t log_base, log_size;
	bool log_base_known;
	bool log_dirty;		/* on svc->log_dirty */
	struct fn_entry *dirty_next;	/* svc->log_dirty */
	struct map versions;	/* "3" -> struct fn_version */
	struct map aliases;	/* alias name -> struct fn_alias */
	int64_t reserved;	/* reserved concurrency, -1 for none; the pool enforces it */
	uint32_t provisioned;	/* instances of $LATEST kept initialised */
	char ka_policy[12];	/* "", "fixed" or "adaptive": see struct fn_sched */
};

struct invocation;

struct invoke_service {
	uv_loop_t *loop;
	struct store *store;
	struct pool *pool;
	struct invoke_config cfg;
	char *log_dir;
	struct map fns;			/* name -> struct fn_entry */
	/* Open function logs, most recently written first: at most
	 * INVOKE_LOG_FDS_MAX, so a thousand functions never cost a thousand fds. */
	struct fn_entry *log_lru, *log_lru_tail;
	size_t nlog_open;
	struct invocation *inflight;	/* doubly linked */
	size_t ninflight;
	bool draining;
	/* Log lines are written once per loop iteration (fnlog.c). */
	uv_check_t *log_check;		/* own allocation, freed by its close callback */
	struct fn_entry *log_dirty;
	struct buf log_line;		/* scratch for one line, reused (fnlog.c) */
	/* async dispatcher */
	uv_timer_t async_timer;
	size_t async_running;
	bool async_scheduled;	/* async_timer was initialised */
	/* Prunes finished events (own allocation, freed by its close callback);
	 * NULL when cfg.event_retention_ms is 0. */
	uv_timer_t *prune_timer;
	/* codegc.c: a sweep soon (own allocation, freed by its close callback);
	 * unpacks in flight, during which no sweep runs (one is owed instead). */
	uv_timer_t *code_gc_timer;
	unsigned code_unpacking;
	bool code_gc_pending;
};

/* registry.c */
struct fn_entry *invoke__fn(struct invoke_service *svc, const char *name);
struct pool_fn *invoke__pool_fn(struct invoke_service *svc, struct fn_entry *fe);
/* The pool handle for a resolved configuration: $LATEST's (cfg == &fe->cfg) or a
 * version's. */
struct pool_fn *invoke__pool_fn_for(struct invoke_service *svc, struct fn_entry *fe,
				    const struct fn_config *cfg);
/* Finds the configuration "name[:qualifier]" runs: $LATEST, a version or an
 * alias's target. *fe and *cfg are borrowed from the registry. -ENOENT (with a
 * message) when the function, version or alias is unknown; -EINVAL for a
 * malformed qualifier. */
int invoke__resolve(struct invoke_service *svc, const char *name, const char *qualifier,
		    struct fn_entry **fe, const struct fn_config **cfg, struct err *err);
void invoke__registry_release(struct invoke_service *svc);
int invoke__load(struct invoke_service *svc, struct err *err);

/* fnlog.c: how many function logs stay open at once (least recently written
 * closes first; O_APPEND makes reopening lossless). */
#define INVOKE_LOG_FDS_MAX 64
/* Closes fe's log if it is open (before fe is freed). */
void invoke__log_close(struct invoke_service *svc, struct fn_entry *fe);
/* fnlog.c: one line "<ISO time>\t<text>\n" appended to the function's log. */
void invoke__log_line(struct invoke_service *svc, const char *name, const char *fmt, ...)
	FORMAT(3, 4);
void invoke__log_raw(struct invoke_service *svc, const char *name, const char *request_id,
		     struct str line);
/* Writes fe's pending lines now (before it is freed or its log is read). */
void invoke__log_flush(struct invoke_service *svc, struct fn_entry *fe);
void invoke__log_start(struct invoke_service *svc);
/* Writes every pending line and closes the check handle. */
void invoke__log_stop(struct invoke_service *svc);
/* The same, also appending the line's text (without time or request id, as
 * Lambda's LogResult shows it) to tail when it is not NULL. */
void invoke__log_line_tail(struct invoke_service *svc, const char *name, struct buf *tail,
			   const char *fmt, ...) FORMAT(4, 5);
void invoke__log_raw_tail(struct invoke_service *svc, const char *name, const char *request_id,
			  struct buf *tail, struct str line);

/* codegc.c */
void invoke__code_gc_start(struct invoke_service *svc);
void invoke__code_gc_stop(struct invoke_service *svc);
void invoke__code_released(struct invoke_service *svc, const char *code_dir);

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
int invoke__start_request(struct invoke_service *svc, const struct invoke_request *rq,
			  const char *request_id, invoke_done_fn *done, void *data,
			  struct err *err);

/* invoke.c: the pool's hooks */
extern const struct pool_hooks invoke__pool_hooks;

#endif
