/* Error replies: errno code -> HTTP status and error code, in one table. */
#include <errno.h>
#include <string.h>

#include "api/api-internal.h"
#include "lib/log.h"
#include "lib/banned.h"

static const struct {
	int code;
	int status;
	const char *name;
} table[] = {
	{ EINVAL, 400, "InvalidRequest" },
	{ EBADMSG, 400, "InvalidRequest" },
	{ EACCES, 401, "Unauthorized" },
	{ ENOENT, 404, "NotFound" },
	{ ENOTSUP, 405, "MethodNotAllowed" },
	{ EEXIST, 409, "Conflict" },
	{ EFBIG, 413, "TooLarge" },
	{ E2BIG, 413, "TooLarge" },
	{ EMSGSIZE, 413, "TooLarge" },
	{ EBUSY, 429, "Throttled" },
	{ EAGAIN, 503, "Unavailable" },
};

void
api__error(struct http_request *req, int code, const char *message)
{
	size_t i;

	if (code < 0)
		code = -code;
	for (i = 0; i < ARRAY_SIZE(table); i++) {
		if (table[i].code == code) {
			http_reply_error(req, table[i].status, table[i].name, message);
			return;
		}
	}
	/* Anything else is the platform's own fault: log it in full. */
	log_error("%.*s %.*s: %s", (int)req->method_name.len, req->method_name.ptr,
		  (int)req->path.len, req->path.ptr, message);
	http_reply_error(req, 500, "Internal", message);
}

void
api__reply_json(struct http_request *req, int status, json_t *body)
{
	char *s = json_dumps(body, JSON_COMPACT);

	json_decref(body);
	http_reply_json(req, status, s, strlen(s));
	free(s);
}

bool
api__fn_name_ok(const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < n; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
			break;
	}
	return n > 0 && n <= 64 && i == n;
}

char *
api__name(struct api_call *c)
{
	struct str raw = http_param(&c->params, "name");
	char *name = NULL;

	if (http_pct_decode(raw, &name) < 0) {
		api__error(c->req, EINVAL, "invalid function name");
		return NULL;
	}
	if (!api__fn_name_ok(name)) {
		api__error(c->req, EINVAL,
			   "invalid function name: use 1 to 64 letters, digits, '-' or '_'");
		free(name);
		return NULL;
	}
	return name;
}

int
api__b64_decode(const char *in, size_t len, struct buf *out)
{
	static signed char rev[256];
	static int ready;
	unsigned v = 0;
	size_t i, pad = 0;
	int bits = 0;

	if (!ready) {
		const char *a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

		memset(rev, -1, sizeof(rev));
		for (i = 0; i < 64; i++)
			rev[(unsigned char)a[i]] = (signed char)i;
		ready = 1;
	}
	buf_grow(out, len / 4 * 3 + 3);
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)in[i];

		if (ch == '=') {
			pad++;
			continue;
		}
		if (ch == '\n' || ch == '\r')
			continue;
		if (pad || rev[ch] < 0)
			return -EINVAL;
		v = v << 6 | (unsigned)rev[ch];
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf_addch(out, (char)(v >> bits & 0xff));
		}
	}
	if (pad > 2 || bits >= 6)
		return -EINVAL;
	return 0;
}
