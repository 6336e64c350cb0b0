/*
 * invoke-bench: latency of invocations through the admin API, and the floor.
 *
 *   invoke-bench warm HOST PORT TOKEN NAME COUNT
 *       COUNT sequential invocations of NAME on one keep-alive connection.
 *   invoke-bench cold HOST PORT TOKEN PREFIX COUNT [GAP_MS]
 *       one invocation each of PREFIX0..PREFIX<COUNT-1>, freshly deployed, so
 *       every call is a cold start (sandbox, hearth-init, runtime start);
 *       GAP_MS apart (default 0: back to back), which gives the daemon's
 *       pre-started runtimes time to start again between calls.
 *   invoke-bench gateway HOST PORT PATH COUNT
 *       COUNT sequential POSTs of the same body to PATH on the gateway listener
 *       (no token), on one keep-alive connection, after one to warm up.
 *   invoke-bench floor BINARY COUNT [ARG...]
 *       fork+exec+wait of BINARY (with ARGs) with no sandbox and no platform.
 *
 * Prints "p50_us p90_us p99_us max_us n". Latency is request written to
 * response read, measured with CLOCK_MONOTONIC.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int
dial(const char *host, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0 || inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("connect");
		exit(1);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Sends one invoke (token NULL: a gateway request to the path in name) and reads the
 * whole response; returns the HTTP status. */
static int
roundtrip(int fd, const char *token, const char *name)
{
	static char resp[1 << 20];
	char req[1024];
	const char *body = "{\"name\":\"bench\"}";
	size_t got = 0;
	int n, status = 0;

	if (token)
		n = snprintf(req, sizeof(req),
			     "POST /v1/functions/%s/invoke HTTP/1.1\r\nHost: bench\r\n"
			     "Authorization: Bearer %s\r\nContent-Length: %zu\r\n\r\n%s",
			     name, token, strlen(body), body);
	else
		n = snprintf(req, sizeof(req),
			     "POST %s HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
			     "Content-Length: %zu\r\n\r\n%s", name, strlen(body), body);
	if (write(fd, req, (size_t)n) != n) {
		perror("write");
		exit(1);
	}
	for (;;) {
		ssize_t r = read(fd, resp + got, sizeof(resp) - got - 1);
		char *hdr_end, *cl;

		if (r <= 0) {
			fprintf(stderr, "connection closed\n");
			exit(1);
		}
		got += (size_t)r;
		resp[got] = '\0';
		hdr_end = strstr(resp, "\r\n\r\n");
		if (!hdr_end)
			continue;
		cl = strcasestr(resp, "content-length:");
		if (cl && got >= (size_t)(hdr_end + 4 - resp) + strtoul(cl + 15, NULL, 10)) {
			sscanf(resp, "HTTP/1.1 %d", &status);
			return status;
		}
	}
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
report(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp);
	printf("%.1f %.1f %.1f %.1f %d\n", v[n / 2], v[n * 9 / 10], v[n * 99 / 100], v[n - 1], n);
}

int
main(int argc, char **argv)
{
	double *lat;
	int i, n;

	if (argc >= 4 && strcmp(argv[1], "floor") == 0) {
		n = atoi(argv[3]);
		/* argv becomes BINARY ARG... NULL for posix_spawn. */
		memmove(argv + 3, argv + 4, (size_t)(argc - 3) * sizeof(*argv));
		lat = calloc((size_t)n, sizeof(*lat));
		for (i = 0; i < n; i++) {
			char **args = argv + 2;	/* BINARY, then ARGs (COUNT was moved out) */
			double t0 = now_us();
			pid_t pid;
			int st;

			if (posix_spawn(&pid, argv[2], NULL, NULL, args, (char *[]){ NULL }) != 0) {
				perror("posix_spawn");
				return 1;
			}
			waitpid(pid, &st, 0);
			lat[i] = now_us() - t0;
		}
		report(lat, n);
		return 0;
	}
	if (argc == 6 && strcmp(argv[1], "gateway") == 0) {
		int fd = dial(argv[2], atoi(argv[3]));

		n = atoi(argv[5]);
		lat = calloc((size_t)n, sizeof(*lat));
		roundtrip(fd, NULL, argv[4]);
		for (i = 0; i < n; i++) {
			double t0 = now_us();
			int st = roundtrip(fd, NULL, argv[4]);

			lat[i] = now_us() - t0;
			if (st != 200) {
				fprintf(stderr, "gateway %s: HTTP %d\n", argv[4], st);
				return 1;
			}
		}
		close(fd);
		report(lat, n);
		return 0;
	}
	if ((argc != 7 && !(argc == 8 && strcmp(argv[1], "cold") == 0)) ||
	    (strcmp(argv[1], "warm") && strcmp(argv[1], "cold") && strcmp(argv[1], "thaw"))) {
		fprintf(stderr, "usage: invoke-bench warm|cold|thaw HOST PORT TOKEN NAME COUNT\n"
				"       invoke-bench cold HOST PORT TOKEN PREFIX COUNT GAP_MS\n"
				"       invoke-bench gateway HOST PORT PATH COUNT\n"
				"       invoke-bench floor BINARY COUNT [ARG...]\n");
		return 2;
	}
	n = atoi(argv[6]);
	lat = calloc((size_t)n, sizeof(*lat));
	{
		int fd = dial(argv[2], atoi(argv[3]));
		int cold = strcmp(argv[1], "cold") == 0;
		/* thaw: each call finds the instance frozen (idle past the daemon's
		 * --freeze-after, 100 ms by default), so the latency includes the
		 * thaw and the runtime's wake-up. */
		int thaw = strcmp(argv[1], "thaw") == 0;
		int gap_ms = argc == 8 ? atoi(argv[7]) : 0;

		/* Warm the connection and, in warm mode, the instance. */
		if (!cold)
			roundtrip(fd, argv[4], argv[5]);
		for (i = 0; i < n; i++) {
			char name[128];
			double t0;
			int st;

			snprintf(name, sizeof(name), cold ? "%s%d" : "%s", argv[5], i);
			if (thaw)
				usleep(250 * 1000);
			else if (gap_ms > 0)
				usleep((useconds_t)gap_ms * 1000);
			t0 = now_us();
			st = roundtrip(fd, argv[4], name);
			lat[i] = now_us() - t0;
			if (st != 200) {
				fprintf(stderr, "invoke %s: HTTP %d\n", name, st);
				return 1;
			}
		}
		close(fd);
	}
	report(lat, n);
	return 0;
}
