/*
 * `hearth route add|ls|get|rm`: the HTTP gateway's routes, through /v1/routes.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "cli/cmd.h"
#include "lib/banned.h"

static const char route_usage[] =
	"usage: hearth route add KEY FUNCTION[:QUALIFIER] [--token TOKEN] [--cors-origin O]...\n"
	"                        [--cors-methods LIST] [--cors-headers LIST] [--cors-expose LIST]\n"
	"                        [--cors-max-age S] [--cors-credentials]\n"
	"       hearth route ls\n"
	"       hearth route get ID|KEY\n"
	"       hearth route rm ID|KEY\n"
	"\n"
	"Serves FUNCTION (or a version or alias of it) on the gateway listener (`hearth serve\n"
	"--gateway`). KEY is 'METHOD /path' with {param} segments and a final {name+} that\n"
	"takes the rest of the path, METHOD one of GET POST PUT PATCH DELETE HEAD OPTIONS ANY;\n"
	"or '$default' for requests no other route matches. The function receives API\n"
	"Gateway's HTTP API event (payload format 2.0). `add` on an existing KEY replaces it.\n"
	"\n"
	"       --token TOKEN       require 'Authorization: Bearer TOKEN' (8 to 512 characters);\n"
	"                           without it the route is public\n"
	"       --cors-origin O     allow cross-origin calls from O ('*' or https://host[:port]);\n"
	"                           repeat for more; enables CORS on the route\n"
	"       --cors-methods L    methods a preflight allows, comma-separated (GET,POST)\n"
	"       --cors-headers L    request headers a preflight allows (content-type,x-id)\n"
	"       --cors-expose L     response headers the browser may read\n"
	"       --cors-max-age S    how long a browser may cache a preflight (0 to 86400)\n"
	"       --cors-credentials  allow cookies and credentials (not with origin '*')\n"
	"       --data DIR          data directory holding the admin token (default "
	CLI_DEFAULT_DATA ")\n"
	"   -h, --help              show this help\n";

enum {
	OPT_TOKEN = 256,
	OPT_ORIGIN,
	OPT_METHODS,
	OPT_HEADERS,
	OPT_EXPOSE,
	OPT_MAX_AGE,
	OPT_CREDENTIALS,
	OPT_DATA,
};

static void
print_one(const json_t *r)
{
	const json_t *cors = json_object_get(r, "cors");
	char *c = json_is_object(cors) ? json_dumps(cors, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	printf("id         %s\n", cli__json_str(r, "id"));
	printf("route      %s\n", cli__json_str(r, "route"));
	printf("target     %s\n", cli__json_str(r, "target"));
	printf("auth       %s\n", cli__json_str(r, "auth"));
	printf("cors       %s\n", c ? c : "-");
	free(c);
}

static int
list(const char *data_dir)
{
	static const char *const headers[] = { "ID", "ROUTE", "TARGET", "AUTH", "CORS", NULL };
	json_t *reply, *all, *r;
	struct cli_table t;
	size_t i;
	int rc;

	rc = cli__run_json(data_dir, "GET", "/v1/routes", NULL, &reply);
	if (rc)
		return rc;
	all = json_object_get(reply, "routes");
	if (!json_is_array(all)) {
		json_decref(reply);
		return cli__error("the daemon's answer has no route list");
	}
	cli__table_init(&t, headers);
	json_array_foreach(all, i, r) {
		cli__table_cell(&t, "%s", cli__json_str(r, "id"));
		cli__table_cell(&t, "%s", cli__json_str(r, "route"));
		cli__table_cell(&t, "%s", cli__json_str(r, "target"));
		cli__table_cell(&t, "%s", cli__json_str(r, "auth"));
		cli__table_cell(&t, "%s", json_is_object(json_object_get(r, "cors")) ? "yes" : "no");
	}
	cli__table_print(&t, stdout);
	cli__table_release(&t);
	json_decref(reply);
	return CLI_EXIT_OK;
}

/* "/v1/routes/" + ref percent-encoded, so a key's spaces, slashes and braces stay one
 * path segment. */
static char *
ref_path(const char *ref)
{
	struct buf b = BUF_INIT;
	const unsigned char *p;

	buf_adds(&b, "/v1/routes/");
	for (p = (const unsigned char *)ref; *p; p++) {
		if (isalnum(*p) || strchr("-_.~", *p))
			buf_addch(&b, (char)*p);
		else
			buf_addf(&b, "%%%02X", *p);
	}
	return buf_detach(&b, NULL);
}

/* "a,b , c" -> ["a", "b", "c"] */
static json_t *
split_list(const char *s)
{
	json_t *a = json_array();
	const char *p = s;

	while (*p) {
		size_t n = strcspn(p, ",");
		const char *start = p, *end = p + n;

		while (start < end && isspace((unsigned char)*start))
			start++;
		while (end > start && isspace((unsigned char)end[-1]))
			end--;
		if (end > start)
			json_array_append_new(a, json_stringn(start, (size_t)(end - start)));
		p += n;
		if (*p == ',')
			p++;
	}
	return a;
}

