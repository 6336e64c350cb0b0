/*
 * hearth-init's main loop and its side of the relay to the daemon.
 *
 * The loop polls the relay, a signalfd for SIGCHLD, the runtime's two log
 * pipes and the Runtime API sockets. Everything init tells the daemon goes into
 * one output buffer that is written once per loop iteration (batching, as
 * DESIGN.md section 7 measured) and on POLLOUT, so a slow daemon never blocks
 * init; past a high-water mark init stops reading the runtime instead.
 *
 * init ends in one of two ways: the runtime exits (forward the rest of its
 * output and RELAY_EXIT, then exit), or the daemon hangs up (kill everything
 * and exit). Either way the kernel ends the pid namespace with us.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init/init.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/relay.h"
#include "lib/banned.h"

#define READ_CHUNK (256u << 10)
/* How long init keeps trying to hand its last words to the daemon. */
#define FINAL_FLUSH_MS 2000

extern char **environ;

void
init__log(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "hearth-init: %s\n", line);
}

void
init__outq_release(struct outq *q)
{
	buf_release(&q->b);
	q->off = 0;
}

size_t
init__outq_pending(const struct outq *q)
{
	return q->b.len - q->off;
}

int
init__outq_flush(struct outq *q, int fd)
{
	while (q->off < q->b.len) {
		/* MSG_NOSIGNAL: a peer that went away is an error to handle, not a
		 * SIGPIPE (which would kill init when it is not PID 1, as in tests). */
		ssize_t n = send(fd, q->b.ptr + q->off, q->b.len - q->off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			return -errno;
		}
		q->off += (size_t)n;
	}
	if (q->off == q->b.len) {
		buf_reset(&q->b);
		q->off = 0;
	} else if (q->off > (1u << 20) && q->off > q->b.len / 2) {
		buf_consume(&q->b, q->off);
		q->off = 0;
	}
	return 0;
}

void
init__json_str(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	buf_addch(b, '"');
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			buf_addch(b, '\\');
			buf_addch(b, (char)c);
		} else if (c == '\n') {
			buf_adds(b, "\\n");
		} else if (c == '\t') {
			buf_adds(b, "\\t");
		} else if (c == '\r') {
			buf_adds(b, "\\r");
		} else if (c < 0x20) {
			char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

			buf_add(b, esc, sizeof(esc));
		} else {
			buf_addch(b, (char)c);
		}
	}
	buf_addch(b, '"');
}

struct buf *
init__relay_buf(struct init *in)
{
	return &in->relay_out.b;
}

static void
state_init(struct init *in)
{
	memset(in, 0, sizeof(*in));
	in->relay_fd = INIT_RELAY_FD;
	buf_init(&in->relay_in);
	buf_init(&in->relay_out.b);
	in->listen_fd = -1;
	in->queue_tail = &in->queue;
	in->child = -1;
	in->logs[0].fd = -1;
	in->logs[0].stream = '1';
	buf_init(&in->logs[0].line);
	in->logs[1].fd = -1;
	in->logs[1].stream = '2';
	buf_init(&in->logs[1].line);
	in->sigfd = -1;
	in->stem_fd = -1;
}

/* Frees what is left. The process is about to exit, but a clean slate keeps
 * valgrind and ASan quiet, so real leaks stand out. */
static void
state_release(struct init *in)
{
	init__api_release(in);
	init__child_close_logs(in);
	buf_release(&in->relay_in);
	init__outq_release(&in->relay_out);
	if (in->relay_fd >= 0)
		close(in->relay_fd);
	if (in->sigfd >= 0)
		close(in->sigfd);
	if (in->stem_fd >= 0)
		close(in->stem_fd);
	in->stem_fd = -1;
}

/* Writes the rest of the relay output, waiting for the daemon at most
 * FINAL_FLUSH_MS: these are init's last words (log lines, RELAY_EXIT). */
