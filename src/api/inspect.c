/* Read-only views: function logs, asynchronous events, instances. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api-internal.h"
#include "lib/banned.h"

#define LOG_READ_MAX (256u << 10)

void
api__logs(struct api_call *c)
{
	char *name = api__name(c), *cur, *end, msg[128];
	uint64_t cursor = 0;
	struct buf text = BUF_INIT;
	struct err err = ERR_INIT;
	json_t *lines;
	size_t i, start = 0;
	int r;

	if (!name)
		return;
	cur = http_query_get(c->req, "cursor");
	if (cur) {
		cursor = strtoull(cur, &end, 10);
		if (!*cur || *end) {
			api__error(c->req, EINVAL, "'cursor' must be a non-negative integer");
			goto out;
		}
	}
	if (!invoke_fn_get(c->api->invoke, name)) {
		snprintf(msg, sizeof(msg), "function '%s' does not exist", name);
		api__error(c->req, ENOENT, msg);
		goto out;
	}
	r = invoke_logs_read(c->api->invoke, name, &cursor, LOG_READ_MAX, &text, &err);
	if (r < 0 && r != -ENOENT) {
		api__error(c->req, r, err.msg);
		goto out;
	}
	lines = json_array();
	for (i = 0; i < text.len; i++) {
		if (text.ptr[i] == '\n') {
			json_array_append_new(lines, json_stringn_nocheck(text.ptr + start, i - start));
			start = i + 1;
		}
	}
	api__reply_json(c->req, 200, json_pack("{s:o, s:I}", "lines", lines, "cursor",
					       (json_int_t)cursor));
out:
	buf_release(&text);
	free(cur);
	free(name);
}

static const char *const event_states[] = { "pending", "running", "succeeded", "failed" };

/* A pending event that has run before is waiting for a retry: say so. */
static const char *
event_state(const struct store_event *ev)
{
	if (ev->state == EVENT_PENDING && ev->attempts > 0)
		return "retrying";
	return event_states[ev->state & 3];
}

static int
event_one(const struct store_event *ev, void *data)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:i, s:I, s:I, s:s?}", "requestId", ev->request_id,
			      "function", ev->function, "state", event_state(ev), "attempts",
			      (int)ev->attempts, "createdMs", (json_int_t)ev->created_ms, "nextMs",
			      (json_int_t)ev->next_ms, "lastError", ev->last_error);

	/* Only finished events have these; a pending one shows neither. */
	if (ev->finished_ms)
		json_object_set_new(j, "finishedMs", json_integer((json_int_t)ev->finished_ms));
	if (ev->dest_request_id)
		json_object_set_new(j, "destinationRequestId", json_string(ev->dest_request_id));
	json_array_append_new(data, j);
	return 0;
}

#define EVENTS_DEFAULT 100
#define EVENTS_MAX 10000

/* GET /v1/functions/{name}/events[?state=pending|running|succeeded|failed][&limit=N] */
void
api__events(struct api_call *c)
{
	char *name = api__name(c), *state = NULL, *limit = NULL, *end;
	struct err err = ERR_INIT;
	long long max = EVENTS_DEFAULT;
	int want = -1, r;
	json_t *arr;
	size_t i;

	if (!name)
		return;
	state = http_query_get(c->req, "state");
	limit = http_query_get(c->req, "limit");
	if (limit) {
		max = strtoll(limit, &end, 10);
		if (!*limit || *end || max < 1 || max > EVENTS_MAX) {
			api__error(c->req, EINVAL, "'limit' must be an integer from 1 to 10000");
			goto out;
		}
	}
	if (state) {
		for (i = 0; i < ARRAY_SIZE(event_states); i++)
			if (strcmp(state, event_states[i]) == 0)
				want = (int)i;
		if (want < 0) {
			api__error(c->req, EINVAL, "'state' must be pending, running, succeeded or "
				   "failed");
			goto out;
		}
	}
	arr = json_array();
	if (want >= 0)
		r = store_event_list_state(c->api->store, name, want, event_one, arr, (int)max, &err);
	else
		r = store_event_list(c->api->store, name, event_one, arr, (int)max, &err);
	if (r < 0) {
		json_decref(arr);
		api__error(c->req, err.code, err.msg);
	} else {
		api__reply_json(c->req, 200, json_pack("{s:o}", "events", arr));
	}
out:
	free(state);
	free(limit);
	free(name);
}

static void
instance_one(const struct pool_instance_info *in, void *data)
{
	json_array_append_new(data, json_pack("{s:I, s:s, s:I, s:s, s:i, s:I, s:I, s:I, s:b}", "id",
					      (json_int_t)in->id, "function", in->function,
					      "revision", (json_int_t)in->revision, "state",
					      in->state, "pid", in->pid, "ageMs",
					      (json_int_t)in->age_ms, "calls",
					      (json_int_t)in->calls, "memoryBytes",
					      (json_int_t)in->mem_bytes, "provisioned",
					      in->provisioned));
}

