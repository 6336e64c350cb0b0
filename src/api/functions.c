/*
 * Functions: create or update (code as a JSON field or the raw body), get,
 * list, delete.
 *
 * Order matters on create/update: validate everything, unpack the code
 * (content addressed, so a retry costs nothing), then commit to the store,
 * then tell the registry. A failure at any step leaves the previous
 * revision untouched.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api-internal.h"
#include "store/code.h"
#include "lib/err.h"
#include "lib/banned.h"

#define MAX_CODE_BYTES (50u << 20)
#define MAX_ENV_BYTES 4096
#define MAX_DESCRIPTION 256
#define MAX_HANDLER 128
/* /tmp: Lambda's default; up to Lambda's 10 GB. Hearth allows less than
 * Lambda's 512 MB minimum, since /tmp is RAM here (a tmpfs, charged to the
 * instance's memory limit). */
#define TMP_MB_DEFAULT 512
#define TMP_MB_MAX 10240

json_t *
api__fn_json(const struct fn_config *fn)
{
	json_t *env = json_loads(fn->env_json ? fn->env_json : "{}", 0, NULL);

	if (!json_is_object(env)) {
		json_decref(env);
		env = json_object();
	}
	return json_pack("{s:s, s:s, s:s, s:i, s:i, s:i, s:s, s:o, s:s, s:I, s:I, s:I, s:I, s:i, "
			 "s:s}",
			 "name", fn->name, "runtime", fn->runtime, "handler",
			 fn->handler ? fn->handler : "", "memory_mb", (int)fn->memory_mb,
			 "timeout_s", (int)fn->timeout_s, "keepalive_s", (int)fn->keepalive_s,
			 "description", fn->description ? fn->description : "", "environment", env,
			 "code_sha256", fn->code_sha256, "code_size", (json_int_t)fn->code_size,
			 "revision", (json_int_t)fn->revision, "created_ms",
			 (json_int_t)fn->created_ms, "updated_ms", (json_int_t)fn->updated_ms,
			 "tmp_mb", (int)(fn->tmp_mb ? fn->tmp_mb : TMP_MB_DEFAULT), "network",
			 fn->network ? fn->network : "none");
}

void
api__fn_input_init(struct fn_input *in)
{
	memset(in, 0, sizeof(*in));
	in->memory_mb = in->timeout_s = in->keepalive_s = in->tmp_mb = -1;
	buf_init(&in->code);
}

void
api__fn_input_release(struct fn_input *in)
{
	free(in->runtime);
	free(in->handler);
	free(in->description);
	free(in->env_json);
	free(in->network);
	buf_release(&in->code);
}

static int
json_int_field(json_t *o, const char *k, long long *out, struct err *err)
{
	json_t *v = json_object_get(o, k);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return err_setmsg(err, EINVAL, "'%s' must be an integer", k);
	*out = json_integer_value(v);
	return 0;
}

static int
json_str_field(json_t *o, const char *k, char **out, struct err *err)
{
	json_t *v = json_object_get(o, k);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return err_setmsg(err, EINVAL, "'%s' must be a string", k);
	*out = xstrdup(json_string_value(v));
	return 0;
}

int
api__env_check(json_t *env, struct err *err)
{
	size_t total = 0;
	const char *k;
	json_t *v;

	if (!json_is_object(env))
		return err_setmsg(err, EINVAL, "'environment' must be an object of strings");
	json_object_foreach(env, k, v) {
		size_t i, n = strlen(k);

		if (!json_is_string(v))
			return err_setmsg(err, EINVAL, "environment variable '%s' must be a string", k);
		for (i = 0; i < n; i++)
			if (!(k[i] == '_' || (k[i] >= 'A' && k[i] <= 'Z') || (k[i] >= 'a' && k[i] <= 'z') ||
			      (i > 0 && k[i] >= '0' && k[i] <= '9')))
				break;
		if (n == 0 || i != n)
			return err_setmsg(err, EINVAL, "invalid environment variable name '%s'", k);
		/* HEARTH_: the platform's own (hearth-init reads HEARTH_STEM). */
		if (strncmp(k, "AWS_", 4) == 0 || strncmp(k, "LAMBDA_", 7) == 0 ||
		    strncmp(k, "HEARTH_", 7) == 0 || strcmp(k, "_HANDLER") == 0 ||
		    strcmp(k, "TZ") == 0)
			return err_setmsg(err, EINVAL, "environment variable '%s' is reserved", k);
		total += n + json_string_length(v);
	}
	if (total > MAX_ENV_BYTES)
		return err_setmsg(err, EINVAL, "environment is %zu bytes, over the 4 KB limit", total);
	return 0;
}

