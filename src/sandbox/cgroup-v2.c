/*
 * The cgroup v2 backend: one unified hierarchy at /sys/fs/cgroup.
 *
 * The parent "hearth-<pid>" holds no processes, so it may enable memory and
 * pids for its children ("no internal processes" rule); the spawner itself
 * stays where it was started. Instances are cloned straight into their cgroup
 * (CLONE_INTO_CGROUP), so not one instruction of the child runs unlimited,
 * and ended with cgroup.kill, which catches forks in flight.
 */
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

#define V2_ROOT "/sys/fs/cgroup"

/* Enables memory and, where the hierarchy has them, pids and cpu for dir's
 * children; records which limits that makes enforceable. */
static int
enable(struct sandbox__cgroups *cg, const char *dir)
{
	static const struct {
		const char *name, *ctl;
		unsigned limit;
	} ctls[] = {
		{ "memory", "+memory", SANDBOX_LIMIT_MEMORY | SANDBOX_LIMIT_SWAP },
		{ "pids", "+pids", SANDBOX_LIMIT_PIDS },
		{ "cpu", "+cpu", SANDBOX_LIMIT_CPU },
	};
	unsigned limits = 0, hidden = sandbox__limits_hidden();
	size_t i;
	int r;

	for (i = 0; i < ARRAY_SIZE(ctls); i++) {
		if (!sandbox__v2_has(dir, ctls[i].name) || (ctls[i].limit & hidden))
			continue;
		r = sandbox__write_file(dir, "cgroup.subtree_control", ctls[i].ctl);
		if (r < 0 && i == 0)
			return r;
		if (r == 0)
			limits |= ctls[i].limit;
	}
	cg->limits = limits;
	return 0;
}

static int
v2_setup(struct sandbox__cgroups *cg, struct err *err)
{
	_cleanup_free_ char *own = NULL;
	char *base = NULL;
	int r;

	/* The root may enable controllers even though it has processes; a
	 * non-root cgroup (a delegated one under systemd) only if it has none. */
	r = enable(cg, V2_ROOT);
	if (r == 0) {
		base = xstrdup(V2_ROOT);
	} else if (sandbox__own_cgroup(NULL, &own) == 0 && strcmp(own, "/") != 0) {
		base = xasprintf(V2_ROOT "%s", own);
		r = enable(cg, base);
	}
	if (r < 0) {
		r = err_set(err, -r, "cannot enable the memory controller in '%s' "
			    "(a cgroup with processes cannot; start hearth in a delegated, empty "
			    "cgroup)", base ? base : V2_ROOT);
		free(base);
		return r;
	}
	sandbox__cgroup_sweep(base);
	cg->mem_parent = xasprintf("%s/hearth-%d", base, (int)getpid());
	free(base);
	if (mkdir(cg->mem_parent, 0755) < 0 && errno != EEXIST)
		return err_set(err, errno, "cannot create cgroup '%s'", cg->mem_parent);
	r = enable(cg, cg->mem_parent);
	if (r < 0)
		return err_set(err, -r, "cannot enable the memory controller in '%s'",
			       cg->mem_parent);
	return 0;
}

static int
v2_set_cpu(const struct sandbox__cgroups *cg, const struct sandbox__cgroup_inst *ci,
	   const struct sandbox_cpu *cpu, struct err *err)
{
	char val[48];
	int r;

	if (!(cg->limits & SANDBOX_LIMIT_CPU))
		return 0;
	snprintf(val, sizeof(val), "%" PRIu64 " %" PRIu64, cpu->quota_us, cpu->period_us);
	r = sandbox__write_file(ci->mem_path, "cpu.max", val);
	if (r == 0) {
		snprintf(val, sizeof(val), "%" PRIu32, cpu->weight);
		r = sandbox__write_file(ci->mem_path, "cpu.weight", val);
	}
	if (r < 0)
		return err_set(err, -r, "cannot write the CPU limits of '%s'", ci->mem_path);
	return 0;
}

