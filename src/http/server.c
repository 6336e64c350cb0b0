/*
 * HTTP/1.1 connections on libuv, parsed by llhttp.
 *
 * A connection is a small state machine:
 *
 *   READING --request complete--> BUSY --reply written--> READING (keep-alive)
 *      |                            |
 *      | bad request: error reply   '--reply written, closing--> LINGER --EOF/timer--> CLOSED
 *      '----------------------------------------------------------^
 *
 * Only one request per connection is with the handler at a time: llhttp is paused in
 * on_message_complete, and bytes that arrive meanwhile (pipelined requests) are kept in
 * c->in, up to MAX_PENDING_BYTES, after which reading stops until the reply is written.
 * So replies go out in request order and a client cannot make us buffer without bound.
 *
 * Memory: a connection is refcounted. The open handles hold one reference and each request
 * given to the handler holds another, so a request whose client went away stays valid until
 * the handler calls http_reply(), which then only frees it. Handles are closed with
 * uv_close() and the connection leaves the server's list in the last close callback.
 *
 * Everything a client controls is capped: head bytes (431/414), body bytes (413, from
 * Content-Length before reading any body, and while a chunked body streams), the time to
 * send a head, the pause between body reads, the time to take a reply, and the number of
 * connections.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"

#include "lib/cleanup.h"
#include "lib/clock.h"
#include "lib/log.h"

#include "lib/banned.h"

#define READ_BUF_BYTES (64u << 10)
/* Input kept while a request is with the handler; a pipelining client can push this much
 * before we stop reading its socket. */
#define MAX_PENDING_BYTES (64u << 10)
/* After the last reply on a connection we send FIN and read (and drop) what the client still
 * sends, for at most this long. Closing with unread input makes the kernel send RST, which
 * can destroy the reply before the client reads it (a 413 sent while the body still flows). */
#define LINGER_MS 2000
/* The request line's method, version and CRLFs, counted against max_header_bytes. */
#define REQUEST_LINE_OVERHEAD 16
/* ": " and CRLF around each header. */
#define HEADER_OVERHEAD 4

enum conn_state {
	CONN_READING,	/* parsing; c->req is the request being received, if any */
	CONN_BUSY,	/* c->inflight is with the handler, or a reply is being written */
	CONN_LINGER,	/* last reply written and FIN sent; dropping input until EOF */
	CONN_CLOSED,	/* uv_close() called on both handles */
};

/* Where a header's name and value sit in req->raw while the head is still growing. */
struct hdr_off {
	size_t name_off, name_len;
	size_t value_off, value_len;
};

struct http__conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_shutdown_t shutdown;
	struct http_server *srv;	/* NULL once the handles are closed */
	struct http__conn *prev, *next;
	llhttp_t parser;
	enum conn_state state;
	unsigned refs;
	unsigned open_handles;
	struct http_request *req;	/* being received */
	struct http_request *inflight;	/* with the handler, until http_reply() */
	struct buf in;			/* bytes read but not parsed yet */
	struct hdr_off *hdrs;
	size_t nhdrs, hdrs_cap;
	size_t url_len;
	size_t head_bytes;		/* head and trailer bytes of the current request */
	int hdr_state;			/* 0: no header yet, 1: in a name, 2: in a value */
	int error_status;		/* why a parser callback rejected the request */
	bool headers_done;		/* header callbacks now deliver trailers */
	bool reading;
	bool eof;			/* the client sent FIN */
	bool close_after;		/* close once the reply in flight is written */
	char peer_ip[46];
};

struct http_server {
	uv_loop_t *loop;
	struct http_server_config cfg;
	http_handler_fn *handler;
	void *data;
	llhttp_settings_t settings;
	uv_tcp_t listener;
	bool listener_inited;
	bool listener_open;		/* until its close callback */
	bool stopping;
	bool free_pending;
	struct http__conn *conns;
	size_t nconns;
	/* One read buffer for all connections: libuv calls alloc, read(2) and the read callback
	 * back to back for one stream, and the callback copies what it keeps. */
	char rbuf[READ_BUF_BYTES];
};

