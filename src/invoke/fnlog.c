/*
 * Function logs: one append-only file per function, <data>/logs/<name>.log.
 *
 * Every line is "<ISO time>\t<text>\n". Lines are collected per function and
 * written once per loop iteration from a uv_check handle, whole lines with one
 * write() on an O_APPEND descriptor, so readers never see half a line: a warm
 * call's START, END and REPORT lines (and, under load, many calls' lines) cost
 * one write instead of one each. invoke_logs_read() writes what is pending
 * first, so a reader never misses a line the daemon has already produced. A reader's cursor is
 * a byte offset into the file, which makes `hearth logs --follow` a cheap
 * poll. The platform's START/END/REPORT lines and the runtime's output share
 * the file, in the order they happened.
 *
 * Descriptors are kept open between lines, since a busy function writes
 * several per call, but only for the INVOKE_LOG_FDS_MAX most recently
 * written functions: a daemon with thousands of functions would otherwise
 * hold one fd each, forever, against its RLIMIT_NOFILE. Closing one loses
 * nothing: the next line reopens it with O_APPEND.
 *
 * Rotation: before a batch would take <name>.log past cfg.log_max_bytes, the
 * file becomes <name>.log.1 (replacing the one before) and a new one starts,
 * so a function's log holds at most about twice the limit. Cursors stay valid
 * across it: a cursor is an offset into the function's log as a whole, every
 * line ever written, and <name>.log.offset records where the current file
 * starts in it (the previous file ends there). A cursor older than what is
 * kept reads from the oldest kept line.
 *
 * The offset file is written before the rename, and names the inode of the
 * file being rotated on a second line. A crash between the two would
 * otherwise leave an offset that says the current file starts where it in
 * fact ends: every follower would get the whole file again, and later
 * offsets would count it twice. So when the offset is first read, a current
 * file that still has that inode is a rotation cut short, and the rename is
 * done then. (The first line alone is the format before the inode was kept.)
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "invoke/invoke-internal.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/banned.h"

static void
lru_unlink(struct invoke_service *svc, struct fn_entry *fe)
{
	if (fe->log_prev)
		fe->log_prev->log_next = fe->log_next;
	else
		svc->log_lru = fe->log_next;
	if (fe->log_next)
		fe->log_next->log_prev = fe->log_prev;
	else
		svc->log_lru_tail = fe->log_prev;
	fe->log_prev = fe->log_next = NULL;
}

static void
lru_push(struct invoke_service *svc, struct fn_entry *fe)
{
	fe->log_prev = NULL;
	fe->log_next = svc->log_lru;
	if (svc->log_lru)
		svc->log_lru->log_prev = fe;
	else
		svc->log_lru_tail = fe;
	svc->log_lru = fe;
}

void
invoke__log_close(struct invoke_service *svc, struct fn_entry *fe)
{
	if (fe->log_fd < 0)
		return;
	lru_unlink(svc, fe);
	close(fe->log_fd);
	fe->log_fd = -1;
	assert(svc->nlog_open > 0);
	svc->nlog_open--;
}

/* Where the current file of name's log starts in the whole log: 0 when the log
 * never rotated (no offset file) or the file is unreadable. Finishes a rotation
 * a crash cut short between writing the offset and the rename (see above). */
static uint64_t
read_base(struct invoke_service *svc, const char *name)
{
	char path[4096], cur[4096], old[4096], text[64], *end, *ino_end;
	unsigned long long ino;
	struct stat st;
	uint64_t v;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s.log.offset", svc->log_dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	text[n] = '\0';
	v = strtoull(text, &end, 10);
	if (end == text || (*end != '\n' && *end != '\0'))
		return 0;
	if (*end != '\n')
		return v;
	ino = strtoull(end + 1, &ino_end, 10);
	if (ino_end == end + 1 || *ino_end != '\n')
		return v;	/* no inode: written before it was kept */
	snprintf(cur, sizeof(cur), "%s/%s.log", svc->log_dir, name);
	snprintf(old, sizeof(old), "%s/%s.log.1", svc->log_dir, name);
	if (stat(cur, &st) == 0 && (unsigned long long)st.st_ino == ino) {
		log_warn("log of '%s': finishing a rotation cut short", name);
		if (rename(cur, old) < 0)
			log_error("cannot rotate the log of '%s': %s", name, strerror(errno));
	}
	return v;
}

