/*
 * API Gateway's HTTP API mapping, payload format 2.0: route keys, the event a
 * function receives, the response it answers with, and CORS headers.
 *
 * Pure: no clock, no I/O, no loop; everything is passed in, so each rule is
 * tested from a table (tests/unit/test-gateway-mapping.c). The rules follow AWS's
 * documentation of HTTP APIs; where hearth differs, docs/gateway.md says so.
 */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "gateway/gateway.h"
#include "lib/jscan.h"
#include "lib/utf8.h"
#include "lib/banned.h"

static const struct {
	const char *name;
	int method;
} methods[] = {
	{ "GET", HTTP_GET },	   { "POST", HTTP_POST },     { "PUT", HTTP_PUT },
	{ "PATCH", HTTP_PATCH },   { "DELETE", HTTP_DELETE }, { "HEAD", HTTP_HEAD },
	{ "OPTIONS", HTTP_OPTIONS }, { "ANY", -1 },
};

int
gateway_key_parse(const char *key, struct gateway_key *out, struct err *err)
{
	const char *sp;
	struct http_route one = { 0 };
	size_t i, mlen;

	memset(out, 0, sizeof(*out));
	if (!key || !*key)
		return err_setmsg(err, EINVAL, "a route key is required, e.g. 'GET /hello/{name}' "
				  "or '$default'");
	if (strlen(key) > GATEWAY_ROUTE_KEY_MAX)
		return err_setmsg(err, EINVAL, "route key is over %d bytes", GATEWAY_ROUTE_KEY_MAX);
	if (strcmp(key, "$default") == 0) {
		out->method = -1;
		return 0;
	}
	sp = strchr(key, ' ');
	if (!sp)
		return err_setmsg(err, EINVAL, "invalid route key '%s': use 'METHOD /path' or "
				  "'$default'", key);
	mlen = (size_t)(sp - key);
	for (i = 0; i < ARRAY_SIZE(methods); i++) {
		if (strlen(methods[i].name) == mlen && memcmp(methods[i].name, key, mlen) == 0)
			break;
	}
	if (i == ARRAY_SIZE(methods))
		return err_setmsg(err, EINVAL, "invalid method '%.*s' in route key: use GET, POST, "
				  "PUT, PATCH, DELETE, HEAD, OPTIONS or ANY", (int)MIN(mlen, 16),
				  key);
	for (const char *p = sp + 1; *p; p++) {
		/* Characters a path may hold, braces and '+' for parameters; no query. */
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || strchr("?#\"\\", *p))
			return err_setmsg(err, EINVAL, "invalid character in route path '%s'",
					  sp + 1);
	}
	one.pattern = sp + 1;
	if (http_routes_check(&one, 1, err) < 0)
		return -err->code;
	if (strstr(sp + 1, "//"))
		return err_setmsg(err, EINVAL, "route path '%s' has an empty segment", sp + 1);
	out->method = methods[i].method;
	out->path = xstrdup(sp + 1);
	return 0;
}

void
gateway_key_release(struct gateway_key *k)
{
	free(k->path);
	k->path = NULL;
}

/* ---- UTF-8 and base64 ---------------------------------------------------------------- */

/* Valid UTF-8 without NUL (jansson takes NUL, but C strings downstream would not). */
static bool
utf8_valid(const void *data, size_t n)
{
	const unsigned char *p = data;
	size_t len;

	while (n > 0) {
		if (*p == 0)
			return false;
		len = utf8_seq_len(p, n);
		if (len == 0)
			return false;
		p += len;
		n -= len;
	}
	return true;
}

static void
b64_encode(const void *in, size_t len, struct buf *out)
{
	size_t start = out->len;
	int n;

	buf_grow(out, (len + 2) / 3 * 4 + 1);
	n = EVP_EncodeBlock((unsigned char *)out->ptr + start, in, (int)len);
	buf_setlen(out, start + (size_t)n);
}

/* Standard base64 with padding; -EINVAL on anything else. */
static int
b64_decode(const char *in, size_t len, struct buf *out)
{
	size_t pad = 0, i, start = out->len;
	int n;

	if (len % 4 != 0 || len > INT32_MAX)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (!isalnum((unsigned char)in[i]) && in[i] != '+' && in[i] != '/' &&
		    !(in[i] == '=' && i >= len - 2))
			return -EINVAL;
	}
	if (len >= 1 && in[len - 1] == '=')
		pad++;
	if (len >= 2 && in[len - 2] == '=')
		pad++;
	if (pad == 1 && in[len - 2] == '=')
		return -EINVAL;
	buf_grow(out, len / 4 * 3 + 1);
	n = EVP_DecodeBlock((unsigned char *)out->ptr + start, (const unsigned char *)in,
			    (int)len);
	if (n < 0)
		return -EINVAL;
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	buf_setlen(out, start + (size_t)n - pad);
	return 0;
}

