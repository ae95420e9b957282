/* future.c — cl_future: one mutex and one condition variable per future, a state that only
 * moves forward, and two lists taken out when the future becomes done: its done callbacks and
 * its watchers (threads in cl_futures_wait or cl_as_completed waiting on many futures at once,
 * which each future tells when it is done, instead of every completion waking every waiter).
 *
 * Once a future is done its fields never change again, so queries read the state with one
 * acquire load and no lock: everything written before the state was set is visible after it.
 * Lock order: a future's mutex, then a watcher's mutex; never the other way round. */
#include "conclab.h"
#include "future_internal.h"
#include "report.h"
#include "wait.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* In a spin loop: tells the CPU we are waiting, so the other hyperthread gets the core. */
#if defined(__x86_64__) || defined(__i386__)
#define cpu_relax() __builtin_ia32_pause()
#else
#define cpu_relax() ((void)0)
#endif

#define FUTURE_MAGIC 0x46555452u   /* "FUTR": a live future */
#define ITERATOR_MAGIC 0x41534350u /* "ASCP": a live as_completed iterator */
#define DEAD_MAGIC 0xdeadf00du     /* written when freed, so using it again is caught */

/* Timeouts from here on wait forever: far beyond any lab, and safe to convert to time_t. */
#define FOREVER_FROM 1e9

enum state { PENDING, RUNNING, CANCELLED, FINISHED };

typedef struct callback {
    void (*fn)(cl_future *f, void *arg);
    void *arg;
    struct callback *next;
} callback;

/* A thread waiting on several futures: each one it watches records itself in done[] when it
 * becomes done, so the list is in completion order. */
typedef struct watcher {
    pthread_mutex_t mutex;
    pthread_cond_t changed;
    cl_future **done; /* room for every watched future */
    int done_count;
    int failed_count; /* how many of them finished with an error */
} watcher;

/* One watcher's entry in one future's list; owned by the watcher. */
typedef struct watch_link {
    watcher *w;
    struct watch_link *next;
} watch_link;

struct cl_future {
    unsigned magic;
    int refs;
    int state;              /* enum state: written under mutex, read anywhere with atomics */
    pthread_mutex_t mutex;
    pthread_cond_t done;    /* broadcast when the future becomes done */
    void *result;
    size_t result_size;     /* the length of a result set as bytes */
    int owns_result;        /* the result is bytes this future copied or adopted: free it */
    char *error;            /* set: finished with this error */
    callback *callbacks, *last_callback;
    watch_link *watchers;
    const cl__future_ops *ops; /* a producer's own cancel / last-reference behaviour */
    void *home;             /* the event loop that completes it, NULL: completed elsewhere */
    int retrieved;          /* its error was read (atomic: any thread may read it) */
};

struct cl_as_completed {
    unsigned magic;
    int n;                  /* distinct futures watched; the iterator holds a reference to each */
    int returned;           /* how many cl_as_completed_next handed out */
    cl_future **futs;
    watch_link *links;
    watcher w;
    double deadline_timeout;
    struct timespec deadline;
};

/* Kept instead of a copy when strdup fails, so the future still finishes with an error. */
static char out_of_memory[] = "out of memory";

/* ---- time ----------------------------------------------------------------------------------- */

static pthread_condattr_t monotonic_attr;
static pthread_once_t monotonic_once = PTHREAD_ONCE_INIT;

static void make_monotonic_attr(void) {
    pthread_condattr_init(&monotonic_attr);
    pthread_condattr_setclock(&monotonic_attr, CLOCK_MONOTONIC);
}

/* Condition variables time out by the monotonic clock: setting the wall clock moves no timeout. */
static void cond_init_monotonic(pthread_cond_t *c) {
    pthread_once(&monotonic_once, make_monotonic_attr);
    pthread_cond_init(c, &monotonic_attr);
}

static int is_forever(double timeout) {
    return timeout == CL_FOREVER || timeout >= FOREVER_FROM;
}

