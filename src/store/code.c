/*
 * Code archives: unpacking untrusted zip and tar.gz bytes into the
 * content-addressed tree, removing trees, and packing a directory for the CLI.
 *
 * Unpacking trusts nothing in the archive. Names are checked and normalized
 * by us before libarchive sees them, libarchive's secure-extract flags guard
 * the writes, and a last walk over the unpacked tree (before it gets its final
 * name) fixes modes and proves with openat2(RESOLVE_BENEATH) that no symlink
 * resolves outside it. Each layer alone has a hole the next one covers: the
 * name check cannot see symlink chains ("a -> .", "b -> a/.."), and
 * libarchive's flags do not look at symlink targets at all.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include "lib/cleanup.h"
#include "store/code.h"
#include "lib/banned.h"

/*
 * No ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS: we hand libarchive absolute names
 * (the real path of the temporary directory plus the entry's checked relative
 * name) because changing the working directory is not an option in a threaded
 * daemon. check_name() rejects absolute entry names before that prefix is added.
 * No OWNER, XATTR, ACL or FFLAGS: an archive must not choose owners, file
 * capabilities or immutable bits.
 */
#define EXTRACT_FLAGS                                                                              \
	(ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_SECURE_NODOTDOT |           \
	 ARCHIVE_EXTRACT_SECURE_SYMLINKS)

/* Deeper trees are refused; it bounds the recursion of the tree walks. */
#define CODE_MAX_DEPTH 256

#define TMP_PREFIX ".tmp-"

/* buf_setlen() for a buf that may not have allocated yet (whose shared empty
 * string must not be written to). */
static void
cut_to(struct buf *b, size_t len)
{
	if (b->cap)
		buf_setlen(b, len);
}

static const char hexdigits[] = "0123456789abcdef";

static int
is_sha_hex(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!s[i] || !strchr(hexdigits, s[i]))
			return 0;
	return s[64] == '\0';
}

static int
sha256_hex(const void *data, size_t len, char out[65], struct err *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		return err_setmsg(err, EIO, "cannot compute sha256 of the archive");
	for (i = 0; i < 32; i++) {
		out[2 * i] = hexdigits[md[i] >> 4];
		out[2 * i + 1] = hexdigits[md[i] & 0xf];
	}
	out[64] = '\0';
	return 0;
}

char *
code_path(const char *code_root, const char *sha_hex)
{
	return xasprintf("%s/%s", code_root, sha_hex);
}

/* Removes `name` under dfd and everything below it, without following symlinks. */
static int
remove_tree_at(int dfd, const char *name, int depth)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd, r = 0;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
	if (depth > CODE_MAX_DEPTH + 8)
		return -ELOOP;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de)
			break;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		r = remove_tree_at(dirfd(d), de->d_name, depth + 1);
		if (r < 0)
			break;
	}
	if (r == 0 && errno)
		r = -errno;
	closedir(d);
	if (r == 0 && unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		r = -errno;
	return r;
}

static int
remove_tree(const char *path)
{
	return remove_tree_at(AT_FDCWD, path, 0);
}

/*
 * Checks an entry name and returns its normalized relative form in *out
 * (malloc'd; NULL for the archive's root directory, "." or "./", which is
 * skipped). Also returns the number of directories the entry sits in.
 */
static int
check_name(const char *name, char **out, int *depth, struct err *err)
{
	struct buf norm = BUF_INIT;
	const char *p = name, *end;
	size_t n;

	*out = NULL;
	*depth = 0;
	if (!name || !*name)
		return err_setmsg(err, EINVAL, "corrupt archive: an entry has no name");
	if (name[0] == '/')
		return err_setmsg(err, EINVAL, "archive entry '%s' is an absolute path", name);
	while (*p) {
		end = strchrnul(p, '/');
		n = (size_t)(end - p);
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			buf_release(&norm);
			return err_setmsg(err, EINVAL,
					  "archive entry '%s' escapes the code directory", name);
		}
		if (n > NAME_MAX) {
			buf_release(&norm);
			return err_setmsg(err, EINVAL,
					  "archive entry '%.64s...' has a name too long", name);
		}
		if (n > 0 && !(n == 1 && p[0] == '.')) {
			if (norm.len) {
				buf_addch(&norm, '/');
				(*depth)++;
			}
			buf_add(&norm, p, n);
		}
		p = *end ? end + 1 : end;
	}
	if (norm.len)
		*out = buf_detach(&norm, NULL);
	return 0;
}

