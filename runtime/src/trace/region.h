/* region.h — how a recording is laid out in memory, between the recorder that writes it and the
 * model that reads it. Internal to src/trace/.
 *
 * One anonymous MAP_SHARED region, made by the first cl_trace_start and reused by later ones, so
 * processes forked while recording write into the same memory their parent reads:
 *
 *     header | strings (names, bump-allocated) | chunk 0 | chunk 1 | ... | chunk n-1
 *
 * A thread takes a chunk with one atomic add on the header's next_chunk and fills it alone; it
 * takes another when it is full. When none is left, events are counted in `dropped` instead.
 * The owner publishes each event by storing the chunk's count with release order, so a reader
 * (the model, maybe built while recording goes on) sees only whole events. */
#ifndef CONCLAB_RUNTIME_TRACE_REGION_H
#define CONCLAB_RUNTIME_TRACE_REGION_H

#include <stdint.h>

#include "observe.h"

#define CL__TRACE_CHUNK_BYTES 16384u
#define CL__TRACE_NAME_CAP 32

/* One event: 32 bytes. primitive points at the runtime's string literals, which have the same
 * address in every forked process. */
typedef struct cl__trace_event {
    uint64_t ns;             /* CLOCK_MONOTONIC nanoseconds */
    const char *primitive;   /* "lock", "gil", ... or NULL */
    const void *object;
    uint32_t kind;           /* cl_event_kind or cl__trace_kind */
    uint32_t arg;            /* a string handle (cl__trace_string) or 0 */
} cl__trace_event;

typedef struct cl__trace_chunk {
    uint32_t count;          /* events published; atomics only */
    uint32_t ready;          /* the fields below are set; atomics only */
    uint32_t generation;     /* the recording it belongs to */
    uint32_t seq;            /* its place among its thread's chunks */
    int32_t pid;
    int32_t pad;
    int64_t tid;             /* cl_thread_id() */
    char thread_name[CL__TRACE_NAME_CAP];
    cl__trace_event events[];
} cl__trace_chunk;

#define CL__TRACE_CHUNK_EVENTS \
    ((CL__TRACE_CHUNK_BYTES - sizeof(cl__trace_chunk)) / sizeof(cl__trace_event))

typedef struct cl__trace_region {
    uint32_t generation;     /* bumped by every cl_trace_start; atomics only */
    uint32_t recording;      /* 0 after cl_trace_stop, seen by forked children too */
    int32_t root_pid;        /* the process that called cl_trace_start */
    uint32_t n_chunks;
    uint64_t start_ns, stop_ns; /* stop_ns 0 while recording */
    uint32_t next_chunk;     /* the bump allocator; may run past n_chunks; atomics only */
    uint32_t strings_used;   /* bytes of the string area handed out; atomics only */
    uint32_t strings_cap;
    uint32_t pad;
    uint64_t dropped;        /* atomics only */
    char *strings;           /* the string area (same address in forked children) */
    char *chunks;
} cl__trace_region;

/* The region of the current recording, or NULL before the first cl_trace_start. */
CL_INTERNAL extern cl__trace_region *cl__trace_current;

static inline cl__trace_chunk *cl__trace_chunk_at(const cl__trace_region *r, uint32_t i) {
    return (cl__trace_chunk *)(r->chunks + (size_t)i * CL__TRACE_CHUNK_BYTES);
}

/* The string an event's arg refers to, or NULL. */
static inline const char *cl__trace_string_at(const cl__trace_region *r, uint32_t handle) {
    return handle ? r->strings + handle - 1 : NULL;
}

/* Serialises starting, stopping and reading a recording within this process. */
CL_INTERNAL void cl__trace_lock(void);
CL_INTERNAL void cl__trace_unlock(void);

/* Monotonic nanoseconds, cl_now()'s clock. */
CL_INTERNAL uint64_t cl__trace_now_ns(void);

#endif