static int valid_timeout(double timeout, const char *call) {
    if (timeout >= 0 || timeout == CL_FOREVER) return 1; /* NaN fails the comparison */
    cl_report(call, "timeout must be >= 0 seconds (CL_FOREVER waits forever), got %g", timeout);
    return 0;
}


/* Waits on c until signalled or past the deadline (NULL: none); returns 0 once it has passed. */
static int cond_wait_until(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *deadline) {
    if (!deadline) return pthread_cond_wait(c, m), 1;
    return pthread_cond_timedwait(c, m, deadline) != ETIMEDOUT;
}

/* ---- spinning before sleeping ------------------------------------------------------------- */

int cl__spin_until(int (*ready)(void *), void *arg, double seconds) {
    double until = cl_now() + seconds;
    for (int i = 0;; i++) {
        if (ready(arg)) return 1;
        if (i < 64) {
            cpu_relax();
            continue;
        }
        if (cl_now() > until) return 0;
        sched_yield(); /* sharing a core with the thread we wait for: let it run */
    }
}

/* ---- states --------------------------------------------------------------------------------- */

static int state_of(cl_future *f) {
    return __atomic_load_n(&f->state, __ATOMIC_ACQUIRE);
}

static int is_done_state(int state) {
    return state == CANCELLED || state == FINISHED;
}

static int has_failed(cl_future *f) {
    return state_of(f) == FINISHED && f->error != NULL;
}

static int valid(const cl_future *f, const char *call) {
    if (!f) {
        cl_report(call, "future is NULL (did the call that made it fail?)");
        return 0;
    }
    if (f->magic != FUTURE_MAGIC) {
        cl_report(call, "not a live cl_future (freed already?)");
        return 0;
    }
    return 1;
}

/* ---- watchers ------------------------------------------------------------------------------- */

static int watcher_init(watcher *w, int capacity) {
    w->done = malloc((size_t)(capacity > 0 ? capacity : 1) * sizeof *w->done);
    if (!w->done) return -1;
    pthread_mutex_init(&w->mutex, NULL);
    cond_init_monotonic(&w->changed);
    w->done_count = w->failed_count = 0;
    return 0;
}

static void watcher_destroy(watcher *w) {
    pthread_cond_destroy(&w->changed);
    pthread_mutex_destroy(&w->mutex);
    free(w->done);
}

/* Called with f's mutex held, once f is done. */
static void watcher_record(watcher *w, cl_future *f) {
    pthread_mutex_lock(&w->mutex);
    w->done[w->done_count++] = f;
    if (f->error) w->failed_count++;
    pthread_cond_signal(&w->changed);
    pthread_mutex_unlock(&w->mutex);
}

/* Starts watching futs: those already done are recorded now, the others when they get done. */
static void watch_begin(watcher *w, cl_future **futs, int n, watch_link *links) {
    for (int i = 0; i < n; i++) {
        cl_future *f = futs[i];
        pthread_mutex_lock(&f->mutex);
        if (is_done_state(f->state)) {
            watcher_record(w, f);
        } else {
            links[i].w = w;
            links[i].next = f->watchers;
            f->watchers = &links[i];
        }
        pthread_mutex_unlock(&f->mutex);
    }
}

/* Stops watching: afterwards no future touches w, so it may be freed. */
static void watch_end(watcher *w, cl_future **futs, int n) {
    for (int i = 0; i < n; i++) {
        cl_future *f = futs[i];
        pthread_mutex_lock(&f->mutex);
        for (watch_link **p = &f->watchers; *p; p = &(*p)->next) {
            if ((*p)->w == w) {
                *p = (*p)->next;
                break;
            }
        }
        pthread_mutex_unlock(&f->mutex);
    }
}

static int watcher_reached(watcher *w, int want_done, int want_failed) {
    return w->done_count >= want_done || w->failed_count >= want_failed;
}

/* Waits until want_done futures are done or want_failed have failed, or the deadline (NULL:
 * none) passes; returns whether it got there. Blocks only when it must, and then lets the
 * emulated GIL go and tells the observer, on behalf of object. */
