/*
 * The durable queue of asynchronous invocations.
 *
 * An event's life: add (PENDING, due now) -> claim (RUNNING) -> finish
 * (SUCCEEDED or FAILED) or retry (PENDING again, due later). A crash while an
 * event is RUNNING leaves it RUNNING on disk; store_event_recover() at start-up
 * makes it PENDING again, so an accepted event is delivered at least once and
 * never lost. The retry policy (how many attempts, what backoff) is the
 * caller's; this file only records its decisions.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "store/store-internal.h"
#include "lib/banned.h"

void
store_event_release(struct store_event *ev)
{
	free(ev->request_id);
	free(ev->function);
	free(ev->last_error);
	free(ev->dest_request_id);
	free(ev->orphan_on_failure);
	buf_release(&ev->payload);
	memset(ev, 0, sizeof(*ev));
	buf_init(&ev->payload);
}

/* Reads a row in STORE__EV_COLS order into *ev, which the caller releases. */
static void
read_event(sqlite3_stmt *s, struct store_event *ev)
{
	const void *blob;
	int n;

	memset(ev, 0, sizeof(*ev));
	buf_init(&ev->payload);
	ev->id = sqlite3_column_int64(s, 0);
	ev->request_id = store__column_text(s, 1);
	ev->function = store__column_text(s, 2);
	/* column_blob before column_bytes, as SQLite's documentation asks; a
	 * zero-length blob comes back as NULL. */
	blob = sqlite3_column_blob(s, 3);
	n = sqlite3_column_bytes(s, 3);
	if (blob && n > 0)
		buf_add(&ev->payload, blob, (size_t)n);
	ev->state = sqlite3_column_int(s, 4);
	ev->attempts = (uint32_t)sqlite3_column_int64(s, 5);
	ev->created_ms = (uint64_t)sqlite3_column_int64(s, 6);
	ev->next_ms = (uint64_t)sqlite3_column_int64(s, 7);
	ev->last_error = store__column_text(s, 8);
	ev->finished_ms = (uint64_t)sqlite3_column_int64(s, 9);	/* NULL reads 0 */
	ev->dest_request_id = store__column_text(s, 10);
	ev->orphan_on_failure = store__column_text(s, 11);
}

int
store_event_add(struct store *st, const char *request_id, const char *function, const void *payload,
		size_t len, uint64_t now_ms, struct err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r, rc;

	if (!request_id || !function)
		return err_setmsg(err, EINVAL, "cannot queue event: no %s",
				  request_id ? "function" : "request id");
	if (len > (size_t)INT32_MAX)
		return err_setmsg(err, EFBIG, "cannot queue event '%s': payload too large",
				  request_id);
	r = store__stmt(st, STMT_EV_ADD, &s, err);
	if (r < 0)
		return err_wrap(err, "cannot queue event '%s'", request_id);
	store__bind_text(s, 1, request_id);
	store__bind_text(s, 2, function);
	/* A zero-length blob, not NULL, for an empty payload (the column is NOT NULL). */
	sqlite3_bind_blob(s, 3, len ? payload : "", (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)now_ms);
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		return store__fail(st, rc, err, "cannot queue event '%s' for '%s'", request_id,
				   function);
	return 0;
}

int
store_event_claim(struct store *st, uint64_t now_ms, struct store_event *out, int max,
		  struct err *err)
{
	_cleanup_stmt_ sqlite3_stmt *due = NULL;
	_cleanup_stmt_ sqlite3_stmt *mark = NULL;
	int n = 0, r, rc, i;

