/*
 * The sandbox child: the code that runs between clone3() and execve("/init").
 *
 * Only async-signal-safe calls here: no malloc, no stdio, no locks. The child
 * is a raw clone3() copy of the spawner, so glibc's fork handlers never ran;
 * thin syscall wrappers are all it may trust. Every path, option string and
 * number was prepared by the spawner (mount.c, spawner.c).
 *
 * On failure the child writes {step, errno, plan index} to the error pipe and
 * _exit(127)s. The pipe is O_CLOEXEC, so the spawner reading EOF means execve
 * succeeded (libuv's uv__write_errno() in src/unix/process.c works this way).
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/seccomp.h>

#include "sandbox/internal.h"
#include "lib/banned.h"

static int err_fd = -1;

const struct sandbox__proc_rule sandbox__proc_rules[] = {
	{ "proc/kcore", SANDBOX__PROC_MASK_FILE },
	{ "proc/keys", SANDBOX__PROC_MASK_FILE },
	{ "proc/key-users", SANDBOX__PROC_MASK_FILE },
	{ "proc/latency_stats", SANDBOX__PROC_MASK_FILE },
	{ "proc/timer_list", SANDBOX__PROC_MASK_FILE },
	{ "proc/timer_stats", SANDBOX__PROC_MASK_FILE },
	{ "proc/sched_debug", SANDBOX__PROC_MASK_FILE },
	{ "proc/kallsyms", SANDBOX__PROC_MASK_FILE },
	{ "proc/kpagecount", SANDBOX__PROC_MASK_FILE },
	{ "proc/kpageflags", SANDBOX__PROC_MASK_FILE },
	{ "proc/kpagecgroup", SANDBOX__PROC_MASK_FILE },
	{ "proc/acpi", SANDBOX__PROC_MASK_DIR },
	{ "proc/asound", SANDBOX__PROC_MASK_DIR },
	{ "proc/scsi", SANDBOX__PROC_MASK_DIR },
	{ "proc/driver", SANDBOX__PROC_MASK_DIR },
	{ "proc/bus", SANDBOX__PROC_READ_ONLY },
	{ "proc/fs", SANDBOX__PROC_READ_ONLY },
	{ "proc/irq", SANDBOX__PROC_READ_ONLY },
	{ "proc/sys", SANDBOX__PROC_READ_ONLY },
	{ "proc/sysrq-trigger", SANDBOX__PROC_READ_ONLY },
};
const size_t sandbox__n_proc_rules = ARRAY_SIZE(sandbox__proc_rules);

static NORETURN void
fail(int step, int index, int e)
{
	struct sandbox__child_error ce = { step, e > 0 ? e : EIO, index };
	ssize_t n;

	do
		n = write(err_fd, &ce, sizeof(ce));
	while (n < 0 && errno == EINTR);
	_exit(127);
}

/* Masks what a fresh /proc shows of the host's kernel (sandbox__proc_rules).
 * Ownership of uid 0 files in /proc does not protect them here: the pid
 * namespace does not hide kernel-wide files, and a kernel bug reachable by
 * writing to one of them should not be reachable at all. */
static void
mask_proc(void)
{
	const unsigned long ro = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV |
				 MS_NOEXEC;
	const struct sandbox__proc_rule *pr;
	const char *empty = NULL;
	size_t i;
	int r;

	for (i = 0; i < sandbox__n_proc_rules; i++) {
		pr = &sandbox__proc_rules[i];
		switch (pr->kind) {
		case SANDBOX__PROC_MASK_FILE:
			/* Our /dev/null, from the skeleton. */
			r = mount("dev/null", pr->path, NULL, MS_BIND, NULL);
			break;
		case SANDBOX__PROC_MASK_DIR:
			/* One empty read-only tmpfs, bound over the other
			 * directories too: a bind keeps its read-only flag, and
			 * costs less than a new superblock. */
			if (empty) {
				r = mount(empty, pr->path, NULL, MS_BIND, NULL);
				break;
			}
			r = mount("tmpfs", pr->path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV |
				  MS_NOEXEC, "mode=0555,size=4k,nr_inodes=2");
			if (r == 0)
				empty = pr->path;
			break;
		case SANDBOX__PROC_READ_ONLY:
			r = mount(pr->path, pr->path, NULL, MS_BIND | MS_REC, NULL);
			if (r == 0)
				r = mount(NULL, pr->path, NULL, ro, NULL);
			break;
		default:
			r = -1;
			errno = EINVAL;
		}
		/* A path this kernel does not have (timer_stats, sysrq-trigger
		 * without CONFIG_MAGIC_SYSRQ, ...) is skipped. mount() says so
		 * itself (every source above exists), which saves an lstat()
		 * per rule. */
		if (r < 0 && errno == ENOENT)
			continue;
		if (r < 0)
			fail(SANDBOX__STEP_MASK_PROC, (int)i, errno);
	}
}

