/*
 * The seccomp allow-list (src/sandbox/seccomp.c), against the real kernel:
 * a forked child loads the compiled program as a sandbox does and tries each
 * syscall the issue says must fail, with harmless arguments (so that a hole
 * in the filter shows up as a wrong return value, never as a reboot). The
 * child reports one result per probe over a pipe. The probes run under the
 * policy and under the seeds' split of it (seed + tail, seccomp.c).
 *
 * Then, without the kernel, a small classic-BPF interpreter compares
 * programs call by call: the split against the policy (the kernel takes the
 * most restrictive answer of the filters loaded), and the binary-tree layout
 * against libseccomp's linear one, over every syscall number of each ABI and
 * a set of first arguments.
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
#include <linux/filter.h>
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
run_probes(const struct sandbox__seccomp *sc, bool split, const struct probe *p, size_t n,
	   int fd)
{
	size_t i;
	long r;
	int e;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		_exit(100);
	if (split && (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &sc->seed, 0, 0) < 0 ||
		      prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &sc->tail, 0, 0) < 0))
		_exit(100);
	if (!split && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &sc->prog, 0, 0) < 0)
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
check(const struct probe *p, size_t n, bool split)
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
		run_probes(&sc, split, p, n, fds[1]);
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
	check(denied, ARRAY_SIZE(denied), false);
	check(denied, ARRAY_SIZE(denied), true);
}

static void
test_allowed(void **state)
{
	(void)state;
	check(allowed_probes, ARRAY_SIZE(allowed_probes), false);
	check(allowed_probes, ARRAY_SIZE(allowed_probes), true);
}

/* ---- classic BPF, as the kernel runs a seccomp filter ---- */

#ifndef AUDIT_ARCH_X86_64
#define AUDIT_ARCH_X86_64 0xc000003e
#endif
#ifndef AUDIT_ARCH_I386
#define AUDIT_ARCH_I386 0x40000003
#endif

static uint32_t
load32(const struct seccomp_data *d, uint32_t off)
{
	uint32_t v;

	if (off + 4 > sizeof(*d) || off % 4)
		fail_msg("filter reads seccomp_data at %u", off);
	memcpy(&v, (const char *)d + off, 4);
	return v;
}

/* Runs prog on d; fails the test on anything a seccomp filter may not do. */
static uint32_t
bpf_run(const struct sock_fprog *prog, const struct seccomp_data *d)
{
	uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = { 0 };
	const struct sock_filter *f;
	size_t pc = 0, steps = 0;

	while (pc < prog->len) {
		f = &prog->filter[pc++];
		assert_true(++steps <= prog->len);	/* classic BPF only jumps forward */
		switch (f->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			a = load32(d, f->k);
			break;
		case BPF_LD | BPF_IMM:
			a = f->k;
			break;
		case BPF_LDX | BPF_IMM:
			x = f->k;
			break;
		case BPF_LD | BPF_MEM:
			a = mem[f->k % BPF_MEMWORDS];
			break;
		case BPF_LDX | BPF_MEM:
			x = mem[f->k % BPF_MEMWORDS];
			break;
		case BPF_ST:
			mem[f->k % BPF_MEMWORDS] = a;
			break;
		case BPF_STX:
			mem[f->k % BPF_MEMWORDS] = x;
			break;
		case BPF_MISC | BPF_TAX:
			x = a;
			break;
		case BPF_MISC | BPF_TXA:
			a = x;
			break;
		case BPF_ALU | BPF_AND | BPF_K:
			a &= f->k;
			break;
		case BPF_ALU | BPF_OR | BPF_K:
			a |= f->k;
			break;
		case BPF_ALU | BPF_AND | BPF_X:
			a &= x;
			break;
		case BPF_JMP | BPF_JA:
			pc += f->k;
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
			pc += a == f->k ? f->jt : f->jf;
			break;
		case BPF_JMP | BPF_JGT | BPF_K:
			pc += a > f->k ? f->jt : f->jf;
			break;
		case BPF_JMP | BPF_JGE | BPF_K:
			pc += a >= f->k ? f->jt : f->jf;
			break;
		case BPF_JMP | BPF_JSET | BPF_K:
			pc += (a & f->k) ? f->jt : f->jf;
			break;
		case BPF_JMP | BPF_JEQ | BPF_X:
			pc += a == x ? f->jt : f->jf;
			break;
		case BPF_JMP | BPF_JGT | BPF_X:
			pc += a > x ? f->jt : f->jf;
			break;
		case BPF_JMP | BPF_JGE | BPF_X:
			pc += a >= x ? f->jt : f->jf;
			break;
		case BPF_RET | BPF_K:
			return f->k;
		case BPF_RET | BPF_A:
			return a;
		default:
			fail_msg("opcode 0x%x not emulated", f->code);
		}
	}
	fail_msg("filter ran off its end");
	return 0;
}

