/*
 * The Lambda Runtime API (2018-06-01) as the runtime inside the sandbox sees it.
 *
 * A small HTTP/1.1 server on 127.0.0.1 built on llhttp: keep-alive, pipelining,
 * up to INIT_MAX_CONNS connections. GET /next is a long poll: the connection is
 * parked, its parser paused, until the daemon sends an invocation; invocations
 * that arrive while nobody waits are queued. Exactly one invocation is in
 * flight: the last one handed out and not yet answered.
 *
 * The runtime is user code, so every byte it sends is untrusted: the parser is
 * llhttp's, header and body sizes are capped, and a malformed request costs the
 * runtime its connection (400, close), never init.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "llhttp.h"

#include "init/init.h"
#include "lib/cleanup.h"
#include "lib/err.h"
#include "lib/relay.h"
#include "lib/banned.h"

#define CONN_READ_CHUNK (64u << 10)
/* URL, header names and values together; Lambda runtimes send a few hundred bytes. */
#define MAX_HEADER_BYTES (64u << 10)
/* Stop reading a connection that does not read its answers or keeps talking
 * while its GET /next is parked. */
#define CONN_OUT_HIGH (1u << 20)
#define CONN_IN_HIGH (64u << 10)
#define MAX_REQUEST_ID 256

#define ERRTYPE_HEADER "Lambda-Runtime-Function-Error-Type"

struct conn {
	struct init *in;
	int fd;
	llhttp_t parser;
	struct buf rbuf;		/* read, not yet parsed */
	struct outq out;

	/* the request being parsed */
	struct buf url;
	struct buf field, value;	/* the header being parsed */
	struct buf errtype;		/* Lambda-Runtime-Function-Error-Type */
	struct buf body;
	size_t header_bytes;
	bool has_errtype;
	bool expect_continue;
	bool body_too_big;		/* over INIT_MAX_RESPONSE; body was dropped */
	int err_status;			/* set by a callback that failed the parse */

	bool keep_alive;
	bool waiting;			/* a GET /next is parked here */
	unsigned long long wait_seq;	/* FIFO order among parked connections */
	bool paused;			/* parser paused: parked, or closing */
	bool closing;			/* close once `out` is written */
	bool dead;			/* close now */
};

typedef void route_fn(struct conn *c, struct str id);

struct route {
	enum llhttp_method method;
	const char *pattern;	/* "{id}" matches one non-empty segment */
	route_fn *fn;
};

static route_fn on_next, on_response, on_error, on_init_error;

static const struct route routes[] = {
	{ HTTP_GET,  "/2018-06-01/runtime/invocation/next",          on_next },
	{ HTTP_POST, "/2018-06-01/runtime/invocation/{id}/response", on_response },
	{ HTTP_POST, "/2018-06-01/runtime/invocation/{id}/error",    on_error },
	{ HTTP_POST, "/2018-06-01/runtime/init/error",               on_init_error },
};

static const struct {
	int status;
	const char *reason;
} reasons[] = {
	{ 100, "Continue" },
	{ 200, "OK" },
	{ 202, "Accepted" },
	{ 400, "Bad Request" },
	{ 403, "Forbidden" },
	{ 404, "Not Found" },
	{ 405, "Method Not Allowed" },
	{ 413, "Request Entity Too Large" },
	{ 431, "Request Header Fields Too Large" },
	{ 500, "Internal Server Error" },
};

static const char *
reason_of(int status)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(reasons); i++)
		if (reasons[i].status == status)
			return reasons[i].reason;
	return "Unknown";
}

static void
conn_flush(struct conn *c)
{
	if (c->dead)
		return;
	if (init__outq_flush(&c->out, c->fd) < 0)
		c->dead = true;
}

static void
reply(struct conn *c, int status, const char *extra_headers, const char *body, size_t n)
{
	buf_addf(&c->out.b, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
		 "Content-Length: %zu\r\n%s%s\r\n",
		 status, reason_of(status), n, extra_headers ? extra_headers : "",
		 c->keep_alive ? "" : "Connection: close\r\n");
	buf_add(&c->out.b, body, n);
}

