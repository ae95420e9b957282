/* conclab/thread.h — threads (Python: threading.Thread, current_thread, get_native_id,
 * active_count).
 * Part of <conclab.h>; see there for the conventions every runtime header keeps.
 *
 * Lifetime of a handle: cl_thread_start returns one; exactly one of cl_thread_join (or a
 * cl_thread_join_timeout that returns 1) and cl_thread_detach releases it. A handle that was
 * joined or detached is gone: passing it again is reported ("not a joinable thread") when the
 * runtime can still tell, which it usually can, but it is a mistake like using freed memory.
 *
 * Differences from Python, on purpose:
 *   - join frees the handle and hands back fn's return value, like pthread_join; so a thread is
 *     joined once, by one thread (Python lets any number of threads join, repeatedly).
 *   - cl_thread_detach is Python's daemon=True, decided after start: nobody joins the thread and
 *     its resources go when it ends. In C every thread ends when the process does (main returns
 *     or exit is called); Python instead waits for its non-daemon threads at exit — join them.
 *   - Names longer than 63 characters are cut there; the operating system (ps, top, gdb) sees
 *     the first 15.
 */
#ifndef CONCLAB_THREAD_H
#define CONCLAB_THREAD_H

#include <stddef.h> /* NULL: several calls take it for "none" */

#ifdef __cplusplus
extern "C" {
#endif

/* A thread started by cl_thread_start; opaque, released by cl_thread_join or cl_thread_detach. */
typedef struct cl_thread cl_thread;

/* ---- threads (Python: threading.Thread) ------------------------------------------------- */

/* Starts a thread running fn(arg), named "Thread-N"; join it with cl_thread_join (NULL on error). */
cl_thread *cl_thread_start(void *(*fn)(void *), void *arg);

/* Starts a thread running fn(arg) under the given name (Thread(name=...)); NULL on error. */
cl_thread *cl_thread_start_named(const char *name, void *(*fn)(void *), void *arg);

/* Waits for thread t to finish, frees t and returns what its fn returned (NULL on error). */
void *cl_thread_join(cl_thread *t);

/* Waits at most seconds for t; returns 1 (t freed, fn's result in *result if not NULL) or 0 on timeout (t stays joinable). */
int cl_thread_join_timeout(cl_thread *t, double seconds, void **result);

/* Lets t run on unjoined, like a daemon thread: its resources go when it ends; returns 1, or 0 on error. */
int cl_thread_detach(cl_thread *t);

/* Returns 1 while t's fn is still running, else 0 (Python: is_alive()). */
int cl_thread_is_alive(cl_thread *t);

/* Returns the calling thread's id, as the operating system numbers it (threading.get_native_id). */
long cl_thread_id(void);

/* Returns the calling thread's name: its given name, "Thread-N", "main", or "Dummy-N" for threads the runtime did not start. */
const char *cl_thread_name(void);

/* Returns how many threads started by cl_thread_start are still running. */
int cl_thread_count(void);

#ifdef __cplusplus
}
#endif

#endif
