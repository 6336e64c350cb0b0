/*
 * The gateway service: its listener, the route table and one request's path
 * through it:
 *
 *   match route (or $default, or 404) -> CORS preflight answered here -> bearer
 *   token -> event (mapping.c) -> invoke_call() -> response mapping -> reply
 *
 * The table is rebuilt from the store after every change: routes change rarely
 * and a request must never see half an update. Each request copies what it
 * needs from its route (CORS headers, the target) before the call, so a route
 * removed while a call is in flight changes nothing for that call.
 *
 * Every path ends in http_reply(): a function that fails answers 502, one that
 * times out 504 (the invocation's own timeout bounds the wait), a throttle 429,
 * always with a JSON {"message": ...} as API Gateway writes them.
 */
#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gateway/gateway.h"
#include "lib/clock.h"
#include "lib/id.h"
#include "lib/log.h"
#include "lib/banned.h"

#define DEFAULT_HEADER_TIMEOUT_MS 10000
#define DEFAULT_IDLE_TIMEOUT_MS 30000

struct entry {
	struct route_config rc;
	struct gateway_key key;
	struct gateway_cors cors;
	bool has_cors;
};

struct table {
	struct entry *entries;		/* matched through routes[i].handler */
	struct http_route *routes;
	size_t n;
	struct entry *dflt;		/* $default, or NULL */
};

struct gateway {
	uv_loop_t *loop;
	struct store *st;
	struct invoke_service *inv;
	struct http_server *http;
	struct table table;
};

/* One request while its function runs. */
struct call {
	struct http_request *req;
	struct buf cors;		/* NUL-separated header pairs for the answer */
	size_t ncors;
	char request_id[37];
};

static void
table_release(struct table *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		route_config_release(&t->entries[i].rc);
		gateway_key_release(&t->entries[i].key);
		gateway_cors_release(&t->entries[i].cors);
	}
	free(t->entries);
	free(t->routes);
	memset(t, 0, sizeof(*t));
}

static int
entry_init(struct entry *e, const struct route_config *rc, struct err *err)
{
	memset(e, 0, sizeof(*e));
	if (gateway_key_parse(rc->key, &e->key, err) < 0)
		return -err->code;
	if (rc->cors_json) {
		if (gateway_cors_parse(rc->cors_json, &e->cors, err) < 0) {
			gateway_key_release(&e->key);
			return -err->code;
		}
		e->has_cors = true;
	}
	e->rc.id = xstrdup(rc->id);
	e->rc.key = xstrdup(rc->key);
	e->rc.function = xstrdup(rc->function);
	e->rc.qualifier = rc->qualifier ? xstrdup(rc->qualifier) : NULL;
	e->rc.token_sha256 = rc->token_sha256 ? xstrdup(rc->token_sha256) : NULL;
	return 0;
}

struct load {
	struct table *t;
	size_t cap;
};

static int
load_one(const struct route_config *rc, void *data)
{
	struct load *l = data;
	struct err err = ERR_INIT;

	if (l->t->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 8;
		l->t->entries = xrealloc(l->t->entries, l->cap * sizeof(*l->t->entries));
	}
	/* A row this hearth cannot parse is skipped with a warning rather than taking the
	 * whole gateway down; it was validated when it was stored. */
	if (entry_init(&l->t->entries[l->t->n], rc, &err) < 0) {
		log_warn("gateway: skipping route '%s': %s", rc->key, err.msg);
		return 0;
	}
	l->t->n++;
	return 0;
}

/* Method routes before ANY ones: on a tie the router takes the first, and a route
 * for the exact method is meant to win over ANY on the same path, as in API Gateway. */
static int
entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	return (x->key.method == -1) - (y->key.method == -1);
}