struct write_req {
	uv_write_t w;
	struct http__conn *c;
	char *data;
	bool ends_reply;		/* the write that completes the reply in flight */
};

static void conn_close(struct http__conn *c);
static void process_input(struct http__conn *c);

static void
request_free(struct http_request *req)
{
	if (!req)
		return;
	buf_release(&req->raw);
	buf_release(&req->body);
	free(req->headers);
	free(req);
}

static void
conn_unref(struct http__conn *c)
{
	if (--c->refs > 0)
		return;
	request_free(c->req);
	buf_release(&c->in);
	free(c->hdrs);
	free(c);
}

static void
maybe_free_server(struct http_server *srv)
{
	if (srv->free_pending && srv->nconns == 0 && !srv->listener_open)
		free(srv);
}

static void
on_handle_close(uv_handle_t *h)
{
	struct http__conn *c = h->data;
	struct http_server *srv = c->srv;

	if (--c->open_handles > 0)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	srv->nconns--;
	c->srv = NULL;
	conn_unref(c);
	maybe_free_server(srv);
}

static void
conn_close(struct http__conn *c)
{
	if (c->state == CONN_CLOSED)
		return;
	c->state = CONN_CLOSED;
	request_free(steal_ptr(&c->req));
	/* Pending writes and the shutdown complete with UV_ECANCELED before on_handle_close. */
	uv_close((uv_handle_t *)&c->timer, on_handle_close);
	uv_close((uv_handle_t *)&c->tcp, on_handle_close);
}

static void
on_timer(uv_timer_t *t)
{
	struct http__conn *c = t->data;

	log_debug("http: closing connection from %s: timed out", c->peer_ip);
	conn_close(c);
}

static void
timer_start(struct http__conn *c, uint64_t ms)
{
	uv_timer_start(&c->timer, on_timer, ms, 0);
}

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct http__conn *c = h->data;

	(void)suggested;
	b->base = c->srv->rbuf;
	b->len = sizeof(c->srv->rbuf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b);

static void
read_start(struct http__conn *c)
{
	int r;

	if (c->reading || c->eof)
		return;
	r = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
	if (r < 0) {
		log_debug("http: cannot read from %s: %s", c->peer_ip, uv_strerror(r));
		conn_close(c);
		return;
	}
	c->reading = true;
}

static void
read_stop(struct http__conn *c)
{
	if (!c->reading)
		return;
	uv_read_stop((uv_stream_t *)&c->tcp);
	c->reading = false;
}

static void
on_shutdown(uv_shutdown_t *sr, int status)
{
	struct http__conn *c = sr->data;

	if (status < 0)
		conn_close(c);
}

/* The last reply is out: half-close and drain, so the client reads the reply before the
 * socket goes away. */
static void
start_linger(struct http__conn *c)
{
	int r;

	c->state = CONN_LINGER;
	if (c->eof) {
		conn_close(c);
		return;
	}
	c->shutdown.data = c;
	r = uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shutdown);
	if (r < 0) {
		conn_close(c);
		return;
	}
	timer_start(c, MIN((uint64_t)LINGER_MS, c->srv->cfg.idle_timeout_ms));
	read_start(c);
}

/* The reply in flight has been written: close, or go back to reading requests. */
static void
reply_done(struct http__conn *c)
{
	if (c->close_after || c->srv->stopping) {
		start_linger(c);
		return;
	}
	c->state = CONN_READING;
	timer_start(c, c->srv->cfg.idle_timeout_ms);
	read_start(c);
	if (c->state == CONN_READING)
		process_input(c);
	/* A half-closed client cannot finish a request it has not sent yet. */
	if (c->state == CONN_READING && c->eof)
		conn_close(c);
}

static void
on_write(uv_write_t *w, int status)
{
	struct write_req *wr = w->data;
	struct http__conn *c = wr->c;
	bool ends = wr->ends_reply;

	free(wr->data);
	free(wr);
	if (c->state == CONN_CLOSED)
		return;
	if (status < 0) {
		log_debug("http: cannot write to %s: %s", c->peer_ip, uv_strerror(status));
		conn_close(c);
		return;
	}
	if (ends)
		reply_done(c);
}

