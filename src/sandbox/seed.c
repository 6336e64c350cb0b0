/*
 * Seeds: on cgroup v1, moving a process into a cgroup (a write to
 * cgroup.procs) takes the kernel's cgroup_threadgroup_rwsem for write, which
 * waits for an RCU grace period when it was idle: ~0.2 ms typically and
 * 5-15 ms at p99 on this 2-core host, most of the sandbox set-up's tail.
 * cgroup v2 avoids it with CLONE_INTO_CGROUP; v1 has no such flag, but a
 * child is born in its parent's cgroups.
 *
 * So the spawner keeps a few seeds: forks of itself, each sitting in a set
 * of instance cgroups ("s<seq>", made ahead of need) that it moved itself
 * into, off the spawn's path. A spawn claims a ready seed (its cgroups are
 * renamed to the instance's "i<id>" and get the function's limits), sends it
 * the request and the fds the child needs, and the seed clones the sandbox
 * child with CLONE_PARENT: the spawner is then the child's parent (it reaps
 * it and gets its SIGCHLD as for any instance), and the child is in the
 * instance's cgroups from its first instruction, as on v2. The seed replies
 * with the pid and exits once the child has exec'd; the child runs child.c
 * exactly as before.
 *
 * While it waits, a seed also does what would otherwise be in the spawn's
 * path: it makes the instance's mount, IPC, UTS and network namespaces (the
 * child shares them), loads the seccomp policy plus the set-up calls (the
 * child adds only seccomp.c's small tail), and maps the stack the child runs
 * on: the child is cloned with CLONE_VM, so the seed's address space is
 * neither copied nor torn down for it.
 *
 * Not for: v2 (clone3 puts the child in its cgroup already), or deciding
 * when seeds are made (spawner.c refills the pool while it is idle).
 *
 * A seed runs only the spawner's code and holds nothing but its socket; it
 * never sees a function's code before the child it clones does.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/seccomp.h>

#include "lib/cleanup.h"
#include "lib/log.h"
#include "sandbox/internal.h"
#include "lib/banned.h"

/* How long the spawner waits for a seed's reply to a request; the seed's own
 * work (plan, clone) takes well under a millisecond. */
#define SEED_REPLY_TIMEOUT_MS 5000
/* The sandbox child's stack (CLONE_VM below). child.c needs a few KB; ASan
 * builds several times that. The top is touched while the seed waits, so
 * the child takes no page fault on it. */
#define CHILD_STACK_SIZE (256u * 1024)
#define CHILD_STACK_PREFAULT (64u * 1024)

/* seed -> spawner: once when ready (pid 0), once per request. */
struct seed_reply {
	int32_t code;		/* positive errno, 0 on success */
	int32_t pid;		/* the sandbox child's */
	char msg[256];
};

static void
seed_send(int sock, int code, pid_t pid, const char *msg)
{
	struct seed_reply rp;
	ssize_t n;

	memset(&rp, 0, sizeof(rp));
	rp.code = code;
	rp.pid = (int32_t)pid;
	if (msg)
		snprintf(rp.msg, sizeof(rp.msg), "%s", msg);
	do
		n = send(sock, &rp, sizeof(rp), MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
}

/* Receives one request and up to 4 fds. Returns the byte count, 0 on EOF. */
static ssize_t
seed_recv(int sock, char *buf, size_t size, int *fds, size_t *nfds)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} cbuf;
	struct msghdr mh = { 0 };
	struct iovec iov = { buf, size };
	struct cmsghdr *cm;
	ssize_t n;

	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf.buf;
	mh.msg_controllen = sizeof(cbuf.buf);
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	*nfds = 0;
	if (n <= 0)
		return n < 0 ? -errno : 0;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			*nfds = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			if (*nfds > 4)
				*nfds = 4;
			memcpy(fds, CMSG_DATA(cm), *nfds * sizeof(int));
		}
	}
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		return -EMSGSIZE;
	return n;
}

/* clone()'s entry point for the sandbox child, on the stack seed_main()
 * mapped for it. Never returns. */
