/*
 * `hearth serve`.
 *
 * Start-up order matters: the sandbox spawner is forked first, while this
 * process is still small (fork copies page tables: ~33 ms per GB here, ~0.6
 * ms from a small process), and before any thread exists. Then the data
 * directory, token, store, invocation service and the admin listener.
 *
 * Shutdown (SIGTERM or SIGINT): stop accepting, let calls in flight finish
 * for a grace period, then end every instance (calls still running fail with
 * a clear error), stop the spawner (which removes every cgroup), close the
 * store, exit 0. A second signal skips the grace period.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "api/api.h"
#include "daemon/daemon.h"
#include "gateway/gateway.h"
#include "http/http.h"
#include "invoke/invoke.h"
#include "lib/cleanup.h"
#include "lib/err.h"
#include "lib/id.h"
#include "lib/log.h"
#include "sandbox/sandbox.h"
#include "store/code.h"
#include "store/store.h"
#include "triggers/triggers.h"
#include "lib/banned.h"

#define GRACE_MS 10000
#define MAX_BODY_BYTES (72u << 20)	/* a 50 MB archive as base64 in JSON */

struct daemon {
	uv_loop_t loop;
	struct sandbox_client sc;
	struct store *store;
	struct invoke_service *invoke;
	struct http_server *http;
	struct api api;
	uv_signal_t sigterm, sigint;
	uv_timer_t grace;
	uint64_t grace_left_ms;
	int stopping;
	char *data_dir, *address_path, *runtimes_dir;
	struct gateway *gateway;
	char *gateway_address_path;
	bool loop_ready;
};

static int
read_or_create_token(const char *path, char token[65], struct err *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd >= 0) {
		n = read(fd, token, 64);
		if (n < 32)
			return err_setmsg(err, EINVAL, "token file '%s' is damaged; remove it to make a "
					  "new one", path);
		token[n] = '\0';
		token[strcspn(token, "\r\n")] = '\0';
		return 0;
	}
	if (errno != ENOENT)
		return err_set(err, errno, "cannot read token file '%s'", path);
	id_hex(token, 32);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_set(err, errno, "cannot create token file '%s'", path);
	if (write(fd, token, 64) != 64 || write(fd, "\n", 1) != 1)
		return err_set(err, errno ? errno : EIO, "cannot write token file '%s'", path);
	return 0;
}

static int
split_listen(const char *listen, char *host, size_t hostlen, int *port, struct err *err)
{
	const char *colon = strrchr(listen, ':');
	char *end;
	long p;

	if (!colon || colon == listen || (size_t)(colon - listen) >= hostlen)
		return err_setmsg(err, EINVAL, "--listen wants HOST:PORT, not '%s'", listen);
	p = strtol(colon + 1, &end, 10);
	if (!colon[1] || *end || p < 0 || p > 65535)
		return err_setmsg(err, EINVAL, "invalid port in '%s'", listen);
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	/* [::1]:7070 */
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	*port = (int)p;
	return 0;
}

/* 75 % of RAM, counting each instance at its memory size (Lambda's model). */
static uint64_t
default_budget_mb(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);

	if (pages <= 0 || size <= 0)
		return 4096;
	return (uint64_t)pages * (uint64_t)size / (1 << 20) * 3 / 4;
}

static char *
exe_sibling(const char *name)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n <= 0)
		return xstrdup(name);
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	return xasprintf("%s/%s", self, name);
}

static char *
find_runtimes_dir(void)
{
	const char *env = getenv("HEARTH_RUNTIMES");
	char *dir;

	if (env)
		return xstrdup(env);
	/* build/hearth -> ./runtimes; build/san/hearth -> ../runtimes */
	dir = exe_sibling("../runtimes");
	if (access(dir, F_OK) == 0)
		return dir;
	free(dir);
	dir = exe_sibling("../../runtimes");
	if (access(dir, F_OK) == 0)
		return dir;
	free(dir);
	return NULL;
}

static void
all_closed(uv_handle_t *h)
{
	(void)h;
}

static void pool_stopped(void *data);

static void
unpacks_tick(uv_timer_t *t)
{
	pool_stopped(t->data);
}

