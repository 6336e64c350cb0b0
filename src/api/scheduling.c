/*
 * GET, PUT /v1/functions/{name}/scheduling: a function's scheduling settings.
 *
 *   {"function": "hello", "provisioned": 0-1000,
 *    "keepalive_policy": "default" | "fixed" | "adaptive",
 *    "reserved": null | 0-1000}
 *
 * provisioned: instances of $LATEST initialised ahead and kept (re-created if
 * one dies). keepalive_policy: how long idle instances of every version stay
 * warm; "default" follows `hearth serve --keepalive-policy`. reserved: the
 * function's reserved concurrency, a cap on its instances across all its
 * versions (null: none; 0 throttles every call), the same setting as Lambda's
 * PutFunctionConcurrency. PUT merges: a field left out keeps its value.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/api-internal.h"
#include "lib/banned.h"

/* Marks "reserved" left out of a PUT. */
#define RESERVED_UNCHANGED (-2)

static json_t *
sched_json(const char *name, const struct fn_sched *s, int64_t reserved)
{
	return json_pack("{s:s, s:I, s:s, s:o}", "function", name, "provisioned",
			 (json_int_t)s->provisioned, "keepalive_policy",
			 *s->keepalive_policy ? s->keepalive_policy : "default", "reserved",
			 reserved >= 0 ? json_integer((json_int_t)reserved) : json_null());
}

static int
merge(json_t *o, struct fn_sched *s, int64_t *reserved, struct err *err)
{
	const char *k, *p;
	json_t *v;

	json_object_foreach(o, k, v) {
		if (strcmp(k, "provisioned") && strcmp(k, "keepalive_policy") &&
		    strcmp(k, "reserved"))
			return err_setmsg(err, EINVAL, "unknown field '%s' (known: provisioned, "
					  "keepalive_policy, reserved)", k);
	}
	v = json_object_get(o, "reserved");
	if (json_is_null(v)) {
		*reserved = -1;
	} else if (v) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > 1000)
			return err_setmsg(err, EINVAL, "'reserved' must be null or an integer from 0 "
					  "to 1000");
		*reserved = json_integer_value(v);
	}
	v = json_object_get(o, "provisioned");
	if (v) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > 1000)
			return err_setmsg(err, EINVAL, "'provisioned' must be an integer from 0 to "
					  "1000");
		s->provisioned = (uint32_t)json_integer_value(v);
	}
	v = json_object_get(o, "keepalive_policy");
	if (v) {
		p = json_string_value(v);
		if (!p || (strcmp(p, "default") && strcmp(p, "fixed") && strcmp(p, "adaptive")))
			return err_setmsg(err, EINVAL, "'keepalive_policy' must be default, fixed or "
					  "adaptive");
		s->keepalive_policy = strcmp(p, "default") == 0 ? "" : p;
	}
	return 0;
}

void
api__scheduling_get(struct api_call *c)
{
	char *name = api__name(c), msg[128];
	struct fn_sched s;

	if (!name)
		return;
	if (invoke_sched_get(c->api->invoke, name, &s) < 0) {
		snprintf(msg, sizeof(msg), "function '%s' does not exist", name);
		api__error(c->req, ENOENT, msg);
	} else {
		api__reply_json(c->req, 200, sched_json(name, &s,
							invoke_concurrency_get(c->api->invoke, name)));
	}
	free(name);
}

void
api__scheduling_put(struct api_call *c)
{
	char *name = api__name(c), policy[12];
	struct err err = ERR_INIT;
	struct fn_sched s;
	int64_t reserved = RESERVED_UNCHANGED;
	json_error_t jerr;
	json_t *o = NULL;

	if (!name)
		return;
	if (invoke_sched_get(c->api->invoke, name, &s) < 0) {
		err_setmsg(&err, ENOENT, "function '%s' does not exist", name);
		goto fail;
	}
	/* s.keepalive_policy points into the registry, which the update rewrites. */
	snprintf(policy, sizeof(policy), "%s", s.keepalive_policy);
	s.keepalive_policy = policy;
	o = json_loadb(c->req->body.ptr, c->req->body.len, 0, &jerr);
	if (!json_is_object(o)) {
		err_setmsg(&err, EINVAL, "malformed JSON: %s", o ? "expected an object" : jerr.text);
		goto fail;
	}
	if (merge(o, &s, &reserved, &err) < 0 ||
	    store_fn_sched_set(c->api->store, name, &s, &err) < 0)
		goto fail;
	invoke_sched_set(c->api->invoke, name, &s);
	if (reserved != RESERVED_UNCHANGED) {
		if (store_concurrency_set(c->api->store, name, reserved, &err) < 0)
			goto fail;
		invoke_concurrency_set(c->api->invoke, name, reserved);
	}
	invoke_sched_get(c->api->invoke, name, &s);
	api__reply_json(c->req, 200, sched_json(name, &s,
						invoke_concurrency_get(c->api->invoke, name)));
	goto out;
fail:
	api__error(c->req, err.code, err.msg);
out:
	json_decref(o);
	free(name);
}