void
gateway_token_hash(const char *token, size_t len, char out[65])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	size_t i;

	SHA256((const unsigned char *)token, len, md);
	for (i = 0; i < sizeof(md); i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* ---- the event ----------------------------------------------------------------------- */

/* A literal's bytes without strlen(). */
#define ADD_LIT(b, lit) buf_add((b), (lit), sizeof(lit) - 1)

/* n in decimal, as printf's %llu, without printf. */
static void
add_u64(struct buf *out, uint64_t n)
{
	char d[20];
	size_t i = sizeof(d);

	do {
		d[--i] = (char)('0' + n % 10);
		n /= 10;
	} while (n);
	buf_add(out, d + i, sizeof(d) - i);
}

bool
gateway_body_is_text(const struct str *content_type, const void *body, size_t len)
{
	static const char *const text_types[] = {
		"application/json", "application/xml", "application/javascript",
		"application/x-www-form-urlencoded", "application/graphql", "application/yaml",
	};
	char ct[128];
	size_t n, i;
	char *semi;

	if (!utf8_valid(body, len))
		return false;
	if (!content_type || content_type->len == 0)
		return true;
	n = MIN(content_type->len, sizeof(ct) - 1);
	for (i = 0; i < n; i++)
		ct[i] = (char)tolower((unsigned char)content_type->ptr[i]);
	ct[n] = '\0';
	semi = strchr(ct, ';');
	if (semi)
		*semi = '\0';
	n = strlen(ct);
	while (n > 0 && ct[n - 1] == ' ')
		ct[--n] = '\0';
	if (strncmp(ct, "text/", 5) == 0)
		return true;
	if (n > 5 && (strcmp(ct + n - 5, "+json") == 0 || strcmp(ct + n - 4, "+xml") == 0))
		return true;
	for (i = 0; i < ARRAY_SIZE(text_types); i++) {
		if (strcmp(ct, text_types[i]) == 0)
			return true;
	}
	return false;
}

static struct str
trim(struct str s)
{
	while (s.len && (s.ptr[0] == ' ' || s.ptr[0] == '\t')) {
		s.ptr++;
		s.len--;
	}
	while (s.len && (s.ptr[s.len - 1] == ' ' || s.ptr[s.len - 1] == '\t'))
		s.len--;
	return s;
}

/*
 * The event is written straight into the output buffer rather than built as a jansson
 * tree and dumped: the tree cost an allocation per key and value and was most of the
 * gateway's CPU per request. The text is byte for byte what json_dumps(JSON_COMPACT |
 * JSON_PRESERVE_ORDER) wrote for that tree (tests/unit/test-gateway-mapping.c compares
 * the two), so functions see no difference.
 */

/* Appends s with each byte that is not part of valid UTF-8, and each NUL, replaced by
 * U+FFFD: the text a client's bytes become in the event. */
static void
add_clean(struct buf *out, struct str s)
{
	const unsigned char *p = (const unsigned char *)s.ptr, *end = p + s.len, *run;
	size_t len;

	buf_grow(out, s.len);
	while (p < end) {
		/* ASCII without NUL, the usual case, goes in runs. */
		run = p;
		while (p < end && *p && *p < 0x80)
			p++;
		buf_add(out, run, (size_t)(p - run));
		if (p == end)
			break;
		len = *p ? utf8_seq_len(p, (size_t)(end - p)) : 0;
		if (len == 0) {
			buf_add(out, "\xef\xbf\xbd", 3);
			len = 1;
		} else {
			buf_add(out, p, len);
		}
		p += len;
	}
}

/* Percent-decoded and cleaned, or the raw bytes cleaned when the escapes are bad (the
 * raw text stays in rawQueryString/rawPath for a function that wants to judge). */
static void
add_decoded(struct buf *out, struct str s)
{
	char *d = NULL;

	if (http_pct_decode(s, &d) < 0) {
		add_clean(out, s);
		return;
	}
	add_clean(out, str_cstr(d));
	free(d);
}

/* "name": as a key, quoted. */
static void
add_key(struct buf *out, const char *key)
{
	buf_addch(out, '"');
	buf_adds(out, key);
	buf_add(out, "\":", 2);
}

/*
 * Names that repeat (header names, query keys) become one member whose values are
 * joined with ',', at the place of the name's first occurrence, as jansson's objects kept
 * them. Grouping sorts the names instead of comparing each with every other: a head may
 * hold thousands of headers, and O(n^2) comparisons of them would be a cheap way to burn
 * the loop's CPU.
 */
struct kv {
	size_t key, key_len;	/* offsets into the arena */
	size_t val, val_len;
	size_t next;		/* the next item with this name, or SIZE_MAX */
	bool first;		/* the name's first occurrence */
};

static int
kv_cmp(const void *a, const void *b, void *data)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	const struct kv *items = ((const void **)data)[0];
	const char *arena = ((const void **)data)[1];
	const struct kv *x = &items[i], *y = &items[j];
	int c = memcmp(arena + x->key, arena + y->key, MIN(x->key_len, y->key_len));

	if (c)
		return c;
	if (x->key_len != y->key_len)
		return x->key_len < y->key_len ? -1 : 1;
	return i < j ? -1 : i > j;
}