static int watcher_wait(watcher *w, int want_done, int want_failed, const struct timespec *deadline,
                        int poll, const void *object) {
    pthread_mutex_lock(&w->mutex);
    int reached = watcher_reached(w, want_done, want_failed);
    pthread_mutex_unlock(&w->mutex);
    if (reached || poll) return reached;

    cl__observe(CL_EVENT_WAIT, "future", object);
    cl__blocking_begin();
    pthread_mutex_lock(&w->mutex);
    int in_time = 1;
    while (!(reached = watcher_reached(w, want_done, want_failed)) && in_time)
        in_time = cond_wait_until(&w->changed, &w->mutex, deadline);
    pthread_mutex_unlock(&w->mutex);
    cl__blocking_end();
    cl__observe(reached ? CL_EVENT_ACQUIRE : CL_EVENT_TIMEOUT, "future", object);
    return reached;
}

/* ---- creating and freeing ------------------------------------------------------------------- */

/* Where producer data starts: after the future, aligned for any type. */
static size_t extra_offset(void) {
    size_t align = alignof(max_align_t);
    return (sizeof(struct cl_future) + align - 1) / align * align;
}

cl_future *cl__future_alloc(size_t extra, int refs) {
    cl_future *f = calloc(1, extra_offset() + extra);
    if (!f) return NULL;
    pthread_mutex_init(&f->mutex, NULL);
    cond_init_monotonic(&f->done);
    f->refs = refs;
    f->state = PENDING;
    f->magic = FUTURE_MAGIC;
    return f;
}

void *cl__future_extra(cl_future *f) {
    return (char *)f + extra_offset();
}

cl_future *cl_future_new(void) {
    cl_future *f = cl__future_alloc(0, 1);
    if (!f) cl_report("cl_future_new", "out of memory");
    else f->home = cl__loop_running_here(); /* made inside a loop: that loop completes it */
    return f;
}

int cl__future_check(const cl_future *f, const char *call) { return valid(f, call); }

void cl__future_set_ops(cl_future *f, const cl__future_ops *ops) { f->ops = ops; }

const cl__future_ops *cl__future_ops_of(const cl_future *f) { return f->ops; }

void *cl__future_home(const cl_future *f) { return f->home; }

void cl__future_set_home(cl_future *f, void *loop) { f->home = loop; }

void cl__future_mark_retrieved(cl_future *f) { __atomic_store_n(&f->retrieved, 1, __ATOMIC_RELAXED); }

int cl__future_retrieved(const cl_future *f) { return __atomic_load_n(&f->retrieved, __ATOMIC_RELAXED); }

cl_future *cl_future_ref(cl_future *f) {
    if (!valid(f, "cl_future_ref")) return NULL;
    __atomic_add_fetch(&f->refs, 1, __ATOMIC_RELAXED);
    return f;
}

static void destroy(cl_future *f) {
    f->magic = DEAD_MAGIC;
    for (callback *cb = f->callbacks, *next; cb; cb = next) { /* it never got done */
        next = cb->next;
        free(cb);
    }
    if (f->error != out_of_memory) free(f->error);
    if (f->owns_result) free(f->result);
    pthread_cond_destroy(&f->done);
    pthread_mutex_destroy(&f->mutex);
    free(f);
}

void cl_future_free(cl_future *f) {
    if (!f) return; /* like free(NULL) */
    if (!valid(f, "cl_future_free")) return;
    int left = __atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL);
    if (left == 0 && f->ops && f->ops->last_ref) f->ops->last_ref(f);
    if (left == 0) destroy(f);
    else if (left < 0) cl_report("cl_future_free", "freed more often than it was referenced");
}

/* ---- completing ----------------------------------------------------------------------------- */

/* Moves f (locked, not done) to its final state and wakes everyone waiting for it; returns the
 * callbacks, to be run once the mutex is released. */
static callback *settle_locked(cl_future *f, int state) {
    __atomic_store_n(&f->state, state, __ATOMIC_RELEASE);
    for (watch_link *l = f->watchers; l; l = l->next) watcher_record(l->w, f);
    f->watchers = NULL;
    pthread_cond_broadcast(&f->done);
    callback *due = f->callbacks;
    f->callbacks = f->last_callback = NULL;
    return due;
}

