/*
 * Cgroup plumbing shared by the two backends (cgroup-v1.c, cgroup-v2.c) and
 * the choice between them. Runs in the spawner only.
 *
 * Detection follows what the kernel mounted, not what we would prefer: on a
 * unified (v2) system /sys/fs/cgroup/cgroup.controllers lists memory; on a
 * hybrid or legacy system memory is a v1 hierarchy at /sys/fs/cgroup/memory
 * (a controller-less v2 tree at /sys/fs/cgroup/unified does not count).
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>

#include "lib/cleanup.h"
#include "lib/log.h"
#include "sandbox/internal.h"
#include "lib/banned.h"

void
sandbox__cgroup_inst_name(uint64_t id, char name[SANDBOX__CGROUP_NAME_MAX])
{
	if (id >= SANDBOX__STEM_ID_BASE)
		snprintf(name, SANDBOX__CGROUP_NAME_MAX, "z%" PRIu64, id - SANDBOX__STEM_ID_BASE);
	else
		snprintf(name, SANDBOX__CGROUP_NAME_MAX, "i%" PRIu64, id);
}

int
sandbox__write_file(const char *dir, const char *name, const char *value)
{
	_cleanup_close_ int fd = -1;
	char path[4096];
	size_t len = strlen(value);
	ssize_t n;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, value, len);
	if (n < 0)
		return -errno;
	if ((size_t)n != len)
		return -EIO;
	return 0;
}

int
sandbox__read_file(const char *dir, const char *name, char *out, size_t size)
{
	_cleanup_close_ int fd = -1;
	char path[4096];
	size_t len = 0;
	ssize_t n;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (len + 1 < size) {
		n = read(fd, out + len, size - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	out[len] = '\0';
	return (int)len;
}

int
sandbox__own_cgroup(const char *controller, char **path)
{
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	FILE *f;
	int r = -ENOENT;

	f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return -errno;
	/* Lines are "id:controller,list:/path"; v2 is "0::/path". */
	while (getline(&line, &cap, f) > 0) {
		char *ctrls = strchr(line, ':'), *p, *tok, *save = NULL;
		bool match = false;

		if (!ctrls)
			continue;
		ctrls++;
		p = strchr(ctrls, ':');
		if (!p)
			continue;
		*p++ = '\0';
		p[strcspn(p, "\n")] = '\0';
		if (!controller) {
			match = ctrls[0] == '\0';
		} else {
			tok = strtok_r(ctrls, ",", &save);
			for (; tok; tok = strtok_r(NULL, ",", &save))
				if (strcmp(tok, controller) == 0)
					match = true;
		}
		if (match) {
			*path = xstrdup(p);
			r = 0;
			break;
		}
	}
	fclose(f);
	return r;
}

void
sandbox__kill_procs(const char *dir)
{
	char buf[4096], *p, *end;
	long pid;
	int pass;

	/* Two passes: a task forking while we read the first is caught by the
	 * second. Instances are in their own pid namespace, whose init's death
	 * already killed the rest, so this is a safety net. */
	for (pass = 0; pass < 2; pass++) {
		if (sandbox__read_file(dir, "cgroup.procs", buf, sizeof(buf)) <= 0)
			return;
		for (p = buf; *p; p = end) {
			pid = strtol(p, &end, 10);
			if (end == p)
				break;
			if (pid > 1)
				kill((pid_t)pid, SIGKILL);
			while (*end == '\n')
				end++;
		}
	}
}

int
sandbox__rmdir(char **path)
{
	if (!*path)
		return 0;
	if (rmdir(*path) < 0 && errno != ENOENT)
		return -errno;
	free(*path);
	*path = NULL;
	return 0;
}

/* Kills what is inside dir's instance cgroups and removes them and dir. */
static void
remove_tree(const char *dir)
{
	struct timespec ts = { 0, 10 * 1000000L };
	struct dirent *de;
	char *child;
	DIR *d;
	int i;

	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		/* Every child directory is a cgroup of that spawner's: an
		 * instance's (i), a seed's (s) or a pre-started runtime's (z). */
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		child = xasprintf("%s/%s", dir, de->d_name);
		for (i = 0; i < 100; i++) {
			sandbox__kill_procs(child);
			if (rmdir(child) == 0 || errno != EBUSY)
				break;
			nanosleep(&ts, NULL);
		}
		free(child);
	}
	closedir(d);
	if (rmdir(dir) < 0)
		log_warn("spawner: cannot remove stale cgroup '%s': %s", dir, strerror(errno));
	else
		log_info("spawner: removed stale cgroup '%s'", dir);
}

void
sandbox__cgroup_sweep(const char *base)
{
	struct dirent *de;
	char *end, *path;
	long pid;
	DIR *d;

	/* A spawner that was SIGKILLed (or OOM-killed) could not remove its
	 * parent; the next one does, once that pid is gone. This assumes every
	 * spawner sharing the hierarchy shares our pid namespace (one host);
	 * a live spawner's parent is never touched. */
	d = opendir(base);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "hearth-", 7) != 0 || de->d_type != DT_DIR)
			continue;
		pid = strtol(de->d_name + 7, &end, 10);
		if (*end || pid <= 0 || pid == getpid())
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		path = xasprintf("%s/%s", base, de->d_name);
		remove_tree(path);
		free(path);
	}
	closedir(d);
}

