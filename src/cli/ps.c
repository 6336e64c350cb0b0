/*
 * `hearth ps`: the function instances the daemon holds now (GET
 * /v1/instances), one per sandbox: which function and revision, what it is
 * doing, its init's pid, how old it is and how many calls it has served.
 * A footer gives what thawing frozen instances has cost the daemon.
 */
#include <stdio.h>

#include "cli/client.h"
#include "cli/cmd.h"
#include "lib/banned.h"

static const char ps_usage[] =
	"usage: hearth ps [--data DIR]\n"
	"\n"
	"Lists the running function instances: starting, idle, frozen (idle, using no CPU until\n"
	"its next call), busy or ending; ',provisioned' marks those kept by provisioned\n"
	"concurrency.\n"
	"\n"
	"   --data DIR   data directory holding the admin token (default " CLI_DEFAULT_DATA ")\n"
	"   -h, --help   show this help\n";

int
cli__cmd_ps(int argc, char **argv, const struct cli_global *global)
{
	static const char *const headers[] = {
		"ID", "FUNCTION", "REVISION", "STATE", "PID", "AGE", "CALLS", "MEMORY", NULL,
	};
	const char *data_dir, *name = NULL;
	struct cli_table t;
	json_t *reply, *list, *in, *fz;
	char age[32];
	size_t i;
	int r;

	r = cli__simple_opts(argc, argv, global, ps_usage, 0, &name, &data_dir);
	if (r >= 0)
		return r;
	r = cli__run_json(data_dir, "GET", "/v1/instances", NULL, &reply);
	if (r)
		return r;
	list = json_object_get(reply, "instances");
	if (!json_is_array(list)) {
		json_decref(reply);
		return cli__error("the daemon's answer has no instance list");
	}
	cli__table_init(&t, headers);
	json_array_foreach(list, i, in) {
		cli__fmt_duration((uint64_t)cli__json_int(in, "ageMs"), age, sizeof(age));
		cli__table_cell(&t, "%lld", cli__json_int(in, "id"));
		cli__table_cell(&t, "%s", cli__json_str(in, "function"));
		cli__table_cell(&t, "%lld", cli__json_int(in, "revision"));
		/* Provisioned instances are kept whatever their state: say so. */
		cli__table_cell(&t, "%s%s", cli__json_str(in, "state"),
				json_is_true(json_object_get(in, "provisioned")) ? ",provisioned" : "");
		cli__table_cell(&t, "%lld", cli__json_int(in, "pid"));
		cli__table_cell(&t, "%s", age);
		cli__table_cell(&t, "%lld", cli__json_int(in, "calls"));
		cli__table_cell(&t, "%.1fMB", (double)cli__json_int(in, "memoryBytes") / 1048576.0);
	}
	cli__table_print(&t, stdout);
	cli__table_release(&t);
	fz = json_object_get(reply, "freezer");
	if (cli__json_int(fz, "thaws") > 0)
		printf("\nthaws: %lld, mean %.1f us, max %.1f us\n", cli__json_int(fz, "thaws"),
		       json_number_value(json_object_get(fz, "thawMeanUs")),
		       json_number_value(json_object_get(fz, "thawMaxUs")));
	json_decref(reply);
	return CLI_EXIT_OK;
}
