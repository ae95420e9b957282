/* conclab/atomic.h — atomics as functions (tcc has no atomic builtins).
 * Part of <conclab.h>; see there for the conventions every runtime header keeps. */
#ifndef CONCLAB_ATOMIC_H
#define CONCLAB_ATOMIC_H

#ifdef __cplusplus
extern "C" {
#endif

/* ---- atomics (sequentially consistent; tcc has no atomic builtins) ---------------------- */

/* Atomically adds v to *p and returns the new value. */
long cl_atomic_add(long *p, long v);

/* Atomically reads and returns *p. */
long cl_atomic_load(long *p);

/* Atomically writes v to *p. */
void cl_atomic_store(long *p, long v);

/* Atomically sets *p to desired if it equals expected; returns 1 if it did, else 0. */
int cl_atomic_cas(long *p, long expected, long desired);

#ifdef __cplusplus
}
#endif

#endif
