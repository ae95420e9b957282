/* pool.c — cl_pool: a fixed set of worker threads taking tasks from one FIFO queue.
 *
 * The queue is guarded by one mutex and one condition variable; a task is a future with the
 * function and argument stored in its producer data (future_internal.h), so submitting costs
 * one allocation. The pool holds its own reference to each future until the task is done,
 * which lets the submitter free its future at any time.
 *
 * Shutdown stops submissions and, if asked, cancels what is still queued; workers run what is
 * left and end when the queue is empty. Workers are joined exactly once, by the first thread
 * that waits for them; others wait for that join to finish. */
#include "conclab.h"
#include "future_internal.h"
#include "host_internal.h"
#include "loop_internal.h"
#include "observe.h"
#include "process_pool_internal.h"
#include "report.h"
#include "trace_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define POOL_MAGIC 0x504f4f4cu /* "POOL": a live pool */
#define DEAD_MAGIC 0xdead9001u /* written by cl_pool_free, so using it again is caught */

/* A task's producer data, stored behind its future. */
typedef struct task {
    void *(*fn)(void *);
    void *arg;
    cl_future *next; /* in the pool's queue */
} task;

struct cl_pool {
    unsigned magic;
    pthread_mutex_t mutex;    /* guards everything below */
    pthread_cond_t work;      /* a task was queued, or the pool shut down */
    pthread_cond_t joined_cond;
    cl_future *head, *tail;   /* queued tasks, oldest first */
    int queued;               /* how many; also read without the mutex by a spinning worker */
    int idle;                 /* workers blocked on work: submit signals only when there are */
    int spinning;             /* a worker is spinning for work: submit need not wake anyone */
    int shut_down;            /* also read without the mutex by a spinning worker */
    int joining, joined;      /* a thread is joining the workers / has joined them */
    int worker_count;
    pthread_t *workers;
};

/* The task running on this thread, and why it failed if it called cl_task_fail. */
static __thread cl_future *current_task;
static __thread char *current_failure;
/* The pool this thread works for, so a task cannot wait for its own pool to end. */
static __thread cl_pool *own_pool;

/* Kept instead of a copy when strdup fails, so the task still fails. */
static char out_of_memory[] = "out of memory";

static int valid(const cl_pool *p, const char *call) {
    if (!p) {
        cl_report(call, "pool is NULL (did cl_pool_new fail?)");
        return 0;
    }
    if (p->magic != POOL_MAGIC) {
        cl_report(call, "not a live cl_pool (freed already?)");
        return 0;
    }
    return 1;
}

static task *task_of(cl_future *f) {
    return cl__future_extra(f);
}

/* ---- the queue (callers hold p->mutex) ------------------------------------------------------ */

static void push(cl_pool *p, cl_future *f) {
    if (p->tail) task_of(p->tail)->next = f;
    else p->head = f;
    p->tail = f;
    __atomic_store_n(&p->queued, p->queued + 1, __ATOMIC_RELEASE);
}

static cl_future *pop(cl_pool *p) {
    cl_future *f = p->head;
    if (f) {
        p->head = task_of(f)->next;
        if (!p->head) p->tail = NULL;
        __atomic_store_n(&p->queued, p->queued - 1, __ATOMIC_RELEASE);
    }
    return f;
}

/* ---- workers -------------------------------------------------------------------------------- */

/* How long a worker that ran out of tasks keeps looking before it sleeps. A task submitted
 * meanwhile (the next step of a loop of submit-then-wait) starts without a wake-up, which is
 * most of a round trip's cost; one spinner at a time, so idle pools cost nothing. */
#define SPIN_SECONDS 50e-6

static int work_or_shutdown(void *pool) {
    cl_pool *p = pool;
    return __atomic_load_n(&p->queued, __ATOMIC_ACQUIRE) > 0 ||
           __atomic_load_n(&p->shut_down, __ATOMIC_ACQUIRE);
}

