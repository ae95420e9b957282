/* conclab/loop.h — an event loop with tasks: asyncio in C (Python: asyncio.run, the loop's
 * call_soon / call_later / call_soon_threadsafe / stop, create_task, sleep, gather, wait,
 * wait_for, shield, TaskGroup, Task.cancel, current_task).
 * Part of <conclab.h>; see there for the conventions every runtime header keeps.
 *
 *     void *fetch(void *arg) {                      // async def fetch(arg):
 *         cl_async_sleep(1.0);                      //     await asyncio.sleep(1)
 *         return arg;                               //     return arg
 *     }
 *     void *main_task(void *arg) {                  // async def main():
 *         cl_future *a = cl_async_create_task(fetch, "a");
 *         cl_future *b = cl_async_create_task(fetch, "b");
 *         void *va, *vb;
 *         cl_await(a, &va);                         //     va = await a
 *         cl_await(b, &vb);                         //     vb = await b   (about 1 s in all)
 *         cl_future_free(a); cl_future_free(b);
 *         return NULL;
 *     }
 *     cl_async_run(main_task, NULL, NULL);          // asyncio.run(main())
 *
 * A task is a coroutine with a stack of its own (16 KiB by default; cl_async_create_task_ex
 * sets another size): its body is an ordinary C function void *fn(void *arg) that may call
 * cl_await and the other cl_async_ calls anywhere, in any nested function; each such call is an
 * `await` — the only places where the loop may run other tasks. Everything between two of them
 * runs without interruption, so a blocking call there (sleep(), a CPU loop) stalls every task,
 * exactly as time.sleep() does inside asyncio. What a task returns becomes its result; to fail
 * instead (Python: raise) call cl_task_fail("why") and return.
 *
 * A task IS a future (Python: Task subclasses Future): cl_async_create_task returns a cl_future
 * of <conclab/future.h>, one reference that is yours to cl_future_free. cl_await works on any
 * future: a task's, one made with cl_future_new and completed by a callback, a thread pool's or
 * a process pool's (completed on another thread: the loop is woken safely). The loop keeps its
 * own reference to a task until the task has finished, so dropping yours does not stop it.
 *
 * Cancellation (Python: Task.cancel and CancelledError): cl_task_cancel asks; the task learns it
 * at its next await, which returns CL_FUTURE_CANCELLED (or -1 for cl_async_sleep). The task then
 * cleans up — further awaits work normally — and returns; its future ends CANCELLED unless it
 * called cl_task_uncancel (Python: catching CancelledError without re-raising). A task that has
 * not started yet is cancelled at once. The future a cancelled await was waiting for is
 * cancelled too, unless it came through cl_async_shield.
 *
 * Status results are those of cl_future_result: CL_FUTURE_OK (and *value set; value may be
 * NULL), CL_FUTURE_ERROR (cl_future_error gives the message), CL_FUTURE_CANCELLED,
 * CL_FUTURE_TIMEOUT. Timeouts are seconds: 0 polls, CL_FOREVER waits; negative is misuse.
 *
 * Errors instead of hangs: cl_await and the other awaiting calls outside a task report and
 * return CL_FUTURE_ERROR; a loop with nothing left to run while the main task still waits
 * reports the deadlock, naming what the main task waits for, cancels the waiting tasks so their
 * cleanup runs, and fails the main task; a stack overflow in a task is reported with the task's
 * name; a task that fails while nobody awaits it is reported when its last reference goes
 * ("Task exception was never retrieved", as asyncio does). With debug on
 * (cl_loop_set_debug, Python: loop.set_debug / PYTHONASYNCIODEBUG), a callback or task step that
 * holds the loop longer than 100 ms (cl_loop_set_slow_callback_duration) is reported.
 *
 * One loop per thread; a loop's tasks run on its thread only. The loop waits for I/O and
 * timers in libuv (Debian libuv1), with the emulated GIL released.
 *
 * Differences from Python: errors are message strings; awaits return a status instead of
 * raising; a task's result is a void *; cl_async_gather returns when all are done (or at the
 * first failure with fail_fast) and leaves the results in the futures. */
#ifndef CONCLAB_LOOP_H
#define CONCLAB_LOOP_H

#include <stddef.h> /* size_t, NULL */

#include <conclab/future.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An event loop (Python: asyncio.AbstractEventLoop); opaque, released by cl_loop_free. */
typedef struct cl_loop cl_loop;

/* A callback scheduled with cl_loop_call_later, to cancel it (Python: asyncio.TimerHandle). */
typedef struct cl_loop_timer cl_loop_timer;

/* A task group (Python: asyncio.TaskGroup); opaque, released by cl_task_group_free. */
typedef struct cl_task_group cl_task_group;

/* ---- running (Python: asyncio.run, loop.run_until_complete, run_forever, stop) --------------- */

/* Runs main_fn(arg) as the main task on a new loop of this thread until it completes, then cancels what is left and closes the loop (asyncio.run). */
cl_future_status cl_async_run(void *(*main_fn)(void *arg), void *arg, void **result);

/* Creates an event loop for the calling thread (asyncio.new_event_loop); NULL on error. */
cl_loop *cl_loop_new(void);

/* Runs loop l until future f is done; returns f's status and stores its result in *result (loop.run_until_complete). */
cl_future_status cl_loop_run_until_complete(cl_loop *l, cl_future *f, void **result);

/* Runs loop l until cl_loop_stop is called; returns 0, or -1 on misuse (loop.run_forever). */
int cl_loop_run_forever(cl_loop *l);

/* Makes loop l return from its run after the callbacks already due (loop.stop); any thread may call it. */
void cl_loop_stop(cl_loop *l);

/* Returns the loop running on this thread, or NULL (asyncio.get_running_loop, without raising). */
cl_loop *cl_loop_current(void);