/* The name-level symlink check: `target`, read from the directory of an entry that
 * sits `depth` directories deep, must not climb above the root. */
static int
check_symlink(const char *name, const char *target, int depth, struct err *err)
{
	const char *p = target, *end;
	size_t n;

	if (!target || !*target)
		return err_setmsg(err, EINVAL, "corrupt archive: symlink '%s' has no target", name);
	if (target[0] == '/')
		goto escapes;
	while (*p) {
		end = strchrnul(p, '/');
		n = (size_t)(end - p);
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (--depth < 0)
				goto escapes;
		} else if (n > 0 && !(n == 1 && p[0] == '.')) {
			depth++;
		}
		p = *end ? end + 1 : end;
	}
	return 0;
escapes:
	return err_setmsg(err, EINVAL,
			  "archive entry '%s' is a symlink to '%s', outside the code directory",
			  name, target);
}

static const char *
type_name(mode_t type)
{
	switch (type) {
	case AE_IFCHR:
		return "character device";
	case AE_IFBLK:
		return "block device";
	case AE_IFIFO:
		return "fifo";
	case AE_IFSOCK:
		return "socket";
	default:
		return "file of unknown type";
	}
}

static const char *
aerr(struct archive *a)
{
	const char *s = archive_error_string(a);

	return s ? s : "unknown error";
}

/* An error from archive_write_disk: a system errno when libarchive has one (disk full),
 * else one of its own refusals (extracting through a symlink), which is the archive's
 * fault. libarchive's message names the full path; dir is cut out of it, since the
 * message may reach the client and where the daemon keeps code is none of its business. */
static int
disk_fail(struct archive *disk, const char *dir, const char *name, struct err *err)
{
	const char *why = aerr(disk), *hit = strstr(why, dir);
	int e = archive_errno(disk);
	char clean[192];

	if (hit) {
		const char *rest = hit + strlen(dir);

		snprintf(clean, sizeof(clean), "%.*s%s", (int)(hit - why), why,
			 *rest == '/' ? rest + 1 : rest);
		why = clean;
	}
	if (e > 0 && e != EINVAL && e != EEXIST)
		return err_setmsg(err, e, "cannot unpack '%s': %s", name, why);
	return err_setmsg(err, EINVAL, "archive entry '%s' rejected: %s", name, why);
}

struct unpack {
	struct archive *in, *disk;
	const char *dir;	/* real path of the temporary directory */
	uint64_t total;		/* bytes written so far */
	unsigned entries;
};

static int
copy_data(struct unpack *u, const char *name, struct err *err)
{
	const void *block;
	size_t size;
	la_int64_t offset;
	uint64_t end = 0;
	int rc;

	for (;;) {
		rc = archive_read_data_block(u->in, &block, &size, &offset);
		if (rc == ARCHIVE_EOF)
			break;
		/* Unlike for headers, a warning here is a failed check: libarchive
		 * reports a zip entry's bad CRC as ARCHIVE_WARN. */
		if (rc != ARCHIVE_OK)
			return err_setmsg(err, EINVAL, "corrupt archive: entry '%s': %s", name,
					  aerr(u->in));
		/* Count the extent, not the bytes: a sparse entry's holes still
		 * become file size. */
		if (offset < 0 || (uint64_t)offset + size > CODE_MAX_UNPACKED_BYTES ||
		    u->total + (uint64_t)offset + size > CODE_MAX_UNPACKED_BYTES)
			return err_setmsg(err, EFBIG, "archive unpacks to more than %llu MiB",
					  (unsigned long long)(CODE_MAX_UNPACKED_BYTES >> 20));
		if ((uint64_t)offset + size > end)
			end = (uint64_t)offset + size;
		if (archive_write_data_block(u->disk, block, size, offset) < ARCHIVE_OK)
			return disk_fail(u->disk, u->dir, name, err);
	}
	u->total += end;
	return 0;
}