void
api__stats(struct api_call *c)
{
	char *name = api__name(c), msg[128];
	struct invoke_stats st;

	if (!name)
		return;
	if (invoke_fn_stats(c->api->invoke, name, &st) < 0) {
		snprintf(msg, sizeof(msg), "function '%s' does not exist", name);
		api__error(c->req, ENOENT, msg);
	} else {
		api__reply_json(c->req, 200, json_pack(
			"{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:{s:I, s:f, s:f, s:f}}", "function", name,
			"invocations", (json_int_t)st.invocations, "coldStarts",
			(json_int_t)st.cold_starts, "warmStarts", (json_int_t)st.warm_starts,
			"errors", (json_int_t)st.errors, "timeouts", (json_int_t)st.timeouts,
			"throttles", (json_int_t)st.throttles, "durationMs", "samples",
			(json_int_t)st.samples, "p50", st.p50_ms, "p90", st.p90_ms, "p99",
			st.p99_ms));
	}
	free(name);
}

void
api__instances(struct api_call *c)
{
	struct pool *p = invoke_pool(c->api->invoke);
	json_t *arr = json_array();
	struct pool_freeze_stats fz;

	pool_foreach(p, instance_one, arr);
	pool_freeze_stats(p, &fz);
	api__reply_json(c->req, 200, json_pack(
		"{s:o, s:{s:I, s:I, s:f, s:f}}", "instances", arr, "freezer", "freezes",
		(json_int_t)fz.freezes, "thaws", (json_int_t)fz.thaws, "thawMeanUs",
		fz.thaws ? (double)fz.thaw_ns_total / (double)fz.thaws / 1e3 : 0.0, "thawMaxUs",
		(double)fz.thaw_ns_max / 1e3));
}

/* The {id} parameter: a request id as hearth makes them (a UUID) or as a caller
 * chose one; printable, no '/', at most 64 bytes. Replies 400 and returns NULL
 * when bad. */
static char *
event_id(struct api_call *c)
{
	struct str raw = http_param(&c->params, "id");
	char *id = NULL;
	size_t i, n;

	if (http_pct_decode(raw, &id) < 0)
		goto bad;
	n = strlen(id);
	if (n == 0 || n > 64)
		goto bad;
	for (i = 0; i < n; i++)
		if (id[i] <= ' ' || id[i] > '~')
			goto bad;
	return id;
bad:
	free(id);
	api__error(c->req, EINVAL, "invalid event id: use the request id 'hearth events' shows");
	return NULL;
}

/*
 * POST /v1/functions/{name}/events/retry: every failed event of the function
 * that reached no destination; POST /v1/functions/{name}/events/{id}/retry: that
 * one. Either answers {"retried": N}.
 */
static void
retry(struct api_call *c, bool one)
{
	char *name = api__name(c), *id = NULL;
	struct err err = ERR_INIT;
	int n;

	if (!name)
		return;
	if (one) {
		id = event_id(c);
		if (!id)
			goto out;
	}
	n = invoke_async_retry(c->api->invoke, name, id, &err);
	if (n < 0)
		api__error(c->req, err.code, err.msg);
	else
		api__reply_json(c->req, 200, json_pack("{s:i}", "retried", n));
out:
	free(id);
	free(name);
}

void
api__events_retry_all(struct api_call *c)
{
	retry(c, false);
}

void
api__events_retry(struct api_call *c)
{
	retry(c, true);
}

/* DELETE /v1/functions/{name}/events/{id}: one finished event. Works after the
 * function is gone, so its leftovers can be cleared. {"deleted": 1} */
void
api__event_delete(struct api_call *c)
{
	char *name = api__name(c), *id = NULL;
	struct err err = ERR_INIT;
	int n;

	if (!name)
		return;
	id = event_id(c);
	if (id) {
		n = store_event_delete(c->api->store, name, id, &err);
		if (n < 0)
			api__error(c->req, err.code, err.msg);
		else
			api__reply_json(c->req, 200, json_pack("{s:i}", "deleted", n));
	}
	free(id);
	free(name);
}

/* DELETE /v1/functions/{name}/events?state=failed: every failed event. The state
 * is required, so a bare DELETE cannot be taken for "delete everything". */
void
api__events_delete(struct api_call *c)
{
	char *name = api__name(c), *state = NULL;
	struct err err = ERR_INIT;
	int n;

	if (!name)
		return;
	state = http_query_get(c->req, "state");
	if (!state || strcmp(state, "failed") != 0) {
		api__error(c->req, EINVAL, "only failed events can be deleted together: add "
			   "?state=failed (or delete one event by its request id)");
		goto out;
	}
	n = store_event_delete(c->api->store, name, NULL, &err);
	if (n < 0)
		api__error(c->req, err.code, err.msg);
	else
		api__reply_json(c->req, 200, json_pack("{s:i}", "deleted", n));
out:
	free(state);
	free(name);
}
