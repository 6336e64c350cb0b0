/*
 * The spawner's control protocol (src/sandbox/proto.c): round trips, and a
 * decoder that refuses every malformed record without reading past it. Also
 * the rendering of a failed child step into the SPAWN_FAILED message, and the
 * split of the root between the skeleton (once per spawner) and each spawn's
 * own mounts (src/sandbox/mount.c).
 */
#include <errno.h>
#include <sys/mount.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sandbox/internal.h"

static struct sandbox__msg *
new_msg(void)
{
	return test_malloc(sizeof(struct sandbox__msg));
}

static void
encode_spawn(struct buf *b)
{
	struct sandbox__msg *m = new_msg();

	sandbox__msg_init(m, SANDBOX__MSG_SPAWN, 42);
	m->code_dir = "/srv/code";
	m->runtime_dir = "/srv/rt";
	m->argv[m->argc++] = "/var/runtime/bootstrap";
	m->argv[m->argc++] = "";
	m->envp[m->envc++] = "A=1";
	m->envp[m->envc++] = "TZ=UTC";
	m->mem_bytes = 128ull << 20;
	m->tmp_bytes = 512ull << 20;
	m->pids_max = 64;
	assert_int_equal(sandbox__msg_encode(m, b), 0);
	test_free(m);
}

static void
spawn_roundtrip(void **state)
{
	struct buf b = BUF_INIT;
	struct sandbox__msg *m = new_msg();

	(void)state;
	encode_spawn(&b);
	assert_int_equal(sandbox__msg_decode(b.ptr, b.len, m), 0);
	assert_int_equal(m->type, SANDBOX__MSG_SPAWN);
	assert_int_equal(m->id, 42);
	assert_string_equal(m->code_dir, "/srv/code");
	assert_string_equal(m->runtime_dir, "/srv/rt");
	assert_int_equal(m->argc, 2);
	assert_string_equal(m->argv[0], "/var/runtime/bootstrap");
	assert_string_equal(m->argv[1], "");
	assert_null(m->argv[2]);
	assert_int_equal(m->envc, 2);
	assert_string_equal(m->envp[1], "TZ=UTC");
	assert_null(m->envp[2]);
	assert_int_equal(m->mem_bytes, 128ull << 20);
	assert_int_equal(m->tmp_bytes, 512ull << 20);
	assert_int_equal(m->pids_max, 64);
	assert_null(m->err_msg);
	/* Decoded strings point into the input: nothing was copied. */
	assert_true(m->code_dir > b.ptr && m->code_dir < b.ptr + b.len);
	test_free(m);
	buf_release(&b);
}

static void
events_roundtrip(void **state)
{
	static const struct {
		uint32_t type;
		int32_t pid, status, oom, code, version;
		const char *msg;
	} cases[] = {
		{ SANDBOX__MSG_READY, 0, 0, 0, 0, 1, NULL },
		{ SANDBOX__MSG_START_FAILED, 0, 0, 0, ENOTSUP, 0, "no usable cgroup" },
		{ SANDBOX__MSG_SPAWNED, 1234, 0, 0, 0, 0, NULL },
		{ SANDBOX__MSG_SPAWN_FAILED, 0, 0, 0, ENOENT,
		  0, "cannot bind '/x' on /var/task: No such file or directory (step bind_code)" },
		{ SANDBOX__MSG_EXITED, 1234, 9, 1, 0, 0, NULL },
		{ SANDBOX__MSG_EXITED, 7, 0, 0, 0, 0, NULL },	/* exit 0: status field absent */
		{ SANDBOX__MSG_STOP, 0, 0, 0, 0, 0, NULL },
		{ SANDBOX__MSG_INIT_DONE, 0, 0, 0, 0, 0, NULL },
	};
	struct sandbox__msg *m = new_msg(), *d = new_msg();
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct buf b = BUF_INIT;

		sandbox__msg_init(m, cases[i].type, i + 1);
		m->pid = cases[i].pid;
		m->wait_status = cases[i].status;
		m->oom_killed = cases[i].oom;
		m->err_code = cases[i].code;
		m->err_msg = cases[i].msg;
		m->cgroup_version = cases[i].version;
		assert_int_equal(sandbox__msg_encode(m, &b), 0);
		assert_int_equal(sandbox__msg_decode(b.ptr, b.len, d), 0);
		assert_int_equal(d->type, cases[i].type);
		assert_int_equal(d->id, i + 1);
		assert_int_equal(d->pid, cases[i].pid);
		assert_int_equal(d->wait_status, cases[i].status);
		assert_int_equal(d->oom_killed, cases[i].oom);
		assert_int_equal(d->err_code, cases[i].code);
		assert_int_equal(d->cgroup_version, cases[i].version);
		if (cases[i].msg)
			assert_string_equal(d->err_msg, cases[i].msg);
		else
			assert_null(d->err_msg);
		assert_string_equal(sandbox__msg_type_name(cases[i].type),
				    sandbox__msg_type_name(d->type));
		buf_release(&b);
	}
	assert_string_equal(sandbox__msg_type_name(999), "unknown");
	test_free(m);
	test_free(d);
}

