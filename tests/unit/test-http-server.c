/*
 * The HTTP server against real sockets: the server's loop runs in a thread, the test talks
 * to it with plain blocking sockets, byte for byte, as a misbehaving client would.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "http/http.h"

struct fixture {
	uv_loop_t loop;
	uv_async_t stop;
	struct http_server *srv;
	pthread_t thread;
	int port;
	atomic_int handled;
	bool graceful;		/* the stop async stops, waits for nconns == 0, then frees */
	uv_timer_t drain;
};

static struct fixture *fx;

struct later {
	uv_timer_t t;
	struct http_request *req;
};

static void
later_closed(uv_handle_t *h)
{
	free(h->data);
}

static void
later_fire(uv_timer_t *t)
{
	struct later *l = t->data;
	struct buf body = BUF_INIT;

	buf_addf(&body, "later %.*s", (int)l->req->target.len, l->req->target.ptr);
	http_reply(l->req, 200, NULL, 0, body.ptr, body.len);
	buf_release(&body);
	uv_close((uv_handle_t *)t, later_closed);
}

static void
handler(struct http_request *req, void *data)
{
	struct fixture *f = data;
	struct buf body = BUF_INIT;
	char *q;

	atomic_fetch_add(&f->handled, 1);
	if (str_eqs(req->path, "/hello")) {
		static const struct http_header h[] = {
			{ STR_LIT("X-Hello"), STR_LIT("yes") },
			{ STR_LIT("Content-Length"), STR_LIT("999") },	/* dropped */
			{ STR_LIT("X-Bad"), STR_LIT("a\r\nInjected: 1") },	/* dropped */
			{ STR_LIT("Bad Name"), STR_LIT("x") },			/* dropped */
		};

		/* The bad ones only once: dropping them logs an error. */
		http_reply(req, 200, h, str_eqs(req->query, "bad") ? ARRAY_SIZE(h) : 2, "hello", 5);
	} else if (str_eqs(req->path, "/echo")) {
		http_reply(req, 200, NULL, 0, req->body.ptr, req->body.len);
	} else if (str_eqs(req->path, "/later")) {
		struct later *l = calloc(1, sizeof(*l));
		unsigned long long ms = 50;

		q = http_query_get(req, "ms");
		if (q)
			ms = strtoull(q, NULL, 10);
		free(q);
		l->req = req;
		uv_timer_init(&f->loop, &l->t);
		l->t.data = l;
		uv_timer_start(&l->t, later_fire, ms, 0);
	} else if (str_eqs(req->path, "/info")) {
		const struct str *h = http_header_get(req, "x-TEST");

		q = http_query_get(req, "a");
		buf_addf(&body, "method=%.*s path=%.*s query=%.*s a=%s x-test=[%.*s] minor=%d "
			 "peer=%s n=%zu",
			 (int)req->method_name.len, req->method_name.ptr, (int)req->path.len,
			 req->path.ptr, (int)req->query.len, req->query.ptr, q ? q : "(null)",
			 h ? (int)h->len : 0, h ? h->ptr : "", req->http_minor, req->peer_ip,
			 req->nheaders);
		free(q);
		http_reply(req, 200, NULL, 0, body.ptr, body.len);
	} else if (str_eqs(req->path, "/nconns")) {
		buf_addf(&body, "%zu", http_server_nconns(req->server));
		http_reply(req, 200, NULL, 0, body.ptr, body.len);
	} else if (str_eqs(req->path, "/error")) {
		http_reply_error(req, 404, "not_found", "no \"such\" thing\n\xff");
	} else {
		http_reply(req, 404, NULL, 0, NULL, 0);
	}
	buf_release(&body);
}

/* What a daemon does on SIGTERM: stop, wait for the connections to finish, free. */
static void
on_drain(uv_timer_t *t)
{
	struct fixture *f = t->data;

	if (http_server_nconns(f->srv) > 0)
		return;
	http_server_free(f->srv);
	uv_close((uv_handle_t *)t, NULL);
}

