/* timeline_model.h — what a timeline shows, between the tracer that records it (src/trace/) and
 * the picture and trace-file writers that draw it (src/charts/). Internal to the runtime.
 *
 * A timeline is lanes (one per thread, process or task) on one time axis. Every lane is covered
 * by spans from its start to its end, each in one state; the time between waits is RUNNING.
 * Times are cl_now() seconds. Strings are owned by the model. */
#ifndef CONCLAB_RUNTIME_TIMELINE_MODEL_H
#define CONCLAB_RUNTIME_TIMELINE_MODEL_H

#include <stddef.h>

/* What a lane was doing. The picture gives each state one colour of a fixed palette. */
typedef enum tl_state {
    TL_RUNNING,   /* on the CPU, or able to be (and holding the GIL while the GIL is on) */
    TL_LOCK,      /* waiting for a lock, rlock, semaphore (or their async and shared kinds) */
    TL_WAIT,      /* waiting on a condition, event, barrier, queue, future or pool result */
    TL_SLEEP,     /* cl_sleep / sleep calls */
    TL_IO,        /* waiting for a stream, HTTP, a pipe or the loop's poll */
    TL_GIL,       /* waiting for the emulated GIL */
    TL_JOIN,      /* blocked joining a thread or process */
    TL_STATE_COUNT
} tl_state;

typedef enum tl_lane_kind { TL_LANE_THREAD, TL_LANE_PROCESS, TL_LANE_TASK } tl_lane_kind;

typedef struct tl_span {
    double start, end;
    tl_state state;
    char *what;        /* what it waited on, for the hover text ("lock \"forks[2]\""), or NULL */
} tl_span;

typedef struct tl_lane {
    char *name;        /* "main", "worker-3", "task fetch(2)", "process 4121" */
    tl_lane_kind kind;
    int pid;           /* the process it ran in */
    long id;           /* cl_thread_id() for threads, the task's number for tasks */
    double start, end; /* when it began and ended (or the trace stopped) */
    tl_span *spans;    /* in time order, covering [start, end] */
    size_t n_spans;
} tl_lane;

/* A release on one lane that let a waiter on another acquire ("this unlock woke that thread"). */
typedef struct tl_flow {
    size_t from_lane, to_lane;
    double from_time, to_time;
} tl_flow;

/* A moment worth marking on a lane (cl_trace_mark). */
typedef struct tl_instant {
    size_t lane;
    double time;
    char *name;
} tl_instant;

/* CPU use sampled while the trace ran (from /proc/stat and /proc/self/stat): per core and for
 * the traced process with its children, each a fraction 0..1 of one core over the interval
 * ending at times[i]. */
typedef struct tl_cpu {
    int n_cores;
    size_t n_samples;
    double *times;        /* n_samples */
    double *per_core;     /* n_samples x n_cores, row by row */
    double *process;      /* n_samples: cores the traced process kept busy (0..n_cores) */
} tl_cpu;

typedef struct tl_model {
    char *title;                       /* or NULL */
    double start, end;                 /* the traced interval */
    tl_lane *lanes;
    size_t n_lanes;
    tl_flow *flows;
    size_t n_flows;
    tl_instant *instants;
    size_t n_instants;
    unsigned long long dropped;        /* events lost because a buffer was full */
    tl_cpu *cpu;                       /* or NULL when CPU use was not sampled */
} tl_model;

/* Frees what a lane owns (its name, its spans and their texts), not the lane itself. */
void tl_lane_free(tl_lane *l) __attribute__((visibility("hidden")));

/* Frees a model and everything it owns. */
void tl_model_free(tl_model *m) __attribute__((visibility("hidden")));

#endif
