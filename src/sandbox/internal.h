/*
 * What the files of the sandbox module share and nothing outside it may use:
 * the control protocol between client.c (daemon) and spawner.c, the cgroup
 * backends behind one ops struct, the rootfs plan mount.c builds in the
 * spawner and child.c carries out between clone and exec.
 */
#ifndef HEARTH_SANDBOX_INTERNAL_H
#define HEARTH_SANDBOX_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/filter.h>

#include "lib/buf.h"
#include "lib/err.h"
#include "sandbox/sandbox.h"

/*
 * Control protocol. One SOCK_SEQPACKET record is one message:
 *     u32 type, u32 reserved (0), u64 id,
 *     then fields, each: u32 tag, u32 len, len bytes.
 * Numbers are native-endian (both ends are the same binary on the same host);
 * strings carry their NUL so the spawner can use them in place as C strings.
 * The decoder copies nothing and rejects unknown tags, repeated scalars,
 * strings without their NUL or with one inside, and records over the cap.
 */
#define SANDBOX__MSG_MAX (64u * 1024)
#define SANDBOX__MAX_ARGS 256
#define SANDBOX__MAX_ENV 1024

enum sandbox__msg_type {
	/* spawner -> daemon */
	SANDBOX__MSG_READY = 1,		/* CGROUP_VERSION: set-up done */
	SANDBOX__MSG_START_FAILED,	/* ERR_CODE, ERR_MSG: the spawner gives up */
	SANDBOX__MSG_SPAWNED,		/* PID; fds relay, pidfd, cgroup[, freeze] as SCM_RIGHTS */
	SANDBOX__MSG_SPAWN_FAILED,	/* ERR_CODE, ERR_MSG */
	SANDBOX__MSG_EXITED,		/* WAIT_STATUS, OOM_KILLED */
	/* daemon -> spawner */
	SANDBOX__MSG_SPAWN = 16,	/* CODE_DIR, [RUNTIME_DIR], ARG*, ENV*, MEM, TMP, PIDS */
	SANDBOX__MSG_STOP,
	SANDBOX__MSG_INIT_DONE,		/* the instance's runtime is ready: end its init boost */
	SANDBOX__MSG_TYPE_MAX
};

enum sandbox__tag {
	SANDBOX__T_CODE_DIR = 1,
	SANDBOX__T_RUNTIME_DIR,
	SANDBOX__T_ARG,			/* repeated, in order */
	SANDBOX__T_ENV,			/* repeated, in order */
	SANDBOX__T_MEM_BYTES,		/* u64 */
	SANDBOX__T_TMP_BYTES,		/* u64 */
	SANDBOX__T_PIDS_MAX,		/* u32 */
	SANDBOX__T_PID,			/* i32 */
	SANDBOX__T_WAIT_STATUS,		/* i32 */
	SANDBOX__T_OOM_KILLED,		/* i32 */
	SANDBOX__T_ERR_CODE,		/* i32 */
	SANDBOX__T_ERR_MSG,
	SANDBOX__T_CGROUP_VERSION,	/* i32 */
	SANDBOX__T_NETWORK,		/* u32: SANDBOX_NET_* */
	SANDBOX__T_MAX
};

/* A decoded (or to-be-encoded) message. Strings are NULL when absent; after
 * decoding they point into the caller's buffer. */
struct sandbox__msg {
	uint32_t type;
	uint64_t id;
	const char *code_dir;
	const char *runtime_dir;
	const char *argv[SANDBOX__MAX_ARGS + 1];	/* NULL-terminated */
	size_t argc;
	const char *envp[SANDBOX__MAX_ENV + 1];		/* NULL-terminated */
	size_t envc;
	uint64_t mem_bytes;
	uint64_t tmp_bytes;
	uint32_t pids_max;
	int32_t pid;
	int32_t wait_status;
	int32_t oom_killed;
	int32_t err_code;
	const char *err_msg;
	int32_t cgroup_version;
	uint32_t network;
};