static int
unpack_entry(struct unpack *u, struct archive_entry *e, struct err *err)
{
	const char *name = archive_entry_pathname(e);
	_cleanup_free_ char *rel = NULL;
	_cleanup_free_ char *full = NULL;
	mode_t type = archive_entry_filetype(e);
	int depth, r;

	r = check_name(name, &rel, &depth, err);
	if (r < 0)
		return r;
	if (archive_entry_hardlink(e))
		return err_setmsg(err, EINVAL, "archive entry '%s' is a hard link, not allowed",
				  name);
	switch (type) {
	case AE_IFDIR:
		archive_entry_set_perm(e, 0755);
		break;
	case AE_IFREG:
		archive_entry_set_perm(e, (archive_entry_perm(e) & 0111) ? 0755 : 0644);
		if (archive_entry_size_is_set(e) &&
		    (uint64_t)archive_entry_size(e) > CODE_MAX_UNPACKED_BYTES - u->total)
			return err_setmsg(err, EFBIG, "archive unpacks to more than %llu MiB",
					  (unsigned long long)(CODE_MAX_UNPACKED_BYTES >> 20));
		break;
	case AE_IFLNK:
		r = check_symlink(name, archive_entry_symlink(e), depth, err);
		if (r < 0)
			return r;
		break;
	default:
		return err_setmsg(err, EINVAL,
				  "archive entry '%s' is a %s, not a file, directory or symlink",
				  name, type_name(type));
	}
	if (!rel)
		return 0;	/* the archive's own root, "./": we made that directory */
	/* libarchive falls back to fchdir() for names past PATH_MAX; that must not
	 * happen in a threaded daemon, so such names are refused here. */
	if (strlen(u->dir) + 1 + strlen(rel) >= PATH_MAX)
		return err_setmsg(err, EINVAL, "archive entry '%.64s...' has a name too long",
				  name);
	if (depth >= CODE_MAX_DEPTH)
		return err_setmsg(err, EINVAL, "archive entry '%.64s...' is nested too deeply",
				  name);
	full = xasprintf("%s/%s", u->dir, rel);
	archive_entry_set_pathname(e, full);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	if (archive_write_header(u->disk, e) < ARCHIVE_OK)
		return disk_fail(u->disk, u->dir, rel, err);
	if (type == AE_IFREG) {
		r = copy_data(u, rel, err);
		if (r < 0)
			return r;
	}
	if (archive_write_finish_entry(u->disk) < ARCHIVE_OK)
		return disk_fail(u->disk, u->dir, rel, err);
	return 0;
}

static int
extract(const char *dir, const void *data, size_t len, struct err *err)
{
	struct unpack u = { .dir = dir };
	struct archive_entry *e;
	int r = 0, rc;

	u.in = archive_read_new();
	u.disk = archive_write_disk_new();
	if (!u.in || !u.disk) {
		r = err_setmsg(err, ENOMEM, "cannot unpack archive: out of memory");
		goto out;
	}
	archive_read_support_format_zip(u.in);
	archive_read_support_format_tar(u.in);
	archive_read_support_filter_gzip(u.in);
	archive_write_disk_set_options(u.disk, EXTRACT_FLAGS);
	if (archive_read_open_memory(u.in, data, len) != ARCHIVE_OK) {
		r = err_setmsg(err, EINVAL, "corrupt archive: %s", aerr(u.in));
		goto out;
	}
	for (;;) {
		rc = archive_read_next_header(u.in, &e);
		if (rc == ARCHIVE_EOF)
			break;
		/* ARCHIVE_WARN (a name not in the expected charset, say) still gives a
		 * usable entry, which check_name() then judges. */
		if (rc < ARCHIVE_WARN) {
			r = err_setmsg(err, EINVAL, "corrupt archive: %s", aerr(u.in));
			goto out;
		}
		if (++u.entries > CODE_MAX_ENTRIES) {
			r = err_setmsg(err, EFBIG, "archive has more than %u entries",
				       (unsigned)CODE_MAX_ENTRIES);
			goto out;
		}
		r = unpack_entry(&u, e, err);
		if (r < 0)
			goto out;
	}
	if (u.entries == 0) {
		r = err_setmsg(err, EINVAL, "archive is empty");
		goto out;
	}
	/* Directory modes and times are applied at close. */
	if (archive_write_close(u.disk) != ARCHIVE_OK)
		r = disk_fail(u.disk, u.dir, ".", err);
out:
	archive_read_free(u.in);
	archive_write_free(u.disk);
	return r;
}

static int
sys_openat2(int dfd, const char *path, struct open_how *how)
{
	return (int)syscall(SYS_openat2, dfd, path, how, sizeof(*how));
}

