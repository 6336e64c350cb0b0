/*
 * The daemon's durable state: one SQLite database per data directory.
 *
 * What lives here: function configurations and the queue of asynchronous
 * invocations (events), behind one connection that only the loop thread uses.
 * The database runs in WAL mode with synchronous=NORMAL, so a committed
 * transaction survives a crash of the process (kill -9), though not
 * necessarily a power loss in the last moments before it.
 *
 * What does not: the code archives themselves (see code.h, a plain directory
 * tree addressed by sha256), and anything about processes or HTTP.
 *
 * Every call returns 0 (or a count) on success and a negative errno on
 * failure, with `err` filled: -EEXIST for a uniqueness conflict, -ENOENT for
 * an unknown name or id, -EAGAIN when the database is locked by another
 * process past the busy timeout, -EINVAL for a missing required value, and
 * -EIO for anything else SQLite reports. Messages name the operation:
 * "cannot store function 'x': database is locked".
 */
#ifndef HEARTH_STORE_H
#define HEARTH_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/err.h"

struct store;

/* Opens (creating when missing) the database at `path` and brings its schema up to date.
 * On success *out is a new handle; free it with store_close(). */
int store_open(struct store **out, const char *path, struct err *err);
/* Finalizes cached statements and closes the database. NULL is a no-op. */
void store_close(struct store *st);

struct fn_config {
	char *name;		/* [A-Za-z0-9_-]{1,64} */
	char *runtime;		/* "provided" | "python3" | "nodejs" */
	char *handler;		/* may be NULL; NULL and "" round-trip unchanged */
	char *description;	/* may be NULL; NULL and "" round-trip unchanged */
	char *env_json;		/* JSON object of string->string; NULL is stored as "{}" */
	char *code_sha256;	/* hex, 64 chars */
	uint64_t code_size;	/* bytes of the archive */
	uint32_t memory_mb;	/* 128..10240 */
	uint32_t timeout_s;	/* 1..900 */
	uint32_t keepalive_s;	/* 0 = daemon default */
	uint32_t tmp_mb;	/* size of /tmp; 0 is stored as the default, 512 */
	char *network;		/* "none" | "host"; NULL is stored as "none" */
	uint64_t revision;	/* bumped on every update; set by the store */
	uint32_t version;	/* 0 = $LATEST; n = published version n (read-only snapshot) */
	uint64_t created_ms, updated_ms;	/* epoch ms, set by the store */
};

/* Frees the strings; leaves zeros. */
void fn_config_release(struct fn_config *fn);

/*
 * Inserts or updates by name; fills fn->revision, created_ms, updated_ms. *created
 * (may be NULL) is 1 when the function was new, else 0. A new function starts at
 * revision 1; every put of an existing one adds 1 and keeps created_ms. Values are
 * not validated here (the API does that), except that name, runtime and
 * code_sha256 must not be NULL (-EINVAL). Borrows fn's strings.
 */
int store_fn_put(struct store *st, struct fn_config *fn, int *created, struct err *err);
/* Fills *out (caller releases it with fn_config_release()); -ENOENT when unknown. */
int store_fn_get(struct store *st, const char *name, struct fn_config *out, struct err *err);
/*
 * Calls cb for each function ordered by name; stops early when cb returns non-zero
 * and returns that value. The rows are read before the first callback, so cb may
 * call any other store function (delete the function it is given, for instance).
 * `fn` is valid only during the callback.
 */
int store_fn_list(struct store *st, int (*cb)(const struct fn_config *fn, void *data), void *data,
		  struct err *err);
/* -ENOENT when unknown. */
int store_fn_delete(struct store *st, const char *name, struct err *err);
/* 1 when some function still references this code (so it must not be garbage
 * collected), 0 when none does, negative on error. */
int store_code_in_use(struct store *st, const char *sha256, struct err *err);

enum store_event_state { EVENT_PENDING = 0, EVENT_RUNNING, EVENT_SUCCEEDED, EVENT_FAILED };

