/* Parsers for durations and sizes written by people (see units.h). */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "lib/units.h"
#include "lib/banned.h"

/* Leading decimal digits of s into *out; returns how many were read (0: none). */
static size_t
digits(const char *s, uint64_t *out, int *overflow)
{
	uint64_t v = 0;
	size_t n = 0;

	*overflow = 0;
	for (; s[n] >= '0' && s[n] <= '9'; n++) {
		if (v > (UINT64_MAX - (uint64_t)(s[n] - '0')) / 10)
			*overflow = 1;
		else
			v = v * 10 + (uint64_t)(s[n] - '0');
	}
	*out = v;
	return n;
}

struct unit {
	const char *name;
	uint64_t factor;
};

static int
parse(const char *s, const struct unit *units, size_t nunits, uint64_t *out)
{
	uint64_t v;
	size_t n, i;
	int overflow;

	if (!s)
		return -EINVAL;
	n = digits(s, &v, &overflow);
	if (n == 0)
		return -EINVAL;
	if (overflow)
		return -ERANGE;
	for (i = 0; i < nunits; i++) {
		if (strcasecmp(s + n, units[i].name) == 0) {
			if (v > UINT64_MAX / units[i].factor)
				return -ERANGE;
			*out = v * units[i].factor;
			return 0;
		}
	}
	return -EINVAL;
}

int
units_parse_duration_ms(const char *s, uint64_t *ms)
{
	/* Case matters for durations: "m" is minutes, and "M" would read as months. */
	static const struct unit units[] = {
		{ "", 1000 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 },
		{ "h", 3600000 }, { "d", 86400000 },
	};
	size_t n;
	uint64_t v;
	int overflow;

	if (!s)
		return -EINVAL;
	n = digits(s, &v, &overflow);
	if (n && strcmp(s + n, "M") == 0)
		return -EINVAL;
	return parse(s, units, sizeof(units) / sizeof(units[0]), ms);
}

int
units_parse_size(const char *s, uint64_t *bytes)
{
	static const struct unit units[] = {
		{ "", 1 }, { "b", 1 },
		{ "k", 1ull << 10 }, { "kb", 1ull << 10 }, { "kib", 1ull << 10 },
		{ "m", 1ull << 20 }, { "mb", 1ull << 20 }, { "mib", 1ull << 20 },
		{ "g", 1ull << 30 }, { "gb", 1ull << 30 }, { "gib", 1ull << 30 },
	};

	return parse(s, units, sizeof(units) / sizeof(units[0]), bytes);
}
