/*
 * Route table and dispatch for the admin API.
 *
 * Every route but the health check needs the admin token; the check is one
 * constant-time comparison so a caller learns nothing from timing.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <string.h>
#include <strings.h>

#include "api/api-internal.h"
#include "lib/banned.h"

#define ROUTE_PUBLIC 1u

static void
health(struct api_call *c)
{
	http_reply_json(c->req, 200, "{\"status\":\"ok\"}", 15);
}

static const struct http_route routes[] = {
	{ HTTP_GET, "/v1/health", health, ROUTE_PUBLIC },
	{ HTTP_GET, "/v1/functions", api__fn_list, 0 },
	{ HTTP_PUT, "/v1/functions/{name}", api__fn_put, 0 },
	{ HTTP_GET, "/v1/functions/{name}", api__fn_get, 0 },
	{ HTTP_DELETE, "/v1/functions/{name}", api__fn_delete, 0 },
	{ HTTP_POST, "/v1/functions/{name}/invoke", api__invoke, 0 },
	{ HTTP_GET, "/v1/functions/{name}/logs", api__logs, 0 },
	{ HTTP_GET, "/v1/functions/{name}/events", api__events, 0 },
	{ HTTP_GET, "/v1/instances", api__instances, 0 },
	{ HTTP_GET, "/v1/functions/{name}/stats", api__stats, 0 },
	{ HTTP_POST, "/v1/functions/{name}/versions", api__version_publish, 0 },
	{ HTTP_GET, "/v1/functions/{name}/versions", api__version_list, 0 },
	{ HTTP_GET, "/v1/functions/{name}/aliases", api__alias_list, 0 },
	{ HTTP_PUT, "/v1/functions/{name}/aliases/{alias}", api__alias_put, 0 },
	{ HTTP_GET, "/v1/functions/{name}/aliases/{alias}", api__alias_get, 0 },
	{ HTTP_DELETE, "/v1/functions/{name}/aliases/{alias}", api__alias_delete, 0 },
	{ HTTP_GET, "/v1/credentials", api__credentials, 0 },
	{ HTTP_GET, "/v1/functions/{name}/async-config", api__async_get, 0 },
	{ HTTP_PUT, "/v1/functions/{name}/async-config", api__async_put, 0 },
	{ HTTP_DELETE, "/v1/functions/{name}/async-config", api__async_delete, 0 },
	{ HTTP_GET, "/v1/functions/{name}/scheduling", api__scheduling_get, 0 },
	{ HTTP_PUT, "/v1/functions/{name}/scheduling", api__scheduling_put, 0 },
	{ HTTP_GET, "/v1/schedules", api__sched_list, 0 },
	{ HTTP_PUT, "/v1/schedules/{name}", api__sched_put, 0 },
	{ HTTP_GET, "/v1/schedules/{name}", api__sched_get, 0 },
	{ HTTP_DELETE, "/v1/schedules/{name}", api__sched_delete, 0 },
	{ HTTP_POST, "/v1/schedules/{name}/enable", api__sched_enable, 0 },
	{ HTTP_POST, "/v1/schedules/{name}/disable", api__sched_disable, 0 },
	{ HTTP_GET, "/v1/routes", api__route_list, 0 },
	{ HTTP_POST, "/v1/routes", api__route_put, 0 },
	{ HTTP_GET, "/v1/routes/{id}", api__route_get, 0 },
	{ HTTP_DELETE, "/v1/routes/{id}", api__route_delete, 0 },
	{ HTTP_POST, "/v1/functions/{name}/events/retry", api__events_retry_all, 0 },
	{ HTTP_POST, "/v1/functions/{name}/events/{id}/retry", api__events_retry, 0 },
	{ HTTP_DELETE, "/v1/functions/{name}/events", api__events_delete, 0 },
	{ HTTP_DELETE, "/v1/functions/{name}/events/{id}", api__event_delete, 0 },
};

static int
authorized(const struct api *api, const struct http_request *req)
{
	const struct str *h = http_header_get(req, "authorization");
	size_t n = strlen(api->token);

	if (!h || h->len != 7 + n || strncasecmp(h->ptr, "Bearer ", 7) != 0)
		return 0;
	return CRYPTO_memcmp(h->ptr + 7, api->token, n) == 0;
}

void
api_handle(struct http_request *req, void *data)
{
	struct api_call c = { .api = data, .req = req };
	int i;

	/* The AWS-compatible routes authenticate with SigV4, not the token. */
	if (api__lambda_handle(c.api, req))
		return;

	i = http_route_match(routes, ARRAY_SIZE(routes), req->method, req->path, &c.params);
	if (i == -ENOENT) {
		api__error(req, ENOENT, "no such route");
		return;
	}
	if (i < 0) {
		api__error(req, ENOTSUP, "method not allowed on this route");
		return;
	}
	if (!(routes[i].flags & ROUTE_PUBLIC) && !authorized(c.api, req)) {
		api__error(req, EACCES, "missing or wrong token (Authorization: Bearer <token>)");
		return;
	}
	((api_route_fn *)routes[i].handler)(&c);
}
