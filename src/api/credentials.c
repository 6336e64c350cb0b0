/*
 * The AWS access key pair of the Lambda API: made on the daemon's first start
 * into <data>/aws-credentials (0600, in the AWS CLI's credentials-file
 * syntax), read on every later start, and shown to the admin through
 * GET /v1/credentials (`hearth credentials`).
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "api/api-internal.h"
#include "lib/cleanup.h"
#include "lib/banned.h"

/* n characters drawn uniformly from alphabet (its length a power of two). */
static int
random_chars(char *out, size_t n, const char *alphabet, unsigned mask)
{
	unsigned char raw[64];
	size_t i;

	if (n > sizeof(raw) || getrandom(raw, n, 0) != (ssize_t)n)
		return -EIO;
	for (i = 0; i < n; i++)
		out[i] = alphabet[raw[i] & mask];
	out[n] = '\0';
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
}

/* "name = value" from the file's text into out (size n); -ENOENT if absent. */
static int
ini_value(const char *text, const char *name, char *out, size_t n)
{
	const char *p = strstr(text, name), *v;
	size_t len;

	if (!p)
		return -ENOENT;
	v = p + strlen(name);
	v += strspn(v, " \t");
	if (*v != '=')
		return -ENOENT;
	v++;
	v += strspn(v, " \t");
	len = strcspn(v, " \t\r\n");
	if (len == 0 || len >= n)
		return -ENOENT;
	memcpy(out, v, len);
	out[len] = '\0';
	return 0;
}

int
api_credentials_load(struct api *api, const char *data_dir, struct err *err)
{
	static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	_cleanup_free_ char *path = xasprintf("%s/aws-credentials", data_dir);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	char text[512];
	struct buf out = BUF_INIT;
	ssize_t n;
	int r = 0;

	if (fd >= 0) {
		n = read(fd, text, sizeof(text) - 1);
		if (n < 0)
			return err_set(err, errno, "cannot read '%s'", path);
		text[n] = '\0';
		if (ini_value(text, "aws_access_key_id", api->access_key,
			      sizeof(api->access_key)) < 0 ||
		    ini_value(text, "aws_secret_access_key", api->secret_key,
			      sizeof(api->secret_key)) < 0)
			return err_setmsg(err, EINVAL, "'%s' is damaged; remove it to make a new key "
					  "pair", path);
		return 0;
	}
	if (errno != ENOENT)
		return err_set(err, errno, "cannot read '%s'", path);
	/* AWS's shapes: a 20-character id starting AKIA, a 40-character secret. */
	memcpy(api->access_key, "AKIA", 4);
	if (random_chars(api->access_key + 4, 16, b32, 31) < 0 ||
	    random_chars(api->secret_key, 40, b64, 63) < 0)
		return err_setmsg(err, EIO, "cannot draw random bytes for the key pair");
	buf_addf(&out, "[hearth]\naws_access_key_id = %s\naws_secret_access_key = %s\n",
		 api->access_key, api->secret_key);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, out.ptr, out.len) != (ssize_t)out.len)
		r = err_set(err, errno ? errno : EIO, "cannot write '%s'", path);
	OPENSSL_cleanse(out.ptr, out.len);
	buf_release(&out);
	return r;
}

void
api__credentials(struct api_call *c)
{
	api__reply_json(c->req, 200, json_pack("{s:s, s:s, s:s}", "aws_access_key_id",
					       c->api->access_key, "aws_secret_access_key",
					       c->api->secret_key, "region", API_REGION));
}