static void run_callbacks(cl_future *f, callback *cb) {
    while (cb) {
        callback *next = cb->next;
        cb->fn(f, cb->arg);
        free(cb);
        cb = next;
    }
}

/* What a future finishes with: a result (bytes of size it owns when owned) or an error. */
typedef struct outcome {
    void *result;
    size_t size;
    int owned;
    char *error; /* owned */
} outcome;

/* Finishes f with its outcome; a cancelled future quietly stays cancelled, because a cancel
 * may legitimately win the race against a producer that has no running step. What f would
 * have owned is freed when it cannot take it. */
static int finish(cl_future *f, outcome o, const char *call) {
    void *result = o.result;
    char *error = o.error;
    pthread_mutex_lock(&f->mutex);
    int state = f->state;
    if (is_done_state(state)) {
        pthread_mutex_unlock(&f->mutex);
        if (error != out_of_memory) free(error);
        if (o.owned) free(result);
        if (state == FINISHED)
            cl_report(call, "the future is already finished (it completes once)");
        return -1;
    }
    f->result = result;
    f->result_size = o.size;
    f->owns_result = o.owned;
    f->error = error;
    callback *due = settle_locked(f, FINISHED);
    pthread_mutex_unlock(&f->mutex);
    cl__observe(CL_EVENT_RELEASE, "future", f);
    run_callbacks(f, due);
    return 0;
}

int cl_future_set_result(cl_future *f, void *value) {
    if (!valid(f, "cl_future_set_result")) return -1;
    outcome o = {value, 0, 0, NULL};
    return finish(f, o, "cl_future_set_result");
}

int cl__future_adopt_bytes(cl_future *f, void *data, size_t size) {
    outcome o = {data, size, 1, NULL};
    return finish(f, o, "cl_future_set_bytes");
}

int cl_future_set_bytes(cl_future *f, const void *data, size_t size) {
    if (!valid(f, "cl_future_set_bytes")) return -1;
    if (!data && size > 0) {
        cl_report("cl_future_set_bytes", "data is NULL but size is %zu", size);
        return -1;
    }
    void *copy = malloc(size ? size : 1); /* never NULL for a result that was set */
    if (!copy) {
        cl_report("cl_future_set_bytes", "out of memory for a result of %zu bytes", size);
        return -1;
    }
    if (size) memcpy(copy, data, size);
    return cl__future_adopt_bytes(f, copy, size);
}

int cl_future_set_error(cl_future *f, const char *message) {
    if (!valid(f, "cl_future_set_error")) return -1;
    char *copy = strdup(message ? message : "error");
    outcome o = {NULL, 0, 0, copy ? copy : out_of_memory};
    return finish(f, o, "cl_future_set_error");
}

int cl_future_set_running(cl_future *f) {
    if (!valid(f, "cl_future_set_running")) return -1;
    pthread_mutex_lock(&f->mutex);
    int state = f->state;
    if (state == PENDING) __atomic_store_n(&f->state, RUNNING, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&f->mutex);
    switch (state) {
    case PENDING: return 1;
    case CANCELLED: return 0;
    case RUNNING:
        cl_report("cl_future_set_running", "the future is already running");
        return -1;
    default:
        cl_report("cl_future_set_running", "the future is already finished");
        return -1;
    }
}

int cl_future_cancel(cl_future *f) {
    if (!valid(f, "cl_future_cancel")) return 0;
    if (f->ops && f->ops->cancel) return f->ops->cancel(f);
    return cl__future_cancel_now(f);
}

int cl__future_cancel_now(cl_future *f) {
    pthread_mutex_lock(&f->mutex);
    int state = f->state;
    if (state != PENDING) {
        pthread_mutex_unlock(&f->mutex);
        return state == CANCELLED;
    }
    callback *due = settle_locked(f, CANCELLED);
    pthread_mutex_unlock(&f->mutex);
    cl__observe(CL_EVENT_RELEASE, "future", f);
    run_callbacks(f, due);
    return 1;
}