/* Proves that the symlink at rel (under rootfd) resolves inside the tree. A dangling
 * link is fine: the tree never changes after unpacking, so it stays dangling. */
static int
check_resolved(int rootfd, const char *rel, struct err *err)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	int fd = sys_openat2(rootfd, rel, &how);

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	switch (errno) {
	case ENOENT:
	case ENOTDIR:
		return 0;
	/* A kernel without openat2 (or a seccomp filter hiding it): check_symlink()
	 * already vetted each target by name, which misses only chains of links. */
	case ENOSYS:
	case EPERM:
		return 0;
	case EXDEV:
		return err_setmsg(err, EINVAL,
				  "archive symlink '%s' resolves outside the code directory", rel);
	case ELOOP:
		return err_setmsg(err, EINVAL, "archive entry '%s' is a symlink loop", rel);
	default:
		return err_set(err, errno, "cannot check symlink '%s'", rel);
	}
}

/*
 * Walks the unpacked tree: directories 0755 (libarchive creates missing parents
 * with the process umask), files 0755/0644, every symlink proven to stay inside.
 */
static int
fix_tree(int rootfd, int dfd, struct buf *rel, int depth, struct err *err)
{
	struct dirent *de;
	struct stat st;
	size_t base = rel->len;
	DIR *d;
	int fd, r = 0;

	if (depth > CODE_MAX_DEPTH)
		return err_setmsg(err, EINVAL, "archive tree is nested too deeply");
	fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, errno, "cannot open unpacked directory '%s'", rel->ptr);
	d = fdopendir(fd);
	if (!d) {
		r = err_set(err, errno, "cannot read unpacked directory '%s'", rel->ptr);
		close(fd);
		return r;
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno)
				r = err_set(err, errno, "cannot read unpacked directory '%s'",
					    rel->ptr);
			break;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		cut_to(rel, base);
		if (base)
			buf_addch(rel, '/');
		buf_adds(rel, de->d_name);
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = err_set(err, errno, "cannot stat unpacked '%s'", rel->ptr);
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			_cleanup_close_ int sub = -1;

			if (fchmodat(dfd, de->d_name, 0755, 0) < 0) {
				r = err_set(err, errno, "cannot set mode of '%s'", rel->ptr);
				break;
			}
			sub = openat(dfd, de->d_name,
				     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0) {
				r = err_set(err, errno, "cannot open unpacked directory '%s'",
					    rel->ptr);
				break;
			}
			r = fix_tree(rootfd, sub, rel, depth + 1, err);
		} else if (S_ISREG(st.st_mode)) {
			mode_t want = (st.st_mode & 0111) ? 0755 : 0644;

			if ((st.st_mode & 07777) != want && fchmodat(dfd, de->d_name, want, 0) < 0)
				r = err_set(err, errno, "cannot set mode of '%s'", rel->ptr);
		} else if (S_ISLNK(st.st_mode)) {
			r = check_resolved(rootfd, rel->ptr, err);
		} else {
			r = err_setmsg(err, EINVAL,
				       "archive entry '%s' is not a file, directory or symlink",
				       rel->ptr);
		}
		if (r < 0)
			break;
	}
	closedir(d);
	cut_to(rel, base);
	return r;
}

static int
finish_tree(const char *dir, struct err *err)
{
	_cleanup_close_ int fd = -1;
	struct buf rel = BUF_INIT;
	int r;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, errno, "cannot open '%s'", dir);
	/* mkdtemp() made it 0700; the sandbox's unprivileged user must read it. */
	if (fchmod(fd, 0755) < 0)
		return err_set(err, errno, "cannot set mode of '%s'", dir);
	r = fix_tree(fd, fd, &rel, 0, err);
	buf_release(&rel);
	return r;
}

/*
 * The tree must be on disk before it gets its final name: after a power loss a
 * tree under that name would never be unpacked again, and nothing else keeps
 * the archive's bytes. One syncfs() is cheaper than an fsync() per file.
 */
static int
sync_tree(const char *dir, struct err *err)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || syncfs(fd) < 0)
		return err_set(err, errno, "cannot flush unpacked code to disk");
	return 0;
}

/* Makes a rename in dir durable. */
static int
sync_dir(const char *dir, struct err *err)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0)
		return err_set(err, errno, "cannot flush code directory '%s' to disk", dir);
	return 0;
}

