/* Shared by the files of the api module only. */
#ifndef HEARTH_API_INTERNAL_H
#define HEARTH_API_INTERNAL_H

#include <jansson.h>

#include "api/api.h"

struct api_call {
	struct api *api;
	struct http_request *req;
	struct http_params params;
};

typedef void api_route_fn(struct api_call *c);

/* errors.c: one table from errno codes to statuses. */
void api__error(struct http_request *req, int code, const char *message);
void api__reply_json(struct http_request *req, int status, json_t *body);	/* steals body */
/* A name parameter, validated ([A-Za-z0-9_-]{1,64}); replies 400 and returns NULL when bad. */
char *api__name(struct api_call *c);

void api__fn_put(struct api_call *c);
void api__fn_get(struct api_call *c);
void api__fn_list(struct api_call *c);
void api__fn_delete(struct api_call *c);
void api__invoke(struct api_call *c);
void api__logs(struct api_call *c);
void api__events(struct api_call *c);
void api__events_retry_all(struct api_call *c);
void api__events_retry(struct api_call *c);
void api__event_delete(struct api_call *c);
void api__events_delete(struct api_call *c);
void api__instances(struct api_call *c);
void api__stats(struct api_call *c);

/* [A-Za-z0-9_-]{1,64} */
bool api__fn_name_ok(const char *name);
/* invocations.c: the payload (checked against the limits, {} when empty, must
 * be JSON) and X-Amz-Client-Context (*client_ctx: free it) of an invoke. */
int api__invoke_input(struct http_request *req, bool async, struct str *payload,
		      char **client_ctx, struct err *err);
/* Appends standard base64 of in to out. */
void api__b64_encode(struct str in, struct buf *out);

/* functions.c: the native JSON of a function configuration. */
json_t *api__fn_json(const struct fn_config *fn);

/* Settings as they arrive, before validation; NULL/-1 = not given. */
struct fn_input {
	char *runtime, *handler, *description, *env_json, *network;
	long long memory_mb, timeout_s, keepalive_s, tmp_mb;
	struct buf code;
	bool has_code;
};

void api__fn_input_init(struct fn_input *in);
void api__fn_input_release(struct fn_input *in);
/* 'environment': an object of strings with valid, unreserved names, 4 KB in all. */
int api__env_check(json_t *env, struct err *err);

enum api_put_mode { API_PUT_ANY, API_PUT_CREATE, API_PUT_UPDATE };

/* Called on the loop once a create or update ended: r < 0 with err, or 0 with
 * fn (the committed configuration, valid during the call) and created. */
typedef void api_put_done_fn(struct http_request *req, int r, const struct err *err,
			     const struct fn_config *fn, int created, void *data);

/* Validates in over the current configuration, unpacks the code on the worker
 * pool, commits, updates the registry, then calls done (NULL: the native
 * reply). Moves in's contents (in is left empty). On an immediate failure
 * returns the negative code with err filled, and done is not called. */
int api__fn_submit(struct api *api, struct http_request *req, const char *name,
		   struct fn_input *in, enum api_put_mode mode, api_put_done_fn *done, void *data,
		   struct err *err);
/* Deletes the function (its versions and aliases go with it); -ENOENT when unknown. */
int api__fn_remove(struct api *api, const char *name, struct err *err);

/* versions.c: operations shared by the native and the Lambda API. Each commits
 * to the store, then updates the registry; err says what failed. */
int api__alias_name_check(const char *alias, struct err *err);
/* "$LATEST" -> 0, "3" -> 3; -EINVAL otherwise. */
int api__version_parse(const char *s, uint32_t *out, struct err *err);
int api__publish(struct api *api, const char *name, const char *description,
		 struct fn_config *out, int *created, struct err *err);
int api__alias_write(struct api *api, struct fn_alias *a, enum store_alias_mode mode,
		     int *created, struct err *err);
int api__alias_remove(struct api *api, const char *function, const char *alias,
		      struct err *err);
void api__version_publish(struct api_call *c);
void api__version_list(struct api_call *c);
void api__alias_put(struct api_call *c);
void api__alias_get(struct api_call *c);
void api__alias_delete(struct api_call *c);
void api__alias_list(struct api_call *c);

/* credentials.c: GET /v1/credentials */
void api__credentials(struct api_call *c);

/* sigv4.c. Verifies the request's Authorization header (AWS SigV4) against the
 * key pair at now_ms. Returns 0, or -EACCES with err saying why and *exception
 * naming Lambda's exception for it. */
int api__sigv4_verify(const struct http_request *req, const char *access_key, const char *secret,
		      uint64_t now_ms, const char **exception, struct err *err);
/* The canonical request (AWS's "Task 1"), for tests. */
int api__sigv4_canonical(const struct http_request *req, struct str signed_headers,
			 const char *payload_hash, struct buf *out, struct err *err);
/* Hex HMAC-SHA256 signature of a canonical request under scope
 * "date/region/service/aws4_request". */
void api__sigv4_signature(const char *secret, const char *amz_date, const char *scope,
			  const char *canonical, size_t canonical_len, char out[65]);

/* lambda.c: the AWS Lambda API (/2015-03-31/..., /2016-08-19/..., ...); true
 * when the path is one of its prefixes (then it has answered). */
bool api__lambda_handle(struct api *api, struct http_request *req);
/* Lambda's FunctionName: "name", "name:qualifier", "ACCOUNT:function:name[:q]" or
 * "arn:aws:lambda:REGION:ACCOUNT:function:name[:q]". *name and *qualifier (NULL
 * when none) are malloc'd; -EINVAL with a message when malformed. */
int api__lambda_parse_name(const char *in, char **name, char **qualifier, struct err *err);
void api__async_get(struct api_call *c);
void api__async_put(struct api_call *c);
void api__async_delete(struct api_call *c);
void api__scheduling_get(struct api_call *c);
void api__scheduling_put(struct api_call *c);
void api__sched_list(struct api_call *c);
void api__sched_get(struct api_call *c);
void api__sched_put(struct api_call *c);
void api__sched_delete(struct api_call *c);
void api__sched_enable(struct api_call *c);
void api__sched_disable(struct api_call *c);

/* routes.c: the gateway's routes, /v1/routes. */
void api__route_list(struct api_call *c);
void api__route_put(struct api_call *c);
void api__route_get(struct api_call *c);
void api__route_delete(struct api_call *c);

/* base64 (standard alphabet, padding required); -EINVAL on bad input. */
int api__b64_decode(const char *in, size_t len, struct buf *out);

#endif
