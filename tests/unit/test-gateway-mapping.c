/* Unit tests for src/gateway/mapping.c: route keys, the payload format 2.0 event, the
 * response mapping and CORS headers, each from a table. The http module's request helpers
 * and router are compiled in (only the gateway and lib archives are linked), and so is
 * mapping.c itself, with the jansson-built event it replaced (gateway-event-ref.h) to
 * compare its serialiser with. */
#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../src/http/request.c"
#include "../../src/http/router.c"
#include "../../src/gateway/mapping.c"
#include "gateway-event-ref.h"

/* ---- route keys ---- */

static void
test_key_parse(void **state)
{
	static const struct {
		const char *key;
		int ok;
		int method;
		const char *path;
	} cases[] = {
		{ "GET /hello/{name}", 1, HTTP_GET, "/hello/{name}" },
		{ "ANY /{proxy+}", 1, -1, "/{proxy+}" },
		{ "POST /", 1, HTTP_POST, "/" },
		{ "DELETE /a/{id}/b", 1, HTTP_DELETE, "/a/{id}/b" },
		{ "$default", 1, -1, NULL },
		{ "", 0, 0, NULL },
		{ "GET", 0, 0, NULL },
		{ "get /x", 0, 0, NULL },		/* methods are upper case, as AWS writes them */
		{ "FETCH /x", 0, 0, NULL },
		{ "GET x", 0, 0, NULL },
		{ "GET /a/{p+}/b", 0, 0, NULL },	/* greedy only last */
		{ "GET /a/{}", 0, 0, NULL },
		{ "GET /a/x{y}", 0, 0, NULL },
		{ "GET /a//b", 0, 0, NULL },
		{ "GET /a?x=1", 0, 0, NULL },
		{ "GET /a b", 0, 0, NULL },
		{ "GET  /a", 0, 0, NULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct gateway_key k;
		struct err err = ERR_INIT;
		int r = gateway_key_parse(cases[i].key, &k, &err);

		if (!cases[i].ok) {
			if (r != -EINVAL)
				fail_msg("'%s' should be refused", cases[i].key);
			assert_true(err.msg[0] != '\0');
			continue;
		}
		if (r != 0)
			fail_msg("'%s': %s", cases[i].key, err.msg);
		assert_int_equal(k.method, cases[i].method);
		if (cases[i].path)
			assert_string_equal(k.path, cases[i].path);
		else
			assert_null(k.path);
		gateway_key_release(&k);
	}
}

/* ---- the event ---- */

struct ev_case {
	const char *name;
	const char *method;
	const char *path, *query;
	const char *headers[8][2];
	const char *body;
	size_t body_len;
	const char *param_name, *param_value;
	/* JSON pointers into the event ("/a/b") and their expected compact JSON, or NULL for
	 * "absent". */
	const char *expect[8][2];
};

static const struct ev_case ev_cases[] = {
	{ "plain GET", "GET", "/hello/bob", NULL, { { "User-Agent", "curl/8" }, { NULL } },
	  NULL, 0, "name", "bob",
	  { { "/version", "\"2.0\"" },
	    { "/rawPath", "\"/hello/bob\"" },
	    { "/rawQueryString", "\"\"" },
	    { "/pathParameters/name", "\"bob\"" },
	    { "/requestContext/http/userAgent", "\"curl/8\"" },
	    { "/queryStringParameters", NULL },
	    { "/body", NULL },
	    { "/isBase64Encoded", "false" } } },
	{ "repeated query keys and headers are joined", "GET", "/q", "x=1&x=2&y=%41&z",
	  { { "X-Multi", "v1" }, { "x-multi", "v2" }, { NULL } }, NULL, 0, NULL, NULL,
	  { { "/rawQueryString", "\"x=1&x=2&y=%41&z\"" },
	    { "/queryStringParameters/x", "\"1,2\"" },
	    { "/queryStringParameters/y", "\"A\"" },
	    { "/queryStringParameters/z", "\"\"" },
	    { "/headers/x-multi", "\"v1,v2\"" },
	    { "/pathParameters", NULL } } },
	{ "cookies leave the headers", "GET", "/c", NULL,
	  { { "Cookie", "a=1; b=2" }, { "cookie", "c=3" }, { NULL } }, NULL, 0, NULL, NULL,
	  { { "/cookies/0", "\"a=1\"" },
	    { "/cookies/1", "\"b=2\"" },
	    { "/cookies/2", "\"c=3\"" },
	    { "/headers/cookie", NULL } } },
	{ "a JSON body stays text", "POST", "/j", NULL,
	  { { "Content-Type", "application/json; charset=utf-8" }, { NULL } }, "{\"a\":1}", 7,
	  NULL, NULL,
	  { { "/body", "\"{\\\"a\\\":1}\"" },
	    { "/isBase64Encoded", "false" },
	    { "/requestContext/http/method", "\"POST\"" } } },
	{ "a binary body is base64", "POST", "/b", NULL,
	  { { "Content-Type", "application/octet-stream" }, { NULL } }, "\x00\x01\xff", 3, NULL,
	  NULL, { { "/body", "\"AAH/\"" }, { "/isBase64Encoded", "true" } } },
	{ "invalid UTF-8 under a text type is base64", "PUT", "/b", NULL,
	  { { "Content-Type", "text/plain" }, { NULL } }, "\xc3\x28", 2, NULL, NULL,
	  { { "/body", "\"wyg=\"" }, { "/isBase64Encoded", "true" } } },
	{ "path parameters are decoded, rawPath is not", "GET", "/hello/a%20b", NULL, { { NULL } },
	  NULL, 0, "name", "a%20b",
	  { { "/pathParameters/name", "\"a b\"" },
	    { "/rawPath", "\"/hello/a%20b\"" },
	    { "/requestContext/http/path", "\"/hello/a%20b\"" } } },
	{ "domain from Host, without the port", "GET", "/", NULL,
	  { { "Host", "api.example.com:8080" }, { NULL } }, NULL, 0, NULL, NULL,
	  { { "/requestContext/domainName", "\"api.example.com\"" },
	    { "/requestContext/domainPrefix", "\"api\"" },
	    { "/requestContext/stage", "\"$default\"" },
	    { "/requestContext/timeEpoch", "1583348638390" },
	    { "/requestContext/time", "\"04/Mar/2020:19:03:58 +0000\"" },
	    { "/stageVariables", "null" } } },
};

/* Follows a JSON pointer of object keys and array indexes. */
static json_t *
pointer(json_t *root, const char *ptr)
{
	char buf[128], *save = NULL, *tok;
	json_t *cur = root;

	snprintf(buf, sizeof(buf), "%s", ptr + 1);
	for (tok = strtok_r(buf, "/", &save); tok && cur; tok = strtok_r(NULL, "/", &save)) {
		if (json_is_array(cur))
			cur = json_array_get(cur, strtoul(tok, NULL, 10));
		else
			cur = json_object_get(cur, tok);
	}
	return cur;
}

static void
test_event(void **state)
{
	size_t i, j;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(ev_cases); i++) {
		const struct ev_case *c = &ev_cases[i];
		struct http_header hs[8];
		struct http_request req;
		struct http_params params = { 0 };
		struct gateway_event_in in = { 0 };
		struct buf out = BUF_INIT;
		json_error_t jerr;
		json_t *ev;

		memset(&req, 0, sizeof(req));
		req.method_name = str_cstr(c->method);
		req.path = str_cstr(c->path);
		req.query = c->query ? str_cstr(c->query) : STR_NULL;
		req.http_minor = 1;
		snprintf(req.peer_ip, sizeof(req.peer_ip), "127.0.0.1");
		for (j = 0; c->headers[j][0]; j++) {
			hs[j].name = str_cstr(c->headers[j][0]);
			hs[j].value = str_cstr(c->headers[j][1]);
		}
		req.headers = hs;
		req.nheaders = j;
		buf_init(&req.body);
		if (c->body)
			buf_add(&req.body, c->body, c->body_len);
		if (c->param_name) {
			params.n = 1;
			params.name[0] = str_cstr(c->param_name);
			params.value[0] = str_cstr(c->param_value);
		}
		in.req = &req;
		in.route_key = "GET /x";
		in.params = &params;
		in.request_id = "rid";
		in.now_ms = 1583348638390ull;
		gateway_event_build(&in, &out);
		ev = json_loadb(out.ptr, out.len, 0, &jerr);
		if (!ev)
			fail_msg("%s: not JSON: %s", c->name, jerr.text);
		for (j = 0; j < ARRAY_SIZE(c->expect) && c->expect[j][0]; j++) {
			json_t *v = pointer(ev, c->expect[j][0]);
			char *got = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

			if (!c->expect[j][1] ? got != NULL : !got || strcmp(got, c->expect[j][1]))
				fail_msg("%s: %s is %s, want %s", c->name, c->expect[j][0],
					 got ? got : "absent",
					 c->expect[j][1] ? c->expect[j][1] : "absent");
			free(got);
		}
		json_decref(ev);
		buf_release(&out);
		buf_release(&req.body);
	}
}

