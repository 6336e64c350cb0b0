/*
 * Unit tests for src/invoke/fnlog.c: function logs rotate by size and cursors
 * stay valid across rotations. Includes the source, with the registry lookup
 * replaced by one function entry, so no pool or store is needed.
 */
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

#include "../../src/invoke/fnlog.c"

static struct fn_entry *the_fe;

struct fn_entry *
invoke__fn(struct invoke_service *svc, const char *name)
{
	(void)svc;
	return the_fe && strcmp(name, the_fe->cfg.name) == 0 ? the_fe : NULL;
}

struct fixture {
	char dir[64];
	struct invoke_service svc;
};

static struct fn_entry *
entry_new(void)
{
	struct fn_entry *fe = xcalloc(1, sizeof(*fe));

	fe->log_fd = -1;
	buf_init(&fe->log_pending);
	fe->cfg.name = xstrdup("fn");
	return fe;
}

static void
entry_free(struct invoke_service *svc, struct fn_entry *fe)
{
	invoke__log_close(svc, fe);
	buf_release(&fe->log_pending);
	free(fe->cfg.name);
	free(fe);
}

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	scratch_make(f->dir, sizeof(f->dir), "fnlog");
	f->svc.log_dir = f->dir;
	f->svc.cfg.log_max_bytes = 1000;
	/* No check handle: every line is written at once, as at shutdown. */
	the_fe = entry_new();
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	entry_free(&f->svc, the_fe);
	the_fe = NULL;
	scratch_remove(f->dir);
	free(f);
	return 0;
}

/* Lines of 24 (time) + 1 + 75 = 100 bytes: "line 0007 yyyy...". */
static void
write_lines(struct fixture *f, int from, int to)
{
	char text[80];
	int i;

	for (i = from; i < to; i++) {
		snprintf(text, sizeof(text), "line %04d %064d", i, 0);
		invoke__log_raw(&f->svc, "fn", NULL, (struct str){ text, strlen(text) });
	}
}

static off_t
file_size(struct fixture *f, const char *suffix)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "%s/fn.log%s", f->dir, suffix);
	return stat(path, &st) == 0 ? st.st_size : -1;
}

/* Reads everything after *cursor in pages of max bytes; returns the line
 * numbers in order in nums (-1 for a line that is not ours), their count. */
static int
read_all(struct fixture *f, uint64_t *cursor, size_t max, int *nums, int cap)
{
	struct err err = ERR_INIT;
	struct buf b = BUF_INIT;
	uint64_t before;
	char *p, *nl;
	int n = 0, r;

	do {
		before = *cursor;
		buf_reset(&b);
		r = invoke_logs_read(&f->svc, "fn", cursor, max, &b, &err);
		assert_true(r == 0 || r == -ENOENT);
		for (p = b.ptr; p < b.ptr + b.len; p = nl + 1) {
			nl = memchr(p, '\n', (size_t)(b.ptr + b.len - p));
			assert_non_null(nl);	/* whole lines only */
			assert_true(n < cap);
			nums[n++] = strncmp(p + 25, "line ", 5) == 0 ? atoi(p + 30) : -1;
		}
	} while (*cursor != before);
	buf_release(&b);
	return n;
}

/* The offset file's first line: where the current file starts. */
static long long
offset_of(struct fixture *f)
{
	char path[128], text[64] = "";
	FILE *fp;

	snprintf(path, sizeof(path), "%s/fn.log.offset", f->dir);
	fp = fopen(path, "r");
	if (!fp)
		return -1;
	if (!fgets(text, sizeof(text), fp))
		text[0] = '\0';
	fclose(fp);
	return atoll(text);
}

static void
assert_run(const int *nums, int n, int first, int last)
{
	int i;

	assert_int_equal(n, last - first + 1);
	for (i = 0; i < n; i++)
		assert_int_equal(nums[i], first + i);
}

static void
rotates_at_the_limit(void **state)
{
	struct fixture *f = *state;
	uint64_t cursor = 0;
	int nums[64], n;

	write_lines(f, 0, 9);
	assert_int_equal(file_size(f, ""), 900);
	assert_int_equal(file_size(f, ".1"), -1);
	write_lines(f, 9, 10);	/* exactly 1000: still one file */
	assert_int_equal(file_size(f, ""), 1000);
	write_lines(f, 10, 11);
	assert_int_equal(file_size(f, ".1"), 1000);
	assert_int_equal(file_size(f, ""), 100);
	write_lines(f, 11, 35);	/* rotates again at line 20 and 30 */
	assert_int_equal(file_size(f, ".1"), 1000);
	assert_int_equal(file_size(f, ""), 500);
	assert_int_equal(offset_of(f), 3000);

	/* From 0: the oldest line kept (20) to the newest, in one page or many. */
	n = read_all(f, &cursor, 256 << 10, nums, 64);
	assert_run(nums, n, 20, 34);
	assert_int_equal(cursor, 3500);
	cursor = 0;
	n = read_all(f, &cursor, 250, nums, 64);
	assert_run(nums, n, 20, 34);
	assert_int_equal(cursor, 3500);
	/* A cursor in the previous file reads on into the current one. */
	cursor = 2500;
	n = read_all(f, &cursor, 256 << 10, nums, 64);
	assert_run(nums, n, 25, 34);
}

