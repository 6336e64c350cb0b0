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
		if (de->d_name[0] != 'i' || de->d_type != DT_DIR)
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
	ci->clone_fd = -1;
}

void
sandbox__cgroup_inst_release(struct sandbox__cgroup_inst *ci)
{
	free(ci->mem_path);
	free(ci->pids_path);
	if (ci->clone_fd >= 0)
		close(ci->clone_fd);
	sandbox__cgroup_inst_init(ci);
}

static bool
v2_has_memory(void)
{
	char buf[512], *tok, *save = NULL;

	if (sandbox__read_file("/sys/fs/cgroup", "cgroup.controllers", buf, sizeof(buf)) < 0)
		return false;
	for (tok = strtok_r(buf, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
		if (strcmp(tok, "memory") == 0)
			return true;
	return false;
}

static bool
is_v1_mount(const char *path)
{
	struct statfs sfs;

	return statfs(path, &sfs) == 0 && sfs.f_type == CGROUP_SUPER_MAGIC;
}

int
sandbox__cgroup_init(struct sandbox__cgroups *cg, struct err *err)
{
	cg->mem_parent = NULL;
	cg->pids_parent = NULL;
	if (v2_has_memory())
		cg->ops = &sandbox__cgroup_v2_ops;
	else if (is_v1_mount("/sys/fs/cgroup/memory"))
		cg->ops = &sandbox__cgroup_v1_ops;
	else
		return err_setmsg(err, ENOTSUP,
				  "no usable cgroup memory controller: "
				  "/sys/fs/cgroup/cgroup.controllers does not list memory and "
				  "/sys/fs/cgroup/memory is not a cgroup v1 mount");
	return cg->ops->setup(cg, err);
}

void
sandbox__cgroup_release(struct sandbox__cgroups *cg)
{
	if (cg->ops)
		cg->ops->teardown(cg);
	free(cg->mem_parent);
	free(cg->pids_parent);
	cg->mem_parent = NULL;
	cg->pids_parent = NULL;
}
