/* shared_object.h — what the objects of conclab/shared.h (Value, Array, shared Lock, Semaphore,
 * Event) are made of. Internal.
 *
 * Each object is one shared mapping (shared_memory.h) that starts with a header: a magic number
 * naming its kind, and the size of the mapping. Freeing replaces the mapping, in the freeing
 * process only, with a read-only page of zeros: a freed handle used again reads a magic of 0 and
 * is reported ("freed already") instead of crashing on unmapped memory. That page costs address
 * space, not memory (it is the kernel's shared zero page).
 *
 * The locks inside them are "owned locks": a robust process-shared mutex plus the id of the
 * thread holding it, so the runtime can tell who holds it (locked(), re-entry, release by a
 * non-owner) without asking the mutex, and can recover it when its owner dies. */
#ifndef CONCLAB_RUNTIME_SHARED_OBJECT_H
#define CONCLAB_RUNTIME_SHARED_OBJECT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "observe.h"
#include "wait.h"

/* The first bytes of every shared object. */
typedef struct cl__shared_header {
    uint32_t magic;  /* the kind of object; 0 once freed in this process */
    uint32_t unused;
    size_t map_size; /* the whole mapping, header included */
} cl__shared_header;

/* Maps size zeroed bytes (header included) and stamps the header; NULL after reporting. */
CL_INTERNAL void *cl__shared_object_new(size_t size, uint32_t magic, const char *call);

/* 1 if obj is a live object of this kind; else reports "call: <what> is NULL / not a <what>". */
CL_INTERNAL int cl__shared_object_valid(const void *obj, uint32_t magic, const char *call,
                                        const char *what);

/* Drops this process's view of obj, leaving a zero page where its header was (see above). */
CL_INTERNAL void cl__shared_object_retire(void *obj);

/* ---- owned locks ---------------------------------------------------------------------------- */

typedef struct cl__owned_lock {
    pthread_mutex_t mutex; /* robust, process-shared, error checking */
    long owner;            /* thread id (gettid) of the holder, 0 when free; atomics only */
    uint32_t depth;        /* levels held by the owner (re-entrant locks only go above 1) */
    uint32_t reentrant;
} cl__owned_lock;

/* Prepares *l (in zeroed shared memory); 1, or 0 after reporting. */
CL_INTERNAL int cl__owned_lock_init(cl__owned_lock *l, int reentrant, const char *call);

/* Acquires *l by the deadline (may_wait 0: only if free now). 1 when held (also after recovering
 * it from a dead owner, which is reported), 0 on timeout or error (reported). Waits let the GIL
 * go; primitive and object name the lock to the observer; what names it in messages. */
CL_INTERNAL int cl__owned_lock_acquire(cl__owned_lock *l, const cl__deadline *d, int may_wait,
                                       const char *call, const char *primitive, const void *obj,
                                       const char *what);

/* Releases one level of *l; 1, or 0 after reporting that the caller does not hold it. */
CL_INTERNAL int cl__owned_lock_release(cl__owned_lock *l, const char *call, const char *primitive,
                                       const void *obj);

/* 1 if the calling thread holds *l. */
CL_INTERNAL int cl__owned_lock_mine(const cl__owned_lock *l);

/* 1 if anyone holds *l (or died holding it), 0 if it is free. */
CL_INTERNAL int cl__owned_lock_held(const cl__owned_lock *l);

#endif
