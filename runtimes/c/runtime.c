/*
 * The Runtime API client behind hearth_runtime.h.
 *
 * A deliberately minimal HTTP/1.1 client: one keep-alive TCP connection to
 * $AWS_LAMBDA_RUNTIME_API, requests with Content-Length bodies, responses read
 * by Content-Length (or to EOF when absent). hearth-init is the only server it
 * must understand, so there is no chunked decoding, TLS or redirects. It uses
 * libc only: users link their bootstrap with this library and nothing else.
 *
 * Not thread-safe: a runtime handles one invocation at a time, as on Lambda.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "hearth_runtime.h"

#define API_PREFIX "/2018-06-01/runtime"
#define MAX_HEAD (64u << 10)
#define DEFAULT_ERROR_TYPE "HandlerError"

/* A response: status, the Runtime API's headers, and the body. */
struct response {
	int status;
	char *body;		/* malloc'd, NUL-terminated */
	size_t body_len;
	char *request_id, *deadline, *arn, *trace, *client_context, *cognito;
};

static struct {
	int fd;			/* -1 when not connected */
	char *rbuf;		/* bytes read beyond the last response */
	size_t rlen, rcap;
	char error_type[128];
} rt = { .fd = -1 };

__attribute__((format(printf, 1, 2), noreturn)) static void
fatal(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("hearth-runtime: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		fatal("out of memory");
	return p;
}

static char *
xstrndup(const char *s, size_t n)
{
	char *p = xrealloc(NULL, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static void
disconnect(void)
{
	if (rt.fd >= 0)
		close(rt.fd);
	rt.fd = -1;
	rt.rlen = 0;
}

/* Connects to host:port from $AWS_LAMBDA_RUNTIME_API; 0 or -errno. */
static int
api_connect(void)
{
	const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res, *ai;
	const char *colon;
	char *host;
	int one = 1, r;

	if (!api || !*api)
		fatal("AWS_LAMBDA_RUNTIME_API is not set");
	colon = strrchr(api, ':');
	if (!colon || colon == api || !colon[1])
		fatal("AWS_LAMBDA_RUNTIME_API '%s' is not host:port", api);
	host = xstrndup(api, (size_t)(colon - api));
	r = getaddrinfo(host, colon + 1, &hints, &res);
	free(host);
	if (r != 0)
		fatal("cannot resolve '%s': %s", api, gai_strerror(r));
	r = -ECONNREFUSED;
	for (ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);

		if (fd < 0) {
			r = -errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			rt.fd = fd;
			r = 0;
			break;
		}
		r = -errno;
		close(fd);
	}
	freeaddrinfo(res);
	return r;
}

static int
send_all(const struct iovec *iov_in, int n)
{
	struct iovec iov[2];
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)n };

	memcpy(iov, iov_in, sizeof(*iov) * (size_t)n);
	while (mh.msg_iovlen > 0) {
		ssize_t w = sendmsg(rt.fd, &mh, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		while (mh.msg_iovlen > 0 && (size_t)w >= mh.msg_iov[0].iov_len) {
			w -= (ssize_t)mh.msg_iov[0].iov_len;
			mh.msg_iov++;
			mh.msg_iovlen--;
		}
		if (mh.msg_iovlen > 0) {
			mh.msg_iov[0].iov_base = (char *)mh.msg_iov[0].iov_base + w;
			mh.msg_iov[0].iov_len -= (size_t)w;
		}
	}
	return 0;
}

/* Reads more into rt.rbuf; returns bytes read, 0 at EOF, -errno on error. */
static ssize_t
fill(void)
{
	ssize_t n;

	if (rt.rcap - rt.rlen < 16384) {
		rt.rcap = rt.rcap ? rt.rcap * 2 : 65536;
		rt.rbuf = xrealloc(rt.rbuf, rt.rcap);
	}
	do
		n = read(rt.fd, rt.rbuf + rt.rlen, rt.rcap - rt.rlen - 1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	rt.rlen += (size_t)n;
	return n;
}

static void
response_free(struct response *r)
{
	free(r->body);
	free(r->request_id);
	free(r->deadline);
	free(r->arn);
	free(r->trace);
	free(r->client_context);
	free(r->cognito);
	memset(r, 0, sizeof(*r));
}

/* Parses the status line and headers in rbuf[0..head_len); returns the
 * Content-Length (-1 when absent) or -2 when malformed. */
static long long
parse_head(size_t head_len, struct response *r, int *close_after)
{
	static const struct {
		const char *name;
		size_t off;
	} wanted[] = {
		{ "Lambda-Runtime-Aws-Request-Id", offsetof(struct response, request_id) },
		{ "Lambda-Runtime-Deadline-Ms", offsetof(struct response, deadline) },
		{ "Lambda-Runtime-Invoked-Function-Arn", offsetof(struct response, arn) },
		{ "Lambda-Runtime-Trace-Id", offsetof(struct response, trace) },
		{ "Lambda-Runtime-Client-Context", offsetof(struct response, client_context) },
		{ "Lambda-Runtime-Cognito-Identity", offsetof(struct response, cognito) },
	};
	char *line = rt.rbuf, *end = rt.rbuf + head_len;
	long long clen = -1;
	int minor;

	if (sscanf(line, "HTTP/1.%d %d", &minor, &r->status) != 2)
		return -2;
	*close_after = minor == 0;
	for (;;) {
		char *eol = memmem(line, (size_t)(end - line), "\r\n", 2);
		char *colon, *val, *vend;
		size_t i, nlen;

		if (!eol)
			break;
		line = eol + 2;
		eol = memmem(line, (size_t)(end - line), "\r\n", 2);
		if (!eol || eol == line)
			break;
		colon = memchr(line, ':', (size_t)(eol - line));
		if (!colon)
			return -2;
		nlen = (size_t)(colon - line);
		val = colon + 1;
		while (val < eol && (*val == ' ' || *val == '\t'))
			val++;
		vend = eol;
		while (vend > val && (vend[-1] == ' ' || vend[-1] == '\t'))
			vend--;
		if (nlen == 14 && strncasecmp(line, "Content-Length", 14) == 0) {
			char *num = xstrndup(val, (size_t)(vend - val)), *e;

			errno = 0;
			clen = strtoll(num, &e, 10);
			if (errno || e == num || *e || clen < 0)
				clen = -3;
			free(num);
			if (clen == -3)
				return -2;
		} else if (nlen == 10 && strncasecmp(line, "Connection", 10) == 0) {
			*close_after = (size_t)(vend - val) == 5 &&
				       strncasecmp(val, "close", 5) == 0;
		}
		for (i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
			char **slot = (char **)((char *)r + wanted[i].off);

			if (strlen(wanted[i].name) == nlen &&
			    strncasecmp(line, wanted[i].name, nlen) == 0 && !*slot)
				*slot = xstrndup(val, (size_t)(vend - val));
		}
	}
	return clen;
}

/* Reads one response; 0, or -errno (-EPROTO for nonsense). `fresh` is true
 * until a byte of it arrived, so the caller can tell a stale connection. */
static int
read_response(struct response *r, int *fresh)
{
	size_t head_len = 0, need;
	long long clen;
	int close_after = 0;
	ssize_t n;

	*fresh = rt.rlen == 0;
	for (;;) {
		char *hend = rt.rlen ? memmem(rt.rbuf, rt.rlen, "\r\n\r\n", 4) : NULL;

		if (hend) {
			head_len = (size_t)(hend - rt.rbuf) + 4;
			break;
		}
		if (rt.rlen > MAX_HEAD)
			return -EPROTO;
		n = fill();
		if (n <= 0)
			return n < 0 ? (int)n : -ECONNRESET;
		*fresh = 0;
	}
	rt.rbuf[rt.rlen] = '\0';
	clen = parse_head(head_len, r, &close_after);
	if (clen == -2)
		return -EPROTO;
	if (clen < 0) {
		/* No length: the body runs to EOF. */
		for (;;) {
			n = fill();
			if (n < 0)
				return (int)n;
			if (n == 0)
				break;
		}
		close_after = 1;
		need = rt.rlen - head_len;
	} else {
		need = (size_t)clen;
		while (rt.rlen - head_len < need) {
			if (rt.rcap - 1 < head_len + need) {
				rt.rcap = head_len + need + 1;
				rt.rbuf = xrealloc(rt.rbuf, rt.rcap);
			}
			n = fill();
			if (n <= 0)
				return n < 0 ? (int)n : -ECONNRESET;
		}
	}
	r->body = xstrndup(rt.rbuf + head_len, need);
	r->body_len = need;
	memmove(rt.rbuf, rt.rbuf + head_len + need, rt.rlen - head_len - need);
	rt.rlen -= head_len + need;
	if (close_after)
		disconnect();
	return 0;
}

/* One request and its response. A keep-alive connection the server closed
 * meanwhile fails before any answer arrives; that is retried once on a new one. */
static int
request(const char *method, const char *path, const char *errtype, const char *body,
	size_t len, struct response *r)
{
	int attempt, err = 0;

	memset(r, 0, sizeof(*r));
	for (attempt = 0; attempt < 2; attempt++) {
		int reused = rt.fd >= 0, fresh = 1;
		char head[1024];
		struct iovec iov[2];
		int n;

		if (!reused) {
			err = api_connect();
			if (err < 0)
				return err;
		}
		n = snprintf(head, sizeof(head),
			     "%s %s%s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
			     "%s%s%sContent-Length: %zu\r\n\r\n",
			     method, API_PREFIX, path, getenv("AWS_LAMBDA_RUNTIME_API"),
			     errtype ? "Lambda-Runtime-Function-Error-Type: " : "",
			     errtype ? errtype : "", errtype ? "\r\n" : "", len);
		if (n < 0 || (size_t)n >= sizeof(head))
			return -ENAMETOOLONG;
		iov[0] = (struct iovec){ head, (size_t)n };
		iov[1] = (struct iovec){ (void *)body, len };
		err = send_all(iov, len ? 2 : 1);
		if (err == 0)
			err = read_response(r, &fresh);
		if (err == 0)
			return 0;
		response_free(r);
		disconnect();
		/* Only a reused connection that died before answering is retried:
		 * anything else may have been processed and must not be sent twice. */
		if (!reused || !fresh)
			break;
	}
	return err;
}

/* Appends s as a JSON string literal to a malloc'd buffer. */
static void
json_str(char **buf, size_t *len, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = strlen(s), i, o = *len;

	*buf = xrealloc(*buf, *len + n * 6 + 3);
	(*buf)[o++] = '"';
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			(*buf)[o++] = '\\';
			(*buf)[o++] = (char)c;
		} else if (c == '\n' || c == '\r' || c == '\t') {
			(*buf)[o++] = '\\';
			(*buf)[o++] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
		} else if (c < 0x20 || c == 0x7f) {
			(*buf)[o++] = '\\';
			(*buf)[o++] = 'u';
			(*buf)[o++] = '0';
			(*buf)[o++] = '0';
			(*buf)[o++] = hex[c >> 4];
			(*buf)[o++] = hex[c & 15];
		} else {
			(*buf)[o++] = (char)c;
		}
	}
	(*buf)[o++] = '"';
	(*buf)[o] = '\0';
	*len = o;
}

