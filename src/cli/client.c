/*
 * libcurl wrapper for the admin API: where the daemon is, how we prove we may
 * talk to it, and how its answers (and its absence) become messages.
 *
 * One CURL handle per process, reset between requests so no option leaks from
 * one request into the next; curl keeps the connection alive across resets,
 * which `logs --follow` relies on to poll cheaply.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/client.h"
#include "cli/cmd.h"
#include "lib/cleanup.h"
#include "lib/banned.h"

volatile sig_atomic_t cli__interrupted;

/* Tokens go into a header line: anything but printable ASCII would let a
 * corrupt token file inject headers, so it is refused. */
static bool
token_valid(const char *t)
{
	if (!*t)
		return false;
	for (; *t; t++)
		if (*t < 0x21 || *t > 0x7e)
			return false;
	return true;
}

static int
load_token(struct cli_client *c, const char *data_dir, struct err *err)
{
	const char *env = getenv("HEARTH_TOKEN");
	struct buf b = BUF_INIT;
	int r;

	if (env && *env) {
		if (!token_valid(env))
			return err_setmsg(err, EINVAL,
					  "HEARTH_TOKEN holds characters a token cannot have");
		c->token = xstrdup(env);
		return 0;
	}
	c->token_path = xasprintf("%s/token", data_dir ? data_dir : CLI_DEFAULT_DATA);
	r = cli__read_file(c->token_path, 4096, &b, err);
	if (r == -ENOENT) {
		/* Not fatal: the daemon answers 401 and the report says where we looked. */
		err_clear(err);
		buf_release(&b);
		return 0;
	}
	if (r < 0) {
		buf_release(&b);
		return err_wrap(err, "cannot read the admin token");
	}
	while (b.len && isspace((unsigned char)b.ptr[b.len - 1]))
		buf_setlen(&b, b.len - 1);
	if (!token_valid(b.ptr)) {
		buf_release(&b);
		return err_setmsg(err, EINVAL, "token file '%s' is empty or malformed",
				  c->token_path);
	}
	c->token = buf_detach(&b, NULL);
	return 0;
}

int
cli__client_init(struct cli_client *c, const char *data_dir, struct err *err)
{
	const char *api = getenv("HEARTH_API");
	size_t n;

	memset(c, 0, sizeof(*c));
	if (!api || !*api)
		api = CLI_DEFAULT_API;
	n = strlen(api);
	while (n > 1 && api[n - 1] == '/')
		n--;
	c->base_url = xstrndup(api, n);
	if (load_token(c, data_dir, err) < 0) {
		cli__client_release(c);
		return -err->code;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		cli__client_release(c);
		return err_setmsg(err, EIO, "cannot initialise libcurl");
	}
	c->curl = curl_easy_init();
	if (!c->curl) {
		curl_global_cleanup();
		cli__client_release(c);
		return err_setmsg(err, EIO, "cannot initialise libcurl");
	}
	return 0;
}

void
cli__client_release(struct cli_client *c)
{
	if (c->curl) {
		curl_easy_cleanup(c->curl);
		curl_global_cleanup();
	}
	free(c->base_url);
	free(c->token);
	free(c->token_path);
	memset(c, 0, sizeof(*c));
}

void
cli__reply_init(struct cli_reply *r)
{
	r->status = 0;
	buf_init(&r->body);
	r->request_id = NULL;
	r->function_error = NULL;
}

void
cli__reply_release(struct cli_reply *r)
{
	buf_release(&r->body);
	free(r->request_id);
	free(r->function_error);
	cli__reply_init(r);
}

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	struct cli_reply *r = arg;

	buf_add(&r->body, data, size * n);
	return size * n;
}

/* Keeps the value of `name` from one raw header line, replacing an earlier one. */
static void
take_header(const char *line, size_t len, const char *name, char **slot)
{
	size_t nlen = strlen(name);
	const char *v, *end;

	if (len <= nlen || line[nlen] != ':' || strncasecmp(line, name, nlen) != 0)
		return;
	v = line + nlen + 1;
	end = line + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && isspace((unsigned char)end[-1]))
		end--;
	free(*slot);
	*slot = xstrndup(v, (size_t)(end - v));
}

static size_t
on_header(char *data, size_t size, size_t n, void *arg)
{
	struct cli_reply *r = arg;

	take_header(data, size * n, "X-Amz-Request-Id", &r->request_id);
	take_header(data, size * n, "X-Amz-Function-Error", &r->function_error);
	return size * n;
}

static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	(void)arg;
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return cli__interrupted ? 1 : 0;
}

static struct curl_slist *
add_header(struct curl_slist *list, const char *line)
{
	struct curl_slist *l = curl_slist_append(list, line);

	if (!l) {
		fputs("hearth: fatal: out of memory\n", stderr);
		abort();
	}
	return l;
}

int
cli__send(struct cli_client *c, const char *method, const char *path,
	  const char *const *headers, const void *body, size_t len,
	  struct cli_reply *reply, struct err *err)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL;
	_cleanup_free_ char *url = NULL;
	_cleanup_free_ char *auth = NULL;
	CURLcode rc;

	cli__reply_release(reply);
	url = xasprintf("%s%s", c->base_url, path);
	curl_easy_reset(c->curl);
	/* curl would wait a second for "100 Continue" before sending a large body,
	 * and a server that does not implement it gains nothing from the wait. */
	hdrs = add_header(hdrs, "Expect:");
	if (c->token) {
		auth = xasprintf("Authorization: Bearer %s", c->token);
		hdrs = add_header(hdrs, auth);
	}
	for (; headers && *headers; headers++)
		hdrs = add_header(hdrs, *headers);

	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "hearth-cli");
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, reply);
	curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, reply);
	curl_easy_setopt(c->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	if (body) {
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
	}
	if (strcmp(method, "GET") != 0)
		curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);

	rc = curl_easy_perform(c->curl);
	curl_slist_free_all(hdrs);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &reply->status);
		return 0;
	}
	if (!errbuf[0])
		snprintf(errbuf, sizeof(errbuf), "%s", curl_easy_strerror(rc));
	switch (rc) {
	case CURLE_ABORTED_BY_CALLBACK:
		return err_setmsg(err, EINTR, "interrupted");
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		return err_setmsg(err, ECONNREFUSED,
				  "cannot reach the daemon at %s: %s (is `hearth serve` running?)",
				  c->base_url, errbuf);
	default:
		return err_setmsg(err, EIO, "%s %s failed: %s", method, url, errbuf);
	}
}