/* ---- the serialiser against the jansson-built reference ---- */

#define XORSHIFT_SEED 0x2545f4914f6cdd1dull
#include "xorshift.h"

/* Random bytes, mostly printable, some control characters, invalid UTF-8, valid
 * multi-byte sequences, escapes and separators. */
static void
random_text(struct buf *arena, size_t max)
{
	static const char *const bits[] = {
		"a", "Z", "0", " ", "\"", "\\", "/", ";", ",", "=", "&", "%", "%41", "%e2%82%ac",
		"%zz", "%00", "\t", "\x01", "\x7f", "\xc3\xa9", "\xf0\x9f\x98\x80", "\xff",
		"\xc3", "\xed\xa0\x80", "\0",
	};
	size_t n = next_rand() % (max + 1), i;

	for (i = 0; i < n; i++) {
		const char *b = bits[next_rand() % ARRAY_SIZE(bits)];

		buf_add(arena, b, *b ? strlen(b) : 1);
	}
}

struct rand_req {
	struct http_request req;
	struct http_header hs[400];
	struct http_params params;
	struct buf arena;	/* never reallocated after the slices are taken */
	size_t off[2 * 400 + 16][2];
};

static void
check_same(const struct gateway_event_in *in, const char *what)
{
	struct buf mine = BUF_INIT, ref = BUF_INIT;

	gateway_event_build(in, &mine);
	ref_event_build(in, &ref);
	if (mine.len != ref.len || memcmp(mine.ptr, ref.ptr, mine.len) != 0)
		fail_msg("%s: event differs from jansson's\n mine: %.*s\n  ref: %.*s", what,
			 (int)MIN(mine.len, 2000), mine.ptr, (int)MIN(ref.len, 2000), ref.ptr);
	assert_int_equal(jscan_check(mine.ptr, mine.len, NULL, NULL), 0);
	buf_release(&mine);
	buf_release(&ref);
}

