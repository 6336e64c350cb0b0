/* Unit tests for src/store/event.c: the durable queue of asynchronous invocations. */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "scratch.h"

#include "store/store.h"

struct fixture {
	char dir[64];
	char *path;
	struct store *st;
};

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct err err = ERR_INIT;

	scratch_make(f->dir, sizeof(f->dir), "store-ev");
	f->path = xasprintf("%s/hearth.db", f->dir);
	assert_int_equal(store_open(&f->st, f->path, &err), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	store_close(f->st);
	scratch_remove(f->dir);
	free(f->path);
	free(f);
	return 0;
}

static void
add(struct store *st, const char *rid, const char *fn, const char *payload, uint64_t now_ms)
{
	struct err err = ERR_INIT;

	assert_int_equal(store_event_add(st, rid, fn, payload, strlen(payload), now_ms, &err), 0);
}

static void
release_all(struct store_event *evs, int n)
{
	int i;

	for (i = 0; i < n; i++)
		store_event_release(&evs[i]);
}

static void
claim_marks_running(void **state)
{
	struct fixture *f = *state;
	struct err err = ERR_INIT;
	struct store_event ev[4];
	uint64_t next;

	assert_int_equal(store_event_next_due(f->st, &next, &err), -ENOENT);
	add(f->st, "r1", "fn", "{\"n\":1}", 1000);
	add(f->st, "r2", "fn", "{\"n\":2}", 1001);
	add(f->st, "r3", "other:live", "{\"n\":3}", 1002);
	assert_int_equal(store_event_next_due(f->st, &next, &err), 0);
	assert_int_equal(next, 1000);

	/* Nothing is due before its time. */
	assert_int_equal(store_event_claim(f->st, 999, ev, 4, &err), 0);

	assert_int_equal(store_event_claim(f->st, 5000, ev, 2, &err), 2);
	assert_string_equal(ev[0].request_id, "r1");
	assert_string_equal(ev[0].function, "fn");
	assert_int_equal(ev[0].payload.len, 7);
	assert_string_equal(ev[0].payload.ptr, "{\"n\":1}");
	assert_int_equal(ev[0].state, EVENT_RUNNING);
	assert_int_equal(ev[0].attempts, 0);
	assert_int_equal(ev[0].created_ms, 1000);
	assert_int_equal(ev[0].next_ms, 1000);
	assert_null(ev[0].last_error);
	assert_string_equal(ev[1].request_id, "r2");
	assert_true(ev[1].id > ev[0].id);
	release_all(ev, 2);

	assert_int_equal(store_event_claim(f->st, 5000, ev, 4, &err), 1);
	assert_string_equal(ev[0].request_id, "r3");
	assert_string_equal(ev[0].function, "other:live");
	release_all(ev, 1);

	/* Claimed events are RUNNING: a second claim gets nothing. */
	assert_int_equal(store_event_claim(f->st, 5000, ev, 4, &err), 0);
	assert_int_equal(store_event_next_due(f->st, &next, &err), -ENOENT);
	assert_int_equal(store_event_claim(f->st, 5000, ev, 0, &err), 0);
}

static void
retry_and_finish(void **state)
{
	struct fixture *f = *state;
	struct err err = ERR_INIT;
	struct store_event ev[2];
	int64_t id;
	uint64_t next;

	add(f->st, "r1", "fn", "x", 1000);
	assert_int_equal(store_event_claim(f->st, 1000, ev, 2, &err), 1);
	id = ev[0].id;
	release_all(ev, 1);

	assert_int_equal(store_event_retry(f->st, id, 1, 6000, "Task timed out", &err), 0);
	assert_int_equal(store_event_next_due(f->st, &next, &err), 0);
	assert_int_equal(next, 6000);
	assert_int_equal(store_event_claim(f->st, 5999, ev, 2, &err), 0);
	assert_int_equal(store_event_claim(f->st, 6000, ev, 2, &err), 1);
	assert_int_equal(ev[0].id, id);
	assert_int_equal(ev[0].attempts, 1);
	assert_int_equal(ev[0].next_ms, 6000);
	assert_string_equal(ev[0].last_error, "Task timed out");
	release_all(ev, 1);

	assert_int_equal(store_event_finish(f->st, id, EVENT_SUCCEEDED, NULL, 7000, &err), 0);
	assert_int_equal(store_event_claim(f->st, 99999, ev, 2, &err), 0);

	assert_int_equal(store_event_finish(f->st, id, EVENT_PENDING, NULL, 7000, &err), -EINVAL);
	assert_int_equal(store_event_finish(f->st, 12345, EVENT_FAILED, "x", 7000, &err), -ENOENT);
	assert_string_equal(err.msg, "event 12345 not found");
	assert_int_equal(store_event_retry(f->st, 12345, 1, 1, NULL, &err), -ENOENT);
}

