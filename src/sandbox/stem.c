/*
 * Pre-started runtimes ("stems"): interpreter start-up taken off the cold
 * start.
 *
 * Starting python3 costs ~10 ms of CPU here and node ~45 ms, against ~1.5 ms
 * for the sandbox itself. So for each interpreted runtime the spawner keeps a
 * stem: a complete sandbox, built by the ordinary spawn path (namespaces,
 * read-only root, cgroups, its own uid, no capabilities, seccomp, hearth-init
 * as PID 1), whose runtime has started and loaded its bootstrap but has no
 * function: /var/task is an empty mount point and the runtime blocks on a
 * socket hearth-init gave it. A cold start of that runtime then takes a
 * stem instead of building a sandbox: the spawner writes the function's
 * limits into the stem's cgroups, mounts its code read-only on /var/task and
 * sizes /tmp from outside (entering the stem's mount namespace through
 * hearth-init's pidfd, and leaving it at once), sends hearth-init the
 * function's environment (RELAY_ASSIGN), and only then hands the daemon the
 * relay. The runtime replaces its whole environment with the function's and
 * goes on exactly as a runtime started for the function: import the handler,
 * ask for work.
 *
 * Why not a fork-based zygote: a forked interpreter must setns() into each
 * new instance's namespaces, so it has to hold CAP_SYS_ADMIN until the fork,
 * and every instance would share its address-space layout and hash secret;
 * Node.js has neither fork() nor setns() in its standard library. A stem
 * holds no privilege at any moment, shares nothing with any other instance,
 * and works the same for every runtime. docs/sandbox.md has the argument.
 *
 * A stem serves a spawn only when the spawn would have started the very same
 * interpreter the same way: same runtime directory, same command, same
 * values of every environment variable an interpreter or the C library
 * reads while starting (stem_startup_var()); the rest of the environment is
 * read after the assignment. Everything else takes the ordinary path.
 *
 * This file holds the pure parts (the class key), the class table, and the
 * two steps done from outside (mounts, assignment); spawner-stem.c decides when
 * stems are made and taken.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/log.h"
#include "lib/relay.h"
#include "sandbox/internal.h"
#include "lib/banned.h"

/*
 * Variables read while an interpreter starts, before the runtime's own code
 * can look at the function's environment: the dynamic loader's and the C
 * library's (LD_*, MALLOC_*, GLIBC_TUNABLES, locale, TZ), python's (PYTHON*)
 * and node's and libuv's (NODE_*, UV_*), OpenSSL's (node loads it at start),
 * and the few a runtime takes from its start-up environment (PATH, HOME,
 * TMPDIR, the Runtime API address). A function that sets any of these to a
 * value a stem was not started with gets a fresh interpreter.
 */
