/*
 * Sandbox set-up time, the part of a cold start that is the sandbox's:
 *
 *   sandbox-bench hearth INIT CODE_DIR N
 *       hearth's spawner (src/sandbox): from sandbox_spawn() to the SPAWNED
 *       event, i.e. cgroups with limits, a pooled network namespace, a user
 *       namespace slot, clone3, the read-only root, /proc masks, capabilities,
 *       seccomp, and execve of INIT as /init. Each instance is killed (and its
 *       EXITED awaited) before the next spawn, so tear-down is not counted.
 *
 *   sandbox-bench floor N
 *       the floor measured in the same run: clone3 into new user, mount, pid,
 *       ipc and uts namespaces, id maps, a tmpfs root with /usr bound
 *       read-only, pivot_root, detach the old root, execve /usr/bin/true;
 *       timed to the execve (a close-on-exec pipe reads EOF).
 *
 * Prints "p50 p90 p99 max n" in microseconds on one line (bench/run.sh).
 * Needs root. Single-threaded; one spawn at a time.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/sched.h>

#include "lib/clock.h"
#include "sandbox/sandbox.h"

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
print_stats(uint64_t *ns, size_t n)
{
	qsort(ns, n, sizeof(*ns), cmp_u64);
	printf("%llu %llu %llu %llu %zu\n", (unsigned long long)ns[n / 2] / 1000,
	       (unsigned long long)ns[n * 9 / 10] / 1000,
	       (unsigned long long)ns[n * 99 / 100] / 1000, (unsigned long long)ns[n - 1] / 1000,
	       n);
}

static void
wait_event(struct sandbox_client *sc, struct sandbox_event *ev)
{
	struct pollfd pfd = { sc->fd, POLLIN, 0 };
	int r;

	for (;;) {
		r = sandbox_read_event(sc, ev);
		if (r == 0)
			return;
		if (r != -EAGAIN) {
			fprintf(stderr, "sandbox-bench: spawner gone: %s\n", strerror(-r));
			exit(1);
		}
		poll(&pfd, 1, 10000);
	}
}

static int
bench_hearth(const char *init, const char *code_dir, size_t n)
{
	char state[] = "/tmp/hearth-sbx-bench-XXXXXX";
	struct sandbox_config cfg = { 0 };
	struct sandbox_client sc;
	struct sandbox_event ev;
	struct err err = ERR_INIT;
	const char *argv[] = { "/var/task/bootstrap", NULL };
	const char *envp[] = { "AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001", NULL };
	struct sandbox_spec spec = { 0 };
	uint64_t *ns = calloc(n, sizeof(*ns)), t0;
	size_t i;

	if (!ns || !mkdtemp(state))
		return 1;
	cfg.state_dir = state;
	cfg.init_path = init;
	if (sandbox_start(&cfg, &sc, &err) < 0) {
		fprintf(stderr, "sandbox-bench: %s\n", err.msg);
		return 1;
	}
	spec.code_dir = code_dir;
	spec.argv = argv;
	spec.envp = envp;
	spec.mem_bytes = 128ull << 20;
	spec.tmp_bytes = 512ull << 20;
	spec.pids_max = 1024;
	for (i = 0; i < n; i++) {
		spec.id = i + 1;
		t0 = clock_mono_ns();
		if (sandbox_spawn(&sc, &spec, &err) < 0) {
			fprintf(stderr, "sandbox-bench: %s\n", err.msg);
			return 1;
		}
		wait_event(&sc, &ev);
		ns[i] = clock_mono_ns() - t0;
		if (ev.kind != SANDBOX_SPAWNED) {
			fprintf(stderr, "sandbox-bench: spawn failed: %s\n", ev.err.msg);
			return 1;
		}
		sandbox_kill(ev.pidfd);
		close(ev.pidfd);
		close(ev.relay_fd);
		close(ev.cgroup_fd);
		do
			wait_event(&sc, &ev);
		while (ev.kind != SANDBOX_EXITED);
	}
	sandbox_stop(&sc);
	rmdir(state);	/* the spawner's root/ and etc/ stay: small, and in /tmp */
	print_stats(ns, n);
	free(ns);
	return 0;
}

