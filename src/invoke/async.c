/*
 * Asynchronous invocation: the durable queue of events.
 *
 * invoke_async() commits the event to the store before the caller answers
 * 202, so a crash of the daemon after that loses nothing; at start-up events
 * left RUNNING by a crash go back to PENDING (delivery is at least once). A
 * timer claims due events, runs each through invoke_sync(), and records the
 * outcome: success, a retry with doubling backoff, or failure once the
 * attempts are spent. Failed events stay in the store and are listed by
 * `hearth events`; nothing is dropped silently.
 *
 * Per function (store_async_config_get()): 0-2 retries, a maximum event age,
 * and on-success / on-failure destinations. A destination is another
 * function; the outcome goes to it as Lambda's destination record, queued as
 * a new event in the same transaction that finishes this one.
 *
 * A throttle (status 429 from the pool: reserved concurrency or the memory
 * budget, after the bounded wait) does not use up an attempt: it is retried with backoff until the event's
 * maximum age.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "invoke/invoke-internal.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/id.h"
#include "lib/log.h"
#include "lib/banned.h"

/* Events run at once; the rest wait in the store. */
#define ASYNC_CONCURRENCY 16
/* How often to look at the store when nothing is known to be due. */
#define ASYNC_IDLE_POLL_MS 30000
/* A throttled event waits and tries again; after this age it fails. */
#define THROTTLE_RETRY_MS 1000
#define THROTTLE_MAX_AGE_MS (6ull * 3600 * 1000)

struct async_run {
	struct invoke_service *svc;
	int64_t id;
	uint32_t attempts;
	uint64_t created_ms;
	char request_id[37];
	char *function;
	struct buf payload;	/* for the destination record's requestPayload */
	char *orphan;		/* see config_get(); NULL while the function exists */
};

/* What ended an event, for its destination record. */
enum outcome {
	OUT_SUCCESS,
	OUT_RETRIES_EXHAUSTED,
	OUT_AGE_EXCEEDED,
};

static const char *const conditions[] = {
	[OUT_SUCCESS] = "Success",
	[OUT_RETRIES_EXHAUSTED] = "RetriesExhausted",
	[OUT_AGE_EXCEEDED] = "EventAgeExceeded",
};

static void async_tick(uv_timer_t *t);

/*
 * The settings an event of `function` ("name" or "name:qualifier") runs under:
 * its function's, whatever the qualifier (Lambda keeps one event invoke config
 * per function here). When the function is gone, its settings went with it:
 * then the on-failure destination it had when it was deleted (orphan, kept on
 * the event by the store) still receives the event's failure, so an event of a
 * deleted function never ends silently.
 */
static void
config_get(struct invoke_service *svc, const char *function, const char *orphan,
	   struct async_config *cfg)
{
	const char *colon = strchr(function, ':');
	char *bare = colon ? xstrndup(function, (size_t)(colon - function)) : NULL;
	const char *name = bare ? bare : function;
	struct err err = ERR_INIT;

	if (store_async_config_get(svc->store, name, cfg, &err) < 0 && err.code != ENOENT)
		log_warn("async: %s (using the defaults)", err.msg);
	if (orphan && !cfg->on_failure && !invoke__fn(svc, name))
		cfg->on_failure = xstrdup(orphan);
	free(bare);
}

static void
schedule(struct invoke_service *svc, uint64_t delay_ms)
{
	if (svc->draining && svc->async_running == 0 && delay_ms)
		return;
	uv_timer_start(&svc->async_timer, async_tick, delay_ms, 0);
}

void
invoke__async_kick(struct invoke_service *svc)
{
	if (!svc->draining)
		schedule(svc, 0);
}

static void
record(int r, struct err *err)
{
	if (r < 0)
		log_error("async: %s", err->msg);
}

/* JSON text as a value; anything else (a function may answer with plain
 * text) as a string, so the record is always valid JSON. */
