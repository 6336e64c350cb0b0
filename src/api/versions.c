/*
 * Versions and aliases: the operations both APIs share (commit to the store,
 * then tell the registry, so a failure changes neither), and the native
 * routes under /v1/functions/{name}/versions and /aliases.
 *
 * The Lambda API (lambda.c) calls the same operations and only shapes its
 * answers differently.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/api-internal.h"
#include "lib/banned.h"

#define MAX_ALIAS 128
#define MAX_DESCRIPTION 256

int
api__alias_name_check(const char *alias, struct err *err)
{
	size_t i, n = strlen(alias), digits = 0;

	for (i = 0; i < n; i++) {
		char ch = alias[i];

		if (ch >= '0' && ch <= '9')
			digits++;
		else if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '-' ||
			   ch == '_'))
			break;
	}
	if (n == 0 || n > MAX_ALIAS || i != n)
		return err_setmsg(err, EINVAL, "invalid alias name '%s': use 1 to %d letters, "
				  "digits, '-' or '_'", alias, MAX_ALIAS);
	/* "3" names version 3: an alias may not look like one. */
	if (digits == n)
		return err_setmsg(err, EINVAL, "invalid alias name '%s': an alias cannot be all "
				  "digits (that names a version)", alias);
	return 0;
}

int
api__version_parse(const char *s, uint32_t *out, struct err *err)
{
	unsigned long long v;
	char *end;

	if (strcmp(s, "$LATEST") == 0) {
		*out = 0;
		return 0;
	}
	if (*s < '1' || *s > '9' || strlen(s) > 10)
		goto bad;
	v = strtoull(s, &end, 10);
	if (*end || v > UINT32_MAX)
		goto bad;
	*out = (uint32_t)v;
	return 0;
bad:
	return err_setmsg(err, EINVAL, "invalid version '%s': expected $LATEST or a version "
			  "number", s);
}

int
api__publish(struct api *api, const char *name, const char *description, struct fn_config *out,
	     int *created, struct err *err)
{
	if (description && strlen(description) > MAX_DESCRIPTION)
		return err_setmsg(err, EINVAL, "description is over %d characters",
				  MAX_DESCRIPTION);
	if (store_version_publish(api->store, name, description, out, created, err) < 0)
		return -err->code;
	invoke_version_add(api->invoke, out);
	return 0;
}

int
api__alias_write(struct api *api, struct fn_alias *a, enum store_alias_mode mode, int *created,
		 struct err *err)
{
	if (api__alias_name_check(a->name, err) < 0)
		return -err->code;
	if (a->description && strlen(a->description) > MAX_DESCRIPTION)
		return err_setmsg(err, EINVAL, "description is over %d characters",
				  MAX_DESCRIPTION);
	if (store_alias_put(api->store, a, mode, created, err) < 0)
		return -err->code;
	invoke_alias_set(api->invoke, a);
	return 0;
}

int
api__alias_remove(struct api *api, const char *function, const char *alias, struct err *err)
{
	if (store_alias_delete(api->store, function, alias, err) < 0)
		return -err->code;
	invoke_alias_remove(api->invoke, function, alias);
	return 0;
}

/* Native shapes: a version is the function's JSON plus its number; an alias is flat. */
static json_t *
version_json(const struct fn_config *v)
{
	json_t *j = api__fn_json(v);

	json_object_set_new(j, "version", json_integer(v->version));
	return j;
}

static json_t *
alias_json(const struct fn_alias *a)
{
	char v[12] = "$LATEST";

	if (a->version)
		snprintf(v, sizeof(v), "%u", a->version);
	return json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "function", a->function, "name",
			 a->name, "version", v, "description",
			 a->description ? a->description : "", "revision",
			 (json_int_t)a->revision, "created_ms", (json_int_t)a->created_ms,
			 "updated_ms", (json_int_t)a->updated_ms);
}

void
api__version_publish(struct api_call *c)
{
	char *name = api__name(c), *description = NULL;
	struct err err = ERR_INIT;
	struct fn_config v;
	int created = 0;
	json_t *body = NULL;

	if (!name)
		return;
	if (c->req->body.len) {
		json_t *d;

		body = json_loadb(c->req->body.ptr, c->req->body.len, 0, NULL);
		d = json_object_get(body, "description");
		if (!json_is_object(body) || (d && !json_is_string(d) && !json_is_null(d))) {
			api__error(c->req, EINVAL, "body must be a JSON object with an optional "
				   "string 'description'");
			goto out;
		}
		if (json_is_string(d))
			description = xstrdup(json_string_value(d));
	}
	if (api__publish(c->api, name, description, &v, &created, &err) < 0) {
		api__error(c->req, err.code, err.msg);
		goto out;
	}
	api__reply_json(c->req, created ? 201 : 200, version_json(&v));
	fn_config_release(&v);
out:
	json_decref(body);
	free(description);
	free(name);
}

