/*
 * The schedule service: fires each enabled schedule at its next time by
 * queueing an asynchronous invocation of its function.
 *
 * One timer for all schedules, armed for the soonest firing (and at least
 * once a minute, so a jump of the wall clock is noticed). A firing is an
 * event committed to the store by invoke_async(): from then on it is as
 * durable as any other event and is retried the same way.
 *
 * Firings missed while the daemon was down (or the loop was stalled past a
 * whole period) are skipped, not replayed: after a restart each schedule's
 * next firing is computed from the present, as EventBridge does for a rule
 * that was disabled. A rate counts from the time the schedule was last put
 * or enabled.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/err.h"
#include "lib/id.h"
#include "lib/log.h"
#include "lib/map.h"
#include "triggers/triggers.h"
#include "lib/banned.h"

/* Re-check at least this often even when nothing is due. */
#define RECHECK_MS 60000

struct entry {
	char *name;
	char *function;
	char *payload;		/* NULL: the Scheduled Event */
	struct cron cron;
	uint64_t anchor_ms;
	uint64_t next_ms;	/* 0: never again */
};

struct schedule_service {
	uv_loop_t *loop;
	struct store *st;
	struct invoke_service *inv;
	char *region;
	uv_timer_t timer;
	struct map entries;	/* name -> struct entry, enabled schedules only */
};

static void tick(uv_timer_t *t);

static void
entry_free(struct entry *e)
{
	if (!e)
		return;
	free(e->name);
	free(e->function);
	free(e->payload);
	free(e);
}

static void
arm(struct schedule_service *ss)
{
	uint64_t now = clock_wall_ms(), soonest = now + RECHECK_MS;
	struct entry *e;
	size_t it = 0;
	void *v;

	while (map_next(&ss->entries, &it, NULL, &v)) {
		e = v;
		if (e->next_ms && e->next_ms < soonest)
			soonest = e->next_ms;
	}
	uv_timer_start(&ss->timer, tick, soonest > now ? soonest - now : 0, 0);
}

/* EventBridge's Scheduled Event for a firing at when_ms. */
static char *
scheduled_event(struct schedule_service *ss, const struct entry *e, uint64_t when_ms)
{
	char id[37], ts[32], *arn, *text;
	json_t *ev;

	id_uuid(id);
	clock_iso8601(when_ms - when_ms % 1000, ts);
	/* "2026-11-27T12:00:00.000Z" -> "2026-11-27T12:00:00Z", as EventBridge writes it. */
	if (strlen(ts) == 24)
		memmove(ts + 19, ts + 23, 2);
	arn = xasprintf("arn:aws:events:%s:000000000000:rule/%s", ss->region, e->name);
	ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:[s], s:{}}", "version", "0", "id", id,
		       "detail-type", "Scheduled Event", "source", "aws.events", "account",
		       "000000000000", "time", ts, "region", ss->region, "resources", arn,
		       "detail");
	text = json_dumps(ev, JSON_COMPACT);
	json_decref(ev);
	free(arn);
	return text;
}

static void
fire(struct schedule_service *ss, struct entry *e, uint64_t when_ms)
{
	struct err err = ERR_INIT, ignored = ERR_INIT;
	char rid[37], *body = e->payload ? e->payload : scheduled_event(ss, e, when_ms);
	int r;

	r = invoke_async(ss->inv, e->function, body, strlen(body), rid, &err);
	if (r < 0)
		log_warn("schedule '%s': %s", e->name, err.msg);
	else
		log_debug("schedule '%s': queued %s for '%s'", e->name, rid, e->function);
	if (store_schedule_fired(ss->st, e->name, when_ms, r < 0 ? err.msg : NULL, &ignored) < 0)
		log_warn("schedule '%s': %s", e->name, ignored.msg);
	if (body != e->payload)
		free(body);
}

static void
tick(uv_timer_t *t)
{
	struct schedule_service *ss = t->data;
	uint64_t now = clock_wall_ms();
	struct entry *e;
	size_t it = 0;
	void *v;

	while (map_next(&ss->entries, &it, NULL, &v)) {
		e = v;
		if (!e->next_ms || e->next_ms > now)
			continue;
		fire(ss, e, e->next_ms);
		/* From now, not from the firing: missed periods are skipped. */
		if (cron_next(&e->cron, e->anchor_ms, now, &e->next_ms) < 0)
			e->next_ms = 0;
	}
	arm(ss);
}

