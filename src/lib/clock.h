/* Clocks. Policy code never reads these: it takes now_ms as an argument. */
#ifndef HEARTH_CLOCK_H
#define HEARTH_CLOCK_H

#include <stdint.h>

uint64_t clock_mono_ns(void);
uint64_t clock_mono_ms(void);
uint64_t clock_wall_ms(void);	/* epoch milliseconds */



/* "2026-11-27T12:00:00.123Z" into out (at least 25 bytes). */
void clock_iso8601(uint64_t wall_ms, char out[32]);
#endif
