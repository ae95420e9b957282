/* conclab.h — the conclab runtime: threads, locks, atomics, clocks and output for labs.
 *
 * Names follow Python's threading, time, os and IPython.display modules under one prefix, cl_,
 * so a notebook reads side by side with its chapter. Handles are opaque and come in
 * create/destroy pairs. A call that fails prints a line naming itself to stderr
 * ("cl_thread_join: ...") and returns NULL or 0 as its summary says.
 *
 * This header is read by three audiences, so it keeps three rules:
 *   - it compiles under tcc 0.9.27, which JIT-compiles notebook cells: no _Atomic, no __thread,
 *     no compiler builtins, no structs passed by value;
 *   - every function is declared on one line, right after a one-line summary comment: the
 *     kernel reads those pairs for completion and inspection;
 *   - it stands alone: homework builds with `gcc hw.c $(pkg-config --cflags --libs conclab)`.
 */
#ifndef CONCLAB_H
#define CONCLAB_H

#ifdef __cplusplus
extern "C" {
#endif

/* A thread started by cl_thread_start; opaque, released by cl_thread_join. */
typedef struct cl_thread cl_thread;

/* A mutual-exclusion lock; opaque, released by cl_lock_free. */
typedef struct cl_lock cl_lock;

/* ---- threads (Python: threading.Thread) ------------------------------------------------- */

/* Starts a thread running fn(arg); join it with cl_thread_join. */
cl_thread *cl_thread_start(void *(*fn)(void *), void *arg);

/* Waits for thread t to finish, frees t and returns what its fn returned (NULL on error). */
void *cl_thread_join(cl_thread *t);

/* Returns how many threads started by cl_thread_start are still running. */
int cl_thread_count(void);

/* ---- locks (Python: threading.Lock) ----------------------------------------------------- */

/* Creates an unlocked lock; free it with cl_lock_free (NULL on error). */
cl_lock *cl_lock_new(void);

/* Blocks until the calling thread holds lock l. */
void cl_lock_acquire(cl_lock *l);

/* Releases lock l, which the calling thread must hold. */
void cl_lock_release(cl_lock *l);

/* Frees lock l, which must not be held by any thread. */
void cl_lock_free(cl_lock *l);

/* ---- atomics (sequentially consistent; tcc has no atomic builtins) ---------------------- */

/* Atomically adds v to *p and returns the new value. */
long cl_atomic_add(long *p, long v);

/* Atomically reads and returns *p. */
long cl_atomic_load(long *p);

/* Atomically writes v to *p. */
void cl_atomic_store(long *p, long v);

/* Atomically sets *p to desired if it equals expected; returns 1 if it did, else 0. */
int cl_atomic_cas(long *p, long expected, long desired);

/* ---- time and machine (Python: time.monotonic, time.sleep, os.cpu_count) ----------------- */

/* Returns a monotonic clock in seconds, for measuring intervals. */
double cl_now(void);

/* Suspends the calling thread for the given number of seconds (fractions allowed). */
void cl_sleep(double seconds);

/* Returns the number of CPUs this process may run on (at least 1). */
int cl_cpu_count(void);

/* ---- output (Python: IPython.display) --------------------------------------------------- */

/* Clears what the current cell has shown so far (outside Jupyter: clears the terminal). */
void cl_clear_output(void);

#ifdef __cplusplus
}
#endif

#endif
