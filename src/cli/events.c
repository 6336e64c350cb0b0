/*
 * `hearth events NAME`: the function's asynchronous invocations, newest
 * first, from GET /v1/functions/NAME/events: what is pending, what ran, what
 * failed and why.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "cli/cmd.h"
#include "lib/banned.h"

static const char events_usage[] =
	"usage: hearth events NAME [--state STATE] [--limit N] [--data DIR]\n"
	"       hearth events NAME --retry ID | --retry-failed\n"
	"       hearth events NAME --delete ID | --delete-failed\n"
	"\n"
	"Lists the function's asynchronous invocations (invoke --async, schedules,\n"
	"destinations), newest first: state (pending, running, retrying, succeeded,\n"
	"failed), attempts so far, when the next attempt is due and the last error.\n"
	"Finished events are pruned after the daemon's --event-retention (default 24h),\n"
	"except failed ones that reached no on-failure destination: those stay listed\n"
	"until you retry or delete them. Nothing is dropped silently.\n"
	"\n"
	"   --state STATE    only pending, running, succeeded or failed events\n"
	"   --limit N        at most N events (1-10000, default 100)\n"
	"   --retry ID       run failed event ID again, as a new event (no attempts yet)\n"
	"   --retry-failed   run again every failed event that reached no destination\n"
	"   --delete ID      delete finished event ID\n"
	"   --delete-failed  delete every failed event of the function\n"
	"   --data DIR       data directory holding the admin token (default "
	CLI_DEFAULT_DATA ")\n"
	"   -h, --help       show this help\n";

enum {
	OPT_STATE = 256,
	OPT_LIMIT,
	OPT_DATA,
	OPT_RETRY,
	OPT_RETRY_FAILED,
	OPT_DELETE,
	OPT_DELETE_FAILED,
};

/* What to do besides listing; at most one. */
struct action {
	int opt;		/* OPT_RETRY...; 0 = list */
	const char *id;		/* --retry ID / --delete ID */
};

/* Percent-encodes what a path segment cannot hold as is. */
static char *
segment(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	struct buf b = BUF_INIT;

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || strchr("-_.~", ch)) {
			buf_addch(&b, (char)ch);
		} else {
			buf_addch(&b, '%');
			buf_addch(&b, hex[ch >> 4]);
			buf_addch(&b, hex[ch & 15]);
		}
	}
	return buf_detach(&b, NULL);
}

static int
act(const char *data_dir, const char *name, const struct action *a)
{
	const bool retry = a->opt == OPT_RETRY || a->opt == OPT_RETRY_FAILED;
	char *path, *id = a->id ? segment(a->id) : NULL;
	json_t *reply;
	long long n;
	int r;

	if (a->opt == OPT_RETRY)
		path = xasprintf("/v1/functions/%s/events/%s/retry", name, id);
	else if (a->opt == OPT_RETRY_FAILED)
		path = xasprintf("/v1/functions/%s/events/retry", name);
	else if (a->opt == OPT_DELETE)
		path = xasprintf("/v1/functions/%s/events/%s", name, id);
	else
		path = xasprintf("/v1/functions/%s/events?state=failed", name);
	r = cli__run_json(data_dir, retry ? "POST" : "DELETE", path, NULL, &reply);
	free(path);
	free(id);
	if (r)
		return r;
	n = cli__json_int(reply, retry ? "retried" : "deleted");
	json_decref(reply);
	if (a->id)
		printf("%s event %s\n", retry ? "retried" : "deleted", a->id);
	else
		printf("%s %lld failed event%s\n", retry ? "retried" : "deleted", n,
		       n == 1 ? "" : "s");
	return CLI_EXIT_OK;
}

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
		{ "retry", required_argument, NULL, OPT_RETRY },
		{ "retry-failed", no_argument, NULL, OPT_RETRY_FAILED },
		{ "delete", required_argument, NULL, OPT_DELETE },
		{ "delete-failed", no_argument, NULL, OPT_DELETE_FAILED },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *data_dir = global->data_dir, *name = NULL, *state = NULL;
	struct action a = { 0 };
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
		case OPT_RETRY:
		case OPT_RETRY_FAILED:
		case OPT_DELETE:
		case OPT_DELETE_FAILED:
			if (a.opt)
				return cli__usage_error(argv[0], "give one of --retry, --retry-failed, "
							"--delete and --delete-failed");
			a.opt = c;
			a.id = optarg;
			if (a.id && !*a.id)
				return cli__usage_error(argv[0], "--%s wants a request id",
							c == OPT_RETRY ? "retry" : "delete");
			break;
		default:
			return CLI_EXIT_USAGE;
		}
	}
	r = cli__positional(argc, argv, 1, &name);
	if (r)
		return r;
	if (a.opt && state)
		return cli__usage_error(argv[0], "--state lists events; it does not go with --%s",
					a.opt == OPT_RETRY || a.opt == OPT_RETRY_FAILED ? "retry"
											: "delete");
	if (a.opt)
		return act(data_dir, name, &a);
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
