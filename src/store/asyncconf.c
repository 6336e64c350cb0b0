/*
 * A function's asynchronous invocation settings: how many times a failed event
 * is retried, how old an event may grow before it is given up, and where the
 * outcome is sent. The retry loop itself is src/invoke/async.c's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/err.h"
#include "store/store-internal.h"
#include "lib/banned.h"

void
async_config_release(struct async_config *c)
{
	free(c->function);
	free(c->on_success);
	free(c->on_failure);
	memset(c, 0, sizeof(*c));
}

static void
defaults(struct async_config *c, const char *function)
{
	memset(c, 0, sizeof(*c));
	c->function = xstrdup(function);
	c->max_retry = ASYNC_DEFAULT_MAX_RETRY;
	c->max_age_s = ASYNC_DEFAULT_MAX_AGE_S;
}

int
store_async_config_put(struct store *st, struct async_config *c, struct err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r, rc;

	if (!c->function)
		return err_setmsg(err, EINVAL, "cannot store async settings: no function");
	if (c->max_retry > 2 || c->max_age_s < 60 || c->max_age_s > 21600)
		return err_setmsg(err, EINVAL, "cannot store async settings for '%s': retries must "
				  "be 0-2 and the event age 60-21600 s", c->function);
	r = store__stmt(st, STMT_ACFG_PUT, &s, err);
	if (r < 0)
		return err_wrap(err, "cannot store async settings for '%s'", c->function);
	c->updated_ms = clock_wall_ms();
	store__bind_text(s, 1, c->function);
	sqlite3_bind_int64(s, 2, c->max_retry);
	sqlite3_bind_int64(s, 3, c->max_age_s);
	store__bind_text(s, 4, c->on_success);
	store__bind_text(s, 5, c->on_failure);
	sqlite3_bind_int64(s, 6, (sqlite3_int64)c->updated_ms);
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		return store__fail(st, rc, err, "cannot store async settings for '%s'",
				   c->function);
	return 0;
}

int
store_async_config_get(struct store *st, const char *function, struct async_config *out,
		       struct err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r, rc;

	defaults(out, function);
	r = store__stmt(st, STMT_ACFG_GET, &s, err);
	if (r < 0)
		return err_wrap(err, "cannot read async settings for '%s'", function);
	store__bind_text(s, 1, function);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return err_setmsg(err, ENOENT, "no async settings stored for '%s'", function);
	if (rc != SQLITE_ROW)
		return store__fail(st, rc, err, "cannot read async settings for '%s'", function);
	out->max_retry = (uint32_t)sqlite3_column_int64(s, 1);
	out->max_age_s = (uint32_t)sqlite3_column_int64(s, 2);
	out->on_success = store__column_text(s, 3);
	out->on_failure = store__column_text(s, 4);
	out->updated_ms = (uint64_t)sqlite3_column_int64(s, 5);
	return 0;
}

int
store_async_config_delete(struct store *st, const char *function, struct err *err)
{
	_cleanup_stmt_ sqlite3_stmt *s = NULL;
	int r, rc;

	r = store__stmt(st, STMT_ACFG_DELETE, &s, err);
	if (r < 0)
		return err_wrap(err, "cannot delete async settings for '%s'", function);
	store__bind_text(s, 1, function);
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		return store__fail(st, rc, err, "cannot delete async settings for '%s'", function);
	if (sqlite3_changes(st->db) == 0)
		return err_setmsg(err, ENOENT, "no async settings stored for '%s'", function);
	return 0;
}