static void
test_event_vs_reference(void **state)
{
	static const char *const names[] = {
		"Host", "host", "User-Agent", "Content-Type", "Cookie", "cookie", "X-Multi",
		"x-MULTI", "Accept", "Authorization", "X-\xc3\xa9", "X-A", "x-b",
	};
	static const char *const types[] = {
		"application/json", "text/plain; charset=utf-8", "application/octet-stream",
		"image/png", "application/vnd.api+json",
	};
	static struct rand_req r;
	size_t iter, i, nh, k, cut;

	(void)state;
	for (iter = 0; iter < 3000; iter++) {
		struct gateway_event_in in = { 0 };
		struct buf a = BUF_INIT;
		/* Pieces go into a, then slices are taken once a stops moving. */
		size_t n = 0;
		char what[32];

		memset(&r.req, 0, sizeof(r.req));
		buf_init(&r.req.body);
		/* Every 100th request has hundreds of headers (the grouping's slow path) or a
		 * huge one. */
		nh = iter % 100 == 7 ? 300 + next_rand() % 100 : next_rand() % 12;
		r.off[n][0] = a.len;
		random_text(&a, 6);
		buf_adds(&a, "/p");
		r.off[n++][1] = a.len;		/* path */
		r.off[n][0] = a.len;
		random_text(&a, 12);
		r.off[n++][1] = a.len;		/* query */
		for (i = 0; i < nh; i++) {
			r.off[n][0] = a.len;
			if (next_rand() % 8 == 0)
				random_text(&a, 3);
			else if (nh > 100)
				buf_addf(&a, "X-H%u", next_rand() % 150);
			else
				buf_adds(&a, names[next_rand() % ARRAY_SIZE(names)]);
			r.off[n++][1] = a.len;
			r.off[n][0] = a.len;
			if (iter % 100 == 42 && i == 0)
				for (k = 0; k < 2000; k++)
					buf_adds(&a, "big,");
			random_text(&a, 8);
			r.off[n++][1] = a.len;
		}
		r.off[n][0] = a.len;
		random_text(&a, 4);
		r.off[n++][1] = a.len;		/* a path parameter */
		for (i = 0; i < n; i++)
			assert_true(r.off[i][1] <= a.len);
		r.req.method_name = str_cstr(next_rand() % 2 ? "GET" : "POST");
		r.req.path = str_from(a.ptr + r.off[0][0], r.off[0][1] - r.off[0][0]);
		r.req.query = next_rand() % 4 ? str_from(a.ptr + r.off[1][0],
							   r.off[1][1] - r.off[1][0]) : STR_NULL;
		r.req.http_minor = (int)(next_rand() % 2);
		snprintf(r.req.peer_ip, sizeof(r.req.peer_ip), "127.0.0.%u", next_rand() % 256);
		for (i = 0; i < nh; i++) {
			r.hs[i].name = str_from(a.ptr + r.off[2 + 2 * i][0],
						r.off[2 + 2 * i][1] - r.off[2 + 2 * i][0]);
			r.hs[i].value = str_from(a.ptr + r.off[3 + 2 * i][0],
						 r.off[3 + 2 * i][1] - r.off[3 + 2 * i][0]);
			if (str_caseeqs(r.hs[i].name, "content-type"))
				r.hs[i].value = str_cstr(types[next_rand() % ARRAY_SIZE(types)]);
		}
		r.req.headers = r.hs;
		r.req.nheaders = nh;
		r.params.n = next_rand() % 3;
		for (i = 0; i < r.params.n; i++) {
			r.params.name[i] = str_cstr(i == 2 ? "name" : next_rand() % 2 ? "name" : "id");
			r.params.value[i] = str_from(a.ptr + r.off[n - 1][0],
						     r.off[n - 1][1] - r.off[n - 1][0]);
		}
		if (next_rand() % 2) {
			cut = next_rand() % 64;
			for (i = 0; i < cut; i++)
				buf_addch(&r.req.body, next_rand() % 3 ? (char)('a' + next_rand() % 26) :
					  (char)(next_rand() % 256));
		}
		in.req = &r.req;
		in.route_key = next_rand() % 2 ? "GET /p/{name}" : "$default";
		in.params = &r.params;
		in.request_id = "5f0c6a5e-0000-4000-8000-000000000000";
		in.now_ms = 1583348638390ull + (uint64_t)next_rand() * 1000;
		snprintf(what, sizeof(what), "request %zu", iter);
		check_same(&in, what);
		buf_release(&a);
		buf_release(&r.req.body);
	}
}