static int
child_entry(void *arg)
{
	sandbox__child_run(arg);
}

/* The seed process. Never returns. */
static NORETURN void
seed_main(int sock, const struct sandbox__seed_env *env, struct sandbox__cgroup_inst *ci)
{
	struct sandbox__child child;
	struct sandbox__plan plan;
	struct sandbox__msg *m;
	struct err err = ERR_INIT;
	char **argv, *buf, *stack, c;
	int fds[4], exec_pipe[2], r;
	size_t nfds, i;
	ssize_t n;
	pid_t pid;

	prctl(PR_SET_NAME, "hearth-seed", 0, 0, 0);
	/* Nothing of the spawner's but our socket: above all not the daemon's
	 * control socket (the daemon must see EOF when the spawner goes) nor
	 * the pooled namespaces. stderr stays for the log. */
	if (sock != 3) {
		if (dup2(sock, 3) < 0)
			_exit(1);
		sock = 3;
	}
	close_range(4, ~0U, 0);

	/* The slow write, here rather than in the spawner: it may wait for an
	 * RCU grace period, and only this process waits. */
	if (env->cg->ops->attach(ci, getpid(), &err) < 0) {
		seed_send(sock, err.code, 0, err.msg);
		_exit(1);
	}
	/* The instance's mount, IPC, UTS and network namespaces, made now
	 * while we wait rather than in the spawn's path: by the clone below
	 * (a copy of the spawner's ~40 mounts, and an IPC namespace's message
	 * queue mount and sysctl tables: ~0.1 ms of CPU together), or by the
	 * spawner (a network namespace, ~0.5 ms and ~3 ms at p99, which its
	 * pool refills in between spawns and so could hold up the next one).
	 * We serve one spawn only, so they are the instance's alone, as a
	 * clone or the pool would have made them. Our copy of the mounts keeps
	 * their propagation (the host's slaves, the skeleton private), so a
	 * code directory the host mounts later still shows up. A function with
	 * network "host" joins the host's instead (the spawner sends it).
	 * Before the filter below, which denies unshare. */
	if (unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET) < 0) {
		err_set(&err, errno, "cannot create the instance's namespaces");
		seed_send(sock, err.code, 0, err.msg);
		_exit(1);
	}
	r = sandbox__loopback_up();
	if (r < 0) {
		err_set(&err, -r, "cannot bring up loopback in the instance's network namespace");
		seed_send(sock, err.code, 0, err.msg);
		_exit(1);
	}
	/* The policy plus what our child's set-up needs (seccomp.c): it is
	 * the expensive program to load (~0.1 ms, most of it the kernel
	 * compiling it), loaded here while we wait rather than by each child,
	 * which then adds only the small `tail`. As root we need no
	 * no_new_privs for it; the child still sets that itself. */
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &env->seccomp->seed, 0, 0) < 0) {
		err_set(&err, errno, "cannot load the seed's seccomp filter");
		seed_send(sock, err.code, 0, err.msg);
		_exit(1);
	}
	stack = mmap(NULL, CHILD_STACK_SIZE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED) {
		err_set(&err, errno, "cannot map a stack for the sandbox child");
		seed_send(sock, err.code, 0, err.msg);
		_exit(1);
	}
	memset(stack + CHILD_STACK_SIZE - CHILD_STACK_PREFAULT, 0, CHILD_STACK_PREFAULT);
	seed_send(sock, 0, 0, NULL);

	buf = xmalloc(SANDBOX__MSG_MAX);
	m = xmalloc(sizeof(*m));
	n = seed_recv(sock, buf, SANDBOX__MSG_MAX, fds, &nfds);
	if (n == 0)
		_exit(0);	/* the spawner is done with us */
	if (n < 0) {
		seed_send(sock, (int)-n, 0, "cannot receive the spawn request");
		_exit(1);
	}
	if (nfds < 3 || sandbox__msg_decode(buf, (size_t)n, m) < 0 ||
	    m->type != SANDBOX__MSG_SPAWN) {
		seed_send(sock, EPROTO, 0, "malformed request from the spawner");
		_exit(1);
	}
	if (sandbox__plan_build(&plan, env->rf, m->code_dir, m->runtime_dir, m->tmp_bytes,
				&err) < 0) {
		seed_send(sock, err.code, 0, err.msg);
		_exit(1);
	}
	argv = xcalloc(m->argc + 2, sizeof(*argv));
	argv[0] = (char *)"/init";
	for (i = 0; i < m->argc; i++)
		argv[i + 1] = (char *)m->argv[i];

	child.sync_fd = -1;
	child.relay_fd = fds[0];
	child.err_fd = fds[1];
	child.userns_fd = fds[2];
	child.netns_fd = nfds > 3 ? fds[3] : -1;
	child.root_dir = env->rf->root_dir;
	child.plan = &plan;
	child.cap_last = env->cap_last;
	child.seccomp = &env->seccomp->tail;
	child.argv = argv;
	child.envp = (char *const *)m->envp;

	/* EOF on it tells us the child has exec'd (or died): the write end is
	 * close-on-exec and, once we close ours, the child's alone. Above fd 3,
	 * which child.c overwrites with the relay. */
	if (pipe2(exec_pipe, O_CLOEXEC) < 0) {
		err_set(&err, errno, "cannot create a pipe");
		seed_send(sock, err.code, 0, err.msg);
		_exit(1);
	}
	if (exec_pipe[1] <= 3) {
		r = fcntl(exec_pipe[1], F_DUPFD_CLOEXEC, 4);
		if (r < 0) {
			err_set(&err, errno, "cannot move a pipe");
			seed_send(sock, err.code, 0, err.msg);
			_exit(1);
		}
		close(exec_pipe[1]);
		exec_pipe[1] = r;
	}

	/* Of the namespaces of spawner.c's clone, only the pid namespace is
	 * left to make (we are not to be in it); the child shares our mount,
	 * IPC and UTS namespaces, made above for it. Plus:
	 * - CLONE_PARENT: the child becomes the spawner's, which reaps it and
	 *   learns of its death by SIGCHLD (the exit signal is our group
	 *   leader's, SIGCHLD; the kernel ignores the one passed here);
	 * - CLONE_VM: the child runs on our memory, on its own stack, as
	 *   posix_spawn()'s child does. A copy of the seed's address space (the
	 *   daemon's, ~260 mappings, when forked from hearth serve) would be
	 *   made at clone and torn down again at exec, in the cold start's
	 *   path; here neither happens, and that memory goes when we exit,
	 *   after the exec.
	 * Not CLONE_VFORK: we reply with the pid at once, so the spawner waits
	 * for the exec itself, in parallel with the child, as before; and we
	 * stay alive until the exec, so that the child's execve() never drops
	 * the last reference to this memory (tearing it down in the child).
	 * What we share while both run: the child writes its own stack and
	 * child.c's statics, which we never read, and reads what we no longer
	 * write (child, plan, argv, envp). Its pivot_root() moves our root
	 * and cwd along with its own (one mount namespace), which nothing
	 * below looks up a path under. errno is one location for both
	 * (same TLS): below we make only calls that cannot fail or whose
	 * failure means the spawner is gone (send), and we never read errno
	 * after the clone. */
	pid = clone(child_entry, stack + CHILD_STACK_SIZE,
		    CLONE_VM | CLONE_PARENT | CLONE_NEWPID, &child);
	if (pid < 0) {
		err_set(&err, errno, "cannot clone the sandbox");
		seed_send(sock, err.code, 0, err.msg);
		_exit(1);
	}
	/* The child holds its own copies now; the spawner's wait for the
	 * exec (EOF on the error pipe) must not depend on ours. */
	close(exec_pipe[1]);
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	seed_send(sock, 0, pid, NULL);
	while (read(exec_pipe[0], &c, 1) > 0)
		;
	_exit(0);
}

