/*
 * CPU cost of writing function log lines (src/invoke/fnlog.c) with and without
 * size rotation: 200,000 lines of 100 bytes, flushed 10 at a time as the loop's
 * check handle would, into a fresh directory.
 *
 *   make build/bench/log-write
 *   for i in 1 2 3 4 5 6 7; do for m in 0 16777216 65536; do
 *     build/bench/log-write $m; done; done | sort
 *
 * MAX_BYTES 0 never rotates (the floor); 16777216 is the default limit (one
 * rotation in this run); 65536 rotates about 300 times, the worst case. Process
 * CPU time, so compare medians of interleaved runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../src/invoke/fnlog.c"

#define LINES 200000
#define PER_BATCH 10

static struct fn_entry *the_fe;

/* The registry's lookup, for one function. */
struct fn_entry *
invoke__fn(struct invoke_service *svc, const char *name)
{
	(void)svc;
	(void)name;
	return the_fe;
}

static uint64_t
cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int
main(int argc, char **argv)
{
	char dir[] = "/tmp/hearth-log-bench-XXXXXX", text[80], cmd[64];
	struct invoke_service svc;
	uint64_t t0;
	int i;

	if (argc != 2 || !mkdtemp(dir)) {
		fprintf(stderr, "usage: log-write MAX_BYTES\n");
		return 2;
	}
	memset(&svc, 0, sizeof(svc));
	svc.log_dir = dir;
	svc.cfg.log_max_bytes = strtoull(argv[1], NULL, 10);
	the_fe = xcalloc(1, sizeof(*the_fe));
	the_fe->log_fd = -1;
	buf_init(&the_fe->log_pending);
	the_fe->cfg.name = xstrdup("fn");
	t0 = cpu_ns();
	for (i = 0; i < LINES; i++) {
		snprintf(text, sizeof(text), "line %07d %060d", i, 0);
		buf_adds(&the_fe->log_pending, "2026-11-27T12:00:00.000Z\t");
		buf_adds(&the_fe->log_pending, text);
		buf_addch(&the_fe->log_pending, '\n');
		if (i % PER_BATCH == PER_BATCH - 1)
			invoke__log_flush(&svc, the_fe);
	}
	printf("max %s: %.3f us CPU per %d-line batch\n", argv[1],
	       (double)(cpu_ns() - t0) / 1e3 / (LINES / PER_BATCH), PER_BATCH);
	invoke__log_close(&svc, the_fe);
	buf_release(&the_fe->log_pending);
	free(the_fe->cfg.name);
	free(the_fe);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) != 0;
}
