/*
 * Collecting unpacked code no one uses any more.
 *
 * Code is stored once per distinct archive (<code_root>/<sha256>/) and shared
 * by every function and version with the same bytes, so deleting a function or
 * changing its code frees its tree only when nothing else refers to it: no
 * function or published version in the store, and no instance still running
 * it. The last matters because an instance sees its code through a bind mount
 * of that very tree: removing the tree empties the instance's /var/task under
 * it (open files keep working, anything opened later is gone), so a call still
 * running old code after an update, or a retired instance finishing, must keep
 * it. The pool says when such an instance is gone (code_released), and a sweep
 * follows.
 *
 * An unpack in flight on the worker pool may be about to reuse a tree it found
 * already there, before the store references it: no sweep runs while one is in
 * flight; the sweep waits for the last to finish. The decision and the rename
 * away from the tree's name happen on the loop (so the two never interleave);
 * deleting the files, which for a 250 MB tree takes a while, happens on the
 * worker pool.
 *
 * Sweeps run at start-up (collecting what older versions of hearth or a crash
 * left), after every unpack (an update may have replaced code), after every
 * delete, and when the pool releases a retired function's code.
 */
#include <errno.h>
#include <stdlib.h>

#include "invoke/invoke-internal.h"
#include "lib/log.h"
#include "store/code.h"
#include "lib/banned.h"

/* Sweeps asked for in a burst (a delete retiring many instances) run once. */
#define CODE_GC_DELAY_MS 50

struct removal {
	uv_work_t work;
	char *path;	/* the detached tree */
	struct err err;
	int r;
};

static void
remove_work(uv_work_t *w)
{
	struct removal *rm = w->data;

	rm->r = code_remove_detached(rm->path, &rm->err);
}

static void
remove_done(uv_work_t *w, int status)
{
	struct removal *rm = w->data;

	(void)status;
	if (rm->r < 0)
		log_error("code gc: %s", rm->err.msg);
	free(rm->path);
	free(rm);
}

struct sweep {
	struct invoke_service *svc;
	int removed;
};

static int
sweep_one(const char *sha, void *data)
{
	struct sweep *sw = data;
	struct invoke_service *svc = sw->svc;
	struct err err = ERR_INIT;
	struct removal *rm;
	char *dir, *detached;
	int r;

	r = store_code_in_use(svc->store, sha, &err);
	if (r != 0) {
		if (r < 0)
			log_error("code gc: %s", err.msg);	/* keep it; try next time */
		return 0;
	}
	dir = code_path(svc->cfg.code_root, sha);
	r = pool_code_in_use(svc->pool, dir);
	free(dir);
	if (r)
		return 0;	/* code_released() brings us back */
	if (code_detach(svc->cfg.code_root, sha, &detached, &err) < 0) {
		log_error("code gc: %s", err.msg);
		return 0;
	}
	if (!detached)
		return 0;
	log_debug("code gc: removing unused code %.12s", sha);
	sw->removed++;
	rm = xcalloc(1, sizeof(*rm));
	rm->path = detached;
	rm->work.data = rm;
	if (uv_queue_work(svc->loop, &rm->work, remove_work, remove_done) < 0) {
		remove_work(&rm->work);	/* no worker: do it here rather than leak it */
		remove_done(&rm->work, 0);
	}
	return 0;
}

int
invoke_code_gc(struct invoke_service *svc, struct err *err)
{
	struct sweep sw = { svc, 0 };
	int r;

	if (svc->code_unpacking) {
		svc->code_gc_pending = true;
		return 0;
	}
	svc->code_gc_pending = false;
	r = code_list(svc->cfg.code_root, sweep_one, &sw, err);
	if (r < 0)
		return err_wrap(err, "cannot collect unused code");
	return sw.removed;
}

static void
gc_fired(uv_timer_t *t)
{
	struct invoke_service *svc = t->data;
	struct err err = ERR_INIT;

	if (invoke_code_gc(svc, &err) < 0)
		log_error("%s", err.msg);
}

void
invoke_code_gc_soon(struct invoke_service *svc)
{
	if (svc->draining || !svc->code_gc_timer || !svc->cfg.code_root)
		return;
	if (!uv_is_active((uv_handle_t *)svc->code_gc_timer))
		uv_timer_start(svc->code_gc_timer, gc_fired, CODE_GC_DELAY_MS, 0);
}

void
invoke_code_unpacking(struct invoke_service *svc, bool started)
{
	if (started) {
		svc->code_unpacking++;
		return;
	}
	if (svc->code_unpacking == 0)
		BUG("invoke_code_unpacking: no unpack in flight");
	svc->code_unpacking--;
	/* Every finished unpack may have replaced a function's code. */
	if (svc->code_unpacking == 0)
		invoke_code_gc_soon(svc);
}

void
invoke__code_released(struct invoke_service *svc, const char *code_dir)
{
	(void)code_dir;	/* the sweep looks at every tree; one stat per tree is cheap */
	invoke_code_gc_soon(svc);
}

void
invoke__code_gc_start(struct invoke_service *svc)
{
	svc->code_gc_timer = xmalloc(sizeof(*svc->code_gc_timer));
	uv_timer_init(svc->loop, svc->code_gc_timer);
	svc->code_gc_timer->data = svc;
	invoke_code_gc_soon(svc);	/* what a crash or an older hearth left */
}

static void
gc_timer_closed(uv_handle_t *h)
{
	free(h);
}

void
invoke__code_gc_stop(struct invoke_service *svc)
{
	if (svc->code_gc_timer) {
		uv_close((uv_handle_t *)svc->code_gc_timer, gc_timer_closed);
		svc->code_gc_timer = NULL;
	}
}
