/*
 * Shared by the files of the store module only: the connection, the prepared
 * statement cache and the SQLite error mapping. Nothing outside src/store/
 * includes this; the rest of hearth sees store.h.
 */
#ifndef HEARTH_STORE_INTERNAL_H
#define HEARTH_STORE_INTERNAL_H

#include <sqlite3.h>

#include "lib/compiler.h"
#include "store/store.h"

/* The columns event.c's read_event() reads, in its order. */
#define STORE__EV_COLS                                                                             \
	"id, request_id, function, payload, state, attempts, created_ms, next_ms, last_error, "    \
	"finished_ms, dest_request_id, orphan_on_failure"

/* Every statement the store runs more than once; the SQL is in store.c's table. */
enum store__stmt_id {
	STMT_BEGIN,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT_FN_PUT,
	STMT_FN_GET,
	STMT_FN_LIST,
	STMT_FN_DELETE,
	STMT_CODE_IN_USE,
	STMT_EV_ADD,
	STMT_EV_DUE,
	STMT_EV_MARK_RUNNING,
	STMT_EV_NEXT_DUE,
	STMT_EV_FINISH,
	STMT_EV_RETRY,
	STMT_EV_RECOVER,
	STMT_EV_LIST_FN,
	STMT_EV_LIST_ALL,
	STMT_EV_PRUNE,
	STMT_ACFG_PUT,
	STMT_ACFG_GET,
	STMT_ACFG_DELETE,
	STMT_SCHED_PUT,
	STMT_SCHED_GET,
	STMT_SCHED_LIST,
	STMT_SCHED_DELETE,
	STMT_SCHED_ENABLE,
	STMT_SCHED_FIRED,
	STMT_EV_LIST_FN_STATE,
	STMT__COUNT
};

struct store {
	sqlite3 *db;
	/* Prepared on first use, finalized by store_close(). */
	sqlite3_stmt *stmt[STMT__COUNT];
};

/*
 * Returns the cached statement `id`, preparing it on first use, in *out. The
 * caller resets it when done, normally by holding it in a _cleanup_stmt_
 * variable, so that no statement keeps a read snapshot open between calls.
 */
int store__stmt(struct store *st, enum store__stmt_id id, sqlite3_stmt **out, struct err *err);

static inline void
store__stmt_resetp(sqlite3_stmt **s)
{
	if (*s) {
		sqlite3_reset(*s);
		sqlite3_clear_bindings(*s);
	}
}

#define _cleanup_stmt_ __attribute__((cleanup(store__stmt_resetp)))

/*
 * Fills err from SQLite result code rc and the connection's message:
 * "<context>: <sqlite message>". Constraint violations map to EEXIST (NOT NULL and
 * CHECK to EINVAL), busy and locked to EAGAIN, a full disk to ENOSPC, the rest to EIO.
 * Returns the negative code.
 */
int store__fail(struct store *st, int rc, struct err *err, const char *fmt, ...) FORMAT(4, 5);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK through the cache. store__rollback() ignores
 * errors: it runs on paths that already report one. */
int store__begin(struct store *st, struct err *err);
int store__commit(struct store *st, struct err *err);
void store__rollback(struct store *st);

/* Binds a text parameter, NULL as SQL NULL. */
int store__bind_text(sqlite3_stmt *s, int idx, const char *text);
/* Copies a text column; SQL NULL gives NULL. */
char *store__column_text(sqlite3_stmt *s, int col);

/* Brings the schema to the newest version (schema.c). */
int store__migrate(struct store *st, struct err *err);

/* fn.c: one row of FN_COLS (or VER_COLS) into *fn; the caller releases it. */
void store__read_fn(sqlite3_stmt *s, struct fn_config *fn);

#endif
