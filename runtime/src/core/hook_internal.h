/* hook_internal.h — whether anyone observes, for hot paths that can skip preparing a report
 * (a lock's release checks its state before reporting only when someone listens). */
#ifndef CONCLAB_RUNTIME_HOOK_INTERNAL_H
#define CONCLAB_RUNTIME_HOOK_INTERNAL_H

#include <stddef.h>

#include "observe.h"

/* The installed observer (hook.c); read it only through cl__hook_active. */
CL_INTERNAL extern cl_hook_fn cl__hook_current;

/* 1 if an observer is installed: one load, no call. */
static inline int cl__hook_active(void) {
    return __atomic_load_n(&cl__hook_current, __ATOMIC_ACQUIRE) != NULL;
}

#endif
