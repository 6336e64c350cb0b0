/*
 * The HTTP/1.1 server: connections on libuv, parsing by llhttp, limits, keep-alive,
 * pipelining, replies; and a table-driven router.
 *
 * It serves the admin API and the user-facing gateway, so every byte it reads is
 * untrusted: heads, bodies and the time a client takes are all capped (see
 * struct http_server_config), and a malformed request gets a 400 and a closed
 * connection. It knows nothing about what the requests mean; that is the handler's.
 *
 * Threading: everything here runs on the loop thread that owns the server.
 */
#ifndef HEARTH_HTTP_H
#define HEARTH_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "llhttp.h"

#include "lib/buf.h"
#include "lib/err.h"

struct http_server;
struct http__conn;

struct http_header {
	struct str name;
	struct str value;
};

/*
 * One request, handed to the handler when it is complete. Every slice points into
 * memory the request owns; all of it is freed by http_reply().
 */
struct http_request {
	struct http_server *server;
	int method;			/* llhttp_method_t, e.g. HTTP_GET */
	struct str method_name;		/* "GET" */
	struct str target;		/* raw request target "/v1/x?y=1" */
	struct str path;		/* target up to '?', NOT percent-decoded */
	struct str query;		/* after '?', without it; empty if none */
	struct http_header *headers;	/* names as sent; lookup is case-insensitive */
	size_t nheaders;
	struct buf body;		/* whole body (Content-Length or chunked, decoded) */
	int http_minor;			/* 0 or 1 */
	char peer_ip[46];		/* textual client address */
	uint64_t start_ns;		/* clock_mono_ns() when the request head completed */
	void *data;			/* free for the handler's use */

	/* private fields after this */
	struct http__conn *conn;	/* holds a reference until http_reply() */
	struct buf raw;			/* target and header bytes the slices point into */
	bool keep_alive;		/* the client allows another request after this one */
};

/* Called once per complete request on the loop thread. The handler must eventually call
 * http_reply() exactly once (now or later, e.g. after an asynchronous invocation). The request
 * stays valid until http_reply() returns. If the client has gone away meanwhile, http_reply()
 * just frees the request. */
typedef void http_handler_fn(struct http_request *req, void *data);

/* Zero fields take the defaults. max_header_bytes counts the request line, headers and
 * trailers (and chunk extensions); a target over half of it is answered 414 rather than 431.
 * idle_timeout_ms also caps the pause between body reads and the time to write a reply. */
struct http_server_config {
	size_t max_header_bytes;	/* default 64 KiB -> 431 */
	size_t max_body_bytes;		/* default 8 MiB -> 413 */
	uint64_t header_timeout_ms;	/* time to receive a whole request head, default 30 s */
	uint64_t idle_timeout_ms;	/* keep-alive idle, default 60 s -> close */
	unsigned max_connections;	/* default 4096; over it, accept and close */
};

#define HTTP_DEFAULT_MAX_HEADER_BYTES (64u << 10)
#define HTTP_DEFAULT_MAX_BODY_BYTES (8u << 20)
#define HTTP_DEFAULT_HEADER_TIMEOUT_MS 30000
#define HTTP_DEFAULT_IDLE_TIMEOUT_MS 60000
#define HTTP_DEFAULT_MAX_CONNECTIONS 4096

/* Never fails (allocation failure aborts). cfg is copied. */
struct http_server *http_server_new(uv_loop_t *loop, const struct http_server_config *cfg,
				    http_handler_fn *handler, void *data);
/* host "127.0.0.1" or "::1" etc; port 0 = kernel-chosen. *bound_port (may be NULL) gets the
 * real port. Returns 0 or a negative errno with err filled. */
int http_server_listen(struct http_server *srv, const char *host, int port, int *bound_port,
		       struct err *err);
/* Stop accepting; close idle connections now; connections with a request in flight close after
 * their reply. Idempotent. */
