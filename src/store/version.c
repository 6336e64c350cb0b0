/*
 * Published versions, aliases and reserved concurrency.
 *
 * A version is a copy of the function's row taken in one statement, so it can
 * never mix the configuration of one revision with the code of another. These
 * calls are rare (a deploy, a publish, the registry's load at start-up), so
 * their statements are prepared per call rather than kept in store.c's cache.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/err.h"
#include "store/store-internal.h"
#include "lib/banned.h"

#define VER_COLS                                                                                   \
	"function, runtime, handler, description, env_json, code_sha256, code_size, memory_mb, "   \
	"timeout_s, keepalive_s, revision, created_ms, version, tmp_mb, network"
#define ALIAS_COLS "function, name, version, description, revision, created_ms, updated_ms"

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

/* A row in VER_COLS order: FN_COLS but for column 11 (created_ms, which doubles
 * as updated_ms: versions never change) and 12 (the version number). */
static void
read_version(sqlite3_stmt *s, struct fn_config *fn)
{
	store__read_fn(s, fn);
	fn->updated_ms = fn->created_ms;
	fn->version = (uint32_t)sqlite3_column_int64(s, 12);
}

static int
version_get(struct store *st, const char *name, uint32_t version, struct fn_config *out,
	    struct err *err)
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	int rc;

	if (prepare(st, "SELECT " VER_COLS " FROM versions WHERE function = ?1 AND version = ?2",
		    &s, err) < 0)
		return -err->code;
	store__bind_text(s, 1, name);
	sqlite3_bind_int64(s, 2, version);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return err_setmsg(err, ENOENT, "function '%s' has no version %u", name, version);
	if (rc != SQLITE_ROW)
		return store__fail(st, rc, err, "cannot read version %u of '%s'", version, name);
	read_version(s, out);
	return 0;
}

int
store_version_get(struct store *st, const char *name, uint32_t version, struct fn_config *out,
		  struct err *err)
{
	memset(out, 0, sizeof(*out));
	return version_get(st, name, version, out, err);
}

/* The newest version's number and source revision; *version = 0 when none. */
static int
newest(struct store *st, const char *name, uint32_t *version, uint64_t *revision,
       struct err *err)
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	int rc;

	*version = 0;
	*revision = 0;
	if (prepare(st, "SELECT version, revision FROM versions WHERE function = ?1 "
			"ORDER BY version DESC LIMIT 1", &s, err) < 0)
		return -err->code;
	store__bind_text(s, 1, name);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*version = (uint32_t)sqlite3_column_int64(s, 0);
		*revision = (uint64_t)sqlite3_column_int64(s, 1);
		return 0;
	}
	if (rc != SQLITE_DONE)
		return store__fail(st, rc, err, "cannot read the versions of '%s'", name);
	return 0;
}

static int
publish_locked(struct store *st, const char *name, const char *description, struct fn_config *out,
	       int *created, struct err *err)
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	uint32_t last;
	uint64_t last_rev, cur_rev;
	int rc;

	if (prepare(st, "SELECT revision FROM functions WHERE name = ?1", &s, err) < 0)
		return -err->code;
	store__bind_text(s, 1, name);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return err_setmsg(err, ENOENT, "function '%s' does not exist", name);
	if (rc != SQLITE_ROW)
		return store__fail(st, rc, err, "cannot read function '%s'", name);
	cur_rev = (uint64_t)sqlite3_column_int64(s, 0);
	if (newest(st, name, &last, &last_rev, err) < 0)
		return -err->code;
	/* Nothing changed since the newest version: Lambda hands that one back
	 * rather than piling up identical copies. */
	if (last && last_rev == cur_rev) {
		*created = 0;
		return version_get(st, name, last, out, err);
	}
	sqlite3_finalize(s);
	s = NULL;
	if (prepare(st, "INSERT INTO versions (" VER_COLS ") "
			"SELECT name, runtime, handler, COALESCE(?2, description), env_json, "
			"code_sha256, code_size, memory_mb, timeout_s, keepalive_s, revision, ?3, ?4, "
			"tmp_mb, network "
			"FROM functions WHERE name = ?1", &s, err) < 0)
		return -err->code;
	store__bind_text(s, 1, name);
	store__bind_text(s, 2, description);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)clock_wall_ms());
	sqlite3_bind_int64(s, 4, (sqlite3_int64)last + 1);
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		return store__fail(st, rc, err, "cannot publish '%s'", name);
	*created = 1;
	return version_get(st, name, last + 1, out, err);
}

int
store_version_publish(struct store *st, const char *name, const char *description,
		      struct fn_config *out, int *created, struct err *err)
{
	int made = 0, r;

