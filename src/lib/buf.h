/*
 * Growable byte buffers and borrowed slices.
 *
 * struct buf owns its memory. Invariants, true after every call:
 *   - b->ptr is never NULL: an empty buf points at a shared empty string, so
 *     callers may always use b->ptr as a C string;
 *   - b->ptr[b->len] == '\0' (the buffer may hold NULs before that);
 *   - b->cap == 0 means nothing is allocated yet (ptr is the shared empty
 *     string and must not be written through).
 *
 * struct str is a borrowed slice { ptr, len }: it never owns and never
 * outlives the memory it points into. It is not NUL-terminated in general.
 */
#ifndef HEARTH_BUF_H
#define HEARTH_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>

#include "compiler.h"

extern char buf__empty[1];

struct buf {
	char *ptr;
	size_t len;
	size_t cap;
};

struct str {
	const char *ptr;
	size_t len;
};

#define BUF_INIT { buf__empty, 0, 0 }
#define STR_LIT(s) ((struct str){ (s), sizeof(s) - 1 })
#define STR_NULL ((struct str){ NULL, 0 })

void buf_init(struct buf *b);
void buf_release(struct buf *b);
/* Ensures room for `extra` more bytes plus the NUL. */
void buf_grow(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *data, size_t n);
void buf_adds(struct buf *b, const char *s);
void buf_addstr(struct buf *b, struct str s);
void buf_addch(struct buf *b, char c);
void buf_addf(struct buf *b, const char *fmt, ...) FORMAT(2, 3);
void buf_vaddf(struct buf *b, const char *fmt, va_list ap);
void buf_setlen(struct buf *b, size_t len);
void buf_reset(struct buf *b);	/* len = 0, keeps the allocation */
/* Removes the first n bytes. */
void buf_consume(struct buf *b, size_t n);
/* Hands the memory to the caller (free() it) and re-inits b. */
char *buf_detach(struct buf *b, size_t *len);

static inline struct str
str_from(const char *s, size_t n)
{
	return (struct str){ s, n };
}

struct str str_cstr(const char *s);
bool str_eq(struct str a, struct str b);
bool str_eqs(struct str a, const char *s);
bool str_caseeqs(struct str a, const char *s);
/* Returns a malloc'd NUL-terminated copy. */
char *str_dup(struct str s);
/* Parses an unsigned decimal, the whole slice; -EINVAL or -ERANGE on failure. */
int str_to_u64(struct str s, unsigned long long *out);

#endif
