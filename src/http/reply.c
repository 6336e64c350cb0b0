/*
 * Reply helpers on top of http_reply(): JSON bodies, the API's error shape and
 * status reason phrases. The framing itself lives in server.c with the connection.
 */
#include <stdio.h>
#include <string.h>

#include "http/http.h"

#include "lib/banned.h"

static const struct {
	int status;
	const char *text;
} status_texts[] = {
	{ 100, "Continue" },
	{ 101, "Switching Protocols" },
	{ 200, "OK" },
	{ 201, "Created" },
	{ 202, "Accepted" },
	{ 204, "No Content" },
	{ 206, "Partial Content" },
	{ 301, "Moved Permanently" },
	{ 302, "Found" },
	{ 303, "See Other" },
	{ 304, "Not Modified" },
	{ 307, "Temporary Redirect" },
	{ 308, "Permanent Redirect" },
	{ 400, "Bad Request" },
	{ 401, "Unauthorized" },
	{ 403, "Forbidden" },
	{ 404, "Not Found" },
	{ 405, "Method Not Allowed" },
	{ 406, "Not Acceptable" },
	{ 408, "Request Timeout" },
	{ 409, "Conflict" },
	{ 410, "Gone" },
	{ 411, "Length Required" },
	{ 412, "Precondition Failed" },
	{ 413, "Payload Too Large" },
	{ 414, "URI Too Long" },
	{ 415, "Unsupported Media Type" },
	{ 416, "Range Not Satisfiable" },
	{ 417, "Expectation Failed" },
	{ 422, "Unprocessable Entity" },
	{ 429, "Too Many Requests" },
	{ 431, "Request Header Fields Too Large" },
	{ 500, "Internal Server Error" },
	{ 501, "Not Implemented" },
	{ 502, "Bad Gateway" },
	{ 503, "Service Unavailable" },
	{ 504, "Gateway Timeout" },
	{ 505, "HTTP Version Not Supported" },
};

const char *
http_status_text(int status)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(status_texts); i++) {
		if (status_texts[i].status == status)
			return status_texts[i].text;
	}
	return "Unknown";
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 if it is not one. Rejects
 * overlong forms, surrogates and code points over U+10FFFF, as RFC 3629 does. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static void
add_json_string(struct buf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p);

	buf_addch(out, '"');
	while (n > 0) {
		size_t len;

		switch (*p) {
		case '"':
			buf_adds(out, "\\\"");
			break;
		case '\\':
			buf_adds(out, "\\\\");
			break;
		case '\n':
			buf_adds(out, "\\n");
			break;
		case '\r':
			buf_adds(out, "\\r");
			break;
		case '\t':
			buf_adds(out, "\\t");
			break;
		default:
			if (*p < 0x20 || *p == 0x7f) {
				buf_addf(out, "\\u%04x", *p);
				break;
			}
			len = utf8_len(p, n);
			if (len == 0) {
				/* A client's bytes may end up in a message; keep the JSON valid. */
				buf_adds(out, "\\ufffd");
				break;
			}
			buf_add(out, p, len);
			p += len;
			n -= len;
			continue;
		}
		p++;
		n--;
	}
	buf_addch(out, '"');
}

void
http__error_json(struct buf *out, const char *code, const char *message)
{
	buf_adds(out, "{\"error\":{\"code\":");
	add_json_string(out, code);
	buf_adds(out, ",\"message\":");
	add_json_string(out, message);
	buf_adds(out, "}}");
}

void
http_reply_json(struct http_request *req, int status, const char *json, size_t len)
{
	static const struct http_header ct = { STR_LIT("Content-Type"),
					       STR_LIT("application/json") };

	http_reply(req, status, &ct, 1, json, len);
}

void
http_reply_error(struct http_request *req, int status, const char *code, const char *message)
{
	struct buf body = BUF_INIT;

	http__error_json(&body, code, message);
	http_reply_json(req, status, body.ptr, body.len);
	buf_release(&body);
}
