/*
 * `hearth invoke NAME [--payload JSON|@FILE|-] [--async]`: one call through
 * POST /v1/functions/NAME/invoke.
 *
 * stdout carries the function's payload and nothing else, so that
 * `hearth invoke f | jq` works; a function error goes to stderr with exit 1,
 * as the AWS CLI leaves X-Amz-Function-Error for the caller to notice.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "cli/cmd.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "lib/banned.h"

/* Above the daemon's 6 MB limit, so that it is the daemon that says no. */
#define PAYLOAD_READ_MAX ((size_t)64 << 20)

static const char invoke_usage[] =
	"usage: hearth invoke NAME[:QUALIFIER] [--payload JSON|@FILE|-] [--async] [--data DIR]\n"
	"\n"
	"Calls the function and prints its response on stdout. If the function fails,\n"
	"prints its error on stderr and exits 1. NAME:3 calls published version 3,\n"
	"NAME:ALIAS the version the alias points at.\n"
	"\n"
	"   -p, --payload JSON  the event: JSON text, @FILE to read it from FILE, or - for\n"
	"                       standard input (default {})\n"
	"   -a, --async         queue the call (an Event invocation) and print its request id\n"
	"       --data DIR      data directory holding the admin token (default "
	CLI_DEFAULT_DATA ")\n"
	"   -h, --help          show this help\n";

enum {
	OPT_DATA = 256,
};

/* Loads the payload the flag names, and checks it is JSON: the API takes JSON
 * events, and a typo is easier to fix when the message points at it. */
static int
load_payload(const char *arg, struct buf *out, struct err *err)
{
	json_error_t jerr;
	json_t *j;

	if (arg[0] == '@' || strcmp(arg, "-") == 0) {
		if (cli__read_file(arg[0] == '@' ? arg + 1 : arg, PAYLOAD_READ_MAX, out, err) < 0)
			return err_wrap(err, "cannot read the payload");
	} else {
		buf_adds(out, arg);
	}
	j = json_loadb(out->ptr, out->len, JSON_DECODE_ANY, &jerr);
	if (!j)
		return err_setmsg(err, EINVAL,
				  "the payload is not valid JSON: %s (line %d, column %d)",
				  jerr.text, jerr.line, jerr.column);
	json_decref(j);
	return 0;
}

/* NAME, NAME:VERSION or NAME:ALIAS; the daemon checks the qualifier. */
static int
target(int argc, char **argv, const char **name)
{
	char fn[65];
	const char *colon;
	size_t n;

	if (argc - optind != 1)
		return cli__usage_error(argv[0], argc - optind ? "'invoke' takes one NAME[:QUALIFIER]"
							       : "'invoke' needs a function NAME");
	colon = strchr(argv[optind], ':');
	n = colon ? (size_t)(colon - argv[optind]) : strlen(argv[optind]);
	if (n >= sizeof(fn) || (colon && !colon[1]))
		return cli__usage_error(argv[0], "invalid function name '%s'", argv[optind]);
	memcpy(fn, argv[optind], n);
	fn[n] = '\0';
	if (!cli__name_valid(fn))
		return cli__usage_error(argv[0],
					"invalid function name '%s': use 1 to 64 letters, digits, "
					"'-' or '_'", fn);
	*name = argv[optind];
	return 0;
}

static void
write_all(FILE *f, const struct buf *b)
{
	fwrite(b->ptr, 1, b->len, f);
	if (b->len == 0 || b->ptr[b->len - 1] != '\n')
		fputc('\n', f);
	fflush(f);
}

static int
finish(const struct cli_reply *reply, bool async)
{
	json_t *j;
	const char *id;

	if (async) {
		j = json_loadb(reply->body.ptr, reply->body.len, 0, NULL);
		id = json_string_value(json_object_get(j, "requestId"));
		if (!id)
			id = reply->request_id;
		if (id)
			printf("%s\n", id);
		json_decref(j);
		if (!id)
			return cli__error("the daemon accepted the event but sent no request id");
		return CLI_EXIT_OK;
	}
	if (reply->function_error) {
		write_all(stderr, &reply->body);
		return CLI_EXIT_ERROR;
	}
	write_all(stdout, &reply->body);
	if (ferror(stdout))
		return cli__error("cannot write the response to stdout");
	return CLI_EXIT_OK;
}

int
cli__cmd_invoke(int argc, char **argv, const struct cli_global *global)
{
	static const struct option opts[] = {
		{ "payload", required_argument, NULL, 'p' },
		{ "async", no_argument, NULL, 'a' },
		{ "data", required_argument, NULL, OPT_DATA },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *headers[] = { "Content-Type: application/json", NULL, NULL };
	const char *payload_arg = "{}", *data_dir = global->data_dir, *name = NULL;
	struct cli_client client;
	struct cli_reply reply;
	struct err err = ERR_INIT;
	struct buf payload = BUF_INIT;
	bool async = false;
	char *path;
	int c, r;

	for (;;) {
		c = cli__getopt(argc, argv, ":hap:", opts);
		if (c == -1)
			break;
		switch (c) {
		case 'h':
			fputs(invoke_usage, stdout);
			return CLI_EXIT_OK;
		case 'p':
			payload_arg = optarg;
			break;
		case 'a':
			async = true;
			break;
		case OPT_DATA:
			data_dir = optarg;
			break;
		default:
			return CLI_EXIT_USAGE;
		}
	}
	r = target(argc, argv, &name);
	if (r)
		return r;
	if (load_payload(payload_arg, &payload, &err) < 0) {
		buf_release(&payload);
		return cli__report(NULL, &err);
	}
	if (cli__client_init(&client, data_dir, &err) < 0) {
		buf_release(&payload);
		return cli__report(NULL, &err);
	}
	headers[1] = async ? "X-Amz-Invocation-Type: Event"
			   : "X-Amz-Invocation-Type: RequestResponse";
	path = xasprintf("/v1/functions/%s/invoke", name);
	cli__reply_init(&reply);
	r = cli__send(&client, "POST", path, headers, payload.ptr, payload.len, &reply, &err);
	if (r == 0)
		r = cli__reply_check(&reply, &err);
	if (r < 0)
		r = cli__report(&client, &err);
	else
		r = finish(&reply, async);
	free(path);
	cli__reply_release(&reply);
	buf_release(&payload);
	cli__client_release(&client);
	return r;
}