/* Replies with Lambda's error shape {"errorMessage": ..., "errorType": ...}. */
static void
reply_error(struct conn *c, int status, const char *type, const char *msg,
	    const char *extra_headers)
{
	struct buf body = BUF_INIT;

	buf_adds(&body, "{\"errorMessage\":");
	init__json_str(&body, msg, strlen(msg));
	buf_adds(&body, ",\"errorType\":");
	init__json_str(&body, type, strlen(type));
	buf_addch(&body, '}');
	reply(c, status, extra_headers, body.ptr, body.len);
	buf_release(&body);
}

static void
reply_accepted(struct conn *c)
{
	static const char ok[] = "{\"status\":\"OK\"}";

	reply(c, 202, NULL, ok, sizeof(ok) - 1);
}

/* Matches a path against a route pattern; *id gets the "{id}" segment. */
static bool
route_match(const char *pattern, struct str path, struct str *id)
{
	const char *p = pattern, *s = path.ptr, *end = path.ptr + path.len;

	while (*p) {
		if (strncmp(p, "{id}", 4) == 0) {
			const char *seg = s;

			while (s < end && *s != '/')
				s++;
			if (s == seg)
				return false;
			*id = str_from(seg, (size_t)(s - seg));
			p += 4;
			continue;
		}
		if (s == end || *s != *p)
			return false;
		p++;
		s++;
	}
	return s == end;
}

/* The handed-out, unanswered invocation's id, or false: unknown, stale and
 * already-answered ids all get 400 InvalidRequestID, as on Lambda. */
static bool
id_inflight(struct init *in, struct str id)
{
	return in->inflight_id && str_eqs(id, in->inflight_id);
}

static void
reply_bad_id(struct conn *c)
{
	reply_error(c, 400, "InvalidRequestID", "Invalid request ID", NULL);
}

static void
hand_out(struct conn *c, struct pending *p)
{
	struct init *in = c->in;

	if (c->keep_alive) {
		buf_add(&c->out.b, p->http.ptr, p->http.len);
	} else {
		/* The answer was prepared before knowing who would get it. */
		buf_add(&c->out.b, p->http.ptr, p->head_len);
		buf_adds(&c->out.b, "Connection: close\r\n");
		buf_add(&c->out.b, p->http.ptr + p->head_len, p->http.len - p->head_len);
	}
	free(in->inflight_id);
	in->inflight_id = p->id;
	in->handed_out = true;
	buf_release(&p->http);
	free(p);
}

static struct pending *
queue_pop(struct init *in)
{
	struct pending *p = in->queue;

	if (!p)
		return NULL;
	in->queue = p->next;
	if (!in->queue)
		in->queue_tail = &in->queue;
	return p;
}

/* What the runtime wrote before it answered is in its pipes by now: forward it
 * first, so those lines reach the daemon while the call is still in flight and
 * are logged under its request id, not after its END line. */
static void
drain_logs(struct init *in)
{
	struct pollfd p[2];
	int idx[2], n = 0, i, r;

	/* This runs twice per call, and the pipes are mostly empty: one poll
	 * says which (if any) has bytes, instead of a read per pipe for EAGAIN. */
	for (i = 0; i < 2; i++) {
		if (in->logs[i].fd < 0)
			continue;
		p[n].fd = in->logs[i].fd;
		p[n].events = POLLIN;
		p[n].revents = 0;
		idx[n++] = i;
	}
	if (!n)
		return;
	do
		r = poll(p, (nfds_t)n, 0);
	while (r < 0 && errno == EINTR);
	for (i = 0; i < n; i++)
		if (r < 0 || p[i].revents)
			init__child_read_logs(in, idx[i], true);
}

static void
on_next(struct conn *c, struct str id)
{
	struct init *in = c->in;
	struct buf *out = init__relay_buf(in);
	struct pending *p;

	(void)id;
	/* Every GET /next tells the daemon the runtime is ready; the first one
	 * ends the init phase, whose output must reach the daemon before that. */
	drain_logs(in);
	relay_end(out, relay_begin(out, RELAY_NEXT));
	p = queue_pop(in);
	if (p) {
		hand_out(c, p);
		return;
	}
	c->waiting = true;
	c->wait_seq = ++in->wait_seq;
}

static void
relay_error(struct init *in, const char *id, const char *type, const char *body, size_t n)
{
	struct buf *out = init__relay_buf(in);
	size_t start = relay_begin(out, RELAY_ERROR);

	relay_puts(out, RELAY_T_ID, id);
	relay_puts(out, RELAY_T_ERRTYPE, type);
	relay_put(out, RELAY_T_BODY, body, n);
	relay_end(out, start);
}

