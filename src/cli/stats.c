/* `hearth stats NAME`: a function's counters and duration percentiles. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/client.h"
#include "cli/cmd.h"
#include "lib/err.h"
#include "lib/banned.h"

static const char stats_usage[] =
	"usage: hearth stats NAME [--data DIR]\n"
	"\n"
	"Shows a function's counters since the daemon started: invocations, cold and warm\n"
	"starts, errors, timeouts, throttles, and the duration percentiles of its latest calls.\n"
	"\n"
	"   --data DIR   data directory holding the admin token (default " CLI_DEFAULT_DATA ")\n"
	"   -h, --help   show this help\n";

int
cli__cmd_stats(int argc, char **argv, const struct cli_global *global)
{
	const char *data_dir, *name = NULL;
	json_t *reply, *dur;
	char *path;
	int r;

	r = cli__simple_opts(argc, argv, global, stats_usage, 1, &name, &data_dir);
	if (r >= 0)
		return r;
	path = xasprintf("/v1/functions/%s/stats", name);
	r = cli__run_json(data_dir, "GET", path, NULL, &reply);
	free(path);
	if (r)
		return r;
	dur = json_object_get(reply, "durationMs");
	printf("function      %s\n", cli__json_str(reply, "function"));
	printf("invocations   %lld\n", cli__json_int(reply, "invocations"));
	printf("cold starts   %lld\n", cli__json_int(reply, "coldStarts"));
	printf("warm starts   %lld\n", cli__json_int(reply, "warmStarts"));
	printf("errors        %lld\n", cli__json_int(reply, "errors"));
	printf("timeouts      %lld\n", cli__json_int(reply, "timeouts"));
	printf("throttles     %lld\n", cli__json_int(reply, "throttles"));
	printf("duration      p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  (latest %lld calls)\n",
	       json_real_value(json_object_get(dur, "p50")),
	       json_real_value(json_object_get(dur, "p90")),
	       json_real_value(json_object_get(dur, "p99")), cli__json_int(dur, "samples"));
	json_decref(reply);
	return CLI_EXIT_OK;
}
