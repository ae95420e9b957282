/* await.c — the calls a task awaits with: await, sleep, wait_for, gather, wait, shield,
 * to_thread. Each suspends the running task through cl__task_suspend with a waiter attached to
 * the futures involved, and looks again when woken: wakes only say "look again".
 *
 * Cancellation follows asyncio: the await that learns of it cancels what it was waiting for
 * (a shield's outer future only), and wait_for and gather wait until a cancelled task of theirs
 * has finished its cleanup, as asyncio's do; a plain cl_await returns at once (the awaited task
 * cleans up on its own: await it again to wait for that). */
#include "conclab.h"
#include "future_internal.h"
#include "loop_internal.h"
#include "report.h"
#include "trace_internal.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FOREVER_FROM 1e9 /* as future.c: timeouts from here on wait forever */

static int valid_timeout(double timeout, const char *call) {
    if (timeout >= 0) return 1; /* NaN fails the comparison */
    cl_report(call, "timeout must be >= 0 seconds (CL_FOREVER waits forever), got %g", timeout);
    return 0;
}

/* Suspends t until f is done, timeout seconds pass (< 0: never) or t is cancelled; returns a
 * CL_WAKE_ reason, or -1 when out of memory. */
static int wait_one(cl__task *t, cl_future *f, double timeout, const char *call) {
    if (cl_future_done(f)) return CL_WAKE_DONE;
    cl__waiter *w = cl__waiter_new(t->loop, t, 1, 1);
    if (!w) {
        cl_report(call, "out of memory");
        return -1;
    }
    if (cl__waiter_attach(w, f, call) != 0) {
        cl__waiter_release(w);
        return -1;
    }
    double deadline = timeout < 0 ? -1 : cl_now() + timeout;
    int why;
    for (;;) {
        double left = deadline < 0 ? -1 : deadline - cl_now();
        if (deadline >= 0 && left <= 0 && !cl_future_done(f)) {
            why = CL_WAKE_TIMEOUT;
            break;
        }
        why = cl__task_suspend(t, w, left);
        if (why != CL_WAKE_DONE || cl_future_done(f)) break;
    }
    cl__waiter_release(w);
    return why;
}

/* Cancels f; if f is a task of this loop, waits until it has finished its cleanup. A
 * cancellation of t meanwhile is kept for t's next await. */
static void cancel_and_settle(cl__task *t, cl_future *f, const char *call) {
    cl_future_cancel(f);
    cl__task *child = cl__task_of(f);
    if (!child || child->loop != t->loop) return;
    int cancelled_again = 0;
    while (!cl_future_done(f)) {
        int why = wait_one(t, f, -1, call);
        if (why < 0) break;
        cancelled_again |= why == CL_WAKE_CANCELLED;
    }
    if (cancelled_again) t->must_cancel = 1;
}

/* ---- await ---------------------------------------------------------------------------------- */

cl_future_status cl_await(cl_future *f, void **value) {
    const char *call = "cl_await";
    if (value) *value = NULL;
    cl__task *t = cl__task_running(call);
    if (!t || !cl__future_check(f, call)) return CL_FUTURE_ERROR;
    if (f == t->future) {
        cl_report(call, "task '%s' awaits itself (Python: RuntimeError: Task cannot await on itself)", t->name);
        return CL_FUTURE_ERROR;
    }
    if (!cl_future_done(f)) { /* awaiting a done future does not yield, as in asyncio */
        cl__observe(CL_EVENT_WAIT, "task", f);
        int why = wait_one(t, f, -1, call);
        if (why < 0) return CL_FUTURE_ERROR;
        if (why == CL_WAKE_CANCELLED) {
            cl_future_cancel(f);
            cl__observe(CL_EVENT_TIMEOUT, "task", f);
            return CL_FUTURE_CANCELLED;
        }
        cl__observe(CL_EVENT_ACQUIRE, "task", f);
    }
    return cl_future_result(f, 0, value);
}

/* Suspends t for `seconds` (FOREVER_FROM or more: until cancelled); -1 if cancelled, else 0. */
static int sleep_until_cancelled_or(cl__task *t, double seconds) {
    if (seconds >= FOREVER_FROM) /* until cancelled */
        return cl__task_suspend(t, NULL, -1) == CL_WAKE_CANCELLED ? -1 : 0;
    double deadline = cl_now() + seconds;
    for (;;) {
        double left = deadline - cl_now();
        if (left <= 0) return 0;
        int why = cl__task_suspend(t, NULL, left);
        if (why == CL_WAKE_CANCELLED) return -1;
        if (why == CL_WAKE_TIMEOUT) return 0; /* libuv's millisecond clock may be a hair early */
    }
}

int cl_async_sleep(double seconds) {
    const char *call = "cl_async_sleep";
    cl__task *t = cl__task_running(call);
    if (!t) return -1;
    if (!(seconds >= 0)) {
        cl_report(call, "seconds must be >= 0, got %g", seconds);
        return -1;
    }
    if (seconds == 0) return cl__task_suspend(t, NULL, 0) == CL_WAKE_CANCELLED ? -1 : 0;
    /* The tracer sees the sleep (the hook never did: its observers knew only blocking sleeps). */
    cl__trace_probe(CL_EVENT_WAIT, "sleep", NULL, 0);
    int outcome = sleep_until_cancelled_or(t, seconds);
    cl__trace_probe(CL_EVENT_TIMEOUT, "sleep", NULL, 0);
    return outcome;
}

