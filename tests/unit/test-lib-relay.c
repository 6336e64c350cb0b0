#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "lib/relay.h"

static void
roundtrip(void **state)
{
	struct buf b = BUF_INIT;
	struct relay_msg m;
	size_t start, i;
	ssize_t n;

	(void)state;
	start = relay_begin(&b, RELAY_INVOKE);
	relay_puts(&b, RELAY_T_ID, "req-1");
	relay_putu64(&b, RELAY_T_DEADLINE_MS, 1700000000123ull);
	relay_put(&b, RELAY_T_BODY, "a\0b", 3);
	relay_end(&b, start);

	/* Every strict prefix is "incomplete", never an error. */
	for (i = 0; i < b.len; i++)
		assert_int_equal(relay_parse(b.ptr, i, &m), 0);
	n = relay_parse(b.ptr, b.len, &m);
	assert_int_equal(n, (ssize_t)b.len);
	assert_int_equal(m.type, RELAY_INVOKE);
	assert_true(str_eqs(m.f[RELAY_T_ID], "req-1"));
	assert_true(str_eqs(m.f[RELAY_T_DEADLINE_MS], "1700000000123"));
	assert_int_equal(m.f[RELAY_T_BODY].len, 3);
	assert_memory_equal(m.f[RELAY_T_BODY].ptr, "a\0b", 3);
	assert_null(m.f[RELAY_T_ARN].ptr);
	buf_release(&b);
}

static void
two_frames_back_to_back(void **state)
{
	struct buf b = BUF_INIT;
	struct relay_msg m;
	ssize_t n;

	(void)state;
	relay_end(&b, relay_begin(&b, RELAY_NEXT));
	size_t s = relay_begin(&b, RELAY_LOG);
	relay_puts(&b, RELAY_T_BODY, "hello");
	relay_end(&b, s);
	n = relay_parse(b.ptr, b.len, &m);
	assert_int_equal(n, 5);
	assert_int_equal(m.type, RELAY_NEXT);
	assert_int_equal(relay_parse(b.ptr + n, b.len - (size_t)n, &m), (ssize_t)b.len - n);
	assert_int_equal(m.type, RELAY_LOG);
	assert_true(str_eqs(m.f[RELAY_T_BODY], "hello"));
	buf_release(&b);
}

static void
rejects_garbage(void **state)
{
	static const struct {
		const char *bytes;
		size_t len;
		ssize_t want;
	} cases[] = {
		{ "\x01\x00\x00\x00\x99", 5, -EBADMSG },		/* unknown type */
		{ "\x00\x00\x00\x00", 4, -EBADMSG },			/* empty frame */
		{ "\xff\xff\xff\x7f\x01", 5, -EMSGSIZE },		/* too large */
		{ "\x03\x00\x00\x00\x01\x01\x00", 7, -EBADMSG },	/* truncated field header */
		{ "\x07\x00\x00\x00\x01\x01\x09\x00\x00\x00\x00", 11, -EBADMSG }, /* field past end */
		{ "\x0b\x00\x00\x00\x02\x01\x00\x00\x00\x00\x01\x00\x00\x00\x00", 15, -EBADMSG }, /* repeated tag */
	};
	struct relay_msg m;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(relay_parse(cases[i].bytes, cases[i].len, &m), cases[i].want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(roundtrip),
		cmocka_unit_test(two_frames_back_to_back),
		cmocka_unit_test(rejects_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
