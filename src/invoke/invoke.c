/*
 * One synchronous invocation, from submit to answer.
 *
 * The call is submitted to the pool at once. A timer first caps the cold
 * start (Lambda gives a runtime 10 s to initialise), then, once the call is
 * dispatched, the function's own timeout. Whatever ends the call (an answer,
 * an error, the instance dying, the timer) ends it once: `finished` guards
 * the callback, and the invocation is freed from its timer's close callback
 * because libuv may still hold the handle.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "invoke/invoke-internal.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/id.h"
#include "lib/log.h"
#include "lib/relay.h"
#include "lib/banned.h"

#define INIT_TIMEOUT_MS 10000

struct invocation {
	struct pool_call call;		/* first: the pool hands back &inv->call */
	struct invoke_service *svc;
	char request_id[37];
	char *name;		/* the function's name, without qualifier */
	char *qualifier;	/* as the caller gave it (for the invoked ARN), or NULL */
	char version[12];	/* what runs: "$LATEST" or "3" */
	struct buf tail;	/* the call's log lines, when the caller asked for them */
	bool want_tail;
	uint32_t memory_mb, timeout_s;
	struct buf payload;
	char *client_context;
	uv_timer_t timer;
	uint64_t submit_ns, dispatch_ns, init_ns;
	bool dispatched, finished, timed_out;
	invoke_done_fn *done;
	void *data;
	struct invocation *prev, *next;
};

/* Where a call's log lines also go: its tail, if the caller asked for one. */
#define TAIL(inv) ((inv)->want_tail ? &(inv)->tail : NULL)

static struct invocation *
from_call(struct pool_call *c)
{
	return (struct invocation *)c;
}

static void
inv_closed(uv_handle_t *h)
{
	struct invocation *inv = h->data;

	buf_release(&inv->call.frame);
	buf_release(&inv->payload);
	free(inv->client_context);
	buf_release(&inv->tail);
	free(inv->qualifier);
	free(inv->name);
	free(inv);
}

static void
error_json(struct buf *out, const char *type, const char *fmt, ...) FORMAT(3, 4);

static void
error_json(struct buf *out, const char *type, const char *fmt, ...)
{
	char msg[512];
	json_t *o;
	char *s;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o = json_pack("{s:s, s:s}", "errorMessage", msg, "errorType", type);
	s = json_dumps(o, JSON_COMPACT);
	buf_adds(out, s);
	free(s);
	json_decref(o);
}

/* Lambda's REPORT line: durations in ms with two decimals, billed rounded up
 * to the next whole millisecond, memory in MB. */
static void
write_report(struct invocation *inv, uint64_t end_ns, uint64_t peak_bytes)
{
	struct invoke_service *svc = inv->svc;
	uint64_t dur_ns = inv->dispatched ? end_ns - inv->dispatch_ns : 0;
	uint64_t billed_ms = (dur_ns + 999999) / 1000000;
	/* Hundredths of a ms, rounded, in integers: this line is written for every call,
	 * and printf's floating-point path cost more than the rest of it. */
	uint64_t dur_cs = (dur_ns + 5000) / 10000, init_cs = (inv->init_ns + 5000) / 10000;
	char init[64] = "";

	if (billed_ms == 0)
		billed_ms = 1;
	if (inv->init_ns)
		snprintf(init, sizeof(init), "\tInit Duration: %llu.%02llu ms",
			 (unsigned long long)(init_cs / 100), (unsigned long long)(init_cs % 100));
	invoke__log_line_tail(svc, inv->name, TAIL(inv), "END RequestId: %s", inv->request_id);
	invoke__log_line_tail(svc, inv->name, TAIL(inv),
			 "REPORT RequestId: %s\tDuration: %llu.%02llu ms\tBilled Duration: %llu ms\t"
			 "Memory Size: %u MB\tMax Memory Used: %llu MB%s",
			 inv->request_id, (unsigned long long)(dur_cs / 100),
			 (unsigned long long)(dur_cs % 100), (unsigned long long)billed_ms,
			 inv->memory_mb, (unsigned long long)((peak_bytes + (1 << 20) - 1) >> 20),
			 init);
}

static void
count(struct invocation *inv, bool failed)
{
	struct fn_entry *fe = invoke__fn(inv->svc, inv->name);
	struct fn_stats *st;

	if (!fe)
		return;	/* deleted meanwhile */
	st = &fe->stats;
	st->invocations++;
	if (failed)
		st->errors++;
	if (inv->timed_out)
		st->timeouts++;
	if (!inv->dispatched)
		return;
	if (inv->init_ns)
		st->cold_starts++;
	else
		st->warm_starts++;
	st->dur_ms[st->next] = (float)((double)(clock_mono_ns() - inv->dispatch_ns) / 1e6);
	st->next = (st->next + 1) % FN_STATS_RING;
	if (st->ndur < FN_STATS_RING)
		st->ndur++;
}

