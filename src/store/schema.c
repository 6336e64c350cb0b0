/*
 * The database schema, as an ordered list of migrations.
 *
 * The schema version is SQLite's user_version pragma: 0 for a new file, N after
 * migrations[0..N) ran. Each step is applied once, in order, inside one
 * IMMEDIATE transaction together with the version bump, so a crash or a second
 * daemon starting at the same time never sees half a migration. To change the
 * schema, append a step; never edit one that has shipped.
 */
#include <errno.h>
#include <stdio.h>

#include "lib/err.h"
#include "store/store-internal.h"
#include "lib/banned.h"

static const char *const migrations[] = {
	/* 1: functions and the asynchronous event queue. */
	"CREATE TABLE functions ("
	"  name TEXT PRIMARY KEY NOT NULL,"
	"  runtime TEXT NOT NULL,"
	"  handler TEXT,"
	"  description TEXT,"
	"  env_json TEXT NOT NULL DEFAULT '{}',"
	"  code_sha256 TEXT NOT NULL,"
	"  code_size INTEGER NOT NULL,"
	"  memory_mb INTEGER NOT NULL,"
	"  timeout_s INTEGER NOT NULL,"
	"  keepalive_s INTEGER NOT NULL DEFAULT 0,"
	"  revision INTEGER NOT NULL,"
	"  created_ms INTEGER NOT NULL,"
	"  updated_ms INTEGER NOT NULL"
	");"
	/* store_code_in_use() runs on every garbage collection pass. */
	"CREATE INDEX functions_code ON functions (code_sha256);"
	"CREATE TABLE events ("
	"  id INTEGER PRIMARY KEY,"
	"  request_id TEXT NOT NULL UNIQUE,"
	"  function TEXT NOT NULL,"
	"  payload BLOB NOT NULL,"
	"  state INTEGER NOT NULL DEFAULT 0 CHECK (state BETWEEN 0 AND 3),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  created_ms INTEGER NOT NULL,"
	"  next_ms INTEGER NOT NULL,"
	"  last_error TEXT"
	");"
	/* Claiming looks only at pending events, which stay few while finished ones
	 * pile up until pruned: a partial index keeps the claim query small. */
	"CREATE INDEX events_pending ON events (next_ms, id) WHERE state = 0;"
	"CREATE INDEX events_function ON events (function, id);",
	/* 2: sandbox settings per function (issue 3): /tmp size, network mode. */
	"ALTER TABLE functions ADD COLUMN tmp_mb INTEGER NOT NULL DEFAULT 512;"
	"ALTER TABLE functions ADD COLUMN network TEXT NOT NULL DEFAULT 'none';",
	/* 3: published versions (immutable snapshots of $LATEST), aliases naming
	 * them, and reserved concurrency. Deleting a function deletes all three in
	 * the same statement, so no version outlives its function. */
	"CREATE TABLE versions ("
	"  function TEXT NOT NULL,"
	"  version INTEGER NOT NULL CHECK (version > 0),"
	"  runtime TEXT NOT NULL,"
	"  handler TEXT,"
	"  description TEXT,"
	"  env_json TEXT NOT NULL DEFAULT '{}',"
	"  code_sha256 TEXT NOT NULL,"
	"  code_size INTEGER NOT NULL,"
	"  memory_mb INTEGER NOT NULL,"
	"  timeout_s INTEGER NOT NULL,"
	"  keepalive_s INTEGER NOT NULL DEFAULT 0,"
	"  tmp_mb INTEGER NOT NULL DEFAULT 512,"
	"  network TEXT NOT NULL DEFAULT 'none',"
	"  revision INTEGER NOT NULL,"	/* the $LATEST revision it was published from */
	"  created_ms INTEGER NOT NULL,"
	"  PRIMARY KEY (function, version)"
	");"
	"CREATE INDEX versions_code ON versions (code_sha256);"
	"CREATE TABLE aliases ("
	"  function TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  version INTEGER NOT NULL CHECK (version >= 0),"	/* 0 = $LATEST */
	"  description TEXT,"
	"  revision INTEGER NOT NULL,"
	"  created_ms INTEGER NOT NULL,"
	"  updated_ms INTEGER NOT NULL,"
	"  PRIMARY KEY (function, name)"
	");"
	"CREATE TABLE concurrency ("
	"  function TEXT PRIMARY KEY NOT NULL,"
	"  reserved INTEGER NOT NULL CHECK (reserved >= 0)"
	");"
	"CREATE TRIGGER functions_cascade AFTER DELETE ON functions BEGIN"
	"  DELETE FROM versions WHERE function = old.name;"
	"  DELETE FROM aliases WHERE function = old.name;"
	"  DELETE FROM concurrency WHERE function = old.name;"
	" END;",
	/* 4: per-function asynchronous settings (retries, event age, destinations) and
	 * schedules. A function's settings go with it; its schedules stay (EventBridge
	 * keeps a rule whose target is gone) and report the failure when they fire. */
	"CREATE TABLE async_config ("
	"  function TEXT PRIMARY KEY NOT NULL,"
	"  max_retry INTEGER NOT NULL CHECK (max_retry BETWEEN 0 AND 2),"
	"  max_age_s INTEGER NOT NULL CHECK (max_age_s BETWEEN 60 AND 21600),"
	"  on_success TEXT,"
	"  on_failure TEXT,"
	"  updated_ms INTEGER NOT NULL"
	");"
	"CREATE TRIGGER functions_drop_async_config AFTER DELETE ON functions BEGIN"
	"  DELETE FROM async_config WHERE function = OLD.name;"
	"END;"
	"CREATE TABLE schedules ("
	"  name TEXT PRIMARY KEY NOT NULL,"
	"  expression TEXT NOT NULL,"
	"  function TEXT NOT NULL,"
	"  payload TEXT,"
	"  enabled INTEGER NOT NULL DEFAULT 1,"
	"  created_ms INTEGER NOT NULL,"
	"  updated_ms INTEGER NOT NULL,"
	"  last_fired_ms INTEGER NOT NULL DEFAULT 0,"
	"  last_error TEXT"
	");",
	/* 5: scheduling settings per function (issue 4): provisioned concurrency
	 * (instances of $LATEST kept initialised) and the keep-alive policy
	 * ('' = the daemon's --keepalive-policy). They go with the function. */
	"CREATE TABLE fn_sched ("
	"  function TEXT PRIMARY KEY NOT NULL,"
	"  provisioned INTEGER NOT NULL DEFAULT 0 CHECK (provisioned BETWEEN 0 AND 1000),"
	"  keepalive_policy TEXT NOT NULL DEFAULT '' "
	"    CHECK (keepalive_policy IN ('', 'fixed', 'adaptive'))"
	");"
	"CREATE TRIGGER functions_drop_fn_sched AFTER DELETE ON functions BEGIN"
	"  DELETE FROM fn_sched WHERE function = OLD.name;"
	"END;",
	/* 6: HTTP gateway routes. A route outlives its function (as API Gateway keeps an
	 * integration whose function is gone) and answers 502 until it is fixed. */
	"CREATE TABLE routes ("
	"  id TEXT PRIMARY KEY NOT NULL,"
	"  route_key TEXT NOT NULL UNIQUE,"
	"  function TEXT NOT NULL,"
	"  qualifier TEXT,"
	"  token_sha256 TEXT,"
	"  cors_json TEXT,"
	"  created_ms INTEGER NOT NULL,"
	"  updated_ms INTEGER NOT NULL"
	");",
	/* 7: pruning finished events. finished_ms is when an event ended (the
	 * retention counts from there, not from its creation, or a six-hour retry
	 * cycle would end already past it); dest_request_id names the destination
	 * record it was handed to, so a failed event that reached a destination may
	 * go while one that reached nowhere stays until a user retries or deletes it.
	 * Rows finished before this step count as finished at their creation, and
	 * their destinations are unknown, so their failures are kept.
	 * orphan_on_failure: when a function is deleted, its unfinished events
	 * remember its on-failure destination (async_config goes with the function),
	 * so an event that can no longer run still reaches it. BEFORE DELETE: the
	 * settings are dropped by an AFTER DELETE trigger. A qualified event
	 * ("name:alias") belongs to its function too; names hold no GLOB characters. */
	"ALTER TABLE events ADD COLUMN finished_ms INTEGER;"
	"ALTER TABLE events ADD COLUMN dest_request_id TEXT;"
	"ALTER TABLE events ADD COLUMN orphan_on_failure TEXT;"
	"UPDATE events SET finished_ms = created_ms WHERE state IN (2, 3);"
	/* Exactly the prunable rows, so a pass never walks past the failures that
	 * are kept (store_event_prune() repeats this WHERE term for the planner). */
	"CREATE INDEX events_prunable ON events (finished_ms) "
	"  WHERE state = 2 OR dest_request_id IS NOT NULL;"
	"CREATE TRIGGER functions_orphan_events BEFORE DELETE ON functions BEGIN"
	"  UPDATE events SET orphan_on_failure ="
	"    (SELECT on_failure FROM async_config WHERE function = OLD.name)"
	"  WHERE state IN (0, 1) AND (function = OLD.name OR function GLOB OLD.name || ':*');"
	" END;",
};

