/* Unit tests for src/store/asyncconf.c, src/store/schedule.c and the event
 * queue's finish-with-destination (event.c). */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

	scratch_make(f->dir, sizeof(f->dir), "store-trig");
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
put_fn(struct store *st, const char *name)
{
	struct fn_config fn = { 0 };
	struct err err = ERR_INIT;

	fn.name = (char *)name;
	fn.runtime = (char *)"provided";
	fn.code_sha256 = (char *)"0000000000000000000000000000000000000000000000000000000000000000";
	fn.memory_mb = 128;
	fn.timeout_s = 3;
	assert_int_equal(store_fn_put(st, &fn, NULL, &err), 0);
}

static void
async_config_defaults_put_delete(void **state)
{
	struct fixture *f = *state;
	struct async_config c, got;
	struct err err = ERR_INIT;

	put_fn(f->st, "f");
	assert_int_equal(store_async_config_get(f->st, "f", &got, &err), -ENOENT);
	assert_int_equal(got.max_retry, ASYNC_DEFAULT_MAX_RETRY);
	assert_int_equal(got.max_age_s, ASYNC_DEFAULT_MAX_AGE_S);
	assert_null(got.on_failure);
	async_config_release(&got);

	memset(&c, 0, sizeof(c));
	c.function = (char *)"f";
	c.max_retry = 0;
	c.max_age_s = 60;
	c.on_failure = (char *)"dlq";
	assert_int_equal(store_async_config_put(f->st, &c, &err), 0);
	assert_int_equal(store_async_config_get(f->st, "f", &got, &err), 0);
	assert_int_equal(got.max_retry, 0);
	assert_int_equal(got.max_age_s, 60);
	assert_string_equal(got.on_failure, "dlq");
	assert_null(got.on_success);
	assert_true(got.updated_ms > 0);
	async_config_release(&got);

	/* Out of range never reaches the table. */
	c.max_retry = 3;
	assert_int_equal(store_async_config_put(f->st, &c, &err), -EINVAL);
	c.max_retry = 1;
	c.max_age_s = 21601;
	assert_int_equal(store_async_config_put(f->st, &c, &err), -EINVAL);

	/* The settings go with their function. */
	assert_int_equal(store_fn_delete(f->st, "f", &err), 0);
	assert_int_equal(store_async_config_get(f->st, "f", &got, &err), -ENOENT);
	async_config_release(&got);
	assert_int_equal(store_async_config_delete(f->st, "f", &err), -ENOENT);
}

static int
count_one(const struct store_event *ev, void *data)
{
	(void)ev;
	(*(int *)data)++;
	return 0;
}

static int
grab_one(const struct store_event *ev, void *data)
{
	struct store_event *out = data;

	out->state = ev->state;
	out->last_error = ev->last_error ? strdup(ev->last_error) : NULL;
	buf_add(&out->payload, ev->payload.ptr, ev->payload.len);
	return 0;
}

static void
finish_to_queues_the_record_atomically(void **state)
{
	struct fixture *f = *state;
	struct store_event ev[2], got;
	struct err err = ERR_INIT;
	int n = 0;

	assert_int_equal(store_event_add(f->st, "r1", "f", "{}", 2, 1000, &err), 0);
	assert_int_equal(store_event_claim(f->st, 1000, ev, 2, &err), 1);
	assert_int_equal(store_event_finish_to(f->st, ev[0].id, EVENT_FAILED, "boom", "r2", "dlq",
					       "{\"rec\":1}", 9, 2000, &err), 0);
	store_event_release(&ev[0]);
	memset(&got, 0, sizeof(got));
	buf_init(&got.payload);
	assert_int_equal(store_event_list(f->st, "dlq", grab_one, &got, 10, &err), 0);
	assert_int_equal(got.state, EVENT_PENDING);
	assert_string_equal(got.payload.ptr, "{\"rec\":1}");
	store_event_release(&got);
	assert_int_equal(store_event_list_state(f->st, "f", EVENT_FAILED, count_one, &n, 10, &err),
			 0);
	assert_int_equal(n, 1);

	/* A duplicate destination id rolls the whole step back: the event stays RUNNING
	 * (and is recovered at the next start), not finished without its record. */
	assert_int_equal(store_event_add(f->st, "r3", "f", "{}", 2, 3000, &err), 0);
	/* The record for dlq (due at 2000) comes first, then r3. */
	assert_int_equal(store_event_claim(f->st, 3000, ev, 2, &err), 2);
	assert_string_equal(ev[1].request_id, "r3");
	assert_int_equal(store_event_finish_to(f->st, ev[1].id, EVENT_SUCCEEDED, NULL, "r2", "dlq",
					       "{}", 2, 3000, &err), -EEXIST);
	n = 0;
	assert_int_equal(store_event_list_state(f->st, "f", EVENT_RUNNING, count_one, &n, 10, &err),
			 0);
	assert_int_equal(n, 1);
	store_event_release(&ev[0]);
	store_event_release(&ev[1]);
	/* No destination: a plain finish. */
	assert_int_equal(store_event_finish_to(f->st, 999, EVENT_FAILED, NULL, NULL, NULL, NULL, 0,
					       0, &err), -ENOENT);
	assert_int_equal(store_event_list_state(f->st, NULL, 0, count_one, &n, 10, &err), -EINVAL);
}

