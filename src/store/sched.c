/*
 * Scheduling settings per function: provisioned concurrency and the
 * keep-alive policy (table fn_sched). The daemon reads them all at start-up
 * and is told of each change; nothing reads them on the invocation path.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "store/store-internal.h"
#include "lib/banned.h"

int
store_fn_sched_set(struct store *st, const char *function, const struct fn_sched *s,
		   struct err *err)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if (s->provisioned > 1000)
		return err_setmsg(err, EINVAL, "provisioned concurrency must be 0 to 1000");
	if (strcmp(s->keepalive_policy, "") && strcmp(s->keepalive_policy, "fixed") &&
	    strcmp(s->keepalive_policy, "adaptive"))
		return err_setmsg(err, EINVAL, "keep-alive policy must be fixed or adaptive, not "
				  "'%s'", s->keepalive_policy);
	/* INSERT ... SELECT from functions: an unknown function inserts nothing. */
	rc = sqlite3_prepare_v2(st->db,
				"INSERT OR REPLACE INTO fn_sched (function, provisioned, "
				"keepalive_policy) SELECT name, ?2, ?3 FROM functions WHERE name = ?1",
				-1, &q, NULL);
	if (rc != SQLITE_OK)
		return store__fail(st, rc, err, "cannot prepare the scheduling update");
	store__bind_text(q, 1, function);
	sqlite3_bind_int64(q, 2, s->provisioned);
	store__bind_text(q, 3, s->keepalive_policy);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return store__fail(st, rc, err, "cannot set the scheduling of '%s'", function);
	if (sqlite3_changes(st->db) == 0)
		return err_setmsg(err, ENOENT, "function '%s' does not exist", function);
	return 0;
}

int
store_fn_sched_list(struct store *st,
		    int (*cb)(const char *function, const struct fn_sched *s, void *data),
		    void *data, struct err *err)
{
	sqlite3_stmt *q = NULL;
	struct row {
		char *fn, *policy;
		uint32_t provisioned;
	} *v = NULL;
	size_t n = 0, cap = 0, i;
	int r = 0, rc;

	rc = sqlite3_prepare_v2(st->db, "SELECT function, provisioned, keepalive_policy "
				"FROM fn_sched ORDER BY function", -1, &q, NULL);
	if (rc != SQLITE_OK)
		return store__fail(st, rc, err, "cannot prepare the scheduling list");
	for (;;) {
		rc = sqlite3_step(q);
		if (rc != SQLITE_ROW)
			break;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[n].fn = store__column_text(q, 0);
		v[n].provisioned = (uint32_t)sqlite3_column_int64(q, 1);
		v[n++].policy = store__column_text(q, 2);
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		r = store__fail(st, rc, err, "cannot list scheduling settings");
	/* Rows are copied first: cb may write to the store. */
	for (i = 0; i < n && r == 0; i++) {
		struct fn_sched s = { v[i].provisioned, v[i].policy ? v[i].policy : "" };

		r = cb(v[i].fn, &s, data);
	}
	for (i = 0; i < n; i++) {
		free(v[i].fn);
		free(v[i].policy);
	}
	free(v);
	return r;
}