int
sandbox__seed_start(struct sandbox__seed *s, const struct sandbox__seed_env *env,
		    uint64_t seq, struct err *err)
{
	int sv[2], r;
	pid_t pid;

	memset(s, 0, sizeof(*s));
	s->pidfd = s->sock = -1;
	sandbox__cgroup_inst_init(&s->ci);
	r = env->cg->ops->pool_create(env->cg, &s->ci, seq, err);
	if (r < 0)
		goto fail;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		r = err_set(err, errno, "cannot create a seed socketpair");
		goto fail;
	}
	pid = fork();
	if (pid < 0) {
		r = err_set(err, errno, "cannot fork a seed");
		close(sv[0]);
		close(sv[1]);
		goto fail;
	}
	if (pid == 0) {
		close(sv[0]);
		seed_main(sv[1], env, &s->ci);
	}
	close(sv[1]);
	s->pid = pid;
	s->sock = sv[0];
	/* We are its parent and reap it only through this pidfd or the
	 * spawner's waitpid(-1): it cannot be a recycled pid yet. */
	s->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (s->pidfd < 0) {
		r = err_set(err, errno, "cannot open a pidfd of seed %d", (int)pid);
		kill(pid, SIGKILL);
		sandbox__seed_end(s, true);
		goto fail;
	}
	return 0;
