/* runtime_sync_helpers.h — what the thread and synchronization tests share: catching the line a
 * misuse prints on stderr, polling for a state another thread reaches, and an observer for the
 * hook that counts events. Plain C with the runtime's atomics, so the tests compile with gcc and
 * with tcc (which has no atomic builtins). */
#ifndef CONCLAB_RUNTIME_SYNC_HELPERS_H
#define CONCLAB_RUNTIME_SYNC_HELPERS_H

#include <conclab.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- stderr: capture_begin, captured_so_far, capture_end, starts_with ------------------------ */

#include "capture_stderr.h"

static int contains(const char *text, const char *part) {
    return strstr(text, part) != NULL;
}

/* ---- polling ---------------------------------------------------------------------------------- */

/* Waits (up to a generous 10 s) until *p == want; returns the last value seen. */
static long await_value(long *p, long want) {
    double deadline = cl_now() + 10.0;
    long v = cl_atomic_load(p);
    while (v != want && cl_now() < deadline) {
        cl_sleep(0.0005);
        v = cl_atomic_load(p);
    }
    return v;
}

/* ---- counting hook events --------------------------------------------------------------------- */

enum { P_THREAD, P_LOCK, P_RLOCK, P_SEMAPHORE, P_EVENT, P_CONDITION, P_BARRIER, P_OTHER, P_COUNT };
#define KINDS 8 /* cl_event_kind values are 1..6 */
#define LOG_CAP 4096

static long hook_counts[P_COUNT][KINDS];
static const void *hook_watched; /* count only this object's events (NULL: every object) */

/* The order events came in, for the watched object. */
static long hook_log_n;
static long hook_log_kind[LOG_CAP];
static long hook_log_thread[LOG_CAP];

static int primitive_index(const char *name) {
    static const char *const names[] = {"thread", "lock", "rlock", "semaphore", "event",
                                        "condition", "barrier"};
    for (int i = 0; i < P_OTHER; i++)
        if (strcmp(name, names[i]) == 0) return i;
    return P_OTHER;
}

static void counting_observer(const cl_hook_event *ev, void *ctx) {
    (void)ctx;
    if (hook_watched && ev->object != hook_watched) return;
    cl_atomic_add(&hook_counts[primitive_index(ev->primitive)][ev->kind % KINDS], 1);
    long i = cl_atomic_add(&hook_log_n, 1) - 1;
    if (i < LOG_CAP) {
        hook_log_kind[i] = ev->kind;
        hook_log_thread[i] = ev->thread_id;
    }
}

/* Starts counting from zero the events of object (NULL: of everything). */
static void hook_watch(const void *object) {
    cl_hook_set(NULL, NULL);
    memset(hook_counts, 0, sizeof hook_counts);
    cl_atomic_store(&hook_log_n, 0);
    hook_watched = object;
    cl_hook_set(counting_observer, NULL);
}

static void hook_stop(void) {
    cl_hook_set(NULL, NULL);
}

static long hook_count(int primitive, int kind) {
    return cl_atomic_load(&hook_counts[primitive][kind]);
}

#endif
