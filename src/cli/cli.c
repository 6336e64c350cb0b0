/*
 * The command table and the global options: `hearth [--data DIR] <command>`.
 *
 * Like git's commands[] in git.c and crun's in src/crun.c, the table is the
 * one place that knows every command; each command parses its own options
 * (getopt_long) in its own file and returns the process exit code.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmd.h"
#include "lib/banned.h"

struct cli_command {
	const char *name;
	cli_cmd_fn *fn;
	const char *help;	/* one line, for `hearth --help` */
};

static const struct cli_command commands[] = {
	{ "serve",  cli__cmd_serve,  "run the daemon (admin API, invocations, sandboxes)" },
	{ "deploy", cli__cmd_deploy, "create or update a function from a directory or archive" },
	{ "invoke", cli__cmd_invoke, "call a function and print its response" },
	{ "ls",     cli__cmd_ls,     "list functions" },
	{ "get",    cli__cmd_get,    "show a function's settings as JSON" },
	{ "rm",     cli__cmd_rm,     "delete a function" },
	{ "logs",   cli__cmd_logs,   "print a function's log lines (--follow to keep reading)" },
	{ "events", cli__cmd_events, "list a function's asynchronous invocations" },
	{ "ps",     cli__cmd_ps,     "list running function instances" },
	{ "stats",  cli__cmd_stats,  "show a function's invocation counters and durations" },
	{ "doctor", cli__cmd_doctor, "show what this host supports and which limits are enforced" },
	{ "publish", cli__cmd_publish, "publish the function's code and settings as a new version" },
	{ "versions", cli__cmd_versions, "list a function's published versions" },
	{ "alias",  cli__cmd_alias,  "point an alias at a version (NAME ALIAS VERSION), or list them" },
	{ "credentials", cli__cmd_credentials, "print the AWS access key pair for the Lambda API" },
	{ "async-config", cli__cmd_async_config,
	  "show or set a function's async retries, event age and destinations" },
	{ "schedule", cli__cmd_schedule, "add, list, remove, enable or disable schedules" },
	{ "scheduling", cli__cmd_scheduling,
	  "show or set a function's provisioned concurrency and keep-alive policy" },
	{ "route",  cli__cmd_route,  "add, list or remove HTTP gateway routes" },
};

static void
usage(FILE *out)
{
	fputs("usage: hearth [--data DIR] <command> [<args>]\n"
	      "\n"
	      "commands:\n",
	      out);
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(out, "   %-12s %s\n", commands[i].name, commands[i].help);
	fputs("   help         show a command's options: hearth help <command>\n"
	      "\n"
	      "options:\n"
	      "   --data DIR   data directory, for the admin token in DIR/token (default "
	      CLI_DEFAULT_DATA ")\n"
	      "   -h, --help   show this help\n"
	      "\n"
	      "environment:\n"
	      "   HEARTH_API     the daemon's admin API URL (default http://127.0.0.1:7070)\n"
	      "   HEARTH_TOKEN   the admin token (default: read from DIR/token)\n"
	      "\n"
	      "See 'hearth <command> --help' for a command's options.\n",
	      out);
}

static const struct cli_command *
find_command(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* `hearth help CMD` is `hearth CMD --help`, as in git. */
static int
run_help(int argc, char **argv, const struct cli_global *global)
{
	const struct cli_command *cmd;
	char *help_argv[] = { NULL, (char *)"--help", NULL };

	if (argc < 2) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	if (argc > 2) {
		fprintf(stderr, "hearth: 'help' takes one command name\nsee 'hearth --help'\n");
		return CLI_EXIT_USAGE;
	}
	cmd = find_command(argv[1]);
	if (!cmd) {
		fprintf(stderr, "hearth: '%s' is not a hearth command\nsee 'hearth --help'\n",
			argv[1]);
		return CLI_EXIT_USAGE;
	}
	help_argv[0] = (char *)cmd->name;
	optind = 0;
	return cmd->fn(2, help_argv, global);
}

int
cli_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_global global = { NULL };
	const struct cli_command *cmd;
	int c;

	/* '+' stops at the command name: what follows belongs to the command. */
	opterr = 0;
	for (;;) {
		c = getopt_long(argc, argv, "+:h", opts, NULL);
		if (c == -1)
			break;
		switch (c) {
		case 'D':
			global.data_dir = optarg;
			break;
		case 'h':
			usage(stdout);
			return CLI_EXIT_OK;
		case ':':
			fprintf(stderr, "hearth: option '%s' needs a value\nsee 'hearth --help'\n",
				argv[optind - 1]);
			return CLI_EXIT_USAGE;
		default:
			if (optopt)
				fprintf(stderr, "hearth: unknown option '-%c'\n", optopt);
			else
				fprintf(stderr, "hearth: unknown option '%s'\n", argv[optind - 1]);
			fputs("see 'hearth --help'\n", stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	argc -= optind;
	argv += optind;
	/* optind = 0 makes glibc re-initialise, so the command parses from its argv[1]. */
	optind = 0;
	if (strcmp(argv[0], "help") == 0)
		return run_help(argc, argv, &global);
	cmd = find_command(argv[0]);
	if (!cmd) {
		fprintf(stderr, "hearth: '%s' is not a hearth command\nsee 'hearth --help'\n",
			argv[0]);
		return CLI_EXIT_USAGE;
	}
	return cmd->fn(argc, argv, &global);
}
