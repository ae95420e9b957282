/* hook_internal.h — whether anyone observes, for hot paths that can skip preparing a report
 * (a lock's release checks its state before reporting only when someone listens).
 *
 * Four listeners share the probes: the user's observer (conclab/hook.h), the tracer
 * (src/trace/), chaos and the lock-order checker (conclab/chaos.h). One word says which of them listen, so a probe costs one load and one
 * predictable branch while neither does. */
#ifndef CONCLAB_RUNTIME_HOOK_INTERNAL_H
#define CONCLAB_RUNTIME_HOOK_INTERNAL_H

#include <stddef.h>

#include "observe.h"

#define CL__OBSERVED_BY_HOOK 1u   /* cl_hook_set installed an observer */
#define CL__OBSERVED_BY_TRACE 2u  /* cl_trace_start is recording in this process */
#define CL__OBSERVED_BY_CHAOS 4u  /* cl_chaos_start: scheduling points may hold threads back */
#define CL__OBSERVED_BY_LOCKCHECK 8u  /* cl_lockcheck_enable: lock orders are recorded */

/* Who listens: CL__OBSERVED_BY_* bits (hook.c owns the hook's bit, the tracer its own). */
CL_INTERNAL extern unsigned cl__observers;

/* Non-zero if anyone listens: one load, no call. */
static inline int cl__hook_active(void) {
    return __atomic_load_n(&cl__observers, __ATOMIC_RELAXED) != 0;
}

/* Sets or clears one listener's bit. */
static inline void cl__observers_set(unsigned bit, int on) {
    if (on) __atomic_or_fetch(&cl__observers, bit, __ATOMIC_SEQ_CST);
    else __atomic_and_fetch(&cl__observers, ~bit, __ATOMIC_SEQ_CST);
}

#endif