/* Links each item to the next one with the same name and marks first occurrences. */
static void
group(struct kv *items, size_t n, const char *arena)
{
	size_t small[32], *order = n <= ARRAY_SIZE(small) ? small : xcalloc(n, sizeof(*order));
	const void *ctx[2] = { items, arena };
	size_t i;

	for (i = 0; i < n; i++) {
		order[i] = i;
		items[i].next = SIZE_MAX;
		items[i].first = true;
	}
	qsort_r(order, n, sizeof(*order), kv_cmp, ctx);
	for (i = 1; i < n; i++) {
		struct kv *prev = &items[order[i - 1]], *cur = &items[order[i]];

		if (prev->key_len == cur->key_len &&
		    memcmp(arena + prev->key, arena + cur->key, cur->key_len) == 0) {
			prev->next = order[i];
			cur->first = false;
		}
	}
	if (order != small)
		free(order);
}

/* {"name":"v1,v2",...} from grouped items; the values are already clean. */
static void
add_grouped(struct buf *out, const struct kv *items, size_t n, const struct buf *arena)
{
	struct buf v = BUF_INIT;
	size_t i, j;
	bool comma = false;

	buf_addch(out, '{');
	for (i = 0; i < n; i++) {
		if (!items[i].first)
			continue;
		if (comma)
			buf_addch(out, ',');
		comma = true;
		jscan_quote(out, str_from(arena->ptr + items[i].key, items[i].key_len));
		buf_addch(out, ':');
		buf_reset(&v);
		for (j = i; j != SIZE_MAX; j = items[j].next) {
			if (j != i)
				buf_addch(&v, ',');
			buf_add(&v, arena->ptr + items[j].val, items[j].val_len);
		}
		jscan_quote(out, str_from(v.ptr, v.len));
	}
	buf_addch(out, '}');
	buf_release(&v);
}

/* Cookie headers split at ';' into the cookies array, as API Gateway does. */
static void
add_cookies(struct buf *out, struct str v, bool *any)
{
	const char *p = v.ptr, *end = v.ptr + v.len;

	while (p < end) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		struct str c = trim(str_from(p, (size_t)((semi ? semi : end) - p)));

		if (c.len) {
			if (*any)
				buf_addch(out, ',');
			else
				ADD_LIT(out, "\"cookies\":[");
			*any = true;
			jscan_quote(out, c);
		}
		p = semi ? semi + 1 : end;
	}
}

/* "name":{...}, from items (sorted and grouped here), then the separator. */
static void
add_object(struct buf *out, const char *name, struct kv *items, size_t n,
	   const struct buf *arena)
{
	group(items, n, arena->ptr);
	add_key(out, name);
	add_grouped(out, items, n, arena);
	buf_addch(out, ',');
}

/* "cookies":[...], (when there is a cookie) then "headers":{...}: header names lower
 * case, repeated ones joined with ','. Names of 256 bytes or more, or not UTF-8, are
 * left out. */
static void
add_headers(struct buf *out, const struct http_request *req)
{
	struct kv small[32], *items = req->nheaders <= ARRAY_SIZE(small) ? small :
				      xcalloc(req->nheaders, sizeof(*items));
	struct buf arena = BUF_INIT;
	size_t i, j, n = 0;
	bool any = false;

	for (i = 0; i < req->nheaders; i++) {
		const struct http_header *hd = &req->headers[i];

		if (hd->name.len == 0 || hd->name.len >= 256)
			continue;
		if (str_caseeqs(hd->name, "cookie")) {
			add_cookies(out, hd->value, &any);
			continue;
		}
		items[n].key = arena.len;
		items[n].key_len = hd->name.len;
		buf_grow(&arena, hd->name.len);
		for (j = 0; j < hd->name.len; j++)
			arena.ptr[arena.len + j] = (char)tolower((unsigned char)hd->name.ptr[j]);
		buf_setlen(&arena, arena.len + hd->name.len);
		if (!utf8_valid(arena.ptr + items[n].key, hd->name.len)) {
			buf_setlen(&arena, items[n].key);
			continue;
		}
		items[n].val = arena.len;
		add_clean(&arena, hd->value);
		items[n].val_len = arena.len - items[n].val;
		n++;
	}
	if (any)
		buf_add(out, "],", 2);
	add_object(out, "headers", items, n, &arena);
	if (items != small)
		free(items);
	buf_release(&arena);
}

/* "queryStringParameters":{...}, with decoded keys and values, repeated keys joined
 * with ','; nothing when the query has no parameter. */
static void
add_query(struct buf *out, struct str q)
{
	const char *p = q.ptr, *end = q.ptr + q.len;
	struct kv small[32], *items = small;
	struct buf arena = BUF_INIT;
	size_t n = 0, cap = ARRAY_SIZE(small);

	while (p && p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *pend = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(pend - p));
		struct str k = str_from(p, (size_t)((eq ? eq : pend) - p));
		struct str v = eq ? str_from(eq + 1, (size_t)(pend - eq - 1)) : str_from("", 0);

		if (k.len) {
			if (n == cap) {
				cap *= 2;
				if (items == small) {
					items = xcalloc(cap, sizeof(*items));
					memcpy(items, small, sizeof(small));
				} else {
					items = xrealloc(items, cap * sizeof(*items));
				}
			}
			items[n].key = arena.len;
			add_decoded(&arena, k);
			items[n].key_len = arena.len - items[n].key;
			items[n].val = arena.len;
			add_decoded(&arena, v);
			items[n].val_len = arena.len - items[n].val;
			n++;
		}
		p = pend + (amp ? 1 : 0);
	}
	if (n)
		add_object(out, "queryStringParameters", items, n, &arena);
	if (items != small)
		free(items);
	buf_release(&arena);
}