static int
cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return x < y ? -1 : x > y;
}

int
invoke_fn_stats(struct invoke_service *svc, const char *name, struct invoke_stats *out)
{
	struct fn_entry *fe = invoke__fn(svc, name);
	const struct fn_stats *st;
	float sorted[FN_STATS_RING];
	size_t n;

	if (!fe)
		return -ENOENT;
	st = &fe->stats;
	memset(out, 0, sizeof(*out));
	out->invocations = st->invocations;
	out->cold_starts = st->cold_starts;
	out->warm_starts = st->warm_starts;
	out->errors = st->errors;
	out->timeouts = st->timeouts;
	out->throttles = st->throttles;
	n = out->samples = st->ndur;
	if (!n)
		return 0;
	memcpy(sorted, st->dur_ms, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_float);
	out->p50_ms = sorted[n / 2];
	out->p90_ms = sorted[n * 9 / 10];
	out->p99_ms = sorted[n * 99 / 100];
	return 0;
}

static void
unlink_inflight(struct invocation *inv)
{
	struct invoke_service *svc = inv->svc;

	if (inv->prev)
		inv->prev->next = inv->next;
	else
		svc->inflight = inv->next;
	if (inv->next)
		inv->next->prev = inv->prev;
	svc->ninflight--;
}

/* Ends the invocation: report, answer the caller, unlink, free later. */
static void
finish(struct invocation *inv, const char *function_error, struct str body, uint64_t peak)
{
	struct invoke_result r = { 0 };

	if (inv->finished)
		return;
	inv->finished = true;
	uv_timer_stop(&inv->timer);
	if (inv->dispatched)
		write_report(inv, clock_mono_ns(), peak);
	count(inv, function_error != NULL);
	r.status = 200;
	r.function_error = function_error;
	r.body = body;
	r.request_id = inv->request_id;
	r.executed_version = inv->version;
	if (inv->want_tail) {
		size_t n = MIN(inv->tail.len, (size_t)4096);

		r.log_tail = str_from(inv->tail.ptr + inv->tail.len - n, n);
	}
	unlink_inflight(inv);
	inv->done(&r, inv->data);
	uv_close((uv_handle_t *)&inv->timer, inv_closed);
}

static void
timer_fired(uv_timer_t *t)
{
	struct invocation *inv = t->data;
	struct buf body = BUF_INIT;
	uint64_t peak = pool_call_abort(&inv->call);
	char ts[32];

	clock_iso8601(clock_wall_ms(), ts);
	inv->timed_out = inv->dispatched;
	if (inv->dispatched) {
		invoke__log_line_tail(inv->svc, inv->name, TAIL(inv),
				      "%s Task timed out after %u.00 seconds", inv->request_id,
				      inv->timeout_s);
		error_json(&body, "Sandbox.Timedout", "%s %s Task timed out after %u.00 seconds", ts,
			   inv->request_id, inv->timeout_s);
	} else {
		invoke__log_line(inv->svc, inv->name, "%s Init timed out after %u.00 seconds",
				 inv->request_id, INIT_TIMEOUT_MS / 1000);
		error_json(&body, "Runtime.InitTimeout",
			   "RequestId: %s Error: the runtime did not become ready within %u seconds",
			   inv->request_id, INIT_TIMEOUT_MS / 1000);
	}
	finish(inv, "Unhandled", str_from(body.ptr, body.len), peak);
	buf_release(&body);
}

/* The call never ran: no START/REPORT lines, a 429 for the caller. */
static void
throttled(struct invocation *inv, const char *reason)
{
	struct invoke_service *svc = inv->svc;
	struct fn_entry *fe = invoke__fn(svc, inv->name);
	struct invoke_result r = { 0 };
	struct buf body = BUF_INIT;

	if (inv->finished)
		return;
	inv->finished = true;
	uv_timer_stop(&inv->timer);
	if (fe)
		fe->stats.throttles++;
	error_json(&body, "TooManyRequestsException", "Rate exceeded: function '%s' has no "
		   "capacity left (%s)", inv->name, reason);
	r.status = 429;
	r.throttle_reason = reason;
	r.body = str_from(body.ptr, body.len);
	r.request_id = inv->request_id;
	r.executed_version = inv->version;
	unlink_inflight(inv);
	inv->done(&r, inv->data);
	buf_release(&body);
	uv_close((uv_handle_t *)&inv->timer, inv_closed);
}

