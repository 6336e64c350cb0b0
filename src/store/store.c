/*
 * The store's connection: opening the database with the settings every other
 * file relies on (WAL, synchronous=NORMAL, busy timeout, foreign keys), the
 * prepared-statement cache and the mapping of SQLite errors to errno codes.
 *
 * One connection, used only from the loop thread, so the connection is opened
 * with SQLITE_OPEN_NOMUTEX and nothing here locks.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/err.h"
#include "store/store-internal.h"
#include "lib/banned.h"

/* Long enough to ride out another process's checkpoint or a CLI that reads the
 * file directly; short enough that a stuck lock shows up as an error. */
#define STORE_BUSY_TIMEOUT_MS 5000

#define FN_COLS                                                                                    \
	"name, runtime, handler, description, env_json, code_sha256, code_size, memory_mb, "       \
	"timeout_s, keepalive_s, revision, created_ms, updated_ms, tmp_mb, network"
#define ACFG_COLS "function, max_retry, max_age_s, on_success, on_failure, updated_ms"
#define SCHED_COLS                                                                                 \
	"name, expression, function, payload, enabled, created_ms, updated_ms, last_fired_ms, "    \
	"last_error"
#define EV_COLS STORE__EV_COLS

/* Column order of FN_COLS and EV_COLS is what fn.c and event.c read back. */
static const char *const stmt_sql[STMT__COUNT] = {
	[STMT_BEGIN] = "BEGIN IMMEDIATE",
	[STMT_COMMIT] = "COMMIT",
	[STMT_ROLLBACK] = "ROLLBACK",
	[STMT_FN_PUT] = "INSERT INTO functions (" FN_COLS ") "
			"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 1, ?11, ?11, ?12, ?13) "
			"ON CONFLICT (name) DO UPDATE SET runtime = excluded.runtime, "
			"handler = excluded.handler, description = excluded.description, "
			"env_json = excluded.env_json, code_sha256 = excluded.code_sha256, "
			"code_size = excluded.code_size, memory_mb = excluded.memory_mb, "
			"timeout_s = excluded.timeout_s, keepalive_s = excluded.keepalive_s, "
			"revision = revision + 1, updated_ms = excluded.updated_ms, "
			"tmp_mb = excluded.tmp_mb, network = excluded.network "
			"RETURNING revision, created_ms, updated_ms",
	[STMT_FN_GET] = "SELECT " FN_COLS " FROM functions WHERE name = ?1",
	[STMT_FN_LIST] = "SELECT " FN_COLS " FROM functions ORDER BY name",
	[STMT_FN_DELETE] = "DELETE FROM functions WHERE name = ?1",
	/* Every table that references code is here, or its code would be
	 * collected under it. */
	[STMT_CODE_IN_USE] = "SELECT EXISTS (SELECT 1 FROM functions WHERE code_sha256 = ?1) OR "
			     "EXISTS (SELECT 1 FROM versions WHERE code_sha256 = ?1)",
	[STMT_EV_ADD] = "INSERT INTO events (request_id, function, payload, state, attempts, "
			"created_ms, next_ms) VALUES (?1, ?2, ?3, 0, 0, ?4, ?4)",
	[STMT_EV_DUE] = "SELECT " EV_COLS " FROM events WHERE state = 0 AND next_ms <= ?1 "
			"ORDER BY next_ms, id LIMIT ?2",
	[STMT_EV_MARK_RUNNING] = "UPDATE events SET state = 1 WHERE id = ?1",
	[STMT_EV_NEXT_DUE] = "SELECT MIN(next_ms) FROM events WHERE state = 0",
	[STMT_EV_FINISH] = "UPDATE events SET state = ?2, last_error = ?3, finished_ms = ?4, "
			   "dest_request_id = ?5 WHERE id = ?1",
	[STMT_EV_RETRY] = "UPDATE events SET state = 0, attempts = ?2, next_ms = ?3, "
			  "last_error = ?4 WHERE id = ?1",
	[STMT_EV_RECOVER] = "UPDATE events SET state = 0 WHERE state = 1",
	/* A function's events include those sent to "name:qualifier" (names hold
	 * no ':', so the range holds exactly those). Two index walks, each in id
	 * order and cut at the limit, merged: the bare name's (the common case)
	 * costs what it did before qualified events were listed too. */
	[STMT_EV_LIST_FN] = "SELECT " EV_COLS " FROM (SELECT " EV_COLS " FROM events "
			    "WHERE function = ?1 ORDER BY id DESC LIMIT ?2) UNION ALL "
			    "SELECT " EV_COLS " FROM (SELECT " EV_COLS " FROM events "
			    "WHERE function >= ?1 || ':' AND function < ?1 || ';' "
			    "ORDER BY id DESC LIMIT ?2) ORDER BY id DESC LIMIT ?2",
	[STMT_EV_LIST_ALL] = "SELECT " EV_COLS " FROM events ORDER BY id DESC LIMIT ?1",
	/* In batches, oldest first, so one pass never holds the write lock long. */
	/* Only a finished event has a dest_request_id (a redrive clears it). The
	 * term matches the partial index events_prunable word for word. */
	[STMT_EV_PRUNE] = "DELETE FROM events WHERE id IN (SELECT id FROM events "
			  "WHERE (state = 2 OR dest_request_id IS NOT NULL) AND finished_ms < ?1 "
			  "ORDER BY finished_ms LIMIT ?2)",
	[STMT_ACFG_PUT] = "INSERT OR REPLACE INTO async_config (" ACFG_COLS ") "
			  "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[STMT_ACFG_GET] = "SELECT " ACFG_COLS " FROM async_config WHERE function = ?1",
	[STMT_ACFG_DELETE] = "DELETE FROM async_config WHERE function = ?1",
	[STMT_SCHED_PUT] = "INSERT INTO schedules (" SCHED_COLS ") "
			   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, 0, NULL) "
			   "ON CONFLICT (name) DO UPDATE SET expression = excluded.expression, "
			   "function = excluded.function, payload = excluded.payload, "
			   "enabled = excluded.enabled, updated_ms = excluded.updated_ms, "
			   "last_error = NULL "
			   "RETURNING created_ms, updated_ms, last_fired_ms",
	[STMT_SCHED_GET] = "SELECT " SCHED_COLS " FROM schedules WHERE name = ?1",
	[STMT_SCHED_LIST] = "SELECT " SCHED_COLS " FROM schedules ORDER BY name",
	[STMT_SCHED_DELETE] = "DELETE FROM schedules WHERE name = ?1",
	[STMT_SCHED_ENABLE] = "UPDATE schedules SET enabled = ?2, updated_ms = ?3 WHERE name = ?1",
	[STMT_SCHED_FIRED] = "UPDATE schedules SET last_fired_ms = ?2, last_error = ?3 "
			     "WHERE name = ?1",
	[STMT_EV_LIST_FN_STATE] = "SELECT " EV_COLS " FROM (SELECT " EV_COLS " FROM events "
				  "WHERE function = ?1 AND state = ?3 ORDER BY id DESC LIMIT ?2) "
				  "UNION ALL SELECT " EV_COLS " FROM (SELECT " EV_COLS " FROM events "
				  "WHERE function >= ?1 || ':' AND function < ?1 || ';' "
				  "AND state = ?3 ORDER BY id DESC LIMIT ?2) ORDER BY id DESC LIMIT ?2",
};