/* Takes out's memory. */
static void
conn_write(struct http__conn *c, struct buf *out, bool ends_reply)
{
	struct write_req *wr;
	uv_buf_t b;
	size_t len;
	int r;

	if (c->state == CONN_CLOSED) {
		buf_release(out);
		return;
	}
	wr = xcalloc(1, sizeof(*wr));
	wr->c = c;
	wr->ends_reply = ends_reply;
	wr->w.data = wr;
	wr->data = buf_detach(out, &len);
	b = uv_buf_init(wr->data, (unsigned)len);
	r = uv_write(&wr->w, (uv_stream_t *)&c->tcp, &b, 1, on_write);
	if (r < 0) {
		free(wr->data);
		free(wr);
		log_debug("http: cannot write to %s: %s", c->peer_ip, uv_strerror(r));
		conn_close(c);
		return;
	}
	/* A client that does not read its reply must not hold the connection forever. */
	if (ends_reply)
		timer_start(c, c->srv->cfg.idle_timeout_ms);
}

static const char *
error_code(int status)
{
	switch (status) {
	case 413:
		return "request_too_large";
	case 414:
		return "uri_too_long";
	case 417:
		return "expectation_failed";
	case 431:
		return "headers_too_large";
	case 505:
		return "http_version_not_supported";
	default:
		return "bad_request";
	}
}

/* Answers a request we refuse to parse further, then closes. */
static void
send_error(struct http__conn *c, int status, const char *why)
{
	struct buf body = BUF_INIT, out = BUF_INIT;

	log_debug("http: rejecting request from %s: %d %s", c->peer_ip, status, why);
	request_free(steal_ptr(&c->req));
	c->state = CONN_BUSY;
	c->close_after = true;
	http__error_json(&body, error_code(status), why);
	buf_addf(&out,
		 "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
		 "Connection: close\r\n\r\n",
		 status, http_status_text(status), body.len);
	buf_addstr(&out, str_from(body.ptr, body.len));
	buf_release(&body);
	conn_write(c, &out, true);
}

static void
dispatch(struct http__conn *c)
{
	struct http_server *srv = c->srv;
	struct http_request *req = steal_ptr(&c->req);

	c->state = CONN_BUSY;
	c->inflight = req;
	c->refs++;
	req->conn = c;
	req->server = srv;
	uv_timer_stop(&c->timer);
	srv->handler(req, srv->data);
}

/* Feeds bytes to llhttp until they run out or one request is complete (then the handler has
 * it). Returns how many bytes were used. */
static size_t
feed(struct http__conn *c, const char *data, size_t len)
{
	llhttp_errno_t e = llhttp_execute(&c->parser, data, len);
	size_t used;

	if (e == HPE_OK)
		return len;
	if (e == HPE_PAUSED) {
		used = (size_t)(llhttp_get_error_pos(&c->parser) - data);
		llhttp_resume(&c->parser);
		dispatch(c);
		return used;
	}
	if (c->error_status)
		send_error(c, c->error_status, http_status_text(c->error_status));
	else
		send_error(c, 400, llhttp_get_error_reason(&c->parser));
	return len;
}

/* Parses what c->in holds, while the connection wants requests. */
static void
process_input(struct http__conn *c)
{
	size_t off = 0;

	while (c->state == CONN_READING && off < c->in.len)
		off += feed(c, c->in.ptr + off, c->in.len - off);
	if (c->state == CONN_CLOSED || c->state == CONN_LINGER || off == c->in.len) {
		buf_release(&c->in);
		return;
	}
	buf_consume(&c->in, off);
}

static void
on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct http__conn *c = s->data;
	size_t n = (size_t)nread, used;

	if (nread == 0)
		return;
	if (nread < 0) {
		if (nread != UV_EOF || c->state != CONN_BUSY) {
			conn_close(c);
			return;
		}
		/* The client may have half-closed after its last request: answer it, then close. */
		c->eof = true;
		read_stop(c);
		return;
	}
	switch (c->state) {
	case CONN_READING:
		if (c->req && c->headers_done)
			timer_start(c, c->srv->cfg.idle_timeout_ms);
		if (c->in.len > 0) {
			buf_add(&c->in, b->base, n);
			process_input(c);
			return;
		}
		used = feed(c, b->base, n);
		if (c->state == CONN_BUSY && !c->close_after && used < n)
			buf_add(&c->in, b->base + used, n - used);
		return;
	case CONN_BUSY:
		if (c->close_after)
			return;
		buf_add(&c->in, b->base, n);
		if (c->in.len > MAX_PENDING_BYTES)
			read_stop(c);
		return;
	case CONN_LINGER:
	case CONN_CLOSED:
		return;
	}
}