static void
relay_final_flush(struct init *in)
{
	uint64_t deadline = clock_mono_ms() + FINAL_FLUSH_MS;

	while (in->relay_fd >= 0 && init__outq_pending(&in->relay_out) > 0) {
		struct pollfd p = { .fd = in->relay_fd, .events = POLLOUT };
		uint64_t now = clock_mono_ms();

		if (now >= deadline) {
			init__log("daemon did not read the last %zu bytes; giving up",
				  init__outq_pending(&in->relay_out));
			return;
		}
		if (poll(&p, 1, (int)(deadline - now)) < 0 && errno != EINTR)
			return;
		if (init__outq_flush(&in->relay_out, in->relay_fd) < 0)
			return;
	}
}

/* The daemon hung up or spoke nonsense: nobody is left to serve. */
NORETURN static void
finish_abandoned(struct init *in, const char *why)
{
	if (why)
		init__log("%s; ending the sandbox", why);
	init__child_kill(in);
	state_release(in);
	exit(why ? 1 : 0);
}

/* The runtime is gone: forward what it wrote last and its status, then leave. */
NORETURN static void
finish_child_exited(struct init *in)
{
	struct buf *out = init__relay_buf(in);
	int st = in->child_status, code;
	size_t start;

	/* Whatever the runtime wrote before dying is still in the pipes (poll may
	 * have reported SIGCHLD first); a grandchild could keep writing forever, so
	 * the drain is bounded inside init__child_read_logs(). */
	init__child_read_logs(in, 0, true);
	init__child_read_logs(in, 1, true);
	init__child_close_logs(in);

	start = relay_begin(out, RELAY_EXIT);
	if (WIFSIGNALED(st)) {
		char status[32];

		snprintf(status, sizeof(status), "signal %d", WTERMSIG(st));
		relay_puts(out, RELAY_T_STATUS, status);
		code = 128 + WTERMSIG(st);
	} else {
		char status[32];

		snprintf(status, sizeof(status), "exit %d", WEXITSTATUS(st));
		relay_puts(out, RELAY_T_STATUS, status);
		code = WEXITSTATUS(st);
	}
	relay_end(out, start);
	relay_final_flush(in);
	/* Grandchildren may outlive the runtime; as PID 1 our exit ends them. */
	init__child_kill(in);
	state_release(in);
	exit(code);
}

/*
 * A pre-started runtime learns its function: the environment goes down the
 * assignment socket, whose EOF ends it. The runtime blocks reading it, so
 * one blocking write is all it takes; the spawner sends the frame before the
 * daemon holds the relay, so nothing else is in flight meanwhile. Only once:
 * a second assignment, or one for a runtime that was not pre-started, is a
 * protocol error.
 */
static int
stem_assign(struct init *in, const struct relay_msg *m)
{
	const struct str *env = &m->f[RELAY_T_BODY];
	size_t off = 0;
	ssize_t n;

	if (in->stem_fd < 0) {
		init__log("an assignment for a runtime that was not waiting for one");
		return -EBADMSG;
	}
	while (off < env->len) {
		n = send(in->stem_fd, env->ptr + off, env->len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			/* The runtime is gone: its exit is reported as usual. */
			init__log("cannot hand the runtime its function: %s", strerror(errno));
			break;
		}
		off += (size_t)n;
	}
	close(in->stem_fd);
	in->stem_fd = -1;
	return 0;
}

/* Handles the frames in relay_in; returns -errno on a protocol error. */
static int
relay_dispatch(struct init *in)
{
	size_t off = 0;
	int r = 0;

	for (;;) {
		struct relay_msg m;
		ssize_t n = relay_parse(in->relay_in.ptr + off, in->relay_in.len - off, &m);

		if (n == 0)
			break;
		if (n < 0) {
			r = (int)n;
			break;
		}
		off += (size_t)n;
		if (m.type == RELAY_ASSIGN) {
			r = stem_assign(in, &m);
			if (r < 0)
				break;
			continue;
		}
		if (m.type != RELAY_INVOKE) {
			init__log("unexpected relay message type %u from the daemon", m.type);
			r = -EBADMSG;
			break;
		}
		r = init__api_invoke(in, &m);
		if (r < 0)
			break;
	}
	buf_consume(&in->relay_in, off);
	return r;
}

