/*
 * The AWS Lambda API, as the AWS CLI and SDKs speak it, on the admin
 * listener: functions, versions, aliases, invocation, concurrency and account
 * settings under AWS's own paths (/2015-03-31/..., /2016-08-19/...,
 * /2017-10-31/..., /2019-09-30/...). docs/api.md lists what is covered.
 *
 * Every request is authenticated with AWS Signature Version 4 against the key
 * pair of `hearth credentials` (sigv4.c), not with the admin token. Answers
 * and errors take Lambda's JSON shapes: errors are {"Type", "message"} with
 * the exception's name in x-amzn-ErrorType, which is what the SDKs parse.
 *
 * This file only translates: the work is done by the same calls the native
 * API makes (functions.c, versions.c, invoke), so both APIs see one state.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/api-internal.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/banned.h"

#define ACCOUNT "000000000000"
#define ROLE "arn:aws:iam::" ACCOUNT ":role/hearth"
/* What GetAccountSettings reports and PutFunctionConcurrency is bounded by. */
#define ACCOUNT_CONCURRENCY 1000

struct lambda_call {
	struct api *api;
	struct http_request *req;
	struct http_params params;
};

typedef void lambda_fn(struct lambda_call *c);

/* ---- errors ---------------------------------------------------------------------------- */

static const struct {
	int code;
	int status;
	const char *exception;
} errors[] = {
	{ EINVAL, 400, "InvalidParameterValueException" },
	{ EBADMSG, 400, "InvalidRequestContentException" },
	{ EACCES, 403, "AccessDeniedException" },
	{ ENOENT, 404, "ResourceNotFoundException" },
	{ EEXIST, 409, "ResourceConflictException" },
	{ EPROTO, 412, "PreconditionFailedException" },
	{ EFBIG, 413, "RequestTooLargeException" },
	{ E2BIG, 413, "RequestTooLargeException" },
	{ EMSGSIZE, 413, "RequestTooLargeException" },
	{ EMEDIUMTYPE, 415, "UnsupportedMediaTypeException" },
	{ EBUSY, 429, "TooManyRequestsException" },
	{ EAGAIN, 503, "ServiceException" },
};

/* Replies in Lambda's error shape; exception NULL takes the table's name. A
 * throttle (EBUSY) carries its reason, e.g.
 * "ReservedFunctionConcurrentInvocationLimitExceeded", in "Reason". */
static void
lambda_error_reason(struct http_request *req, int code, const char *exception, const char *reason,
		    const char *message)
{
	struct http_header h[3];
	const char *type = "User";
	int status = 500;
	json_t *body;
	char *text;
	size_t i;

	if (code < 0)
		code = -code;
	for (i = 0; i < ARRAY_SIZE(errors); i++) {
		if (errors[i].code == code) {
			status = errors[i].status;
			if (!exception)
				exception = errors[i].exception;
			break;
		}
	}
	if (status >= 500) {
		type = "Service";
		if (!exception)
			exception = "ServiceException";
		log_error("%.*s %.*s: %s", (int)req->method_name.len, req->method_name.ptr,
			  (int)req->path.len, req->path.ptr, message);
	}
	body = json_pack("{s:s, s:s}", "Type", type, "message", message);
	if (code == EBUSY && reason)
		json_object_set_new(body, "Reason", json_string(reason));
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	h[0] = (struct http_header){ STR_LIT("Content-Type"), STR_LIT("application/json") };
	h[1] = (struct http_header){ STR_LIT("x-amzn-ErrorType"), str_cstr(exception) };
	i = 2;
	if (code == EBUSY)
		h[i++] = (struct http_header){ STR_LIT("Retry-After"), STR_LIT("1") };
	http_reply(req, status, h, i, text, strlen(text));
	free(text);
}

static void
lambda_error_ex(struct http_request *req, int code, const char *exception, const char *message)
{
	lambda_error_reason(req, code, exception, NULL, message);
}

static void
lambda_error(struct http_request *req, int code, const char *message)
{
	lambda_error_ex(req, code, NULL, message);
}

static void
reply(struct http_request *req, int status, json_t *body)
{
	char *s = json_dumps(body, JSON_COMPACT);
	struct http_header h = { STR_LIT("Content-Type"), STR_LIT("application/json") };

	json_decref(body);
	http_reply(req, status, &h, 1, s, strlen(s));
	free(s);
}

/* ---- names ----------------------------------------------------------------------------- */

int
api__lambda_parse_name(const char *in, char **name, char **qualifier, struct err *err)
{
	static const char arn[] = "arn:aws:lambda:";
	const char *p = in, *colon;
	char *q = NULL;
	uint32_t v;

	*name = *qualifier = NULL;
	/* arn:aws:lambda:REGION:ACCOUNT:function:NAME[:Q], ACCOUNT:function:NAME[:Q] */
	if (strncmp(p, arn, sizeof(arn) - 1) == 0) {
		p += sizeof(arn) - 1;
		p = strchr(p, ':');	/* past the region */
		if (!p)
			goto bad;
		p++;
	}
	colon = strchr(p, ':');
	if (colon && strncmp(colon, ":function:", 10) == 0)
		p = colon + 10;
	else if (p != in)
		goto bad;
	colon = strchr(p, ':');
	if (colon) {
		q = xstrdup(colon + 1);
		*name = xstrndup(p, (size_t)(colon - p));
	} else {
		*name = xstrdup(p);
	}
	if (!api__fn_name_ok(*name))
		goto bad;
	if (q && api__version_parse(q, &v, err) < 0 && api__alias_name_check(q, err) < 0) {
		err_setmsg(err, EINVAL, "invalid qualifier '%s' in function name '%s'", q, in);
		goto fail;
	}
	*qualifier = q;
	return 0;
bad:
	err_setmsg(err, EINVAL, "1 validation error detected: Value '%s' at 'functionName' failed "
		   "to satisfy constraint: a name of 1 to 64 letters, digits, '-' or '_', "
		   "optionally qualified, or a function ARN", in);
fail:
	free(q);
	free(*name);
	*name = NULL;
	return -EINVAL;
}