/* llhttp callbacks. Returning -1 makes llhttp_execute() fail; error_status says how to answer. */

static struct http__conn *
parser_conn(llhttp_t *p)
{
	return p->data;
}

static int
reject(struct http__conn *c, int status)
{
	c->error_status = status;
	return -1;
}

static int
count_head(struct http__conn *c, size_t n)
{
	c->head_bytes += n;
	if (c->head_bytes > c->srv->cfg.max_header_bytes)
		return reject(c, 431);
	return 0;
}

static int
on_message_begin(llhttp_t *p)
{
	struct http__conn *c = parser_conn(p);
	struct http_request *req = xcalloc(1, sizeof(*req));

	buf_init(&req->raw);
	buf_init(&req->body);
	request_free(c->req);
	c->req = req;
	c->nhdrs = 0;
	c->url_len = 0;
	c->head_bytes = REQUEST_LINE_OVERHEAD;
	c->hdr_state = 0;
	c->headers_done = false;
	timer_start(c, c->srv->cfg.header_timeout_ms);
	return 0;
}

static int
on_url(llhttp_t *p, const char *at, size_t n)
{
	struct http__conn *c = parser_conn(p);

	if (count_head(c, n) < 0)
		return reject(c, c->url_len + n > c->srv->cfg.max_header_bytes / 2 ? 414 : 431);
	buf_add(&c->req->raw, at, n);
	c->url_len += n;
	return 0;
}

static int
on_header_field(llhttp_t *p, const char *at, size_t n)
{
	struct http__conn *c = parser_conn(p);
	struct hdr_off *h;

	if (count_head(c, n) < 0)
		return -1;
	if (c->headers_done)
		return 0;	/* a trailer: counted, not kept */
	if (c->hdr_state != 1) {
		if (count_head(c, HEADER_OVERHEAD) < 0)
			return -1;
		if (c->nhdrs == c->hdrs_cap) {
			c->hdrs_cap = c->hdrs_cap ? c->hdrs_cap * 2 : 16;
			c->hdrs = xrealloc(c->hdrs, c->hdrs_cap * sizeof(*c->hdrs));
		}
		h = &c->hdrs[c->nhdrs++];
		h->name_off = c->req->raw.len;
		h->name_len = 0;
		h->value_off = c->req->raw.len;
		h->value_len = 0;
		c->hdr_state = 1;
	}
	h = &c->hdrs[c->nhdrs - 1];
	buf_add(&c->req->raw, at, n);
	h->name_len += n;
	return 0;
}

static int
on_header_value(llhttp_t *p, const char *at, size_t n)
{
	struct http__conn *c = parser_conn(p);
	struct hdr_off *h;

	if (count_head(c, n) < 0)
		return -1;
	if (c->headers_done)
		return 0;
	if (c->nhdrs == 0)
		return reject(c, 400);	/* llhttp never does this; do not trust it to */
	h = &c->hdrs[c->nhdrs - 1];
	if (c->hdr_state != 2) {
		h->value_off = c->req->raw.len;
		c->hdr_state = 2;
	}
	buf_add(&c->req->raw, at, n);
	h->value_len += n;
	return 0;
}

static int
on_chunk_extension(llhttp_t *p, const char *at, size_t n)
{
	(void)at;
	return count_head(parser_conn(p), n);
}

