#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "pool/policy.h"

#define U POLICY_UNLIMITED

static void
dispatch_table(void **state)
{
	static const struct {
		const char *what;
		struct policy_fn_obs fn;
		struct policy_host_obs host;
		enum policy_dispatch want;
	} cases[] = {
		{ "idle instance", { 1, 0, 1, U, 128, 0 }, { 1024, 128, 0 }, POLICY_WARM },
		{ "idle beats finishing", { 1, 1, 2, U, 128, 0 }, { 1024, 256, 0 }, POLICY_WARM },
		{ "finishing beats cold", { 0, 1, 1, U, 128, 0 }, { 1024, 128, 0 }, POLICY_QUEUE_FINISHING },
		{ "nothing warm: cold", { 0, 0, 1, U, 128, 0 }, { 1024, 128, 0 }, POLICY_COLD },
		{ "first call: cold", { 0, 0, 0, U, 128, 0 }, { 1024, 0, 0 }, POLICY_COLD },
		{ "exactly fits", { 0, 0, 0, U, 128, 0 }, { 1024, 896, 0 }, POLICY_COLD },
		{ "over budget, idle others", { 0, 0, 0, U, 128, 0 }, { 1024, 1000, 256 }, POLICY_EVICT_COLD },
		{ "over budget, not enough idle", { 0, 0, 0, U, 512, 0 }, { 1024, 1000, 256 }, POLICY_WAIT_HOST },
		{ "at reserved", { 0, 0, 2, 2, 128, 0 }, { 1024, 256, 0 }, POLICY_WAIT_FN },
		{ "under reserved", { 0, 0, 1, 2, 128, 0 }, { 1024, 128, 0 }, POLICY_COLD },
		{ "reserved 0", { 1, 0, 1, 0, 128, 0 }, { 1024, 128, 0 }, POLICY_THROTTLE },
		{ "at reserved but idle", { 1, 0, 2, 2, 128, 0 }, { 1024, 256, 0 }, POLICY_WARM },
		{ "at reserved but finishing", { 0, 1, 2, 2, 128, 0 }, { 1024, 256, 0 },
		  POLICY_QUEUE_FINISHING },
		/* live counts every version: two busy instances of another version
		 * use up a reservation of 2 for this one too. */
		{ "reserved used by other versions", { 0, 0, 2, 2, 128, 0 }, { 1024, 256, 0 },
		  POLICY_WAIT_FN },
		{ "other version idle: take its slot", { 0, 0, 2, 2, 128, 1 }, { 1024, 256, 0 },
		  POLICY_END_OTHER },
		{ "idle other ignored under reserved", { 0, 0, 1, 2, 128, 1 }, { 1024, 128, 0 },
		  POLICY_COLD },
		{ "reserved 0 beats idle others", { 0, 0, 1, 0, 128, 1 }, { 1024, 128, 0 },
		  POLICY_THROTTLE },
		{ "reserved 1, nothing live", { 0, 0, 0, 1, 128, 0 }, { 1024, 0, 0 }, POLICY_COLD },
		{ "under reserved, over budget", { 0, 0, 1, 4, 512, 0 }, { 1024, 1000, 0 },
		  POLICY_WAIT_HOST },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum policy_dispatch got = policy_dispatch(&cases[i].fn, &cases[i].host);

		if (got != cases[i].want)
			fail_msg("%s: got %d, want %d", cases[i].what, got, cases[i].want);
	}
}

/* A fake clock: calls at the given idle gaps (ms), each lasting 100 ms. The
 * first call has no call before it, so n calls make n - 1 idle times. */
static void
feed(struct policy_hist *h, uint64_t *now, const uint64_t *gaps, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		*now += gaps[i];
		policy_hist_call_start(h, *now);
		*now += 100;
		policy_hist_call_end(h, *now);
	}
}

static void
keepalive_fixed_and_fallbacks(void **state)
{
	struct policy_hist h;
	struct policy_keepalive ka;
	uint64_t now = 1000000, gaps[30];
	size_t i;

	(void)state;
	memset(&h, 0, sizeof(h));
	/* Fixed: always the fixed window. */
	policy_keepalive(&h, POLICY_KEEPALIVE_FIXED, 600000, &ka);
	assert_int_equal(ka.keepalive_ms, 600000);
	assert_int_equal(ka.prewarm_ms, 0);
	assert_false(ka.from_histogram);
	/* Adaptive with too little data: the fixed window. */
	for (i = 0; i < 5; i++)
		gaps[i] = 3 * 60000;
	feed(&h, &now, gaps, 5);
	policy_keepalive(&h, POLICY_KEEPALIVE_ADAPTIVE, 600000, &ka);
	assert_false(ka.from_histogram);
	assert_int_equal(ka.keepalive_ms, 600000);
	/* Mostly beyond 4 hours: the fixed window. */
	memset(&h, 0, sizeof(h));
	for (i = 0; i < 20; i++)
		gaps[i] = 5ull * 3600 * 1000;
	feed(&h, &now, gaps, 20);
	policy_keepalive(&h, POLICY_KEEPALIVE_ADAPTIVE, 600000, &ka);
	assert_false(ka.from_histogram);
	assert_int_equal(h.out_of_range, 19);
}

