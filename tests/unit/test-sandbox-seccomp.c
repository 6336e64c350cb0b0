/*
 * The seccomp allow-list (src/sandbox/seccomp.c), against the real kernel:
 * a forked child loads the compiled program as a sandbox does and tries each
 * syscall the issue says must fail, with harmless arguments (so that a hole
 * in the filter shows up as a wrong return value, never as a reboot). The
 * child reports one result per probe over a pipe.
 */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/seccomp.h>
#include <cmocka.h>

#include "sandbox/internal.h"

struct probe {
	const char *name;
	long nr;
	long a0, a1, a2;
	int want_errno;		/* 0: must succeed (or fail with anything but EPERM/ENOSYS) */
};

#define NS_FLAGS (CLONE_NEWUSER | CLONE_NEWNS)

/* Every group the issue lists, one representative call or more each. */
static const struct probe denied[] = {
	{ "mount", SYS_mount, 0, 0, 0, EPERM },
	{ "umount2", SYS_umount2, 0, 0, 0, EPERM },
	{ "pivot_root", SYS_pivot_root, 0, 0, 0, EPERM },
	{ "chroot", SYS_chroot, 0, 0, 0, EPERM },
	{ "unshare", SYS_unshare, CLONE_NEWUSER, 0, 0, EPERM },
	{ "unshare(0)", SYS_unshare, 0, 0, 0, EPERM },
	{ "setns", SYS_setns, 0, 0, 0, EPERM },
	{ "clone(newns)", SYS_clone, NS_FLAGS | SIGCHLD, 0, 0, EPERM },
	{ "clone(newnet)", SYS_clone, CLONE_NEWNET | SIGCHLD, 0, 0, EPERM },
	{ "clone3", SYS_clone3, 0, 0, 0, ENOSYS },
	{ "ptrace", SYS_ptrace, 0x4206 /* PTRACE_SEIZE */, 1, 0, EPERM },
	{ "process_vm_readv", SYS_process_vm_readv, 1, 0, 0, EPERM },
	{ "process_vm_writev", SYS_process_vm_writev, 1, 0, 0, EPERM },
	{ "kexec_file_load", SYS_kexec_file_load, -1, -1, 0, EPERM },
	{ "init_module", SYS_init_module, 0, 0, 0, EPERM },
	{ "finit_module", SYS_finit_module, -1, 0, 0, EPERM },
	{ "delete_module", SYS_delete_module, 0, 0, 0, EPERM },
	{ "bpf", SYS_bpf, 0, 0, 0, EPERM },
	{ "perf_event_open", SYS_perf_event_open, 0, 0, -1, EPERM },
	{ "keyctl", SYS_keyctl, 0, 0, 0, EPERM },
	{ "add_key", SYS_add_key, 0, 0, 0, EPERM },
	{ "request_key", SYS_request_key, 0, 0, 0, EPERM },
	{ "userfaultfd", SYS_userfaultfd, 0, 0, 0, EPERM },
	{ "clock_settime", SYS_clock_settime, 0, 0, 0, EPERM },
	{ "settimeofday", SYS_settimeofday, 0, 0, 0, EPERM },
	{ "reboot", SYS_reboot, 0, 0, 0, EPERM },
	{ "swapon", SYS_swapon, 0, 0, 0, EPERM },
	{ "swapoff", SYS_swapoff, 0, 0, 0, EPERM },
	{ "syslog", SYS_syslog, 10 /* SYSLOG_ACTION_SIZE_BUFFER */, 0, 0, EPERM },
	{ "open_by_handle_at", SYS_open_by_handle_at, -1, 0, 0, EPERM },
	{ "name_to_handle_at", SYS_name_to_handle_at, -1, 0, 0, EPERM },
	{ "personality(READ_IMPLIES_EXEC)", SYS_personality, 0x0400000, 0, 0, EPERM },
	{ "io_uring_setup", SYS_io_uring_setup, 0, 0, 0, EPERM },
	{ "io_uring_enter", SYS_io_uring_enter, -1, 0, 0, EPERM },
	{ "kcmp", SYS_kcmp, 0, 0, 0, EPERM },
	{ "pidfd_getfd", SYS_pidfd_getfd, -1, 0, 0, EPERM },
	{ "iopl", SYS_iopl, 0, 0, 0, EPERM },
	{ "fsopen", SYS_fsopen, 0, 0, 0, EPERM },
	{ "open_tree", SYS_open_tree, -1, 0, 0, EPERM },
	{ "sethostname", SYS_sethostname, 0, 0, 0, EPERM },
	{ "acct", SYS_acct, 0, 0, 0, EPERM },
	{ "not a syscall (999)", 999, 0, 0, 0, EPERM },
};