/* The {FunctionName} parameter with ?Qualifier= folded in; replies and
 * returns -1 when bad. */
static int
fn_param(struct lambda_call *c, char **name, char **qualifier)
{
	struct str raw = http_param(&c->params, "FunctionName");
	struct err err = ERR_INIT;
	char *decoded = NULL, *q;

	if (http_pct_decode(raw, &decoded) < 0) {
		lambda_error(c->req, EINVAL, "the function name is not validly percent-encoded");
		return -1;
	}
	if (api__lambda_parse_name(decoded, name, qualifier, &err) < 0) {
		lambda_error(c->req, err.code, err.msg);
		free(decoded);
		return -1;
	}
	free(decoded);
	q = http_query_get(c->req, "Qualifier");
	if (q && *qualifier && strcmp(q, *qualifier) != 0) {
		lambda_error(c->req, EINVAL, "The derived qualifier from the function name does "
			     "not match the specified qualifier.");
		free(q);
		free(*name);
		free(*qualifier);
		return -1;
	}
	if (q && !*qualifier) {
		uint32_t v;

		if (api__version_parse(q, &v, &err) < 0 && api__alias_name_check(q, &err) < 0) {
			lambda_error(c->req, EINVAL, err.msg);
			free(q);
			free(*name);
			return -1;
		}
		*qualifier = q;
	} else {
		free(q);
	}
	return 0;
}

static void
not_found(struct http_request *req, const char *name, const char *qualifier)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "Function not found: arn:aws:lambda:%s:%s:function:%s%s%s",
		 API_REGION, ACCOUNT, name, qualifier ? ":" : "", qualifier ? qualifier : "");
	lambda_error(req, ENOENT, msg);
}

/* ---- shapes ---------------------------------------------------------------------------- */

/* hearth runtime -> the Lambda identifier it is reported as. */
static const char *
runtime_out(const char *runtime)
{
	if (strcmp(runtime, "python3") == 0)
		return "python3.11";
	if (strcmp(runtime, "nodejs") == 0)
		return "nodejs18.x";
	return "provided.al2023";
}

/* A Lambda runtime identifier -> hearth's; NULL when hearth has no such runtime. */
static const char *
runtime_in(const char *runtime)
{
	if (strcmp(runtime, "provided") == 0 || strncmp(runtime, "provided.", 9) == 0)
		return "provided";
	if (strncmp(runtime, "python3", 7) == 0)
		return "python3";
	if (strncmp(runtime, "nodejs", 6) == 0)
		return "nodejs";
	return NULL;
}

static void
fmt_time(uint64_t ms, char out[32])
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&s, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + 19, 13, ".%03u+0000", (unsigned)(ms % 1000));
}

/* Lambda's CodeSha256 is the base64 of the digest, not hex. */
static json_t *
sha_b64(const char *hex)
{
	unsigned char raw[32];
	struct buf out = BUF_INIT;
	unsigned hi, lo;
	size_t i;
	json_t *j;

	for (i = 0; i < 32 && hex[2 * i] && hex[2 * i + 1]; i++) {
		if (sscanf(hex + 2 * i, "%1x%1x", &hi, &lo) != 2)
			break;
		raw[i] = (unsigned char)(hi << 4 | lo);
	}
	api__b64_encode(str_from((const char *)raw, i), &out);
	j = json_stringn(out.ptr, out.len);
	buf_release(&out);
	return j;
}

static json_t *
config_json(const struct fn_config *fn)
{
	json_t *env = json_loads(fn->env_json ? fn->env_json : "{}", 0, NULL), *j;
	char arn[160], when[32], version[12] = "$LATEST", rev[40];

	if (!json_is_object(env)) {
		json_decref(env);
		env = json_object();
	}
	if (fn->version)
		snprintf(version, sizeof(version), "%u", fn->version);
	snprintf(arn, sizeof(arn), "arn:aws:lambda:%s:%s:function:%s%s%s", API_REGION, ACCOUNT,
		 fn->name, fn->version ? ":" : "", fn->version ? version : "");
	fmt_time(fn->updated_ms, when);
	/* A RevisionId that changes with every update, as Lambda's does. */
	snprintf(rev, sizeof(rev), "%08llx-0000-4000-8000-%012llx",
		 (unsigned long long)(fn->updated_ms & 0xffffffffu),
		 (unsigned long long)(fn->revision * 1000 + fn->version));
	j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:i, s:i, s:s, s:o, s:s, s:{s:o},"
		      " s:{s:s}, s:s, s:s, s:s, s:s, s:[s], s:{s:i}}",
		      "FunctionName", fn->name, "FunctionArn", arn, "Runtime",
		      runtime_out(fn->runtime), "Role", ROLE, "Handler",
		      fn->handler ? fn->handler : "", "CodeSize", (json_int_t)fn->code_size,
		      "Description", fn->description ? fn->description : "", "Timeout",
		      (int)fn->timeout_s, "MemorySize", (int)fn->memory_mb, "LastModified", when,
		      "CodeSha256", sha_b64(fn->code_sha256), "Version", version, "Environment",
		      "Variables", env, "TracingConfig", "Mode", "PassThrough", "RevisionId", rev,
		      "State", "Active", "LastUpdateStatus", "Successful", "PackageType", "Zip",
		      "Architectures", "x86_64", "EphemeralStorage", "Size", 512);
	return j;
}

