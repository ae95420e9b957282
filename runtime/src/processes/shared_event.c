/* shared_event.c — cl_shared_event, Python's multiprocessing.Event: a flag that threads of every
 * process forked after it was made can wait for.
 *
 * As in event.c, one word holds the flag (bit 0) and a count of sets (the other bits), so a
 * waiter woken by a set returns 1 even if the flag was cleared again before it ran. The word
 * lives in a shared mapping and waiters park on it across processes. */
#include "conclab.h"
#include "report.h"
#include "trace_internal.h"
#include "shared_memory.h"
#include "shared_object.h"

#include <limits.h>

#define SHARED_EVENT_MAGIC 0x5345564eu /* "SEVN" */
#define FLAG 1u
#define ONE_SET 2u

struct cl_shared_event {
    cl__shared_header header;
    uint32_t state;   /* sets << 1 | flag */
    uint32_t waiters; /* parked or about to park on state, in any process */
};

static int valid(cl_shared_event *e, const char *call) {
    return cl__shared_object_valid(e, SHARED_EVENT_MAGIC, call, "shared event");
}

static uint32_t state_of(cl_shared_event *e) {
    return __atomic_load_n(&e->state, __ATOMIC_ACQUIRE);
}

cl_shared_event *cl_shared_event_new(void) {
    return cl__shared_object_new(sizeof(cl_shared_event), SHARED_EVENT_MAGIC, "cl_shared_event_new");
}

int cl_shared_event_set(cl_shared_event *e) {
    if (!valid(e, "cl_shared_event_set")) return 0;
    uint32_t s = state_of(e);
    do {
        if (s & FLAG) return 1; /* set already: nobody can be waiting for it */
    } while (!__atomic_compare_exchange_n(&e->state, &s, (s + ONE_SET) | FLAG, 1, __ATOMIC_SEQ_CST,
                                          __ATOMIC_ACQUIRE));
    cl__observe(CL_EVENT_RELEASE, "shared_event", e);
    if (__atomic_load_n(&e->waiters, __ATOMIC_SEQ_CST) > 0) cl__shared_unpark(&e->state, INT_MAX);
    return 1;
}

int cl_shared_event_clear(cl_shared_event *e) {
    if (!valid(e, "cl_shared_event_clear")) return 0;
    __atomic_and_fetch(&e->state, ~FLAG, __ATOMIC_SEQ_CST);
    return 1;
}

int cl_shared_event_is_set(cl_shared_event *e) {
    return valid(e, "cl_shared_event_is_set") && (state_of(e) & FLAG) != 0;
}

static int wait_until(cl_shared_event *e, const cl__deadline *d) {
    uint32_t seen = state_of(e);
    if (seen & FLAG) {
        cl__observe(CL_EVENT_ACQUIRE, "shared_event", e);
        return 1;
    }
    cl__observe(CL_EVENT_WAIT, "shared_event", e);
    cl__blocking_begin();
    __atomic_add_fetch(&e->waiters, 1, __ATOMIC_SEQ_CST);
    /* Clearing a clear flag leaves the word as it was, so any change means a set happened. */
    while (state_of(e) == seen && cl__shared_park(&e->state, seen, d) == 0)
        ;
    int set = state_of(e) != seen;
    __atomic_sub_fetch(&e->waiters, 1, __ATOMIC_SEQ_CST);
    cl__blocking_end();
    cl__observe(set ? CL_EVENT_ACQUIRE : CL_EVENT_TIMEOUT, "shared_event", e);
    return set;
}

int cl_shared_event_wait(cl_shared_event *e) {
    if (!valid(e, "cl_shared_event_wait")) return 0;
    cl__deadline forever;
    cl__deadline_forever(&forever);
    return wait_until(e, &forever);
}

int cl_shared_event_wait_timeout(cl_shared_event *e, double seconds) {
    const char *call = "cl_shared_event_wait_timeout";
    cl__deadline d;
    if (!valid(e, call) || !cl__deadline_init(&d, seconds, call)) return 0;
    return wait_until(e, &d);
}

int cl_shared_event_free(cl_shared_event *e) {
    if (!e) return 1; /* like free(NULL) */
    if (!valid(e, "cl_shared_event_free")) return 0;
    cl__shared_object_retire(e);
    cl__name_forget(e); /* its address may come back as another object */
    return 1;
}
