/*
 * The daemon's side of the sandbox: forking the spawner, sending it spawn
 * requests, reading its events, and the few things the daemon does to an
 * instance directly (SIGKILL through the pidfd, memory counters through the
 * cgroup fd).
 *
 * Everything after sandbox_start() is non-blocking except sandbox_stop(),
 * which waits (bounded) for the spawner to finish its clean-up.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

#include "lib/cleanup.h"
#include "lib/log.h"
#include "sandbox/internal.h"
#include "lib/banned.h"

#define START_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS 15000
/* Events are small; anything larger is a protocol error. */
#define EVENT_MAX 2048

/* Runs in the forked child: becomes the spawner and never returns. */
static NORETURN void
become_spawner(const struct sandbox_config *cfg, int fd)
{
	int nul, r;

	/* Keep the control socket clear of 0..2, which get /dev/null: the
	 * spawner reads nothing from the daemon's stdin and writes its log lines
	 * to the inherited stderr only. */
	if (fd < 3)
		fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		_exit(1);
	nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul >= 0) {
		dup2(nul, 0);
		dup2(nul, 1);
	}
	/* Nothing else of the daemon's (listening sockets, the store) may live
	 * on in the spawner, let alone be inherited by instances. */
	if (fd > 3)
		close_range(3, (unsigned)fd - 1, 0);
	close_range((unsigned)fd + 1, ~0U, 0);
	r = sandbox__spawner_main(cfg, fd);
#if defined(__SANITIZE_ADDRESS__)
	/* _exit() skips LeakSanitizer's exit-time check; the spawner's leaks count. */
	__lsan_do_leak_check();
#endif
	_exit(r);
}

static int
recv_msg(int fd, char *buf, size_t size, struct sandbox__msg *m, int fds[4], size_t *nfds,
	 int flags)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} cbuf;
	struct msghdr mh = { 0 };
	struct iovec iov = { buf, size };
	struct cmsghdr *cm;
	size_t i, n_in;
	ssize_t n;
	int r;

	*nfds = 0;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf.buf;
	mh.msg_controllen = sizeof(cbuf.buf);
	do
		n = recvmsg(fd, &mh, flags | MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? -EAGAIN : errno == ECONNRESET ? -EPIPE : -errno;
	if (n == 0)
		return -EPIPE;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n_in = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n_in; i++) {
			int f;

			memcpy(&f, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (*nfds < 4)
				fds[(*nfds)++] = f;
			else
				close(f);
		}
	}
	r = (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ? -EPROTO
						       : sandbox__msg_decode(buf, (size_t)n, m);
	if (r < 0) {
		for (i = 0; i < *nfds; i++)
			close(fds[i]);
		*nfds = 0;
		return -EPROTO;
	}
	return 0;
}

static void
wait_spawner(pid_t pid)
{
	struct timespec ts = { 0, 1000000L };
	struct pollfd pfd;
	int st, pidfd, i;

	/* A pidfd polls readable when the process exits; without one (pre-5.3)
	 * poll waitpid. */
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd >= 0) {
		pfd = (struct pollfd){ pidfd, POLLIN, 0 };
		while (poll(&pfd, 1, STOP_TIMEOUT_MS) < 0 && errno == EINTR)
			;
		close(pidfd);
		if (waitpid(pid, &st, WNOHANG) == pid)
			return;
	} else {
		for (i = 0; i < STOP_TIMEOUT_MS; i++) {
			if (waitpid(pid, &st, WNOHANG) == pid)
				return;
			nanosleep(&ts, NULL);
		}
	}
	log_warn("sandbox: the spawner (pid %d) did not exit within %d ms; killing it",
		 (int)pid, STOP_TIMEOUT_MS);
	kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
}

