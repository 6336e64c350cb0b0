/*
 * `hearth schedule add|ls|get|rm|enable|disable`: schedules that invoke a
 * function asynchronously, through /v1/schedules.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "cli/cmd.h"
#include "lib/banned.h"

static const char schedule_usage[] =
	"usage: hearth schedule add NAME EXPRESSION FUNCTION [--payload JSON] [--disabled]\n"
	"       hearth schedule ls\n"
	"       hearth schedule get NAME\n"
	"       hearth schedule rm NAME\n"
	"       hearth schedule enable NAME\n"
	"       hearth schedule disable NAME\n"
	"\n"
	"Runs FUNCTION asynchronously on a schedule (UTC). EXPRESSION is one of\n"
	"   rate(N minute|minutes|hour|hours|day|days)     e.g. 'rate(5 minutes)'\n"
	"   cron(MIN HOUR DAY-OF-MONTH MONTH DAY-OF-WEEK YEAR)  EventBridge syntax, e.g.\n"
	"       'cron(0 12 ? * MON-FRI *)'; one of the day fields must be '?'; L, W, #\n"
	"   MIN HOUR DAY-OF-MONTH MONTH DAY-OF-WEEK            classic cron, e.g. '*/5 * * * *'\n"
	"The function receives EventBridge's Scheduled Event, or the --payload JSON instead.\n"
	"Firings missed while the daemon was down are skipped, not replayed. `add` on an\n"
	"existing NAME replaces it.\n"
	"\n"
	"   -p, --payload JSON  send this JSON instead of the Scheduled Event\n"
	"       --disabled      store the schedule without enabling it\n"
	"       --data DIR      data directory holding the admin token (default "
	CLI_DEFAULT_DATA ")\n"
	"   -h, --help          show this help\n";

enum {
	OPT_DISABLED = 256,
	OPT_DATA,
};

static void
print_one(const json_t *s)
{
	const json_t *next = json_object_get(s, "next_firings"), *t;
	char last[32];
	size_t i;

	cli__fmt_time((uint64_t)cli__json_int(s, "last_fired_ms"), last, sizeof(last));
	printf("name          %s\n", cli__json_str(s, "name"));
	printf("expression    %s\n", cli__json_str(s, "expression"));
	printf("function      %s\n", cli__json_str(s, "function"));
	printf("enabled       %s\n", json_is_true(json_object_get(s, "enabled")) ? "yes" : "no");
	printf("last fired    %s\n", last);
	if (*cli__json_str(s, "last_error"))
		printf("last error    %s\n", cli__json_str(s, "last_error"));
	printf("next firings ");
	if (!json_array_size(next))
		printf(" -");
	json_array_foreach(next, i, t)
		printf(" %s", json_string_value(t));
	printf("\n");
}

static int
list(const char *data_dir)
{
	static const char *const headers[] = {
		"NAME", "EXPRESSION", "FUNCTION", "ENABLED", "NEXT", "LAST FIRED", "LAST ERROR", NULL,
	};
	json_t *reply, *all, *s;
	struct cli_table t;
	char last[32];
	size_t i;
	int r;

	r = cli__run_json(data_dir, "GET", "/v1/schedules", NULL, &reply);
	if (r)
		return r;
	all = json_object_get(reply, "schedules");
	if (!json_is_array(all)) {
		json_decref(reply);
		return cli__error("the daemon's answer has no schedule list");
	}
	cli__table_init(&t, headers);
	json_array_foreach(all, i, s) {
		const json_t *next = json_array_get(json_object_get(s, "next_firings"), 0);

		cli__fmt_time((uint64_t)cli__json_int(s, "last_fired_ms"), last, sizeof(last));
		cli__table_cell(&t, "%s", cli__json_str(s, "name"));
		cli__table_cell(&t, "%s", cli__json_str(s, "expression"));
		cli__table_cell(&t, "%s", cli__json_str(s, "function"));
		cli__table_cell(&t, "%s", json_is_true(json_object_get(s, "enabled")) ? "yes" : "no");
		cli__table_cell(&t, "%s", next ? json_string_value(next) : "-");
		cli__table_cell(&t, "%s", last);
		cli__table_cell(&t, "%s", *cli__json_str(s, "last_error") ?
					  cli__json_str(s, "last_error") : "-");
	}
	cli__table_print(&t, stdout);
	cli__table_release(&t);
	json_decref(reply);
	return CLI_EXIT_OK;
}