static json_t *
payload_json(const char *p, size_t len)
{
	json_t *j = len ? json_loadb(p, len, JSON_DECODE_ANY, NULL) : NULL;

	if (j)
		return j;
	if (!len)
		return json_null();
	j = json_stringn(p, len);
	return j ? j : json_string("(not UTF-8)");
}

/*
 * Lambda's destination record. res is NULL when the event never got an
 * answer to report (its age ran out before it could run again).
 */
static char *
destination_record(struct async_run *run, enum outcome out, uint32_t invokes,
		   const struct invoke_result *res)
{
	struct invoke_service *svc = run->svc;
	char ts[32], *arn, *text;
	json_t *rec, *rc;

	clock_iso8601(clock_wall_ms(), ts);
	/* A qualified event ("name:live") names its qualifier; a bare one ran $LATEST. */
	arn = xasprintf("arn:aws:lambda:%s:000000000000:function:%s%s", svc->cfg.region,
			run->function, strchr(run->function, ':') ? "" : ":$LATEST");
	rec = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:i}, s:o}", "version", "1.0",
			"timestamp", ts, "requestContext", "requestId", run->request_id,
			"functionArn", arn, "condition", conditions[out],
			"approximateInvokeCount", (int)invokes, "requestPayload",
			payload_json(run->payload.ptr, run->payload.len));
	if (res) {
		rc = json_pack("{s:i, s:s}", "statusCode", res->status, "executedVersion",
			       res->executed_version ? res->executed_version : "$LATEST");
		if (res->function_error)
			json_object_set_new(rc, "functionError", json_string(res->function_error));
		json_object_set_new(rec, "responseContext", rc);
		json_object_set_new(rec, "responsePayload",
				    payload_json(res->body.ptr, res->body.len));
	}
	text = json_dumps(rec, JSON_COMPACT);
	json_decref(rec);
	free(arn);
	return text;
}

/*
 * Ends the event for good and, when the function names a destination for
 * this outcome, queues the record for it in the same transaction. A
 * destination that does not exist keeps the event in the store with the
 * reason, rather than dropping the record.
 */
static void
conclude(struct async_run *run, const struct async_config *cfg, enum outcome out,
	 uint32_t invokes, const struct invoke_result *res, const char *why)
{
	struct invoke_service *svc = run->svc;
	const char *dest = out == OUT_SUCCESS ? cfg->on_success : cfg->on_failure;
	int state = out == OUT_SUCCESS ? EVENT_SUCCEEDED : EVENT_FAILED;
	struct err err = ERR_INIT;
	char rid[37], *text, *note = NULL;

	if (out != OUT_SUCCESS)
		log_warn("async event %s for '%s' failed (%s) after %u attempts", run->request_id,
			 run->function, conditions[out], invokes);
	if (dest && !invoke__fn(svc, dest)) {
		note = xasprintf("%s%s%s destination '%s' does not exist: record not sent",
				 why ? why : "", why ? "; " : "",
				 out == OUT_SUCCESS ? "on-success" : "on-failure", dest);
		log_warn("async event %s: %s", run->request_id, note);
		record(store_event_finish(svc->store, run->id, state, note, clock_wall_ms(), &err),
		       &err);
		free(note);
		return;
	}
	if (!dest) {
		record(store_event_finish(svc->store, run->id, state, why, clock_wall_ms(), &err),
		       &err);
		return;
	}
	id_uuid(rid);
	text = destination_record(run, out, invokes, res);
	record(store_event_finish_to(svc->store, run->id, state, why, rid, dest, text,
				     strlen(text), clock_wall_ms(), &err), &err);
	free(text);
}

/*
 * A throttle is not the function's failure: the attempt does not count, and
 * the event waits longer the older it is (1 s up to 5 min, as Lambda does),
 * until its maximum age.
 */