/* "pathParameters":{...}, decoded; a name given twice keeps its first place and its
 * last value, as a jansson object did. */
static void
add_path_params(struct buf *out, const struct http_params *pp)
{
	struct buf v = BUF_INIT;
	size_t i, j, last;
	bool comma = false;

	if (!pp || !pp->n)
		return;
	add_key(out, "pathParameters");
	buf_addch(out, '{');
	for (i = 0; i < pp->n; i++) {
		for (j = 0; j < i && !str_eq(pp->name[j], pp->name[i]); j++)
			;
		if (j < i)
			continue;
		for (j = i, last = i; j < pp->n; j++)
			if (str_eq(pp->name[j], pp->name[i]))
				last = j;
		if (comma)
			buf_addch(out, ',');
		comma = true;
		jscan_quote(out, pp->name[i]);
		buf_addch(out, ':');
		buf_reset(&v);
		add_decoded(&v, pp->value[last]);
		jscan_quote(out, str_from(v.ptr, v.len));
	}
	buf_add(out, "},", 2);
	buf_release(&v);
}

void
gateway_event_build(const struct gateway_event_in *in, struct buf *out)
{
	const struct http_request *req = in->req;
	const struct str *ua = http_header_get(req, "user-agent");
	const struct str *host = http_header_get(req, "host");
	const struct str *ct = http_header_get(req, "content-type");
	struct str domain = host && host->len ? *host : STR_LIT("localhost");
	const char *dot;
	/* The last second's text is kept: under load many events share it. */
	static _Thread_local char when[40];
	static _Thread_local time_t when_secs = -1;
	time_t secs = (time_t)(in->now_ms / 1000);
	struct tm tm;

	if (secs != when_secs) {
		gmtime_r(&secs, &tm);
		/* API Gateway's CLF-style time; the C locale's month names are English. */
		strftime(when, sizeof(when), "%d/%b/%Y:%H:%M:%S +0000", &tm);
		when_secs = secs;
	}
	/* The domain's port is not part of its name. */
	dot = memchr(domain.ptr, ':', domain.len);
	if (dot && domain.ptr[0] != '[')
		domain.len = (size_t)(dot - domain.ptr);
	dot = memchr(domain.ptr, '.', domain.len);

	/* The body dominates a large event: room for it (as base64 at worst) up front. */
	buf_grow(out, 1024 + req->target.len + req->body.len / 3 * 4 + 4);
	ADD_LIT(out, "{\"version\":\"2.0\",\"routeKey\":");
	jscan_quote(out, str_cstr(in->route_key));
	ADD_LIT(out, ",\"rawPath\":");
	jscan_quote(out, req->path);
	ADD_LIT(out, ",\"rawQueryString\":");
	jscan_quote(out, req->query.ptr ? req->query : STR_LIT(""));
	buf_addch(out, ',');
	/* As API Gateway: cookies, queryStringParameters and pathParameters are there only
	 * when there is something in them. */
	add_headers(out, req);
	add_query(out, req->query);
	add_path_params(out, in->params);

	ADD_LIT(out, "\"requestContext\":{\"accountId\":\"000000000000\",\"apiId\":\"hearth\","
		"\"domainName\":");
	jscan_quote(out, domain);
	ADD_LIT(out, ",\"domainPrefix\":");
	jscan_quote(out, dot ? str_from(domain.ptr, (size_t)(dot - domain.ptr)) : domain);
	ADD_LIT(out, ",\"http\":{\"method\":");
	jscan_quote(out, req->method_name);
	ADD_LIT(out, ",\"path\":");
	jscan_quote(out, req->path);
	buf_adds(out, req->http_minor ? ",\"protocol\":\"HTTP/1.1\",\"sourceIp\":" :
					",\"protocol\":\"HTTP/1.0\",\"sourceIp\":");
	jscan_quote(out, str_cstr(req->peer_ip));
	ADD_LIT(out, ",\"userAgent\":");
	jscan_quote(out, ua ? *ua : STR_LIT(""));
	ADD_LIT(out, "},\"requestId\":");
	jscan_quote(out, str_cstr(in->request_id));
	ADD_LIT(out, ",\"routeKey\":");
	jscan_quote(out, str_cstr(in->route_key));
	ADD_LIT(out, ",\"stage\":\"$default\",\"time\":");
	jscan_quote(out, str_cstr(when));
	ADD_LIT(out, ",\"timeEpoch\":");
	add_u64(out, in->now_ms);
	ADD_LIT(out, "},\"stageVariables\":null,");
	if (!req->body.len) {
		ADD_LIT(out, "\"isBase64Encoded\":false}");
		return;
	}
	add_key(out, "body");
	if (gateway_body_is_text(ct, req->body.ptr, req->body.len)) {
		jscan_quote(out, str_from(req->body.ptr, req->body.len));
		ADD_LIT(out, ",\"isBase64Encoded\":false}");
		return;
	}
	/* Base64 needs no escaping. */
	buf_addch(out, '"');
	b64_encode(req->body.ptr, req->body.len, out);
	ADD_LIT(out, "\",\"isBase64Encoded\":true}");
}