static void
keepalive_learns_a_period(void **state)
{
	struct policy_hist h;
	struct policy_keepalive ka;
	uint64_t now = 1000000, gaps[20];
	size_t i;

	(void)state;
	memset(&h, 0, sizeof(h));
	/* A timer-driven function: every 30 minutes (plus a little jitter). */
	for (i = 0; i < 20; i++)
		gaps[i] = 30 * 60000 + (i % 3) * 1000;
	feed(&h, &now, gaps, 20);
	assert_int_equal(h.total, 19);
	assert_int_equal(h.bin[30], 19);
	policy_keepalive(&h, POLICY_KEEPALIVE_ADAPTIVE, 600000, &ka);
	assert_true(ka.from_histogram);
	/* Pre-warm shortly before the 30th minute, keep until just after. */
	assert_int_equal(ka.prewarm_ms, 30ull * 60000 * 9 / 10);
	assert_true(ka.prewarm_ms + ka.keepalive_ms >= 31ull * 60000);
	assert_true(ka.prewarm_ms + ka.keepalive_ms <= 35ull * 60000);
	/* Idle memory: 7.1 min of warm time per 30 min gap, against the fixed
	 * 10-minute window that would miss every call (a cold start each time). */
	assert_true(ka.keepalive_ms < 600000);
}

static void
keepalive_frequent_calls_keep_short_window(void **state)
{
	struct policy_hist h;
	struct policy_keepalive ka;
	uint64_t now = 1000000, gaps[50];
	size_t i;

	(void)state;
	memset(&h, 0, sizeof(h));
	for (i = 0; i < 50; i++)
		gaps[i] = 5000 + (i % 7) * 3000;	/* under a minute apart */
	feed(&h, &now, gaps, 50);
	policy_keepalive(&h, POLICY_KEEPALIVE_ADAPTIVE, 600000, &ka);
	assert_true(ka.from_histogram);
	assert_int_equal(ka.prewarm_ms, 0);	/* never unload between calls */
	assert_int_equal(ka.keepalive_ms, 600000);	/* never below the fixed window */
	policy_keepalive(&h, POLICY_KEEPALIVE_ADAPTIVE, 30000, &ka);
	assert_int_equal(ka.keepalive_ms, 66000);	/* one bin plus 10% */
}

static void
overlapping_calls_record_one_gap(void **state)
{
	struct policy_hist h;

	(void)state;
	memset(&h, 0, sizeof(h));
	policy_hist_call_end(&h, 1000);
	policy_hist_call_start(&h, 61000 + 1000);
	policy_hist_call_start(&h, 61000 + 1001);	/* concurrent: no idle time */
	assert_int_equal(h.total, 1);
	assert_int_equal(h.bin[1], 1);
}

static void
gdsf_victims(void **state)
{
	/* freq, cost, mem, idle_since */
	struct policy_victim v[] = {
		{ 100, 50, 128, 10 },	/* hot, cheapish: 39.06 */
		{ 1, 50, 128, 20 },	/* rarely called: 0.39 -> evict */
		{ 1, 2000, 128, 5 },	/* rare but very costly to restart: 15.6 */
		{ 10, 50, 1024, 1 },	/* big: 0.49 */
	};
	struct policy_victim tie[] = { { 1, 10, 10, 50 }, { 1, 10, 10, 40 } };

	(void)state;
	assert_int_equal(policy_pick_victim(v, 4, 0), 1);
	assert_int_equal(policy_pick_victim(v + 2, 2, 0), 1);	/* the big one before the costly one */
	assert_int_equal(policy_pick_victim(tie, 2, 3.0), 1);	/* longest idle first */
	assert_int_equal(policy_pick_victim(v, 0, 0), -1);
	/* The clock lifts every priority alike: it ages what stays, not who goes. */
	assert_true(policy_gdsf_priority(5.0, &v[1]) > policy_gdsf_priority(0, &v[1]));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dispatch_table),
		cmocka_unit_test(keepalive_fixed_and_fallbacks),
		cmocka_unit_test(keepalive_learns_a_period),
		cmocka_unit_test(keepalive_frequent_calls_keep_short_window),
		cmocka_unit_test(overlapping_calls_record_one_gap),
		cmocka_unit_test(gdsf_victims),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