static void
payloads_and_duplicates(void **state)
{
	struct fixture *f = *state;
	struct err err = ERR_INIT;
	struct store_event ev[2];
	const char bin[] = { 'a', '\0', 'b', '\xff' };

	assert_int_equal(store_event_add(f->st, "bin", "fn", bin, sizeof(bin), 10, &err), 0);
	assert_int_equal(store_event_add(f->st, "empty", "fn", NULL, 0, 11, &err), 0);
	assert_int_equal(store_event_add(f->st, "bin", "fn", "y", 1, 12, &err), -EEXIST);
	assert_non_null(
		strstr(err.msg, "cannot queue event 'bin' for 'fn': UNIQUE constraint failed"));
	assert_int_equal(store_event_claim(f->st, 100, ev, 2, &err), 2);
	assert_int_equal(ev[0].payload.len, sizeof(bin));
	assert_memory_equal(ev[0].payload.ptr, bin, sizeof(bin));
	assert_int_equal(ev[1].payload.len, 0);
	assert_string_equal(ev[1].payload.ptr, "");
	release_all(ev, 2);
}

struct listed {
	char rids[8][16];
	int states[8];
	int n;
};

static int
collect(const struct store_event *ev, void *data)
{
	struct listed *l = data;

	snprintf(l->rids[l->n], sizeof(l->rids[0]), "%s", ev->request_id);
	l->states[l->n++] = ev->state;
	return 0;
}

static int
stop_at_first(const struct store_event *ev, void *data)
{
	(void)ev;
	(void)data;
	return 7;
}

static void
list_and_prune(void **state)
{
	struct fixture *f = *state;
	struct err err = ERR_INIT;
	struct store_event ev[1];
	struct listed l = { 0 };

	add(f->st, "a1", "a", "1", 100);
	add(f->st, "b1", "b", "1", 101);
	add(f->st, "a2", "a", "2", 102);
	add(f->st, "a3", "a", "3", 103);
	assert_int_equal(store_event_claim(f->st, 100, ev, 1, &err), 1);
	assert_int_equal(store_event_finish(f->st, ev[0].id, EVENT_FAILED, "boom", 150, &err), 0);
	release_all(ev, 1);

	/* Newest first, up to max. */
	assert_int_equal(store_event_list(f->st, "a", collect, &l, 2, &err), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.rids[0], "a3");
	assert_string_equal(l.rids[1], "a2");
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_event_list(f->st, "a", collect, &l, 100, &err), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.rids[2], "a1");
	assert_int_equal(l.states[2], EVENT_FAILED);
	assert_int_equal(l.states[0], EVENT_PENDING);
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_event_list(f->st, NULL, collect, &l, 100, &err), 0);
	assert_int_equal(l.n, 4);
	/* Qualified events belong to their function; a longer name does not. */
	add(f->st, "a4", "a:live", "4", 104);
	add(f->st, "ax", "ab", "5", 105);
	add(f->st, "a5", "a", "6", 106);
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_event_list(f->st, "a", collect, &l, 3, &err), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.rids[0], "a5");
	assert_string_equal(l.rids[1], "a4");
	assert_string_equal(l.rids[2], "a3");
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_event_list_state(f->st, "a", EVENT_PENDING, collect, &l, 10, &err),
			 0);
	assert_int_equal(l.n, 4);	/* a5, a4, a3, a2 */
	assert_string_equal(l.rids[1], "a4");
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_event_list(f->st, "ab", collect, &l, 10, &err), 0);
	assert_int_equal(l.n, 1);
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_event_list(f->st, "nobody", collect, &l, 100, &err), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(store_event_list(f->st, "a", stop_at_first, NULL, 100, &err), 7);

	/* A failure that reached no destination is never pruned, however old. */
	assert_int_equal(store_event_prune(f->st, 100000, 100, &err), 0);
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_event_list(f->st, NULL, collect, &l, 100, &err), 0);
	assert_int_equal(l.n, 7);
}

