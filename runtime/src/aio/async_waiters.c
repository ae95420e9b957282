/* async_waiters.c — the FIFO of waiter futures under the async primitives; see async_waiters.h. */
#include "async_waiters.h"

#include <math.h>

#include "report.h"

/* Timeouts from 1e9 s on mean "no limit", as everywhere in the runtime (clock.h). */
#define CL__ASYNC_WAITERS_FOREVER 1e9

int cl__async_waiters_can_park(cl__async_waiters *wl, double timeout, const char *call) {
    if (isnan(timeout) || timeout < 0) {
        cl_report(call, "timeout must be >= 0 seconds (or CL_FOREVER), got %g", timeout);
        return 0;
    }
    if (!cl_task_current()) {
        cl_report(call, "waits only inside a task (start one with cl_async_run or cl_async_create_task)");
        return 0;
    }
    return cl__async_waiters_same_loop(wl, call);
}

int cl__async_waiters_same_loop(const cl__async_waiters *wl, const char *call) {
    if (wl->count > 0 && wl->loop != cl_loop_current()) {
        cl_report(call, "used outside the event loop its tasks wait on (not thread-safe: use cl_loop_call_soon_threadsafe)");
        return 0;
    }
    return 1;
}

static void waiters_append(cl__async_waiters *wl, cl__async_waiter *w) {
    w->prev = wl->tail;
    w->next = NULL;
    if (wl->tail) wl->tail->next = w;
    else wl->head = w;
    wl->tail = w;
    if (wl->count++ == 0) wl->loop = cl_loop_current();
}

static void waiters_remove(cl__async_waiters *wl, cl__async_waiter *w) {
    if (w->prev) w->prev->next = w->next;
    else wl->head = w->next;
    if (w->next) w->next->prev = w->prev;
    else wl->tail = w->prev;
    /* Free again: a later cl_async_run on another loop may use the primitive. */
    if (--wl->count == 0) wl->loop = NULL;
}

/* What the finished await means for the caller, from the future's own state: only a waker
 * completes it with a result, so a result means "woken" however the await itself ended. */
static cl__async_park park_outcome(cl_future *f, cl_future_status status) {
    int woken = cl_future_done(f) && !cl_future_cancelled(f);
    if (woken) return status == CL_FUTURE_OK ? CL__ASYNC_PARK_WOKEN : CL__ASYNC_PARK_WOKEN_LATE;
    if (status == CL_FUTURE_TIMEOUT) return CL__ASYNC_PARK_TIMEOUT;
    if (status == CL_FUTURE_CANCELLED) return CL__ASYNC_PARK_CANCELLED;
    return CL__ASYNC_PARK_ERROR;
}

cl__async_park cl__async_waiters_park(cl__async_waiters *wl, double timeout, const char *primitive, const void *object) {
    if (timeout == 0) {
        cl__observe(CL_EVENT_TIMEOUT, primitive, object);
        return CL__ASYNC_PARK_TIMEOUT;
    }
    cl_future *f = cl_future_new();
    if (!f) return CL__ASYNC_PARK_ERROR;
    cl__async_waiter node = {f, NULL, NULL};
    waiters_append(wl, &node);
    cl__observe(CL_EVENT_WAIT, primitive, object);

    cl_future_status status = timeout >= CL__ASYNC_WAITERS_FOREVER
        ? cl_await(f, NULL) : cl_async_wait_for(f, timeout, NULL);
    /* Pending here only if the await itself failed: make sure no waker picks it later. */
    cl_future_cancel(f);
    cl__async_park outcome = park_outcome(f, status);

    waiters_remove(wl, &node);
    cl_future_free(f);
    if (outcome != CL__ASYNC_PARK_WOKEN && outcome != CL__ASYNC_PARK_WOKEN_LATE)
        cl__observe(CL_EVENT_TIMEOUT, primitive, object);
    return outcome;
}

int cl__async_waiters_wake(cl__async_waiters *wl, int n) {
    int woken = 0;
    cl__async_waiter *w = wl->head;
    while (w && (n < 0 || woken < n)) {
        /* Taken first: completing a future runs the loop's callback, which only schedules the
         * task, but the line must not depend on that. */
        cl__async_waiter *next = w->next;
        if (!cl_future_done(w->future) && cl_future_set_result(w->future, NULL) == 0) woken++;
        w = next;
    }
    return woken;
}

int cl__async_waiters_wake_first(cl__async_waiters *wl) {
    return cl__async_waiters_wake(wl, 1);
}

int cl__async_waiters_pending(const cl__async_waiters *wl) {
    int pending = 0;
    for (const cl__async_waiter *w = wl->head; w; w = w->next)
        if (!cl_future_done(w->future)) pending++;
    return pending;
}
