/* shared_memory.h — what the process-level primitives (processes, queues, pipes, shared values,
 * shared locks, process pools) build on. Internal.
 *
 * Objects shared between processes live in anonymous MAP_SHARED mappings made before the fork
 * that creates the other processes, which is how every conclab process is made: the child sees
 * the same pages at the same address, so the handle a cell holds is valid in both.
 *
 * Mutual exclusion across processes is a robust, process-shared pthread mutex: if its owner
 * dies, the next locker gets it back (EOWNERDEAD) and the runtime says so on stderr instead of
 * hanging. Waiting for a state change is a futex on a 32-bit word in the shared mapping, without
 * FUTEX_PRIVATE_FLAG so it works across processes; unlike a process-shared pthread condition
 * variable it holds no state for its waiters, so a waiter that is killed leaves nothing behind.
 */
#ifndef CONCLAB_RUNTIME_SHARED_MEMORY_H
#define CONCLAB_RUNTIME_SHARED_MEMORY_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "observe.h"
#include "wait.h"

/* ---- mappings ------------------------------------------------------------------------------- */

/* size zeroed bytes shared with every process forked afterwards; NULL (reported as
 * "call: ...") when the system refuses. */
CL_INTERNAL void *cl__shared_map(size_t size, const char *call);

/* Unmaps what cl__shared_map returned, in this process only (others keep their view). */
CL_INTERNAL void cl__shared_unmap(void *p, size_t size);

/* ---- robust mutexes ------------------------------------------------------------------------- */

/* Makes *m a process-shared, robust mutex; returns 1, or 0 after reporting "call: ...". */
CL_INTERNAL int cl__robust_init(pthread_mutex_t *m, const char *call);

/* How cl__robust_lock ended. */
enum {
    CL__ROBUST_TIMEOUT = 0,   /* the deadline passed; not locked */
    CL__ROBUST_LOCKED = 1,    /* locked */
    CL__ROBUST_RECOVERED = 2, /* locked, after its previous owner died holding it (reported) */
    CL__ROBUST_ERROR = -1     /* not locked: a deadlock with ourselves or an unusable mutex (reported) */
};

/* Locks *m by the deadline. When the previous owner died holding it, marks it consistent again,
 * reports "call: a process died while holding <what>; ..." once and returns RECOVERED, so the
 * caller can repair what it protects. Does not touch the GIL or the hook: callers bracket
 * long waits with cl__blocking_begin/end themselves. */
CL_INTERNAL int cl__robust_lock(pthread_mutex_t *m, const cl__deadline *d, const char *call,
                                const char *what);

/* Unlocks *m; returns 1, or 0 after reporting "call: ..." (not locked by this thread). */
CL_INTERNAL int cl__robust_unlock(pthread_mutex_t *m, const char *call);

/* ---- waiting across processes --------------------------------------------------------------- */

/* Sleeps while *word == expected, until woken or the deadline passes: 0 when woken (or the word
 * already differed), -1 at the deadline. Spurious wake-ups happen: re-check in a loop. */
CL_INTERNAL int cl__shared_park(uint32_t *word, uint32_t expected, const cl__deadline *d);

/* Wakes up to count sleepers on word in any process (INT32_MAX: all of them). */
CL_INTERNAL void cl__shared_unpark(uint32_t *word, int count);

/* Moves *seq on and wakes every process parked on it: the "notify_all" of a shared state. */
CL_INTERNAL void cl__shared_bump(uint32_t *seq);

#endif