int cl_future_add_done_callback(cl_future *f, void (*fn)(cl_future *f, void *arg), void *arg) {
    if (!valid(f, "cl_future_add_done_callback")) return -1;
    if (!fn) {
        cl_report("cl_future_add_done_callback", "fn is NULL");
        return -1;
    }
    callback *cb = malloc(sizeof *cb);
    if (!cb) {
        cl_report("cl_future_add_done_callback", "out of memory");
        return -1;
    }
    *cb = (callback){fn, arg, NULL};
    pthread_mutex_lock(&f->mutex);
    if (!is_done_state(f->state)) {
        if (f->last_callback) f->last_callback->next = cb;
        else f->callbacks = cb;
        f->last_callback = cb;
        pthread_mutex_unlock(&f->mutex);
        return 0;
    }
    pthread_mutex_unlock(&f->mutex);
    run_callbacks(f, cb);
    return 0;
}

int cl__future_failed(cl_future *f) { return has_failed(f); }

void *cl__future_take_done_callback(cl_future *f, void (*fn)(cl_future *f, void *arg), const void *key) {
    pthread_mutex_lock(&f->mutex);
    callback *prev = NULL, *cb = f->callbacks;
    while (cb && !(cb->fn == fn && *(void *const *)cb->arg == key)) {
        prev = cb;
        cb = cb->next;
    }
    if (cb) {
        if (prev) prev->next = cb->next;
        else f->callbacks = cb->next;
        if (f->last_callback == cb) f->last_callback = prev;
    }
    pthread_mutex_unlock(&f->mutex);
    void *arg = cb ? cb->arg : NULL;
    free(cb);
    return arg;
}

/* ---- queries and results -------------------------------------------------------------------- */

int cl_future_done(cl_future *f) {
    return valid(f, "cl_future_done") && is_done_state(state_of(f));
}

int cl_future_running(cl_future *f) {
    return valid(f, "cl_future_running") && state_of(f) == RUNNING;
}

int cl_future_cancelled(cl_future *f) {
    return valid(f, "cl_future_cancelled") && state_of(f) == CANCELLED;
}

int cl_future_succeeded(cl_future *f) {
    if (!valid(f, "cl_future_succeeded")) return -1;
    int state = state_of(f);
    if (!is_done_state(state)) {
        cl_report("cl_future_succeeded", "the future is not done yet (Python: ValueError); "
                                         "wait for it first");
        return -1;
    }
    return state == FINISHED && !f->error;
}

size_t cl_future_result_size(cl_future *f) {
    if (!valid(f, "cl_future_result_size")) return 0;
    return state_of(f) == FINISHED && !f->error ? f->result_size : 0;
}

const char *cl_future_error(cl_future *f) {
    if (!valid(f, "cl_future_error")) return NULL;
    if (has_failed(f)) cl__future_mark_retrieved(f);
    return has_failed(f) ? f->error : NULL;
}

/* How long a waiter watches the state before it sleeps. Short tasks (a pool round trip) then
 * finish without the waiter having to be woken, which would cost more than the task. */
#define SPIN_SECONDS 20e-6

static int is_done_now(void *f) {
    return is_done_state(state_of(f));
}

/* Blocks until f is done or the deadline (NULL: none) passes; returns whether f is done. */
static int wait_until_done(cl_future *f, double timeout, const struct timespec *deadline) {
    if (cl__spin_until(is_done_now, f, timeout < SPIN_SECONDS ? timeout : SPIN_SECONDS)) return 1;
    pthread_mutex_lock(&f->mutex);
    int in_time = 1;
    while (!is_done_state(f->state) && in_time)
        in_time = cond_wait_until(&f->done, &f->mutex, deadline);
    int done = is_done_state(f->state);
    pthread_mutex_unlock(&f->mutex);
    return done;
}

