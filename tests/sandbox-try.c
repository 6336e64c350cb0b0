/*
 * Manual test of the sandbox module against the real kernel (needs root).
 *
 *   cc -std=gnu17 -D_GNU_SOURCE -Isrc tests/sandbox-try.c build/h-sandbox/libhearth-sandbox.a \
 *      build/h-sandbox/libhearth-lib.a -o /tmp/sandbox-try && /tmp/sandbox-try [spawns]
 *
 * The same binary is its own fake hearth-init: the spawner binds it at /init,
 * and run as "/init" it writes a report about the sandbox to fd 3 (the relay)
 * or does what its first argument says, then execs the rest of its argv.
 *
 * It checks: what an instance sees (ids, hostname, read-only paths, /proc,
 * loopback, capabilities), a failed spawn's message, the OOM flag, the pids
 * limit, spawn and kill latency (median of N), the spawner cleaning up when
 * the daemon's socket closes, and that nothing (cgroup, process, mount, fd)
 * is left behind after each phase.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"
#include "sandbox/sandbox.h"
#include "lib/banned.h"

#define STATE_DIR "/tmp/hearth-sbx-try"
#define CODE_DIR "/tmp/hearth-sbx-try-code"

static int failures;

#define CHECK(cond, ...)                                         \
	do {                                                     \
		if (!(cond)) {                                   \
			failures++;                              \
			printf("FAIL %s:%d: ", __FILE__, __LINE__); \
			printf(__VA_ARGS__);                     \
			putchar('\n');                           \
		}                                                \
	} while (0)

/* ---- the fake init, inside the sandbox ---- */

struct buf_s {
	char b[8192];
	size_t n;
};

static void say(struct buf_s *out, const char *fmt, ...) FORMAT(2, 3);

static void
say(struct buf_s *out, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out->b + out->n, sizeof(out->b) - out->n, fmt, ap);
	va_end(ap);
	if (n > 0)
		out->n = MIN(out->n + (size_t)n, sizeof(out->b) - 1);
}

static const char *
try_create(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0)
		return strerror(errno);
	close(fd);
	unlink(path);
	return "writable";
}

static int
loopback_works(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(9001) };
	int l, c, s, ok = 0;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l >= 0 && c >= 0 && bind(l, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    listen(l, 1) == 0 && connect(c, (struct sockaddr *)&a, sizeof(a)) == 0) {
		s = accept(l, NULL, NULL);
		ok = s >= 0;
		if (s >= 0)
			close(s);
	}
	if (l >= 0)
		close(l);
	if (c >= 0)
		close(c);
	return ok;
}

static void
status_line(struct buf_s *out, const char *key)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, strlen(key)) == 0)
			say(out, "%s", line);
	fclose(f);
}

