#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>
#include <sys/random.h>

#include "err.h"
#include "id.h"

static void
fill(void *p, size_t n)
{
	size_t off = 0;

	while (off < n) {
		ssize_t r = getrandom((char *)p + off, n - off, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			BUG("getrandom failed");
		}
		off += (size_t)r;
	}
}

/*
 * Request ids are drawn on every invocation: one getrandom() per id was one
 * syscall in the daemon's warm path. Ids come instead from a per-thread pool
 * of kernel randomness, refilled 4 KB at a time. A fork handler empties the
 * pool in the child, so a forked process never reuses its parent's bytes (the
 * pid is not compared per call: getpid() is a syscall since glibc 2.25).
 * Secrets (id_hex: tokens) still read the kernel directly.
 */
#define POOL_BYTES 4096

static __thread unsigned char pool_bytes[POOL_BYTES];
static __thread size_t pool_left;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

static void
pool_forget(void)
{
	/* In the child, only the forking thread exists: its pool is the one. */
	pool_left = 0;
}

static void
pool_setup(void)
{
	if (pthread_atfork(NULL, NULL, pool_forget) != 0)
		BUG("pthread_atfork failed");
}

static void
pooled(unsigned char *p, size_t n)
{
	assert(n <= POOL_BYTES);
	pthread_once(&pool_once, pool_setup);
	if (pool_left < n) {
		fill(pool_bytes, sizeof(pool_bytes));
		pool_left = sizeof(pool_bytes);
	}
	memcpy(p, pool_bytes + sizeof(pool_bytes) - pool_left, n);
	/* Used bytes are wiped: nothing read once is left behind to be read again. */
	memset(pool_bytes + sizeof(pool_bytes) - pool_left, 0, n);
	pool_left -= n;
}

void
id_hex(char *out, size_t nbytes)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char b[64];
	size_t i;

	if (nbytes > sizeof(b))
		BUG("id_hex: too many bytes");
	fill(b, nbytes);
	for (i = 0; i < nbytes; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * nbytes] = '\0';
}

void
id_uuid(char out[37])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char b[16];
	size_t i, o = 0;

	pooled(b, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	/* By hand rather than snprintf: this runs once per invocation. */
	for (i = 0; i < sizeof(b); i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = digits[b[i] >> 4];
		out[o++] = digits[b[i] & 15];
	}
	out[o] = '\0';
}
