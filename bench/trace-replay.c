/*
 * trace-replay: the keep-alive policies on a synthetic day of traffic.
 *
 * The trace is deterministic (fixed seed) and shaped like the Azure Functions
 * 2019 trace as Shahrad et al. describe it (USENIX ATC 2020): per-function
 * invocation rates spread over about eight orders of magnitude, most
 * functions called rarely (under once an hour), about half of them driven
 * by timers (periodic), the rest Poisson-like with bursts.
 *
 * It is replayed on a virtual clock against hearth's own policy code
 * (src/pool/policy.c: policy_hist_*, policy_keepalive) with one instance per
 * function, as the paper's simulation does: a call finds its instance warm
 * or starts it cold; after the call the policy picks the pre-warm and
 * keep-alive windows. Reported per policy: cold starts in percent of calls,
 * and the memory held by idle instances in GB-seconds (each at 128 MB).
 *
 *   trace-replay [FUNCTIONS] [HOURS]
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool/policy.h"

#define MEM_GB (128.0 / 1024.0)
#define CALL_MS 200

struct fn {
	int periodic;
	double period_ms;	/* periodic: the timer's period */
	double rate_per_ms;	/* Poisson: mean rate */
	double burst;		/* probability that a call brings a burst of followers */
	uint64_t next_ms;
};

struct call {
	uint64_t t;
	uint32_t fn;
};

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static double
urand(void)
{
	/* xorshift64*: deterministic across machines. */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (double)((rng * 0x2545f4914f6cdd1dull) >> 11) / 9007199254740992.0;
}

static int
by_time(const void *a, const void *b)
{
	const struct call *x = a, *y = b;

	return x->t < y->t ? -1 : x->t > y->t ? 1 : (x->fn > y->fn) - (x->fn < y->fn);
}

static struct call *
make_trace(uint32_t nfn, uint64_t horizon_ms, size_t *ncalls)
{
	struct fn *f = calloc(nfn, sizeof(*f));
	size_t cap = 1 << 16, n = 0;
	struct call *calls = malloc(cap * sizeof(*calls));
	uint32_t i;

	for (i = 0; i < nfn; i++) {
		/* Daily call counts from 1 to 10^5, skewed so most functions are
		 * rare (the trace's median function runs a few times an hour). */
		double per_day = pow(10.0, 5.0 * pow(urand(), 2.0));

		f[i].periodic = urand() < 0.5;
		if (f[i].periodic) {
			/* Timers at common periods: 1, 5, 10, 15, 30, 60, 120 minutes. */
			static const double mins[] = { 1, 5, 10, 15, 30, 60, 120 };

			f[i].period_ms = mins[(int)(urand() * 7)] * 60000.0;
			f[i].next_ms = (uint64_t)(urand() * f[i].period_ms);
		} else {
			f[i].rate_per_ms = per_day / 86400000.0;
			f[i].burst = urand() < 0.3 ? 0.2 : 0.0;
			f[i].next_ms = (uint64_t)(-log(1 - urand()) / f[i].rate_per_ms);
		}
		while (f[i].next_ms < horizon_ms) {
			if (n + 8 >= cap) {
				cap *= 2;
				calls = realloc(calls, cap * sizeof(*calls));
			}
			calls[n++] = (struct call){ f[i].next_ms, i };
			if (!f[i].periodic && urand() < f[i].burst) {
				int k, extra = 1 + (int)(urand() * 5);

				for (k = 0; k < extra; k++)
					calls[n++] = (struct call){ f[i].next_ms + (uint64_t)(urand() * 2000) + 1, i };
			}
			if (f[i].periodic)
				f[i].next_ms += (uint64_t)f[i].period_ms + (uint64_t)(urand() * 1000);
			else
				f[i].next_ms += 1 + (uint64_t)(-log(1 - urand()) / f[i].rate_per_ms);
		}
	}
	free(f);
	qsort(calls, n, sizeof(*calls), by_time);
	*ncalls = n;
	return calls;
}