int
cli__cmd_route(int argc, char **argv, const struct cli_global *global)
{
	static const struct option opts[] = {
		{ "token", required_argument, NULL, OPT_TOKEN },
		{ "cors-origin", required_argument, NULL, OPT_ORIGIN },
		{ "cors-methods", required_argument, NULL, OPT_METHODS },
		{ "cors-headers", required_argument, NULL, OPT_HEADERS },
		{ "cors-expose", required_argument, NULL, OPT_EXPOSE },
		{ "cors-max-age", required_argument, NULL, OPT_MAX_AGE },
		{ "cors-credentials", no_argument, NULL, OPT_CREDENTIALS },
		{ "data", required_argument, NULL, OPT_DATA },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct {
		const char *verb;
		int nargs;
	} verbs[] = { { "add", 2 }, { "ls", 0 }, { "get", 1 }, { "rm", 1 } };
	const char *data_dir = global->data_dir, *token = NULL, *verb;
	json_t *cors = json_object(), *origins = json_array(), *body = NULL, *reply = NULL;
	bool add_opts = false;
	char *path = NULL;
	int c, r = CLI_EXIT_USAGE, nargs = -1;
	uint64_t v;
	size_t i;

	for (;;) {
		c = cli__getopt(argc, argv, ":h", opts);
		if (c == -1)
			break;
		if (c != 'h' && c != OPT_DATA)
			add_opts = true;
		switch (c) {
		case 'h':
			fputs(route_usage, stdout);
			r = CLI_EXIT_OK;
			goto out;
		case OPT_TOKEN:
			token = optarg;
			break;
		case OPT_ORIGIN:
			json_array_append_new(origins, json_string(optarg));
			break;
		case OPT_METHODS:
			json_object_set_new(cors, "allow_methods", split_list(optarg));
			break;
		case OPT_HEADERS:
			json_object_set_new(cors, "allow_headers", split_list(optarg));
			break;
		case OPT_EXPOSE:
			json_object_set_new(cors, "expose_headers", split_list(optarg));
			break;
		case OPT_MAX_AGE:
			if (cli__parse_u64(optarg, 0, 86400, &v) < 0) {
				r = cli__usage_error(argv[0], "--cors-max-age wants seconds from 0 "
						     "to 86400, not '%s'", optarg);
				goto out;
			}
			json_object_set_new(cors, "max_age", json_integer((json_int_t)v));
			break;
		case OPT_CREDENTIALS:
			json_object_set_new(cors, "allow_credentials", json_true());
			break;
		case OPT_DATA:
			data_dir = optarg;
			break;
		default:
			goto out;
		}
	}
	if (optind >= argc) {
		r = cli__usage_error(argv[0], "'route' needs add, ls, get or rm");
		goto out;
	}
	verb = argv[optind++];
	for (i = 0; i < ARRAY_SIZE(verbs); i++)
		if (strcmp(verb, verbs[i].verb) == 0)
			nargs = verbs[i].nargs;
	if (nargs < 0) {
		r = cli__usage_error(argv[0], "'%s' is not a route command (add, ls, get, rm)",
				     verb);
		goto out;
	}
	if (argc - optind != nargs) {
		r = cli__usage_error(argv[0], "'route %s' takes %d argument%s%s", verb, nargs,
				     nargs == 1 ? "" : "s",
				     strcmp(verb, "add") == 0 ? " (quote the KEY: 'GET /path')" : "");
		goto out;
	}
	if (add_opts && strcmp(verb, "add") != 0) {
		r = cli__usage_error(argv[0], "--token and --cors-* are for 'route add'");
		goto out;
	}
	if (json_object_size(cors) && !json_array_size(origins)) {
		r = cli__usage_error(argv[0], "--cors-* options need at least one --cors-origin");
		goto out;
	}
	if (strcmp(verb, "ls") == 0) {
		r = list(data_dir);
		goto out;
	}
	if (strcmp(verb, "add") == 0) {
		body = json_pack("{s:s, s:s}", "route", argv[optind], "function", argv[optind + 1]);
		if (token) {
			json_object_set_new(body, "auth", json_string("bearer"));
			json_object_set_new(body, "token", json_string(token));
		}
		if (json_array_size(origins)) {
			json_object_set(cors, "allow_origins", origins);
			json_object_set(body, "cors", cors);
		}
		r = cli__run_json(data_dir, "POST", "/v1/routes", body, &reply);
	} else {
		path = ref_path(argv[optind]);
		r = cli__run_json(data_dir, strcmp(verb, "rm") == 0 ? "DELETE" : "GET", path, NULL,
				  &reply);
	}
	if (r == 0 && reply)
		print_one(reply);
out:
	json_decref(reply);
	json_decref(body);
	json_decref(cors);
	json_decref(origins);
	free(path);
	return r;
}