static int
parse_json_body(struct http_request *req, struct fn_input *in, struct err *err)
{
	json_error_t jerr;
	json_t *o, *v;
	int r = 0;

	o = json_loadb(req->body.ptr, req->body.len, 0, &jerr);
	if (!json_is_object(o)) {
		json_decref(o);
		return err_setmsg(err, EINVAL, "malformed JSON: %s", o ? "expected an object" : jerr.text);
	}
	if (json_str_field(o, "runtime", &in->runtime, err) < 0 ||
	    json_str_field(o, "handler", &in->handler, err) < 0 ||
	    json_str_field(o, "description", &in->description, err) < 0 ||
	    json_int_field(o, "memory_mb", &in->memory_mb, err) < 0 ||
	    json_int_field(o, "timeout_s", &in->timeout_s, err) < 0 ||
	    json_int_field(o, "keepalive_s", &in->keepalive_s, err) < 0 ||
	    json_int_field(o, "tmp_mb", &in->tmp_mb, err) < 0 ||
	    json_str_field(o, "network", &in->network, err) < 0) {
		r = -err->code;
		goto out;
	}
	v = json_object_get(o, "environment");
	if (v && !json_is_null(v)) {
		if (api__env_check(v, err) < 0) {
			r = -err->code;
			goto out;
		}
		in->env_json = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
	}
	v = json_object_get(o, "code_base64");
	if (v && !json_is_null(v)) {
		if (!json_is_string(v) || api__b64_decode(json_string_value(v), json_string_length(v),
							  &in->code) < 0) {
			r = err_setmsg(err, EINVAL, "'code_base64' is not valid base64");
			goto out;
		}
		in->has_code = true;
	}
out:
	json_decref(o);
	return r;
}

static int
query_int(struct http_request *req, const char *k, long long *out, struct err *err)
{
	char *v = http_query_get(req, k), *end;

	if (!v)
		return 0;
	*out = strtoll(v, &end, 10);
	if (!*v || *end) {
		err_setmsg(err, EINVAL, "query parameter '%s' must be an integer", k);
		free(v);
		return -EINVAL;
	}
	free(v);
	return 0;
}

static int
parse_raw_body(struct http_request *req, struct fn_input *in, struct err *err)
{
	in->runtime = http_query_get(req, "runtime");
	in->handler = http_query_get(req, "handler");
	in->description = http_query_get(req, "description");
	in->network = http_query_get(req, "network");
	if (query_int(req, "memory_mb", &in->memory_mb, err) < 0 ||
	    query_int(req, "timeout_s", &in->timeout_s, err) < 0 ||
	    query_int(req, "keepalive_s", &in->keepalive_s, err) < 0 ||
	    query_int(req, "tmp_mb", &in->tmp_mb, err) < 0)
		return -err->code;
	if (req->body.len) {
		buf_add(&in->code, req->body.ptr, req->body.len);
		in->has_code = true;
	}
	return 0;
}

static int
range(const char *what, long long v, long long lo, long long hi, struct err *err)
{
	if (v < lo || v > hi)
		return err_setmsg(err, EINVAL, "%s must be between %lld and %lld, not %lld", what, lo, hi, v);
	return 0;
}