/* kernel/seccomp.c: seccomp_run_filters() runs the newest filter first and
 * keeps a result only when an older one's action is strictly more
 * restrictive (a lower value as s32). */
static uint32_t
bpf_run_pair(const struct sock_fprog *older, const struct sock_fprog *newer,
	     const struct seccomp_data *d)
{
	uint32_t ret = bpf_run(newer, d), cur = bpf_run(older, d);

	if ((int32_t)(cur & SECCOMP_RET_ACTION_FULL) < (int32_t)(ret & SECCOMP_RET_ACTION_FULL))
		ret = cur;
	return ret;
}

/* Every syscall number of the native ABI, x32's and i386's, and numbers past
 * the end, each with first arguments that exercise the argument rules
 * (clone's namespace flags, personality values, the high half of 64 bits). */
static void
compare(const struct sock_fprog *a1, const struct sock_fprog *a2,
	const struct sock_fprog *b, const char *what)
{
	static const uint64_t arg0[] = {
		0, 1, SIGCHLD, CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD,
		CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID,
		CLONE_NEWNET, CLONE_NEWCGROUP, 0x80 /* CLONE_NEWTIME */,
		CLONE_NEWNET | SIGCHLD, CLONE_VM | CLONE_VFORK | CLONE_NEWNS | CLONE_NEWPID,
		0x0008, 0x20000, 0x20008, 0x0400000, 0xffffffff, 0x100000000ull,
		0x100000000ull | CLONE_NEWUSER, ~0ull,
	};
	static const struct {
		uint32_t arch;
		int base, n;
	} abis[] = {
		{ AUDIT_ARCH_X86_64, 0, 1024 },
		{ AUDIT_ARCH_X86_64, 0x40000000, 600 },	/* x32 */
		{ AUDIT_ARCH_I386, 0, 600 },
		{ 0x12345678, 0, 4 },
	};
	struct seccomp_data d;
	uint32_t want, got;
	size_t i, j;
	int k;

	for (i = 0; i < ARRAY_SIZE(abis); i++) {
		for (k = 0; k < abis[i].n; k++) {
			for (j = 0; j < ARRAY_SIZE(arg0); j++) {
				memset(&d, 0, sizeof(d));
				d.arch = abis[i].arch;
				d.nr = abis[i].base + k;
				d.args[0] = arg0[j];
				want = bpf_run(b, &d);
				got = a2 ? bpf_run_pair(a1, a2, &d) : bpf_run(a1, &d);
				if (got != want)
					fail_msg("%s: arch 0x%x nr %d arg0 0x%llx: 0x%x, policy "
						 "0x%x", what, d.arch, d.nr,
						 (unsigned long long)d.args[0], got, want);
			}
		}
	}
}

/* The seeds' split decides every call as the policy does; so does the
 * binary-tree layout against libseccomp's linear list. */
static void
test_split_and_tree_are_the_policy(void **state)
{
	struct sandbox__seccomp sc;
	struct sock_fprog linear;
	struct err err = ERR_INIT;
	struct seccomp_data d;

	(void)state;
	assert_int_equal(sandbox__seccomp_build(&sc, &err), 0);
	assert_int_equal(sandbox__seccomp_build_one(&linear, 0, false, &err), 0);
	compare(&sc.seed, &sc.tail, &sc.prog, "seed + tail");
	compare(&sc.prog, NULL, &linear, "binary tree");
	/* The tail is small: it is what each child still loads. */
	assert_true(sc.tail.len < 64);
	/* And the seed does allow what set-up needs (else the split would be
	 * pointless and the comparison above vacuous for them). */
	memset(&d, 0, sizeof(d));
	d.arch = AUDIT_ARCH_X86_64;
	d.nr = SYS_mount;
	assert_int_equal(bpf_run(&sc.seed, &d), SECCOMP_RET_ALLOW);
	assert_int_equal(bpf_run(&sc.prog, &d) & SECCOMP_RET_ACTION_FULL, SECCOMP_RET_ERRNO);
	d.nr = SYS_clone;
	d.args[0] = CLONE_NEWPID;
	assert_int_equal(bpf_run(&sc.seed, &d), SECCOMP_RET_ALLOW);
	d.nr = SYS_getpid;
	assert_int_equal(bpf_run(&sc.tail, &d), SECCOMP_RET_ALLOW);
	assert_int_equal(sandbox__seccomp_build_one(&linear, 7, false, &err), -EINVAL);
	free(linear.filter);
	sandbox__seccomp_release(&sc);
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
		cmocka_unit_test(test_split_and_tree_are_the_policy),
#if defined(__x86_64__)
		cmocka_unit_test(test_other_abi_killed),
#endif
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
