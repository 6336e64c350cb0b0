#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "relay.h"

static uint32_t
get_u32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	return (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 24;
}

static void
set_u32(char *p, uint32_t v)
{
	p[0] = (char)(v & 0xff);
	p[1] = (char)(v >> 8 & 0xff);
	p[2] = (char)(v >> 16 & 0xff);
	p[3] = (char)(v >> 24 & 0xff);
}

static int
known_type(unsigned t)
{
	return (t >= RELAY_NEXT && t <= RELAY_EXIT) || t == RELAY_INVOKE || t == RELAY_ASSIGN;
}

ssize_t
relay_parse(const char *p, size_t len, struct relay_msg *m)
{
	uint32_t flen;
	size_t off, end;

	if (len < 4)
		return 0;
	flen = get_u32(p);
	if (flen > RELAY_MAX_FRAME)
		return -EMSGSIZE;
	if (flen < 1)
		return -EBADMSG;
	/* Check the type before waiting for the whole frame: garbage fails fast. */
	if (len >= 5 && !known_type((unsigned char)p[4]))
		return -EBADMSG;
	if (len - 4 < flen)
		return 0;
	memset(m, 0, sizeof(*m));
	m->type = (uint8_t)p[4];
	end = 4 + (size_t)flen;
	off = 5;
	while (off < end) {
		unsigned tag;
		uint32_t n;

		if (end - off < 5)
			return -EBADMSG;
		tag = (unsigned char)p[off];
		n = get_u32(p + off + 1);
		off += 5;
		if (n > end - off)
			return -EBADMSG;
		if (tag > 0 && tag < RELAY_T_MAX) {
			if (m->f[tag].ptr)
				return -EBADMSG;
			m->f[tag].ptr = p + off;
			m->f[tag].len = n;
		}
		off += n;
	}
	return (ssize_t)end;
}

size_t
relay_begin(struct buf *b, enum relay_type type)
{
	size_t start = b->len;
	char hdr[5] = { 0, 0, 0, 0, (char)type };

	buf_add(b, hdr, sizeof(hdr));
	return start;
}

void
relay_put(struct buf *b, enum relay_tag tag, const void *data, size_t n)
{
	char hdr[5];

	if (n > RELAY_MAX_FRAME)
		BUG("relay field too large");
	hdr[0] = (char)tag;
	set_u32(hdr + 1, (uint32_t)n);
	buf_add(b, hdr, sizeof(hdr));
	buf_add(b, data, n);
}

void
relay_puts(struct buf *b, enum relay_tag tag, const char *s)
{
	relay_put(b, tag, s, strlen(s));
}

void
relay_putu64(struct buf *b, enum relay_tag tag, uint64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%" PRIu64, v);

	relay_put(b, tag, num, (size_t)n);
}

void
relay_end(struct buf *b, size_t start)
{
	size_t flen = b->len - start - 4;

	if (flen > RELAY_MAX_FRAME)
		BUG("relay frame too large");
	set_u32(b->ptr + start, (uint32_t)flen);
}