/* ---- the response -------------------------------------------------------------------- */

void
gateway_response_release(struct gateway_response *r)
{
	buf_release(&r->body);
	buf_release(&r->strings);
	free(r->headers);
	r->headers = NULL;
	r->nheaders = 0;
}

/* RFC 9110 token characters: "!#$%&'*+-.^_`|~", digits and letters. A table, as every
 * header of every answer is checked (strspn() builds its set on each call). */
static const unsigned char tchar[256] = {
	['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1,
	['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1,
	['~'] = 1, ['0' ... '9'] = 1, ['a' ... 'z'] = 1, ['A' ... 'Z'] = 1,
};

static bool
token_ok(const char *s)
{
	size_t n = 0;

	while (tchar[(unsigned char)s[n]])
		n++;
	return n > 0 && n < 256 && s[n] == '\0';
}

/* Header values from a function: strings, or numbers and booleans as API Gateway
 * writes them. NULL for anything else. */
static char *
header_value(json_t *v)
{
	if (json_is_string(v))
		return xstrdup(json_string_value(v));
	if (json_is_integer(v))
		return xasprintf("%lld", (long long)json_integer_value(v));
	if (json_is_real(v))
		return xasprintf("%g", json_real_value(v));
	if (json_is_boolean(v))
		return xstrdup(json_is_true(v) ? "true" : "false");
	return NULL;
}

/* Offsets of names and values in r->strings until the buffer stops moving. */
struct hoff {
	size_t name, value;
};

static void
add_header(struct gateway_response *r, struct hoff **offs, size_t *cap, const char *name,
	   const char *value)
{
	if (r->nheaders == *cap) {
		*cap = *cap ? 2 * *cap : 8;
		*offs = xrealloc(*offs, *cap * sizeof(**offs));
	}
	(*offs)[r->nheaders].name = r->strings.len;
	buf_add(&r->strings, name, strlen(name) + 1);
	(*offs)[r->nheaders].value = r->strings.len;
	buf_add(&r->strings, value, strlen(value) + 1);
	r->nheaders++;
}

static int
map_object(json_t *o, struct gateway_response *r, struct hoff **offs, size_t *cap,
	   struct err *err)
{
	json_t *sc = json_object_get(o, "statusCode"), *h, *v, *body, *b64;
	const char *k;
	size_t i;

	if (json_is_integer(sc)) {
		r->status = (int)json_integer_value(sc);
		if (json_integer_value(sc) < 100 || json_integer_value(sc) > 599)
			r->status = 0;
	} else if (json_is_string(sc)) {
		char *end;
		long n = strtol(json_string_value(sc), &end, 10);

		r->status = *end || n < 100 || n > 599 ? 0 : (int)n;
	}
	if (r->status == 0)
		return err_setmsg(err, EBADMSG, "statusCode must be a number from 100 to 599");
	h = json_object_get(o, "headers");
	if (h && !json_is_null(h) && !json_is_object(h))
		return err_setmsg(err, EBADMSG, "headers must be an object of strings");
	json_object_foreach(h, k, v) {
		char *val = header_value(v);

		if (!val || !token_ok(k)) {
			free(val);
			return err_setmsg(err, EBADMSG, "header '%.64s' has a bad name or value", k);
		}
		add_header(r, offs, cap, k, val);
		free(val);
	}
	h = json_object_get(o, "cookies");
	if (h && !json_is_null(h) && !json_is_array(h))
		return err_setmsg(err, EBADMSG, "cookies must be an array of strings");
	json_array_foreach(h, i, v) {
		if (!json_is_string(v))
			return err_setmsg(err, EBADMSG, "cookies must be an array of strings");
		add_header(r, offs, cap, "Set-Cookie", json_string_value(v));
	}
	body = json_object_get(o, "body");
	b64 = json_object_get(o, "isBase64Encoded");
	if (b64 && !json_is_null(b64) && !json_is_boolean(b64))
		return err_setmsg(err, EBADMSG, "isBase64Encoded must be true or false");
	if (json_is_string(body)) {
		if (json_is_true(b64)) {
			if (b64_decode(json_string_value(body), json_string_length(body),
				       &r->body) < 0)
				return err_setmsg(err, EBADMSG, "body is not valid base64 although "
						  "isBase64Encoded is true");
		} else {
			buf_add(&r->body, json_string_value(body), json_string_length(body));
		}
	} else if (body && !json_is_null(body)) {
		/* Not a string: sent as its JSON text rather than refused. */
		char *text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);

		buf_adds(&r->body, text);
		free(text);
	}
	return 0;
}

/*
 * The answer read straight from its text (checked by jscan_check()), without a jansson
 * tree, for what functions send nearly always: statusCode, headers of strings, numbers or
 * booleans, cookies, a string body. It follows map_object() rule for rule (the unit tests
 * compare the two on random answers), including jansson's handling of a key given twice:
 * the last value, at the first one's place.
 */
enum fast {
	FAST_DONE = 0,		/* mapped */
	FAST_NOT_RESPONSE = 1,	/* no statusCode: a plain JSON value */
	FAST_NEEDS_TREE = 2,	/* a body that is neither a string nor null: map_object() */
};

/* A checked integer's value, as jansson reads it (it fits a long long). */
static long long
int_value(struct str text)
{
	char n[32];
	size_t len = MIN(text.len, sizeof(n) - 1);

	memcpy(n, text.ptr, len);
	n[len] = '\0';
	return strtoll(n, NULL, 10);
}

static double
real_value(struct str text)
{
	char *n = str_dup(text);
	double v = strtod(n, NULL);

	free(n);
	return v;
}

/* A header value as header_value() writes it; false for null, objects and arrays. */
static bool
fast_header_value(const struct jscan_member *m, struct buf *out)
{
	switch (m->type) {
	case JSCAN_STRING:
		jscan_unescape(str_from(m->value.ptr + 1, m->value.len - 2), out);
		return true;
	case JSCAN_INTEGER:
		buf_addf(out, "%lld", int_value(m->value));
		return true;
	case JSCAN_REAL:
		buf_addf(out, "%g", real_value(m->value));
		return true;
	case JSCAN_TRUE:
		buf_adds(out, "true");
		return true;
	case JSCAN_FALSE:
		buf_adds(out, "false");
		return true;
	default:
		return false;
	}
}

static int
fast_headers(struct str object, struct gateway_response *r, struct hoff **offs, size_t *cap,
	     struct err *err)
{
	struct jscan_iter it;
	struct jscan_member m, msmall[16], *ms = msmall;
	struct kv ksmall[16], *items = ksmall;
	struct buf keys = BUF_INIT, val = BUF_INIT;
	size_t n = 0, mcap = ARRAY_SIZE(msmall), i, last;
	int ret = 0;

	jscan_iter_init(&it, object);
	while (jscan_next(&it, &m)) {
		if (n == mcap) {
			/* Past the usual handful: to the heap. */
			mcap *= 2;
			if (ms == msmall) {
				ms = xcalloc(mcap, sizeof(*ms));
				items = xcalloc(mcap, sizeof(*items));
				memcpy(ms, msmall, sizeof(msmall));
				memcpy(items, ksmall, sizeof(ksmall));
			} else {
				ms = xrealloc(ms, mcap * sizeof(*ms));
				items = xrealloc(items, mcap * sizeof(*items));
			}
		}
		ms[n] = m;
		items[n].key = keys.len;
		jscan_unescape(m.key, &keys);
		items[n].key_len = keys.len - items[n].key;
		buf_addch(&keys, '\0');
		n++;
	}
	group(items, n, keys.ptr);
	for (i = 0; i < n && ret == 0; i++) {
		const char *k = keys.ptr + items[i].key;

		if (!items[i].first)
			continue;
		for (last = i; items[last].next != SIZE_MAX; last = items[last].next)
			;
		buf_reset(&val);
		if (!fast_header_value(&ms[last], &val) || !token_ok(k))
			ret = err_setmsg(err, EBADMSG, "header '%.64s' has a bad name or value", k);
		else
			add_header(r, offs, cap, k, val.ptr);
	}
	if (ms != msmall) {
		free(ms);
		free(items);
	}
	buf_release(&keys);
	buf_release(&val);
	return ret;
}

static int
map_fast(struct str payload, struct gateway_response *r, struct hoff **offs, size_t *cap,
	 struct err *err)
{
	struct jscan_member m, sc = { 0 }, h = { 0 }, cookies = { 0 }, body = { 0 }, b64 = { 0 };
	struct jscan_iter it;
	struct buf v = BUF_INIT;
	char *end;
	long n;
	int ret = 0;

	jscan_iter_init(&it, payload);
	while (jscan_next(&it, &m)) {
		if (jscan_str_eq(m.key, "statusCode"))
			sc = m;
		else if (jscan_str_eq(m.key, "headers"))
			h = m;
		else if (jscan_str_eq(m.key, "cookies"))
			cookies = m;
		else if (jscan_str_eq(m.key, "body"))
			body = m;
		else if (jscan_str_eq(m.key, "isBase64Encoded"))
			b64 = m;
	}
	if (sc.type == JSCAN_NONE)
		return FAST_NOT_RESPONSE;
	if (body.type != JSCAN_NONE && body.type != JSCAN_STRING && body.type != JSCAN_NULL)
		return FAST_NEEDS_TREE;
	if (sc.type == JSCAN_INTEGER) {
		long long code = int_value(sc.value);

		r->status = code < 100 || code > 599 ? 0 : (int)code;
	} else if (sc.type == JSCAN_STRING) {
		jscan_unescape(str_from(sc.value.ptr + 1, sc.value.len - 2), &v);
		n = strtol(v.ptr, &end, 10);
		r->status = *end || n < 100 || n > 599 ? 0 : (int)n;
	}
	if (r->status == 0) {
		ret = err_setmsg(err, EBADMSG, "statusCode must be a number from 100 to 599");
		goto out;
	}
	if (h.type != JSCAN_NONE && h.type != JSCAN_NULL && h.type != JSCAN_OBJECT) {
		ret = err_setmsg(err, EBADMSG, "headers must be an object of strings");
		goto out;
	}
	if (h.type == JSCAN_OBJECT && (ret = fast_headers(h.value, r, offs, cap, err)) < 0)
		goto out;
	if (cookies.type != JSCAN_NONE && cookies.type != JSCAN_NULL &&
	    cookies.type != JSCAN_ARRAY) {
		ret = err_setmsg(err, EBADMSG, "cookies must be an array of strings");
		goto out;
	}
	if (cookies.type == JSCAN_ARRAY) {
		jscan_iter_init(&it, cookies.value);
		while (jscan_next(&it, &m)) {
			if (m.type != JSCAN_STRING) {
				ret = err_setmsg(err, EBADMSG, "cookies must be an array of strings");
				goto out;
			}
			buf_reset(&v);
			jscan_unescape(str_from(m.value.ptr + 1, m.value.len - 2), &v);
			add_header(r, offs, cap, "Set-Cookie", v.ptr);
		}
	}
	if (b64.type != JSCAN_NONE && b64.type != JSCAN_NULL && b64.type != JSCAN_TRUE &&
	    b64.type != JSCAN_FALSE) {
		ret = err_setmsg(err, EBADMSG, "isBase64Encoded must be true or false");
		goto out;
	}
	if (body.type != JSCAN_STRING)
		goto out;
	if (b64.type != JSCAN_TRUE) {
		jscan_unescape(str_from(body.value.ptr + 1, body.value.len - 2), &r->body);
		goto out;
	}
	buf_reset(&v);
	jscan_unescape(str_from(body.value.ptr + 1, body.value.len - 2), &v);
	if (b64_decode(v.ptr, v.len, &r->body) < 0)
		ret = err_setmsg(err, EBADMSG, "body is not valid base64 although isBase64Encoded "
				 "is true");
out:
	buf_release(&v);
	return ret;
}

int
gateway_response_map(struct str payload, struct gateway_response *out, struct err *err)
{
	struct hoff *offs = NULL;
	size_t cap = 0, i;
	struct jscan_error jerr;
	enum jscan_type type;
	bool response;
	json_t *j;
	int r = 0;

	memset(out, 0, sizeof(*out));
	buf_init(&out->body);
	buf_init(&out->strings);
	/* Checked and read without a tree; only an answer whose body is neither a string
	 * nor null goes through jansson (the body is sent as its JSON text). */
	if (jscan_check_find(payload.ptr, payload.len, "statusCode", &response, &type, &jerr) < 0)
		return err_setmsg(err, EBADMSG, "the function's answer is not JSON: %s at byte %zu",
				  jerr.msg, jerr.offset);
	r = response ? map_fast(payload, out, &offs, &cap, err) : FAST_NOT_RESPONSE;
	if (r == FAST_NEEDS_TREE) {
		json_error_t jerr2;

		/* Cannot fail after jscan_check() (the tests hold the two to the same texts),
		 * but a disagreement must still be a 502, not a crash. */
		j = json_loadb(payload.ptr, payload.len, JSON_DECODE_ANY, &jerr2);
		if (!j)
			return err_setmsg(err, EBADMSG, "the function's answer is not JSON: %s",
					  jerr2.text);
		r = map_object(j, out, &offs, &cap, err);
		json_decref(j);
	} else if (r == FAST_NOT_RESPONSE) {
		r = 0;
		out->status = 200;
		add_header(out, &offs, &cap, "Content-Type", "application/json");
		buf_add(&out->body, payload.ptr, payload.len);
	}
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

/* ---- CORS ---------------------------------------------------------------------------- */

void
gateway_cors_release(struct gateway_cors *c)
{
	size_t i;

	for (i = 0; i < c->norigins; i++)
		free(c->allow_origins[i]);
	free(c->allow_origins);
	free(c->allow_methods);
	free(c->allow_headers);
	free(c->expose_headers);
	memset(c, 0, sizeof(*c));
}

/* A list of header names or methods joined with ", "; NULL when absent or empty. */
static int
joined(json_t *o, const char *field, char **out, struct err *err)
{
	json_t *a = json_object_get(o, field), *v;
	struct buf b = BUF_INIT;
	size_t i;

	*out = NULL;
	if (!a || json_is_null(a))
		return 0;
	if (!json_is_array(a))
		return err_setmsg(err, EINVAL, "cors '%s' must be a list of strings", field);
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || !(token_ok(json_string_value(v)) ||
					    strcmp(json_string_value(v), "*") == 0)) {
			buf_release(&b);
			return err_setmsg(err, EINVAL, "cors '%s' must be a list of names "
					  "(or \"*\")", field);
		}
		if (b.len)
			buf_adds(&b, ", ");
		buf_adds(&b, json_string_value(v));
	}
	if (b.len)
		*out = buf_detach(&b, NULL);
	buf_release(&b);
	return 0;
}

