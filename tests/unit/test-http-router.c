#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "http/http.h"

#define ANY (-1)

static const struct http_route routes[] = {
	/* 0 */ { HTTP_GET, "/v1/functions", NULL, 0 },
	/* 1 */ { HTTP_POST, "/v1/functions", NULL, 0 },
	/* 2 */ { HTTP_GET, "/v1/functions/{name}", NULL, 0 },
	/* 3 */ { HTTP_PUT, "/v1/functions/{name}", NULL, 0 },
	/* 4 */ { HTTP_POST, "/v1/functions/{name}/invoke", NULL, 0 },
	/* 5 */ { HTTP_GET, "/v1/functions/_stats", NULL, 0 },
	/* 6 */ { ANY, "/gw/{proxy+}", NULL, 0 },
	/* 7 */ { HTTP_GET, "/gw/static/{file}", NULL, 0 },
	/* 8 */ { HTTP_GET, "/", NULL, 0 },
	/* 9 */ { HTTP_GET, "/a/{b}/c/{d}", NULL, 0 },
	/* 10 */ { HTTP_GET, "/a/{x}/{y}/e", NULL, 0 },
	/* 11 */ { HTTP_GET, "/m/{1}/{2}/{3}/{4}/{5}/{6}/{7}/{8}/{9}", NULL, 0 },
	/* 12 */ { HTTP_GET, "/o/{1}/{2}/{3}/{4}/{5}/{6}/{7}/{8}", NULL, 0 },
	/* 13 */ { HTTP_DELETE, "/x//y", NULL, 0 },
	/* 14 */ { HTTP_GET, "/bad/{+}", NULL, 0 },
	/* 15 */ { HTTP_GET, "/bad2/{rest+}/more", NULL, 0 },
};

struct param {
	const char *name, *value;
};

static const struct {
	int method;
	const char *path;
	int want;
	struct param params[3];
} cases[] = {
	/* literals, and methods on the same pattern */
	{ HTTP_GET, "/v1/functions", 0, { { NULL, NULL } } },
	{ HTTP_POST, "/v1/functions", 1, { { NULL, NULL } } },
	{ HTTP_DELETE, "/v1/functions", -ENOTSUP, { { NULL, NULL } } },
	{ HTTP_GET, "/", 8, { { NULL, NULL } } },
	{ HTTP_GET, "/nope", -ENOENT, { { NULL, NULL } } },
	{ HTTP_GET, "", -ENOENT, { { NULL, NULL } } },
	{ HTTP_GET, "v1/functions", -ENOENT, { { NULL, NULL } } },
	/* a path that is a prefix of a pattern, or that a pattern is a prefix of */
	{ HTTP_GET, "/v1/function", -ENOENT, { { NULL, NULL } } },
	{ HTTP_GET, "/v1/functionsX", -ENOENT, { { NULL, NULL } } },
	{ HTTP_GET, "/v1/functions/x/invokeX", -ENOENT, { { NULL, NULL } } },
	{ HTTP_POST, "/v1/functions/x/invoke/", -ENOENT, { { NULL, NULL } } },
	{ HTTP_GET, "/gw/statics/a", 6, { { "proxy", "statics/a" } } },
	/* parameters: raw slices, not decoded */
	{ HTTP_GET, "/v1/functions/hello", 2, { { "name", "hello" } } },
	{ HTTP_PUT, "/v1/functions/he%2Fllo", 3, { { "name", "he%2Fllo" } } },
	{ HTTP_POST, "/v1/functions/f1/invoke", 4, { { "name", "f1" } } },
	{ HTTP_GET, "/v1/functions/f1/invoke", -ENOTSUP, { { NULL, NULL } } },
	{ HTTP_GET, "/a/1/c/2", 9, { { "b", "1" }, { "d", "2" } } },
	/* literal precedence, left to right */
	{ HTTP_GET, "/v1/functions/_stats", 5, { { NULL, NULL } } },
	{ HTTP_PUT, "/v1/functions/_stats", 3, { { "name", "_stats" } } },
	{ HTTP_GET, "/a/1/c/e", 9, { { "b", "1" }, { "d", "e" } } },
	{ HTTP_GET, "/gw/static/x.css", 7, { { "file", "x.css" } } },
	{ HTTP_POST, "/gw/static/x.css", 6, { { "proxy", "static/x.css" } } },
	/* greedy */
	{ HTTP_GET, "/gw/a", 6, { { "proxy", "a" } } },
	{ HTTP_PATCH, "/gw/a/b/c", 6, { { "proxy", "a/b/c" } } },
	{ HTTP_GET, "/gw/static/a/b", 6, { { "proxy", "static/a/b" } } },
	{ HTTP_GET, "/gw/a/", 6, { { "proxy", "a/" } } },
	{ HTTP_GET, "/gw/", -ENOENT, { { NULL, NULL } } },
	{ HTTP_GET, "/gw", -ENOENT, { { NULL, NULL } } },
	/* trailing slash and empty segments */
	{ HTTP_GET, "/v1/functions/", -ENOENT, { { NULL, NULL } } },
	{ HTTP_GET, "/v1/functions/hello/", -ENOENT, { { NULL, NULL } } },
	{ HTTP_GET, "/v1//functions", -ENOENT, { { NULL, NULL } } },
	{ HTTP_GET, "/a//c/2", -ENOENT, { { NULL, NULL } } },
	{ HTTP_DELETE, "/x//y", 13, { { NULL, NULL } } },
	{ HTTP_GET, "//", -ENOENT, { { NULL, NULL } } },
	/* too many parameters: the 9-parameter pattern never matches, 8 is fine */
	{ HTTP_GET, "/m/1/2/3/4/5/6/7/8/9", -ENOENT, { { NULL, NULL } } },
	{ HTTP_GET, "/o/1/2/3/4/5/6/7/8", 12, { { "1", "1" }, { "8", "8" } } },
	/* malformed patterns never match */
	{ HTTP_GET, "/bad/x", -ENOENT, { { NULL, NULL } } },
	{ HTTP_GET, "/bad2/x/more", -ENOENT, { { NULL, NULL } } },
};

