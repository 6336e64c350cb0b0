#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "lib/map.h"

static void
put_get_del_many(void **state)
{
	static char keys[2000][16];
	struct map m = MAP_INIT;
	size_t i, iter = 0, seen = 0;
	const char *k;
	void *v;

	(void)state;
	for (i = 0; i < 2000; i++) {
		snprintf(keys[i], sizeof(keys[i]), "fn-%zu", i);
		assert_null(map_put(&m, keys[i], (void *)(i + 1)));
	}
	assert_int_equal(m.len, 2000);
	for (i = 0; i < 2000; i++)
		assert_ptr_equal(map_get(&m, keys[i]), (void *)(i + 1));
	for (i = 0; i < 2000; i += 2)
		assert_ptr_equal(map_del(&m, keys[i]), (void *)(i + 1));
	assert_null(map_get(&m, "fn-0"));
	assert_null(map_del(&m, "fn-0"));
	assert_ptr_equal(map_get(&m, "fn-1"), (void *)2);
	/* Reinsert over tombstones, and replace. */
	assert_null(map_put(&m, keys[0], (void *)7));
	assert_ptr_equal(map_put(&m, keys[0], (void *)8), (void *)7);
	while (map_next(&m, &iter, &k, &v))
		seen++;
	assert_int_equal(seen, 1001);
	map_release(&m);
}

static void
empty_map(void **state)
{
	struct map m = MAP_INIT;
	size_t iter = 0;

	(void)state;
	assert_null(map_get(&m, "x"));
	assert_null(map_del(&m, "x"));
	assert_int_equal(map_next(&m, &iter, NULL, NULL), 0);
	map_release(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(put_get_del_many),
		cmocka_unit_test(empty_map),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