static void
hook_dispatched(struct pool_call *c, uint64_t init_ns)
{
	struct invocation *inv = from_call(c);
	uint64_t deadline_ms;
	size_t start;
	char arn[256];

	inv->dispatched = true;
	inv->dispatch_ns = clock_mono_ns();
	inv->init_ns = init_ns;
	deadline_ms = clock_wall_ms() + (uint64_t)inv->timeout_s * 1000;
	/* The ARN as the caller named the function: with its alias or version. */
	snprintf(arn, sizeof(arn), "arn:aws:lambda:%s:000000000000:function:%s%s%s",
		 inv->svc->cfg.region, inv->name, inv->qualifier ? ":" : "",
		 inv->qualifier ? inv->qualifier : "");
	buf_reset(&c->frame);
	start = relay_begin(&c->frame, RELAY_INVOKE);
	relay_puts(&c->frame, RELAY_T_ID, inv->request_id);
	relay_putu64(&c->frame, RELAY_T_DEADLINE_MS, deadline_ms);
	relay_puts(&c->frame, RELAY_T_ARN, arn);
	relay_puts(&c->frame, RELAY_T_TRACE, "Root=1-00000000-000000000000000000000000;Sampled=0");
	if (inv->client_context)
		relay_puts(&c->frame, RELAY_T_CLIENT_CTX, inv->client_context);
	relay_put(&c->frame, RELAY_T_BODY, inv->payload.ptr, inv->payload.len);
	relay_end(&c->frame, start);
	invoke__log_line_tail(inv->svc, inv->name, TAIL(inv), "START RequestId: %s Version: %s",
			      inv->request_id, inv->version);
	uv_timer_start(&inv->timer, timer_fired, (uint64_t)inv->timeout_s * 1000, 0);
}

static void
hook_done(struct pool_call *c, const struct pool_result *r)
{
	struct invocation *inv = from_call(c);
	struct buf body = BUF_INIT;

	switch (r->kind) {
	case POOL_RESPONSE:
		finish(inv, NULL, r->body, r->mem_peak_bytes);
		break;
	case POOL_ERROR:
		finish(inv, "Unhandled", r->body, r->mem_peak_bytes);
		break;
	case POOL_INIT_ERROR:
		invoke__log_line(inv->svc, inv->name, "INIT_REPORT RequestId: %s Status: error "
				 "Error Type: %.*s", inv->request_id, (int)r->errtype.len,
				 r->errtype.ptr ? r->errtype.ptr : "");
		if (r->body.len) {
			finish(inv, "Unhandled", r->body, r->mem_peak_bytes);
		} else {
			error_json(&body, "Runtime.Unknown", "RequestId: %s Error: the runtime "
				   "failed to initialise", inv->request_id);
			finish(inv, "Unhandled", str_from(body.ptr, body.len), r->mem_peak_bytes);
		}
		break;
	case POOL_THROTTLED:
		throttled(inv, r->reason);
		break;
	case POOL_DIED:
		invoke__log_line_tail(inv->svc, inv->name, TAIL(inv), "RequestId: %s Error: %s",
				      inv->request_id, r->reason);
		error_json(&body, r->oom ? "Runtime.OutOfMemory" : "Runtime.ExitError",
			   "RequestId: %s Error: %s", inv->request_id, r->reason);
		finish(inv, "Unhandled", str_from(body.ptr, body.len), r->mem_peak_bytes);
		break;
	}
	buf_release(&body);
}

/* Output outside any call (the init phase) is untagged, as on Lambda. */
static void
hook_log(void *data, const char *fn_name, struct pool_call *c, int stream, struct str line)
{
	struct invocation *inv = c ? from_call(c) : NULL;

	(void)stream;
	invoke__log_raw_tail(data, fn_name, inv ? inv->request_id : NULL, inv ? TAIL(inv) : NULL,
			     line);
}

static void
hook_code_released(void *data, const char *code_dir)
{
	invoke__code_released(data, code_dir);
}

const struct pool_hooks invoke__pool_hooks = {
	.dispatched = hook_dispatched,
	.done = hook_done,
	.log = hook_log,
	.code_released = hook_code_released,
};

int
invoke_sync(struct invoke_service *svc, const char *name, const void *payload, size_t len,
	    const char *client_context, invoke_done_fn *done, void *data, struct err *err)
{
	return invoke__start(svc, name, NULL, payload, len, client_context, done, data, err);
}

int
invoke_call(struct invoke_service *svc, const struct invoke_request *rq, invoke_done_fn *done,
	    void *data, struct err *err)
{
	return invoke__start_request(svc, rq, NULL, done, data, err);
}

