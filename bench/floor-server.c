/*
 * floor-server: the same answer as examples/hello-c, from a plain C HTTP
 * server with no platform behind it: epoll, keep-alive, one fixed reply per
 * request. `make bench` measures it beside hearth so the platform's cost is
 * a difference measured in one run on one machine.
 *
 *   floor-server PORT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static const char reply[] =
	"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 51\r\n\r\n"
	"{\"message\":\"Hello, bench!\",\"input\":{\"name\":\"bench\"}}";

struct conn {
	int fd;
	size_t len;
	char buf[16384];
};

/* Answers every complete request (head plus Content-Length body) in c->buf. */
static int
serve(struct conn *c)
{
	for (;;) {
		char *end = memmem(c->buf, c->len, "\r\n\r\n", 4), *cl;
		size_t head, body = 0, total;

		if (!end)
			return 0;
		head = (size_t)(end - c->buf) + 4;
		c->buf[head - 1] = '\0';
		cl = strcasestr(c->buf, "content-length:");
		if (cl)
			body = strtoul(cl + 15, NULL, 10);
		total = head + body;
		if (c->len < total)
			return 0;
		if (write(c->fd, reply, sizeof(reply) - 1) < 0)
			return -1;
		memmove(c->buf, c->buf + total, c->len - total);
		c->len -= total;
	}
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct epoll_event ev, evs[256];
	int lfd, ep, one = 1, i, n;

	if (argc != 2)
		return 2;
	sa.sin_port = htons((uint16_t)atoi(argv[1]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 512) < 0) {
		perror("floor-server");
		return 1;
	}
	ep = epoll_create1(0);
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	for (;;) {
		n = epoll_wait(ep, evs, 256, -1);
		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			ssize_t r;

			if (!c) {
				int fd;

				while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					c = calloc(1, sizeof(*c));
					c->fd = fd;
					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
					ev.events = EPOLLIN;
					ev.data.ptr = c;
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
				}
				continue;
			}
			r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
			if (r <= 0 || (c->len += (size_t)r, serve(c)) < 0 || c->len == sizeof(c->buf)) {
				if (r < 0 && errno == EAGAIN)
					continue;
				close(c->fd);
				free(c);
			}
		}
	}
}