static int
table_load(struct gateway *gw, struct table *t, struct err *err)
{
	struct load l = { .t = t, .cap = 0 };
	size_t i, j;

	memset(t, 0, sizeof(*t));
	if (store_route_list(gw->st, load_one, &l, err) < 0) {
		table_release(t);
		return -err->code;
	}
	if (t->n)
		qsort(t->entries, t->n, sizeof(*t->entries), entry_cmp);
	t->routes = xcalloc(t->n ? t->n : 1, sizeof(*t->routes));
	for (i = 0, j = 0; i < t->n; i++) {
		if (!t->entries[i].key.path) {
			t->dflt = &t->entries[i];
			continue;
		}
		t->routes[j++] = (struct http_route){ t->entries[i].key.method,
						      t->entries[i].key.path, &t->entries[i], 0 };
	}
	/* The router's table holds the path routes only (nroutes()); n counts entries. */
	return 0;
}

static size_t
nroutes(const struct table *t)
{
	return t->n - (t->dflt ? 1 : 0);
}

static int
reload(struct gateway *gw, struct err *err)
{
	struct table t;

	if (table_load(gw, &t, err) < 0)
		return -err->code;
	table_release(&gw->table);
	gw->table = t;
	return 0;
}

/* ---- replies ------------------------------------------------------------------------- */

static void
add_pairs(struct http_header *h, size_t *n, const struct buf *pairs, size_t npairs)
{
	const char *p = pairs->ptr;
	size_t i;

	for (i = 0; i < npairs; i++) {
		h[*n].name = str_cstr(p);
		p += strlen(p) + 1;
		h[*n].value = str_cstr(p);
		p += strlen(p) + 1;
		(*n)++;
	}
}

/* API Gateway's error shape, {"message": "..."}, with the CORS headers of the route. */
static void
reply_message(struct http_request *req, int status, const char *message, const char *rid,
	      const struct buf *cors, size_t ncors, const char *extra_name,
	      const char *extra_value)
{
	struct http_header h[16];
	json_t *o = json_pack("{s:s}", "message", message);
	char *body = json_dumps(o, JSON_COMPACT);
	size_t n = 0;

	h[n++] = (struct http_header){ STR_LIT("Content-Type"), STR_LIT("application/json") };
	if (rid)
		h[n++] = (struct http_header){ STR_LIT("apigw-requestid"), str_cstr(rid) };
	if (extra_name)
		h[n++] = (struct http_header){ str_cstr(extra_name), str_cstr(extra_value) };
	if (cors)
		add_pairs(h, &n, cors, MIN(ncors, 8));
	http_reply(req, status, h, n, body, strlen(body));
	free(body);
	json_decref(o);
}

static void
call_free(struct call *c)
{
	buf_release(&c->cors);
	free(c);
}

/* Whether a failed call timed out: the invocation's error JSON says Sandbox.Timedout. */
static bool
timed_out(struct str body)
{
	json_t *j = json_loadb(body.ptr, body.len, 0, NULL);
	const char *type = json_string_value(json_object_get(j, "errorType"));
	bool r = type && strcmp(type, "Sandbox.Timedout") == 0;

	json_decref(j);
	return r;
}

static void
call_done(const struct invoke_result *res, void *data)
{
	struct call *c = data;
	struct gateway_response resp;
	struct err err = ERR_INIT;
	struct http_header *h;
	size_t n = 0;

	if (res->status == 429) {
		reply_message(c->req, 429, "Too Many Requests", c->request_id, &c->cors, c->ncors,
			      NULL, NULL);
		goto out;
	}
	if (res->function_error) {
		bool slow = timed_out(res->body);

		log_debug("gateway: %s: function error: %.*s", c->request_id,
			  (int)MIN(res->body.len, 512), res->body.ptr);
		reply_message(c->req, slow ? 504 : 502, slow ? "Gateway Timeout: the function "
			      "timed out" : "Bad Gateway: the function failed", c->request_id,
			      &c->cors, c->ncors, NULL, NULL);
		goto out;
	}
	if (gateway_response_map(res->body, &resp, &err) < 0) {
		log_warn("gateway: %s: malformed answer: %s", c->request_id, err.msg);
		gateway_response_release(&resp);
		reply_message(c->req, 502, "Bad Gateway: the function's answer is malformed",
			      c->request_id, &c->cors, c->ncors, NULL, NULL);
		goto out;
	}
	h = xcalloc(resp.nheaders + c->ncors + 1, sizeof(*h));
	memcpy(h, resp.headers, resp.nheaders * sizeof(*h));
	n = resp.nheaders;
	h[n++] = (struct http_header){ STR_LIT("apigw-requestid"), str_cstr(c->request_id) };
	add_pairs(h, &n, &c->cors, c->ncors);
	http_reply(c->req, resp.status, h, n, resp.body.ptr, resp.body.len);
	free(h);
	gateway_response_release(&resp);
out:
	call_free(c);
}

