/* hook.c — the single observer of conclab/hook.h. */
#include <stdatomic.h>
#include <stddef.h>

#include "conclab/clock.h"
#include "conclab/thread.h"
#include "observe.h"

static _Atomic(cl_hook_fn) current;  /* NULL: nobody listens, so reporting costs one load */
static void *_Atomic current_ctx;

/* The context is stored first, so an event never meets the new function with no context; an
 * observer that is replaced while threads report may still see one last event. */
void cl_hook_set(cl_hook_fn fn, void *ctx) {
    atomic_store(&current_ctx, ctx);
    atomic_store(&current, fn);
}

void cl__observe(cl_event_kind kind, const char *primitive, const void *object) {
    cl_hook_fn fn = atomic_load_explicit(&current, memory_order_acquire);
    if (!fn) return;
    cl_event ev = {kind, primitive, object, cl_thread_id(), cl_now()};
    fn(&ev, atomic_load(&current_ctx));
}