static void
reply_too_large(struct conn *c)
{
	reply_error(c, 413, "RequestEntityTooLarge",
		    "Exceeded maximum allowed payload size (6291556 bytes).", NULL);
}

/* A response or error body over the limit: the invocation fails with
 * Function.ResponseSizeTooLarge, as on Lambda, and is answered. */
static void
fail_too_large(struct conn *c)
{
	static const char body[] =
		"{\"errorMessage\":\"Response payload size exceeded maximum allowed payload "
		"size (6291556 bytes).\",\"errorType\":\"Function.ResponseSizeTooLarge\"}";
	struct init *in = c->in;

	relay_error(in, in->inflight_id, "Function.ResponseSizeTooLarge", body, sizeof(body) - 1);
	free(in->inflight_id);
	in->inflight_id = NULL;
	reply_too_large(c);
}

static void
on_response(struct conn *c, struct str id)
{
	struct init *in = c->in;
	struct buf *out = init__relay_buf(in);
	size_t start;

	if (!id_inflight(in, id)) {
		reply_bad_id(c);
		return;
	}
	if (c->body_too_big) {
		fail_too_large(c);
		return;
	}
	drain_logs(in);
	start = relay_begin(out, RELAY_RESPONSE);
	relay_puts(out, RELAY_T_ID, in->inflight_id);
	relay_put(out, RELAY_T_BODY, c->body.ptr, c->body.len);
	relay_end(out, start);
	free(in->inflight_id);
	in->inflight_id = NULL;
	reply_accepted(c);
}

static const char *
errtype_of(struct conn *c)
{
	return c->has_errtype && c->errtype.len ? c->errtype.ptr : "Unhandled";
}

static void
on_error(struct conn *c, struct str id)
{
	struct init *in = c->in;

	if (!id_inflight(in, id)) {
		reply_bad_id(c);
		return;
	}
	if (c->body_too_big) {
		fail_too_large(c);
		return;
	}
	drain_logs(in);
	relay_error(in, in->inflight_id, errtype_of(c), c->body.ptr, c->body.len);
	free(in->inflight_id);
	in->inflight_id = NULL;
	reply_accepted(c);
}

static void
on_init_error(struct conn *c, struct str id)
{
	static const char too_big[] =
		"{\"errorMessage\":\"init error payload too large\","
		"\"errorType\":\"Runtime.Unknown\"}";
	struct init *in = c->in;
	struct buf *out = init__relay_buf(in);
	size_t start;

	(void)id;
	if (in->handed_out) {
		reply_error(c, 403, "InvalidStateTransition",
			    "init error reported after the first invocation", NULL);
		return;
	}
	drain_logs(in);
	start = relay_begin(out, RELAY_INIT_ERROR);
	relay_puts(out, RELAY_T_ERRTYPE, errtype_of(c));
	if (c->body_too_big)
		relay_put(out, RELAY_T_BODY, too_big, sizeof(too_big) - 1);
	else
		relay_put(out, RELAY_T_BODY, c->body.ptr, c->body.len);
	relay_end(out, start);
	if (c->body_too_big)
		reply_too_large(c);
	else
		reply_accepted(c);
}

static void
dispatch(struct conn *c)
{
	struct str path = { c->url.ptr, c->url.len };
	enum llhttp_method method = llhttp_get_method(&c->parser);
	const struct route *path_hit = NULL;
	const char *q;
	size_t i;

	q = memchr(path.ptr, '?', path.len);
	if (q)
		path.len = (size_t)(q - path.ptr);
	for (i = 0; i < ARRAY_SIZE(routes); i++) {
		struct str id = STR_NULL;

		if (!route_match(routes[i].pattern, path, &id))
			continue;
		if (routes[i].method == method) {
			routes[i].fn(c, id);
			return;
		}
		path_hit = &routes[i];
	}
	if (path_hit) {
		char allow[32];

		snprintf(allow, sizeof(allow), "Allow: %s\r\n",
			 llhttp_method_name(path_hit->method));
		reply_error(c, 405, "MethodNotAllowed", "method not allowed", allow);
		return;
	}
	reply_error(c, 404, "NotFound", "unknown path", NULL);
}

