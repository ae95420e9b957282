/* async_condition.c — asyncio.Condition; see conclab/async_sync.h.
 *
 * wait() releases the lock, parks in the condition's own line of waiters, and takes the lock
 * back before it returns, even when the task was cancelled or timed out meanwhile (Python's
 * wait() does the same: code after it always holds the lock). A waiter that was notified but
 * then cancelled before it ran hands its notification to the next waiter, as Python 3.13 does,
 * so notify(1) is never lost to a cancelled task. */
#include "conclab/async_sync.h"

#include <stdlib.h>

#include "async_waiters.h"
#include "conclab/clock.h"
#include "report.h"
#include "trace_internal.h"

/* Retaking the lock is retried across cancellations; more than this many in a row means a
 * task that is being cancelled in a loop, which we report instead of spinning. */
#define CL__CONDITION_RELOCK_TRIES 1000

struct cl_async_condition {
    cl_async_lock *lock;
    int owns_lock;
    cl__async_waiters waiters;
};

cl_async_condition *cl_async_condition_new(cl_async_lock *lock) {
    cl_async_condition *c = calloc(1, sizeof *c);
    if (!c) {
        cl_report("cl_async_condition_new", "out of memory");
        return NULL;
    }
    c->lock = lock ? lock : cl_async_lock_new();
    c->owns_lock = lock == NULL;
    if (!c->lock) {
        free(c);
        return NULL;
    }
    return c;
}

int cl_async_condition_acquire(cl_async_condition *c) {
    if (!c) {
        cl_report("cl_async_condition_acquire", "condition is NULL");
        return 0;
    }
    return cl_async_lock_acquire(c->lock);
}

int cl_async_condition_release(cl_async_condition *c) {
    if (!c) {
        cl_report("cl_async_condition_release", "condition is NULL");
        return 0;
    }
    return cl_async_lock_release(c->lock);
}

cl_async_lock *cl_async_condition_lock(cl_async_condition *c) {
    if (!c) {
        cl_report("cl_async_condition_lock", "condition is NULL");
        return NULL;
    }
    return c->lock;
}

/* Takes the lock back whatever happens to the task meanwhile (Python: the `while True` around
 * acquire in Condition.wait). */
static void condition_relock(cl_async_condition *c, const char *call) {
    for (int tries = 0; tries < CL__CONDITION_RELOCK_TRIES; tries++)
        if (cl_async_lock_acquire(c->lock)) return;
    cl_report(call, "could not take the lock back (the task keeps being cancelled); returning without it");
}

/* The shared body of the waits: checks, parks, relocks; returns how the park ended. */
static cl__async_park condition_wait(cl_async_condition *c, double seconds, const char *call) {
    if (!c) {
        cl_report(call, "condition is NULL");
        return CL__ASYNC_PARK_ERROR;
    }
    if (!cl_async_lock_locked(c->lock)) {
        cl_report(call, "cannot wait on un-acquired lock (Python: RuntimeError)");
        return CL__ASYNC_PARK_ERROR;
    }
    if (!cl__async_waiters_can_park(&c->waiters, seconds, call)) return CL__ASYNC_PARK_ERROR;
    cl_async_lock_release(c->lock);
    cl__async_park outcome = cl__async_waiters_park(&c->waiters, seconds, "async_condition", c);
    condition_relock(c, call);
    if (outcome == CL__ASYNC_PARK_WOKEN_LATE) cl__async_waiters_wake_first(&c->waiters);
    if (outcome == CL__ASYNC_PARK_WOKEN) cl__observe(CL_EVENT_ACQUIRE, "async_condition", c);
    return outcome;
}

int cl_async_condition_wait(cl_async_condition *c) {
    return condition_wait(c, CL_FOREVER, "cl_async_condition_wait") == CL__ASYNC_PARK_WOKEN;
}

int cl_async_condition_wait_timeout(cl_async_condition *c, double seconds) {
    return condition_wait(c, seconds, "cl_async_condition_wait_timeout") == CL__ASYNC_PARK_WOKEN;
}

int cl_async_condition_wait_for(cl_async_condition *c, cl_async_predicate pred, void *arg, double seconds) {
    if (!c || !pred) {
        cl_report("cl_async_condition_wait_for", "%s is NULL", c ? "predicate" : "condition");
        return 0;
    }
    int forever = seconds >= 1e9;
    double deadline = cl_now() + (forever ? 0 : seconds);
    int result = pred(arg);
    while (!result) {
        double left = forever ? CL_FOREVER : deadline - cl_now();
        if (left < 0) left = 0;
        cl__async_park outcome = condition_wait(c, left, "cl_async_condition_wait_for");
        if (outcome == CL__ASYNC_PARK_TIMEOUT) return pred(arg);
        if (outcome != CL__ASYNC_PARK_WOKEN) return 0; /* cancelled or misuse: Python raises */
        result = pred(arg);
    }
    return result;
}

static int condition_notify(cl_async_condition *c, int n, const char *call) {
    if (!c) {
        cl_report(call, "condition is NULL");
        return 0;
    }
    if (!cl_async_lock_locked(c->lock)) {
        cl_report(call, "cannot notify on un-acquired lock (Python: RuntimeError)");
        return 0;
    }
    if (!cl__async_waiters_same_loop(&c->waiters, call)) return 0;
    cl__observe(CL_EVENT_RELEASE, "async_condition", c);
    return cl__async_waiters_wake(&c->waiters, n);
}

int cl_async_condition_notify(cl_async_condition *c, int n) {
    if (n < 0) {
        cl_report("cl_async_condition_notify", "n must be >= 0, got %d", n);
        return 0;
    }
    return condition_notify(c, n, "cl_async_condition_notify");
}

int cl_async_condition_notify_all(cl_async_condition *c) {
    return condition_notify(c, -1, "cl_async_condition_notify_all");
}

int cl_async_condition_free(cl_async_condition *c) {
    if (!c) return 1;
    if (c->waiters.count) {
        cl_report("cl_async_condition_free", "tasks wait on the condition; not freed");
        return 0;
    }
    if (c->owns_lock && !cl_async_lock_free(c->lock)) return 0;
    cl__name_forget(c); /* its address may come back as another object */
    free(c);
    return 1;
}