static void
throttled(struct async_run *run, const struct async_config *cfg, const char *why)
{
	struct invoke_service *svc = run->svc;
	uint64_t now = clock_wall_ms(), age = now - MIN(now, run->created_ms);
	uint64_t floor = MIN(1000, svc->cfg.retry_base_ms), delay = MIN(MAX(floor, age), 300000);
	struct err err = ERR_INIT;

	if (now + delay > run->created_ms + (uint64_t)cfg->max_age_s * 1000) {
		conclude(run, cfg, OUT_AGE_EXCEEDED, run->attempts, NULL, why);
		return;
	}
	record(store_event_retry(svc->store, run->id, run->attempts, now + delay, why, &err), &err);
}

/* Lambda's error JSON, {"errorMessage": ..., "errorType": ...}; malloc'd. */
static char *
error_json(const char *type, const char *message)
{
	json_t *j = json_pack("{s:s, s:s}", "errorMessage", message, "errorType", type);
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	return text ? text : xasprintf("{\"errorType\":\"%s\"}", type);
}

/*
 * A function deleted while its event ran: the store noted its on-failure
 * destination on the event (see config_get()) after we claimed it, so read
 * it again.
 */
static void
orphan_reload(struct async_run *run)
{
	const char *colon = strchr(run->function, ':');
	char *bare = colon ? xstrndup(run->function, (size_t)(colon - run->function)) : NULL;
	struct store_event ev;
	struct err err = ERR_INIT;

	if (!invoke__fn(run->svc, bare ? bare : run->function) && !run->orphan &&
	    store_event_get(run->svc->store, run->request_id, &ev, &err) == 0) {
		run->orphan = ev.orphan_on_failure;
		ev.orphan_on_failure = NULL;
		store_event_release(&ev);
	}
	free(bare);
}

static void
run_free(struct async_run *run)
{
	free(run->orphan);
	buf_release(&run->payload);
	free(run->function);
	free(run);
}

static void
run_done(const struct invoke_result *res, void *data)
{
	struct async_run *run = data;
	struct invoke_service *svc = run->svc;
	struct async_config cfg;
	struct err err = ERR_INIT;
	uint32_t attempts = run->attempts + 1, allowed;
	uint64_t now = clock_wall_ms(), delay;
	char *why = NULL;

	svc->async_running--;
	orphan_reload(run);
	config_get(svc, run->function, run->orphan, &cfg);
	allowed = MIN(cfg.max_retry + 1, svc->cfg.async_max_attempts);
	if (res->function_error || res->status != 200)
		why = xasprintf("%s: %.*s", res->function_error ? res->function_error : "Throttled",
				(int)MIN(res->body.len, 400), res->body.ptr);
	if (res->status == 429) {
		throttled(run, &cfg, why);
	} else if (!res->function_error) {
		conclude(run, &cfg, OUT_SUCCESS, attempts, res, NULL);
	} else if (svc->draining) {
		/* Interrupted by shutdown: not the function's fault, run it again later. */
		record(store_event_retry(svc->store, run->id, run->attempts, now, why, &err), &err);
	} else if (attempts < allowed) {
		delay = svc->cfg.retry_base_ms << (attempts - 1);
		if (now + delay > run->created_ms + (uint64_t)cfg.max_age_s * 1000)
			conclude(run, &cfg, OUT_AGE_EXCEEDED, attempts, res, why);
		else
			record(store_event_retry(svc->store, run->id, attempts, now + delay, why,
						 &err), &err);
	} else {
		conclude(run, &cfg, OUT_RETRIES_EXHAUSTED, attempts, res, why);
	}
	free(why);
	async_config_release(&cfg);
	run_free(run);
	invoke__async_kick(svc);
}

