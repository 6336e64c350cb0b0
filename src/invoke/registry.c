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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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
version_free(struct fn_version *v)
{
	if (v->pf)
		pool_fn_retire(v->pf);
	fn_config_release(&v->cfg);
	free(v);
}

static void
alias_free(struct fn_alias *a)
{
	fn_alias_release(a);
	free(a);
}

static void
entry_free(struct invoke_service *svc, struct fn_entry *fe)
{
	size_t it = 0;
	void *v;

	invoke__log_flush(svc, fe);
	buf_release(&fe->log_pending);
	if (fe->pf)
		pool_fn_retire(fe->pf);
	invoke__log_close(svc, fe);
	while (map_next(&fe->versions, &it, NULL, &v))
		version_free(v);
	map_release(&fe->versions);
	it = 0;
	while (map_next(&fe->aliases, &it, NULL, &v))
		alias_free(v);
	map_release(&fe->aliases);
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
		/* Versions, aliases and the reservation outlive updates of $LATEST. */
		fe = xcalloc(1, sizeof(*fe));
		fe->log_fd = -1;
		buf_init(&fe->log_pending);
		map_init(&fe->versions);
		map_init(&fe->aliases);
		fe->reserved = -1;
	}
	copy_config(&fe->cfg, fn);
	map_put(&svc->fns, fe->cfg.name, fe);
	/* Provisioned instances are of the new revision, ready before its first call. */
	if (fe->provisioned)
		invoke__pool_fn(svc, fe);
}

/* Whether a function's instances learn their keep-alive window. */
static int
keepalive_adaptive(const struct invoke_service *svc, const struct fn_entry *fe,
		   const struct fn_config *c)
{
	if (strcmp(fe->ka_policy, "adaptive") == 0)
		return 1;
	if (strcmp(fe->ka_policy, "fixed") == 0)
		return 0;
	/* A window set on the function is a promise: keep it fixed. */
	return !c->keepalive_s && svc->cfg.keepalive_adaptive;
}

int
invoke_sched_set(struct invoke_service *svc, const char *function, const struct fn_sched *s)
{
	struct fn_entry *fe = map_get(&svc->fns, function);
	struct fn_version *v;
	size_t it = 0;

	if (!fe)
		return -ENOENT;
	fe->provisioned = s->provisioned;
	snprintf(fe->ka_policy, sizeof(fe->ka_policy), "%s", s->keepalive_policy);
	if (fe->pf)
		pool_fn_set_sched(fe->pf, fe->provisioned, keepalive_adaptive(svc, fe, &fe->cfg));
	else if (fe->provisioned)
		invoke__pool_fn(svc, fe);
	while (map_next(&fe->versions, &it, NULL, (void **)&v))
		if (v->pf)
			pool_fn_set_sched(v->pf, 0, keepalive_adaptive(svc, fe, &v->cfg));
	return 0;
}

int
invoke_sched_get(struct invoke_service *svc, const char *function, struct fn_sched *s)
{
	struct fn_entry *fe = map_get(&svc->fns, function);

	if (!fe)
		return -ENOENT;
	s->provisioned = fe->provisioned;
	s->keepalive_policy = fe->ka_policy;
	return 0;
}

void
invoke_version_add(struct invoke_service *svc, const struct fn_config *version)
{
	struct fn_entry *fe = map_get(&svc->fns, version->name);
	struct fn_version *v;

	if (!fe || version->version == 0)
		return;
	v = xcalloc(1, sizeof(*v));
	snprintf(v->key, sizeof(v->key), "%u", version->version);
	copy_config(&v->cfg, version);
	/* Versions are immutable: a second add of the same number (a publish that
	 * returned the existing version) replaces it with an identical copy. */
	v = map_put(&fe->versions, v->key, v);
	if (v)
		version_free(v);
}

