/* trace_internal.h — the tracer's probes, for the runtime's primitives. Declared here in the core,
 * beside the hook, so the core's own probes (the GIL's) need not know the tracer; src/trace/
 * implements them.
 *
 * Most events reach the tracer through cl__observe (observe.h), the same call that reports to the
 * user's observer. Events the observer never saw (a task stepping, a pool task running, a
 * process starting, a forced GIL switch, an object's name) are recorded with cl__trace_probe,
 * which costs one load and one predictable branch while nothing is recorded. */
#ifndef CONCLAB_RUNTIME_TRACE_INTERNAL_H
#define CONCLAB_RUNTIME_TRACE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "hook_internal.h"

/* Trace-only kinds, after conclab/hook.h's cl_event_kind (which ends below 16). */
enum cl__trace_kind {
    CL__TR_NAME = 16,      /* object is called string arg (from now on) */
    CL__TR_FORGET,         /* object was freed: its address may come back as another object */
    CL__TR_MARK,           /* cl_trace_mark: an instant named string arg */
    CL__TR_TASK_START,     /* task object was created, named string arg */
    CL__TR_TASK_RESUME,    /* the loop's thread runs task object from now on */
    CL__TR_TASK_SUSPEND,   /* ... and no longer */
    CL__TR_TASK_END,       /* task object finished */
    CL__TR_POOL_QUEUED,    /* a task was queued on pool object */
    CL__TR_POOL_RUN,       /* this worker runs one of pool object's tasks */
    CL__TR_POOL_DONE,      /* ... and is done with it */
    CL__TR_PROCESS_START,  /* this process began, named string arg */
    CL__TR_PROCESS_END     /* ... and is about to exit */
};

/* Records one event on the calling thread's buffer (or counts it dropped). Async-signal-safe. */
CL_INTERNAL void cl__trace_record(unsigned kind, const char *primitive, const void *object,
                                  uint32_t arg);

/* Copies s into the trace; returns the handle events carry as arg (0 when it did not fit). */
CL_INTERNAL uint32_t cl__trace_string(const char *s);

/* Records one event if the tracer is on. */
static inline void cl__trace_probe(unsigned kind, const char *primitive, const void *object,
                                   uint32_t arg) {
    if (__builtin_expect(__atomic_load_n(&cl__observers, __ATOMIC_RELAXED) &
                             CL__OBSERVED_BY_TRACE, 0))
        cl__trace_record(kind, primitive, object, arg);
}

/* 1 while the tracer records in this process. */
static inline int cl__tracing(void) {
    return (__atomic_load_n(&cl__observers, __ATOMIC_RELAXED) & CL__OBSERVED_BY_TRACE) != 0;
}

/* An event whose arg names something (a task, a process, a thread): the string is copied only
 * while tracing. */
CL_INTERNAL void cl__trace_named(unsigned kind, const char *primitive, const void *object,
                                 const char *name);

/* The names users give primitives (cl_lock_set_name, ...), kept while the object lives so a trace
 * started later still knows them: set, and forget when the object is freed. */
CL_INTERNAL void cl__name_set(const char *primitive, const void *object, const char *name);
CL_INTERNAL void cl__name_forget(const void *object);

/* A copy of the name users gave object; 0 when it has none. */
CL_INTERNAL int cl__name_copy(const void *object, char *out, size_t size);

/* Writes every name the table holds into the trace (cl_trace_start: names given before it). */
CL_INTERNAL void cl__names_replay(void);

#endif