void sandbox__msg_init(struct sandbox__msg *m, uint32_t type, uint64_t id);
/* Appends the encoded message to out. -E2BIG if it would exceed SANDBOX__MSG_MAX
 * (out is then left as it was). */
int sandbox__msg_encode(const struct sandbox__msg *m, struct buf *out);
/* Returns 0, -EBADMSG for malformed input, -E2BIG for too many args/env. */
int sandbox__msg_decode(const void *data, size_t len, struct sandbox__msg *m);
const char *sandbox__msg_type_name(uint32_t type);

/* The spawner's entry point, run in the process sandbox_start() forks;
 * ctl_fd is its end of the control socket. Returns the exit code. */
int sandbox__spawner_main(const struct sandbox_config *cfg, int ctl_fd);

/*
 * Cgroups. One backend per hierarchy kind, chosen once at spawner start-up.
 * Each spawner owns a parent "hearth-<spawnerpid>" and makes one "i<id>"
 * beneath it per instance.
 */
struct sandbox__cgroups;

struct sandbox__cgroup_inst {
	char *mem_path;		/* instance dir in the memory hierarchy (the only one on v2) */
	char *pids_path;	/* v1: instance dir in the pids hierarchy; NULL on v2 */
	char *cpu_path;		/* v1: instance dir in the cpu hierarchy; NULL on v2 */
	char *freezer_path;	/* v1: instance dir in the freezer hierarchy; NULL on v2 */
	int clone_fd;		/* v2: O_DIRECTORY fd for CLONE_INTO_CGROUP; -1 on v1 */
};

struct sandbox__cgroup_ops {
	int version;
	/* Creates the spawner's parent cgroup(s). */
	int (*setup)(struct sandbox__cgroups *cg, struct err *err);
	/* Creates the instance cgroup(s) and writes the limits, the CPU ones
	 * boosted for init (sandbox_cpu_boost()). */
	int (*create)(struct sandbox__cgroups *cg, struct sandbox__cgroup_inst *ci, uint64_t id,
		      uint64_t mem_bytes, uint32_t pids_max, struct err *err);
	/* Seeds (seed.c); NULL where the backend needs none (v2 clones
	 * straight into a cgroup). pool_create makes function-independent
	 * cgroups "s<seq>" without limits; claim renames them to the instance's
	 * "i<id>" and writes create()'s limits. */
	int (*pool_create)(struct sandbox__cgroups *cg, struct sandbox__cgroup_inst *ci,
			   uint64_t seq, struct err *err);
	int (*claim)(struct sandbox__cgroups *cg, struct sandbox__cgroup_inst *ci, uint64_t id,
		     uint64_t mem_bytes, uint32_t pids_max, struct err *err);
	/* Rewrites the memory and pids limits of a live instance, and its CPU
	 * ones boosted for init, as create() writes them (stem.c: a pre-started
	 * runtime taking on a function). Fails (EBUSY) where the instance
	 * already uses more than the new memory limit. */
	int (*set_limits)(struct sandbox__cgroups *cg, struct sandbox__cgroup_inst *ci,
			  uint64_t mem_bytes, uint32_t pids_max, struct err *err);
	/* Writes the CPU limits (no-op without the cpu controller). */
	int (*set_cpu)(const struct sandbox__cgroups *cg, const struct sandbox__cgroup_inst *ci,
		       const struct sandbox_cpu *cpu, struct err *err);
	/* Moves pid in (v1); nothing on v2, where clone3 put it there. */
	int (*attach)(struct sandbox__cgroup_inst *ci, pid_t pid, struct err *err);
	/* 1 if the OOM killer struck inside, 0 if not (or unknown). */
	int (*oom_killed)(const struct sandbox__cgroup_inst *ci);
	/* SIGKILLs whatever is still inside, thawing it first: a task frozen by
	 * the v1 freezer does not die until it is thawed. */
	void (*kill)(const struct sandbox__cgroup_inst *ci);
	/* An O_WRONLY fd of the file that freezes and thaws the instance (v1
	 * freezer.state, v2 cgroup.freeze), or -errno (-ENOTSUP: no freezer). */
	int (*freeze_fd)(const struct sandbox__cgroup_inst *ci);
	/* Removes the instance cgroup(s): 0, -EBUSY while tasks remain, other -errno.
	 * Idempotent: what is gone stays gone. */
	int (*remove)(struct sandbox__cgroup_inst *ci);
	/* Removes the parent(s); best effort, logs what it cannot remove. */
	void (*teardown)(struct sandbox__cgroups *cg);
};