int
sandbox__loopback_up(void)
{
	struct ifreq ifr;
	int fd, r = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
		r = -errno;
	} else {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
			r = -errno;
	}
	close(fd);
	return r;
}

static int
move_above_stdio(int fd)
{
	/* Anything at 0..3 would be clobbered by the final dup2()s. */
	if (fd > 3)
		return fd;
	fd = fcntl(fd, F_DUPFD_CLOEXEC, 4);
	if (fd < 0)
		fail(SANDBOX__STEP_FDS_EARLY, -1, errno);
	return fd;
}

void
sandbox__child_run(const struct sandbox__child *c)
{
	struct rlimit rl = { 1024, 1024 };
	struct sandbox__child_error ce;
	struct sigaction sa;
	sigset_t none;
	int relay_fd, nul, cap;
	ssize_t n;
	char go;

	err_fd = c->err_fd;
	if (err_fd <= 3) {
		err_fd = fcntl(err_fd, F_DUPFD_CLOEXEC, 4);
		if (err_fd < 0)
			_exit(127);
	}
	relay_fd = move_above_stdio(c->relay_fd);

	/* On v1 we must be in our cgroups before we allocate anything worth
	 * limiting: wait for the spawner to put us there. A child cloned by a
	 * seed (seed.c) was born in them and has no sync pipe. */
	if (c->sync_fd >= 0) {
		do
			n = read(c->sync_fd, &go, 1);
		while (n < 0 && errno == EINTR);
		if (n != 1)
			fail(SANDBOX__STEP_SYNC, -1, n < 0 ? errno : EPIPE);
		close(c->sync_fd);
	}

	/* A network namespace from the spawner's pool (spawner.c: netns_make()),
	 * loopback already up: joining costs nothing, creating one here would
	 * cost ~0.5 ms and ~3 ms at p99. Joined while we are host root, since
	 * the host's user namespace owns it; the sandbox never holds a
	 * capability over it. Without one (network "host") we stay in the
	 * host's network namespace. */
	if (c->netns_fd >= 0) {
		if (syscall(SYS_setns, c->netns_fd, CLONE_NEWNET) < 0)
			fail(SANDBOX__STEP_JOIN_NETNS, -1, errno);
		close(c->netns_fd);
	}
	/* Until the user namespace is joined below we are host root in
	 * namespaces the host's user namespace owns: every path is reachable
	 * (a data directory under /root included) and no mount flag is locked. */

	/* Our mount namespace is a copy of the spawner's, whose mounts are
	 * slaves of the host's and so already propagate nothing back (mount.c:
	 * sandbox__skeleton_mount()); private all the same, so that no mount
	 * we make could reach the host whatever the spawner's namespace. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		fail(SANDBOX__STEP_MOUNT_PRIVATE, -1, errno);
	/* Our copy of the skeleton: a read-only tmpfs root with /usr, /etc,
	 * /init and /dev bound read-only and every mount point made. Only the
	 * function's own mounts go on top: code, runtime, /tmp, /proc. */
	if (chdir(c->root_dir) < 0)
		fail(SANDBOX__STEP_CHDIR_ROOT, -1, errno);
	if (sandbox__plan_apply(c->plan, &ce) < 0)
		fail(ce.step, ce.index, ce.err);

	/* Mounted from inside our pid namespace, proc shows only our processes. */
	if (mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		fail(SANDBOX__STEP_MOUNT_PROC, -1, errno);
	/* The skeleton's root is read-only already; this says so where the
	 * property is needed, and costs a flag update: nothing in / is
	 * writable but /tmp. */
	if (mount(NULL, ".", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV,
		  NULL) < 0)
		fail(SANDBOX__STEP_REMOUNT_ROOT, -1, errno);

	/* crun's do_pivot(): stacking the old root under the new one and
	 * detaching it needs no directory to put it in (and so no write). */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		fail(SANDBOX__STEP_PIVOT_ROOT, -1, errno);
	if (umount2(".", MNT_DETACH) < 0)
		fail(SANDBOX__STEP_UMOUNT_OLD, -1, errno);
	if (chdir("/") < 0)
		fail(SANDBOX__STEP_UMOUNT_OLD, -1, errno);
	/* After the old root is gone: each mount is then cheaper (a namespace
	 * of the root's ~25 mounts rather than those and the host's). */
	mask_proc();

	if (sethostname("localhost", 9) < 0)
		fail(SANDBOX__STEP_HOSTNAME, -1, errno);

	/* Into the sandboxes' user namespace (spawner.c: make_userns()). We
	 * gain every capability in it, but it owns none of our other
	 * namespaces, so they are worth nothing there; the uid change below
	 * drops them anyway. Host root is unmapped in it, hence the raw
	 * syscalls and the id change before anything else. */
	if (syscall(SYS_setns, c->userns_fd, CLONE_NEWUSER) < 0)
		fail(SANDBOX__STEP_JOIN_USERNS, -1, errno);

	/* Capabilities go while we still hold CAP_SETPCAP: the bounding set so
	 * that nothing exec'd later can regain any, ambient ones in case the
	 * host handed some down. The uid change below then empties the rest. */
	for (cap = 0; cap <= c->cap_last; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			fail(SANDBOX__STEP_CAPBSET, -1, errno);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		fail(SANDBOX__STEP_AMBIENT, -1, errno);
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		fail(SANDBOX__STEP_RLIMIT, -1, errno);

	/* hearth-init finds its relay at fd 3 and nothing else open but
	 * /dev/null on 0-2; it captures the runtime's output with its own pipes.
	 * Everything else is marked close-on-exec rather than closed, because
	 * the error pipe has to stay open until execve() itself. */
	if (dup2(relay_fd, 3) < 0)
		fail(SANDBOX__STEP_FDS, -1, errno);
	nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul < 0)
		fail(SANDBOX__STEP_FDS, -1, errno);
	if (dup2(nul, 0) < 0 || dup2(nul, 1) < 0 || dup2(nul, 2) < 0)
		fail(SANDBOX__STEP_FDS, -1, errno);
	if (close_range(4, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		fail(SANDBOX__STEP_FDS, -1, errno);

	/* Raw syscalls: glibc's wrappers would try to broadcast the change to
	 * threads the raw clone3() child does not have. Groups and gid first,
	 * while we still may change them. */
	if (syscall(SYS_setgroups, 0, NULL) < 0)
		fail(SANDBOX__STEP_SETGROUPS, -1, errno);
	if (syscall(SYS_setresgid, SANDBOX__SBX_GID, SANDBOX__SBX_GID, SANDBOX__SBX_GID) < 0)
		fail(SANDBOX__STEP_SETGID, -1, errno);
	if (syscall(SYS_setresuid, SANDBOX__SBX_UID, SANDBOX__SBX_UID, SANDBOX__SBX_UID) < 0)
		fail(SANDBOX__STEP_SETUID, -1, errno);
	/* No set-id or file-capability binary can give anything back. Also the
	 * prerequisite for loading seccomp without CAP_SYS_ADMIN. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fail(SANDBOX__STEP_NO_NEW_PRIVS, -1, errno);

	/* The spawner blocks signals for its signalfd and ignores SIGPIPE; a
	 * blocked mask and ignored dispositions survive execve(). */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	/* Seccomp last before execve(), so the filter need allow none of the
	 * set-up above (mount, setns, ...). The spawner compiled it; loading is
	 * one prctl(), allowed without privilege because of no_new_privs. */
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, c->seccomp, 0, 0) < 0)
		fail(SANDBOX__STEP_SECCOMP, -1, errno);

	execve("/init", c->argv, c->envp);
	fail(SANDBOX__STEP_EXEC, -1, errno);
}
