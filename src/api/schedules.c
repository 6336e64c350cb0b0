/*
 * Schedules: /v1/schedules (list), /v1/schedules/{name} (PUT, GET, DELETE),
 * /v1/schedules/{name}/enable and /disable (POST). Every answer about a
 * schedule carries its next firing times, so a user can check an expression
 * before it first fires.
 *
 *   PUT body: {"expression": "rate(5 minutes)", "function": "NAME",
 *              "payload": <any JSON> (optional), "enabled": true (optional)}
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/api-internal.h"
#include "lib/clock.h"
#include "triggers/triggers.h"
#include "lib/banned.h"

#define NEXT_FIRINGS 5

static json_t *
schedule_json(const struct schedule *sc)
{
	uint64_t next[NEXT_FIRINGS];
	int n = schedule_next_firings(sc, clock_wall_ms(), next, NEXT_FIRINGS), i;
	json_t *times = json_array(), *payload = NULL;
	char ts[32];

	for (i = 0; i < n; i++) {
		clock_iso8601(next[i], ts);
		json_array_append_new(times, json_string(ts));
	}
	if (sc->payload)
		payload = json_loads(sc->payload, JSON_DECODE_ANY, NULL);
	return json_pack("{s:s, s:s, s:s, s:o, s:b, s:I, s:I, s:I, s:s?, s:o}", "name", sc->name,
			 "expression", sc->expression, "function", sc->function, "payload",
			 payload ? payload : json_null(), "enabled", sc->enabled, "created_ms",
			 (json_int_t)sc->created_ms, "updated_ms", (json_int_t)sc->updated_ms,
			 "last_fired_ms", (json_int_t)sc->last_fired_ms, "last_error",
			 sc->last_error, "next_firings", times);
}

/* The {name} parameter, validated; replies 400 and returns NULL when bad. */
static char *
sched_name(struct api_call *c)
{
	struct str raw = http_param(&c->params, "name");
	char *name = NULL, msg[160];

	if (http_pct_decode(raw, &name) < 0 || !schedule_name_valid(name)) {
		snprintf(msg, sizeof(msg), "invalid schedule name '%.*s': use 1 to 64 letters, "
			 "digits, '.', '-' or '_'", (int)MIN(raw.len, 64), raw.ptr);
		api__error(c->req, EINVAL, msg);
		free(name);
		return NULL;
	}
	return name;
}

static bool
service_up(struct api_call *c)
{
	if (c->api->schedules)
		return true;
	api__error(c->req, EAGAIN, "the platform is shutting down");
	return false;
}

static int
list_one(const struct schedule *sc, void *data)
{
	json_array_append_new(data, schedule_json(sc));
	return 0;
}

void
api__sched_list(struct api_call *c)
{
	json_t *arr = json_array();
	struct err err = ERR_INIT;

	if (store_schedule_list(c->api->store, list_one, arr, &err) < 0) {
		json_decref(arr);
		api__error(c->req, err.code, err.msg);
		return;
	}
	api__reply_json(c->req, 200, json_pack("{s:o}", "schedules", arr));
}

void
api__sched_get(struct api_call *c)
{
	struct schedule sc;
	struct err err = ERR_INIT;
	char *name = sched_name(c);

	if (!name)
		return;
	if (store_schedule_get(c->api->store, name, &sc, &err) < 0) {
		api__error(c->req, err.code, err.msg);
	} else {
		api__reply_json(c->req, 200, schedule_json(&sc));
		schedule_release(&sc);
	}
	free(name);
}

static int
parse_put(json_t *o, struct schedule *sc, struct err *err)
{
	static const char *const known[] = { "expression", "function", "payload", "enabled" };
	json_t *v;
	const char *k;
	size_t i;

	json_object_foreach(o, k, v) {
		for (i = 0; i < ARRAY_SIZE(known); i++)
			if (strcmp(k, known[i]) == 0)
				break;
		if (i == ARRAY_SIZE(known))
			return err_setmsg(err, EINVAL, "unknown field '%s' (known: expression, "
					  "function, payload, enabled)", k);
	}
	v = json_object_get(o, "expression");
	if (!json_is_string(v))
		return err_setmsg(err, EINVAL, "'expression' is required: rate(...), cron(...) or "
				  "a five-field cron line");
	sc->expression = xstrdup(json_string_value(v));
	v = json_object_get(o, "function");
	if (!json_is_string(v))
		return err_setmsg(err, EINVAL, "'function' is required: the function to invoke");
	sc->function = xstrdup(json_string_value(v));
	v = json_object_get(o, "payload");
	if (v && !json_is_null(v))
		sc->payload = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	v = json_object_get(o, "enabled");
	if (v && !json_is_boolean(v))
		return err_setmsg(err, EINVAL, "'enabled' must be true or false");
	sc->enabled = v ? json_is_true(v) : 1;
	return 0;
}

void
api__sched_put(struct api_call *c)
{
	struct schedule sc = { 0 };
	struct err err = ERR_INIT;
	json_error_t jerr;
	json_t *o = NULL;
	int created = 0;

	if (!service_up(c))
		return;
	sc.name = sched_name(c);
	if (!sc.name)
		return;
	o = json_loadb(c->req->body.ptr, c->req->body.len, 0, &jerr);
	if (!json_is_object(o)) {
		err_setmsg(&err, EINVAL, "malformed JSON: %s", o ? "expected an object" : jerr.text);
		api__error(c->req, EINVAL, err.msg);
	} else if (parse_put(o, &sc, &err) < 0 ||
		   schedule_put(c->api->schedules, &sc, &created, &err) < 0) {
		api__error(c->req, err.code, err.msg);
	} else {
		api__reply_json(c->req, created ? 201 : 200, schedule_json(&sc));
	}
	json_decref(o);
	schedule_release(&sc);
}

void
api__sched_delete(struct api_call *c)
{
	struct err err = ERR_INIT;
	char *name;

	if (!service_up(c))
		return;
	name = sched_name(c);
	if (!name)
		return;
	if (schedule_delete(c->api->schedules, name, &err) < 0)
		api__error(c->req, err.code, err.msg);
	else
		http_reply(c->req, 204, NULL, 0, NULL, 0);
	free(name);
}

static void
set_enabled(struct api_call *c, bool enabled)
{
	struct schedule sc;
	struct err err = ERR_INIT;
	char *name;

	if (!service_up(c))
		return;
	name = sched_name(c);
	if (!name)
		return;
	if (schedule_enable(c->api->schedules, name, enabled, &err) < 0 ||
	    store_schedule_get(c->api->store, name, &sc, &err) < 0) {
		api__error(c->req, err.code, err.msg);
	} else {
		api__reply_json(c->req, 200, schedule_json(&sc));
		schedule_release(&sc);
	}
	free(name);
}

void
api__sched_enable(struct api_call *c)
{
	set_enabled(c, true);
}

void
api__sched_disable(struct api_call *c)
{
	set_enabled(c, false);
}
