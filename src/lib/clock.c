#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"

uint64_t
clock_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t
clock_mono_ms(void)
{
	return clock_mono_ns() / 1000000u;
}

uint64_t
clock_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void
clock_iso8601(uint64_t wall_ms, char out[32])
{
	/* Every log line is stamped, several per call: the date and time of the last second
	 * seen are kept (per thread), so most stamps cost a copy, not gmtime and strftime. */
	static _Thread_local time_t last_secs = -1;
	static _Thread_local char last[24];
	static _Thread_local size_t last_len;
	time_t secs = (time_t)(wall_ms / 1000);
	unsigned ms = (unsigned)(wall_ms % 1000);
	struct tm tm;

	if (secs != last_secs) {
		gmtime_r(&secs, &tm);
		last_len = strftime(last, sizeof(last), "%Y-%m-%dT%H:%M:%S", &tm);
		last_secs = secs;
	}
	memcpy(out, last, last_len);
	out[last_len] = '.';
	out[last_len + 1] = (char)('0' + ms / 100);
	out[last_len + 2] = (char)('0' + ms / 10 % 10);
	out[last_len + 3] = (char)('0' + ms % 10);
	out[last_len + 4] = 'Z';
	out[last_len + 5] = '\0';
}
