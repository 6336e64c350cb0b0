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
 */
#include <errno.h>
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
	char *function;
};

static void async_tick(uv_timer_t *t);

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

static void
run_done(const struct invoke_result *res, void *data)
{
	struct async_run *run = data;
	struct invoke_service *svc = run->svc;
	struct err err = ERR_INIT;
	uint32_t attempts = run->attempts + 1;

	svc->async_running--;
	if (res->status == 200 && !res->function_error) {
		record(store_event_finish(svc->store, run->id, EVENT_SUCCEEDED, NULL, &err), &err);
	} else {
		char *why = xasprintf("%s: %.*s", res->function_error ? res->function_error :
				      res->throttle_reason, (int)MIN(res->body.len, 400), res->body.ptr);

		if (attempts < svc->cfg.async_max_attempts && !svc->draining) {
			uint64_t delay = svc->cfg.retry_base_ms << (attempts - 1);

			record(store_event_retry(svc->store, run->id, attempts,
						      clock_wall_ms() + delay, why, &err), &err);
		} else if (svc->draining) {
			/* Interrupted by shutdown: not the function's fault, run it again later. */
			record(store_event_retry(svc->store, run->id, run->attempts,
						      clock_wall_ms(), why, &err), &err);
		} else {
			log_warn("async event %lld for '%s' failed after %u attempts",
				 (long long)run->id, run->function, attempts);
			record(store_event_finish(svc->store, run->id, EVENT_FAILED, why, &err),
			       &err);
		}
		free(why);
	}
	free(run->function);
	free(run);
	invoke__async_kick(svc);
}

static void
start_one(struct invoke_service *svc, struct store_event *ev)
{
	struct async_run *run = xcalloc(1, sizeof(*run));
	struct err err = ERR_INIT;
	int r;

	run->svc = svc;
	run->id = ev->id;
	run->attempts = ev->attempts;
	run->function = xstrdup(ev->function);
	svc->async_running++;
	r = invoke__start(svc, ev->function, ev->request_id, ev->payload.ptr, ev->payload.len,
			  NULL, run_done, run, &err);
	if (r < 0) {
		svc->async_running--;
		/* A throttle is not the function's failure: Lambda keeps such an
		 * event and tries again with backoff, for up to six hours. */
		if (r == -EBUSY && clock_wall_ms() - ev->created_ms < THROTTLE_MAX_AGE_MS) {
			uint64_t delay = MIN(THROTTLE_RETRY_MS << MIN(ev->attempts, 8), 300000);

			record(store_event_retry(svc->store, ev->id, ev->attempts,
						 clock_wall_ms() + delay, err.msg, &err), &err);
		} else {
			record(store_event_finish(svc->store, ev->id, EVENT_FAILED, err.msg, &err),
			       &err);
		}
		free(run->function);
		free(run);
	}
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
invoke__async_start(struct invoke_service *svc, struct err *err)
{
	uv_timer_init(svc->loop, &svc->async_timer);
	svc->async_timer.data = svc;
	svc->async_scheduled = true;
	if (store_event_recover(svc->store, err) < 0)
		return err_wrap(err, "cannot recover interrupted events");
	invoke__async_kick(svc);
	return 0;
}

void
invoke__async_stop(struct invoke_service *svc)
{
	if (svc->async_scheduled)
		uv_timer_stop(&svc->async_timer);
}

static void
svc_closed(uv_handle_t *h)
{
	free(h->data);
}

void
invoke__async_free(struct invoke_service *svc)
{
	if (svc->async_scheduled)
		uv_close((uv_handle_t *)&svc->async_timer, svc_closed);
	else
		free(svc);
}
