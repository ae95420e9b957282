/* rlock.c — cl_rlock, Python's threading.RLock: owned by the thread that acquired it, which may
 * acquire it again (each acquire counts a level) and must release it as many times. Only the
 * owner may release it. */
#include "conclab.h"
#include "call_site.h"
#include "observe.h"
#include "report.h"
#include "trace_internal.h"
#include "thread_internal.h"
#include "wait.h"
#include "waits_internal.h"

#include <stdlib.h>

#define RLOCK_MAGIC 0x524c434bu /* "RLCK" */

struct cl_rlock {
    uint32_t magic;
    uint32_t word;
    long owner; /* cl__self_id() of the owner, 0 when free; atomics only */
    long depth; /* levels the owner holds; touched by the owner alone */
};

static int valid(cl_rlock *r, const char *call) {
    if (!r) {
        cl_report(call, "rlock is NULL");
        return 0;
    }
    if (r->magic != RLOCK_MAGIC) {
        cl_report(call, "not an rlock (freed already, or another kind of handle?)");
        return 0;
    }
    return 1;
}

static long owner_of(cl_rlock *r) {
    return __atomic_load_n(&r->owner, __ATOMIC_RELAXED);
}

/* The owner takes one more level: no waiting, and only it can be here. */
static int reenter(cl_rlock *r) {
    r->depth++;
    cl__observe(CL_EVENT_ACQUIRE, "rlock", r);
    return 1;
}

static int take(cl_rlock *r, long me) {
    __atomic_store_n(&r->owner, me, __ATOMIC_RELAXED);
    r->depth = 1;
    cl__observe(CL_EVENT_ACQUIRE, "rlock", r);
    return 1;
}

static int acquire_until(cl_rlock *r, const cl__deadline *d) {
    long me = cl__self_id();
    if (owner_of(r) == me) return reenter(r);
    if (cl__lockword_try(&r->word)) return take(r, me);
    cl__observe(CL_EVENT_WAIT, "rlock", r);
    cl__blocking_begin();
    int got = cl__lockword_wait(&r->word, d);
    cl__blocking_end();
    if (!got) {
        cl__observe(CL_EVENT_TIMEOUT, "rlock", r);
        return 0;
    }
    return take(r, me);
}

long cl__rlock_holder(const void *rlock) { return owner_of((cl_rlock *)rlock); }

cl_rlock *cl_rlock_new(void) {
    cl_rlock *r = calloc(1, sizeof *r);
    if (!r) {
        cl_report("cl_rlock_new", "out of memory");
        return NULL;
    }
    r->magic = RLOCK_MAGIC;
    return r;
}

int cl_rlock_acquire(cl_rlock *r) {
    CL__NOTE_CALL_SITE();
    if (!valid(r, "cl_rlock_acquire")) return 0;
    cl__deadline forever;
    cl__deadline_forever(&forever);
    return acquire_until(r, &forever);
}

int cl_rlock_try_acquire(cl_rlock *r) {
    CL__NOTE_CALL_SITE();
    if (!valid(r, "cl_rlock_try_acquire")) return 0;
    long me = cl__self_id();
    if (owner_of(r) == me) return reenter(r);
    if (cl__lockword_try(&r->word)) return take(r, me);
    return 0;
}

int cl_rlock_acquire_timeout(cl_rlock *r, double seconds) {
    CL__NOTE_CALL_SITE();
    const char *call = "cl_rlock_acquire_timeout";
    cl__deadline d;
    if (!valid(r, call) || !cl__deadline_init(&d, seconds, call)) return 0;
    return acquire_until(r, &d);
}

int cl_rlock_release(cl_rlock *r) {
    const char *call = "cl_rlock_release";
    if (!valid(r, call)) return 0;
    if (owner_of(r) != cl__self_id()) {
        cl_report(call, "cannot release un-acquired lock (only the thread that acquired an "
                        "rlock may release it)");
        return 0;
    }
    cl__observe(CL_EVENT_RELEASE, "rlock", r);
    if (--r->depth > 0) return 1;
    __atomic_store_n(&r->owner, 0, __ATOMIC_RELAXED);
    cl__lockword_release(&r->word);
    return 1;
}

int cl_rlock_free(cl_rlock *r) {
    if (!r) return 1; /* like free(NULL) */
    if (!valid(r, "cl_rlock_free")) return 0;
    if (cl__lockword_held(&r->word)) {
        cl_report("cl_rlock_free", "the rlock is held; its owner must release it first");
        return 0;
    }
    r->magic = 0;
    cl__name_forget(r); /* its address may come back as another object */
    free(r);
    return 1;
}