static void
fill_request(struct http__conn *c, llhttp_t *p)
{
	struct http_request *req = c->req;
	const char *q;
	size_t i;

	req->method = llhttp_get_method(p);
	req->method_name = str_cstr(llhttp_method_name((llhttp_method_t)req->method));
	req->http_minor = llhttp_get_http_minor(p);
	req->target = str_from(req->raw.ptr, c->url_len);
	q = memchr(req->target.ptr, '?', req->target.len);
	if (q) {
		req->path = str_from(req->target.ptr, (size_t)(q - req->target.ptr));
		req->query = str_from(q + 1, req->target.len - req->path.len - 1);
	} else {
		req->path = req->target;
		req->query = str_from(req->target.ptr + req->target.len, 0);
	}
	req->headers = xcalloc(c->nhdrs ? c->nhdrs : 1, sizeof(*req->headers));
	req->nheaders = c->nhdrs;
	for (i = 0; i < c->nhdrs; i++) {
		struct hdr_off *h = &c->hdrs[i];
		const char *v = req->raw.ptr + h->value_off;
		size_t vlen = h->value_len;

		/* llhttp skips leading whitespace but hands trailing whitespace over. */
		while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
			vlen--;
		req->headers[i].name = str_from(req->raw.ptr + h->name_off, h->name_len);
		req->headers[i].value = str_from(v, vlen);
	}
	memcpy(req->peer_ip, c->peer_ip, sizeof(req->peer_ip));
	req->start_ns = clock_mono_ns();
}

static int
on_headers_complete(llhttp_t *p)
{
	struct http__conn *c = parser_conn(p);
	const struct str *expect;
	bool has_body;

	c->headers_done = true;
	if (llhttp_get_http_major(p) != 1)
		return reject(c, 505);
	fill_request(c, p);
	if ((p->flags & F_CONTENT_LENGTH) && p->content_length > c->srv->cfg.max_body_bytes)
		return reject(c, 413);
	has_body = (p->flags & F_CHUNKED) || ((p->flags & F_CONTENT_LENGTH) && p->content_length);
	expect = http_header_get(c->req, "Expect");
	if (expect) {
		struct buf cont = BUF_INIT;

		if (!str_caseeqs(*expect, "100-continue"))
			return reject(c, 417);
		/* The client waits (curl for a second) before sending the body unless told to. */
		if (has_body && c->req->http_minor >= 1) {
			buf_adds(&cont, "HTTP/1.1 100 Continue\r\n\r\n");
			conn_write(c, &cont, false);
		}
	}
	/* The head is in; from now on the body must keep moving. */
	timer_start(c, c->srv->cfg.idle_timeout_ms);
	return 0;
}

static int
on_body(llhttp_t *p, const char *at, size_t n)
{
	struct http__conn *c = parser_conn(p);

	if (n > c->srv->cfg.max_body_bytes - c->req->body.len)
		return reject(c, 413);
	buf_add(&c->req->body, at, n);
	return 0;
}

static int
on_message_complete(llhttp_t *p)
{
	struct http__conn *c = parser_conn(p);

	/* We speak no other protocol (Upgrade, CONNECT): answer, then close. */
	c->req->keep_alive = llhttp_should_keep_alive(p) && !p->upgrade;
	return HPE_PAUSED;
}

static void
on_connection(uv_stream_t *listener, int status)
{
	struct http_server *srv = listener->data;
	struct http__conn *c;
	struct sockaddr_storage ss;
	int len = sizeof(ss), r;

	if (status < 0) {
		log_warn("http: cannot accept a connection: %s", uv_strerror(status));
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->srv = srv;
	c->refs = 1;
	c->open_handles = 2;
	c->state = CONN_READING;
	buf_init(&c->in);
	uv_tcp_init(srv->loop, &c->tcp);
	uv_timer_init(srv->loop, &c->timer);
	c->tcp.data = c;
	c->timer.data = c;
	c->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = c;
	srv->conns = c;
	srv->nconns++;

	r = uv_accept(listener, (uv_stream_t *)&c->tcp);
	if (r < 0) {
		log_warn("http: cannot accept a connection: %s", uv_strerror(r));
		conn_close(c);
		return;
	}
	if (srv->nconns > srv->cfg.max_connections) {
		log_debug("http: over %u connections, closing a new one", srv->cfg.max_connections);
		conn_close(c);
		return;
	}
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET6)
			uv_ip6_name((struct sockaddr_in6 *)&ss, c->peer_ip, sizeof(c->peer_ip));
		else
			uv_ip4_name((struct sockaddr_in *)&ss, c->peer_ip, sizeof(c->peer_ip));
	}
	uv_tcp_nodelay(&c->tcp, 1);
	llhttp_init(&c->parser, HTTP_REQUEST, &srv->settings);
	c->parser.data = c;
	/* A new connection must send its first request head in time, not idle. */
	timer_start(c, srv->cfg.header_timeout_ms);
	read_start(c);
}

