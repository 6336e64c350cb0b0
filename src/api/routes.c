/*
 * Gateway routes: /v1/routes (GET list, POST create-or-replace by route key) and
 * /v1/routes/{id} (GET, DELETE), where {id} is the route's id or its key
 * percent-encoded ("GET%20%2Fhello%2F%7Bname%7D").
 *
 *   POST body: {"route": "GET /hello/{name}", "function": "NAME[:QUALIFIER]",
 *               "qualifier": "live" (optional), "auth": "none" | "bearer",
 *               "token": "..." (with bearer), "cors": {...} (optional)}
 *
 * A bearer token is write-only: the store keeps its SHA-256, answers say only
 * "auth": "bearer".
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/api-internal.h"
#include "gateway/gateway.h"
#include "lib/banned.h"

#define TOKEN_MIN 8
#define TOKEN_MAX 512

static json_t *
route_json(const struct route_config *rc)
{
	json_t *cors = rc->cors_json ? json_loads(rc->cors_json, 0, NULL) : NULL;
	char *target = rc->qualifier ? xasprintf("%s:%s", rc->function, rc->qualifier) :
				       xstrdup(rc->function);
	json_t *o = json_pack("{s:s, s:s, s:s, s:s?, s:s, s:s, s:o, s:I, s:I}", "id", rc->id,
			      "route", rc->key, "function", rc->function, "qualifier",
			      rc->qualifier, "target", target, "auth",
			      rc->token_sha256 ? "bearer" : "none", "cors",
			      cors ? cors : json_null(), "created_ms", (json_int_t)rc->created_ms,
			      "updated_ms", (json_int_t)rc->updated_ms);

	free(target);
	return o;
}

static bool
service_up(struct api_call *c)
{
	if (c->api->gateway)
		return true;
	api__error(c->req, EAGAIN, "the platform is shutting down");
	return false;
}

static int
list_one(const struct route_config *rc, void *data)
{
	json_array_append_new(data, route_json(rc));
	return 0;
}

void
api__route_list(struct api_call *c)
{
	json_t *arr = json_array();
	struct err err = ERR_INIT;

	if (store_route_list(c->api->store, list_one, arr, &err) < 0) {
		json_decref(arr);
		api__error(c->req, err.code, err.msg);
		return;
	}
	api__reply_json(c->req, 200, json_pack("{s:o}", "routes", arr));
}

/* The {id} parameter, decoded: an id or a route key. Replies 400 and returns NULL when bad. */
static char *
route_ref(struct api_call *c)
{
	char *ref = NULL;

	if (http_pct_decode(http_param(&c->params, "id"), &ref) < 0 ||
	    strlen(ref) > GATEWAY_ROUTE_KEY_MAX) {
		api__error(c->req, EINVAL, "invalid route id or key");
		free(ref);
		return NULL;
	}
	return ref;
}

void
api__route_get(struct api_call *c)
{
	struct route_config rc;
	struct err err = ERR_INIT;
	char *ref = route_ref(c);

	if (!ref)
		return;
	if (store_route_get(c->api->store, ref, &rc, &err) < 0) {
		api__error(c->req, err.code, err.msg);
	} else {
		api__reply_json(c->req, 200, route_json(&rc));
		route_config_release(&rc);
	}
	free(ref);
}

static int
parse_target(json_t *o, struct route_config *rc, struct err *err)
{
	json_t *f = json_object_get(o, "function"), *q = json_object_get(o, "qualifier");
	const char *colon;

	if (!json_is_string(f))
		return err_setmsg(err, EINVAL, "'function' is required: NAME or NAME:QUALIFIER");
	colon = strchr(json_string_value(f), ':');
	rc->function = colon ? xstrndup(json_string_value(f),
					(size_t)(colon - json_string_value(f))) :
			       xstrdup(json_string_value(f));
	if (q && !json_is_null(q) && !json_is_string(q))
		return err_setmsg(err, EINVAL, "'qualifier' must be a version number or an alias");
	if (colon && json_is_string(q) && strcmp(colon + 1, json_string_value(q)) != 0)
		return err_setmsg(err, EINVAL, "the qualifier in 'function' and 'qualifier' differ");
	if (colon)
		rc->qualifier = xstrdup(colon + 1);
	else if (json_is_string(q))
		rc->qualifier = xstrdup(json_string_value(q));
	if (!api__fn_name_ok(rc->function))
		return err_setmsg(err, EINVAL, "invalid function name '%s': use 1 to 64 letters, "
				  "digits, '-' or '_'", rc->function);
	/* $LATEST is what no qualifier means; keep one spelling of it. */
	if (rc->qualifier && strcmp(rc->qualifier, "$LATEST") == 0) {
		free(rc->qualifier);
		rc->qualifier = NULL;
	}
	return 0;
}