cl_future_status cl_future_result(cl_future *f, double timeout, void **value) {
    if (value) *value = NULL;
    if (!valid(f, "cl_future_result") || !valid_timeout(timeout, "cl_future_result"))
        return CL_FUTURE_ERROR;
    if (!is_done_state(state_of(f))) {
        if (timeout == 0) return CL_FUTURE_TIMEOUT;
        if (f->home && f->home == cl__loop_running_here()) {
            /* Python raises InvalidStateError; waiting would stop the loop that completes f. */
            cl_report("cl_future_result", "the future belongs to the event loop running on this "
                                          "thread: waiting would block that loop forever; use cl_await");
            return CL_FUTURE_ERROR;
        }
        struct timespec at;
        if (!is_forever(timeout)) at = cl__monotonic_after(timeout);
        cl__observe(CL_EVENT_WAIT, "future", f);
        cl__blocking_begin();
        int done = wait_until_done(f, timeout, is_forever(timeout) ? NULL : &at);
        cl__blocking_end();
        if (!done) {
            cl__observe(CL_EVENT_TIMEOUT, "future", f);
            return CL_FUTURE_TIMEOUT;
        }
    }
    cl__observe(CL_EVENT_ACQUIRE, "future", f);
    if (state_of(f) == CANCELLED) return CL_FUTURE_CANCELLED;
    if (f->error) {
        cl__future_mark_retrieved(f);
        return CL_FUTURE_ERROR;
    }
    if (value) *value = f->result;
    return CL_FUTURE_OK;
}

/* ---- many futures --------------------------------------------------------------------------- */

/* Checks an array argument: n >= 0, futs there when n > 0, every future live. */
static int valid_array(cl_future **futs, int n, const char *call) {
    if (n < 0) {
        cl_report(call, "n must be >= 0, got %d", n);
        return 0;
    }
    if (n > 0 && !futs) {
        cl_report(call, "futs is NULL");
        return 0;
    }
    for (int i = 0; i < n; i++) {
        if (!valid(futs[i], call)) return 0;
    }
    return 1;
}

static int count_done(cl_future **futs, int n, int *failed) {
    int done = 0;
    *failed = 0;
    for (int i = 0; i < n; i++) {
        done += is_done_state(state_of(futs[i]));
        *failed += has_failed(futs[i]);
    }
    return done;
}

int cl_futures_wait(cl_future **futs, int n, cl_return_when return_when, double timeout) {
    const char *call = "cl_futures_wait";
    if (!valid_array(futs, n, call) || !valid_timeout(timeout, call)) return -1;
    if (return_when != CL_FIRST_COMPLETED && return_when != CL_FIRST_EXCEPTION &&
        return_when != CL_ALL_COMPLETED) {
        cl_report(call, "return_when must be CL_FIRST_COMPLETED, CL_FIRST_EXCEPTION or "
                        "CL_ALL_COMPLETED, got %d", (int)return_when);
        return -1;
    }
    int want_done = return_when == CL_FIRST_COMPLETED ? (n > 0) : n;
    int want_failed = return_when == CL_FIRST_EXCEPTION ? 1 : INT_MAX;
    int failed, done = count_done(futs, n, &failed);
    if (done >= want_done || failed >= want_failed || timeout == 0) return done;

    watcher w;
    watch_link *links = calloc((size_t)n, sizeof *links);
    if (!links || watcher_init(&w, n) != 0) {
        free(links);
        cl_report(call, "out of memory");
        return -1;
    }
    struct timespec at;
    if (!is_forever(timeout)) at = cl__monotonic_after(timeout);
    watch_begin(&w, futs, n, links);
    watcher_wait(&w, want_done, want_failed, is_forever(timeout) ? NULL : &at, 0, futs);
    watch_end(&w, futs, n);
    watcher_destroy(&w);
    free(links);
    return count_done(futs, n, &failed);
}

/* ---- as_completed --------------------------------------------------------------------------- */

typedef struct indexed {
    cl_future *f;
    int index;
} indexed;