_Static_assert(EVENT_PENDING == 0 && EVENT_RUNNING == 1 && EVENT_SUCCEEDED == 2 &&
		       EVENT_FAILED == 3,
	       "the SQL in stmt_sql spells event states as numbers");

int
store__fail(struct store *st, int rc, struct err *err, const char *fmt, ...)
{
	char ctx[160];
	const char *why;
	va_list ap;
	int code;

	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT:
		if (rc == SQLITE_CONSTRAINT_NOTNULL || rc == SQLITE_CONSTRAINT_CHECK)
			code = EINVAL;
		else
			code = EEXIST;
		break;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		code = EAGAIN;
		break;
	case SQLITE_FULL:
		code = ENOSPC;
		break;
	default:
		code = EIO;
		break;
	}
	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	/* The connection's message is the more precise one ("UNIQUE constraint failed:
	 * events.request_id"), but only while it still describes rc. */
	if (st && st->db && sqlite3_extended_errcode(st->db) == rc)
		why = sqlite3_errmsg(st->db);
	else
		why = sqlite3_errstr(rc);
	return err_setmsg(err, code, "%s: %s", ctx, why);
}

int
store__stmt(struct store *st, enum store__stmt_id id, sqlite3_stmt **out, struct err *err)
{
	int rc;

	assert(id < STMT__COUNT && stmt_sql[id]);
	if (!st->stmt[id]) {
		rc = sqlite3_prepare_v3(st->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
					&st->stmt[id], NULL);
		if (rc != SQLITE_OK)
			return store__fail(st, rc, err, "cannot prepare statement %d", (int)id);
	}
	*out = st->stmt[id];
	return 0;
}

