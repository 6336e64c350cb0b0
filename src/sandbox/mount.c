/*
 * The sandbox's root filesystem, prepared in the spawner.
 *
 * Once per spawner: the minimal /etc under state_dir/etc (files the child binds
 * read-only, so dynamic binaries, name lookups and TLS work without exposing
 * the host's /etc), a look at the host's top-level merged-usr links, and the
 * skeleton: everything of the root that does not depend on the function (a
 * tmpfs with the merged-usr links and every mount point, /usr, /etc, /init and
 * /dev bound read-only) mounted on state_dir/root in a mount namespace of the
 * spawner's own. Each sandbox's mount namespace starts as a copy of the
 * spawner's, so it finds the skeleton already there.
 *
 * Once per spawn: the plan of the few function-dependent mounts (code,
 * runtime, /tmp), an ordered table child.c applies on top of its copy of the
 * skeleton between clone and exec. Every path and option string is built
 * here, because the child may not allocate.
 *
 * Why a skeleton: building the whole root in each child took ~40 mount calls
 * (~0.15 ms p50, far more under load) inside every cold start; the skeleton's
 * ~30 are made once.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "sandbox/internal.h"
#include "lib/banned.h"

/* The root tmpfs holds only mount points and the merged-usr links. */
#define ROOT_TMPFS_OPTS "mode=0755,size=64k,nr_inodes=128"

static const char etc_passwd[] =
	"root:x:0:0:root:/root:/usr/sbin/nologin\n"
	"sbx_user:x:993:993:sandbox user:/tmp:/usr/sbin/nologin\n"
	"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
static const char etc_group[] =
	"root:x:0:\n"
	"sbx_user:x:993:\n"
	"nogroup:x:65534:\n";
static const char etc_hosts[] =
	"127.0.0.1\tlocalhost\n"
	"::1\tlocalhost ip6-localhost ip6-loopback\n";
static const char etc_nsswitch[] =
	"passwd: files\n"
	"group: files\n"
	"shadow: files\n"
	"hosts: files\n"
	"networks: files\n"
	"protocols: files\n"
	"services: files\n";

/* Writes through a temporary name and rename(), so a spawner starting while an
 * old one still runs never shows a sandbox a half-written file. */
static int
write_file(const char *dir, const char *name, const char *content, struct err *err)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
	_cleanup_free_ char *tmp = xasprintf("%s/.%s.%d", dir, name, (int)getpid());
	_cleanup_close_ int fd = -1;
	size_t len = strlen(content);

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_set(err, errno, "cannot create '%s'", tmp);
	/* 0644 whatever the daemon's umask: the sandbox user reads these as "others". */
	if (fchmod(fd, 0644) < 0 || write(fd, content, len) != (ssize_t)len) {
		unlink(tmp);
		return err_set(err, errno ? errno : EIO, "cannot write '%s'", tmp);
	}
	if (rename(tmp, path) < 0) {
		unlink(tmp);
		return err_set(err, errno, "cannot rename '%s' to '%s'", tmp, path);
	}
	return 0;
}