/* ---- the floor ---- */

static char floor_root[] = "/tmp/hearth-sbx-floor-XXXXXX";

static void
floor_child(int sync_fd, int err_fd)
{
	char c;
	char *argv[] = { (char *)"true", NULL };

	(void)err_fd;
	if (read(sync_fd, &c, 1) != 1)
		_exit(1);
	/* Become the namespace's root (host id 100000): until then we are
	 * host root, unmapped here, and may create nothing. */
	if (syscall(SYS_setresgid, 0, 0, 0) < 0 || syscall(SYS_setresuid, 0, 0, 0) < 0)
		_exit(9);
	/* Each step's failure exits with its own code (10 + step). */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		_exit(10);
	if (mount("tmpfs", floor_root, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k") < 0 ||
	    chdir(floor_root) < 0)
		_exit(11);
	if (mkdir("usr", 0755) < 0 || mkdir("proc", 0755) < 0 ||
	    symlink("usr/bin", "bin") < 0 || symlink("usr/lib", "lib") < 0 ||
	    symlink("usr/lib64", "lib64") < 0)
		_exit(12);
	if (mount("/usr", "usr", NULL, MS_BIND | MS_REC, NULL) < 0)
		_exit(13);
	if (mount(NULL, "usr", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV,
		  NULL) < 0)
		_exit(14);
	if (mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		_exit(15);
	if (mount(NULL, ".", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV,
		  NULL) < 0)
		_exit(16);
	if (syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 ||
	    chdir("/") < 0)
		_exit(17);
	execv("/usr/bin/true", argv);
	_exit(3);
}

static void
write_map(pid_t pid, const char *file, const char *line)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, line, strlen(line)) < 0) {
		perror(path);
		exit(1);
	}
	close(fd);
}

static int
bench_floor(size_t n)
{
	uint64_t *ns = calloc(n, sizeof(*ns)), t0;
	struct clone_args args;
	int sync_p[2], err_p[2], st;
	size_t i;
	pid_t pid;
	char c;

	if (!ns || !mkdtemp(floor_root))
		return 1;
	for (i = 0; i < n; i++) {
		if (pipe2(sync_p, O_CLOEXEC) < 0 || pipe2(err_p, O_CLOEXEC) < 0)
			return 1;
		memset(&args, 0, sizeof(args));
		args.flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC |
			     CLONE_NEWUTS;
		args.exit_signal = SIGCHLD;
		t0 = clock_mono_ns();
		pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
		if (pid < 0) {
			perror("clone3");
			return 1;
		}
		if (pid == 0) {
			close(sync_p[1]);
			close(err_p[0]);
			floor_child(sync_p[0], err_p[1]);
		}
		close(sync_p[0]);
		close(err_p[1]);
		write_map(pid, "uid_map", "0 100000 65536\n");
		write_map(pid, "setgroups", "deny\n");
		write_map(pid, "gid_map", "0 100000 65536\n");
		if (write(sync_p[1], "x", 1) != 1)
			return 1;
		close(sync_p[1]);
		/* EOF: the child exec'd (or died; the exit status tells). */
		while (read(err_p[0], &c, 1) > 0)
			;
		ns[i] = clock_mono_ns() - t0;
		close(err_p[0]);
		waitpid(pid, &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "sandbox-bench: floor child failed (exit %d)\n",
				WIFEXITED(st) ? WEXITSTATUS(st) : -1);
			return 1;
		}
	}
	rmdir(floor_root);
	print_stats(ns, n);
	free(ns);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "hearth") == 0)
		return bench_hearth(argv[2], argv[3], strtoul(argv[4], NULL, 10));
	if (argc == 3 && strcmp(argv[1], "floor") == 0)
		return bench_floor(strtoul(argv[2], NULL, 10));
	fprintf(stderr, "usage: sandbox-bench hearth INIT CODE_DIR N | floor N\n");
	return 2;
}