/* ---- the response ---- */

static void
test_response(void **state)
{
	static const struct {
		const char *payload;
		int ok;
		int status;
		const char *body;
		size_t body_len;
		const char *headers;	/* "name: value\n" each, in order */
	} cases[] = {
		{ "{\"statusCode\":201,\"headers\":{\"x-a\":\"1\",\"x-n\":5},\"body\":\"hi\"}", 1, 201,
		  "hi", 2, "x-a: 1\nx-n: 5\n" },
		{ "{\"statusCode\":200,\"cookies\":[\"a=1; Path=/\",\"b=2\"]}", 1, 200, "", 0,
		  "Set-Cookie: a=1; Path=/\nSet-Cookie: b=2\n" },
		{ "{\"statusCode\":200,\"body\":\"AAH/\",\"isBase64Encoded\":true}", 1, 200,
		  "\x00\x01\xff", 3, "" },
		{ "{\"statusCode\":\"404\",\"body\":\"no\"}", 1, 404, "no", 2, "" },
		{ "{\"statusCode\":200,\"body\":{\"a\":1}}", 1, 200, "{\"a\":1}", 7, "" },
		/* No statusCode: the whole answer is a 200 JSON body. */
		{ "{\"hello\":\"world\"}", 1, 200, "{\"hello\":\"world\"}", 17,
		  "Content-Type: application/json\n" },
		{ "\"just a string\"", 1, 200, "\"just a string\"", 15,
		  "Content-Type: application/json\n" },
		{ "[1,2]", 1, 200, "[1,2]", 5, "Content-Type: application/json\n" },
		{ "not json", 0, 0, NULL, 0, NULL },
		{ "{\"statusCode\":99}", 0, 0, NULL, 0, NULL },
		{ "{\"statusCode\":\"abc\"}", 0, 0, NULL, 0, NULL },
		{ "{\"statusCode\":200,\"headers\":[]}", 0, 0, NULL, 0, NULL },
		{ "{\"statusCode\":200,\"headers\":{\"bad name\":\"x\"}}", 0, 0, NULL, 0, NULL },
		{ "{\"statusCode\":200,\"headers\":{\"x\":{}}}", 0, 0, NULL, 0, NULL },
		{ "{\"statusCode\":200,\"cookies\":[1]}", 0, 0, NULL, 0, NULL },
		{ "{\"statusCode\":200,\"body\":\"@@@\",\"isBase64Encoded\":true}", 0, 0, NULL, 0,
		  NULL },
		{ "{\"statusCode\":200,\"isBase64Encoded\":\"yes\"}", 0, 0, NULL, 0, NULL },
	};
	size_t i, j;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct gateway_response r;
		struct err err = ERR_INIT;
		struct buf hs = BUF_INIT;
		int rc = gateway_response_map(str_cstr(cases[i].payload), &r, &err);

		if (!cases[i].ok) {
			if (rc != -EBADMSG)
				fail_msg("'%s' should be refused", cases[i].payload);
			gateway_response_release(&r);
			continue;
		}
		if (rc != 0)
			fail_msg("'%s': %s", cases[i].payload, err.msg);
		assert_int_equal(r.status, cases[i].status);
		assert_int_equal(r.body.len, cases[i].body_len);
		assert_memory_equal(r.body.ptr, cases[i].body, cases[i].body_len);
		for (j = 0; j < r.nheaders; j++)
			buf_addf(&hs, "%.*s: %.*s\n", (int)r.headers[j].name.len,
				 r.headers[j].name.ptr, (int)r.headers[j].value.len,
				 r.headers[j].value.ptr);
		assert_string_equal(hs.ptr, cases[i].headers);
		buf_release(&hs);
		gateway_response_release(&r);
	}
}

