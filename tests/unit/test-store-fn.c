/* Unit tests for src/store/fn.c and the store's connection (store.c, schema.c). */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "scratch.h"

#include "store/store-internal.h"
#include "store/store.h"

struct fixture {
	char dir[64];
	char *path;
	struct store *st;
};

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct err err = ERR_INIT;

	scratch_make(f->dir, sizeof(f->dir), "store-fn");
	f->path = xasprintf("%s/hearth.db", f->dir);
	assert_int_equal(store_open(&f->st, f->path, &err), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	store_close(f->st);
	scratch_remove(f->dir);
	free(f->path);
	free(f);
	return 0;
}

static void
fill(struct fn_config *fn, const char *name, const char *sha_char)
{
	char sha[65];

	memset(sha, sha_char[0], 64);
	sha[64] = '\0';
	memset(fn, 0, sizeof(*fn));
	fn->name = xstrdup(name);
	fn->runtime = xstrdup("python3");
	fn->handler = xstrdup("app.handler");
	fn->description = xstrdup("says hello");
	fn->env_json = xstrdup("{\"A\":\"1\"}");
	fn->code_sha256 = xstrdup(sha);
	fn->code_size = 1234;
	fn->memory_mb = 256;
	fn->timeout_s = 30;
	fn->keepalive_s = 600;
}

static void
assert_same(const struct fn_config *a, const struct fn_config *b)
{
	assert_string_equal(a->name, b->name);
	assert_string_equal(a->runtime, b->runtime);
	assert_string_equal(a->env_json, b->env_json);
	assert_string_equal(a->code_sha256, b->code_sha256);
	assert_int_equal(a->code_size, b->code_size);
	assert_int_equal(a->memory_mb, b->memory_mb);
	assert_int_equal(a->timeout_s, b->timeout_s);
	assert_int_equal(a->keepalive_s, b->keepalive_s);
	assert_int_equal(a->revision, b->revision);
	assert_int_equal(a->created_ms, b->created_ms);
	assert_int_equal(a->updated_ms, b->updated_ms);
}

static void
put_get_update(void **state)
{
	struct fixture *f = *state;
	struct err err = ERR_INIT;
	struct fn_config fn, got;
	uint64_t created_ms;
	int created = -1;

	fill(&fn, "hello", "a");
	assert_int_equal(store_fn_put(f->st, &fn, &created, &err), 0);
	assert_int_equal(created, 1);
	assert_int_equal(fn.revision, 1);
	assert_true(fn.created_ms > 1600000000000ull);
	assert_int_equal(fn.created_ms, fn.updated_ms);

	assert_int_equal(store_fn_get(f->st, "hello", &got, &err), 0);
	assert_same(&fn, &got);
	assert_string_equal(got.handler, "app.handler");
	assert_string_equal(got.description, "says hello");
	fn_config_release(&got);

	/* An update bumps the revision and keeps created_ms. */
	created_ms = fn.created_ms;
	usleep(2000);
	free(fn.runtime);
	fn.runtime = xstrdup("nodejs");
	fn.memory_mb = 512;
	assert_int_equal(store_fn_put(f->st, &fn, &created, &err), 0);
	assert_int_equal(created, 0);
	assert_int_equal(fn.revision, 2);
	assert_int_equal(fn.created_ms, created_ms);
	assert_true(fn.updated_ms > created_ms);
	assert_int_equal(store_fn_put(f->st, &fn, NULL, &err), 0);
	assert_int_equal(fn.revision, 3);

	assert_int_equal(store_fn_get(f->st, "hello", &got, &err), 0);
	assert_same(&fn, &got);
	assert_string_equal(got.runtime, "nodejs");
	assert_int_equal(got.memory_mb, 512);
	fn_config_release(&got);
	fn_config_release(&fn);
	assert_null(fn.name);
	assert_int_equal(fn.revision, 0);
}

static void
null_and_empty_strings(void **state)
{
	struct fixture *f = *state;
	struct err err = ERR_INIT;
	struct fn_config fn, got;

	/* NULL handler and description come back NULL; "" comes back "". A NULL
	 * environment is stored as "{}". */
	fill(&fn, "nulls", "b");
	free(fn.handler);
	free(fn.description);
	free(fn.env_json);
	fn.handler = NULL;
	fn.description = NULL;
	fn.env_json = NULL;
	assert_int_equal(store_fn_put(f->st, &fn, NULL, &err), 0);
	assert_int_equal(store_fn_get(f->st, "nulls", &got, &err), 0);
	assert_null(got.handler);
	assert_null(got.description);
	assert_string_equal(got.env_json, "{}");
	fn_config_release(&got);

	fn.handler = xstrdup("");
	fn.description = xstrdup("");
	assert_int_equal(store_fn_put(f->st, &fn, NULL, &err), 0);
	assert_int_equal(store_fn_get(f->st, "nulls", &got, &err), 0);
	assert_string_equal(got.handler, "");
	assert_string_equal(got.description, "");
	fn_config_release(&got);
	fn_config_release(&fn);

	/* Required fields are checked, with a message rather than a constraint error. */
	fill(&fn, "x", "c");
	free(fn.runtime);
	fn.runtime = NULL;
	assert_int_equal(store_fn_put(f->st, &fn, NULL, &err), -EINVAL);
	assert_string_equal(err.msg, "cannot store function 'x': no runtime");
	fn_config_release(&fn);
}

