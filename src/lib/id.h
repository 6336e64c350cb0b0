/* Identifiers and secrets from the kernel's CSPRNG. */
#ifndef HEARTH_ID_H
#define HEARTH_ID_H

#include <stddef.h>

/* A random (version 4) UUID, "1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed", NUL-terminated. */
void id_uuid(char out[37]);
/* n random bytes as 2n lower-case hex digits plus NUL. */
void id_hex(char *out, size_t nbytes);

#endif