static int
names_in_order(const struct schedule *sc, void *data)
{
	buf_adds(data, sc->name);
	buf_addch(data, sc->enabled ? '+' : '-');
	return 0;
}

static void
schedules_round_trip(void **state)
{
	struct fixture *f = *state;
	struct schedule sc, got;
	struct err err = ERR_INIT;
	struct buf names = BUF_INIT;
	int created = -1;

	memset(&sc, 0, sizeof(sc));
	sc.name = (char *)"b";
	sc.expression = (char *)"rate(5 minutes)";
	sc.function = (char *)"f";
	sc.payload = (char *)"{\"warmer\":true}";
	sc.enabled = 1;
	assert_int_equal(store_schedule_put(f->st, &sc, &created, &err), 0);
	assert_int_equal(created, 1);
	assert_true(sc.created_ms > 0 && sc.updated_ms == sc.created_ms);
	assert_int_equal(store_schedule_fired(f->st, "b", 12345, "function 'f' does not exist",
					      &err), 0);
	assert_int_equal(store_schedule_get(f->st, "b", &got, &err), 0);
	assert_string_equal(got.expression, "rate(5 minutes)");
	assert_string_equal(got.payload, "{\"warmer\":true}");
	assert_int_equal(got.last_fired_ms, 12345);
	assert_string_equal(got.last_error, "function 'f' does not exist");
	schedule_release(&got);

	/* Replace: not created, keeps last_fired_ms, clears the error. */
	sc.expression = (char *)"cron(0 12 * * ? *)";
	sc.payload = NULL;
	assert_int_equal(store_schedule_put(f->st, &sc, &created, &err), 0);
	assert_int_equal(created, 0);
	assert_int_equal(store_schedule_get(f->st, "b", &got, &err), 0);
	assert_string_equal(got.expression, "cron(0 12 * * ? *)");
	assert_null(got.payload);
	assert_null(got.last_error);
	assert_int_equal(got.last_fired_ms, 12345);
	schedule_release(&got);

	sc.name = (char *)"a";
	assert_int_equal(store_schedule_put(f->st, &sc, NULL, &err), 0);
	assert_int_equal(store_schedule_enable(f->st, "b", 0, &err), 0);
	assert_int_equal(store_schedule_list(f->st, names_in_order, &names, &err), 0);
	assert_string_equal(names.ptr, "a+b-");
	buf_release(&names);

	assert_int_equal(store_schedule_delete(f->st, "a", &err), 0);
	assert_int_equal(store_schedule_delete(f->st, "a", &err), -ENOENT);
	assert_non_null(strstr(err.msg, "does not exist"));
	assert_int_equal(store_schedule_enable(f->st, "a", 1, &err), -ENOENT);
	assert_int_equal(store_schedule_fired(f->st, "a", 1, NULL, &err), -ENOENT);
	assert_int_equal(store_schedule_get(f->st, "a", &got, &err), -ENOENT);
	sc.function = NULL;
	assert_int_equal(store_schedule_put(f->st, &sc, NULL, &err), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(async_config_defaults_put_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(finish_to_queues_the_record_atomically, setup,
						teardown),
		cmocka_unit_test_setup_teardown(schedules_round_trip, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