static void
relay_read(struct init *in)
{
	int i, r;

	/* A few reads per wake-up: an invocation may be megabytes, but the loop
	 * must keep serving the runtime meanwhile. */
	for (i = 0; i < 8; i++) {
		ssize_t n;

		buf_grow(&in->relay_in, READ_CHUNK);
		n = read(in->relay_fd, in->relay_in.ptr + in->relay_in.len, READ_CHUNK);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			if (errno == ECONNRESET)
				finish_abandoned(in, NULL);
			finish_abandoned(in, "cannot read the relay");
		}
		if (n == 0) {
			/* The daemon ended the instance: the normal way to go. */
			finish_abandoned(in, NULL);
		}
		buf_setlen(&in->relay_in, in->relay_in.len + (size_t)n);
		/* A short read emptied the socket: poll reports what comes next. */
		if ((size_t)n < READ_CHUNK)
			break;
	}
	r = relay_dispatch(in);
	if (r < 0) {
		init__log("bad relay frame from the daemon: %s", strerror(-r));
		finish_abandoned(in, "relay protocol error");
	}
}

/* Drops HEARTH_INIT_PORT and HEARTH_STEM, which are for init and not the
 * runtime's business; a pre-started runtime gets HEARTH_STEM_FD instead. */
static char **
runtime_env(bool stem)
{
	size_t n = 0, i, j = 0;
	char **env;

	while (environ[n])
		n++;
	env = xcalloc(n + 2, sizeof(*env));
	for (i = 0; i < n; i++) {
		if (strncmp(environ[i], "HEARTH_INIT_PORT=", 17) == 0 ||
		    strncmp(environ[i], "HEARTH_STEM=", 12) == 0 ||
		    strncmp(environ[i], "HEARTH_STEM_FD=", 15) == 0)
			continue;
		env[j++] = environ[i];
	}
	if (stem)
		env[j++] = (char *)"HEARTH_STEM_FD=3";
	env[j] = NULL;
	return env;
}