static void
pool_stopped(void *data)
{
	struct daemon *d = data;

	/* An unpack on the worker pool still holds its request: the HTTP server
	 * must outlive it. Unpacks are bounded (250 MB), so this ends. */
	if (d->api.unpacking) {
		uv_timer_start(&d->grace, unpacks_tick, 20, 0);
		return;
	}
	log_info("every instance has ended");
	sandbox_stop(&d->sc);
	invoke_service_free(d->invoke);
	d->invoke = NULL;
	http_server_free(d->http);
	d->http = NULL;
	gateway_free(d->gateway);
	d->gateway = NULL;
	uv_close((uv_handle_t *)&d->sigterm, all_closed);
	uv_close((uv_handle_t *)&d->sigint, all_closed);
	uv_close((uv_handle_t *)&d->grace, all_closed);
}

static void
end_instances(struct daemon *d)
{
	if (d->stopping >= 2)
		return;
	d->stopping = 2;
	uv_timer_stop(&d->grace);
	if (invoke_inflight(d->invoke))
		log_warn("ending %zu calls still in flight", invoke_inflight(d->invoke));
	pool_stop(invoke_pool(d->invoke), pool_stopped, d);
}

static void
grace_tick(uv_timer_t *t)
{
	struct daemon *d = t->data;

	if ((invoke_inflight(d->invoke) == 0 && d->api.unpacking == 0) || d->grace_left_ms <= 50) {
		end_instances(d);
		return;
	}
	d->grace_left_ms -= 50;
}

static void
on_signal(uv_signal_t *s, int signum)
{
	struct daemon *d = s->data;

	if (d->stopping) {
		log_info("second signal: ending every instance now");
		end_instances(d);
		return;
	}
	log_info("%s: stopping (no new requests; calls in flight get %d s)", strsignal(signum),
		 GRACE_MS / 1000);
	d->stopping = 1;
	unlink(d->address_path);
	http_server_stop(d->http);
	if (d->gateway_address_path)
		unlink(d->gateway_address_path);
	gateway_stop(d->gateway);
	/* Route changes need the gateway; requests in flight keep their own copies. */
	d->api.gateway = NULL;
	/* No firing after this: a firing during the grace period would be queued
	 * for the next start anyway, and the timer must close before the loop ends. */
	schedule_service_free(d->api.schedules);
	d->api.schedules = NULL;
	invoke_drain(d->invoke);
	d->grace_left_ms = GRACE_MS;
	uv_timer_start(&d->grace, grace_tick, 0, 50);
}

static int
write_address(const char *path, const char *host, int port, struct err *err)
{
	char addr[300];
	_cleanup_close_ int fd = -1;

	snprintf(addr, sizeof(addr), "%s:%d\n", strchr(host, ':') ? "[::1]" : host, port);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, addr, strlen(addr)) < 0)
		return err_set(err, errno, "cannot write '%s'", path);
	return 0;
}

/* The user-facing listener (docs/gateway.md). Its routes are loaded even when it does not
 * listen ("--gateway none"), so they can still be managed. Tests that pass port 0 learn the
 * real one from <data>/gateway-address. */
static int
start_gateway(struct daemon *d, const struct daemon_opts *o, struct err *err)
{
	struct gateway_config gcfg = { 0 };
	const char *listen = o->gateway ? o->gateway : GATEWAY_DEFAULT_LISTEN;
	char host[256];
	int port = 0, bound = 0, r;

	if (getenv("HEARTH_GATEWAY_HEADER_TIMEOUT_MS"))
		gcfg.header_timeout_ms = strtoull(getenv("HEARTH_GATEWAY_HEADER_TIMEOUT_MS"),
						  NULL, 10);
	if (getenv("HEARTH_GATEWAY_IDLE_TIMEOUT_MS"))
		gcfg.idle_timeout_ms = strtoull(getenv("HEARTH_GATEWAY_IDLE_TIMEOUT_MS"), NULL,
						10);
	r = gateway_new(&d->gateway, &d->loop, d->store, d->invoke, &gcfg, err);
	if (r < 0)
		return r;
	d->api.gateway = d->gateway;
	if (strcmp(listen, "none") == 0)
		return 0;
	if (split_listen(listen, host, sizeof(host), &port, err) < 0)
		return -err->code;
	if (gateway_listen(d->gateway, host, port, &bound, err) < 0)
		return err_wrap(err, "cannot listen for the gateway on '%s' (see --gateway)",
				listen);
	d->gateway_address_path = xasprintf("%s/gateway-address", d->data_dir);
	if (write_address(d->gateway_address_path, host, bound, err) < 0)
		return -err->code;
	log_info("gateway: listening on http://%s%s%s:%d", strchr(host, ':') ? "[" : "", host,
		 strchr(host, ':') ? "]" : "", bound);
	return 0;
}