/* Claims the one due event of rid and returns its id. */
static int64_t
claim_one(struct store *st, const char *rid, uint64_t now_ms)
{
	struct err err = ERR_INIT;
	struct store_event ev[1];
	int64_t id;

	assert_int_equal(store_event_claim(st, now_ms, ev, 1, &err), 1);
	assert_string_equal(ev[0].request_id, rid);
	id = ev[0].id;
	release_all(ev, 1);
	return id;
}

static void
prune_by_finish_time_and_destination(void **state)
{
	struct fixture *f = *state;
	struct err err = ERR_INIT;
	struct store_event got;
	struct listed l = { 0 };

	/* ok: succeeded at 5000 (created long before); sent: failed at 6000 with its
	 * record queued for dlq; kept: failed at 1000 with nowhere to go; live: pending. */
	add(f->st, "ok", "fn", "1", 10);
	add(f->st, "sent", "fn", "2", 20);
	add(f->st, "kept", "fn", "3", 30);
	add(f->st, "live", "fn", "4", 99999);
	assert_int_equal(store_event_finish(f->st, claim_one(f->st, "ok", 100), EVENT_SUCCEEDED,
					    NULL, 5000, &err), 0);
	assert_int_equal(store_event_finish_to(f->st, claim_one(f->st, "sent", 100), EVENT_FAILED,
					       "boom", "rec", "dlq", "{}", 2, 6000, &err), 0);
	assert_int_equal(store_event_finish(f->st, claim_one(f->st, "kept", 100), EVENT_FAILED,
					    "boom", 1000, &err), 0);

	assert_int_equal(store_event_get(f->st, "sent", &got, &err), 0);
	assert_int_equal(got.finished_ms, 6000);
	assert_string_equal(got.dest_request_id, "rec");
	store_event_release(&got);
	assert_int_equal(store_event_get(f->st, "kept", &got, &err), 0);
	assert_null(got.dest_request_id);
	store_event_release(&got);
	assert_int_equal(store_event_get(f->st, "nope", &got, &err), -ENOENT);

	/* The retention counts from the finish: created at 10, finished at 5000. */
	assert_int_equal(store_event_prune(f->st, 5000, 100, &err), 0);
	assert_int_equal(store_event_prune(f->st, 5001, 100, &err), 1);
	assert_int_equal(store_event_get(f->st, "ok", &got, &err), -ENOENT);
	/* Batches: max bounds one call. */
	assert_int_equal(store_event_prune(f->st, 1000000, 0, &err), 0);
	assert_int_equal(store_event_prune(f->st, 1000000, 1, &err), 1);
	assert_int_equal(store_event_prune(f->st, 1000000, 100, &err), 0);
	/* Left: the undelivered failure, the pending event and the record for dlq. */
	assert_int_equal(store_event_list(f->st, NULL, collect, &l, 100, &err), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.rids[0], "rec");
	assert_string_equal(l.rids[1], "live");
	assert_string_equal(l.rids[2], "kept");
}

