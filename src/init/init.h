/*
 * hearth-init: PID 1 of a function's sandbox.
 *
 * It is exec'd as `/init RUNTIME_ARGV...` with fd 3 connected to the daemon
 * (the relay, framed as lib/relay.h says). It starts the runtime, serves it the
 * Lambda Runtime API on 127.0.0.1:9001, forwards what the runtime says (ready,
 * responses, errors, log lines, its exit) to the daemon and hands the runtime
 * the invocations the daemon sends. It reaps every zombie in the sandbox and
 * exits when the runtime exits or the daemon hangs up, which ends the whole pid
 * namespace.
 *
 * One thread, one poll() loop, no libuv: init must stay small, start fast and
 * never block on either side. The files split by peer:
 *   main.c   the loop, the relay to the daemon, shutdown
 *   api.c    the Runtime API server (llhttp) and the invocation queue
 *   child.c  starting the runtime, its log pipes, reaping
 *
 * This header is internal to hearth-init; nothing else links these symbols.
 */
#ifndef HEARTH_INIT_H
#define HEARTH_INIT_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "lib/buf.h"
#include "lib/compiler.h"

#define INIT_RELAY_FD 3
#define INIT_DEFAULT_PORT 9001
#define INIT_MAX_CONNS 64
/* Lambda's limit on a response: 6 MiB + 100 bytes. */
#define INIT_MAX_RESPONSE 6291556u
/* Beyond this much unsent output to the daemon, stop reading the runtime's pipes
 * and connections: a slow daemon slows the runtime instead of growing init. */
#define INIT_RELAY_HIGH_WATER (16u << 20)
/* A log line is forwarded in pieces of at most this many bytes. */
#define INIT_LOG_LINE_MAX (256u << 10)

/* Bytes waiting to be written to a non-blocking fd. Written from `off` so a
 * partial write costs no memmove of a multi-megabyte buffer. */
struct outq {
	struct buf b;
	size_t off;
};

/* One output stream of the runtime (stdout or stderr). */
struct logpipe {
	int fd;			/* -1 once closed */
	char stream;		/* '1' or '2', as RELAY_LOG's STREAM field */
	struct buf line;	/* bytes of the current, unfinished line */
};

/* An invocation received from the daemon and not yet handed to the runtime. */
struct pending {
	struct pending *next;
	char *id;
	struct buf http;	/* the complete 200 answer to GET /next */
	size_t head_len;	/* where the headers' closing blank line starts */
};

struct conn;

struct init {
	/* the daemon */
	int relay_fd;			/* -1 once the daemon hung up */
	struct buf relay_in;
	struct outq relay_out;

	/* the Runtime API */
	int listen_fd;
	struct conn *conns[INIT_MAX_CONNS];
	size_t nconns;
	struct pending *queue, **queue_tail;
	char *inflight_id;		/* handed out, not yet answered; NULL if none */
	bool handed_out;		/* an invocation was handed out: init is over */
	unsigned long long wait_seq;	/* last number given to a parked GET /next */

	/* the runtime */
	pid_t child;			/* -1 before start */
	bool child_exited;
	int child_status;		/* wait status, valid once child_exited */
	struct logpipe logs[2];
	int sigfd;			/* signalfd for SIGCHLD */

	/* A pre-started runtime (HEARTH_STEM set, src/sandbox/stem.c): init's
	 * end of the socket the runtime waits on for its function's
	 * environment; -1 otherwise and once RELAY_ASSIGN has passed it on. */
	int stem_fd;
};

/* main.c */
/* init's own diagnostics, to its stderr: "hearth-init: ..." */
void init__log(const char *fmt, ...) FORMAT(1, 2);
void init__outq_release(struct outq *q);
size_t init__outq_pending(const struct outq *q);
/* Writes what it can; returns 0 (maybe partially written), or -errno on a
 * fatal error (EAGAIN is not one). */
int init__outq_flush(struct outq *q, int fd);
/* Appends a JSON string literal (quotes included) for s[0..n). */
void init__json_str(struct buf *b, const char *s, size_t n);
/* The relay's output buffer: callers append frames with relay_begin() etc. */
struct buf *init__relay_buf(struct init *in);

/* api.c */
int init__api_listen(struct init *in, const char *port);
/* Takes an INVOKE frame's fields; returns -EBADMSG when a required one is
 * missing or a value cannot be an HTTP header. */
struct relay_msg;
int init__api_invoke(struct init *in, const struct relay_msg *m);
/* poll() support: fills fds for the listener and connections; returns the
 * number used. `throttle` stops reading request bytes. */
size_t init__api_pollfds(struct init *in, struct pollfd *fds, bool throttle);
void init__api_events(struct init *in, const struct pollfd *fds, size_t n);
/* Frees closed connections; call once per loop iteration. */
void init__api_sweep(struct init *in);
void init__api_release(struct init *in);

/* child.c */
/* Forks and execs argv[0] with envp; sets in->child and the log pipes. When exec
 * fails the child exits 127 after telling us why, and we tell the daemon. */
/* Starts the runtime with argv and envp. stem_fd >= 0 becomes the runtime's
 * fd 3 (its end of the assignment socket). */
int init__child_start(struct init *in, char *const argv[], char *const envp[], int stem_fd);
/* Reads the log pipes after poll() said so; `drain` reads until empty. */
void init__child_read_logs(struct init *in, int idx, bool drain);
/* Forwards the unfinished last lines and closes the pipes. */
void init__child_close_logs(struct init *in);
/* Reaps every exited process; records the runtime's status. */
void init__child_reap(struct init *in);
/* Kills everything the runtime started, and waits for the runtime. */
void init__child_kill(struct init *in);

#endif