/* Replaces name's entry with one for sc (none when sc is NULL or disabled). */
static int
load(struct schedule_service *ss, const char *name, const struct schedule *sc, struct err *err)
{
	struct entry *e = NULL;

	if (sc && sc->enabled) {
		e = xcalloc(1, sizeof(*e));
		if (cron_parse(&e->cron, sc->expression, err) < 0) {
			entry_free(e);
			return err_wrap(err, "schedule '%s'", sc->name);
		}
		e->name = xstrdup(sc->name);
		e->function = xstrdup(sc->function);
		e->payload = sc->payload ? xstrdup(sc->payload) : NULL;
		e->anchor_ms = sc->updated_ms;
		if (cron_next(&e->cron, e->anchor_ms, clock_wall_ms(), &e->next_ms) < 0)
			e->next_ms = 0;
	}
	entry_free(map_del(&ss->entries, name));
	if (e)
		map_put(&ss->entries, e->name, e);
	return 0;
}

static int
load_one(const struct schedule *sc, void *data)
{
	struct schedule_service *ss = data;
	struct err err = ERR_INIT;

	/* A bad stored expression (from a newer hearth, say) must not stop the rest. */
	if (load(ss, sc->name, sc, &err) < 0)
		log_error("%s: not scheduled", err.msg);
	return 0;
}

int
schedule_service_new(struct schedule_service **out, uv_loop_t *loop, struct store *st,
		     struct invoke_service *inv, const char *region, struct err *err)
{
	struct schedule_service *ss = xcalloc(1, sizeof(*ss));

	ss->loop = loop;
	ss->st = st;
	ss->inv = inv;
	ss->region = xstrdup(region);
	map_init(&ss->entries);
	uv_timer_init(loop, &ss->timer);
	ss->timer.data = ss;
	if (store_schedule_list(st, load_one, ss, err) < 0) {
		schedule_service_free(ss);
		return err_wrap(err, "cannot load schedules");
	}
	arm(ss);
	*out = ss;
	return 0;
}

static void
closed(uv_handle_t *h)
{
	struct schedule_service *ss = h->data;
	size_t it = 0;
	void *v;

	while (map_next(&ss->entries, &it, NULL, &v))
		entry_free(v);
	map_release(&ss->entries);
	free(ss->region);
	free(ss);
}

void
schedule_service_free(struct schedule_service *ss)
{
	if (!ss)
		return;
	uv_timer_stop(&ss->timer);
	uv_close((uv_handle_t *)&ss->timer, closed);
}

int
schedule_put(struct schedule_service *ss, struct schedule *sc, int *created, struct err *err)
{
	struct cron c;
	json_t *j;

	if (!sc->name || !schedule_name_valid(sc->name))
		return err_setmsg(err, EINVAL, "invalid schedule name '%s': use 1 to 64 letters, "
				  "digits, '.', '-' or '_'", sc->name ? sc->name : "");
	if (!sc->expression || cron_parse(&c, sc->expression, err) < 0)
		return sc->expression ? -err->code :
					err_setmsg(err, EINVAL, "'expression' is required");
	if (!sc->function)
		return err_setmsg(err, EINVAL, "'function' is required");
	if (!invoke_fn_get(ss->inv, sc->function))
		return err_setmsg(err, ENOENT, "function '%s' does not exist", sc->function);
	if (sc->payload) {
		if (strlen(sc->payload) > INVOKE_MAX_ASYNC_PAYLOAD)
			return err_setmsg(err, EFBIG, "the payload is over the %u-byte limit of "
					  "asynchronous invocations", INVOKE_MAX_ASYNC_PAYLOAD);
		j = json_loads(sc->payload, JSON_DECODE_ANY, NULL);
		if (!j)
			return err_setmsg(err, EINVAL, "the payload is not valid JSON");
		json_decref(j);
	}
	if (store_schedule_put(ss->st, sc, created, err) < 0)
		return -err->code;
	if (load(ss, sc->name, sc, err) < 0)
		return -err->code;
	arm(ss);
	return 0;
}

int
schedule_delete(struct schedule_service *ss, const char *name, struct err *err)
{
	if (store_schedule_delete(ss->st, name, err) < 0)
		return -err->code;
	entry_free(map_del(&ss->entries, name));
	arm(ss);
	return 0;
}

int
schedule_enable(struct schedule_service *ss, const char *name, bool enabled, struct err *err)
{
	struct schedule sc;
	int r;

	if (store_schedule_enable(ss->st, name, enabled, err) < 0)
		return -err->code;
	r = store_schedule_get(ss->st, name, &sc, err);
	if (r == 0) {
		r = load(ss, name, &sc, err);
		schedule_release(&sc);
	}
	arm(ss);
	return r;
}

int
schedule_next_firings(const struct schedule *sc, uint64_t now_ms, uint64_t *out, int n)
{
	struct err err = ERR_INIT;
	struct cron c;
	uint64_t t = now_ms;
	int i;

	if (!sc->enabled || cron_parse(&c, sc->expression, &err) < 0)
		return 0;
	for (i = 0; i < n; i++) {
		if (cron_next(&c, sc->updated_ms, t, &out[i]) < 0)
			break;
		t = out[i];
	}
	return i;
}
