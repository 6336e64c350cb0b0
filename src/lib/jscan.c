/*
 * The JSON checker: one pass, no tree, no allocation. Where jansson's lexer and parser
 * (load.c) have a rule that is not plain RFC 8259, it is copied here with the reason, so
 * that the two agree on every text: the fuzz driver compares them byte for byte.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jscan.h"
#include "utf8.h"
#include "banned.h"

#define IS_WS(c) ((c) == ' ' || (c) == '\t' || (c) == '\n' || (c) == '\r')
#define IS_DIGIT(c) ((c) >= '0' && (c) <= '9')
#define IS_ALPHA(c) (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z'))

struct scan {
	const unsigned char *p, *end, *start;
	struct jscan_error *e;
};

static int
fail(struct scan *s, const char *msg)
{
	if (s->e) {
		s->e->msg = msg;
		s->e->offset = (size_t)(s->p - s->start);
	}
	return -EBADMSG;
}

static void
skip_ws(struct scan *s)
{
	while (s->p < s->end && IS_WS(*s->p))
		s->p++;
}

static int
hex4(const unsigned char *p)
{
	int v = 0, i;

	for (i = 0; i < 4; i++) {
		v <<= 4;
		if (IS_DIGIT(p[i]))
			v += p[i] - '0';
		else if (p[i] >= 'a' && p[i] <= 'f')
			v += p[i] - 'a' + 10;
		else if (p[i] >= 'A' && p[i] <= 'F')
			v += p[i] - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/* Bytes a string may hold as they are: printable ASCII but '"' and '\\'. */
static const unsigned char plain[256] = {
	[0x20 ... 0x21] = 1,	/* '"' is 0x22 */
	[0x23 ... 0x5b] = 1,	/* '\\' is 0x5c */
	[0x5d ... 0x7f] = 1,
};

/* s->p is just past the opening quote; on success just past the closing one. */
static int
scan_string(struct scan *s)
{
	size_t len;
	int v, v2;

	for (;;) {
		/* The plain run first: most strings have no escape at all. */
		while (s->end - s->p >= 4 && plain[s->p[0]] && plain[s->p[1]] && plain[s->p[2]] &&
		       plain[s->p[3]])
			s->p += 4;
		while (s->p < s->end && plain[*s->p])
			s->p++;
		if (s->p == s->end)
			return fail(s, "premature end of input in a string");
		if (*s->p == '"') {
			s->p++;
			return 0;
		}
		if (*s->p < 0x20)
			return fail(s, "control character in a string");
		if (*s->p >= 0x80) {
			len = utf8_seq_len(s->p, (size_t)(s->end - s->p));
			if (len == 0)
				return fail(s, "invalid UTF-8");
			s->p += len;
			continue;
		}
		/* A backslash. */
		if (s->end - s->p < 2)
			return fail(s, "premature end of input in an escape");
		if (s->p[1] != 'u') {
			if (!strchr("\"\\/bfnrt", s->p[1]) || s->p[1] == '\0')
				return fail(s, "invalid escape");
			s->p += 2;
			continue;
		}
		if (s->end - s->p < 6 || (v = hex4(s->p + 2)) < 0)
			return fail(s, "invalid \\u escape");
		/* jansson refuses NUL in strings (without JSON_ALLOW_NUL) and unpaired
		 * surrogates. */
		if (v == 0)
			return fail(s, "\\u0000 is not allowed");
		if (v >= 0xdc00 && v <= 0xdfff)
			return fail(s, "unpaired low surrogate escape");
		if (v >= 0xd800 && v <= 0xdbff) {
			if (s->end - s->p < 12 || s->p[6] != '\\' || s->p[7] != 'u' ||
			    (v2 = hex4(s->p + 8)) < 0 || v2 < 0xdc00 || v2 > 0xdfff)
				return fail(s, "unpaired high surrogate escape");
			s->p += 6;
		}
		s->p += 6;
	}
}

/* jansson reads integers with strtoll and refuses what overflows a long long; without
 * leading zeros, that is more than 19 digits, or 19 digits above the limit. */
static bool
integer_fits(const unsigned char *digits, size_t n, bool negative)
{
	static const char max[] = "9223372036854775807", min[] = "9223372036854775808";

	if (n < 19)
		return true;
	if (n > 19)
		return false;
	return memcmp(digits, negative ? min : max, 19) <= 0;
}

