/* conclab/pool.h — a thread pool executor (Python: concurrent.futures.ThreadPoolExecutor).
 *
 *     cl_pool *pool = cl_pool_new(4);
 *     cl_future *f = cl_pool_submit(pool, work, arg);      // like pool.submit(work, arg)
 *     void *value;
 *     if (cl_future_result(f, CL_FOREVER, &value) == CL_FUTURE_OK) ...
 *     cl_future_free(f);
 *     cl_pool_free(pool);                                  // like leaving `with pool:`
 *
 * A task is a function void *fn(void *arg); what it returns becomes its future's result. To
 * fail instead (Python: raise), call cl_task_fail("why") and return: the future then finishes
 * with CL_FUTURE_ERROR and cl_future_error() gives the message; the returned value is ignored.
 * A task must return (not pthread_exit) so its worker can take the next one.
 *
 * Tasks run in submission order on the first free worker. Futures outlive their pool: freeing a
 * pool first lets every queued task run, so no future it handed out stays pending forever.
 * Submitting to a pool that is shut down is an error (NULL and a message, Python: RuntimeError).
 *
 * cl_pool_map (Python: list(pool.map(fn, args, timeout=t))) waits for the results in argument
 * order; its timeout counts from the call. At the first task that fails, times out or was
 * cancelled it prints "cl_pool_map: task 3 failed: <message>" (or "timed out", "was
 * cancelled"), cancels the tasks still queued and returns -1; results[] holds what came before
 * and NULL from there on. Tasks already running then finish on their own: keep their arguments
 * alive until they have (cl_pool_free waits for them).
 *
 * cl_pool_shutdown(p, wait, cancel_pending) is Python's shutdown(wait, cancel_futures); it may be
 * called again. A task cannot wait for its own pool (shutdown with wait, or free): that is
 * reported instead of hanging.
 *
 * Differences from Python: all workers start with the pool (Python starts them on demand), 0
 * workers means one per CPU (Python: min(32, CPUs + 4)), and workers are not counted by
 * cl_thread_count. For a quick round trip, a worker that runs out of tasks looks for the next
 * one for up to 50 microseconds before it sleeps, and a thread waiting for a result watches it
 * for up to 20: a short burst of CPU that shows in `top` while a pool is busy.
 * Part of <conclab.h>; see there for the conventions every runtime header keeps. */
#ifndef CONCLAB_POOL_H
#define CONCLAB_POOL_H

#include <conclab/future.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A pool of worker threads running submitted tasks; opaque, released by cl_pool_free. */
typedef struct cl_pool cl_pool;

/* ---- thread pools (Python: concurrent.futures.ThreadPoolExecutor) ------------------------- */

/* Starts a pool of workers threads (0: one per CPU); free it with cl_pool_free (NULL on error). */
cl_pool *cl_pool_new(int workers);

/* Queues fn(arg) to run on a worker; returns its future, yours to cl_future_free (NULL on error). */
cl_future *cl_pool_submit(cl_pool *p, void *(*fn)(void *), void *arg);

/* Runs fn on each of args[0..n-1], results[i] = fn(args[i]) in order (results may be NULL); returns 0, or -1 if any failed or timed out. */
int cl_pool_map(cl_pool *p, void *(*fn)(void *), void **args, int n, void **results, double timeout);

/* Stops taking tasks; cancel_pending cancels queued ones, wait waits for the workers to end; returns 0, or -1 on error. */
int cl_pool_shutdown(cl_pool *p, int wait, int cancel_pending);

/* Shuts pool p down, letting queued and running tasks finish, waits for its workers and frees it. */
void cl_pool_free(cl_pool *p);

/* Fails the pool task running on this thread with message (Python: raise); return right after. */
int cl_task_fail(const char *message);

#ifdef __cplusplus
}
#endif

#endif