static uint64_t
fe_base(struct invoke_service *svc, struct fn_entry *fe)
{
	if (!fe->log_base_known) {
		fe->log_base = read_base(svc, fe->cfg.name);
		fe->log_base_known = true;
	}
	return fe->log_base;
}

/* Writes the offset file whole or not at all (a temporary file renamed over it). */
static int
write_base(struct invoke_service *svc, const char *name, uint64_t base, uint64_t ino)
{
	char tmp[4096], path[4096], text[64];
	int fd, n, ok;

	snprintf(tmp, sizeof(tmp), "%s/%s.log.offset.tmp", svc->log_dir, name);
	snprintf(path, sizeof(path), "%s/%s.log.offset", svc->log_dir, name);
	n = snprintf(text, sizeof(text), "%" PRIu64 "\n%" PRIu64 "\n", base, ino);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	ok = write(fd, text, (size_t)n) == n;
	close(fd);
	if (!ok || rename(tmp, path) < 0) {
		unlink(tmp);
		return -EIO;
	}
	return 0;
}

/*
 * Current file -> <name>.log.1; the next line opens a new current file. On
 * failure the log simply goes on growing in the current file (logged): losing
 * lines would be worse than a big file.
 */
static void
rotate(struct invoke_service *svc, struct fn_entry *fe)
{
	char path[4096], old[4096];
	uint64_t base = fe_base(svc, fe) + fe->log_size;
	struct stat st;
	int r;

	snprintf(path, sizeof(path), "%s/%s.log", svc->log_dir, fe->cfg.name);
	snprintf(old, sizeof(old), "%s/%s.log.1", svc->log_dir, fe->cfg.name);
	r = fstat(fe->log_fd, &st) < 0 ? -errno : 0;
	if (r == 0)
		r = write_base(svc, fe->cfg.name, base, (uint64_t)st.st_ino);
	if (r == 0 && rename(path, old) < 0)
		r = -errno;
	if (r < 0) {
		log_error("cannot rotate the log of '%s': %s", fe->cfg.name, strerror(-r));
		return;
	}
	invoke__log_close(svc, fe);
	fe->log_base = base;
	fe->log_size = 0;
}

static int
log_fd(struct invoke_service *svc, struct fn_entry *fe)
{
	char path[4096];
	struct stat st;

	if (fe->log_fd >= 0) {
		if (svc->log_lru != fe) {
			lru_unlink(svc, fe);
			lru_push(svc, fe);
		}
		return fe->log_fd;
	}
	if (svc->nlog_open >= INVOKE_LOG_FDS_MAX)
		invoke__log_close(svc, svc->log_lru_tail);
	fe_base(svc, fe);	/* first: it may finish a rotation, renaming the file */
	snprintf(path, sizeof(path), "%s/%s.log", svc->log_dir, fe->cfg.name);
	fe->log_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fe->log_fd < 0) {
		log_error("cannot open log '%s': %s", path, strerror(errno));
		return -1;
	}
	fe->log_size = fstat(fe->log_fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	lru_push(svc, fe);
	svc->nlog_open++;
	return fe->log_fd;
}

void
invoke__log_flush(struct invoke_service *svc, struct fn_entry *fe)
{
	struct fn_entry **pp;
	ssize_t n;
	int fd;

	if (fe->log_dirty) {
		for (pp = &svc->log_dirty; *pp; pp = &(*pp)->dirty_next) {
			if (*pp == fe) {
				*pp = fe->dirty_next;
				break;
			}
		}
		fe->log_dirty = false;
	}
	if (!fe->log_pending.len)
		return;
	fd = log_fd(svc, fe);
	/* The batch goes whole into one file: a file may pass the limit by one
	 * batch (PENDING_MAX) rather than split a line across two files. */
	if (fd >= 0 && svc->cfg.log_max_bytes && fe->log_size &&
	    fe->log_size + fe->log_pending.len > svc->cfg.log_max_bytes) {
		rotate(svc, fe);
		fd = log_fd(svc, fe);
	}
	if (fd >= 0) {
		n = write(fd, fe->log_pending.ptr, fe->log_pending.len);
		if (n < 0)
			log_error("cannot write the log of '%s': %s", fe->cfg.name,
				  strerror(errno));
		else
			fe->log_size += (uint64_t)n;
	}
	buf_reset(&fe->log_pending);
}