static json_t *
alias_json(const struct fn_alias *a)
{
	char arn[200], version[12] = "$LATEST", rev[40];

	if (a->version)
		snprintf(version, sizeof(version), "%u", a->version);
	snprintf(arn, sizeof(arn), "arn:aws:lambda:%s:%s:function:%s:%s", API_REGION, ACCOUNT,
		 a->function, a->name);
	snprintf(rev, sizeof(rev), "%08llx-0000-4000-8000-%012llx",
		 (unsigned long long)(a->updated_ms & 0xffffffffu),
		 (unsigned long long)a->revision);
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "AliasArn", arn, "Name", a->name,
			 "FunctionVersion", version, "Description",
			 a->description ? a->description : "", "RevisionId", rev);
}

/* The request body as a JSON object; replies 400 and returns NULL when it is not. */
static json_t *
body_object(struct lambda_call *c, bool allow_empty)
{
	json_error_t jerr;
	json_t *o;
	char msg[256];

	if (c->req->body.len == 0 && allow_empty)
		return json_object();
	o = json_loadb(c->req->body.ptr, c->req->body.len, 0, &jerr);
	if (!json_is_object(o)) {
		json_decref(o);
		snprintf(msg, sizeof(msg), "could not parse request body into json: %s",
			 o ? "expected an object" : jerr.text);
		lambda_error(c->req, EBADMSG, msg);
		return NULL;
	}
	return o;
}

/* ---- functions ------------------------------------------------------------------------- */