/* Every strict prefix of a valid record is refused, never over-read (the
 * copy is exactly as long as the prefix, so ASan/valgrind would see it). */
static void
truncations_refused(void **state)
{
	struct buf b = BUF_INIT;
	struct sandbox__msg *m = new_msg();
	size_t i;

	(void)state;
	encode_spawn(&b);
	for (i = 0; i < b.len; i++) {
		char *copy = test_malloc(i ? i : 1);

		memcpy(copy, b.ptr, i);
		/* A cut at a field boundary is a valid shorter message; any other
		 * cut must be refused. */
		if (sandbox__msg_decode(copy, i, m) == 0)
			assert_true(i >= 16);
		test_free(copy);
	}
	test_free(m);
	buf_release(&b);
}

static void
put(struct buf *b, uint32_t v)
{
	buf_add(b, &v, 4);
}

static void
header(struct buf *b, uint32_t type)
{
	uint64_t id = 7;

	put(b, type);
	put(b, 0);
	buf_add(b, &id, 8);
}

static void
field(struct buf *b, uint32_t tag, const void *data, uint32_t len)
{
	put(b, tag);
	put(b, len);
	buf_add(b, data, len);
}

static void
malformed_refused(void **state)
{
	struct sandbox__msg *m = new_msg();
	struct buf b = BUF_INIT;
	uint32_t u32 = 5;
	uint64_t u64 = 1;
	size_t i;

	(void)state;
	/* Too short for a header; unknown type; reserved bits set. */
	assert_int_equal(sandbox__msg_decode("abc", 3, m), -EBADMSG);
	header(&b, 0);
	assert_int_equal(sandbox__msg_decode(b.ptr, b.len, m), -EBADMSG);
	buf_reset(&b);
	header(&b, SANDBOX__MSG_TYPE_MAX);
	assert_int_equal(sandbox__msg_decode(b.ptr, b.len, m), -EBADMSG);
	buf_reset(&b);
	put(&b, SANDBOX__MSG_STOP);
	put(&b, 1);
	buf_add(&b, &u64, 8);
	assert_int_equal(sandbox__msg_decode(b.ptr, b.len, m), -EBADMSG);

	/* A string without its NUL, with one inside, or empty. */
	buf_reset(&b);
	header(&b, SANDBOX__MSG_SPAWN);
	field(&b, SANDBOX__T_CODE_DIR, "/abc", 4);
	assert_int_equal(sandbox__msg_decode(b.ptr, b.len, m), -EBADMSG);
	buf_reset(&b);
	header(&b, SANDBOX__MSG_SPAWN);
	field(&b, SANDBOX__T_ARG, "a\0b", 4);
	assert_int_equal(sandbox__msg_decode(b.ptr, b.len, m), -EBADMSG);
	buf_reset(&b);
	header(&b, SANDBOX__MSG_SPAWN);
	field(&b, SANDBOX__T_ENV, "", 0);
	assert_int_equal(sandbox__msg_decode(b.ptr, b.len, m), -EBADMSG);

	/* A repeated single-valued field. */
	buf_reset(&b);
	header(&b, SANDBOX__MSG_SPAWN);
	field(&b, SANDBOX__T_CODE_DIR, "/a", 3);
	field(&b, SANDBOX__T_CODE_DIR, "/b", 3);
	assert_int_equal(sandbox__msg_decode(b.ptr, b.len, m), -EBADMSG);
	buf_reset(&b);
	header(&b, SANDBOX__MSG_SPAWN);
	field(&b, SANDBOX__T_PIDS_MAX, &u32, 4);
	field(&b, SANDBOX__T_PIDS_MAX, &u32, 4);
	assert_int_equal(sandbox__msg_decode(b.ptr, b.len, m), -EBADMSG);

	/* A scalar of the wrong size; an unknown tag; a length past the end. */
	buf_reset(&b);
	header(&b, SANDBOX__MSG_SPAWN);
	field(&b, SANDBOX__T_MEM_BYTES, &u32, 4);
	assert_int_equal(sandbox__msg_decode(b.ptr, b.len, m), -EBADMSG);
	buf_reset(&b);
	header(&b, SANDBOX__MSG_SPAWN);
	field(&b, SANDBOX__T_MAX, &u32, 4);
	assert_int_equal(sandbox__msg_decode(b.ptr, b.len, m), -EBADMSG);
	buf_reset(&b);
	header(&b, SANDBOX__MSG_SPAWN);
	put(&b, SANDBOX__T_CODE_DIR);
	put(&b, 0xffffffffu);
	buf_add(&b, "/x", 3);
	assert_int_equal(sandbox__msg_decode(b.ptr, b.len, m), -EBADMSG);

	/* One argument too many. */
	buf_reset(&b);
	header(&b, SANDBOX__MSG_SPAWN);
	for (i = 0; i <= SANDBOX__MAX_ARGS; i++)
		field(&b, SANDBOX__T_ARG, "x", 2);
	assert_int_equal(sandbox__msg_decode(b.ptr, b.len, m), -E2BIG);

	/* Over the record cap. */
	assert_int_equal(sandbox__msg_decode(b.ptr, SANDBOX__MSG_MAX + 1, m), -EBADMSG);
	buf_release(&b);
	test_free(m);
}