/* Pops a task (p->mutex held) and, if more are queued, wakes another idle worker: submitters
 * do not wake anyone while a worker spins, so a burst they queue meanwhile must be passed on
 * from worker to worker, or it would wait for the two that found it. */
static cl_future *take_task(cl_pool *p) {
    cl_future *f = pop(p);
    if (f && p->head && p->idle > 0) pthread_cond_signal(&p->work);
    return f;
}

/* Spins a little for a task unless another worker already does; NULL if none came. */
static cl_future *spin_for_task(cl_pool *p) {
    pthread_mutex_lock(&p->mutex);
    int spin = !p->spinning;
    p->spinning = 1;
    pthread_mutex_unlock(&p->mutex);
    if (!spin) return NULL;
    cl__spin_until(work_or_shutdown, p, SPIN_SECONDS);
    pthread_mutex_lock(&p->mutex);
    p->spinning = 0;
    cl_future *f = take_task(p);
    pthread_mutex_unlock(&p->mutex);
    return f;
}

/* Sleeps until there is a task (returned) or the pool is shut down with none left (NULL). */
static cl_future *sleep_for_task(cl_pool *p) {
    pthread_mutex_lock(&p->mutex);
    while (!p->head && !p->shut_down) {
        p->idle++;
        pthread_cond_wait(&p->work, &p->mutex);
        p->idle--;
    }
    cl_future *f = take_task(p);
    pthread_mutex_unlock(&p->mutex);
    return f;
}

/* The oldest queued task, waiting for one if need be; NULL once the pool is shut down and the
 * queue is empty. */
static cl_future *next_task(cl_pool *p) {
    pthread_mutex_lock(&p->mutex);
    cl_future *f = pop(p);
    int ending = !f && p->shut_down;
    pthread_mutex_unlock(&p->mutex);
    if (f || ending) return f;

    cl__observe(CL_EVENT_WAIT, "pool", p);
    cl__blocking_begin(); /* spinning too: a worker with nothing to do must not hold the GIL */
    f = spin_for_task(p);
    if (!f) f = sleep_for_task(p);
    cl__blocking_end();
    if (f) cl__observe(CL_EVENT_ACQUIRE, "pool", p);
    return f;
}

/* Runs one task, unless it was cancelled while queued, and completes its future. */
static void run_task(cl_future *f) {
    task *t = task_of(f);
    if (cl_future_set_running(f) == 1) {
        current_task = f;
        void *result = t->fn(t->arg);
        current_task = NULL;
        if (current_failure) {
            cl_future_set_error(f, current_failure);
            if (current_failure != out_of_memory) free(current_failure);
            current_failure = NULL;
        } else {
            cl_future_set_result(f, result);
        }
    }
    cl_future_free(f); /* the pool's reference */
}

static void *worker_main(void *opaque) {
    cl_pool *p = opaque;
    own_pool = p;
    cl__host_thread_started();
    cl__gil_thread_begin();
    cl__observe(CL_EVENT_THREAD_START, "pool", p);
    cl_future *f;
    while ((f = next_task(p))) {
        cl__trace_probe(CL__TR_POOL_RUN, "pool", p, 0);
        run_task(f);
        cl__trace_probe(CL__TR_POOL_DONE, "pool", p, 0);
    }
    cl__observe(CL_EVENT_THREAD_END, "pool", p);
    cl__gil_thread_end();
    return NULL;
}

int cl_task_fail(const char *message) {
    if (cl__loop_task_fail(message)) return 0; /* a coroutine task of an event loop */
    if (!current_task) {
        if (cl__process_task_fail(message)) return 0; /* a task in a process pool's worker */
        cl_report("cl_task_fail", "not inside a task (of a cl_pool, a cl_process_pool or an event loop)");
        return -1;
    }
    if (current_failure) return 0; /* the first reason stands, as the first raise would */
    current_failure = strdup(message ? message : "task failed");
    if (!current_failure) current_failure = out_of_memory;
    return 0;
}

/* ---- shutting down -------------------------------------------------------------------------- */

