/* Schedule expressions: next firing times from tables, and every parse error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "triggers/triggers.h"

/* "2026-11-27T12:03:10Z" (optionally with .mmm) -> epoch ms. */
static uint64_t
ms(const char *iso)
{
	struct tm tm;
	const char *rest;
	unsigned frac = 0;

	memset(&tm, 0, sizeof(tm));
	rest = strptime(iso, "%Y-%m-%dT%H:%M:%S", &tm);
	assert_non_null(rest);
	if (*rest == '.')
		frac = (unsigned)strtoul(rest + 1, NULL, 10);
	return (uint64_t)timegm(&tm) * 1000 + frac;
}

static const struct {
	const char *expr;
	const char *after;
	const char *want;	/* NULL: never fires again */
} next_cases[] = {
	/* classic five fields */
	{ "*/5 * * * *", "2026-11-27T12:03:10Z", "2026-11-27T12:05:00Z" },
	{ "*/5 * * * *", "2026-11-27T12:05:00Z", "2026-11-27T12:10:00Z" },	/* strictly after */
	{ "0 0 * * *", "2026-12-31T23:59:00Z", "2027-01-01T00:00:00Z" },
	{ "30 4 1,15 * *", "2026-11-15T04:30:00Z", "2026-12-01T04:30:00Z" },
	{ "0 0 29 2 *", "2097-03-01T00:00:00Z", "2104-02-29T00:00:00Z" },	/* 2100 is no leap year */
	{ "0 0 13 * 5", "2026-11-27T00:00:00Z", "2026-12-04T00:00:00Z" },	/* 13th OR Friday */
	{ "0 0 * * 7", "2026-11-27T00:00:00Z", "2026-11-29T00:00:00Z" },	/* 7 is Sunday */
	{ "0 0 * * 0", "2026-11-27T00:00:00Z", "2026-11-29T00:00:00Z" },
	{ "0 9 * * MON-FRI", "2026-11-27T09:00:00Z", "2026-11-30T09:00:00Z" },
	{ "0 12 * JAN *", "2026-11-27T00:00:00Z", "2027-01-01T12:00:00Z" },
	/* EventBridge */
	{ "cron(0/15 * * * ? *)", "2026-11-27T12:44:59Z", "2026-11-27T12:45:00Z" },
	{ "cron(0 12 L * ? *)", "2024-02-10T00:00:00Z", "2024-02-29T12:00:00Z" },	/* leap */
	{ "cron(0 12 L * ? *)", "2023-02-10T00:00:00Z", "2023-02-28T12:00:00Z" },
	{ "cron(0 12 L * ? *)", "2026-04-30T12:00:00Z", "2026-05-31T12:00:00Z" },
	{ "cron(0 0 31 * ? *)", "2026-04-01T00:00:00Z", "2026-05-31T00:00:00Z" },	/* skips April */
	{ "cron(0 0 29 2 ? *)", "2025-03-01T00:00:00Z", "2028-02-29T00:00:00Z" },
	{ "cron(0 9 LW * ? *)", "2026-05-01T00:00:00Z", "2026-05-29T09:00:00Z" },	/* 31st: Sunday */
	{ "cron(0 9 LW * ? *)", "2026-11-01T00:00:00Z", "2026-11-30T09:00:00Z" },	/* a Monday */
	{ "cron(0 9 15W * ? *)", "2026-08-01T00:00:00Z", "2026-08-14T09:00:00Z" },	/* Sat -> Fri */
	{ "cron(0 9 1W * ? *)", "2026-07-31T00:00:00Z", "2026-08-03T09:00:00Z" },	/* Sat 1st -> Mon 3rd */
	{ "cron(0 9 31W * ? *)", "2026-05-01T00:00:00Z", "2026-05-29T09:00:00Z" },	/* Sun 31st -> Fri */
	{ "cron(0 9 31W * ? *)", "2026-06-01T00:00:00Z", "2026-07-31T09:00:00Z" },	/* June has no 31st */
	{ "cron(0 10 ? * 6#3 *)", "2026-11-01T00:00:00Z", "2026-11-20T10:00:00Z" },	/* third Friday */
	{ "cron(0 10 ? * FRI#5 *)", "2026-11-01T00:00:00Z", "2027-01-29T10:00:00Z" },
	{ "cron(0 10 ? * 6L *)", "2026-11-01T00:00:00Z", "2026-11-27T10:00:00Z" },	/* last Friday */
	{ "cron(0 10 ? * 6L *)", "2026-11-27T10:00:00Z", "2026-12-25T10:00:00Z" },
	{ "cron(0 0 ? * L *)", "2026-11-27T00:00:00Z", "2026-11-28T00:00:00Z" },	/* Saturday */
	{ "cron(15 10 ? * MON-FRI *)", "2026-11-27T11:00:00Z", "2026-11-30T10:15:00Z" },
	{ "cron(15 10 ? * 2-6 *)", "2026-11-27T11:00:00Z", "2026-11-30T10:15:00Z" },	/* SUN = 1 */
	{ "cron(0 8 1 JAN,JUL ? 2027-2028)", "2026-11-27T00:00:00Z", "2027-01-01T08:00:00Z" },
	{ "cron(0 8 1 JAN,JUL ? 2027-2028)", "2028-07-01T08:00:00Z", NULL },
	{ "cron(0 0 30 2 ? *)", "2026-01-01T00:00:00Z", NULL },
	{ "cron(0 0 1 1 ? 2199)", "2199-01-01T00:00:00Z", NULL },
	{ "cron(0 0 1 1 ? */50)", "2026-11-27T00:00:00Z", "2070-01-01T00:00:00Z" },
	{ " cron(0 18 ? * SUN *) ", "2026-11-27T00:00:00Z", "2026-11-29T18:00:00Z" },
};

