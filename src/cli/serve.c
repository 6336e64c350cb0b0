/*
 * `hearth serve`: parses the daemon's flags into struct daemon_opts and hands
 * over to daemon_run(). The daemon itself lives in src/daemon/; nothing here
 * runs once it has started.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "daemon/daemon.h"
#include "lib/err.h"
#include "lib/units.h"
#include "lib/banned.h"

/* Lambda keeps an unprocessed event at most 6 h; a day of finished ones lets a
 * user look back over last night's schedules and retries. */
#define SERVE_EVENT_RETENTION_MS (24ull * 3600 * 1000)
/* Two files of 16 MB: weeks of START/END/REPORT lines for a busy function, and
 * small enough that a thousand functions cannot fill a disk. */
#define SERVE_LOG_MAX_BYTES (16ull << 20)
#define SERVE_LOG_MIN_BYTES (64ull << 10)
#define SERVE_LOG_MAX_MAX_BYTES (1ull << 30)

static const char serve_usage[] =
	"usage: hearth serve [--data DIR] [--listen HOST:PORT] [--keepalive S] [--init PATH]\n"
	"                    [--gateway HOST:PORT|none] [--prestart N] [--allow-weaker-limits] [-v]\n"
	"\n"
	"Runs the daemon in the foreground: the admin API, invocations and sandboxes.\n"
	"\n"
	"   --data DIR          data directory: store, code, admin token (default "
	CLI_DEFAULT_DATA ")\n"
	"   --listen HOST:PORT  admin API address (default 127.0.0.1:7070; port 0 picks one)\n"
	"   --gateway HOST:PORT the HTTP gateway serving user routes (default 127.0.0.1:8080;\n"
	"                       port 0 picks one, written to DIR/gateway-address; none: off)\n"
	"   --keepalive S       seconds an idle instance is kept warm (default 600)\n"
	"   --init PATH         the hearth-init binary (default: hearth-init next to hearth)\n"
	"   --memory-budget MB  memory all instances may hold, each at its memory size\n"
	"                       (default 75% of RAM); over it idle instances are evicted\n"
	"   --queue-wait MS     how long a call waits for capacity before a 429 (default 1000)\n"
	"   --keepalive-policy fixed|adaptive\n"
	"                       fixed: the --keepalive window; adaptive: learn each function's\n"
	"                       idle times and pre-warm/keep warm around them (default fixed)\n"
	"   --freeze-after MS   freeze an instance idle this long, so it uses no CPU until\n"
	"                       its next call thaws it; 0 never freezes (default 100)\n"
	"   --prestart N        pre-started runtimes kept per interpreter (python3, node), so\n"
	"                       their cold starts skip interpreter start-up; 0: off (default 1,\n"
	"                       at most 4; see docs/sandbox.md)\n"
	"   --event-retention DURATION\n"
	"                       how long finished async events stay listed by 'hearth events'\n"
	"                       (e.g. 30m, 6h, 7d; default 24h). Failed events that reached\n"
	"                       no destination are kept until retried or deleted\n"
	"   --log-max-size SIZE each function's log rotates past SIZE, keeping the current\n"
	"                       file and one older (e.g. 512K, 16M; default 16M)\n"
	"   --allow-weaker-limits\n"
	"                       run functions even if this host cannot enforce every limit\n"
	"                       (memory is always required; see 'hearth doctor')\n"
	"   -v, --verbose       log more (debug)\n"
	"   -h, --help          show this help\n";

/* HOST:PORT, with an IPv6 host in brackets ("[::1]:7070"); port 0 lets the kernel pick. */
static bool
listen_valid(const char *s)
{
	const char *colon = strrchr(s, ':');
	uint64_t port;

	if (!colon || colon == s)
		return false;
	if (s[0] == '[' && colon[-1] != ']')
		return false;
	if (s[0] != '[' && memchr(s, ':', (size_t)(colon - s)))
		return false;
	return cli__parse_u64(colon + 1, 0, 65535, &port) == 0;
}

/* hearth-init ships next to the hearth binary; resolve it now so a relative
 * path or a changed $PATH cannot change which binary becomes PID 1. */
static char *
default_init_path(void)
{
	char exe[PATH_MAX];
	ssize_t n;
	char *slash;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return NULL;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return NULL;
	return xasprintf("%.*s/hearth-init", (int)(slash - exe), exe);
}

