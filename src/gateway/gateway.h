/*
 * The HTTP gateway: user routes ("GET /hello/{name}", "ANY /{proxy+}", "$default")
 * served on their own listener, each calling a function (or a version or alias of
 * it) with API Gateway's HTTP API event (payload format 2.0) and mapping its answer
 * back to an HTTP response the way API Gateway does.
 *
 * Two halves:
 *   - mapping.c is pure: route keys, the event JSON, the response mapping, CORS
 *     headers. Requests and answers in, bytes out; tested from tables.
 *   - gateway.c owns the listener and the in-memory route table (the store holds
 *     the durable copy), and runs each request through invoke_call().
 *
 * It is not the admin API: nothing here needs the admin token, and a route's own
 * bearer token (kept as a SHA-256) is all that guards it.
 *
 * Loop thread only.
 */
#ifndef HEARTH_GATEWAY_H
#define HEARTH_GATEWAY_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "http/http.h"
#include "invoke/invoke.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "store/store.h"

/* A request body over this is refused with 413 before it is read: as base64 in the
 * event it must still fit Lambda's 6 MB synchronous payload. */
#define GATEWAY_MAX_BODY_BYTES (4u << 20)
#define GATEWAY_DEFAULT_LISTEN "127.0.0.1:8080"
#define GATEWAY_ROUTE_KEY_MAX 512

/* ---- mapping.c: pure ---------------------------------------------------------------- */

/* A parsed route key. method is an llhttp method, -1 for ANY; path is NULL for $default. */
struct gateway_key {
	int method;
	char *path;		/* malloc'd pattern, e.g. "/hello/{name}" */
};

/* Parses "METHOD /path" or "$default" (METHOD: GET POST PUT PATCH DELETE HEAD OPTIONS ANY,
 * upper case; the path a router pattern with {name} and a final {name+}). -EINVAL with a
 * message naming what is wrong. Release with gateway_key_release(). */
int gateway_key_parse(const char *key, struct gateway_key *out, struct err *err);
void gateway_key_release(struct gateway_key *k);

/* CORS settings of one route (API Gateway's CorsConfiguration, per route here). */
struct gateway_cors {
	char **allow_origins;	/* "*" or exact origins ("https://example.com") */
	size_t norigins;
	char *allow_methods;	/* joined with ", "; NULL: none given */
	char *allow_headers;
	char *expose_headers;
	long max_age_s;		/* -1: not sent */
	bool allow_credentials;
};

/* Parses {"allow_origins": [...], "allow_methods": [...], "allow_headers": [...],
 * "expose_headers": [...], "max_age": N, "allow_credentials": bool} (every field optional
 * but allow_origins). -EINVAL with a message. Release with gateway_cors_release(). */
int gateway_cors_parse(const char *json, struct gateway_cors *out, struct err *err);
void gateway_cors_release(struct gateway_cors *c);

/* CORS response headers for a request from origin (NULL: not a CORS request). preflight:
 * the answer to an OPTIONS preflight (adds methods, headers, max-age). Appends name/value
 * pairs as NUL-terminated strings to out and returns how many headers; 0 when the origin
 * is not allowed (the browser then refuses the answer, as it should). */
size_t gateway_cors_headers(const struct gateway_cors *c, const char *origin, bool preflight,
			    struct buf *out);

/* What the event needs besides the request itself. */
struct gateway_event_in {
	const struct http_request *req;
	const char *route_key;		/* "GET /hello/{name}" or "$default" */
	const struct http_params *params;	/* NULL for none */
	const char *request_id;
	uint64_t now_ms;		/* wall clock, epoch ms */
};

/* Appends the payload format 2.0 event (compact JSON) to out. Never fails: bytes that are
 * not valid UTF-8 make the body base64 and are replaced in headers. */
void gateway_event_build(const struct gateway_event_in *in, struct buf *out);

/* Whether a body of this content type (may be NULL) is passed as text rather than base64:
 * text/x, JSON, XML, JavaScript, form data, and only when the bytes are valid UTF-8. */
bool gateway_body_is_text(const struct str *content_type, const void *body, size_t len);

/* A function's answer mapped to an HTTP response. */
struct gateway_response {
	int status;
	struct http_header *headers;	/* slices of strings */
	size_t nheaders;
	struct buf body;
	struct buf strings;		/* the header names and values */
};

/* Maps the function's answer: an object with statusCode is API Gateway's response
 * (statusCode, headers, cookies -> one Set-Cookie each, body, isBase64Encoded); any other
 * valid JSON is a 200 application/json with that JSON as the body. -EBADMSG with a message
 * when it is neither (not JSON, a bad statusCode, header or base64 body). Release with
 * gateway_response_release() in every case. */
int gateway_response_map(struct str payload, struct gateway_response *out, struct err *err);
void gateway_response_release(struct gateway_response *r);

/* Hex SHA-256 of a bearer token (65 bytes with the NUL). */
void gateway_token_hash(const char *token, size_t len, char out[65]);

/* ---- gateway.c: the service --------------------------------------------------------- */

struct gateway;

struct gateway_config {
	uint64_t header_timeout_ms;	/* a client's time to send a request head; 0: 10 s */
	uint64_t idle_timeout_ms;	/* keep-alive idle and body stalls; 0: 30 s */
	size_t max_body_bytes;		/* 0: GATEWAY_MAX_BODY_BYTES */
};

/* Loads the routes from the store. Borrows loop, st and inv for its life. */
int gateway_new(struct gateway **out, uv_loop_t *loop, struct store *st,
		struct invoke_service *inv, const struct gateway_config *cfg, struct err *err);
/* Starts serving on host:port (port 0: the kernel picks; *bound_port gets it). */
int gateway_listen(struct gateway *gw, const char *host, int port, int *bound_port,
		   struct err *err);
/* Stops accepting (shutdown); requests in flight still get their answer. NULL is a no-op. */
void gateway_stop(struct gateway *gw);
/* Frees it once the loop has run the listener's close callbacks; as http_server_free().
 * NULL is a no-op. */
void gateway_free(struct gateway *gw);

/* Validates rc (key, target, CORS), stores it (a new id when the key is new) and serves
 * it from now on. rc is borrowed; its id, created_ms and updated_ms are filled. -EINVAL for
 * a bad key or CORS, -ENOENT for an unknown function. */
int gateway_route_put(struct gateway *gw, struct route_config *rc, int *created,
		      struct err *err);
/* By id or key; -ENOENT when there is none. */
int gateway_route_delete(struct gateway *gw, const char *id_or_key, struct err *err);

#endif
