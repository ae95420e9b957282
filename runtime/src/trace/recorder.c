/* recorder.c — writing events into the shared region (region.h), and switching recording on and
 * off (conclab/trace.h).
 *
 * The hot path is record(): a thread-local chunk pointer, a check that the chunk still belongs to
 * the current recording and has room, a clock read, a 32-byte store and a release store of the
 * count. Everything else (taking a chunk, running out) is the slow path.
 *
 * Signals: the emulated GIL's handler records its forced switches, and may interrupt a record()
 * on the same thread. Writing then would tear the event being written; dropping it would show a
 * thread running without the GIL. So a handler that finds the thread inside record() leaves its
 * event (timestamped) in a thread-local slot, which the interrupted record() writes before it
 * returns. The model orders events by time, so the order they sit in a chunk does not matter. */
#define _GNU_SOURCE
#include "conclab.h"
#include "region.h"
#include "report.h"
#include "thread_internal.h"
#include "trace_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define REGION_BYTES (32u << 20)   /* 2 040 chunks of 510 events: about a million events */
#define STRING_BYTES (512u << 10)  /* names: thread, task, object and mark names */

cl__trace_region *cl__trace_current;

static pthread_mutex_t admin = PTHREAD_MUTEX_INITIALIZER; /* start, stop and reads */

static __thread cl__trace_chunk *mine __attribute__((tls_model("initial-exec")));
static __thread uint32_t my_generation __attribute__((tls_model("initial-exec")));
static __thread uint32_t my_seq __attribute__((tls_model("initial-exec")));
static __thread volatile int inside __attribute__((tls_model("initial-exec")));
static __thread volatile int pending __attribute__((tls_model("initial-exec")));
static __thread cl__trace_event pending_event __attribute__((tls_model("initial-exec")));

void cl__trace_lock(void) { pthread_mutex_lock(&admin); }
void cl__trace_unlock(void) { pthread_mutex_unlock(&admin); }

uint64_t cl__trace_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- the slow path: a fresh chunk ------------------------------------------------------------- */

static void name_chunk(cl__trace_chunk *c, const cl__trace_region *r) {
    const char *name = cl_thread_name();
    if (c->tid == c->pid && c->pid == r->root_pid) name = "main";
    strncpy(c->thread_name, name, CL__TRACE_NAME_CAP - 1);
}

/* Takes a chunk for the calling thread, or returns NULL (and remembers it) when none is left. */
static cl__trace_chunk *take_chunk(cl__trace_region *r, uint32_t generation) {
    if (my_generation != generation) my_seq = 0;
    my_generation = generation;
    mine = NULL;
    if (__atomic_load_n(&r->next_chunk, __ATOMIC_RELAXED) >= r->n_chunks) return NULL;
    uint32_t i = __atomic_fetch_add(&r->next_chunk, 1, __ATOMIC_RELAXED);
    if (i >= r->n_chunks) return NULL;
    cl__trace_chunk *c = cl__trace_chunk_at(r, i);
    c->generation = generation;
    c->seq = my_seq++;
    c->pid = (int32_t)getpid();
    c->tid = cl__self_id();
    name_chunk(c, r);
    __atomic_store_n(&c->ready, 1, __ATOMIC_RELEASE);
    mine = c;
    return c;
}

static void count_dropped(cl__trace_region *r) {
    __atomic_add_fetch(&r->dropped, 1, __ATOMIC_RELAXED);
}

/* ---- the hot path ---------------------------------------------------------------------------- */

/* The calling thread's chunk with room for one more event, or NULL when the trace is full. */
static cl__trace_chunk *chunk_with_room(cl__trace_region *r) {
    uint32_t generation = __atomic_load_n(&r->generation, __ATOMIC_RELAXED);
    cl__trace_chunk *c = mine;
    if (c && my_generation == generation && c->count < CL__TRACE_CHUNK_EVENTS) return c;
    /* a thread that found the region full does not try again for every event */
    if (!c && my_generation == generation && my_seq) return NULL;
    return take_chunk(r, generation);
}

static void append(cl__trace_region *r, const cl__trace_event *e) {
    cl__trace_chunk *c = chunk_with_room(r);
    if (!c) {
        count_dropped(r);
        return;
    }
    uint32_t n = c->count;
    c->events[n] = *e;
    __atomic_store_n(&c->count, n + 1, __ATOMIC_RELEASE);
}

/* Writes the event a signal handler left while this thread was inside record(). */
static void append_pending(cl__trace_region *r) {
    cl__trace_event e = pending_event;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    pending = 0;
    append(r, &e);
}

void cl__trace_record(unsigned kind, const char *primitive, const void *object, uint32_t arg) {
    cl__trace_region *r = __atomic_load_n(&cl__trace_current, __ATOMIC_ACQUIRE);
    if (!r || !__atomic_load_n(&r->recording, __ATOMIC_RELAXED)) return;
    cl__trace_event e = {cl__trace_now_ns(), primitive, object, kind, arg};
    if (inside) { /* a signal handler interrupted a record() on this thread */
        if (pending) count_dropped(r);
        else {
            pending_event = e;
            __atomic_signal_fence(__ATOMIC_SEQ_CST);
            pending = 1;
        }
        return;
    }
    inside = 1;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    append(r, &e);
    for (;;) {
        while (pending) append_pending(r);
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        inside = 0;
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        if (!pending) return;
        inside = 1; /* one came between the last look and leaving */
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
    }
}

