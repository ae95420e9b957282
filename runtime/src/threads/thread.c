/* thread.c — cl_thread: a pthread plus what Python's threading adds to it: names, a live count,
 * join with a timeout, daemon (detached) threads, and errors instead of undefined behaviour when
 * a handle is joined twice, joined by itself, or joined after being detached.
 *
 * Every handle not yet joined lives in a registry (a short list under a guard), and a call looks
 * its handle up there before touching it: a handle that was joined or detached-and-ended is no
 * longer found, so misuse is reported instead of reading freed memory. */
#define _GNU_SOURCE /* pthread_setname_np */
#include "conclab.h"
#include "chaos_internal.h"
#include "host_internal.h"
#include "observe.h"
#include "report.h"
#include "trace_internal.h"
#include "thread_internal.h"
#include "wait.h"
#include "waits_internal.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NAME_CAP 64    /* our names, NUL included */
#define OS_NAME_CAP 16 /* what Linux keeps of a thread name, NUL included */

struct cl_thread {
    pthread_t pthread;
    void *(*fn)(void *);
    void *arg;
    uint32_t finished;      /* set once fn has returned or the thread exited; joiners park on it */
    int detached;           /* the rest is guarded by registry_guard */
    int joining;            /* a join is waiting for it: it cannot be joined or detached meanwhile */
    int orphaned;           /* a thread of the parent process, seen from a forked child */
    int ended_before_fork;  /* seen from a forked child: it ended in the parent, result kept */
    void *result;           /* what fn returned, for a child that cannot pthread_join it */
    cl_thread *prev, *next; /* the registry */
    char name[NAME_CAP];
    unsigned chaos_ordinal; /* its number in a chaos run (chaos_internal.h) */
};

static uint32_t registry_guard;
static cl_thread *registry;     /* started and not yet joined (detached ones until they end) */
static long running_threads;    /* fn not returned yet: cl_thread_count */
static long threads_named;      /* the N of "Thread-N" */
static long dummies_named;      /* the N of "Dummy-N" */

static __thread cl_thread *self;          /* the calling thread's handle, if the runtime started it */
static __thread char self_name[NAME_CAP]; /* its name, fetched or made up once */

/* ---- the registry (call with registry_guard held) ---------------------------------------- */

static void registry_add(cl_thread *t) {
    t->prev = NULL;
    t->next = registry;
    if (registry) registry->prev = t;
    registry = t;
}

static void registry_remove(cl_thread *t) {
    if (t->prev) t->prev->next = t->next;
    else registry = t->next;
    if (t->next) t->next->prev = t->prev;
}

static int registry_has(const cl_thread *t) {
    for (const cl_thread *r = registry; r; r = r->next)
        if (r == t) return 1;
    return 0;
}

/* Looks t up and reports why it cannot be used; 1 when it is a handle in use. */
static int registered(const cl_thread *t, const char *call) {
    if (!t) {
        cl_report(call, "thread is NULL (did cl_thread_start fail?)");
        return 0;
    }
    if (!registry_has(t)) {
        cl_report(call, "not a joinable thread: it was joined already, or detached, or it did "
                        "not come from cl_thread_start");
        return 0;
    }
    return 1;
}

/* ---- the thread's own side ---------------------------------------------------------------- */

static int is_finished(cl_thread *t) {
    return __atomic_load_n(&t->finished, __ATOMIC_ACQUIRE) != 0;
}

static void take_identity(cl_thread *t) {
    self = t;
    memcpy(self_name, t->name, NAME_CAP);
    char os_name[OS_NAME_CAP];
    memcpy(os_name, t->name, OS_NAME_CAP - 1); /* the kernel keeps 15 characters */
    os_name[OS_NAME_CAP - 1] = '\0';
    pthread_setname_np(pthread_self(), os_name);
}

/* Runs when fn returns, and also when the thread leaves by pthread_exit or cancellation. */
static void thread_finished(void *handle) {
    cl_thread *t = handle;
    cl__observe(CL_EVENT_THREAD_END, "thread", t);
    cl__guard_lock(&registry_guard);
    int detached = t->detached;
    if (detached) registry_remove(t);
    __atomic_store_n(&t->finished, 1, __ATOMIC_RELEASE);
    /* after `finished`: whoever sees the count without this thread also sees it not alive */
    __atomic_sub_fetch(&running_threads, 1, __ATOMIC_SEQ_CST);
    cl__guard_unlock(&registry_guard);
    /* A joinable handle stays valid until this thread has exited (join and detach reap it with
     * pthread_join first), so waking its joiners here is safe. A detached one is ours to free. */
    if (detached) free(t);
    else cl__unpark(&t->finished, INT_MAX);
    self = NULL;
    cl__gil_thread_end();
}

