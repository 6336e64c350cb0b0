/*
 * `hearth scheduling NAME [settings]`: shows or changes the function's
 * provisioned concurrency, keep-alive policy and reserved concurrency through
 * /v1/functions/NAME/scheduling. Without settings it prints them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "cli/cmd.h"
#include "lib/banned.h"

static const char sched_usage[] =
	"usage: hearth scheduling NAME [--provisioned N] [--keepalive-policy POLICY]\n"
	"                              [--reserved N|none] [--data DIR]\n"
	"\n"
	"Shows the function's scheduling settings, or changes those given.\n"
	"\n"
	"   --provisioned N          keep N instances of $LATEST initialised at all times,\n"
	"                            re-created if one dies (0-1000; 0 = none)\n"
	"   --keepalive-policy POLICY\n"
	"                            fixed: idle instances stay the keep-alive window;\n"
	"                            adaptive: learn the function's idle times;\n"
	"                            default: as 'hearth serve --keepalive-policy'\n"
	"   --reserved N|none        reserved concurrency: at most N instances of the\n"
	"                            function, all versions together (0-1000; 0 throttles\n"
	"                            every call; none removes the cap). Calls over it wait\n"
	"                            up to 'hearth serve --queue-wait', then get 429\n"
	"   --data DIR               data directory holding the admin token (default "
	CLI_DEFAULT_DATA ")\n"
	"   -h, --help               show this help\n";

enum {
	OPT_PROVISIONED = 256,
	OPT_POLICY,
	OPT_RESERVED,
	OPT_DATA,
};

int
cli__cmd_scheduling(int argc, char **argv, const struct cli_global *global)
{
	static const struct option opts[] = {
		{ "provisioned", required_argument, NULL, OPT_PROVISIONED },
		{ "keepalive-policy", required_argument, NULL, OPT_POLICY },
		{ "reserved", required_argument, NULL, OPT_RESERVED },
		{ "data", required_argument, NULL, OPT_DATA },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *data_dir = global->data_dir, *name = NULL;
	json_t *body = json_object(), *reply = NULL;
	uint64_t v;
	char *path;
	int c, r;

	for (;;) {
		c = cli__getopt(argc, argv, ":h", opts);
		if (c == -1)
			break;
		switch (c) {
		case 'h':
			fputs(sched_usage, stdout);
			json_decref(body);
			return CLI_EXIT_OK;
		case OPT_PROVISIONED:
			if (cli__parse_u64(optarg, 0, 1000, &v) < 0) {
				json_decref(body);
				return cli__usage_error(argv[0], "--provisioned wants a count from 0 "
							"to 1000, not '%s'", optarg);
			}
			json_object_set_new(body, "provisioned", json_integer((json_int_t)v));
			break;
		case OPT_POLICY:
			if (strcmp(optarg, "default") && strcmp(optarg, "fixed") &&
			    strcmp(optarg, "adaptive")) {
				json_decref(body);
				return cli__usage_error(argv[0], "--keepalive-policy wants default, "
							"fixed or adaptive, not '%s'", optarg);
			}
			json_object_set_new(body, "keepalive_policy", json_string(optarg));
			break;
		case OPT_RESERVED:
			if (strcmp(optarg, "none") == 0) {
				json_object_set_new(body, "reserved", json_null());
				break;
			}
			if (cli__parse_u64(optarg, 0, 1000, &v) < 0) {
				json_decref(body);
				return cli__usage_error(argv[0], "--reserved wants a count from 0 to "
							"1000 or 'none', not '%s'", optarg);
			}
			json_object_set_new(body, "reserved", json_integer((json_int_t)v));
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
	path = xasprintf("/v1/functions/%s/scheduling", name);
	r = cli__run_json(data_dir, json_object_size(body) ? "PUT" : "GET", path,
			  json_object_size(body) ? body : NULL, &reply);
	if (r == 0 && reply) {
		printf("function          %s\n", cli__json_str(reply, "function"));
		printf("provisioned       %lld\n", cli__json_int(reply, "provisioned"));
		printf("keep-alive policy %s\n", cli__json_str(reply, "keepalive_policy"));
		if (json_is_integer(json_object_get(reply, "reserved")))
			printf("reserved          %lld\n", cli__json_int(reply, "reserved"));
		else
			printf("reserved          none\n");
	}
	json_decref(reply);
	json_decref(body);
	free(path);
	return r;
}
