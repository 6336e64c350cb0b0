/* Unit tests for src/lib/clock.c: clock_iso8601() from a table, including calls that go
 * back and forth across seconds (it keeps the last second's text). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/clock.h"

static void
test_iso8601(void **state)
{
	static const struct {
		uint64_t ms;
		const char *want;
	} cases[] = {
		{ 0, "1970-01-01T00:00:00.000Z" },
		{ 1583348638390ull, "2020-03-04T19:03:58.390Z" },
		{ 1583348638001ull, "2020-03-04T19:03:58.001Z" },	/* same second */
		{ 1583348638999ull, "2020-03-04T19:03:58.999Z" },
		{ 1583348639000ull, "2020-03-04T19:03:59.000Z" },	/* the next one */
		{ 1583348638050ull, "2020-03-04T19:03:58.050Z" },	/* and back */
		{ 1709164799999ull, "2024-02-28T23:59:59.999Z" },
		{ 1709251199123ull, "2024-02-29T23:59:59.123Z" },	/* leap day */
		{ 253402300799999ull, "9999-12-31T23:59:59.999Z" },
	};
	char out[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		clock_iso8601(cases[i].ms, out);
		assert_string_equal(out, cases[i].want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iso8601),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
