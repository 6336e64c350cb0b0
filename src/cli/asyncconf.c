/*
 * `hearth async-config NAME [settings]`: shows or changes how the function's
 * asynchronous invocations are retried and where their outcome goes, through
 * /v1/functions/NAME/async-config. Without settings it prints them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "cli/cmd.h"
#include "lib/banned.h"

static const char async_usage[] =
	"usage: hearth async-config NAME [--max-retries N] [--max-event-age SECONDS]\n"
	"                           [--on-success FUNCTION|none] [--on-failure FUNCTION|none]\n"
	"                           [--reset] [--data DIR]\n"
	"\n"
	"Shows the function's asynchronous invocation settings, or changes those given\n"
	"(the others keep their values). A failed event is retried up to N times (0-2,\n"
	"default 2: about 1 minute, then 2 minutes later); an event older than\n"
	"SECONDS (60-21600, default 21600) is not run again. The outcome goes to the\n"
	"on-success or on-failure function as a Lambda destination record.\n"
	"\n"
	"   --max-retries N          retries after a failed attempt (0-2)\n"
	"   --max-event-age SECONDS  give up on events older than this (60-21600)\n"
	"   --on-success FUNCTION    send successes to FUNCTION ('none' to stop)\n"
	"   --on-failure FUNCTION    send failures to FUNCTION ('none' to stop)\n"
	"   --reset                  back to the defaults, no destinations\n"
	"   --data DIR               data directory holding the admin token (default "
	CLI_DEFAULT_DATA ")\n"
	"   -h, --help               show this help\n";

enum {
	OPT_RETRIES = 256,
	OPT_AGE,
	OPT_SUCCESS,
	OPT_FAILURE,
	OPT_RESET,
	OPT_DATA,
};

static void
print_config(const json_t *c)
{
	const char *s = cli__json_str(c, "on_success"), *f = cli__json_str(c, "on_failure");

	printf("function         %s\n", cli__json_str(c, "function"));
	printf("max retries      %lld\n", cli__json_int(c, "max_retry_attempts"));
	printf("max event age    %llds\n", cli__json_int(c, "max_event_age_s"));
	printf("on success       %s\n", *s ? s : "-");
	printf("on failure       %s\n", *f ? f : "-");
}

static json_t *
dest_value(const char *arg)
{
	return strcmp(arg, "none") == 0 ? json_null() : json_string(arg);
}

int
cli__cmd_async_config(int argc, char **argv, const struct cli_global *global)
{
	static const struct option opts[] = {
		{ "max-retries", required_argument, NULL, OPT_RETRIES },
		{ "max-event-age", required_argument, NULL, OPT_AGE },
		{ "on-success", required_argument, NULL, OPT_SUCCESS },
		{ "on-failure", required_argument, NULL, OPT_FAILURE },
		{ "reset", no_argument, NULL, OPT_RESET },
		{ "data", required_argument, NULL, OPT_DATA },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *data_dir = global->data_dir, *name = NULL;
	json_t *body = json_object(), *reply = NULL;
	bool reset = false;
	uint64_t v;
	char *path;
	int c, r;

	for (;;) {
		c = cli__getopt(argc, argv, ":h", opts);
		if (c == -1)
			break;
		switch (c) {
		case 'h':
			fputs(async_usage, stdout);
			json_decref(body);
			return CLI_EXIT_OK;
		case OPT_RETRIES:
			if (cli__parse_u64(optarg, 0, 2, &v) < 0) {
				json_decref(body);
				return cli__usage_error(argv[0], "--max-retries wants 0, 1 or 2, not "
							"'%s'", optarg);
			}
			json_object_set_new(body, "max_retry_attempts", json_integer((json_int_t)v));
			break;
		case OPT_AGE:
			if (cli__parse_u64(optarg, 60, 21600, &v) < 0) {
				json_decref(body);
				return cli__usage_error(argv[0], "--max-event-age wants seconds from 60 "
							"to 21600, not '%s'", optarg);
			}
			json_object_set_new(body, "max_event_age_s", json_integer((json_int_t)v));
			break;
		case OPT_SUCCESS:
			json_object_set_new(body, "on_success", dest_value(optarg));
			break;
		case OPT_FAILURE:
			json_object_set_new(body, "on_failure", dest_value(optarg));
			break;
		case OPT_RESET:
			reset = true;
			break;
		case OPT_DATA:
			data_dir = optarg;
			break;
		default:
			json_decref(body);
			return CLI_EXIT_USAGE;
		}
	}
	r = cli__positional(argc, argv, 1, &name);
	if (r) {
		json_decref(body);
		return r;
	}
	if (reset && json_object_size(body)) {
		json_decref(body);
		return cli__usage_error(argv[0], "--reset takes no other setting");
	}
	path = xasprintf("/v1/functions/%s/async-config", name);
	if (reset) {
		r = cli__run_json(data_dir, "DELETE", path, NULL, &reply);
		json_decref(reply);
		reply = NULL;
	}
	if (r == 0)
		r = cli__run_json(data_dir, json_object_size(body) ? "PUT" : "GET", path,
				  json_object_size(body) ? body : NULL, &reply);
	if (r == 0 && reply)
		print_config(reply);
	json_decref(reply);
	json_decref(body);
	free(path);
	return r;
}
