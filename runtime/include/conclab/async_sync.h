/* conclab/async_sync.h — synchronization between tasks of one event loop (Python: asyncio.Lock,
 * Semaphore, BoundedSemaphore, Event, Condition, and `async with`).
 * Part of <conclab.h>; see there for the conventions every runtime header keeps.
 *
 *     cl_async_lock *lock = cl_async_lock_new();    // lock = asyncio.Lock()
 *     void *worker(void *arg) {                     // async def worker():
 *         CL_ASYNC_WITH_LOCK(lock) {                //     async with lock:
 *             cl_async_sleep(0.1);                  //         await asyncio.sleep(0.1)
 *         }
 *         return NULL;
 *     }
 *
 * These are the thread primitives of <conclab/sync.h> for tasks: waiting suspends only the
 * calling task (an await), never the thread, so they must be waited on inside a task
 * (cl_async_run, cl_async_create_task). They are built as asyncio builds them: each keeps a
 * first-in first-out line of waiter futures, and a release, set or notify completes the first
 * waiter's future. They are not thread-safe, as in Python: use them from the thread of their
 * loop only (from another thread, go through cl_loop_call_soon_threadsafe).
 *
 * Return values follow <conclab/sync.h>: 1 for True (acquired, set, notified); 0 when the wait
 * did not succeed — the task was cancelled while it waited (Python: CancelledError;
 * cl_task_cancelling(cl_task_current()) then says so), the timeout passed, or a misuse, which is
 * also reported as "cl_<call>: what went wrong". So `if (cl_async_lock_acquire(l))` never enters
 * a critical section it does not own. Timeouts are seconds (0 polls without waiting, CL_FOREVER
 * waits); Python spells them asyncio.wait_for(lock.acquire(), t), which works here too on a task.
 *
 * Cancellation leaves every primitive consistent: a waiter that is cancelled after it was
 * handed the lock (or a permit, or a notification) passes it on to the next waiter.
 *
 * Differences from Python, on purpose:
 *   - Lock and Semaphore hand the lock or permit straight to the first waiter (strict FIFO):
 *     no task that arrives later can take it in between. Python 3.12 gets the same order by
 *     making newcomers queue while anyone waits.
 *   - A primitive is bound to a loop while tasks wait on it, not forever: one made in one cell
 *     may be used again by a later cl_async_run (Python binds at first use, for good).
 *   - The cl_async_*_free calls refuse (and report) while the object is held or waited on.
 *   - Every wait, acquire, release and timeout is reported to the observer of <conclab/hook.h>
 *     as the primitives "async_lock", "async_semaphore", "async_event", "async_condition". */
#ifndef CONCLAB_ASYNC_SYNC_H
#define CONCLAB_ASYNC_SYNC_H

#include <stddef.h> /* NULL: several calls take it for "none" */

#include <conclab/clock.h> /* CL_FOREVER */

