/* condition.c — cl_condition, Python's threading.Condition: wait releases the lock, sleeps until
 * notified and takes the lock back; notify(n) wakes the n longest-waiting threads.
 *
 * As in CPython, each waiter brings its own wake-up word (on its stack) and queues it; notify
 * takes waiters off the front of the queue and flips their words. The queue is protected by the
 * condition's lock itself — wait and notify both require the caller to hold it — so it needs no
 * lock of its own. A waiter's word stays valid while the notifier touches it: the waiter cannot
 * return before it has the lock back, and the notifier holds the lock. */
#include "conclab.h"
#include "lock_internal.h"
#include "observe.h"
#include "report.h"
#include "trace_internal.h"
#include "wait.h"

#include <limits.h>
#include <stdlib.h>

#define CONDITION_MAGIC 0x434f4e44u /* "COND" */

typedef struct waiter {
    uint32_t notified; /* 0 until a notify picks this waiter */
    struct waiter *prev, *next;
} waiter;

struct cl_condition {
    uint32_t magic;
    cl_lock *lock;
    int owns_lock;      /* created by cl_condition_new(NULL): freed with the condition */
    waiter *head, *tail; /* waiting, oldest first; guarded by lock */
    long n_inside;      /* threads inside a wait, queued or not; atomics, so free can check */
};

static int valid(cl_condition *c, const char *call) {
    if (!c) {
        cl_report(call, "condition is NULL");
        return 0;
    }
    if (c->magic != CONDITION_MAGIC) {
        cl_report(call, "not a condition (freed already, or another kind of handle?)");
        return 0;
    }
    return 1;
}

/* 1 if the caller holds the condition's lock, else reports (Python: RuntimeError). */
static int caller_holds_lock(cl_condition *c, const char *call, const char *what) {
    if (cl__lock_held_by_caller(c->lock)) return 1;
    cl_report(call, "cannot %s on un-acquired lock: acquire the condition's lock first", what);
    return 0;
}

/* ---- the queue (caller holds the lock) ------------------------------------------------------ */

static void enqueue(cl_condition *c, waiter *w) {
    w->next = NULL;
    w->prev = c->tail;
    if (c->tail) c->tail->next = w;
    else c->head = w;
    c->tail = w;
}

static void unlink_waiter(cl_condition *c, waiter *w) {
    if (w->prev) w->prev->next = w->next;
    else c->head = w->next;
    if (w->next) w->next->prev = w->prev;
    else c->tail = w->prev;
}

static int was_notified(waiter *w) {
    return __atomic_load_n(&w->notified, __ATOMIC_ACQUIRE) != 0;
}

/* ---- waiting ---------------------------------------------------------------------------------- */

/* The lock is held and checked. Returns 1 if notified, 0 when d passed first. */
static int wait_until(cl_condition *c, const cl__deadline *d) {
    waiter w = {0, NULL, NULL};
    __atomic_add_fetch(&c->n_inside, 1, __ATOMIC_SEQ_CST);
    enqueue(c, &w);
    cl__observe(CL_EVENT_WAIT, "condition", c);
    cl_lock_release(c->lock);
    cl__blocking_begin();
    while (!was_notified(&w) && cl__park(&w.notified, 0, d) == 0)
        ;
    cl__blocking_end();
    cl_lock_acquire(c->lock);
    /* With the lock back, the queue is stable: either a notify took us off it (perhaps just
     * after the deadline, which then still counts as notified) or we are on it still. */
    int notified = was_notified(&w);
    if (!notified) unlink_waiter(c, &w);
    cl__observe(notified ? CL_EVENT_ACQUIRE : CL_EVENT_TIMEOUT, "condition", c);
    __atomic_sub_fetch(&c->n_inside, 1, __ATOMIC_SEQ_CST);
    return notified;
}

