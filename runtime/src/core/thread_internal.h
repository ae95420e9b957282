/* thread_internal.h — the calling thread's id for the runtime's hot paths. A lock records who
 * acquired it on every acquire, so this must cost no more than a thread-local load: an
 * initial-exec thread-local (gil.c uses one too), read inline, fetched by a system call once. */
#ifndef CONCLAB_RUNTIME_THREAD_INTERNAL_H
#define CONCLAB_RUNTIME_THREAD_INTERNAL_H

#include "observe.h"

/* gettid() of the calling thread once fetched, else 0. Reset in a forked child. */
CL_INTERNAL extern __thread long cl__self_tid __attribute__((tls_model("initial-exec")));

/* Fetches and caches gettid(). */
CL_INTERNAL long cl__fetch_self_tid(void);

/* Names the calling thread, one the runtime started with pthread_create rather than
 * cl_thread_start (an HTTP server's own thread): cl_thread_name() and its timeline lane say
 * `name` instead of "Dummy-N". Call it before the thread does anything else. */
CL_INTERNAL void cl__thread_name_self(const char *name);

/* cl_thread_id() without a call through the PLT. */
static inline long cl__self_id(void) {
    long id = cl__self_tid;
    return id ? id : cl__fetch_self_tid();
}

#endif