int
sandbox_start(const struct sandbox_config *cfg, struct sandbox_client *sc, struct err *err)
{
	_cleanup_close_ int fd = -1;
	struct sandbox__msg *m;
	struct pollfd pfd;
	char buf[EVENT_MAX];
	int sv[2], fds[4], r, st;
	size_t nfds = 0, i;
	pid_t pid;

	sc->fd = -1;
	sc->spawner_pid = -1;
	sc->cgroup_version = 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return err_set(err, errno, "cannot create the spawner's socketpair");
	pid = fork();
	if (pid < 0) {
		r = err_set(err, errno, "cannot fork the spawner");
		close(sv[0]);
		close(sv[1]);
		return r;
	}
	if (pid == 0) {
		close(sv[0]);
		become_spawner(cfg, sv[1]);
	}
	close(sv[1]);
	fd = sv[0];

	/* The spawner answers once it has found the cgroups and prepared the
	 * rootfs: READY, or START_FAILED with the reason. */
	pfd = (struct pollfd){ fd, POLLIN, 0 };
	do
		r = poll(&pfd, 1, START_TIMEOUT_MS);
	while (r < 0 && errno == EINTR);
	m = xmalloc(sizeof(*m));
	if (r == 0)
		r = err_setmsg(err, ETIMEDOUT, "the sandbox spawner did not start within %d ms",
			       START_TIMEOUT_MS);
	else if (r < 0)
		r = err_set(err, errno, "cannot wait for the sandbox spawner");
	else if ((r = recv_msg(fd, buf, sizeof(buf), m, fds, &nfds, 0)) < 0)
		r = err_set(err, -r, "no word from the sandbox spawner");
	else if (nfds)
		r = err_setmsg(err, EPROTO, "the sandbox spawner sent unexpected fds");
	else if (m->type == SANDBOX__MSG_START_FAILED)
		r = err_setmsg(err, m->err_code > 0 ? m->err_code : EIO, "%s",
			       m->err_msg ? m->err_msg : "unknown error");
	else if (m->type != SANDBOX__MSG_READY)
		r = err_setmsg(err, EPROTO, "the sandbox spawner sent '%s' before 'ready'",
			       sandbox__msg_type_name(m->type));
	else
		r = 0;
	if (r == 0)
		sc->cgroup_version = m->cgroup_version;
	free(m);
	if (r < 0) {
		for (i = 0; i < nfds; i++)
			close(fds[i]);
		/* EOF makes the spawner clean up what it made; let it finish. */
		close(steal_fd(&fd));
		wait_spawner(pid);
		return err_wrap(err, "cannot start the sandbox spawner");
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		r = err_set(err, errno, "cannot make the spawner socket non-blocking");
		close(steal_fd(&fd));
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		return r;
	}
	sc->fd = steal_fd(&fd);
	sc->spawner_pid = pid;
	return 0;
}

int
sandbox_spawn(struct sandbox_client *sc, const struct sandbox_spec *spec, struct err *err)
{
	struct buf b = BUF_INIT;
	struct sandbox__msg *m;
	size_t i;
	ssize_t n;
	int r;

	if (!spec->code_dir || spec->code_dir[0] != '/')
		return err_setmsg(err, EINVAL, "code_dir must be an absolute path");
	if (spec->runtime_dir && spec->runtime_dir[0] != '/')
		return err_setmsg(err, EINVAL, "runtime_dir must be an absolute path");
	if (!spec->mem_bytes || !spec->tmp_bytes || !spec->pids_max)
		return err_setmsg(err, EINVAL,
				  "mem_bytes, tmp_bytes and pids_max must be non-zero");
	m = xmalloc(sizeof(*m));
	sandbox__msg_init(m, SANDBOX__MSG_SPAWN, spec->id);
	m->code_dir = spec->code_dir;
	m->runtime_dir = spec->runtime_dir;
	m->mem_bytes = spec->mem_bytes;
	m->tmp_bytes = spec->tmp_bytes;
	m->pids_max = spec->pids_max;
	if (spec->network != SANDBOX_NET_NONE && spec->network != SANDBOX_NET_HOST) {
		r = err_setmsg(err, EINVAL, "unknown network mode %d", spec->network);
		goto out;
	}
	m->network = (uint32_t)spec->network;
	r = 0;
	for (i = 0; spec->argv && spec->argv[i]; i++) {
		if (i >= SANDBOX__MAX_ARGS) {
			r = err_setmsg(err, E2BIG, "more than %d arguments", SANDBOX__MAX_ARGS);
			goto out;
		}
		m->argv[m->argc++] = spec->argv[i];
	}
	for (i = 0; spec->envp && spec->envp[i]; i++) {
		if (i >= SANDBOX__MAX_ENV) {
			r = err_setmsg(err, E2BIG, "more than %d environment variables",
				       SANDBOX__MAX_ENV);
			goto out;
		}
		m->envp[m->envc++] = spec->envp[i];
	}
	if (sandbox__msg_encode(m, &b) < 0) {
		r = err_setmsg(err, E2BIG, "spawn request larger than %u bytes", SANDBOX__MSG_MAX);
		goto out;
	}
	do
		n = send(sc->fd, b.ptr, b.len, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		r = err_setmsg(err, EAGAIN, "too many spawns queued at the sandbox spawner");
	else if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
		r = err_setmsg(err, EPIPE, "the sandbox spawner is gone");
	else if (n < 0)
		r = err_set(err, errno, "cannot send a spawn request");
out:
	buf_release(&b);
	free(m);
	return r;
}

int
sandbox_init_done(struct sandbox_client *sc, uint64_t id)
{
	struct sandbox__msg m;
	struct buf b = BUF_INIT;
	ssize_t n;
	int r = 0;

	if (sc->fd < 0)
		return -EPIPE;
	sandbox__msg_init(&m, SANDBOX__MSG_INIT_DONE, id);
	r = sandbox__msg_encode(&m, &b);
	if (r == 0) {
		do
			n = send(sc->fd, b.ptr, b.len, MSG_DONTWAIT | MSG_NOSIGNAL);
		while (n < 0 && errno == EINTR);
		r = n < 0 ? -errno : 0;
	}
	buf_release(&b);
	return r;
}

int
sandbox_read_event(struct sandbox_client *sc, struct sandbox_event *ev)
{
	struct sandbox__msg *m;
	char buf[EVENT_MAX];
	int fds[4], r = 0;
	size_t nfds, i;

	memset(ev, 0, sizeof(*ev));
	ev->relay_fd = ev->pidfd = ev->cgroup_fd = ev->freeze_fd = -1;
	m = xmalloc(sizeof(*m));
	r = recv_msg(sc->fd, buf, sizeof(buf), m, fds, &nfds, MSG_DONTWAIT);
	if (r < 0)
		goto out;
	ev->id = m->id;
	switch (m->type) {
	case SANDBOX__MSG_SPAWNED:
		if (nfds != 3 && nfds != 4) {
			r = -EPROTO;
			break;
		}
		ev->kind = SANDBOX_SPAWNED;
		ev->pid = m->pid;
		ev->relay_fd = fds[0];
		ev->pidfd = fds[1];
		ev->cgroup_fd = fds[2];
		ev->freeze_fd = nfds == 4 ? fds[3] : -1;
		nfds = 0;
		break;
	case SANDBOX__MSG_SPAWN_FAILED:
		ev->kind = SANDBOX_SPAWN_FAILED;
		err_setmsg(&ev->err, m->err_code > 0 ? m->err_code : EIO, "%s",
			   m->err_msg ? m->err_msg : "unknown error");
		break;
	case SANDBOX__MSG_EXITED:
		ev->kind = SANDBOX_EXITED;
		ev->pid = m->pid;
		ev->wait_status = m->wait_status;
		ev->oom_killed = m->oom_killed;
		break;
	default:
		r = -EPROTO;
		break;
	}
	for (i = 0; i < nfds; i++)
		close(fds[i]);
out:
	free(m);
	return r;
}

int
sandbox_kill(int pidfd)
{
	if (syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) < 0)
		return errno == ESRCH ? 0 : -errno;	/* already dead: nothing to do */
	return 0;
}