struct http_server *
http_server_new(uv_loop_t *loop, const struct http_server_config *cfg, http_handler_fn *handler,
		void *data)
{
	struct http_server *srv = xcalloc(1, sizeof(*srv));

	srv->loop = loop;
	srv->handler = handler;
	srv->data = data;
	if (cfg)
		srv->cfg = *cfg;
	if (!srv->cfg.max_header_bytes)
		srv->cfg.max_header_bytes = HTTP_DEFAULT_MAX_HEADER_BYTES;
	if (!srv->cfg.max_body_bytes)
		srv->cfg.max_body_bytes = HTTP_DEFAULT_MAX_BODY_BYTES;
	if (!srv->cfg.header_timeout_ms)
		srv->cfg.header_timeout_ms = HTTP_DEFAULT_HEADER_TIMEOUT_MS;
	if (!srv->cfg.idle_timeout_ms)
		srv->cfg.idle_timeout_ms = HTTP_DEFAULT_IDLE_TIMEOUT_MS;
	if (!srv->cfg.max_connections)
		srv->cfg.max_connections = HTTP_DEFAULT_MAX_CONNECTIONS;

	llhttp_settings_init(&srv->settings);
	srv->settings.on_message_begin = on_message_begin;
	srv->settings.on_url = on_url;
	srv->settings.on_header_field = on_header_field;
	srv->settings.on_header_value = on_header_value;
	srv->settings.on_chunk_extension_name = on_chunk_extension;
	srv->settings.on_chunk_extension_value = on_chunk_extension;
	srv->settings.on_headers_complete = on_headers_complete;
	srv->settings.on_body = on_body;
	srv->settings.on_message_complete = on_message_complete;
	return srv;
}

static void
on_listener_close(uv_handle_t *h)
{
	struct http_server *srv = h->data;

	srv->listener_open = false;
	maybe_free_server(srv);
}

int
http_server_listen(struct http_server *srv, const char *host, int port, int *bound_port,
		   struct err *err)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss), r;

	if (srv->listener_inited)
		return err_setmsg(err, EBUSY, "cannot listen on '%s': the server already has a "
				  "listening socket", host);
	if (port < 0 || port > 65535)
		return err_setmsg(err, EINVAL, "cannot listen on port %d: out of range", port);
	if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0 &&
	    uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0)
		return err_setmsg(err, EINVAL, "cannot listen on '%s': not an IP address", host);

	uv_tcp_init(srv->loop, &srv->listener);
	srv->listener.data = srv;
	srv->listener_inited = true;
	srv->listener_open = true;
	r = uv_tcp_bind(&srv->listener, (struct sockaddr *)&ss, 0);
	if (r == 0)
		r = uv_listen((uv_stream_t *)&srv->listener, 511, on_connection);
	if (r < 0) {
		uv_close((uv_handle_t *)&srv->listener, on_listener_close);
		return err_set(err, -r, "cannot listen on %s port %d", host, port);
	}
	r = uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&ss, &len);
	if (r < 0) {
		uv_close((uv_handle_t *)&srv->listener, on_listener_close);
		return err_set(err, -r, "cannot read the address bound on %s", host);
	}
	if (bound_port)
		*bound_port = ntohs(ss.ss_family == AF_INET6 ?
				    ((struct sockaddr_in6 *)&ss)->sin6_port :
				    ((struct sockaddr_in *)&ss)->sin_port);
	return 0;
}

