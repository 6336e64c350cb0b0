/*
 * Pre-started runtimes (src/sandbox/stem.c): which spawns a stem may serve.
 * A stem is started with one runtime, command and start-up environment; a
 * spawn differing in any of them, or in any variable an interpreter reads
 * while starting, must not get it. Variables read after start-up (the
 * function's own, Lambda's AWS_LAMBDA_*) may differ freely.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sandbox/internal.h"

static struct sandbox__msg *
spawn_msg(const char *const *env)
{
	struct sandbox__msg *m = test_malloc(sizeof(*m));

	sandbox__msg_init(m, SANDBOX__MSG_SPAWN, 7);
	m->code_dir = "/data/code/ab";
	m->runtime_dir = "/opt/hearth/runtimes/python";
	m->argv[m->argc++] = "/var/runtime/bootstrap";
	while (env && *env)
		m->envp[m->envc++] = *env++;
	m->mem_bytes = 128u << 20;
	m->tmp_bytes = 512u << 20;
	m->pids_max = 1024;
	m->network = SANDBOX_NET_NONE;
	return m;
}

/* Whether two requests get the same key (and so share stems). */
static bool
same_class(struct sandbox__msg *a, struct sandbox__msg *b)
{
	struct buf ka = BUF_INIT, kb = BUF_INIT;
	bool same;

	assert_int_equal(sandbox__stem_key(a, &ka), 0);
	assert_int_equal(sandbox__stem_key(b, &kb), 0);
	same = ka.len == kb.len && memcmp(ka.ptr, kb.ptr, ka.len) == 0;
	buf_release(&ka);
	buf_release(&kb);
	return same;
}

static void
test_startup_vars(void **state)
{
	static const struct {
		const char *kv;
		bool startup;
	} cases[] = {
		{ "PATH=/usr/bin", true },
		{ "LANG=en_US.UTF-8", true },
		{ "TZ=UTC", true },
		{ "LD_LIBRARY_PATH=/lib64", true },
		{ "LD_PRELOAD=/x.so", true },
		{ "PYTHONPATH=/x", true },
		{ "PYTHONHASHSEED=0", true },
		{ "NODE_OPTIONS=--max-old-space-size=64", true },
		{ "UV_THREADPOOL_SIZE=8", true },
		{ "OPENSSL_CONF=/x", true },
		{ "SSL_CERT_FILE=/x", true },
		{ "GLIBC_TUNABLES=glibc.malloc.arena_max=1", true },
		{ "MALLOC_ARENA_MAX=1", true },
		{ "LC_ALL=C", true },
		{ "HOME=/tmp", true },
		{ "TMPDIR=/tmp", true },
		{ "LOCPATH=/var/task/locale", true },
		{ "TZDIR=/var/task/zoneinfo", true },
		{ "AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001", true },
		{ "HEARTH_STEM=1", true },
		/* Read by the runtime or the function after the assignment. */
		{ "_HANDLER=app.handler", false },
		{ "AWS_LAMBDA_FUNCTION_NAME=f", false },
		{ "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128", false },
		{ "AWS_REGION=us-east-1", false },
		{ "LAMBDA_TASK_ROOT=/var/task", false },
		{ "TABLE=orders", false },
		{ "PATHS=x", false },		/* a prefix of a name is not the name */
		{ "LANGS=x", false },
		{ "TZX=x", false },
		{ "MY_PATH=x", false },
		{ "PYTHON", true },		/* no '=' at all still matches by prefix */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (sandbox__stem_startup_var(cases[i].kv) != cases[i].startup)
			fail_msg("%s: expected %s", cases[i].kv, cases[i].startup ? "start-up" : "not");
	}
}

static void
test_function_vars_do_not_split_classes(void **state)
{
	static const char *const a_env[] = {
		"PATH=/usr/bin", "LANG=C.UTF-8", "_HANDLER=a.h", "AWS_LAMBDA_FUNCTION_NAME=a",
		"TABLE=x", NULL,
	};
	/* Other function variables, start-up ones in another order. */
	static const char *const b_env[] = {
		"LANG=C.UTF-8", "_HANDLER=b.h", "AWS_LAMBDA_FUNCTION_NAME=b", "PATH=/usr/bin",
		"OTHER=y", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=1024", NULL,
	};
	struct sandbox__msg *a = spawn_msg(a_env), *b = spawn_msg(b_env);

	(void)state;
	b->code_dir = "/data/code/cd";
	b->mem_bytes = 1024u << 20;
	b->tmp_bytes = 64u << 20;
	b->id = 8;
	assert_true(same_class(a, b));
	test_free(a);
	test_free(b);
}

static void
test_startup_differences_split_classes(void **state)
{
	static const char *const base[] = { "PATH=/usr/bin", "LANG=C.UTF-8", NULL };
	static const char *const pythonpath[] = {
		"PATH=/usr/bin", "LANG=C.UTF-8", "PYTHONPATH=/var/task/vendor", NULL,
	};
	static const char *const lang[] = { "PATH=/usr/bin", "LANG=de_DE.UTF-8", NULL };
	struct sandbox__msg *a = spawn_msg(base), *b;

	(void)state;
	b = spawn_msg(pythonpath);
	assert_false(same_class(a, b));
	test_free(b);
	b = spawn_msg(lang);
	assert_false(same_class(a, b));
	test_free(b);
	b = spawn_msg(base);
	b->runtime_dir = "/opt/hearth/runtimes/node";
	assert_false(same_class(a, b));
	test_free(b);
	b = spawn_msg(base);
	b->argv[b->argc++] = "--flag";
	assert_false(same_class(a, b));
	test_free(b);
	/* Arguments are counted, not just joined: ["a", "b"] is not ["a\0b"]. */
	b = spawn_msg(base);
	b->argv[0] = "/var/runtime/bootstrap";
	b->argv[b->argc++] = "";
	assert_false(same_class(a, b));
	test_free(b);
	test_free(a);
}

