/*
 * The content-addressed code store on disk: <code_root>/<sha256 of the archive>/
 * holds the unpacked tree of one code archive, unpacked once and never changed
 * afterwards (the sandbox mounts it read-only at /var/task).
 *
 * This file knows nothing of the database or the daemon: the CLI links it too,
 * for code_pack_dir(). Every function here is safe to call from a worker
 * thread (no chdir, no global state), since unpacking is blocking work.
 */
#ifndef HEARTH_CODE_H
#define HEARTH_CODE_H

#include <stddef.h>

#include "lib/buf.h"
#include "lib/err.h"

#ifndef CODE_MAX_ARCHIVE_BYTES
#define CODE_MAX_ARCHIVE_BYTES (50ull << 20)
#endif
#ifndef CODE_MAX_UNPACKED_BYTES
#define CODE_MAX_UNPACKED_BYTES (250ull << 20)
#endif
#ifndef CODE_MAX_ENTRIES
#define CODE_MAX_ENTRIES 20000
#endif

/*
 * Validates and unpacks a zip or tar.gz (or plain tar) archive held in memory into
 * <code_root>/<sha256>/ (sha256 of the archive bytes, lower-case hex), unless that
 * directory already exists (content addressed: unpacked once). Creates code_root
 * (one level) when missing. Unpacks into a temporary sibling directory
 * (<code_root>/.tmp-*) and renames it into place, so a crash never leaves a
 * half-unpacked tree under the final name.
 *
 * Limits: archive <= CODE_MAX_ARCHIVE_BYTES, unpacked total <= CODE_MAX_UNPACKED_BYTES,
 * <= CODE_MAX_ENTRIES entries. Allowed: regular files, directories, and symlinks whose
 * target stays inside the tree (checked on the name, then on the unpacked tree with
 * openat2(RESOLVE_BENEATH), which also catches escapes through chains of symlinks).
 * Rejected: absolute names, "..", hard links, device nodes, fifos, sockets, and an
 * archive with no entries. Files get 0755 if any x bit was set, else 0644; dirs
 * 0755; owners are not restored (the files belong to the daemon's user, root).
 *
 * The tree is flushed to disk (syncfs) before the rename, so even a power loss never
 * leaves a tree with missing contents under the final name. Two unpacks of the same
 * bytes may run at once (the second rename loses and is discarded); an unpack and a
 * code_remove() of the same sha256 must not, which the caller ensures by deciding
 * both on the loop thread (store_code_in_use()).
 *
 * Errors: -EINVAL "corrupt archive: ..." or "archive entry '../x' escapes the code
 * directory"; -EFBIG for a limit; -EIO, -ENOSPC and friends for the disk.
 * Fills sha_hex (65 bytes, NUL-terminated) whenever the archive size is acceptable.
 */
int code_unpack(const char *code_root, const void *data, size_t len, char sha_hex[65],
		struct err *err);
/* Path of an unpacked tree (malloc'd; free it). */
char *code_path(const char *code_root, const char *sha_hex);
/* Removes an unpacked tree (when no function uses it any more). The tree is first
 * renamed away, so a crash part-way never leaves a partial tree under its name.
 * Removing a tree that is not there succeeds. -EINVAL when sha_hex is not 64 hex
 * characters. */
int code_remove(const char *code_root, const char *sha_hex, struct err *err);
/*
 * The two halves of code_remove(), for callers that decide on one thread and
 * delete on another: code_detach() renames the tree away at once (atomic, so an
 * unpack decided afterwards unpacks it again rather than finding it half gone)
 * and sets *detached to where it went (malloc'd; NULL when there was no tree);
 * code_remove_detached() deletes that, which may take a while for a big tree.
 * A detached tree a crash left behind is removed by code_clean_tmp().
 */
int code_detach(const char *code_root, const char *sha_hex, char **detached, struct err *err);
int code_remove_detached(const char *detached, struct err *err);
/* Calls cb with the sha256 of every unpacked tree under code_root (none when code_root
 * does not exist), after reading the whole directory, so cb may remove trees. Stops at
 * and returns cb's first non-zero value. */
int code_list(const char *code_root, int (*cb)(const char *sha_hex, void *data), void *data,
	      struct err *err);
/* Removes what interrupted unpacks and removals left behind (<code_root>/.tmp-*).
 * Call at start-up only, before any unpack can be running. */
int code_clean_tmp(const char *code_root, struct err *err);
/*
 * Packs a directory into an in-memory tar.gz (used by the CLI's `hearth deploy --code
 * DIR`): regular files, dirs, symlinks; names relative to dir; executable bits kept
 * (as 0755/0644). The output is deterministic (sorted names, zero times and owners,
 * no gzip timestamp), so packing an unchanged directory twice gives the same sha256.
 * Appends to *out. -EFBIG past the limits above; -EINVAL for an empty directory or an
 * entry of another type (fifo, socket, device).
 */
int code_pack_dir(const char *dir, struct buf *out, struct err *err);

#endif