	if (max <= 0)
		return 0;
	r = store__stmt(st, STMT_EV_DUE, &due, err);
	if (r >= 0)
		r = store__stmt(st, STMT_EV_MARK_RUNNING, &mark, err);
	if (r < 0)
		return err_wrap(err, "cannot claim events");
	/* IMMEDIATE takes the write lock before the read, so no other writer can
	 * claim the same rows between our SELECT and UPDATE. */
	r = store__begin(st, err);
	if (r < 0)
		return err_wrap(err, "cannot claim events");
	sqlite3_bind_int64(due, 1, (sqlite3_int64)now_ms);
	sqlite3_bind_int(due, 2, max);
	for (;;) {
		rc = sqlite3_step(due);
		if (rc != SQLITE_ROW)
			break;
		assert(n < max);
		read_event(due, &out[n++]);
	}
	if (rc != SQLITE_DONE) {
		r = store__fail(st, rc, err, "cannot claim events");
		goto fail;
	}
	sqlite3_reset(due);
	for (i = 0; i < n; i++) {
		sqlite3_bind_int64(mark, 1, out[i].id);
		rc = sqlite3_step(mark);
		if (rc != SQLITE_DONE) {
			r = store__fail(st, rc, err, "cannot claim event %lld",
					(long long)out[i].id);
			goto fail;
		}
		sqlite3_reset(mark);
		out[i].state = EVENT_RUNNING;
	}
	r = store__commit(st, err);
	if (r < 0) {
		err_wrap(err, "cannot claim events");
		goto fail;
	}
	return n;
fail:
	sqlite3_reset(due);
	sqlite3_reset(mark);
	store__rollback(st);
	for (i = 0; i < n; i++)
		store_event_release(&out[i]);
	return r;
}

int
store_event_next_due(struct store *st, uint64_t *next_ms, struct err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r, rc;

	r = store__stmt(st, STMT_EV_NEXT_DUE, &s, err);
	if (r < 0)
		return err_wrap(err, "cannot find the next due event");
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return store__fail(st, rc, err, "cannot find the next due event");
	/* MIN() over no rows is one row holding NULL. */
	if (sqlite3_column_type(s, 0) == SQLITE_NULL)
		return err_setmsg(err, ENOENT, "no pending event");
	*next_ms = (uint64_t)sqlite3_column_int64(s, 0);
	return 0;
}

static int
finish(struct store *st, int64_t id, int state, const char *last_error, uint64_t now_ms,
       const char *dest_request_id, struct err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r, rc;

	if (state != EVENT_SUCCEEDED && state != EVENT_FAILED)
		return err_setmsg(err, EINVAL, "cannot finish event %lld: bad final state %d",
				  (long long)id, state);
	r = store__stmt(st, STMT_EV_FINISH, &s, err);
	if (r < 0)
		return err_wrap(err, "cannot finish event %lld", (long long)id);
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int(s, 2, state);
	store__bind_text(s, 3, last_error);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)now_ms);
	store__bind_text(s, 5, dest_request_id);
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		return store__fail(st, rc, err, "cannot finish event %lld", (long long)id);
	if (sqlite3_changes(st->db) == 0)
		return err_setmsg(err, ENOENT, "event %lld not found", (long long)id);
	return 0;
}

int
store_event_finish(struct store *st, int64_t id, int state, const char *last_error,
		   uint64_t now_ms, struct err *err)
{
	return finish(st, id, state, last_error, now_ms, NULL, err);
}

int
store_event_retry(struct store *st, int64_t id, uint32_t attempts, uint64_t next_ms,
		  const char *last_error, struct err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r, rc;

	r = store__stmt(st, STMT_EV_RETRY, &s, err);
	if (r < 0)
		return err_wrap(err, "cannot reschedule event %lld", (long long)id);
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, attempts);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)next_ms);
	store__bind_text(s, 4, last_error);
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		return store__fail(st, rc, err, "cannot reschedule event %lld", (long long)id);
	if (sqlite3_changes(st->db) == 0)
		return err_setmsg(err, ENOENT, "event %lld not found", (long long)id);
	return 0;
}

int
store_event_recover(struct store *st, struct err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r, rc;

	r = store__stmt(st, STMT_EV_RECOVER, &s, err);
	if (r < 0)
		return err_wrap(err, "cannot recover interrupted events");
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		return store__fail(st, rc, err, "cannot recover interrupted events");
	return sqlite3_changes(st->db);
}

/* Runs a bound list statement: rows first, callbacks after the statement is
 * reset, as in store_fn_list(). The array grows with the rows found, not with
 * max, which may be large. */