static int
version_one(const struct fn_config *v, void *data)
{
	json_array_append_new(data, version_json(v));
	return 0;
}

void
api__version_list(struct api_call *c)
{
	char *name = api__name(c);
	struct err err = ERR_INIT;
	json_t *arr;

	if (!name)
		return;
	if (!invoke_fn_get(c->api->invoke, name)) {
		err_setmsg(&err, ENOENT, "function '%s' does not exist", name);
		api__error(c->req, err.code, err.msg);
		free(name);
		return;
	}
	arr = json_array();
	if (store_version_list(c->api->store, name, version_one, arr, &err) < 0) {
		json_decref(arr);
		api__error(c->req, err.code, err.msg);
	} else {
		api__reply_json(c->req, 200, json_pack("{s:o}", "versions", arr));
	}
	free(name);
}

/* The {alias} route parameter, decoded; replies 400 and returns NULL when bad. */
static char *
alias_param(struct api_call *c)
{
	struct str raw = http_param(&c->params, "alias");
	struct err err = ERR_INIT;
	char *alias = NULL;

	if (http_pct_decode(raw, &alias) < 0 || api__alias_name_check(alias, &err) < 0) {
		api__error(c->req, EINVAL, alias ? err.msg : "invalid alias name");
		free(alias);
		return NULL;
	}
	return alias;
}

void
api__alias_put(struct api_call *c)
{
	char *name = api__name(c), *alias = name ? alias_param(c) : NULL;
	struct fn_alias a = { 0 };
	struct err err = ERR_INIT;
	json_t *body = NULL, *v, *d;
	int created = 0;

	if (!alias)
		goto out;
	body = json_loadb(c->req->body.ptr, c->req->body.len, 0, NULL);
	v = json_object_get(body, "version");
	d = json_object_get(body, "description");
	if (!json_is_object(body) || !(json_is_string(v) || json_is_integer(v)) ||
	    (d && !json_is_string(d) && !json_is_null(d))) {
		api__error(c->req, EINVAL, "body must be {\"version\": \"3\" or \"$LATEST\", "
			   "\"description\": \"...\"}");
		goto out;
	}
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 1 || json_integer_value(v) > UINT32_MAX) {
			api__error(c->req, EINVAL, "'version' must be a published version number");
			goto out;
		}
		a.version = (uint32_t)json_integer_value(v);
	} else if (api__version_parse(json_string_value(v), &a.version, &err) < 0) {
		api__error(c->req, err.code, err.msg);
		goto out;
	}
	a.function = xstrdup(name);
	a.name = xstrdup(alias);
	a.description = json_is_string(d) ? xstrdup(json_string_value(d)) : NULL;
	if (api__alias_write(c->api, &a, STORE_ALIAS_UPSERT, &created, &err) < 0)
		api__error(c->req, err.code, err.msg);
	else
		api__reply_json(c->req, created ? 201 : 200, alias_json(&a));
out:
	fn_alias_release(&a);
	json_decref(body);
	free(alias);
	free(name);
}

void
api__alias_get(struct api_call *c)
{
	char *name = api__name(c), *alias = name ? alias_param(c) : NULL;
	struct err err = ERR_INIT;
	struct fn_alias a;

	if (!alias)
		goto out;
	if (store_alias_get(c->api->store, name, alias, &a, &err) < 0) {
		api__error(c->req, err.code, err.msg);
		goto out;
	}
	api__reply_json(c->req, 200, alias_json(&a));
	fn_alias_release(&a);
out:
	free(alias);
	free(name);
}

void
api__alias_delete(struct api_call *c)
{
	char *name = api__name(c), *alias = name ? alias_param(c) : NULL;
	struct err err = ERR_INIT;

	if (!alias)
		goto out;
	if (api__alias_remove(c->api, name, alias, &err) < 0)
		api__error(c->req, err.code, err.msg);
	else
		http_reply(c->req, 204, NULL, 0, NULL, 0);
out:
	free(alias);
	free(name);
}

static int
alias_one(const struct fn_alias *a, void *data)
{
	json_array_append_new(data, alias_json(a));
	return 0;
}

void
api__alias_list(struct api_call *c)
{
	char *name = api__name(c);
	struct err err = ERR_INIT;
	json_t *arr;

	if (!name)
		return;
	if (!invoke_fn_get(c->api->invoke, name)) {
		err_setmsg(&err, ENOENT, "function '%s' does not exist", name);
		api__error(c->req, err.code, err.msg);
		free(name);
		return;
	}
	arr = json_array();
	if (store_alias_list(c->api->store, name, alias_one, arr, &err) < 0) {
		json_decref(arr);
		api__error(c->req, err.code, err.msg);
	} else {
		api__reply_json(c->req, 200, json_pack("{s:o}", "aliases", arr));
	}
	free(name);
}