int
code_unpack(const char *code_root, const void *data, size_t len, char sha_hex[65], struct err *err)
{
	_cleanup_free_ char *final = NULL;
	_cleanup_free_ char *real_root = NULL;
	_cleanup_free_ char *tmp = NULL;
	struct stat st;
	int r;

	sha_hex[0] = '\0';
	if (len > CODE_MAX_ARCHIVE_BYTES)
		return err_setmsg(err, EFBIG,
				  "archive is %zu bytes, more than the limit of %llu MiB", len,
				  (unsigned long long)(CODE_MAX_ARCHIVE_BYTES >> 20));
	r = sha256_hex(data, len, sha_hex, err);
	if (r < 0)
		return r;
	if (len == 0)
		return err_setmsg(err, EINVAL, "corrupt archive: no bytes");
	final = code_path(code_root, sha_hex);
	if (lstat(final, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		return err_setmsg(err, EEXIST,
				  "cannot unpack code: '%s' exists and is not a directory", final);
	}
	if (errno != ENOENT)
		return err_set(err, errno, "cannot stat '%s'", final);
	if (mkdir(code_root, 0755) < 0 && errno != EEXIST)
		return err_set(err, errno, "cannot create code directory '%s'", code_root);
	/* SECURE_SYMLINKS refuses to write through any symlink on the path, including
	 * ours (a /var that is a link, say): hand libarchive a path without any. */
	real_root = realpath(code_root, NULL);
	if (!real_root)
		return err_set(err, errno, "cannot resolve code directory '%s'", code_root);
	tmp = xasprintf("%s/" TMP_PREFIX "%.16s-XXXXXX", real_root, sha_hex);
	if (!mkdtemp(tmp))
		return err_set(err, errno, "cannot create a temporary directory in '%s'",
			       code_root);
	r = extract(tmp, data, len, err);
	if (r >= 0)
		r = finish_tree(tmp, err);
	if (r >= 0)
		r = sync_tree(tmp, err);
	if (r >= 0 && renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_NOREPLACE) == 0)
		return sync_dir(real_root, err);
	/* EEXIST: another thread or process unpacked the same bytes first, and
	 * theirs is as good as ours. */
	if (r >= 0 && errno != EEXIST && errno != ENOTEMPTY)
		r = err_set(err, errno, "cannot rename unpacked code to '%s'", final);
	remove_tree(tmp);
	return r;
}

int
code_detach(const char *code_root, const char *sha_hex, char **detached, struct err *err)
{
	_cleanup_free_ char *final = NULL;
	char *tmp;
	int r;

	*detached = NULL;
	if (!is_sha_hex(sha_hex))
		return err_setmsg(err, EINVAL, "cannot remove code '%s': not a sha256", sha_hex);
	final = code_path(code_root, sha_hex);
	tmp = xasprintf("%s/" TMP_PREFIX "rm-%.16s-XXXXXX", code_root, sha_hex);
	if (!mkdtemp(tmp)) {
		r = errno;
		free(tmp);
		if (r == ENOENT)
			return 0;	/* no code_root, so no tree */
		return err_set(err, r, "cannot create a temporary directory in '%s'", code_root);
	}
	/* Renaming onto the empty temporary directory is atomic: the tree is either
	 * whole under its name or gone from it. */
	if (rename(final, tmp) < 0) {
		r = errno;
		rmdir(tmp);
		free(tmp);
		if (r == ENOENT)
			return 0;
		return err_set(err, r, "cannot remove code '%s'", final);
	}
	*detached = tmp;
	return 0;
}

int
code_remove_detached(const char *detached, struct err *err)
{
	int r = remove_tree(detached);

	if (r < 0)
		return err_set(err, -r, "cannot remove code '%s'", detached);
	return 0;
}

int
code_remove(const char *code_root, const char *sha_hex, struct err *err)
{
	_cleanup_free_ char *tmp = NULL;
	int r;

	r = code_detach(code_root, sha_hex, &tmp, err);
	if (r < 0 || !tmp)
		return r;
	return code_remove_detached(tmp, err);
}

int
code_list(const char *code_root, int (*cb)(const char *sha_hex, void *data), void *data,
	  struct err *err)
{
	struct buf names = BUF_INIT;
	struct dirent *de;
	size_t off;
	DIR *d;
	int r = 0;

