/*
 * Relay framing: the messages hearth-init and the daemon exchange over the one
 * unix stream socket that joins them.
 *
 * A frame is
 *     u32 len     little endian; bytes that follow, type included
 *     u8  type    enum relay_type
 *     fields      each: u8 tag (enum relay_tag), u32 len (little endian), bytes
 * A tag appears at most once per frame; unknown tags are skipped so either side
 * may grow new fields. Numbers travel as decimal text.
 *
 * The parser is incremental and copies nothing: the message's fields are slices
 * into the caller's input, valid while that input is. It caps the frame size, so
 * a sandbox sending garbage costs the daemon at most one frame's memory before
 * the instance is ended.
 */
#ifndef HEARTH_RELAY_H
#define HEARTH_RELAY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"

/* A response may be 6 MiB + 100 bytes (Lambda's limit); leave room for fields. */
#define RELAY_MAX_FRAME (7u << 20)

enum relay_type {
	/* init -> daemon */
	RELAY_NEXT = 1,		/* runtime asked for the next event: the instance is ready */
	RELAY_RESPONSE,		/* ID, BODY */
	RELAY_ERROR,		/* ID, ERRTYPE, BODY */
	RELAY_INIT_ERROR,	/* ERRTYPE, BODY */
	RELAY_LOG,		/* STREAM ("1" stdout, "2" stderr), BODY: one line, no newline */
	RELAY_EXIT,		/* STATUS: "exit N" or "signal N"; the runtime ended */
	/* daemon -> init */
	RELAY_INVOKE = 16,	/* ID, DEADLINE_MS, ARN, TRACE, [CLIENT_CTX], [COGNITO], BODY */
	/* spawner -> init, once, before the daemon gets the socket */
	RELAY_ASSIGN,		/* BODY: the function's environment, "K=V" strings each
				 * ending in NUL; a pre-started runtime takes on the
				 * function (src/sandbox/stem.c) */
	RELAY_TYPE_MAX
};

enum relay_tag {
	RELAY_T_ID = 1,
	RELAY_T_BODY,
	RELAY_T_ERRTYPE,
	RELAY_T_DEADLINE_MS,
	RELAY_T_ARN,
	RELAY_T_TRACE,
	RELAY_T_CLIENT_CTX,
	RELAY_T_COGNITO,
	RELAY_T_STREAM,
	RELAY_T_STATUS,
	RELAY_T_MAX
};

struct relay_msg {
	uint8_t type;
	/* f[tag].ptr == NULL when the tag was absent */
	struct str f[RELAY_T_MAX];
};

/*
 * Parses one frame from p[0..len). Returns the bytes consumed (> 0) and fills
 * *m; 0 when the frame is incomplete; -EMSGSIZE when it announces more than
 * RELAY_MAX_FRAME; -EBADMSG when it is malformed (unknown type, field running
 * past the frame, repeated tag). After an error the stream is unusable.
 */
ssize_t relay_parse(const char *p, size_t len, struct relay_msg *m);

/* Building: relay_begin() appends a frame header to b and returns its offset;
 * relay_put*() append fields; relay_end() patches the length. */
size_t relay_begin(struct buf *b, enum relay_type type);
void relay_put(struct buf *b, enum relay_tag tag, const void *data, size_t n);
void relay_puts(struct buf *b, enum relay_tag tag, const char *s);
void relay_putu64(struct buf *b, enum relay_tag tag, uint64_t v);
void relay_end(struct buf *b, size_t start);

#endif