struct sandbox__cgroups {
	const struct sandbox__cgroup_ops *ops;
	char *mem_parent;	/* the parent in the memory hierarchy (the only one on v2) */
	char *pids_parent;	/* v1 only; NULL without a pids controller */
	char *cpu_parent;	/* v1 only; NULL without a cpu controller */
	char *freezer_parent;	/* v1 only; NULL without a freezer controller */
	unsigned limits;	/* SANDBOX_LIMIT_* that setup() found enforceable */
};

extern const struct sandbox__cgroup_ops sandbox__cgroup_v1_ops;
extern const struct sandbox__cgroup_ops sandbox__cgroup_v2_ops;

/* Picks the backend (v2 if /sys/fs/cgroup lists memory, else v1) and creates
 * the parent cgroup(s). A limit the host cannot enforce is an error unless
 * allow_weaker, when it is logged and left out. */
int sandbox__cgroup_init(struct sandbox__cgroups *cg, bool allow_weaker, struct err *err);
void sandbox__cgroup_release(struct sandbox__cgroups *cg);
void sandbox__cgroup_inst_init(struct sandbox__cgroup_inst *ci);
/* Frees the paths and fd; does not remove anything. */
void sandbox__cgroup_inst_release(struct sandbox__cgroup_inst *ci);

/* An instance's cgroup name: "i<id>", or "z<n>" for a pre-started runtime
 * (stem.c), which keeps it once a function has it (v2 cannot rename a cgroup). */
#define SANDBOX__CGROUP_NAME_MAX 24
void sandbox__cgroup_inst_name(uint64_t id, char name[SANDBOX__CGROUP_NAME_MAX]);

/* Helpers shared by the backends. path/name are joined with '/'. */
int sandbox__write_file(const char *dir, const char *name, const char *value);
int sandbox__read_file(const char *dir, const char *name, char *out, size_t size);
/* Finds this process's cgroup path for a v1 controller ("memory") or, with
 * controller NULL, the v2 path ("0::"). Returns a malloc'd path like "/a/b". */
int sandbox__own_cgroup(const char *controller, char **path);
void sandbox__kill_procs(const char *dir);
/* Removes "hearth-<pid>" cgroups under base whose spawner no longer exists. */
void sandbox__cgroup_sweep(const char *base);
int sandbox__rmdir(char **path);
/* Whether dir's cgroup.controllers (v2) lists controller. */
bool sandbox__v2_has(const char *dir, const char *controller);
/* SANDBOX_LIMIT_* bits named in $HEARTH_TEST_HIDE_LIMITS (tests only). */
unsigned sandbox__limits_hidden(void);
/* Whether path is a cgroup v1 hierarchy's mount. */
bool sandbox__v1_mounted(const char *path);
/* Whether the host has swap enabled (SwapTotal in /proc/meminfo). */
bool sandbox__host_swap(void);

/*
 * The steps of the child between clone and exec, in order. Each has its own
 * code so that a failure names the step that failed.
 */