static int
v2_set_limits(struct sandbox__cgroups *cg, struct sandbox__cgroup_inst *ci, uint64_t mem_bytes,
	      uint32_t pids_max, struct err *err)
{
	struct sandbox_cpu steady, boost;
	char val[48];
	int r;

	snprintf(val, sizeof(val), "%" PRIu64, mem_bytes);
	r = sandbox__write_file(ci->mem_path, "memory.max", val);
	if (r < 0)
		return err_set(err, -r, "cannot write memory.max of '%s'", ci->mem_path);
	/* Like memsw on v1: the limit is on memory, not on memory plus swap. */
	r = sandbox__write_file(ci->mem_path, "memory.swap.max", "0");
	if (r < 0 && r != -ENOENT)
		return err_set(err, -r, "cannot write memory.swap.max of '%s'", ci->mem_path);
	if (cg->limits & SANDBOX_LIMIT_PIDS) {
		snprintf(val, sizeof(val), "%" PRIu32, pids_max);
		r = sandbox__write_file(ci->mem_path, "pids.max", val);
		if (r < 0)
			return err_set(err, -r, "cannot write pids.max of '%s'", ci->mem_path);
	}
	sandbox_cpu_for_memory(mem_bytes, &steady);
	sandbox_cpu_boost(&steady, &boost);
	return v2_set_cpu(cg, ci, &boost, err);
}

static int
v2_create(struct sandbox__cgroups *cg, struct sandbox__cgroup_inst *ci, uint64_t id,
	  uint64_t mem_bytes, uint32_t pids_max, struct err *err)
{
	char name[SANDBOX__CGROUP_NAME_MAX];
	int r;

	sandbox__cgroup_inst_name(id, name);
	ci->mem_path = xasprintf("%s/%s", cg->mem_parent, name);
	if (mkdir(ci->mem_path, 0755) < 0) {
		r = err_set(err, errno, "cannot create cgroup '%s'", ci->mem_path);
		free(ci->mem_path);
		ci->mem_path = NULL;
		return r;
	}
	r = v2_set_limits(cg, ci, mem_bytes, pids_max, err);
	if (r < 0)
		return r;
	/* CLONE_INTO_CGROUP wants a real directory fd; O_PATH is refused. */
	ci->clone_fd = open(ci->mem_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ci->clone_fd < 0)
		return err_set(err, errno, "cannot open cgroup '%s'", ci->mem_path);
	return 0;
}

static int
v2_attach(struct sandbox__cgroup_inst *ci, pid_t pid, struct err *err)
{
	(void)ci;
	(void)pid;
	(void)err;
	return 0;
}

static int
v2_oom_killed(const struct sandbox__cgroup_inst *ci)
{
	char buf[512], *p;

	if (!ci->mem_path ||
	    sandbox__read_file(ci->mem_path, "memory.events", buf, sizeof(buf)) < 0)
		return 0;
	p = strstr(buf, "oom_kill ");
	return p && strtoull(p + 9, NULL, 10) > 0;
}

static void
v2_kill(const struct sandbox__cgroup_inst *ci)
{
	if (!ci->mem_path)
		return;
	/* cgroup.kill (5.14) is atomic against forks; older kernels get the list. */
	if (sandbox__write_file(ci->mem_path, "cgroup.kill", "1") < 0)
		sandbox__kill_procs(ci->mem_path);
}

/* cgroup.freeze (5.2) sits in every non-root cgroup; killing a frozen v2
 * cgroup works (the kernel wakes tasks for fatal signals). */
static int
v2_freeze_fd(const struct sandbox__cgroup_inst *ci)
{
	_cleanup_close_ int dir = -1;
	int fd;

	if (!ci->mem_path)
		return -ENOTSUP;
	dir = open(ci->mem_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return -errno;
	fd = openat(dir, "cgroup.freeze", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ENOTSUP : -errno;
	return fd;
}

static int
v2_remove(struct sandbox__cgroup_inst *ci)
{
	if (ci->clone_fd >= 0) {
		close(ci->clone_fd);
		ci->clone_fd = -1;
	}
	return sandbox__rmdir(&ci->mem_path);
}

static void
v2_teardown(struct sandbox__cgroups *cg)
{
	char *p = cg->mem_parent;

	if (sandbox__rmdir(&cg->mem_parent) < 0)
		log_warn("spawner: cannot remove cgroup '%s': %s", p, strerror(errno));
}

const struct sandbox__cgroup_ops sandbox__cgroup_v2_ops = {
	.version = 2,
	.setup = v2_setup,
	.create = v2_create,
	.set_limits = v2_set_limits,
	.set_cpu = v2_set_cpu,
	.attach = v2_attach,
	.oom_killed = v2_oom_killed,
	.kill = v2_kill,
	.freeze_fd = v2_freeze_fd,
	.remove = v2_remove,
	.teardown = v2_teardown,
};