/* llhttp callbacks: `p->data` is the connection. */

static int
cb_message_begin(llhttp_t *p)
{
	struct conn *c = p->data;

	buf_reset(&c->url);
	buf_reset(&c->field);
	buf_reset(&c->value);
	buf_reset(&c->errtype);
	buf_release(&c->body);
	c->header_bytes = 0;
	c->has_errtype = false;
	c->expect_continue = false;
	c->body_too_big = false;
	return 0;
}

static int
add_header_bytes(struct conn *c, struct buf *b, const char *at, size_t n)
{
	c->header_bytes += n;
	if (c->header_bytes > MAX_HEADER_BYTES) {
		c->err_status = 431;
		return -1;
	}
	buf_add(b, at, n);
	return 0;
}

static int
cb_url(llhttp_t *p, const char *at, size_t n)
{
	struct conn *c = p->data;

	return add_header_bytes(c, &c->url, at, n);
}

static int
cb_header_field(llhttp_t *p, const char *at, size_t n)
{
	struct conn *c = p->data;

	return add_header_bytes(c, &c->field, at, n);
}

static int
cb_header_value(llhttp_t *p, const char *at, size_t n)
{
	struct conn *c = p->data;

	return add_header_bytes(c, &c->value, at, n);
}

static int
cb_header_value_complete(llhttp_t *p)
{
	struct conn *c = p->data;
	struct str field = { c->field.ptr, c->field.len };

	if (str_caseeqs(field, ERRTYPE_HEADER)) {
		buf_reset(&c->errtype);
		buf_add(&c->errtype, c->value.ptr, c->value.len);
		c->has_errtype = true;
	} else if (str_caseeqs(field, "Expect") &&
		   str_caseeqs((struct str){ c->value.ptr, c->value.len }, "100-continue")) {
		c->expect_continue = true;
	}
	buf_reset(&c->field);
	buf_reset(&c->value);
	return 0;
}

static int
cb_headers_complete(llhttp_t *p)
{
	struct conn *c = p->data;

	/* curl-based runtimes send "Expect: 100-continue" with large bodies and
	 * would otherwise wait a second before sending them. */
	if (c->expect_continue && llhttp_get_http_minor(p) >= 1)
		buf_adds(&c->out.b, "HTTP/1.1 100 Continue\r\n\r\n");
	return 0;
}

static int
cb_body(llhttp_t *p, const char *at, size_t n)
{
	struct conn *c = p->data;

	if (c->body_too_big)
		return 0;
	if (n > INIT_MAX_RESPONSE - c->body.len) {
		/* Keep parsing so the answer can be a clean 413 on a live connection,
		 * but hold none of the excess. */
		c->body_too_big = true;
		buf_release(&c->body);
		return 0;
	}
	buf_add(&c->body, at, n);
	return 0;
}

static int
cb_message_complete(llhttp_t *p)
{
	struct conn *c = p->data;

	c->keep_alive = llhttp_should_keep_alive(p);
	dispatch(c);
	buf_release(&c->body);
	if (!c->keep_alive)
		c->closing = true;
	/* Stop parsing: a parked GET /next must be answered before any request
	 * pipelined behind it, and a closing connection reads nothing more. */
	if (c->waiting || c->closing)
		return HPE_PAUSED;
	return 0;
}

static const llhttp_settings_t settings = {
	.on_message_begin = cb_message_begin,
	.on_url = cb_url,
	.on_header_field = cb_header_field,
	.on_header_value = cb_header_value,
	.on_header_value_complete = cb_header_value_complete,
	.on_headers_complete = cb_headers_complete,
	.on_body = cb_body,
	.on_message_complete = cb_message_complete,
};

static void
conn_parse(struct conn *c)
{
	llhttp_errno_t e;

	if (c->paused || c->dead || c->rbuf.len == 0)
		return;
	e = llhttp_execute(&c->parser, c->rbuf.ptr, c->rbuf.len);
	if (e == HPE_OK) {
		buf_reset(&c->rbuf);
		return;
	}
	if (e == HPE_PAUSED) {
		buf_consume(&c->rbuf, (size_t)(llhttp_get_error_pos(&c->parser) - c->rbuf.ptr));
		c->paused = true;
		return;
	}
	/* Malformed HTTP (or an upgrade, which this API has no use for): answer
	 * 400 and hang up, as the connection's framing can no longer be trusted. */
	c->keep_alive = false;
	if (c->err_status == 431)
		reply_error(c, 431, "RequestHeaderFieldsTooLarge", "request headers too large",
			    NULL);
	else
		reply_error(c, 400, "InvalidRequest", llhttp_get_error_reason(&c->parser), NULL);
	buf_reset(&c->rbuf);
	c->paused = true;
	c->closing = true;
}