static void
start_one(struct invoke_service *svc, struct store_event *ev)
{
	struct async_run *run = xcalloc(1, sizeof(*run));
	struct async_config cfg;
	struct err err = ERR_INIT;
	uint64_t now = clock_wall_ms();
	struct invoke_result res;
	char *why, *body;
	int r;

	run->svc = svc;
	run->id = ev->id;
	run->attempts = ev->attempts;
	run->created_ms = ev->created_ms;
	snprintf(run->request_id, sizeof(run->request_id), "%s", ev->request_id);
	run->function = xstrdup(ev->function);
	buf_init(&run->payload);
	buf_add(&run->payload, ev->payload.ptr, ev->payload.len);
	run->orphan = ev->orphan_on_failure ? xstrdup(ev->orphan_on_failure) : NULL;
	config_get(svc, ev->function, run->orphan, &cfg);
	if (now > ev->created_ms + (uint64_t)cfg.max_age_s * 1000) {
		why = xasprintf("the event is older than the function's maximum event age (%u s)%s%s",
				cfg.max_age_s, ev->last_error ? "; last error: " : "",
				ev->last_error ? ev->last_error : "");
		conclude(run, &cfg, OUT_AGE_EXCEEDED, ev->attempts, NULL, why);
		free(why);
		goto out;
	}
	svc->async_running++;
	r = invoke__start(svc, ev->function, ev->request_id, ev->payload.ptr, ev->payload.len, NULL,
			  run_done, run, &err);
	if (r >= 0) {
		run = NULL;	/* run_done() owns it now */
		goto out;
	}
	svc->async_running--;
	/* It cannot run at all: its function (or the version or alias it names) is
	 * gone. Trying again would not help; the event ends as a failure and, like
	 * any other, goes to the on-failure destination or stays listed. */
	res = (struct invoke_result){
		.status = r == -ENOENT ? 404 : 500,
		.function_error = "Unhandled",
		.executed_version = "$LATEST",
	};
	body = error_json(r == -ENOENT ? "ResourceNotFoundException" : "ServiceException",
			  err.msg);
	res.body = (struct str){ body, strlen(body) };
	conclude(run, &cfg, OUT_RETRIES_EXHAUSTED, ev->attempts, &res, err.msg);
	free(body);
out:
	async_config_release(&cfg);
	if (run)
		run_free(run);
}

static void
async_tick(uv_timer_t *t)
{
	struct invoke_service *svc = t->data;
	struct store_event evs[ASYNC_CONCURRENCY];
	struct err err = ERR_INIT;
	uint64_t now = clock_wall_ms(), next;
	int n, i;

	if (svc->draining)
		return;
	if (svc->async_running < ASYNC_CONCURRENCY) {
		n = store_event_claim(svc->store, now, evs,
				      (int)(ASYNC_CONCURRENCY - svc->async_running), &err);
		if (n < 0) {
			log_error("async: %s", err.msg);
			schedule(svc, 1000);
			return;
		}
		for (i = 0; i < n; i++) {
			start_one(svc, &evs[i]);
			store_event_release(&evs[i]);
		}
	}
	if (svc->async_running >= ASYNC_CONCURRENCY)
		return;	/* run_done() kicks again */
	if (store_event_next_due(svc->store, &next, &err) == 0)
		schedule(svc, next > now ? next - now : 0);
	else
		schedule(svc, ASYNC_IDLE_POLL_MS);
}

int
invoke_async(struct invoke_service *svc, const char *name, const void *payload, size_t len,
	     char request_id[37], struct err *err)
{
	const char *colon = strchr(name, ':');
	char *bare = colon ? xstrndup(name, (size_t)(colon - name)) : NULL;
	const struct fn_config *cfg;

	/* Check the qualifier now so the caller hears of a typo; the event is
	 * resolved again when it runs (an alias may have moved by then, as on Lambda). */
	cfg = invoke_resolve(svc, bare ? bare : name, colon ? colon + 1 : NULL, err);
	free(bare);
	if (!cfg)
		return -err->code;
	id_uuid(request_id);
	if (store_event_add(svc->store, request_id, name, payload, len, clock_wall_ms(), err) < 0)
		return err_wrap(err, "cannot queue the event");
	invoke__async_kick(svc);
	return 0;
}