struct store_event {
	int64_t id;			/* rowid */
	char *request_id;		/* uuid */
	char *function;			/* name[:qualifier] */
	struct buf payload;
	int state;			/* enum store_event_state */
	uint32_t attempts;
	uint64_t created_ms, next_ms;	/* epoch ms; next_ms: when it is due */
	char *last_error;		/* NULL or text */
	uint64_t finished_ms;		/* when it became SUCCEEDED or FAILED; 0 before */
	char *dest_request_id;		/* the destination record it went to, or NULL */
	char *orphan_on_failure;	/* its function's on-failure destination, kept when
					 * the function was deleted before the event ended */
};

/* Frees what ev holds and leaves it zeroed (with an empty payload buf). */
void store_event_release(struct store_event *ev);
/*
 * Durably commits a new PENDING event due at now_ms (before the caller answers 202).
 * -EEXIST when request_id is already queued.
 */
int store_event_add(struct store *st, const char *request_id, const char *function,
		    const void *payload, size_t len, uint64_t now_ms, struct err *err);
/*
 * Up to max events in state PENDING with next_ms <= now_ms, the most overdue first
 * (next_ms, then id), marked RUNNING in the same transaction. Fills out[0..n) (caller
 * releases each with store_event_release()); their state reads EVENT_RUNNING.
 * Returns the count n (>= 0). On error out holds nothing.
 */
int store_event_claim(struct store *st, uint64_t now_ms, struct store_event *out, int max,
		      struct err *err);
/* Earliest next_ms of a PENDING event, or -ENOENT when none is pending. */
int store_event_next_due(struct store *st, uint64_t *next_ms, struct err *err);
/* Marks an event done at now_ms; state is EVENT_SUCCEEDED or EVENT_FAILED (else
 * -EINVAL). last_error may be NULL. -ENOENT for an unknown id. */
int store_event_finish(struct store *st, int64_t id, int state, const char *last_error,
		       uint64_t now_ms, struct err *err);
/* Puts an event back to PENDING with a new attempt count and due time. -ENOENT for an
 * unknown id. */
int store_event_retry(struct store *st, int64_t id, uint32_t attempts, uint64_t next_ms,
		      const char *last_error, struct err *err);
/*
 * At start-up: RUNNING events were interrupted by a crash -> back to PENDING, keeping
 * their next_ms, so they are due at once (at-least-once delivery). Returns how many
 * were put back.
 */
int store_event_recover(struct store *st, struct err *err);
/*
 * Lists events of a function, also those sent to it with a qualifier ("name:live")
 * (function == NULL: of all functions), newest first, up to max, for `hearth events`. Stops early when cb returns non-zero and returns that value.
 * Like store_fn_list(), cb may call other store functions; `ev` lives only during cb.
 */
int store_event_list(struct store *st, const char *function,
		     int (*cb)(const struct store_event *ev, void *data), void *data, int max,
		     struct err *err);
/* Like store_event_list() for one function, only events in `state` (enum store_event_state). */
int store_event_list_state(struct store *st, const char *function, int state,
			   int (*cb)(const struct store_event *ev, void *data), void *data, int max,
			   struct err *err);
/*
 * Finishes event id (as store_event_finish()) and, in the same transaction, queues a new
 * PENDING event (dest_request_id for dest_function, due at now_ms): a destination record
 * is never lost, and never sent for an event that is not finished. dest_function NULL
 * makes this store_event_finish().
 */
int store_event_finish_to(struct store *st, int64_t id, int state, const char *last_error,
			  const char *dest_request_id, const char *dest_function,
			  const void *payload, size_t len, uint64_t now_ms, struct err *err);
/*
 * Deletes up to max events that finished before before_ms and are done with: SUCCEEDED
 * ones, and FAILED ones whose record went to an on-failure destination. A FAILED event
 * that reached nowhere is never deleted here (see store_event_delete()). Oldest first;
 * returns how many were deleted, so a caller sees when a batch came back full.
 */
int store_event_prune(struct store *st, uint64_t before_ms, int max, struct err *err);
/* The event with this request id (caller releases *out). -ENOENT when unknown. */
int store_event_get(struct store *st, const char *request_id, struct store_event *out,
		    struct err *err);
/*
 * Redrive: puts FAILED events of `function` (its events under any qualifier too) back to
 * PENDING, due at now_ms, as new: no attempts, their age counted from now_ms, no
 * destination record. request_id names one event (it may have reached a destination:
 * the user asked for it); NULL takes every FAILED event that reached no destination.
 * Returns how many; for one event, -ENOENT when the function has no such event and
 * -EEXIST when it is not FAILED.
 */
