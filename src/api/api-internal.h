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
void api__instances(struct api_call *c);
void api__async_get(struct api_call *c);
void api__async_put(struct api_call *c);
void api__async_delete(struct api_call *c);
void api__sched_list(struct api_call *c);
void api__sched_get(struct api_call *c);
void api__sched_put(struct api_call *c);
void api__sched_delete(struct api_call *c);
void api__sched_enable(struct api_call *c);
void api__sched_disable(struct api_call *c);

/* base64 (standard alphabet, padding required); -EINVAL on bad input. */
int api__b64_decode(const char *in, size_t len, struct buf *out);

#endif
