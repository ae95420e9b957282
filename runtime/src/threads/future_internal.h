/* future_internal.h — what producers inside the runtime (the thread pool; later the process pool
 * and the event loop) need beyond conclab/future.h: a future that carries the producer's own
 * data in the same allocation, so submitting a task costs one malloc; and the spin they wait
 * with before sleeping. */
#ifndef CONCLAB_RUNTIME_FUTURE_INTERNAL_H
#define CONCLAB_RUNTIME_FUTURE_INTERNAL_H

#include <stddef.h>

#include "conclab/future.h"
#include "observe.h"

/* A pending future with refs references and extra bytes of producer data (suitably aligned,
 * zeroed), or NULL when out of memory (nothing reported: the caller names its own call). */
CL_INTERNAL cl_future *cl__future_alloc(size_t extra, int refs);

/* The producer data of a future made by cl__future_alloc. */
CL_INTERNAL void *cl__future_extra(cl_future *f);

/* Finishes f with data, size bytes from malloc that f now owns and frees (also when it cannot
 * finish f: cancelled meanwhile, -1). The process pool's results, without a copy. */
CL_INTERNAL int cl__future_adopt_bytes(cl_future *f, void *data, size_t size);

/* ---- for the event loop (loop.c, task.c) ---------------------------------------------------- */

/* What a producer may change about how its futures behave: a task's future cancels by asking
 * its coroutine (delivered at its next await), and reports an error nobody read when its last
 * reference goes. Either member may be NULL. */
typedef struct cl__future_ops {
    int (*cancel)(cl_future *f);    /* replaces cl_future_cancel's default for this future */
    void (*last_ref)(cl_future *f); /* called before the future is destroyed */
} cl__future_ops;

/* Whether f is a live future; reports "call: ..." if not. */
CL_INTERNAL int cl__future_check(const cl_future *f, const char *call);

/* Sets f's producer operations (before f is shared with anyone). */
CL_INTERNAL void cl__future_set_ops(cl_future *f, const cl__future_ops *ops);

/* f's producer operations, or NULL. */
CL_INTERNAL const cl__future_ops *cl__future_ops_of(const cl_future *f);

/* Cancels pending f the default way, ignoring its ops; returns 1 if f is (now) cancelled. */
CL_INTERNAL int cl__future_cancel_now(cl_future *f);

/* The event loop f belongs to (made by cl_future_new while that loop ran on the thread, or a
 * task of it), or NULL for futures completed elsewhere (pools, other threads). */
CL_INTERNAL void *cl__future_home(const cl_future *f);
CL_INTERNAL void cl__future_set_home(cl_future *f, void *loop);

/* Someone read f's error (cl_future_result, cl_future_error, an await): no "never retrieved". */
CL_INTERNAL void cl__future_mark_retrieved(cl_future *f);
CL_INTERNAL int cl__future_retrieved(const cl_future *f);

/* Removes the first done callback fn that has not run yet whose arg points at a struct whose
 * first member is the pointer key; returns that arg, or NULL if there is none (it ran, is
 * running, or is about to: the future is done). */
CL_INTERNAL void *cl__future_take_done_callback(cl_future *f, void (*fn)(cl_future *f, void *arg), const void *key);

/* Whether f finished with an error, without counting as reading it. */
CL_INTERNAL int cl__future_failed(cl_future *f);

/* The running event loop of this thread (loop.c), for cl_future_new to record as the home. */
CL_INTERNAL void *cl__loop_running_here(void);

/* Spins up to seconds until ready(arg) is true; returns whether it became true. For the
 * moment before a thread sleeps: a wake-up costs more than a short task. Call it inside a
 * blocking region (cl__blocking_begin), so a spinner never holds the emulated GIL. */
CL_INTERNAL int cl__spin_until(int (*ready)(void *), void *arg, double seconds);

#endif
