/*
 * Schedules as stored: the expression text, the target function, an optional
 * constant payload, whether it is enabled and when it last fired. Parsing and
 * timing are src/triggers' job; this file keeps what it is given.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/err.h"
#include "store/store-internal.h"
#include "lib/banned.h"

void
schedule_release(struct schedule *sc)
{
	free(sc->name);
	free(sc->expression);
	free(sc->function);
	free(sc->payload);
	free(sc->last_error);
	memset(sc, 0, sizeof(*sc));
}

/* A row in SCHED_COLS order (store.c). */
static void
read_schedule(sqlite3_stmt *s, struct schedule *sc)
{
	memset(sc, 0, sizeof(*sc));
	sc->name = store__column_text(s, 0);
	sc->expression = store__column_text(s, 1);
	sc->function = store__column_text(s, 2);
	sc->payload = store__column_text(s, 3);
	sc->enabled = sqlite3_column_int(s, 4);
	sc->created_ms = (uint64_t)sqlite3_column_int64(s, 5);
	sc->updated_ms = (uint64_t)sqlite3_column_int64(s, 6);
	sc->last_fired_ms = (uint64_t)sqlite3_column_int64(s, 7);
	sc->last_error = store__column_text(s, 8);
}

int
store_schedule_put(struct store *st, struct schedule *sc, int *created, struct err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	uint64_t now = clock_wall_ms();
	int r, rc;

	if (!sc->name || !sc->expression || !sc->function)
		return err_setmsg(err, EINVAL, "cannot store schedule: no %s",
				  !sc->name ? "name" : !sc->expression ? "expression" : "function");
	if (created) {
		struct schedule cur;

		r = store_schedule_get(st, sc->name, &cur, err);
		if (r < 0 && r != -ENOENT)
			return err_wrap(err, "cannot store schedule '%s'", sc->name);
		*created = r == -ENOENT;
		if (r == 0)
			schedule_release(&cur);
	}
	r = store__stmt(st, STMT_SCHED_PUT, &s, err);
	if (r < 0)
		return err_wrap(err, "cannot store schedule '%s'", sc->name);
	store__bind_text(s, 1, sc->name);
	store__bind_text(s, 2, sc->expression);
	store__bind_text(s, 3, sc->function);
	store__bind_text(s, 4, sc->payload);
	sqlite3_bind_int(s, 5, sc->enabled ? 1 : 0);
	sqlite3_bind_int64(s, 6, (sqlite3_int64)now);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return store__fail(st, rc, err, "cannot store schedule '%s'", sc->name);
	sc->created_ms = (uint64_t)sqlite3_column_int64(s, 0);
	sc->updated_ms = (uint64_t)sqlite3_column_int64(s, 1);
	sc->last_fired_ms = (uint64_t)sqlite3_column_int64(s, 2);
	free(sc->last_error);
	sc->last_error = NULL;
	/* Step to the end so the statement is done before the reset. */
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		return store__fail(st, rc, err, "cannot store schedule '%s'", sc->name);
	return 0;
}

int
store_schedule_get(struct store *st, const char *name, struct schedule *out, struct err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r, rc;

	r = store__stmt(st, STMT_SCHED_GET, &s, err);
	if (r < 0)
		return err_wrap(err, "cannot read schedule '%s'", name);
	store__bind_text(s, 1, name);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return err_setmsg(err, ENOENT, "schedule '%s' does not exist", name);
	if (rc != SQLITE_ROW)
		return store__fail(st, rc, err, "cannot read schedule '%s'", name);
	read_schedule(s, out);
	return 0;
}

int
store_schedule_list(struct store *st, int (*cb)(const struct schedule *sc, void *data),
		    void *data, struct err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	struct schedule *all = NULL;
	int n = 0, r, rc, i;

	r = store__stmt(st, STMT_SCHED_LIST, &s, err);
	if (r < 0)
		return err_wrap(err, "cannot list schedules");
	for (;;) {
		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			break;
		if ((n & (n - 1)) == 0)
			all = xrealloc(all, (size_t)(n ? 2 * n : 1) * sizeof(*all));
		read_schedule(s, &all[n++]);
	}
	if (rc != SQLITE_DONE)
		r = store__fail(st, rc, err, "cannot list schedules");
	sqlite3_reset(s);
	for (i = 0; i < n && r == 0; i++)
		r = cb(&all[i], data);
	for (i = 0; i < n; i++)
		schedule_release(&all[i]);
	free(all);
	return r;
}

/* Runs an UPDATE or DELETE keyed by name; -ENOENT when no row matched. */
static int
change(struct store *st, sqlite3_stmt *s, const char *name, const char *what, struct err *err)
{
	int rc = sqlite3_step(s);

	if (rc != SQLITE_DONE)
		return store__fail(st, rc, err, "cannot %s schedule '%s'", what, name);
	if (sqlite3_changes(st->db) == 0)
		return err_setmsg(err, ENOENT, "schedule '%s' does not exist", name);
	return 0;
}

int
store_schedule_delete(struct store *st, const char *name, struct err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r;

	r = store__stmt(st, STMT_SCHED_DELETE, &s, err);
	if (r < 0)
		return err_wrap(err, "cannot delete schedule '%s'", name);
	store__bind_text(s, 1, name);
	return change(st, s, name, "delete", err);
}

int
store_schedule_enable(struct store *st, const char *name, int enabled, struct err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r;

	r = store__stmt(st, STMT_SCHED_ENABLE, &s, err);
	if (r < 0)
		return err_wrap(err, "cannot update schedule '%s'", name);
	store__bind_text(s, 1, name);
	sqlite3_bind_int(s, 2, enabled ? 1 : 0);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)clock_wall_ms());
	return change(st, s, name, "update", err);
}

int
store_schedule_fired(struct store *st, const char *name, uint64_t fired_ms,
		     const char *last_error, struct err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r;

	r = store__stmt(st, STMT_SCHED_FIRED, &s, err);
	if (r < 0)
		return err_wrap(err, "cannot record a firing of schedule '%s'", name);
	store__bind_text(s, 1, name);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)fired_ms);
	store__bind_text(s, 3, last_error);
	return change(st, s, name, "record a firing of", err);
}