/* Reads Lambda's configuration members into in; Runtime mapped to hearth's. */
static int
config_input(json_t *o, struct fn_input *in, struct err *err)
{
	json_t *v;
	const char *rt;

	v = json_object_get(o, "Runtime");
	if (v) {
		if (!json_is_string(v))
			return err_setmsg(err, EINVAL, "'Runtime' must be a string");
		rt = runtime_in(json_string_value(v));
		if (!rt)
			return err_setmsg(err, EINVAL, "Value '%s' at 'runtime' failed to satisfy "
					  "constraint: hearth runs provided (provided.al2023, ...), "
					  "python3.x and nodejsNN.x", json_string_value(v));
		in->runtime = xstrdup(rt);
	}
#define STR_FIELD(key, dst)                                                                        \
	v = json_object_get(o, key);                                                               \
	if (v && !json_is_null(v)) {                                                               \
		if (!json_is_string(v))                                                            \
			return err_setmsg(err, EINVAL, "'%s' must be a string", key);              \
		dst = xstrdup(json_string_value(v));                                               \
	}
#define INT_FIELD(key, dst)                                                                        \
	v = json_object_get(o, key);                                                               \
	if (v && !json_is_null(v)) {                                                               \
		if (!json_is_integer(v))                                                           \
			return err_setmsg(err, EINVAL, "'%s' must be an integer", key);            \
		dst = json_integer_value(v);                                                       \
	}
	STR_FIELD("Handler", in->handler)
	STR_FIELD("Description", in->description)
	INT_FIELD("Timeout", in->timeout_s)
	INT_FIELD("MemorySize", in->memory_mb)
#undef STR_FIELD
#undef INT_FIELD
	v = json_object_get(o, "Environment");
	if (v && !json_is_null(v)) {
		json_t *vars = json_object_get(v, "Variables");

		if (!json_is_object(v) || (vars && !json_is_null(vars) && !json_is_object(vars)))
			return err_setmsg(err, EINVAL, "'Environment' must be {\"Variables\": "
					  "{...}}");
		if (!vars || json_is_null(vars))
			vars = json_object();
		else
			json_incref(vars);
		if (api__env_check(vars, err) < 0) {
			json_decref(vars);
			return -err->code;
		}
		in->env_json = json_dumps(vars, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(vars);
	}
	return 0;
}

/* ZipFile (base64) into in->code. */
static int
code_input(json_t *o, struct fn_input *in, struct err *err)
{
	json_t *zip = json_object_get(o, "ZipFile");

	if (json_object_get(o, "S3Bucket") || json_object_get(o, "ImageUri"))
		return err_setmsg(err, EINVAL, "hearth takes code as ZipFile only (no S3 or "
				  "container images)");
	if (!json_is_string(zip))
		return err_setmsg(err, EINVAL, "'ZipFile' (the base64 of a zip archive) is "
				  "required");
	if (api__b64_decode(json_string_value(zip), json_string_length(zip), &in->code) < 0)
		return err_setmsg(err, EINVAL, "'ZipFile' is not valid base64");
	in->has_code = true;
	return 0;
}

/* After a create or update: publish when asked, then answer with the configuration. */
static void
put_done(struct http_request *req, int r, const struct err *err, const struct fn_config *fn,
	 int created, void *data)
{
	struct api *api = data ? *(struct api **)data : NULL;
	bool publish = data != NULL;
	struct fn_config v;
	struct err perr = ERR_INIT;

	free(data);
	(void)created;
	if (r < 0) {
		lambda_error(req, r, err->msg);
		return;
	}
	if (publish) {
		if (api__publish(api, fn->name, NULL, &v, NULL, &perr) < 0) {
			lambda_error(req, perr.code, perr.msg);
			return;
		}
		reply(req, req->method == HTTP_POST ? 201 : 200, config_json(&v));
		fn_config_release(&v);
		return;
	}
	reply(req, req->method == HTTP_POST ? 201 : 200, config_json(fn));
}

/* put_done's data: non-NULL (holding the api) when the caller asked to publish. */
static void *
publish_flag(struct api *api, json_t *o)
{
	struct api **p;

	if (!json_is_true(json_object_get(o, "Publish")))
		return NULL;
	p = xmalloc(sizeof(*p));
	*p = api;
	return p;
}

static void
submit(struct lambda_call *c, const char *name, struct fn_input *in, enum api_put_mode mode,
       json_t *o)
{
	struct err err = ERR_INIT;
	void *flag = publish_flag(c->api, o);

	if (api__fn_submit(c->api, c->req, name, in, mode, put_done, flag, &err) < 0) {
		free(flag);
		if (err.code == ENOENT)
			not_found(c->req, name, NULL);
		else if (err.code == EEXIST)
			lambda_error(c->req, EEXIST, "Function already exist");
		else
			lambda_error(c->req, err.code, err.msg);
	}
}

static void
create_function(struct lambda_call *c)
{
	json_t *o = body_object(c, false), *n, *code;
	struct err err = ERR_INIT;
	struct fn_input in;

	if (!o)
		return;
	api__fn_input_init(&in);
	n = json_object_get(o, "FunctionName");
	code = json_object_get(o, "Code");
	if (!json_is_string(n) || !api__fn_name_ok(json_string_value(n))) {
		lambda_error(c->req, EINVAL, "'FunctionName' must be 1 to 64 letters, digits, '-' "
			     "or '_'");
	} else if (!json_is_string(json_object_get(o, "Runtime"))) {
		lambda_error(c->req, EINVAL, "'Runtime' is required");
	} else if (!json_is_object(code)) {
		lambda_error(c->req, EINVAL, "'Code' is required");
	} else if (config_input(o, &in, &err) < 0 || code_input(code, &in, &err) < 0) {
		lambda_error(c->req, err.code, err.msg);
	} else {
		submit(c, json_string_value(n), &in, API_PUT_CREATE, o);
	}
	api__fn_input_release(&in);
	json_decref(o);
}

static void
update_code(struct lambda_call *c)
{
	char *name, *q;
	struct err err = ERR_INIT;
	struct fn_input in;
	json_t *o;

	if (fn_param(c, &name, &q) < 0)
		return;
	api__fn_input_init(&in);
	o = body_object(c, false);
	if (!o)
		goto out;
	if (q)
		lambda_error(c->req, EINVAL, "only $LATEST can be updated; versions are immutable");
	else if (code_input(o, &in, &err) < 0)
		lambda_error(c->req, err.code, err.msg);
	else
		submit(c, name, &in, API_PUT_UPDATE, o);
	json_decref(o);
out:
	api__fn_input_release(&in);
	free(name);
	free(q);
}

static void
update_config(struct lambda_call *c)
{
	char *name, *q;
	struct err err = ERR_INIT;
	struct fn_input in;
	json_t *o;

	if (fn_param(c, &name, &q) < 0)
		return;
	api__fn_input_init(&in);
	o = body_object(c, false);
	if (!o)
		goto out;
	/* Publish is not a member of UpdateFunctionConfiguration. */
	json_object_del(o, "Publish");
	if (q)
		lambda_error(c->req, EINVAL, "only $LATEST can be updated; versions are immutable");
	else if (config_input(o, &in, &err) < 0)
		lambda_error(c->req, err.code, err.msg);
	else
		submit(c, name, &in, API_PUT_UPDATE, o);
	json_decref(o);
out:
	api__fn_input_release(&in);
	free(name);
	free(q);
}

/* The configuration name[:qualifier] names; replies 404 and returns NULL when unknown. */
static const struct fn_config *
resolve(struct lambda_call *c, const char *name, const char *q)
{
	struct err err = ERR_INIT;
	const struct fn_config *fn = invoke_resolve(c->api->invoke, name, q, &err);

	if (!fn && err.code == ENOENT)
		not_found(c->req, name, q);
	else if (!fn)
		lambda_error(c->req, err.code, err.msg);
	return fn;
}

static void
get_configuration(struct lambda_call *c)
{
	const struct fn_config *fn;
	char *name, *q;

	if (fn_param(c, &name, &q) < 0)
		return;
	fn = resolve(c, name, q);
	if (fn)
		reply(c->req, 200, config_json(fn));
	free(name);
	free(q);
}

static void
get_function(struct lambda_call *c)
{
	const struct fn_config *fn;
	char *name, *q;
	int64_t reserved;
	json_t *j;

	if (fn_param(c, &name, &q) < 0)
		return;
	fn = resolve(c, name, q);
	if (fn) {
		/* Code is not downloadable from hearth: the location says where it lives. */
		j = json_pack("{s:o, s:{s:s, s:s}}", "Configuration", config_json(fn), "Code",
			      "RepositoryType", "hearth", "Location", "");
		reserved = invoke_concurrency_get(c->api->invoke, name);
		if (reserved >= 0)
			json_object_set_new(j, "Concurrency",
					    json_pack("{s:I}", "ReservedConcurrentExecutions",
						      (json_int_t)reserved));
		reply(c->req, 200, j);
	}
	free(name);
	free(q);
}

struct list_ctx {
	struct api *api;
	json_t *arr;
	bool all;
};

static int
version_one(const struct fn_config *v, void *data)
{
	json_array_append_new(data, config_json(v));
	return 0;
}

static int
list_one(const struct fn_config *fn, void *data)
{
	struct list_ctx *l = data;
	struct err err = ERR_INIT;

	json_array_append_new(l->arr, config_json(fn));
	if (l->all)
		return store_version_list(l->api->store, fn->name, version_one, l->arr, &err);
	return 0;
}

static void
list_functions(struct lambda_call *c)
{
	char *fv = http_query_get(c->req, "FunctionVersion");
	struct list_ctx l = { c->api, json_array(), fv && strcmp(fv, "ALL") == 0 };
	struct err err = ERR_INIT;

	if (fv && !l.all) {
		lambda_error(c->req, EINVAL, "FunctionVersion must be ALL");
	} else if (store_fn_list(c->api->store, list_one, &l, &err) < 0) {
		lambda_error(c->req, err.code, err.msg);
	} else {
		reply(c->req, 200, json_pack("{s:O}", "Functions", l.arr));
	}
	json_decref(l.arr);
	free(fv);
}

static void
delete_function(struct lambda_call *c)
{
	struct err err = ERR_INIT;
	char *name, *q;

	if (fn_param(c, &name, &q) < 0)
		return;
	if (q) {
		lambda_error(c->req, EINVAL, "hearth deletes whole functions only: delete without "
			     "a Qualifier (versions cannot be deleted one by one)");
	} else if (api__fn_remove(c->api, name, &err) < 0) {
		if (err.code == ENOENT)
			not_found(c->req, name, NULL);
		else
			lambda_error(c->req, err.code, err.msg);
	} else {
		http_reply(c->req, 204, NULL, 0, NULL, 0);
	}
	free(name);
	free(q);
}

/* ---- versions and aliases -------------------------------------------------------------- */

static void
publish_version(struct lambda_call *c)
{
	const struct fn_config *cur;
	struct err err = ERR_INIT;
	struct fn_config v;
	json_t *o, *d, *sha, *want;
	char *name, *q;
	int created = 0;

	if (fn_param(c, &name, &q) < 0)
		return;
	o = body_object(c, true);
	if (!o)
		goto out;
	cur = resolve(c, name, NULL);
	if (!cur)
		goto out;
	sha = json_object_get(o, "CodeSha256");
	if (json_is_string(sha)) {
		want = sha_b64(cur->code_sha256);
		if (!json_equal(want, sha)) {
			json_decref(want);
			lambda_error(c->req, EPROTO, "CodeSha256 does not match the function's "
				     "current code");
			goto out;
		}
		json_decref(want);
	}
	d = json_object_get(o, "Description");
	if (api__publish(c->api, name, json_is_string(d) ? json_string_value(d) : NULL, &v,
			 &created, &err) < 0) {
		lambda_error(c->req, err.code, err.msg);
		goto out;
	}
	reply(c->req, 201, config_json(&v));
	fn_config_release(&v);
out:
	json_decref(o);
	free(name);
	free(q);
}

static void
list_versions(struct lambda_call *c)
{
	const struct fn_config *fn;
	struct err err = ERR_INIT;
	char *name, *q;
	json_t *arr;

	if (fn_param(c, &name, &q) < 0)
		return;
	fn = resolve(c, name, NULL);
	if (fn) {
		arr = json_array();
		json_array_append_new(arr, config_json(fn));
		if (store_version_list(c->api->store, name, version_one, arr, &err) < 0)
			lambda_error(c->req, err.code, err.msg);
		else
			reply(c->req, 200, json_pack("{s:O}", "Versions", arr));
		json_decref(arr);
	}
	free(name);
	free(q);
}

/* The alias's target from FunctionVersion; replies and returns -1 when bad. */
static int
alias_version(struct lambda_call *c, json_t *o, uint32_t *version, bool required)
{
	json_t *v = json_object_get(o, "FunctionVersion");
	struct err err = ERR_INIT;

	if (!v && !required)
		return 1;
	if (!json_is_string(v)) {
		lambda_error(c->req, EINVAL, "'FunctionVersion' ($LATEST or a version number) is "
			     "required");
		return -1;
	}
	if (api__version_parse(json_string_value(v), version, &err) < 0) {
		lambda_error(c->req, err.code, err.msg);
		return -1;
	}
	return 0;
}

static void
alias_write(struct lambda_call *c, const char *name, const char *alias, json_t *o,
	    enum store_alias_mode mode)
{
	struct fn_alias a = { 0 }, cur;
	struct err err = ERR_INIT;
	json_t *d = json_object_get(o, "Description");
	int r;

	if (json_object_get(o, "RoutingConfig") &&
	    json_object_size(json_object_get(json_object_get(o, "RoutingConfig"),
					     "AdditionalVersionWeights"))) {
		lambda_error(c->req, EINVAL, "hearth does not split traffic between versions "
			     "(RoutingConfig)");
		return;
	}
	r = alias_version(c, o, &a.version, mode == STORE_ALIAS_CREATE);
	if (r < 0)
		return;
	a.function = xstrdup(name);
	a.name = xstrdup(alias);
	if (json_is_string(d))
		a.description = xstrdup(json_string_value(d));
	/* UpdateAlias keeps what the request leaves out. */
	if (mode == STORE_ALIAS_UPDATE &&
	    store_alias_get(c->api->store, name, alias, &cur, &err) == 0) {
		if (r == 1)
			a.version = cur.version;
		if (!a.description && cur.description)
			a.description = xstrdup(cur.description);
		fn_alias_release(&cur);
	}
	if (api__alias_write(c->api, &a, mode, NULL, &err) < 0)
		lambda_error(c->req, err.code, err.msg);
	else
		reply(c->req, mode == STORE_ALIAS_CREATE ? 201 : 200, alias_json(&a));
	fn_alias_release(&a);
}

static void
create_alias(struct lambda_call *c)
{
	char *name, *q;
	json_t *o, *n;

	if (fn_param(c, &name, &q) < 0)
		return;
	o = body_object(c, false);
	if (o) {
		n = json_object_get(o, "Name");
		if (!json_is_string(n))
			lambda_error(c->req, EINVAL, "'Name' is required");
		else
			alias_write(c, name, json_string_value(n), o, STORE_ALIAS_CREATE);
	}
	json_decref(o);
	free(name);
	free(q);
}

/* {FunctionName} and {Name}; replies and returns -1 when bad. */
static int
alias_params(struct lambda_call *c, char **name, char **alias)
{
	struct str raw = http_param(&c->params, "Name");
	struct err err = ERR_INIT;
	char *q;

	if (fn_param(c, name, &q) < 0)
		return -1;
	free(q);
	if (http_pct_decode(raw, alias) < 0 || api__alias_name_check(*alias, &err) < 0) {
		lambda_error(c->req, EINVAL, *alias ? err.msg : "invalid alias name");
		free(*alias);
		free(*name);
		return -1;
	}
	return 0;
}

static void
update_alias(struct lambda_call *c)
{
	char *name, *alias;
	json_t *o;

	if (alias_params(c, &name, &alias) < 0)
		return;
	o = body_object(c, true);
	if (o)
		alias_write(c, name, alias, o, STORE_ALIAS_UPDATE);
	json_decref(o);
	free(alias);
	free(name);
}

static void
get_alias(struct lambda_call *c)
{
	struct err err = ERR_INIT;
	struct fn_alias a;
	char *name, *alias;

	if (alias_params(c, &name, &alias) < 0)
		return;
	if (store_alias_get(c->api->store, name, alias, &a, &err) < 0) {
		lambda_error(c->req, err.code, err.msg);
	} else {
		reply(c->req, 200, alias_json(&a));
		fn_alias_release(&a);
	}
	free(alias);
	free(name);
}

static void
delete_alias(struct lambda_call *c)
{
	struct err err = ERR_INIT;
	char *name, *alias;

	if (alias_params(c, &name, &alias) < 0)
		return;
	/* Lambda answers 204 for an alias that is already gone. */
	if (api__alias_remove(c->api, name, alias, &err) < 0 && err.code != ENOENT)
		lambda_error(c->req, err.code, err.msg);
	else
		http_reply(c->req, 204, NULL, 0, NULL, 0);
	free(alias);
	free(name);
}

static int
alias_one(const struct fn_alias *a, void *data)
{
	json_array_append_new(data, alias_json(a));
	return 0;
}

static void
list_aliases(struct lambda_call *c)
{
	struct err err = ERR_INIT;
	char *name, *q;
	json_t *arr;

	if (fn_param(c, &name, &q) < 0)
		return;
	if (resolve(c, name, NULL)) {
		arr = json_array();
		if (store_alias_list(c->api->store, name, alias_one, arr, &err) < 0)
			lambda_error(c->req, err.code, err.msg);
		else
			reply(c->req, 200, json_pack("{s:O}", "Aliases", arr));
		json_decref(arr);
	}
	free(name);
	free(q);
}

/* ---- invoke ---------------------------------------------------------------------------- */

static void
invoke_done(const struct invoke_result *r, void *data)
{
	struct http_request *req = data;
	struct http_header h[6];
	struct buf tail = BUF_INIT;
	size_t n = 0;

	if (r->status == 429) {
		/* Lambda's throttle: the call waited for capacity and got none. */
		lambda_error_reason(req, EBUSY, NULL, r->throttle_reason, "Rate Exceeded.");
		return;
	}
	h[n++] = (struct http_header){ STR_LIT("Content-Type"), STR_LIT("application/json") };
	h[n++] = (struct http_header){ STR_LIT("x-amzn-RequestId"), str_cstr(r->request_id) };
	h[n++] = (struct http_header){ STR_LIT("X-Amz-Executed-Version"),
				       str_cstr(r->executed_version) };
	if (r->function_error)
		h[n++] = (struct http_header){ STR_LIT("X-Amz-Function-Error"),
					       str_cstr(r->function_error) };
	if (r->log_tail.ptr) {
		api__b64_encode(r->log_tail, &tail);
		h[n++] = (struct http_header){ STR_LIT("X-Amz-Log-Result"),
					       str_from(tail.ptr, tail.len) };
	}
	http_reply(req, r->status, h, n, r->body.ptr, r->body.len);
	buf_release(&tail);
}

static void
invoke_fn(struct lambda_call *c)
{
	struct http_request *req = c->req;
	const struct str *type = http_header_get(req, "x-amz-invocation-type");
	const struct str *logtype = http_header_get(req, "x-amz-log-type");
	struct invoke_request rq = { 0 };
	struct err err = ERR_INIT;
	char *name, *q, *client_ctx = NULL, *full = NULL, rid[37];
	struct str payload;
	bool async = false, dry = false;

	if (fn_param(c, &name, &q) < 0)
		return;
	if (type && str_eqs(*type, "Event"))
		async = true;
	else if (type && str_eqs(*type, "DryRun"))
		dry = true;
	else if (type && !str_eqs(*type, "RequestResponse")) {
		lambda_error(req, EINVAL, "X-Amz-Invocation-Type must be RequestResponse, Event or "
			     "DryRun");
		goto out;
	}
	if (logtype && !str_eqs(*logtype, "None") && !str_eqs(*logtype, "Tail")) {
		lambda_error(req, EINVAL, "X-Amz-Log-Type must be None or Tail");
		goto out;
	}
	if (!resolve(c, name, q))
		goto out;
	if (api__invoke_input(req, async, &payload, &client_ctx, &err) < 0) {
		lambda_error(req, err.code, err.msg);
		goto out;
	}
	if (dry) {
		http_reply(req, 204, NULL, 0, NULL, 0);
		goto out;
	}
	if (async) {
		full = q ? xasprintf("%s:%s", name, q) : xstrdup(name);
		if (invoke_async(c->api->invoke, full, payload.ptr, payload.len, rid, &err) < 0) {
			lambda_error(req, err.code, err.msg);
		} else {
			struct http_header h = { STR_LIT("x-amzn-RequestId"), str_cstr(rid) };

			http_reply(req, 202, &h, 1, NULL, 0);
		}
		goto out;
	}
	rq.name = name;
	rq.qualifier = q;
	rq.payload = payload.ptr;
	rq.len = payload.len;
	rq.client_context = client_ctx;
	rq.log_tail = logtype && str_eqs(*logtype, "Tail");
	if (invoke_call(c->api->invoke, &rq, invoke_done, req, &err) < 0)
		lambda_error(req, err.code, err.msg);
out:
	free(full);
	free(client_ctx);
	free(name);
	free(q);
}

/* ---- concurrency and account ----------------------------------------------------------- */

static void
put_concurrency(struct lambda_call *c)
{
	struct err err = ERR_INIT;
	char *name, *q;
	json_t *o, *v;

	if (fn_param(c, &name, &q) < 0)
		return;
	o = body_object(c, false);
	if (!o)
		goto out;
	v = json_object_get(o, "ReservedConcurrentExecutions");
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > ACCOUNT_CONCURRENCY) {
		lambda_error(c->req, EINVAL, "'ReservedConcurrentExecutions' must be an integer "
			     "from 0 to 1000");
	} else if (store_concurrency_set(c->api->store, name, json_integer_value(v), &err) < 0) {
		if (err.code == ENOENT)
			not_found(c->req, name, NULL);
		else
			lambda_error(c->req, err.code, err.msg);
	} else {
		invoke_concurrency_set(c->api->invoke, name, json_integer_value(v));
		reply(c->req, 200, json_pack("{s:I}", "ReservedConcurrentExecutions",
					     json_integer_value(v)));
	}
	json_decref(o);
out:
	free(name);
	free(q);
}

