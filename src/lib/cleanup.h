/*
 * Scope-bound cleanup for set-up code with many fds and allocations.
 * Ownership moves out of a cleanup variable with steal_fd()/steal_ptr().
 */
#ifndef HEARTH_CLEANUP_H
#define HEARTH_CLEANUP_H

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

static inline void
cleanup_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;

		close(*fd);
		errno = saved;
	}
}

static inline void
cleanup_freep(void *p)
{
	free(*(void **)p);
}

#define _cleanup_close_ __attribute__((cleanup(cleanup_closep)))
#define _cleanup_free_ __attribute__((cleanup(cleanup_freep)))

static inline int
steal_fd(int *fd)
{
	int r = *fd;

	*fd = -1;
	return r;
}

#define steal_ptr(pp)                         \
	({                                    \
		typeof(*(pp)) _p = *(pp);     \
		*(pp) = NULL;                 \
		_p;                           \
	})

#endif
