/*
 * A JSON checker and scanner that builds no tree: for the hot paths that only need to know
 * that a text is JSON, or to read a few top-level members of it, where a DOM (jansson)
 * costs an allocation per value.
 *
 * jscan_check() accepts exactly the texts jansson's json_loadb(JSON_DECODE_ANY) accepts,
 * so a caller can swap one for the other without changing what is refused: strict
 * RFC 8259 syntax, valid UTF-8 everywhere, no \u0000, paired surrogate escapes, integers
 * that fit a long long, reals that do not overflow a double, at most JSON_MAX_DEPTH
 * nested values. tests/unit/test-lib-jscan.c and tests/fuzz/fuzz-jscan.c hold it to that.
 *
 * The other calls read text that jscan_check() accepted and do not check it again.
 * Pure: no allocation except into the caller's buffers; any thread.
 */
#ifndef HEARTH_JSCAN_H
#define HEARTH_JSCAN_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* jansson's JSON_PARSER_MAX_DEPTH: values (scalars included) nested deeper are refused. */
#define JSCAN_MAX_DEPTH 2048

enum jscan_type {
	JSCAN_NONE,
	JSCAN_OBJECT,
	JSCAN_ARRAY,
	JSCAN_STRING,
	JSCAN_INTEGER,
	JSCAN_REAL,
	JSCAN_TRUE,
	JSCAN_FALSE,
	JSCAN_NULL,
};

/* Why a text was refused: a static message and the byte offset where it went wrong. */
struct jscan_error {
	const char *msg;
	size_t offset;
};

/* 0 when text[0..len) is one JSON value (with optional whitespace around it); -EBADMSG
 * with *e filled (may be NULL) otherwise. *type (may be NULL) gets the top value's type. */
int jscan_check(const char *text, size_t len, enum jscan_type *type, struct jscan_error *e);

/* jscan_check(), and *found tells whether the top value is an object with a member named
 * find (its key decoded), so that a caller looking for one key needs no second pass. */
int jscan_check_find(const char *text, size_t len, const char *find, bool *found,
		     enum jscan_type *type, struct jscan_error *e);

/* One member of an object, as slices of the checked text. */
struct jscan_member {
	struct str key;		/* the key's raw text between its quotes, escapes kept */
	struct str value;	/* the value's whole text (a string with its quotes) */
	enum jscan_type type;
};

/* Walks the members of the object or the elements of the array that starts at p (after
 * any whitespace), in a text jscan_check() accepted. Array elements come with an empty
 * key. */
struct jscan_iter {
	const char *p, *end;
	bool array;
};

void jscan_iter_init(struct jscan_iter *it, struct str container);
/* false after the last member. */
bool jscan_next(struct jscan_iter *it, struct jscan_member *m);

/* Appends the decoded bytes of a checked string's raw text (between the quotes) to out. */
void jscan_unescape(struct str raw, struct buf *out);
/* Whether a checked string's raw text decodes to s. */
bool jscan_str_eq(struct str raw, const char *s);

/* Appends s as a JSON string (with quotes), escaped as jansson's json_dumps() writes it.
 * Bytes that are not valid UTF-8, and NUL, become U+FFFD: a client's bytes may be
 * anything, and the text must stay JSON. */
void jscan_quote(struct buf *out, struct str s);

#endif
