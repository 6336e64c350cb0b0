/*
 * Human-written quantities on the command line: durations ("90s", "6h", "1d")
 * and sizes ("16M", "512K"). Pure parsers of short strings; no locale, no
 * floating point, and every overflow is an error rather than a wrap.
 */
#ifndef HEARTH_UNITS_H
#define HEARTH_UNITS_H

#include <stdint.h>

/*
 * A duration: digits followed by one unit, ms, s, m, h or d ("1500ms", "30s",
 * "15m", "6h", "7d"); digits alone are seconds. Fills *ms. -EINVAL for anything
 * else (empty, a sign, spaces, two units, an unknown unit), -ERANGE on overflow.
 */
int units_parse_duration_ms(const char *s, uint64_t *ms);
/*
 * A size in bytes: digits and an optional binary suffix, K, M or G (also KB,
 * MB, GB, KiB, MiB, GiB; any case), so "16M" is 16 MiB; digits alone are bytes.
 * Fills *bytes. -EINVAL / -ERANGE as above.
 */
int units_parse_size(const char *s, uint64_t *bytes);

#endif