cl_future_status cl_async_wait_for(cl_future *f, double timeout, void **value) {
    const char *call = "cl_async_wait_for";
    if (value) *value = NULL;
    cl__task *t = cl__task_running(call);
    if (!t || !cl__future_check(f, call) || !valid_timeout(timeout, call)) return CL_FUTURE_ERROR;
    if (timeout >= FOREVER_FROM) return cl_await(f, value);
    if (f == t->future) {
        cl_report(call, "task '%s' awaits itself", t->name);
        return CL_FUTURE_ERROR;
    }
    if (!cl_future_done(f)) {
        int why = wait_one(t, f, timeout, call);
        if (why < 0) return CL_FUTURE_ERROR;
        if (why == CL_WAKE_CANCELLED || why == CL_WAKE_TIMEOUT) {
            cancel_and_settle(t, f, call);
            return why == CL_WAKE_CANCELLED ? CL_FUTURE_CANCELLED : CL_FUTURE_TIMEOUT;
        }
    }
    return cl_future_result(f, 0, value);
}

/* ---- many futures --------------------------------------------------------------------------- */

static int valid_array(cl_future **futs, int n, const char *call) {
    if (n < 0 || (n > 0 && !futs)) {
        cl_report(call, n < 0 ? "n must be >= 0" : "futs is NULL");
        return 0;
    }
    for (int i = 0; i < n; i++)
        if (!cl__future_check(futs[i], call)) return 0;
    return 1;
}

static int is_bad(cl_future *f) {
    return cl_future_cancelled(f) || cl__future_failed(f);
}

/* Attaches a new waiter to the futures not done yet; it wakes when want_fired of them are done
 * (0: all of them) or want_failed failed. NULL when out of memory. */
static cl__waiter *attach_pending(cl__task *t, cl_future **futs, int n, int want_fired, int want_failed, const char *call) {
    cl__waiter *w = cl__waiter_new(t->loop, t, INT_MAX, INT_MAX);
    if (!w) {
        cl_report(call, "out of memory");
        return NULL;
    }
    int attached = 0;
    for (int i = 0; i < n; i++) {
        if (cl_future_done(futs[i])) continue;
        if (cl__waiter_attach(w, futs[i], call) != 0) {
            cl__waiter_release(w);
            return NULL;
        }
        attached++;
    }
    w->want_fired = want_fired > 0 && want_fired < attached ? want_fired : attached;
    w->want_failed = want_failed;
    if (w->fired >= w->want_fired || w->failed >= w->want_failed) w->woke = 1;
    return w;
}

/* Waits until every task of this loop among futs has finished (after they were cancelled). */
static void settle_all(cl__task *t, cl_future **futs, int n, const char *call) {
    int cancelled_again = 0;
    for (int i = 0; i < n; i++) {
        cl__task *child = cl__task_of(futs[i]);
        if (!child || child->loop != t->loop) continue;
        while (!cl_future_done(futs[i])) {
            int why = wait_one(t, futs[i], -1, call);
            if (why < 0) break;
            cancelled_again |= why == CL_WAKE_CANCELLED;
        }
    }
    if (cancelled_again) t->must_cancel = 1;
}

static void mark_retrieved_cb(cl_future *f, void *arg) {
    (void)arg;
    cl__future_mark_retrieved(f);
}

int cl_async_gather(cl_future **futs, int n, int fail_fast) {
    const char *call = "cl_async_gather";
    cl__task *t = cl__task_running(call);
    if (!t || !valid_array(futs, n, call)) return -1;
    int cancelled = 0;
    cl__waiter *w = attach_pending(t, futs, n, 0, fail_fast ? 1 : INT_MAX, call);
    if (!w) return -1;
    cl__trace_probe(CL_EVENT_WAIT, "gather", NULL, 0); /* for the tracer: the hook never had it */
    for (;;) {
        int all_done = 1, any_bad = 0;
        for (int i = 0; i < n; i++) {
            all_done &= cl_future_done(futs[i]);
            any_bad |= is_bad(futs[i]);
        }
        if (all_done || (fail_fast && any_bad)) break;
        if (cl__task_suspend(t, w, -1) == CL_WAKE_CANCELLED) {
            cancelled = 1;
            break;
        }
    }
    cl__trace_probe(cancelled ? CL_EVENT_TIMEOUT : CL_EVENT_ACQUIRE, "gather", NULL, 0);
    cl__waiter_release(w);
    if (cancelled) { /* Python: cancelling gather cancels its children */
        for (int i = 0; i < n; i++) cl_future_cancel(futs[i]);
        settle_all(t, futs, n, call);
    }
    /* gather reads every child's error, now or when it comes (Python marks them retrieved) */
    int ok = !cancelled;
    for (int i = 0; i < n; i++) {
        if (!cl_future_done(futs[i])) {
            ok = 0;
            cl_future_add_done_callback(futs[i], mark_retrieved_cb, NULL);
            continue;
        }
        if (cl__future_failed(futs[i])) cl__future_mark_retrieved(futs[i]);
        if (is_bad(futs[i])) ok = 0;
    }
    return ok ? 0 : -1;
}

