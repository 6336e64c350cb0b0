/*
 * Versions and aliases: `hearth publish NAME`, `hearth versions NAME` and
 * `hearth alias NAME [ALIAS VERSION | --delete ALIAS]`. A published version
 * is an immutable snapshot of the function's code and settings; an alias
 * names one, and `hearth invoke NAME:ALIAS` (or NAME:3) calls it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "cli/cmd.h"
#include "lib/banned.h"

static const char publish_usage[] =
	"usage: hearth publish NAME [--description TEXT] [--data DIR]\n"
	"\n"
	"Publishes the function's current code and settings as a new, immutable\n"
	"version and prints its number. If nothing changed since the newest version,\n"
	"prints that version's number instead.\n"
	"\n"
	"   -d, --description TEXT  the version's description (default: the function's)\n"
	"       --data DIR          data directory holding the admin token (default "
	CLI_DEFAULT_DATA ")\n"
	"   -h, --help              show this help\n";

static const char versions_usage[] =
	"usage: hearth versions NAME [--data DIR]\n"
	"\n"
	"Lists the function's published versions.\n"
	"\n"
	"   --data DIR   data directory holding the admin token (default " CLI_DEFAULT_DATA ")\n"
	"   -h, --help   show this help\n";

static const char alias_usage[] =
	"usage: hearth alias NAME ALIAS VERSION [--description TEXT] [--data DIR]\n"
	"       hearth alias NAME                 (list the aliases)\n"
	"       hearth alias NAME --delete ALIAS\n"
	"\n"
	"Points ALIAS at VERSION (a published version number or $LATEST), creating\n"
	"the alias or moving it. Callers then use NAME:ALIAS.\n"
	"\n"
	"   -d, --description TEXT  the alias's description\n"
	"       --delete ALIAS      remove the alias\n"
	"       --data DIR          data directory holding the admin token (default "
	CLI_DEFAULT_DATA ")\n"
	"   -h, --help              show this help\n";

enum {
	OPT_DATA = 256,
	OPT_DELETE,
};

int
cli__cmd_publish(int argc, char **argv, const struct cli_global *global)
{
	static const struct option opts[] = {
		{ "description", required_argument, NULL, 'd' },
		{ "data", required_argument, NULL, OPT_DATA },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *data_dir = global->data_dir, *name = NULL, *description = NULL;
	json_t *body, *reply;
	char *path;
	int c, r;

	for (;;) {
		c = cli__getopt(argc, argv, ":hd:", opts);
		if (c == -1)
			break;
		switch (c) {
		case 'h':
			fputs(publish_usage, stdout);
			return CLI_EXIT_OK;
		case 'd':
			description = optarg;
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
	body = description ? json_pack("{s:s}", "description", description) : json_object();
	path = xasprintf("/v1/functions/%s/versions", name);
	r = cli__run_json(data_dir, "POST", path, body, &reply);
	free(path);
	json_decref(body);
	if (r)
		return r;
	printf("%lld\n", cli__json_int(reply, "version"));
	json_decref(reply);
	return CLI_EXIT_OK;
}

int
cli__cmd_versions(int argc, char **argv, const struct cli_global *global)
{
	static const char *const headers[] = {
		"VERSION", "RUNTIME", "MEMORY", "TIMEOUT", "CODE", "CREATED", "DESCRIPTION", NULL,
	};
	const char *data_dir, *name = NULL;
	struct cli_table t;
	json_t *reply, *list, *v;
	char when[32], *path;
	size_t i;
	int r;

	r = cli__simple_opts(argc, argv, global, versions_usage, 1, &name, &data_dir);
	if (r >= 0)
		return r;
	path = xasprintf("/v1/functions/%s/versions", name);
	r = cli__run_json(data_dir, "GET", path, NULL, &reply);
	free(path);
	if (r)
		return r;
	list = json_object_get(reply, "versions");
	if (!json_is_array(list)) {
		json_decref(reply);
		return cli__error("the daemon's answer has no version list");
	}
	cli__table_init(&t, headers);
	json_array_foreach(list, i, v) {
		cli__fmt_time((uint64_t)cli__json_int(v, "created_ms"), when, sizeof(when));
		cli__table_cell(&t, "%lld", cli__json_int(v, "version"));
		cli__table_cell(&t, "%s", cli__json_str(v, "runtime"));
		cli__table_cell(&t, "%lldMB", cli__json_int(v, "memory_mb"));
		cli__table_cell(&t, "%llds", cli__json_int(v, "timeout_s"));
		cli__table_cell(&t, "%.12s", cli__json_str(v, "code_sha256"));
		cli__table_cell(&t, "%s", when);
		cli__table_cell(&t, "%s", cli__json_str(v, "description"));
	}
	cli__table_print(&t, stdout);
	cli__table_release(&t);
	json_decref(reply);
	return CLI_EXIT_OK;
}

static int
alias_list(const char *data_dir, const char *name)
{
	static const char *const headers[] = { "ALIAS", "VERSION", "DESCRIPTION", NULL };
	struct cli_table t;
	json_t *reply, *list, *a;
	char *path = xasprintf("/v1/functions/%s/aliases", name);
	size_t i;
	int r;

	r = cli__run_json(data_dir, "GET", path, NULL, &reply);
	free(path);
	if (r)
		return r;
	list = json_object_get(reply, "aliases");
	if (!json_is_array(list)) {
		json_decref(reply);
		return cli__error("the daemon's answer has no alias list");
	}
	cli__table_init(&t, headers);
	json_array_foreach(list, i, a) {
		cli__table_cell(&t, "%s", cli__json_str(a, "name"));
		cli__table_cell(&t, "%s", cli__json_str(a, "version"));
		cli__table_cell(&t, "%s", cli__json_str(a, "description"));
	}
	cli__table_print(&t, stdout);
	cli__table_release(&t);
	json_decref(reply);
	return CLI_EXIT_OK;
}

int
cli__cmd_alias(int argc, char **argv, const struct cli_global *global)
{
	static const struct option opts[] = {
		{ "description", required_argument, NULL, 'd' },
		{ "delete", required_argument, NULL, OPT_DELETE },
		{ "data", required_argument, NULL, OPT_DATA },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *data_dir = global->data_dir, *name, *description = NULL, *del = NULL;
	json_t *body, *reply;
	char *path;
	int c, r, have;

	for (;;) {
		c = cli__getopt(argc, argv, ":hd:", opts);
		if (c == -1)
			break;
		switch (c) {
		case 'h':
			fputs(alias_usage, stdout);
			return CLI_EXIT_OK;
		case 'd':
			description = optarg;
			break;
		case OPT_DELETE:
			del = optarg;
			break;
		case OPT_DATA:
			data_dir = optarg;
			break;
		default:
			return CLI_EXIT_USAGE;
		}
	}
	have = argc - optind;
	if (have != 1 && have != 3)
		return cli__usage_error(argv[0], "'alias' wants NAME, or NAME ALIAS VERSION");
	name = argv[optind];
	if (!cli__name_valid(name))
		return cli__usage_error(argv[0], "invalid function name '%s': use 1 to 64 letters, "
					"digits, '-' or '_'", name);
	if (del) {
		if (have != 1 || description)
			return cli__usage_error(argv[0], "--delete takes only NAME");
		path = xasprintf("/v1/functions/%s/aliases/%s", name, del);
		r = cli__run_json(data_dir, "DELETE", path, NULL, &reply);
		free(path);
		json_decref(reply);
		if (!r)
			printf("removed alias %s of %s\n", del, name);
		return r;
	}
	if (have == 1) {
		if (description)
			return cli__usage_error(argv[0], "--description needs ALIAS and VERSION");
		return alias_list(data_dir, name);
	}
	/* The daemon checks ALIAS and VERSION; its messages say what is wrong. */
	body = json_pack("{s:s, s:s?}", "version", argv[optind + 2], "description", description);
	path = xasprintf("/v1/functions/%s/aliases/%s", name, argv[optind + 1]);
	r = cli__run_json(data_dir, "PUT", path, body, &reply);
	free(path);
	json_decref(body);
	if (r)
		return r;
	printf("%s:%s -> version %s\n", name, cli__json_str(reply, "name"),
	       cli__json_str(reply, "version"));
	json_decref(reply);
	return CLI_EXIT_OK;
}
