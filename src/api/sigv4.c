/*
 * AWS Signature Version 4, verified: what lets the AWS CLI and SDKs talk to
 * the Lambda API with the key pair hearth generated.
 *
 * The signature covers the method, the path, the query, the headers the client
 * chose to sign (always host and x-amz-date) and the body's sha256, with a key
 * derived from the secret, the day, the region and the service. We rebuild the
 * canonical request from the bytes we received, derive the same key, and
 * compare signatures in constant time, so a mismatch teaches an attacker
 * nothing about the right one. x-amz-date must be within 15 minutes of our
 * clock (AWS's window), which bounds how long a captured request can be
 * replayed. Presigned URLs (signature in the query) are not accepted.
 *
 * Pure functions of their inputs (the time is passed in): tested with AWS's
 * published example and with signatures botocore made.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api-internal.h"
#include "lib/banned.h"

#define SKEW_MS (15ull * 60 * 1000)
#define MAX_SIGNED_HEADERS 32

static void
hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static void
sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256(data, len, md);
	hex(md, sizeof(md), out);
}

static void
hmac(const void *key, size_t keylen, const char *msg, size_t len, unsigned char out[32])
{
	unsigned int n = 32;

	HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg, len, out, &n);
}

static int
unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.' || c == '~';
}

/* AWS's URI encoding: every byte but the unreserved ones as %XX (upper case). */
static void
uri_encode(struct buf *out, const char *s, size_t n, bool keep_slash)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (unreserved(c) || (keep_slash && c == '/'))
			buf_addch(out, (char)c);
		else
			buf_addf(out, "%%%02X", c);
	}
}

struct qparam {
	char *k, *v;
};

static int
qparam_cmp(const void *a, const void *b)
{
	const struct qparam *x = a, *y = b;
	int r = strcmp(x->k, y->k);

	return r ? r : strcmp(x->v, y->v);
}

/* Decoded, re-encoded, sorted by name then value, joined by '&'. */
static int
canonical_query(struct str query, struct buf *out)
{
	struct qparam *p = NULL;
	size_t n = 0, i;
	const char *s = query.ptr, *end = query.ptr + query.len;
	int r = 0;

	while (s < end) {
		const char *amp = memchr(s, '&', (size_t)(end - s)), *eq;
		struct str k, v;

		if (!amp)
			amp = end;
		eq = memchr(s, '=', (size_t)(amp - s));
		k = str_from(s, (size_t)((eq ? eq : amp) - s));
		v = eq ? str_from(eq + 1, (size_t)(amp - eq - 1)) : str_from("", 0);
		s = amp + 1;
		if (k.len == 0)
			continue;
		p = xrealloc(p, (n + 1) * sizeof(*p));
		p[n].k = p[n].v = NULL;
		if (http_pct_decode(k, &p[n].k) < 0 || http_pct_decode(v, &p[n].v) < 0) {
			n++;
			r = -EINVAL;
			goto out;
		}
		n++;
	}
	if (n)
		qsort(p, n, sizeof(*p), qparam_cmp);
	for (i = 0; i < n; i++) {
		if (i)
			buf_addch(out, '&');
		uri_encode(out, p[i].k, strlen(p[i].k), false);
		buf_addch(out, '=');
		uri_encode(out, p[i].v, strlen(p[i].v), false);
	}
out:
	for (i = 0; i < n; i++) {
		free(p[i].k);
		free(p[i].v);
	}
	free(p);
	return r;
}

/* Every header named `name`, values trimmed, inner runs of spaces made one,
 * joined by ','. -ENOENT when the request has none. */
static int
canonical_header(const struct http_request *req, struct str name, struct buf *out)
{
	size_t i, j, found = 0;

	for (i = 0; i < req->nheaders; i++) {
		const struct http_header *h = &req->headers[i];
		const char *v = h->value.ptr;
		size_t len = h->value.len;
		bool space = false;

		if (h->name.len != name.len || strncasecmp(h->name.ptr, name.ptr, name.len) != 0)
			continue;
		if (found++)
			buf_addch(out, ',');
		while (len && (*v == ' ' || *v == '\t')) {
			v++;
			len--;
		}
		while (len && (v[len - 1] == ' ' || v[len - 1] == '\t'))
			len--;
		for (j = 0; j < len; j++) {
			if (v[j] == ' ' || v[j] == '\t') {
				space = true;
				continue;
			}
			if (space)
				buf_addch(out, ' ');
			space = false;
			buf_addch(out, v[j]);
		}
	}
	return found ? 0 : -ENOENT;
}