static int
list_rows(struct store *st, sqlite3_stmt *s, int (*cb)(const struct store_event *ev, void *data),
	  void *data, struct err *err)
{
	struct store_event *evs = NULL;
	int n = 0, r = 0, rc, i;

	for (;;) {
		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			break;
		if ((n & (n - 1)) == 0)
			evs = xrealloc(evs, (size_t)(n ? 2 * n : 1) * sizeof(*evs));
		read_event(s, &evs[n++]);
	}
	if (rc != SQLITE_DONE)
		r = store__fail(st, rc, err, "cannot list events");
	sqlite3_reset(s);
	for (i = 0; i < n && r == 0; i++)
		r = cb(&evs[i], data);
	for (i = 0; i < n; i++)
		store_event_release(&evs[i]);
	free(evs);
	return r;
}

int
store_event_list(struct store *st, const char *function,
		 int (*cb)(const struct store_event *ev, void *data), void *data, int max,
		 struct err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r;

	if (max <= 0)
		return 0;
	r = store__stmt(st, function ? STMT_EV_LIST_FN : STMT_EV_LIST_ALL, &s, err);
	if (r < 0)
		return err_wrap(err, "cannot list events");
	if (function) {
		store__bind_text(s, 1, function);
		sqlite3_bind_int(s, 2, max);
	} else {
		sqlite3_bind_int(s, 1, max);
	}
	return list_rows(st, s, cb, data, err);
}

int
store_event_list_state(struct store *st, const char *function, int state,
		       int (*cb)(const struct store_event *ev, void *data), void *data, int max,
		       struct err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r;

	if (max <= 0)
		return 0;
	if (!function)
		return err_setmsg(err, EINVAL, "cannot list events by state: no function");
	r = store__stmt(st, STMT_EV_LIST_FN_STATE, &s, err);
	if (r < 0)
		return err_wrap(err, "cannot list events");
	store__bind_text(s, 1, function);
	sqlite3_bind_int(s, 2, max);
	sqlite3_bind_int(s, 3, state);
	return list_rows(st, s, cb, data, err);
}

int
store_event_finish_to(struct store *st, int64_t id, int state, const char *last_error,
		      const char *dest_request_id, const char *dest_function, const void *payload,
		      size_t len, uint64_t now_ms, struct err *err)
{
	int r;

	if (!dest_function)
		return finish(st, id, state, last_error, now_ms, NULL, err);
	r = store__begin(st, err);
	if (r < 0)
		return err_wrap(err, "cannot finish event %lld", (long long)id);
	r = finish(st, id, state, last_error, now_ms, dest_request_id, err);
	if (r >= 0)
		r = store_event_add(st, dest_request_id, dest_function, payload, len, now_ms, err);
	if (r >= 0)
		r = store__commit(st, err);
	if (r < 0) {
		store__rollback(st);
		return r;
	}
	return 0;
}

int
store_event_prune(struct store *st, uint64_t before_ms, int max, struct err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r, rc;

	if (max <= 0)
		return 0;
	r = store__stmt(st, STMT_EV_PRUNE, &s, err);
	if (r < 0)
		return err_wrap(err, "cannot prune finished events");
	sqlite3_bind_int64(s, 1, (sqlite3_int64)before_ms);
	sqlite3_bind_int(s, 2, max);
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		return store__fail(st, rc, err, "cannot prune finished events");
	return sqlite3_changes(st->db);
}

/*
 * The statements below run when a user asks (get, redrive, delete), not on the
 * dispatcher's path, so they are prepared per call rather than cached.
 */
static void
finalizep(sqlite3_stmt **s)
{
	sqlite3_finalize(*s);
}

#define _cleanup_finalize_ __attribute__((cleanup(finalizep)))

static int
prepare(struct store *st, const char *sql, sqlite3_stmt **out, struct err *err)
{
	int rc = sqlite3_prepare_v2(st->db, sql, -1, out, NULL);

	if (rc != SQLITE_OK)
		return store__fail(st, rc, err, "cannot prepare '%.60s'", sql);
	return 0;
}