/* Marks p shut down and wakes its idle workers; returns the queued tasks if cancel_pending
 * (the caller cancels them), else NULL. */
static cl_future *stop_taking_tasks(cl_pool *p, int cancel_pending) {
    pthread_mutex_lock(&p->mutex);
    __atomic_store_n(&p->shut_down, 1, __ATOMIC_RELEASE);
    cl_future *queued = NULL;
    if (cancel_pending) {
        queued = p->head;
        p->head = p->tail = NULL;
        __atomic_store_n(&p->queued, 0, __ATOMIC_RELEASE);
    }
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mutex);
    return queued;
}

static void cancel_all(cl_future *f) {
    while (f) {
        cl_future *next = task_of(f)->next;
        cl_future_cancel(f);
        cl_future_free(f); /* the pool's reference */
        f = next;
    }
}

/* Waits until every worker has ended: the first caller joins them, later ones wait for it. */
static void join_workers(cl_pool *p) {
    pthread_mutex_lock(&p->mutex);
    int joiner = !p->joining;
    p->joining = 1;
    int done = p->joined;
    pthread_mutex_unlock(&p->mutex);
    if (done) return;

    cl__observe(CL_EVENT_WAIT, "pool", p);
    cl__blocking_begin();
    if (joiner) {
        for (int i = 0; i < p->worker_count; i++) pthread_join(p->workers[i], NULL);
        pthread_mutex_lock(&p->mutex);
        p->joined = 1;
        pthread_cond_broadcast(&p->joined_cond);
    } else {
        pthread_mutex_lock(&p->mutex);
        while (!p->joined) pthread_cond_wait(&p->joined_cond, &p->mutex);
    }
    pthread_mutex_unlock(&p->mutex);
    cl__blocking_end();
    cl__observe(CL_EVENT_ACQUIRE, "pool", p);
}

int cl_pool_shutdown(cl_pool *p, int wait, int cancel_pending) {
    if (!valid(p, "cl_pool_shutdown")) return -1;
    cancel_all(stop_taking_tasks(p, cancel_pending));
    if (!wait) return 0;
    if (own_pool == p) {
        cl_report("cl_pool_shutdown", "a task cannot wait for its own pool to end (it would wait "
                                      "for itself); shut down without waiting");
        return -1;
    }
    join_workers(p);
    return 0;
}

/* ---- creating, submitting, freeing ---------------------------------------------------------- */

static void release(cl_pool *p) {
    p->magic = DEAD_MAGIC;
    pthread_cond_destroy(&p->joined_cond);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->mutex);
    free(p->workers);
    free(p);
}

cl_pool *cl_pool_new(int workers) {
    if (workers < 0) {
        cl_report("cl_pool_new", "workers must be >= 0 (0: one per CPU), got %d", workers);
        return NULL;
    }
    if (workers == 0) workers = cl_cpu_count();
    cl_pool *p = calloc(1, sizeof *p);
    if (p) p->workers = calloc((size_t)workers, sizeof *p->workers);
    if (!p || !p->workers) {
        free(p);
        cl_report("cl_pool_new", "out of memory");
        return NULL;
    }
    pthread_mutex_init(&p->mutex, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->joined_cond, NULL);
    p->magic = POOL_MAGIC;
    for (int i = 0; i < workers; i++) {
        int err = pthread_create(&p->workers[i], NULL, worker_main, p);
        if (err) {
            cl_report("cl_pool_new", "cannot start worker %d of %d: %s", i + 1, workers,
                      strerror(err));
            stop_taking_tasks(p, 0);
            join_workers(p);
            release(p);
            return NULL;
        }
        p->worker_count = i + 1;
    }
    return p;
}