static int
setup(struct daemon *d, const struct daemon_opts *o, struct err *err)
{
	struct sandbox_config scfg = { 0 };
	struct invoke_config icfg = { 0 };
	char host[256], *path, *sbdir, *init_path, *runtimes, *code_root, addr[300];
	int port = 0, bound = 0, r;

	if (split_listen(o->listen, host, sizeof(host), &port, err) < 0)
		return -err->code;
	if (mkdir(o->data_dir, 0700) < 0 && errno != EEXIST)
		return err_set(err, errno, "cannot create data directory '%s'", o->data_dir);
	d->data_dir = realpath(o->data_dir, NULL);
	if (!d->data_dir)
		return err_set(err, errno, "cannot resolve '%s'", o->data_dir);

	/* The spawner first, while this process is small and single-threaded. */
	init_path = o->init_path ? xstrdup(o->init_path) : exe_sibling("hearth-init");
	sbdir = xasprintf("%s/sandbox", d->data_dir);
	if (mkdir(sbdir, 0700) < 0 && errno != EEXIST) {
		r = err_set(err, errno, "cannot create '%s'", sbdir);
		free(sbdir);
		free(init_path);
		return r;
	}
	if (access(init_path, X_OK) < 0) {
		r = err_set(err, errno, "cannot use hearth-init at '%s' (see --init)", init_path);
		free(sbdir);
		free(init_path);
		return r;
	}
	scfg.state_dir = sbdir;
	scfg.init_path = init_path;
	scfg.allow_weaker_limits = o->allow_weaker_limits;
	scfg.prestart = o->prestart;
	r = sandbox_start(&scfg, &d->sc, err);
	free(sbdir);
	free(init_path);
	if (r < 0)
		return r;

	path = xasprintf("%s/token", d->data_dir);
	r = read_or_create_token(path, d->api.token, err);
	free(path);
	if (r < 0)
		return r;
	if (api_credentials_load(&d->api, d->data_dir, err) < 0)
		return -err->code;
	path = xasprintf("%s/hearth.db", d->data_dir);
	umask(077);	/* the database and its WAL are the daemon's alone */
	r = store_open(&d->store, path, err);
	umask(022);
	free(path);
	if (r < 0)
		return r;

	if (uv_loop_init(&d->loop) < 0)
		return err_setmsg(err, EIO, "cannot initialise the event loop");
	d->loop_ready = true;
	code_root = xasprintf("%s/code", d->data_dir);
	if (mkdir(code_root, 0755) < 0 && errno != EEXIST) {
		r = err_set(err, errno, "cannot create '%s'", code_root);
		free(code_root);
		return r;
	}
	/* An unpack cut short by a crash leaves a temporary tree: remove it. */
	if (code_clean_tmp(code_root, err) < 0) {
		free(code_root);
		return -err->code;
	}
	runtimes = find_runtimes_dir();
	d->runtimes_dir = runtimes;
	icfg.data_dir = d->data_dir;
	icfg.code_root = code_root;
	icfg.runtimes_dir = runtimes;
	icfg.region = "us-east-1";
	icfg.keepalive_ms = (uint64_t)o->keepalive_s * 1000;
	icfg.retry_base_ms = getenv("HEARTH_ASYNC_RETRY_MS") ?
				     strtoull(getenv("HEARTH_ASYNC_RETRY_MS"), NULL, 10) : 60000;
	icfg.async_max_attempts = 3;
	icfg.event_retention_ms = o->event_retention_ms;
	icfg.log_max_bytes = o->log_max_bytes;
	icfg.keepalive_adaptive = o->keepalive_adaptive;
	icfg.pool.budget_mb = o->memory_budget_mb ? o->memory_budget_mb : default_budget_mb();
	icfg.pool.queue_wait_ms = o->queue_wait_ms;
	icfg.pool.queue_max = 1000;
	icfg.pool.freeze_after_ms = o->freeze_after_ms;
	/* The service copies the config but borrows its strings for its life:
	 * they are freed with the daemon. */
	d->api.code_root = code_root;
	r = invoke_service_new(&d->invoke, &d->loop, d->store, &d->sc, &icfg, err);
	if (r < 0)
		return r;
	d->api.loop = &d->loop;
	d->api.store = d->store;
	d->api.invoke = d->invoke;
	r = schedule_service_new(&d->api.schedules, &d->loop, d->store, d->invoke, icfg.region,
				 err);
	if (r < 0)
		return r;

	d->http = http_server_new(&d->loop, &(struct http_server_config){
		.max_body_bytes = MAX_BODY_BYTES }, api_handle, &d->api);
	if (http_server_listen(d->http, host, port, &bound, err) < 0)
		return err_wrap(err, "cannot listen on '%s'", o->listen);

	r = start_gateway(d, o, err);
	if (r < 0)
		return r;

	uv_signal_init(&d->loop, &d->sigterm);
	uv_signal_init(&d->loop, &d->sigint);
	d->sigterm.data = d->sigint.data = d;
	uv_signal_start(&d->sigterm, on_signal, SIGTERM);
	uv_signal_start(&d->sigint, on_signal, SIGINT);
	uv_timer_init(&d->loop, &d->grace);
	d->grace.data = d;

	/* Tests and scripts that ask for port 0 learn the real one here. */
	snprintf(addr, sizeof(addr), "%s:%d\n", strchr(host, ':') ? "[::1]" : host, bound);
	d->address_path = xasprintf("%s/address", d->data_dir);
	{
		_cleanup_close_ int fd = open(d->address_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
					      0644);

		if (fd < 0 || write(fd, addr, strlen(addr)) < 0)
			return err_set(err, errno, "cannot write '%s'", d->address_path);
	}
	log_info("hearth %s: listening on http://%.*s (data %s, cgroup v%d, memory budget %llu MB, "
		 "keep-alive %s %u s)", "0.1", (int)strlen(addr) - 1, addr, d->data_dir,
		 d->sc.cgroup_version, (unsigned long long)icfg.pool.budget_mb,
		 o->keepalive_adaptive ? "adaptive, falling back to" : "fixed", o->keepalive_s);
	return 0;
}

