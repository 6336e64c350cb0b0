/*
 * The cgroup v1 backend: separate memory, pids and cpu hierarchies
 * (/sys/fs/cgroup/memory, /sys/fs/cgroup/pids, /sys/fs/cgroup/cpu), as on
 * hybrid systems. Memory is required; pids and cpu are used when mounted
 * (cgroup.c refuses to start without them unless told to run weaker). The
 * freezer hierarchy, when mounted, lets the daemon freeze idle instances; it
 * is no limit, so without it instances simply stay thawed.
 *
 * The spawner's parent "hearth-<pid>" goes beneath the spawner's own cgroup in
 * each hierarchy rather than at the root, so instances stay inside whatever
 * limits the host put around the daemon (a container, a systemd unit).
 * v1 has no clone-into-cgroup: the spawner writes the child's pid into
 * cgroup.procs before releasing it, so nothing of the child runs unlimited.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/log.h"
#include "sandbox/internal.h"
#include "lib/banned.h"

static int
make_parent(const char *controller, char **out, struct err *err)
{
	_cleanup_free_ char *own = NULL;
	char *mount = xasprintf("/sys/fs/cgroup/%s", controller);
	char *base, *parent;
	struct stat st;
	int r;

	if (sandbox__own_cgroup(controller, &own) < 0 || strcmp(own, "/") == 0) {
		base = xstrdup(mount);
	} else {
		base = xasprintf("%s%s", mount, own);
		/* Inside a container the path may name a cgroup we cannot see. */
		if (stat(base, &st) < 0) {
			free(base);
			base = xstrdup(mount);
		}
	}
	free(mount);
	sandbox__cgroup_sweep(base);
	parent = xasprintf("%s/hearth-%d", base, (int)getpid());
	free(base);
	if (mkdir(parent, 0755) < 0 && errno != EEXIST) {
		r = err_set(err, errno, "cannot create cgroup '%s'", parent);
		free(parent);
		return r;
	}
	*out = parent;
	return 0;
}