uint32_t cl__trace_string(const char *s) {
    cl__trace_region *r = __atomic_load_n(&cl__trace_current, __ATOMIC_ACQUIRE);
    if (!r || !s) return 0;
    size_t len = strnlen(s, 255);
    uint32_t at = __atomic_fetch_add(&r->strings_used, (uint32_t)len + 1, __ATOMIC_RELAXED);
    if ((uint64_t)at + len + 1 > r->strings_cap) return 0;
    memcpy(r->strings + at, s, len);
    r->strings[at + len] = '\0';
    return at + 1; /* 0 means "no string" */
}

void cl__trace_named(unsigned kind, const char *primitive, const void *object, const char *name) {
    if (!cl__tracing()) return;
    cl__trace_record(kind, primitive, object, cl__trace_string(name));
}

/* ---- forks ----------------------------------------------------------------------------------- */

/* The child's only thread must not go on filling its parent's chunk. A fork waits for a model
 * being built (a live timeline's thread holds `admin` meanwhile): the child would find it
 * locked for good. */
static void after_fork_in_child(void) {
    mine = NULL;
    my_seq = 0;
    cl__trace_unlock();
}

__attribute__((constructor)) static void watch_forks(void) {
    pthread_atfork(cl__trace_lock, cl__trace_unlock, after_fork_in_child);
}

/* ---- starting and stopping ------------------------------------------------------------------- */

/* The region is made once and reused: a thread may still be writing into the last recording's
 * chunks when the next one starts, so it must stay mapped. Fresh memory is zero; reused memory
 * is cleared, and every chunk is marked by the generation it was taken in. */
static cl__trace_region *region_for_new_recording(void) {
    cl__trace_region *r = cl__trace_current;
    if (!r) {
        void *m = mmap(NULL, REGION_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                       -1, 0);
        if (m == MAP_FAILED) return NULL;
        r = m;
        r->strings = (char *)m + 4096;
        r->strings_cap = STRING_BYTES;
        r->chunks = r->strings + STRING_BYTES;
        r->n_chunks = (uint32_t)((REGION_BYTES - 4096 - STRING_BYTES) / CL__TRACE_CHUNK_BYTES);
        return r;
    }
    uint32_t used = __atomic_load_n(&r->next_chunk, __ATOMIC_RELAXED);
    if (used > r->n_chunks) used = r->n_chunks;
    for (uint32_t i = 0; i < used; i++) {
        cl__trace_chunk *c = cl__trace_chunk_at(r, i);
        __atomic_store_n(&c->ready, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&c->count, 0, __ATOMIC_RELAXED);
    }
    return r;
}

int cl_trace_start(void) {
    cl__trace_lock();
    cl__observers_set(CL__OBSERVED_BY_TRACE, 0);
    cl__trace_region *r = region_for_new_recording();
    if (!r) {
        cl__trace_unlock();
        cl_report("cl_trace_start", "cannot map the trace buffers");
        return -1;
    }
    /* The allocators are reset before the generation moves on: a thread that sees the new
     * generation takes its chunk from the reset count. (A thread still writing into a chunk of
     * the last recording while this runs may spoil one event of the new one: starting a
     * recording while other threads record is the one unguarded case, see trace.h.) */
    __atomic_store_n(&r->recording, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&r->next_chunk, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&r->strings_used, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&r->dropped, 0, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&r->generation, 1, __ATOMIC_SEQ_CST);
    r->root_pid = (int32_t)getpid();
    r->stop_ns = 0;
    r->start_ns = cl__trace_now_ns();
    __atomic_store_n(&cl__trace_current, r, __ATOMIC_RELEASE);
    __atomic_store_n(&r->recording, 1, __ATOMIC_SEQ_CST);
    cl__observers_set(CL__OBSERVED_BY_TRACE, 1);
    cl__trace_unlock();
    cl__names_replay();
    return 0;
}

void cl_trace_stop(void) {
    cl__trace_lock();
    cl__trace_region *r = cl__trace_current;
    if (r && __atomic_load_n(&r->recording, __ATOMIC_SEQ_CST)) {
        r->stop_ns = cl__trace_now_ns();
        __atomic_store_n(&r->recording, 0, __ATOMIC_SEQ_CST);
    }
    cl__observers_set(CL__OBSERVED_BY_TRACE, 0);
    cl__trace_unlock();
}

int cl_trace_active(void) {
    cl__trace_region *r = __atomic_load_n(&cl__trace_current, __ATOMIC_ACQUIRE);
    return r && cl__tracing() && __atomic_load_n(&r->recording, __ATOMIC_RELAXED);
}

void cl_trace_mark(const char *name) {
    cl__trace_named(CL__TR_MARK, "mark", NULL, name ? name : "mark");
}

unsigned long long cl_trace_dropped(void) {
    cl__trace_region *r = __atomic_load_n(&cl__trace_current, __ATOMIC_ACQUIRE);
    return r ? __atomic_load_n(&r->dropped, __ATOMIC_RELAXED) : 0;
}