enum sandbox__step {
	SANDBOX__STEP_FDS_EARLY,
	SANDBOX__STEP_SYNC,
	SANDBOX__STEP_JOIN_USERNS,
	SANDBOX__STEP_JOIN_NETNS,
	SANDBOX__STEP_MOUNT_PRIVATE,
	SANDBOX__STEP_MOUNT_ROOT,
	SANDBOX__STEP_CHDIR_ROOT,
	SANDBOX__STEP_MKDIR,
	SANDBOX__STEP_SYMLINK,
	SANDBOX__STEP_BIND_USR,
	SANDBOX__STEP_BIND_LIB,
	SANDBOX__STEP_BIND_ETC,
	SANDBOX__STEP_BIND_ETC_FILE,
	SANDBOX__STEP_BIND_CODE,
	SANDBOX__STEP_BIND_RUNTIME,
	SANDBOX__STEP_BIND_INIT,
	SANDBOX__STEP_MOUNT_DEV,
	SANDBOX__STEP_BIND_DEV,
	SANDBOX__STEP_MOUNT_TMP,
	SANDBOX__STEP_REMOUNT_RO,
	SANDBOX__STEP_MOUNT_PROC,
	SANDBOX__STEP_MASK_PROC,
	SANDBOX__STEP_REMOUNT_ROOT,
	SANDBOX__STEP_PIVOT_ROOT,
	SANDBOX__STEP_UMOUNT_OLD,
	SANDBOX__STEP_LOOPBACK,
	SANDBOX__STEP_HOSTNAME,
	SANDBOX__STEP_CAPBSET,
	SANDBOX__STEP_AMBIENT,
	SANDBOX__STEP_RLIMIT,
	SANDBOX__STEP_FDS,
	SANDBOX__STEP_SETGROUPS,
	SANDBOX__STEP_SETGID,
	SANDBOX__STEP_SETUID,
	SANDBOX__STEP_NO_NEW_PRIVS,
	SANDBOX__STEP_SECCOMP,
	SANDBOX__STEP_EXEC,
	SANDBOX__STEP_MAX
};

const char *sandbox__step_name(int step);

/*
 * What the child hides or freezes under its fresh /proc (child.c), the list
 * runc's default spec uses: kernel memory, keys, timers and scheduler
 * internals are masked; the sysctl tree, sysrq and bus/irq/fs knobs are
 * read-only. A path this kernel does not have is skipped.
 */
enum sandbox__proc_rule_kind {
	SANDBOX__PROC_MASK_FILE,	/* /dev/null bound over it */
	SANDBOX__PROC_MASK_DIR,		/* an empty read-only tmpfs over it */
	SANDBOX__PROC_READ_ONLY,	/* bound on itself read-only */
};

struct sandbox__proc_rule {
	const char *path;	/* relative to the new root: "proc/kcore" */
	enum sandbox__proc_rule_kind kind;
};

extern const struct sandbox__proc_rule sandbox__proc_rules[];
extern const size_t sandbox__n_proc_rules;

/* What the child writes to the error pipe before _exit(127). */
struct sandbox__child_error {
	int32_t step;
	int32_t err;	/* positive errno */
	int32_t index;	/* the mount plan entry, or -1 */
};

enum sandbox__mount_kind {
	SANDBOX__MNT_DIR,	/* mkdir dst in the new root */
	SANDBOX__MNT_SYMLINK,	/* symlink src at dst */
	SANDBOX__MNT_BIND,	/* bind host src on dst, remount read-only later */
	SANDBOX__MNT_TMPFS,	/* tmpfs on dst with data as options */
};

/* One entry of the rootfs plan. Paths were built by the spawner; dst is
 * relative to the new root (the child's cwd while it builds it). */
struct sandbox__mount {
	enum sandbox__mount_kind kind;
	int step;		/* reported on failure */
	const char *src;
	const char *dst;
	const char *data;	/* tmpfs options */
	unsigned long flags;	/* tmpfs: mount flags; bind: flags added at the ro remount */
	bool mkpoint_file;	/* bind: create an empty file as the mount point */
	bool mkpoint_dir;	/* bind/tmpfs: create the directory mount point */
	bool ro;		/* remount read-only once everything is mounted */
};

#define SANDBOX__MAX_MOUNTS 48

/* A prepared set of mounts: the skeleton's (once per spawner) or one spawn's.
 * Owns the strings it points to. */