	memset(out, 0, sizeof(*out));
	/* Read the newest number and insert the next under one write lock, so two
	 * publishers cannot both take the same number. */
	r = store__begin(st, err);
	if (r < 0)
		return err_wrap(err, "cannot publish '%s'", name);
	r = publish_locked(st, name, description, out, &made, err);
	if (r == 0)
		r = store__commit(st, err);
	if (r < 0) {
		store__rollback(st);
		fn_config_release(out);
		return r;
	}
	if (created)
		*created = made;
	return 0;
}

int
store_version_list(struct store *st, const char *name,
		   int (*cb)(const struct fn_config *fn, void *data), void *data, struct err *err)
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	struct fn_config *v = NULL;
	size_t n = 0, cap = 0, i;
	int r = 0, rc;

	if (prepare(st, "SELECT " VER_COLS " FROM versions WHERE ?1 IS NULL OR function = ?1 "
			"ORDER BY function, version", &s, err) < 0)
		return -err->code;
	store__bind_text(s, 1, name);
	/* Rows first, callbacks after, as store_fn_list() does. */
	for (;;) {
		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			break;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		read_version(s, &v[n++]);
	}
	if (rc != SQLITE_DONE)
		r = store__fail(st, rc, err, "cannot list versions");
	sqlite3_finalize(s);
	s = NULL;
	for (i = 0; i < n && r == 0; i++)
		r = cb(&v[i], data);
	for (i = 0; i < n; i++)
		fn_config_release(&v[i]);
	free(v);
	return r;
}

void
fn_alias_release(struct fn_alias *a)
{
	free(a->function);
	free(a->name);
	free(a->description);
	memset(a, 0, sizeof(*a));
}

static void
read_alias(sqlite3_stmt *s, struct fn_alias *a)
{
	memset(a, 0, sizeof(*a));
	a->function = store__column_text(s, 0);
	a->name = store__column_text(s, 1);
	a->version = (uint32_t)sqlite3_column_int64(s, 2);
	a->description = store__column_text(s, 3);
	a->revision = (uint64_t)sqlite3_column_int64(s, 4);
	a->created_ms = (uint64_t)sqlite3_column_int64(s, 5);
	a->updated_ms = (uint64_t)sqlite3_column_int64(s, 6);
}

static int
alias_get(struct store *st, const char *function, const char *name, struct fn_alias *out,
	  struct err *err)
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	int rc;

	if (prepare(st, "SELECT " ALIAS_COLS " FROM aliases WHERE function = ?1 AND name = ?2", &s,
		    err) < 0)
		return -err->code;
	store__bind_text(s, 1, function);
	store__bind_text(s, 2, name);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return err_setmsg(err, ENOENT, "function '%s' has no alias '%s'", function, name);
	if (rc != SQLITE_ROW)
		return store__fail(st, rc, err, "cannot read alias '%s' of '%s'", name, function);
	read_alias(s, out);
	return 0;
}

int
store_alias_get(struct store *st, const char *function, const char *name, struct fn_alias *out,
		struct err *err)
{
	memset(out, 0, sizeof(*out));
	return alias_get(st, function, name, out, err);
}

/* 1 if the function (version 0) or the version exists, 0 if not. */
static int
target_exists(struct store *st, const char *function, uint32_t version, struct err *err)
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	int rc;

	if (prepare(st, version ? "SELECT 1 FROM versions WHERE function = ?1 AND version = ?2"
				: "SELECT 1 FROM functions WHERE name = ?1", &s, err) < 0)
		return -err->code;
	store__bind_text(s, 1, function);
	if (version)
		sqlite3_bind_int64(s, 2, version);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc != SQLITE_DONE)
		return store__fail(st, rc, err, "cannot look up '%s'", function);
	return 0;
}

static int
alias_put_locked(struct store *st, struct fn_alias *a, enum store_alias_mode mode, int *created,
		 struct err *err)
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	struct fn_alias cur;
	uint64_t now = clock_wall_ms();
	int r, rc;

	r = target_exists(st, a->function, 0, err);
	if (r == 0)
		return err_setmsg(err, ENOENT, "function '%s' does not exist", a->function);
	if (r > 0 && a->version)
		r = target_exists(st, a->function, a->version, err);
	if (r == 0)
		return err_setmsg(err, ENOENT, "function '%s' has no version %u", a->function,
				  a->version);
	if (r < 0)
		return r;
	r = alias_get(st, a->function, a->name, &cur, err);
	if (r < 0 && r != -ENOENT)
		return r;
	*created = r == -ENOENT;
	if (*created && mode == STORE_ALIAS_UPDATE)
		return -err->code;
	if (!*created) {
		a->created_ms = cur.created_ms;
		a->revision = cur.revision + 1;
		fn_alias_release(&cur);
		if (mode == STORE_ALIAS_CREATE)
			return err_setmsg(err, EEXIST, "function '%s' already has an alias '%s'",
					  a->function, a->name);
	} else {
		a->created_ms = now;
		a->revision = 1;
	}
	a->updated_ms = now;
	if (prepare(st, "INSERT OR REPLACE INTO aliases (" ALIAS_COLS ") "
			"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", &s, err) < 0)
		return -err->code;
	store__bind_text(s, 1, a->function);
	store__bind_text(s, 2, a->name);
	sqlite3_bind_int64(s, 3, a->version);
	store__bind_text(s, 4, a->description);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)a->revision);
	sqlite3_bind_int64(s, 6, (sqlite3_int64)a->created_ms);
	sqlite3_bind_int64(s, 7, (sqlite3_int64)a->updated_ms);
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		return store__fail(st, rc, err, "cannot store alias '%s' of '%s'", a->name,
				   a->function);
	return 0;
}