static void
flush_all(struct invoke_service *svc)
{
	while (svc->log_dirty)
		invoke__log_flush(svc, svc->log_dirty);
}

static void
log_check_fired(uv_check_t *h)
{
	flush_all(h->data);
}

void
invoke__log_start(struct invoke_service *svc)
{
	buf_init(&svc->log_line);
	svc->log_check = xmalloc(sizeof(*svc->log_check));
	uv_check_init(svc->loop, svc->log_check);
	svc->log_check->data = svc;
	uv_check_start(svc->log_check, log_check_fired);
}

static void
log_check_closed(uv_handle_t *h)
{
	free(h);
}

void
invoke__log_stop(struct invoke_service *svc)
{
	flush_all(svc);
	buf_release(&svc->log_line);
	if (svc->log_check) {
		uv_close((uv_handle_t *)svc->log_check, log_check_closed);
		svc->log_check = NULL;
	}
}

/* A large burst is written at once rather than held: pending stays bounded. */
#define PENDING_MAX (256 * 1024)

static void
emit(struct invoke_service *svc, const char *name, struct buf *line)
{
	struct fn_entry *fe = invoke__fn(svc, name);

	if (!fe)
		return;	/* deleted while an instance still talked */
	buf_add(&fe->log_pending, line->ptr, line->len);
	if (!svc->log_check || fe->log_pending.len > PENDING_MAX) {
		invoke__log_flush(svc, fe);
		return;
	}
	if (!fe->log_dirty) {
		fe->log_dirty = true;
		fe->dirty_next = svc->log_dirty;
		svc->log_dirty = fe;
	}
}

static void
stamp(struct buf *b)
{
	char ts[32];

	clock_iso8601(clock_wall_ms(), ts);
	buf_adds(b, ts);
	buf_addch(b, '\t');
}

/* A call's tail keeps at least its last TAIL_KEEP bytes; trimming only when it
 * doubles keeps the copying amortised. */
#define TAIL_KEEP 4096

static void
tail_add(struct buf *tail, const char *text, size_t len)
{
	if (!tail)
		return;
	buf_add(tail, text, len);
	if (tail->len > 2 * TAIL_KEEP)
		buf_consume(tail, tail->len - TAIL_KEEP);
}

/* Lines are formatted in one scratch buffer kept by the service: a warm call writes
 * three, and a fresh buffer each time cost two allocations and, for the longer REPORT
 * line, a second vsnprintf() once the first had found the buffer too small. */
static void
log_linev(struct invoke_service *svc, const char *name, struct buf *tail, const char *fmt,
	  va_list ap)
{
	struct buf *b = &svc->log_line;
	size_t text;

	buf_reset(b);
	buf_grow(b, 256);
	stamp(b);
	text = b->len;
	buf_vaddf(b, fmt, ap);
	buf_addch(b, '\n');
	emit(svc, name, b);
	tail_add(tail, b->ptr + text, b->len - text);
	/* A line after invoke__log_stop() (the service going away) keeps nothing. */
	if (!svc->log_check)
		buf_release(b);
}

void
invoke__log_line(struct invoke_service *svc, const char *name, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_linev(svc, name, NULL, fmt, ap);
	va_end(ap);
}

void
invoke__log_line_tail(struct invoke_service *svc, const char *name, struct buf *tail,
		      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_linev(svc, name, tail, fmt, ap);
	va_end(ap);
}

void
invoke__log_raw_tail(struct invoke_service *svc, const char *name, const char *request_id,
		     struct buf *tail, struct str line)
{
	struct buf b = BUF_INIT;
	size_t i, text;