static int
exec_stmt(struct store *st, enum store__stmt_id id, struct err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r, rc;

	r = store__stmt(st, id, &s, err);
	if (r < 0)
		return r;
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		return store__fail(st, rc, err, "cannot run '%s'", stmt_sql[id]);
	return 0;
}

int
store__begin(struct store *st, struct err *err)
{
	return exec_stmt(st, STMT_BEGIN, err);
}

int
store__commit(struct store *st, struct err *err)
{
	int r = exec_stmt(st, STMT_COMMIT, err);

	/* A failed COMMIT can leave the transaction open (SQLITE_BUSY); end it so the
	 * next call does not find itself inside a stale transaction. */
	if (r < 0 && !sqlite3_get_autocommit(st->db))
		store__rollback(st);
	return r;
}

void
store__rollback(struct store *st)
{
	struct err ignored = ERR_INIT;

	if (!sqlite3_get_autocommit(st->db))
		exec_stmt(st, STMT_ROLLBACK, &ignored);
}

int
store__bind_text(sqlite3_stmt *s, int idx, const char *text)
{
	if (!text)
		return sqlite3_bind_null(s, idx);
	return sqlite3_bind_text(s, idx, text, -1, SQLITE_TRANSIENT);
}

char *
store__column_text(sqlite3_stmt *s, int col)
{
	const unsigned char *t;

	if (sqlite3_column_type(s, col) == SQLITE_NULL)
		return NULL;
	t = sqlite3_column_text(s, col);
	/* NULL here with a non-NULL column means SQLite ran out of memory. */
	if (!t)
		return xstrdup("");
	return xstrndup((const char *)t, (size_t)sqlite3_column_bytes(s, col));
}

static int
pragma_text(struct store *st, const char *sql, char *out, size_t outsz, struct err *err)
{
	sqlite3_stmt *s = NULL;
	const unsigned char *t;
	int rc;

	rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK)
		return store__fail(st, rc, err, "cannot run '%s'", sql);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		store__fail(st, rc, err, "cannot run '%s'", sql);
		sqlite3_finalize(s);
		return -err->code;
	}
	t = sqlite3_column_text(s, 0);
	snprintf(out, outsz, "%s", t ? (const char *)t : "");
	sqlite3_finalize(s);
	return 0;
}

static int
configure(struct store *st, const char *path, struct err *err)
{
	char mode[16];
	int r, rc;

	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS);
	r = pragma_text(st, "PRAGMA journal_mode = WAL", mode, sizeof(mode), err);
	if (r < 0)
		return r;
	/* WAL is what makes synchronous=NORMAL safe against a process crash, and what
	 * lets the CLI read while the daemon writes; refuse to run without it. */
	if (strcmp(mode, "wal") != 0)
		return err_setmsg(err, EIO, "cannot enable WAL mode on '%s': journal mode is '%s'",
				  path, mode);
	rc = sqlite3_exec(st->db, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;", NULL,
			  NULL, NULL);
	if (rc != SQLITE_OK)
		return store__fail(st, rc, err, "cannot configure database '%s'", path);
	return 0;
}

int
store_open(struct store **out, const char *path, struct err *err)
{
	_cleanup_close_ int fd = -1;
	struct store *st;
	int r, rc;

	*out = NULL;
	/* Function environments may hold secrets: create the file 0600 ourselves, since
	 * SQLite would use 0644, and it gives the -wal and -shm files the mode of the
	 * database file. (SQLite opens its own descriptors with O_CLOEXEC.) */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return err_set(err, errno, "cannot open database '%s'", path);
	st = xcalloc(1, sizeof(*st));
	rc = sqlite3_open_v2(path, &st->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			     NULL);
	if (rc != SQLITE_OK) {
		store__fail(st, rc, err, "cannot open database '%s'", path);
		store_close(st);
		return -err->code;
	}
	r = configure(st, path, err);
	if (r >= 0)
		r = store__migrate(st, err);
	if (r < 0) {
		store_close(st);
		return err_wrap(err, "cannot open database '%s'", path);
	}
	*out = st;
	return 0;
}

void
store_close(struct store *st)
{
	size_t i;

	if (!st)
		return;
	for (i = 0; i < STMT__COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	/* With every statement finalized this cannot fail with SQLITE_BUSY; closing the
	 * last connection also checkpoints and removes the -wal file. */
	sqlite3_close(st->db);
	free(st);
}