int
api__sigv4_canonical(const struct http_request *req, struct str signed_headers,
		     const char *payload_hash, struct buf *out, struct err *err)
{
	const char *s = signed_headers.ptr, *end = s + signed_headers.len;
	size_t i, count = 0;

	buf_add(out, req->method_name.ptr, req->method_name.len);
	buf_addch(out, '\n');
	/* The path as received is already encoded once; encoding it again is what
	 * every SDK does for services other than S3. */
	uri_encode(out, req->path.ptr, req->path.len, true);
	buf_addch(out, '\n');
	if (canonical_query(req->query, out) < 0)
		return err_setmsg(err, EINVAL, "the query string is not validly percent-encoded");
	buf_addch(out, '\n');
	while (s < end) {
		const char *semi = memchr(s, ';', (size_t)(end - s));
		struct str name;

		if (!semi)
			semi = end;
		name = str_from(s, (size_t)(semi - s));
		if (name.len == 0 || ++count > MAX_SIGNED_HEADERS)
			return err_setmsg(err, EINVAL, "malformed SignedHeaders");
		for (i = 0; i < name.len; i++)
			buf_addch(out, (char)(name.ptr[i] >= 'A' && name.ptr[i] <= 'Z' ?
					      name.ptr[i] + 32 : name.ptr[i]));
		buf_addch(out, ':');
		if (canonical_header(req, name, out) < 0)
			return err_setmsg(err, EINVAL, "signed header '%.*s' is not in the request",
					  (int)name.len, name.ptr);
		buf_addch(out, '\n');
		s = semi + 1;
	}
	buf_addch(out, '\n');
	buf_addstr(out, signed_headers);
	buf_addch(out, '\n');
	buf_adds(out, payload_hash);
	return 0;
}

void
api__sigv4_signature(const char *secret, const char *amz_date, const char *scope,
		     const char *canonical, size_t canonical_len, char out[65])
{
	unsigned char k[32], k2[32];
	char hash[65], date[9], *key, *region, *service;
	const char *p;
	struct buf sts = BUF_INIT;

	/* scope = date/region/service/aws4_request, checked by the caller. */
	snprintf(date, sizeof(date), "%.8s", scope);
	p = scope + 9;
	region = xstrndup(p, strcspn(p, "/"));
	p += strlen(region) + 1;
	service = xstrndup(p, strcspn(p, "/"));

	sha256_hex(canonical, canonical_len, hash);
	buf_addf(&sts, "AWS4-HMAC-SHA256\n%s\n%s\n%s", amz_date, scope, hash);
	key = xasprintf("AWS4%s", secret);
	hmac(key, strlen(key), date, strlen(date), k);
	hmac(k, 32, region, strlen(region), k2);
	hmac(k2, 32, service, strlen(service), k);
	hmac(k, 32, "aws4_request", 12, k2);
	hmac(k2, 32, sts.ptr, sts.len, k);
	hex(k, 32, out);
	OPENSSL_cleanse(key, strlen(key));
	OPENSSL_cleanse(k2, sizeof(k2));
	free(key);
	free(region);
	free(service);
	buf_release(&sts);
}

/* The value of `name=` in the Authorization header's comma-separated list. */
static struct str
auth_field(struct str auth, const char *name)
{
	size_t n = strlen(name), i = 0;

	while (i < auth.len) {
		size_t start, end;

		while (i < auth.len && (auth.ptr[i] == ' ' || auth.ptr[i] == ','))
			i++;
		start = i;
		while (i < auth.len && auth.ptr[i] != ',')
			i++;
		end = i;
		while (end > start && auth.ptr[end - 1] == ' ')
			end--;
		if (end - start > n && memcmp(auth.ptr + start, name, n) == 0 &&
		    auth.ptr[start + n] == '=')
			return str_from(auth.ptr + start + n + 1, end - start - n - 1);
	}
	return STR_NULL;
}

/* "20150830T123600Z" -> epoch ms; -EINVAL when malformed. */
static int
parse_amz_date(struct str s, uint64_t *ms)
{
	struct tm tm = { 0 };
	char buf[17];
	time_t t;

	if (s.len != 16)
		return -EINVAL;
	memcpy(buf, s.ptr, 16);
	buf[16] = '\0';
	if (!strptime(buf, "%Y%m%dT%H%M%SZ", &tm))
		return -EINVAL;
	t = timegm(&tm);
	if (t < 0)
		return -EINVAL;
	*ms = (uint64_t)t * 1000;
	return 0;
}