/* ---- requests ------------------------------------------------------------------------ */

/* The route for (method, path): a path route, else $default, else NULL. */
static const struct entry *
route_for(const struct gateway *gw, int method, struct str path, struct http_params *params)
{
	int i = http_route_match(gw->table.routes, nroutes(&gw->table), method, path, params);

	if (i >= 0)
		return gw->table.routes[i].handler;
	params->n = 0;
	return gw->table.dflt;
}

static bool
authorized(const struct entry *e, const struct http_request *req)
{
	const struct str *h = http_header_get(req, "authorization");
	char hash[65];

	if (!e->rc.token_sha256)
		return true;
	if (!h || h->len < 8 || strncasecmp(h->ptr, "Bearer ", 7) != 0)
		return false;
	/* Comparing hashes in constant time: timing tells nothing about the token. */
	gateway_token_hash(h->ptr + 7, h->len - 7, hash);
	return strlen(e->rc.token_sha256) == 64 &&
	       CRYPTO_memcmp(hash, e->rc.token_sha256, 64) == 0;
}

static char *
header_cstr(const struct http_request *req, const char *name)
{
	const struct str *h = http_header_get(req, name);

	return h ? str_dup(*h) : NULL;
}

/* The llhttp method for a preflight's Access-Control-Request-Method; -2 (which only ANY
 * routes match) for one routes cannot name. */
static int
method_from_name(const char *name)
{
	static const struct {
		const char *name;
		int method;
	} known[] = {
		{ "GET", HTTP_GET },	 { "POST", HTTP_POST },	    { "PUT", HTTP_PUT },
		{ "PATCH", HTTP_PATCH }, { "DELETE", HTTP_DELETE }, { "HEAD", HTTP_HEAD },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(known); i++) {
		if (strcmp(known[i].name, name) == 0)
			return known[i].method;
	}
	return -2;
}

/* An OPTIONS preflight for a route with CORS settings is answered here, without the
 * function, as API Gateway does. Returns true when it answered. */
static bool
preflight(struct gateway *gw, struct http_request *req)
{
	struct http_params params;
	const struct entry *e;
	struct http_header h[8];
	struct buf pairs = BUF_INIT;
	char *origin, *want;
	size_t n = 0, np;
	int m = -1;

	if (req->method != HTTP_OPTIONS || !http_header_get(req, "origin"))
		return false;
	want = header_cstr(req, "access-control-request-method");
	if (!want)
		return false;
	m = method_from_name(want);
	free(want);
	e = route_for(gw, m, req->path, &params);
	if (!e || !e->has_cors)
		return false;
	origin = header_cstr(req, "origin");
	np = gateway_cors_headers(&e->cors, origin, true, &pairs);
	add_pairs(h, &n, &pairs, MIN(np, 8));
	http_reply(req, 204, h, n, NULL, 0);
	buf_release(&pairs);
	free(origin);
	return true;
}