/* Frees loop l, which must not be running; tasks still pending are cancelled first (loop.close). */
void cl_loop_free(cl_loop *l);

/* ---- callbacks (Python: loop.call_soon, call_later, call_soon_threadsafe, time) -------------- */

/* Schedules fn(arg) to run on loop l's next iteration, in order; returns 0, or -1 on error. */
int cl_loop_call_soon(cl_loop *l, void (*fn)(void *arg), void *arg);

/* Schedules fn(arg) from any thread, waking loop l; returns 0, or -1 on error. */
int cl_loop_call_soon_threadsafe(cl_loop *l, void (*fn)(void *arg), void *arg);

/* Schedules fn(arg) on loop l after delay seconds; returns a handle for cl_loop_timer_cancel (freed by the loop after it ran or was cancelled). */
cl_loop_timer *cl_loop_call_later(cl_loop *l, double delay, void (*fn)(void *arg), void *arg);

/* Cancels a callback scheduled with cl_loop_call_later that has not run; returns 1 if it was cancelled, 0 if it had run. */
int cl_loop_timer_cancel(cl_loop_timer *t);

/* Returns loop l's clock in seconds (loop.time; the monotonic clock of cl_now). */
double cl_loop_time(cl_loop *l);

/* Turns debug mode on or off for loop l: slow callbacks and task steps are reported (loop.set_debug). */
void cl_loop_set_debug(cl_loop *l, int on);

/* Sets how long a callback or task step may hold loop l before debug mode reports it (default 0.1 s). */
void cl_loop_set_slow_callback_duration(cl_loop *l, double seconds);

/* ---- tasks (Python: asyncio.create_task, Task.cancel, current_task) ------------------------- */

/* Starts fn(arg) as a task on the running loop, named "Task-N"; returns its future, yours to free (NULL on error). */
cl_future *cl_async_create_task(void *(*fn)(void *arg), void *arg);

/* Like cl_async_create_task with a name and a stack size in bytes (0: the default); NULL on error. */
cl_future *cl_async_create_task_ex(const char *name, size_t stack_size, void *(*fn)(void *arg), void *arg);

/* Starts fn(arg) as a task on loop l, which need not be running: it runs at l's next turn (loop.create_task); NULL on error. */
cl_future *cl_loop_create_task(cl_loop *l, void *(*fn)(void *arg), void *arg);

/* Asks task t to cancel at its next await (at once if it has not started); returns 1 if asked, 0 if it is already done. */
int cl_task_cancel(cl_future *t);

/* Returns how many cancellations task t was asked for and has not cleared (Task.cancelling). */
int cl_task_cancelling(cl_future *t);

/* Clears one cancellation request of task t, so it may finish normally (Task.uncancel); returns what is left. */
int cl_task_uncancel(cl_future *t);

/* Returns the task running now (its future, not a new reference), or NULL outside tasks (asyncio.current_task). */
cl_future *cl_task_current(void);

/* Returns task t's name, or NULL if t is not a task (Task.get_name). */
const char *cl_task_name(cl_future *t);

/* Renames task t; returns 0, or -1 if t is not a task (Task.set_name). */
int cl_task_set_name(cl_future *t, const char *name);

/* Returns 1 if f is a task's future, else 0. */
int cl_task_is_task(cl_future *f);

/* ---- awaiting (Python: await, asyncio.sleep, wait_for, gather, wait, shield) ---------------- */

/* Suspends the current task until f is done (await f); returns f's status, or CANCELLED if this task was cancelled meanwhile. */
cl_future_status cl_await(cl_future *f, void **value);

/* Suspends the current task for seconds (asyncio.sleep; 0 just lets others run); returns 0, or -1 if cancelled meanwhile. */
int cl_async_sleep(double seconds);

/* Awaits f for at most timeout seconds; on timeout cancels f and returns CL_FUTURE_TIMEOUT (asyncio.wait_for). */
cl_future_status cl_async_wait_for(cl_future *f, double timeout, void **value);

/* Awaits all n futures; returns 0 if all succeeded, -1 if any failed or was cancelled (fail_fast: at the first one) (asyncio.gather). */
int cl_async_gather(cl_future **futs, int n, int fail_fast);

/* Awaits until return_when holds for the n futures or timeout passes; returns how many are done, -1 on error (asyncio.wait). */
int cl_async_wait(cl_future **futs, int n, cl_return_when return_when, double timeout);

/* Returns a new future that follows f but whose cancellation leaves f running (asyncio.shield); yours to free. */
cl_future *cl_async_shield(cl_future *f);

/* Runs fn(arg) on the running loop's default thread pool (ended with the loop) and returns its future, to await (asyncio.to_thread). */
cl_future *cl_async_to_thread(void *(*fn)(void *arg), void *arg);

/* ---- task groups (Python: async with asyncio.TaskGroup() as tg) ----------------------------- */

/* Creates a task group in the current task; NULL on error. */
cl_task_group *cl_task_group_new(void);

/* Starts fn(arg) as a task of group g (tg.create_task); returns its future (the group's: do not free it), NULL on error. */
cl_future *cl_task_group_create_task(cl_task_group *g, void *(*fn)(void *arg), void *arg);

/* Awaits every task of g; when one fails the others are cancelled; returns 0, or -1 and cl_task_group_error says why (leaving `async with`). */
int cl_task_group_wait(cl_task_group *g);

/* Returns the first failure's message of group g ("task 'Task-3': message"), or NULL. */
const char *cl_task_group_error(cl_task_group *g);

/* Frees group g and its tasks' futures; waits for its tasks first if it was not waited for. */
void cl_task_group_free(cl_task_group *g);

#ifdef __cplusplus
}
#endif

#endif
