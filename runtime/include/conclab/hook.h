/* conclab/hook.h — one place to observe the runtime. Every thread start and end, and every wait,
 * acquire and release of a blocking primitive (locks, semaphores, events, conditions, barriers,
 * futures, pools, the emulated GIL, sleeps, processes and what they share), is reported to a single observer, so tracing and timelines
 * are built on it without touching each primitive.
 * Part of <conclab.h>; see there for the conventions every runtime header keeps. */
#ifndef CONCLAB_HOOK_H
#define CONCLAB_HOOK_H

#ifdef __cplusplus
extern "C" {
#endif

/* What happened. */
typedef enum cl_event_kind {
    CL_EVENT_THREAD_START = 1, /* a runtime thread began running (reported on that thread) */
    CL_EVENT_THREAD_END,       /* ... and ended */
    CL_EVENT_WAIT,             /* a thread starts waiting on a primitive */
    CL_EVENT_ACQUIRE,          /* it got the primitive (after waiting or at once) */
    CL_EVENT_RELEASE,          /* it let the primitive go */
    CL_EVENT_TIMEOUT           /* it stopped waiting without getting it */
} cl_event_kind;

/* One observation; valid only during the call to the observer. */
typedef struct cl_hook_event {
    cl_event_kind kind;
    const char *primitive;     /* "thread", "lock", "rlock", "semaphore", "event", "condition",
                                  "barrier", "future", "pool", "gil", "sleep", "process",
                                  "process_pool", "queue", "connection", "shared_lock",
                                  "shared_semaphore", "shared_event", "value", "array",
                                  "async_lock", "async_semaphore", "async_event",
                                  "async_condition", "async_queue", "task" (an await),
                                  "loop" (a poll that may sleep), "stream" (a read, drain or
                                  connect that waits) */
    const void *object;        /* the handle concerned (NULL for sleeps) */
    long thread_id;            /* cl_thread_id() of the thread it happened on */
    double time;               /* cl_now() when it happened */
} cl_hook_event;

/* An observer: called on the thread where the event happens; it must be quick and not block. */
typedef void (*cl_hook_fn)(const cl_hook_event *event, void *ctx);

/* Installs the observer, replacing any other (NULL removes it); best done before threads start. */
void cl_hook_set(cl_hook_fn fn, void *ctx);

#ifdef __cplusplus
}
#endif

#endif