static void
encode_over_cap(void **state)
{
	struct sandbox__msg *m = new_msg();
	struct buf b = BUF_INIT;
	char *big = test_malloc(SANDBOX__MSG_MAX);

	(void)state;
	memset(big, 'a', SANDBOX__MSG_MAX - 1);
	big[SANDBOX__MSG_MAX - 1] = '\0';
	buf_adds(&b, "keep");
	sandbox__msg_init(m, SANDBOX__MSG_SPAWN, 1);
	m->code_dir = big;
	assert_int_equal(sandbox__msg_encode(m, &b), -E2BIG);
	/* The caller's buffer is as it was. */
	assert_int_equal(b.len, 4);
	assert_string_equal(b.ptr, "keep");
	buf_release(&b);
	test_free(big);
	test_free(m);
}

/* A failed child step becomes "cannot X: why (step name)". */
static void
child_error_messages(void **state)
{
	static struct sandbox__rootfs rf;
	static struct sandbox__plan plan;
	struct sandbox__child_error ce;
	struct err err = ERR_INIT;
	size_t i, tmp = 0, code = 0;

	(void)state;
	rf.root_dir = (char *)"/state/root";
	rf.etc_dir = (char *)"/state/etc";
	rf.init_path = (char *)"/usr/lib/hearth/hearth-init";
	assert_int_equal(sandbox__plan_build(&plan, &rf, "/code", NULL, 1 << 20, &err), 0);
	for (i = 0; i < plan.n; i++) {
		if (plan.m[i].step == SANDBOX__STEP_MOUNT_TMP)
			tmp = i;
		if (plan.m[i].step == SANDBOX__STEP_BIND_CODE)
			code = i;
	}
	assert_string_equal(plan.m[tmp].data, "mode=1777,size=1048576");

	ce = (struct sandbox__child_error){ SANDBOX__STEP_MOUNT_TMP, EPERM, (int)tmp };
	assert_int_equal(sandbox__child_error_set(&err, &ce, &plan), -EPERM);
	assert_string_equal(err.msg, "cannot mount tmpfs on /tmp: Operation not permitted "
			    "(step mount_tmp)");
	ce = (struct sandbox__child_error){ SANDBOX__STEP_BIND_CODE, ENOENT, (int)code };
	sandbox__child_error_set(&err, &ce, &plan);
	assert_string_equal(err.msg, "cannot bind '/code' on /var/task: No such file or "
			    "directory (step bind_code)");
	ce = (struct sandbox__child_error){ SANDBOX__STEP_MOUNT_ROOT, EACCES, -1 };
	sandbox__child_error_set(&err, &ce, &plan);
	assert_string_equal(err.msg, "cannot mount tmpfs on '/state/root': Permission denied "
			    "(step mount_root)");
	ce = (struct sandbox__child_error){ SANDBOX__STEP_EXEC, ENOEXEC, -1 };
	sandbox__child_error_set(&err, &ce, &plan);
	assert_string_equal(err.msg, "cannot execute /init: Exec format error (step exec)");
	/* A bogus record from a confused child still gives a message. */
	ce = (struct sandbox__child_error){ 9999, EIO, 9999 };
	sandbox__child_error_set(&err, &ce, &plan);
	assert_string_equal(err.msg, "sandbox set-up failed: Input/output error (step unknown)");
	/* Every step has a name. */
	for (i = 0; i < SANDBOX__STEP_MAX; i++)
		assert_string_not_equal(sandbox__step_name((int)i), "unknown");
	sandbox__plan_release(&plan);

	assert_int_equal(sandbox__plan_build(&plan, &rf, "relative", NULL, 1, &err), -EINVAL);
	sandbox__plan_release(&plan);
}