int
cli__cmd_serve(int argc, char **argv, const struct cli_global *global)
{
	static const struct option opts[] = {
		{ "data", required_argument, NULL, 'D' },
		{ "listen", required_argument, NULL, 'l' },
		{ "keepalive", required_argument, NULL, 'k' },
		{ "init", required_argument, NULL, 'i' },
		{ "allow-weaker-limits", no_argument, NULL, 'W' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "memory-budget", required_argument, NULL, 'm' },
		{ "queue-wait", required_argument, NULL, 'q' },
		{ "keepalive-policy", required_argument, NULL, 'p' },
		{ "gateway", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ "freeze-after", required_argument, NULL, 'F' },
		{ "prestart", required_argument, NULL, 'P' },
		{ "event-retention", required_argument, NULL, 'R' },
		{ "log-max-size", required_argument, NULL, 'L' },
		{ NULL, 0, NULL, 0 },
	};
	struct daemon_opts o = {
		.data_dir = global->data_dir ? global->data_dir : CLI_DEFAULT_DATA,
		.listen = "127.0.0.1:7070",
		.keepalive_s = 600,
		.init_path = NULL,
		.verbose = 0,
		.queue_wait_ms = 1000,
		.freeze_after_ms = 100,
		.prestart = 1,
		.event_retention_ms = SERVE_EVENT_RETENTION_MS,
		.log_max_bytes = SERVE_LOG_MAX_BYTES,
	};
	char *init_default = NULL;
	uint64_t v;
	int c, r;

	for (;;) {
		c = cli__getopt(argc, argv, ":hv", opts);
		if (c == -1)
			break;
		switch (c) {
		case 'h':
			fputs(serve_usage, stdout);
			return CLI_EXIT_OK;
		case 'D':
			o.data_dir = optarg;
			break;
		case 'l':
			if (!listen_valid(optarg))
				return cli__usage_error(argv[0],
							"--listen wants HOST:PORT, not '%s'",
							optarg);
			o.listen = optarg;
			break;
		case 'k':
			if (cli__parse_u64(optarg, 0, 7 * 86400, &v) < 0)
				return cli__usage_error(argv[0],
							"--keepalive wants seconds from 0 to "
							"604800, not '%s'",
							optarg);
			o.keepalive_s = (unsigned)v;
			break;
		case 'i':
			o.init_path = optarg;
			break;
		case 'm':
			if (cli__parse_u64(optarg, 128, UINT32_MAX, &v) < 0)
				return cli__usage_error(argv[0], "--memory-budget wants megabytes "
							"(at least 128), not '%s'", optarg);
			o.memory_budget_mb = v;
			break;
		case 'q':
			if (cli__parse_u64(optarg, 0, 60000, &v) < 0)
				return cli__usage_error(argv[0], "--queue-wait wants milliseconds "
							"from 0 to 60000, not '%s'", optarg);
			o.queue_wait_ms = v;
			break;
		case 'p':
			if (strcmp(optarg, "fixed") && strcmp(optarg, "adaptive"))
				return cli__usage_error(argv[0], "--keepalive-policy wants fixed or "
							"adaptive, not '%s'", optarg);
			o.keepalive_adaptive = strcmp(optarg, "adaptive") == 0;
			break;
		case 'F':
			if (cli__parse_u64(optarg, 0, 3600000, &v) < 0)
				return cli__usage_error(argv[0], "--freeze-after wants milliseconds "
							"from 0 to 3600000, not '%s'", optarg);
			o.freeze_after_ms = v;
			break;
		case 'P':
			if (cli__parse_u64(optarg, 0, 4, &v) < 0)
				return cli__usage_error(argv[0], "--prestart wants a count from 0 to 4, "
							"not '%s'", optarg);
			o.prestart = (unsigned)v;
			break;
		case 'g':
			if (strcmp(optarg, "none") != 0 && !listen_valid(optarg))
				return cli__usage_error(argv[0], "--gateway wants HOST:PORT or none, "
							"not '%s'", optarg);
			o.gateway = optarg;
			break;
		case 'R':
			if (units_parse_duration_ms(optarg, &v) < 0 || v < 1000 ||
			    v > 365ull * 86400000)
				return cli__usage_error(argv[0], "--event-retention wants a duration "
							"from 1s to 365d (e.g. 30m, 6h, 7d), not "
							"'%s'", optarg);
			o.event_retention_ms = v;
			break;
		case 'L':
			if (units_parse_size(optarg, &v) < 0 || v < SERVE_LOG_MIN_BYTES ||
			    v > SERVE_LOG_MAX_MAX_BYTES)
				return cli__usage_error(argv[0], "--log-max-size wants a size from "
							"64K to 1G (e.g. 512K, 16M), not '%s'",
							optarg);
			o.log_max_bytes = v;
			break;
		case 'W':
			o.allow_weaker_limits = true;
			break;
		case 'v':
			o.verbose++;
			break;
		default:
			return CLI_EXIT_USAGE;
		}
	}
	r = cli__positional(argc, argv, 0, NULL);
	if (r)
		return r;
	if (!o.data_dir[0])
		return cli__usage_error(argv[0], "--data wants a directory");
	if (!o.init_path) {
		init_default = default_init_path();
		if (!init_default)
			return cli__error("cannot find the hearth binary's directory for "
					  "hearth-init (pass --init PATH)");
		o.init_path = init_default;
	}
	r = daemon_run(&o);
	free(init_default);
	/* daemon_run reports its own failures; a negative errno still means "failed". */
	if (r < 0)
		return CLI_EXIT_ERROR;
	return r;
}
