/* shared_object.c — headers, retirement and owned locks of the shared objects; see
 * shared_object.h. */
#include "shared_object.h"
#include "report.h"
#include "shared_memory.h"
#include "thread_internal.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---- objects -------------------------------------------------------------------------------- */

void *cl__shared_object_new(size_t size, uint32_t magic, const char *call) {
    cl__shared_header *h = cl__shared_map(size, call);
    if (!h) return NULL;
    h->magic = magic;
    h->map_size = size;
    return h;
}

int cl__shared_object_valid(const void *obj, uint32_t magic, const char *call, const char *what) {
    if (!obj) {
        cl_report(call, "%s is NULL", what);
        return 0;
    }
    uint32_t found = __atomic_load_n(&((const cl__shared_header *)obj)->magic, __ATOMIC_RELAXED);
    if (found == 0) {
        cl_report(call, "the %s was freed already (in this process)", what);
        return 0;
    }
    if (found != magic) {
        cl_report(call, "not %s %s (another kind of handle?)", strchr("aeiou", what[0]) ? "an" : "a",
                  what);
        return 0;
    }
    return 1;
}

void cl__shared_object_retire(void *obj) {
    cl__shared_header *h = obj;
    size_t size = h->map_size;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    /* A private zero page over the first page, in place: other processes keep the shared one. */
    void *zero = mmap(obj, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (zero == MAP_FAILED) {
        cl__shared_unmap(obj, size); /* cannot leave a tombstone: at least give the memory back */
        return;
    }
    if (size > page) cl__shared_unmap((char *)obj + page, size - page);
}

/* ---- owned locks ---------------------------------------------------------------------------- */

static long owner_of(const cl__owned_lock *l) {
    return __atomic_load_n(&l->owner, __ATOMIC_RELAXED);
}

int cl__owned_lock_init(cl__owned_lock *l, int reentrant, const char *call) {
    l->reentrant = reentrant != 0;
    return cl__robust_init(&l->mutex, call);
}

int cl__owned_lock_mine(const cl__owned_lock *l) {
    return owner_of(l) == cl__self_id();
}

int cl__owned_lock_held(const cl__owned_lock *l) {
    return owner_of(l) != 0;
}

int cl__owned_lock_acquire(cl__owned_lock *l, const cl__deadline *d, int may_wait,
                           const char *call, const char *primitive, const void *obj,
                           const char *what) {
    long me = cl__self_id();
    if (owner_of(l) == me) {
        if (l->reentrant) {
            l->depth++;
            cl__observe(CL_EVENT_ACQUIRE, primitive, obj);
            return 1;
        }
        if (!may_wait) return 0; /* Python's acquire(blocking=False) on a held lock: False */
        /* A blocking acquire would wait for ourselves forever: cl__robust_lock reports it. */
    }
    /* A first try without letting the GIL go: the uncontended path stays cheap. */
    cl__deadline now;
    cl__deadline_init(&now, 0, call);
    int r = cl__robust_lock(&l->mutex, &now, call, what);
    if (r == CL__ROBUST_TIMEOUT && may_wait) {
        cl__observe(CL_EVENT_WAIT, primitive, obj);
        cl__blocking_begin();
        r = cl__robust_lock(&l->mutex, d, call, what);
        cl__blocking_end();
        if (r == CL__ROBUST_TIMEOUT) cl__observe(CL_EVENT_TIMEOUT, primitive, obj);
    }
    if (r != CL__ROBUST_LOCKED && r != CL__ROBUST_RECOVERED) return 0;
    /* A dead owner left its id and depth behind: overwritten here either way. */
    __atomic_store_n(&l->owner, me, __ATOMIC_RELAXED);
    l->depth = 1;
    cl__observe(CL_EVENT_ACQUIRE, primitive, obj);
    return 1;
}

int cl__owned_lock_release(cl__owned_lock *l, const char *call, const char *primitive,
                           const void *obj) {
    long owner = owner_of(l);
    if (owner == 0) {
        cl_report(call, "release unlocked lock");
        return 0;
    }
    if (owner != cl__self_id()) {
        cl_report(call, "the lock is held by another thread or process: only the thread that "
                        "acquired it may release it");
        return 0;
    }
    cl__observe(CL_EVENT_RELEASE, primitive, obj);
    if (--l->depth > 0) return 1;
    __atomic_store_n(&l->owner, 0, __ATOMIC_RELAXED);
    return cl__robust_unlock(&l->mutex, call);
}