#ifdef __cplusplus
extern "C" {
#endif

/* A lock between the tasks of one loop (Python: asyncio.Lock); opaque, freed by cl_async_lock_free. */
typedef struct cl_async_lock cl_async_lock;

/* A counter of permits for tasks (Python: asyncio.Semaphore and asyncio.BoundedSemaphore). */
typedef struct cl_async_semaphore cl_async_semaphore;

/* A flag tasks can wait for (Python: asyncio.Event). */
typedef struct cl_async_event cl_async_event;

/* A condition variable for tasks, bound to a cl_async_lock (Python: asyncio.Condition). */
typedef struct cl_async_condition cl_async_condition;

/* ---- Lock (Python: asyncio.Lock) ------------------------------------------------------------ */

/* Creates an unlocked async lock; free it with cl_async_lock_free (NULL on error). */
cl_async_lock *cl_async_lock_new(void);

/* Awaits the lock (await lock.acquire()); returns 1 when held, 0 if the task was cancelled while waiting (or misuse). */
int cl_async_lock_acquire(cl_async_lock *l);

/* Awaits the lock for at most seconds (wait_for(lock.acquire(), s)); returns 1 when held, 0 on timeout or cancellation. */
int cl_async_lock_acquire_timeout(cl_async_lock *l, double seconds);

/* Releases the lock, handing it to the first waiting task; returns 1, or 0 (reported) if it was not locked. */
int cl_async_lock_release(cl_async_lock *l);

/* Returns 1 if the lock is held right now, else 0 (lock.locked()). */
int cl_async_lock_locked(cl_async_lock *l);

/* Frees the lock; refuses (returns 0 and reports) while it is held or waited on. NULL is ignored. */
int cl_async_lock_free(cl_async_lock *l);

/* ---- Semaphore and BoundedSemaphore (Python: asyncio.Semaphore, BoundedSemaphore) ----------- */

/* Creates a semaphore holding value permits (value >= 0); NULL on error. */
cl_async_semaphore *cl_async_semaphore_new(int value);

/* Creates a semaphore that refuses to be released above its initial value (asyncio.BoundedSemaphore). */
cl_async_semaphore *cl_async_bounded_semaphore_new(int value);

/* Awaits a permit and takes it; returns 1, or 0 if the task was cancelled while waiting (or misuse). */
int cl_async_semaphore_acquire(cl_async_semaphore *s);

/* Awaits a permit for at most seconds; returns 1 if it took one, 0 on timeout or cancellation. */
int cl_async_semaphore_acquire_timeout(cl_async_semaphore *s, double seconds);

/* Gives back one permit, handing it to the first waiting task; 0 (reported) if a bounded one would overflow. */
int cl_async_semaphore_release(cl_async_semaphore *s);

/* Returns 1 if no permit is free right now, else 0 (Semaphore.locked()). */
int cl_async_semaphore_locked(cl_async_semaphore *s);

/* Returns the number of free permits right now (Python: the private _value). */
int cl_async_semaphore_value(cl_async_semaphore *s);

/* Frees the semaphore; refuses while tasks wait on it or a bounded one is not fully released. */
int cl_async_semaphore_free(cl_async_semaphore *s);

/* ---- Event (Python: asyncio.Event) ---------------------------------------------------------- */

/* Creates an event whose flag is clear; NULL on error. */
cl_async_event *cl_async_event_new(void);

/* Sets the flag and wakes every task waiting for it (event.set()). */
void cl_async_event_set(cl_async_event *e);

/* Clears the flag; later waits suspend until it is set again (event.clear()). */
void cl_async_event_clear(cl_async_event *e);

/* Returns 1 if the flag is set, else 0 (event.is_set()). */
int cl_async_event_is_set(cl_async_event *e);

/* Awaits the flag (await event.wait()); returns 1 once set, 0 if the task was cancelled while waiting (or misuse). */
int cl_async_event_wait(cl_async_event *e);

/* Awaits the flag for at most seconds; returns 1 if it was set, 0 on timeout or cancellation. */
int cl_async_event_wait_timeout(cl_async_event *e, double seconds);

/* Frees the event; refuses (returns 0 and reports) while tasks wait on it. NULL is ignored. */
int cl_async_event_free(cl_async_event *e);

/* ---- Condition (Python: asyncio.Condition) -------------------------------------------------- */

/* A predicate for cl_async_condition_wait_for: returns non-zero when the awaited state holds. */
typedef int (*cl_async_predicate)(void *arg);

/* Creates a condition bound to lock, or to a new lock of its own if lock is NULL. */
cl_async_condition *cl_async_condition_new(cl_async_lock *lock);

/* Awaits the condition's lock (async with cond: / await cond.acquire()); 1 when held, 0 if cancelled. */
int cl_async_condition_acquire(cl_async_condition *c);

/* Releases the condition's lock; returns 1, or 0 (reported) if it was not locked. */
int cl_async_condition_release(cl_async_condition *c);

/* Returns the lock the condition is bound to. */
cl_async_lock *cl_async_condition_lock(cl_async_condition *c);

/* Releases the lock, awaits a notify, retakes the lock (even when cancelled); returns 1 if notified, 0 if cancelled. */
int cl_async_condition_wait(cl_async_condition *c);

/* Like cl_async_condition_wait for at most seconds; returns 1 if notified, 0 on timeout or cancellation (the lock is held again either way). */
int cl_async_condition_wait_timeout(cl_async_condition *c, double seconds);

/* Awaits until pred(arg) is non-zero, the timeout (or CL_FOREVER) passes or the task is cancelled; returns pred's last value. */
int cl_async_condition_wait_for(cl_async_condition *c, cl_async_predicate pred, void *arg, double seconds);

/* Wakes up to n tasks waiting on the condition; the caller must hold the lock. Returns how many. */
int cl_async_condition_notify(cl_async_condition *c, int n);

/* Wakes every task waiting on the condition; the caller must hold the lock. Returns how many. */
int cl_async_condition_notify_all(cl_async_condition *c);

/* Frees the condition (and its own lock); refuses while tasks wait on it. NULL is ignored. */
int cl_async_condition_free(cl_async_condition *c);

/* ---- scoped acquisition: Python's `async with` ---------------------------------------------
 *
 *     CL_ASYNC_WITH_LOCK(l) {      // async with l:     (awaits the lock)
 *         counter++;
 *         if (done) break;         // leaves the block: l is released
 *     }                            // falls off the end: l is released
 *
 * The same rules as CL_WITH_LOCK of <conclab/sync.h>: the block runs once while held; falling
 * off the end, `break` and `continue` release; `return`, `goto` and longjmp do NOT. If the
 * acquire does not succeed (the task was cancelled while waiting, or a NULL handle) the block is
 * skipped, as CancelledError would skip Python's body. The handle expression is evaluated once.
 *
 * CL_ASYNC_WITH(enter, exit, ctx) is the general form, the mirror of __aenter__ / __aexit__:
 * it awaits int enter(void *ctx) (non-zero: entered), runs the block, then awaits
 * void exit(void *ctx). Both are ordinary functions that may await (cl_await, cl_async_sleep,
 * ...); exit runs only if enter returned non-zero, on every way out that break allows. */

/* Runs the block that follows with async lock l held (async with l:); break leaves it, return does not release. */
#define CL_ASYNC_WITH_LOCK(l) \
    for (cl_async_lock *cl_awith_lock_ = (l), *cl_awith_held_ = cl_async_lock_acquire(cl_awith_lock_) ? cl_awith_lock_ : 0; \
         cl_awith_held_; cl_async_lock_release(cl_awith_lock_), cl_awith_held_ = 0) \
        for (; cl_awith_held_; cl_awith_held_ = 0)

/* Runs the block that follows holding a permit of async semaphore s; break leaves it, return does not release. */
#define CL_ASYNC_WITH_SEMAPHORE(s) \
    for (cl_async_semaphore *cl_awith_sem_ = (s), *cl_awith_held_ = cl_async_semaphore_acquire(cl_awith_sem_) ? cl_awith_sem_ : 0; \
         cl_awith_held_; cl_async_semaphore_release(cl_awith_sem_), cl_awith_held_ = 0) \
        for (; cl_awith_held_; cl_awith_held_ = 0)

/* Runs the block that follows holding async condition c's lock; break leaves it, return does not release. */
#define CL_ASYNC_WITH_CONDITION(c) \
    for (cl_async_condition *cl_awith_cond_ = (c), *cl_awith_held_ = cl_async_condition_acquire(cl_awith_cond_) ? cl_awith_cond_ : 0; \
         cl_awith_held_; cl_async_condition_release(cl_awith_cond_), cl_awith_held_ = 0) \
        for (; cl_awith_held_; cl_awith_held_ = 0)

/* Awaits enter(ctx), runs the block if it returned non-zero, then awaits exit(ctx) (async with: __aenter__ / __aexit__). */
#define CL_ASYNC_WITH(enter, exit, ctx) \
    for (void *cl_awith_ctx_ = (ctx), *cl_awith_once_ = (void *)1; cl_awith_once_; cl_awith_once_ = 0) \
        for (int cl_awith_in_ = (enter)(cl_awith_ctx_) != 0; cl_awith_in_; (exit)(cl_awith_ctx_), cl_awith_in_ = 0) \
            for (; cl_awith_in_; cl_awith_in_ = 0)

#ifdef __cplusplus
}
#endif

#endif
