/*
 * GET, PUT, DELETE /v1/functions/{name}/async-config: a function's
 * asynchronous invocation settings (Lambda's event invoke config).
 *
 *   {"max_retry_attempts": 0-2, "max_event_age_s": 60-21600,
 *    "on_success": "FUNCTION" | null, "on_failure": "FUNCTION" | null}
 *
 * PUT merges: a field left out keeps its value, null clears a destination.
 * A destination may be given as a name or a Lambda function ARN; it is
 * stored as the name, and must exist when it is set.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/api-internal.h"
#include "lib/banned.h"

static json_t *
config_json(const struct async_config *c)
{
	return json_pack("{s:s, s:i, s:i, s:s?, s:s?, s:I}", "function", c->function,
			 "max_retry_attempts", (int)c->max_retry, "max_event_age_s",
			 (int)c->max_age_s, "on_success", c->on_success, "on_failure",
			 c->on_failure, "updated_ms", (json_int_t)c->updated_ms);
}

static bool
name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 64)
		return false;
	for (i = 0; i < n; i++)
		if (!(s[i] == '-' || s[i] == '_' || (s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z')))
			return false;
	return true;
}

/* "name" or "arn:aws:lambda:REGION:ACCOUNT:function:name[:$LATEST]" -> name. */
static int
destination(struct api *api, json_t *v, const char *field, char **out, struct err *err)
{
	const char *s, *p;
	char *name;

	if (json_is_null(v)) {
		free(*out);
		*out = NULL;
		return 0;
	}
	if (!json_is_string(v))
		return err_setmsg(err, EINVAL, "'%s' must be a function name, an ARN or null", field);
	s = json_string_value(v);
	p = strstr(s, ":function:");
	if (strncmp(s, "arn:", 4) == 0 && p) {
		name = xstrdup(p + 10);
		if (strchr(name, ':') && strcmp(strchr(name, ':'), ":$LATEST") == 0)
			*strchr(name, ':') = '\0';
	} else {
		name = xstrdup(s);
	}
	if (!name_ok(name)) {
		err_setmsg(err, EINVAL, "'%s': '%s' is not a function name or a Lambda function ARN "
			   "(queues are not destinations yet)", field, s);
		free(name);
		return -EINVAL;
	}
	if (!invoke_fn_get(api->invoke, name)) {
		err_setmsg(err, ENOENT, "'%s': function '%s' does not exist", field, name);
		free(name);
		return -ENOENT;
	}
	free(*out);
	*out = name;
	return 0;
}

static int
int_field(json_t *o, const char *k, long long lo, long long hi, uint32_t *out, struct err *err)
{
	json_t *v = json_object_get(o, k);

	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return err_setmsg(err, EINVAL, "'%s' must be an integer from %lld to %lld", k, lo, hi);
	*out = (uint32_t)json_integer_value(v);
	return 0;
}

static int
merge(struct api *api, json_t *o, struct async_config *c, struct err *err)
{
	static const char *const known[] = { "max_retry_attempts", "max_event_age_s",
					     "on_success", "on_failure" };
	const char *k;
	json_t *v;
	size_t i;

	json_object_foreach(o, k, v) {
		for (i = 0; i < ARRAY_SIZE(known); i++)
			if (strcmp(k, known[i]) == 0)
				break;
		if (i == ARRAY_SIZE(known))
			return err_setmsg(err, EINVAL, "unknown field '%s' (known: max_retry_attempts, "
					  "max_event_age_s, on_success, on_failure)", k);
	}
	if (int_field(o, "max_retry_attempts", 0, 2, &c->max_retry, err) < 0 ||
	    int_field(o, "max_event_age_s", 60, 21600, &c->max_age_s, err) < 0)
		return -err->code;
	v = json_object_get(o, "on_success");
	if (v && destination(api, v, "on_success", &c->on_success, err) < 0)
		return -err->code;
	v = json_object_get(o, "on_failure");
	if (v && destination(api, v, "on_failure", &c->on_failure, err) < 0)
		return -err->code;
	return 0;
}

/* The name parameter of a function that exists; replies and returns NULL otherwise. */
static char *
existing(struct api_call *c)
{
	char *name = api__name(c), msg[128];

	if (name && !invoke_fn_get(c->api->invoke, name)) {
		snprintf(msg, sizeof(msg), "function '%s' does not exist", name);
		api__error(c->req, ENOENT, msg);
		free(name);
		return NULL;
	}
	return name;
}

void
api__async_get(struct api_call *c)
{
	struct async_config cfg;
	struct err err = ERR_INIT;
	char *name = existing(c);

	if (!name)
		return;
	if (store_async_config_get(c->api->store, name, &cfg, &err) < 0 && err.code != ENOENT)
		api__error(c->req, err.code, err.msg);
	else
		api__reply_json(c->req, 200, config_json(&cfg));
	async_config_release(&cfg);
	free(name);
}

void
api__async_put(struct api_call *c)
{
	struct async_config cfg;
	struct err err = ERR_INIT;
	json_error_t jerr;
	char *name = existing(c);
	json_t *o = NULL;

	if (!name)
		return;
	if (store_async_config_get(c->api->store, name, &cfg, &err) < 0 && err.code != ENOENT) {
		api__error(c->req, err.code, err.msg);
		goto out;
	}
	o = json_loadb(c->req->body.ptr, c->req->body.len, 0, &jerr);
	if (!json_is_object(o)) {
		err_setmsg(&err, EINVAL, "malformed JSON: %s", o ? "expected an object" : jerr.text);
		api__error(c->req, EINVAL, err.msg);
		goto out;
	}
	if (merge(c->api, o, &cfg, &err) < 0 ||
	    store_async_config_put(c->api->store, &cfg, &err) < 0) {
		api__error(c->req, err.code, err.msg);
		goto out;
	}
	api__reply_json(c->req, 200, config_json(&cfg));
out:
	json_decref(o);
	async_config_release(&cfg);
	free(name);
}

void
api__async_delete(struct api_call *c)
{
	struct err err = ERR_INIT;
	char *name = existing(c);

	if (!name)
		return;
	if (store_async_config_delete(c->api->store, name, &err) < 0 && err.code != ENOENT)
		api__error(c->req, err.code, err.msg);
	else
		http_reply(c->req, 204, NULL, 0, NULL, 0);
	free(name);
}