static int
fake_init(int argc, char **argv)
{
	static struct buf_s out;
	char host[64] = "";
	struct dirent *de;
	DIR *d;
	int procs = 0, fds = 0;

	if (argc >= 2 && strcmp(argv[1], "wait") == 0) {
		char c;

		/* Until the daemon closes the relay or kills us. */
		while (read(3, &c, 1) > 0)
			;
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "oom") == 0) {
		for (;;) {
			char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			if (p == MAP_FAILED)
				return 3;
			memset(p, 1, 1 << 20);
		}
	}
	if (argc >= 2 && strcmp(argv[1], "forks") == 0) {
		int n = 0;
		pid_t pid;

		/* Children wait to be killed with the namespace, so they all count. */
		for (; n < 1000; n++) {
			pid = fork();
			if (pid < 0)
				break;
			if (pid == 0) {
				pause();
				_exit(0);
			}
		}
		say(&out, "forks=%d\n", n);
		if (write(3, out.b, out.n) < 0)
			return 4;
		return 0;
	}
	/* "report": what the instance sees. */
	gethostname(host, sizeof(host));
	say(&out, "pid=%d uid=%d gid=%d euid=%d hostname=%s\n", (int)getpid(), (int)getuid(),
	    (int)getgid(), (int)geteuid(), host);
	say(&out, "/var/task: %s\n", try_create("/var/task/x"));
	say(&out, "/usr: %s\n", try_create("/usr/x"));
	say(&out, "/etc: %s\n", try_create("/etc/x"));
	say(&out, "/: %s\n", try_create("/x"));
	say(&out, "/tmp: %s\n", try_create("/tmp/x"));
	say(&out, "/var/task/hello: %s\n", access("/var/task/hello", R_OK) == 0 ? "readable" :
	    strerror(errno));
	say(&out, "/var/runtime/hello: %s\n", access("/var/runtime/hello", R_OK) == 0 ?
	    "readable" : strerror(errno));
	say(&out, "ls /:");
	d = opendir("/");
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			say(&out, " %s", de->d_name);
	if (d)
		closedir(d);
	say(&out, "\nls /dev:");
	d = opendir("/dev");
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			say(&out, " %s", de->d_name);
	if (d)
		closedir(d);
	d = opendir("/proc");
	while (d && (de = readdir(d)))
		if (de->d_name[0] >= '1' && de->d_name[0] <= '9')
			procs++;
	if (d)
		closedir(d);
	d = opendir("/proc/self/fd");
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			fds++;
	if (d)
		closedir(d);
	say(&out, "\nprocesses in /proc: %d\nopen fds (incl. the dir): %d\n", procs, fds);
	say(&out, "loopback 127.0.0.1:9001: %s\n", loopback_works() ? "ok" : strerror(errno));
	say(&out, "getpwuid via /etc/passwd: %s\n", access("/etc/passwd", R_OK) == 0 ? "ok" : "no");
	status_line(&out, "CapEff");
	status_line(&out, "CapBnd");
	status_line(&out, "NoNewPrivs");
	say(&out, "argv:");
	for (int i = 0; i < argc; i++)
		say(&out, " %s", argv[i]);
	say(&out, "\nenv HELLO=%s\n", getenv("HELLO") ? getenv("HELLO") : "(unset)");
	if (write(3, out.b, out.n) < 0)
		return 4;
	if (argc >= 3) {
		execv(argv[2], argv + 2);
		return 5;
	}
	return 0;
}

/* ---- the daemon side ---- */

static int
wait_event(struct sandbox_client *sc, struct sandbox_event *ev, int timeout_ms)
{
	struct pollfd pfd = { sc->fd, POLLIN, 0 };
	int r;

	for (;;) {
		r = sandbox_read_event(sc, ev);
		if (r != -EAGAIN)
			return r;
		if (poll(&pfd, 1, timeout_ms) <= 0)
			return -ETIMEDOUT;
	}
}

static void
close_event_fds(struct sandbox_event *ev)
{
	if (ev->relay_fd >= 0)
		close(ev->relay_fd);
	if (ev->pidfd >= 0)
		close(ev->pidfd);
	if (ev->cgroup_fd >= 0)
		close(ev->cgroup_fd);
	ev->relay_fd = ev->pidfd = ev->cgroup_fd = -1;
}

static int
count_dir(const char *path, const char *prefix)
{
	struct dirent *de;
	DIR *d = opendir(path);
	int n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(d);
	return n;
}

static int
count_lines(const char *path)
{
	char line[1024];
	FILE *f = fopen(path, "re");
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n;
}

/* Processes running as one of the sandbox's host ids (100000..165535) in our
 * own memory cgroup's subtree: other sessions on this machine may be running
 * sandboxes of their own, in their cgroups. */
static int
sandbox_procs(void)
{
	char path[300], line[512], own[512] = "", *p;
	struct dirent *de;
	DIR *d = opendir("/proc");
	int n = 0, uid, ours;
	FILE *f;

	f = fopen("/proc/self/cgroup", "re");
	while (f && fgets(line, sizeof(line), f))
		if ((p = strstr(line, ":memory:")))
			snprintf(own, sizeof(own), "%s", p + 8);
	if (f)
		fclose(f);
	own[strcspn(own, "\n")] = '\0';
	while (d && (de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cgroup", de->d_name);
		f = fopen(path, "re");
		ours = 0;
		while (f && fgets(line, sizeof(line), f))
			if ((p = strstr(line, ":memory:")) && strncmp(p + 8, own, strlen(own)) == 0)
				ours = 1;
		if (f)
			fclose(f);
		if (!ours)
			continue;
		snprintf(path, sizeof(path), "/proc/%s/status", de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "Uid: %d", &uid) == 1 && uid >= 100000 && uid < 165536)
				n++;
		fclose(f);
	}
	if (d)
		closedir(d);
	return n;
}

/* The spawners this run started: their "hearth-<pid>" cgroups must be gone.
 * (The pids hierarchy is shared with every other session on the machine.) */
static pid_t spawners[8];
static int n_spawners;