static void
next_firing_table(void **state)
{
	struct err err = ERR_INIT;
	struct cron c;
	uint64_t next;
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < sizeof(next_cases) / sizeof(next_cases[0]); i++) {
		r = cron_parse(&c, next_cases[i].expr, &err);
		if (r != 0)
			fail_msg("'%s': %s", next_cases[i].expr, err.msg);
		r = cron_next(&c, 0, ms(next_cases[i].after), &next);
		if (!next_cases[i].want) {
			if (r != -ENOENT)
				fail_msg("'%s' after %s: wanted never, got %d (%llu)", next_cases[i].expr,
					 next_cases[i].after, r, (unsigned long long)next);
			continue;
		}
		if (r != 0 || next != ms(next_cases[i].want)) {
			time_t t = (time_t)(next / 1000);
			char got[32];

			strftime(got, sizeof(got), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
			fail_msg("'%s' after %s: wanted %s, got %s (r=%d)", next_cases[i].expr,
				 next_cases[i].after, next_cases[i].want, r ? "none" : got, r);
		}
	}
}

static void
rates(void **state)
{
	static const struct {
		const char *expr;
		const char *anchor, *after, *want;
	} cases[] = {
		{ "rate(5 minutes)", "2026-11-27T12:00:00.500Z", "2026-11-27T12:07:00Z",
		  "2026-11-27T12:10:00.500Z" },
		{ "rate(1 minute)", "2026-11-27T12:00:00Z", "2026-11-27T12:00:00Z",
		  "2026-11-27T12:01:00Z" },
		{ "rate(1 minute)", "2026-11-27T12:00:00Z", "2026-11-27T11:00:00Z",
		  "2026-11-27T12:01:00Z" },	/* first firing one period after creation */
		{ "rate(2 hours)", "2026-11-27T12:00:00Z", "2026-11-28T01:00:00Z",
		  "2026-11-28T02:00:00Z" },
		{ "rate(1 day)", "2024-02-28T06:00:00Z", "2024-02-28T07:00:00Z",
		  "2024-02-29T06:00:00Z" },
		{ "rate(7 days)", "2026-11-27T12:00:00Z", "2026-12-04T12:00:00Z",
		  "2026-12-11T12:00:00Z" },
	};
	struct err err = ERR_INIT;
	struct cron c;
	uint64_t next;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(cron_parse(&c, cases[i].expr, &err), 0);
		assert_int_equal(c.kind, CRON_RATE);
		assert_int_equal(cron_next(&c, ms(cases[i].anchor), ms(cases[i].after), &next), 0);
		if (next != ms(cases[i].want))
			fail_msg("'%s' anchor %s after %s: wanted %s, got %llu", cases[i].expr,
				 cases[i].anchor, cases[i].after, cases[i].want,
				 (unsigned long long)next);
	}
}