static void
not_found(void **state)
{
	struct fixture *f = *state;
	struct err err = ERR_INIT;
	struct fn_config got;

	assert_int_equal(store_fn_get(f->st, "nope", &got, &err), -ENOENT);
	assert_string_equal(err.msg, "function 'nope' not found");
	assert_null(got.name);
	err_clear(&err);
	assert_int_equal(store_fn_delete(f->st, "nope", &err), -ENOENT);
	assert_string_equal(err.msg, "function 'nope' not found");
}

struct seen {
	char names[8][16];
	int n;
	int stop_after;
	struct store *delete_from;
};

static int
collect(const struct fn_config *fn, void *data)
{
	struct seen *s = data;
	struct err err = ERR_INIT;

	snprintf(s->names[s->n++], sizeof(s->names[0]), "%s", fn->name);
	/* The rows were read before the callbacks, so deleting here is allowed. */
	if (s->delete_from)
		assert_int_equal(store_fn_delete(s->delete_from, fn->name, &err), 0);
	return s->n == s->stop_after ? 42 : 0;
}

static void
list_and_delete(void **state)
{
	struct fixture *f = *state;
	const char *names[] = { "charlie", "alpha", "bravo", "delta" };
	struct err err = ERR_INIT;
	struct seen s = { 0 };
	struct fn_config fn;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		fill(&fn, names[i], "d");
		assert_int_equal(store_fn_put(f->st, &fn, NULL, &err), 0);
		fn_config_release(&fn);
	}
	assert_int_equal(store_fn_list(f->st, collect, &s, &err), 0);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.names[0], "alpha");
	assert_string_equal(s.names[1], "bravo");
	assert_string_equal(s.names[2], "charlie");
	assert_string_equal(s.names[3], "delta");

	/* Stop early: the callback's value comes back. */
	memset(&s, 0, sizeof(s));
	s.stop_after = 2;
	assert_int_equal(store_fn_list(f->st, collect, &s, &err), 42);
	assert_int_equal(s.n, 2);

	assert_int_equal(store_fn_delete(f->st, "bravo", &err), 0);
	assert_int_equal(store_fn_get(f->st, "bravo", &fn, &err), -ENOENT);
	assert_int_equal(store_fn_delete(f->st, "bravo", &err), -ENOENT);

	memset(&s, 0, sizeof(s));
	s.delete_from = f->st;
	assert_int_equal(store_fn_list(f->st, collect, &s, &err), 0);
	assert_int_equal(s.n, 3);
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_fn_list(f->st, collect, &s, &err), 0);
	assert_int_equal(s.n, 0);
}

static void
code_in_use(void **state)
{
	struct fixture *f = *state;
	struct err err = ERR_INIT;
	struct fn_config fn;
	char sha[65];

	fill(&fn, "user", "e");
	snprintf(sha, sizeof(sha), "%s", fn.code_sha256);
	assert_int_equal(store_code_in_use(f->st, sha, &err), 0);
	assert_int_equal(store_fn_put(f->st, &fn, NULL, &err), 0);
	assert_int_equal(store_code_in_use(f->st, sha, &err), 1);
	assert_int_equal(store_code_in_use(f->st, "ffff", &err), 0);
	/* Switching the function to other code frees the old one. */
	memset(fn.code_sha256, 'f', 64);
	assert_int_equal(store_fn_put(f->st, &fn, NULL, &err), 0);
	assert_int_equal(store_code_in_use(f->st, sha, &err), 0);
	assert_int_equal(store_fn_delete(f->st, "user", &err), 0);
	assert_int_equal(store_code_in_use(f->st, fn.code_sha256, &err), 0);
	fn_config_release(&fn);
}

static void
reopen_keeps_data(void **state)
{
	struct fixture *f = *state;
	struct err err = ERR_INIT;
	struct fn_config fn, got;
	struct stat st;

	fill(&fn, "durable", "1");
	assert_int_equal(store_fn_put(f->st, &fn, NULL, &err), 0);
	store_close(f->st);
	f->st = NULL;

	/* The file holds environments, which may be secrets. */
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	assert_int_equal(store_open(&f->st, f->path, &err), 0);
	assert_int_equal(store_fn_get(f->st, "durable", &got, &err), 0);
	assert_same(&fn, &got);
	fn_config_release(&got);
	fn_config_release(&fn);
}

/* Migration 2: the sandbox settings. Unset values are stored as the
 * defaults; set ones round-trip; a row written before the migration reads
 * back with the defaults. */
