/* async_lock.c — asyncio.Lock for the tasks of one loop; see conclab/async_sync.h.
 *
 * The lock is handed over, not dropped: a release with tasks waiting completes the first
 * waiter's future and the lock stays locked, now the woken task's. A task that is cancelled after
 * it was handed the lock (before it could run) gives it straight to the next waiter, so a
 * cancelled waiter never swallows the lock (asyncio's _wake_up_first). */
#include "conclab/async_sync.h"

#include <stdlib.h>

#include "async_waiters.h"
#include "report.h"
#include "trace_internal.h"

struct cl_async_lock {
    int locked;
    cl__async_waiters waiters;
};

cl_async_lock *cl_async_lock_new(void) {
    cl_async_lock *l = calloc(1, sizeof *l);
    if (!l) cl_report("cl_async_lock_new", "out of memory");
    return l;
}

/* Gives the lock to the first task still waiting, or unlocks it if none is. */
static void lock_pass_on(cl_async_lock *l) {
    if (!cl__async_waiters_wake_first(&l->waiters)) l->locked = 0;
}

static int lock_acquire(cl_async_lock *l, double seconds, const char *call) {
    if (!l) {
        cl_report(call, "lock is NULL");
        return 0;
    }
    if (!l->locked) {
        l->locked = 1;
        cl__observe(CL_EVENT_ACQUIRE, "async_lock", l);
        return 1;
    }
    if (!cl__async_waiters_can_park(&l->waiters, seconds, call)) return 0;
    switch (cl__async_waiters_park(&l->waiters, seconds, "async_lock", l)) {
    case CL__ASYNC_PARK_WOKEN:
        cl__observe(CL_EVENT_ACQUIRE, "async_lock", l);
        return 1;
    case CL__ASYNC_PARK_WOKEN_LATE:
        lock_pass_on(l); /* ours, but the task no longer wants it */
        return 0;
    default:
        return 0;
    }
}

int cl_async_lock_acquire(cl_async_lock *l) {
    return lock_acquire(l, CL_FOREVER, "cl_async_lock_acquire");
}

int cl_async_lock_acquire_timeout(cl_async_lock *l, double seconds) {
    return lock_acquire(l, seconds, "cl_async_lock_acquire_timeout");
}

int cl_async_lock_release(cl_async_lock *l) {
    if (!l) {
        cl_report("cl_async_lock_release", "lock is NULL");
        return 0;
    }
    if (!l->locked) {
        cl_report("cl_async_lock_release", "lock is not acquired (Python: RuntimeError)");
        return 0;
    }
    if (!cl__async_waiters_same_loop(&l->waiters, "cl_async_lock_release")) return 0;
    cl__observe(CL_EVENT_RELEASE, "async_lock", l);
    lock_pass_on(l);
    return 1;
}

int cl_async_lock_locked(cl_async_lock *l) {
    if (!l) {
        cl_report("cl_async_lock_locked", "lock is NULL");
        return 0;
    }
    return l->locked;
}

int cl_async_lock_free(cl_async_lock *l) {
    if (!l) return 1;
    if (l->locked || l->waiters.count) {
        cl_report("cl_async_lock_free", "lock is %s; not freed",
                  l->waiters.count ? "waited on by tasks" : "held");
        return 0;
    }
    cl__name_forget(l); /* its address may come back as another object */
    free(l);
    return 1;
}
