/*
 * Error reporting with context.
 *
 * Leaf functions return 0 or a negative errno. Operations that need context
 * take `struct err *err` last, fill it where the failure happens and return
 * its negative code; callers prepend context on the way up with err_wrap().
 * The message lives in a fixed buffer so the failure path allocates nothing.
 */
#ifndef HEARTH_ERR_H
#define HEARTH_ERR_H

#include <stdlib.h>

#include "compiler.h"

struct err {
	int code;	/* errno-style, positive; 0 means no error */
	char msg[256];	/* "what failed: why", lower case, no final period */
};

#define ERR_INIT { 0, { 0 } }

/* Sets code and message (with ": strerror(code)" appended when code is an errno).
 * Returns -code. */
int err_set(struct err *err, int code, const char *fmt, ...) FORMAT(3, 4);
/* Like err_set() but without the strerror suffix. Returns -code. */
int err_setmsg(struct err *err, int code, const char *fmt, ...) FORMAT(3, 4);
/* Prepends "context: " to the message. Returns -err->code. */
int err_wrap(struct err *err, const char *fmt, ...) FORMAT(2, 3);
void err_clear(struct err *err);

/* Print "hearth: fatal: ..." to stderr and exit(1). Only before serving. */
NORETURN void die(const char *fmt, ...) FORMAT(1, 2);
NORETURN void bug_at(const char *file, int line, const char *fmt, ...) FORMAT(3, 4);
#define BUG(...) bug_at(__FILE__, __LINE__, __VA_ARGS__)

/* Allocation failure aborts: the daemon runs in a memory cgroup and a clean
 * restart beats half-tested recovery. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) FORMAT(1, 2);

#endif
