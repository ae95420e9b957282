/* snapshot.h — a copy of the recording, thread by thread, that the model is built from while
 * recording may go on. Internal to src/trace/. */
#ifndef CONCLAB_RUNTIME_TRACE_SNAPSHOT_H
#define CONCLAB_RUNTIME_TRACE_SNAPSHOT_H

#include <stddef.h>

#include "region.h"

typedef struct trace_thread {
    int pid;
    long tid;
    char name[CL__TRACE_NAME_CAP];  /* cl_thread_name() when it took its first chunk */
    cl__trace_event *events;        /* in time order */
    size_t n;
} trace_thread;

typedef struct trace_snapshot {
    trace_thread *threads;
    size_t n_threads;
    int root_pid;
    uint64_t start_ns, stop_ns;     /* stop_ns 0 while recording */
    unsigned long long dropped;
} trace_snapshot;

/* Copies what r holds now; call with cl__trace_lock held. 0 when out of memory. */
CL_INTERNAL int trace_snapshot_take(const cl__trace_region *r, trace_snapshot *s);

CL_INTERNAL void trace_snapshot_free(trace_snapshot *s);

#endif