/* The mapping as it was, all through jansson: the reference for map_fast(). */
static int
map_with_jansson(struct str payload, struct gateway_response *out, struct err *err)
{
	struct hoff *offs = NULL;
	size_t cap = 0, i;
	json_t *j;
	int r = 0;

	memset(out, 0, sizeof(*out));
	buf_init(&out->body);
	buf_init(&out->strings);
	j = json_loadb(payload.ptr, payload.len, JSON_DECODE_ANY, NULL);
	if (!j)
		return err_setmsg(err, EBADMSG, "not JSON");
	if (json_is_object(j) && json_object_get(j, "statusCode")) {
		r = map_object(j, out, &offs, &cap, err);
	} else {
		out->status = 200;
		add_header(out, &offs, &cap, "Content-Type", "application/json");
		buf_add(&out->body, payload.ptr, payload.len);
	}
	json_decref(j);
	if (r < 0) {
		free(offs);
		out->nheaders = 0;
		return r;
	}
	out->headers = xcalloc(out->nheaders ? out->nheaders : 1, sizeof(*out->headers));
	for (i = 0; i < out->nheaders; i++) {
		out->headers[i].name = str_cstr(out->strings.ptr + offs[i].name);
		out->headers[i].value = str_cstr(out->strings.ptr + offs[i].value);
	}
	free(offs);
	return 0;
}