cl_condition *cl_condition_new(cl_lock *lock) {
    const char *call = "cl_condition_new";
    if (lock && !cl__lock_valid(lock, call)) return NULL;
    cl_condition *c = calloc(1, sizeof *c);
    if (!c) {
        cl_report(call, "out of memory");
        return NULL;
    }
    c->lock = lock ? lock : cl_lock_new();
    if (!c->lock) {
        free(c);
        return NULL;
    }
    c->owns_lock = lock == NULL;
    c->magic = CONDITION_MAGIC;
    return c;
}

int cl_condition_acquire(cl_condition *c) {
    if (!valid(c, "cl_condition_acquire")) return 0;
    return cl_lock_acquire(c->lock);
}

int cl_condition_release(cl_condition *c) {
    if (!valid(c, "cl_condition_release")) return 0;
    return cl_lock_release(c->lock);
}

cl_lock *cl_condition_lock(cl_condition *c) {
    if (!valid(c, "cl_condition_lock")) return NULL;
    return c->lock;
}

int cl_condition_wait(cl_condition *c) {
    const char *call = "cl_condition_wait";
    if (!valid(c, call) || !caller_holds_lock(c, call, "wait")) return 0;
    cl__deadline forever;
    cl__deadline_forever(&forever);
    return wait_until(c, &forever);
}

int cl_condition_wait_timeout(cl_condition *c, double seconds) {
    const char *call = "cl_condition_wait_timeout";
    cl__deadline d;
    if (!valid(c, call) || !cl__deadline_init(&d, seconds, call)) return 0;
    if (!caller_holds_lock(c, call, "wait")) return 0;
    return wait_until(c, &d);
}

int cl_condition_wait_for(cl_condition *c, cl_predicate pred, void *arg, double seconds) {
    const char *call = "cl_condition_wait_for";
    cl__deadline d;
    if (!valid(c, call) || !cl__deadline_init(&d, seconds, call)) return 0;
    if (!pred) {
        cl_report(call, "predicate is NULL");
        return 0;
    }
    if (!caller_holds_lock(c, call, "wait")) return 0;
    /* As Python's wait_for: the predicate is checked before any wait and after every wake-up,
     * with the lock held, and its last answer is the result. */
    int result = pred(arg);
    while (!result && !cl__deadline_passed(&d)) {
        wait_until(c, &d);
        result = pred(arg);
    }
    return result;
}

/* ---- notifying -------------------------------------------------------------------------------- */

static int notify(cl_condition *c, int n, const char *call) {
    if (!valid(c, call) || !caller_holds_lock(c, call, "notify")) return 0;
    if (n < 0) {
        cl_report(call, "n must be >= 0, got %d", n);
        return 0;
    }
    cl__observe(CL_EVENT_RELEASE, "condition", c);
    int woken = 0;
    while (woken < n && c->head) {
        waiter *w = c->head;
        unlink_waiter(c, w);
        __atomic_store_n(&w->notified, 1, __ATOMIC_RELEASE);
        cl__unpark(&w->notified, 1);
        woken++;
    }
    return woken;
}

int cl_condition_notify(cl_condition *c, int n) {
    return notify(c, n, "cl_condition_notify");
}

int cl_condition_notify_all(cl_condition *c) {
    return notify(c, INT_MAX, "cl_condition_notify_all");
}

int cl_condition_free(cl_condition *c) {
    const char *call = "cl_condition_free";
    if (!c) return 1; /* like free(NULL) */
    if (!valid(c, call)) return 0;
    if (__atomic_load_n(&c->n_inside, __ATOMIC_SEQ_CST) > 0) {
        cl_report(call, "threads are waiting on the condition");
        return 0;
    }
    if (c->owns_lock && cl_lock_locked(c->lock)) {
        cl_report(call, "the condition's lock is held; release it first");
        return 0;
    }
    if (c->owns_lock) cl_lock_free(c->lock);
    c->magic = 0;
    cl__name_forget(c); /* its address may come back as another object */
    free(c);
    return 1;
}