struct sandbox__plan {
	const char *root_dir;	/* borrowed from struct sandbox__rootfs */
	struct sandbox__mount m[SANDBOX__MAX_MOUNTS];
	size_t n;
	char *owned[SANDBOX__MAX_MOUNTS];	/* strings to free */
	size_t n_owned;
};

/* Per-spawner rootfs state, prepared once at start-up. */
struct sandbox__rootfs {
	char *root_dir;		/* state_dir/root: the mount point of every instance's root */
	char *etc_dir;		/* state_dir/etc: the minimal /etc */
	char *init_path;
	bool etc_ld_cache, etc_localtime, etc_certs;	/* which host files get bound */
	struct {
		char name[8];
		char target[64];	/* symlink target, or "" to bind the host dir */
	} toplinks[6];
	size_t n_toplinks;
};

int sandbox__rootfs_prepare(struct sandbox__rootfs *rf, const struct sandbox_config *cfg,
			    struct err *err);
void sandbox__rootfs_release(struct sandbox__rootfs *rf);
/* Moves the calling process (the spawner, at start-up) into a mount namespace
 * of its own, slave to the host's, and mounts there the skeleton on
 * rf->root_dir: a read-only tmpfs with the merged-usr links and every mount
 * point, /usr, /etc (and the host files in it) and /init bound read-only, a
 * read-only /dev of five nodes; all of it private. Every sandbox cloned from
 * this process (or a fork of it) starts with a copy. Changes the cwd only
 * for the call. */
int sandbox__skeleton_mount(const struct sandbox__rootfs *rf, struct err *err);
/* The skeleton's plan, in mount order (sandbox__skeleton_mount() applies it;
 * tests read it). Release with sandbox__plan_release(). */
int sandbox__skeleton_plan_build(struct sandbox__plan *p, const struct sandbox__rootfs *rf);
/* Builds the mount plan of one instance, in mount order: only what depends
 * on the function (code, runtime, /tmp), mounted on the skeleton's mount
 * points. /proc and its masks are the child's own (child.c). code_dir NULL
 * leaves var/task an empty mount point (stem.c). */
int sandbox__plan_build(struct sandbox__plan *p, const struct sandbox__rootfs *rf,
			const char *code_dir, const char *runtime_dir, uint64_t tmp_bytes,
			struct err *err);
void sandbox__plan_release(struct sandbox__plan *p);
/* Carries out a plan under the cwd: every entry in order, then the read-only
 * remounts. Async-signal-safe (the sandbox child runs it). Returns 0, or
 * -errno with ce naming the step and plan entry that failed. */
int sandbox__plan_apply(const struct sandbox__plan *p, struct sandbox__child_error *ce);
/* Renders a failed child step as "cannot ...: strerror (step name)". */
int sandbox__child_error_set(struct err *err, const struct sandbox__child_error *ce,
			     const struct sandbox__plan *p);

/*
 * The seccomp allow-list (seccomp.c), compiled once per spawner. The child
 * loads a program with prctl(PR_SET_SECCOMP), which needs no allocation:
 * `prog` (the policy) when the spawner cloned it, `tail` when a seed that had
 * loaded `seed` did; seed + tail decide every call as prog does.
 */
struct sandbox__seccomp {
	struct sock_fprog prog;	/* the policy */
	struct sock_fprog seed;	/* the policy plus the calls of a seed and of set-up */
	struct sock_fprog tail;	/* those calls denied as the policy does; all else allowed */
};

int sandbox__seccomp_build(struct sandbox__seccomp *sc, struct err *err);
void sandbox__seccomp_release(struct sandbox__seccomp *sc);
/* One program (0 policy, 1 seed, 2 tail), as a binary tree or libseccomp's
 * linear list: for tests that compare them. Free prog->filter. */
int sandbox__seccomp_build_one(struct sock_fprog *prog, int which, bool tree,
			       struct err *err);

