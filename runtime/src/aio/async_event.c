/* async_event.c — asyncio.Event; see conclab/async_sync.h.
 *
 * set() completes every pending waiter's future; a woken waiter returns 1 even if the flag was
 * cleared again before it ran, as in Python (it was set when the waiter was woken). */
#include "conclab/async_sync.h"

#include <stdlib.h>

#include "async_waiters.h"
#include "report.h"
#include "trace_internal.h"

struct cl_async_event {
    int flag;
    cl__async_waiters waiters;
};

cl_async_event *cl_async_event_new(void) {
    cl_async_event *e = calloc(1, sizeof *e);
    if (!e) cl_report("cl_async_event_new", "out of memory");
    return e;
}

void cl_async_event_set(cl_async_event *e) {
    if (!e) {
        cl_report("cl_async_event_set", "event is NULL");
        return;
    }
    if (e->flag || !cl__async_waiters_same_loop(&e->waiters, "cl_async_event_set")) return;
    e->flag = 1;
    cl__observe(CL_EVENT_RELEASE, "async_event", e);
    cl__async_waiters_wake(&e->waiters, -1);
}

void cl_async_event_clear(cl_async_event *e) {
    if (!e) {
        cl_report("cl_async_event_clear", "event is NULL");
        return;
    }
    e->flag = 0;
}

int cl_async_event_is_set(cl_async_event *e) {
    if (!e) {
        cl_report("cl_async_event_is_set", "event is NULL");
        return 0;
    }
    return e->flag;
}

static int event_wait(cl_async_event *e, double seconds, const char *call) {
    if (!e) {
        cl_report(call, "event is NULL");
        return 0;
    }
    if (e->flag) {
        cl__observe(CL_EVENT_ACQUIRE, "async_event", e);
        return 1;
    }
    if (!cl__async_waiters_can_park(&e->waiters, seconds, call)) return 0;
    if (cl__async_waiters_park(&e->waiters, seconds, "async_event", e) != CL__ASYNC_PARK_WOKEN) return 0;
    cl__observe(CL_EVENT_ACQUIRE, "async_event", e);
    return 1;
}

int cl_async_event_wait(cl_async_event *e) {
    return event_wait(e, CL_FOREVER, "cl_async_event_wait");
}

int cl_async_event_wait_timeout(cl_async_event *e, double seconds) {
    return event_wait(e, seconds, "cl_async_event_wait_timeout");
}

int cl_async_event_free(cl_async_event *e) {
    if (!e) return 1;
    if (e->waiters.count) {
        cl_report("cl_async_event_free", "tasks wait on the event; not freed");
        return 0;
    }
    cl__name_forget(e); /* its address may come back as another object */
    free(e);
    return 1;
}