static int
user_version(struct store *st, int *out, struct err *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	rc = sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			*out = sqlite3_column_int(s, 0);
			rc = SQLITE_OK;
		}
	}
	if (rc != SQLITE_OK)
		store__fail(st, rc, err, "cannot read the schema version");
	sqlite3_finalize(s);
	return rc == SQLITE_OK ? 0 : -err->code;
}

static int
exec_sql(struct store *st, const char *sql, const char *what, struct err *err)
{
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return store__fail(st, rc, err, "%s", what);
	return 0;
}

int
store__migrate(struct store *st, struct err *err)
{
	const int latest = (int)ARRAY_SIZE(migrations);
	char sql[64];
	int version, r, i;

	r = user_version(st, &version, err);
	if (r < 0)
		return r;
	if (version == latest)
		return 0;
	r = exec_sql(st, "BEGIN IMMEDIATE", "cannot start the schema migration", err);
	if (r < 0)
		return r;
	/* Read again under the write lock: another process may have migrated since. */
	r = user_version(st, &version, err);
	if (r < 0)
		goto fail;
	if (version > latest) {
		r = err_setmsg(err, EPROTO,
			       "database schema version %d is newer than this hearth knows (%d)",
			       version, latest);
		goto fail;
	}
	for (i = version; i < latest; i++) {
		char what[64];

		snprintf(what, sizeof(what), "cannot migrate the schema to version %d", i + 1);
		r = exec_sql(st, migrations[i], what, err);
		if (r < 0)
			goto fail;
	}
	/* PRAGMA takes no bound parameters; the number is ours. */
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", latest);
	r = exec_sql(st, sql, "cannot record the schema version", err);
	if (r < 0)
		goto fail;
	r = exec_sql(st, "COMMIT", "cannot commit the schema migration", err);
	if (r < 0)
		goto fail;
	return 0;
fail:
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}
