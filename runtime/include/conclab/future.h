/* conclab/future.h — futures: a result that arrives later (Python: concurrent.futures.Future,
 * wait, as_completed). The thread pool (conclab/pool.h) hands them out; the process pool and
 * the event loop complete the same type.
 *
 * States:  pending --set_running--> running --set_result / set_error--> finished
 *          pending --cancel--> cancelled          (a running or finished future cannot cancel)
 *          pending --set_result / set_error--> finished   (producers that have no running step)
 * "Done" means finished or cancelled; a done future never changes again.
 *
 * Ownership (reference counting, as jansson does): every cl_future * you receive from
 * cl_future_new, cl_pool_submit or cl_future_ref is one reference, to be dropped exactly once
 * with cl_future_free; the future is freed with its last reference. A producer (a pool) keeps
 * its own reference until it has completed the future, so you may free yours at any time, even
 * while the task still runs (its result is then thrown away; freeing does not cancel). A thread
 * that may still use a future after another thread drops its reference takes its own with
 * cl_future_ref. The error message and the result pointer belong to the future's owner: the
 * message is freed with the future, the result never is, except a result set as bytes
 * (cl_future_set_bytes, and every result of a process pool): the future holds its own copy,
 * freed with the future, and cl_future_result_size gives its length.
 *
 * Timeouts are in seconds: 0 polls, CL_FOREVER (or anything from 1e9 s on) waits forever
 * (Python: timeout=None); a negative or NaN timeout is misuse.
 *
 * Done callbacks run once, in the order added: at once on the adding thread if the future is
 * already done, else on the thread that completes or cancels it, after waiters are woken.
 * Differences from Python: errors are message strings, not exceptions; cancel() notifies
 * waiters at once (Python waits for the executor's set_running_or_notify_cancel); result()
 * and error() return a status instead of raising, and error() does not wait.
 * Part of <conclab.h>; see there for the conventions every runtime header keeps. */
#ifndef CONCLAB_FUTURE_H
#define CONCLAB_FUTURE_H

#ifdef __cplusplus
extern "C" {
#endif

#include <stddef.h>        /* size_t */
#include <conclab/clock.h> /* CL_FOREVER */

/* A result that arrives later; opaque, reference counted, released by cl_future_free. */
typedef struct cl_future cl_future;

/* An iterator over futures in the order they finish; released by cl_as_completed_free. */
typedef struct cl_as_completed cl_as_completed;

/* How cl_future_result ended (Python: a value, TimeoutError, CancelledError or the exception). */
typedef enum cl_future_status {
    CL_FUTURE_OK = 0,     /* finished with a result, stored in *value */
    CL_FUTURE_TIMEOUT,    /* not done within the timeout; still pending or running */
    CL_FUTURE_CANCELLED,  /* cancelled before it ran */
    CL_FUTURE_ERROR       /* finished with an error (cl_future_error says which), or misuse */
} cl_future_status;

/* When cl_futures_wait returns (Python: concurrent.futures.FIRST_COMPLETED and friends). */
typedef enum cl_return_when {
    CL_FIRST_COMPLETED = 1, /* as soon as any future is done */
    CL_FIRST_EXCEPTION,     /* as soon as any finishes with an error, else when all are done */
    CL_ALL_COMPLETED        /* when every future is done */
} cl_return_when;

/* ---- waiting for results (Python: Future.result, done, running, cancelled) --------------- */

/* Waits up to timeout seconds for f; on CL_FUTURE_OK stores its result in *value (value may be NULL). */
cl_future_status cl_future_result(cl_future *f, double timeout, void **value);

/* Returns f's error message if it finished with an error, else NULL; does not wait (Python: Future.exception). */
const char *cl_future_error(cl_future *f);

/* Cancels f if it is still pending; returns 1 if f is (now) cancelled, or for a started task asked to cancel at its next await; 0 if it runs or ran. */
int cl_future_cancel(cl_future *f);

/* Returns 1 if f is finished or cancelled, else 0. */
int cl_future_done(cl_future *f);

/* Returns 1 if f is running right now, else 0. */
int cl_future_running(cl_future *f);

/* Returns 1 if f was cancelled, else 0. */
int cl_future_cancelled(cl_future *f);

/* Returns 1 if f finished with a result, 0 if it failed or was cancelled, -1 (reported) while not done or on misuse (Python: AsyncResult.successful). */
int cl_future_succeeded(cl_future *f);

/* Returns the size in bytes of f's result if it was set as bytes (process pools, cl_future_set_bytes), else 0. */
size_t cl_future_result_size(cl_future *f);

/* Calls fn(f, arg) once f is done (at once if it already is); returns 0, or -1 on error. */
int cl_future_add_done_callback(cl_future *f, void (*fn)(cl_future *f, void *arg), void *arg);

/* ---- many futures (Python: concurrent.futures.wait, as_completed) ------------------------- */

/* Waits until return_when holds for the n futures or timeout passes; returns how many are done (-1 on error). */
int cl_futures_wait(cl_future **futs, int n, cl_return_when return_when, double timeout);

/* Starts iterating over the n futures as they finish, all within timeout seconds from now. */
cl_as_completed *cl_as_completed_new(cl_future **futs, int n, double timeout);

/* Returns the next future to be done (each once), or NULL when all were returned or time ran out. */
cl_future *cl_as_completed_next(cl_as_completed *it);

/* Returns how many futures it has not returned yet (after a NULL: 0 means all done, else timed out). */
int cl_as_completed_remaining(cl_as_completed *it);

/* Frees iterator it (the futures themselves stay yours). */
void cl_as_completed_free(cl_as_completed *it);

/* ---- ownership ---------------------------------------------------------------------------- */

/* Adds a reference to f and returns f; drop it with cl_future_free. */
cl_future *cl_future_ref(cl_future *f);

/* Drops one reference to f; the last one frees it (NULL is ignored). */
void cl_future_free(cl_future *f);

/* ---- producing (Python: Future.set_running_or_notify_cancel, set_result, set_exception) -- */

/* Creates a pending future holding one reference (the caller's); NULL on error. */
cl_future *cl_future_new(void);

/* Marks pending f running before its work starts; returns 1, 0 if it was cancelled (skip the work), -1 on error. */
int cl_future_set_running(cl_future *f);

/* Finishes f with value; returns 0, or -1 if f was cancelled meanwhile or is already finished. */
int cl_future_set_result(cl_future *f, void *value);

/* Finishes f with a copy of size bytes at data, owned and freed by f; returns 0, or -1 if f was cancelled or is already finished. */
int cl_future_set_bytes(cl_future *f, const void *data, size_t size);

/* Finishes f with an error message (copied); returns 0, or -1 if f was cancelled or is already finished. */
int cl_future_set_error(cl_future *f, const char *message);

#ifdef __cplusplus
}
#endif

#endif
