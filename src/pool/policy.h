/*
 * Scheduling policy: pure functions of observed state and `now_ms`.
 *
 * Nothing here touches processes, clocks or memory beyond its arguments, so
 * every decision is unit-tested from tables with a fake clock
 * (tests/unit/test-pool-policy.c); pool.c acts on the answers.
 *
 * Three decisions live here:
 *   - dispatch: where a call goes (a warm instance, a new one, the wait
 *     queue, or a throttle);
 *   - keep-alive: how long an idle instance stays warm, by a fixed window or
 *     by the hybrid histogram policy of "Serverless in the Wild" (Shahrad et
 *     al., USENIX ATC 2020), which learns each function's idle times;
 *   - eviction: which idle instance gives its memory to a cold start, by
 *     Greedy-Dual-Size-Frequency (FaasCache, Fuerst and Sharma, ASPLOS 2021).
 */
#ifndef HEARTH_POOL_POLICY_H
#define HEARTH_POOL_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- dispatch ---------------------------------------------------------- */

#define POLICY_UNLIMITED UINT32_MAX

struct policy_fn_obs {
	uint32_t idle;			/* warm instances ready for a call */
	uint32_t finishing;		/* answered, about to ask for the next call, none queued */
	uint32_t live;			/* instances of all its versions alive, in any state */
	uint32_t reserved;		/* reserved concurrency: cap on live; POLICY_UNLIMITED */
	uint64_t mem_mb;		/* one instance's memory size */
	uint32_t idle_other;		/* idle instances of its other versions (not provisioned) */
};

struct policy_host_obs {
	uint64_t budget_mb;		/* memory the instances may hold in all */
	uint64_t used_mb;		/* held now, counting each instance at its size */
	uint64_t evictable_mb;		/* held by idle instances of other functions */
};

enum policy_dispatch {
	POLICY_WARM = 1,		/* hand it to an idle instance */
	POLICY_QUEUE_FINISHING,		/* queue it on an instance about to ask for work */
	POLICY_COLD,			/* start an instance */
	POLICY_EVICT_COLD,		/* evict idle instances of others, then start one */
	POLICY_WAIT_FN,			/* at the function's reserved concurrency: wait */
	POLICY_WAIT_HOST,		/* the memory budget is spent: wait */
	POLICY_THROTTLE,		/* reserved concurrency 0: refuse now */
	POLICY_END_OTHER,		/* at reserved concurrency: end an idle instance of
					 * another version, then decide again */
};

/*
 * Reserved concurrency is the function's, shared by all its versions, as on
 * Lambda: fn->live and fn->idle_other count every version. A caller may leave
 * idle_other 0 until the answer is POLICY_WAIT_FN, and host->evictable_mb 0
 * until it is POLICY_WAIT_HOST, then ask again with them counted.
 */
enum policy_dispatch policy_dispatch(const struct policy_fn_obs *fn,
				     const struct policy_host_obs *host);

/* ---- keep-alive -------------------------------------------------------- */

/* The histogram covers idle times up to 4 hours in 1-minute bins, as in the paper. */
#define POLICY_HIST_BINS 240
#define POLICY_HIST_BIN_MS 60000u

struct policy_hist {
	uint32_t bin[POLICY_HIST_BINS];
	uint32_t total;			/* idle times recorded, out-of-range ones included */
	uint32_t out_of_range;		/* longer than the histogram */
	uint64_t last_end_ms;		/* when the last call ended; 0 = never */
};

enum policy_keepalive_kind { POLICY_KEEPALIVE_FIXED, POLICY_KEEPALIVE_ADAPTIVE };

struct policy_keepalive {
	uint64_t prewarm_ms;		/* end the instance now and start one after this; 0 = keep it */
	uint64_t keepalive_ms;		/* keep warm this long (after the pre-warm, if any) */
	bool from_histogram;		/* false: the fixed window was used */
};

/* Records the idle time between the last call's end and a new call at now_ms. */
void policy_hist_call_start(struct policy_hist *h, uint64_t now_ms);
void policy_hist_call_end(struct policy_hist *h, uint64_t now_ms);

/*
 * The window for an instance that just went idle. The adaptive policy falls
 * back to fixed_ms when it has fewer than POLICY_HIST_MIN_SAMPLES idle times,
 * when too many of them exceed the histogram, or when they are spread so
 * evenly that no pattern stands out (coefficient of variation of the bin
 * counts under 2, the paper's threshold).
 */
#define POLICY_HIST_MIN_SAMPLES 10
void policy_keepalive(const struct policy_hist *h, enum policy_keepalive_kind kind,
		      uint64_t fixed_ms, struct policy_keepalive *out);

/* ---- eviction (GDSF) --------------------------------------------------- */

struct policy_victim {
	uint64_t freq;			/* calls the function received */
	uint64_t cold_cost_us;		/* what evicting it costs the next call (its init time, µs:
					 * a C function starts in under a millisecond) */
	uint64_t mem_mb;		/* what evicting it frees */
	uint64_t idle_since_ms;		/* tie-break: longest idle goes first */
};

/* GDSF priority: clock + freq * cost / size. Higher stays longer. */
double policy_gdsf_priority(double clock, const struct policy_victim *v);
/* Index of the idle instance to evict first, or -1 when n == 0. */
long policy_pick_victim(const struct policy_victim *v, size_t n, double clock);

#endif