static void
handle(struct http_request *req, void *data)
{
	struct gateway *gw = data;
	struct invoke_request rq = { 0 };
	struct gateway_event_in in = { 0 };
	struct http_params params;
	struct err err = ERR_INIT;
	const struct entry *e;
	struct buf event = BUF_INIT;
	struct call *c;
	char *origin;

	if (preflight(gw, req))
		return;
	e = route_for(gw, req->method, req->path, &params);
	if (!e) {
		reply_message(req, 404, "Not Found", NULL, NULL, 0, NULL, NULL);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->req = req;
	buf_init(&c->cors);
	id_uuid(c->request_id);
	if (e->has_cors) {
		origin = header_cstr(req, "origin");
		c->ncors = gateway_cors_headers(&e->cors, origin, false, &c->cors);
		free(origin);
	}
	if (!authorized(e, req)) {
		reply_message(req, 401, "Unauthorized", c->request_id, &c->cors, c->ncors,
			      "WWW-Authenticate", "Bearer");
		call_free(c);
		return;
	}
	in.req = req;
	in.route_key = e->rc.key;
	in.params = &params;
	in.request_id = c->request_id;
	in.now_ms = clock_wall_ms();
	gateway_event_build(&in, &event);
	if (event.len > INVOKE_MAX_SYNC_PAYLOAD) {
		reply_message(req, 413, "Request Entity Too Large", c->request_id, &c->cors,
			      c->ncors, NULL, NULL);
		goto fail;
	}
	rq.name = e->rc.function;
	rq.qualifier = e->rc.qualifier;
	rq.payload = event.ptr;
	rq.len = event.len;
	if (invoke_call(gw->inv, &rq, call_done, c, &err) < 0) {
		int status = err.code == EBUSY ? 429 : err.code == ENOENT ? 502 : 503;

		log_warn("gateway: route '%s': %s", e->rc.key, err.msg);
		reply_message(req, status, status == 429 ? "Too Many Requests" :
			      status == 502 ? "Bad Gateway: the route's function does not exist" :
			      "Service Unavailable", c->request_id, &c->cors, c->ncors, NULL, NULL);
		goto fail;
	}
	buf_release(&event);
	return;
fail:
	buf_release(&event);
	call_free(c);
}

/* ---- the service --------------------------------------------------------------------- */

int
gateway_new(struct gateway **out, uv_loop_t *loop, struct store *st, struct invoke_service *inv,
	    const struct gateway_config *cfg, struct err *err)
{
	struct gateway *gw = xcalloc(1, sizeof(*gw));
	struct http_server_config hc = { 0 };

	gw->loop = loop;
	gw->st = st;
	gw->inv = inv;
	if (table_load(gw, &gw->table, err) < 0) {
		free(gw);
		return err_wrap(err, "cannot load the gateway's routes");
	}
	hc.header_timeout_ms = cfg && cfg->header_timeout_ms ? cfg->header_timeout_ms :
							       DEFAULT_HEADER_TIMEOUT_MS;
	hc.idle_timeout_ms = cfg && cfg->idle_timeout_ms ? cfg->idle_timeout_ms :
							   DEFAULT_IDLE_TIMEOUT_MS;
	hc.max_body_bytes = cfg && cfg->max_body_bytes ? cfg->max_body_bytes :
							 GATEWAY_MAX_BODY_BYTES;
	gw->http = http_server_new(loop, &hc, handle, gw);
	*out = gw;
	return 0;
}

int
gateway_listen(struct gateway *gw, const char *host, int port, int *bound_port,
	       struct err *err)
{
	return http_server_listen(gw->http, host, port, bound_port, err);
}

void
gateway_stop(struct gateway *gw)
{
	if (gw)
		http_server_stop(gw->http);
}

void
gateway_free(struct gateway *gw)
{
	if (!gw)
		return;
	http_server_free(gw->http);
	table_release(&gw->table);
	free(gw);
}

int
gateway_route_put(struct gateway *gw, struct route_config *rc, int *created, struct err *err)
{
	struct gateway_key key;
	struct gateway_cors cors;
	char id[13];
	int r;

	if (gateway_key_parse(rc->key, &key, err) < 0)
		return -err->code;
	gateway_key_release(&key);
	if (rc->cors_json) {
		if (gateway_cors_parse(rc->cors_json, &cors, err) < 0)
			return -err->code;
		gateway_cors_release(&cors);
	}
	if (!invoke_resolve(gw->inv, rc->function, rc->qualifier, err))
		return -err->code;
	if (!rc->id) {
		id_hex(id, 6);
		rc->id = xasprintf("r%s", id);
	}
	r = store_route_put(gw->st, rc, created, err);
	if (r < 0)
		return r;
	return reload(gw, err);
}

int
gateway_route_delete(struct gateway *gw, const char *id_or_key, struct err *err)
{
	int r = store_route_delete(gw->st, id_or_key, err);

	if (r < 0)
		return r;
	return reload(gw, err);
}