int
gateway_cors_parse(const char *text, struct gateway_cors *out, struct err *err)
{
	static const char *const known[] = { "allow_origins", "allow_methods", "allow_headers",
					     "expose_headers", "max_age", "allow_credentials" };
	json_error_t jerr;
	json_t *o, *v;
	const char *k;
	size_t i;
	int r = 0;

	memset(out, 0, sizeof(*out));
	out->max_age_s = -1;
	o = json_loads(text, 0, &jerr);
	if (!json_is_object(o)) {
		json_decref(o);
		return err_setmsg(err, EINVAL, "cors must be a JSON object");
	}
	json_object_foreach(o, k, v) {
		for (i = 0; i < ARRAY_SIZE(known); i++)
			if (strcmp(k, known[i]) == 0)
				break;
		if (i == ARRAY_SIZE(known)) {
			r = err_setmsg(err, EINVAL, "unknown cors field '%.64s' (known: allow_origins, "
				       "allow_methods, allow_headers, expose_headers, max_age, "
				       "allow_credentials)", k);
			goto out;
		}
	}
	v = json_object_get(o, "allow_origins");
	if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > 64) {
		r = err_setmsg(err, EINVAL, "cors 'allow_origins' must list 1 to 64 origins "
			       "(\"*\" or \"https://host[:port]\")");
		goto out;
	}
	out->allow_origins = xcalloc(json_array_size(v), sizeof(char *));
	for (i = 0; i < json_array_size(v); i++) {
		const char *s = json_string_value(json_array_get(v, i));

		if (!s || !*s || strlen(s) > 256 || strpbrk(s, " ,\r\n\t") ||
		    (strcmp(s, "*") != 0 && !strstr(s, "://"))) {
			r = err_setmsg(err, EINVAL, "invalid origin in cors 'allow_origins': use "
				       "\"*\" or \"https://host[:port]\"");
			goto out;
		}
		out->allow_origins[out->norigins++] = xstrdup(s);
	}
	if ((r = joined(o, "allow_methods", &out->allow_methods, err)) < 0 ||
	    (r = joined(o, "allow_headers", &out->allow_headers, err)) < 0 ||
	    (r = joined(o, "expose_headers", &out->expose_headers, err)) < 0)
		goto out;
	v = json_object_get(o, "max_age");
	if (v && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > 86400) {
			r = err_setmsg(err, EINVAL, "cors 'max_age' must be seconds from 0 to 86400");
			goto out;
		}
		out->max_age_s = (long)json_integer_value(v);
	}
	v = json_object_get(o, "allow_credentials");
	if (v && !json_is_null(v) && !json_is_boolean(v)) {
		r = err_setmsg(err, EINVAL, "cors 'allow_credentials' must be true or false");
		goto out;
	}
	out->allow_credentials = json_is_true(v);
	if (out->allow_credentials && out->norigins == 1 &&
	    strcmp(out->allow_origins[0], "*") == 0) {
		/* Browsers refuse credentials with a wildcard origin; say so now. */
		r = err_setmsg(err, EINVAL, "cors 'allow_credentials' cannot go with the origin "
			       "\"*\": list the origins");
		goto out;
	}
