/*
 * The spawner: the small privileged helper the daemon forks at start-up.
 *
 * It owns every instance's process and cgroups. It loops over two fds: the
 * control socket (spawn and stop requests from the daemon) and a signalfd for
 * SIGCHLD. Spawns are served one at a time, start to exec, so the set-up
 * below never races with itself; a spawn takes about a millisecond.
 *
 * It is forked rather than exec'd and stays small, so clone3() without
 * CLONE_VM (a fork-like copy of this process) is cheap. It never trusts the
 * daemon's requests beyond what the protocol decoder validated.
 *
 * Its life ends with the daemon's: on STOP, on EOF of the control socket
 * (the daemon died) or on SIGTERM it kills every instance, removes every
 * cgroup and exits, leaving nothing behind. PR_SET_PDEATHSIG would kill it
 * without that clean-up, so socket EOF is the signal instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/sched.h>

#include "lib/cleanup.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "sandbox/internal.h"
#include "sandbox/spawner.h"
#include "lib/banned.h"

/*
 * Host uids and gids 100000..165535 are hearth's. It is the first range
 * Debian's useradd hands out in /etc/subuid (SUB_UID_MIN), so it is never host
 * root, never a system or login account, and so never the daemon's own uid
 * (checked at start-up all the same).
 *
 * Each instance's uid and gid 993 (Lambda's sbx_user1051) is one host id of
 * that range: user namespace slot k maps 993 to host id 100000 + k and
 * nothing else, so two instances are two host users and cannot signal,
 * ptrace or read each other even where they could see each other.
 */
#define HOST_ID_BASE 100000
#define ID_RANGE 65536
/* How often and for how long a dead instance's cgroup rmdir is retried. */
#define RMDIR_RETRY_MS 10
#define RMDIR_GIVE_UP_MS 10000
/* A child that neither execs nor fails within this is stuck; kill it. */
#define CHILD_SETUP_TIMEOUT_MS 10000

const char *
sandbox__step_name(int step)
{
	static const char *const names[] = {
		[SANDBOX__STEP_FDS_EARLY] = "fds_early",
		[SANDBOX__STEP_SYNC] = "sync",
		[SANDBOX__STEP_JOIN_USERNS] = "join_userns",
		[SANDBOX__STEP_JOIN_NETNS] = "join_netns",
		[SANDBOX__STEP_MOUNT_PRIVATE] = "mount_private",
		[SANDBOX__STEP_MOUNT_ROOT] = "mount_root",
		[SANDBOX__STEP_CHDIR_ROOT] = "chdir_root",
		[SANDBOX__STEP_MKDIR] = "mkdir",
		[SANDBOX__STEP_SYMLINK] = "symlink",
		[SANDBOX__STEP_BIND_USR] = "bind_usr",
		[SANDBOX__STEP_BIND_LIB] = "bind_lib",
		[SANDBOX__STEP_BIND_ETC] = "bind_etc",
		[SANDBOX__STEP_BIND_ETC_FILE] = "bind_etc_file",
		[SANDBOX__STEP_BIND_CODE] = "bind_code",
		[SANDBOX__STEP_BIND_RUNTIME] = "bind_runtime",
		[SANDBOX__STEP_BIND_INIT] = "bind_init",
		[SANDBOX__STEP_MOUNT_DEV] = "mount_dev",
		[SANDBOX__STEP_BIND_DEV] = "bind_dev",
		[SANDBOX__STEP_MOUNT_TMP] = "mount_tmp",
		[SANDBOX__STEP_REMOUNT_RO] = "remount_ro",
		[SANDBOX__STEP_MOUNT_PROC] = "mount_proc",
		[SANDBOX__STEP_MASK_PROC] = "mask_proc",
		[SANDBOX__STEP_REMOUNT_ROOT] = "remount_root",
		[SANDBOX__STEP_PIVOT_ROOT] = "pivot_root",
		[SANDBOX__STEP_UMOUNT_OLD] = "umount_old",
		[SANDBOX__STEP_LOOPBACK] = "loopback",
		[SANDBOX__STEP_HOSTNAME] = "hostname",
		[SANDBOX__STEP_CAPBSET] = "capbset",
		[SANDBOX__STEP_AMBIENT] = "ambient",
		[SANDBOX__STEP_RLIMIT] = "rlimit",
		[SANDBOX__STEP_FDS] = "fds",
		[SANDBOX__STEP_SETGROUPS] = "setgroups",
		[SANDBOX__STEP_SETGID] = "setgid",
		[SANDBOX__STEP_SETUID] = "setuid",
		[SANDBOX__STEP_NO_NEW_PRIVS] = "no_new_privs",
		[SANDBOX__STEP_SECCOMP] = "seccomp",
		[SANDBOX__STEP_EXEC] = "exec",
	};

	if (step >= 0 && (size_t)step < ARRAY_SIZE(names) && names[step])
		return names[step];
	return "unknown";
}