void
sandbox__cgroup_inst_init(struct sandbox__cgroup_inst *ci)
{
	ci->mem_path = NULL;
	ci->pids_path = NULL;
	ci->cpu_path = NULL;
	ci->freezer_path = NULL;
	ci->clone_fd = -1;
}

void
sandbox__cgroup_inst_release(struct sandbox__cgroup_inst *ci)
{
	free(ci->mem_path);
	free(ci->pids_path);
	free(ci->cpu_path);
	free(ci->freezer_path);
	if (ci->clone_fd >= 0)
		close(ci->clone_fd);
	sandbox__cgroup_inst_init(ci);
}

bool
sandbox__v2_has(const char *dir, const char *controller)
{
	char buf[512], *tok, *save = NULL;

	if (sandbox__read_file(dir, "cgroup.controllers", buf, sizeof(buf)) < 0)
		return false;
	for (tok = strtok_r(buf, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
		if (strcmp(tok, controller) == 0)
			return true;
	return false;
}

static bool
v2_has_memory(void)
{
	return sandbox__v2_has("/sys/fs/cgroup", "memory");
}

static bool
is_v1_mount(const char *path)
{
	struct statfs sfs;

	return statfs(path, &sfs) == 0 && sfs.f_type == CGROUP_SUPER_MAGIC;
}

bool
sandbox__v1_mounted(const char *path)
{
	return is_v1_mount(path);
}

bool
sandbox__host_swap(void)
{
	char buf[4096], *p;

	if (sandbox__read_file("/proc", "meminfo", buf, sizeof(buf)) < 0)
		return false;
	p = strstr(buf, "SwapTotal:");
	return p && strtoull(p + 10, NULL, 10) > 0;
}

const char *
sandbox_limit_name(unsigned bit)
{
	switch (bit) {
	case SANDBOX_LIMIT_MEMORY:
		return "memory";
	case SANDBOX_LIMIT_SWAP:
		return "swap";
	case SANDBOX_LIMIT_PIDS:
		return "pids";
	case SANDBOX_LIMIT_CPU:
		return "cpu";
	default:
		return "unknown";
	}
}

void
sandbox_cpu_for_memory(uint64_t mem_bytes, struct sandbox_cpu *out)
{
	uint64_t mb = mem_bytes >> 20;

	out->period_us = SANDBOX_CPU_PERIOD_US;
	out->quota_us = mb * SANDBOX_CPU_PERIOD_US / SANDBOX_MB_PER_CPU;
	/* The kernel refuses a quota under 1 ms (kernel/sched/core.c). */
	if (out->quota_us < 1000)
		out->quota_us = 1000;
	out->shares = (uint32_t)MIN(MAX(mb * 1024 / SANDBOX_MB_PER_CPU, 2), 262144);
	out->weight = (uint32_t)MIN(MAX(mb * 100 / SANDBOX_MB_PER_CPU, 1), 10000);
}

void
sandbox_cpu_boost(const struct sandbox_cpu *steady, struct sandbox_cpu *out)
{
	/* One core (a quota of a whole period) and one core's weight: an
	 * interpreter starts on one thread, and a core's weight makes a cold
	 * start compete like any process of the host rather than at 7 %. */
	*out = *steady;
	out->quota_us = MAX(steady->quota_us, steady->period_us);
	out->shares = MAX(steady->shares, 1024);
	out->weight = MAX(steady->weight, 100);
}

unsigned
sandbox__limits_hidden(void)
{
	/* Tests only: pretend the host lacks these controllers, so that the
	 * refusal and --allow-weaker-limits can be tested on any machine. */
	const char *env = getenv("HEARTH_TEST_HIDE_LIMITS");
	unsigned bit, mask = 0;

	if (!env)
		return 0;
	for (bit = 1; bit & SANDBOX_LIMIT_ALL; bit <<= 1)
		if (bit != SANDBOX_LIMIT_MEMORY && strstr(env, sandbox_limit_name(bit)))
			mask |= bit;
	return mask;
}

static void
probe(struct sandbox_support *s);

void
sandbox_probe(struct sandbox_support *s)
{
	unsigned hidden = sandbox__limits_hidden();

	probe(s);
	s->limits &= ~hidden;
	if (hidden & SANDBOX_LIMIT_PIDS)
		s->pids_path[0] = '\0';
	if (hidden & SANDBOX_LIMIT_CPU)
		s->cpu_path[0] = '\0';
}

static void
probe(struct sandbox_support *s)
{
	char buf[4096];

	memset(s, 0, sizeof(*s));
	s->host_swap = sandbox__host_swap();
	if (sandbox__read_file("/proc/sys/user", "max_user_namespaces", buf, sizeof(buf)) > 0)
		s->userns = strtol(buf, NULL, 10) > 0;
	if (sandbox__read_file("/proc/self", "status", buf, sizeof(buf)) > 0)
		s->seccomp = strstr(buf, "\nSeccomp:") != NULL;
	if (v2_has_memory()) {
		s->cgroup_version = 2;
		s->limits |= SANDBOX_LIMIT_MEMORY | SANDBOX_LIMIT_SWAP;
		snprintf(s->mem_path, sizeof(s->mem_path), "/sys/fs/cgroup");
		if (sandbox__v2_has("/sys/fs/cgroup", "pids")) {
			s->limits |= SANDBOX_LIMIT_PIDS;
			snprintf(s->pids_path, sizeof(s->pids_path), "/sys/fs/cgroup");
		}
		if (sandbox__v2_has("/sys/fs/cgroup", "cpu")) {
			s->limits |= SANDBOX_LIMIT_CPU;
			snprintf(s->cpu_path, sizeof(s->cpu_path), "/sys/fs/cgroup");
		}
		/* cgroup.kill exists in every non-root cgroup from 5.14; the root
		 * has none, so look for cgroup.pressure's sibling in a child. */
		s->cgroup_kill = access("/sys/fs/cgroup/init.scope/cgroup.kill", F_OK) == 0 ||
				 access("/sys/fs/cgroup/system.slice/cgroup.kill", F_OK) == 0;
		return;
	}
	if (!is_v1_mount("/sys/fs/cgroup/memory"))
		return;
	s->cgroup_version = 1;
	s->limits |= SANDBOX_LIMIT_MEMORY;
	snprintf(s->mem_path, sizeof(s->mem_path), "/sys/fs/cgroup/memory");
	/* Without swap accounting memsw is absent; it only matters with swap. */
	if (!s->host_swap ||
	    access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) == 0)
		s->limits |= SANDBOX_LIMIT_SWAP;
	if (is_v1_mount("/sys/fs/cgroup/pids")) {
		s->limits |= SANDBOX_LIMIT_PIDS;
		snprintf(s->pids_path, sizeof(s->pids_path), "/sys/fs/cgroup/pids");
	}
	if (is_v1_mount("/sys/fs/cgroup/cpu") &&
	    access("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", F_OK) == 0) {
		s->limits |= SANDBOX_LIMIT_CPU;
		snprintf(s->cpu_path, sizeof(s->cpu_path), "/sys/fs/cgroup/cpu");
	}
}

int
sandbox__cgroup_init(struct sandbox__cgroups *cg, bool allow_weaker, struct err *err)
{
	char names[64] = "";
	unsigned missing, bit;
	int r;

	cg->mem_parent = NULL;
	cg->pids_parent = NULL;
	cg->cpu_parent = NULL;
	cg->freezer_parent = NULL;
	cg->limits = 0;
	if (v2_has_memory())
		cg->ops = &sandbox__cgroup_v2_ops;
	else if (is_v1_mount("/sys/fs/cgroup/memory"))
		cg->ops = &sandbox__cgroup_v1_ops;
	else
		return err_setmsg(err, ENOTSUP,
				  "no usable cgroup memory controller: "
				  "/sys/fs/cgroup/cgroup.controllers does not list memory and "
				  "/sys/fs/cgroup/memory is not a cgroup v1 mount");
	r = cg->ops->setup(cg, err);
	if (r < 0)
		return r;
	missing = SANDBOX_LIMIT_ALL & ~cg->limits;
	for (bit = 1; bit & SANDBOX_LIMIT_ALL; bit <<= 1) {
		size_t len = strlen(names);

		if (missing & bit)
			snprintf(names + len, sizeof(names) - len, "%s%s", len ? ", " : "",
				 sandbox_limit_name(bit));
	}
	if (!missing)
		return 0;
	/* Refusing is the default: a function deployed with 128 MB that quietly
	 * gets the whole machine's CPU is a surprise nobody asked for. */
	if (!allow_weaker)
		return err_setmsg(err, ENOTSUP, "this host cannot enforce the %s limit%s of "
				  "function instances (see 'hearth doctor'); pass "
				  "--allow-weaker-limits to run functions without %s", names,
				  strchr(names, ',') ? "s" : "", strchr(names, ',') ? "them" : "it");
	log_warn("spawner: running WITHOUT the %s limit%s (--allow-weaker-limits)", names,
		 strchr(names, ',') ? "s" : "");
	return 0;
}

void
sandbox__cgroup_release(struct sandbox__cgroups *cg)
{
	if (cg->ops)
		cg->ops->teardown(cg);
	free(cg->mem_parent);
	free(cg->pids_parent);
	free(cg->cpu_parent);
	free(cg->freezer_parent);
	cg->mem_parent = NULL;
	cg->pids_parent = NULL;
	cg->cpu_parent = NULL;
	cg->freezer_parent = NULL;
}
