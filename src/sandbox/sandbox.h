/*
 * The sandbox: isolated process trees for function instances.
 *
 * sandbox_start() forks a small privileged spawner process at daemon start-up,
 * before the daemon grows (fork cost scales with the parent's page tables; from
 * a small process it is ~0.6 ms). The daemon talks to the spawner over one
 * SOCK_SEQPACKET socket: it sends spawn requests and receives events.
 * Everything here is non-blocking and loop-agnostic: the caller watches
 * sandbox_client.fd for readability (uv_poll in the daemon) and calls
 * sandbox_read_event() until it returns -EAGAIN.
 *
 * Each instance is: new user, mount, pid, ipc, uts and network namespaces; a
 * read-only root from the host's /usr (and the merged-usr symlinks), a minimal
 * /etc, the code read-only at /var/task, an optional runtime read-only at
 * /var/runtime, a tmpfs /tmp, /proc, a /dev with null, zero, full, random and
 * urandom; loopback up; its own cgroup with a memory and pids limit; and
 * hearth-init as PID 1, running as an unprivileged uid with no capabilities.
 *
 * This module knows nothing of HTTP, SQL or functions: it starts and ends
 * process trees. Not thread-safe; use from the loop thread only.
 */
#ifndef HEARTH_SANDBOX_H
#define HEARTH_SANDBOX_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/err.h"

struct sandbox_config {
	const char *state_dir;	/* daemon-private dir the sandbox may use (root skeleton, /etc) */
	const char *init_path;	/* host path of the hearth-init binary */
	bool allow_weaker_limits;	/* run even if a limit cannot be enforced (logged) */
	unsigned prestart;	/* pre-started runtimes kept per interpreter (stem.c); 0: none */
};

/* The limits an instance gets, as bits: what a host supports, what is enforced. */
enum {
	SANDBOX_LIMIT_MEMORY = 1 << 0,	/* the function's memory size */
	SANDBOX_LIMIT_SWAP = 1 << 1,	/* no swap beyond it (trivially so without host swap) */
	SANDBOX_LIMIT_PIDS = 1 << 2,	/* 1024 processes and threads */
	SANDBOX_LIMIT_CPU = 1 << 3,	/* CPU in proportion to memory */
	SANDBOX_LIMIT_ALL = (1 << 4) - 1,
};

/* What this host offers the sandbox; filled by sandbox_probe() from /proc and
 * /sys alone (no privilege, nothing created). For `hearth doctor`. */
struct sandbox_support {
	int cgroup_version;	/* 1 or 2 (the hierarchy holding memory); 0: none */
	unsigned limits;	/* SANDBOX_LIMIT_* the cgroups can enforce */
	bool host_swap;		/* the host has swap enabled */
	bool cgroup_kill;	/* v2 cgroup.kill (5.14+) */
	bool userns;		/* user namespaces enabled */
	bool seccomp;		/* seccomp filters available */
	char cpu_path[64], pids_path[64], mem_path[64];	/* where each controller lives */
};

void sandbox_probe(struct sandbox_support *s);
/* "memory", "swap", "pids", "cpu" for one SANDBOX_LIMIT_* bit. */
const char *sandbox_limit_name(unsigned bit);

/*
 * CPU in proportion to memory, as on Lambda: one full core at 1769 MB, so
 * 128 MB gets 7.2 % of a core and 10240 MB 5.8 cores. The quota is per
 * period (100 ms, the kernel's default); the relative weight (v1 cpu.shares,
 * v2 cpu.weight) splits a contended machine in the same proportion.
 */
#define SANDBOX_MB_PER_CPU 1769
#define SANDBOX_CPU_PERIOD_US 100000

struct sandbox_cpu {
	uint64_t period_us, quota_us;
	uint32_t shares;	/* v1: 1024 = one core's worth, 2..262144 */
	uint32_t weight;	/* v2: 100 = one core's worth, 1..10000 */
};

/* Pure: the CPU limits of an instance of mem_bytes. */
void sandbox_cpu_for_memory(uint64_t mem_bytes, struct sandbox_cpu *out);

/*
 * The init boost. An interpreter's start-up is CPU-bound: python3 needs
 * ~10 ms of CPU and node ~40 ms, which a 128 MB share (7.2 ms per 100 ms)
 * stretches to ~0.3 s and ~0.7 s of wall time. So, as Lambda does for its
 * init phase, an instance starts with at least one full core and a core's
 * weight, and gets its proportional limits once its runtime first asks for
 * work (sandbox_init_done()), or at the latest SANDBOX_INIT_BOOST_MS after
 * it was spawned (the daemon's init timeout), whichever comes first. The
 * spawner enforces that bound itself, so no daemon path can leave an
 * instance boosted.
 */
#define SANDBOX_INIT_BOOST_MS 10000

/* Pure: the limits during init, given the steady ones: never less. */
void sandbox_cpu_boost(const struct sandbox_cpu *steady, struct sandbox_cpu *out);

