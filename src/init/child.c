/*
 * The runtime process: starting it, forwarding its output line by line, and
 * reaping it and everything else that dies in the sandbox.
 *
 * init is PID 1, so every orphan in the namespace becomes our child: reaping
 * loops over waitpid(-1) and only the runtime's own exit ends init. Log lines
 * go to the daemon as RELAY_LOG frames; the daemon tags them with the request
 * id, so init does not need to know which invocation a line belongs to.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init/init.h"
#include "lib/cleanup.h"
#include "lib/relay.h"
#include "lib/banned.h"

#define LOG_READ_CHUNK (64u << 10)
/* A drain at exit stops after this much: a grandchild may write forever. */
#define LOG_DRAIN_MAX (4u << 20)

static void
emit_line(struct init *in, char stream, const char *p, size_t n)
{
	struct buf *out = init__relay_buf(in);
	size_t start = relay_begin(out, RELAY_LOG);

	relay_put(out, RELAY_T_STREAM, &stream, 1);
	relay_put(out, RELAY_T_BODY, p, n);
	relay_end(out, start);
}

/* Forwards each complete line; a line longer than INIT_LOG_LINE_MAX goes out
 * in pieces of that size. `final` also sends an unfinished last line. */
static void
split_lines(struct init *in, struct logpipe *lp, bool final)
{
	size_t start = 0, i;

	for (i = 0; i < lp->line.len; i++) {
		if (lp->line.ptr[i] == '\n') {
			emit_line(in, lp->stream, lp->line.ptr + start, i - start);
			start = i + 1;
		} else if (i - start == INIT_LOG_LINE_MAX) {
			/* Split only once a byte beyond the cap arrives, so a line of
			 * exactly the cap is not followed by an empty piece. */
			emit_line(in, lp->stream, lp->line.ptr + start, INIT_LOG_LINE_MAX);
			start = i;
		}
	}
	if (final && start < lp->line.len) {
		emit_line(in, lp->stream, lp->line.ptr + start, lp->line.len - start);
		start = lp->line.len;
	}
	buf_consume(&lp->line, start);
}

static void
close_log(struct init *in, struct logpipe *lp)
{
	split_lines(in, lp, true);
	if (lp->fd >= 0)
		close(lp->fd);
	lp->fd = -1;
	buf_release(&lp->line);
}

void
init__child_read_logs(struct init *in, int idx, bool drain)
{
	struct logpipe *lp = &in->logs[idx];
	size_t total = 0;
	int reads = 0;

	while (lp->fd >= 0) {
		ssize_t n;

		/* Outside a drain, a few reads per wake-up keep one chatty stream
		 * from starving the Runtime API. */
		if (!drain && reads++ == 4)
			break;
		if (drain && total >= LOG_DRAIN_MAX)
			break;
		buf_grow(&lp->line, LOG_READ_CHUNK);
		n = read(lp->fd, lp->line.ptr + lp->line.len, LOG_READ_CHUNK);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				close_log(in, lp);
			break;
		}
		if (n == 0) {
			close_log(in, lp);
			break;
		}
		total += (size_t)n;
		buf_setlen(&lp->line, lp->line.len + (size_t)n);
		split_lines(in, lp, false);
		/* A short read emptied the pipe: another read would only see EAGAIN. */
		if ((size_t)n < LOG_READ_CHUNK)
			break;
	}
}

void
init__child_close_logs(struct init *in)
{
	close_log(in, &in->logs[0]);
	close_log(in, &in->logs[1]);
}

void
init__child_reap(struct init *in)
{
	for (;;) {
		int st;
		pid_t pid = waitpid(-1, &st, WNOHANG);

		if (pid < 0 && errno == EINTR)
			continue;
		if (pid <= 0)
			break;
		if (pid == in->child) {
			in->child_exited = true;
			in->child_status = st;
		}
	}
}

void
init__child_kill(struct init *in)
{
	int st;

	if (in->child <= 0)
		return;
	/* As PID 1 of the sandbox, kill(-1) reaches every process in it and
	 * nothing outside. Run elsewhere (tests) that would be every process the
	 * user may signal, so there only the runtime's process group is killed. */
	if (getpid() == 1)
		kill(-1, SIGKILL);
	else
		kill(-in->child, SIGKILL);
	if (!in->child_exited) {
		while (waitpid(in->child, &st, 0) < 0 && errno == EINTR)
			;
		in->child_exited = true;
		in->child_status = st;
	}
}

