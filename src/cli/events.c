/*
 * `hearth events NAME`: the function's asynchronous invocations, newest
 * first, from GET /v1/functions/NAME/events: what is pending, what ran, what
 * failed and why.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli/client.h"
#include "cli/cmd.h"
#include "lib/banned.h"

static const char events_usage[] =
	"usage: hearth events NAME [--data DIR]\n"
	"\n"
	"Lists the function's asynchronous invocations (invoke --async, triggers), newest\n"
	"first: state, attempts so far, when the next attempt is due and the last error.\n"
	"\n"
	"   --data DIR   data directory holding the admin token (default " CLI_DEFAULT_DATA ")\n"
	"   -h, --help   show this help\n";

int
cli__cmd_events(int argc, char **argv, const struct cli_global *global)
{
	static const char *const headers[] = {
		"REQUEST ID", "STATE", "ATTEMPTS", "CREATED", "NEXT", "LAST ERROR", NULL,
	};
	const char *data_dir, *name = NULL;
	struct cli_table t;
	char created[32], next[32];
	json_t *reply, *events, *ev;
	char *path;
	size_t i;
	int r;

	r = cli__simple_opts(argc, argv, global, events_usage, 1, &name, &data_dir);
	if (r >= 0)
		return r;
	path = xasprintf("/v1/functions/%s/events", name);
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
