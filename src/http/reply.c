/*
 * Reply helpers on top of http_reply(): JSON bodies, the API's error shape and
 * status reason phrases. The framing itself lives in server.c with the connection.
 */
#include <stdio.h>
#include <string.h>

#include "http/http.h"

#include "lib/utf8.h"
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
			len = utf8_seq_len(p, n);
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