static void
conn_free(struct conn *c)
{
	close(c->fd);
	buf_release(&c->rbuf);
	init__outq_release(&c->out);
	buf_release(&c->url);
	buf_release(&c->field);
	buf_release(&c->value);
	buf_release(&c->errtype);
	buf_release(&c->body);
	free(c);
}

static void
conn_read(struct conn *c)
{
	int i;

	for (i = 0; i < 4; i++) {
		ssize_t n;

		buf_grow(&c->rbuf, CONN_READ_CHUNK);
		n = read(c->fd, c->rbuf.ptr + c->rbuf.len, CONN_READ_CHUNK);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				c->dead = true;
			break;
		}
		if (n == 0) {
			/* The runtime hung up (maybe on a parked GET /next). What it
			 * sent before still counts; nothing can be answered. */
			conn_parse(c);
			c->dead = true;
			return;
		}
		buf_setlen(&c->rbuf, c->rbuf.len + (size_t)n);
		if (c->paused)
			break;
		conn_parse(c);
		/* A short read emptied the socket: poll reports what comes next. */
		if ((size_t)n < CONN_READ_CHUNK)
			break;
	}
	conn_parse(c);
}

static void
accept_conns(struct init *in)
{
	for (;;) {
		int one = 1, fd = accept4(in->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		struct conn *c;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			/* EAGAIN, or EMFILE and the like: try again on the next wake-up. */
			return;
		}
		if (in->nconns == INIT_MAX_CONNS) {
			/* A prompt close beats a client hanging in the backlog. */
			close(fd);
			continue;
		}
		/* Answers are written whole; don't let Nagle hold their tails. */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = xcalloc(1, sizeof(*c));
		c->in = in;
		c->fd = fd;
		llhttp_init(&c->parser, HTTP_REQUEST, &settings);
		c->parser.data = c;
		buf_init(&c->rbuf);
		buf_init(&c->out.b);
		buf_init(&c->url);
		buf_init(&c->field);
		buf_init(&c->value);
		buf_init(&c->errtype);
		buf_init(&c->body);
		c->keep_alive = true;
		in->conns[in->nconns++] = c;
	}
}

int
init__api_listen(struct init *in, const char *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	_cleanup_close_ int fd = -1;
	unsigned long long p;
	int one = 1;

	if (str_to_u64(str_cstr(port), &p) < 0 || p == 0 || p > 65535)
		return -EINVAL;
	sa.sin_port = htons((uint16_t)p);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	if (listen(fd, INIT_MAX_CONNS) < 0)
		return -errno;
	in->listen_fd = steal_fd(&fd);
	return 0;
}

/* Header values come from the daemon, but a CR or LF would let one forge
 * headers, so they are checked rather than trusted. */
static bool
header_safe(struct str v)
{
	size_t i;

	for (i = 0; i < v.len; i++)
		if (v.ptr[i] == '\r' || v.ptr[i] == '\n' || v.ptr[i] == '\0')
			return false;
	return true;
}

