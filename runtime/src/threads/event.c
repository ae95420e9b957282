/* event.c — cl_event, Python's threading.Event: a flag that threads wait for.
 *
 * One word holds the flag (bit 0) and a count of the times it was set (the other bits). A waiter
 * parks on the whole word, so it is woken by any set even if the flag was cleared again before
 * it ran — as in Python, where such a waiter returns True. */
#include "conclab.h"
#include "observe.h"
#include "report.h"
#include "trace_internal.h"
#include "wait.h"

#include <limits.h>
#include <stdlib.h>

#define EVENT_MAGIC 0x45564e54u /* "EVNT" */
#define FLAG 1u
#define ONE_SET 2u /* what each set adds to the count of sets */

struct cl_event {
    uint32_t magic;
    uint32_t state;   /* sets << 1 | flag */
    uint32_t waiters; /* threads parked or about to park on state */
};

static int valid(cl_event *e, const char *call) {
    if (!e) {
        cl_report(call, "event is NULL");
        return 0;
    }
    if (e->magic != EVENT_MAGIC) {
        cl_report(call, "not an event (freed already, or another kind of handle?)");
        return 0;
    }
    return 1;
}

static uint32_t state_of(cl_event *e) {
    return __atomic_load_n(&e->state, __ATOMIC_ACQUIRE);
}

cl_event *cl_event_new(void) {
    cl_event *e = calloc(1, sizeof *e);
    if (!e) {
        cl_report("cl_event_new", "out of memory");
        return NULL;
    }
    e->magic = EVENT_MAGIC;
    return e;
}

void cl_event_set(cl_event *e) {
    if (!valid(e, "cl_event_set")) return;
    uint32_t s = state_of(e);
    do {
        if (s & FLAG) return; /* set already: nothing changes, nobody is waiting */
    } while (!__atomic_compare_exchange_n(&e->state, &s, (s + ONE_SET) | FLAG, 1, __ATOMIC_SEQ_CST,
                                          __ATOMIC_ACQUIRE));
    cl__observe(CL_EVENT_RELEASE, "event", e);
    if (__atomic_load_n(&e->waiters, __ATOMIC_SEQ_CST) > 0) cl__unpark(&e->state, INT_MAX);
}

void cl_event_clear(cl_event *e) {
    if (!valid(e, "cl_event_clear")) return;
    __atomic_and_fetch(&e->state, ~FLAG, __ATOMIC_SEQ_CST);
}

int cl_event_is_set(cl_event *e) {
    if (!valid(e, "cl_event_is_set")) return 0;
    return (state_of(e) & FLAG) != 0;
}

/* Waits until the event is set (or was set while we waited) or d passes; 1 if it was. */
static int wait_until(cl_event *e, const cl__deadline *d) {
    uint32_t seen = state_of(e);
    if (seen & FLAG) {
        cl__observe(CL_EVENT_ACQUIRE, "event", e);
        return 1;
    }
    cl__observe(CL_EVENT_WAIT, "event", e);
    cl__blocking_begin();
    __atomic_add_fetch(&e->waiters, 1, __ATOMIC_SEQ_CST);
    /* Clearing a clear flag leaves the word as it was, so any change means a set happened. */
    while (state_of(e) == seen && cl__park(&e->state, seen, d) == 0)
        ;
    int set = state_of(e) != seen;
    __atomic_sub_fetch(&e->waiters, 1, __ATOMIC_SEQ_CST);
    cl__blocking_end();
    cl__observe(set ? CL_EVENT_ACQUIRE : CL_EVENT_TIMEOUT, "event", e);
    return set;
}

int cl_event_wait(cl_event *e) {
    if (!valid(e, "cl_event_wait")) return 0;
    cl__deadline forever;
    cl__deadline_forever(&forever);
    return wait_until(e, &forever);
}

int cl_event_wait_timeout(cl_event *e, double seconds) {
    const char *call = "cl_event_wait_timeout";
    cl__deadline d;
    if (!valid(e, call) || !cl__deadline_init(&d, seconds, call)) return 0;
    return wait_until(e, &d);
}

int cl_event_free(cl_event *e) {
    if (!e) return 1; /* like free(NULL) */
    if (!valid(e, "cl_event_free")) return 0;
    if (__atomic_load_n(&e->waiters, __ATOMIC_SEQ_CST) > 0) {
        cl_report("cl_event_free", "threads are waiting on the event");
        return 0;
    }
    e->magic = 0;
    cl__name_forget(e); /* its address may come back as another object */
    free(e);
    return 1;
}
