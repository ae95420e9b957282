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

/* Spins up to seconds until ready(arg) is true; returns whether it became true. For the
 * moment before a thread sleeps: a wake-up costs more than a short task. Call it inside a
 * blocking region (cl__blocking_begin), so a spinner never holds the emulated GIL. */
CL_INTERNAL int cl__spin_until(int (*ready)(void *), void *arg, double seconds);

#endif
