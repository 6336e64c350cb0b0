/*
 * Triggers: what makes functions run without a caller. For now, schedules.
 *
 * cron_parse()/cron_next() are pure: expressions in, times out, no clock, no
 * I/O, so they are tested from tables. The schedule service keeps one timer
 * on the loop for the soonest firing and queues each firing as an
 * asynchronous invocation (durable before anything else happens).
 *
 * All times are UTC epoch milliseconds. Loop thread only.
 */
#ifndef HEARTH_TRIGGERS_H
#define HEARTH_TRIGGERS_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "invoke/invoke.h"
#include "lib/err.h"
#include "store/store.h"

#define CRON_YEAR_MIN 1970
#define CRON_YEAR_MAX 2199

enum cron_kind { CRON_RATE = 1, CRON_CRON };

/* Day-of-month beyond a plain set of days. */
enum cron_dom {
	CRON_DOM_SET = 0,	/* the days in mdays (all of them for '*' or '?') */
	CRON_DOM_LAST,		/* L: the last day of the month */
	CRON_DOM_LAST_WEEKDAY,	/* LW: the last Monday-to-Friday of the month */
	CRON_DOM_NEAREST,	/* NW: the weekday nearest day N, within the month */
};

/* Day-of-week beyond a plain set of weekdays. */
enum cron_dow {
	CRON_DOW_SET = 0,	/* the weekdays in wdays */
	CRON_DOW_LAST,		/* nL: the last weekday n of the month */
	CRON_DOW_NTH,		/* n#k: the k-th weekday n of the month */
};

struct cron {
	enum cron_kind kind;
	uint64_t rate_ms;		/* CRON_RATE: the period */
	uint64_t minutes;		/* bit m: minute m matches */
	uint32_t hours;
	uint32_t mdays;			/* bit d, 1..31 */
	uint16_t months;		/* bit m, 1..12 */
	uint8_t wdays;			/* bit w, 0 = Sunday .. 6 = Saturday */
	uint8_t years[(CRON_YEAR_MAX - CRON_YEAR_MIN) / 8 + 1];
	bool dom_restricted, dow_restricted;	/* false for '*' and '?' */
	enum cron_dom dom;
	int dom_day;			/* CRON_DOM_NEAREST: N */
	enum cron_dow dow;
	int dow_day;			/* CRON_DOW_LAST/NTH: the weekday, 0..6 */
	int dow_nth;			/* CRON_DOW_NTH: 1..5 */
};

/*
 * Parses "rate(N minute|minutes|hour|hours|day|days)", EventBridge's
 * "cron(Minutes Hours Day-of-month Month Day-of-week Year)", or a classic
 * five-field "min hour dom month dow" (dow 0-7, Sunday 0 or 7; when both day
 * fields are restricted a day matching either runs, as in Vixie cron).
 * -EINVAL with a message naming the field at fault.
 */
int cron_parse(struct cron *c, const char *expr, struct err *err);

/*
 * The first firing strictly after after_ms. A rate fires at anchor_ms + k *
 * period (anchor: when the schedule was created), a cron expression on whole
 * minutes. -ENOENT when it never fires again (past CRON_YEAR_MAX, or a date
 * that does not exist such as 30 February).
 */
int cron_next(const struct cron *c, uint64_t anchor_ms, uint64_t after_ms, uint64_t *next_ms);

/* Schedule names: [A-Za-z0-9_.-]{1,64}, as EventBridge rule names. */
bool schedule_name_valid(const char *name);

struct schedule_service;

/* Loads the stored schedules and arms the timer. Borrows loop, st and inv. */
int schedule_service_new(struct schedule_service **out, uv_loop_t *loop, struct store *st,
			 struct invoke_service *inv, const char *region, struct err *err);
/* Stops firing (shutdown); the timer's close callback frees the service. NULL is a no-op. */
void schedule_service_free(struct schedule_service *ss);

/* Validates and stores sc (borrowed), then (re)arms it. -EINVAL for a bad
 * expression, name or payload, -ENOENT for an unknown function. */
int schedule_put(struct schedule_service *ss, struct schedule *sc, int *created, struct err *err);
int schedule_delete(struct schedule_service *ss, const char *name, struct err *err);
int schedule_enable(struct schedule_service *ss, const char *name, bool enabled,
		    struct err *err);
/* Up to n next firings after now_ms into out; returns how many (0 when disabled or never). */
int schedule_next_firings(const struct schedule *sc, uint64_t now_ms, uint64_t *out, int n);

#endif
