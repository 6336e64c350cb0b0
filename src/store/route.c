/*
 * Gateway routes as stored: the route key, its target and its settings. Parsing
 * keys and serving requests is src/gateway's job; this file keeps what it is given.
 *
 * Routes change only through the admin API and are read whole into the gateway's
 * memory after each change, so none of these statements is on a hot path: they are
 * prepared per call rather than added to the statement cache of store.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/err.h"
#include "store/store-internal.h"
#include "lib/banned.h"

#define ROUTE_COLS "id, route_key, function, qualifier, token_sha256, cors_json, created_ms, " \
		   "updated_ms"

static void
finalizep(sqlite3_stmt **s)
{
	sqlite3_finalize(*s);
}

#define _cleanup_final_ __attribute__((cleanup(finalizep)))

void
route_config_release(struct route_config *rc)
{
	free(rc->id);
	free(rc->key);
	free(rc->function);
	free(rc->qualifier);
	free(rc->token_sha256);
	free(rc->cors_json);
	memset(rc, 0, sizeof(*rc));
}

/* A row in ROUTE_COLS order. */
static void
read_route(sqlite3_stmt *s, struct route_config *rc)
{
	memset(rc, 0, sizeof(*rc));
	rc->id = store__column_text(s, 0);
	rc->key = store__column_text(s, 1);
	rc->function = store__column_text(s, 2);
	rc->qualifier = store__column_text(s, 3);
	rc->token_sha256 = store__column_text(s, 4);
	rc->cors_json = store__column_text(s, 5);
	rc->created_ms = (uint64_t)sqlite3_column_int64(s, 6);
	rc->updated_ms = (uint64_t)sqlite3_column_int64(s, 7);
}

static int
prepare(struct store *st, const char *sql, sqlite3_stmt **out, struct err *err)
{
	int rc = sqlite3_prepare_v2(st->db, sql, -1, out, NULL);

	if (rc != SQLITE_OK)
		return store__fail(st, rc, err, "cannot prepare a route statement");
	return 0;
}

int
store_route_put(struct store *st, struct route_config *rc, int *created, struct err *err)
{
	_cleanup_final_ sqlite3_stmt *s = NULL;
	uint64_t now = clock_wall_ms();
	int r, sqlrc;

	if (!rc->id || !rc->key || !rc->function)
		return err_setmsg(err, EINVAL, "cannot store route: no %s",
				  !rc->id ? "id" : !rc->key ? "key" : "function");
	/* On a key that exists the row keeps its id and created_ms; RETURNING tells which. */
	r = prepare(st,
		    "INSERT INTO routes (" ROUTE_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)"
		    " ON CONFLICT (route_key) DO UPDATE SET function = excluded.function,"
		    " qualifier = excluded.qualifier, token_sha256 = excluded.token_sha256,"
		    " cors_json = excluded.cors_json, updated_ms = excluded.updated_ms"
		    " RETURNING id, created_ms, updated_ms",
		    &s, err);
	if (r < 0)
		return err_wrap(err, "cannot store route '%s'", rc->key);
	store__bind_text(s, 1, rc->id);
	store__bind_text(s, 2, rc->key);
	store__bind_text(s, 3, rc->function);
	store__bind_text(s, 4, rc->qualifier);
	store__bind_text(s, 5, rc->token_sha256);
	store__bind_text(s, 6, rc->cors_json);
	sqlite3_bind_int64(s, 7, (sqlite3_int64)now);
	sqlrc = sqlite3_step(s);
	if (sqlrc != SQLITE_ROW)
		return store__fail(st, sqlrc, err, "cannot store route '%s'", rc->key);
	if (created)
		*created = strcmp((const char *)sqlite3_column_text(s, 0), rc->id) == 0;
	free(rc->id);
	rc->id = store__column_text(s, 0);
	rc->created_ms = (uint64_t)sqlite3_column_int64(s, 1);
	rc->updated_ms = (uint64_t)sqlite3_column_int64(s, 2);
	sqlrc = sqlite3_step(s);
	if (sqlrc != SQLITE_DONE)
		return store__fail(st, sqlrc, err, "cannot store route '%s'", rc->key);
	return 0;
}

int
store_route_get(struct store *st, const char *id_or_key, struct route_config *out,
		struct err *err)
{
	_cleanup_final_ sqlite3_stmt *s = NULL;
	int r, rc;

	r = prepare(st, "SELECT " ROUTE_COLS " FROM routes WHERE id = ?1 OR route_key = ?1", &s,
		    err);
	if (r < 0)
		return err_wrap(err, "cannot read route '%s'", id_or_key);
	store__bind_text(s, 1, id_or_key);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return err_setmsg(err, ENOENT, "route '%s' does not exist", id_or_key);
	if (rc != SQLITE_ROW)
		return store__fail(st, rc, err, "cannot read route '%s'", id_or_key);
	read_route(s, out);
	return 0;
}

int
store_route_list(struct store *st, int (*cb)(const struct route_config *rc, void *data),
		 void *data, struct err *err)
{
	_cleanup_final_ sqlite3_stmt *s = NULL;
	struct route_config *all = NULL;
	int n = 0, r, rc, i;

	r = prepare(st, "SELECT " ROUTE_COLS " FROM routes ORDER BY route_key", &s, err);
	if (r < 0)
		return err_wrap(err, "cannot list routes");
	for (;;) {
		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			break;
		if ((n & (n - 1)) == 0)
			all = xrealloc(all, (size_t)(n ? 2 * n : 1) * sizeof(*all));
		read_route(s, &all[n++]);
	}
	if (rc != SQLITE_DONE)
		r = store__fail(st, rc, err, "cannot list routes");
	/* Done with the statement before the callbacks, which may run their own. */
	sqlite3_reset(s);
	for (i = 0; i < n && r == 0; i++)
		r = cb(&all[i], data);
	for (i = 0; i < n; i++)
		route_config_release(&all[i]);
	free(all);
	return r;
}

int
store_route_delete(struct store *st, const char *id_or_key, struct err *err)
{
	_cleanup_final_ sqlite3_stmt *s = NULL;
	int r, rc;

	r = prepare(st, "DELETE FROM routes WHERE id = ?1 OR route_key = ?1", &s, err);
	if (r < 0)
		return err_wrap(err, "cannot delete route '%s'", id_or_key);
	store__bind_text(s, 1, id_or_key);
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		return store__fail(st, rc, err, "cannot delete route '%s'", id_or_key);
	if (sqlite3_changes(st->db) == 0)
		return err_setmsg(err, ENOENT, "route '%s' does not exist", id_or_key);
	return 0;
}