int store_event_redrive(struct store *st, const char *function, const char *request_id,
			uint64_t now_ms, struct err *err);
/*
 * Deletes finished (SUCCEEDED or FAILED) events of `function` (any qualifier): the one
 * named by request_id, or with request_id NULL every FAILED one. Pending and running
 * events are never deleted: they are on their way. Returns how many; for one event,
 * -ENOENT when unknown and -EEXIST when it has not finished.
 */
int store_event_delete(struct store *st, const char *function, const char *request_id,
		       struct err *err);

/*
 * Published versions: immutable snapshots of a function's $LATEST
 * configuration and code, numbered 1, 2, ... per function. Their fn_config has
 * version > 0 and revision = the $LATEST revision they were taken from.
 */

/* Publishes $LATEST of `name` as a new version and fills *out with it (caller
 * releases). When nothing changed since the newest version (same revision),
 * that version is returned instead and *created (may be NULL) is 0, as Lambda's
 * PublishVersion does. description NULL keeps the function's. -ENOENT when the
 * function is unknown. */
int store_version_publish(struct store *st, const char *name, const char *description,
			  struct fn_config *out, int *created, struct err *err);
/* -ENOENT when the function or version is unknown. */
int store_version_get(struct store *st, const char *name, uint32_t version, struct fn_config *out,
		      struct err *err);
/* Calls cb for each version of `name` (NULL: of every function), by name then
 * version; like store_fn_list(), cb may use the store. */
int store_version_list(struct store *st, const char *name,
		       int (*cb)(const struct fn_config *fn, void *data), void *data,
		       struct err *err);

/* An alias: a name that points at a version of a function (0 = $LATEST). */
struct fn_alias {
	char *function;
	char *name;
	uint32_t version;
	char *description;	/* may be NULL */
	uint64_t revision;	/* bumped on every update; set by the store */
	uint64_t created_ms, updated_ms;
};

void fn_alias_release(struct fn_alias *a);

enum store_alias_mode {
	STORE_ALIAS_CREATE,	/* -EEXIST when it exists (Lambda's CreateAlias) */
	STORE_ALIAS_UPDATE,	/* -ENOENT when it does not (UpdateAlias) */
	STORE_ALIAS_UPSERT,	/* either (`hearth alias`) */
};

/* Writes the alias; fills revision and times. -ENOENT when the function or the
 * version it names does not exist. *created (may be NULL) is 1 for a new alias. */
int store_alias_put(struct store *st, struct fn_alias *a, enum store_alias_mode mode,
		    int *created, struct err *err);
/* Fills *out (caller releases); -ENOENT when unknown. */
int store_alias_get(struct store *st, const char *function, const char *name,
		    struct fn_alias *out, struct err *err);
/* Calls cb for each alias of function (NULL: of every function), by function then name. */
int store_alias_list(struct store *st, const char *function,
		     int (*cb)(const struct fn_alias *a, void *data), void *data, struct err *err);
/* -ENOENT when unknown. */
int store_alias_delete(struct store *st, const char *function, const char *name,
		       struct err *err);

/* Scheduling settings of a function (issue 4). */
struct fn_sched {
	uint32_t provisioned;		/* instances of $LATEST kept initialised, 0-1000 */
	const char *keepalive_policy;	/* "" (the daemon's default), "fixed" or "adaptive" */
};
/* Sets them; -ENOENT when the function is unknown, -EINVAL for a bad value. */
int store_fn_sched_set(struct store *st, const char *function, const struct fn_sched *s,
		       struct err *err);
/* Calls cb for each function with settings, by name. s is valid during the call. */
int store_fn_sched_list(struct store *st,
			int (*cb)(const char *function, const struct fn_sched *s, void *data),
			void *data, struct err *err);

/* Reserved concurrency of a function: reserved >= 0 sets it, -1 removes it.
 * -ENOENT when the function is unknown. */
int store_concurrency_set(struct store *st, const char *function, int64_t reserved,
			  struct err *err);
/* Calls cb(function, reserved, data) for each function that has a reservation. */
int store_concurrency_list(struct store *st,
			   int (*cb)(const char *function, int64_t reserved, void *data),
			   void *data, struct err *err);

