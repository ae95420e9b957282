/* task.c — tasks (asyncio.Task): a coroutine stepped by its loop, whose future carries the task
 * in its producer data, so creating one costs one allocation plus a (usually cached) stack.
 *
 * References to a task's future: the creator's; one the loop holds while the task is alive;
 * one per step queued in the ready queue; one while its timer handle is open (libuv closes it
 * asynchronously). So the task record outlives everything that may still point at it.
 *
 * A step resumes the coroutine until its next await (cl__task_suspend yields back here) or its
 * end. A task is woken only while it is suspended, and at most one step is queued at a time. */
#include "conclab.h"
#include "future_internal.h"
#include "loop_internal.h"
#include "report.h"
#include "trace_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TASK_MAGIC 0x5441534bu /* "TASK" */

static __thread cl__task *current_task;
static unsigned long task_counter; /* Python numbers tasks per process: Task-1, Task-2, ... */

static int task_cancel_op(cl_future *f);
static void task_last_ref(cl_future *f);
static const cl__future_ops task_ops = {task_cancel_op, task_last_ref};

cl__task *cl__task_of(cl_future *f) {
    if (!f || cl__future_ops_of(f) != &task_ops) return NULL;
    return cl__future_extra(f);
}

static cl__task *task_arg(cl_future *f, const char *call) {
    if (!cl__future_check(f, call)) return NULL;
    cl__task *t = cl__task_of(f);
    if (!t) cl_report(call, "the future is not a task's (made by cl_async_create_task)");
    return t;
}

cl__task *cl__task_running(const char *report_call) {
    cl__task *t = current_task;
    if (!t) {
        if (report_call)
            cl_report(report_call, "not inside a task (Python: 'await' outside an async function); "
                                   "run it in a task of cl_async_run");
        return NULL;
    }
    if (cl__coro_current() != t->coro) {
        if (report_call)
            cl_report(report_call, "inside a coroutine nested in task '%s': only the task itself can await", t->name);
        return NULL;
    }
    return t;
}

/* ---- stepping ------------------------------------------------------------------------------- */

static void body(void *arg) {
    cl__task *t = arg;
    t->result = t->fn(t->arg);
}

static void unlink_live(cl__task *t) {
    cl_loop *l = t->loop;
    if (t->prev) t->prev->next = t->next;
    else l->tasks = t->next;
    if (t->next) t->next->prev = t->prev;
    t->prev = t->next = NULL;
    l->live_tasks--;
}

static void timer_closed(uv_handle_t *h) {
    cl__task *t = h->data;
    cl_future_free(t->future);
}

/* The coroutine is over (or will never run again): the task's future gets its outcome. */
static void finish(cl__task *t, int abandoned) {
    cl_loop *l = t->loop;
    t->finished = 1;
    unlink_live(t);
    if (t->coro) cl__coro_free(t->coro);
    t->coro = NULL;
    if (t->timer_ready) uv_close((uv_handle_t *)&t->timer, timer_closed);
    cl_future *f = t->future;
    cl__trace_probe(CL__TR_TASK_END, "task", f, 0);
    if (l->deadlock && f == l->until) cl_future_set_error(f, l->deadlock);
    else if (t->failure && !abandoned) cl_future_set_error(f, t->failure);
    else if (t->cancelling > 0 || abandoned || !t->started) cl__future_cancel_now(f);
    else cl_future_set_result(f, t->result);
    free(t->failure);
    t->failure = NULL;
    cl_future_free(f); /* the loop's own reference */
}

static void resume(cl__task *t) {
    if (!t->started) {
        t->started = 1;
        if (t->must_cancel) { /* cancelled before its first step: it never runs */
            finish(t, 0);
            return;
        }
    }
    cl__task *outer = current_task;
    current_task = t;
    cl__trace_probe(CL__TR_TASK_RESUME, "task", t->future, 0);
    cl__coro_resume(t->coro);
    current_task = outer;
    if (cl__coro_done(t->coro)) finish(t, 0);
    else cl__trace_probe(CL__TR_TASK_SUSPEND, "task", t->future, 0);
}

void cl__task_step(void *arg) {
    cl__task *t = arg;
    t->scheduled = 0;
    if (!t->finished && (t->suspended || !t->started)) resume(t);
    cl_future_free(t->future); /* the queued step's reference */
}

void cl__task_wake(cl__task *t, int reason) {
    if (t->scheduled || t->finished) return;
    if (!t->wake_reason) t->wake_reason = (unsigned char)reason;
    t->scheduled = 1;
    cl_future_ref(t->future);
    if (cl__loop_ready(t->loop, cl__task_step, t) != 0) {
        cl_report(cl_task_name(t->future), "out of memory: the task cannot be woken");
        t->scheduled = 0;
        cl_future_free(t->future);
    }
}