static void
parse_errors(void **state)
{
	static const struct {
		const char *expr;
		const char *says;
	} cases[] = {
		{ "", "empty" },
		{ "   ", "empty" },
		{ "rate(1 minutes)", "singular only for 1" },
		{ "rate(5 minute)", "singular only for 1" },
		{ "rate(0 minutes)", "positive" },
		{ "rate(-1 minutes)", "rate(VALUE UNIT)" },
		{ "rate(5 weeks)", "unit 'weeks'" },
		{ "rate(five minutes)", "rate(VALUE UNIT)" },
		{ "rate(5 minutes extra)", "rate(VALUE UNIT)" },
		{ "rate(9999999 days)", "at most one year" },
		{ "cron(0 12 * * * *)", "exactly one of" },
		{ "cron(0 12 ? * ? *)", "exactly one of" },
		{ "cron(60 * * * ? *)", "minutes: '60' is out of range" },
		{ "cron(0 24 * * ? *)", "hours: '24'" },
		{ "cron(0 12 * * ?)", "wants 6 fields" },
		{ "cron(0 12 * * ? * 1)", "wants 6 fields" },
		{ "* * * *", "five-field" },
		{ "0 0 ? * *", "'?' is for cron" },
		{ "0 0 L * *", "day-of-month: 'L' is not a value" },
		{ "cron(0 0 ? * 6#6 *)", "week from 1 to 5" },
		{ "cron(0 0 ? * 8#1 *)", "day-of-week: '8'" },
		{ "cron(0 0 32W * ? *)", "day-of-month: '32'" },
		{ "cron(0 0 0 * ? *)", "day-of-month: '0'" },
		{ "cron(0 0 * FOO ? *)", "month: 'FOO'" },
		{ "cron(0 0 * 13 ? *)", "month: '13'" },
		{ "cron(5-1 * * * ? *)", "runs backwards" },
		{ "cron(*/0 * * * ? *)", "bad step" },
		{ "cron(*/ * * * ? *)", "bad step" },
		{ "cron(1,,2 * * * ? *)", "is not a value" },
		{ "cron(0 0 1 1 ? 1969)", "year: '1969'" },
		{ "cron(0 0 1 1 ? 2200)", "year: '2200'" },
		{ "0 0 * * 8", "day-of-week: '8'" },
		{ "hourly", "five-field" },
	};
	struct err err;
	struct cron c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err = (struct err)ERR_INIT;
		if (cron_parse(&c, cases[i].expr, &err) != -EINVAL)
			fail_msg("'%s' parsed", cases[i].expr);
		if (!strstr(err.msg, cases[i].says))
			fail_msg("'%s': message '%s' lacks '%s'", cases[i].expr, err.msg,
				 cases[i].says);
	}
}

static void
names(void **state)
{
	(void)state;
	assert_true(schedule_name_valid("nightly-report.v2_x"));
	assert_false(schedule_name_valid(""));
	assert_false(schedule_name_valid("a b"));
	assert_false(schedule_name_valid("a/b"));
	assert_false(schedule_name_valid(
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(next_firing_table),
		cmocka_unit_test(rates),
		cmocka_unit_test(parse_errors),
		cmocka_unit_test(names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