struct baseline {
	int mounts, fds;
};

static void
own_cgroup_dir(const char *ctrl, char *out, size_t size)
{
	char line[512], *p;
	FILE *f = fopen("/proc/self/cgroup", "re");

	snprintf(out, size, "/sys/fs/cgroup/%s", ctrl);
	while (f && fgets(line, sizeof(line), f)) {
		p = strstr(line, ctrl);
		if (p && p[-1] == ':' && p[strlen(ctrl)] == ':') {
			p += strlen(ctrl) + 1;
			p[strcspn(p, "\n")] = '\0';
			snprintf(out, size, "/sys/fs/cgroup/%s%s", ctrl, strcmp(p, "/") ? p : "");
		}
	}
	if (f)
		fclose(f);
}

static void
check_clean(const char *phase, const struct baseline *b)
{
	char mem[512], pids[512];
	int n, before = failures;

	own_cgroup_dir("memory", mem, sizeof(mem));
	own_cgroup_dir("pids", pids, sizeof(pids));
	n = count_dir(mem, "hearth-");
	for (int i = 0; i < n_spawners; i++) {
		char name[32];

		snprintf(name, sizeof(name), "hearth-%d", (int)spawners[i]);
		n += count_dir(pids, name) + count_dir("/sys/fs/cgroup", name);
	}
	CHECK(n == 0, "%s: %d hearth-* cgroup dirs left", phase, n);
	n = sandbox_procs();
	CHECK(n == 0, "%s: %d sandbox processes left", phase, n);
	n = count_lines("/proc/self/mountinfo");
	CHECK(n == b->mounts, "%s: host has %d mounts, was %d", phase, n, b->mounts);
	n = count_dir("/proc/self/fd", "");
	CHECK(n == b->fds, "%s: %d fds open, was %d", phase, n, b->fds);
	if (failures == before)
		printf("%s: clean (cgroups, processes, mounts, fds)\n", phase);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
pct(const char *what, uint64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_u64);
	printf("%-28s p50 %7.3f ms  p90 %7.3f ms  p99 %7.3f ms  max %7.3f ms\n", what,
	       v[n / 2] / 1e6, v[n * 9 / 10] / 1e6, v[n * 99 / 100] / 1e6, v[n - 1] / 1e6);
}

static void
read_all(int fd)
{
	char buf[4096];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
}