static void timer_fired(uv_timer_t *h) {
    cl__task *t = h->data;
    t->timer_armed = 0;
    if (t->suspended) cl__task_wake(t, CL_WAKE_TIMEOUT);
}

static void arm_timer(cl__task *t, double timeout) {
    if (!t->timer_ready) {
        uv_timer_init(&t->loop->uv, &t->timer);
        t->timer.data = t;
        t->timer_ready = 1;
        cl_future_ref(t->future); /* dropped when the handle has closed */
    }
    uv_update_time(&t->loop->uv); /* count from now, not from the iteration's start */
    double ms = ceil(timeout * 1000.0);
    uv_timer_start(&t->timer, timer_fired, ms > 1e15 ? (uint64_t)1e15 : (uint64_t)ms, 0);
    t->timer_armed = 1;
}

int cl__task_suspend(cl__task *t, cl__waiter *w, double timeout) {
    if (t->must_cancel) {
        t->must_cancel = 0; /* delivered */
        return CL_WAKE_CANCELLED;
    }
    if (w && w->woke) {
        w->woke = 0;
        return CL_WAKE_DONE;
    }
    t->wake_reason = 0;
    t->waiter = w;
    t->suspended = 1;
    if (timeout == 0) cl__task_wake(t, CL_WAKE_TIMEOUT); /* just let the others run */
    else if (timeout > 0) arm_timer(t, timeout);
    cl__coro_yield();
    t->suspended = 0;
    t->waiter = NULL;
    if (t->timer_armed) {
        uv_timer_stop(&t->timer);
        t->timer_armed = 0;
    }
    if (t->must_cancel) {
        t->must_cancel = 0;
        return CL_WAKE_CANCELLED;
    }
    if (w && w->woke) {
        w->woke = 0;
        return CL_WAKE_DONE;
    }
    return t->wake_reason == CL_WAKE_TIMEOUT ? CL_WAKE_TIMEOUT : CL_WAKE_DONE;
}

void cl__task_abandon(cl__task *t) {
    if (t->waiter) cl__waiter_release(t->waiter); /* its frame never runs again to do it */
    t->waiter = NULL;
    t->suspended = 0;
    if (t->timer_armed) uv_timer_stop(&t->timer);
    t->timer_armed = 0;
    finish(t, 1);
}

/* ---- creating ------------------------------------------------------------------------------- */

/* A task on loop l, which runs it at its next turn (now, or when it is next run). */
static cl_future *create_on(cl_loop *l, const char *name, size_t stack_size, void *(*fn)(void *arg), void *arg,
                            const char *call) {
    if (!fn) {
        cl_report(call, "fn is NULL");
        return NULL;
    }
    cl_future *f = cl__future_alloc(sizeof(cl__task), 2); /* the caller's and the loop's */
    if (!f) {
        cl_report(call, "out of memory");
        return NULL;
    }
    cl__task *t = cl__future_extra(f);
    t->magic = TASK_MAGIC;
    t->loop = l;
    t->future = f;
    t->fn = fn;
    t->arg = arg;
    if (name) snprintf(t->name, sizeof t->name, "%s", name);
    else snprintf(t->name, sizeof t->name, "Task-%lu", __atomic_add_fetch(&task_counter, 1, __ATOMIC_RELAXED));
    t->coro = cl__coro_create(body, t, t->name, stack_size);
    if (!t->coro) {
        cl_report(call, "out of memory for a task's stack (%zu bytes)", stack_size);
        cl_future_free(f);
        cl_future_free(f);
        return NULL;
    }
    cl__future_set_ops(f, &task_ops);
    cl__future_set_home(f, l);
    t->next = l->tasks;
    if (l->tasks) l->tasks->prev = t;
    l->tasks = t;
    l->live_tasks++;
    cl__trace_named(CL__TR_TASK_START, "task", f, t->name);
    t->scheduled = 1;
    cl_future_ref(f);
    if (cl__loop_ready(l, cl__task_step, t) != 0) {
        cl_report(call, "out of memory");
        t->scheduled = 0;
        cl_future_free(f);
        finish(t, 1);
        cl_future_free(f);
        return NULL;
    }
    return f;
}

cl_future *cl_async_create_task_ex(const char *name, size_t stack_size, void *(*fn)(void *arg), void *arg) {
    const char *call = "cl_async_create_task";
    cl_loop *l = cl__loop_running();
    if (!l) {
        cl_report(call, "no running event loop (Python: RuntimeError); create tasks inside cl_async_run, "
                        "or on a loop that is not running with cl_loop_create_task");
        return NULL;
    }
    return create_on(l, name, stack_size, fn, arg, call);
}

cl_future *cl_async_create_task(void *(*fn)(void *arg), void *arg) {
    return cl_async_create_task_ex(NULL, 0, fn, arg);
}