static void *thread_main(void *handle) {
    cl_thread *t = handle;
    void *result;
    cl__host_thread_started();
    cl__gil_thread_begin();
    take_identity(t);
    cl__chaos_thread_begin(t->chaos_ordinal);
    cl__observe(CL_EVENT_THREAD_START, "thread", t);
    pthread_cleanup_push(thread_finished, t);
    result = t->fn(t->arg);
    t->result = result; /* before `finished` (the cleanup below): a forked child reads it there */
    pthread_cleanup_pop(1);
    return result;
}

/* ---- starting ----------------------------------------------------------------------------- */

static cl_thread *start(const char *call, const char *name, void *(*fn)(void *), void *arg) {
    if (!fn) {
        cl_report(call, "fn is NULL");
        return NULL;
    }
    cl_thread *t = calloc(1, sizeof *t);
    if (!t) {
        cl_report(call, "out of memory");
        return NULL;
    }
    t->fn = fn;
    t->arg = arg;
    t->chaos_ordinal = cl__chaos_ordinal_next();
    if (name && name[0]) snprintf(t->name, NAME_CAP, "%s", name);
    else snprintf(t->name, NAME_CAP, "Thread-%ld", __atomic_add_fetch(&threads_named, 1, __ATOMIC_RELAXED));
    cl__guard_lock(&registry_guard);
    registry_add(t);
    cl__guard_unlock(&registry_guard);
    /* Counted before it exists, so a caller asking right after the start never misses it. */
    __atomic_add_fetch(&running_threads, 1, __ATOMIC_SEQ_CST);
    cl__trace_named(CL__TR_NAME, "thread", t, t->name); /* its lane's name, before it starts */
    int err = pthread_create(&t->pthread, NULL, thread_main, t);
    if (err) {
        __atomic_sub_fetch(&running_threads, 1, __ATOMIC_SEQ_CST);
        cl__guard_lock(&registry_guard);
        registry_remove(t);
        cl__guard_unlock(&registry_guard);
        free(t);
        cl_report(call, "cannot start a thread: %s", strerror(err));
        return NULL;
    }
    return t;
}

const char *cl__thread_name_of(const void *thread) { return ((const cl_thread *)thread)->name; }

cl_thread *cl_thread_start(void *(*fn)(void *), void *arg) {
    return start("cl_thread_start", NULL, fn, arg);
}

cl_thread *cl_thread_start_named(const char *name, void *(*fn)(void *), void *arg) {
    return start("cl_thread_start_named", name, fn, arg);
}

/* ---- joining and detaching ---------------------------------------------------------------- */

/* Claims t for a join: 1 if the caller may wait for it, else reports why not. */
static int claim_for_join(cl_thread *t, const char *call) {
    cl__guard_lock(&registry_guard);
    int ok = registered(t, call);
    if (ok && t->detached) {
        cl_report(call, "the thread is detached (a daemon): it cannot be joined");
        ok = 0;
    } else if (ok && t == self) {
        cl_report(call, "a thread cannot join itself: it would wait forever");
        ok = 0;
    } else if (ok && t->joining) {
        cl_report(call, "another thread is already joining this thread");
        ok = 0;
    }
    if (ok) t->joining = 1;
    cl__guard_unlock(&registry_guard);
    return ok;
}

/* Collects a finished thread's result into *result and frees its handle; 0 if there was no
 * result to collect (reported). The pthread may still be in its last steps, so the wait for it
 * counts as blocking. */
static int reap(cl_thread *t, void **result, const char *call) {
    int ok = 0;
    if (t->orphaned) {
        cl_report(call, "the thread belonged to the parent process: it did not survive fork()");
    } else if (t->ended_before_fork) {
        /* glibc reclaims the parent's thread stacks in a child: pthread_join there would read
         * freed memory (a notebook's next cell runs in a fork and joins the last cell's threads) */
        *result = t->result;
        ok = 1;
    } else {
        cl__blocking_begin();
        int err = pthread_join(t->pthread, result);
        cl__blocking_end();
        if (err) cl_report(call, "%s", strerror(err));
        ok = !err;
    }
    cl__guard_lock(&registry_guard);
    registry_remove(t);
    cl__guard_unlock(&registry_guard);
    free(t);
    return ok;
}

