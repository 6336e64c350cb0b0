/* Unit tests for src/lib/units.c: durations and sizes from the command line. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/units.h"

static void
durations(void **state)
{
	static const struct {
		const char *in;
		int r;
		uint64_t ms;
	} cases[] = {
		{ "0", 0, 0 },
		{ "90", 0, 90000 },
		{ "1500ms", 0, 1500 },
		{ "30s", 0, 30000 },
		{ "15m", 0, 900000 },
		{ "6h", 0, 21600000 },
		{ "24H", 0, 86400000 },
		{ "7d", 0, 604800000 },
		{ "2M", -EINVAL, 0 },	/* months or minutes? neither */
		{ "", -EINVAL, 0 },
		{ "h", -EINVAL, 0 },
		{ "-1s", -EINVAL, 0 },
		{ "+1s", -EINVAL, 0 },
		{ " 1s", -EINVAL, 0 },
		{ "1s ", -EINVAL, 0 },
		{ "1.5h", -EINVAL, 0 },
		{ "1h30m", -EINVAL, 0 },
		{ "1w", -EINVAL, 0 },
		{ "18446744073709551616", -ERANGE, 0 },
		{ "18446744073709551615d", -ERANGE, 0 },
		{ "213503982335d", -ERANGE, 0 },
	};
	uint64_t ms;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ms = 12345;
		assert_int_equal(units_parse_duration_ms(cases[i].in, &ms), cases[i].r);
		if (cases[i].r == 0)
			assert_int_equal(ms, cases[i].ms);
	}
	assert_int_equal(units_parse_duration_ms(NULL, &ms), -EINVAL);
}

static void
sizes(void **state)
{
	static const struct {
		const char *in;
		int r;
		uint64_t bytes;
	} cases[] = {
		{ "0", 0, 0 },
		{ "4096", 0, 4096 },
		{ "100b", 0, 100 },
		{ "512K", 0, 512 << 10 },
		{ "16M", 0, 16 << 20 },
		{ "16mb", 0, 16 << 20 },
		{ "16MiB", 0, 16 << 20 },
		{ "2G", 0, 2ull << 30 },
		{ "1T", -EINVAL, 0 },
		{ "M", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
		{ "-1M", -EINVAL, 0 },
		{ "1.5M", -EINVAL, 0 },
		{ "17179869184G", -ERANGE, 0 },
	};
	uint64_t b;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		b = 12345;
		assert_int_equal(units_parse_size(cases[i].in, &b), cases[i].r);
		if (cases[i].r == 0)
			assert_int_equal(b, cases[i].bytes);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(durations),
		cmocka_unit_test(sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
