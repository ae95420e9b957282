/* semaphore.c — cl_semaphore, Python's threading.Semaphore and BoundedSemaphore: a count of
 * permits; acquire takes one (waiting while there are none), release gives one back. A bounded
 * one treats giving back more than it started with as the bug it almost always is.
 *
 * The count is the futex word itself: waiters park while it reads 0, and a release that finds
 * waiters wakes as many as it added permits. */
#include "conclab.h"
#include "observe.h"
#include "report.h"
#include "trace_internal.h"
#include "wait.h"

#include <limits.h>
#include <stdlib.h>

#define SEMAPHORE_MAGIC 0x53454d41u /* "SEMA" */

struct cl_semaphore {
    uint32_t magic;
    uint32_t value;   /* free permits */
    uint32_t waiters; /* threads parked or about to park on value */
    uint32_t initial; /* for a bounded one, the most value may reach */
    int bounded;
};

static int valid(cl_semaphore *s, const char *call) {
    if (!s) {
        cl_report(call, "semaphore is NULL");
        return 0;
    }
    if (s->magic != SEMAPHORE_MAGIC) {
        cl_report(call, "not a semaphore (freed already, or another kind of handle?)");
        return 0;
    }
    return 1;
}

static uint32_t value_of(cl_semaphore *s) {
    return __atomic_load_n(&s->value, __ATOMIC_RELAXED);
}

/* Takes a permit if there is one; 1 if it did. */
static int take_permit(cl_semaphore *s) {
    uint32_t v = value_of(s);
    while (v > 0)
        if (__atomic_compare_exchange_n(&s->value, &v, v - 1, 1, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            return 1;
    return 0;
}

static int acquire_until(cl_semaphore *s, const cl__deadline *d) {
    if (take_permit(s)) {
        cl__observe(CL_EVENT_ACQUIRE, "semaphore", s);
        return 1;
    }
    cl__observe(CL_EVENT_WAIT, "semaphore", s);
    cl__blocking_begin();
    /* Counted as a waiter before looking at value again: a release either sees the waiter and
     * wakes it, or happened first and left a permit for the next look. */
    __atomic_add_fetch(&s->waiters, 1, __ATOMIC_SEQ_CST);
    int got;
    while (!(got = take_permit(s)) && cl__park(&s->value, 0, d) == 0)
        ;
    if (!got) got = take_permit(s); /* a permit given back just as time ran out still counts */
    __atomic_sub_fetch(&s->waiters, 1, __ATOMIC_SEQ_CST);
    cl__blocking_end();
    cl__observe(got ? CL_EVENT_ACQUIRE : CL_EVENT_TIMEOUT, "semaphore", s);
    return got;
}

static cl_semaphore *create(int value, int bounded, const char *call) {
    if (value < 0) {
        cl_report(call, "semaphore initial value must be >= 0, got %d", value);
        return NULL;
    }
    cl_semaphore *s = calloc(1, sizeof *s);
    if (!s) {
        cl_report(call, "out of memory");
        return NULL;
    }
    s->magic = SEMAPHORE_MAGIC;
    s->value = (uint32_t)value;
    s->initial = (uint32_t)value;
    s->bounded = bounded;
    return s;
}

cl_semaphore *cl_semaphore_new(int value) {
    return create(value, 0, "cl_semaphore_new");
}

cl_semaphore *cl_bounded_semaphore_new(int value) {
    return create(value, 1, "cl_bounded_semaphore_new");
}

int cl_semaphore_acquire(cl_semaphore *s) {
    if (!valid(s, "cl_semaphore_acquire")) return 0;
    cl__deadline forever;
    cl__deadline_forever(&forever);
    return acquire_until(s, &forever);
}

int cl_semaphore_try_acquire(cl_semaphore *s) {
    if (!valid(s, "cl_semaphore_try_acquire")) return 0;
    if (!take_permit(s)) return 0;
    cl__observe(CL_EVENT_ACQUIRE, "semaphore", s);
    return 1;
}

int cl_semaphore_acquire_timeout(cl_semaphore *s, double seconds) {
    const char *call = "cl_semaphore_acquire_timeout";
    cl__deadline d;
    if (!valid(s, call) || !cl__deadline_init(&d, seconds, call)) return 0;
    return acquire_until(s, &d);
}

/* The most value may reach: the initial value for a bounded semaphore. */
static uint32_t ceiling(cl_semaphore *s) {
    return s->bounded ? s->initial : (uint32_t)INT_MAX;
}

static int release_n(cl_semaphore *s, int n, const char *call) {
    if (!valid(s, call)) return 0;
    if (n < 1) {
        cl_report(call, "n must be one or more, got %d", n);
        return 0;
    }
    uint32_t v = value_of(s);
    do {
        if ((uint64_t)v + (uint64_t)n > ceiling(s)) {
            if (s->bounded) cl_report(call, "semaphore released too many times");
            else cl_report(call, "semaphore value would overflow");
            return 0;
        }
    } while (!__atomic_compare_exchange_n(&s->value, &v, v + (uint32_t)n, 1, __ATOMIC_SEQ_CST,
                                          __ATOMIC_RELAXED));
    cl__observe(CL_EVENT_RELEASE, "semaphore", s);
    if (__atomic_load_n(&s->waiters, __ATOMIC_SEQ_CST) > 0) cl__unpark(&s->value, n);
    return 1;
}

int cl_semaphore_release(cl_semaphore *s) {
    return release_n(s, 1, "cl_semaphore_release");
}

int cl_semaphore_release_n(cl_semaphore *s, int n) {
    return release_n(s, n, "cl_semaphore_release_n");
}

int cl_semaphore_value(cl_semaphore *s) {
    if (!valid(s, "cl_semaphore_value")) return 0;
    return (int)value_of(s);
}

int cl_semaphore_free(cl_semaphore *s) {
    const char *call = "cl_semaphore_free";
    if (!s) return 1; /* like free(NULL) */
    if (!valid(s, call)) return 0;
    if (__atomic_load_n(&s->waiters, __ATOMIC_SEQ_CST) > 0) {
        cl_report(call, "threads are waiting on the semaphore");
        return 0;
    }
    if (s->bounded && value_of(s) != s->initial) {
        cl_report(call, "%u permit(s) of the bounded semaphore are still held; release them first",
                  s->initial - value_of(s));
        return 0;
    }
    s->magic = 0;
    cl__name_forget(s); /* its address may come back as another object */
    free(s);
    return 1;
}