static void
redrive_and_delete(void **state)
{
	struct fixture *f = *state;
	struct err err = ERR_INIT;
	struct store_event got, ev[4];

	add(f->st, "f1", "fn", "1", 10);
	add(f->st, "f2", "fn:live", "2", 11);
	add(f->st, "sent", "fn", "3", 12);
	add(f->st, "other", "fn2", "4", 13);
	add(f->st, "wait", "fn", "5", 99999);
	assert_int_equal(store_event_claim(f->st, 100, ev, 4, &err), 4);
	assert_int_equal(store_event_retry(f->st, ev[0].id, 3, 50, "x", &err), 0);
	store_event_release(&ev[0]);
	assert_int_equal(store_event_claim(f->st, 100, &ev[0], 1, &err), 1);
	assert_int_equal(ev[0].attempts, 3);
	assert_int_equal(store_event_finish(f->st, ev[0].id, EVENT_FAILED, "e1", 200, &err), 0);
	assert_int_equal(store_event_finish(f->st, ev[1].id, EVENT_FAILED, "e2", 200, &err), 0);
	assert_int_equal(store_event_finish_to(f->st, ev[2].id, EVENT_FAILED, "e3", "rec", "dlq",
					       "{}", 2, 200, &err), 0);
	assert_int_equal(store_event_finish(f->st, ev[3].id, EVENT_FAILED, "e4", 200, &err), 0);
	release_all(ev, 4);

	/* Errors name the event and why. */
	assert_int_equal(store_event_redrive(f->st, "fn", "other", 500, &err), -ENOENT);
	assert_string_equal(err.msg, "function 'fn' has no event 'other'");
	assert_int_equal(store_event_redrive(f->st, "fn", "wait", 500, &err), -EEXIST);
	assert_string_equal(err.msg, "cannot retry event 'wait': it is pending");
	assert_int_equal(store_event_delete(f->st, "fn", "wait", &err), -EEXIST);
	assert_int_equal(store_event_delete(f->st, "fn", "nope", &err), -ENOENT);
	assert_int_equal(store_event_redrive(f->st, NULL, NULL, 500, &err), -EINVAL);

	/* All: the failures of fn under any qualifier that reached no destination. */
	assert_int_equal(store_event_redrive(f->st, "fn", NULL, 500, &err), 2);
	assert_int_equal(store_event_get(f->st, "f1", &got, &err), 0);
	assert_int_equal(got.state, EVENT_PENDING);
	assert_int_equal(got.attempts, 0);
	assert_int_equal(got.created_ms, 500);
	assert_int_equal(got.next_ms, 500);
	assert_int_equal(got.finished_ms, 0);
	assert_string_equal(got.last_error, "e1");	/* still says what happened before */
	store_event_release(&got);
	assert_int_equal(store_event_get(f->st, "sent", &got, &err), 0);
	assert_int_equal(got.state, EVENT_FAILED);
	store_event_release(&got);
	/* One by id, even one that reached a destination. */
	assert_int_equal(store_event_redrive(f->st, "fn", "sent", 600, &err), 1);
	assert_int_equal(store_event_get(f->st, "sent", &got, &err), 0);
	assert_int_equal(got.state, EVENT_PENDING);
	assert_null(got.dest_request_id);
	store_event_release(&got);

	/* Delete: every failure of fn2; one finished event by id. */
	assert_int_equal(store_event_delete(f->st, "fn", NULL, &err), 0);
	assert_int_equal(store_event_delete(f->st, "fn2", NULL, &err), 1);
	assert_int_equal(store_event_get(f->st, "other", &got, &err), -ENOENT);
	/* Due: dlq's record (200), f1 and f2 (500), sent (600). */
	assert_int_equal(store_event_claim(f->st, 700, ev, 4, &err), 4);
	assert_string_equal(ev[1].request_id, "f1");
	assert_string_equal(ev[2].request_id, "f2");
	assert_int_equal(store_event_finish(f->st, ev[1].id, EVENT_SUCCEEDED, NULL, 800, &err), 0);
	assert_int_equal(store_event_delete(f->st, "fn", "f1", &err), 1);
	assert_int_equal(store_event_delete(f->st, "fn", "f2", &err), -EEXIST);
	assert_string_equal(err.msg, "cannot delete event 'f2': it is running");
	assert_int_equal(store_event_delete(f->st, "fn", "rec", &err), -ENOENT);
	release_all(ev, 4);
}

/* Deleting a function notes its on-failure destination on its unfinished
 * events (all qualifiers), not on finished ones or other functions' events. */
