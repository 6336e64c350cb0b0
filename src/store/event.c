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
	buf_release(&ev->payload);
	memset(ev, 0, sizeof(*ev));
	buf_init(&ev->payload);
}

/* Reads a row in EV_COLS order (store.c) into *ev, which the caller releases. */
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

int
store_event_finish(struct store *st, int64_t id, int state, const char *last_error, struct err *err)
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
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		return store__fail(st, rc, err, "cannot finish event %lld", (long long)id);
	if (sqlite3_changes(st->db) == 0)
		return err_setmsg(err, ENOENT, "event %lld not found", (long long)id);
	return 0;
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
		return store_event_finish(st, id, state, last_error, err);
	r = store__begin(st, err);
	if (r < 0)
		return err_wrap(err, "cannot finish event %lld", (long long)id);
	r = store_event_finish(st, id, state, last_error, err);
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
store_event_prune(struct store *st, uint64_t before_ms, struct err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r, rc;

	r = store__stmt(st, STMT_EV_PRUNE, &s, err);
	if (r < 0)
		return err_wrap(err, "cannot prune finished events");
	sqlite3_bind_int64(s, 1, (sqlite3_int64)before_ms);
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		return store__fail(st, rc, err, "cannot prune finished events");
	return sqlite3_changes(st->db);
}