cl_future *cl_pool_submit(cl_pool *p, void *(*fn)(void *), void *arg) {
    if (!valid(p, "cl_pool_submit")) return NULL;
    if (!fn) {
        cl_report("cl_pool_submit", "fn is NULL");
        return NULL;
    }
    cl_future *f = cl__future_alloc(sizeof(task), 2); /* the caller's reference and the pool's */
    if (!f) {
        cl_report("cl_pool_submit", "out of memory");
        return NULL;
    }
    task *t = task_of(f);
    t->fn = fn;
    t->arg = arg;
    pthread_mutex_lock(&p->mutex);
    int refused = p->shut_down;
    if (!refused) {
        push(p, f);
        cl__trace_probe(CL__TR_POOL_QUEUED, "pool", p, 0);
        if (p->idle > 0 && !p->spinning) pthread_cond_signal(&p->work);
    }
    pthread_mutex_unlock(&p->mutex);
    if (refused) {
        cl_future_free(f);
        cl_future_free(f);
        cl_report("cl_pool_submit", "the pool is shut down; it takes no new tasks");
        return NULL;
    }
    return f;
}

void cl_pool_free(cl_pool *p) {
    if (!p) return; /* like free(NULL) */
    if (!valid(p, "cl_pool_free")) return;
    if (own_pool == p) {
        cl_report("cl_pool_free", "a task cannot free its own pool (it would wait for itself)");
        return;
    }
    stop_taking_tasks(p, 0);
    join_workers(p);
    release(p);
}

/* ---- map ------------------------------------------------------------------------------------ */

static int valid_map_arguments(cl_pool *p, void *(*fn)(void *), void **args, int n,
                               double timeout) {
    const char *call = "cl_pool_map";
    if (!valid(p, call)) return 0;
    if (!fn) cl_report(call, "fn is NULL");
    else if (n < 0) cl_report(call, "n must be >= 0, got %d", n);
    else if (n > 0 && !args) cl_report(call, "args is NULL");
    else if (!(timeout >= 0) && timeout != CL_FOREVER)
        cl_report(call, "timeout must be >= 0 seconds (CL_FOREVER waits forever), got %g", timeout);
    else return 1;
    return 0;
}

/* Says why task i did not give a result; the future is done or timed out. */
static void report_failure(int i, cl_future_status status, cl_future *f) {
    const char *call = "cl_pool_map";
    if (status == CL_FUTURE_TIMEOUT) cl_report(call, "task %d timed out", i);
    else if (status == CL_FUTURE_CANCELLED) cl_report(call, "task %d was cancelled", i);
    else cl_report(call, "task %d failed: %s", i, cl_future_error(f) ? cl_future_error(f) : "?");
}

/* The time left of timeout seconds that started at start (CL_FOREVER stays forever). */
static double time_left(double timeout, double start) {
    if (timeout == CL_FOREVER || timeout >= 1e9) return CL_FOREVER;
    double left = timeout - (cl_now() - start);
    return left > 0 ? left : 0;
}

int cl_pool_map(cl_pool *p, void *(*fn)(void *), void **args, int n, void **results,
                double timeout) {
    double start = cl_now();
    if (!valid_map_arguments(p, fn, args, n, timeout)) return -1;
    if (results) memset(results, 0, (size_t)n * sizeof *results);
    if (n == 0) return 0;
    cl_future **futs = malloc((size_t)n * sizeof *futs);
    if (!futs) {
        cl_report("cl_pool_map", "out of memory");
        return -1;
    }
    int submitted = 0, status = 0;
    while (submitted < n && (futs[submitted] = cl_pool_submit(p, fn, args[submitted])))
        submitted++;
    if (submitted < n) status = -1; /* cl_pool_submit said why */
    /* Results in order, as Python's map yields them; after the first failure the rest are
     * cancelled (those already running finish on their own). */
    for (int i = 0; i < submitted; i++) {
        if (status == 0) {
            void *value;
            cl_future_status s = cl_future_result(futs[i], time_left(timeout, start), &value);
            if (s == CL_FUTURE_OK) {
                if (results) results[i] = value;
            } else {
                report_failure(i, s, futs[i]);
                status = -1;
            }
        } else {
            cl_future_cancel(futs[i]);
        }
        cl_future_free(futs[i]);
    }
    free(futs);
    return status;
}