static void
orphans_keep_the_destination(void **state)
{
	struct fixture *f = *state;
	struct err err = ERR_INIT;
	struct async_config ac = { 0 };
	struct fn_config fn;
	struct store_event got, ev[1];
	int created;

	memset(&fn, 0, sizeof(fn));
	fn.name = "fn";
	fn.runtime = "provided";
	fn.env_json = "{}";
	fn.code_sha256 = "0000000000000000000000000000000000000000000000000000000000000000";
	fn.memory_mb = 128;
	fn.timeout_s = 3;
	fn.tmp_mb = 512;
	fn.network = "none";
	assert_int_equal(store_fn_put(f->st, &fn, &created, &err), 0);
	ac.function = "fn";
	ac.max_retry = 2;
	ac.max_age_s = 3600;
	ac.on_failure = "dlq";
	assert_int_equal(store_async_config_put(f->st, &ac, &err), 0);
	add(f->st, "done", "fn", "1", 10);
	assert_int_equal(store_event_finish(f->st, claim_one(f->st, "done", 10), EVENT_FAILED,
					    "x", 20, &err), 0);
	add(f->st, "run", "fn:live", "2", 30);
	assert_int_equal(store_event_claim(f->st, 30, ev, 1, &err), 1);
	release_all(ev, 1);
	add(f->st, "wait", "fn", "3", 40);
	add(f->st, "near", "fnx", "4", 40);

	assert_int_equal(store_fn_delete(f->st, "fn", &err), 0);
	assert_int_equal(store_event_get(f->st, "run", &got, &err), 0);
	assert_string_equal(got.orphan_on_failure, "dlq");
	store_event_release(&got);
	assert_int_equal(store_event_get(f->st, "wait", &got, &err), 0);
	assert_string_equal(got.orphan_on_failure, "dlq");
	store_event_release(&got);
	assert_int_equal(store_event_get(f->st, "done", &got, &err), 0);
	assert_null(got.orphan_on_failure);
	store_event_release(&got);
	assert_int_equal(store_event_get(f->st, "near", &got, &err), 0);
	assert_null(got.orphan_on_failure);
	store_event_release(&got);
}

/*
 * A child process queues two events, claims one, and is killed with SIGKILL
 * without closing the store: both events must still be there, the claimed one
 * RUNNING until store_event_recover() makes it PENDING again.
 */
static void
recover_after_crash(void **state)
{
	struct fixture *f = *state;
	struct err err = ERR_INIT;
	struct store_event ev[4];
	struct listed l = { 0 };
	uint64_t next;
	pid_t pid;
	int status;

	store_close(f->st);
	f->st = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *st;
		struct store_event cev[1];

		if (store_open(&st, f->path, &err) < 0)
			_exit(1);
		if (store_event_add(st, "c1", "fn", "one", 3, 500, &err) < 0 ||
		    store_event_add(st, "c2", "fn", "two", 3, 600, &err) < 0)
			_exit(2);
		if (store_event_claim(st, 550, cev, 1, &err) != 1)
			_exit(3);
		kill(getpid(), SIGKILL);
		_exit(4);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);

	assert_int_equal(store_open(&f->st, f->path, &err), 0);
	assert_int_equal(store_event_list(f->st, "fn", collect, &l, 10, &err), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.rids[1], "c1");
	assert_int_equal(l.states[1], EVENT_RUNNING);
	assert_int_equal(l.states[0], EVENT_PENDING);

	assert_int_equal(store_event_recover(f->st, &err), 1);
	assert_int_equal(store_event_recover(f->st, &err), 0);
	assert_int_equal(store_event_next_due(f->st, &next, &err), 0);
	assert_int_equal(next, 500);
	assert_int_equal(store_event_claim(f->st, 1000, ev, 4, &err), 2);
	assert_string_equal(ev[0].request_id, "c1");
	assert_string_equal(ev[0].payload.ptr, "one");
	assert_string_equal(ev[1].request_id, "c2");
	release_all(ev, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(claim_marks_running, setup, teardown),
		cmocka_unit_test_setup_teardown(retry_and_finish, setup, teardown),
		cmocka_unit_test_setup_teardown(payloads_and_duplicates, setup, teardown),
		cmocka_unit_test_setup_teardown(list_and_prune, setup, teardown),
		cmocka_unit_test_setup_teardown(prune_by_finish_time_and_destination, setup,
						teardown),
		cmocka_unit_test_setup_teardown(redrive_and_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(orphans_keep_the_destination, setup, teardown),
		cmocka_unit_test_setup_teardown(recover_after_crash, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
