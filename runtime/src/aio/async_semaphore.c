/* async_semaphore.c — asyncio.Semaphore and BoundedSemaphore; see conclab/async_sync.h.
 *
 * value counts the free permits. As with the lock, a release while tasks wait hands the permit
 * to the first waiter instead of raising value, so a task arriving later cannot take it first,
 * and a waiter cancelled after it was handed a permit gives it to the next one. */
#include "conclab/async_sync.h"

#include <stdlib.h>

#include "async_waiters.h"
#include "report.h"
#include "trace_internal.h"

struct cl_async_semaphore {
    int value;
    int initial;  /* the bound of a BoundedSemaphore */
    int bounded;
    cl__async_waiters waiters;
};

static cl_async_semaphore *semaphore_new(int value, int bounded, const char *call) {
    if (value < 0) {
        cl_report(call, "initial value must be >= 0, got %d (Python: ValueError)", value);
        return NULL;
    }
    cl_async_semaphore *s = calloc(1, sizeof *s);
    if (!s) {
        cl_report(call, "out of memory");
        return NULL;
    }
    s->value = s->initial = value;
    s->bounded = bounded;
    return s;
}

cl_async_semaphore *cl_async_semaphore_new(int value) {
    return semaphore_new(value, 0, "cl_async_semaphore_new");
}

cl_async_semaphore *cl_async_bounded_semaphore_new(int value) {
    return semaphore_new(value, 1, "cl_async_bounded_semaphore_new");
}

/* Gives a permit to the first task still waiting, or back to the pool if none is. */
static void semaphore_pass_on(cl_async_semaphore *s) {
    if (!cl__async_waiters_wake_first(&s->waiters)) s->value++;
}

static int semaphore_acquire(cl_async_semaphore *s, double seconds, const char *call) {
    if (!s) {
        cl_report(call, "semaphore is NULL");
        return 0;
    }
    if (s->value > 0) {
        s->value--;
        cl__observe(CL_EVENT_ACQUIRE, "async_semaphore", s);
        return 1;
    }
    if (!cl__async_waiters_can_park(&s->waiters, seconds, call)) return 0;
    switch (cl__async_waiters_park(&s->waiters, seconds, "async_semaphore", s)) {
    case CL__ASYNC_PARK_WOKEN:
        cl__observe(CL_EVENT_ACQUIRE, "async_semaphore", s);
        return 1;
    case CL__ASYNC_PARK_WOKEN_LATE:
        semaphore_pass_on(s);
        return 0;
    default:
        return 0;
    }
}

int cl_async_semaphore_acquire(cl_async_semaphore *s) {
    return semaphore_acquire(s, CL_FOREVER, "cl_async_semaphore_acquire");
}

int cl_async_semaphore_acquire_timeout(cl_async_semaphore *s, double seconds) {
    return semaphore_acquire(s, seconds, "cl_async_semaphore_acquire_timeout");
}

int cl_async_semaphore_release(cl_async_semaphore *s) {
    if (!s) {
        cl_report("cl_async_semaphore_release", "semaphore is NULL");
        return 0;
    }
    if (s->bounded && s->value >= s->initial) {
        cl_report("cl_async_semaphore_release", "BoundedSemaphore released too many times (Python: ValueError)");
        return 0;
    }
    if (!cl__async_waiters_same_loop(&s->waiters, "cl_async_semaphore_release")) return 0;
    cl__observe(CL_EVENT_RELEASE, "async_semaphore", s);
    semaphore_pass_on(s);
    return 1;
}

int cl_async_semaphore_locked(cl_async_semaphore *s) {
    if (!s) {
        cl_report("cl_async_semaphore_locked", "semaphore is NULL");
        return 0;
    }
    return s->value == 0;
}

int cl_async_semaphore_value(cl_async_semaphore *s) {
    if (!s) {
        cl_report("cl_async_semaphore_value", "semaphore is NULL");
        return 0;
    }
    return s->value;
}

int cl_async_semaphore_free(cl_async_semaphore *s) {
    if (!s) return 1;
    if (s->waiters.count) {
        cl_report("cl_async_semaphore_free", "tasks wait on the semaphore; not freed");
        return 0;
    }
    if (s->bounded && s->value != s->initial) {
        cl_report("cl_async_semaphore_free", "%d permit(s) still held; not freed", s->initial - s->value);
        return 0;
    }
    cl__name_forget(s); /* its address may come back as another object */
    free(s);
    return 1;
}
