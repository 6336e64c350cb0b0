/*
 * gateway-bench: the gateway's per-request mapping in process, without sockets, the
 * loop or the sandbox, so that it can run under valgrind (the daemon cannot: Debian's
 * valgrind 3.19 does not know pidfd_open, and the spawner's seccomp set-up fails under
 * it) and count instructions, which other engineers' load on the machine does not move.
 *
 *   gateway-bench [COUNT [PHASE]]
 *
 * Runs COUNT requests like the ones `make bench` sends (wrk's POST /hello with a small
 * JSON body) through gateway_event_build(), then maps three answers COUNT times each:
 * hello-c's (the event echoed, no statusCode), an API Gateway response with statusCode,
 * headers, a cookie and a body, and the admin path's payload check (jansson's tree, then
 * jscan). Prints CPU ns per
 * operation (CLOCK_PROCESS_CPUTIME_ID); under `valgrind --tool=callgrind`, divide the
 * instruction counts by COUNT. PHASE (1-4) runs only that one of the four, so that a
 * callgrind total is that phase's alone (plus the set-up, one event build).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "gateway/gateway.h"
#ifndef BASELINE	/* built against a tree from before lib/jscan, to compare */
#include "lib/jscan.h"
#endif

static uint64_t
cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int
main(int argc, char **argv)
{
	static const char body[] = "{\"name\":\"bench\"}";
	struct http_header hs[] = {
		{ STR_LIT("Host"), STR_LIT("127.0.0.1:8080") },
		{ STR_LIT("Content-Length"), STR_LIT("16") },
		{ STR_LIT("Content-Type"), STR_LIT("application/json") },
		{ STR_LIT("Authorization"), STR_LIT("Bearer 0123456789abcdef0123456789abcdef") },
	};
	struct http_request req;
	struct http_params params = { 0 };
	struct gateway_event_in in = { 0 };
	struct buf ev = BUF_INIT, hello = BUF_INIT;
	const char *resp = "{\"statusCode\":201,\"headers\":{\"content-type\":\"text/plain\","
			   "\"x-request\":\"abc\"},\"cookies\":[\"s=1; Path=/\"],"
			   "\"body\":\"Hello, bench!\\n\",\"isBase64Encoded\":false}";
	long count = argc > 1 ? atol(argv[1]) : 100000, i;
	int phase = argc > 2 ? atoi(argv[2]) : 0;
	uint64_t t0;
	struct err err = ERR_INIT;
	struct gateway_response r;

	memset(&req, 0, sizeof(req));
	req.method = HTTP_POST;
	req.method_name = STR_LIT("POST");
	req.target = STR_LIT("/hello");
	req.path = STR_LIT("/hello");
	req.query = STR_NULL;
	req.headers = hs;
	req.nheaders = sizeof(hs) / sizeof(hs[0]);
	req.http_minor = 1;
	snprintf(req.peer_ip, sizeof(req.peer_ip), "127.0.0.1");
	buf_init(&req.body);
	buf_add(&req.body, body, sizeof(body) - 1);
	in.req = &req;
	in.route_key = "POST /hello";
	in.params = &params;
	in.request_id = "5f0c6a5e-0000-4000-8000-000000000000";
	in.now_ms = 1795780800000ull;

	gateway_event_build(&in, &ev);
	t0 = cpu_ns();
	for (i = 0; (!phase || phase == 1) && i < count; i++) {
		buf_reset(&ev);
		in.now_ms++;
		gateway_event_build(&in, &ev);
	}
	printf("event build:                %7.0f ns (%zu bytes)\n",
	       (double)(cpu_ns() - t0) / (double)count, ev.len);

	/* hello-c's answer: {"message":...,"input":<the event>}. */
	buf_addf(&hello, "{\"message\":\"Hello, bench!\",\"input\":%s}", ev.ptr);
	t0 = cpu_ns();
	for (i = 0; (!phase || phase == 2) && i < count; i++) {
		if (gateway_response_map(str_from(hello.ptr, hello.len), &r, &err) < 0)
			return fprintf(stderr, "gateway-bench: %s\n", err.msg), 1;
		gateway_response_release(&r);
	}
	printf("answer, plain JSON:         %7.0f ns (%zu bytes)\n",
	       (double)(cpu_ns() - t0) / (double)count, hello.len);

	t0 = cpu_ns();
	for (i = 0; (!phase || phase == 3) && i < count; i++) {
		if (gateway_response_map(str_cstr(resp), &r, &err) < 0)
			return fprintf(stderr, "gateway-bench: %s\n", err.msg), 1;
		gateway_response_release(&r);
	}
	printf("answer with statusCode:     %7.0f ns (%zu bytes)\n",
	       (double)(cpu_ns() - t0) / (double)count, strlen(resp));

	t0 = cpu_ns();
	for (i = 0; (!phase || phase == 4) && i < count; i++) {
		json_t *j = json_loadb(body, sizeof(body) - 1, JSON_DECODE_ANY, NULL);

		if (!j)
			return 1;
		json_decref(j);
	}
	printf("payload check, jansson:     %7.0f ns (%zu bytes)\n",
	       (double)(cpu_ns() - t0) / (double)count, sizeof(body) - 1);
#ifndef BASELINE
	t0 = cpu_ns();
	for (i = 0; (!phase || phase == 4) && i < count; i++) {
		if (jscan_check(body, sizeof(body) - 1, NULL, NULL) < 0)
			return 1;
	}
	printf("payload check, jscan:       %7.0f ns (%zu bytes)\n",
	       (double)(cpu_ns() - t0) / (double)count, sizeof(body) - 1);
#endif
	buf_release(&ev);
	buf_release(&hello);
	buf_release(&req.body);
	return 0;
}
