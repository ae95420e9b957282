/* conclab/atomic.h — atomics as functions, for int, long and pointers (Python has none: there
 * the GIL makes some single operations atomic, and everything else needs a threading.Lock).
 *
 * tcc, which compiles notebook cells, has no <stdatomic.h>, no _Atomic and no __atomic builtins,
 * so the runtime exports them: every call is one sequentially consistent operation, compiled by
 * gcc. Keep a value that several threads touch behind these calls for all its accesses (mixing
 * in plain reads and writes is a data race again).
 *
 *   load, store          read or write the whole value at once
 *   add                  add v and return the NEW value (like ++x, not x++; v may be negative)
 *   exchange             write v and return the OLD value
 *   cas                  compare-and-swap: if *p == expected, write desired and return 1, else 0
 *
 * cl_atomic_add/load/store/exchange/cas without a type work on long (the labs' counters).
 * Pointer calls take the address of a pointer variable: cl_atomic_ptr_load((void **)&head).
 * A NULL address is reported ("cl_atomic_int_add: pointer is NULL") and the call returns 0/NULL.
 * Part of <conclab.h>; see there for the conventions every runtime header keeps. */
#ifndef CONCLAB_ATOMIC_H
#define CONCLAB_ATOMIC_H

#ifdef __cplusplus
extern "C" {
#endif

/* ---- long (the default family) ------------------------------------------------------------ */

/* Atomically adds v to *p and returns the new value. */
long cl_atomic_add(long *p, long v);

/* Atomically reads and returns *p. */
long cl_atomic_load(long *p);

/* Atomically writes v to *p. */
void cl_atomic_store(long *p, long v);

/* Atomically writes v to *p and returns the value it replaced. */
long cl_atomic_exchange(long *p, long v);

/* Atomically sets *p to desired if it equals expected; returns 1 if it did, else 0. */
int cl_atomic_cas(long *p, long expected, long desired);

/* ---- long, spelled with its type ---------------------------------------------------------- */

/* Atomically adds v to *p and returns the new value (same as cl_atomic_add). */
long cl_atomic_long_add(long *p, long v);

/* Atomically reads and returns *p (same as cl_atomic_load). */
long cl_atomic_long_load(long *p);

/* Atomically writes v to *p (same as cl_atomic_store). */
void cl_atomic_long_store(long *p, long v);

/* Atomically writes v to *p and returns the value it replaced (same as cl_atomic_exchange). */
long cl_atomic_long_exchange(long *p, long v);

/* Atomically sets *p to desired if it equals expected; returns 1 if it did (same as cl_atomic_cas). */
int cl_atomic_long_cas(long *p, long expected, long desired);

/* ---- int ----------------------------------------------------------------------------------- */

/* Atomically adds v to the int *p and returns the new value. */
int cl_atomic_int_add(int *p, int v);

/* Atomically reads and returns the int *p. */
int cl_atomic_int_load(int *p);

/* Atomically writes v to the int *p. */
void cl_atomic_int_store(int *p, int v);

/* Atomically writes v to the int *p and returns the value it replaced. */
int cl_atomic_int_exchange(int *p, int v);

/* Atomically sets the int *p to desired if it equals expected; returns 1 if it did, else 0. */
int cl_atomic_int_cas(int *p, int expected, int desired);

/* ---- pointers (p is the address of a pointer variable) ------------------------------------ */

/* Atomically moves the pointer *p by bytes bytes (not elements) and returns the new pointer. */
void *cl_atomic_ptr_add(void **p, long bytes);

/* Atomically reads and returns the pointer *p. */
void *cl_atomic_ptr_load(void **p);

/* Atomically writes the pointer v to *p. */
void cl_atomic_ptr_store(void **p, void *v);

/* Atomically writes the pointer v to *p and returns the pointer it replaced. */
void *cl_atomic_ptr_exchange(void **p, void *v);

/* Atomically sets the pointer *p to desired if it equals expected; returns 1 if it did, else 0. */
int cl_atomic_ptr_cas(void **p, void *expected, void *desired);

#ifdef __cplusplus
}
#endif

#endif