bool
sandbox__stem_startup_var(const char *kv)
{
	static const char *const prefixes[] = {
		"LD_", "MALLOC_", "GLIBC_", "LC_", "PYTHON", "NODE_", "UV_", "OPENSSL_",
		"SSL_", "HEARTH_",
	};
	static const char *const names[] = {
		"LANG", "LANGUAGE", "LOCPATH", "TZ", "TZDIR", "PATH", "HOME", "TMPDIR",
		"AWS_LAMBDA_RUNTIME_API",
	};
	size_t i, n;
	const char *eq = strchr(kv, '=');

	n = eq ? (size_t)(eq - kv) : strlen(kv);
	for (i = 0; i < ARRAY_SIZE(prefixes); i++)
		if (strncmp(kv, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (strlen(names[i]) == n && memcmp(kv, names[i], n) == 0)
			return true;
	return false;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int
sandbox__stem_key(const struct sandbox__msg *m, struct buf *key)
{
	const char *startup[SANDBOX__MAX_ENV];
	size_t i, n = 0;

	buf_reset(key);
	/* Only sandboxes a stem can become: an interpreter from a runtime
	 * directory, loopback-only network (a stem has a pooled namespace). */
	if (!m->runtime_dir || !m->argc || m->network != SANDBOX_NET_NONE || !m->code_dir)
		return -1;
	/* Nor one whose start-up environment can run code by itself: node
	 * runs NODE_OPTIONS' --import=data:text/javascript,... (or --require,
	 * --loader, ...) as it starts, so a stem of that class would run the
	 * function's code before it has a function, unbilled, unlimited in
	 * time and unseen by `hearth ps`. Which of node's options load code
	 * grows with each release: none of them gets a stem. The variables
	 * python and the C library read at start name files, and nothing of
	 * the function's is in a stem's files before assignment. */
	for (i = 0; i < m->envc; i++)
		if (strncmp(m->envp[i], "NODE_OPTIONS=", 13) == 0)
			return -1;
	buf_add(key, m->runtime_dir, strlen(m->runtime_dir) + 1);
	buf_addf(key, "%zu", m->argc);
	buf_add(key, "", 1);
	for (i = 0; i < m->argc; i++)
		buf_add(key, m->argv[i], strlen(m->argv[i]) + 1);
	for (i = 0; i < m->envc; i++)
		if (sandbox__stem_startup_var(m->envp[i]))
			startup[n++] = m->envp[i];
	/* Order does not change what an interpreter sees. */
	qsort(startup, n, sizeof(*startup), cmp_str);
	for (i = 0; i < n; i++)
		buf_add(key, startup[i], strlen(startup[i]) + 1);
	return 0;
}

struct sandbox__stem_class *
sandbox__stems_find(struct sandbox__stems *st, const struct buf *key)
{
	size_t i;

	for (i = 0; i < st->ncls; i++)
		if (st->cls[i].key.len == key->len && memcmp(st->cls[i].key.ptr, key->ptr, key->len) == 0)
			return &st->cls[i];
	return NULL;
}

struct sandbox__stem_class *
sandbox__stems_add(struct sandbox__stems *st, const struct sandbox__msg *m, const struct buf *key)
{
	struct sandbox__stem_class *c;
	size_t i, n = 0;

	if (st->ncls == SANDBOX__STEM_CLASSES)
		return NULL;
	c = &st->cls[st->ncls++];
	memset(c, 0, sizeof(*c));
	buf_init(&c->key);
	buf_add(&c->key, key->ptr, key->len);
	c->runtime_dir = xstrdup(m->runtime_dir);
	c->argv = xcalloc(m->argc + 1, sizeof(*c->argv));
	for (i = 0; i < m->argc; i++)
		c->argv[i] = xstrdup(m->argv[i]);
	c->argc = m->argc;
	/* The stem starts with the start-up variables alone, plus the marker
	 * that tells hearth-init to hold the runtime back. */
	c->envp = xcalloc(m->envc + 2, sizeof(*c->envp));
	for (i = 0; i < m->envc; i++)
		if (sandbox__stem_startup_var(m->envp[i]))
			c->envp[n++] = xstrdup(m->envp[i]);
	c->envp[n++] = xstrdup("HEARTH_STEM=1");
	c->envc = n;
	for (i = 0; i < SANDBOX__STEMS_MAX; i++)
		c->stems[i].id = 0;
	return c;
}

static void
class_release(struct sandbox__stem_class *c)
{
	size_t j;

	for (j = 0; j < SANDBOX__STEMS_MAX; j++)
		sandbox__stem_forget(&c->stems[j]);
	for (j = 0; j < c->argc; j++)
		free(c->argv[j]);
	for (j = 0; j < c->envc; j++)
		free(c->envp[j]);
	free(c->argv);
	free(c->envp);
	free(c->runtime_dir);
	buf_release(&c->key);
}

void
sandbox__stems_release(struct sandbox__stems *st)
{
	size_t i;

	for (i = 0; i < st->ncls; i++)
		class_release(&st->cls[i]);
	st->ncls = 0;
}

int
sandbox__stems_victim(const struct sandbox__stems *st, uint64_t now_ms)
{
	int victim = -1;
	size_t i;

	if (st->ncls < SANDBOX__STEM_CLASSES)
		return -1;
	for (i = 0; i < st->ncls; i++) {
		const struct sandbox__stem_class *c = &st->cls[i];

		if (now_ms - c->used_ms < st->idle_ms)
			continue;
		if (victim < 0 || c->used_ms < st->cls[victim].used_ms)
			victim = (int)i;
	}
	return victim;
}

void
sandbox__stems_remove(struct sandbox__stems *st, size_t i)
{
	assert(i < st->ncls);
	class_release(&st->cls[i]);
	if (i != st->ncls - 1)
		st->cls[i] = st->cls[st->ncls - 1];
	st->ncls--;
}

void
sandbox__stem_forget(struct sandbox__stem *s)
{
	size_t i;

	if (!s->id)
		return;
	for (i = 0; i < ARRAY_SIZE(s->fds); i++)
		if (s->fds[i] >= 0)
			close(s->fds[i]);
	memset(s, 0, sizeof(*s));
}

/*
 * The mounts only a function can give: its code read-only on /var/task and
 * /tmp at its size. Done from the spawner, which is root in the namespaces
 * the host's user namespace owns (the stem's mount namespace is one): clone
 * a detached mount of the code here, where its path means something, enter
 * the stem's mount namespace (which also puts root and cwd at the stem's
 * root), attach it there, resize /tmp, and come straight back. Nothing of
 * the stem runs meanwhile that could interfere: its runtime is blocked on
 * its assignment and holds no capability over its own mounts anyway.
 */
int
sandbox__stem_mount(int pidfd, const char *code_dir, uint64_t tmp_bytes, int home_mnt_fd,
		    int home_cwd_fd, struct err *err)
{
	/* Private as well: the clone is born with the propagation of the mount
	 * it copies, in the spawner's namespace a slave of the host's (mount.c:
	 * sandbox__skeleton_mount()), so on a host whose / is shared (systemd's
	 * default) a mount the host later makes under the code directory would
	 * appear on the running instance's /var/task. A fresh instance's tree
	 * is private (child.c); this one must be too. */
	struct mount_attr attr = {
		.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
		.propagation = MS_PRIVATE,
	};
	_cleanup_close_ int tree = -1;
	char opts[48];
	int r = 0, i;

	tree = open_tree(AT_FDCWD, code_dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (tree < 0)
		return err_set(err, errno, "cannot clone a mount of '%s'", code_dir);
	if (mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
		return err_set(err, errno, "cannot make the mount of '%s' read-only and private",
			       code_dir);
	if (setns(pidfd, CLONE_NEWNS) < 0)
		return err_set(err, errno, "cannot enter the mount namespace of a pre-started runtime");
	snprintf(opts, sizeof(opts), "size=%" PRIu64, tmp_bytes);
	if (move_mount(tree, "", AT_FDCWD, "/var/task", MOVE_MOUNT_F_EMPTY_PATH) < 0)
		r = err_set(err, errno, "cannot mount the code on /var/task");
	else if (mount(NULL, "/tmp", NULL, MS_REMOUNT | MS_NOSUID | MS_NODEV, opts) < 0)
		r = err_set(err, errno, "cannot resize /tmp to %" PRIu64 " bytes", tmp_bytes);
	/* Staying in a sandbox's namespace would build every later sandbox
	 * from its root: no way on from there. */
	/* setns() back can only fail for want of memory (ENOMEM allocating the
	 * namespace set): worth a few tries before giving up. */
	for (i = 0; i < 5 && setns(home_mnt_fd, CLONE_NEWNS) < 0; i++)
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	if (i == 5 || fchdir(home_cwd_fd) < 0) {
		log_error("spawner: cannot return to its own mount namespace: %s", strerror(errno));
		abort();
	}
	return r;
}

int
sandbox__stem_assign(int relay_fd, const char *const *envp, struct err *err)
{
	struct buf frame = BUF_INIT, env = BUF_INIT;
	struct pollfd pfd = { relay_fd, POLLIN, 0 };
	size_t start, i;
	ssize_t n;

	/* A clean stem has said nothing yet: its runtime asks for work only
	 * once it has a function. Anything waiting (an exit, a log line) means
	 * it is not the runtime it was. */
	if (poll(&pfd, 1, 0) != 0)
		return err_setmsg(err, EPROTO, "the pre-started runtime spoke before it had a "
				  "function");
	for (i = 0; envp[i]; i++)
		buf_add(&env, envp[i], strlen(envp[i]) + 1);
	start = relay_begin(&frame, RELAY_ASSIGN);
	relay_put(&frame, RELAY_T_BODY, env.ptr, env.len);
	relay_end(&frame, start);
	buf_release(&env);
	/* Whole or not at all: the socket is empty and far larger than the
	 * 64 KiB a spawn request can carry. */
	n = send(relay_fd, frame.ptr, frame.len, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n < 0) {
		buf_release(&frame);
		return err_set(err, errno, "cannot send the pre-started runtime its function");
	}
	if ((size_t)n != frame.len) {
		buf_release(&frame);
		return err_setmsg(err, EPROTO, "short write of a function's environment");
	}
	buf_release(&frame);
	return 0;
}