/* Python's loop.create_task(coro): the loop need not be running; the task starts when it runs. */
cl_future *cl_loop_create_task(cl_loop *l, void *(*fn)(void *arg), void *arg) {
    const char *call = "cl_loop_create_task";
    if (!cl__loop_valid(l, call)) return NULL;
    if (!cl__loop_on_thread(l)) {
        cl_report(call, "called from another thread than the loop's (tasks of a loop are made on its thread)");
        return NULL;
    }
    return create_on(l, NULL, 0, fn, arg, call);
}

/* ---- cancelling ----------------------------------------------------------------------------- */

static int cancel(cl__task *t) {
    if (t->finished) return 0;
    t->cancelling++;
    t->must_cancel = 1;
    if (!t->started) finish(t, 0); /* never ran: cancelled at once (its queued step finds it done) */
    else if (t->suspended) cl__task_wake(t, CL_WAKE_CANCELLED);
    return 1;
}

static void cancel_posted(void *arg) {
    cl_future *f = arg;
    cancel(cl__task_of(f));
    cl_future_free(f);
}

int cl_task_cancel(cl_future *f) {
    cl__task *t = task_arg(f, "cl_task_cancel");
    if (!t) return 0;
    if (cl__loop_on_thread(t->loop)) return cancel(t);
    /* from another thread: the loop's thread does it (Python: call_soon_threadsafe(t.cancel)) */
    if (cl_future_done(f)) return 0;
    cl_future_ref(f);
    if (cl_loop_call_soon_threadsafe(t->loop, cancel_posted, f) != 0) {
        cl_future_free(f);
        return 0;
    }
    return 1;
}

static int task_cancel_op(cl_future *f) {
    return cl_task_cancel(f);
}

int cl_task_cancelling(cl_future *f) {
    cl__task *t = task_arg(f, "cl_task_cancelling");
    return t ? t->cancelling : 0;
}

int cl_task_uncancel(cl_future *f) {
    cl__task *t = task_arg(f, "cl_task_uncancel");
    if (!t) return 0;
    if (t->cancelling > 0 && --t->cancelling == 0) t->must_cancel = 0;
    return t->cancelling;
}

/* ---- names and the current task ------------------------------------------------------------- */

cl_future *cl_task_current(void) {
    return current_task ? current_task->future : NULL;
}

const char *cl_task_name(cl_future *f) {
    if (!cl__future_check(f, "cl_task_name")) return NULL;
    cl__task *t = cl__task_of(f);
    return t ? t->name : NULL;
}

int cl_task_set_name(cl_future *f, const char *name) {
    cl__task *t = task_arg(f, "cl_task_set_name");
    if (!t) return -1;
    snprintf(t->name, sizeof t->name, "%s", name ? name : "");
    if (t->coro) cl__coro_rename(t->coro, t->name); /* the name a stack overflow report gives */
    cl__trace_named(CL__TR_NAME, "task", f, t->name);   /* and the task's lane in a timeline */
    return 0;
}

int cl_task_is_task(cl_future *f) {
    return f && cl__task_of(f) != NULL;
}

/* ---- failing and reporting ------------------------------------------------------------------ */

int cl__loop_task_fail(const char *message) {
    cl__task *t = current_task;
    if (!t) return 0;
    if (!t->failure) t->failure = strdup(message ? message : "task failed"); /* the first stands */
    return 1;
}

static void task_last_ref(cl_future *f) {
    cl__task *t = cl__future_extra(f);
    if (cl__future_failed(f) && !cl__future_retrieved(f))
        cl_report("Task exception was never retrieved", "task '%s': %s", t->name, cl_future_error(f));
}

/* "task 'B', which waits for task 'A', which waits for task 'B'" */
void cl__task_describe_wait(cl__task *t, char *buf, size_t size) {
    size_t used = 0;
    buf[0] = '\0';
    cl__task *seen[8];
    int hops = 0;
    seen[hops++] = t;
    while (t && t->waiter && t->waiter->count > 0 && used + 1 < size) {
        cl__waiter *w = t->waiter;
        cl__task *next = cl__task_of(w->futs[0]);
        const char *sep = hops > 1 ? ", which waits for " : "";
        if (next) used += (size_t)snprintf(buf + used, size - used, "%stask '%s'", sep, next->name);
        else used += (size_t)snprintf(buf + used, size - used, "%sa future", sep);
        if (used < size && w->count > 1)
            used += (size_t)snprintf(buf + used, size - used, " (and %d more)", w->count - 1);
        if (used >= size) break;
        int cycle = 0;
        for (int i = 0; i < hops; i++) cycle |= seen[i] == next;
        if (!next || cycle || hops == (int)(sizeof seen / sizeof seen[0])) break;
        seen[hops++] = next;
        t = next;
    }
    if (!buf[0]) snprintf(buf, size, "nothing it could be woken by");
}
