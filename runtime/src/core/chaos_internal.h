/* chaos_internal.h — the scheduling points' side of chaos (conclab/chaos.h): the runtime's
 * primitives call these; chaos.c decides. While chaos is off a point costs one load and one
 * predictable branch (the listeners' word, hook_internal.h). */
#ifndef CONCLAB_RUNTIME_CHAOS_INTERNAL_H
#define CONCLAB_RUNTIME_CHAOS_INTERNAL_H

#include <stddef.h>

#include "hook_internal.h"

/* 1 while chaos is on in this process. */
static inline int cl__chaos_on(void) {
    return (__atomic_load_n(&cl__observers, __ATOMIC_RELAXED) & CL__OBSERVED_BY_CHAOS) != 0;
}

/* A scheduling point on the calling thread: it may be held back here (chaos on only). */
CL_INTERNAL void cl__chaos_point(void);

/* A point that is not an event of the hook (an atomic): one branch while chaos is off. */
static inline void cl__chaos_maybe(void) {
    if (__builtin_expect(cl__chaos_on(), 0)) cl__chaos_point();
}

/* In the thread that starts another: the new thread's number in the run (0 while chaos is off),
 * handed to it for cl__chaos_thread_begin, so threads are numbered in the order they were
 * started, not in the order they first ran. */
CL_INTERNAL unsigned cl__chaos_ordinal_next(void);
CL_INTERNAL void cl__chaos_thread_begin(unsigned ordinal);

/* Which of the n ready entries the event loop runs next: 0 (the oldest) unless chaos is on. */
CL_INTERNAL size_t cl__chaos_pick(size_t n);

#endif