static int by_address_then_index(const void *a, const void *b) {
    const indexed *x = a, *y = b;
    uintptr_t fx = (uintptr_t)x->f, fy = (uintptr_t)y->f;
    if (fx != fy) return fx < fy ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

static int by_index(const void *a, const void *b) {
    const indexed *x = a, *y = b;
    return (x->index > y->index) - (x->index < y->index);
}

/* Copies futs to out without repeats, first occurrences in their order (Python works on a set
 * too: a future listed twice is returned once). Returns how many, or -1 when out of memory. */
static int unique_futures(cl_future **futs, int n, cl_future **out) {
    indexed *all = malloc((size_t)(n > 0 ? n : 1) * sizeof *all);
    if (!all) return -1;
    for (int i = 0; i < n; i++) all[i] = (indexed){futs[i], i};
    qsort(all, (size_t)n, sizeof *all, by_address_then_index);
    int kept = 0;
    for (int i = 0; i < n; i++) {
        if (i == 0 || all[i].f != all[i - 1].f) all[kept++] = all[i];
    }
    qsort(all, (size_t)kept, sizeof *all, by_index);
    for (int i = 0; i < kept; i++) out[i] = all[i].f;
    free(all);
    return kept;
}

static void iterator_release(cl_as_completed *it) {
    free(it->links);
    free(it->futs);
    free(it);
}

/* An iterator over the distinct futures of futs, not yet watching them; NULL when out of memory. */
static cl_as_completed *iterator_alloc(cl_future **futs, int n) {
    size_t room = (size_t)(n > 0 ? n : 1);
    cl_as_completed *it = calloc(1, sizeof *it);
    if (!it) return NULL;
    it->futs = malloc(room * sizeof *it->futs);
    it->links = calloc(room, sizeof *it->links);
    if (it->futs && it->links) it->n = unique_futures(futs, n, it->futs);
    if (!it->futs || !it->links || it->n < 0 || watcher_init(&it->w, it->n) != 0) {
        iterator_release(it);
        return NULL;
    }
    return it;
}

cl_as_completed *cl_as_completed_new(cl_future **futs, int n, double timeout) {
    const char *call = "cl_as_completed_new";
    if (!valid_array(futs, n, call) || !valid_timeout(timeout, call)) return NULL;
    cl_as_completed *it = iterator_alloc(futs, n);
    if (!it) {
        cl_report(call, "out of memory");
        return NULL;
    }
    for (int i = 0; i < it->n; i++) cl_future_ref(it->futs[i]);
    it->deadline_timeout = timeout;
    if (!is_forever(timeout)) it->deadline = cl__monotonic_after(timeout);
    it->magic = ITERATOR_MAGIC;
    watch_begin(&it->w, it->futs, it->n, it->links);
    return it;
}

static int valid_iterator(const cl_as_completed *it, const char *call) {
    if (!it) {
        cl_report(call, "iterator is NULL (did cl_as_completed_new fail?)");
        return 0;
    }
    if (it->magic != ITERATOR_MAGIC) {
        cl_report(call, "not a live cl_as_completed iterator (freed already?)");
        return 0;
    }
    return 1;
}

cl_future *cl_as_completed_next(cl_as_completed *it) {
    if (!valid_iterator(it, "cl_as_completed_next")) return NULL;
    if (it->returned == it->n) return NULL;
    const struct timespec *deadline = is_forever(it->deadline_timeout) ? NULL : &it->deadline;
    if (!watcher_wait(&it->w, it->returned + 1, INT_MAX, deadline, it->deadline_timeout == 0, it))
        return NULL;
    /* Entries below done_count were written before it was raised, under the watcher's mutex
     * that watcher_wait took to read it. */
    return it->w.done[it->returned++];
}

int cl_as_completed_remaining(cl_as_completed *it) {
    if (!valid_iterator(it, "cl_as_completed_remaining")) return -1;
    return it->n - it->returned;
}

void cl_as_completed_free(cl_as_completed *it) {
    if (!it) return; /* like free(NULL) */
    if (!valid_iterator(it, "cl_as_completed_free")) return;
    it->magic = DEAD_MAGIC;
    watch_end(&it->w, it->futs, it->n);
    watcher_destroy(&it->w);
    for (int i = 0; i < it->n; i++) cl_future_free(it->futs[i]);
    iterator_release(it);
}
