/*
 * The registry of deployed functions, in memory.
 *
 * The store is the durable copy; this map is what the hot path reads, so an
 * invocation never touches SQL. Each entry also knows the pool's handle for
 * its current revision: an update retires the old handle (its instances finish
 * their calls and end) and the next call creates one for the new revision.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "invoke/invoke-internal.h"
#include "lib/err.h"
#include "store/code.h"
#include "lib/banned.h"

/* Lambda's default /tmp, for a configuration that predates tmp_mb; and the
 * pids cap (a fork bomb stops there). */
#define TMP_MB_DEFAULT 512
#define PIDS_MAX 1024

static void
entry_free(struct fn_entry *fe)
{
	if (fe->pf)
		pool_fn_retire(fe->pf);
	if (fe->log_fd >= 0)
		close(fe->log_fd);
	fn_config_release(&fe->cfg);
	free(fe);
}

static void
copy_config(struct fn_config *dst, const struct fn_config *src)
{
	*dst = *src;
	dst->name = xstrdup(src->name);
	dst->runtime = xstrdup(src->runtime);
	dst->handler = xstrdup(src->handler ? src->handler : "");
	dst->description = xstrdup(src->description ? src->description : "");
	dst->env_json = xstrdup(src->env_json ? src->env_json : "{}");
	dst->code_sha256 = xstrdup(src->code_sha256);
	dst->network = xstrdup(src->network ? src->network : "none");
}

void
invoke_fn_set(struct invoke_service *svc, const struct fn_config *fn)
{
	struct fn_entry *fe = map_get(&svc->fns, fn->name);

	if (fe) {
		map_del(&svc->fns, fe->cfg.name);
		if (fe->pf)
			pool_fn_retire(fe->pf);
		fe->pf = NULL;
		fn_config_release(&fe->cfg);
	} else {
		fe = xcalloc(1, sizeof(*fe));
		fe->log_fd = -1;
	}
	copy_config(&fe->cfg, fn);
	map_put(&svc->fns, fe->cfg.name, fe);
}

void
invoke_fn_remove(struct invoke_service *svc, const char *name)
{
	struct fn_entry *fe = map_del(&svc->fns, name);

	if (fe)
		entry_free(fe);
}

const struct fn_config *
invoke_fn_get(struct invoke_service *svc, const char *name)
{
	struct fn_entry *fe = map_get(&svc->fns, name);

	return fe ? &fe->cfg : NULL;
}

struct fn_entry *
invoke__fn(struct invoke_service *svc, const char *name)
{
	return map_get(&svc->fns, name);
}

void
invoke__registry_release(struct invoke_service *svc)
{
	size_t it = 0;
	void *v;

	while (map_next(&svc->fns, &it, NULL, &v))
		entry_free(v);
	map_release(&svc->fns);
}

static const char *
runtime_subdir(const char *runtime)
{
	if (strcmp(runtime, "python3") == 0)
		return "python";
	if (strcmp(runtime, "nodejs") == 0)
		return "node";
	return NULL;
}

int
invoke_runtime_check(struct invoke_service *svc, const char *runtime, struct err *err)
{
	const char *sub;
	char path[4096];

	if (strcmp(runtime, "provided") == 0)
		return 0;
	sub = runtime_subdir(runtime);
	if (!sub)
		return err_setmsg(err, EINVAL,
				  "unknown runtime '%s' (expected provided, python3 or nodejs)", runtime);
	snprintf(path, sizeof(path), "%s/%s/bootstrap", svc->cfg.runtimes_dir ? svc->cfg.runtimes_dir : "",
		 sub);
	if (!svc->cfg.runtimes_dir || access(path, X_OK) < 0)
		return err_setmsg(err, EINVAL, "runtime '%s' is not installed on this host (no %s)",
				  runtime, path);
	return 0;
}