static int
setup_relay(struct init *in)
{
	int fl = fcntl(in->relay_fd, F_GETFL);

	if (fl < 0)
		return -errno;
	/* The spawner handed fd 3 over without CLOEXEC (it had to survive exec);
	 * the runtime must not inherit it. */
	if (fcntl(in->relay_fd, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	if (fcntl(in->relay_fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

static int
setup_signals(struct init *in)
{
	sigset_t set;

	/* SIGCHLD arrives through a signalfd, read in the loop like any fd: no
	 * handler runs at a random point, so nothing here needs to be async-safe.
	 * The child unblocks it again before exec. */
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	in->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (in->sigfd < 0)
		return -errno;
	return 0;
}

/* Tells the daemon init could not even start the runtime, then leaves. */
NORETURN static void
fail_setup(struct init *in, const char *type, const char *msg)
{
	struct buf *out = init__relay_buf(in);
	struct buf body = BUF_INIT;
	size_t start;

	init__log("%s", msg);
	buf_adds(&body, "{\"errorMessage\":");
	init__json_str(&body, msg, strlen(msg));
	buf_adds(&body, ",\"errorType\":");
	init__json_str(&body, type, strlen(type));
	buf_adds(&body, "}");
	start = relay_begin(out, RELAY_INIT_ERROR);
	relay_puts(out, RELAY_T_ERRTYPE, type);
	relay_put(out, RELAY_T_BODY, body.ptr, body.len);
	relay_end(out, start);
	buf_release(&body);
	relay_final_flush(in);
	state_release(in);
	exit(1);
}

static void
read_signals(struct init *in)
{
	struct signalfd_siginfo si;

	/* Signals coalesce: one SIGCHLD may stand for many exits, so reaping
	 * loops over waitpid() rather than counting these. */
	while (read(in->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		;
	init__child_reap(in);
}

enum { FD_RELAY, FD_SIG, FD_LOG0, FD_LOG1, FD_API };

int
main(int argc, char **argv)
{
	struct pollfd fds[FD_API + 1 + INIT_MAX_CONNS];
	struct init in;
	const char *port;
	char msg[256];
	char **env;
	bool stem;
	int r, sv[2];

	state_init(&in);
	r = setup_relay(&in);
	if (r < 0) {
		init__log("fd %d is not the relay socket: %s", INIT_RELAY_FD, strerror(-r));
		return 1;
	}
	if (argc < 2)
		fail_setup(&in, "Runtime.InvalidEntrypoint", "no runtime command given");
	r = setup_signals(&in);
	if (r < 0) {
		snprintf(msg, sizeof(msg), "cannot set up SIGCHLD: %s", strerror(-r));
		fail_setup(&in, "Runtime.Unknown", msg);
	}
	/* In a sandbox init is PID 1 and inherits every orphan; elsewhere (tests)
	 * becoming a subreaper gives it the same duty. */
	if (getpid() != 1)
		prctl(PR_SET_CHILD_SUBREAPER, 1);
	port = getenv("HEARTH_INIT_PORT");
	r = init__api_listen(&in, port && *port ? port : "9001");
	if (r < 0) {
		snprintf(msg, sizeof(msg), "cannot listen on 127.0.0.1:%s: %s",
			 port && *port ? port : "9001", strerror(-r));
		fail_setup(&in, "Runtime.Unknown", msg);
	}
	/* Pre-started (stem.c): the runtime starts now and waits, on a socket
	 * of its own, for the function it will run (RELAY_ASSIGN). */
	stem = getenv("HEARTH_STEM") != NULL;
	if (stem && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(msg, sizeof(msg), "cannot create the assignment socket: %s",
			 strerror(errno));
		fail_setup(&in, "Runtime.Unknown", msg);
	}
	env = runtime_env(stem);
	r = init__child_start(&in, argv + 1, env, stem ? sv[1] : -1);
	free(env);
	if (stem) {
		close(sv[1]);
		in.stem_fd = sv[0];
	}
	if (r < 0) {
		snprintf(msg, sizeof(msg), "cannot start the runtime: %s", strerror(-r));
		fail_setup(&in, "Runtime.Unknown", msg);
	}

	for (;;) {
		bool throttle = init__outq_pending(&in.relay_out) > INIT_RELAY_HIGH_WATER;
		size_t n, i;

		fds[FD_RELAY].fd = in.relay_fd;
		fds[FD_RELAY].events = POLLIN;
		if (init__outq_pending(&in.relay_out))
			fds[FD_RELAY].events |= POLLOUT;
		fds[FD_SIG].fd = in.sigfd;
		fds[FD_SIG].events = POLLIN;
		for (i = 0; i < 2; i++) {
			fds[FD_LOG0 + i].fd = throttle ? -1 : in.logs[i].fd;
			fds[FD_LOG0 + i].events = POLLIN;
		}
		n = FD_API + init__api_pollfds(&in, fds + FD_API, throttle);
		for (i = 0; i < n; i++)
			fds[i].revents = 0;

		if (poll(fds, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			finish_abandoned(&in, "poll failed");
		}
		if (fds[FD_SIG].revents)
			read_signals(&in);
		if (fds[FD_RELAY].revents & (POLLIN | POLLHUP | POLLERR))
			relay_read(&in);
		for (i = 0; i < 2; i++)
			if (fds[FD_LOG0 + i].fd >= 0 && fds[FD_LOG0 + i].revents)
				init__child_read_logs(&in, (int)i, false);
		init__api_events(&in, fds + FD_API, n - FD_API);
		init__api_sweep(&in);
		if (in.child_exited)
			finish_child_exited(&in);
		r = init__outq_flush(&in.relay_out, in.relay_fd);
		if (r < 0)
			finish_abandoned(&in, r == -EPIPE || r == -ECONNRESET ? NULL
									: "cannot write the relay");
	}
}
