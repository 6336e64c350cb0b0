/*
 * The sandbox's seccomp policy: an allow-list, compiled once by the spawner at
 * start-up into a classic BPF program that every sandbox child loads as its
 * last step before execve() (child.c).
 *
 * Why an allow-list: a syscall the kernel adds next year is denied until
 * someone reads it and lists it here, as with Docker's and systemd-nspawn's
 * default profiles. Why compiled once: libseccomp allocates and is slow
 * (~1 ms); loading a ready program is one prctl() (~0.1 ms) and is
 * async-signal-safe.
 *
 * Why a binary tree (SCMP_FLTATR_CTL_OPTIMIZE 2) rather than libseccomp's
 * default linear list: at load, the kernel runs the filter once per syscall
 * number to fill its allow cache (kernel/seccomp.c: seccomp_cache_prepare()),
 * so a load costs the sum of every syscall's path through the program. The
 * linear list's paths average ~150 instructions, the tree's ~10: a load took
 * 0.43 ms p50 with the list and 0.10 ms with the tree here, inside every cold
 * start. The verdicts are the same (tests/unit/test-sandbox-seccomp.c).
 *
 * What is denied gets EPERM, as a missing capability would, so programs take
 * the path they take in an unprivileged container. Two exceptions: clone3
 * gets ENOSYS, because its flags live in memory that seccomp cannot read,
 * and glibc falls back to clone() on ENOSYS, whose flags we can check; and a
 * syscall made through another ABI (i386's int 0x80, x32) kills the process,
 * because those numbers mean different syscalls and would walk around the
 * table (the classic bypass of x86-only filters).
 *
 * Three programs come out of the one table. `prog` is the policy itself, for
 * a child the spawner clones directly. The seeds (seed.c) split it in two, to
 * take its load out of the cold start: a seed loads `seed` once, while it
 * waits, and every child it clones inherits it; the child loads only `tail`
 * before execve. `seed` is the policy plus the few calls the seed and the
 * child's set-up still need (SETUP_ONLY below); `tail` allows everything but
 * those, and gives them exactly the policy's verdict. The kernel runs every
 * loaded filter and takes the most restrictive answer, so seed + tail decide
 * every call as the policy does (an exhaustive check of that is in
 * tests/unit/test-sandbox-seccomp.c). Loading `tail` (~30 instructions) costs
 * a fraction of loading the policy.
 *
 * Not for: anything but the table and its compilation. The namespaces,
 * capabilities and mounts that make these denials matter less are set up in
 * child.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/filter.h>
#include <seccomp.h>

#include "lib/cleanup.h"
#include "sandbox/internal.h"
#include "lib/banned.h"

/*
 * Allowed, by group. Names the running architecture does not have (mmap2,
 * fcntl64, ...) are skipped, so one table serves every architecture.
 *
 * Left out, and why (each fails with EPERM inside):
 *
 * - mount, umount, umount2, pivot_root, chroot, and the new mount API
 *   (fsopen, fsconfig, fsmount, fspick, move_mount, open_tree,
 *   mount_setattr): the root a sandbox sees is fixed at set-up; a new mount
 *   could hide /proc masks or reach a filesystem the kernel parses (FUSE,
 *   images), a large attack surface.
 * - unshare, setns, and clone/clone3 with namespace flags: a new user
 *   namespace hands an unprivileged process every capability in it, which
 *   is how most container-escape kernel bugs of the last years were reached
 *   (netfilter, overlayfs, io_uring in a fresh userns).
 * - ptrace, process_vm_readv, process_vm_writev, kcmp, pidfd_getfd: reading
 *   or steering another process; inside one instance there is nothing to
 *   debug, and across instances it would be the escape itself.
 * - kexec_load, kexec_file_load, reboot: replacing or stopping the kernel.
 * - init_module, finit_module, delete_module, and the obsolete
 *   create_module, get_kernel_syms, query_module: kernel code.
 * - bpf: verifier bugs are a steady source of local privilege escalation;
 *   unprivileged BPF is also disabled by most distributions.
 * - perf_event_open: kernel pointers and timing side channels, and many CVEs.
 * - keyctl, add_key, request_key: the kernel keyring is not namespaced; one
 *   tenant could read or fill another's keys.
 * - userfaultfd: lets an attacker pause the kernel mid-copy, the standard
 *   tool for winning kernel races.
 * - clock_settime, clock_adjtime, settimeofday, adjtimex, stime: the clock
 *   is the host's and is not namespaced.
 * - swapon, swapoff, syslog, acct, quotactl, quotactl_fd, lookup_dcookie,
 *   nfsservctl, vhangup, sysfs, _sysctl, ustat, uselib: host administration,
 *   the kernel log (addresses), or obsolete interfaces nobody needs.
 * - open_by_handle_at, name_to_handle_at: opening a file by handle skips
 *   path lookup, so it escapes any root (the 2014 "shocker" Docker escape).
 * - personality other than the default, 0x0008 (UNAME26), 0x20000
 *   (ADDR_NO_RANDOMIZE's Linux personality) and queries: READ_IMPLIES_EXEC
 *   and other flags weaken the process's own defences.
 * - iopl, ioperm, modify_ldt, vm86, vm86old: hardware ports and 16-bit
 *   segments; modify_ldt has had its share of bugs and nothing needs it.
 * - sethostname, setdomainname: the UTS namespace is the spawner's to name.
 * - io_uring_setup, io_uring_enter, io_uring_register: io_uring runs
 *   operations in kernel context that seccomp never sees (an io_uring
 *   openat is not an openat syscall), and it was the kernel subsystem with
 *   the most exploited bugs in 2022-2023 (Google disabled it across
 *   ChromeOS, Android apps and its servers for that reason). Runtimes fall
 *   back to epoll and threads when io_uring_setup fails (libuv, Node.js,
 *   Python's asyncio).
 * - move_pages, migrate_pages: moving another process's pages between NUMA
 *   nodes; nothing a function needs.
 * - fanotify_init: needs CAP_SYS_ADMIN, and watches the whole filesystem.
 * - mknod is allowed (FIFOs); device nodes still fail: no CAP_MKNOD, and
 *   /tmp is nodev.
 */
