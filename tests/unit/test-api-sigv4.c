/* Unit tests for src/api/sigv4.c: a signature botocore made, and every way a
 * request can fail verification. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "api/sigv4.c"
#include "http/request.c"

#define KEY "AKIAIOSFODNN7EXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
/* 2026-11-27T12:00:00Z */
#define NOW_MS 1795780800000ull
#define PATH "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Afn/invocations"
/* Made by botocore's SigV4Auth for this request at NOW_MS. */
#define AUTH "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261127/us-east-1/lambda/" \
	     "aws4_request, SignedHeaders=host;x-amz-date;x-amz-invocation-type, "            \
	     "Signature=b731bb48468a7b9c481063abe5f2adbfb212a3282c5b62fb561ef4928109c3e2"

struct fake {
	struct http_request req;
	struct http_header h[8];
};

static void
make(struct fake *f, const char *auth, const char *date, const char *body)
{
	size_t n = 0;

	memset(f, 0, sizeof(*f));
	f->req.method = HTTP_POST;
	f->req.method_name = STR_LIT("POST");
	f->req.path = STR_LIT(PATH);
	f->req.query = STR_LIT("Qualifier=live&A=b%20c");
	f->h[n++] = (struct http_header){ STR_LIT("Host"), STR_LIT("127.0.0.1:7070") };
	f->h[n++] = (struct http_header){ STR_LIT("X-Amz-Invocation-Type"),
					  STR_LIT("RequestResponse") };
	if (date)
		f->h[n++] = (struct http_header){ STR_LIT("X-Amz-Date"), str_cstr(date) };
	if (auth)
		f->h[n++] = (struct http_header){ STR_LIT("Authorization"), str_cstr(auth) };
	f->req.headers = f->h;
	f->req.nheaders = n;
	buf_init(&f->req.body);
	buf_adds(&f->req.body, body);
}

static int
verify(struct fake *f, uint64_t now, const char **exc, struct err *err)
{
	int r = api__sigv4_verify(&f->req, KEY, SECRET, now, exc, err);

	buf_release(&f->req.body);
	return r;
}

static void
botocore_signature_verifies(void **state)
{
	struct err err = ERR_INIT;
	const char *exc = "x";
	struct fake f;

	(void)state;
	make(&f, AUTH, "20261127T120000Z", "{\"a\":1}");
	assert_int_equal(verify(&f, NOW_MS, &exc, &err), 0);
	assert_null(exc);
	/* Within the 15-minute window either side. */
	make(&f, AUTH, "20261127T120000Z", "{\"a\":1}");
	assert_int_equal(verify(&f, NOW_MS + 14 * 60000, &exc, &err), 0);
	make(&f, AUTH, "20261127T120000Z", "{\"a\":1}");
	assert_int_equal(verify(&f, NOW_MS - 14 * 60000, &exc, &err), 0);
}

static void
canonical_request(void **state)
{
	struct err err = ERR_INIT;
	struct buf out = BUF_INIT;
	struct fake f;

	(void)state;
	make(&f, AUTH, "20261127T120000Z", "");
	assert_int_equal(api__sigv4_canonical(&f.req, STR_LIT("host;x-amz-date"), "HASH", &out,
					      &err), 0);
	/* The path encoded a second time, the query sorted and re-encoded. */
	assert_string_equal(out.ptr,
			    "POST\n/2015-03-31/functions/arn%253Aaws%253Alambda%253Aus-east-1%253A"
			    "000000000000%253Afunction%253Afn/invocations\n"
			    "A=b%20c&Qualifier=live\n"
			    "host:127.0.0.1:7070\nx-amz-date:20261127T120000Z\n\n"
			    "host;x-amz-date\nHASH");
	buf_release(&out);
	buf_release(&f.req.body);
}

static void
tampering_fails(void **state)
{
	struct err err = ERR_INIT;
	const char *exc;
	struct fake f;

	(void)state;
	/* Another body. */
	make(&f, AUTH, "20261127T120000Z", "{\"a\":2}");
	assert_int_equal(verify(&f, NOW_MS, &exc, &err), -EACCES);
	assert_string_equal(exc, "InvalidSignatureException");
	assert_non_null(strstr(err.msg, "does not match"));
	/* Another date, in the same day (the signature covers it). */
	make(&f, AUTH, "20261127T120001Z", "{\"a\":1}");
	assert_int_equal(verify(&f, NOW_MS, &exc, &err), -EACCES);
	assert_string_equal(exc, "InvalidSignatureException");
	/* Another secret. */
	make(&f, AUTH, "20261127T120000Z", "{\"a\":1}");
	assert_int_equal(api__sigv4_verify(&f.req, KEY, "x" SECRET, NOW_MS, &exc, &err), -EACCES);
	buf_release(&f.req.body);
}

static void
bad_requests_fail(void **state)
{
	struct err err = ERR_INIT;
	const char *exc;
	struct fake f;

	(void)state;
	make(&f, NULL, "20261127T120000Z", "");
	assert_int_equal(verify(&f, NOW_MS, &exc, &err), -EACCES);
	assert_string_equal(exc, "MissingAuthenticationTokenException");

	make(&f, "Bearer abc", "20261127T120000Z", "");
	assert_int_equal(verify(&f, NOW_MS, &exc, &err), -EACCES);
	assert_string_equal(exc, "IncompleteSignatureException");

	make(&f, "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261127/us-east-1/lambda/"
		 "aws4_request", "20261127T120000Z", "");
	assert_int_equal(verify(&f, NOW_MS, &exc, &err), -EACCES);
	assert_string_equal(exc, "IncompleteSignatureException");

	make(&f, AUTH, NULL, "{\"a\":1}");
	assert_int_equal(verify(&f, NOW_MS, &exc, &err), -EACCES);
	assert_non_null(strstr(err.msg, "X-Amz-Date"));

	/* Scope date and x-amz-date disagree. */
	make(&f, AUTH, "20261128T120000Z", "{\"a\":1}");
	assert_int_equal(verify(&f, NOW_MS + 86400000, &exc, &err), -EACCES);
	assert_non_null(strstr(err.msg, "scope"));

	/* Too old, too new. */
	make(&f, AUTH, "20261127T120000Z", "{\"a\":1}");
	assert_int_equal(verify(&f, NOW_MS + 16 * 60000, &exc, &err), -EACCES);
	assert_non_null(strstr(err.msg, "Signature expired"));
	make(&f, AUTH, "20261127T120000Z", "{\"a\":1}");
	assert_int_equal(verify(&f, NOW_MS - 16 * 60000, &exc, &err), -EACCES);

	/* Unknown key. */
	make(&f, AUTH, "20261127T120000Z", "{\"a\":1}");
	assert_int_equal(api__sigv4_verify(&f.req, "AKIAOTHER", SECRET, NOW_MS, &exc, &err),
			 -EACCES);
	assert_string_equal(exc, "UnrecognizedClientException");
	buf_release(&f.req.body);

	/* A signed header the request does not carry. */
	make(&f, "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261127/us-east-1/lambda/"
		 "aws4_request, SignedHeaders=host;x-amz-date;x-missing, Signature=00",
	     "20261127T120000Z", "");
	assert_int_equal(verify(&f, NOW_MS, &exc, &err), -EACCES);
	assert_non_null(strstr(err.msg, "x-missing"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(botocore_signature_verifies),
		cmocka_unit_test(canonical_request),
		cmocka_unit_test(tampering_fails),
		cmocka_unit_test(bad_requests_fail),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
