/* shared_lock.c — cl_shared_lock, Python's multiprocessing.Lock: one lock for threads of every
 * process forked after it was made.
 *
 * It is an owned lock (shared_object.h): a robust mutex that the kernel hands to the next
 * acquirer when its holder dies, which is what keeps a killed child from deadlocking the rest.
 * Ownership is the price: unlike Python's, only the acquiring thread may release it. */
#include "conclab.h"
#include "call_site.h"
#include "report.h"
#include "trace_internal.h"
#include "shared_object.h"
#include "waits_internal.h"

#define SHARED_LOCK_MAGIC 0x534c434bu /* "SLCK" */

struct cl_shared_lock {
    cl__shared_header header;
    cl__owned_lock lock;
};

long cl__shared_lock_holder(const void *shared_lock) {
    return __atomic_load_n(&((const cl_shared_lock *)shared_lock)->lock.owner, __ATOMIC_RELAXED);
}

static int valid(cl_shared_lock *l, const char *call) {
    return cl__shared_object_valid(l, SHARED_LOCK_MAGIC, call, "shared lock");
}

static int acquire(cl_shared_lock *l, const cl__deadline *d, int may_wait, const char *call) {
    return cl__owned_lock_acquire(&l->lock, d, may_wait, call, "shared_lock", l, "the shared lock");
}

cl_shared_lock *cl_shared_lock_new(void) {
    const char *call = "cl_shared_lock_new";
    cl_shared_lock *l = cl__shared_object_new(sizeof *l, SHARED_LOCK_MAGIC, call);
    if (l && !cl__owned_lock_init(&l->lock, 0, call)) {
        cl__shared_object_retire(l);
        return NULL;
    }
    return l;
}

int cl_shared_lock_acquire(cl_shared_lock *l) {
    CL__NOTE_CALL_SITE();
    const char *call = "cl_shared_lock_acquire";
    if (!valid(l, call)) return 0;
    cl__deadline forever;
    cl__deadline_forever(&forever);
    return acquire(l, &forever, 1, call);
}

int cl_shared_lock_try_acquire(cl_shared_lock *l) {
    CL__NOTE_CALL_SITE();
    const char *call = "cl_shared_lock_try_acquire";
    if (!valid(l, call)) return 0;
    cl__deadline now;
    cl__deadline_init(&now, 0, call);
    return acquire(l, &now, 0, call);
}

int cl_shared_lock_acquire_timeout(cl_shared_lock *l, double seconds) {
    CL__NOTE_CALL_SITE();
    const char *call = "cl_shared_lock_acquire_timeout";
    cl__deadline d;
    if (!valid(l, call) || !cl__deadline_init(&d, seconds, call)) return 0;
    return acquire(l, &d, 1, call);
}

int cl_shared_lock_release(cl_shared_lock *l) {
    const char *call = "cl_shared_lock_release";
    return valid(l, call) && cl__owned_lock_release(&l->lock, call, "shared_lock", l);
}

int cl_shared_lock_locked(cl_shared_lock *l) {
    return valid(l, "cl_shared_lock_locked") && cl__owned_lock_held(&l->lock);
}

int cl_shared_lock_free(cl_shared_lock *l) {
    const char *call = "cl_shared_lock_free";
    if (!l) return 1; /* like free(NULL) */
    if (!valid(l, call)) return 0;
    if (cl__owned_lock_mine(&l->lock)) {
        cl_report(call, "this thread holds the lock; release it first");
        return 0;
    }
    cl__shared_object_retire(l);
    cl__name_forget(l); /* its address may come back as another object */
    return 1;
}