/* Everything the child needs, prepared before clone. */
struct sandbox__child {
	int sync_fd;	/* read end: one byte once the cgroups are joined; -1: born in them */
	int userns_fd;	/* the sandboxes' user namespace, joined last */
	int netns_fd;	/* a pooled network namespace to join, or -1: stay in the host's */
	int err_fd;	/* write end, O_CLOEXEC: EOF at exec means success */
	int relay_fd;	/* becomes fd 3 */
	const char *root_dir;
	const struct sandbox__plan *plan;
	int cap_last;
	const struct sock_fprog *seccomp;	/* loaded last before execve (prog or tail) */
	char *const *argv;
	char *const *envp;
};

/* Brings up "lo" in the calling thread's network namespace. Async-signal-safe. */
int sandbox__loopback_up(void);

/* Runs in the cloned child: async-signal-safe only. Never returns. */
NORETURN void sandbox__child_run(const struct sandbox__child *c);

/*
 * Seeds (seed.c), on cgroup v1 only: a seed is a fork of the spawner that
 * sits, already moved into a pooled set of instance cgroups, until it is
 * handed one spawn request; it then clones the sandbox child with
 * CLONE_PARENT (so the spawner is its parent and reaps it), replies with its
 * pid and exits once the child has exec'd. The child inherits the cgroups: no
 * cgroup.procs write, and so no wait on cgroup_threadgroup_rwsem, on the
 * spawn's path. It also shares the seed's memory (CLONE_VM) and the mount,
 * IPC, UTS and network namespaces the seed made for it, and inherits the
 * seed's seccomp filter (sandbox__seccomp.seed).
 */
struct sandbox__seed {
	pid_t pid;		/* 0: empty slot */
	int pidfd;
	int sock;		/* SOCK_SEQPACKET to the seed */
	bool ready;		/* it reported being in its cgroups */
	struct sandbox__cgroup_inst ci;
};

/* What a seed needs of the spawner, borrowed (the seed has its own copy). */
struct sandbox__seed_env {
	struct sandbox__cgroups *cg;
	const struct sandbox__rootfs *rf;
	const struct sandbox__seccomp *seccomp;
	int cap_last;
};

/* Makes the seed's cgroups and forks it; it moves itself in and then reports
 * ready. On failure nothing is left. */
int sandbox__seed_start(struct sandbox__seed *s, const struct sandbox__seed_env *env,
			uint64_t seq, struct err *err);
/* Whether the seed has reported ready (does not block). false also when it
 * failed; it is then ended (s->pid stays set until sandbox__seed_end()). */
bool sandbox__seed_ready(struct sandbox__seed *s);
/* Hands the seed one spawn request: req/len is the request as the daemon sent
 * it, fds[] the relay child end, the error pipe's write end, the user
 * namespace and (nfds 4) a network namespace to join instead of the seed's
 * own (the host's, for network "host"). Returns 0 and the
 * child's pid, or -errno with err set. In both cases the seed is used up:
 * the caller takes s->ci (renamed by its claim) and calls sandbox__seed_end(). */
int sandbox__seed_spawn(struct sandbox__seed *s, const void *req, size_t len, const int *fds,
			size_t nfds, pid_t *pid, struct err *err);
/* With wait, kills the seed and waits for it (failure and shutdown paths);
 * without, only lets go of it, for a seed that answered a request and exits
 * on its own (the spawner's waitpid(-1) reaps it). Closes its fds either way.
 * The cgroups in s->ci are the caller's to remove (or keep, once claimed). */
void sandbox__seed_end(struct sandbox__seed *s, bool wait);

/*
 * Pre-started runtimes (stem.c). A class is one way of starting an
 * interpreter (runtime dir, command, start-up environment), learnt from the
 * first spawn that uses it; the spawner keeps up to `want` stems of each.
 * A stem is an instance of the spawner's with no function yet, whose fds
 * the spawner holds until a spawn takes it.
 */