static const char *const allowed[] = {
	/* File I/O. */
	"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev",
	"preadv2", "pwritev2", "lseek", "_llseek", "open", "openat", "openat2", "creat",
	"close", "close_range", "dup", "dup2", "dup3", "fcntl", "fcntl64", "flock", "fsync",
	"fdatasync", "sync", "syncfs", "sync_file_range", "truncate", "truncate64",
	"ftruncate", "ftruncate64", "fallocate", "fadvise64", "fadvise64_64", "readahead",
	"sendfile", "sendfile64", "splice", "tee", "vmsplice", "copy_file_range", "pipe",
	"pipe2",
	/* Names and metadata. */
	"stat", "stat64", "fstat", "fstat64", "lstat", "lstat64", "newfstatat", "fstatat64",
	"statx", "statfs", "statfs64", "fstatfs", "fstatfs64", "access", "faccessat",
	"faccessat2", "readlink", "readlinkat", "getdents", "getdents64", "chdir", "fchdir",
	"getcwd", "mkdir", "mkdirat", "rmdir", "rename", "renameat", "renameat2", "link",
	"linkat", "symlink", "symlinkat", "unlink", "unlinkat", "chmod", "fchmod", "fchmodat",
	"chown", "fchown", "lchown", "fchownat", "umask", "utime", "utimes", "utimensat",
	"futimesat", "mknod", "mknodat", "getxattr", "lgetxattr", "fgetxattr", "setxattr",
	"lsetxattr", "fsetxattr", "listxattr", "llistxattr", "flistxattr", "removexattr",
	"lremovexattr", "fremovexattr", "inotify_init", "inotify_init1", "inotify_add_watch",
	"inotify_rm_watch",
	/* Memory. */
	"brk", "mmap", "mmap2", "munmap", "mremap", "mprotect", "pkey_mprotect", "pkey_alloc",
	"pkey_free", "madvise", "mlock", "mlock2", "munlock", "mlockall", "munlockall",
	"mincore", "msync", "membarrier", "memfd_create", "remap_file_pages", "get_mempolicy",
	"set_mempolicy", "mbind",
	/* Processes and threads (clone: see compile(), for its flags). */
	"fork", "vfork", "execve", "execveat", "exit", "exit_group", "wait4", "waitid",
	"waitpid", "kill", "tkill", "tgkill", "getpid", "getppid", "gettid", "getuid",
	"geteuid", "getgid", "getegid", "getresuid", "getresgid", "getgroups", "setuid",
	"setgid", "setreuid", "setregid", "setresuid", "setresgid", "setgroups", "setfsuid",
	"setfsgid", "capget", "capset", "getpgid", "setpgid", "getpgrp", "setsid", "getsid",
	"getpriority", "setpriority", "sched_yield", "sched_getaffinity", "sched_setaffinity",
	"sched_getparam", "sched_setparam", "sched_getscheduler", "sched_setscheduler",
	"sched_get_priority_max", "sched_get_priority_min", "sched_rr_get_interval",
	"sched_getattr", "sched_setattr", "getrlimit", "setrlimit", "prlimit64", "ugetrlimit",
	"getrusage", "times", "uname", "sysinfo", "prctl", "arch_prctl", "set_tid_address",
	"set_robust_list", "get_robust_list", "futex", "futex_waitv", "rseq",
	"restart_syscall", "pidfd_open", "pidfd_send_signal", "ioprio_get", "ioprio_set",
	"getcpu", "seccomp", "landlock_create_ruleset", "landlock_add_rule",
	"landlock_restrict_self",
	/* Signals. */
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigpending", "rt_sigsuspend",
	"rt_sigtimedwait", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "sigaltstack", "signalfd",
	"signalfd4", "pause", "alarm",
	/* Time (reading it and sleeping; setting it is left out). */
	"nanosleep", "clock_nanosleep", "clock_gettime", "clock_getres", "gettimeofday",
	"time", "getitimer", "setitimer", "timer_create", "timer_settime", "timer_gettime",
	"timer_getoverrun", "timer_delete", "timerfd_create", "timerfd_settime",
	"timerfd_gettime",
	/* Waiting for events. */
	"poll", "ppoll", "select", "_newselect", "pselect6", "epoll_create", "epoll_create1",
	"epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2",
	/* Sockets: the network namespace, not this table, decides where they reach. */
	"socket", "socketpair", "bind", "listen", "accept", "accept4", "connect",
	"getsockname", "getpeername", "getsockopt", "setsockopt", "sendto", "recvfrom",
	"sendmsg", "recvmsg", "sendmmsg", "recvmmsg", "shutdown",
	/* System V and POSIX IPC, private to the instance's IPC namespace. */
	"shmget", "shmat", "shmdt", "shmctl", "semget", "semop", "semtimedop", "semctl",
	"msgget", "msgsnd", "msgrcv", "msgctl", "mq_open", "mq_unlink", "mq_timedsend",
	"mq_timedreceive", "mq_notify", "mq_getsetattr",
	/* Everything else a runtime uses. */
	"ioctl", "getrandom",
};

