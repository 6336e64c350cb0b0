#include <errno.h>
#include <stdint.h>
#include <stdio.h>
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
	unsigned char b[16];

	fill(b, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
}