out:
	json_decref(o);
	if (r < 0)
		gateway_cors_release(out);
	return r;
}

static void
pair(struct buf *out, const char *name, const char *value)
{
	buf_add(out, name, strlen(name) + 1);
	buf_add(out, value, strlen(value) + 1);
}

size_t
gateway_cors_headers(const struct gateway_cors *c, const char *origin, bool preflight,
		     struct buf *out)
{
	bool any = false, listed = false;
	size_t i, n = 0;
	char age[24];

	if (!c || !origin || !*origin)
		return 0;
	for (i = 0; i < c->norigins; i++) {
		if (strcmp(c->allow_origins[i], "*") == 0)
			any = true;
		else if (strcasecmp(c->allow_origins[i], origin) == 0)
			listed = true;
	}
	if (!any && !listed)
		return 0;
	/* A listed origin is echoed (with Vary, for caches); "*" stays "*". */
	pair(out, "Access-Control-Allow-Origin", listed ? origin : "*");
	n++;
	if (listed) {
		pair(out, "Vary", "Origin");
		n++;
	}
	if (c->allow_credentials) {
		pair(out, "Access-Control-Allow-Credentials", "true");
		n++;
	}
	if (!preflight) {
		if (c->expose_headers) {
			pair(out, "Access-Control-Expose-Headers", c->expose_headers);
			n++;
		}
		return n;
	}
	if (c->allow_methods) {
		pair(out, "Access-Control-Allow-Methods", c->allow_methods);
		n++;
	}
	if (c->allow_headers) {
		pair(out, "Access-Control-Allow-Headers", c->allow_headers);
		n++;
	}
	if (c->max_age_s >= 0) {
		snprintf(age, sizeof(age), "%ld", c->max_age_s);
		pair(out, "Access-Control-Max-Age", age);
		n++;
	}
	return n;
}