/* jansson reads reals with strtod and refuses an overflow (but not an underflow). */
static bool
real_fits(const unsigned char *text, size_t n)
{
	char small[128], *copy = small, *end;
	double v;
	bool ok;

	if (n >= sizeof(small)) {
		copy = malloc(n + 1);
		if (!copy)
			abort();
	}
	memcpy(copy, text, n);
	copy[n] = '\0';
	errno = 0;
	v = strtod(copy, &end);
	ok = !((v == HUGE_VAL || v == -HUGE_VAL) && errno == ERANGE);
	if (copy != small)
		free(copy);
	return ok;
}

static int
scan_number(struct scan *s, enum jscan_type *type)
{
	const unsigned char *start = s->p, *digits;
	bool negative = false, real = false;

	if (*s->p == '-') {
		negative = true;
		s->p++;
	}
	digits = s->p;
	if (s->p < s->end && *s->p == '0') {
		s->p++;
		if (s->p < s->end && IS_DIGIT(*s->p))
			return fail(s, "invalid number: leading zero");
	} else if (s->p < s->end && IS_DIGIT(*s->p)) {
		while (s->p < s->end && IS_DIGIT(*s->p))
			s->p++;
	} else {
		return fail(s, "invalid number");
	}
	if (s->p < s->end && *s->p == '.') {
		real = true;
		s->p++;
		if (s->p == s->end || !IS_DIGIT(*s->p))
			return fail(s, "invalid number: no digit after '.'");
		while (s->p < s->end && IS_DIGIT(*s->p))
			s->p++;
	}
	if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
		real = true;
		s->p++;
		if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
			s->p++;
		if (s->p == s->end || !IS_DIGIT(*s->p))
			return fail(s, "invalid number: no digit in the exponent");
		while (s->p < s->end && IS_DIGIT(*s->p))
			s->p++;
	}
	if (real) {
		if (!real_fits(start, (size_t)(s->p - start)))
			return fail(s, "real number overflow");
		*type = JSCAN_REAL;
	} else {
		if (!integer_fits(digits, (size_t)(s->p - digits), negative))
			return fail(s, "integer overflow");
		*type = JSCAN_INTEGER;
	}
	return 0;
}

/* jansson takes a whole run of letters as one word, so "truex" is one bad token. */
static int
scan_word(struct scan *s, enum jscan_type *type)
{
	const unsigned char *w = s->p;
	size_t n;

	while (s->p < s->end && IS_ALPHA(*s->p))
		s->p++;
	n = (size_t)(s->p - w);
	if (n == 4 && memcmp(w, "true", 4) == 0)
		*type = JSCAN_TRUE;
	else if (n == 5 && memcmp(w, "false", 5) == 0)
		*type = JSCAN_FALSE;
	else if (n == 4 && memcmp(w, "null", 4) == 0)
		*type = JSCAN_NULL;
	else
		return fail(s, "invalid token");
	return 0;
}

int
jscan_check(const char *text, size_t len, enum jscan_type *type, struct jscan_error *e)
{
	return jscan_check_find(text, len, NULL, NULL, type, e);
}

int
jscan_check_find(const char *text, size_t len, const char *find, bool *found,
		 enum jscan_type *type, struct jscan_error *e)
{
	/* The open containers, innermost last: '{' or '['. */
	unsigned char stack[JSCAN_MAX_DEPTH];
	struct scan s = { (const unsigned char *)text, (const unsigned char *)text + len,
			  (const unsigned char *)text, e };
	enum jscan_type t = JSCAN_NONE, top = JSCAN_NONE;
	const unsigned char *k;
	size_t depth = 0;
	int r;

