/*
 * Scratch directories for the unit tests that need a file system (the store,
 * function logs): made under /tmp, removed with everything in them. Include
 * after <cmocka.h>.
 */
#ifndef HEARTH_TEST_SCRATCH_H
#define HEARTH_TEST_SCRATCH_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static int
scratch__rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(path);
}

/* Makes /tmp/hearth-TAG-XXXXXX into dir (size n), failing the test if it cannot. */
static inline void
scratch_make(char *dir, size_t n, const char *tag)
{
	snprintf(dir, n, "/tmp/hearth-%s-XXXXXX", tag);
	assert_non_null(mkdtemp(dir));
}

/* Removes dir and all it holds, without following symlinks out of it. */
static inline void
scratch_remove(const char *dir)
{
	nftw(dir, scratch__rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
