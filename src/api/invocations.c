/*
 * POST /v1/functions/{name}/invoke: synchronous (RequestResponse, the default)
 * or asynchronous (Event) invocation, with Lambda's headers and limits.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/api-internal.h"
#include "lib/banned.h"

static void
sync_done(const struct invoke_result *r, void *data)
{
	struct http_request *req = data;
	struct http_header h[5];
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
	http_reply(req, r->status, h, n, r->body.ptr, r->body.len);
}

void
api__invoke(struct api_call *c)
{
	struct http_request *req = c->req;
	const struct str *type = http_header_get(req, "x-amz-invocation-type");
	const struct str *cc = http_header_get(req, "x-amz-client-context");
	struct err err = ERR_INIT;
	char *name = api__name(c), *client_ctx = NULL, rid[37], msg[320];
	const char *payload = req->body.ptr;
	size_t len = req->body.len;
	bool async = false;
	json_error_t jerr;
	json_t *check;

	if (!name)
		return;
	if (type && str_caseeqs(*type, "Event")) {
		async = true;
	} else if (type && !str_caseeqs(*type, "RequestResponse")) {
		api__error(req, EINVAL, "X-Amz-Invocation-Type must be RequestResponse or Event");
		goto out;
	}
	if (len > (async ? INVOKE_MAX_ASYNC_PAYLOAD : INVOKE_MAX_SYNC_PAYLOAD)) {
		snprintf(msg, sizeof(msg), "request payload is %zu bytes, over the %u-byte limit for %s "
			 "invocations", len, async ? INVOKE_MAX_ASYNC_PAYLOAD : INVOKE_MAX_SYNC_PAYLOAD,
			 async ? "asynchronous" : "synchronous");
		api__error(req, EFBIG, msg);
		goto out;
	}
	if (len == 0) {
		payload = "{}";
		len = 2;
	}
	/* The event reaches handlers as JSON; reject what they could not parse. */
	check = json_loadb(payload, len, JSON_DECODE_ANY, &jerr);
	if (!check) {
		snprintf(msg, sizeof(msg), "could not parse request body into json: %s", jerr.text);
		api__error(req, EINVAL, msg);
		goto out;
	}
	json_decref(check);
	if (cc) {
		if (cc->len > 3583) {
			api__error(req, EINVAL, "X-Amz-Client-Context is over 3583 bytes");
			goto out;
		}
		client_ctx = str_dup(*cc);
	}
	if (async) {
		if (invoke_async(c->api->invoke, name, payload, len, rid, &err) < 0) {
			api__error(req, err.code, err.msg);
		} else {
			struct http_header h = { STR_LIT("X-Amz-Request-Id"), str_cstr(rid) };
			char body[80];
			int n = snprintf(body, sizeof(body), "{\"requestId\":\"%s\"}", rid);

			h.value = str_cstr(rid);
			http_reply(req, 202, &h, 1, body, (size_t)n);
		}
		goto out;
	}
	if (invoke_sync(c->api->invoke, name, payload, len, client_ctx, sync_done, req, &err) < 0)
		api__error(req, err.code, err.msg);
out:
	free(client_ctx);
	free(name);
}