int
invoke__start(struct invoke_service *svc, const char *name, const char *request_id,
	      const void *payload, size_t len, const char *client_context, invoke_done_fn *done,
	      void *data, struct err *err)
{
	struct invoke_request rq = {
		.name = name, .payload = payload, .len = len, .client_context = client_context,
	};

	return invoke__start_request(svc, &rq, request_id, done, data, err);
}

int
invoke__start_request(struct invoke_service *svc, const struct invoke_request *rq,
		      const char *request_id, invoke_done_fn *done, void *data, struct err *err)
{
	const char *colon = rq->qualifier ? NULL : strchr(rq->name, ':');
	char *name = colon ? xstrndup(rq->name, (size_t)(colon - rq->name)) : xstrdup(rq->name);
	const char *qualifier = colon ? colon + 1 : rq->qualifier;
	const struct fn_config *cfg;
	struct invocation *inv;
	struct fn_entry *fe;

	if (invoke__resolve(svc, name, qualifier, &fe, &cfg, err) < 0) {
		free(name);
		return -err->code;
	}
	if (svc->draining) {
		free(name);
		return err_setmsg(err, EAGAIN, "the platform is shutting down");
	}
	/* Limits (reserved concurrency, the memory budget) are the pool's: a call
	 * over one waits there and ends, if no capacity comes, as a throttle
	 * through hook_done(). */
	inv = xcalloc(1, sizeof(*inv));
	inv->qualifier = qualifier && *qualifier ? xstrdup(qualifier) : NULL;
	if (cfg->version)
		snprintf(inv->version, sizeof(inv->version), "%u", cfg->version);
	else
		snprintf(inv->version, sizeof(inv->version), "$LATEST");
	buf_init(&inv->tail);
	inv->want_tail = rq->log_tail;
	inv->svc = svc;
	if (request_id)
		snprintf(inv->request_id, sizeof(inv->request_id), "%s", request_id);
	else
		id_uuid(inv->request_id);
	inv->call.request_id = inv->request_id;
	buf_init(&inv->call.frame);
	inv->name = name;
	inv->memory_mb = cfg->memory_mb;
	inv->timeout_s = cfg->timeout_s;
	buf_init(&inv->payload);
	buf_add(&inv->payload, rq->payload, rq->len);
	inv->client_context = rq->client_context ? xstrdup(rq->client_context) : NULL;
	inv->done = done;
	inv->data = data;
	inv->submit_ns = clock_mono_ns();
	uv_timer_init(svc->loop, &inv->timer);
	inv->timer.data = inv;
	inv->next = svc->inflight;
	if (inv->next)
		inv->next->prev = inv;
	svc->inflight = inv;
	svc->ninflight++;
	uv_timer_start(&inv->timer, timer_fired, INIT_TIMEOUT_MS, 0);
	pool_submit(invoke__pool_fn_for(svc, fe, cfg), &inv->call);
	return 0;
}

struct pool *
invoke_pool(struct invoke_service *svc)
{
	return svc->pool;
}

size_t
invoke_inflight(const struct invoke_service *svc)
{
	return svc->ninflight;
}

void
invoke_drain(struct invoke_service *svc)
{
	svc->draining = true;
	invoke__async_stop(svc);
	if (svc->code_gc_timer)
		uv_timer_stop(svc->code_gc_timer);
}

int
invoke_service_new(struct invoke_service **out, uv_loop_t *loop, struct store *st,
		   struct sandbox_client *sc, const struct invoke_config *cfg, struct err *err)
{
	struct invoke_service *svc = xcalloc(1, sizeof(*svc));

	svc->loop = loop;
	svc->store = st;
	svc->cfg = *cfg;
	map_init(&svc->fns);
	svc->log_dir = xasprintf("%s/logs", cfg->data_dir);
	if (mkdir(svc->log_dir, 0700) < 0 && errno != EEXIST) {
		err_set(err, errno, "cannot create '%s'", svc->log_dir);
		free(svc->log_dir);
		free(svc);
		return -err->code;
	}
	svc->pool = pool_new(loop, sc, &cfg->pool, &invoke__pool_hooks, svc);
	invoke__log_start(svc);
	if (invoke__load(svc, err) < 0 || invoke__async_start(svc, err) < 0) {
		invoke_service_free(svc);
		return -err->code;
	}
	invoke__code_gc_start(svc);
	*out = svc;
	return 0;
}

void
invoke_service_free(struct invoke_service *svc)
{
	if (!svc)
		return;
	if (svc->ninflight)
		BUG("invoke_service_free with calls in flight");
	invoke__async_stop(svc);
	invoke__code_gc_stop(svc);
	invoke__registry_release(svc);
	pool_free(svc->pool);
	invoke__log_stop(svc);
	free(svc->log_dir);
	/* The async timer is closed by async_stop; its close callback frees svc. */
	invoke__async_free(svc);
}
