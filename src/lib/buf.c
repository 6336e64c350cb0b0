#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "err.h"

char buf__empty[1];

void
buf_init(struct buf *b)
{
	b->ptr = buf__empty;
	b->len = 0;
	b->cap = 0;
}

void
buf_release(struct buf *b)
{
	if (b->cap)
		free(b->ptr);
	buf_init(b);
}

void
buf_grow(struct buf *b, size_t extra)
{
	size_t want = b->len + extra + 1, cap;

	if (want < b->len)
		BUG("buf size overflow");
	if (want <= b->cap)
		return;
	cap = b->cap ? b->cap : 64;
	while (cap < want)
		cap = cap < ((size_t)1 << 62) ? cap * 2 : want;
	if (b->cap) {
		b->ptr = xrealloc(b->ptr, cap);
	} else {
		b->ptr = xmalloc(cap);
		b->ptr[0] = '\0';
	}
	b->cap = cap;
}

void
buf_add(struct buf *b, const void *data, size_t n)
{
	buf_grow(b, n);
	if (n)
		memcpy(b->ptr + b->len, data, n);
	b->len += n;
	b->ptr[b->len] = '\0';
}

void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_addstr(struct buf *b, struct str s)
{
	buf_add(b, s.ptr, s.len);
}

void
buf_addch(struct buf *b, char c)
{
	buf_add(b, &c, 1);
}

void
buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	buf_grow(b, 64);
	va_copy(cp, ap);
	n = vsnprintf(b->ptr + b->len, b->cap - b->len, fmt, cp);
	va_end(cp);
	if (n < 0)
		BUG("bad format string");
	if ((size_t)n >= b->cap - b->len) {
		buf_grow(b, (size_t)n);
		n = vsnprintf(b->ptr + b->len, b->cap - b->len, fmt, ap);
	}
	b->len += (size_t)n;
}

void
buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(b, fmt, ap);
	va_end(ap);
}

void
buf_setlen(struct buf *b, size_t len)
{
	if (len > (b->cap ? b->cap - 1 : 0))
		BUG("buf_setlen beyond allocation");
	b->len = len;
	b->ptr[len] = '\0';
}

void
buf_reset(struct buf *b)
{
	if (b->cap)
		buf_setlen(b, 0);
}

void
buf_consume(struct buf *b, size_t n)
{
	if (n > b->len)
		BUG("buf_consume beyond length");
	if (n == 0)
		return;
	memmove(b->ptr, b->ptr + n, b->len - n);
	buf_setlen(b, b->len - n);
}

char *
buf_detach(struct buf *b, size_t *len)
{
	char *p;

	if (len)
		*len = b->len;
	p = b->cap ? b->ptr : xstrdup("");
	buf_init(b);
	return p;
}

struct str
str_cstr(const char *s)
{
	return (struct str){ s, s ? strlen(s) : 0 };
}

bool
str_eq(struct str a, struct str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

bool
str_eqs(struct str a, const char *s)
{
	return str_eq(a, str_cstr(s));
}

bool
str_caseeqs(struct str a, const char *s)
{
	size_t n = strlen(s);

	return a.len == n && (n == 0 || strncasecmp(a.ptr, s, n) == 0);
}

char *
str_dup(struct str s)
{
	return xstrndup(s.ptr ? s.ptr : "", s.len);
}

int
str_to_u64(struct str s, unsigned long long *out)
{
	unsigned long long v = 0;
	size_t i;

	if (s.len == 0 || s.len > 20)
		return -EINVAL;
	for (i = 0; i < s.len; i++) {
		unsigned d;

		if (s.ptr[i] < '0' || s.ptr[i] > '9')
			return -EINVAL;
		d = (unsigned)(s.ptr[i] - '0');
		if (v > (~0ULL - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}
