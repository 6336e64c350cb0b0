/*
 * Schedule expressions: EventBridge's rate() and cron(), and classic
 * five-field cron, parsed into bit sets; and the next firing time.
 *
 * Pure: no clock, no time zone (everything is UTC), no allocation. Dates are
 * computed with Howard Hinnant's days_from_civil / civil_from_days, so there
 * is no dependency on the C library's time zone state.
 *
 * cron_next() walks forward a day at a time, skipping whole years and months
 * that cannot match, and looks at hours and minutes only on a day that does:
 * a never-matching expression (30 February) costs a few thousand cheap steps
 * up to CRON_YEAR_MAX, not a minute-by-minute scan.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "triggers/triggers.h"
#include "lib/banned.h"

#define MINUTE_MS 60000ull
#define MAX_RATE_MINUTES (366ull * 24 * 60)

static const char *const month_names[] = { "JAN", "FEB", "MAR", "APR", "MAY", "JUN",
					    "JUL", "AUG", "SEP", "OCT", "NOV", "DEC" };
static const char *const day_names[] = { "SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT" };

/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static unsigned
days_in_month(int64_t y, unsigned m)
{
	static const unsigned dim[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : dim[m - 1];
}

/* 0 = Sunday; 1970-01-01 was a Thursday. */
static unsigned
weekday(int64_t days)
{
	return (unsigned)(((days % 7) + 7 + 4) % 7);
}

/* One field as written, with its limits and how it spells values by name. */
struct field {
	const char *what;		/* "minutes", for messages */
	int lo, hi;
	const char *const *names;	/* NULL or names for lo, lo+1, ... */
	int nnames;
	int name_base;			/* the value names[0] stands for */
};

static int
value(const struct field *f, const char *s, size_t n, int *out, struct err *err)
{
	char *end;
	long v;
	int i;

	if (n == 3 && f->names) {
		for (i = 0; i < f->nnames; i++) {
			if (strncasecmp(s, f->names[i], 3) == 0) {
				*out = f->name_base + i;
				return 0;
			}
		}
	}
	if (n == 0 || !isdigit((unsigned char)s[0]))
		return err_setmsg(err, EINVAL, "%s: '%.*s' is not a value", f->what, (int)n, s);
	v = strtol(s, &end, 10);
	if ((size_t)(end - s) != n || v < f->lo || v > f->hi)
		return err_setmsg(err, EINVAL, "%s: '%.*s' is out of range (%d-%d)", f->what, (int)n, s,
				  f->lo, f->hi);
	*out = (int)v;
	return 0;
}

/* A field's values as bits, bit (v - lo): 256 bits hold the 230 years. */
#define MAP_BYTES 32

/* One comma-separated item: *, N, N-M, with an optional /STEP, into map. */
static int
item(const struct field *f, const char *s, size_t n, uint8_t *map, struct err *err)
{
	const char *slash = memchr(s, '/', n), *dash;
	size_t head = slash ? (size_t)(slash - s) : n;
	int a, b, step = 1, v;
	char *end;
	long st;

	if (slash) {
		st = strtol(slash + 1, &end, 10);
		if (end != s + n || slash + 1 == end || st < 1 || st > f->hi)
			return err_setmsg(err, EINVAL, "%s: bad step in '%.*s'", f->what, (int)n, s);
		step = (int)st;
	}
	if (head == 1 && s[0] == '*') {
		a = f->lo;
		b = f->hi;
	} else {
		dash = memchr(s, '-', head);
		if (value(f, s, dash ? (size_t)(dash - s) : head, &a, err) < 0)
			return -err->code;
		b = slash ? f->hi : a;
		if (dash && value(f, dash + 1, head - (size_t)(dash + 1 - s), &b, err) < 0)
			return -err->code;
		if (b < a)
			return err_setmsg(err, EINVAL, "%s: range '%.*s' runs backwards", f->what,
					  (int)head, s);
	}
	for (v = a; v <= b; v += step)
		map[(v - f->lo) / 8] |= (uint8_t)(1u << ((v - f->lo) % 8));
	return 0;
}