void http_server_stop(struct http_server *srv);
/* Number of open connections (so shutdown can wait). */
size_t http_server_nconns(const struct http_server *srv);
/* Frees the server once every handle is closed (the loop must keep running until then); call
 * after stop when nconns == 0, or it closes every connection at once. Requests still in a
 * handler's hands stay valid and must still be answered with http_reply(), which then only
 * frees them; their req->server must no longer be used. */
void http_server_free(struct http_server *srv);

/* NULL if absent; first match, name compared case-insensitively. */
const struct str *http_header_get(const struct http_request *req, const char *name);
/* Query parameter lookup, percent-decoded into a malloc'd string (NULL if absent or badly
 * encoded). "a" alone gives "". '+' is left as is: only %XX escapes are decoded. */
char *http_query_get(const struct http_request *req, const char *name);
/* Percent-decode src into a new malloc'd NUL-terminated string; -EINVAL on bad escapes or %00
 * (or a raw NUL byte). *out is untouched on error. */
int http_pct_decode(struct str src, char **out);

/* Sends the reply: status line, the given headers, Content-Length, Connection when closing (or
 * keep-alive for HTTP/1.0), then body (not for HEAD, 204 and 304). Headers named Content-Length,
 * Transfer-Encoding or Connection are dropped (framing is the server's job), and so are headers
 * with CR, LF or NUL in them (logged). A status outside 200..599 becomes 500. Copies everything;
 * the caller keeps ownership of its arguments. After it returns, req is freed. */
void http_reply(struct http_request *req, int status, const struct http_header *headers,
		size_t nheaders, const void *body, size_t body_len);
/* Convenience: JSON body with Content-Type: application/json. */
void http_reply_json(struct http_request *req, int status, const char *json, size_t len);
/* {"error":{"code":code,"message":message}} with a proper JSON-escaped message. */
void http_reply_error(struct http_request *req, int status, const char *code,
		      const char *message);
/* "Not Found"; "Unknown" for codes it does not know. */
const char *http_status_text(int status);

/* Appends {"error":{"code":...,"message":...}} to out; invalid UTF-8 becomes U+FFFD. */
void http__error_json(struct buf *out, const char *code, const char *message);

/*
 * Router: pure, table-driven, allocates nothing.
 *
 * Patterns are made of literal segments and {name} segments, each of which matches one
 * non-empty path segment ("/v1/functions/{name}/invoke"); a final {name+} matches the rest of
 * the path (one or more segments). Matching is exact: "/a/" (a trailing empty segment) does not
 * match "/a", and an empty segment ("/a//b") matches no {name}.
 */
#define HTTP_MAX_PARAMS 8

struct http_route {
	int method;		/* llhttp method, or -1 for any */
	const char *pattern;
	void *handler;
	unsigned flags;
};

struct http_params {
	size_t n;
	struct str name[HTTP_MAX_PARAMS];
	struct str value[HTTP_MAX_PARAMS];
};

/* Returns the index of the matching route; -ENOENT if no pattern matches the path; -ENOTSUP if a
 * pattern matches but not with this method (405). Values are raw slices of path (not decoded);
 * names are slices of the pattern. When several routes match, the one whose segments are more
 * specific from left to right wins (literal, then {name}, then {name+}); on a tie, the first in
 * the table. Patterns that http_routes_check() would reject never match. out may be NULL. */
int http_route_match(const struct http_route *routes, size_t n, int method, struct str path,
		     struct http_params *out);
/* Empty str with ptr NULL if absent. */
struct str http_param(const struct http_params *p, const char *name);
/* Validates a route table once at start-up: each pattern starts with '/', braces are
 * balanced and whole segments, names are non-empty, {name+} only last, at most
 * HTTP_MAX_PARAMS parameters. Returns 0 or -EINVAL with err naming the pattern. */
int http_routes_check(const struct http_route *routes, size_t n, struct err *err);

#endif