static int
status_errno(long status)
{
	static const struct {
		long status;
		int code;
	} map[] = {
		{ 400, EINVAL }, { 401, EACCES }, { 403, EPERM }, { 404, ENOENT },
		{ 405, ENOTSUP }, { 409, EEXIST }, { 413, E2BIG }, { 429, EAGAIN },
		{ 503, EAGAIN },
	};

	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (map[i].status == status)
			return map[i].code;
	return EIO;
}

int
cli__reply_check(const struct cli_reply *reply, struct err *err)
{
	const char *msg = NULL;
	json_t *root, *e;
	int code, r;
	size_t n;

	if (reply->status >= 200 && reply->status < 300)
		return 0;
	code = status_errno(reply->status);
	root = json_loadb(reply->body.ptr, reply->body.len, 0, NULL);
	e = json_object_get(root, "error");
	if (json_is_object(e))
		msg = json_string_value(json_object_get(e, "message"));
	if (msg && *msg) {
		r = err_setmsg(err, code, "%s", msg);
		json_decref(root);
		return r;
	}
	json_decref(root);
	/* Not the API's shape (a proxy, another program on the port): show what came. */
	n = strcspn(reply->body.ptr, "\r\n");
	if (n == 0)
		return err_setmsg(err, code, "the daemon answered HTTP %ld", reply->status);
	return err_setmsg(err, code, "the daemon answered HTTP %ld: %.*s", reply->status,
			  (int)MIN(n, 160), reply->body.ptr);
}

int
cli__call_json(struct cli_client *c, const char *method, const char *path,
	       json_t *body, json_t **out, struct err *err)
{
	static const char *const json_hdr[] = { "Content-Type: application/json", NULL };
	struct cli_reply reply;
	json_error_t jerr;
	char *text = NULL;
	int r;

	*out = NULL;
	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		if (!text)
			return err_setmsg(err, ENOMEM, "cannot encode the request as JSON");
	}
	cli__reply_init(&reply);
	r = cli__send(c, method, path, body ? json_hdr : NULL, text, text ? strlen(text) : 0,
		      &reply, err);
	free(text);
	if (r == 0)
		r = cli__reply_check(&reply, err);
	if (r == 0 && reply.body.len) {
		*out = json_loadb(reply.body.ptr, reply.body.len, 0, &jerr);
		if (!*out)
			r = err_setmsg(err, EPROTO, "the daemon sent invalid JSON: %s", jerr.text);
	}
	cli__reply_release(&reply);
	return r;
}

int
cli__run_json(const char *data_dir, const char *method, const char *path, json_t *body,
	      json_t **out)
{
	struct cli_client client;
	struct err err = ERR_INIT;
	int r = CLI_EXIT_OK;

	*out = NULL;
	if (cli__client_init(&client, data_dir, &err) < 0)
		return cli__report(NULL, &err);
	if (cli__call_json(&client, method, path, body, out, &err) < 0)
		r = cli__report(&client, &err);
	cli__client_release(&client);
	return r;
}

int
cli__report(const struct cli_client *c, const struct err *err)
{
	if (err->code == ECONNREFUSED) {
		fprintf(stderr, "hearth: %s\n", err->msg);
		return CLI_EXIT_ERROR;
	}
	fprintf(stderr, "hearth: error: %s\n", err->msg);
	if (err->code == EACCES && c) {
		if (!c->token)
			fprintf(stderr, "hint: no admin token: set HEARTH_TOKEN or pass --data DIR "
					"(there is no '%s')\n",
				c->token_path ? c->token_path : CLI_DEFAULT_DATA "/token");
		else if (c->token_path)
			fprintf(stderr, "hint: the daemon refused the token in '%s'; is --data its "
					"data directory?\n",
				c->token_path);
		else
			fputs("hint: the daemon refused the token in HEARTH_TOKEN\n", stderr);
	}
	return CLI_EXIT_ERROR;
}

const char *
cli__json_str(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? s : "";
}

long long
cli__json_int(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_real(v))
		return (long long)json_real_value(v);
	return 0;
}

int
cli__read_file(const char *path, size_t max, struct buf *out, struct err *err)
{
	_cleanup_close_ int owned = -1;
	const char *what = strcmp(path, "-") == 0 ? "standard input" : path;
	struct stat st;
	ssize_t n;
	int fd = 0;

	if (strcmp(path, "-") != 0) {
		owned = open(path, O_RDONLY | O_CLOEXEC);
		if (owned < 0)
			return err_set(err, errno, "cannot open '%s'", path);
		fd = owned;
		if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
			return err_set(err, EISDIR, "cannot read '%s'", path);
	}
	for (;;) {
		buf_grow(out, 65536);
		n = read(fd, out->ptr + out->len, out->cap - out->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_set(err, errno, "cannot read '%s'", what);
		if (n == 0)
			break;
		buf_setlen(out, out->len + (size_t)n);
		if (out->len > max)
			return err_setmsg(err, EFBIG, "'%s' is larger than %zu bytes", what, max);
	}
	return 0;
}
