/*
 * `hearth serve`: wires the store, the sandbox spawner, the invocation service
 * and the admin API onto one libuv loop, and shuts them down in order.
 */
#ifndef HEARTH_DAEMON_H
#define HEARTH_DAEMON_H

#include <stdint.h>
#include <stdbool.h>

struct daemon_opts {
	const char *data_dir;		/* --data DIR, default "./hearth-data" */
	const char *listen;		/* --listen HOST:PORT, default "127.0.0.1:7070" */
	unsigned keepalive_s;		/* --keepalive S, default 600: idle instance lifetime */
	const char *init_path;		/* --init PATH: hearth-init binary; default: next to the executable */
	int verbose;			/* -v */
	uint64_t memory_budget_mb;	/* --memory-budget MB; 0 = 75 % of RAM */
	uint64_t queue_wait_ms;		/* --queue-wait MS: wait for capacity before a 429 */
	int keepalive_adaptive;		/* --keepalive-policy adaptive (default fixed) */
	uint64_t freeze_after_ms;	/* --freeze-after MS: freeze idle instances; 0 = never */
	bool allow_weaker_limits;	/* --allow-weaker-limits: run without limits the host lacks */
	const char *gateway;		/* --gateway HOST:PORT (default 127.0.0.1:8080), "none": off */
	unsigned prestart;		/* --prestart N: pre-started runtimes per interpreter */
	uint64_t event_retention_ms;	/* --event-retention: finished events kept this long */
	uint64_t log_max_bytes;		/* --log-max-size: a function log file rotates past it */
};

/* Runs until SIGTERM or SIGINT; returns the process exit status (0 after a clean stop). */
int daemon_run(const struct daemon_opts *opts);

#endif