static void
delete_concurrency(struct lambda_call *c)
{
	struct err err = ERR_INIT;
	char *name, *q;

	if (fn_param(c, &name, &q) < 0)
		return;
	if (!invoke_fn_get(c->api->invoke, name)) {
		not_found(c->req, name, NULL);
	} else if (store_concurrency_set(c->api->store, name, -1, &err) < 0) {
		lambda_error(c->req, err.code, err.msg);
	} else {
		invoke_concurrency_set(c->api->invoke, name, -1);
		http_reply(c->req, 204, NULL, 0, NULL, 0);
	}
	free(name);
	free(q);
}

static void
get_concurrency(struct lambda_call *c)
{
	int64_t reserved;
	char *name, *q;

	if (fn_param(c, &name, &q) < 0)
		return;
	if (!invoke_fn_get(c->api->invoke, name)) {
		not_found(c->req, name, NULL);
	} else {
		reserved = invoke_concurrency_get(c->api->invoke, name);
		reply(c->req, 200, reserved >= 0 ? json_pack("{s:I}", "ReservedConcurrentExecutions",
							     (json_int_t)reserved)
						 : json_object());
	}
	free(name);
	free(q);
}

struct usage {
	json_int_t code_bytes, functions, reserved;
};

static int
usage_fn(const struct fn_config *fn, void *data)
{
	struct usage *u = data;

	u->functions++;
	u->code_bytes += (json_int_t)fn->code_size;
	return 0;
}