/* pread at 0: a cgroup file is generated anew on each read from its start. */
static int
read_u64_fd(int fd, uint64_t *out)
{
	char buf[32], *end;
	ssize_t n;

	do
		n = pread(fd, buf, sizeof(buf) - 1, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	errno = 0;
	*out = strtoull(buf, &end, 10);
	if (errno || end == buf)
		return -EINVAL;
	return 0;
}

static int
read_u64_at(int dirfd, const char *name, uint64_t *out)
{
	_cleanup_close_ int fd = -1;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return read_u64_fd(fd, out);
}

/* The first of names the cgroup has: the fd does not say which version it is. */
static int
read_first(int cgroup_fd, const char *const *names, uint64_t *bytes)
{
	int r = -ENOENT;

	for (; *names; names++) {
		r = read_u64_at(cgroup_fd, *names, bytes);
		if (r != -ENOENT)
			return r;
	}
	return r;
}

/* v1; v2 (memory.peak is 5.19+); older v2 has only the current value. */
static const char *const peak_names[] = {
	"memory.max_usage_in_bytes", "memory.peak", "memory.current", NULL,
};

int
sandbox_mem_peak(int cgroup_fd, uint64_t *bytes)
{
	return read_first(cgroup_fd, peak_names, bytes);
}

int
sandbox_mem_peak_open(int cgroup_fd)
{
	const char *const *name;
	int fd = -ENOENT;

	for (name = peak_names; *name; name++) {
		fd = openat(cgroup_fd, *name, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT)
			return fd >= 0 ? fd : -errno;
		fd = -errno;
	}
	return fd;
}

int
sandbox_mem_peak_read(int peak_fd, uint64_t *bytes)
{
	return read_u64_fd(peak_fd, bytes);
}

int
sandbox_freeze(const struct sandbox_client *sc, int freeze_fd, bool frozen)
{
	const char *v;
	ssize_t n;

	if (freeze_fd < 0)
		return -ENOTSUP;
	if (sc->cgroup_version == 2)
		v = frozen ? "1" : "0";
	else
		v = frozen ? "FROZEN" : "THAWED";
	do
		n = pwrite(freeze_fd, v, strlen(v), 0);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : 0;
}

int
sandbox_mem_current(int cgroup_fd, uint64_t *bytes)
{
	static const char *const names[] = { "memory.usage_in_bytes", "memory.current", NULL };

	return read_first(cgroup_fd, names, bytes);
}

void
sandbox_stop(struct sandbox_client *sc)
{
	struct sandbox__msg m;
	struct buf b = BUF_INIT;

	if (sc->fd < 0)
		return;
	sandbox__msg_init(&m, SANDBOX__MSG_STOP, 0);
	if (sandbox__msg_encode(&m, &b) == 0)
		send(sc->fd, b.ptr, b.len, MSG_DONTWAIT | MSG_NOSIGNAL);
	buf_release(&b);
	/* Closing right away: the spawner reads STOP or, if it did not fit,
	 * EOF, and stops either way; and it can never block sending us events
	 * nobody reads. */
	close(sc->fd);
	sc->fd = -1;
	if (sc->spawner_pid > 0)
		wait_spawner(sc->spawner_pid);
	sc->spawner_pid = -1;
}