	d = opendir(code_root);
	if (!d)
		return errno == ENOENT ? 0 : err_set(err, errno, "cannot read '%s'", code_root);
	/* Names first, callbacks after: cb may remove the tree it is given. */
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de)
			break;
		if (is_sha_hex(de->d_name))
			buf_add(&names, de->d_name, 65);
	}
	if (errno)
		r = err_set(err, errno, "cannot read '%s'", code_root);
	closedir(d);
	for (off = 0; r == 0 && off < names.len; off += 65)
		r = cb(names.ptr + off, data);
	buf_release(&names);
	return r;
}

int
code_clean_tmp(const char *code_root, struct err *err)
{
	struct dirent *de;
	DIR *d;
	int r = 0, e;

	d = opendir(code_root);
	if (!d)
		return errno == ENOENT ? 0 : err_set(err, errno, "cannot read '%s'", code_root);
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de)
			break;
		if (strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) != 0)
			continue;
		e = remove_tree_at(dirfd(d), de->d_name, 0);
		if (e < 0 && r == 0)
			r = err_set(err, -e, "cannot remove '%s/%s'", code_root, de->d_name);
	}
	if (!de && errno && r == 0)
		r = err_set(err, errno, "cannot read '%s'", code_root);
	closedir(d);
	return r;
}

/* Packing. */

struct pack {
	struct archive *a;
	struct archive_entry *e;
	struct buf *out;
	size_t start;		/* out->len before packing */
	struct buf rel;		/* name of the current entry, relative to the root */
	uint64_t total;
	unsigned entries;
	int too_big;
};

/* Fails the write as soon as the archive passes the limit, rather than after
 * compressing the rest of a large tree for nothing. */
static la_ssize_t
pack_write(struct archive *a, void *data, const void *bytes, size_t n)
{
	struct pack *p = data;

	if (p->out->len - p->start + n > CODE_MAX_ARCHIVE_BYTES) {
		p->too_big = 1;
		archive_set_error(a, EFBIG, "archive too large");
		return -1;
	}
	buf_add(p->out, bytes, n);
	return (la_ssize_t)n;
}

static int
cmp_dirent(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int
skip_dots(const struct dirent *de)
{
	return strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
}

static int
pack_header(struct pack *p, mode_t type, mode_t perm, int64_t size, const char *link,
	    struct err *err)
{
	if (++p->entries > CODE_MAX_ENTRIES)
		return err_setmsg(err, EFBIG, "more than %u entries", (unsigned)CODE_MAX_ENTRIES);
	archive_entry_clear(p->e);
	archive_entry_set_pathname(p->e, p->rel.ptr);
	archive_entry_set_filetype(p->e, type);
	archive_entry_set_perm(p->e, perm);
	archive_entry_set_size(p->e, size);
	if (link)
		archive_entry_set_symlink(p->e, link);
	/* Owners and times stay zero: the same tree must give the same bytes. */
	if (archive_write_header(p->a, p->e) != ARCHIVE_OK)
		return err_setmsg(err, EIO, "cannot write '%s': %s", p->rel.ptr, aerr(p->a));
	return 0;
}

static int
pack_file(struct pack *p, int dfd, const char *name, const struct stat *st, struct err *err)
{
	_cleanup_close_ int fd = -1;
	char chunk[64 * 1024];
	uint64_t done = 0;
	ssize_t n;
	int r;

	if ((uint64_t)st->st_size > CODE_MAX_UNPACKED_BYTES - p->total)
		return err_setmsg(err, EFBIG, "more than %llu MiB of files",
				  (unsigned long long)(CODE_MAX_UNPACKED_BYTES >> 20));
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, errno, "cannot open '%s'", p->rel.ptr);
	r = pack_header(p, AE_IFREG, (st->st_mode & 0111) ? 0755 : 0644, st->st_size, NULL, err);
	if (r < 0)
		return r;
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_set(err, errno, "cannot read '%s'", p->rel.ptr);
		if (n == 0)
			break;
		if (done + (uint64_t)n > (uint64_t)st->st_size)
			break;
		if (archive_write_data(p->a, chunk, (size_t)n) != n)
			return err_setmsg(err, EIO, "cannot write '%s': %s", p->rel.ptr,
					  aerr(p->a));
		done += (uint64_t)n;
	}
	/* The header already promised st_size bytes. */
	if (done != (uint64_t)st->st_size)
		return err_setmsg(err, EAGAIN, "'%s' changed while it was being packed",
				  p->rel.ptr);
	p->total += done;
	return 0;
}