static int
usage_version(const struct fn_config *fn, void *data)
{
	((struct usage *)data)->code_bytes += (json_int_t)fn->code_size;
	return 0;
}

static int
usage_reserved(const char *function, int64_t reserved, void *data)
{
	(void)function;
	((struct usage *)data)->reserved += reserved;
	return 0;
}

static void
account_settings(struct lambda_call *c)
{
	struct usage u = { 0 };
	struct err err = ERR_INIT;

	if (store_fn_list(c->api->store, usage_fn, &u, &err) < 0 ||
	    store_version_list(c->api->store, NULL, usage_version, &u, &err) < 0 ||
	    store_concurrency_list(c->api->store, usage_reserved, &u, &err) < 0) {
		lambda_error(c->req, err.code, err.msg);
		return;
	}
	reply(c->req, 200,
	      json_pack("{s:{s:I, s:I, s:I, s:i, s:I}, s:{s:I, s:I}}", "AccountLimit",
			"TotalCodeSize", (json_int_t)75 << 30, "CodeSizeUnzipped",
			(json_int_t)250 << 20, "CodeSizeZipped", (json_int_t)50 << 20,
			"ConcurrentExecutions", ACCOUNT_CONCURRENCY,
			"UnreservedConcurrentExecutions", ACCOUNT_CONCURRENCY - u.reserved,
			"AccountUsage", "TotalCodeSize", u.code_bytes, "FunctionCount",
			u.functions));
}