static void
on_stop(uv_async_t *a)
{
	struct fixture *f = a->data;

	uv_close((uv_handle_t *)a, NULL);
	if (f->graceful) {
		http_server_stop(f->srv);
		uv_timer_init(&f->loop, &f->drain);
		f->drain.data = f;
		uv_timer_start(&f->drain, on_drain, 0, 5);
		return;
	}
	http_server_free(f->srv);
}

static void *
loop_thread(void *arg)
{
	struct fixture *f = arg;

	uv_run(&f->loop, UV_RUN_DEFAULT);
	return NULL;
}

static void
start_server(const struct http_server_config *cfg)
{
	struct err err = ERR_INIT;

	fx = calloc(1, sizeof(*fx));
	assert_int_equal(uv_loop_init(&fx->loop), 0);
	assert_int_equal(uv_async_init(&fx->loop, &fx->stop, on_stop), 0);
	fx->stop.data = fx;
	fx->srv = http_server_new(&fx->loop, cfg, handler, fx);
	if (http_server_listen(fx->srv, "127.0.0.1", 0, &fx->port, &err) < 0)
		fail_msg("%s", err.msg);
	assert_true(fx->port > 0);
	assert_int_equal(pthread_create(&fx->thread, NULL, loop_thread, fx), 0);
}

/* Frees the server on its loop, waits for the loop to run dry and checks nothing is left. */
static void
stop_server(void)
{
	uv_async_send(&fx->stop);
	pthread_join(fx->thread, NULL);
	assert_int_equal(uv_loop_close(&fx->loop), 0);
	free(fx);
	fx = NULL;
}

static int
setup_default(void **state)
{
	(void)state;
	start_server(NULL);
	return 0;
}

static int
setup_small(void **state)
{
	struct http_server_config cfg = {
		.max_header_bytes = 4096,
		.max_body_bytes = 100000,
		.header_timeout_ms = 300,
		.idle_timeout_ms = 300,
		.max_connections = 4,
	};

	(void)state;
	start_server(&cfg);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	stop_server();
	return 0;
}

/* Client side. */

struct client {
	int fd;
	char buf[1 << 20];
	size_t len;
};

struct resp {
	int status;
	char head[8192];
	char body[1 << 16];
	size_t body_len;
	bool close;
};

static struct client *
client_new(void)
{
	struct client *c = calloc(1, sizeof(*c));
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(fx->port) };
	struct timeval tv = { .tv_sec = 5 };

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c->fd >= 0);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return c;
}

static void
client_free(struct client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

static void
send_bytes(struct client *c, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);

		if (w < 0)
			fail_msg("send: %s", strerror(errno));
		s += w;
		n -= (size_t)w;
	}
}

static void
send_str(struct client *c, const char *s)
{
	send_bytes(c, s, strlen(s));
}

/* Reads more into c->buf; returns bytes read, 0 at EOF, -1 on error or timeout. */
static ssize_t
fill(struct client *c)
{
	ssize_t r;

	if (c->len == sizeof(c->buf))
		fail_msg("client buffer full");
	r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
	if (r > 0)
		c->len += (size_t)r;
	return r;
}

static void
consume(struct client *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
}

/* Reads one response (Content-Length framed). Returns 0, or -1 if the connection closed first. */
static int
read_resp(struct client *c, struct resp *r)
{
	char *end, *cl;
	size_t head_len, want;

	memset(r, 0, sizeof(*r));
	for (;;) {
		end = memmem(c->buf, c->len, "\r\n\r\n", 4);
		if (end)
			break;
		if (fill(c) <= 0)
			return -1;
	}
	head_len = (size_t)(end - c->buf) + 4;
	assert_true(head_len < sizeof(r->head));
	memcpy(r->head, c->buf, head_len);
	r->head[head_len] = '\0';
	consume(c, head_len);
	assert_int_equal(sscanf(r->head, "HTTP/1.1 %d", &r->status), 1);
	r->close = strcasestr(r->head, "\r\nConnection: close\r\n") != NULL;
	cl = strcasestr(r->head, "\r\nContent-Length: ");
	want = cl ? strtoul(cl + 18, NULL, 10) : 0;
	assert_true(want < sizeof(r->body));
	while (c->len < want) {
		if (fill(c) <= 0)
			return -1;
	}
	memcpy(r->body, c->buf, want);
	r->body_len = want;
	consume(c, want);
	return 0;
}