static int
field_map(const struct field *f, const char *s, uint8_t map[MAP_BYTES], struct err *err)
{
	const char *p = s, *comma;

	memset(map, 0, MAP_BYTES);
	for (;;) {
		comma = strchr(p, ',');
		if (item(f, p, comma ? (size_t)(comma - p) : strlen(p), map, err) < 0)
			return -err->code;
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

/* The same, for fields of at most 64 values. */
static int
field_bits(const struct field *f, const char *s, uint64_t *bits, struct err *err)
{
	uint8_t map[MAP_BYTES];
	int i;

	if (field_map(f, s, map, err) < 0)
		return -err->code;
	*bits = 0;
	for (i = 0; i < 8; i++)
		*bits |= (uint64_t)map[i] << (8 * i);
	return 0;
}

static bool
unrestricted(const char *s)
{
	return strcmp(s, "*") == 0 || strcmp(s, "?") == 0;
}

/* EventBridge day-of-month: L, LW, NW, or a plain field. */
static int
parse_dom(struct cron *c, const char *s, bool eventbridge, struct err *err)
{
	static const struct field f = { "day-of-month", 1, 31, NULL, 0, 0 };
	uint64_t bits = 0;
	size_t n = strlen(s);
	int v;

	c->dom_restricted = !unrestricted(s);
	if (eventbridge && strcasecmp(s, "L") == 0) {
		c->dom = CRON_DOM_LAST;
		return 0;
	}
	if (eventbridge && strcasecmp(s, "LW") == 0) {
		c->dom = CRON_DOM_LAST_WEEKDAY;
		return 0;
	}
	if (eventbridge && n > 1 && toupper((unsigned char)s[n - 1]) == 'W') {
		if (value(&f, s, n - 1, &v, err) < 0)
			return -err->code;
		c->dom = CRON_DOM_NEAREST;
		c->dom_day = v;
		return 0;
	}
	if (strcmp(s, "?") == 0) {
		c->mdays = 0xfffffffe;
		return 0;
	}
	if (field_bits(&f, s, &bits, err) < 0)
		return -err->code;
	c->mdays = (uint32_t)(bits << 1);
	return 0;
}

/* Day-of-week. EventBridge numbers SUN=1..SAT=7 and adds L, nL and n#k;
 * classic cron numbers SUN=0..SAT=6 and 7 for Sunday again. */
static int
parse_dow(struct cron *c, const char *s, bool eventbridge, struct err *err)
{
	static const struct field eb = { "day-of-week", 1, 7, day_names, 7, 1 };
	static const struct field classic = { "day-of-week", 0, 7, day_names, 7, 0 };
	const struct field *f = eventbridge ? &eb : &classic;
	const char *hash = strchr(s, '#');
	size_t n = strlen(s);
	uint64_t bits = 0;
	int v, k, i;
	char *end;

	c->dow_restricted = !unrestricted(s);
	if (eventbridge && strcasecmp(s, "L") == 0) {
		c->wdays = 1u << 6;	/* the last day of the week: Saturday */
		return 0;
	}
	if (eventbridge && n > 1 && toupper((unsigned char)s[n - 1]) == 'L') {
		if (value(f, s, n - 1, &v, err) < 0)
			return -err->code;
		c->dow = CRON_DOW_LAST;
		c->dow_day = v - 1;
		return 0;
	}
	if (eventbridge && hash) {
		if (value(f, s, (size_t)(hash - s), &v, err) < 0)
			return -err->code;
		k = (int)strtol(hash + 1, &end, 10);
		if (*end || end == hash + 1 || k < 1 || k > 5)
			return err_setmsg(err, EINVAL, "day-of-week: '%s' wants a week from 1 to 5 "
					  "after '#'", s);
		c->dow = CRON_DOW_NTH;
		c->dow_day = v - 1;
		c->dow_nth = k;
		return 0;
	}
	if (strcmp(s, "?") == 0) {
		c->wdays = 0x7f;
		return 0;
	}
	if (field_bits(f, s, &bits, err) < 0)
		return -err->code;
	c->wdays = 0;
	for (i = f->lo; i <= f->hi; i++)
		if (bits & (1ull << (i - f->lo)))
			c->wdays |= (uint8_t)(1u << ((eventbridge ? i - 1 : i) % 7));
	return 0;
}

static int
parse_rate(struct cron *c, const char *s, size_t n, struct err *err)
{
	static const struct {
		const char *one, *many;
		uint64_t minutes;
	} units[] = { { "minute", "minutes", 1 }, { "hour", "hours", 60 }, { "day", "days", 1440 } };
	char body[64], unit[16], extra;
	unsigned long long v;
	size_t i;

	if (n >= sizeof(body))
		return err_setmsg(err, EINVAL, "rate(): expression too long");
	memcpy(body, s, n);
	body[n] = '\0';
	if (sscanf(body, " %llu %15s %c", &v, unit, &extra) != 2 || !isdigit((unsigned char)
									   body[strspn(body, " ")]))
		return err_setmsg(err, EINVAL, "rate() wants 'rate(VALUE UNIT)', e.g. rate(5 minutes)");
	if (v == 0)
		return err_setmsg(err, EINVAL, "rate(): the value must be a positive integer");
	for (i = 0; i < ARRAY_SIZE(units); i++) {
		if (strcmp(unit, units[i].one) == 0 || strcmp(unit, units[i].many) == 0) {
			if ((v == 1) != (strcmp(unit, units[i].one) == 0))
				return err_setmsg(err, EINVAL, "rate(): say '%llu %s' (singular only "
						  "for 1)", v, v == 1 ? units[i].one : units[i].many);
			if (v > MAX_RATE_MINUTES / units[i].minutes)
				return err_setmsg(err, EINVAL, "rate(): at most one year");
			c->kind = CRON_RATE;
			c->rate_ms = v * units[i].minutes * MINUTE_MS;
			return 0;
		}
	}
	return err_setmsg(err, EINVAL, "rate(): unit '%s' is not minute(s), hour(s) or day(s)",
			  unit);
}

int
cron_parse(struct cron *c, const char *expr, struct err *err)
{
	static const struct field minutes = { "minutes", 0, 59, NULL, 0, 0 };
	static const struct field hours = { "hours", 0, 23, NULL, 0, 0 };
	static const struct field months = { "month", 1, 12, month_names, 12, 1 };
	static const struct field years = { "year", CRON_YEAR_MIN, CRON_YEAR_MAX, NULL, 0, 0 };
	char buf[256], *fields[7], *save = NULL, *tok;
	size_t n, nf = 0;
	bool eb;
	uint64_t bits = 0;

	memset(c, 0, sizeof(*c));
	while (isspace((unsigned char)*expr))
		expr++;
	n = strlen(expr);
	while (n && isspace((unsigned char)expr[n - 1]))
		n--;
	if (n == 0)
		return err_setmsg(err, EINVAL, "empty schedule expression");
	if (n > 5 && strncmp(expr, "rate(", 5) == 0 && expr[n - 1] == ')')
		return parse_rate(c, expr + 5, n - 6, err);
	eb = n > 5 && strncmp(expr, "cron(", 5) == 0 && expr[n - 1] == ')';
	if (eb) {
		expr += 5;
		n -= 6;
	}
	if (n >= sizeof(buf))
		return err_setmsg(err, EINVAL, "schedule expression too long");
	memcpy(buf, expr, n);
	buf[n] = '\0';
	for (tok = strtok_r(buf, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		if (nf == ARRAY_SIZE(fields))
			break;
		fields[nf++] = tok;
	}
	if (eb && nf != 6)
		return err_setmsg(err, EINVAL, "cron() wants 6 fields (minutes hours day-of-month "
				  "month day-of-week year), not %zu", nf);
	if (!eb && nf != 5)
		return err_setmsg(err, EINVAL, "'%.*s' is not rate(...), cron(...) or a five-field "
				  "cron line (min hour day-of-month month day-of-week)", (int)n, expr);
	if (!eb && (strchr(fields[2], '?') || strchr(fields[4], '?')))
		return err_setmsg(err, EINVAL, "'?' is for cron(...) expressions; use '*'");
	c->kind = CRON_CRON;
	if (field_bits(&minutes, fields[0], &c->minutes, err) < 0 ||
	    field_bits(&hours, fields[1], &bits, err) < 0)
		return -err->code;
	c->hours = (uint32_t)bits;
	if (parse_dom(c, fields[2], eb, err) < 0)
		return -err->code;
	if (field_bits(&months, fields[3], &bits, err) < 0)
		return -err->code;
	c->months = (uint16_t)(bits << 1);
	if (parse_dow(c, fields[4], eb, err) < 0)
		return -err->code;
	if (eb && (strcmp(fields[2], "?") == 0) == (strcmp(fields[4], "?") == 0))
		return err_setmsg(err, EINVAL, "cron(): exactly one of day-of-month and day-of-week "
				  "must be '?'");
	if (eb && strcmp(fields[5], "?") != 0) {
		uint8_t map[MAP_BYTES];

		if (field_map(&years, fields[5], map, err) < 0)
			return -err->code;
		memcpy(c->years, map, sizeof(c->years));
	} else {
		memset(c->years, 0xff, sizeof(c->years));
	}
	return 0;
}

static bool
year_set(const struct cron *c, int64_t y)
{
	int64_t i = y - CRON_YEAR_MIN;

	return i >= 0 && y <= CRON_YEAR_MAX && (c->years[i / 8] & (1u << (i % 8)));
}

/* Does day d (weekday wd) of month m of year y match the day fields? */
static bool
day_matches(const struct cron *c, int64_t y, unsigned m, unsigned d, unsigned wd)
{
	unsigned dim = days_in_month(y, m), target, wn;
	bool dom = false, dow = false;

	switch (c->dom) {
	case CRON_DOM_SET:
		dom = c->mdays & (1u << d);
		break;
	case CRON_DOM_LAST:
		dom = d == dim;
		break;
	case CRON_DOM_LAST_WEEKDAY:
		wn = (wd + dim - d) % 7;	/* weekday of the last day */
		target = wn == 6 ? dim - 1 : wn == 0 ? dim - 2 : dim;
		dom = d == target;
		break;
	case CRON_DOM_NEAREST:
		if ((unsigned)c->dom_day > dim)
			break;
		wn = (wd + 35 + (unsigned)c->dom_day - d) % 7;
		target = (unsigned)c->dom_day;
		/* Saturday goes back to Friday and Sunday on to Monday, but never
		 * out of the month: the 1st on a Saturday runs on Monday the 3rd. */
		if (wn == 6)
			target = target == 1 ? 3 : target - 1;
		else if (wn == 0)
			target = target == dim ? target - 2 : target + 1;
		dom = d == target;
		break;
	}
	switch (c->dow) {
	case CRON_DOW_SET:
		dow = c->wdays & (1u << wd);
		break;
	case CRON_DOW_LAST:
		dow = wd == (unsigned)c->dow_day && d + 7 > dim;
		break;
	case CRON_DOW_NTH:
		dow = wd == (unsigned)c->dow_day && (d - 1) / 7 + 1 == (unsigned)c->dow_nth;
		break;
	}
	if (c->dom_restricted && c->dow_restricted)
		return dom || dow;
	if (c->dom_restricted)
		return dom;
	if (c->dow_restricted)
		return dow;
	return true;
}

int
cron_next(const struct cron *c, uint64_t anchor_ms, uint64_t after_ms, uint64_t *next_ms)
{
	uint64_t start_min, t;
	int64_t days, y;
	unsigned m, d;

	if (c->kind == CRON_RATE) {
		if (after_ms < anchor_ms)
			*next_ms = anchor_ms + c->rate_ms;
		else
			*next_ms = anchor_ms + ((after_ms - anchor_ms) / c->rate_ms + 1) * c->rate_ms;
		return 0;
	}
	start_min = after_ms / MINUTE_MS + 1;
	days = (int64_t)(start_min / 1440);
	t = start_min % 1440;
	for (;;) {
		civil_from_days(days, &y, &m, &d);
		if (y > CRON_YEAR_MAX)
			return -ENOENT;
		if (!year_set(c, y)) {
			days = days_from_civil(y + 1, 1, 1);
			t = 0;
			continue;
		}
		if (!(c->months & (1u << m))) {
			days = m == 12 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, m + 1, 1);
			t = 0;
			continue;
		}
		if (day_matches(c, y, m, d, weekday(days))) {
			for (; t < 1440; t++) {
				if ((c->hours & (1u << (t / 60))) && (c->minutes & (1ull << (t % 60)))) {
					*next_ms = ((uint64_t)days * 1440 + t) * MINUTE_MS;
					return 0;
				}
			}
		}
		days++;
		t = 0;
	}
}

bool
schedule_name_valid(const char *name)
{
	static const char allowed[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
	size_t n = strlen(name);

	return n >= 1 && n <= 64 && strspn(name, allowed) == n;
}