struct sandbox_client {
	int fd;			/* control socket to the spawner; watch for POLLIN */
	pid_t spawner_pid;
	int cgroup_version;	/* 1 or 2, as detected by the spawner */
};

struct sandbox_spec {
	uint64_t id;			/* unique per daemon run; names the cgroup */
	const char *code_dir;		/* host dir, bound read-only at /var/task */
	const char *runtime_dir;	/* host dir bound read-only at /var/runtime, or NULL */
	const char *const *argv;	/* runtime command run by hearth-init, NULL-terminated */
	const char *const *envp;	/* its environment, NULL-terminated */
	uint64_t mem_bytes;		/* memory limit of the whole instance */
	uint64_t tmp_bytes;		/* size of the /tmp tmpfs */
	uint32_t pids_max;
	int network;			/* SANDBOX_NET_NONE (default) or SANDBOX_NET_HOST */
};

/* Network of an instance. NONE: a network namespace of its own with only
 * loopback, taken from a pool the spawner keeps full. HOST: the machine's
 * network stack, for trusted functions only (docs/sandbox.md). */
enum {
	SANDBOX_NET_NONE = 0,
	SANDBOX_NET_HOST = 1,
};

enum sandbox_event_kind {
	SANDBOX_SPAWNED = 1,	/* hearth-init is running */
	SANDBOX_SPAWN_FAILED,	/* nothing was left behind */
	SANDBOX_EXITED,		/* hearth-init was reaped and the cgroup removed */
};

struct sandbox_event {
	enum sandbox_event_kind kind;
	uint64_t id;
	pid_t pid;		/* SPAWNED: hearth-init's pid in the daemon's pid namespace */
	int relay_fd;		/* SPAWNED: the daemon's end of the relay socket; caller owns it */
	int pidfd;		/* SPAWNED: pidfd of hearth-init; caller owns it */
	int cgroup_fd;		/* SPAWNED: O_PATH|O_DIRECTORY fd of the memory cgroup; caller owns it */
	int freeze_fd;		/* SPAWNED: for sandbox_freeze(), or -1 (no freezer); caller owns it */
	int wait_status;	/* EXITED: as from waitpid() */
	int oom_killed;		/* EXITED: the kernel's OOM killer struck inside the instance */
	struct err err;		/* SPAWN_FAILED: which step failed and why */
};

/* Forks the spawner. Call before creating threads or large allocations.
 * Returns 0 or a negative errno with err filled (e.g. no cgroup controller). */
int sandbox_start(const struct sandbox_config *cfg, struct sandbox_client *sc, struct err *err);

/* Queues a spawn; the outcome arrives later as SPAWNED or SPAWN_FAILED with the
 * same id. Borrows spec (it is serialised before return). */
int sandbox_spawn(struct sandbox_client *sc, const struct sandbox_spec *spec, struct err *err);
/* The instance's runtime has finished its init: end its init boost (see
 * SANDBOX_INIT_BOOST_MS). Asynchronous; 0 or -errno if it cannot be sent (the
 * spawner then ends the boost at its deadline). */
int sandbox_init_done(struct sandbox_client *sc, uint64_t id);

/* Reads one event. Returns 0 with *ev filled, -EAGAIN when none is pending,
 * -EPIPE when the spawner is gone (fatal for the daemon). */
int sandbox_read_event(struct sandbox_client *sc, struct sandbox_event *ev);

/* Ends an instance: SIGKILL to hearth-init through its pidfd (the pid namespace
 * takes every other process with it). EXITED follows. Idempotent. */
int sandbox_kill(int pidfd);

/*
 * Freezes or thaws every process of an instance (v1 freezer.state, v2
 * cgroup.freeze) through freeze_fd from SPAWNED: one write, no path lookup.
 * Freezing returns at once, the kernel finishing it in the background (v1
 * shows FREEZING meanwhile); a frozen instance uses no CPU. Thawing must come
 * before sandbox_kill(): a task in the v1 freezer does not die until thawed.
 * -ENOTSUP when freeze_fd is -1.
 */
int sandbox_freeze(const struct sandbox_client *sc, int freeze_fd, bool frozen);

/* Memory accounting read through the cgroup fd from SPAWNED. */
int sandbox_mem_peak(int cgroup_fd, uint64_t *bytes);
int sandbox_mem_current(int cgroup_fd, uint64_t *bytes);
/* The peak file opened once, for a reader on a hot path: sandbox_mem_peak()
 * costs an open and a close per read, this a single pread. Returns a new fd
 * (the caller closes it) or -errno. */
int sandbox_mem_peak_open(int cgroup_fd);
int sandbox_mem_peak_read(int peak_fd, uint64_t *bytes);

/* Asks the spawner to kill every instance, remove every cgroup and exit, and
 * waits for it (bounded). Closes sc->fd. */
void sandbox_stop(struct sandbox_client *sc);

#endif
