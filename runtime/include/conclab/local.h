/* conclab/local.h — thread-local values (Python: threading.local).
 *
 * tcc has no __thread, so a cell keeps per-thread data in a cl_local: one slot that holds a
 * different void * in every thread. A thread that never set it reads NULL.
 *
 * Lifetimes, as Python's threading.local drops a thread's attributes when the thread ends:
 *   - when a thread ends (returns or pthread_exit), the destructor given to cl_local_new runs on
 *     that thread for its value, if the value is not NULL;
 *   - cl_local_set does not destroy the value it replaces (the caller may still own it);
 *   - cl_local_free runs the destructor for every value still set, in whichever threads, on the
 *     calling thread, including values of threads that live on (the main thread, pool workers).
 * Free a local only once no other thread is using it or still ending (join or synchronize
 * first), as for any object; gets and sets of other locals are not affected.
 * Part of <conclab.h>; see there for the conventions every runtime header keeps. */
#ifndef CONCLAB_LOCAL_H
#define CONCLAB_LOCAL_H

#ifdef __cplusplus
extern "C" {
#endif

/* A slot holding one value per thread; opaque, released by cl_local_free. */
typedef struct cl_local cl_local;

/* ---- thread-local values (Python: threading.local) ---------------------------------------- */

/* Creates a thread-local slot; destructor (may be NULL) frees a thread's value when it ends. */
cl_local *cl_local_new(void (*destructor)(void *));

/* Returns the calling thread's value in local l (NULL if this thread never set it). */
void *cl_local_get(cl_local *l);

/* Sets the calling thread's value in local l; returns 0, or -1 on error. */
int cl_local_set(cl_local *l, void *value);

/* Frees local l, running its destructor on every value still set in any thread. */
void cl_local_free(cl_local *l);

#ifdef __cplusplus
}
#endif

#endif