/* Moves fd out of 0..2 so the dup2()s onto 0..2 cannot clobber one another. */
static int
above_stdio(int fd)
{
	return fd > 2 ? fd : fcntl(fd, F_DUPFD_CLOEXEC, 3);
}

/* Runs in the forked child: only async-signal-safe calls until exec. */
NORETURN static void
child_exec(char *const argv[], char *const envp[], int in_fd, int out_fd, int err_fd,
	   int stem_fd, int report_fd)
{
	sigset_t none;
	int e;

	/* The blocked SIGCHLD would survive exec and confuse runtimes that
	 * start processes of their own. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Its own process group, so init can kill the runtime and its children
	 * when it is not PID 1 (see init__child_kill). */
	setpgid(0, 0);
	in_fd = above_stdio(in_fd);
	out_fd = above_stdio(out_fd);
	err_fd = above_stdio(err_fd);
	/* Above fd 3 as well: dup2() onto 3 below would close it otherwise. */
	if (stem_fd >= 0 && stem_fd <= 3)
		stem_fd = fcntl(stem_fd, F_DUPFD_CLOEXEC, 4);
	if (in_fd < 0 || out_fd < 0 || err_fd < 0 || dup2(in_fd, 0) < 0 ||
	    dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0 ||
	    (stem_fd != -1 && dup2(stem_fd, 3) < 0)) {
		e = errno;
	} else {
		execve(argv[0], argv, envp);
		e = errno;
	}
	/* The report pipe is CLOEXEC: EOF tells the parent exec succeeded. */
	while (write(report_fd, &e, sizeof(e)) < 0 && errno == EINTR)
		;
	_exit(127);
}

static void
report_exec_failure(struct init *in, const char *path, int e)
{
	struct buf *out = init__relay_buf(in);
	struct buf body = BUF_INIT, msg = BUF_INIT;
	size_t start;

	buf_addf(&msg, "cannot start runtime '%s': %s", path, strerror(e));
	init__log("%s", msg.ptr);
	buf_adds(&body, "{\"errorMessage\":");
	init__json_str(&body, msg.ptr, msg.len);
	buf_adds(&body, ",\"errorType\":\"Runtime.InvalidEntrypoint\",\"path\":");
	init__json_str(&body, path, strlen(path));
	buf_adds(&body, ",\"errno\":");
	init__json_str(&body, strerror(e), strlen(strerror(e)));
	buf_adds(&body, "}");
	start = relay_begin(out, RELAY_INIT_ERROR);
	relay_puts(out, RELAY_T_ERRTYPE, "Runtime.InvalidEntrypoint");
	relay_put(out, RELAY_T_BODY, body.ptr, body.len);
	relay_end(out, start);
	buf_release(&body);
	buf_release(&msg);
}

/* An fd that reads as EOF: /dev/null, or an empty pipe if the sandbox has no
 * /dev/null. */
static int
open_null(void)
{
	int p[2];
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	close(p[1]);
	return p[0];
}

int
init__child_start(struct init *in, char *const argv[], char *const envp[], int stem_fd)
{
	_cleanup_close_ int null_fd = -1, out_r = -1, out_w = -1, err_r = -1, err_w = -1;
	_cleanup_close_ int rep_r = -1, rep_w = -1;
	int p[2], e;
	ssize_t n;
	pid_t pid;

	null_fd = open_null();
	if (null_fd < 0)
		return null_fd;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	out_r = p[0];
	out_w = p[1];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	err_r = p[0];
	err_w = p[1];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	rep_r = p[0];
	rep_w = p[1];
	fflush(NULL);

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		child_exec(argv, envp, null_fd, out_w, err_w, stem_fd, rep_w);

	in->child = pid;
	/* Close our copies of the write ends now, or the pipes never see EOF. */
	close(steal_fd(&out_w));
	close(steal_fd(&err_w));
	close(steal_fd(&rep_w));
	if (fcntl(out_r, F_SETFL, O_NONBLOCK) < 0 || fcntl(err_r, F_SETFL, O_NONBLOCK) < 0)
		return -errno;
	in->logs[0].fd = steal_fd(&out_r);
	in->logs[1].fd = steal_fd(&err_r);

	/* Blocks only until exec: the report pipe closes on success. */
	do
		n = read(rep_r, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(e))
		report_exec_failure(in, argv[0], e);
	/* The failed child exits 127; reaping it sends RELAY_EXIT as usual. */
	return 0;
}