/* Random answers built from pieces (and some cut or bent): the tree-less mapping and
 * the jansson one must agree on accept/refuse, status, headers in order and body. */
static void
test_response_vs_jansson(void **state)
{
	static const char *const codes[] = {
		"200", "404", "\"201\"", "\" 302\"", "\"+500\"", "99", "600", "200.0", "null", "\"x\"",
		"-0", "\"\\u0032\\u0030\\u0034\"", "9223372036854775807", "[200]", "\"200x\"",
		"\"404 \"",
	};
	static const char *const values[] = {
		"\"v\"", "5", "-1.5e3", "true", "false", "null", "{}", "[]", "\"a\\\"b\\u00e9\"",
		"\"\\ud83d\\ude00\"", "0.1", "1e300",
	};
	static const char *const names[] = {
		"x-a", "X-A", "content-type", "bad name", "x\\u0041", "x-\\u00e9", "", "x-b",
	};
	static const char *const bodies[] = {
		"\"hi\"", "\"AAH/\"", "\"@@@\"", "null", "{\"a\":1}", "[1, 2]", "5", "\"\"",
		"\"line\\nbreak \\u00e9\"", "\"SGVsbG8=\"", "\"SGVsbG8\"",
	};
	static const char *const b64s[] = { "true", "false", "null", "\"yes\"", "1" };
	struct buf a = BUF_INIT;
	size_t iter, i, n, nkeys;

	(void)state;
	/* iter 0 is fixed: 40 headers (past the scanner's 16 on the stack), some repeated. */
	for (iter = 0; iter < 20000; iter++) {
		struct gateway_response fast, slow;
		struct err e1 = ERR_INIT, e2 = ERR_INIT;
		int r1, r2;

		buf_reset(&a);
		buf_addch(&a, '{');
		nkeys = 1 + next_rand() % 6;
		for (i = 0; i < nkeys; i++) {
			if (i)
				buf_addch(&a, ',');
			switch (next_rand() % 7) {
			case 0:
			case 1:
				buf_addf(&a, "\"statusCode\":%s", codes[next_rand() % ARRAY_SIZE(codes)]);
				break;
			case 2:
				if (next_rand() % 8 == 0) {	/* not an object */
					buf_addf(&a, "\"headers\":%s",
						 values[next_rand() % ARRAY_SIZE(values)]);
					break;
				}
				buf_adds(&a, "\"headers\":{");
				for (n = next_rand() % 5; n > 0; n--)
					buf_addf(&a, "\"%s\":%s%s", names[next_rand() % ARRAY_SIZE(names)],
						 values[next_rand() % ARRAY_SIZE(values)], n > 1 ? "," : "");
				buf_addch(&a, '}');
				break;
			case 3:
				buf_adds(&a, "\"cookies\":");
				if (next_rand() % 6 == 0) {
					buf_adds(&a, values[next_rand() % ARRAY_SIZE(values)]);
					break;
				}
				buf_addch(&a, '[');
				for (n = next_rand() % 4; n > 0; n--)
					buf_addf(&a, "%s%s", next_rand() % 5 ? "\"k=v; Path=/\"" :
						 values[next_rand() % ARRAY_SIZE(values)], n > 1 ? "," : "");
				buf_addch(&a, ']');
				break;
			case 4:
				buf_addf(&a, "\"body\":%s", bodies[next_rand() % ARRAY_SIZE(bodies)]);
				break;
			case 5:
				buf_addf(&a, "\"isBase64Encoded\":%s", b64s[next_rand() % ARRAY_SIZE(b64s)]);
				break;
			default:
				buf_addf(&a, "\"other\":%s", values[next_rand() % ARRAY_SIZE(values)]);
				break;
			}
		}
		buf_addch(&a, '}');
		if (iter == 0) {
			buf_reset(&a);
			buf_adds(&a, "{\"statusCode\":200,\"headers\":{");
			for (i = 0; i < 40; i++)
				buf_addf(&a, "%s\"x-h%zu\":\"v%zu\"", i ? "," : "", i % 29, i);
			buf_adds(&a, "},\"body\":\"b\"}");
		}
		/* Now and then not JSON, or not an object. */
		if (iter && next_rand() % 20 == 0) {
			buf_setlen(&a, next_rand() % a.len);
		} else if (iter && next_rand() % 20 == 0) {
			buf_reset(&a);
			buf_adds(&a, values[next_rand() % ARRAY_SIZE(values)]);
		}
		r1 = gateway_response_map(str_from(a.ptr, a.len), &fast, &e1);
		r2 = map_with_jansson(str_from(a.ptr, a.len), &slow, &e2);
		if ((r1 == 0) != (r2 == 0))
			fail_msg("'%s': tree-less %s (%s), jansson %s (%s)", a.ptr, r1 ? "refuses" :
				 "accepts", e1.msg, r2 ? "refuses" : "accepts", e2.msg);
		if (iter == 0)
			assert_int_equal(fast.nheaders, 29);
		if (r1 == 0) {
			if (fast.status != slow.status || fast.nheaders != slow.nheaders ||
			    fast.body.len != slow.body.len ||
			    memcmp(fast.body.ptr, slow.body.ptr, fast.body.len) != 0)
				fail_msg("'%s': status %d/%d, %zu/%zu headers, body '%s'/'%s'", a.ptr,
					 fast.status, slow.status, fast.nheaders, slow.nheaders,
					 fast.body.ptr, slow.body.ptr);
			for (i = 0; i < fast.nheaders; i++)
				if (!str_eq(fast.headers[i].name, slow.headers[i].name) ||
				    !str_eq(fast.headers[i].value, slow.headers[i].value))
					fail_msg("'%s': header %zu differs", a.ptr, i);
		}
		gateway_response_release(&fast);
		gateway_response_release(&slow);
	}
	buf_release(&a);
}