/* An event belongs to `function` under its bare name or any qualifier. Function
 * names are [A-Za-z0-9_-] (the API checks), so ?1 holds no GLOB characters. */
#define OF_FUNCTION "(function = ?1 OR function GLOB ?1 || ':*')"

int
store_event_get(struct store *st, const char *request_id, struct store_event *out,
		struct err *err)
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	int rc;

	if (prepare(st, "SELECT " STORE__EV_COLS " FROM events WHERE request_id = ?1", &s, err) < 0)
		return err_wrap(err, "cannot read event '%s'", request_id);
	store__bind_text(s, 1, request_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return err_setmsg(err, ENOENT, "event '%s' not found", request_id);
	if (rc != SQLITE_ROW)
		return store__fail(st, rc, err, "cannot read event '%s'", request_id);
	read_event(s, out);
	return 0;
}

/* For one named event: -ENOENT when `function` has no such event, -EEXIST when
 * its state is not among `allowed` (a bit per state). */
static int
check_one(struct store *st, const char *function, const char *request_id, unsigned allowed,
	  const char *verb, struct err *err)
{
	static const char *const names[] = { "pending", "running", "succeeded", "failed" };
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	int rc, state;

	if (prepare(st, "SELECT state FROM events WHERE request_id = ?2 AND " OF_FUNCTION, &s,
		    err) < 0)
		return err_wrap(err, "cannot %s event '%s'", verb, request_id);
	store__bind_text(s, 1, function);
	store__bind_text(s, 2, request_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return err_setmsg(err, ENOENT, "function '%s' has no event '%s'", function,
				  request_id);
	if (rc != SQLITE_ROW)
		return store__fail(st, rc, err, "cannot %s event '%s'", verb, request_id);
	state = sqlite3_column_int(s, 0) & 3;
	if (!(allowed & (1u << state)))
		return err_setmsg(err, EEXIST, "cannot %s event '%s': it is %s", verb, request_id,
				  names[state]);
	return 0;
}

int
store_event_redrive(struct store *st, const char *function, const char *request_id,
		    uint64_t now_ms, struct err *err)
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	int r, rc;

	if (!function)
		return err_setmsg(err, EINVAL, "cannot retry events: no function");
	if (request_id) {
		r = check_one(st, function, request_id, 1u << EVENT_FAILED, "retry", err);
		if (r < 0)
			return r;
	}
	r = prepare(st,
		    "UPDATE events SET state = 0, attempts = 0, created_ms = ?3, next_ms = ?3, "
		    "finished_ms = NULL, dest_request_id = NULL, orphan_on_failure = NULL "
		    "WHERE state = 3 AND " OF_FUNCTION " AND "
		    "((?2 IS NULL AND dest_request_id IS NULL) OR request_id = ?2)", &s, err);
	if (r < 0)
		return err_wrap(err, "cannot retry events of '%s'", function);
	store__bind_text(s, 1, function);
	store__bind_text(s, 2, request_id);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)now_ms);
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		return store__fail(st, rc, err, "cannot retry events of '%s'", function);
	return sqlite3_changes(st->db);
}

int
store_event_delete(struct store *st, const char *function, const char *request_id,
		   struct err *err)
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	int r, rc;

	if (!function)
		return err_setmsg(err, EINVAL, "cannot delete events: no function");
	if (request_id) {
		r = check_one(st, function, request_id,
			      1u << EVENT_SUCCEEDED | 1u << EVENT_FAILED, "delete", err);
		if (r < 0)
			return r;
	}
	r = prepare(st,
		    "DELETE FROM events WHERE " OF_FUNCTION " AND "
		    "((?2 IS NULL AND state = 3) OR (request_id = ?2 AND state IN (2, 3)))", &s,
		    err);
	if (r < 0)
		return err_wrap(err, "cannot delete events of '%s'", function);
	store__bind_text(s, 1, function);
	store__bind_text(s, 2, request_id);
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		return store__fail(st, rc, err, "cannot delete events of '%s'", function);
	return sqlite3_changes(st->db);
}