fail:
	/* The caller removes s->ci's directories (none may exist yet). */
	return r;
}

bool
sandbox__seed_ready(struct sandbox__seed *s)
{
	struct seed_reply rp;
	ssize_t n;

	if (!s->pid || s->ready)
		return s->pid && s->ready;
	n = recv(s->sock, &rp, sizeof(rp), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return false;
	if (n == (ssize_t)sizeof(rp) && rp.code == 0) {
		s->ready = true;
		return true;
	}
	if (n == (ssize_t)sizeof(rp))
		log_warn("spawner: seed %d failed: %s", (int)s->pid, rp.msg);
	else
		log_warn("spawner: seed %d died before it was ready", (int)s->pid);
	sandbox__seed_end(s, true);
	return false;
}

int
sandbox__seed_spawn(struct sandbox__seed *s, const void *req, size_t len, const int *fds,
		    size_t nfds, pid_t *pid, struct err *err)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} cbuf;
	struct msghdr mh = { 0 };
	struct iovec iov = { (void *)req, len };
	struct pollfd pfd = { s->sock, POLLIN, 0 };
	struct seed_reply rp;
	struct cmsghdr *cm;
	ssize_t n;
	int r;

	assert(s->ready && nfds >= 3 && nfds <= 4);
	memset(&cbuf, 0, sizeof(cbuf));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf.buf;
	mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	do
		n = sendmsg(s->sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return err_set(err, errno, "cannot send the request to seed %d", (int)s->pid);
	do
		r = poll(&pfd, 1, SEED_REPLY_TIMEOUT_MS);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return err_setmsg(err, ETIMEDOUT, "seed %d did not answer within %d ms",
				  (int)s->pid, SEED_REPLY_TIMEOUT_MS);
	do
		n = recv(s->sock, &rp, sizeof(rp), 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(rp))
		return err_setmsg(err, EPROTO, "seed %d died before it cloned the sandbox",
				  (int)s->pid);
	if (rp.code) {
		rp.msg[sizeof(rp.msg) - 1] = '\0';
		return err_setmsg(err, rp.code, "%s", rp.msg);
	}
	if (rp.pid <= 0)
		return err_setmsg(err, EPROTO, "seed %d sent no pid", (int)s->pid);
	*pid = rp.pid;
	return 0;
}

void
sandbox__seed_end(struct sandbox__seed *s, bool wait)
{
	siginfo_t si;

	if (!s->pid)
		return;
	if (wait && s->pidfd >= 0) {
		syscall(SYS_pidfd_send_signal, s->pidfd, SIGKILL, NULL, 0);
		/* ECHILD when the spawner's waitpid(-1) reaped it already. */
		while (waitid((idtype_t)P_PIDFD, (id_t)s->pidfd, &si, WEXITED) < 0 &&
		       errno == EINTR)
			;
	}
	if (s->pidfd >= 0)
		close(s->pidfd);
	if (s->sock >= 0)
		close(s->sock);
	s->pid = 0;
	s->pidfd = s->sock = -1;
	s->ready = false;
}