static int condition_holds(cl_future **futs, int n, cl_return_when when, int *done_out) {
    int done = 0, failed = 0;
    for (int i = 0; i < n; i++) {
        done += cl_future_done(futs[i]);
        failed += cl__future_failed(futs[i]);
    }
    *done_out = done;
    if (when == CL_FIRST_COMPLETED) return done > 0 || n == 0;
    if (when == CL_FIRST_EXCEPTION && failed > 0) return 1;
    return done == n;
}

int cl_async_wait(cl_future **futs, int n, cl_return_when return_when, double timeout) {
    const char *call = "cl_async_wait";
    cl__task *t = cl__task_running(call);
    if (!t || !valid_array(futs, n, call) || !valid_timeout(timeout, call)) return -1;
    if (return_when != CL_FIRST_COMPLETED && return_when != CL_FIRST_EXCEPTION && return_when != CL_ALL_COMPLETED) {
        cl_report(call, "return_when must be CL_FIRST_COMPLETED, CL_FIRST_EXCEPTION or CL_ALL_COMPLETED, got %d", (int)return_when);
        return -1;
    }
    int done;
    if (condition_holds(futs, n, return_when, &done) || timeout == 0) return done;
    double deadline = timeout >= FOREVER_FROM ? -1 : cl_now() + timeout;
    cl__waiter *w = attach_pending(t, futs, n, return_when == CL_FIRST_COMPLETED ? 1 : 0,
                                   return_when == CL_FIRST_EXCEPTION ? 1 : INT_MAX, call);
    if (!w) return -1;
    int result = -1;
    for (;;) {
        if (condition_holds(futs, n, return_when, &done)) {
            result = done;
            break;
        }
        double left = deadline < 0 ? -1 : deadline - cl_now();
        if (deadline >= 0 && left <= 0) {
            result = done;
            break;
        }
        if (cl__task_suspend(t, w, left) == CL_WAKE_CANCELLED) break; /* -1: this task was cancelled */
    }
    cl__waiter_release(w);
    return result;
}

/* ---- shield --------------------------------------------------------------------------------- */

/* The inner future is done: the outer one follows, unless it was cancelled meanwhile. */
static void shield_follow(cl_future *inner, void *arg) {
    cl_future *outer = arg;
    void *value;
    cl_future_status status = cl_future_result(inner, 0, &value); /* reads the error: retrieved */
    if (cl_future_done(outer)) {
        /* outer was cancelled: nobody will read inner's outcome through it */
    } else if (status == CL_FUTURE_CANCELLED) {
        cl_future_cancel(outer);
    } else if (status == CL_FUTURE_ERROR) {
        cl_future_set_error(outer, cl_future_error(inner));
    } else if (cl_future_result_size(inner) > 0) {
        cl_future_set_bytes(outer, value, cl_future_result_size(inner));
    } else {
        cl_future_set_result(outer, value);
    }
    cl_future_free(outer);
}

cl_future *cl_async_shield(cl_future *f) {
    const char *call = "cl_async_shield";
    if (!cl__future_check(f, call)) return NULL;
    cl_future *outer = cl_future_new();
    if (!outer) return NULL;
    cl__future_set_home(outer, cl__future_home(f)); /* completed where f is completed */
    cl_future_ref(outer);
    if (cl_future_add_done_callback(f, shield_follow, outer) != 0) {
        cl_future_free(outer);
        cl_future_free(outer);
        return NULL;
    }
    return outer;
}

/* ---- to_thread ------------------------------------------------------------------------------ */

/* Python's default executor: min(32, CPUs + 4) threads, made by a loop on first use and shut
 * down with it (asyncio.run calls loop.shutdown_default_executor), so a finished cl_async_run
 * leaves no thread behind: a notebook cell that used it ends with no threads running. */
static cl_pool *default_executor(cl_loop *l) {
    if (!l->default_executor) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        int workers = (int)(cpus > 0 ? cpus : 1) + 4;
        l->default_executor = cl_pool_new(workers < 32 ? workers : 32);
    }
    return l->default_executor;
}

cl_future *cl_async_to_thread(void *(*fn)(void *arg), void *arg) {
    const char *call = "cl_async_to_thread";
    if (!fn) {
        cl_report(call, "fn is NULL");
        return NULL;
    }
    cl_loop *l = cl_loop_current();
    if (!l) {
        cl_report(call, "no running loop (Python: RuntimeError); call it from a task");
        return NULL;
    }
    cl_pool *pool = default_executor(l);
    if (!pool) {
        cl_report(call, "could not start the loop's default thread pool");
        return NULL;
    }
    return cl_pool_submit(pool, fn, arg);
}
