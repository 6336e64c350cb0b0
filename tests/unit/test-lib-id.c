#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/id.h"

/* Shape of a version 4 UUID: 8-4-4-4-12 lower-case hex, version 4, variant 10xx. */
static void
check_shape(const char *u)
{
	size_t i;

	assert_int_equal(strlen(u), 36);
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			assert_int_equal(u[i], '-');
		else
			assert_non_null(strchr("0123456789abcdef", u[i]));
	}
	assert_int_equal(u[14], '4');
	assert_non_null(strchr("89ab", u[19]));
}

/* More ids than one 4 KB refill of the pool holds (256 per refill). */
static void
uuid_shape_and_distinct(void **state)
{
	static char ids[1000][37];
	size_t i, j;

	(void)state;
	for (i = 0; i < 1000; i++) {
		id_uuid(ids[i]);
		check_shape(ids[i]);
	}
	for (i = 0; i < 1000; i++)
		for (j = i + 1; j < 1000; j++)
			assert_string_not_equal(ids[i], ids[j]);
}

/* A forked child must not hand out the ids its parent will. */
static void
uuid_fork_child_differs(void **state)
{
	char parent[37], child[37] = { 0 };
	int fds[2], st;
	pid_t pid;

	(void)state;
	id_uuid(parent);	/* the pool is filled now */
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		id_uuid(child);
		_exit(write(fds[1], child, 37) == 37 ? 0 : 1);
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], child, 37), 37);
	close(fds[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	id_uuid(parent);
	check_shape(child);
	assert_string_not_equal(parent, child);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(uuid_shape_and_distinct),
		cmocka_unit_test(uuid_fork_child_differs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