static int
parse_put(json_t *o, struct route_config *rc, struct err *err)
{
	static const char *const known[] = { "route", "function", "qualifier", "auth", "token",
					     "cors" };
	json_t *v, *auth, *token;
	const char *k;
	char hash[65];
	size_t i;

	json_object_foreach(o, k, v) {
		for (i = 0; i < ARRAY_SIZE(known); i++)
			if (strcmp(k, known[i]) == 0)
				break;
		if (i == ARRAY_SIZE(known))
			return err_setmsg(err, EINVAL, "unknown field '%.64s' (known: route, function, "
					  "qualifier, auth, token, cors)", k);
	}
	v = json_object_get(o, "route");
	if (!json_is_string(v))
		return err_setmsg(err, EINVAL, "'route' is required: 'METHOD /path' or '$default'");
	rc->key = xstrdup(json_string_value(v));
	if (parse_target(o, rc, err) < 0)
		return -err->code;
	auth = json_object_get(o, "auth");
	token = json_object_get(o, "token");
	if (auth && !json_is_null(auth) &&
	    !(json_is_string(auth) && (strcmp(json_string_value(auth), "none") == 0 ||
				       strcmp(json_string_value(auth), "bearer") == 0)))
		return err_setmsg(err, EINVAL, "'auth' must be \"none\" or \"bearer\"");
	if (json_is_string(auth) && strcmp(json_string_value(auth), "none") == 0 && token &&
	    !json_is_null(token))
		return err_setmsg(err, EINVAL, "'token' goes with \"auth\": \"bearer\" only");
	if (json_is_string(auth) && strcmp(json_string_value(auth), "bearer") == 0 &&
	    !json_is_string(token))
		return err_setmsg(err, EINVAL, "\"auth\": \"bearer\" needs a 'token'");
	if (token && !json_is_null(token)) {
		const char *t = json_string_value(token);
		size_t n = t ? strlen(t) : 0;

		if (!t || n < TOKEN_MIN || n > TOKEN_MAX || strpbrk(t, " \t\r\n"))
			return err_setmsg(err, EINVAL, "'token' must be %d to %d characters without "
					  "spaces", TOKEN_MIN, TOKEN_MAX);
		gateway_token_hash(t, n, hash);
		rc->token_sha256 = xstrdup(hash);
	}
	v = json_object_get(o, "cors");
	if (v && !json_is_null(v)) {
		if (!json_is_object(v))
			return err_setmsg(err, EINVAL, "'cors' must be an object");
		rc->cors_json = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
	}
	return 0;
}

void
api__route_put(struct api_call *c)
{
	struct route_config rc = { 0 };
	struct err err = ERR_INIT;
	json_error_t jerr;
	json_t *o = NULL;
	int created = 0;

	if (!service_up(c))
		return;
	o = json_loadb(c->req->body.ptr, c->req->body.len, 0, &jerr);
	if (!json_is_object(o)) {
		err_setmsg(&err, EINVAL, "malformed JSON: %s", o ? "expected an object" : jerr.text);
		api__error(c->req, EINVAL, err.msg);
	} else if (parse_put(o, &rc, &err) < 0 ||
		   gateway_route_put(c->api->gateway, &rc, &created, &err) < 0) {
		api__error(c->req, err.code, err.msg);
	} else {
		api__reply_json(c->req, created ? 201 : 200, route_json(&rc));
	}
	json_decref(o);
	route_config_release(&rc);
}

void
api__route_delete(struct api_call *c)
{
	struct err err = ERR_INIT;
	char *ref;

	if (!service_up(c))
		return;
	ref = route_ref(c);
	if (!ref)
		return;
	if (gateway_route_delete(c->api->gateway, ref, &err) < 0)
		api__error(c->req, err.code, err.msg);
	else
		http_reply(c->req, 204, NULL, 0, NULL, 0);
	free(ref);
}
