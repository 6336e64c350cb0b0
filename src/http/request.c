/*
 * Reading parts of a parsed request: headers, query parameters, percent-decoding.
 * Nothing here trusts the bytes: decoding rejects bad escapes and NULs, so a decoded
 * value is always a clean C string.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"

#include "lib/banned.h"

const struct str *
http_header_get(const struct http_request *req, const char *name)
{
	size_t i;

	for (i = 0; i < req->nheaders; i++) {
		if (str_caseeqs(req->headers[i].name, name))
			return &req->headers[i].value;
	}
	return NULL;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
http_pct_decode(struct str src, char **out)
{
	char *dst = xmalloc(src.len + 1);
	size_t i, n = 0;

	for (i = 0; i < src.len; i++) {
		char c = src.ptr[i];

		if (c == '%') {
			int hi, lo;

			if (src.len - i < 3)
				goto bad;
			hi = hexval(src.ptr[i + 1]);
			lo = hexval(src.ptr[i + 2]);
			if (hi < 0 || lo < 0)
				goto bad;
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (c == '\0')
			goto bad;
		dst[n++] = c;
	}
	dst[n] = '\0';
	*out = dst;
	return 0;
bad:
	free(dst);
	return -EINVAL;
}

char *
http_query_get(const struct http_request *req, const char *name)
{
	const char *p = req->query.ptr, *end = p + req->query.len;

	if (!p)
		return NULL;
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *pend = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(pend - p));
		struct str k = str_from(p, (size_t)((eq ? eq : pend) - p));
		char *key, *value;

		if (http_pct_decode(k, &key) == 0) {
			bool hit = strcmp(key, name) == 0;

			free(key);
			if (hit) {
				struct str v = eq ? str_from(eq + 1, (size_t)(pend - eq - 1))
						  : str_from("", 0);

				if (http_pct_decode(v, &value) < 0)
					return NULL;
				return value;
			}
		}
		p = pend + (amp ? 1 : 0);
	}
	return NULL;
}