static int
v1_setup(struct sandbox__cgroups *cg, struct err *err)
{
	struct sandbox_support s;
	int r;

	sandbox_probe(&s);
	r = make_parent("memory", &cg->mem_parent, err);
	if (r < 0)
		return r;
	cg->limits |= SANDBOX_LIMIT_MEMORY | (s.limits & SANDBOX_LIMIT_SWAP);
	if (s.limits & SANDBOX_LIMIT_PIDS) {
		r = make_parent("pids", &cg->pids_parent, err);
		if (r < 0)
			return r;
		cg->limits |= SANDBOX_LIMIT_PIDS;
	}
	if (s.limits & SANDBOX_LIMIT_CPU) {
		r = make_parent("cpu", &cg->cpu_parent, err);
		if (r < 0)
			return r;
		cg->limits |= SANDBOX_LIMIT_CPU;
	}
	if (sandbox__v1_mounted("/sys/fs/cgroup/freezer")) {
		r = make_parent("freezer", &cg->freezer_parent, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* mkdir of one instance cgroup; *path is set only once it exists, so that
 * remove() never rmdirs what we did not make. */
static int
make_inst(const char *parent, const char *name, char **path, struct err *err)
{
	char *p = xasprintf("%s/%s", parent, name);
	int r;

	if (mkdir(p, 0755) < 0) {
		r = err_set(err, errno, "cannot create cgroup '%s'", p);
		free(p);
		return r;
	}
	*path = p;
	return 0;
}

static int
v1_set_cpu(const struct sandbox__cgroups *cg, const struct sandbox__cgroup_inst *ci,
	   const struct sandbox_cpu *cpu, struct err *err)
{
	char val[32];
	int r;

	(void)cg;
	if (!ci->cpu_path)
		return 0;
	/* The period first: a quota is checked against the current period. */
	snprintf(val, sizeof(val), "%" PRIu64, cpu->period_us);
	r = sandbox__write_file(ci->cpu_path, "cpu.cfs_period_us", val);
	if (r == 0) {
		snprintf(val, sizeof(val), "%" PRIu64, cpu->quota_us);
		r = sandbox__write_file(ci->cpu_path, "cpu.cfs_quota_us", val);
	}
	if (r == 0) {
		snprintf(val, sizeof(val), "%" PRIu32, cpu->shares);
		r = sandbox__write_file(ci->cpu_path, "cpu.shares", val);
	}
	if (r < 0)
		return err_set(err, -r, "cannot write the CPU limits of '%s'", ci->cpu_path);
	return 0;
}

/* The instance directories, "<prefix><id>" in each hierarchy. */
static int
make_dirs(struct sandbox__cgroups *cg, struct sandbox__cgroup_inst *ci, const char *name,
	  struct err *err)
{
	int r;

	r = make_inst(cg->mem_parent, name, &ci->mem_path, err);
	if (r == 0 && cg->pids_parent)
		r = make_inst(cg->pids_parent, name, &ci->pids_path, err);
	if (r == 0 && cg->cpu_parent)
		r = make_inst(cg->cpu_parent, name, &ci->cpu_path, err);
	if (r == 0 && cg->freezer_parent)
		r = make_inst(cg->freezer_parent, name, &ci->freezer_path, err);
	return r;
}

/* memsw may never be below the memory limit, so the order of the two writes
 * depends on the direction: down, memory first; up, memsw first. Without swap
 * accounting memsw is absent and the memory limit is all there is; with it, an
 * equal memsw limit keeps the instance out of swap. */
static int
write_mem(const char *dir, uint64_t mem_bytes, struct err *err)
{
	char val[32];
	int r;

	snprintf(val, sizeof(val), "%" PRIu64, mem_bytes);
	r = sandbox__write_file(dir, "memory.limit_in_bytes", val);
	if (r == -EINVAL) {
		/* Raising it above the memsw limit: that one goes first. */
		r = sandbox__write_file(dir, "memory.memsw.limit_in_bytes", val);
		if (r < 0 && r != -ENOENT)
			return err_set(err, -r, "cannot write memory.memsw.limit_in_bytes of '%s'",
				       dir);
		r = sandbox__write_file(dir, "memory.limit_in_bytes", val);
	}
	if (r < 0)
		return err_set(err, -r, "cannot write memory.limit_in_bytes of '%s'", dir);
	r = sandbox__write_file(dir, "memory.memsw.limit_in_bytes", val);
	if (r < 0 && r != -ENOENT)
		return err_set(err, -r, "cannot write memory.memsw.limit_in_bytes of '%s'", dir);
	return 0;
}

static int
v1_set_limits(struct sandbox__cgroups *cg, struct sandbox__cgroup_inst *ci, uint64_t mem_bytes,
	      uint32_t pids_max, struct err *err)
{
	struct sandbox_cpu steady, boost;
	char val[32];
	int r;

	r = write_mem(ci->mem_path, mem_bytes, err);
	if (r < 0)
		return r;
	if (ci->pids_path) {
		snprintf(val, sizeof(val), "%" PRIu32, pids_max);
		r = sandbox__write_file(ci->pids_path, "pids.max", val);
		if (r < 0)
			return err_set(err, -r, "cannot write pids.max of '%s'", ci->pids_path);
	}
	sandbox_cpu_for_memory(mem_bytes, &steady);
	sandbox_cpu_boost(&steady, &boost);
	return v1_set_cpu(cg, ci, &boost, err);
}

static int
v1_create(struct sandbox__cgroups *cg, struct sandbox__cgroup_inst *ci, uint64_t id,
	  uint64_t mem_bytes, uint32_t pids_max, struct err *err)
{
	char name[SANDBOX__CGROUP_NAME_MAX];
	int r;

	sandbox__cgroup_inst_name(id, name);
	r = make_dirs(cg, ci, name, err);
	return r < 0 ? r : v1_set_limits(cg, ci, mem_bytes, pids_max, err);
}

/* A seed's cgroups (seed.c): "s<seq>", no limits of their own yet beyond the
 * parent's; the seed is the spawner's code, small, and moves itself in. */
static int
v1_pool_create(struct sandbox__cgroups *cg, struct sandbox__cgroup_inst *ci, uint64_t seq,
	       struct err *err)
{
	char name[SANDBOX__CGROUP_NAME_MAX];

	snprintf(name, sizeof(name), "s%" PRIu64, seq);
	return make_dirs(cg, ci, name, err);
}

/* Renames one directory to the instance's name beside it: cgroup v1 allows a
 * rename in the same parent whatever the tasks inside (cgroup1_rename()). */
static int
rename_inst(char **path, uint64_t id, struct err *err)
{
	char name[SANDBOX__CGROUP_NAME_MAX], *slash, *np;
	int r;

	if (!*path)
		return 0;
	slash = strrchr(*path, '/');
	assert(slash);
	sandbox__cgroup_inst_name(id, name);
	np = xasprintf("%.*s/%s", (int)(slash - *path), *path, name);
	if (rename(*path, np) < 0) {
		r = err_set(err, errno, "cannot rename cgroup '%s' to '%s'", *path, np);
		free(np);
		return r;
	}
	free(*path);
	*path = np;
	return 0;
}

static int
v1_claim(struct sandbox__cgroups *cg, struct sandbox__cgroup_inst *ci, uint64_t id,
	 uint64_t mem_bytes, uint32_t pids_max, struct err *err)
{
	int r;

	r = rename_inst(&ci->mem_path, id, err);
	if (r == 0)
		r = rename_inst(&ci->pids_path, id, err);
	if (r == 0)
		r = rename_inst(&ci->cpu_path, id, err);
	if (r == 0)
		r = rename_inst(&ci->freezer_path, id, err);
	return r < 0 ? r : v1_set_limits(cg, ci, mem_bytes, pids_max, err);
}

static int
v1_attach(struct sandbox__cgroup_inst *ci, pid_t pid, struct err *err)
{
	char val[16];
	int r;

	snprintf(val, sizeof(val), "%d", (int)pid);
	r = sandbox__write_file(ci->mem_path, "cgroup.procs", val);
	if (r < 0)
		return err_set(err, -r, "cannot move pid %d into cgroup '%s'", (int)pid,
			       ci->mem_path);
	r = ci->pids_path ? sandbox__write_file(ci->pids_path, "cgroup.procs", val) : 0;
	if (r < 0)
		return err_set(err, -r, "cannot move pid %d into cgroup '%s'", (int)pid,
			       ci->pids_path);
	r = ci->cpu_path ? sandbox__write_file(ci->cpu_path, "cgroup.procs", val) : 0;
	if (r < 0)
		return err_set(err, -r, "cannot move pid %d into cgroup '%s'", (int)pid,
			       ci->cpu_path);
	r = ci->freezer_path ? sandbox__write_file(ci->freezer_path, "cgroup.procs", val) : 0;
	if (r < 0)
		return err_set(err, -r, "cannot move pid %d into cgroup '%s'", (int)pid,
			       ci->freezer_path);
	return 0;
}

static int
v1_oom_killed(const struct sandbox__cgroup_inst *ci)
{
	char buf[512], *p;

	if (!ci->mem_path || sandbox__read_file(ci->mem_path, "memory.oom_control", buf,
						sizeof(buf)) < 0)
		return 0;
	/* "oom_kill N" appeared in 4.13; older kernels cannot tell us. */
	p = strstr(buf, "oom_kill ");
	return p && strtoull(p + 9, NULL, 10) > 0;
}

static void
v1_kill(const struct sandbox__cgroup_inst *ci)
{
	/* SIGKILL stays pending on a task in the v1 freezer until it is
	 * thawed; the daemon thaws before it kills, but a spawner stopping on
	 * its own (daemon gone) may find instances still frozen. */
	if (ci->freezer_path)
		sandbox__write_file(ci->freezer_path, "freezer.state", "THAWED");
	if (ci->pids_path)
		sandbox__kill_procs(ci->pids_path);
	if (ci->mem_path)
		sandbox__kill_procs(ci->mem_path);
	if (ci->cpu_path)
		sandbox__kill_procs(ci->cpu_path);
}

static int
v1_remove(struct sandbox__cgroup_inst *ci)
{
	int r1, r2, r3, r4;

	r1 = sandbox__rmdir(&ci->mem_path);
	r2 = sandbox__rmdir(&ci->pids_path);
	r3 = sandbox__rmdir(&ci->cpu_path);
	r4 = sandbox__rmdir(&ci->freezer_path);
	return r1 < 0 ? r1 : r2 < 0 ? r2 : r3 < 0 ? r3 : r4;
}

static void
v1_teardown(struct sandbox__cgroups *cg)
{
	char *p;

	p = cg->mem_parent;
	if (sandbox__rmdir(&cg->mem_parent) < 0)
		log_warn("spawner: cannot remove cgroup '%s': %s", p, strerror(errno));
	p = cg->pids_parent;
	if (sandbox__rmdir(&cg->pids_parent) < 0)
		log_warn("spawner: cannot remove cgroup '%s': %s", p, strerror(errno));
	p = cg->cpu_parent;
	if (sandbox__rmdir(&cg->cpu_parent) < 0)
		log_warn("spawner: cannot remove cgroup '%s': %s", p, strerror(errno));
	p = cg->freezer_parent;
	if (sandbox__rmdir(&cg->freezer_parent) < 0)
		log_warn("spawner: cannot remove cgroup '%s': %s", p, strerror(errno));
}

static int
v1_freeze_fd(const struct sandbox__cgroup_inst *ci)
{
	_cleanup_close_ int dir = -1;
	int fd;

	if (!ci->freezer_path)
		return -ENOTSUP;
	dir = open(ci->freezer_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return -errno;
	fd = openat(dir, "freezer.state", O_WRONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

const struct sandbox__cgroup_ops sandbox__cgroup_v1_ops = {
	.version = 1,
	.setup = v1_setup,
	.create = v1_create,
	.pool_create = v1_pool_create,
	.claim = v1_claim,
	.set_limits = v1_set_limits,
	.set_cpu = v1_set_cpu,
	.attach = v1_attach,
	.oom_killed = v1_oom_killed,
	.kill = v1_kill,
	.freeze_fd = v1_freeze_fd,
	.remove = v1_remove,
	.teardown = v1_teardown,
};