int
api__sigv4_verify(const struct http_request *req, const char *access_key, const char *secret,
		  uint64_t now_ms, const char **exception, struct err *err)
{
	const struct str *auth = http_header_get(req, "authorization");
	const struct str *date = http_header_get(req, "x-amz-date");
	const struct str *sha = http_header_get(req, "x-amz-content-sha256");
	static const char alg[] = "AWS4-HMAC-SHA256 ";
	struct str rest, cred, signed_headers, sig, key;
	struct buf canonical = BUF_INIT;
	char body_hash[65], want[65], *scope = NULL, *amz = NULL;
	const char *slash;
	uint64_t when;
	int r = -EACCES;

	*exception = "MissingAuthenticationTokenException";
	if (!auth)
		return err_setmsg(err, EACCES, "Missing Authentication Token");
	*exception = "IncompleteSignatureException";
	if (auth->len <= sizeof(alg) - 1 || memcmp(auth->ptr, alg, sizeof(alg) - 1) != 0)
		return err_setmsg(err, EACCES, "Authorization header requires AWS4-HMAC-SHA256 "
				  "(AWS Signature Version 4)");
	rest = str_from(auth->ptr + sizeof(alg) - 1, auth->len - (sizeof(alg) - 1));
	cred = auth_field(rest, "Credential");
	signed_headers = auth_field(rest, "SignedHeaders");
	sig = auth_field(rest, "Signature");
	if (!cred.ptr || !signed_headers.ptr || !sig.ptr)
		return err_setmsg(err, EACCES, "Authorization header requires 'Credential', "
				  "'SignedHeaders' and 'Signature'");
	if (!date)
		return err_setmsg(err, EACCES, "Authorization requires an 'X-Amz-Date' header");
	slash = memchr(cred.ptr, '/', cred.len);
	if (!slash)
		return err_setmsg(err, EACCES, "malformed Credential in the Authorization header");
	key = str_from(cred.ptr, (size_t)(slash - cred.ptr));
	scope = xstrndup(slash + 1, cred.len - key.len - 1);
	/* date/region/service/aws4_request, the date being x-amz-date's day. */
	{
		const char *p = scope;
		int parts = 1;

		for (; *p; p++)
			parts += *p == '/';
		if (parts != 4 || strlen(scope) < 9 || scope[8] != '/' ||
		    strcmp(scope + strlen(scope) - 13, "/aws4_request") != 0 || date->len < 8 ||
		    memcmp(scope, date->ptr, 8) != 0) {
			err_setmsg(err, EACCES, "Credential scope '%s' is not "
				   "<date>/<region>/<service>/aws4_request for the date of "
				   "X-Amz-Date", scope);
			goto out;
		}
	}
	*exception = "InvalidSignatureException";
	if (parse_amz_date(*date, &when) < 0) {
		err_setmsg(err, EACCES, "X-Amz-Date '%.*s' is not in the form 20150830T123600Z",
			   (int)MIN(date->len, 32), date->ptr);
		goto out;
	}
	if (when + SKEW_MS < now_ms || when > now_ms + SKEW_MS) {
		err_setmsg(err, EACCES, "Signature expired: %.16s is not within 15 minutes of the "
			   "server's time (check the client's clock)", date->ptr);
		goto out;
	}
	*exception = "UnrecognizedClientException";
	if (!str_eqs(key, access_key)) {
		err_setmsg(err, EACCES, "The security token included in the request is invalid "
			   "(unknown access key; see 'hearth credentials')");
		goto out;
	}
	*exception = "InvalidSignatureException";
	sha256_hex(req->body.ptr, req->body.len, body_hash);
	if (sha && !str_eqs(*sha, body_hash)) {
		err_setmsg(err, EACCES, "X-Amz-Content-Sha256 does not match the body (unsigned "
			   "payloads are not accepted)");
		goto out;
	}
	if (api__sigv4_canonical(req, signed_headers, body_hash, &canonical, err) < 0) {
		err->code = EACCES;
		goto out;
	}
	amz = str_dup(*date);
	api__sigv4_signature(secret, amz, scope, canonical.ptr, canonical.len, want);
	if (sig.len != 64 || CRYPTO_memcmp(sig.ptr, want, 64) != 0) {
		err_setmsg(err, EACCES, "The request signature we calculated does not match the "
			   "signature you provided. Check your AWS Secret Access Key and signing "
			   "method.");
		goto out;
	}
	r = 0;
	*exception = NULL;
out:
	free(amz);
	free(scope);
	buf_release(&canonical);
	return r;
}