/* The personalities Docker's default profile allows: the default, UNAME26,
 * the Linux personality with ADDR_NO_RANDOMIZE's value, both, and a query. */
static const unsigned long personalities[] = { 0x0, 0x0008, 0x20000, 0x20008, 0xffffffff };

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#define CLONE_NS_FLAGS                                                                   \
	(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |      \
	 CLONE_NEWNET | CLONE_NEWCGROUP | CLONE_NEWTIME)

/*
 * What the child's set-up between clone and the load of `tail` needs that
 * the policy denies (child.c: mount, pivot_root, umount2 of the old root,
 * setns into the pooled network and the user namespace, sethostname), and
 * what the seed itself needs (clone with namespace flags, through glibc's
 * clone(), not clone3). `seed` allows them outright; `tail` gives them the
 * policy's verdict. Nothing else may be added here without adding it to
 * both: the unit test compares the pair with the policy call by call.
 */
static const char *const setup_only[] = {
	"mount", "umount2", "pivot_root", "setns", "sethostname", "clone",
};

static bool
is_setup_only(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(setup_only); i++)
		if (strcmp(setup_only[i], name) == 0)
			return true;
	return false;
}

/* The policy's own rule for clone(): threads and forks yes, new namespaces
 * no. The flags are the first argument on every architecture Linux has but
 * s390. */
static int
add_clone_rule(scmp_filter_ctx ctx, struct err *err)
{
	int r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				 SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NS_FLAGS, 0));

	if (r < 0)
		return err_set(err, -r, "cannot add the seccomp rule for clone");
	return 0;
}

/* The policy (seed false), or the policy plus setup_only[] allowed (seed
 * true). */
static int
compile(scmp_filter_ctx ctx, bool seed, struct err *err)
{
	size_t i;
	int nr, r;

	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (r < 0)
		return err_set(err, -r, "cannot set the seccomp bad-architecture action");
	for (i = 0; seed && i < ARRAY_SIZE(setup_only); i++) {
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, seccomp_syscall_resolve_name(setup_only[i]),
				     0);
		if (r < 0)
			return err_set(err, -r, "cannot add seccomp rule for '%s'", setup_only[i]);
	}
	for (i = 0; i < ARRAY_SIZE(allowed); i++) {
		nr = seccomp_syscall_resolve_name(allowed[i]);
		if (nr == __NR_SCMP_ERROR)
			continue;
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		/* A pseudo-syscall libseccomp knows but this ABI lacks. */
		if (r == -EDOM || r == -EINVAL)
			continue;
		if (r < 0)
			return err_set(err, -r, "cannot add seccomp rule for '%s'", allowed[i]);
	}
	if (!seed && add_clone_rule(ctx, err) < 0)
		return -err->code;
	r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (r < 0 && r != -EDOM)
		return err_set(err, -r, "cannot add the seccomp rule for clone3");
	for (i = 0; i < ARRAY_SIZE(personalities); i++) {
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(personality), 1,
				     SCMP_A0(SCMP_CMP_EQ, personalities[i]));
		if (r < 0)
			return err_set(err, -r, "cannot add the seccomp rule for personality");
	}
	return 0;
}