/* An empty file or directory for a bind mount to land on. */
static int
make_mountpoint(const char *path, bool dir, struct err *err)
{
	int fd;

	if (dir) {
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return err_set(err, errno, "cannot create directory '%s'", path);
		if (chmod(path, 0755) < 0)
			return err_set(err, errno, "cannot chmod '%s'", path);
		return 0;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return err_set(err, errno, "cannot create '%s'", path);
	close(fd);
	return 0;
}

int
sandbox__rootfs_prepare(struct sandbox__rootfs *rf, const struct sandbox_config *cfg,
			struct err *err)
{
	static const char *const tops[] = { "bin", "sbin", "lib", "lib64", "lib32", "libx32" };
	struct stat st;
	char path[64];
	size_t i;
	ssize_t n;

	memset(rf, 0, sizeof(*rf));
	if (!cfg->state_dir || cfg->state_dir[0] != '/')
		return err_setmsg(err, EINVAL, "state_dir must be an absolute path");
	if (!cfg->init_path || cfg->init_path[0] != '/')
		return err_setmsg(err, EINVAL, "init_path must be an absolute path");
	if (stat(cfg->init_path, &st) < 0)
		return err_set(err, errno, "cannot stat init '%s'", cfg->init_path);
	if (!S_ISREG(st.st_mode) || !(st.st_mode & S_IXOTH))
		return err_setmsg(err, EACCES, "init '%s' is not a file executable by others",
				  cfg->init_path);
	if (mkdir(cfg->state_dir, 0755) < 0 && errno != EEXIST)
		return err_set(err, errno, "cannot create state dir '%s'", cfg->state_dir);

	rf->init_path = xstrdup(cfg->init_path);
	rf->root_dir = xasprintf("%s/root", cfg->state_dir);
	rf->etc_dir = xasprintf("%s/etc", cfg->state_dir);
	if (make_mountpoint(rf->root_dir, true, err) < 0 ||
	    make_mountpoint(rf->etc_dir, true, err) < 0)
		return -err->code;
	if (write_file(rf->etc_dir, "passwd", etc_passwd, err) < 0 ||
	    write_file(rf->etc_dir, "group", etc_group, err) < 0 ||
	    write_file(rf->etc_dir, "hosts", etc_hosts, err) < 0 ||
	    write_file(rf->etc_dir, "hostname", "localhost\n", err) < 0 ||
	    write_file(rf->etc_dir, "nsswitch.conf", etc_nsswitch, err) < 0 ||
	    write_file(rf->etc_dir, "resolv.conf", "", err) < 0)
		return -err->code;

	/* Host files bound over empty mount points, each only if the host has it.
	 * stat() follows links: /etc/localtime is usually one, into /usr. */
	rf->etc_ld_cache = stat("/etc/ld.so.cache", &st) == 0 && S_ISREG(st.st_mode);
	rf->etc_localtime = stat("/etc/localtime", &st) == 0 && S_ISREG(st.st_mode);
	rf->etc_certs = stat("/etc/ssl/certs", &st) == 0 && S_ISDIR(st.st_mode);
	{
		_cleanup_free_ char *a = xasprintf("%s/ld.so.cache", rf->etc_dir);
		_cleanup_free_ char *b = xasprintf("%s/localtime", rf->etc_dir);
		_cleanup_free_ char *c = xasprintf("%s/ssl", rf->etc_dir);
		_cleanup_free_ char *d = xasprintf("%s/ssl/certs", rf->etc_dir);

		if ((rf->etc_ld_cache && make_mountpoint(a, false, err) < 0) ||
		    (rf->etc_localtime && make_mountpoint(b, false, err) < 0) ||
		    (rf->etc_certs && (make_mountpoint(c, true, err) < 0 ||
				       make_mountpoint(d, true, err) < 0)))
			return -err->code;
	}

	/* Merged /usr: /bin etc. are links into /usr on most systems now; copy the
	 * links. Where they are real directories, bind them like /usr. */
	for (i = 0; i < ARRAY_SIZE(tops); i++) {
		snprintf(path, sizeof(path), "/%s", tops[i]);
		if (lstat(path, &st) < 0)
			continue;
		if (S_ISLNK(st.st_mode)) {
			n = readlink(path, rf->toplinks[rf->n_toplinks].target,
				     sizeof(rf->toplinks[0].target) - 1);
			if (n <= 0 || (size_t)n >= sizeof(rf->toplinks[0].target) - 1)
				continue;
			rf->toplinks[rf->n_toplinks].target[n] = '\0';
		} else if (S_ISDIR(st.st_mode)) {
			rf->toplinks[rf->n_toplinks].target[0] = '\0';
		} else {
			continue;
		}
		snprintf(rf->toplinks[rf->n_toplinks].name, sizeof(rf->toplinks[0].name), "%s",
			 tops[i]);
		rf->n_toplinks++;
	}
	return 0;
}

void
sandbox__rootfs_release(struct sandbox__rootfs *rf)
{
	free(rf->root_dir);
	free(rf->etc_dir);
	free(rf->init_path);
	memset(rf, 0, sizeof(*rf));
}

static struct sandbox__mount *
add(struct sandbox__plan *p, enum sandbox__mount_kind kind, int step, const char *src,
    const char *dst)
{
	struct sandbox__mount *m;

	if (p->n >= SANDBOX__MAX_MOUNTS)
		BUG("mount plan overflow");
	m = &p->m[p->n++];
	memset(m, 0, sizeof(*m));
	m->kind = kind;
	m->step = step;
	m->src = src;
	m->dst = dst;
	return m;
}

static struct sandbox__mount *
add_bind(struct sandbox__plan *p, int step, const char *src, const char *dst,
	 unsigned long flags)
{
	struct sandbox__mount *m = add(p, SANDBOX__MNT_BIND, step, src, dst);

	m->flags = flags;
	m->ro = true;
	return m;
}

static const char *
own(struct sandbox__plan *p, char *s)
{
	if (p->n_owned >= ARRAY_SIZE(p->owned))
		BUG("mount plan overflow");
	p->owned[p->n_owned++] = s;
	return s;
}

int
sandbox__skeleton_plan_build(struct sandbox__plan *p, const struct sandbox__rootfs *rf)
{
	static const char *const dirs[] = {
		"usr", "etc", "var", "var/task", "var/runtime", "tmp", "proc", "dev",
	};
	static const char *const devs[] = { "null", "zero", "full", "random", "urandom" };
	struct sandbox__mount *m;
	size_t i;

	memset(p, 0, sizeof(*p));
	p->root_dir = rf->root_dir;
	/* Every mount point a spawn needs, the function's ones included: the
	 * skeleton's root is read-only, and a child may not create anything. */
	for (i = 0; i < ARRAY_SIZE(dirs); i++)
		add(p, SANDBOX__MNT_DIR, SANDBOX__STEP_MKDIR, NULL, dirs[i]);
	for (i = 0; i < rf->n_toplinks; i++) {
		if (rf->toplinks[i].target[0]) {
			add(p, SANDBOX__MNT_SYMLINK, SANDBOX__STEP_SYMLINK, rf->toplinks[i].target,
			    rf->toplinks[i].name);
		} else {
			m = add_bind(p, SANDBOX__STEP_BIND_LIB,
				     own(p, xasprintf("/%s", rf->toplinks[i].name)),
				     rf->toplinks[i].name, MS_NOSUID | MS_NODEV);
			m->mkpoint_dir = true;
		}
	}
	/* nodev/nosuid on everything but /dev: no device node or set-id bit the
	 * host has there is any business of a function's. */
	add_bind(p, SANDBOX__STEP_BIND_USR, "/usr", "usr", MS_NOSUID | MS_NODEV);
	add_bind(p, SANDBOX__STEP_BIND_ETC, rf->etc_dir, "etc", MS_NOSUID | MS_NODEV);
	if (rf->etc_ld_cache)
		add_bind(p, SANDBOX__STEP_BIND_ETC_FILE, "/etc/ld.so.cache", "etc/ld.so.cache",
			 MS_NOSUID | MS_NODEV | MS_NOEXEC);
	if (rf->etc_localtime)
		add_bind(p, SANDBOX__STEP_BIND_ETC_FILE, "/etc/localtime", "etc/localtime",
			 MS_NOSUID | MS_NODEV | MS_NOEXEC);
	if (rf->etc_certs)
		add_bind(p, SANDBOX__STEP_BIND_ETC_FILE, "/etc/ssl/certs", "etc/ssl/certs",
			 MS_NOSUID | MS_NODEV | MS_NOEXEC);
	m = add_bind(p, SANDBOX__STEP_BIND_INIT, rf->init_path, "init", MS_NOSUID | MS_NODEV);
	m->mkpoint_file = true;

	/* /dev is a tmpfs of our own holding only binds of harmless host nodes:
	 * a user namespace may not mknod, and the host's devtmpfs holds far more
	 * than a function needs. */
	m = add(p, SANDBOX__MNT_TMPFS, SANDBOX__STEP_MOUNT_DEV, "tmpfs", "dev");
	m->flags = MS_NOSUID | MS_NOEXEC;
	m->data = "mode=0755,size=64k,nr_inodes=64";
	m->ro = true;
	for (i = 0; i < ARRAY_SIZE(devs); i++) {
		m = add_bind(p, SANDBOX__STEP_BIND_DEV, own(p, xasprintf("/dev/%s", devs[i])),
			     own(p, xasprintf("dev/%s", devs[i])), MS_NOSUID | MS_NOEXEC);
		m->mkpoint_file = true;
		/* No read-only remount: a device node is writable on a read-only
		 * mount all the same (only files and directories get EROFS), so it
		 * would cost a mount call and change nothing. */
		m->ro = false;
	}
	return 0;
}

int
sandbox__plan_build(struct sandbox__plan *p, const struct sandbox__rootfs *rf,
		    const char *code_dir, const char *runtime_dir, uint64_t tmp_bytes,
		    struct err *err)
{
	struct sandbox__mount *m;

	memset(p, 0, sizeof(*p));
	p->root_dir = rf->root_dir;
	if (code_dir && code_dir[0] != '/')
		return err_setmsg(err, EINVAL, "code_dir must be an absolute path");
	if (runtime_dir && runtime_dir[0] != '/')
		return err_setmsg(err, EINVAL, "runtime_dir must be an absolute path");

	/* On the skeleton's empty mount points (sandbox__skeleton_plan_build()).
	 * Without a runtime, /var/runtime stays an empty read-only directory;
	 * without code (a pre-started runtime, stem.c) /var/task stays empty
	 * until the runtime is given a function. */
	if (code_dir)
		add_bind(p, SANDBOX__STEP_BIND_CODE, own(p, xstrdup(code_dir)), "var/task",
			 MS_NOSUID | MS_NODEV);
	if (runtime_dir)
		add_bind(p, SANDBOX__STEP_BIND_RUNTIME, own(p, xstrdup(runtime_dir)),
			 "var/runtime", MS_NOSUID | MS_NODEV);

	/* The one writable place. Its size is the instance's disk budget; it is
	 * charged to the memory cgroup as well. */
	m = add(p, SANDBOX__MNT_TMPFS, SANDBOX__STEP_MOUNT_TMP, "tmpfs", "tmp");
	m->flags = MS_NOSUID | MS_NODEV;
	m->data = own(p, xasprintf("mode=1777,size=%" PRIu64, tmp_bytes));
	return 0;
}

void
sandbox__plan_release(struct sandbox__plan *p)
{
	size_t i;

	for (i = 0; i < p->n_owned; i++)
		free(p->owned[i]);
	p->n_owned = 0;
	p->n = 0;
}

/* Flags the kernel locked on a mount we did not create (nosuid, nodev, noexec,
 * atime) must be repeated in a remount from a user namespace, or it fails with
 * EPERM (fs/namespace.c: can_change_locked_flags()). statfs() reports them in
 * ST_* values, which are not the MS_* values. */
static unsigned long
locked_flags(const char *path)
{
	struct statfs sfs;
	unsigned long f = 0;

	if (statfs(path, &sfs) < 0)
		return 0;
	if (sfs.f_flags & ST_NOSUID)
		f |= MS_NOSUID;
	if (sfs.f_flags & ST_NODEV)
		f |= MS_NODEV;
	if (sfs.f_flags & ST_NOEXEC)
		f |= MS_NOEXEC;
	if (sfs.f_flags & ST_NOATIME)
		f |= MS_NOATIME;
	if (sfs.f_flags & ST_NODIRATIME)
		f |= MS_NODIRATIME;
	if (sfs.f_flags & ST_RELATIME)
		f |= MS_RELATIME;
	return f;
}

static int
make_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

int
sandbox__plan_apply(const struct sandbox__plan *p, struct sandbox__child_error *ce)
{
	const struct sandbox__mount *m;
	size_t i;
	int r;

	for (i = 0; i < p->n; i++) {
		m = &p->m[i];
		r = 0;
		switch (m->kind) {
		case SANDBOX__MNT_DIR:
			if (mkdir(m->dst, 0755) < 0 && errno != EEXIST)
				r = -errno;
			break;
		case SANDBOX__MNT_SYMLINK:
			if (symlink(m->src, m->dst) < 0)
				r = -errno;
			break;
		case SANDBOX__MNT_BIND:
			if (m->mkpoint_dir && mkdir(m->dst, 0755) < 0 && errno != EEXIST)
				r = -errno;
			else if (m->mkpoint_file)
				r = make_file(m->dst);
			/* Recursive, because a non-recursive bind of a tree with mounts
			 * under it that the kernel locked fails with EINVAL in a user
			 * namespace (fs/namespace.c: do_loopback()). */
			if (r == 0 && mount(m->src, m->dst, NULL, MS_BIND | MS_REC, NULL) < 0)
				r = -errno;
			break;
		case SANDBOX__MNT_TMPFS:
			if (mount("tmpfs", m->dst, "tmpfs", m->flags, m->data) < 0)
				r = -errno;
			break;
		}
		if (r < 0) {
			*ce = (struct sandbox__child_error){ m->step, -r, (int)i };
			return r;
		}
	}
	/* Read-only only now: mount points inside /dev had to be created first,
	 * and a bind mount's flags are its own, not those of what it binds. */
	for (i = 0; i < p->n; i++) {
		m = &p->m[i];
		if (!m->ro)
			continue;
		if (mount(NULL, m->dst, NULL,
			  MS_REMOUNT | MS_BIND | MS_RDONLY | m->flags | locked_flags(m->dst),
			  NULL) < 0) {
			*ce = (struct sandbox__child_error){ SANDBOX__STEP_REMOUNT_RO, errno,
							     (int)i };
			return -ce->err;
		}
	}
	return 0;
}

/* Builds the skeleton in the calling process's mount namespace, with the
 * cwd inside it. ce is set on failure. */
static int
skeleton_apply(const struct sandbox__plan *p, struct sandbox__child_error *ce)
{
	int r;

	/* Like a sandbox's old root tmpfs: nosuid and nodev, read-only once
	 * every mount point exists. */
	if (mount("tmpfs", p->root_dir, "tmpfs", MS_NOSUID | MS_NODEV, ROOT_TMPFS_OPTS) < 0) {
		*ce = (struct sandbox__child_error){ SANDBOX__STEP_MOUNT_ROOT, errno, -1 };
		return -ce->err;
	}
	if (chdir(p->root_dir) < 0) {
		*ce = (struct sandbox__child_error){ SANDBOX__STEP_CHDIR_ROOT, errno, -1 };
		return -ce->err;
	}
	r = sandbox__plan_apply(p, ce);
	if (r < 0)
		return r;
	if (mount(NULL, ".", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV,
		  NULL) < 0) {
		*ce = (struct sandbox__child_error){ SANDBOX__STEP_REMOUNT_ROOT, errno, -1 };
		return -ce->err;
	}
	/* Private, the whole tree: the binds of /usr and the host's files were
	 * born slaves of the host's mounts (as the spawner's are, below), and a
	 * mount the host makes under /usr later must not appear inside any
	 * sandbox. Each sandbox's copy of a private mount is private too. */
	if (mount(NULL, ".", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		*ce = (struct sandbox__child_error){ SANDBOX__STEP_MOUNT_PRIVATE, errno, -1 };
		return -ce->err;
	}
	return 0;
}

int
sandbox__skeleton_mount(const struct sandbox__rootfs *rf, struct err *err)
{
	_cleanup_close_ int cwd = -1;
	struct sandbox__child_error ce;
	struct sandbox__plan p;
	int r;

	/* A mount namespace of the spawner's own (its seeds share it), so the
	 * skeleton is visible to the spawner and, through the copy clone3
	 * makes, to every sandbox, and never to the host; it goes away with the
	 * spawner's last process. Slave rather than private, so the spawner
	 * still sees what the host mounts later, and nothing we mount
	 * propagates back to the host. */
	if (unshare(CLONE_NEWNS) < 0)
		return err_set(err, errno, "cannot create the spawner's mount namespace");
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return err_set(err, errno, "cannot make the spawner's mounts slaves of the host's");
	cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cwd < 0)
		return err_set(err, errno, "cannot open the current directory");
	sandbox__skeleton_plan_build(&p, rf);
	r = skeleton_apply(&p, &ce);
	if (r < 0)
		sandbox__child_error_set(err, &ce, &p);
	sandbox__plan_release(&p);
	if (fchdir(cwd) < 0 && r == 0)
		r = err_set(err, errno, "cannot return to the spawner's directory");
	if (r < 0)
		return err_wrap(err, "cannot prepare the sandbox root skeleton");
	return 0;
}