static void
append(char **buf, size_t *len, const char *s)
{
	size_t n = strlen(s);

	*buf = xrealloc(*buf, *len + n + 1);
	memcpy(*buf + *len, s, n + 1);
	*len += n;
}

/* {"errorMessage": msg, "errorType": type, "stackTrace": []}, malloc'd. */
static char *
error_json(const char *type, const char *msg, size_t *len)
{
	char *b = NULL;

	*len = 0;
	append(&b, len, "{\"errorMessage\":");
	json_str(&b, len, msg);
	append(&b, len, ",\"errorType\":");
	json_str(&b, len, type);
	append(&b, len, ",\"stackTrace\":[]}");
	return b;
}

/* Header values must not carry control characters. */
static int
header_safe(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

void
hearth_set_error_type(const char *type)
{
	if (!type || !*type || strlen(type) >= sizeof(rt.error_type) || !header_safe(type))
		return;
	memcpy(rt.error_type, type, strlen(type) + 1);
}

long long
hearth_remaining_ms(const struct hearth_context *ctx)
{
	struct timespec ts;
	long long now;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	return (long long)ctx->deadline_ms - now;
}

void
hearth_init_error(const char *type, const char *msg)
{
	struct response r;
	size_t len;
	char *body;
	int err;

	if (!type || !*type || !header_safe(type))
		type = "Runtime.Unknown";
	body = error_json(type, msg ? msg : "initialization failed", &len);
	err = request("POST", "/init/error", type, body, len, &r);
	free(body);
	if (err < 0)
		fatal("cannot report init error %s: %s", type, strerror(-err));
	response_free(&r);
	fflush(stdout);
	fprintf(stderr, "hearth-runtime: init error %s: %s\n", type, msg ? msg : "");
	exit(1);
}

/* Posts the handler's outcome; stops the runtime when told to (500). */
static void
post_result(const char *id, int rc, char *out, size_t out_len)
{
	char path[512], *body = NULL;
	struct response r;
	const char *type;
	size_t len;
	int err;

	if (rc == 0) {
		snprintf(path, sizeof(path), "/invocation/%s/response", id);
		err = request("POST", path, NULL, out ? out : "", out ? out_len : 0, &r);
	} else {
		type = rt.error_type[0] ? rt.error_type : DEFAULT_ERROR_TYPE;
		if (out)
			out[out_len] = '\0';
		body = error_json(type, out && *out ? out : "handler failed", &len);
		snprintf(path, sizeof(path), "/invocation/%s/error", id);
		err = request("POST", path, type, body, len, &r);
	}
	free(body);
	if (err < 0)
		fatal("cannot post the result of %s: %s", id, strerror(-err));
	if (r.status == 500)
		fatal("runtime API asked the runtime to stop: %s", r.body);
	if (r.status != 202)
		fprintf(stderr, "hearth-runtime: result of %s rejected (%d): %s\n", id, r.status,
			r.body);
	response_free(&r);
}

int
hearth_run(hearth_handler *handler)
{
	/* A pipe makes stdout fully buffered; users expect printf()ed lines in the
	 * logs as they happen, and not lost if the function crashes. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (;;) {
		struct hearth_context ctx;
		struct response r;
		size_t out_len = 0;
		char *out = NULL;
		int err, rc;

		err = request("GET", "/invocation/next", NULL, NULL, 0, &r);
		if (err < 0)
			fatal("cannot get the next invocation: %s", strerror(-err));
		if (r.status != 200 || !r.request_id || !*r.request_id)
			fatal("bad answer to /invocation/next (%d): %s", r.status, r.body);
		ctx = (struct hearth_context){
			.request_id = r.request_id,
			.function_arn = r.arn ? r.arn : "",
			.trace_id = r.trace ? r.trace : "",
			.deadline_ms = r.deadline ? strtoull(r.deadline, NULL, 10) : 0,
			.client_context = r.client_context,
			.cognito_identity = r.cognito,
		};
		if (r.trace)
			setenv("_X_AMZN_TRACE_ID", r.trace, 1);
		else
			unsetenv("_X_AMZN_TRACE_ID");
		rt.error_type[0] = '\0';
		rc = handler(r.body, r.body_len, &ctx, &out, &out_len);
		if (out && rc != 0) {
			/* An error message may come as a bare C string; make room for
			 * the NUL the error path writes. */
			if (out_len == 0)
				out_len = strlen(out);
			out = xrealloc(out, out_len + 1);
		}
		post_result(r.request_id, rc, out, out_len);
		free(out);
		response_free(&r);
	}
}
