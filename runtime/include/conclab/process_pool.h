/* conclab/process_pool.h — a pool of worker processes (Python: multiprocessing.Pool and
 * concurrent.futures.ProcessPoolExecutor with the fork start method).
 *
 *     static void square(const void *arg, size_t size) {     // a task
 *         long x = *(const long *)arg;
 *         cl_task_return_long(x * x);                         // its answer, sent back as bytes
 *     }
 *     cl_process_pool *pool = cl_process_pool_new(4);         // forks 4 workers now
 *     long xs[8] = {1, 2, 3, 4, 5, 6, 7, 8}, squares[8];
 *     cl_process_pool_map(pool, square, xs, sizeof xs[0], 8, squares, sizeof squares[0], CL_FOREVER);
 *     long seven = 7;
 *     cl_future *f = cl_process_pool_submit(pool, square, &seven, sizeof seven);
 *     void *value;
 *     if (cl_future_result(f, CL_FOREVER, &value) == CL_FUTURE_OK) printf("%ld\n", *(long *)value);
 *     cl_future_free(f);
 *     cl_process_pool_free(pool);                             // like leaving `with executor:`
 *
 * Tasks. A task is void fn(const void *arg, size_t size): it gets a copy of the argument bytes
 * (in place of Python's pickling: pass plain data, not pointers into the parent's memory) and
 * answers with cl_task_return (any number of bytes, copied; a later call replaces an earlier
 * one) or one of its helpers, or fails with cl_task_fail("why") (conclab/pool.h) and returns. A
 * task that returns without either answers with no bytes (Python: None): result NULL, size 0.
 * Workers are forked when the pool is made (and when one is replaced), so the functions they run
 * must exist by then, as with Python's fork start method: a function defined in a later cell is
 * unknown to them (calling it kills the worker, and its task reports that).
 *
 * Results come back as bytes in the same cl_future type the thread pool hands out, so
 * cl_future_result, cl_futures_wait, cl_as_completed_* and the rest all work (Python's
 * AsyncResult: get = cl_future_result, wait = cl_futures_wait, ready = cl_future_done,
 * successful = cl_future_succeeded). The bytes belong to the future: valid until the last
 * cl_future_free; cl_future_result_size gives their length. A string helper's bytes end in '\0'.
 *
 * A worker that dies while running a task (a crash, a kill, _exit) finishes that task's future
 * with an error such as "worker process 1234 died of SIGSEGV while running this task" (Python:
 * BrokenProcessPool) and is replaced by a new worker; the other tasks go on. The caller never
 * hangs. Each worker flushes stdout and stderr after every task, so its output appears live.
 *
 * map and starmap (Python: Pool.map, Pool.starmap) take n arguments of arg_size bytes each,
 * laid out one after another (an array), and write result i into slot i of results (result_size
 * bytes each; results may be NULL to drop them). In C a task takes one argument, so a "tuple" of
 * several is a struct: starmap is map with a struct per task, named for the Python it mirrors.
 * Like Python they send the tasks in chunks (chunksize = n / (4 x workers), rounded up). They
 * return 0, or -1 after reporting the first task (in order) that failed, returned a result of
 * another size than result_size, or did not finish within timeout (counted from the call);
 * tasks still queued are then cancelled.
 *
 * Ending a pool. close stops submissions and lets the queued tasks run; join waits (up to a
 * timeout) for the workers to end after close or terminate (Python: ValueError without them);
 * terminate kills the workers at once and finishes every unfinished future with the error "the
 * pool was terminated" (Python leaves them pending forever); shutdown(wait, cancel_pending) is
 * ProcessPoolExecutor.shutdown(wait, cancel_futures); free shuts down, waiting for queued tasks
 * (as leaving `with ProcessPoolExecutor()` does; leaving `with Pool()` terminates instead: call
 * terminate first for that) and frees. Every worker is reaped: no zombies after join,
 * terminate or free, and a worker whose parent process dies is killed by the kernel with it
 * (no orphans).
 *
 * Differences from Python: 0 workers means one per CPU (as Python); a pool works in the
 * process that made it only (a forked child cannot submit to its parent's pool); there is no
 * maxtasksperchild and no initializer (start work from the task itself).
 * Part of <conclab.h>; see there for the conventions every runtime header keeps. */
