/*
 * `hearth events NAME`: the function's asynchronous invocations, newest
 * first, from GET /v1/functions/NAME/events: what is pending, what ran, what
 * failed and why.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "cli/cmd.h"
#include "lib/banned.h"

static const char events_usage[] =
	"usage: hearth events NAME [--state STATE] [--limit N] [--data DIR]\n"
	"\n"
	"Lists the function's asynchronous invocations (invoke --async, schedules,\n"
	"destinations), newest first: state (pending, running, retrying, succeeded,\n"
	"failed), attempts so far, when the next attempt is due and the last error.\n"
	"Failed events stay listed: nothing is dropped.\n"
	"\n"
	"   --state STATE  only pending, running, succeeded or failed events\n"
	"   --limit N      at most N events (1-10000, default 100)\n"
	"   --data DIR     data directory holding the admin token (default " CLI_DEFAULT_DATA ")\n"
	"   -h, --help     show this help\n";

enum {
	OPT_STATE = 256,
	OPT_LIMIT,
	OPT_DATA,
};

int
cli__cmd_events(int argc, char **argv, const struct cli_global *global)
{
	static const char *const headers[] = {
		"REQUEST ID", "STATE", "ATTEMPTS", "CREATED", "NEXT", "LAST ERROR", NULL,
	};
	static const struct option opts[] = {
		{ "state", required_argument, NULL, OPT_STATE },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		{ "data", required_argument, NULL, OPT_DATA },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *data_dir = global->data_dir, *name = NULL, *state = NULL;
	struct cli_table t;
	char created[32], next[32];
	json_t *reply, *events, *ev;
	uint64_t limit = 100;
	char *path;
	size_t i;
	int c, r;

	for (;;) {
		c = cli__getopt(argc, argv, ":h", opts);
		if (c == -1)
			break;
		switch (c) {
		case 'h':
			fputs(events_usage, stdout);
			return CLI_EXIT_OK;
		case OPT_STATE:
			if (strcmp(optarg, "pending") && strcmp(optarg, "running") &&
			    strcmp(optarg, "succeeded") && strcmp(optarg, "failed"))
				return cli__usage_error(argv[0], "--state wants pending, running, "
							"succeeded or failed, not '%s'", optarg);
			state = optarg;
			break;
		case OPT_LIMIT:
			if (cli__parse_u64(optarg, 1, 10000, &limit) < 0)
				return cli__usage_error(argv[0], "--limit wants a number from 1 to "
							"10000, not '%s'", optarg);
			break;
		case OPT_DATA:
			data_dir = optarg;
			break;
		default:
			return CLI_EXIT_USAGE;
		}
	}
	r = cli__positional(argc, argv, 1, &name);
	if (r)
		return r;
	path = xasprintf("/v1/functions/%s/events?limit=%llu%s%s", name, (unsigned long long)limit,
			 state ? "&state=" : "", state ? state : "");
	r = cli__run_json(data_dir, "GET", path, NULL, &reply);
	free(path);
	if (r)
		return r;
	events = json_object_get(reply, "events");
	if (!json_is_array(events)) {
		json_decref(reply);
		return cli__error("the daemon's answer has no event list");
	}
	cli__table_init(&t, headers);
	json_array_foreach(events, i, ev) {
		cli__fmt_time((uint64_t)cli__json_int(ev, "createdMs"), created, sizeof(created));
		cli__fmt_time((uint64_t)cli__json_int(ev, "nextMs"), next, sizeof(next));
		cli__table_cell(&t, "%s", cli__json_str(ev, "requestId"));
		cli__table_cell(&t, "%s", cli__json_str(ev, "state"));
		cli__table_cell(&t, "%lld", cli__json_int(ev, "attempts"));
		cli__table_cell(&t, "%s", created);
		cli__table_cell(&t, "%s", next);
		cli__table_cell(&t, "%s", *cli__json_str(ev, "lastError") ?
					  cli__json_str(ev, "lastError") : "-");
	}
	cli__table_print(&t, stdout);
	cli__table_release(&t);
	json_decref(reply);
	return CLI_EXIT_OK;
}