static void
table(void **state)
{
	size_t i, j;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct http_params p;
		int r;

		memset(&p, 0xa5, sizeof(p));
		r = http_route_match(routes, ARRAY_SIZE(routes), cases[i].method,
				     str_cstr(cases[i].path), &p);
		if (r != cases[i].want)
			fail_msg("case %zu (%s): got %d, want %d", i, cases[i].path, r,
				 cases[i].want);
		if (r < 0) {
			assert_int_equal(p.n, 0);
			continue;
		}
		for (j = 0; j < 3 && cases[i].params[j].name; j++) {
			struct str v = http_param(&p, cases[i].params[j].name);

			if (!str_eqs(v, cases[i].params[j].value))
				fail_msg("case %zu (%s): param %s = '%.*s', want '%s'", i,
					 cases[i].path, cases[i].params[j].name, (int)v.len,
					 v.ptr ? v.ptr : "", cases[i].params[j].value);
		}
		if (j == 0)
			assert_int_equal(p.n, 0);
	}
}

static void
param_absent(void **state)
{
	struct http_params p;
	struct str v;

	(void)state;
	assert_int_equal(http_route_match(routes, ARRAY_SIZE(routes), HTTP_GET,
					  STR_LIT("/v1/functions/f"), &p), 2);
	assert_int_equal(p.n, 1);
	v = http_param(&p, "other");
	assert_null(v.ptr);
	assert_int_equal(v.len, 0);
	/* out may be NULL */
	assert_int_equal(http_route_match(routes, ARRAY_SIZE(routes), HTTP_GET,
					  STR_LIT("/v1/functions/f"), NULL), 2);
	assert_int_equal(http_route_match(routes, 0, HTTP_GET, STR_LIT("/"), NULL), -ENOENT);
}

/* The value slices point into the path, not a copy, and the path need not be NUL-terminated. */
static void
slices_into_path(void **state)
{
	const char target[] = "/v1/functions/abc?x=1";
	struct http_params p;
	struct str path = str_from(target, 17);

	(void)state;
	assert_int_equal(http_route_match(routes, ARRAY_SIZE(routes), HTTP_GET, path, &p), 2);
	assert_ptr_equal(p.value[0].ptr, target + 14);
	assert_int_equal(p.value[0].len, 3);
}

static void
check(void **state)
{
	static const struct {
		const char *pattern;
		bool ok;
	} pats[] = {
		{ "/", true },
		{ "/v1/functions/{name}/invoke", true },
		{ "/gw/{proxy+}", true },
		{ "/o/{1}/{2}/{3}/{4}/{5}/{6}/{7}/{8}", true },
		{ "/m/{1}/{2}/{3}/{4}/{5}/{6}/{7}/{8}/{9}", false },
		{ "v1", false },
		{ "", false },
		{ "/a/{}", false },
		{ "/a/{+}", false },
		{ "/a/x{y}", false },
		{ "/a/{y", false },
		{ "/a/{p+}/b", false },
		{ "/a/{a{b}", false },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(pats); i++) {
		struct http_route r = { HTTP_GET, pats[i].pattern, NULL, 0 };
		struct err err = ERR_INIT;
		int ret = http_routes_check(&r, 1, &err);

		if ((ret == 0) != pats[i].ok)
			fail_msg("pattern '%s': got %d (%s)", pats[i].pattern, ret, err.msg);
		if (ret < 0) {
			assert_int_equal(ret, -EINVAL);
			assert_non_null(strstr(err.msg, pats[i].pattern));
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(table),
		cmocka_unit_test(param_absent),
		cmocka_unit_test(slices_into_path),
		cmocka_unit_test(check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