int
sandbox__child_error_set(struct err *err, const struct sandbox__child_error *ce,
			 const struct sandbox__plan *p)
{
	static const char *const what[] = {
		[SANDBOX__STEP_FDS_EARLY] = "cannot move the set-up fds",
		[SANDBOX__STEP_SYNC] = "cannot wait for the spawner's go-ahead",
		[SANDBOX__STEP_JOIN_USERNS] = "cannot join the sandbox user namespace",
		[SANDBOX__STEP_JOIN_NETNS] = "cannot join the instance's network namespace",
		[SANDBOX__STEP_MOUNT_PRIVATE] = "cannot make mounts private",
		[SANDBOX__STEP_CHDIR_ROOT] = "cannot enter the new root",
		[SANDBOX__STEP_MOUNT_PROC] = "cannot mount proc on /proc",
		[SANDBOX__STEP_REMOUNT_ROOT] = "cannot remount the root read-only",
		[SANDBOX__STEP_PIVOT_ROOT] = "cannot pivot_root into the new root",
		[SANDBOX__STEP_UMOUNT_OLD] = "cannot detach the old root",
		[SANDBOX__STEP_LOOPBACK] = "cannot bring up the loopback interface",
		[SANDBOX__STEP_HOSTNAME] = "cannot set the hostname",
		[SANDBOX__STEP_CAPBSET] = "cannot drop the capability bounding set",
		[SANDBOX__STEP_AMBIENT] = "cannot clear the ambient capabilities",
		[SANDBOX__STEP_RLIMIT] = "cannot set RLIMIT_NOFILE",
		[SANDBOX__STEP_FDS] = "cannot set up fds 0 to 3",
		[SANDBOX__STEP_SETGROUPS] = "cannot drop supplementary groups",
		[SANDBOX__STEP_SETGID] = "cannot change to the sandbox gid",
		[SANDBOX__STEP_SETUID] = "cannot change to the sandbox uid",
		[SANDBOX__STEP_NO_NEW_PRIVS] = "cannot set no_new_privs",
		[SANDBOX__STEP_SECCOMP] = "cannot load the seccomp filter",
		[SANDBOX__STEP_EXEC] = "cannot execute /init",
	};
	const struct sandbox__mount *m = NULL;
	const char *name = sandbox__step_name(ce->step);
	const char *why = strerror(ce->err);

	if (ce->step != SANDBOX__STEP_MASK_PROC && ce->index >= 0 && (size_t)ce->index < p->n)
		m = &p->m[ce->index];
	if (ce->step == SANDBOX__STEP_MASK_PROC && ce->index >= 0 &&
	    (size_t)ce->index < sandbox__n_proc_rules)
		return err_setmsg(err, ce->err, "cannot mask /%s: %s (step %s)",
				  sandbox__proc_rules[ce->index].path, why, name);
	if (ce->step == SANDBOX__STEP_MOUNT_ROOT)
		return err_setmsg(err, ce->err, "cannot mount tmpfs on '%s': %s (step %s)",
				  p->root_dir, why, name);
	if (m) {
		switch (ce->step) {
		case SANDBOX__STEP_REMOUNT_RO:
			return err_setmsg(err, ce->err,
					  "cannot remount /%s read-only: %s (step %s)", m->dst, why,
					  name);
		case SANDBOX__STEP_MKDIR:
			return err_setmsg(err, ce->err, "cannot create /%s: %s (step %s)", m->dst,
					  why, name);
		case SANDBOX__STEP_SYMLINK:
			return err_setmsg(err, ce->err,
					  "cannot create symlink /%s -> %s: %s (step %s)", m->dst,
					  m->src, why, name);
		default:
			if (m->kind == SANDBOX__MNT_TMPFS)
				return err_setmsg(err, ce->err,
						  "cannot mount tmpfs on /%s: %s (step %s)",
						  m->dst, why, name);
			return err_setmsg(err, ce->err, "cannot bind '%s' on /%s: %s (step %s)",
					  m->src, m->dst, why, name);
		}
	}
	if (ce->step >= 0 && (size_t)ce->step < ARRAY_SIZE(what) && what[ce->step])
		return err_setmsg(err, ce->err, "%s: %s (step %s)", what[ce->step], why, name);
	return err_setmsg(err, ce->err, "sandbox set-up failed: %s (step %s)", why, name);
}

static int
send_msg(struct spawner *sp, const struct sandbox__msg *m, const int *fds, size_t nfds)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} cbuf;
	struct buf b = BUF_INIT;
	struct msghdr mh = { 0 };
	struct iovec iov;
	struct cmsghdr *cm;
	ssize_t n;
	int r;

	r = sandbox__msg_encode(m, &b);
	if (r < 0) {
		buf_release(&b);
		return r;
	}
	iov.iov_base = b.ptr;
	iov.iov_len = b.len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds) {
		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	}
	do
		n = sendmsg(sp->ctl_fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	r = n < 0 ? -errno : 0;
	buf_release(&b);
	return r;
}

static void
send_spawn_failed(struct spawner *sp, uint64_t id, const struct err *err)
{
	struct sandbox__msg m;
	int r;

	sandbox__msg_init(&m, SANDBOX__MSG_SPAWN_FAILED, id);
	m.err_code = err->code ? err->code : EIO;
	m.err_msg = err->msg;
	r = send_msg(sp, &m, NULL, 0);
	if (r < 0)
		log_warn("spawner: cannot report failed spawn %" PRIu64 ": %s", id, strerror(-r));
}

static int
write_id_map(pid_t pid, const char *file, int slot, struct err *err)
{
	char dir[32], line[64];
	int r;

	snprintf(dir, sizeof(dir), "/proc/%d", (int)pid);
	snprintf(line, sizeof(line), "%d %d 1\n", SANDBOX__SBX_UID, HOST_ID_BASE + slot);
	r = sandbox__write_file(dir, file, line);
	if (r < 0)
		return err_set(err, -r, "cannot write %s/%s", dir, file);
	return 0;
}

/*
 * The user namespace of slot `slot` (see HOST_ID_BASE): a throwaway child
 * unshares it, we write its id maps, keep a reference through
 * /proc/PID/ns/user, and let the child go (the fd keeps the namespace alive).
 * ~0.5 ms, so slots are made ahead of need (userns_refill()) and reused.
 *
 * Why not CLONE_NEWUSER per instance: the child would then build its root as
 * an unprivileged host uid, which cannot even traverse a data directory
 * under /root (mode 0700). Instead the child sets up its mounts as host root
 * in namespaces owned by the host's user namespace, and joins this one last,
 * just before dropping to the sandbox uid. That also leaves the sandbox with
 * no capability over its own mount, network or pid namespace, and saves
 * writing id maps on every spawn.
 */
