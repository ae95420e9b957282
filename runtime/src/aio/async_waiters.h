/* async_waiters.h — the line of waiting tasks under every async primitive (async_sync.h,
 * async_queue.h). Internal.
 *
 * asyncio builds Lock, Semaphore, Event, Condition and Queue the same way: a FIFO of waiter
 * futures; a task that must wait appends a fresh future and awaits it; whoever releases, sets or
 * notifies completes the first pending one, which schedules that task. This file is that FIFO.
 *
 * A waiter's node lives on the waiting task's own stack (a task's stack survives while it is
 * suspended), so parking allocates only the future. Only the parked task removes its node, when
 * it resumes, so a node whose future is already done (woken, or cancelled by its task) may still
 * be in the line: wakers skip those. */
#ifndef CONCLAB_RUNTIME_ASYNC_WAITERS_H
#define CONCLAB_RUNTIME_ASYNC_WAITERS_H

#include "conclab/future.h"
#include "conclab/loop.h"
#include "observe.h" /* CL_INTERNAL */

typedef struct cl__async_waiter {
    cl_future *future;
    struct cl__async_waiter *prev, *next;
} cl__async_waiter;

typedef struct cl__async_waiters {
    cl__async_waiter *head, *tail;
    int count;      /* nodes in the line, done or not */
    cl_loop *loop;  /* the loop whose tasks wait here (bound while count > 0) */
} cl__async_waiters;

/* How a park ended. */
typedef enum cl__async_park {
    CL__ASYNC_PARK_WOKEN = 0,     /* a waker completed our future and the await returned normally */
    CL__ASYNC_PARK_WOKEN_LATE,    /* woken, but the task was cancelled or timed out meanwhile: the
                               caller must pass on what the waker gave it */
    CL__ASYNC_PARK_CANCELLED,     /* the task was cancelled while it waited */
    CL__ASYNC_PARK_TIMEOUT,       /* the timeout passed (0 polls: returned at once) */
    CL__ASYNC_PARK_ERROR          /* misuse, reported under call's name */
} cl__async_park;

/* Whether the caller may wait at all: inside a task, on the loop wl is bound to, timeout valid.
 * Reports under call's name and returns 0 when not. */
CL_INTERNAL int cl__async_waiters_can_park(cl__async_waiters *wl, double timeout, const char *call);

/* Suspends the current task in line wl until a waker completes its future, the task is
 * cancelled or timeout seconds pass (CL_FOREVER: no limit; 0: returns TIMEOUT at once). Reports
 * the wait to the hook as primitive/object. Call cl__async_waiters_can_park first. */
CL_INTERNAL cl__async_park cl__async_waiters_park(cl__async_waiters *wl, double timeout, const char *primitive, const void *object);

/* Completes the first pending waiter's future; returns 1 if there was one, else 0. */
CL_INTERNAL int cl__async_waiters_wake_first(cl__async_waiters *wl);

/* Completes up to n pending waiters' futures (n < 0: all); returns how many. */
CL_INTERNAL int cl__async_waiters_wake(cl__async_waiters *wl, int n);

/* Returns the number of waiters whose futures are still pending. */
CL_INTERNAL int cl__async_waiters_pending(const cl__async_waiters *wl);

/* Returns 1 if the caller runs on the loop wl is bound to (or nobody waits); else reports under call's name and returns 0. */
CL_INTERNAL int cl__async_waiters_same_loop(const cl__async_waiters *wl, const char *call);

#endif
