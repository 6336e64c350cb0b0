/*
 * `hearth credentials`: the AWS access key pair the daemon's Lambda API
 * accepts (GET /v1/credentials), printed in the AWS CLI's credentials-file
 * syntax, or as environment variables with --env.
 */
#include <stdio.h>
#include <string.h>

#include "cli/client.h"
#include "cli/cmd.h"
#include "lib/banned.h"

static const char credentials_usage[] =
	"usage: hearth credentials [--env] [--profile NAME] [--data DIR]\n"
	"\n"
	"Prints the access key pair for hearth's AWS-compatible Lambda API as an AWS\n"
	"CLI profile, ready for ~/.aws/credentials:\n"
	"\n"
	"   hearth credentials >> ~/.aws/credentials\n"
	"   aws --profile hearth --region us-east-1 --endpoint-url http://127.0.0.1:7070 \\\n"
	"       lambda list-functions\n"
	"\n"
	"   -e, --env           print shell exports (AWS_ACCESS_KEY_ID, ...) instead\n"
	"   -p, --profile NAME  the profile's name (default hearth)\n"
	"       --data DIR      data directory holding the admin token (default "
	CLI_DEFAULT_DATA ")\n"
	"   -h, --help          show this help\n";

enum {
	OPT_DATA = 256,
};

int
cli__cmd_credentials(int argc, char **argv, const struct cli_global *global)
{
	static const struct option opts[] = {
		{ "env", no_argument, NULL, 'e' },
		{ "profile", required_argument, NULL, 'p' },
		{ "data", required_argument, NULL, OPT_DATA },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *data_dir = global->data_dir, *profile = "hearth", *name = NULL, *id, *secret;
	bool env = false;
	json_t *reply;
	int c, r;

	for (;;) {
		c = cli__getopt(argc, argv, ":hep:", opts);
		if (c == -1)
			break;
		switch (c) {
		case 'h':
			fputs(credentials_usage, stdout);
			return CLI_EXIT_OK;
		case 'e':
			env = true;
			break;
		case 'p':
			profile = optarg;
			break;
		case OPT_DATA:
			data_dir = optarg;
			break;
		default:
			return CLI_EXIT_USAGE;
		}
	}
	r = cli__positional(argc, argv, 0, &name);
	if (r)
		return r;
	if (!*profile || strpbrk(profile, "[]\n\r"))
		return cli__usage_error(argv[0], "invalid profile name '%s'", profile);
	r = cli__run_json(data_dir, "GET", "/v1/credentials", NULL, &reply);
	if (r)
		return r;
	id = cli__json_str(reply, "aws_access_key_id");
	secret = cli__json_str(reply, "aws_secret_access_key");
	if (!*id || !*secret) {
		json_decref(reply);
		return cli__error("the daemon's answer has no key pair");
	}
	if (env)
		printf("export AWS_ACCESS_KEY_ID=%s\nexport AWS_SECRET_ACCESS_KEY=%s\n"
		       "export AWS_DEFAULT_REGION=%s\n", id, secret, cli__json_str(reply, "region"));
	else
		printf("[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n", profile, id,
		       secret);
	json_decref(reply);
	return CLI_EXIT_OK;
}
