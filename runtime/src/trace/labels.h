/* labels.h — what the model calls each object a trace mentions: its name in quotes after its kind
 * (lock "forks[2]"), or its kind and a number in order of first appearance (lock 1), and what it
 * remembers per object across lanes (the last release, for flows; queued pool tasks). Internal
 * to src/trace/; lives only while one model is built. */
#ifndef CONCLAB_RUNTIME_TRACE_LABELS_H
#define CONCLAB_RUNTIME_TRACE_LABELS_H

#include <stddef.h>

#include "observe.h"

typedef struct trace_queued {
    size_t lane;
    double time;
} trace_queued;

typedef struct trace_object {
    const void *object;
    const char *primitive;
    char *name;              /* given by the user or the runtime, or NULL */
    char *label;             /* made on first use; replaced (and kept) when renamed */
    int has_release;         /* a release not yet matched to an acquire */
    size_t release_lane;
    double release_time;
    trace_queued *queued;    /* pool tasks queued and not yet run, oldest at queued_head */
    size_t queued_head, n_queued, queued_cap;
    size_t task_actor;       /* for a task's future: its actor in the model, plus one; 0: none */
} trace_object;

typedef struct trace_labels trace_labels;

CL_INTERNAL trace_labels *trace_labels_new(void);
CL_INTERNAL void trace_labels_free(trace_labels *t);

/* The record of object (made on first sight); NULL only when out of memory. */
CL_INTERNAL trace_object *trace_labels_find(trace_labels *t, const void *object,
                                            const char *primitive);

/* Names the object from now on (a copy of name). */
CL_INTERNAL void trace_labels_name(trace_labels *t, trace_object *o, const char *name);

/* The object was freed: a later object at its address is a new one, with a new number. */
CL_INTERNAL void trace_labels_forget(trace_labels *t, trace_object *o);

/* The label of o (lock "forks[2]", lock 1, GIL, sleep), seen in an event about primitive; valid
 * until trace_labels_free. */
CL_INTERNAL const char *trace_labels_label(trace_labels *t, trace_object *o, const char *primitive);

/* A label not tied to an object ("running a task of pool 1"): kept until trace_labels_free. */
CL_INTERNAL const char *trace_labels_keep(trace_labels *t, char *owned);

#endif