void
invoke_alias_set(struct invoke_service *svc, const struct fn_alias *alias)
{
	struct fn_entry *fe = map_get(&svc->fns, alias->function);
	struct fn_alias *a, *old;

	if (!fe)
		return;
	a = xcalloc(1, sizeof(*a));
	*a = *alias;
	a->function = xstrdup(alias->function);
	a->name = xstrdup(alias->name);
	a->description = alias->description ? xstrdup(alias->description) : NULL;
	old = map_put(&fe->aliases, a->name, a);
	if (old)
		alias_free(old);
}

void
invoke_alias_remove(struct invoke_service *svc, const char *function, const char *alias)
{
	struct fn_entry *fe = map_get(&svc->fns, function);
	struct fn_alias *a = fe ? map_del(&fe->aliases, alias) : NULL;

	if (a)
		alias_free(a);
}

void
invoke_concurrency_set(struct invoke_service *svc, const char *function, int64_t reserved)
{
	struct fn_entry *fe = map_get(&svc->fns, function);

	if (!fe)
		return;
	fe->reserved = reserved;
	/* The pool counts it across all the function's versions and makes calls
	 * over it wait, as it does for the memory budget. */
	pool_set_reserved(svc->pool, function,
			  reserved < 0 ? POOL_UNRESERVED :
			  (uint32_t)MIN(reserved, (int64_t)POOL_UNRESERVED - 1));
}

int64_t
invoke_concurrency_get(struct invoke_service *svc, const char *function)
{
	struct fn_entry *fe = map_get(&svc->fns, function);

	return fe ? fe->reserved : -1;
}