int
store_alias_put(struct store *st, struct fn_alias *a, enum store_alias_mode mode, int *created,
		struct err *err)
{
	int made = 0, r;

	if (!a->function || !a->name)
		return err_setmsg(err, EINVAL, "cannot store an alias without function and name");
	r = store__begin(st, err);
	if (r < 0)
		return err_wrap(err, "cannot store alias '%s'", a->name);
	r = alias_put_locked(st, a, mode, &made, err);
	if (r == 0)
		r = store__commit(st, err);
	if (r < 0) {
		store__rollback(st);
		return r;
	}
	if (created)
		*created = made;
	return 0;
}

int
store_alias_list(struct store *st, const char *function,
		 int (*cb)(const struct fn_alias *a, void *data), void *data, struct err *err)
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	struct fn_alias *v = NULL;
	size_t n = 0, cap = 0, i;
	int r = 0, rc;

	if (prepare(st, "SELECT " ALIAS_COLS " FROM aliases WHERE ?1 IS NULL OR function = ?1 "
			"ORDER BY function, name", &s, err) < 0)
		return -err->code;
	store__bind_text(s, 1, function);
	for (;;) {
		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			break;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		read_alias(s, &v[n++]);
	}
	if (rc != SQLITE_DONE)
		r = store__fail(st, rc, err, "cannot list aliases");
	sqlite3_finalize(s);
	s = NULL;
	for (i = 0; i < n && r == 0; i++)
		r = cb(&v[i], data);
	for (i = 0; i < n; i++)
		fn_alias_release(&v[i]);
	free(v);
	return r;
}

int
store_alias_delete(struct store *st, const char *function, const char *name, struct err *err)
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	int rc;

	if (prepare(st, "DELETE FROM aliases WHERE function = ?1 AND name = ?2", &s, err) < 0)
		return -err->code;
	store__bind_text(s, 1, function);
	store__bind_text(s, 2, name);
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		return store__fail(st, rc, err, "cannot delete alias '%s' of '%s'", name, function);
	if (sqlite3_changes(st->db) == 0)
		return err_setmsg(err, ENOENT, "function '%s' has no alias '%s'", function, name);
	return 0;
}

int
store_concurrency_set(struct store *st, const char *function, int64_t reserved,
		      struct err *err)
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	int rc;

	/* INSERT ... SELECT from functions: an unknown function inserts nothing. */
	if (prepare(st, reserved >= 0 ?
			"INSERT OR REPLACE INTO concurrency (function, reserved) "
			"SELECT name, ?2 FROM functions WHERE name = ?1" :
			"DELETE FROM concurrency WHERE function = ?1 AND "
			"EXISTS (SELECT 1 FROM functions WHERE name = ?1)", &s, err) < 0)
		return -err->code;
	store__bind_text(s, 1, function);
	if (reserved >= 0)
		sqlite3_bind_int64(s, 2, reserved);
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		return store__fail(st, rc, err, "cannot set the concurrency of '%s'", function);
	if (reserved >= 0 && sqlite3_changes(st->db) == 0)
		return err_setmsg(err, ENOENT, "function '%s' does not exist", function);
	return 0;
}

int
store_concurrency_list(struct store *st,
		       int (*cb)(const char *function, int64_t reserved, void *data), void *data,
		       struct err *err)
{
	_cleanup_finalize_ sqlite3_stmt *s = NULL;
	struct {
		char *fn;
		int64_t reserved;
	} *v = NULL;
	size_t n = 0, cap = 0, i;
	int r = 0, rc;

	if (prepare(st, "SELECT function, reserved FROM concurrency ORDER BY function", &s, err) <
	    0)
		return -err->code;
	for (;;) {
		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			break;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[n].fn = store__column_text(s, 0);
		v[n++].reserved = sqlite3_column_int64(s, 1);
	}
	if (rc != SQLITE_DONE)
		r = store__fail(st, rc, err, "cannot list concurrency reservations");
	sqlite3_finalize(s);
	s = NULL;
	for (i = 0; i < n && r == 0; i++)
		r = cb(v[i].fn, v[i].reserved, data);
	for (i = 0; i < n; i++)
		free(v[i].fn);
	free(v);
	return r;
}
