/*
 * Function configurations ($LATEST): put, get, list, delete, and whether a
 * code archive is still referenced. Validation of names and ranges is the
 * API's job; this file stores what it is given.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/err.h"
#include "store/store-internal.h"
#include "lib/banned.h"

void
fn_config_release(struct fn_config *fn)
{
	free(fn->name);
	free(fn->runtime);
	free(fn->handler);
	free(fn->description);
	free(fn->env_json);
	free(fn->code_sha256);
	free(fn->network);
	memset(fn, 0, sizeof(*fn));
}

/* Reads a row in FN_COLS order (store.c) into *fn, which the caller releases.
 * version.c reads its rows with it too: VER_COLS differs only in columns 11-12. */
void
store__read_fn(sqlite3_stmt *s, struct fn_config *fn)
{
	memset(fn, 0, sizeof(*fn));
	fn->name = store__column_text(s, 0);
	fn->runtime = store__column_text(s, 1);
	fn->handler = store__column_text(s, 2);
	fn->description = store__column_text(s, 3);
	fn->env_json = store__column_text(s, 4);
	fn->code_sha256 = store__column_text(s, 5);
	fn->code_size = (uint64_t)sqlite3_column_int64(s, 6);
	fn->memory_mb = (uint32_t)sqlite3_column_int64(s, 7);
	fn->timeout_s = (uint32_t)sqlite3_column_int64(s, 8);
	fn->keepalive_s = (uint32_t)sqlite3_column_int64(s, 9);
	fn->revision = (uint64_t)sqlite3_column_int64(s, 10);
	fn->created_ms = (uint64_t)sqlite3_column_int64(s, 11);
	fn->updated_ms = (uint64_t)sqlite3_column_int64(s, 12);
	fn->tmp_mb = (uint32_t)sqlite3_column_int64(s, 13);
	fn->network = store__column_text(s, 14);
}

int
store_fn_put(struct store *st, struct fn_config *fn, int *created, struct err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	const char *missing = NULL;
	int r, rc;

	if (!fn->name)
		missing = "name";
	else if (!fn->runtime)
		missing = "runtime";
	else if (!fn->code_sha256)
		missing = "code";
	if (missing)
		return err_setmsg(err, EINVAL, "cannot store function '%s': no %s",
				  fn->name ? fn->name : "", missing);
	r = store__stmt(st, STMT_FN_PUT, &s, err);
	if (r < 0)
		return err_wrap(err, "cannot store function '%s'", fn->name);
	store__bind_text(s, 1, fn->name);
	store__bind_text(s, 2, fn->runtime);
	store__bind_text(s, 3, fn->handler);
	store__bind_text(s, 4, fn->description);
	store__bind_text(s, 5, fn->env_json ? fn->env_json : "{}");
	store__bind_text(s, 6, fn->code_sha256);
	sqlite3_bind_int64(s, 7, (sqlite3_int64)fn->code_size);
	sqlite3_bind_int64(s, 8, fn->memory_mb);
	sqlite3_bind_int64(s, 9, fn->timeout_s);
	sqlite3_bind_int64(s, 10, fn->keepalive_s);
	sqlite3_bind_int64(s, 11, (sqlite3_int64)clock_wall_ms());
	sqlite3_bind_int64(s, 12, fn->tmp_mb ? fn->tmp_mb : 512);
	store__bind_text(s, 13, fn->network ? fn->network : "none");
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return store__fail(st, rc, err, "cannot store function '%s'", fn->name);
	fn->revision = (uint64_t)sqlite3_column_int64(s, 0);
	fn->created_ms = (uint64_t)sqlite3_column_int64(s, 1);
	fn->updated_ms = (uint64_t)sqlite3_column_int64(s, 2);
	/* RETURNING rows come before the change is final: step to DONE to commit it. */
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		return store__fail(st, rc, err, "cannot store function '%s'", fn->name);
	/* An update always bumps the revision past 1, so 1 means the row is new. */
	if (created)
		*created = fn->revision == 1;
	return 0;
}

int
store_fn_get(struct store *st, const char *name, struct fn_config *out, struct err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r, rc;

	memset(out, 0, sizeof(*out));
	r = store__stmt(st, STMT_FN_GET, &s, err);
	if (r < 0)
		return err_wrap(err, "cannot read function '%s'", name);
	store__bind_text(s, 1, name);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return err_setmsg(err, ENOENT, "function '%s' not found", name);
	if (rc != SQLITE_ROW)
		return store__fail(st, rc, err, "cannot read function '%s'", name);
	store__read_fn(s, out);
	return 0;
}

int
store_fn_list(struct store *st, int (*cb)(const struct fn_config *fn, void *data), void *data,
	      struct err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	struct fn_config *fns = NULL;
	size_t n = 0, cap = 0, i;
	int r, rc;

	r = store__stmt(st, STMT_FN_LIST, &s, err);
	if (r < 0)
		return err_wrap(err, "cannot list functions");
	/* Read every row first, then call back with the statement reset: a callback
	 * may then use the store freely, and no read snapshot stays open across it. */
	for (;;) {
		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			break;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			fns = xrealloc(fns, cap * sizeof(*fns));
		}
		store__read_fn(s, &fns[n++]);
	}
	if (rc != SQLITE_DONE)
		r = store__fail(st, rc, err, "cannot list functions");
	sqlite3_reset(s);
	for (i = 0; i < n && r == 0; i++)
		r = cb(&fns[i], data);
	for (i = 0; i < n; i++)
		fn_config_release(&fns[i]);
	free(fns);
	return r;
}

int
store_fn_delete(struct store *st, const char *name, struct err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r, rc;

	r = store__stmt(st, STMT_FN_DELETE, &s, err);
	if (r < 0)
		return err_wrap(err, "cannot delete function '%s'", name);
	store__bind_text(s, 1, name);
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		return store__fail(st, rc, err, "cannot delete function '%s'", name);
	if (sqlite3_changes(st->db) == 0)
		return err_setmsg(err, ENOENT, "function '%s' not found", name);
	return 0;
}

int
store_code_in_use(struct store *st, const char *sha256, struct err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r, rc;

	r = store__stmt(st, STMT_CODE_IN_USE, &s, err);
	if (r < 0)
		return err_wrap(err, "cannot check whether code '%s' is in use", sha256);
	store__bind_text(s, 1, sha256);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return store__fail(st, rc, err, "cannot check whether code '%s' is in use", sha256);
	return sqlite3_column_int(s, 0) != 0;
}