void
http_server_stop(struct http_server *srv)
{
	struct http__conn *c;

	if (srv->stopping)
		return;
	srv->stopping = true;
	if (srv->listener_inited && !uv_is_closing((uv_handle_t *)&srv->listener))
		uv_close((uv_handle_t *)&srv->listener, on_listener_close);
	/* A connection with a request in flight sees srv->stopping in reply_done() and closes. */
	for (c = srv->conns; c; c = c->next) {
		if (c->state != CONN_BUSY)
			conn_close(c);
	}
}

size_t
http_server_nconns(const struct http_server *srv)
{
	return srv->nconns;
}

void
http_server_free(struct http_server *srv)
{
	struct http__conn *c;

	if (!srv)
		return;
	http_server_stop(srv);
	for (c = srv->conns; c; c = c->next)
		conn_close(c);
	srv->free_pending = true;
	maybe_free_server(srv);
}

/* Token characters (RFC 9110) for names; values may hold anything but CR, LF and NUL. */
static bool
header_ok(const struct http_header *h)
{
	size_t i;

	if (h->name.len == 0)
		return false;
	for (i = 0; i < h->name.len; i++) {
		unsigned char ch = (unsigned char)h->name.ptr[i];

		if (ch <= 0x20 || ch >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", ch))
			return false;
	}
	for (i = 0; i < h->value.len; i++) {
		char ch = h->value.ptr[i];

		if (ch == '\r' || ch == '\n' || ch == '\0')
			return false;
	}
	return true;
}

void
http_reply(struct http_request *req, int status, const struct http_header *headers,
	   size_t nheaders, const void *body, size_t body_len)
{
	struct http__conn *c = req->conn;
	struct buf out = BUF_INIT;
	char code[] = "HTTP/1.1 000 ", len[24];
	bool keep, with_body;
	size_t i, size, n, v;

	if (c->inflight != req)
		BUG("http_reply() on a request that is not in flight");
	c->inflight = NULL;
	if (c->state == CONN_CLOSED) {
		/* The client went away; the handler only needed to let go. */
		request_free(req);
		conn_unref(c);
		return;
	}
	if (status < 200 || status > 599) {
		log_error("http: handler replied with status %d, sending 500", status);
		status = 500;
	}
	keep = req->keep_alive && !c->srv->stopping && !c->eof;
	c->close_after = !keep;
	with_body = status != 204 && status != 304;

	/* One allocation for the whole reply, and no printf: this runs for every request. */
	size = 64 + body_len;
	for (i = 0; i < nheaders; i++)
		size += headers[i].name.len + headers[i].value.len + 4;
	buf_grow(&out, size);
	code[9] = (char)('0' + status / 100);
	code[10] = (char)('0' + status / 10 % 10);
	code[11] = (char)('0' + status % 10);
	buf_add(&out, code, sizeof(code) - 1);
	buf_adds(&out, http_status_text(status));
	buf_add(&out, "\r\n", 2);
	for (i = 0; i < nheaders; i++) {
		const struct http_header *h = &headers[i];

		if (str_caseeqs(h->name, "Content-Length") ||
		    str_caseeqs(h->name, "Transfer-Encoding") || str_caseeqs(h->name, "Connection"))
			continue;
		if (!header_ok(h)) {
			log_error("http: dropping reply header '%.*s': bad characters",
				  (int)MIN(h->name.len, 64), h->name.ptr ? h->name.ptr : "");
			continue;
		}
		buf_addstr(&out, h->name);
		buf_adds(&out, ": ");
		buf_addstr(&out, h->value);
		buf_adds(&out, "\r\n");
	}
	if (with_body) {
		n = sizeof(len);
		v = body_len;
		do {
			len[--n] = (char)('0' + v % 10);
			v /= 10;
		} while (v);
		buf_add(&out, "Content-Length: ", 16);
		buf_add(&out, len + n, sizeof(len) - n);
		buf_add(&out, "\r\n", 2);
	}
	if (!keep)
		buf_adds(&out, "Connection: close\r\n");
	else if (req->http_minor == 0)
		buf_adds(&out, "Connection: keep-alive\r\n");
	buf_adds(&out, "\r\n");
	if (with_body && req->method != HTTP_HEAD && body_len)
		buf_add(&out, body, body_len);

	request_free(req);
	conn_write(c, &out, true);
	conn_unref(c);
}
