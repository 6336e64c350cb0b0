/* Unit tests for src/lib/jscan.c: the checker must accept exactly what jansson's
 * json_loadb(JSON_DECODE_ANY) accepts (a table of the edge cases, then texts mutated at
 * random from seeds, jansson as the oracle); members, unescaping and quoting from tables
 * and against jansson's own decoding and dumping. */
#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/jscan.h"

static bool
jansson_ok(const char *text, size_t len)
{
	json_t *j = json_loadb(text, len, JSON_DECODE_ANY, NULL);

	json_decref(j);
	return j != NULL;
}

static void
test_check_table(void **state)
{
	static const struct {
		const char *text;
		int ok;
		enum jscan_type type;
	} cases[] = {
		{ "{}", 1, JSCAN_OBJECT },
		{ " [ ] ", 1, JSCAN_ARRAY },
		{ "\"s\"", 1, JSCAN_STRING },
		{ "0", 1, JSCAN_INTEGER },
		{ "-0", 1, JSCAN_INTEGER },
		{ "-12.5e+3", 1, JSCAN_REAL },
		{ "1E-400", 1, JSCAN_REAL },		/* underflow is fine */
		{ "true", 1, JSCAN_TRUE },
		{ "false", 1, JSCAN_FALSE },
		{ "null", 1, JSCAN_NULL },
		{ "9223372036854775807", 1, JSCAN_INTEGER },
		{ "-9223372036854775808", 1, JSCAN_INTEGER },
		{ "{\"a\":[1,{\"b\":null}],\"c\":\"\\u00e9\\ud83d\\ude00\\n\"}", 1, JSCAN_OBJECT },
		{ "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"", 1, JSCAN_STRING },
		{ "\t\r\n{\"a\" : 1 }\n", 1, JSCAN_OBJECT },
		{ "", 0, 0 },
		{ "   ", 0, 0 },
		{ "9223372036854775808", 0, 0 },	/* overflows a long long */
		{ "-9223372036854775809", 0, 0 },
		{ "12345678901234567890123", 0, 0 },
		{ "1e400", 0, 0 },			/* overflows a double */
		{ "-1e400", 0, 0 },
		{ "01", 0, 0 },
		{ "-", 0, 0 },
		{ "1.", 0, 0 },
		{ ".5", 0, 0 },
		{ "1e", 0, 0 },
		{ "+1", 0, 0 },
		{ "truex", 0, 0 },
		{ "nul", 0, 0 },
		{ "True", 0, 0 },
		{ "[1,]", 0, 0 },
		{ "{\"a\":1,}", 0, 0 },
		{ "{\"a\" 1}", 0, 0 },
		{ "{1:2}", 0, 0 },
		{ "[1 2]", 0, 0 },
		{ "[", 0, 0 },
		{ "{\"a\":", 0, 0 },
		{ "\"abc", 0, 0 },
		{ "\"a\nb\"", 0, 0 },			/* raw control character */
		{ "\"\\x\"", 0, 0 },
		{ "\"\\u12\"", 0, 0 },
		{ "\"\\u0000\"", 0, 0 },		/* jansson refuses NUL */
		{ "{\"\\u0000\":1}", 0, 0 },
		{ "\"\\ud800\"", 0, 0 },		/* unpaired surrogates */
		{ "\"\\udc00\"", 0, 0 },
		{ "\"\\ud800\\u0041\"", 0, 0 },
		{ "\"\\ud800\\n\"", 0, 0 },
		{ "\"\xff\"", 0, 0 },
		{ "\"\xc0\xaf\"", 0, 0 },		/* overlong */
		{ "\"\xed\xa0\x80\"", 0, 0 },		/* an encoded surrogate */
		{ "\"\xe2\x82\"", 0, 0 },		/* truncated */
		{ "1 2", 0, 0 },
		{ "{}x", 0, 0 },
		{ "\xef\xbb\xbf{}", 0, 0 },		/* a BOM is not whitespace */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct jscan_error e = { 0 };
		enum jscan_type t = JSCAN_NONE;
		size_t len = strlen(cases[i].text);
		int r = jscan_check(cases[i].text, len, &t, &e);

		if (cases[i].ok != (r == 0))
			fail_msg("'%s': %s", cases[i].text, r ? e.msg : "accepted");
		if (r == 0)
			assert_int_equal(t, cases[i].type);
		else
			assert_int_equal(r, -EBADMSG);
		/* The table itself must agree with jansson, or it tests the wrong thing. */
		if (jansson_ok(cases[i].text, len) != (cases[i].ok != 0))
			fail_msg("'%s': jansson disagrees with the table", cases[i].text);
	}
}

static void
test_check_depth(void **state)
{
	static char text[2 * JSCAN_MAX_DEPTH + 8];
	size_t n, i;

	(void)state;
	/* 2048 nested arrays are fine; a scalar inside them is the 2049th value. */
	for (n = JSCAN_MAX_DEPTH - 1; n <= JSCAN_MAX_DEPTH + 1; n++) {
		for (i = 0; i < n; i++)
			text[i] = '[';
		for (i = 0; i < n; i++)
			text[n + i] = ']';
		assert_int_equal(jscan_check(text, 2 * n, NULL, NULL) == 0,
				 jansson_ok(text, 2 * n));
		text[n - 1] = '1';
		text[n] = ' ';
		assert_int_equal(jscan_check(text, 2 * n, NULL, NULL) == 0,
				 jansson_ok(text, 2 * n));
	}
}

#define XORSHIFT_SEED 0x9e3779b97f4a7c15ull
#include "xorshift.h"

/* Seeds cut and mutated at random: the checker and jansson must agree on every one. */
static void
test_check_vs_jansson(void **state)
{
	static const char *const seeds[] = {
		"{\"statusCode\":200,\"headers\":{\"a\":\"b\"},\"body\":\"x\\\"y\",\"n\":-1.5e3}",
		"[true,false,null,0,-0,1e5,\"\\u00e9\\ud83d\\ude00\",{},[]]",
		"\"caf\xc3\xa9\\/\\b\\f\\n\\r\\t\"",
		"{\"a\":[[[[{\"b\":9223372036854775807}]]]]}",
	};
	static const char alphabet[] = "{}[]\",:\\u0123456789abcdefnrtlsx.eE+- \t\n\xc3\xa9\xff\x00";
	char text[256];
	size_t i, j, len;

	(void)state;
	for (i = 0; i < 200000; i++) {
		const char *seed = seeds[next_rand() % 4];
		size_t edits = 1 + next_rand() % 3;

		len = strlen(seed);
		memcpy(text, seed, len);
		for (j = 0; j < edits; j++) {
			size_t at = len ? next_rand() % len : 0;
			char c = alphabet[next_rand() % (sizeof(alphabet) - 1)];

			switch (next_rand() % 3) {
			case 0:	/* replace */
				if (len)
					text[at] = c;
				break;
			case 1:	/* insert */
				if (len < sizeof(text) - 1) {
					memmove(text + at + 1, text + at, len - at);
					text[at] = c;
					len++;
				}
				break;
			default:	/* delete */
				if (len) {
					memmove(text + at, text + at + 1, len - at - 1);
					len--;
				}
				break;
			}
		}
		if ((jscan_check(text, len, NULL, NULL) == 0) != jansson_ok(text, len)) {
			for (j = 0; j < len; j++)
				fprintf(stderr, "%02x", (unsigned char)text[j]);
			fprintf(stderr, "\n");
			fail_msg("disagreement on '%.*s' (%zu bytes): jscan %s", (int)len, text,
				 len, jscan_check(text, len, NULL, NULL) == 0 ? "accepts" :
				 "refuses");
		}
	}
}

static void
test_members(void **state)
{
	static const char text[] = " { \"a\" : 1 , \"b\\\"c\":{\"x\":[1,\"]}\"]},\"d\":\"s\\\\\","
				   "\"e\":[],\"f\":-2.5,\"g\":true,\"h\":null } ";
	static const struct {
		const char *key, *value;
		enum jscan_type type;
	} want[] = {
		{ "a", "1", JSCAN_INTEGER },
		{ "b\\\"c", "{\"x\":[1,\"]}\"]}", JSCAN_OBJECT },
		{ "d", "\"s\\\\\"", JSCAN_STRING },
		{ "e", "[]", JSCAN_ARRAY },
		{ "f", "-2.5", JSCAN_REAL },
		{ "g", "true", JSCAN_TRUE },
		{ "h", "null", JSCAN_NULL },
	};
	struct jscan_iter it;
	struct jscan_member m;
	size_t i = 0;

	(void)state;
	assert_int_equal(jscan_check(text, strlen(text), NULL, NULL), 0);
	jscan_iter_init(&it, str_cstr(text));
	while (jscan_next(&it, &m)) {
		assert_true(i < sizeof(want) / sizeof(want[0]));
		assert_int_equal(m.key.len, strlen(want[i].key));
		assert_memory_equal(m.key.ptr, want[i].key, m.key.len);
		assert_int_equal(m.value.len, strlen(want[i].value));
		assert_memory_equal(m.value.ptr, want[i].value, m.value.len);
		assert_int_equal(m.type, want[i].type);
		i++;
	}
	assert_int_equal(i, sizeof(want) / sizeof(want[0]));
	assert_true(jscan_str_eq(str_cstr("b\\\"c"), "b\"c"));
	assert_true(jscan_str_eq(str_cstr("status\\u0043ode"), "statusCode"));
	assert_false(jscan_str_eq(str_cstr("statusCod"), "statusCode"));

	/* Arrays give their elements with empty keys. */
	jscan_iter_init(&it, str_cstr("[1, \"two\", [3]]"));
	assert_true(jscan_next(&it, &m) && m.type == JSCAN_INTEGER && m.key.len == 0);
	assert_true(jscan_next(&it, &m) && m.type == JSCAN_STRING);
	assert_true(jscan_next(&it, &m) && m.type == JSCAN_ARRAY && m.value.len == 3);
	assert_false(jscan_next(&it, &m));
	jscan_iter_init(&it, str_cstr("{}"));
	assert_false(jscan_next(&it, &m));
}

static void
test_check_find(void **state)
{
	static const struct {
		const char *text;
		int found;
	} cases[] = {
		{ "{\"statusCode\":200}", 1 },
		{ "{\"a\":1, \"statusCode\" : null}", 1 },
		{ "{\"status\\u0043ode\":1}", 1 },		/* the decoded key counts */
		{ "{\"a\":{\"statusCode\":200}}", 0 },	/* nested: not at the top */
		{ "[{\"statusCode\":200}]", 0 },
		{ "{\"statusCodes\":1,\"statuscode\":2}", 0 },
		{ "\"statusCode\"", 0 },
		{ "{}", 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool found = !cases[i].found;

		assert_int_equal(jscan_check_find(cases[i].text, strlen(cases[i].text),
						  "statusCode", &found, NULL, NULL), 0);
		if (found != (cases[i].found != 0))
			fail_msg("'%s': found %d", cases[i].text, found);
	}
}

/* Unescaping gives jansson's decoded bytes. */
static void
test_unescape(void **state)
{
	static const char *const cases[] = {
		"\"plain\"",
		"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
		"\"\\u00e9\\u20AC\\ud83d\\ude00 tail\"",
		"\"caf\xc3\xa9\"",
		"\"\"",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *j = json_loads(cases[i], JSON_DECODE_ANY, NULL);
		struct buf b = BUF_INIT;

		assert_non_null(j);
		jscan_unescape(str_from(cases[i] + 1, strlen(cases[i]) - 2), &b);
		assert_int_equal(b.len, json_string_length(j));
		assert_memory_equal(b.ptr, json_string_value(j), b.len);
		buf_release(&b);
		json_decref(j);
	}
}

/* Quoting writes what json_dumps() writes for the cleaned string, including control
 * characters, quotes, backslashes, DEL and multi-byte UTF-8; bad bytes become U+FFFD. */
static void
test_quote(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		const char *want;
	} cases[] = {
		{ "a\"b\\c/d", 7, "\"a\\\"b\\\\c/d\"" },
		{ "\x01\x1f\x7f\b\f\n\r\t", 8, "\"\\u0001\\u001F\x7f\\b\\f\\n\\r\\t\"" },
		{ "x\0y", 3, "\"x\xef\xbf\xbdy\"" },
		{ "\xff\xc3", 2, "\"\xef\xbf\xbd\xef\xbf\xbd\"" },
		{ "\xf0\x9f\x98\x80", 4, "\"\xf0\x9f\x98\x80\"" },
		{ "", 0, "\"\"" },
	};
	char text[64];
	size_t i, j, len;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b = BUF_INIT;

		jscan_quote(&b, str_from(cases[i].in, cases[i].len));
		assert_string_equal(b.ptr, cases[i].want);
		buf_release(&b);
	}
	/* Random bytes: the quoted text is always JSON, and for valid UTF-8 without NUL it is
	 * byte for byte what json_dumps() writes. */
	for (i = 0; i < 50000; i++) {
		struct buf b = BUF_INIT;
		json_t *valid;
		char *dumped;

		len = next_rand() % 24;
		for (j = 0; j < len; j++)
			text[j] = (char)(next_rand() % 4 ? next_rand() % 0x80 : next_rand() % 0x100);
		jscan_quote(&b, str_from(text, len));
		assert_int_equal(jscan_check(b.ptr, b.len, NULL, NULL), 0);
		valid = memchr(text, '\0', len) ? NULL : json_stringn(text, len);
		if (valid) {
			dumped = json_dumps(valid, JSON_COMPACT | JSON_ENCODE_ANY);
			assert_string_equal(b.ptr, dumped);
			free(dumped);
			json_decref(valid);
		}
		buf_release(&b);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_table),	  cmocka_unit_test(test_check_depth),
		cmocka_unit_test(test_check_vs_jansson), cmocka_unit_test(test_members),
		cmocka_unit_test(test_unescape),	  cmocka_unit_test(test_quote),
		cmocka_unit_test(test_check_find),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