	stamp(&b);
	if (request_id) {
		buf_adds(&b, request_id);
		buf_addch(&b, '\t');
	}
	text = b.len;
	/* A stray newline or NUL would break the one-line-per-entry format. */
	for (i = 0; i < line.len; i++)
		buf_addch(&b, line.ptr[i] == '\n' || line.ptr[i] == '\0' ? ' ' : line.ptr[i]);
	buf_addch(&b, '\n');
	emit(svc, name, &b);
	tail_add(tail, b.ptr + text, b.len - text);
	buf_release(&b);
}

void
invoke__log_raw(struct invoke_service *svc, const char *name, const char *request_id,
		struct str line)
{
	invoke__log_raw_tail(svc, name, request_id, NULL, line);
}

/*
 * Appends whole lines of one file from byte off, at most max_bytes, to out and
 * sets *used to the bytes taken. A line longer than max_bytes is given anyway;
 * a last line without its newline only when `last` says nothing follows it in
 * another file (so a reader is never stuck before it). -ENOENT when the file is
 * missing.
 */
static int
read_file(const char *path, uint64_t off, size_t max_bytes, bool last, struct buf *out,
	  uint64_t *used, struct err *err)
{
	size_t want, start = out->len, keep;
	struct stat st;
	ssize_t n;
	int fd;

	*used = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return -ENOENT;
		return err_set(err, errno, "cannot open log '%s'", path);
	}
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size <= off) {
		close(fd);
		return 0;
	}
	want = MIN(max_bytes, (size_t)((uint64_t)st.st_size - off));
	buf_grow(out, want);
	n = pread(fd, out->ptr + out->len, want, (off_t)off);
	close(fd);
	if (n < 0)
		return err_set(err, errno, "cannot read log '%s'", path);
	buf_setlen(out, out->len + (size_t)n);
	/* Hand out whole lines only; the rest is read next time. */
	keep = out->len;
	while (keep > start && out->ptr[keep - 1] != '\n')
		keep--;
	if (keep == start && (size_t)n == max_bytes)
		keep = out->len;	/* one line longer than max_bytes: give it anyway */
	if (last && off + (uint64_t)n == (uint64_t)st.st_size)
		keep = out->len;	/* a torn last line of a finished file */
	buf_setlen(out, keep);
	*used = keep - start;
	return 0;
}

int
invoke_logs_read(struct invoke_service *svc, const char *name, uint64_t *cursor,
		 size_t max_bytes, struct buf *out, struct err *err)
{
	char cur[4096], prev[4096];
	struct fn_entry *fe = invoke__fn(svc, name);
	uint64_t base, prev_size = 0, prev_start, used = 0;
	struct stat st;
	int r, r2;

	if (fe)
		invoke__log_flush(svc, fe);
	base = fe ? fe_base(svc, fe) : read_base(svc, name);
	snprintf(cur, sizeof(cur), "%s/%s.log", svc->log_dir, name);
	snprintf(prev, sizeof(prev), "%s/%s.log.1", svc->log_dir, name);
	if (stat(prev, &st) == 0)
		prev_size = (uint64_t)st.st_size;
	/* An offset file lost or never written (a log rotated by hand): the previous
	 * file then ends where the current one starts, at its size. */
	if (base < prev_size)
		base = prev_size;
	prev_start = base - prev_size;
	if (*cursor < prev_start)
		*cursor = prev_start;	/* older lines were rotated away */
	r2 = -ENOENT;
	if (*cursor < base) {
		r2 = read_file(prev, *cursor - prev_start, max_bytes, true, out, &used, err);
		if (r2 < 0 && r2 != -ENOENT)
			return r2;
		*cursor += used;
		/* One file per call: the current file's lines come next time (its
		 * page then has the whole max_bytes for a long line). */
		if (used)
			return 0;
		*cursor = base;	/* nothing left there */
	}
	r = read_file(cur, *cursor - base, max_bytes, false, out, &used, err);
	if (r == -ENOENT)
		return r2 == 0 ? 0 : -ENOENT;
	if (r < 0)
		return r;
	*cursor += used;
	return 0;
}
