/* conclab/thread.h — threads (Python: threading.Thread).
 * Part of <conclab.h>; see there for the conventions every runtime header keeps. */
#ifndef CONCLAB_THREAD_H
#define CONCLAB_THREAD_H

#ifdef __cplusplus
extern "C" {
#endif

/* A thread started by cl_thread_start; opaque, released by cl_thread_join. */
typedef struct cl_thread cl_thread;

/* ---- threads (Python: threading.Thread) ------------------------------------------------- */

/* Starts a thread running fn(arg); join it with cl_thread_join. */
cl_thread *cl_thread_start(void *(*fn)(void *), void *arg);

/* Waits for thread t to finish, frees t and returns what its fn returned (NULL on error). */
void *cl_thread_join(cl_thread *t);

/* Returns the calling thread's id, as the operating system numbers it (threading.get_native_id). */
long cl_thread_id(void);

/* Returns how many threads started by cl_thread_start are still running. */
int cl_thread_count(void);

#ifdef __cplusplus
}
#endif

#endif