static bool
sched_name_ok(const char *name)
{
	static const char allowed[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
	size_t n = strlen(name);

	return n >= 1 && n <= 64 && strspn(name, allowed) == n;
}

int
cli__cmd_schedule(int argc, char **argv, const struct cli_global *global)
{
	static const struct option opts[] = {
		{ "payload", required_argument, NULL, 'p' },
		{ "disabled", no_argument, NULL, OPT_DISABLED },
		{ "data", required_argument, NULL, OPT_DATA },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct {
		const char *verb;
		int nargs;
	} verbs[] = { { "add", 3 }, { "ls", 0 }, { "get", 1 }, { "rm", 1 },
		      { "enable", 1 }, { "disable", 1 } };
	const char *data_dir = global->data_dir, *payload = NULL, *verb;
	json_t *body = NULL, *reply = NULL, *pj;
	json_error_t jerr;
	bool disabled = false;
	char *path = NULL;
	int c, r, nargs = -1;
	size_t i;

	for (;;) {
		c = cli__getopt(argc, argv, ":hp:", opts);
		if (c == -1)
			break;
		switch (c) {
		case 'h':
			fputs(schedule_usage, stdout);
			return CLI_EXIT_OK;
		case 'p':
			payload = optarg;
			break;
		case OPT_DISABLED:
			disabled = true;
			break;
		case OPT_DATA:
			data_dir = optarg;
			break;
		default:
			return CLI_EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return cli__usage_error(argv[0], "'schedule' needs add, ls, get, rm, enable or "
					"disable");
	verb = argv[optind++];
	for (i = 0; i < ARRAY_SIZE(verbs); i++)
		if (strcmp(verb, verbs[i].verb) == 0)
			nargs = verbs[i].nargs;
	if (nargs < 0)
		return cli__usage_error(argv[0], "'%s' is not a schedule command (add, ls, get, rm, "
					"enable, disable)", verb);
	if (argc - optind != nargs)
		return cli__usage_error(argv[0], "'schedule %s' takes %d argument%s", verb, nargs,
					nargs == 1 ? "" : "s");
	if ((payload || disabled) && strcmp(verb, "add") != 0)
		return cli__usage_error(argv[0], "--payload and --disabled are for 'schedule add'");
	if (nargs && !sched_name_ok(argv[optind]))
		return cli__usage_error(argv[0], "invalid schedule name '%s': use 1 to 64 letters, "
					"digits, '.', '-' or '_'", argv[optind]);
	if (strcmp(verb, "ls") == 0)
		return list(data_dir);
	if (strcmp(verb, "add") == 0) {
		if (!cli__name_valid(argv[optind + 2]))
			return cli__usage_error(argv[0], "invalid function name '%s'",
						argv[optind + 2]);
		body = json_pack("{s:s, s:s, s:b}", "expression", argv[optind + 1], "function",
				 argv[optind + 2], "enabled", !disabled);
		if (payload) {
			pj = json_loads(payload, JSON_DECODE_ANY, &jerr);
			if (!pj) {
				json_decref(body);
				return cli__usage_error(argv[0], "--payload is not valid JSON: %s",
							jerr.text);
			}
			json_object_set_new(body, "payload", pj);
		}
		path = xasprintf("/v1/schedules/%s", argv[optind]);
		r = cli__run_json(data_dir, "PUT", path, body, &reply);
	} else if (strcmp(verb, "get") == 0) {
		path = xasprintf("/v1/schedules/%s", argv[optind]);
		r = cli__run_json(data_dir, "GET", path, NULL, &reply);
	} else if (strcmp(verb, "rm") == 0) {
		path = xasprintf("/v1/schedules/%s", argv[optind]);
		r = cli__run_json(data_dir, "DELETE", path, NULL, &reply);
	} else {
		path = xasprintf("/v1/schedules/%s/%s", argv[optind], verb);
		r = cli__run_json(data_dir, "POST", path, NULL, &reply);
	}
	if (r == 0 && reply)
		print_one(reply);
	json_decref(reply);
	json_decref(body);
	free(path);
	return r;
}
