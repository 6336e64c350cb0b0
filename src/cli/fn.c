/*
 * The function-management commands that are one request each:
 * `hearth ls`, `hearth get NAME` and `hearth rm NAME`.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli/client.h"
#include "cli/cmd.h"
#include "lib/banned.h"

static const char ls_usage[] =
	"usage: hearth ls [--data DIR]\n"
	"\n"
	"Lists the functions, by name.\n"
	"\n"
	"   --data DIR   data directory holding the admin token (default " CLI_DEFAULT_DATA ")\n"
	"   -h, --help   show this help\n";

static const char get_usage[] =
	"usage: hearth get NAME [--data DIR]\n"
	"\n"
	"Prints the function's settings as JSON.\n"
	"\n"
	"   --data DIR   data directory holding the admin token (default " CLI_DEFAULT_DATA ")\n"
	"   -h, --help   show this help\n";

static const char rm_usage[] =
	"usage: hearth rm NAME [--data DIR]\n"
	"\n"
	"Deletes the function; its instances are ended and its pending events fail.\n"
	"\n"
	"   --data DIR   data directory holding the admin token (default " CLI_DEFAULT_DATA ")\n"
	"   -h, --help   show this help\n";

int
cli__cmd_ls(int argc, char **argv, const struct cli_global *global)
{
	static const char *const headers[] = {
		"NAME", "RUNTIME", "MEMORY", "TIMEOUT", "REVISION", "UPDATED", NULL,
	};
	const char *data_dir, *name = NULL;
	struct cli_table t;
	char when[32];
	json_t *reply, *fns, *fn;
	size_t i;
	int r;

	r = cli__simple_opts(argc, argv, global, ls_usage, 0, &name, &data_dir);
	if (r >= 0)
		return r;
	r = cli__run_json(data_dir, "GET", "/v1/functions", NULL, &reply);
	if (r)
		return r;
	fns = json_object_get(reply, "functions");
	if (!json_is_array(fns)) {
		json_decref(reply);
		return cli__error("the daemon's answer has no function list");
	}
	cli__table_init(&t, headers);
	json_array_foreach(fns, i, fn) {
		cli__fmt_time((uint64_t)cli__json_int(fn, "updated_ms"), when, sizeof(when));
		cli__table_cell(&t, "%s", cli__json_str(fn, "name"));
		cli__table_cell(&t, "%s", cli__json_str(fn, "runtime"));
		cli__table_cell(&t, "%lldMB", cli__json_int(fn, "memory_mb"));
		cli__table_cell(&t, "%llds", cli__json_int(fn, "timeout_s"));
		cli__table_cell(&t, "%lld", cli__json_int(fn, "revision"));
		cli__table_cell(&t, "%s", when);
	}
	cli__table_print(&t, stdout);
	cli__table_release(&t);
	json_decref(reply);
	return CLI_EXIT_OK;
}

int
cli__cmd_get(int argc, char **argv, const struct cli_global *global)
{
	const char *data_dir, *name = NULL;
	json_t *reply;
	char *path, *text;
	int r;

	r = cli__simple_opts(argc, argv, global, get_usage, 1, &name, &data_dir);
	if (r >= 0)
		return r;
	path = xasprintf("/v1/functions/%s", name);
	r = cli__run_json(data_dir, "GET", path, NULL, &reply);
	free(path);
	if (r)
		return r;
	text = reply ? json_dumps(reply, JSON_INDENT(2)) : NULL;
	json_decref(reply);
	if (!text)
		return cli__error("the daemon sent an empty answer for '%s'", name);
	printf("%s\n", text);
	free(text);
	return CLI_EXIT_OK;
}

int
cli__cmd_rm(int argc, char **argv, const struct cli_global *global)
{
	const char *data_dir, *name = NULL;
	json_t *reply;
	char *path;
	int r;

	r = cli__simple_opts(argc, argv, global, rm_usage, 1, &name, &data_dir);
	if (r >= 0)
		return r;
	path = xasprintf("/v1/functions/%s", name);
	r = cli__run_json(data_dir, "DELETE", path, NULL, &reply);
	free(path);
	json_decref(reply);
	if (r)
		return r;
	printf("removed %s\n", name);
	return CLI_EXIT_OK;
}
