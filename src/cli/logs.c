/*
 * `hearth logs NAME [--follow] [--cursor N]`: prints a function's log lines
 * from GET /v1/functions/NAME/logs, page by page; with --follow it keeps
 * polling every 250 ms, like `tail -f`, until SIGINT or SIGTERM.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/client.h"
#include "cli/cmd.h"
#include "lib/err.h"
#include "lib/banned.h"

#define FOLLOW_POLL_MS 250

static const char logs_usage[] =
	"usage: hearth logs NAME [--follow] [--cursor N] [--data DIR]\n"
	"\n"
	"Prints the function's log lines, oldest first: its output tagged with the request\n"
	"id, and the START, END and REPORT lines of each invocation.\n"
	"\n"
	"   -f, --follow     keep printing new lines until interrupted (Ctrl-C)\n"
	"       --cursor N   start after cursor N, as a previous read returned (default 0:\n"
	"                    from the oldest line kept)\n"
	"       --data DIR   data directory holding the admin token (default "
	CLI_DEFAULT_DATA ")\n"
	"   -h, --help       show this help\n";

enum {
	OPT_CURSOR = 256,
	OPT_DATA,
};

static void
on_stop(int sig)
{
	(void)sig;
	cli__interrupted = 1;
}

/* No SA_RESTART: the signal must cut the poll's sleep short. */
static void
catch_stop_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	/* An interrupting signal ends the sleep early; the caller checks the flag. */
	nanosleep(&ts, NULL);
}

/*
 * Reads one page after *cursor, prints it and moves *cursor on. Sets *count
 * to the number of lines printed.
 */
static int
read_page(struct cli_client *c, const char *name, unsigned long long *cursor, size_t *count,
	  struct err *err)
{
	json_t *reply = NULL, *lines, *line, *next;
	char *path;
	size_t i;
	int r;

	*count = 0;
	path = xasprintf("/v1/functions/%s/logs?cursor=%llu", name, *cursor);
	r = cli__call_json(c, "GET", path, NULL, &reply, err);
	free(path);
	if (r < 0)
		return r;
	lines = json_object_get(reply, "lines");
	if (!json_is_array(lines)) {
		json_decref(reply);
		return err_setmsg(err, EPROTO, "the daemon's answer has no log lines");
	}
	json_array_foreach(lines, i, line) {
		if (json_is_string(line)) {
			fwrite(json_string_value(line), 1, json_string_length(line), stdout);
			fputc('\n', stdout);
		}
	}
	*count = json_array_size(lines);
	next = json_object_get(reply, "cursor");
	if (json_is_integer(next) && json_integer_value(next) >= 0)
		*cursor = (unsigned long long)json_integer_value(next);
	json_decref(reply);
	/* Each page at once, so a pipe reader sees lines as they come while following. */
	fflush(stdout);
	if (ferror(stdout))
		return err_setmsg(err, EIO, "cannot write to stdout");
	return 0;
}

int
cli__cmd_logs(int argc, char **argv, const struct cli_global *global)
{
	static const struct option opts[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "cursor", required_argument, NULL, OPT_CURSOR },
		{ "data", required_argument, NULL, OPT_DATA },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *data_dir = global->data_dir, *name = NULL;
	unsigned long long cursor = 0, before;
	struct cli_client client;
	struct err err = ERR_INIT;
	bool follow = false;
	uint64_t v;
	size_t count;
	int c, r;

	for (;;) {
		c = cli__getopt(argc, argv, ":hf", opts);
		if (c == -1)
			break;
		switch (c) {
		case 'h':
			fputs(logs_usage, stdout);
			return CLI_EXIT_OK;
		case 'f':
			follow = true;
			break;
		case OPT_CURSOR:
			if (cli__parse_u64(optarg, 0, INT64_MAX, &v) < 0)
				return cli__usage_error(argv[0],
							"--cursor wants a number, not '%s'",
							optarg);
			cursor = v;
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
	if (cli__client_init(&client, data_dir, &err) < 0)
		return cli__report(NULL, &err);
	if (follow)
		catch_stop_signals();
	for (;;) {
		before = cursor;
		r = read_page(&client, name, &cursor, &count, &err);
		if (r < 0)
			break;
		/* A full page may have more behind it: read on at once. */
		if (count > 0 && cursor != before)
			continue;
		if (!follow)
			break;
		if (cli__interrupted)
			break;
		sleep_ms(FOLLOW_POLL_MS);
		if (cli__interrupted)
			break;
	}
	if (r < 0 && err.code == EINTR)
		r = 0;
	if (r < 0)
		r = cli__report(&client, &err);
	cli__client_release(&client);
	return r;
}