	if (found)
		*found = false;
	if (!text)
		return fail(&s, "no text");
	skip_ws(&s);
value:
	/* jansson counts every value, scalars too, against its depth limit. */
	if (depth + 1 > JSCAN_MAX_DEPTH)
		return fail(&s, "maximum nesting depth reached");
	if (s.p == s.end)
		return fail(&s, "premature end of input");
	switch (*s.p) {
	case '{':
	case '[':
		stack[depth++] = *s.p;
		t = *s.p == '{' ? JSCAN_OBJECT : JSCAN_ARRAY;
		if (top == JSCAN_NONE)
			top = t;
		s.p++;
		skip_ws(&s);
		if (s.p < s.end && *s.p == (stack[depth - 1] == '{' ? '}' : ']')) {
			s.p++;
			depth--;
			goto next;
		}
		if (stack[depth - 1] == '[')
			goto value;
		goto key;
	case '"':
		s.p++;
		r = scan_string(&s);
		t = JSCAN_STRING;
		break;
	default:
		if (*s.p == '-' || IS_DIGIT(*s.p))
			r = scan_number(&s, &t);
		else if (IS_ALPHA(*s.p))
			r = scan_word(&s, &t);
		else
			r = fail(&s, "invalid token");
		break;
	}
	if (r < 0)
		return r;
	/* jansson quirk: the byte that ends a number or a word is pushed back, and a pushed
	 * back NUL is lost (stream_get() reads a NUL in its buffer as "refill"), so one NUL
	 * right after a number or a word is as good as not there. */
	if (t != JSCAN_STRING && s.p < s.end && *s.p == '\0')
		s.p++;
	if (top == JSCAN_NONE)
		top = t;
next:
	skip_ws(&s);
	if (depth == 0) {
		if (s.p != s.end)
			return fail(&s, "end of input expected");
		if (type)
			*type = top;
		return 0;
	}
	if (s.p == s.end)
		return fail(&s, "premature end of input");
	if (*s.p == ',') {
		s.p++;
		skip_ws(&s);
		if (stack[depth - 1] == '[')
			goto value;
		goto key;
	}
	if (*s.p != (stack[depth - 1] == '{' ? '}' : ']'))
		return fail(&s, stack[depth - 1] == '{' ? "',' or '}' expected" :
						    "',' or ']' expected");
	s.p++;
	depth--;
	goto next;
key:
	if (s.p == s.end || *s.p != '"')
		return fail(&s, "string key expected");
	k = ++s.p;
	r = scan_string(&s);
	if (r < 0)
		return r;
	if (find && depth == 1 && !*found &&
	    jscan_str_eq(str_from((const char *)k, (size_t)(s.p - 1 - k)), find))
		*found = true;
	skip_ws(&s);
	if (s.p == s.end || *s.p != ':')
		return fail(&s, "':' expected");
	s.p++;
	skip_ws(&s);
	goto value;
}

/* ---- reading checked text ------------------------------------------------------------- */

static const char *
skip_ws_c(const char *p, const char *end)
{
	while (p < end && IS_WS(*p))
		p++;
	return p;
}

/* The bytes skipping a checked value must look at; everything else is passed over a
 * byte at a time without a branch per kind. */
static const unsigned char special[256] = {
	['"'] = 1, ['\\'] = 1, ['{'] = 1, ['}'] = 1, ['['] = 1, [']'] = 1,
};

/* p at the opening quote; returns just past the closing one. */
static const char *
skip_string(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		while (p < end && !special[(unsigned char)*p])
			p++;
		if (p == end || *p == '"')
			break;
		if (*p == '\\')
			p++;
	}
	return p < end ? p + 1 : end;
}

static const char *
skip_value(const char *p, const char *end, enum jscan_type *type)
{
	size_t depth = 0;

	if (*p == '"') {
		*type = JSCAN_STRING;
		return skip_string(p, end);
	}
	if (*p == '{' || *p == '[') {
		*type = *p == '{' ? JSCAN_OBJECT : JSCAN_ARRAY;
		while (p < end) {
			while (p < end && !special[(unsigned char)*p])
				p++;
			if (p == end)
				break;
			if (*p == '"') {
				p = skip_string(p, end);
				continue;
			}
			if (*p == '{' || *p == '[')
				depth++;
			else if (*p == '}' || *p == ']')
				if (--depth == 0)
					return p + 1;
			p++;
		}
		return end;
	}
	if (*p == '-' || IS_DIGIT(*p)) {
		*type = JSCAN_INTEGER;
		for (; p < end && (IS_DIGIT(*p) || *p == '-' || *p == '+' || *p == '.' ||
				   *p == 'e' || *p == 'E'); p++) {
			if (*p == '.' || *p == 'e' || *p == 'E')
				*type = JSCAN_REAL;
		}
		return p;
	}
	*type = *p == 't' ? JSCAN_TRUE : *p == 'f' ? JSCAN_FALSE : JSCAN_NULL;
	while (p < end && IS_ALPHA(*p))
		p++;
	return p;
}

void
jscan_iter_init(struct jscan_iter *it, struct str container)
{
	const char *end = container.ptr + container.len;
	const char *p = skip_ws_c(container.ptr, end);

	it->array = p < end && *p == '[';
	it->p = p < end ? p + 1 : end;
	it->end = end;
}