#ifndef CONCLAB_PROCESS_POOL_H
#define CONCLAB_PROCESS_POOL_H

#include <stddef.h> /* size_t */

#include <conclab/future.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A pool of worker processes; opaque, released by cl_process_pool_free. */
typedef struct cl_process_pool cl_process_pool;

/* Results of cl_process_pool_imap_unordered in completion order; released by cl_process_pool_iter_free. */
typedef struct cl_process_pool_iter cl_process_pool_iter;

/* A task run in a worker process: arg is a copy of the size bytes that were submitted. */
typedef void (*cl_process_task)(const void *arg, size_t size);

/* ---- pools (Python: multiprocessing.Pool, ProcessPoolExecutor) ---------------------------- */

/* Forks a pool of workers processes (0: one per CPU); free it with cl_process_pool_free (NULL on error). */
cl_process_pool *cl_process_pool_new(int workers);

/* Returns how many worker processes pool p runs (-1 on error). */
int cl_process_pool_workers(cl_process_pool *p);

/* Queues fn on a copy of size bytes at arg; returns its future, yours to cl_future_free (NULL on error). */
cl_future *cl_process_pool_submit(cl_process_pool *p, cl_process_task fn, const void *arg, size_t size);

/* The same as cl_process_pool_submit, under Pool's name (Python: Pool.apply_async). */
cl_future *cl_process_pool_apply_async(cl_process_pool *p, cl_process_task fn, const void *arg, size_t size);

/* Runs fn on n arguments of arg_size bytes, result i into slot i of results (result_size bytes each); 0, or -1 if any failed. */
int cl_process_pool_map(cl_process_pool *p, cl_process_task fn, const void *args, size_t arg_size, int n, void *results, size_t result_size, double timeout);

/* cl_process_pool_map for tasks whose argument is a struct of several values (Python: Pool.starmap). */
int cl_process_pool_starmap(cl_process_pool *p, cl_process_task fn, const void *args, size_t arg_size, int n, void *results, size_t result_size, double timeout);

/* Starts fn on n arguments of arg_size bytes; iterate the results as they finish (Python: Pool.imap_unordered); NULL on error. */
cl_process_pool_iter *cl_process_pool_imap_unordered(cl_process_pool *p, cl_process_task fn, const void *args, size_t arg_size, int n);

/* Next finished task: 1 with its *index, *result and *size; -1 when it failed (reported, *index set); 0 when none is left or timed out. */
int cl_process_pool_iter_next(cl_process_pool_iter *it, double timeout, int *index, const void **result, size_t *size);

/* Returns how many results the iterator has not given yet (-1 on error). */
int cl_process_pool_iter_remaining(cl_process_pool_iter *it);

/* Frees iterator it and the results it gave; tasks still running finish on their own. */
void cl_process_pool_iter_free(cl_process_pool_iter *it);

/* Stops taking tasks; queued ones still run and the workers then end (Python: Pool.close); 0, or -1 on error. */
int cl_process_pool_close(cl_process_pool *p);

/* Waits up to timeout seconds for the workers to end after close or terminate: 1 ended, 0 timed out, -1 error. */
int cl_process_pool_join(cl_process_pool *p, double timeout);

/* Kills the workers now; unfinished futures end with "the pool was terminated"; 0, or -1 on error. */
int cl_process_pool_terminate(cl_process_pool *p);

/* Stops taking tasks; cancel_pending cancels queued ones, wait waits for the workers to end; 0, or -1 on error. */
int cl_process_pool_shutdown(cl_process_pool *p, int wait, int cancel_pending);

/* Shuts pool p down, letting queued tasks finish, reaps its workers and frees it. */
void cl_process_pool_free(cl_process_pool *p);

/* ---- answering from a task (Python: the task's return value) ------------------------------ */

/* Sets the running task's result to a copy of size bytes at data; 0, or -1 outside a process pool task. */
int cl_task_return(const void *data, size_t size);

/* Sets the running task's result to the long x (read it as *(long *)value). */
int cl_task_return_long(long x);

/* Sets the running task's result to the double x (read it as *(double *)value). */
int cl_task_return_double(double x);

/* Sets the running task's result to a copy of string s with its '\0' (read it as (char *)value). */
int cl_task_return_string(const char *s);

#ifdef __cplusplus
}
#endif

#endif