/* Merges the input over the current configuration (or the defaults) into fn
 * and validates it. The code is unpacked later, off the loop (unpack_work()). */
static int
build_config(struct api *api, const char *name, struct fn_input *in, const struct fn_config *cur,
	     struct fn_config *fn, struct err *err)
{
	memset(fn, 0, sizeof(*fn));
	fn->name = xstrdup(name);
	fn->runtime = xstrdup(in->runtime ? in->runtime : cur ? cur->runtime : "");
	fn->handler = xstrdup(in->handler ? in->handler : cur && cur->handler ? cur->handler : "handler");
	fn->description = xstrdup(in->description ? in->description :
				  cur && cur->description ? cur->description : "");
	fn->env_json = xstrdup(in->env_json ? in->env_json : cur && cur->env_json ? cur->env_json : "{}");
	fn->memory_mb = (uint32_t)(in->memory_mb >= 0 ? in->memory_mb : cur ? cur->memory_mb : 128);
	fn->timeout_s = (uint32_t)(in->timeout_s >= 0 ? in->timeout_s : cur ? cur->timeout_s : 3);
	fn->keepalive_s = (uint32_t)(in->keepalive_s >= 0 ? in->keepalive_s : cur ? cur->keepalive_s : 0);
	fn->tmp_mb = (uint32_t)(in->tmp_mb >= 0 ? in->tmp_mb :
				cur && cur->tmp_mb ? cur->tmp_mb : TMP_MB_DEFAULT);
	fn->network = xstrdup(in->network ? in->network :
			      cur && cur->network ? cur->network : "none");
	if (!*fn->runtime)
		return err_setmsg(err, EINVAL, "'runtime' is required (provided, python3 or nodejs)");
	if (invoke_runtime_check(api->invoke, fn->runtime, err) < 0)
		return -err->code;
	if (in->memory_mb >= 0 && range("memory_mb", in->memory_mb, 128, 10240, err) < 0)
		return -err->code;
	if (in->timeout_s >= 0 && range("timeout_s", in->timeout_s, 1, 900, err) < 0)
		return -err->code;
	if (in->keepalive_s >= 0 && range("keepalive_s", in->keepalive_s, 0, 604800, err) < 0)
		return -err->code;
	if (in->tmp_mb >= 0 && range("tmp_mb", in->tmp_mb, 1, TMP_MB_MAX, err) < 0)
		return -err->code;
	/* "host" shares the machine's network stack: see docs/sandbox.md. */
	if (strcmp(fn->network, "none") != 0 && strcmp(fn->network, "host") != 0)
		return err_setmsg(err, EINVAL, "network must be 'none' or 'host', not '%s'",
				  fn->network);
	if (strlen(fn->handler) > MAX_HANDLER || strlen(fn->handler) == 0)
		return err_setmsg(err, EINVAL, "handler must be 1 to %d characters", MAX_HANDLER);
	if (strlen(fn->description) > MAX_DESCRIPTION)
		return err_setmsg(err, EINVAL, "description is over %d characters", MAX_DESCRIPTION);
	if (!in->has_code && !cur)
		return err_setmsg(err, EINVAL, "code is required to create a function");
	if (in->has_code && in->code.len > MAX_CODE_BYTES)
		return err_setmsg(err, EFBIG, "code archive is %zu bytes, over the 50 MB limit",
				  in->code.len);
	if (!in->has_code) {
		fn->code_sha256 = xstrdup(cur->code_sha256);
		fn->code_size = cur->code_size;
	}
	return 0;
}

/* One create or update on its way through the worker pool. */
struct put_job {
	uv_work_t work;
	struct api *api;
	struct http_request *req;
	char *name;
	struct fn_input in;
	struct fn_config fn;
	struct err err;
	int r;
	enum api_put_mode mode;
	api_put_done_fn *done;	/* NULL: the native reply */
	void *data;
	struct put_job *next;	/* api->puts */
};