static int
pack_tree(struct pack *p, int dfd, int depth, struct err *err)
{
	struct dirent **list = NULL;
	size_t base = p->rel.len;
	struct stat st;
	int n, i, r = 0;

	if (depth > CODE_MAX_DEPTH)
		return err_setmsg(err, EINVAL, "'%s' is nested too deeply", p->rel.ptr);
	/* Sorted, so the archive does not depend on directory order. */
	n = scandirat(dfd, ".", &list, skip_dots, cmp_dirent);
	if (n < 0)
		return err_set(err, errno, "cannot read directory '%s'",
			       p->rel.len ? p->rel.ptr : ".");
	for (i = 0; i < n && r == 0; i++) {
		const char *name = list[i]->d_name;

		cut_to(&p->rel, base);
		if (base)
			buf_addch(&p->rel, '/');
		buf_adds(&p->rel, name);
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = err_set(err, errno, "cannot stat '%s'", p->rel.ptr);
		} else if (S_ISDIR(st.st_mode)) {
			_cleanup_close_ int sub = -1;

			r = pack_header(p, AE_IFDIR, 0755, 0, NULL, err);
			if (r < 0)
				break;
			sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0)
				r = err_set(err, errno, "cannot open directory '%s'", p->rel.ptr);
			else
				r = pack_tree(p, sub, depth + 1, err);
		} else if (S_ISREG(st.st_mode)) {
			r = pack_file(p, dfd, name, &st, err);
		} else if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t len = readlinkat(dfd, name, target, sizeof(target) - 1);

			if (len < 0) {
				r = err_set(err, errno, "cannot read symlink '%s'", p->rel.ptr);
			} else {
				target[len] = '\0';
				r = pack_header(p, AE_IFLNK, 0777, 0, target, err);
			}
		} else {
			r = err_setmsg(err, EINVAL,
				       "'%s' is not a regular file, directory or symlink",
				       p->rel.ptr);
		}
	}
	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);
	cut_to(&p->rel, base);
	return r;
}

int
code_pack_dir(const char *dir, struct buf *out, struct err *err)
{
	_cleanup_close_ int fd = -1;
	struct pack p = { .out = out, .start = out->len, .rel = BUF_INIT };
	int r = 0;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, errno, "cannot open directory '%s'", dir);
	p.a = archive_write_new();
	p.e = archive_entry_new();
	if (!p.a || !p.e) {
		r = err_setmsg(err, ENOMEM, "cannot pack '%s': out of memory", dir);
		goto out;
	}
	/* pax_restricted is plain ustar unless a name or size needs more, and the
	 * gzip header's timestamp would make identical trees differ. No padding of
	 * the last block: gzip would only compress it away. */
	if (archive_write_add_filter_gzip(p.a) != ARCHIVE_OK ||
	    archive_write_set_filter_option(p.a, "gzip", "timestamp", NULL) != ARCHIVE_OK ||
	    archive_write_set_format_pax_restricted(p.a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(p.a, 1) != ARCHIVE_OK ||
	    archive_write_open2(p.a, &p, NULL, pack_write, NULL, NULL) != ARCHIVE_OK) {
		r = err_setmsg(err, EIO, "cannot pack '%s': %s", dir, aerr(p.a));
		goto out;
	}
	r = pack_tree(&p, fd, 0, err);
	if (r >= 0 && p.entries == 0)
		r = err_setmsg(err, EINVAL, "the directory is empty");
	if (r >= 0 && archive_write_close(p.a) != ARCHIVE_OK)
		r = err_setmsg(err, EIO, "%s", aerr(p.a));
	if (p.too_big)
		r = err_setmsg(err, EFBIG, "the archive is over %llu MiB",
			       (unsigned long long)(CODE_MAX_ARCHIVE_BYTES >> 20));
	if (r < 0)
		err_wrap(err, "cannot pack '%s'", dir);
out:
	if (p.a)
		archive_write_free(p.a);
	archive_entry_free(p.e);
	buf_release(&p.rel);
	if (r < 0)
		cut_to(out, p.start);
	return r;
}
