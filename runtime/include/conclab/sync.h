/* conclab/sync.h — synchronization (Python: threading.Lock and friends).
 * Part of <conclab.h>; see there for the conventions every runtime header keeps. */
#ifndef CONCLAB_SYNC_H
#define CONCLAB_SYNC_H

#ifdef __cplusplus
extern "C" {
#endif

/* A mutual-exclusion lock; opaque, released by cl_lock_free. */
typedef struct cl_lock cl_lock;

/* ---- locks (Python: threading.Lock) ----------------------------------------------------- */

/* Creates an unlocked lock; free it with cl_lock_free (NULL on error). */
cl_lock *cl_lock_new(void);

/* Blocks until the calling thread holds lock l. */
void cl_lock_acquire(cl_lock *l);

/* Releases lock l, which the calling thread must hold. */
void cl_lock_release(cl_lock *l);

/* Frees lock l, which must not be held by any thread. */
void cl_lock_free(cl_lock *l);

#ifdef __cplusplus
}
#endif

#endif