static void
test_no_stem_for_some_spawns(void **state)
{
	struct sandbox__msg *m = spawn_msg(NULL);
	struct buf k = BUF_INIT;

	(void)state;
	m->network = SANDBOX_NET_HOST;
	assert_int_equal(sandbox__stem_key(m, &k), -1);
	m->network = SANDBOX_NET_NONE;
	m->runtime_dir = NULL;		/* "provided": the function's own binary */
	assert_int_equal(sandbox__stem_key(m, &k), -1);
	m->runtime_dir = "/rt";
	m->code_dir = NULL;		/* a stem's own request */
	assert_int_equal(sandbox__stem_key(m, &k), -1);
	m->code_dir = "/c";
	assert_int_equal(sandbox__stem_key(m, &k), 0);
	/* Start-up variables that run code by themselves (node's --import of
	 * a data: URL): such a stem would run the function's code before it
	 * has a function. */
	m->envp[m->envc++] = "NODE_OPTIONS=--import=data:text/javascript,0";
	m->envp[m->envc] = NULL;
	assert_int_equal(sandbox__stem_key(m, &k), -1);
	m->envp[m->envc - 1] = "NODE_OPTIONS=--enable-source-maps";
	assert_int_equal(sandbox__stem_key(m, &k), -1);
	m->envp[--m->envc] = NULL;
	assert_int_equal(sandbox__stem_key(m, &k), 0);
	buf_release(&k);
	test_free(m);
}

static void
test_class_table(void **state)
{
	static const char *const env[] = {
		"PATH=/usr/bin", "_HANDLER=a.h", "PYTHONDONTWRITEBYTECODE=1", NULL,
	};
	struct sandbox__stems st = { .want = 1 };
	struct sandbox__msg *m = spawn_msg(env);
	struct sandbox__stem_class *c;
	struct buf k = BUF_INIT;
	size_t i;

	(void)state;
	assert_int_equal(sandbox__stem_key(m, &k), 0);
	assert_null(sandbox__stems_find(&st, &k));
	c = sandbox__stems_add(&st, m, &k);
	assert_non_null(c);
	assert_ptr_equal(sandbox__stems_find(&st, &k), c);
	/* A stem starts with the start-up variables only, plus the marker. */
	assert_int_equal(c->envc, 3);
	assert_string_equal(c->envp[0], "PATH=/usr/bin");
	assert_string_equal(c->envp[1], "PYTHONDONTWRITEBYTECODE=1");
	assert_string_equal(c->envp[2], "HEARTH_STEM=1");
	assert_null(c->envp[3]);
	assert_string_equal(c->argv[0], "/var/runtime/bootstrap");
	assert_null(c->argv[1]);
	/* The table is bounded. */
	for (i = 1; i < SANDBOX__STEM_CLASSES; i++) {
		buf_addf(&k, "x%zu", i);
		assert_non_null(sandbox__stems_add(&st, m, &k));
	}
	buf_add(&k, "y", 1);
	assert_null(sandbox__stems_add(&st, m, &k));
	sandbox__stems_release(&st);
	buf_release(&k);
	test_free(m);
}

/* A full table gives up the class unused longest, and only once it has been
 * idle: one tenant's kinds, seen first, must not hold every place. */
static void
test_idle_class_gives_way(void **state)
{
	static const char *const env[] = { "PATH=/usr/bin", NULL };
	struct sandbox__stems st = { .want = 1, .idle_ms = 1000 };
	struct sandbox__msg *m = spawn_msg(env);
	struct sandbox__stem_class *c;
	struct buf k = BUF_INIT;
	size_t i;

	(void)state;
	assert_int_equal(sandbox__stem_key(m, &k), 0);
	for (i = 0; i < SANDBOX__STEM_CLASSES; i++) {
		buf_addf(&k, "%zu", i);
		c = sandbox__stems_add(&st, m, &k);
		assert_non_null(c);
		c->used_ms = 5000 + i * 100;
	}
	/* Not full: nothing to give up, however old. */
	st.ncls--;
	assert_int_equal(sandbox__stems_victim(&st, 100000), -1);
	st.ncls++;
	/* Full, but every class used within idle_ms. */
	assert_int_equal(sandbox__stems_victim(&st, 5000 + 999), -1);
	/* Class 0 idle long enough: it goes, not the younger ones. */
	assert_int_equal(sandbox__stems_victim(&st, 6000), 0);
	/* Class 2 used longest ago once 0 was used again. */
	st.cls[0].used_ms = 9000;
	st.cls[1].used_ms = 9000;
	assert_int_equal(sandbox__stems_victim(&st, 9000), 2);
	/* Removing one keeps the others findable and makes room. */
	buf_reset(&k);
	buf_add(&k, st.cls[3].key.ptr, st.cls[3].key.len);
	sandbox__stems_remove(&st, 2);
	assert_int_equal(st.ncls, SANDBOX__STEM_CLASSES - 1);
	c = sandbox__stems_find(&st, &k);
	assert_non_null(c);
	assert_ptr_equal(c, &st.cls[2]);
	buf_add(&k, "new", 3);
	assert_non_null(sandbox__stems_add(&st, m, &k));
	sandbox__stems_release(&st);
	buf_release(&k);
	test_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_startup_vars),
		cmocka_unit_test(test_function_vars_do_not_split_classes),
		cmocka_unit_test(test_startup_differences_split_classes),
		cmocka_unit_test(test_no_stem_for_some_spawns),
		cmocka_unit_test(test_class_table),
		cmocka_unit_test(test_idle_class_gives_way),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
