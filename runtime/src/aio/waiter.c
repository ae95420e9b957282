/* waiter.c — how a suspended task hears that the futures it awaits are done.
 *
 * A waiter is attached to each future as a done callback. The callback runs on whichever thread
 * completes the future: on the loop's thread it acts at once; elsewhere it posts itself to the
 * loop with call_soon_threadsafe and the loop thread acts. Acting means counting the future and,
 * once the wake condition holds, waking the task — only if it is still suspended on this very
 * waiter, so a late callback never wakes a task that has moved on.
 *
 * Every attachment is counted in loop->attached until it is resolved (its callback acted, or it
 * was detached before running), so a loop is never freed under a callback still on its way; and
 * attachments to futures another thread completes are counted in loop->foreign_waits, which
 * keeps the deadlock test from firing while such a future may still arrive. */
#include "future_internal.h"
#include "loop_internal.h"
#include "report.h"

#include <stdlib.h>

/* One attachment: a done callback's argument. Its first member is the waiter, which is how
 * cl__future_take_done_callback finds it again. */
typedef struct attachment {
    cl__waiter *w;
    int foreign;
    int failed;
} attachment;

cl__waiter *cl__waiter_new(cl_loop *l, cl__task *t, int want_fired, int want_failed) {
    cl__waiter *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->refs = 1;
    w->t = t;
    w->loop = l;
    w->want_fired = want_fired;
    w->want_failed = want_failed;
    return w;
}

static void unref(cl__waiter *w) {
    if (--w->refs > 0) return;
    free(w->futs);
    free(w);
}

static void settle(cl__waiter *w, attachment *a) {
    cl_loop *l = w->loop;
    l->attached--;
    if (a->foreign) l->foreign_waits--;
    free(a);
    unref(w);
}

/* On the loop thread: an attached future is done. */
static void resolve(void *arg) {
    attachment *a = arg;
    cl__waiter *w = a->w;
    w->fired++;
    w->failed += a->failed;
    if (!w->woke && (w->fired >= w->want_fired || w->failed >= w->want_failed)) {
        w->woke = 1;
        if (w->t && w->t->suspended && w->t->waiter == w) cl__task_wake(w->t, CL_WAKE_DONE);
    }
    settle(w, a);
}

static void on_done(cl_future *f, void *arg) {
    attachment *a = arg;
    a->failed = cl_future_cancelled(f) || cl__future_failed(f);
    if (cl__loop_on_thread(a->w->loop)) {
        resolve(a);
        return;
    }
    if (cl_loop_call_soon_threadsafe(a->w->loop, resolve, a) != 0)
        cl_report("cl_await", "could not wake the loop: a task may wait forever");
}

static int remember(cl__waiter *w, cl_future *f) {
    if (w->count == w->cap) {
        int cap = w->cap ? w->cap * 2 : 4;
        cl_future **futs = realloc(w->futs, (size_t)cap * sizeof *futs);
        if (!futs) return -1;
        w->futs = futs;
        w->cap = cap;
    }
    w->futs[w->count++] = cl_future_ref(f);
    return 0;
}

int cl__waiter_attach(cl__waiter *w, cl_future *f, const char *call) {
    attachment *a = malloc(sizeof *a);
    if (!a || remember(w, f) != 0) {
        free(a);
        cl_report(call, "out of memory");
        return -1;
    }
    cl_loop *l = w->loop;
    a->w = w;
    a->failed = 0;
    a->foreign = cl__future_home(f) != l;
    w->refs++;
    l->attached++;
    if (a->foreign) l->foreign_waits++;
    if (cl_future_add_done_callback(f, on_done, a) != 0) {
        settle(w, a);
        return -1;
    }
    return 0;
}

void cl__waiter_release(cl__waiter *w) {
    w->t = NULL;
    for (int i = 0; i < w->count; i++) {
        attachment *a = cl__future_take_done_callback(w->futs[i], on_done, w);
        if (a) settle(w, a); /* else it ran, or runs now elsewhere and will post itself */
        cl_future_free(w->futs[i]);
    }
    w->count = 0;
    unref(w);
}