int
main(int argc, char **argv)
{
	static const char *const env[] = { "HELLO=world", "TZ=UTC", NULL };
	static const char *const report_argv[] = { "report", "/usr/bin/true", NULL };
	static const char *const wait_argv[] = { "wait", NULL };
	static const char *const oom_argv[] = { "oom", NULL };
	static const char *const forks_argv[] = { "forks", NULL };
	struct sandbox_config cfg = { STATE_DIR, NULL };
	struct sandbox_spec spec = { 0 };
	struct sandbox_client sc;
	struct sandbox_event ev;
	struct err err = ERR_INIT;
	struct baseline base;
	char self[4096];
	uint64_t *t_spawn, *t_kill, t0, t1, peak = 0;
	int n = argc > 1 ? atoi(argv[1]) : 200, i, r, st, relays[3];
	ssize_t len;

	if (strcmp(argv[0], "/init") == 0)
		return fake_init(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len <= 0)
		return 1;
	self[len] = '\0';
	cfg.init_path = self;
	mkdir(CODE_DIR, 0755);
	chmod(CODE_DIR, 0755);
	close(open(CODE_DIR "/hello", O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	base.mounts = count_lines("/proc/self/mountinfo");
	base.fds = count_dir("/proc/self/fd", "");

	r = sandbox_start(&cfg, &sc, &err);
	if (r < 0) {
		printf("sandbox_start: %s\n", err.msg);
		return 1;
	}
	printf("spawner pid %d, cgroup v%d\n", (int)sc.spawner_pid, sc.cgroup_version);
	spawners[n_spawners++] = sc.spawner_pid;

	/* 1. What an instance sees. */
	spec = (struct sandbox_spec){ 1, CODE_DIR, CODE_DIR, report_argv, env, 64 << 20, 16 << 20,
				      64 };
	r = sandbox_spawn(&sc, &spec, &err);
	CHECK(r == 0, "spawn: %s", err.msg);
	r = wait_event(&sc, &ev, 5000);
	CHECK(r == 0 && ev.kind == SANDBOX_SPAWNED && ev.id == 1, "report: r=%d kind=%d %s", r,
	      ev.kind, ev.err.msg);
	if (r == 0 && ev.kind == SANDBOX_SPAWNED) {
		printf("--- report from inside (pid %d on the host) ---\n", (int)ev.pid);
		read_all(ev.relay_fd);
		printf("---\n");
		close_event_fds(&ev);
		r = wait_event(&sc, &ev, 5000);
		CHECK(r == 0 && ev.kind == SANDBOX_EXITED && WIFEXITED(ev.wait_status) &&
		      WEXITSTATUS(ev.wait_status) == 0, "report exit: r=%d kind=%d status=%#x",
		      r, ev.kind, ev.wait_status);
	}

	/* 2. A spawn that fails leaves nothing and says why. */
	spec = (struct sandbox_spec){ 2, "/nonexistent/code", NULL, wait_argv, env, 64 << 20,
				      16 << 20, 64 };
	r = sandbox_spawn(&sc, &spec, &err);
	r = wait_event(&sc, &ev, 5000);
	CHECK(r == 0 && ev.kind == SANDBOX_SPAWN_FAILED && ev.id == 2 && ev.err.code == ENOENT,
	      "bad code_dir: r=%d kind=%d", r, ev.kind);
	printf("bad code_dir -> SPAWN_FAILED: %s\n", ev.err.msg);

	/* 3. The OOM killer is noticed. */
	spec = (struct sandbox_spec){ 3, CODE_DIR, NULL, oom_argv, env, 32 << 20, 16 << 20, 64 };
	sandbox_spawn(&sc, &spec, &err);
	r = wait_event(&sc, &ev, 5000);
	CHECK(r == 0 && ev.kind == SANDBOX_SPAWNED, "oom spawn: %s", ev.err.msg);
	if (r == 0 && ev.kind == SANDBOX_SPAWNED) {
		int cg = ev.cgroup_fd;

		ev.cgroup_fd = -1;
		close_event_fds(&ev);
		r = wait_event(&sc, &ev, 10000);
		CHECK(r == 0 && ev.kind == SANDBOX_EXITED && ev.oom_killed == 1 &&
		      WIFSIGNALED(ev.wait_status) && WTERMSIG(ev.wait_status) == SIGKILL,
		      "oom: r=%d kind=%d oom=%d status=%#x", r, ev.kind, ev.oom_killed,
		      ev.wait_status);
		printf("oom: exited with signal %d, oom_killed=%d\n",
		       WIFSIGNALED(ev.wait_status) ? WTERMSIG(ev.wait_status) : 0, ev.oom_killed);
		/* The cgroup is gone by now: reading it fails cleanly. */
		CHECK(sandbox_mem_peak(cg, &peak) < 0, "mem_peak after removal should fail");
		close(cg);
	}

	/* 4. pids.max holds. */
	spec = (struct sandbox_spec){ 4, CODE_DIR, NULL, forks_argv, env, 64 << 20, 16 << 20, 16 };
	sandbox_spawn(&sc, &spec, &err);
	r = wait_event(&sc, &ev, 5000);
	CHECK(r == 0 && ev.kind == SANDBOX_SPAWNED, "forks spawn: %s", ev.err.msg);
	if (r == 0 && ev.kind == SANDBOX_SPAWNED) {
		printf("pids.max=16: ");
		read_all(ev.relay_fd);
		close_event_fds(&ev);
		r = wait_event(&sc, &ev, 5000);
		CHECK(r == 0 && ev.kind == SANDBOX_EXITED, "forks exit");
		CHECK(sandbox_procs() == 0, "forks: children outlived init");
	}

	/* 5. Latency: spawn -> SPAWNED, kill -> EXITED. */
	t_spawn = calloc((size_t)n, sizeof(*t_spawn));
	t_kill = calloc((size_t)n, sizeof(*t_kill));
	for (i = 0; i < n; i++) {
		spec = (struct sandbox_spec){ 100 + (uint64_t)i, CODE_DIR, NULL, wait_argv, env,
					      64 << 20, 16 << 20, 64 };
		t0 = clock_mono_ns();
		r = sandbox_spawn(&sc, &spec, &err);
		if (r == 0)
			r = wait_event(&sc, &ev, 5000);
		t1 = clock_mono_ns();
		if (r < 0 || ev.kind != SANDBOX_SPAWNED) {
			CHECK(0, "latency spawn %d: r=%d %s", i, r, ev.err.msg);
			break;
		}
		t_spawn[i] = t1 - t0;
		if (i == 0) {
			r = sandbox_mem_peak(ev.cgroup_fd, &peak);
			CHECK(r == 0 && peak > 0, "mem_peak: %d", r);
			printf("memory peak of an idle instance: %llu KiB\n",
			       (unsigned long long)peak / 1024);
		}
		t0 = clock_mono_ns();
		sandbox_kill(ev.pidfd);
		CHECK(sandbox_kill(ev.pidfd) == 0, "second kill not idempotent");
		close_event_fds(&ev);
		r = wait_event(&sc, &ev, 5000);
		t1 = clock_mono_ns();
		CHECK(r == 0 && ev.kind == SANDBOX_EXITED && ev.id == 100 + (uint64_t)i,
		      "latency exit %d: r=%d kind=%d", i, r, ev.kind);
		t_kill[i] = t1 - t0;
	}
	if (i == n) {
		pct("spawn -> SPAWNED", t_spawn, n);
		pct("kill -> EXITED", t_kill, n);
	}
	free(t_spawn);
	free(t_kill);

	sandbox_stop(&sc);
	check_clean("after stop", &base);

	/* 6. The daemon dies: the spawner sees EOF, kills everything, cleans up.
	 * The relays stay open, or the fake inits would see EOF and exit. */
	r = sandbox_start(&cfg, &sc, &err);
	CHECK(r == 0, "restart: %s", err.msg);
	spawners[n_spawners++] = sc.spawner_pid;
	for (i = 0; i < 3; i++) {
		spec = (struct sandbox_spec){ 1000 + (uint64_t)i, CODE_DIR, NULL, wait_argv, env,
					      64 << 20, 16 << 20, 64 };
		sandbox_spawn(&sc, &spec, &err);
		r = wait_event(&sc, &ev, 5000);
		CHECK(r == 0 && ev.kind == SANDBOX_SPAWNED, "eof spawn %d", i);
		relays[i] = ev.relay_fd;
		ev.relay_fd = -1;
		close_event_fds(&ev);
	}
	CHECK(sandbox_procs() == 3, "expected 3 live instances, saw %d", sandbox_procs());
	close(sc.fd);
	waitpid(sc.spawner_pid, &st, 0);
	for (i = 0; i < 3; i++)
		close(relays[i]);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "spawner exit status %#x", st);
	check_clean("after daemon EOF", &base);

	/* 7. Start-up and exec failures say what is wrong. */
	cfg.state_dir = "/root/hearth-sbx-try";
	r = sandbox_start(&cfg, &sc, &err);
	CHECK(r == -EACCES, "private state_dir: r=%d", r);
	printf("state_dir under /root -> %s\n", err.msg);
	rmdir("/root/hearth-sbx-try");
	cfg.state_dir = STATE_DIR;
	cfg.init_path = "/etc/passwd";
	r = sandbox_start(&cfg, &sc, &err);
	CHECK(r == -EACCES, "non-executable init: r=%d", r);
	printf("init /etc/passwd -> %s\n", err.msg);
	cfg.init_path = CODE_DIR "/not-elf";
	r = open(cfg.init_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	CHECK(r >= 0 && write(r, "garbage", 7) == 7, "cannot write not-elf");
	close(r);
	r = sandbox_start(&cfg, &sc, &err);
	CHECK(r == 0, "start: %s", err.msg);
	spawners[n_spawners++] = sc.spawner_pid;
	spec = (struct sandbox_spec){ 5, CODE_DIR, CODE_DIR, wait_argv, env, 64 << 20, 16 << 20,
				      64 };
	sandbox_spawn(&sc, &spec, &err);
	r = wait_event(&sc, &ev, 5000);
	CHECK(r == 0 && ev.kind == SANDBOX_SPAWN_FAILED && ev.err.code == ENOEXEC,
	      "exec failure: r=%d kind=%d", r, ev.kind);
	printf("init not an executable -> %s\n", ev.err.msg);
	spec.mem_bytes = 0;
	r = sandbox_spawn(&sc, &spec, &err);
	CHECK(r == -EINVAL, "mem_bytes 0 accepted");
	printf("mem_bytes 0 -> %s\n", err.msg);
	sandbox_stop(&sc);
	check_clean("after failures", &base);

	printf("%s (%d failures)\n", failures ? "FAILED" : "OK", failures);
	return failures ? 1 : 0;
}