int
invoke_async_retry(struct invoke_service *svc, const char *function, const char *request_id,
		   struct err *err)
{
	int n;

	if (!invoke__fn(svc, function))
		return err_setmsg(err, ENOENT, "function '%s' does not exist: deploy it again "
				  "before retrying its events (or delete them)", function);
	n = store_event_redrive(svc->store, function, request_id, clock_wall_ms(), err);
	if (n > 0)
		invoke__async_kick(svc);
	return n;
}

/*
 * Pruning finished events. A timer on the loop, not the dispatcher's path:
 * each pass deletes one batch of PRUNE_BATCH (one short write transaction, so
 * the loop is held for about 0.4 ms median, 2-3 ms p99 with a WAL checkpoint:
 * bench/event-prune.c), and when a full batch shows more remain, the next pass
 * comes PRUNE_SOON_MS later, letting the loop serve in between. That still
 * clears about 9,000 events a second, far more than the daemon can run.
 */
#define PRUNE_BATCH 200
#define PRUNE_SOON_MS 20
#define PRUNE_INTERVAL_MIN_MS 1000
#define PRUNE_INTERVAL_MAX_MS (5 * 60 * 1000)
#define PRUNE_FIRST_MAX_MS 10000

/* Often enough that nothing outlives its retention by more than a tenth of it
 * (or five minutes), rarely enough to cost nothing. */
static uint64_t
prune_interval_ms(uint64_t retention_ms)
{
	return MIN(MAX(retention_ms / 10, PRUNE_INTERVAL_MIN_MS), PRUNE_INTERVAL_MAX_MS);
}

static void
prune_tick(uv_timer_t *t)
{
	struct invoke_service *svc = t->data;
	uint64_t now = clock_wall_ms(), retention = svc->cfg.event_retention_ms;
	uint64_t before = now > retention ? now - retention : 0;
	struct err err = ERR_INIT;
	int n;

	n = store_event_prune(svc->store, before, PRUNE_BATCH, &err);
	if (n < 0) {
		log_error("async: %s", err.msg);
		return;	/* the next pass tries again */
	}
	if (n)
		log_debug("async: pruned %d finished events", n);
	if (n == PRUNE_BATCH)
		uv_timer_start(t, prune_tick, PRUNE_SOON_MS, prune_interval_ms(retention));
}

static void
prune_closed(uv_handle_t *h)
{
	free(h);
}

int
invoke__async_start(struct invoke_service *svc, struct err *err)
{
	uint64_t every;

	uv_timer_init(svc->loop, &svc->async_timer);
	svc->async_timer.data = svc;
	svc->async_scheduled = true;
	if (store_event_recover(svc->store, err) < 0)
		return err_wrap(err, "cannot recover interrupted events");
	if (svc->cfg.event_retention_ms) {
		every = prune_interval_ms(svc->cfg.event_retention_ms);
		svc->prune_timer = xmalloc(sizeof(*svc->prune_timer));
		uv_timer_init(svc->loop, svc->prune_timer);
		svc->prune_timer->data = svc;
		uv_timer_start(svc->prune_timer, prune_tick, MIN(every, PRUNE_FIRST_MAX_MS), every);
	}
	invoke__async_kick(svc);
	return 0;
}

void
invoke__async_stop(struct invoke_service *svc)
{
	if (svc->async_scheduled)
		uv_timer_stop(&svc->async_timer);
	if (svc->prune_timer)
		uv_timer_stop(svc->prune_timer);
}

static void
svc_closed(uv_handle_t *h)
{
	free(h->data);
}

void
invoke__async_free(struct invoke_service *svc)
{
	if (svc->prune_timer) {
		uv_close((uv_handle_t *)svc->prune_timer, prune_closed);
		svc->prune_timer = NULL;
	}
	if (svc->async_scheduled)
		uv_close((uv_handle_t *)&svc->async_timer, svc_closed);
	else
		free(svc);
}
