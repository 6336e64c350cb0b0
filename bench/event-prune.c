/*
 * How long one pruning batch holds the loop (src/invoke/async.c prunes finished
 * events in batches of 500 from a timer on the loop thread), against the floor of
 * what it competes with: committing one accepted event (store_event_add, the work
 * before every async 202).
 *
 *   make build/bench/event-prune && build/bench/event-prune [EVENTS] [BATCH]
 *
 * Fills a fresh store with EVENTS finished events (default 100000: a day of about
 * one event a second, plus retries), a tenth of them failures that reached no
 * destination (never pruned, so every batch walks past them), then prunes in
 * batches of BATCH (default 500, as the daemon does) and reports the thread CPU
 * time per batch (median, p99, max) and per pruned event. CPU time, not wall
 * time, so other work on the machine does not move the numbers much.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"

static uint64_t
cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
fail(const char *what, const struct err *err)
{
	fprintf(stderr, "event-prune: %s: %s\n", what, err->msg);
	exit(1);
}

int
main(int argc, char **argv)
{
	long events = argc > 1 ? atol(argv[1]) : 100000, batch = argc > 2 ? atol(argv[2]) : 500;
	char dir[] = "/tmp/hearth-prune-bench-XXXXXX", path[64], rid[32], cmd[96];
	struct err err = ERR_INIT;
	struct store_event ev[64];
	uint64_t *adds, *batches, t0, total = 0, pruned = 0;
	struct store *st;
	long i, nb = 0, n;
	int k, got;

	if (events < 1 || batch < 1 || !mkdtemp(dir))
		return 2;
	snprintf(path, sizeof(path), "%s/hearth.db", dir);
	if (store_open(&st, path, &err) < 0)
		fail("open", &err);
	adds = calloc((size_t)events, sizeof(*adds));
	batches = calloc((size_t)(events / batch + 2), sizeof(*batches));
	/* Fill: add, claim, finish in groups of 64, as the dispatcher would. */
	for (i = 0; i < events; i += 64) {
		n = events - i < 64 ? events - i : 64;
		for (k = 0; k < n; k++) {
			snprintf(rid, sizeof(rid), "r%ld", i + k);
			t0 = cpu_ns();
			if (store_event_add(st, rid, "fn", "{\"k\":1}", 7, 1000 + (uint64_t)(i + k),
					    &err) < 0)
				fail("add", &err);
			adds[i + k] = cpu_ns() - t0;
		}
		got = store_event_claim(st, UINT64_MAX / 2, ev, (int)n, &err);
		if (got != n)
			fail("claim", &err);
		for (k = 0; k < got; k++) {
			if (store_event_finish(st, ev[k].id, (ev[k].id % 10) ? EVENT_SUCCEEDED :
					       EVENT_FAILED, NULL, 2000 + (uint64_t)ev[k].id,
					       &err) < 0)
				fail("finish", &err);
			store_event_release(&ev[k]);
		}
	}
	for (;;) {
		t0 = cpu_ns();
		got = store_event_prune(st, UINT64_MAX / 2, (int)batch, &err);
		batches[nb] = cpu_ns() - t0;
		if (got < 0)
			fail("prune", &err);
		if (got == 0)
			break;
		total += batches[nb++];
		pruned += (uint64_t)got;
	}
	qsort(adds, (size_t)events, sizeof(*adds), cmp_u64);
	qsort(batches, (size_t)nb, sizeof(*batches), cmp_u64);
	printf("events %ld (%ld kept: failures with no destination), batch %ld\n", events,
	       events - (long)pruned, batch);
	printf("floor: store_event_add   median %.1f us  p99 %.1f us (thread CPU)\n",
	       adds[events / 2] / 1e3, adds[events * 99 / 100] / 1e3);
	if (nb)
		printf("prune: per batch        median %.1f us  p99 %.1f us  max %.1f us; "
		       "%.2f us per pruned event; %ld batches\n",
		       batches[nb / 2] / 1e3, batches[nb * 99 / 100] / 1e3, batches[nb - 1] / 1e3,
		       (double)total / (double)pruned / 1e3, nb);
	store_close(st);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	free(adds);
	free(batches);
	return 0;
}