/* The last entry for dst: a bind comes after the mkdir of its mount point. */
static const struct sandbox__mount *
find_dst(const struct sandbox__plan *p, const char *dst)
{
	const struct sandbox__mount *m = NULL;
	size_t i;

	for (i = 0; i < p->n; i++)
		if (strcmp(p->m[i].dst, dst) == 0)
			m = &p->m[i];
	return m;
}

/* Everything function-independent is in the skeleton, read-only, and nothing
 * of a function is; a spawn's plan holds only the function's mounts. */
static void
skeleton_and_spawn_plans(void **state)
{
	static struct sandbox__rootfs rf;
	static struct sandbox__plan skel, plan;
	static const char *const points[] = { "var/task", "var/runtime", "tmp", "proc", "dev" };
	const struct sandbox__mount *m;
	struct err err = ERR_INIT;
	size_t i;

	(void)state;
	rf.root_dir = (char *)"/state/root";
	rf.etc_dir = (char *)"/state/etc";
	rf.init_path = (char *)"/usr/lib/hearth/hearth-init";
	rf.etc_ld_cache = true;
	snprintf(rf.toplinks[0].name, sizeof(rf.toplinks[0].name), "bin");
	snprintf(rf.toplinks[0].target, sizeof(rf.toplinks[0].target), "usr/bin");
	snprintf(rf.toplinks[1].name, sizeof(rf.toplinks[1].name), "lib64");
	rf.n_toplinks = 2;

	assert_int_equal(sandbox__skeleton_plan_build(&skel, &rf), 0);
	assert_string_equal(skel.root_dir, "/state/root");
	/* Every mount point a spawn uses exists in the skeleton: the child
	 * cannot create one on its read-only root. */
	for (i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
		m = find_dst(&skel, points[i]);
		assert_non_null(m);
		assert_true(m->kind == SANDBOX__MNT_DIR || strcmp(points[i], "dev") == 0);
	}
	m = find_dst(&skel, "dev");
	assert_int_equal(m->kind, SANDBOX__MNT_TMPFS);
	m = find_dst(&skel, "bin");
	assert_non_null(m);
	assert_int_equal(m->kind, SANDBOX__MNT_SYMLINK);
	assert_string_equal(m->src, "usr/bin");
	/* A real top-level directory is bound like /usr. */
	m = find_dst(&skel, "lib64");
	assert_non_null(m);
	assert_int_equal(m->kind, SANDBOX__MNT_BIND);
	assert_string_equal(m->src, "/lib64");
	assert_true(m->ro);
	m = find_dst(&skel, "usr");
	assert_non_null(m);
	assert_true(m->ro && (m->flags & MS_NOSUID) && (m->flags & MS_NODEV));
	m = find_dst(&skel, "etc");
	assert_non_null(m);
	assert_string_equal(m->src, "/state/etc");
	assert_true(m->ro);
	m = find_dst(&skel, "etc/ld.so.cache");
	assert_non_null(m);
	assert_true(m->ro && (m->flags & MS_NOEXEC));
	assert_null(find_dst(&skel, "etc/localtime"));
	m = find_dst(&skel, "init");
	assert_non_null(m);
	assert_true(m->ro && m->mkpoint_file);
	m = find_dst(&skel, "dev/urandom");
	assert_non_null(m);
	assert_true((m->flags & MS_NOSUID) && (m->flags & MS_NOEXEC));
	for (i = 0; i < skel.n; i++) {
		m = &skel.m[i];
		assert_true(m->step != SANDBOX__STEP_BIND_CODE &&
			    m->step != SANDBOX__STEP_BIND_RUNTIME &&
			    m->step != SANDBOX__STEP_MOUNT_TMP);
		/* Read-only: every bind of a file or directory, and /dev. */
		if (m->kind == SANDBOX__MNT_BIND && strncmp(m->dst, "dev/", 4) != 0)
			assert_true(m->ro);
		if (m->kind == SANDBOX__MNT_TMPFS)
			assert_true(m->ro);
	}
	sandbox__plan_release(&skel);

	assert_int_equal(sandbox__plan_build(&plan, &rf, "/code", "/rt", 4096, &err), 0);
	assert_int_equal(plan.n, 3);
	assert_int_equal(plan.m[0].step, SANDBOX__STEP_BIND_CODE);
	assert_string_equal(plan.m[0].src, "/code");
	assert_string_equal(plan.m[0].dst, "var/task");
	assert_true(plan.m[0].ro && (plan.m[0].flags & MS_NOSUID) && (plan.m[0].flags & MS_NODEV));
	assert_false(plan.m[0].mkpoint_dir || plan.m[0].mkpoint_file);
	assert_int_equal(plan.m[1].step, SANDBOX__STEP_BIND_RUNTIME);
	assert_string_equal(plan.m[1].src, "/rt");
	assert_string_equal(plan.m[1].dst, "var/runtime");
	assert_true(plan.m[1].ro);
	assert_int_equal(plan.m[2].kind, SANDBOX__MNT_TMPFS);
	assert_string_equal(plan.m[2].dst, "tmp");
	assert_false(plan.m[2].ro);
	assert_true((plan.m[2].flags & MS_NOSUID) && (plan.m[2].flags & MS_NODEV));
	assert_string_equal(plan.m[2].data, "mode=1777,size=4096");
	sandbox__plan_release(&plan);

	/* Without a runtime, /var/runtime stays the skeleton's empty directory. */
	assert_int_equal(sandbox__plan_build(&plan, &rf, "/code", NULL, 4096, &err), 0);
	assert_int_equal(plan.n, 2);
	assert_null(find_dst(&plan, "var/runtime"));
	sandbox__plan_release(&plan);
	assert_int_equal(sandbox__plan_build(&plan, &rf, "/code", "rt", 4096, &err), -EINVAL);
	assert_string_equal(err.msg, "runtime_dir must be an absolute path");
	sandbox__plan_release(&plan);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(spawn_roundtrip),
		cmocka_unit_test(events_roundtrip),
		cmocka_unit_test(truncations_refused),
		cmocka_unit_test(malformed_refused),
		cmocka_unit_test(encode_over_cap),
		cmocka_unit_test(child_error_messages),
		cmocka_unit_test(skeleton_and_spawn_plans),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