/* True if the server closes the connection (EOF or reset) within the receive timeout. */
static bool
closed_by_server(struct client *c)
{
	for (;;) {
		ssize_t r = fill(c);

		if (r == 0 || (r < 0 && errno == ECONNRESET))
			return true;
		if (r < 0)
			return false;
	}
}

static void
expect_body(const struct resp *r, const char *body)
{
	if (r->body_len != strlen(body) || memcmp(r->body, body, r->body_len) != 0)
		fail_msg("body '%.*s', want '%s'", (int)r->body_len, r->body, body);
}

static size_t
server_nconns(void)
{
	struct client *c = client_new();
	struct resp r;
	size_t n;

	send_str(c, "GET /nconns HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(read_resp(c, &r), 0);
	n = strtoul(r.body, NULL, 10);
	client_free(c);
	return n - 1;	/* not counting the asking connection */
}

static void
wait_nconns(size_t want)
{
	int i;

	for (i = 0; i < 200; i++) {
		if (server_nconns() == want)
			return;
		usleep(10000);
	}
	fail_msg("server still has %zu connections, want %zu", server_nconns(), want);
}

/* Tests. */

static void
simple_get(void **state)
{
	struct client *c = client_new();
	struct resp r;

	(void)state;
	send_str(c, "GET /hello?bad HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(read_resp(c, &r), 0);
	assert_int_equal(r.status, 200);
	expect_body(&r, "hello");
	assert_false(r.close);
	assert_non_null(strstr(r.head, "\r\nX-Hello: yes\r\n"));
	assert_null(strstr(r.head, "999"));
	assert_null(strstr(r.head, "Injected"));
	assert_null(strstr(r.head, "Bad Name"));

	send_str(c, "GET /nothing HTTP/1.1\r\n\r\n");
	assert_int_equal(read_resp(c, &r), 0);
	assert_int_equal(r.status, 404);
	assert_non_null(strstr(r.head, "404 Not Found\r\n"));
	client_free(c);
}

static void
head_has_no_body(void **state)
{
	struct client *c = client_new();
	struct resp r;
	char *head;

	(void)state;
	/* A HEAD reply announces the length but sends no body, so a second request's reply must
	 * follow the first head directly. */
	send_str(c, "HEAD /hello HTTP/1.1\r\n\r\nGET /hello HTTP/1.1\r\n\r\n");
	while (!memmem(c->buf, c->len, "\r\n\r\n", 4))
		assert_true(fill(c) > 0);
	head = memmem(c->buf, c->len, "\r\n\r\n", 4);
	assert_non_null(memmem(c->buf, (size_t)(head + 2 - c->buf), "Content-Length: 5\r\n", 19));
	consume(c, (size_t)(head + 4 - c->buf));
	assert_int_equal(read_resp(c, &r), 0);
	assert_int_equal(r.status, 200);
	expect_body(&r, "hello");
	client_free(c);
}

static void
request_fields(void **state)
{
	struct client *c = client_new();
	struct resp r;

	(void)state;
	send_str(c, "GET /info?b=1&a=x%20y%2Bz&c HTTP/1.1\r\nX-Test:   spaced value \t\r\n"
		    "Host: h\r\n\r\n");
	assert_int_equal(read_resp(c, &r), 0);
	expect_body(&r, "method=GET path=/info query=b=1&a=x%20y%2Bz&c a=x y+z "
			"x-test=[spaced value] minor=1 peer=127.0.0.1 n=2");
	send_str(c, "DELETE /info HTTP/1.1\r\n\r\n");
	assert_int_equal(read_resp(c, &r), 0);
	expect_body(&r, "method=DELETE path=/info query= a=(null) x-test=[] minor=1 "
			"peer=127.0.0.1 n=0");
	send_str(c, "GET /error HTTP/1.1\r\n\r\n");
	assert_int_equal(read_resp(c, &r), 0);
	assert_int_equal(r.status, 404);
	assert_non_null(strstr(r.head, "Content-Type: application/json\r\n"));
	expect_body(&r, "{\"error\":{\"code\":\"not_found\",\"message\":"
			"\"no \\\"such\\\" thing\\n\\ufffd\"}}");
	client_free(c);
}

static void
keep_alive(void **state)
{
	struct client *c = client_new();
	struct resp r;

	(void)state;
	send_str(c, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(read_resp(c, &r), 0);
	assert_false(r.close);
	send_str(c, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_int_equal(read_resp(c, &r), 0);
	expect_body(&r, "hello");
	assert_false(r.close);
	/* Connection: close is honoured. */
	send_str(c, "GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n");
	assert_int_equal(read_resp(c, &r), 0);
	assert_true(r.close);
	assert_true(closed_by_server(c));
	client_free(c);

	/* HTTP/1.0 closes unless asked to keep alive. */
	c = client_new();
	send_str(c, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
	assert_int_equal(read_resp(c, &r), 0);
	assert_false(r.close);
	assert_non_null(strcasestr(r.head, "\r\nConnection: keep-alive\r\n"));
	send_str(c, "GET /hello HTTP/1.0\r\n\r\n");
	assert_int_equal(read_resp(c, &r), 0);
	assert_true(r.close);
	assert_true(closed_by_server(c));
	client_free(c);
}

static void
pipelined(void **state)
{
	struct client *c = client_new();
	struct resp r;

	(void)state;
	/* The first reply comes from a timer, later than the second request could be answered. */
	send_str(c, "GET /later?ms=100 HTTP/1.1\r\n\r\nGET /hello HTTP/1.1\r\n\r\n"
		    "POST /echo HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
		    "GET /later?ms=1 HTTP/1.1\r\n\r\n");
	assert_int_equal(read_resp(c, &r), 0);
	expect_body(&r, "later /later?ms=100");
	assert_int_equal(read_resp(c, &r), 0);
	expect_body(&r, "hello");
	assert_int_equal(read_resp(c, &r), 0);
	expect_body(&r, "abc");
	assert_int_equal(read_resp(c, &r), 0);
	expect_body(&r, "later /later?ms=1");
	client_free(c);
}

/* Many small pipelined requests: more than the server buffers while one is handled. */
static void
pipelined_flood(void **state)
{
	struct client *c = client_new();
	struct buf reqs = BUF_INIT;
	struct resp r;
	int i, n = 4000;

	(void)state;
	for (i = 0; i < n; i++)
		buf_addf(&reqs, "GET /later?ms=0&i=%d HTTP/1.1\r\n\r\n", i);
	send_bytes(c, reqs.ptr, reqs.len);
	for (i = 0; i < n; i++) {
		char want[64];

		assert_int_equal(read_resp(c, &r), 0);
		snprintf(want, sizeof(want), "later /later?ms=0&i=%d", i);
		expect_body(&r, want);
	}
	buf_release(&reqs);
	client_free(c);
}

static void
chunked_body(void **state)
{
	struct client *c = client_new();
	const char *req = "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
			  "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n";
	struct resp r;
	size_t i;

	(void)state;
	send_str(c, req);
	assert_int_equal(read_resp(c, &r), 0);
	assert_int_equal(r.status, 200);
	expect_body(&r, "hello world");
	/* The same, one byte per write. */
	for (i = 0; req[i]; i++) {
		send_bytes(c, req + i, 1);
		usleep(200);
	}
	assert_int_equal(read_resp(c, &r), 0);
	expect_body(&r, "hello world");
	client_free(c);
}

static void
body_too_large(void **state)
{
	struct client *c = client_new();
	struct resp r;

	(void)state;
	/* Refused from the Content-Length alone, before any body byte. */
	send_str(c, "POST /echo HTTP/1.1\r\nContent-Length: 100000001\r\n\r\n");
	assert_int_equal(read_resp(c, &r), 0);
	assert_int_equal(r.status, 413);
	assert_true(r.close);
	assert_true(closed_by_server(c));
	client_free(c);
}

static void
chunked_too_large(void **state)
{
	struct client *c = client_new();
	char chunk[10000 + 16];
	struct resp r;
	int i;

	(void)state;
	send_str(c, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
	snprintf(chunk, sizeof(chunk), "%x\r\n", 10000);
	memset(chunk + strlen(chunk), 'x', 10000);
	for (i = 0; i < 11; i++) {
		send_bytes(c, chunk, strlen("2710\r\n") + 10000);
		send_str(c, "\r\n");
	}
	assert_int_equal(read_resp(c, &r), 0);
	assert_int_equal(r.status, 413);
	assert_true(closed_by_server(c));
	client_free(c);
}

static void
body_at_limit(void **state)
{
	struct client *c = client_new();
	char *body = malloc(100000);

	(void)state;
	memset(body, 'b', 100000);
	send_str(c, "POST /echo HTTP/1.1\r\nContent-Length: 100000\r\n\r\n");
	send_bytes(c, body, 100000);
	/* The reply would not fit struct resp; check its head only. */
	while (!memmem(c->buf, c->len, "\r\n\r\n", 4))
		assert_true(fill(c) > 0);
	assert_int_equal(strncmp(c->buf, "HTTP/1.1 200 OK\r\n", 17), 0);
	assert_non_null(memmem(c->buf, c->len, "Content-Length: 100000\r\n", 24));
	free(body);
	client_free(c);
}

static void
headers_too_large(void **state)
{
	struct client *c = client_new();
	struct buf req = BUF_INIT;
	struct resp r;

	(void)state;
	buf_adds(&req, "GET /hello HTTP/1.1\r\nX-Big: ");
	while (req.len < 70000)
		buf_adds(&req, "aaaaaaaaaaaaaaaa");
	buf_adds(&req, "\r\n\r\n");
	send_bytes(c, req.ptr, req.len);
	assert_int_equal(read_resp(c, &r), 0);
	assert_int_equal(r.status, 431);
	assert_true(r.close);
	assert_true(closed_by_server(c));
	client_free(c);
	buf_release(&req);

	/* Many small headers count too. */
	c = client_new();
	buf_adds(&req, "GET /hello HTTP/1.1\r\n");
	while (req.len < 70000)
		buf_adds(&req, "A: b\r\n");
	buf_adds(&req, "\r\n");
	send_bytes(c, req.ptr, req.len);
	assert_int_equal(read_resp(c, &r), 0);
	assert_int_equal(r.status, 431);
	client_free(c);
	buf_release(&req);

	/* And a long target is 414. */
	c = client_new();
	buf_adds(&req, "GET /hello?");
	while (req.len < 70000)
		buf_adds(&req, "aaaaaaaaaaaaaaaa");
	buf_adds(&req, " HTTP/1.1\r\n\r\n");
	send_bytes(c, req.ptr, req.len);
	assert_int_equal(read_resp(c, &r), 0);
	assert_int_equal(r.status, 414);
	client_free(c);
	buf_release(&req);
}

static void
garbage(void **state)
{
	static const char *const bad[] = {
		"GARBAGE\r\n\r\n",
		"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
		"GET / HTTP/9.9\r\n\r\n",
		"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
		"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n",
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct client *c = client_new();
		struct resp r;

		send_bytes(c, bad[i], i == 6 ? 30 : strlen(bad[i]));
		if (read_resp(c, &r) < 0)
			fail_msg("case %zu: no reply", i);
		if (r.status != 400 && r.status != 505)
			fail_msg("case %zu: status %d", i, r.status);
		assert_true(r.close);
		assert_true(closed_by_server(c));
		client_free(c);
	}
}

static void
expect_continue(void **state)
{
	struct client *c = client_new();
	struct resp r;

	(void)state;
	send_str(c, "POST /echo HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
	while (c->len < 25)
		assert_true(fill(c) > 0);
	assert_int_equal(memcmp(c->buf, "HTTP/1.1 100 Continue\r\n\r\n", 25), 0);
	consume(c, 25);
	send_str(c, "12345");
	assert_int_equal(read_resp(c, &r), 0);
	assert_int_equal(r.status, 200);
	expect_body(&r, "12345");

	/* Too large: a final 413 instead of 100 Continue. */
	send_str(c, "POST /echo HTTP/1.1\r\nContent-Length: 999999999\r\n"
		    "Expect: 100-continue\r\n\r\n");
	assert_int_equal(read_resp(c, &r), 0);
	assert_int_equal(r.status, 413);
	client_free(c);

	c = client_new();
	send_str(c, "POST /echo HTTP/1.1\r\nContent-Length: 5\r\nExpect: something\r\n\r\n");
	assert_int_equal(read_resp(c, &r), 0);
	assert_int_equal(r.status, 417);
	client_free(c);
}

static void
client_gone_before_reply(void **state)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct client *c;

	(void)state;
	/* FIN: the server notices on its next read, the deferred reply must not crash it. */
	c = client_new();
	send_str(c, "GET /later?ms=100 HTTP/1.1\r\n\r\n");
	usleep(20000);
	client_free(c);

	/* RST: the connection closes while the handler holds the request. */
	c = client_new();
	send_str(c, "GET /later?ms=100 HTTP/1.1\r\n\r\n");
	usleep(20000);
	setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	client_free(c);

	usleep(200000);
	wait_nconns(0);
	/* The server still serves. */
	c = client_new();
	send_str(c, "GET /hello HTTP/1.1\r\n\r\n");
	{
		struct resp r;

		assert_int_equal(read_resp(c, &r), 0);
		expect_body(&r, "hello");
	}
	client_free(c);
}

static void
half_close_after_request(void **state)
{
	struct client *c = client_new();
	struct resp r;

	(void)state;
	send_str(c, "GET /later?ms=50 HTTP/1.1\r\n\r\n");
	shutdown(c->fd, SHUT_WR);
	assert_int_equal(read_resp(c, &r), 0);
	expect_body(&r, "later /later?ms=50");
	assert_true(r.close);
	assert_true(closed_by_server(c));
	client_free(c);
}

static void
timeouts(void **state)
{
	struct client *c;
	struct resp r;

	(void)state;
	/* Header timeout: a head that never ends. */
	c = client_new();
	send_str(c, "GET /hello HTTP/1.1\r\nX-Slow: ");
	assert_true(closed_by_server(c));
	client_free(c);

	/* A connection that never sends anything. */
	c = client_new();
	assert_true(closed_by_server(c));
	client_free(c);

	/* Idle timeout after a reply. */
	c = client_new();
	send_str(c, "GET /hello HTTP/1.1\r\n\r\n");
	assert_int_equal(read_resp(c, &r), 0);
	assert_true(closed_by_server(c));
	client_free(c);

	/* A body that stops arriving. */
	c = client_new();
	send_str(c, "POST /echo HTTP/1.1\r\nContent-Length: 10\r\n\r\n12345");
	assert_true(closed_by_server(c));
	client_free(c);
}

static void
max_connections(void **state)
{
	struct client *c[4], *extra;
	struct resp r;
	int i;

	(void)state;
	/* The limit is 4; the fifth connection is accepted and closed. */
	for (i = 0; i < 4; i++) {
		c[i] = client_new();
		send_str(c[i], "GET /later?ms=200 HTTP/1.1\r\n\r\n");
	}
	usleep(50000);
	extra = client_new();
	assert_true(closed_by_server(extra));
	client_free(extra);
	for (i = 0; i < 4; i++) {
		assert_int_equal(read_resp(c[i], &r), 0);
		assert_int_equal(r.status, 200);
		client_free(c[i]);
	}
}

/* Freeing the server with a reply outstanding: the handler answers later into the void. */
static void
free_with_request_in_flight(void **state)
{
	struct client *c = client_new();

	(void)state;
	send_str(c, "GET /later?ms=100 HTTP/1.1\r\n\r\n");
	usleep(20000);
	stop_server();
	client_free(c);
	start_server(NULL);
}

/* Stopping lets the request in flight finish, with Connection: close. */
static void
stop_graceful(void **state)
{
	struct client *c = client_new(), *idle = client_new();
	struct resp r;

	(void)state;
	send_str(c, "GET /later?ms=100 HTTP/1.1\r\n\r\n");
	usleep(20000);
	fx->graceful = true;
	uv_async_send(&fx->stop);
	assert_true(closed_by_server(idle));
	assert_int_equal(read_resp(c, &r), 0);
	expect_body(&r, "later /later?ms=100");
	assert_true(closed_by_server(c));
	pthread_join(fx->thread, NULL);
	assert_int_equal(uv_loop_close(&fx->loop), 0);
	free(fx);
	fx = NULL;
	client_free(c);
	client_free(idle);
	start_server(NULL);
}

static void
listen_errors(void **state)
{
	uv_loop_t loop;
	struct http_server *srv;
	struct err err = ERR_INIT;

	(void)state;
	assert_int_equal(uv_loop_init(&loop), 0);
	srv = http_server_new(&loop, NULL, handler, NULL);
	assert_int_equal(http_server_listen(srv, "not-an-ip", 0, NULL, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "not-an-ip"));
	err_clear(&err);
	assert_int_equal(http_server_listen(srv, "127.0.0.1", fx->port, NULL, &err), -EADDRINUSE);
	assert_non_null(strstr(err.msg, "cannot listen on 127.0.0.1"));
	http_server_free(srv);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);

	/* IPv6, if the machine has it. */
	assert_int_equal(uv_loop_init(&loop), 0);
	srv = http_server_new(&loop, NULL, handler, NULL);
	err_clear(&err);
	if (http_server_listen(srv, "::1", 0, NULL, &err) < 0)
		print_message("skipping ::1: %s\n", err.msg);
	http_server_free(srv);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
}

static void
helpers(void **state)
{
	char *s = NULL;

	(void)state;
	assert_int_equal(http_pct_decode(STR_LIT("a%20b%2fc+"), &s), 0);
	assert_string_equal(s, "a b/c+");
	free(s);
	assert_int_equal(http_pct_decode(STR_LIT(""), &s), 0);
	assert_string_equal(s, "");
	free(s);
	s = NULL;
	assert_int_equal(http_pct_decode(STR_LIT("a%00b"), &s), -EINVAL);
	assert_int_equal(http_pct_decode(STR_LIT("a%2"), &s), -EINVAL);
	assert_int_equal(http_pct_decode(STR_LIT("%zz"), &s), -EINVAL);
	assert_int_equal(http_pct_decode(STR_LIT("%"), &s), -EINVAL);
	assert_null(s);
	assert_string_equal(http_status_text(431), "Request Header Fields Too Large");
	assert_string_equal(http_status_text(299), "Unknown");
}

#define T(f, s) cmocka_unit_test_setup_teardown(f, s, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(simple_get, setup_default),
		T(head_has_no_body, setup_default),
		T(request_fields, setup_default),
		T(keep_alive, setup_default),
		T(pipelined, setup_default),
		T(pipelined_flood, setup_default),
		T(chunked_body, setup_default),
		T(body_too_large, setup_default),
		T(chunked_too_large, setup_small),
		T(body_at_limit, setup_small),
		T(headers_too_large, setup_default),
		T(garbage, setup_default),
		T(expect_continue, setup_default),
		T(client_gone_before_reply, setup_default),
		T(half_close_after_request, setup_default),
		T(timeouts, setup_small),
		T(max_connections, setup_small),
		T(free_with_request_in_flight, setup_default),
		T(stop_graceful, setup_default),
		T(listen_errors, setup_default),
		cmocka_unit_test(helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