/* ---- dispatch -------------------------------------------------------------------------- */

#define FN "/2015-03-31/functions/{FunctionName}"

static const struct http_route routes[] = {
	{ HTTP_POST, "/2015-03-31/functions", create_function, 0 },
	{ HTTP_GET, FN, get_function, 0 },
	{ HTTP_DELETE, FN, delete_function, 0 },
	{ HTTP_GET, FN "/configuration", get_configuration, 0 },
	{ HTTP_PUT, FN "/configuration", update_config, 0 },
	{ HTTP_PUT, FN "/code", update_code, 0 },
	{ HTTP_POST, FN "/invocations", invoke_fn, 0 },
	{ HTTP_POST, FN "/versions", publish_version, 0 },
	{ HTTP_GET, FN "/versions", list_versions, 0 },
	{ HTTP_POST, FN "/aliases", create_alias, 0 },
	{ HTTP_GET, FN "/aliases", list_aliases, 0 },
	{ HTTP_GET, FN "/aliases/{Name}", get_alias, 0 },
	{ HTTP_PUT, FN "/aliases/{Name}", update_alias, 0 },
	{ HTTP_DELETE, FN "/aliases/{Name}", delete_alias, 0 },
	{ HTTP_PUT, "/2017-10-31/functions/{FunctionName}/concurrency", put_concurrency, 0 },
	{ HTTP_DELETE, "/2017-10-31/functions/{FunctionName}/concurrency", delete_concurrency, 0 },
	{ HTTP_GET, "/2019-09-30/functions/{FunctionName}/concurrency", get_concurrency, 0 },
};