int
daemon_run(const struct daemon_opts *opts)
{
	struct daemon d;
	struct err err = ERR_INIT;
	int r;

	memset(&d, 0, sizeof(d));
	d.sc.fd = -1;
	if (opts->verbose)
		log_max_level = LOG_DEBUG;
	signal(SIGPIPE, SIG_IGN);
	umask(022);
	r = setup(&d, opts, &err);
	if (r < 0) {
		fprintf(stderr, "hearth: error: %s\n", err.msg);
		schedule_service_free(d.api.schedules);
		if (d.invoke) {
			/* Nothing has run yet: no instance exists. */
			pool_stop(invoke_pool(d.invoke), NULL, NULL);
			invoke_service_free(d.invoke);
		}
		if (d.http)
			http_server_free(d.http);
		gateway_free(d.gateway);
		if (d.sc.fd >= 0)
			sandbox_stop(&d.sc);
		if (d.loop_ready) {
			uv_run(&d.loop, UV_RUN_DEFAULT);
			uv_loop_close(&d.loop);
		}
		store_close(d.store);
		free((char *)d.api.code_root);
		free(d.address_path);
		free(d.gateway_address_path);
		free(d.runtimes_dir);
		free(d.data_dir);
		return 1;
	}
	uv_run(&d.loop, UV_RUN_DEFAULT);
	r = uv_loop_close(&d.loop);
	if (r < 0)
		log_warn("event loop closed with handles open: %s", uv_strerror(r));
	store_close(d.store);
	free((char *)d.api.code_root);
	free(d.address_path);
	free(d.gateway_address_path);
	free(d.runtimes_dir);
	free(d.data_dir);
	log_info("stopped");
	return 0;
}