/* Instances of one function: each warm in [warm_from, warm_until) once its
 * call ends at busy_until. Up to MAX_INST at once, as a pool would scale out. */
#define MAX_INST 32

struct inst {
	uint64_t busy_until, warm_from, warm_until;
	int alive;
};

struct fnstate {
	struct policy_hist hist;
	struct inst in[MAX_INST];
};

static uint64_t
min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* GB-seconds an instance held while warm and unused in [from, to). */
static double
held(uint64_t from, uint64_t to)
{
	return to > from ? (double)(to - from) / 1000.0 * MEM_GB : 0;
}

static void
replay(const struct call *calls, size_t n, uint32_t nfn, enum policy_keepalive_kind kind,
       uint64_t fixed_ms, uint64_t horizon_ms, const char *label)
{
	struct fnstate *fs = calloc(nfn, sizeof(*fs));
	double idle_gbs = 0;
	size_t i, cold = 0;
	int k;

	for (i = 0; i < n; i++) {
		struct fnstate *f = &fs[calls[i].fn];
		uint64_t t = calls[i].t, end = t + CALL_MS;
		struct policy_keepalive ka;
		struct inst *use = NULL, *slot = NULL;

		policy_hist_call_start(&f->hist, t);
		/* Warm first: a free instance inside its window. Windows that
		 * ended are settled (their idle memory counted) on the way. */
		for (k = 0; k < MAX_INST; k++) {
			struct inst *s = &f->in[k];

			if (s->alive && s->busy_until <= t && t >= s->warm_until) {
				idle_gbs += held(s->warm_from, s->warm_until);
				s->alive = 0;
			}
			if (!s->alive) {
				if (!slot)
					slot = s;
				continue;
			}
			if (!use && s->busy_until <= t && t >= s->warm_from)
				use = s;
		}
		if (use) {
			idle_gbs += held(use->warm_from, t);
		} else {
			cold++;
			use = slot ? slot : &f->in[0];	/* all busy: reuse a slot's bookkeeping */
		}
		policy_hist_call_end(&f->hist, end);
		policy_keepalive(&f->hist, kind, fixed_ms, &ka);
		use->alive = 1;
		use->busy_until = end;
		use->warm_from = end + ka.prewarm_ms;
		use->warm_until = use->warm_from + ka.keepalive_ms;
	}
	/* Windows still open when the trace ends. */
	for (i = 0; i < nfn; i++)
		for (k = 0; k < MAX_INST; k++)
			if (fs[i].in[k].alive)
				idle_gbs += held(fs[i].in[k].warm_from,
						 min_u64(fs[i].in[k].warm_until, horizon_ms));
	printf("%-34s %9zu %9zu %8.2f%% %14.0f\n", label, n, cold, 100.0 * (double)cold / (double)n,
	       idle_gbs);
	free(fs);
}

int
main(int argc, char **argv)
{
	uint32_t nfn = argc > 1 ? (uint32_t)atoi(argv[1]) : 2000;
	uint64_t hours = argc > 2 ? (uint64_t)atoll(argv[2]) : 24;
	uint64_t horizon = hours * 3600000;
	size_t n;
	struct call *calls = make_trace(nfn, horizon, &n);

	printf("synthetic trace: %u functions, %llu h, %zu calls (seeded, deterministic)\n", nfn,
	       (unsigned long long)hours, n);
	printf("%-34s %9s %9s %9s %14s\n", "policy", "calls", "cold", "cold %", "idle GB-s");
	replay(calls, n, nfn, POLICY_KEEPALIVE_FIXED, 600000, horizon, "fixed 10-minute window");
	replay(calls, n, nfn, POLICY_KEEPALIVE_ADAPTIVE, 600000, horizon,
	       "adaptive (hybrid histogram)");
	free(calls);
	return 0;
}
