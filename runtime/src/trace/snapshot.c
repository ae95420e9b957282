/* snapshot.c — a consistent copy of what is recorded so far, one event list per thread.
 *
 * Recording goes on while the copy is taken: each chunk's count is read once (acquire), and only
 * the events below it are copied, so a snapshot holds whole events. A thread's chunks are put back
 * in order by their first timestamp: a thread's events are in time order, and two threads that
 * had the same tid one after the other do not overlap in time. */
#include "snapshot.h"

#include <stdlib.h>
#include <string.h>

typedef struct chunk_ref {
    const cl__trace_chunk *chunk;
    uint32_t count;
} chunk_ref;

static int by_thread_then_time(const void *a, const void *b) {
    const cl__trace_chunk *x = ((const chunk_ref *)a)->chunk, *y = ((const chunk_ref *)b)->chunk;
    if (x->pid != y->pid) return x->pid < y->pid ? -1 : 1;
    if (x->tid != y->tid) return x->tid < y->tid ? -1 : 1;
    if (x->events[0].ns != y->events[0].ns) return x->events[0].ns < y->events[0].ns ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The chunks of the current recording that hold events, sorted; NULL when there are none. */
static chunk_ref *usable_chunks(const cl__trace_region *r, size_t *n_out) {
    uint32_t used = __atomic_load_n(&r->next_chunk, __ATOMIC_ACQUIRE);
    if (used > r->n_chunks) used = r->n_chunks;
    chunk_ref *refs = calloc(used ? used : 1, sizeof *refs);
    size_t n = 0;
    if (!refs) return NULL;
    for (uint32_t i = 0; i < used; i++) {
        const cl__trace_chunk *c = cl__trace_chunk_at(r, i);
        if (!__atomic_load_n(&c->ready, __ATOMIC_ACQUIRE) || c->generation != r->generation)
            continue;
        uint32_t count = __atomic_load_n(&c->count, __ATOMIC_ACQUIRE);
        if (count == 0) continue;
        refs[n++] = (chunk_ref){c, count};
    }
    qsort(refs, n, sizeof *refs, by_thread_then_time);
    *n_out = n;
    return refs;
}

static int same_thread(const cl__trace_chunk *a, const cl__trace_chunk *b) {
    return a->pid == b->pid && a->tid == b->tid;
}

/* Appends one chunk's events to t, whose array was sized for all of its chunks. */
static void append(trace_thread *t, const chunk_ref *ref) {
    memcpy(t->events + t->n, ref->chunk->events, ref->count * sizeof *t->events);
    t->n += ref->count;
}

/* Gives each thread room for all its events: one allocation each, not one per chunk. */
static int size_threads(trace_snapshot *s, const chunk_ref *refs, size_t n_refs) {
    size_t thread = 0, count = 0;
    for (size_t i = 0; i <= n_refs; i++) {
        if (i > 0 && (i == n_refs || !same_thread(refs[i].chunk, refs[i - 1].chunk))) {
            s->threads[thread].events = malloc(count * sizeof *s->threads[thread].events);
            if (!s->threads[thread].events) return 0;
            thread++;
            count = 0;
        }
        if (i < n_refs) count += refs[i].count;
    }
    return 1;
}

int trace_snapshot_take(const cl__trace_region *r, trace_snapshot *s) {
    memset(s, 0, sizeof *s);
    size_t n_refs = 0;
    chunk_ref *refs = usable_chunks(r, &n_refs);
    if (!refs) return 0;
    s->threads = calloc(n_refs ? n_refs : 1, sizeof *s->threads);
    if (!s->threads) {
        free(refs);
        return 0;
    }
    if (!size_threads(s, refs, n_refs)) {
        s->n_threads = n_refs; /* the arrays made so far are freed; calloc zeroed the rest */
        free(refs);
        trace_snapshot_free(s);
        return 0;
    }
    for (size_t i = 0; i < n_refs; i++) {
        const cl__trace_chunk *c = refs[i].chunk;
        if (i == 0 || !same_thread(c, refs[i - 1].chunk)) {
            trace_thread *t = &s->threads[s->n_threads++];
            t->pid = c->pid;
            t->tid = (long)c->tid;
            memcpy(t->name, c->thread_name, CL__TRACE_NAME_CAP);
            t->name[CL__TRACE_NAME_CAP - 1] = '\0';
        }
        append(&s->threads[s->n_threads - 1], &refs[i]);
    }
    free(refs);
    s->root_pid = r->root_pid;
    s->start_ns = r->start_ns;
    s->stop_ns = r->stop_ns;
    s->dropped = __atomic_load_n(&r->dropped, __ATOMIC_RELAXED);
    return 1;
}

void trace_snapshot_free(trace_snapshot *s) {
    for (size_t i = 0; i < s->n_threads; i++) free(s->threads[i].events);
    free(s->threads);
    memset(s, 0, sizeof *s);
}