/*
 * A create or update merges its settings over the function as it is when the
 * request arrives and commits after its unpack: two in flight for one function
 * would each commit a merge that lacks the other's change, and the one that
 * finished last would silently undo the other (a settings change racing a
 * slow code upload loses the settings). The second is refused instead, as
 * Lambda refuses an update while one is in progress.
 */
static struct put_job *
put_find(struct api *api, const char *name)
{
	struct put_job *job;

	for (job = api->puts; job; job = job->next)
		if (strcmp(job->name, name) == 0)
			return job;
	return NULL;
}

static void
put_unlink(struct api *api, struct put_job *job)
{
	struct put_job **pp;

	for (pp = &api->puts; *pp; pp = &(*pp)->next) {
		if (*pp == job) {
			*pp = job->next;
			return;
		}
	}
	BUG("put job for '%s' not in flight", job->name);
}

/* Worker thread: unpack (content addressed: identical code is unpacked once,
 * and a concurrent unpack of the same bytes is harmless) and check the
 * bootstrap. Touches nothing but the job and the code directory. */
static void
unpack_work(uv_work_t *w)
{
	struct put_job *job = w->data;
	struct fn_config *fn = &job->fn;
	char sha[65], *dir, *boot;
	struct stat st;
	int ok;

	if (job->in.has_code) {
		job->r = code_unpack(job->api->code_root, job->in.code.ptr, job->in.code.len, sha,
				     &job->err);
		if (job->r < 0)
			return;
		fn->code_sha256 = xstrdup(sha);
		fn->code_size = job->in.code.len;
	}
	/* A custom runtime is its bootstrap: refuse code that cannot start. */
	if (strcmp(fn->runtime, "provided") != 0)
		return;
	dir = code_path(job->api->code_root, fn->code_sha256);
	boot = xasprintf("%s/bootstrap", dir);
	ok = stat(boot, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
	free(boot);
	free(dir);
	if (!ok)
		job->r = err_setmsg(&job->err, EINVAL, "the code has no executable 'bootstrap' at "
				    "its top level (runtime 'provided' runs it)");
}

static void
job_free(struct put_job *job)
{
	fn_config_release(&job->fn);
	api__fn_input_release(&job->in);
	free(job->name);
	free(job);
}

static int
mode_check(struct api *api, const char *name, enum api_put_mode mode, struct err *err)
{
	bool exists = invoke_fn_get(api->invoke, name) != NULL;

	if (mode == API_PUT_CREATE && exists)
		return err_setmsg(err, EEXIST, "function '%s' already exists", name);
	if (mode == API_PUT_UPDATE && !exists)
		return err_setmsg(err, ENOENT, "function '%s' does not exist", name);
	return 0;
}

/* Loop thread: commit, then tell the registry, then answer. */
static void
unpack_done(uv_work_t *w, int status)
{
	struct put_job *job = w->data;
	struct api *api = job->api;
	int created = 0;

	api->unpacking--;
	put_unlink(api, job);
	if (status < 0)
		job->r = err_setmsg(&job->err, EIO, "cannot unpack the code: %s", uv_strerror(status));
	/* Checked again: another create or delete may have landed during the unpack. */
	if (job->r == 0)
		job->r = mode_check(api, job->name, job->mode, &job->err);
	if (job->r == 0)
		job->r = store_fn_put(api->store, &job->fn, &created, &job->err);
	if (job->r == 0)
		invoke_fn_set(api->invoke, &job->fn);
	/* After the commit: the code the function had before may be unused now. */
	invoke_code_unpacking(api->invoke, false);
	if (job->done)
		job->done(job->req, job->r, &job->err, &job->fn, created, job->data);
	else if (job->r < 0)
		api__error(job->req, job->r, job->err.msg);
	else
		api__reply_json(job->req, created ? 201 : 200, api__fn_json(&job->fn));
	job_free(job);
}

int
api__fn_submit(struct api *api, struct http_request *req, const char *name, struct fn_input *in,
	       enum api_put_mode mode, api_put_done_fn *done, void *data, struct err *err)
{
	struct put_job *job = xcalloc(1, sizeof(*job));
	int r;

	job->api = api;
	job->req = req;
	job->name = xstrdup(name);
	job->in = *in;
	api__fn_input_init(in);	/* moved into the job */
	job->mode = mode;
	job->done = done;
	job->data = data;
	r = mode_check(api, name, mode, err);
	if (r == 0 && put_find(api, name))
		r = err_setmsg(err, EEXIST, "cannot change function '%s': an update of it is in "
			       "progress; try again when it is done", name);
	if (r == 0)
		r = build_config(api, name, &job->in, invoke_fn_get(api->invoke, name), &job->fn,
				 err);
	if (r < 0) {
		job_free(job);
		return r;
	}
	/* Unpacking a 50 MB archive takes a while: never on the loop. */
	job->work.data = job;
	api->unpacking++;
	invoke_code_unpacking(api->invoke, true);
	job->next = api->puts;
	api->puts = job;
	r = uv_queue_work(api->loop, &job->work, unpack_work, unpack_done);
	if (r < 0) {
		api->unpacking--;
		put_unlink(api, job);
		invoke_code_unpacking(api->invoke, false);
		job_free(job);
		return err_setmsg(err, EIO, "cannot queue the unpack");
	}
	return 0;
}

void
api__fn_put(struct api_call *c)
{
	struct http_request *req = c->req;
	const struct str *ct = http_header_get(req, "content-type");
	struct err err = ERR_INIT;
	struct fn_input in;
	char *name = api__name(c);
	int r;

	if (!name)
		return;
	api__fn_input_init(&in);
	if (ct && ct->len >= 16 && strncasecmp(ct->ptr, "application/json", 16) == 0)
		r = parse_json_body(req, &in, &err);
	else
		r = parse_raw_body(req, &in, &err);
	if (r == 0)
		r = api__fn_submit(c->api, req, name, &in, API_PUT_ANY, NULL, NULL, &err);
	if (r < 0)
		api__error(req, r, err.msg);
	api__fn_input_release(&in);
	free(name);
}

void
api__fn_get(struct api_call *c)
{
	char *name = api__name(c);
	const struct fn_config *fn;
	char msg[128];

	if (!name)
		return;
	fn = invoke_fn_get(c->api->invoke, name);
	if (fn) {
		api__reply_json(c->req, 200, api__fn_json(fn));
	} else {
		snprintf(msg, sizeof(msg), "function '%s' does not exist", name);
		api__error(c->req, ENOENT, msg);
	}
	free(name);
}

static int
list_one(const struct fn_config *fn, void *data)
{
	json_array_append_new(data, api__fn_json(fn));
	return 0;
}

void
api__fn_list(struct api_call *c)
{
	json_t *arr = json_array();
	struct err err = ERR_INIT;

	if (store_fn_list(c->api->store, list_one, arr, &err) < 0) {
		json_decref(arr);
		api__error(c->req, err.code, err.msg);
		return;
	}
	api__reply_json(c->req, 200, json_pack("{s:o}", "functions", arr));
}

int
api__fn_remove(struct api *api, const char *name, struct err *err)
{
	if (store_fn_delete(api->store, name, err) < 0)
		return -err->code;
	invoke_fn_remove(api->invoke, name);
	/* The code of $LATEST and of every version that went with the function is
	 * garbage once nothing else refers to it and its instances are gone; the
	 * sweep checks both (and waits for unpacks in flight). */
	invoke_code_gc_soon(api->invoke);
	return 0;
}

void
api__fn_delete(struct api_call *c)
{
	char *name = api__name(c);
	struct err err = ERR_INIT;

	if (!name)
		return;
	if (api__fn_remove(c->api, name, &err) < 0)
		api__error(c->req, err.code, err.msg);
	else
		http_reply(c->req, 204, NULL, 0, NULL, 0);
	free(name);
}
