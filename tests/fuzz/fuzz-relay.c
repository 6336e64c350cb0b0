/* libFuzzer driver: the relay framing parser (bytes from inside a sandbox). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/relay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct relay_msg m;
	size_t off = 0;

	/* Parse frames back to back as the daemon does, until incomplete or bad. */
	for (;;) {
		ssize_t n = relay_parse(p + off, size - off, &m);
		size_t i;

		if (n <= 0)
			break;
		/* Every field must lie inside the consumed frame. */
		for (i = 0; i < RELAY_T_MAX; i++)
			if (m.f[i].ptr && (m.f[i].ptr < p + off || m.f[i].ptr + m.f[i].len > p + off + (size_t)n))
				__builtin_trap();
		off += (size_t)n;
	}
	return 0;
}