static int
make_userns(int slot, int *out, struct err *err)
{
	int ready[2], hold[2], r = 0;
	char path[64], c;
	pid_t pid;

	if (pipe2(ready, O_CLOEXEC) < 0)
		return err_set(err, errno, "cannot create a pipe");
	if (pipe2(hold, O_CLOEXEC) < 0) {
		close(ready[0]);
		close(ready[1]);
		return err_set(err, errno, "cannot create a pipe");
	}
	pid = fork();
	if (pid < 0) {
		r = err_set(err, errno, "cannot fork the user namespace holder");
		goto out;
	}
	if (pid == 0) {
		close(ready[0]);
		close(hold[1]);
		if (unshare(CLONE_NEWUSER) < 0)
			_exit(1);
		if (write(ready[1], "u", 1) != 1)
			_exit(1);
		/* Stay until the parent has the maps written and a reference. */
		while (read(hold[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(ready[1]);
	ready[1] = -1;
	close(hold[0]);
	hold[0] = -1;
	if (read(ready[0], &c, 1) != 1) {
		r = err_setmsg(err, EPERM, "cannot create a user namespace (are user namespaces "
			       "disabled? see /proc/sys/user/max_user_namespaces)");
		goto reap;
	}
	r = write_id_map(pid, "uid_map", slot, err);
	if (r == 0)
		r = write_id_map(pid, "gid_map", slot, err);
	if (r == 0) {
		snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
		*out = open(path, O_RDONLY | O_CLOEXEC);
		if (*out < 0)
			r = err_set(err, errno, "cannot open '%s'", path);
	}
reap:
	close(hold[1]);
	hold[1] = -1;
	/* Released, the holder exits by itself; waiting for that here (~0.4 ms
	 * of its scheduling on a busy host) would hold up a spawn queued behind
	 * this refill. On success reap() collects it on its SIGCHLD. */
	while (r < 0 && waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
out:
	if (ready[0] >= 0)
		close(ready[0]);
	if (ready[1] >= 0)
		close(ready[1]);
	if (hold[0] >= 0)
		close(hold[0]);
	if (hold[1] >= 0)
		close(hold[1]);
	return r;
}

/*
 * A new network namespace with loopback up, made by the spawner itself:
 * unshare into it, bring up lo, open a reference, and go back. The spawner
 * is single-threaded, so nothing else runs in the wrong namespace meanwhile.
 * Nothing but the fd holds the namespace: closing the last reference (the
 * instance's processes and this fd) lets the kernel free it.
 */
static int
netns_make(struct spawner *sp, int *out, struct err *err)
{
	int fd, r;

	if (unshare(CLONE_NEWNET) < 0)
		return err_set(err, errno, "cannot create a network namespace");
	fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	r = fd < 0 ? -errno : sandbox__loopback_up();
	if (setns(sp->host_netns_fd, CLONE_NEWNET) < 0) {
		/* Stuck in a namespace with no route anywhere: the spawner can
		 * no longer tell where its own network is. Not recoverable. */
		log_error("spawner: cannot return to the host network namespace: %s",
			  strerror(errno));
		abort();
	}
	if (fd < 0)
		return err_set(err, -r, "cannot open the new network namespace");
	if (r < 0) {
		close(fd);
		return err_set(err, -r, "cannot bring up loopback in a new network namespace");
	}
	*out = fd;
	return 0;
}

/* Takes a ready network namespace from the pool, or makes one. */
static int
netns_take(struct spawner *sp, int *out, struct err *err)
{
	if (sp->n_netns) {
		*out = sp->netns[--sp->n_netns];
		return 0;
	}
	return netns_make(sp, out, err);
}

/* Tops the pool up by one; returns whether it is still short. */
static bool
netns_refill(struct spawner *sp)
{
	struct err err = ERR_INIT;
	int fd;

	if (sp->n_netns >= NETNS_POOL)
		return false;
	if (netns_make(sp, &fd, &err) < 0) {
		/* Spawns make their own then, and report the error if it lasts. */
		log_warn("spawner: %s", err.msg);
		return false;
	}
	sp->netns[sp->n_netns++] = fd;
	return sp->n_netns < NETNS_POOL;
}

/* Spare slots: made but with no live instance. */
static size_t
userns_spare(const struct spawner *sp)
{
	size_t i, n = 0;

	for (i = 0; i < sp->n_userns; i++)
		n += sp->users[i] == 0;
	return n;
}

/* Makes one more slot if spares are short; returns whether still short. */
static bool
userns_refill(struct spawner *sp)
{
	struct err err = ERR_INIT;

	if (userns_spare(sp) >= USERNS_SPARE || sp->n_userns >= USERNS_SLOTS)
		return false;
	if (make_userns((int)sp->n_userns, &sp->userns[sp->n_userns], &err) < 0) {
		log_warn("spawner: %s", err.msg);
		return false;
	}
	sp->n_userns++;
	return userns_spare(sp) < USERNS_SPARE && sp->n_userns < USERNS_SLOTS;
}

/* A slot for a new instance: a free one, else a new one, else a shared one. */
static int
userns_take(struct spawner *sp, struct err *err)
{
	size_t i;
	int r;

	for (i = 0; i < sp->n_userns; i++) {
		if (sp->users[i] == 0) {
			sp->users[i]++;
			return (int)i;
		}
	}
	if (sp->n_userns < USERNS_SLOTS) {
		r = make_userns((int)sp->n_userns, &sp->userns[sp->n_userns], err);
		if (r < 0)
			return r;
		i = sp->n_userns++;
		sp->users[i]++;
		return (int)i;
	}
	i = sp->next_shared++ % USERNS_SLOTS;
	sp->users[i]++;
	return (int)i;
}

static void
userns_put(struct spawner *sp, int slot)
{
	if (slot >= 0 && sp->users[slot] > 0)
		sp->users[slot]--;
}

/* Removes an instance's cgroups, waiting out EBUSY for a bounded time. Used
 * on the failure and shutdown paths, where blocking the spawner is fine. */
static void
remove_cgroup_blocking(struct spawner *sp, struct sandbox__cgroup_inst *ci)
{
	struct timespec ts = { 0, RMDIR_RETRY_MS * 1000000L };
	int i, r = 0;

	for (i = 0; i < RMDIR_GIVE_UP_MS / RMDIR_RETRY_MS; i++) {
		sp->cg.ops->kill(ci);
		r = sp->cg.ops->remove(ci);
		if (r != -EBUSY)
			break;
		nanosleep(&ts, NULL);
	}
	if (r < 0)
		log_warn("spawner: cannot remove cgroup '%s': %s",
			 ci->mem_path ? ci->mem_path : ci->pids_path, strerror(-r));
	sandbox__cgroup_inst_release(ci);
}

static void
kill_and_reap(pid_t pid)
{
	int st;

	kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
}

static void
seed_env(struct spawner *sp, struct sandbox__seed_env *env)
{
	env->cg = &sp->cg;
	env->rf = &sp->rf;
	env->seccomp = &sp->seccomp;
	env->cap_last = sp->cap_last;
}

/* Gives up on seeds for good: a host where one fails (cgroup.procs refused,
 * no fork) would fail the next one too, and the direct path works without. */
static void
seeds_disable(struct spawner *sp, const char *why)
{
	size_t i;

	if (!sp->seeds_off)
		log_warn("spawner: %s; spawning without seeds from now on", why);
	sp->seeds_off = true;
	for (i = 0; i < SEED_POOL; i++) {
		if (!sp->seeds[i].pid)
			continue;
		sandbox__seed_end(&sp->seeds[i], true);
		remove_cgroup_blocking(sp, &sp->seeds[i].ci);
	}
}

/* Starts one seed if the pool is short; returns whether it is still short. */
static bool
seed_refill(struct spawner *sp)
{
	struct sandbox__seed_env env;
	struct err err = ERR_INIT;
	size_t i, n = 0;
	int slot = -1;

	if (sp->seeds_off)
		return false;
	for (i = 0; i < SEED_POOL; i++) {
		if (sp->seeds[i].pid)
			n++;
		else if (slot < 0)
			slot = (int)i;
	}
	if (slot < 0)
		return false;
	seed_env(sp, &env);
	if (sandbox__seed_start(&sp->seeds[slot], &env, ++sp->seed_seq, &err) < 0) {
		remove_cgroup_blocking(sp, &sp->seeds[slot].ci);
		sp->seeds[slot].pid = 0;
		seeds_disable(sp, err.msg);
		return false;
	}
	return n + 1 < SEED_POOL;
}

/* A seed that is in its cgroups already, or NULL. Never blocks. */
static struct sandbox__seed *
seed_take(struct spawner *sp)
{
	struct sandbox__seed *s;
	size_t i;

	if (sp->seeds_off)
		return NULL;
	for (i = 0; i < SEED_POOL; i++) {
		s = &sp->seeds[i];
		if (!s->pid)
			continue;
		if (sandbox__seed_ready(s))
			return s;
		if (!s->pid) {
			/* It failed (and was ended): its cgroups go too. */
			remove_cgroup_blocking(sp, &s->ci);
			seeds_disable(sp, "a seed failed (see above)");
			return NULL;
		}
	}
	return NULL;
}

static bool
seeds_short(const struct spawner *sp)
{
	size_t i;

	if (sp->seeds_off)
		return false;
	for (i = 0; i < SEED_POOL; i++)
		if (!sp->seeds[i].pid)
			return true;
	return false;
}

/* Waits for EOF (execve happened) or the child's error record. */
static int
wait_exec(int fd, struct sandbox__child_error *ce)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	ssize_t n;
	int r;

	do
		r = poll(&pfd, 1, CHILD_SETUP_TIMEOUT_MS);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return -ETIMEDOUT;
	do
		n = read(fd, ce, sizeof(*ce));
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return 0;
	if (n == (ssize_t)sizeof(*ce))
		return 1;
	return n < 0 ? -errno : -EPROTO;
}

struct instance *
sandbox__find_instance(struct spawner *sp, uint64_t id)
{
	struct instance *i;

	for (i = sp->instances; i; i = i->next)
		if (i->id == id)
			return i;
	return NULL;
}

/*
 * One spawn, in order: steps 1-5 below, step 4 in child.c. On success the
 * instance is on sp->instances and fds[] holds the relay end, the pidfd, the
 * memory cgroup's O_PATH fd and, where the host has a freezer, the fd that
 * freezes and thaws it (else -1), for the caller to send.
 */
int
sandbox__spawn(struct spawner *sp, const struct sandbox__msg *m, const void *req, size_t len, int fds[4],
      pid_t *pid_out, struct err *err)
{
	_cleanup_close_ int relay_parent = -1, relay_child = -1, cg_fd = -1, pidfd = -1;
	_cleanup_close_ int freeze_fd = -1;
	_cleanup_close_ int sync_r = -1, sync_w = -1, err_r = -1, err_w = -1, netns_fd = -1;
	_cleanup_free_ char **argv = NULL;
	struct sandbox__cgroup_inst ci;
	struct sandbox__child_error ce;
	struct sandbox__child child;
	struct clone_args args;
	struct sandbox__plan plan;
	struct sandbox__seed *seed = NULL;
	struct instance *inst;
	int sv[2], pfd[2], sfds[4], r, slot = -1;
	size_t i;
	pid_t pid;

	if (sandbox__find_instance(sp, m->id))
		return err_setmsg(err, EEXIST, "instance %" PRIu64 " already exists", m->id);
	if (!m->mem_bytes || !m->tmp_bytes || !m->pids_max)
		return err_setmsg(err, EINVAL, "mem_bytes, tmp_bytes and pids_max must be set");
	r = sandbox__plan_build(&plan, &sp->rf, m->code_dir, m->runtime_dir, m->tmp_bytes, err);
	if (r < 0) {
		sandbox__plan_release(&plan);
		return r;
	}
	argv = xcalloc(m->argc + 2, sizeof(*argv));
	argv[0] = (char *)"/init";
	for (i = 0; i < m->argc; i++)
		argv[i + 1] = (char *)m->argv[i];

	/* 1. Cgroups first, with their limits, so the child is limited from its
	 *    first allocation; then the fds the child and we share. */
	sandbox__cgroup_inst_init(&ci);
	seed = seed_take(sp);
	if (seed) {
		/* A seed sits in function-independent cgroups: they become this
		 * instance's, with its limits, and the seed will clone the child
		 * into them (seed.c). */
		ci = seed->ci;
		sandbox__cgroup_inst_init(&seed->ci);
		r = sp->cg.ops->claim(&sp->cg, &ci, m->id, m->mem_bytes, m->pids_max, err);
		if (r < 0)
			sandbox__seed_end(seed, true);
	} else {
		r = sp->cg.ops->create(&sp->cg, &ci, m->id, m->mem_bytes, m->pids_max, err);
	}
	if (r < 0)
		goto fail_cgroup;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		r = err_set(err, errno, "cannot create the relay socketpair");
		goto fail_cgroup;
	}
	relay_parent = sv[0];
	relay_child = sv[1];
	if (!seed && pipe2(pfd, O_CLOEXEC) < 0) {
		r = err_set(err, errno, "cannot create the sync pipe");
		goto fail_cgroup;
	}
	if (!seed) {
		sync_r = pfd[0];
		sync_w = pfd[1];
	}
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		r = err_set(err, errno, "cannot create the error pipe");
		goto fail_cgroup;
	}
	err_r = pfd[0];
	err_w = pfd[1];
	/* A seed made a network namespace of its own while it waited
	 * (seed.c), so its spawns leave the pool alone. */
	if (m->network == SANDBOX_NET_NONE && !seed) {
		r = netns_take(sp, &netns_fd, err);
		if (r < 0)
			goto fail_cgroup;
	}
	slot = userns_take(sp, err);
	if (slot < 0) {
		r = slot;
		if (seed)
			sandbox__seed_end(seed, true);
		goto fail_cgroup;
	}
	if (seed) {
		sfds[0] = relay_child;
		sfds[1] = err_w;
		sfds[2] = sp->userns[slot];
		/* "none": the seed's own namespace; "host": the host's, to join. */
		sfds[3] = sp->host_netns_fd;
		r = sandbox__seed_spawn(seed, req, len, sfds,
					m->network == SANDBOX_NET_NONE ? 3 : 4, &pid, err);
		/* Done with it either way; on success it exits by itself. */
		sandbox__seed_end(seed, r < 0);
		if (r < 0)
			goto fail_cgroup;
		/* Our child (CLONE_PARENT), not yet reaped: the pid is its own. */
		pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		if (pidfd < 0) {
			r = err_set(err, errno, "cannot open a pidfd of the sandbox");
			kill_and_reap(pid);
			goto fail_cgroup;
		}
		goto cloned;
	}

	/* 2. clone3 into new namespaces. The user namespace comes first in the
	 *    kernel's order, so the others are owned by it and the child may
	 *    mount, set its hostname and configure its network inside. No stack:
	 *    this is a fork-like copy, cheap because the spawner is small. On v2
	 *    the child is born inside its cgroup (and gets a cgroup namespace
	 *    rooted there, hiding the host's cgroup paths). */
	memset(&args, 0, sizeof(args));
	args.flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_PIDFD;
	args.pidfd = (uint64_t)(uintptr_t)&pidfd;
	args.exit_signal = SIGCHLD;
	if (ci.clone_fd >= 0) {
		args.flags |= CLONE_INTO_CGROUP | CLONE_NEWCGROUP;
		args.cgroup = (uint64_t)ci.clone_fd;
	}
	pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
	if (pid < 0) {
		r = err_set(err, errno, "cannot clone3 the sandbox");
		goto fail_cgroup;
	}
	if (pid == 0) {
		/* The child must not hold the ends it waits on: with our write end
		 * of the sync pipe open, it would never see EOF if we give up. */
		close(sync_w);
		close(err_r);
		close(relay_parent);
		child.sync_fd = sync_r;
		child.err_fd = err_w;
		child.relay_fd = relay_child;
		child.userns_fd = sp->userns[slot];
		child.netns_fd = netns_fd;
		child.root_dir = sp->rf.root_dir;
		child.plan = &plan;
		child.cap_last = sp->cap_last;
		child.seccomp = &sp->seccomp.prog;
		child.argv = argv;
		child.envp = (char *const *)m->envp;
		sandbox__child_run(&child);
	}
	close(sync_r);
	sync_r = -1;
cloned:
	close(err_w);
	close(relay_child);
	err_w = relay_child = -1;
	/* The child holds the network namespace now; ours is never reused, so
	 * no instance inherits another's sockets or state. */
	if (netns_fd >= 0)
		close(steal_fd(&netns_fd));

	/* 3. Id maps: until they exist the child is nobody in its namespace and
	 *    waits. We hold CAP_SETUID/CAP_SETGID in the parent namespace, so the
	 *    kernel takes a mapping to any host range, and leaves setgroups()
	 *    allowed for the child to drop its groups. v1: the cgroups, before
	 *    the child runs anything worth limiting. Then release it. */
	if (sync_w >= 0) {
		r = sp->cg.ops->attach(&ci, pid, err);
		if (r == 0 && write(sync_w, "x", 1) != 1)
			r = err_set(err, errno, "cannot release the sandbox child");
		if (r < 0) {
			kill_and_reap(pid);
			goto fail_cgroup;
		}
		close(sync_w);
		sync_w = -1;
	}

	/* 4. happens in the child (child.c). 5. EOF: it exec'd /init. */
	r = wait_exec(err_r, &ce);
	if (r != 0) {
		kill_and_reap(pid);
		if (r == 1)
			r = sandbox__child_error_set(err, &ce, &plan);
		else if (r == -ETIMEDOUT)
			r = err_setmsg(err, ETIMEDOUT, "sandbox set-up took longer than %d ms",
				       CHILD_SETUP_TIMEOUT_MS);
		else
			r = err_set(err, -r, "cannot read the sandbox child's status");
		goto fail_cgroup;
	}

	cg_fd = open(ci.mem_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cg_fd < 0) {
		r = err_set(err, errno, "cannot open cgroup '%s'", ci.mem_path);
		kill_and_reap(pid);
		goto fail_cgroup;
	}
	/* Handing the daemon an fd of the control file lets it freeze and thaw
	 * with one write, no round trip through us and no path lookup on the
	 * dispatch path. Without a freezer the instance just stays thawed. */
	r = sp->cg.ops->freeze_fd(&ci);
	if (r >= 0)
		freeze_fd = r;
	else if (r != -ENOTSUP)
		log_warn("spawner: instance %" PRIu64 " cannot be frozen: %s", m->id, strerror(-r));
	inst = xcalloc(1, sizeof(*inst));
	inst->id = m->id;
	inst->pid = pid;
	inst->slot = slot;
	inst->mem_bytes = m->mem_bytes;
	inst->boost_until_ms = clock_mono_ms() + SANDBOX_INIT_BOOST_MS;
	inst->cg = ci;
	inst->next = sp->instances;
	sp->instances = inst;
	sandbox__plan_release(&plan);
	fds[0] = steal_fd(&relay_parent);
	fds[1] = steal_fd(&pidfd);
	fds[2] = steal_fd(&cg_fd);
	fds[3] = steal_fd(&freeze_fd);
	*pid_out = pid;
	return 0;

fail_cgroup:
	/* A seed still running sits in ci's cgroups: gone before they are. */
	if (seed)
		sandbox__seed_end(seed, true);
	userns_put(sp, slot);
	remove_cgroup_blocking(sp, &ci);
	sandbox__plan_release(&plan);
	return r;
}

static bool
pools_short(const struct spawner *sp)
{
	return sp->n_netns < NETNS_POOL ||
	       (userns_spare(sp) < USERNS_SPARE && sp->n_userns < USERNS_SLOTS) ||
	       seeds_short(sp) || sandbox__stems_short(sp);
}

/*
 * One refill step while the spawner idles: the first short pool gets one
 * item, and the loop polls the control socket (timeout 0) before the next,
 * so a spawn request waits behind one item (~0.3-0.6 ms), not one of each
 * pool (~1.4 ms). Returns whether to go on: false once every pool is full,
 * and after a failed step (retried on the next event, not in a busy loop).
 */
static bool
refill_one(struct spawner *sp)
{
	size_t n;
	bool ok;

	if (sp->n_netns < NETNS_POOL) {
		n = sp->n_netns;
		netns_refill(sp);
		ok = sp->n_netns > n;
	} else if (userns_spare(sp) < USERNS_SPARE && sp->n_userns < USERNS_SLOTS) {
		n = sp->n_userns;
		userns_refill(sp);
		ok = sp->n_userns > n;
	} else if (seeds_short(sp)) {
		seed_refill(sp);
		ok = !sp->seeds_off;
	} else {
		/* Last: a stem is a whole sandbox, the longest step. */
		return sandbox__stems_refill(sp);
	}
	return ok && pools_short(sp);
}

static void
handle_spawn(struct spawner *sp, const struct sandbox__msg *m)
{
	struct err err = ERR_INIT;
	struct sandbox__msg out;
	int fds[4], r;
	pid_t pid = 0;
	size_t i, nfds;

	/* Only stems (stem.c) start without code. */
	if (!m->code_dir) {
		err_setmsg(&err, EINVAL, "a spawn request needs a code directory");
		send_spawn_failed(sp, m->id, &err);
		return;
	}
	r = sandbox__stem_take(sp, m, fds, &pid);
	if (r == 0)
		r = sandbox__spawn(sp, m, sp->rbuf, sp->rlen, fds, &pid, &err);
	if (r < 0) {
		send_spawn_failed(sp, m->id, &err);
		return;
	}
	sandbox__msg_init(&out, SANDBOX__MSG_SPAWNED, m->id);
	out.pid = pid;
	/* A failed send means the daemon is gone; the loop sees EOF next and
	 * kills the instance with the rest. */
	nfds = fds[3] >= 0 ? 4 : 3;
	r = send_msg(sp, &out, fds, nfds);
	if (r < 0)
		log_warn("spawner: cannot report spawn %" PRIu64 ": %s", m->id, strerror(-r));
	for (i = 0; i < nfds; i++)
		close(fds[i]);
}

/* Ends an instance's init boost: its proportional CPU limits from now on.
 * An instance whose limits cannot be written is killed rather than left
 * with more CPU than it is allowed. */
static void
end_boost(struct spawner *sp, struct instance *inst)
{
	struct err err = ERR_INIT;
	struct sandbox_cpu cpu;

	if (!inst->boost_until_ms || inst->dead)
		return;
	inst->boost_until_ms = 0;
	sandbox_cpu_for_memory(inst->mem_bytes, &cpu);
	if (sp->cg.ops->set_cpu(&sp->cg, &inst->cg, &cpu, &err) < 0) {
		log_error("spawner: instance %" PRIu64 ": %s; killing it", inst->id, err.msg);
		kill(inst->pid, SIGKILL);
	}
}

/* Ends the boosts that reached their deadline; returns the ms until the
 * next one (-1: none pending), for poll(). */
static int
expire_boosts(struct spawner *sp)
{
	struct instance *inst;
	uint64_t now = clock_mono_ms(), next = UINT64_MAX;

	for (inst = sp->instances; inst; inst = inst->next) {
		if (!inst->boost_until_ms || inst->dead)
			continue;
		if (inst->boost_until_ms <= now)
			end_boost(sp, inst);
		else if (inst->boost_until_ms < next)
			next = inst->boost_until_ms;
	}
	return next == UINT64_MAX ? -1 : (int)(next - now);
}

static void
handle_init_done(struct spawner *sp, const struct sandbox__msg *m)
{
	struct instance *inst = sandbox__find_instance(sp, m->id);

	/* Unknown: it died and was reported already; the daemon's message
	 * crossed ours. */
	if (inst)
		end_boost(sp, inst);
}

static void
unlink_instance(struct spawner *sp, struct instance *inst)
{
	struct instance **pp;

	for (pp = &sp->instances; *pp; pp = &(*pp)->next) {
		if (*pp == inst) {
			*pp = inst->next;
			break;
		}
	}
	userns_put(sp, inst->slot);
	sandbox__cgroup_inst_release(&inst->cg);
	free(inst);
}

static void
reap(struct spawner *sp)
{
	struct instance *inst;
	pid_t pid;
	int st;

	for (;;) {
		pid = waitpid(-1, &st, WNOHANG);
		if (pid <= 0)
			break;
		for (inst = sp->instances; inst && inst->pid != pid; inst = inst->next)
			;
		if (!inst)
			continue;
		inst->dead = true;
		inst->wait_status = st;
		/* Read before rmdir takes the counters away. */
		inst->oom_killed = sp->cg.ops->oom_killed(&inst->cg);
		inst->dead_since_ms = clock_mono_ms();
		/* hearth-init was PID 1 of its namespace: its death took every
		 * other process inside with it. Kill leftovers all the same. */
		sp->cg.ops->kill(&inst->cg);
	}
}

/* Removes the cgroups of dead instances and reports them. Returns whether
 * some are still busy (and need another try in RMDIR_RETRY_MS). */
static bool
finish_dead(struct spawner *sp)
{
	struct instance *inst, *next;
	struct sandbox__msg m;
	bool pending = false;
	int r;

	for (inst = sp->instances; inst; inst = next) {
		next = inst->next;
		if (!inst->dead)
			continue;
		r = sp->cg.ops->remove(&inst->cg);
		if (r == -EBUSY && clock_mono_ms() - inst->dead_since_ms < RMDIR_GIVE_UP_MS) {
			sp->cg.ops->kill(&inst->cg);
			pending = true;
			continue;
		}
		if (r < 0)
			log_warn("spawner: instance %" PRIu64 ": cannot remove its cgroup: %s",
				 inst->id, strerror(-r));
		if (inst->stem) {
			sandbox__stem_dead(sp, inst);
			unlink_instance(sp, inst);
			continue;
		}
		sandbox__msg_init(&m, SANDBOX__MSG_EXITED, inst->id);
		m.pid = inst->pid;
		m.wait_status = inst->wait_status;
		m.oom_killed = inst->oom_killed;
		if (!sp->stopping && send_msg(sp, &m, NULL, 0) < 0)
			log_warn("spawner: cannot report exit of %" PRIu64, inst->id);
		unlink_instance(sp, inst);
	}
	return pending;
}

/* Kills every instance, waits for each, removes every cgroup. */
static void
shutdown_all(struct spawner *sp)
{
	struct instance *inst;
	size_t i;
	int st;

	sp->stopping = true;
	/* Through the cgroup, which thaws a frozen instance first: waiting
	 * for one still frozen would hang the spawner. */
	for (inst = sp->instances; inst; inst = inst->next) {
		if (inst->dead)
			continue;
		sp->cg.ops->kill(&inst->cg);
		kill(inst->pid, SIGKILL);
	}
	for (inst = sp->instances; inst; inst = inst->next) {
		if (inst->dead)
			continue;
		while (waitpid(inst->pid, &st, 0) < 0 && errno == EINTR)
			;
		inst->dead = true;
	}
	while (sp->instances) {
		inst = sp->instances;
		remove_cgroup_blocking(sp, &inst->cg);
		unlink_instance(sp, inst);
	}
	for (i = 0; i < SEED_POOL; i++) {
		if (!sp->seeds[i].pid)
			continue;
		sandbox__seed_end(&sp->seeds[i], true);
		remove_cgroup_blocking(sp, &sp->seeds[i].ci);
	}
}

/* Returns false when the spawner should stop. */
static bool
handle_ctl(struct spawner *sp)
{
	struct sandbox__msg *m;
	struct err err = ERR_INIT;
	uint32_t type;
	uint64_t id;
	ssize_t n;
	int r;

	n = recv(sp->ctl_fd, sp->rbuf, SANDBOX__MSG_MAX, MSG_TRUNC | MSG_DONTWAIT);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN;
	if (n == 0)
		return false;	/* the daemon is gone */
	sp->rlen = (size_t)n;
	m = xmalloc(sizeof(*m));
	r = n > (ssize_t)SANDBOX__MSG_MAX ? -E2BIG : sandbox__msg_decode(sp->rbuf, (size_t)n, m);
	if (r < 0) {
		/* Answer a spawn we cannot read, so the daemon does not wait on it. */
		if (n >= 16) {
			memcpy(&type, sp->rbuf, 4);
			memcpy(&id, sp->rbuf + 8, 8);
			if (type == SANDBOX__MSG_SPAWN) {
				err_setmsg(&err, -r, "bad spawn request: %s", strerror(-r));
				send_spawn_failed(sp, id, &err);
			}
		}
		log_error("spawner: bad control message (%zd bytes): %s", n, strerror(-r));
		free(m);
		return true;
	}
	type = m->type;
	if (type == SANDBOX__MSG_SPAWN)
		handle_spawn(sp, m);
	else if (type == SANDBOX__MSG_INIT_DONE)
		handle_init_done(sp, m);
	else if (type != SANDBOX__MSG_STOP)
		log_error("spawner: unexpected control message '%s'", sandbox__msg_type_name(type));
	free(m);
	return type != SANDBOX__MSG_STOP;
}

/* Returns false when a terminating signal arrived. */
static bool
handle_signals(struct spawner *sp)
{
	struct signalfd_siginfo si;
	bool keep = true;

	while (read(sp->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo != SIGCHLD)
			keep = false;
	}
	reap(sp);
	return keep;
}

static int
read_cap_last(void)
{
	char buf[16];
	int n;

	if (sandbox__read_file("/proc/sys/kernel", "cap_last_cap", buf, sizeof(buf)) > 0) {
		n = atoi(buf);
		if (n > 0 && n < 64)
			return n;
	}
	return CAP_LAST_CAP;
}

static int
setup(struct spawner *sp, const struct sandbox_config *cfg, struct err *err)
{
	sigset_t mask;
	uid_t uid = getuid();
	int r;

	/* The daemon's uid must not be one of the sandbox's. */
	if (uid >= HOST_ID_BASE && uid < HOST_ID_BASE + ID_RANGE)
		return err_setmsg(err, EINVAL, "the daemon's uid %d lies in the sandbox id range "
				  "%d..%d", (int)uid, HOST_ID_BASE, HOST_ID_BASE + ID_RANGE - 1);
	if (geteuid() != 0)
		return err_setmsg(err, EPERM, "the sandbox spawner must run as root (it maps "
				  "host ids %d..%d and manages cgroups)", HOST_ID_BASE,
				  HOST_ID_BASE + ID_RANGE - 1);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return err_set(err, errno, "cannot block signals");
	sp->sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sp->sig_fd < 0)
		return err_set(err, errno, "cannot create a signalfd");
	/* Dispositions are inherited from the daemon: an ignored SIGCHLD would
	 * auto-reap instances, an ignored SIGTERM would never reach the signalfd. */
	signal(SIGCHLD, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	sp->cap_last = read_cap_last();
	sp->host_netns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (sp->host_netns_fd < 0)
		return err_set(err, errno, "cannot open the host network namespace");
	/* Fill the pool now, so the first cold starts find it full. */
	while (netns_refill(sp))
		;
	if (sp->n_netns == 0)
		return err_setmsg(err, EPERM, "cannot create network namespaces (see the log)");
	/* A few user namespace slots now: their cost stays out of cold starts. */
	while (userns_refill(sp))
		;
	if (sp->n_userns == 0)
		return err_setmsg(err, EPERM, "cannot create a user namespace (are user "
				  "namespaces disabled? see /proc/sys/user/max_user_namespaces)");
	/* Compiled here, once: libseccomp allocates, which the child may not. */
	r = sandbox__seccomp_build(&sp->seccomp, err);
	if (r < 0)
		return r;
	/* The rootfs first: a bad configuration then fails before any cgroup
	 * exists. */
	r = sandbox__rootfs_prepare(&sp->rf, cfg, err);
	if (r < 0)
		return r;
	/* Once, here: what every sandbox's root shares (mount.c). */
	r = sandbox__skeleton_mount(&sp->rf, err);
	if (r < 0)
		return r;
	r = sandbox__cgroup_init(&sp->cg, cfg->allow_weaker_limits, err);
	if (r < 0)
		return r;
	/* Seeds last: they are forks of the spawner as now set up. */
	sp->seeds_off = !sp->cg.ops->claim || getenv("HEARTH_NO_SEEDS");
	while (seed_refill(sp))
		;
	/* Stems come back here after mounting into one (stem.c). */
	sp->stems.want = cfg->prestart < SANDBOX__STEMS_MAX ? cfg->prestart : SANDBOX__STEMS_MAX;
	sp->stems.idle_ms = SANDBOX__STEM_CLASS_IDLE_MS;
	/* Tests only: a class's idle time before it may be given up. */
	if (getenv("HEARTH_STEM_CLASS_IDLE_MS"))
		sp->stems.idle_ms = strtoull(getenv("HEARTH_STEM_CLASS_IDLE_MS"), NULL, 10);
	sp->home_mnt_fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	if (sp->home_mnt_fd < 0)
		return err_set(err, errno, "cannot open the spawner's mount namespace");
	sp->home_cwd_fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (sp->home_cwd_fd < 0)
		return err_set(err, errno, "cannot open the spawner's working directory");
	return 0;
}

int
sandbox__spawner_main(const struct sandbox_config *cfg, int ctl_fd)
{
	struct spawner sp = { .ctl_fd = ctl_fd, .sig_fd = -1, .host_netns_fd = -1,
			      .home_mnt_fd = -1, .home_cwd_fd = -1 };
	struct err err = ERR_INIT;
	struct sandbox__msg m;
	struct pollfd pfd[2];
	bool pending = false, run = true, short_netns = false;
	size_t i;
	int r, timeout, boost_ms;

	/* Its own process group: a ^C meant for the daemon must not kill the
	 * spawner before it cleans up; it learns of the daemon's death by EOF. */
	setpgid(0, 0);
	prctl(PR_SET_NAME, "hearth-spawner", 0, 0, 0);
	sp.rbuf = xmalloc(SANDBOX__MSG_MAX);
	r = setup(&sp, cfg, &err);
	if (r < 0) {
		sandbox__msg_init(&m, SANDBOX__MSG_START_FAILED, 0);
		m.err_code = err.code;
		m.err_msg = err.msg;
		send_msg(&sp, &m, NULL, 0);
		goto out;
	}
	sandbox__msg_init(&m, SANDBOX__MSG_READY, 0);
	m.cgroup_version = sp.cg.ops->version;
	if (send_msg(&sp, &m, NULL, 0) < 0)
		goto out;

	while (run) {
		pfd[0] = (struct pollfd){ sp.ctl_fd, POLLIN, 0 };
		pfd[1] = (struct pollfd){ sp.sig_fd, POLLIN, 0 };
		/* Refilling the netns pool waits for an idle moment (timeout 0):
		 * a spawn request is always served first. */
		timeout = short_netns ? 0 : pending ? RMDIR_RETRY_MS : -1;
		boost_ms = expire_boosts(&sp);
		if (boost_ms >= 0 && (timeout < 0 || boost_ms < timeout))
			timeout = boost_ms;
		r = poll(pfd, 2, timeout);
		if (r < 0 && errno != EINTR) {
			log_error("spawner: poll: %s", strerror(errno));
			break;
		}
		/* Signals first: an instance that died is reported before a
		 * request that came in after it is served. */
		if (r > 0 && (pfd[1].revents & POLLIN))
			run = handle_signals(&sp);
		pending = finish_dead(&sp);
		if (run && r > 0 && (pfd[0].revents & POLLIN))
			run = handle_ctl(&sp);
		else if (r > 0 && (pfd[0].revents & (POLLHUP | POLLERR)))
			run = false;
		else if (r == 0 && short_netns)
			short_netns = refill_one(&sp);
		if (r > 0 && pools_short(&sp))
			short_netns = true;
	}
out:
	shutdown_all(&sp);
	sandbox__stems_release(&sp.stems);
	if (sp.home_mnt_fd >= 0)
		close(sp.home_mnt_fd);
	if (sp.home_cwd_fd >= 0)
		close(sp.home_cwd_fd);
	sandbox__cgroup_release(&sp.cg);
	sandbox__rootfs_release(&sp.rf);
	sandbox__seccomp_release(&sp.seccomp);
	free(sp.rbuf);
	if (sp.sig_fd >= 0)
		close(sp.sig_fd);
	for (i = 0; i < sp.n_userns; i++)
		close(sp.userns[i]);
	for (i = 0; i < sp.n_netns; i++)
		close(sp.netns[i]);
	if (sp.host_netns_fd >= 0)
		close(sp.host_netns_fd);
	close(sp.ctl_fd);
	return err.code ? 1 : 0;
}
