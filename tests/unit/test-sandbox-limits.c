/*
 * CPU in proportion to memory (sandbox_cpu_for_memory() in
 * src/sandbox/cgroup.c), from a table: Lambda's one core at 1769 MB, the
 * kernel's 1 ms minimum quota, and the v1/v2 weight ranges.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sandbox/internal.h"

static void
test_cpu_table(void **state)
{
	static const struct {
		uint64_t mb, quota_us;
		uint32_t shares, weight;
	} rows[] = {
		{ 128, 7235, 74, 7 },		/* Lambda's smallest: 7.2 % of a core */
		{ 512, 28942, 296, 28 },
		{ 1024, 57885, 592, 57 },
		{ 1769, 100000, 1024, 100 },	/* one full core */
		{ 3538, 200000, 2048, 200 },
		{ 10240, 578858, 5927, 578 },	/* Lambda's largest: ~5.8 cores */
		{ 1, 1000, 2, 1 },		/* floors: kernel minimum quota, weights */
		{ 0, 1000, 2, 1 },
	};
	struct sandbox_cpu c;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		sandbox_cpu_for_memory(rows[i].mb << 20, &c);
		assert_int_equal(c.period_us, 100000);
		assert_int_equal(c.quota_us, rows[i].quota_us);
		assert_int_equal(c.shares, rows[i].shares);
		assert_int_equal(c.weight, rows[i].weight);
	}
	/* Ceilings of the v1 and v2 ranges. */
	sandbox_cpu_for_memory(1ull << 40, &c);
	assert_int_equal(c.shares, 262144);
	assert_int_equal(c.weight, 10000);
}

/* The init boost: at least one core and a core's weight, never less than
 * the steady limits, and the period unchanged. */
static void
test_cpu_boost(void **state)
{
	static const struct {
		uint64_t mb, quota_us;
		uint32_t shares, weight;
	} rows[] = {
		{ 128, 100000, 1024, 100 },	/* 7.2 % -> one core for init */
		{ 1769, 100000, 1024, 100 },	/* one core already */
		{ 3538, 200000, 2048, 200 },	/* more than a core: unchanged */
		{ 0, 100000, 1024, 100 },
	};
	struct sandbox_cpu steady, b;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		sandbox_cpu_for_memory(rows[i].mb << 20, &steady);
		sandbox_cpu_boost(&steady, &b);
		assert_int_equal(b.period_us, steady.period_us);
		assert_int_equal(b.quota_us, rows[i].quota_us);
		assert_int_equal(b.shares, rows[i].shares);
		assert_int_equal(b.weight, rows[i].weight);
		assert_true(b.quota_us >= steady.quota_us);
	}
}

static void
test_limit_names(void **state)
{
	(void)state;
	assert_string_equal(sandbox_limit_name(SANDBOX_LIMIT_MEMORY), "memory");
	assert_string_equal(sandbox_limit_name(SANDBOX_LIMIT_SWAP), "swap");
	assert_string_equal(sandbox_limit_name(SANDBOX_LIMIT_PIDS), "pids");
	assert_string_equal(sandbox_limit_name(SANDBOX_LIMIT_CPU), "cpu");
	assert_string_equal(sandbox_limit_name(1u << 20), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpu_table),
		cmocka_unit_test(test_cpu_boost),
		cmocka_unit_test(test_limit_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
