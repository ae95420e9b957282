/* waits_internal.h — the board of waits (waits.c writes it, waits_report.c reads it) and the
 * probes the primitives call. The board is shared memory (conclab_host.h: cl_host_share_waits):
 * its layout is fixed, plain data, no pointers. */
#ifndef CONCLAB_RUNTIME_WAITS_INTERNAL_H
#define CONCLAB_RUNTIME_WAITS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "observe.h"

#define CL__WAITS_MAGIC 0x57414954u /* "WAIT" */

/* What a thread is doing, as its slot shows it. */
typedef struct cl__wait_note {
    char thread[32];        /* the thread's name */
    char process[32];       /* its process's name: "MainProcess", or what cl_process_start named */
    char primitive[24];     /* what it waits on (hook.h's names); "" while it does not wait */
    char object[48];        /* the object's name ("" if none); for a join, the joined thread's or process's */
    uint64_t address;       /* the object's address, for unnamed ones */
    int32_t holder;         /* tid of the thread holding it; 0 when unknown or none */
    double since;           /* cl_now() (the monotonic clock) when the wait began */
    char where[112];        /* where the wait was called, when known */
} cl__wait_note;

/* One thread's slot. Its thread writes the note between two increments of seq (odd meanwhile),
 * byte by byte with atomic stores, and readers copy it with atomic loads and keep the copy only
 * if seq was even and unchanged around it: a seqlock that ThreadSanitizer can follow. */
typedef struct cl__wait_slot {
    uint32_t seq;
    int32_t pid, tid;       /* tid 0: a free slot; both atomics only */
    cl__wait_note note;
} cl__wait_slot;

/* Copies note out of s if it was whole (not being written); 1 when it was. */
static inline int cl__wait_slot_read(const cl__wait_slot *s, cl__wait_note *note) {
    uint32_t before = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
    if (before & 1) return 0;
    const unsigned char *from = (const unsigned char *)&s->note;
    unsigned char *to = (unsigned char *)note;
    for (size_t i = 0; i < sizeof *note; i++) to[i] = __atomic_load_n(from + i, __ATOMIC_ACQUIRE);
    return __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE) == before;
}

typedef struct cl__wait_board {
    uint32_t magic;
    uint32_t n_slots;
    cl__wait_slot slots[];
} cl__wait_board;

/* Non-zero once the host shared a board: the probes below do nothing before. */
CL_INTERNAL extern int cl__waits_on;

/* The calling thread starts waiting on object (a primitive's WAIT event). */
CL_INTERNAL void cl__waits_note(const char *primitive, const void *object);

/* ... and no longer waits (its ACQUIRE or TIMEOUT, or the end of its blocking section). */
CL_INTERNAL void cl__waits_clear(void);

/* A runtime thread starts and ends: it shows on the board while it lives, waiting or not. */
CL_INTERNAL void cl__waits_thread_started(void);
CL_INTERNAL void cl__waits_thread_ended(void);

/* Who holds a lock-like primitive now: a thread id (gettid), 0 when free or unknown. */
CL_INTERNAL long cl__lock_holder(const void *lock);
CL_INTERNAL long cl__rlock_holder(const void *rlock);
CL_INTERNAL long cl__shared_lock_holder(const void *shared_lock);
CL_INTERNAL long cl__gil_holder(void);

/* The name of a runtime thread or process from its handle (for joins). */
CL_INTERNAL const char *cl__thread_name_of(const void *thread);
CL_INTERNAL const char *cl__process_name_of(const void *process);

#endif
