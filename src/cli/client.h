/*
 * The CLI's side of the admin API (docs/api.md): one libcurl handle, the base
 * URL and the bearer token, requests and their replies, and the API's error
 * shape turned into a struct err. Module-internal.
 *
 * Errors: transport failures set err->code to ECONNREFUSED when the daemon
 * cannot be reached at all, EINTR when the request was cut short by SIGINT or
 * SIGTERM (see cli__interrupted), EIO otherwise. API errors carry the server's
 * message verbatim and an errno-style code for its status (ENOENT for 404...).
 */
#ifndef HEARTH_CLI_CLIENT_H
#define HEARTH_CLI_CLIENT_H

#include <signal.h>
#include <stdbool.h>

#include <curl/curl.h>
#include <jansson.h>

#include "lib/buf.h"
#include "lib/err.h"

#define CLI_DEFAULT_API "http://127.0.0.1:7070"

struct cli_client {
	CURL *curl;
	char *base_url;		/* no trailing '/' */
	char *token;		/* NULL when none was found */
	char *token_path;	/* the token file looked at, for the 401 hint */
	struct curl_slist *auth;	/* the Authorization header, or NULL */
};

struct cli_reply {
	long status;
	struct buf body;
	char *request_id;	/* X-Amz-Request-Id, or NULL */
	char *function_error;	/* X-Amz-Function-Error, or NULL */
};

/* Set from SIGINT/SIGTERM handlers; an in-flight request then ends with EINTR. */
extern volatile sig_atomic_t cli__interrupted;

/*
 * Reads HEARTH_API (default CLI_DEFAULT_API) and the token: HEARTH_TOKEN if
 * set and non-empty, else <data_dir>/token (data_dir NULL means
 * CLI_DEFAULT_DATA). A missing token file is not an error here: the daemon
 * answers 401 and cli__report() adds a hint. Release with cli__client_release().
 */
int cli__client_init(struct cli_client *c, const char *data_dir, struct err *err);
void cli__client_release(struct cli_client *c);

void cli__reply_init(struct cli_reply *r);
void cli__reply_release(struct cli_reply *r);

/*
 * Sends one request to base_url + path ("/v1/..."); borrows everything.
 * `headers` are extra "Name: value" lines (NULL-terminated list, or NULL).
 * Fills `reply` (released and re-filled on each call) with any HTTP status;
 * fails only when no HTTP answer arrived.
 */
int cli__send(struct cli_client *c, const char *method, const char *path,
	      const char *const *headers, const void *body, size_t len,
	      struct cli_reply *reply, struct err *err);

/* Fails with the API's error message when reply->status is not 2xx. */
int cli__reply_check(const struct cli_reply *reply, struct err *err);

/*
 * A JSON round trip: sends `body` (may be NULL) as application/json, checks
 * the status and parses the answer into *out (a new reference; NULL for an
 * empty body such as a 204). Borrows `body`.
 */
int cli__call_json(struct cli_client *c, const char *method, const char *path,
		   json_t *body, json_t **out, struct err *err);

/*
 * One JSON call as a whole command makes it: client set-up, the call and the
 * report on failure. Returns CLI_EXIT_OK with *out set (a new reference, or
 * NULL for an empty answer), or the exit code after printing the error.
 */
int cli__run_json(const char *data_dir, const char *method, const char *path, json_t *body,
		  json_t **out);

/* Prints a failure from this module the CLI's way; returns CLI_EXIT_ERROR. */
int cli__report(const struct cli_client *c, const struct err *err);

/* Members of a JSON object, tolerant of absence and of the wrong type. */
const char *cli__json_str(const json_t *obj, const char *key);	/* "" if absent */
long long cli__json_int(const json_t *obj, const char *key);	/* 0 if absent */

/*
 * Reads a whole file ("-" is stdin) into `out`, failing with EFBIG past
 * `max` bytes so that a mistaken /dev/zero does not eat the machine.
 */
int cli__read_file(const char *path, size_t max, struct buf *out, struct err *err);

#endif