/* Reserved names a function's own environment may not override (Lambda rejects them too). */
static int
reserved_env(const char *k)
{
	static const char *const names[] = {
		"AWS_LAMBDA_RUNTIME_API", "_HANDLER", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
		"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_LOG_GROUP_NAME",
		"AWS_LAMBDA_LOG_STREAM_NAME", "AWS_REGION", "AWS_EXECUTION_ENV", "TZ",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (strcmp(k, names[i]) == 0)
			return 1;
	return 0;
}

static void
push(char ***v, size_t *n, char *s)
{
	*v = xrealloc(*v, (*n + 2) * sizeof(**v));
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
}

struct pool_fn *
invoke__pool_fn(struct invoke_service *svc, struct fn_entry *fe)
{
	const struct fn_config *c = &fe->cfg;
	struct pool_fn_spec spec = { 0 };
	char **envp = NULL, *code_dir, *runtime_dir = NULL, stream[80], day[16];
	const char *argv[2] = { "/var/task/bootstrap", NULL };
	const char *sub = runtime_subdir(c->runtime);
	size_t n = 0, i;
	json_t *env;
	time_t now = time(NULL);
	struct tm tm;

	if (fe->pf)
		return fe->pf;
	code_dir = code_path(svc->cfg.code_root, c->code_sha256);
	if (sub) {
		runtime_dir = xasprintf("%s/%s", svc->cfg.runtimes_dir, sub);
		argv[0] = "/var/runtime/bootstrap";
	}
	gmtime_r(&now, &tm);
	strftime(day, sizeof(day), "%Y/%m/%d", &tm);
	snprintf(stream, sizeof(stream), "%s/[%s]%llu", day, "$LATEST", (unsigned long long)c->revision);

	push(&envp, &n, xstrdup("AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001"));
	push(&envp, &n, xasprintf("_HANDLER=%s", c->handler));
	push(&envp, &n, xstrdup("LAMBDA_TASK_ROOT=/var/task"));
	push(&envp, &n, xstrdup("LAMBDA_RUNTIME_DIR=/var/runtime"));
	push(&envp, &n, xasprintf("AWS_LAMBDA_FUNCTION_NAME=%s", c->name));
	push(&envp, &n, xstrdup("AWS_LAMBDA_FUNCTION_VERSION=$LATEST"));
	push(&envp, &n, xasprintf("AWS_LAMBDA_FUNCTION_MEMORY_SIZE=%u", c->memory_mb));
	push(&envp, &n, xasprintf("AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/%s", c->name));
	push(&envp, &n, xasprintf("AWS_LAMBDA_LOG_STREAM_NAME=%s", stream));
	push(&envp, &n, xasprintf("AWS_REGION=%s", svc->cfg.region));
	push(&envp, &n, xasprintf("AWS_DEFAULT_REGION=%s", svc->cfg.region));
	push(&envp, &n, xasprintf("AWS_EXECUTION_ENV=AWS_Lambda_%s", c->runtime));
	push(&envp, &n, xstrdup("TZ=UTC"));
	push(&envp, &n, xstrdup("LANG=en_US.UTF-8"));
	push(&envp, &n, xstrdup("PATH=/usr/local/bin:/usr/bin/:/bin:/opt/bin"));
	push(&envp, &n, xstrdup("LD_LIBRARY_PATH=/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:"
				"/var/task:/var/task/lib:/opt/lib"));
	env = json_loads(c->env_json, 0, NULL);
	if (json_is_object(env)) {
		const char *k;
		json_t *v;

		json_object_foreach(env, k, v) {
			if (json_is_string(v) && !reserved_env(k))
				push(&envp, &n, xasprintf("%s=%s", k, json_string_value(v)));
		}
	}
	json_decref(env);

	spec.name = c->name;
	spec.revision = c->revision;
	spec.code_dir = code_dir;
	spec.runtime_dir = runtime_dir;
	spec.argv = argv;
	spec.envp = (const char *const *)envp;
	spec.mem_bytes = (uint64_t)c->memory_mb << 20;
	spec.tmp_bytes = (uint64_t)(c->tmp_mb ? c->tmp_mb : TMP_MB_DEFAULT) << 20;
	spec.network = c->network && strcmp(c->network, "host") == 0 ? SANDBOX_NET_HOST :
								       SANDBOX_NET_NONE;
	spec.pids_max = PIDS_MAX;
	spec.keepalive_ms = c->keepalive_s ? (uint64_t)c->keepalive_s * 1000 : svc->cfg.keepalive_ms;
	/* A window set on the function is a promise: keep it fixed. */
	spec.keepalive_adaptive = !c->keepalive_s && svc->cfg.keepalive_adaptive;
	spec.reserved = UINT32_MAX;
	spec.provisioned = 0;
	fe->pf = pool_fn_new(svc->pool, &spec);

	for (i = 0; i < n; i++)
		free(envp[i]);
	free(envp);
	free(code_dir);
	free(runtime_dir);
	return fe->pf;
}

static int
load_one(const struct fn_config *fn, void *data)
{
	invoke_fn_set(data, fn);
	return 0;
}

int
invoke__load(struct invoke_service *svc, struct err *err)
{
	int r = store_fn_list(svc->store, load_one, svc, err);

	return r < 0 ? err_wrap(err, "cannot load functions") : 0;
}
