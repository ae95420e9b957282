/* hook.c — the single observer of conclab/hook.h.
 *
 * The function and its context must be seen as a pair: an observer called with another
 * observer's context would misread it. So cl_hook_set writes the pair inside a version count
 * (odd while writing), and a report reads the pair again if the count moved meanwhile — a
 * seqlock. Nobody listening costs a report one load: the word of listeners (hook_internal.h),
 * which the tracer shares, so its probes are the same ones. */
#include <pthread.h>
#include <stddef.h>
#include <string.h>

#include "conclab/clock.h"
#include "chaos_internal.h"
#include "lockcheck_internal.h"
#include "waits_internal.h"
#include "hook_internal.h"
#include "thread_internal.h"
#include "trace_internal.h"

unsigned cl__observers;        /* CL__OBSERVED_BY_* bits; atomics only */
static cl_hook_fn current_fn;  /* NULL: no observer; atomics only */
static void *current_ctx;      /* atomics only */
static unsigned long version;  /* odd while cl_hook_set changes the pair */
static pthread_mutex_t setting = PTHREAD_MUTEX_INITIALIZER; /* one cl_hook_set at a time */

void cl_hook_set(cl_hook_fn fn, void *ctx) {
    pthread_mutex_lock(&setting);
    __atomic_add_fetch(&version, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&current_fn, fn, __ATOMIC_SEQ_CST);
    __atomic_store_n(&current_ctx, ctx, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&version, 1, __ATOMIC_SEQ_CST);
    cl__observers_set(CL__OBSERVED_BY_HOOK, fn != NULL);
    pthread_mutex_unlock(&setting);
}

static void report_to_observer(cl_event_kind kind, const char *primitive, const void *object) {
    cl_hook_fn fn;
    void *ctx;
    unsigned long before;
    do {
        before = __atomic_load_n(&version, __ATOMIC_SEQ_CST);
        fn = __atomic_load_n(&current_fn, __ATOMIC_SEQ_CST);
        ctx = __atomic_load_n(&current_ctx, __ATOMIC_SEQ_CST);
    } while ((before & 1) || before != __atomic_load_n(&version, __ATOMIC_SEQ_CST));
    if (!fn) return;
    cl_hook_event ev = {kind, primitive, object, cl__self_id(), cl_now()};
    fn(&ev, ctx);
}

void cl__observe_hook(cl_event_kind kind, const char *primitive, const void *object) {
    if (__atomic_load_n(&cl__observers, __ATOMIC_RELAXED) & CL__OBSERVED_BY_HOOK)
        report_to_observer(kind, primitive, object);
}

/* The points where chaos may hold a thread back: not inside the GIL's own hand-over (the thread
 * holds it), the loop's poll or a sleep (already waiting), nor a thread's end. */
static int chaos_point(cl_event_kind kind, const char *primitive) {
    if (kind == CL_EVENT_THREAD_END || !primitive) return 0;
    return strcmp(primitive, "gil") != 0 && strcmp(primitive, "loop") != 0 && strcmp(primitive, "sleep") != 0;
}

/* Waits of a thread (not of a task, which the event loop reports itself), for the board. */
static int thread_wait(const char *primitive) {
    return primitive && strncmp(primitive, "async_", 6) != 0 && strcmp(primitive, "task") != 0 &&
           strcmp(primitive, "stream") != 0;
}

/* The board of waits (waits.c), when the host shared one: independent of the listeners, because
 * it only hears the slow paths (a wait, its end, a thread's start and end). */
static void note_on_board(cl_event_kind kind, const char *primitive, const void *object) {
    if (kind == CL_EVENT_WAIT && thread_wait(primitive)) cl__waits_note(primitive, object);
    else if (kind == CL_EVENT_ACQUIRE || kind == CL_EVENT_TIMEOUT) cl__waits_clear();
    else if (kind == CL_EVENT_THREAD_START) cl__waits_thread_started();
    else if (kind == CL_EVENT_THREAD_END) cl__waits_thread_ended();
}

void cl__observe(cl_event_kind kind, const char *primitive, const void *object) {
    if (__atomic_load_n(&cl__waits_on, __ATOMIC_RELAXED)) note_on_board(kind, primitive, object);
    unsigned who = __atomic_load_n(&cl__observers, __ATOMIC_RELAXED);
    if (!who) return;
    if ((who & CL__OBSERVED_BY_CHAOS) && chaos_point(kind, primitive)) cl__chaos_point();
    if (who & CL__OBSERVED_BY_LOCKCHECK) cl__lockcheck_event((unsigned)kind, primitive, object);
    if (who & CL__OBSERVED_BY_TRACE) cl__trace_record((unsigned)kind, primitive, object, 0);
    if (who & CL__OBSERVED_BY_HOOK) report_to_observer(kind, primitive, object);
}
