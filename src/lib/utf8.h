/* UTF-8 validation, shared by every place that must tell text from bytes. */
#ifndef HEARTH_UTF8_H
#define HEARTH_UTF8_H

#include <stddef.h>

/* Length of the valid UTF-8 sequence at s (at most n bytes, n > 0), or 0 if it
 * is not one. Rejects overlong forms, surrogates and code points over
 * U+10FFFF, as RFC 3629 does. */
size_t utf8_seq_len(const unsigned char *s, size_t n);

#endif
