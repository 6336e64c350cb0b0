/*
 * POST /v1/functions/{name}/invoke: synchronous (RequestResponse, the default)
 * or asynchronous (Event) invocation, with Lambda's headers and limits. The
 * name may carry a qualifier ("hello:live", "hello:3"), or ?qualifier= may.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "api/api-internal.h"
#include "lib/jscan.h"
#include "lib/banned.h"

void
api__b64_encode(struct str in, struct buf *out)
{
	size_t start = out->len;
	int n;

	buf_grow(out, (in.len + 2) / 3 * 4);
	n = EVP_EncodeBlock((unsigned char *)out->ptr + start, (const unsigned char *)in.ptr,
			    (int)in.len);
	buf_setlen(out, start + (size_t)n);
}

int
api__invoke_input(struct http_request *req, bool async, struct str *payload, char **client_ctx,
		  struct err *err)
{
	const struct str *cc = http_header_get(req, "x-amz-client-context");
	unsigned limit = async ? INVOKE_MAX_ASYNC_PAYLOAD : INVOKE_MAX_SYNC_PAYLOAD;
	struct jscan_error jerr;

	*client_ctx = NULL;
	*payload = str_from(req->body.ptr, req->body.len);
	if (payload->len > limit)
		return err_setmsg(err, EFBIG, "request payload is %zu bytes, over the %u-byte limit "
				  "for %s invocations", payload->len, limit,
				  async ? "asynchronous" : "synchronous");
	if (payload->len == 0)
		*payload = STR_LIT("{}");
	/* The event reaches handlers as JSON; reject what they could not parse. Checked
	 * without building a tree (jscan accepts exactly what jansson does). */
	if (jscan_check(payload->ptr, payload->len, NULL, &jerr) < 0)
		return err_setmsg(err, EBADMSG, "could not parse request body into json: %s at "
				  "byte %zu", jerr.msg, jerr.offset);
	if (cc) {
		if (cc->len > 3583)
			return err_setmsg(err, EINVAL, "X-Amz-Client-Context is over 3583 bytes");
		*client_ctx = str_dup(*cc);
	}
	return 0;
}

static void
sync_done(const struct invoke_result *r, void *data)
{
	struct http_request *req = data;
	struct http_header h[5];
	struct buf tail = BUF_INIT;
	size_t n = 0;

	if (r->status == 429) {
		json_t *o = json_pack("{s:{s:s, s:s, s:s}}", "error", "code",
				      "TooManyRequestsException", "message",
				      "no capacity for the call within the wait; try again",
				      "reason", r->throttle_reason ? r->throttle_reason : "");
		char *s = json_dumps(o, JSON_COMPACT);

		json_decref(o);
		h[n++] = (struct http_header){ STR_LIT("Content-Type"), STR_LIT("application/json") };
		h[n++] = (struct http_header){ STR_LIT("X-Amz-Request-Id"), str_cstr(r->request_id) };
		http_reply(req, 429, h, n, s, strlen(s));
		free(s);
		return;
	}
	h[n++] = (struct http_header){ STR_LIT("Content-Type"), STR_LIT("application/json") };
	h[n++] = (struct http_header){ STR_LIT("X-Amz-Request-Id"), str_cstr(r->request_id) };
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

/* "name" or "name:qualifier" from the path, and ?qualifier=; replies 400 and
 * returns -1 when bad. */
static int
qualified_name(struct api_call *c, char **name, char **qualifier)
{
	struct str raw = http_param(&c->params, "name");
	char *full = NULL, *colon, *q;
	struct err err = ERR_INIT;
	uint32_t v;

	*name = *qualifier = NULL;
	if (http_pct_decode(raw, &full) < 0) {
		api__error(c->req, EINVAL, "invalid function name");
		return -1;
	}
	colon = strchr(full, ':');
	q = http_query_get(c->req, "qualifier");
	if (colon) {
		*colon = '\0';
		if (q && strcmp(q, colon + 1) != 0) {
			api__error(c->req, EINVAL, "the qualifier in the name and ?qualifier= differ");
			goto bad;
		}
		free(q);
		q = xstrdup(colon + 1);
	}
	if (!api__fn_name_ok(full)) {
		api__error(c->req, EINVAL,
			   "invalid function name: use 1 to 64 letters, digits, '-' or '_'");
		goto bad;
	}
	if (q && api__version_parse(q, &v, &err) < 0 && api__alias_name_check(q, &err) < 0) {
		err_setmsg(&err, EINVAL, "invalid qualifier '%s': use $LATEST, a version number "
			   "or an alias name", q);
		api__error(c->req, EINVAL, err.msg);
		goto bad;
	}
	*name = full;
	*qualifier = q;
	return 0;
bad:
	free(q);
	free(full);
	return -1;
}

void
api__invoke(struct api_call *c)
{
	struct http_request *req = c->req;
	const struct str *type = http_header_get(req, "x-amz-invocation-type");
	const struct str *logtype = http_header_get(req, "x-amz-log-type");
	struct invoke_request rq = { 0 };
	struct err err = ERR_INIT;
	char *name, *qualifier, *client_ctx = NULL, *full = NULL, rid[37];
	struct str payload;
	bool async = false;

	if (qualified_name(c, &name, &qualifier) < 0)
		return;
	if (type && str_caseeqs(*type, "Event")) {
		async = true;
	} else if (type && !str_caseeqs(*type, "RequestResponse")) {
		api__error(req, EINVAL, "X-Amz-Invocation-Type must be RequestResponse or Event");
		goto out;
	}
	if (logtype && !str_caseeqs(*logtype, "None") && !str_caseeqs(*logtype, "Tail")) {
		api__error(req, EINVAL, "X-Amz-Log-Type must be None or Tail");
		goto out;
	}
	if (api__invoke_input(req, async, &payload, &client_ctx, &err) < 0) {
		api__error(req, err.code, err.msg);
		goto out;
	}
	if (async) {
		full = qualifier ? xasprintf("%s:%s", name, qualifier) : xstrdup(name);
		if (invoke_async(c->api->invoke, full, payload.ptr, payload.len, rid, &err) < 0) {
			api__error(req, err.code, err.msg);
		} else {
			struct http_header h = { STR_LIT("X-Amz-Request-Id"), str_cstr(rid) };
			char body[80];
			int n = snprintf(body, sizeof(body), "{\"requestId\":\"%s\"}", rid);

			http_reply(req, 202, &h, 1, body, (size_t)n);
		}
		goto out;
	}
	rq.name = name;
	rq.qualifier = qualifier;
	rq.payload = payload.ptr;
	rq.len = payload.len;
	rq.client_context = client_ctx;
	rq.log_tail = logtype && str_caseeqs(*logtype, "Tail");
	if (invoke_call(c->api->invoke, &rq, sync_done, req, &err) < 0)
		api__error(req, err.code, err.msg);
out:
	free(full);
	free(client_ctx);
	free(qualifier);
	free(name);
}