static bool
has_prefix(struct str path, const char *prefix)
{
	size_t n = strlen(prefix);

	return path.len >= n && memcmp(path.ptr, prefix, n) == 0;
}

bool
api__lambda_handle(struct api *api, struct http_request *req)
{
	struct lambda_call c = { .api = api, .req = req };
	const char *exception;
	struct err err = ERR_INIT;
	int i;

	if (!has_prefix(req->path, "/2015-03-31/") && !has_prefix(req->path, "/2016-08-19/") &&
	    !has_prefix(req->path, "/2017-10-31/") && !has_prefix(req->path, "/2019-09-30/"))
		return false;
	if (api__sigv4_verify(req, api->access_key, api->secret_key, clock_wall_ms(), &exception,
			      &err) < 0) {
		lambda_error_ex(req, EACCES, exception, err.msg);
		return true;
	}
	/* The two list routes end in '/', which the router's patterns cannot say. */
	if (req->method == HTTP_GET && (str_eqs(req->path, "/2015-03-31/functions/") ||
					str_eqs(req->path, "/2015-03-31/functions"))) {
		list_functions(&c);
		return true;
	}
	if (req->method == HTTP_GET && (str_eqs(req->path, "/2016-08-19/account-settings/") ||
					str_eqs(req->path, "/2016-08-19/account-settings"))) {
		account_settings(&c);
		return true;
	}
	i = http_route_match(routes, ARRAY_SIZE(routes), req->method, req->path, &c.params);
	if (i < 0) {
		lambda_error_ex(req, ENOENT, "UnknownOperationException",
				i == -ENOENT ? "Unknown operation" : "Unknown operation for this "
				"method");
		return true;
	}
	((lambda_fn *)routes[i].handler)(&c);
	return true;
}