static void
follow_across_rotation(void **state)
{
	struct fixture *f = *state;
	uint64_t cursor = 0;
	int nums[64], n;

	write_lines(f, 0, 7);
	n = read_all(f, &cursor, 256 << 10, nums, 64);
	assert_run(nums, n, 0, 6);
	/* The next lines rotate the file under the follower: it sees each once. */
	write_lines(f, 7, 15);
	n = read_all(f, &cursor, 256 << 10, nums, 64);
	assert_run(nums, n, 7, 14);
	write_lines(f, 15, 16);
	n = read_all(f, &cursor, 256 << 10, nums, 64);
	assert_run(nums, n, 15, 15);
	/* Nothing new: the cursor stays. */
	assert_int_equal(read_all(f, &cursor, 256 << 10, nums, 64), 0);
	assert_int_equal(cursor, 1600);
}

static void
restart_and_lost_offset(void **state)
{
	struct fixture *f = *state;
	char path[128];
	uint64_t cursor = 0;
	int nums[64], n;

	write_lines(f, 0, 25);
	/* A restart: a new entry learns where the current file starts from disk. */
	entry_free(&f->svc, the_fe);
	the_fe = entry_new();
	n = read_all(f, &cursor, 256 << 10, nums, 64);
	assert_run(nums, n, 10, 24);
	assert_int_equal(cursor, 2500);
	write_lines(f, 25, 31);	/* rotates at 30, continuing the offsets */
	n = read_all(f, &cursor, 256 << 10, nums, 64);
	assert_run(nums, n, 25, 30);
	assert_int_equal(offset_of(f), 3000);

	/* Without the offset file the logs still read, oldest first. */
	snprintf(path, sizeof(path), "%s/fn.log.offset", f->dir);
	assert_int_equal(unlink(path), 0);
	entry_free(&f->svc, the_fe);
	the_fe = entry_new();
	cursor = 0;
	n = read_all(f, &cursor, 256 << 10, nums, 64);
	assert_run(nums, n, 20, 30);
	/* A deleted function's log reads the same way. */
	entry_free(&f->svc, the_fe);
	the_fe = NULL;
	cursor = 0;
	n = read_all(f, &cursor, 256 << 10, nums, 64);
	assert_run(nums, n, 20, 30);
	the_fe = entry_new();
}

/* A crash between writing the offset and the rename: the next start finishes
 * the rotation, so a follower neither gets the file again nor misses a line. */
static void
crash_mid_rotation(void **state)
{
	struct fixture *f = *state;
	char path[128], text[64];
	uint64_t cursor = 0;
	struct stat st;
	int nums[64], n, fd;

	write_lines(f, 0, 15);	/* .1: 0-9, current: 10-14 at 1000 */
	n = read_all(f, &cursor, 256 << 10, nums, 64);
	assert_run(nums, n, 0, 14);
	assert_int_equal(cursor, 1500);
	entry_free(&f->svc, the_fe);
	/* What rotate() writes before its rename, for the current file. */
	snprintf(path, sizeof(path), "%s/fn.log", f->dir);
	assert_int_equal(stat(path, &st), 0);
	snprintf(path, sizeof(path), "%s/fn.log.offset", f->dir);
	n = snprintf(text, sizeof(text), "1500\n%llu\n", (unsigned long long)st.st_ino);
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, (size_t)n), n);
	close(fd);

	the_fe = entry_new();
	assert_int_equal(read_all(f, &cursor, 256 << 10, nums, 64), 0);
	assert_int_equal(cursor, 1500);
	assert_int_equal(file_size(f, ".1"), 500);
	write_lines(f, 15, 22);	/* lines go to a new current file */
	n = read_all(f, &cursor, 256 << 10, nums, 64);
	assert_run(nums, n, 15, 21);
	cursor = 0;
	n = read_all(f, &cursor, 256 << 10, nums, 64);
	assert_run(nums, n, 10, 21);
	assert_int_equal(cursor, 2200);
}

static void
no_limit_never_rotates(void **state)
{
	struct fixture *f = *state;
	uint64_t cursor = 0;
	int nums[64], n;

	f->svc.cfg.log_max_bytes = 0;
	write_lines(f, 0, 40);
	assert_int_equal(file_size(f, ""), 4000);
	assert_int_equal(file_size(f, ".1"), -1);
	n = read_all(f, &cursor, 256 << 10, nums, 64);
	assert_run(nums, n, 0, 39);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(rotates_at_the_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(follow_across_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(restart_and_lost_offset, setup, teardown),
		cmocka_unit_test_setup_teardown(no_limit_never_rotates, setup, teardown),
		cmocka_unit_test_setup_teardown(crash_mid_rotation, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