/* A version number as Lambda writes it: 1 to 4294967295, no sign, no leading zero. */
static int
parse_version(const char *q, uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (*q < '1' || *q > '9' || strlen(q) > 10)
		return -EINVAL;
	v = strtoull(q, &end, 10);
	if (*end || v > UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

int
invoke__resolve(struct invoke_service *svc, const char *name, const char *qualifier,
		struct fn_entry **fep, const struct fn_config **cfg, struct err *err)
{
	struct fn_entry *fe = map_get(&svc->fns, name);
	const struct fn_alias *a;
	struct fn_version *v;
	uint32_t num = 0;
	char key[12];

	if (!fe)
		return err_setmsg(err, ENOENT, "function '%s' does not exist", name);
	*fep = fe;
	*cfg = &fe->cfg;
	if (!qualifier || !*qualifier || strcmp(qualifier, "$LATEST") == 0)
		return 0;
	if (*qualifier >= '0' && *qualifier <= '9') {
		if (parse_version(qualifier, &num) < 0)
			return err_setmsg(err, EINVAL, "invalid version '%s' of function '%s'",
					  qualifier, name);
	} else {
		a = map_get(&fe->aliases, qualifier);
		if (!a)
			return err_setmsg(err, ENOENT, "function '%s' has no alias '%s'", name,
					  qualifier);
		num = a->version;
		if (num == 0)
			return 0;
	}
	snprintf(key, sizeof(key), "%u", num);
	v = map_get(&fe->versions, key);
	if (!v)
		return err_setmsg(err, ENOENT, "function '%s' has no version %u", name, num);
	*cfg = &v->cfg;
	return 0;
}

const struct fn_config *
invoke_resolve(struct invoke_service *svc, const char *name, const char *qualifier,
	       struct err *err)
{
	const struct fn_config *cfg;
	struct fn_entry *fe;

	if (invoke__resolve(svc, name, qualifier, &fe, &cfg, err) < 0)
		return NULL;
	return cfg;
}

void
invoke_fn_remove(struct invoke_service *svc, const char *name)
{
	struct fn_entry *fe = map_del(&svc->fns, name);

	if (!fe)
		return;
	/* A function made later under the same name starts unreserved. */
	if (fe->reserved >= 0)
		pool_set_reserved(svc->pool, name, POOL_UNRESERVED);
	entry_free(svc, fe);
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
		entry_free(svc, v);
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
	/* The platform's own (hearth-init reads HEARTH_STEM): a store from
	 * before the API refused them must not smuggle one in. */
	return strncmp(k, "HEARTH_", 7) == 0;
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
	return invoke__pool_fn_for(svc, fe, &fe->cfg);
}

struct pool_fn *
invoke__pool_fn_for(struct invoke_service *svc, struct fn_entry *fe, const struct fn_config *c)
{
	struct pool_fn_spec spec = { 0 };
	struct pool_fn **slot = &fe->pf;
	char **envp = NULL, *code_dir, *runtime_dir = NULL, stream[80], day[16], version[12];
	const char *argv[2] = { "/var/task/bootstrap", NULL };
	const char *sub = runtime_subdir(c->runtime);
	size_t n = 0, i;
	json_t *env;
	time_t now = time(NULL);
	struct tm tm;

	if (c->version) {
		char key[12];

		snprintf(key, sizeof(key), "%u", c->version);
		slot = &((struct fn_version *)map_get(&fe->versions, key))->pf;
		snprintf(version, sizeof(version), "%u", c->version);
	} else {
		snprintf(version, sizeof(version), "$LATEST");
	}
	if (*slot)
		return *slot;
	code_dir = code_path(svc->cfg.code_root, c->code_sha256);
	if (sub) {
		runtime_dir = xasprintf("%s/%s", svc->cfg.runtimes_dir, sub);
		argv[0] = "/var/runtime/bootstrap";
	}
	gmtime_r(&now, &tm);
	strftime(day, sizeof(day), "%Y/%m/%d", &tm);
	snprintf(stream, sizeof(stream), "%s/[%s]%llu", day, version, (unsigned long long)c->revision);

	push(&envp, &n, xstrdup("AWS_LAMBDA_RUNTIME_API=127.0.0.1:9001"));
	push(&envp, &n, xasprintf("_HANDLER=%s", c->handler));
	push(&envp, &n, xstrdup("LAMBDA_TASK_ROOT=/var/task"));
	push(&envp, &n, xstrdup("LAMBDA_RUNTIME_DIR=/var/runtime"));
	push(&envp, &n, xasprintf("AWS_LAMBDA_FUNCTION_NAME=%s", c->name));
	push(&envp, &n, xasprintf("AWS_LAMBDA_FUNCTION_VERSION=%s", version));
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
	spec.keepalive_adaptive = keepalive_adaptive(svc, fe, c);
	spec.provisioned = c->version ? 0 : fe->provisioned;
	*slot = pool_fn_new(svc->pool, &spec);

	for (i = 0; i < n; i++)
		free(envp[i]);
	free(envp);
	free(code_dir);
	free(runtime_dir);
	return *slot;
}

static int
load_one(const struct fn_config *fn, void *data)
{
	invoke_fn_set(data, fn);
	return 0;
}

static int
load_version(const struct fn_config *fn, void *data)
{
	invoke_version_add(data, fn);
	return 0;
}

static int
load_alias(const struct fn_alias *a, void *data)
{
	invoke_alias_set(data, a);
	return 0;
}

static int
load_reserved(const char *function, int64_t reserved, void *data)
{
	invoke_concurrency_set(data, function, reserved);
	return 0;
}

static int
load_sched(const char *function, const struct fn_sched *s, void *data)
{
	invoke_sched_set(data, function, s);
	return 0;
}

int
invoke__load(struct invoke_service *svc, struct err *err)
{
	int r = store_fn_list(svc->store, load_one, svc, err);

	if (r == 0)
		r = store_version_list(svc->store, NULL, load_version, svc, err);
	if (r == 0)
		r = store_alias_list(svc->store, NULL, load_alias, svc, err);
	if (r == 0)
		r = store_concurrency_list(svc->store, load_reserved, svc, err);
	if (r == 0)
		r = store_fn_sched_list(svc->store, load_sched, svc, err);
	return r < 0 ? err_wrap(err, "cannot load functions") : 0;
}
