/*
 * The spawner's state, shared by spawner.c (the loop, the pools, spawning,
 * reaping) and spawner-stem.c (when pre-started runtimes are made, taken and
 * lost). Nothing outside those two files may use it; the rest of the sandbox
 * module sees internal.h only.
 */
#ifndef HEARTH_SANDBOX_SPAWNER_H
#define HEARTH_SANDBOX_SPAWNER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sandbox/internal.h"

/* User namespaces (one per live instance) kept at most. Beyond this many
 * instances at once, slots are shared round-robin: pid, mount and network
 * namespaces still keep those instances apart. */
#define USERNS_SLOTS 256
/* Ready, unused slots the spawner keeps made ahead of need. */
#define USERNS_SPARE 4

/* Network namespaces made ahead of need. A burst larger than this makes the
 * rest on the spot (~0.5 ms each); the pool refills while the spawner idles. */
#define NETNS_POOL 8
/* Seeds (seed.c) kept ready on cgroup v1: a burst larger than this takes
 * the direct path (clone, then move the child into its cgroups) for the
 * rest. Each is a sleeping fork of the spawner and four empty cgroups. */
#define SEED_POOL 4

struct instance {
	struct instance *next;
	uint64_t id;
	pid_t pid;
	bool dead;		/* reaped; the cgroup removal may still be pending */
	int wait_status;
	int oom_killed;
	uint64_t dead_since_ms;
	int slot;		/* user namespace slot (host id HOST_ID_BASE + slot) */
	uint64_t mem_bytes;
	/* Still on the init boost's CPU limits until this (sandbox.h:
	 * SANDBOX_INIT_BOOST_MS); 0 once the steady limits are written. */
	uint64_t boost_until_ms;
	bool stem;		/* a pre-started runtime no spawn took yet (stem.c) */
	struct sandbox__cgroup_inst cg;
};

struct spawner {
	int ctl_fd;
	int sig_fd;
	int cap_last;
	int userns[USERNS_SLOTS];	/* per slot: a user namespace fd, or -1 until made */
	uint16_t users[USERNS_SLOTS];	/* live instances per slot */
	size_t n_userns;		/* slots made: 0..n_userns-1 */
	size_t next_shared;		/* round-robin when every slot is busy */
	struct sandbox__seccomp seccomp;	/* compiled once at start-up */
	int host_netns_fd;	/* the spawner's own network namespace */
	int netns[NETNS_POOL];	/* ready network namespaces, loopback up */
	size_t n_netns;
	bool stopping;
	struct sandbox__cgroups cg;
	struct sandbox__rootfs rf;
	struct instance *instances;
	char *rbuf;		/* one received control message */
	size_t rlen;		/* its length */
	struct sandbox__seed seeds[SEED_POOL];	/* pid 0: an empty slot */
	uint64_t seed_seq;	/* names the seeds' cgroups "s<seq>" */
	bool seeds_off;		/* v2, or a seed failed: the direct path only */
	struct sandbox__stems stems;	/* pre-started runtimes (stem.c) */
	int home_mnt_fd, home_cwd_fd;	/* where stem mounts come back to */
};

struct instance *sandbox__find_instance(struct spawner *sp, uint64_t id);
/* One spawn of m, start to exec: on success the instance is on sp->instances
 * and fds[] holds the relay end, the pidfd, the memory cgroup's O_PATH fd and
 * the freeze fd (or -1), the caller's to send or keep. req/len is m as
 * encoded, for a seed to decode. */
int sandbox__spawn(struct spawner *sp, const struct sandbox__msg *m, const void *req, size_t len,
		   int fds[4], pid_t *pid_out, struct err *err);

/* spawner-stem.c */
/* Serves spawn m with a stem when one fits: 1 with fds and *pid filled, 0 when
 * the ordinary path must run. */
int sandbox__stem_take(struct spawner *sp, const struct sandbox__msg *m, int fds[4], pid_t *pid);
/* Starts one missing stem; returns whether more are missing. */
bool sandbox__stems_refill(struct spawner *sp);
bool sandbox__stems_short(const struct spawner *sp);
/* A stem died before any spawn took it. */
void sandbox__stem_dead(struct spawner *sp, const struct instance *inst);

#endif
