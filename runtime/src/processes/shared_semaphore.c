/* shared_semaphore.c — cl_shared_semaphore, Python's multiprocessing.Semaphore and
 * BoundedSemaphore: a count of permits shared by every process forked after it was made.
 *
 * As in semaphore.c the count is itself the futex word, here in a shared mapping and parked on
 * without the private flag, so a release in one process wakes a waiter in another. A process
 * that dies holding a permit does not give it back (nor does Python's). */
#include "conclab.h"
#include "report.h"
#include "trace_internal.h"
#include "shared_memory.h"
#include "shared_object.h"

#include <limits.h>

#define SHARED_SEMAPHORE_MAGIC 0x53534d41u /* "SSMA" */

struct cl_shared_semaphore {
    cl__shared_header header;
    uint32_t value;   /* free permits */
    uint32_t waiters; /* parked or about to park on value, in any process */
    uint32_t initial; /* a bounded one's ceiling */
    uint32_t bounded;
};

static int valid(cl_shared_semaphore *s, const char *call) {
    return cl__shared_object_valid(s, SHARED_SEMAPHORE_MAGIC, call, "shared semaphore");
}

static int take_permit(cl_shared_semaphore *s) {
    uint32_t v = __atomic_load_n(&s->value, __ATOMIC_RELAXED);
    while (v > 0)
        if (__atomic_compare_exchange_n(&s->value, &v, v - 1, 1, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            return 1;
    return 0;
}

static int acquire_until(cl_shared_semaphore *s, const cl__deadline *d) {
    if (take_permit(s)) {
        cl__observe(CL_EVENT_ACQUIRE, "shared_semaphore", s);
        return 1;
    }
    cl__observe(CL_EVENT_WAIT, "shared_semaphore", s);
    cl__blocking_begin();
    /* Counted before looking again: a release either sees this waiter or left a permit. */
    __atomic_add_fetch(&s->waiters, 1, __ATOMIC_SEQ_CST);
    int got;
    while (!(got = take_permit(s)) && cl__shared_park(&s->value, 0, d) == 0)
        ;
    if (!got) got = take_permit(s); /* one given back just as time ran out still counts */
    __atomic_sub_fetch(&s->waiters, 1, __ATOMIC_SEQ_CST);
    cl__blocking_end();
    cl__observe(got ? CL_EVENT_ACQUIRE : CL_EVENT_TIMEOUT, "shared_semaphore", s);
    return got;
}

static cl_shared_semaphore *create(int value, int bounded, const char *call) {
    if (value < 0) {
        cl_report(call, "semaphore initial value must be >= 0, got %d", value);
        return NULL;
    }
    cl_shared_semaphore *s = cl__shared_object_new(sizeof *s, SHARED_SEMAPHORE_MAGIC, call);
    if (!s) return NULL;
    s->value = (uint32_t)value;
    s->initial = (uint32_t)value;
    s->bounded = bounded != 0;
    return s;
}

cl_shared_semaphore *cl_shared_semaphore_new(int value) {
    return create(value, 0, "cl_shared_semaphore_new");
}

cl_shared_semaphore *cl_shared_bounded_semaphore_new(int value) {
    return create(value, 1, "cl_shared_bounded_semaphore_new");
}

int cl_shared_semaphore_acquire(cl_shared_semaphore *s) {
    if (!valid(s, "cl_shared_semaphore_acquire")) return 0;
    cl__deadline forever;
    cl__deadline_forever(&forever);
    return acquire_until(s, &forever);
}

int cl_shared_semaphore_try_acquire(cl_shared_semaphore *s) {
    if (!valid(s, "cl_shared_semaphore_try_acquire")) return 0;
    if (!take_permit(s)) return 0;
    cl__observe(CL_EVENT_ACQUIRE, "shared_semaphore", s);
    return 1;
}

int cl_shared_semaphore_acquire_timeout(cl_shared_semaphore *s, double seconds) {
    const char *call = "cl_shared_semaphore_acquire_timeout";
    cl__deadline d;
    if (!valid(s, call) || !cl__deadline_init(&d, seconds, call)) return 0;
    return acquire_until(s, &d);
}

int cl_shared_semaphore_release(cl_shared_semaphore *s) {
    const char *call = "cl_shared_semaphore_release";
    if (!valid(s, call)) return 0;
    uint32_t v = __atomic_load_n(&s->value, __ATOMIC_RELAXED);
    do {
        if (s->bounded && v >= s->initial) {
            cl_report(call, "semaphore released too many times (bounded at %u)", s->initial);
            return 0;
        }
        if (v == INT_MAX) {
            cl_report(call, "semaphore value would overflow");
            return 0;
        }
    } while (!__atomic_compare_exchange_n(&s->value, &v, v + 1, 1, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
    cl__observe(CL_EVENT_RELEASE, "shared_semaphore", s);
    if (__atomic_load_n(&s->waiters, __ATOMIC_SEQ_CST) > 0) cl__shared_unpark(&s->value, 1);
    return 1;
}

int cl_shared_semaphore_value(cl_shared_semaphore *s) {
    if (!valid(s, "cl_shared_semaphore_value")) return -1;
    return (int)__atomic_load_n(&s->value, __ATOMIC_RELAXED);
}

int cl_shared_semaphore_free(cl_shared_semaphore *s) {
    if (!s) return 1; /* like free(NULL) */
    if (!valid(s, "cl_shared_semaphore_free")) return 0;
    cl__shared_object_retire(s);
    cl__name_forget(s); /* its address may come back as another object */
    return 1;
}
