/* Unit tests for src/store/version.c: versions, aliases, reserved concurrency. */
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

#include "store/store.h"

struct fixture {
	char dir[64];
	struct store *st;
};

static void
put_fn(struct store *st, const char *name, char sha_char, uint32_t memory_mb)
{
	struct err err = ERR_INIT;
	struct fn_config fn;
	char sha[65];

	memset(sha, sha_char, 64);
	sha[64] = '\0';
	memset(&fn, 0, sizeof(fn));
	fn.name = xstrdup(name);
	fn.runtime = xstrdup("provided");
	fn.handler = xstrdup("handler");
	fn.description = xstrdup("latest");
	fn.code_sha256 = xstrdup(sha);
	fn.code_size = 10;
	fn.memory_mb = memory_mb;
	fn.timeout_s = 3;
	assert_int_equal(store_fn_put(st, &fn, NULL, &err), 0);
	fn_config_release(&fn);
}

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct err err = ERR_INIT;
	char *path;

	scratch_make(f->dir, sizeof(f->dir), "store-ver");
	path = xasprintf("%s/hearth.db", f->dir);
	assert_int_equal(store_open(&f->st, path, &err), 0);
	free(path);
	put_fn(f->st, "hello", 'a', 128);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	store_close(f->st);
	scratch_remove(f->dir);
	free(f);
	return 0;
}

static int
count_one(const struct fn_config *fn, void *data)
{
	(void)fn;
	(*(int *)data)++;
	return 0;
}

static void
publish_snapshots(void **state)
{
	struct fixture *f = *state;
	struct err err = ERR_INIT;
	struct fn_config v, got;
	int created = -1, n = 0;

	assert_int_equal(store_version_publish(f->st, "hello", NULL, &v, &created, &err), 0);
	assert_int_equal(created, 1);
	assert_int_equal(v.version, 1);
	assert_string_equal(v.description, "latest");
	assert_int_equal(v.memory_mb, 128);
	fn_config_release(&v);

	/* Nothing changed: the same version comes back, as on Lambda. */
	assert_int_equal(store_version_publish(f->st, "hello", "again", &v, &created, &err), 0);
	assert_int_equal(created, 0);
	assert_int_equal(v.version, 1);
	fn_config_release(&v);

	/* A change to $LATEST makes version 2; version 1 keeps its snapshot. */
	put_fn(f->st, "hello", 'b', 256);
	assert_int_equal(store_version_publish(f->st, "hello", "second", &v, &created, &err), 0);
	assert_int_equal(created, 1);
	assert_int_equal(v.version, 2);
	assert_string_equal(v.description, "second");
	assert_int_equal(v.memory_mb, 256);
	fn_config_release(&v);
	assert_int_equal(store_version_get(f->st, "hello", 1, &got, &err), 0);
	assert_int_equal(got.memory_mb, 128);
	assert_int_equal(got.code_sha256[0], 'a');
	fn_config_release(&got);

	assert_int_equal(store_version_list(f->st, "hello", count_one, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_version_get(f->st, "hello", 3, &got, &err), -ENOENT);
	assert_int_equal(store_version_publish(f->st, "nope", NULL, &v, NULL, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "'nope' does not exist"));

	/* Old code stays referenced by its version: not garbage. */
	{
		char sha[65];

		memset(sha, 'a', 64);
		sha[64] = '\0';
		assert_int_equal(store_code_in_use(f->st, sha, &err), 1);
	}
}

static void
aliases(void **state)
{
	struct fixture *f = *state;
	struct err err = ERR_INIT;
	struct fn_config v;
	struct fn_alias a = { 0 }, got;
	int created = -1;

	assert_int_equal(store_version_publish(f->st, "hello", NULL, &v, NULL, &err), 0);
	fn_config_release(&v);

	a.function = xstrdup("hello");
	a.name = xstrdup("live");
	a.version = 2;
	assert_int_equal(store_alias_put(f->st, &a, STORE_ALIAS_UPSERT, &created, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "no version 2"));
	a.version = 1;
	assert_int_equal(store_alias_put(f->st, &a, STORE_ALIAS_UPDATE, &created, &err), -ENOENT);
	assert_int_equal(store_alias_put(f->st, &a, STORE_ALIAS_CREATE, &created, &err), 0);
	assert_int_equal(created, 1);
	assert_int_equal(a.revision, 1);
	assert_int_equal(store_alias_put(f->st, &a, STORE_ALIAS_CREATE, &created, &err), -EEXIST);
	a.version = 0;	/* $LATEST */
	assert_int_equal(store_alias_put(f->st, &a, STORE_ALIAS_UPDATE, &created, &err), 0);
	assert_int_equal(created, 0);
	assert_int_equal(a.revision, 2);
	assert_int_equal(store_alias_get(f->st, "hello", "live", &got, &err), 0);
	assert_int_equal(got.version, 0);
	fn_alias_release(&got);
	assert_int_equal(store_alias_delete(f->st, "hello", "live", &err), 0);
	assert_int_equal(store_alias_delete(f->st, "hello", "live", &err), -ENOENT);
	assert_int_equal(store_alias_get(f->st, "hello", "live", &got, &err), -ENOENT);

	/* Deleting the function takes its versions and aliases along. */
	assert_int_equal(store_alias_put(f->st, &a, STORE_ALIAS_UPSERT, &created, &err), 0);
	assert_int_equal(store_fn_delete(f->st, "hello", &err), 0);
	assert_int_equal(store_alias_get(f->st, "hello", "live", &got, &err), -ENOENT);
	assert_int_equal(store_version_get(f->st, "hello", 1, &v, &err), -ENOENT);
	fn_alias_release(&a);
}

static int
conc_one(const char *function, int64_t reserved, void *data)
{
	assert_string_equal(function, "hello");
	*(int64_t *)data = reserved;
	return 0;
}

static void
concurrency(void **state)
{
	struct fixture *f = *state;
	struct err err = ERR_INIT;
	int64_t seen = -1;

	assert_int_equal(store_concurrency_set(f->st, "nope", 5, &err), -ENOENT);
	assert_int_equal(store_concurrency_set(f->st, "hello", 5, &err), 0);
	assert_int_equal(store_concurrency_list(f->st, conc_one, &seen, &err), 0);
	assert_int_equal(seen, 5);
	assert_int_equal(store_concurrency_set(f->st, "hello", -1, &err), 0);
	seen = -1;
	assert_int_equal(store_concurrency_list(f->st, conc_one, &seen, &err), 0);
	assert_int_equal(seen, -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(publish_snapshots, setup, teardown),
		cmocka_unit_test_setup_teardown(aliases, setup, teardown),
		cmocka_unit_test_setup_teardown(concurrency, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
