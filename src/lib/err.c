#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

static int
vset(struct err *err, int code, int with_errno, const char *fmt, va_list ap)
{
	size_t n;

	if (code <= 0)
		code = EIO;
	err->code = code;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	n = strlen(err->msg);
	if (with_errno && n < sizeof(err->msg))
		snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", strerror(code));
	return -code;
}

int
err_set(struct err *err, int code, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vset(err, code, 1, fmt, ap);
	va_end(ap);
	return r;
}

int
err_setmsg(struct err *err, int code, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vset(err, code, 0, fmt, ap);
	va_end(ap);
	return r;
}

int
err_wrap(struct err *err, const char *fmt, ...)
{
	char prefix[128], joined[sizeof(prefix) + sizeof(err->msg) + 2];
	va_list ap;

	if (err->code == 0)
		err->code = EIO;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	snprintf(joined, sizeof(joined), "%s: %s", prefix, err->msg);
	/* Truncating keeps the outer context, which names what was being done. */
	snprintf(err->msg, sizeof(err->msg), "%.*s", (int)sizeof(err->msg) - 1, joined);
	return -err->code;
}

void
err_clear(struct err *err)
{
	err->code = 0;
	err->msg[0] = '\0';
}

void
die(const char *fmt, ...)
{
	va_list ap;

	fputs("hearth: fatal: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

void
bug_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "hearth: BUG: %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

static void
oom(void)
{
	fputs("hearth: fatal: out of memory\n", stderr);
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom();
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		oom();
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		oom();
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (!p)
		oom();
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (r < 0)
		oom();
	return p;
}