/* What every runtime needs keeps working. */
static const struct probe allowed_probes[] = {
	{ "getpid", SYS_getpid, 0, 0, 0, 0 },
	{ "personality(query)", SYS_personality, 0xffffffff, 0, 0, 0 },
	{ "uname", SYS_uname, 0, 0, 0, 0 },	/* EFAULT, not EPERM */
	{ "clock_gettime", SYS_clock_gettime, 0, 0, 0, 0 },
};

/* Runs in the child: loads the filter, runs the probes, writes each one's
 * errno (0 on success) to fd as an int. */
static void
run_probes(const struct sandbox__seccomp *sc, const struct probe *p, size_t n, int fd)
{
	size_t i;
	long r;
	int e;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &sc->prog, 0, 0) < 0)
		_exit(100);
	for (i = 0; i < n; i++) {
		r = syscall(p[i].nr, p[i].a0, p[i].a1, p[i].a2, 0, 0, 0);
		e = r < 0 ? errno : 0;
		/* A clone that went through would return 0 in a second child. */
		if (r == 0 && p[i].nr == SYS_clone)
			_exit(0);
		if (write(fd, &e, sizeof(e)) != sizeof(e))
			_exit(101);
	}
	_exit(0);
}

static void
check(const struct probe *p, size_t n)
{
	struct sandbox__seccomp sc;
	struct err err = ERR_INIT;
	int fds[2], st, e;
	size_t i;
	pid_t pid;

	assert_int_equal(sandbox__seccomp_build(&sc, &err), 0);
	assert_true(sc.prog.len > 10);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		run_probes(&sc, p, n, fds[1]);
	}
	close(fds[1]);
	for (i = 0; i < n; i++) {
		assert_int_equal(read(fds[0], &e, sizeof(e)), sizeof(e));
		if (p[i].want_errno) {
			if (e != p[i].want_errno)
				fail_msg("%s: got %s, want %s", p[i].name, strerror(e),
					 strerror(p[i].want_errno));
		} else if (e == EPERM || e == ENOSYS) {
			fail_msg("%s: denied (%s), should be allowed", p[i].name, strerror(e));
		}
	}
	close(fds[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	sandbox__seccomp_release(&sc);
}

static void
test_denied(void **state)
{
	(void)state;
	check(denied, ARRAY_SIZE(denied));
}

static void
test_allowed(void **state)
{
	(void)state;
	check(allowed_probes, ARRAY_SIZE(allowed_probes));
}

/* fork() (clone without namespace flags) and exec work under the filter. */
static void
test_fork_and_exec(void **state)
{
	struct sandbox__seccomp sc;
	struct err err = ERR_INIT;
	int st;
	pid_t pid, kid;

	(void)state;
	assert_int_equal(sandbox__seccomp_build(&sc, &err), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *argv[] = { (char *)"true", NULL };

		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &sc.prog, 0, 0) < 0)
			_exit(100);
		kid = fork();
		if (kid < 0)
			_exit(101);
		if (kid == 0) {
			execv("/bin/true", argv);
			_exit(102);
		}
		if (waitpid(kid, &st, 0) != kid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			_exit(103);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	sandbox__seccomp_release(&sc);
}

#if defined(__x86_64__)
/* A 32-bit syscall (int 0x80) must not walk around the 64-bit table: the
 * process is killed. i386's 21 is mount. */
static void
test_other_abi_killed(void **state)
{
	struct sandbox__seccomp sc;
	struct err err = ERR_INIT;
	int st;
	pid_t pid;

	(void)state;
	assert_int_equal(sandbox__seccomp_build(&sc, &err), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		long ret = 21;

		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &sc.prog, 0, 0) < 0)
			_exit(100);
		__asm__ volatile("int $0x80" : "+a"(ret) : "b"(0), "c"(0), "d"(0) : "memory");
		_exit(1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSYS);
	sandbox__seccomp_release(&sc);
}
#endif

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_denied),
		cmocka_unit_test(test_allowed),
		cmocka_unit_test(test_fork_and_exec),
#if defined(__x86_64__)
		cmocka_unit_test(test_other_abi_killed),
#endif
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