#define SANDBOX__STEM_CLASSES 4
#define SANDBOX__STEMS_MAX 4
/* Stems' instance ids, out of the daemon's way (its ids count up from 1). */
#define SANDBOX__STEM_ID_BASE (UINT64_C(1) << 62)
/* A stem's limits until it has a function: the least a function may have,
 * and a /tmp nothing writes to. */
#define SANDBOX__STEM_MEM_BYTES (UINT64_C(128) << 20)
#define SANDBOX__STEM_TMP_BYTES (UINT64_C(1) << 20)
/* Stems of a class that die or fail before use, in a row, before the class
 * is given up: its runtime does not work as a stem. */
#define SANDBOX__STEM_MAX_FAILURES 3
/* A class no spawn asked for in this long gives its place to a new kind
 * when the table is full: otherwise the first kinds seen (one tenant's
 * start-up variables) would hold every place until a restart. */
#define SANDBOX__STEM_CLASS_IDLE_MS (UINT64_C(60) * 1000)

struct sandbox__stem {
	uint64_t id;		/* the spawner's instance id; 0: empty slot */
	pid_t pid;
	int fds[4];		/* relay, pidfd, memory cgroup, freeze (or -1): as spawned */
};

struct sandbox__stem_class {
	struct buf key;		/* sandbox__stem_key() */
	char *runtime_dir;
	char **argv, **envp;	/* NULL-terminated; what its stems are started with */
	size_t argc, envc;
	struct sandbox__stem stems[SANDBOX__STEMS_MAX];
	unsigned failures;	/* in a row; at SANDBOX__STEM_MAX_FAILURES no more stems */
	uint64_t used_ms;	/* the last spawn of this kind (monotonic) */
};

struct sandbox__stems {
	unsigned want;		/* stems per class; 0: none */
	struct sandbox__stem_class cls[SANDBOX__STEM_CLASSES];
	size_t ncls;
	uint64_t seq;		/* numbers the stems' ids */
	uint64_t idle_ms;	/* SANDBOX__STEM_CLASS_IDLE_MS, but in tests */
};

/* Whether "K=V" is read while an interpreter starts (see stem.c). Pure. */
bool sandbox__stem_startup_var(const char *kv);
/* The class key of a spawn request into key; -1 when no stem can serve it
 * (no runtime dir, host network, no code). Pure. */
int sandbox__stem_key(const struct sandbox__msg *m, struct buf *key);
struct sandbox__stem_class *sandbox__stems_find(struct sandbox__stems *st, const struct buf *key);
/* A new class from a request; NULL when the table is full. */
struct sandbox__stem_class *sandbox__stems_add(struct sandbox__stems *st,
					       const struct sandbox__msg *m, const struct buf *key);
void sandbox__stems_release(struct sandbox__stems *st);
/* The class to give up for a new kind when the table is full: the one
 * unused longest, if unused for st->idle_ms; -1 if none. Pure. */
int sandbox__stems_victim(const struct sandbox__stems *st, uint64_t now_ms);
/* Frees class i (closing its stems' fds; the caller kills their processes)
 * and moves the last class into its place. */
void sandbox__stems_remove(struct sandbox__stems *st, size_t i);
/* Closes a stem slot's fds and empties it (the instance is the caller's). */
void sandbox__stem_forget(struct sandbox__stem *s);
/* Mounts code_dir read-only on the stem's /var/task and sizes its /tmp, from
 * inside its mount namespace (entered through pidfd), then returns to
 * home_mnt_fd and home_cwd_fd. */
int sandbox__stem_mount(int pidfd, const char *code_dir, uint64_t tmp_bytes, int home_mnt_fd,
			int home_cwd_fd, struct err *err);
/* Sends hearth-init the function's environment (RELAY_ASSIGN); fails when the
 * stem already wrote something to its relay. */
int sandbox__stem_assign(int relay_fd, const char *const *envp, struct err *err);

/* The ids inside the sandbox. */
#define SANDBOX__SBX_UID 993
#define SANDBOX__SBX_GID 993

#endif