/* ---- binary detection ---- */

static void
test_body_is_text(void **state)
{
	static const struct {
		const char *ct;
		const char *body;
		int text;
	} cases[] = {
		{ NULL, "plain", 1 },
		{ "text/html; charset=utf-8", "<p>", 1 },
		{ "application/json", "{}", 1 },
		{ "application/vnd.api+json", "{}", 1 },
		{ "application/atom+xml", "<a/>", 1 },
		{ "application/x-www-form-urlencoded", "a=1", 1 },
		{ "Application/JSON", "{}", 1 },
		{ "application/octet-stream", "abc", 0 },
		{ "image/png", "abc", 0 },
		{ NULL, "\xff\xfe", 0 },
		{ "text/plain", "\xc0\xaf", 0 },	/* overlong: not UTF-8 */
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct str ct = cases[i].ct ? str_cstr(cases[i].ct) : STR_NULL;

		if (gateway_body_is_text(cases[i].ct ? &ct : NULL, cases[i].body,
					 strlen(cases[i].body)) != cases[i].text)
			fail_msg("case %zu (%s): want %s", i, cases[i].ct ? cases[i].ct : "none",
				 cases[i].text ? "text" : "base64");
	}
}

/* ---- CORS ---- */

static void
test_cors(void **state)
{
	static const struct {
		const char *json;
		int ok;
		const char *origin;
		int preflight;
		const char *want;	/* "name: value\n" each */
	} cases[] = {
		{ "{\"allow_origins\":[\"*\"]}", 1, "https://a.example", 0,
		  "Access-Control-Allow-Origin: *\n" },
		{ "{\"allow_origins\":[\"https://a.example\"],\"expose_headers\":[\"x-id\"]}", 1,
		  "https://a.example", 0,
		  "Access-Control-Allow-Origin: https://a.example\nVary: Origin\n"
		  "Access-Control-Expose-Headers: x-id\n" },
		{ "{\"allow_origins\":[\"https://a.example\"]}", 1, "https://evil.example", 0, "" },
		{ "{\"allow_origins\":[\"*\"]}", 1, NULL, 0, "" },
		{ "{\"allow_origins\":[\"https://a.example\"],\"allow_methods\":[\"GET\",\"POST\"],"
		  "\"allow_headers\":[\"content-type\"],\"max_age\":300,\"allow_credentials\":true}",
		  1, "https://a.example", 1,
		  "Access-Control-Allow-Origin: https://a.example\nVary: Origin\n"
		  "Access-Control-Allow-Credentials: true\n"
		  "Access-Control-Allow-Methods: GET, POST\n"
		  "Access-Control-Allow-Headers: content-type\nAccess-Control-Max-Age: 300\n" },
		{ "{}", 0, NULL, 0, NULL },
		{ "{\"allow_origins\":[]}", 0, NULL, 0, NULL },
		{ "{\"allow_origins\":[\"example.com\"]}", 0, NULL, 0, NULL },
		{ "{\"allow_origins\":[\"*\"],\"allow_credentials\":true}", 0, NULL, 0, NULL },
		{ "{\"allow_origins\":[\"*\"],\"max_age\":-1}", 0, NULL, 0, NULL },
		{ "{\"allow_origins\":[\"*\"],\"allow_methods\":[\"GET POST\"]}", 0, NULL, 0, NULL },
		{ "{\"allow_origins\":[\"*\"],\"origin\":1}", 0, NULL, 0, NULL },
		{ "[]", 0, NULL, 0, NULL },
	};
	size_t i, j, n;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct gateway_cors c;
		struct err err = ERR_INIT;
		struct buf pairs = BUF_INIT, got = BUF_INIT;
		const char *p;
		int rc = gateway_cors_parse(cases[i].json, &c, &err);

		if (!cases[i].ok) {
			if (rc != -EINVAL)
				fail_msg("'%s' should be refused", cases[i].json);
			continue;
		}
		if (rc != 0)
			fail_msg("'%s': %s", cases[i].json, err.msg);
		n = gateway_cors_headers(&c, cases[i].origin, cases[i].preflight, &pairs);
		for (j = 0, p = pairs.ptr; j < n; j++) {
			buf_addf(&got, "%s: ", p);
			p += strlen(p) + 1;
			buf_addf(&got, "%s\n", p);
			p += strlen(p) + 1;
		}
		if (strcmp(got.ptr, cases[i].want))
			fail_msg("case %zu: got\n%s\nwant\n%s", i, got.ptr, cases[i].want);
		buf_release(&got);
		buf_release(&pairs);
		gateway_cors_release(&c);
	}
}

static void
test_token_hash(void **state)
{
	char h[65];

	(void)state;
	gateway_token_hash("abc", 3, h);
	assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_parse),     cmocka_unit_test(test_event),
		cmocka_unit_test(test_response),      cmocka_unit_test(test_body_is_text),
		cmocka_unit_test(test_cors),	      cmocka_unit_test(test_token_hash),
		cmocka_unit_test(test_event_vs_reference),
		cmocka_unit_test(test_response_vs_jansson),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