bool
jscan_next(struct jscan_iter *it, struct jscan_member *m)
{
	const char *p = skip_ws_c(it->p, it->end), *k;

	if (p < it->end && *p == ',')
		p = skip_ws_c(p + 1, it->end);
	if (p >= it->end || *p == '}' || *p == ']') {
		it->p = it->end;
		return false;
	}
	m->key = STR_NULL;
	if (!it->array) {
		k = p;
		p = skip_string(p, it->end);
		m->key = str_from(k + 1, (size_t)(p - k - 2));
		p = skip_ws_c(p, it->end);
		p = skip_ws_c(p + 1, it->end);	/* the ':' */
	}
	k = p;
	p = skip_value(p, it->end, &m->type);
	m->value = str_from(k, (size_t)(p - k));
	if (p < it->end && *p == '\0')
		p++;	/* see jscan_check() */
	it->p = p;
	return true;
}

static void
add_utf8(struct buf *out, unsigned cp)
{
	char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	buf_add(out, b, n);
}

void
jscan_unescape(struct str raw, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)raw.ptr, *end = p + raw.len, *run;
	int v, v2;

	buf_grow(out, raw.len);
	while (p < end) {
		run = p;
		while (p < end && *p != '\\')
			p++;
		buf_add(out, run, (size_t)(p - run));
		if (p >= end - 1)
			break;
		switch (p[1]) {
		case 'b':
			buf_addch(out, '\b');
			break;
		case 'f':
			buf_addch(out, '\f');
			break;
		case 'n':
			buf_addch(out, '\n');
			break;
		case 'r':
			buf_addch(out, '\r');
			break;
		case 't':
			buf_addch(out, '\t');
			break;
		case 'u':
			v = end - p >= 6 ? hex4(p + 2) : -1;
			if (v < 0)
				return;	/* not checked text; nothing sensible to add */
			if (v >= 0xd800 && v <= 0xdbff && end - p >= 12 &&
			    (v2 = hex4(p + 8)) >= 0xdc00 && v2 <= 0xdfff) {
				v = 0x10000 + ((v - 0xd800) << 10) + (v2 - 0xdc00);
				p += 6;
			}
			add_utf8(out, (unsigned)v);
			p += 4;
			break;
		default:	/* '"', '\\' and '/' stand for themselves */
			buf_addch(out, (char)p[1]);
			break;
		}
		p += 2;
	}
}

bool
jscan_str_eq(struct str raw, const char *s)
{
	struct buf b = BUF_INIT;
	bool eq;

	if (!memchr(raw.ptr, '\\', raw.len))
		return raw.len == strlen(s) && memcmp(raw.ptr, s, raw.len) == 0;
	jscan_unescape(raw, &b);
	eq = b.len == strlen(s) && memcmp(b.ptr, s, b.len) == 0;
	buf_release(&b);
	return eq;
}

void
jscan_quote(struct buf *out, struct str s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)s.ptr, *end = p + s.len, *run;
	char esc[6] = { '\\', 'u', '0', '0', 0, 0 };
	size_t len;

	buf_grow(out, s.len + 2);
	/* Most strings need no escape: the run is found, then written with its quotes at
	 * once into the room just made. */
	while (p < end && plain[*p])
		p++;
	out->ptr[out->len] = '"';
	if (p != (const unsigned char *)s.ptr)	/* s.ptr may be NULL when empty */
		memcpy(out->ptr + out->len + 1, s.ptr, (size_t)(p - (const unsigned char *)s.ptr));
	out->len += 1 + (size_t)(p - (const unsigned char *)s.ptr);
	if (p == end) {
		out->ptr[out->len++] = '"';
		out->ptr[out->len] = '\0';
		return;
	}
	out->ptr[out->len] = '\0';
	while (p < end) {
		run = p;
		while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
			p++;
		buf_add(out, run, (size_t)(p - run));
		if (p == end)
			break;
		if (*p >= 0x80) {
			len = utf8_seq_len(p, (size_t)(end - p));
			if (len == 0) {
				buf_add(out, "\xef\xbf\xbd", 3);
				len = 1;
			} else {
				buf_add(out, p, len);
			}
			p += len;
			continue;
		}
		switch (*p) {
		case '"':
			buf_add(out, "\\\"", 2);
			break;
		case '\\':
			buf_add(out, "\\\\", 2);
			break;
		case '\b':
			buf_add(out, "\\b", 2);
			break;
		case '\f':
			buf_add(out, "\\f", 2);
			break;
		case '\n':
			buf_add(out, "\\n", 2);
			break;
		case '\r':
			buf_add(out, "\\r", 2);
			break;
		case '\t':
			buf_add(out, "\\t", 2);
			break;
		case '\0':
			buf_add(out, "\xef\xbf\xbd", 3);
			break;
		default:
			esc[4] = hex[*p >> 4];
			esc[5] = hex[*p & 0xf];
			buf_add(out, esc, 6);
			break;
		}
		p++;
	}
	buf_addch(out, '"');
}