int
init__api_invoke(struct init *in, const struct relay_msg *m)
{
	static const struct {
		enum relay_tag tag;
		const char *header;
		bool required;
	} headers[] = {
		{ RELAY_T_ID,          "Lambda-Runtime-Aws-Request-Id",      true },
		{ RELAY_T_DEADLINE_MS, "Lambda-Runtime-Deadline-Ms",         true },
		{ RELAY_T_ARN,         "Lambda-Runtime-Invoked-Function-Arn", false },
		{ RELAY_T_TRACE,       "Lambda-Runtime-Trace-Id",            false },
		{ RELAY_T_CLIENT_CTX,  "Lambda-Runtime-Client-Context",      false },
		{ RELAY_T_COGNITO,     "Lambda-Runtime-Cognito-Identity",    false },
	};
	struct str id = m->f[RELAY_T_ID], body = m->f[RELAY_T_BODY];
	struct conn *best = NULL;
	struct pending *p;
	size_t i;

	if (!id.ptr || id.len == 0 || id.len > MAX_REQUEST_ID || memchr(id.ptr, '/', id.len) ||
	    memchr(id.ptr, '?', id.len) || !body.ptr) {
		init__log("INVOKE without a usable request id or body");
		return -EBADMSG;
	}
	p = xcalloc(1, sizeof(*p));
	p->id = str_dup(id);
	buf_init(&p->http);
	buf_adds(&p->http, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n");
	for (i = 0; i < ARRAY_SIZE(headers); i++) {
		struct str v = m->f[headers[i].tag];

		if (!v.ptr && !headers[i].required)
			continue;
		if (!v.ptr || !header_safe(v)) {
			init__log("INVOKE with a missing or unsafe %s", headers[i].header);
			buf_release(&p->http);
			free(p->id);
			free(p);
			return -EBADMSG;
		}
		buf_addf(&p->http, "%s: %.*s\r\n", headers[i].header, (int)v.len, v.ptr);
	}
	buf_addf(&p->http, "Content-Length: %zu\r\n", body.len);
	p->head_len = p->http.len;
	buf_adds(&p->http, "\r\n");
	buf_add(&p->http, body.ptr, body.len);

	for (i = 0; i < in->nconns; i++) {
		struct conn *c = in->conns[i];

		if (c->waiting && !c->dead && (!best || c->wait_seq < best->wait_seq))
			best = c;
	}
	if (!best) {
		p->next = NULL;
		*in->queue_tail = p;
		in->queue_tail = &p->next;
		return 0;
	}
	hand_out(best, p);
	best->waiting = false;
	conn_flush(best);
	if (!best->closing) {
		/* Serve what the runtime pipelined behind its GET /next. */
		llhttp_resume(&best->parser);
		best->paused = false;
		conn_parse(best);
	}
	return 0;
}

size_t
init__api_pollfds(struct init *in, struct pollfd *fds, bool throttle)
{
	size_t i;

	fds[0].fd = in->listen_fd;
	fds[0].events = POLLIN;
	for (i = 0; i < in->nconns; i++) {
		struct conn *c = in->conns[i];
		size_t pending = init__outq_pending(&c->out);

		fds[1 + i].fd = c->fd;
		fds[1 + i].events = 0;
		if (!throttle && !c->closing && pending < CONN_OUT_HIGH &&
		    !(c->paused && c->rbuf.len >= CONN_IN_HIGH))
			fds[1 + i].events |= POLLIN;
		if (pending)
			fds[1 + i].events |= POLLOUT;
	}
	return 1 + in->nconns;
}

void
init__api_events(struct init *in, const struct pollfd *fds, size_t n)
{
	size_t i;

	for (i = 1; i < n && i - 1 < in->nconns; i++) {
		struct conn *c = in->conns[i - 1];

		if (fds[i].fd != c->fd || !fds[i].revents)
			continue;
		if (fds[i].revents & POLLIN)
			conn_read(c);
		else if (fds[i].revents & (POLLERR | POLLHUP))
			c->dead = true;
		conn_flush(c);
	}
	for (i = 0; i < in->nconns; i++)
		conn_flush(in->conns[i]);
	if (n > 0 && fds[0].revents & POLLIN)
		accept_conns(in);
}

void
init__api_sweep(struct init *in)
{
	size_t i = 0;

	while (i < in->nconns) {
		struct conn *c = in->conns[i];

		if (c->dead || (c->closing && !c->waiting && init__outq_pending(&c->out) == 0)) {
			conn_free(c);
			in->conns[i] = in->conns[--in->nconns];
			continue;
		}
		i++;
	}
}

void
init__api_release(struct init *in)
{
	struct pending *p;

	while (in->nconns)
		conn_free(in->conns[--in->nconns]);
	for (;;) {
		p = queue_pop(in);
		if (!p)
			break;
		free(p->id);
		buf_release(&p->http);
		free(p);
	}
	free(in->inflight_id);
	in->inflight_id = NULL;
	if (in->listen_fd >= 0)
		close(in->listen_fd);
	in->listen_fd = -1;
}