static void
sandbox_settings(void **state)
{
	struct fixture *f = *state;
	struct err err = ERR_INIT;
	struct fn_config fn, got;

	fill(&fn, "plain", "a");
	assert_int_equal(store_fn_put(f->st, &fn, NULL, &err), 0);
	assert_int_equal(store_fn_get(f->st, "plain", &got, &err), 0);
	assert_int_equal(got.tmp_mb, 512);
	assert_string_equal(got.network, "none");
	fn_config_release(&got);
	fn.tmp_mb = 64;
	fn.network = xstrdup("host");
	assert_int_equal(store_fn_put(f->st, &fn, NULL, &err), 0);
	assert_int_equal(store_fn_get(f->st, "plain", &got, &err), 0);
	assert_int_equal(got.tmp_mb, 64);
	assert_string_equal(got.network, "host");
	fn_config_release(&got);
	fn_config_release(&fn);

	/* As a version-1 daemon would have written it. */
	assert_int_equal(sqlite3_exec(f->st->db,
				      "INSERT INTO functions (name, runtime, code_sha256, code_size, "
				      "memory_mb, timeout_s, revision, created_ms, updated_ms) "
				      "VALUES ('old', 'provided', 'ab', 1, 128, 3, 1, 1, 1)",
				      NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(store_fn_get(f->st, "old", &got, &err), 0);
	assert_int_equal(got.tmp_mb, 512);
	assert_string_equal(got.network, "none");
	fn_config_release(&got);
}

static void
pragmas(void **state)
{
	struct fixture *f = *state;
	sqlite3_stmt *s;

	assert_int_equal(sqlite3_prepare_v2(f->st->db, "PRAGMA journal_mode", -1, &s, NULL), 0);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
	sqlite3_finalize(s);
	assert_int_equal(sqlite3_prepare_v2(f->st->db, "PRAGMA synchronous", -1, &s, NULL), 0);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(s, 0), 1);	/* NORMAL */
	sqlite3_finalize(s);
	assert_int_equal(sqlite3_prepare_v2(f->st->db, "PRAGMA foreign_keys", -1, &s, NULL), 0);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(s, 0), 1);
	sqlite3_finalize(s);
	assert_int_equal(sqlite3_prepare_v2(f->st->db, "PRAGMA user_version", -1, &s, NULL), 0);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	/* Migrated: at least version 1 (later migrations raise it). */
	assert_true(sqlite3_column_int(s, 0) >= 1);
	sqlite3_finalize(s);
}

static void
newer_schema_refused(void **state)
{
	struct fixture *f = *state;
	struct err err = ERR_INIT;
	struct store *st = NULL;

	assert_int_equal(sqlite3_exec(f->st->db, "PRAGMA user_version = 99", NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(store_open(&st, f->path, &err), -EPROTO);
	assert_null(st);
	/* The known version grows with each migration; only the shape is fixed. */
	assert_non_null(strstr(err.msg, "hearth.db': database schema version 99 is newer than "
					"this hearth knows ("));
}

static void
locked_is_eagain(void **state)
{
	struct fixture *f = *state;
	struct err err = ERR_INIT;
	struct fn_config fn;
	sqlite3 *other;

	/* A second connection holds the write lock; keep the wait short. */
	assert_int_equal(sqlite3_open(f->path, &other), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_busy_timeout(f->st->db, 20);
	fill(&fn, "locked", "2");
	assert_int_equal(store_fn_put(f->st, &fn, NULL, &err), -EAGAIN);
	assert_string_equal(err.msg, "cannot store function 'locked': database is locked");
	assert_int_equal(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(other);
	/* The cached statement works again once the lock is gone. */
	assert_int_equal(store_fn_put(f->st, &fn, NULL, &err), 0);
	fn_config_release(&fn);
}

static void
open_errors(void **state)
{
	static const char junk[] = "this is not an sqlite database, though it is long enough to be "
				   "mistaken for a header by a careless reader of files........";
	struct err err = ERR_INIT;
	struct store *st = NULL;
	char path[64];
	int fd;

	(void)state;
	assert_int_equal(store_open(&st, "/nonexistent-dir/x.db", &err), -ENOENT);
	assert_null(st);
	assert_string_equal(err.msg, "cannot open database '/nonexistent-dir/x.db': "
				     "No such file or directory");

	/* Not a database at all. */
	snprintf(path, sizeof(path), "/tmp/hearth-store-junk-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, junk, sizeof(junk)), sizeof(junk));
	close(fd);
	assert_int_equal(store_open(&st, path, &err), -EIO);
	assert_null(st);
	assert_non_null(strstr(err.msg, "': file is not a database"));
	assert_int_equal(strncmp(err.msg, "cannot open database '/tmp/hearth-store-junk-", 45), 0);
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(put_get_update, setup, teardown),
		cmocka_unit_test_setup_teardown(null_and_empty_strings, setup, teardown),
		cmocka_unit_test_setup_teardown(not_found, setup, teardown),
		cmocka_unit_test_setup_teardown(list_and_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(code_in_use, setup, teardown),
		cmocka_unit_test_setup_teardown(reopen_keeps_data, setup, teardown),
		cmocka_unit_test_setup_teardown(pragmas, setup, teardown),
		cmocka_unit_test_setup_teardown(sandbox_settings, setup, teardown),
		cmocka_unit_test_setup_teardown(newer_schema_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(locked_is_eagain, setup, teardown),
		cmocka_unit_test(open_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