/*
 * A function's asynchronous invocation settings (Lambda's event invoke config). A function
 * without a row gets the defaults below. The row goes when the function is deleted.
 */
#define ASYNC_DEFAULT_MAX_RETRY 2
#define ASYNC_DEFAULT_MAX_AGE_S 21600

struct async_config {
	char *function;
	uint32_t max_retry;	/* 0..2 retries after the first attempt */
	uint32_t max_age_s;	/* 60..21600: older events are not run again */
	char *on_success;	/* destination function name, or NULL */
	char *on_failure;	/* destination function name, or NULL */
	uint64_t updated_ms;	/* 0 for defaults never stored */
};

void async_config_release(struct async_config *c);
/* Inserts or replaces c (borrowed); sets c->updated_ms. -EINVAL for values out of range. */
int store_async_config_put(struct store *st, struct async_config *c, struct err *err);
/* Fills *out (release it); -ENOENT when the function has no settings stored (*out then
 * holds the defaults, so callers may ignore -ENOENT). */
int store_async_config_get(struct store *st, const char *function, struct async_config *out,
			   struct err *err);
/* -ENOENT when none was stored. */
int store_async_config_delete(struct store *st, const char *function, struct err *err);

/*
 * Schedules: a named expression ("rate(5 minutes)", "cron(0 12 * * ? *)", "*\/5 * * * *")
 * that invokes a function asynchronously. The store keeps the text; src/triggers parses it.
 */
struct schedule {
	char *name;		/* [A-Za-z0-9_.-]{1,64} */
	char *expression;
	char *function;
	char *payload;		/* JSON sent instead of the Scheduled Event, or NULL */
	int enabled;
	uint64_t created_ms, updated_ms;	/* set by the store */
	uint64_t last_fired_ms;	/* 0 = never */
	char *last_error;	/* why the last firing could not queue an event, or NULL */
};

void schedule_release(struct schedule *sc);
/* Creates or replaces by name; keeps created_ms and last_fired_ms of an existing one and
 * clears its last_error. *created (may be NULL) is 1 for a new schedule. */
int store_schedule_put(struct store *st, struct schedule *sc, int *created, struct err *err);
int store_schedule_get(struct store *st, const char *name, struct schedule *out,
		       struct err *err);
/* Ordered by name; as store_fn_list(), cb may call other store functions. */
int store_schedule_list(struct store *st, int (*cb)(const struct schedule *sc, void *data),
			void *data, struct err *err);
int store_schedule_delete(struct store *st, const char *name, struct err *err);
int store_schedule_enable(struct store *st, const char *name, int enabled, struct err *err);
/* Records a firing at fired_ms and its error (NULL when the event was queued). */
int store_schedule_fired(struct store *st, const char *name, uint64_t fired_ms,
			 const char *last_error, struct err *err);

/*
 * Gateway routes: "METHOD /path/{param}/{proxy+}" (or "$default") pointing at a
 * function, version or alias. The store keeps the text; src/gateway parses it.
 * A bearer token is kept only as its SHA-256, so the database never holds it.
 */
struct route_config {
	char *id;		/* "r" + 12 hex digits, made by the caller on create */
	char *key;		/* "GET /hello/{name}", "ANY /{proxy+}", "$default" (unique) */
	char *function;
	char *qualifier;	/* version number or alias, or NULL for $LATEST */
	char *token_sha256;	/* hex SHA-256 of the bearer token, or NULL for no auth */
	char *cors_json;	/* the route's CORS settings as JSON, or NULL for none */
	uint64_t created_ms, updated_ms;	/* set by the store */
};

void route_config_release(struct route_config *rc);
/* Creates, or replaces the route with the same key (keeping its id and created_ms, which
 * are written back into rc). *created (may be NULL) is 1 for a new route. */
int store_route_put(struct store *st, struct route_config *rc, int *created, struct err *err);
/* By id or by key; -ENOENT when neither matches. */
int store_route_get(struct store *st, const char *id_or_key, struct route_config *out,
		    struct err *err);
/* Ordered by key; cb may call other store functions. */
int store_route_list(struct store *st, int (*cb)(const struct route_config *rc, void *data),
		     void *data, struct err *err);
/* By id or by key; -ENOENT when neither matches. */
int store_route_delete(struct store *st, const char *id_or_key, struct err *err);

#endif