/* Waits for t until d; 1 when t was joined (result stored), 0 on timeout or misuse. */
static int join_until(cl_thread *t, const cl__deadline *d, void **result, const char *call) {
    if (!claim_for_join(t, call)) return 0;
    if (!is_finished(t)) {
        cl__observe(CL_EVENT_WAIT, "thread", t);
        cl__blocking_begin();
        while (!is_finished(t) && cl__park(&t->finished, 0, d) == 0)
            ;
        cl__blocking_end();
        if (!is_finished(t)) {
            cl__observe(CL_EVENT_TIMEOUT, "thread", t);
            cl__guard_lock(&registry_guard);
            t->joining = 0;
            cl__guard_unlock(&registry_guard);
            return 0;
        }
    }
    cl__observe(CL_EVENT_ACQUIRE, "thread", t);
    void *r = NULL;
    int ok = reap(t, &r, call);
    if (ok && result) *result = r;
    return ok;
}

void *cl_thread_join(cl_thread *t) {
    cl__deadline forever;
    cl__deadline_forever(&forever);
    void *result = NULL;
    join_until(t, &forever, &result, "cl_thread_join");
    return result;
}

int cl_thread_join_timeout(cl_thread *t, double seconds, void **result) {
    cl__deadline d;
    if (!cl__deadline_init(&d, seconds, "cl_thread_join_timeout")) return 0;
    return join_until(t, &d, result, "cl_thread_join_timeout");
}

int cl_thread_detach(cl_thread *t) {
    const char *call = "cl_thread_detach";
    cl__guard_lock(&registry_guard);
    int ok = registered(t, call);
    if (ok && t->detached) {
        cl_report(call, "the thread is detached already");
        ok = 0;
    } else if (ok && t->joining) {
        cl_report(call, "another thread is joining this thread");
        ok = 0;
    }
    int ended = ok && is_finished(t);
    if (ok && !ended) {
        t->detached = 1; /* from here on the thread frees t when it ends */
        pthread_detach(t->pthread);
    }
    if (ended) t->joining = 1; /* ours to reap: keep others off it */
    cl__guard_unlock(&registry_guard);
    void *unused;
    if (ended) reap(t, &unused, call);
    return ok;
}

int cl_thread_is_alive(cl_thread *t) {
    cl__guard_lock(&registry_guard);
    int alive = registered(t, "cl_thread_is_alive") && !is_finished(t);
    cl__guard_unlock(&registry_guard);
    return alive;
}

/* ---- the calling thread ------------------------------------------------------------------- */

int cl_thread_count(void) {
    return (int)__atomic_load_n(&running_threads, __ATOMIC_SEQ_CST);
}

__thread long cl__self_tid;

long cl__fetch_self_tid(void) {
    cl__self_tid = (long)syscall(SYS_gettid);
    return cl__self_tid;
}

long cl_thread_id(void) {
    return cl__self_id();
}

const char *cl_thread_name(void) {
    if (!self_name[0]) {
        if (cl_thread_id() == (long)getpid()) snprintf(self_name, NAME_CAP, "main");
        else snprintf(self_name, NAME_CAP, "Dummy-%ld", __atomic_add_fetch(&dummies_named, 1, __ATOMIC_RELAXED));
    }
    return self_name;
}

void cl__thread_name_self(const char *name) {
    snprintf(self_name, NAME_CAP, "%s", name);
}

/* ---- fork ---------------------------------------------------------------------------------- */

/* In a forked child only the forking thread exists. The others' handles must not be waited on
 * (they would never finish), and the cached id belongs to the parent's thread. */
static void after_fork_in_child(void) {
    cl__self_tid = 0;
    registry_guard = 0;
    long running = 0;
    cl_thread *next;
    for (cl_thread *t = registry; t; t = next) {
        next = t->next;
        if (t == self) {
            running += !t->finished;
        } else if (t->detached) {
            registry_remove(t);
            free(t);
        } else if (!t->finished) {
            t->orphaned = 1;
            t->finished = 1;
        } else {
            t->ended_before_fork = 1;
        }
    }
    running_threads = running;
}

__attribute__((constructor)) static void watch_forks(void) {
    pthread_atfork(NULL, NULL, after_fork_in_child);
}
