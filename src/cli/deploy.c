/*
 * `hearth deploy NAME ...`: creates or updates a function with
 * PUT /v1/functions/NAME, the code base64-encoded in the JSON body.
 *
 * A directory is packed to tar.gz in memory (code_pack_dir() from the store,
 * so the CLI and the daemon agree on what a package is); a .zip, .tar.gz or
 * .tgz file is sent as it is. Values that are plainly wrong are refused here
 * with a message naming the flag; the daemon validates everything again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "cli/client.h"
#include "cli/cmd.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "store/code.h"
#include "lib/banned.h"


static const char deploy_usage[] =
	"usage: hearth deploy NAME --runtime provided|python3|nodejs --code PATH [--handler H]\n"
	"                     [--memory MB] [--timeout S] [--keepalive S] [--description TEXT]\n"
	"                     [--env K=V]... [--tmp MB] [--network none|host] [--data DIR]\n"
	"                     [--route 'METHOD /path']...\n"
	"\n"
	"Creates the function NAME, or updates it: an update keeps the settings and code\n"
	"you leave out, so --runtime and --code are needed only to create.\n"
	"\n"
	"   -r, --runtime R        provided (a bootstrap binary), python3 or nodejs\n"
	"   -c, --code PATH        a directory (packed to tar.gz), a .zip, .tar.gz or .tgz\n"
	"       --handler H        handler, e.g. app.handler (default: handler)\n"
	"   -m, --memory MB        memory limit, 128 to 10240 (default 128)\n"
	"   -t, --timeout S        time limit per invocation, 1 to 900 seconds (default 3)\n"
	"       --keepalive S      seconds an idle instance stays warm (0: the daemon's default)\n"
	"   -d, --description TEXT free text\n"
	"   -e, --env K=V          an environment variable; repeat for more\n"
	"       --tmp MB           size of /tmp, 1 to 10240 (default 512; counts as memory)\n"
	"       --network MODE     none: loopback only (default); host: the machine's\n"
	"                          network, for trusted functions only (weaker isolation)\n"
	"       --route KEY        serve the function on the gateway at KEY, e.g.\n"
	"                          'GET /hello/{name}' (see 'hearth route --help'); repeat\n"
	"                          for more\n"
	"       --data DIR         data directory holding the admin token (default "
	CLI_DEFAULT_DATA ")\n"
	"   -h, --help             show this help\n";

enum {
	OPT_HANDLER = 256,
	OPT_KEEPALIVE,
	OPT_DATA,
	OPT_TMP,
	OPT_NETWORK,
	OPT_ROUTE,
};

static bool
has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Lambda's rule for variable names, less its 2-character minimum. */
static bool
env_key_valid(const char *k, size_t n)
{
	static const char first[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_";
	static const char rest[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789";

	if (n == 0 || !strchr(first, k[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!strchr(rest, k[i]))
			return false;
	return true;
}

/*
 * Reads the code at `path` into `out` as a zip or tar.gz. Checking the magic
 * bytes here turns "invalid archive" from the daemon into a message that
 * names the local file.
 */
static int
load_code(const char *path, struct buf *out, struct err *err)
{
	struct stat st;
	bool zip;
	int r;

	if (stat(path, &st) < 0)
		return err_set(err, errno, "cannot use code '%s'", path);
	if (S_ISDIR(st.st_mode)) {
		if (code_pack_dir(path, out, err) < 0)
			return err_wrap(err, "cannot pack '%s'", path);
		return 0;
	}
	if (!S_ISREG(st.st_mode))
		return err_setmsg(err, EINVAL, "code '%s' is not a directory or a regular file",
				  path);
	zip = has_suffix(path, ".zip");
	if (!zip && !has_suffix(path, ".tar.gz") && !has_suffix(path, ".tgz"))
		return err_setmsg(err, EINVAL,
				  "code '%s' is not a directory, .zip, .tar.gz or .tgz file", path);
	r = cli__read_file(path, CODE_MAX_ARCHIVE_BYTES, out, err);
	if (r == -EFBIG)
		return err_setmsg(err, EFBIG, "code '%s' is over the %llu MB limit", path,
				  CODE_MAX_ARCHIVE_BYTES >> 20);
	if (r < 0)
		return r;
	if (zip && !(out->len >= 4 && (memcmp(out->ptr, "PK\3\4", 4) == 0 ||
				       memcmp(out->ptr, "PK\5\6", 4) == 0)))
		return err_setmsg(err, EINVAL, "code '%s' is not a zip archive", path);
	if (!zip && !(out->len >= 2 && (unsigned char)out->ptr[0] == 0x1f &&
		      (unsigned char)out->ptr[1] == 0x8b))
		return err_setmsg(err, EINVAL, "code '%s' is not a gzip-compressed tar archive",
				  path);
	return 0;
}

static json_t *
base64_json(const struct buf *code)
{
	size_t cap = 4 * ((code->len + 2) / 3) + 1;
	unsigned char *b64 = xmalloc(cap);
	int n;
	json_t *s;

	n = EVP_EncodeBlock(b64, (const unsigned char *)code->ptr, (int)code->len);
	/* Base64 is ASCII: no need for jansson to check it as UTF-8. */
	s = json_stringn_nocheck((const char *)b64, (size_t)n);
	free(b64);
	return s;
}

/* The PUT request as the flags describe it, built up one flag at a time. */
struct deploy_req {
	json_t *body;
	json_t *env;	/* NULL until the first --env */
	const char *code_path;
	const char *data_dir;
	const char *routes[16];		/* --route keys */
	size_t nroutes;
};

/* jansson refuses strings that are not UTF-8; say which flag carried one. */
static int
set_string(const char *cmd, json_t *obj, const char *key, const char *flag, const char *value,
	   size_t len)
{
	json_t *s = json_stringn(value, len);

	if (!s)
		return cli__usage_error(cmd, "%s is not valid UTF-8", flag);
	json_object_set_new(obj, key, s);
	return 0;
}

static int
parse_flags(int argc, char **argv, struct deploy_req *d, bool *help)
{
	static const struct option opts[] = {
		{ "runtime", required_argument, NULL, 'r' },
		{ "code", required_argument, NULL, 'c' },
		{ "handler", required_argument, NULL, OPT_HANDLER },
		{ "memory", required_argument, NULL, 'm' },
		{ "timeout", required_argument, NULL, 't' },
		{ "keepalive", required_argument, NULL, OPT_KEEPALIVE },
		{ "description", required_argument, NULL, 'd' },
		{ "env", required_argument, NULL, 'e' },
		{ "data", required_argument, NULL, OPT_DATA },
		{ "tmp", required_argument, NULL, OPT_TMP },
		{ "network", required_argument, NULL, OPT_NETWORK },
		{ "route", required_argument, NULL, OPT_ROUTE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = argv[0], *eq;
	char *key;
	uint64_t v;
	int c, r;

	for (;;) {
		c = cli__getopt(argc, argv, ":hr:c:m:t:d:e:", opts);
		r = 0;
		switch (c) {
		case -1:
			return 0;
		case 'h':
			*help = true;
			return 0;
		case 'r':
			if (strcmp(optarg, "provided") && strcmp(optarg, "python3") &&
			    strcmp(optarg, "nodejs"))
				return cli__usage_error(cmd, "--runtime wants provided, python3 or "
							"nodejs, not '%s'", optarg);
			json_object_set_new(d->body, "runtime", json_string(optarg));
			break;
		case 'c':
			if (!*optarg)
				return cli__usage_error(cmd, "--code wants a PATH");
			d->code_path = optarg;
			break;
		case OPT_HANDLER:
			if (!*optarg)
				return cli__usage_error(cmd, "--handler cannot be empty");
			r = set_string(cmd, d->body, "handler", "--handler", optarg,
				       strlen(optarg));
			break;
		case 'm':
			if (cli__parse_u64(optarg, 128, 10240, &v) < 0)
				return cli__usage_error(cmd, "--memory wants MB from 128 to 10240, "
							"not '%s'", optarg);
			json_object_set_new(d->body, "memory_mb", json_integer((json_int_t)v));
			break;
		case 't':
			if (cli__parse_u64(optarg, 1, 900, &v) < 0)
				return cli__usage_error(cmd, "--timeout wants seconds from 1 to "
							"900, not '%s'", optarg);
			json_object_set_new(d->body, "timeout_s", json_integer((json_int_t)v));
			break;
		case OPT_KEEPALIVE:
			if (cli__parse_u64(optarg, 0, 7 * 86400, &v) < 0)
				return cli__usage_error(cmd, "--keepalive wants seconds from 0 to "
							"604800, not '%s'", optarg);
			json_object_set_new(d->body, "keepalive_s", json_integer((json_int_t)v));
			break;
		case 'd':
			r = set_string(cmd, d->body, "description", "--description", optarg,
				       strlen(optarg));
			break;
		case 'e':
			eq = strchr(optarg, '=');
			if (!eq || !env_key_valid(optarg, (size_t)(eq - optarg)))
				return cli__usage_error(cmd, "--env wants KEY=VALUE, KEY made of "
							"letters, digits and '_', not '%s'",
							optarg);
			if (!d->env)
				d->env = json_object();
			/* A later --env for the same key wins, as in a shell. */
			key = xstrndup(optarg, (size_t)(eq - optarg));
			r = set_string(cmd, d->env, key, "--env", eq + 1, strlen(eq + 1));
			free(key);
			break;
		case OPT_DATA:
			d->data_dir = optarg;
			break;
		case OPT_TMP:
			if (cli__parse_u64(optarg, 1, 10240, &v) < 0)
				return cli__usage_error(cmd, "--tmp wants MB from 1 to 10240, "
							"not '%s'", optarg);
			json_object_set_new(d->body, "tmp_mb", json_integer((json_int_t)v));
			break;
		case OPT_NETWORK:
			if (strcmp(optarg, "none") && strcmp(optarg, "host"))
				return cli__usage_error(cmd, "--network wants none or host, not "
							"'%s'", optarg);
			json_object_set_new(d->body, "network", json_string(optarg));
			break;
		case OPT_ROUTE:
			if (d->nroutes == ARRAY_SIZE(d->routes))
				return cli__usage_error(cmd, "at most %zu --route flags",
							ARRAY_SIZE(d->routes));
			if (strcmp(optarg, "$default") != 0 && !strstr(optarg, " /"))
				return cli__usage_error(cmd, "--route wants 'METHOD /path' or "
							"'$default', not '%s'", optarg);
			d->routes[d->nroutes++] = optarg;
			break;
		default:
			return CLI_EXIT_USAGE;
		}
		if (r)
			return r;
	}
}

/* Prints "deployed NAME (revision N, code sha256 abcd1234...)". */
static void
print_deployed(const char *name, const json_t *fn)
{
	const char *sha = cli__json_str(fn, "code_sha256");

	printf("deployed %s (revision %lld, code sha256 %.8s%s)\n", name,
	       cli__json_int(fn, "revision"), *sha ? sha : "unknown", strlen(sha) > 8 ? "..." : "");
}

int
cli__cmd_deploy(int argc, char **argv, const struct cli_global *global)
{
	struct deploy_req d = { json_object(), NULL, NULL, global->data_dir, { NULL }, 0 };
	struct cli_client client = { 0 };
	struct err err = ERR_INIT;
	struct buf code = BUF_INIT;
	const char *name = NULL;
	json_t *reply = NULL;
	bool help = false, have_client = false;
	char *path = NULL;
	int r;

	r = parse_flags(argc, argv, &d, &help);
	if (r == 0 && help) {
		fputs(deploy_usage, stdout);
		goto out;
	}
	if (r == 0)
		r = cli__positional(argc, argv, 1, &name);
	if (r)
		goto out;
	if (d.env)
		json_object_set(d.body, "environment", d.env);
	if (d.code_path) {
		if (load_code(d.code_path, &code, &err) < 0) {
			r = cli__report(NULL, &err);
			goto out;
		}
		json_object_set_new(d.body, "code_base64", base64_json(&code));
		buf_release(&code);
	}
	if (cli__client_init(&client, d.data_dir, &err) < 0) {
		r = cli__report(NULL, &err);
		goto out;
	}
	have_client = true;
	path = xasprintf("/v1/functions/%s", name);
	if (cli__call_json(&client, "PUT", path, d.body, &reply, &err) < 0) {
		r = cli__report(&client, &err);
		goto out;
	}
	print_deployed(name, reply);
	r = CLI_EXIT_OK;
	/* The function exists now; each route is put like `hearth route add` would. */
	for (size_t i = 0; i < d.nroutes && r == CLI_EXIT_OK; i++) {
		json_t *rb = json_pack("{s:s, s:s}", "route", d.routes[i], "function", name);
		json_t *rr = NULL;

		if (cli__call_json(&client, "POST", "/v1/routes", rb, &rr, &err) < 0)
			r = cli__report(&client, &err);
		else
			printf("route %s -> %s (%s)\n", d.routes[i], name, cli__json_str(rr, "id"));
		json_decref(rr);
		json_decref(rb);
	}
out:
	free(path);
	json_decref(reply);
	json_decref(d.env);
	json_decref(d.body);
	buf_release(&code);
	if (have_client)
		cli__client_release(&client);
	return r;
}
