/*
 * A seeded xorshift64 generator for the unit tests that compare two
 * implementations on random inputs: the same seed gives the same inputs on
 * every run, so a failure can be replayed. Define XORSHIFT_SEED before
 * including to pick a test's own sequence.
 */
#ifndef HEARTH_TEST_XORSHIFT_H
#define HEARTH_TEST_XORSHIFT_H

#include <stdint.h>

#ifndef XORSHIFT_SEED
#define XORSHIFT_SEED 0x9e3779b97f4a7c15ull
#endif

static uint64_t rng = XORSHIFT_SEED;

static uint32_t
next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

#endif