/* setup_only[] with the policy's verdicts, everything else allowed. */
static int
compile_tail(scmp_filter_ctx ctx, struct err *err)
{
	static const unsigned long ns[] = {
		CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID,
		CLONE_NEWNET, CLONE_NEWCGROUP, CLONE_NEWTIME,
	};
	size_t i;
	int r;

	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (r < 0)
		return err_set(err, -r, "cannot set the seccomp bad-architecture action");
	for (i = 0; i < ARRAY_SIZE(setup_only); i++) {
		if (strcmp(setup_only[i], "clone") == 0)
			continue;
		/* Not allowed by the policy (checked at build time below). */
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
				     seccomp_syscall_resolve_name(setup_only[i]), 0);
		if (r < 0)
			return err_set(err, -r, "cannot add seccomp rule for '%s'", setup_only[i]);
	}
	/* The policy's clone rule, inverted: EPERM when any namespace flag is
	 * set. Rules of one action for one syscall are alternatives. */
	for (i = 0; i < ARRAY_SIZE(ns); i++) {
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, ns[i], ns[i]));
		if (r < 0)
			return err_set(err, -r, "cannot add the seccomp rule for clone");
	}
	return 0;
}

enum which { POLICY, SEED, TAIL };

static int
build(struct sock_fprog *prog, enum which which, bool tree, struct err *err)
{
	_cleanup_close_ int fd = -1;
	scmp_filter_ctx ctx;
	struct stat st;
	ssize_t n;
	int r;

	prog->len = 0;
	prog->filter = NULL;
	ctx = seccomp_init(which == TAIL ? SCMP_ACT_ALLOW : SCMP_ACT_ERRNO(EPERM));
	if (!ctx)
		return err_setmsg(err, ENOMEM, "cannot create a seccomp filter");
	r = tree ? seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2) : 0;
	if (r < 0) {
		r = err_set(err, -r, "cannot ask libseccomp for a binary-tree filter");
		goto out;
	}
	r = which == TAIL ? compile_tail(ctx, err) : compile(ctx, which == SEED, err);
	if (r < 0)
		goto out;
	/* libseccomp 2.5 exports to an fd only; a memfd keeps it off any disk. */
	fd = memfd_create("hearth-seccomp", MFD_CLOEXEC);
	if (fd < 0) {
		r = err_set(err, errno, "cannot create a memfd for the seccomp filter");
		goto out;
	}
	r = seccomp_export_bpf(ctx, fd);
	if (r < 0) {
		r = err_set(err, -r, "cannot export the seccomp filter");
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		r = err_set(err, errno, "cannot size the seccomp filter");
		goto out;
	}
	if (st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) ||
	    st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS) {
		r = err_setmsg(err, E2BIG, "the seccomp filter has a bad size (%lld bytes)",
			       (long long)st.st_size);
		goto out;
	}
	prog->filter = xmalloc((size_t)st.st_size);
	n = pread(fd, prog->filter, (size_t)st.st_size, 0);
	if (n != st.st_size) {
		r = err_set(err, n < 0 ? errno : EIO, "cannot read the seccomp filter back");
		free(prog->filter);
		prog->filter = NULL;
		goto out;
	}
	prog->len = (unsigned short)(st.st_size / sizeof(struct sock_filter));
	r = 0;
out:
	seccomp_release(ctx);
	return r;
}

int
sandbox__seccomp_build(struct sandbox__seccomp *sc, struct err *err)
{
	size_t i;

	memset(sc, 0, sizeof(*sc));
	/* The split is exact only if the policy denies each setup_only[] call
	 * with its default EPERM (clone aside, whose rule compile_tail()
	 * repeats): a later edit allowing one in allowed[] must not go
	 * unnoticed. */
	for (i = 0; i < ARRAY_SIZE(allowed); i++)
		if (is_setup_only(allowed[i]))
			BUG("seccomp: a set-up-only syscall is in the allow-list");
	if (build(&sc->prog, POLICY, true, err) < 0 || build(&sc->seed, SEED, true, err) < 0 ||
	    build(&sc->tail, TAIL, true, err) < 0) {
		sandbox__seccomp_release(sc);
		return -err->code;
	}
	return 0;
}

int
sandbox__seccomp_build_one(struct sock_fprog *prog, int which, bool tree, struct err *err)
{
	if (which < POLICY || which > TAIL)
		return err_setmsg(err, EINVAL, "no such seccomp program %d", which);
	return build(prog, (enum which)which, tree, err);
}

void
sandbox__seccomp_release(struct sandbox__seccomp *sc)
{
	free(sc->prog.filter);
	free(sc->seed.filter);
	free(sc->tail.filter);
	memset(sc, 0, sizeof(*sc));
}
