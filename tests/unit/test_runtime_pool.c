/* test_runtime_pool.c — cl_pool from the outside: results, ordering, concurrency, waiting on
 * many, shutdown with and without cancelling, task failures, lifetimes and misuse. Also
 * compiled by tcc (test_runtime_pool_tcc), the way notebook cells use the pool. */
#include <conclab.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture_stderr.h"
#include "check.h"

#ifdef __TINYC__
#define SUITE "test_runtime_pool (tcc)"
#else
#define SUITE "test_runtime_pool"
#endif

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define USE_AFTER_FREE_CHECKS 0 /* sanitizers rightly flag the read that detects a use after free */
#else
#define USE_AFTER_FREE_CHECKS 1
#endif

/* ---- tasks ---------------------------------------------------------------------------------- */

/* A gate tasks can wait behind, so a test decides when they finish. Atomics and sleeps only:
 * this suite tests the pool, not the synchronization primitives. */
static int gate_open;

static void gate_close(void) { cl_atomic_int_store(&gate_open, 0); }
static void gate_release(void) { cl_atomic_int_store(&gate_open, 1); }

static void *wait_at_gate(void *arg) {
    while (!cl_atomic_int_load(&gate_open)) cl_sleep(0.001);
    return arg;
}

static void *square(void *arg) {
    long x = (long)arg;
    return (void *)(x * x);
}

/* Sleeps arg milliseconds, then returns arg. */
static void *sleep_ms(void *arg) {
    cl_sleep((long)arg / 1000.0);
    return arg;
}

static void *fail_on_three(void *arg) {
    if ((long)arg == 3) {
        cl_task_fail("three is not allowed");
        return (void *)-1; /* ignored: the task failed */
    }
    return (void *)((long)arg * 10);
}

/* Waits until f is running (it has left the queue), or two seconds pass. */
static int wait_running(cl_future *f) {
    double deadline = cl_now() + 2;
    while (!cl_future_running(f) && cl_now() < deadline) cl_sleep(0.001);
    return cl_future_running(f);
}

/* ---- results and concurrency ---------------------------------------------------------------- */

static int running_now, most_running, started;

static void *square_counting_concurrency(void *arg) {
    int now = cl_atomic_int_add(&running_now, 1);
    int seen;
    do seen = cl_atomic_int_load(&most_running);
    while (now > seen && !cl_atomic_int_cas(&most_running, seen, now));
    /* The first four wait for each other, so four workers are seen at once. */
    cl_atomic_int_add(&started, 1);
    double deadline = cl_now() + 2;
    while (cl_atomic_int_load(&started) < 4 && cl_now() < deadline) cl_sleep(0.001);
    cl_sleep(0.005);
    cl_atomic_int_add(&running_now, -1);
    return square(arg);
}

static void test_ten_tasks_on_four_workers(void) {
    enum { TASKS = 10 };
    cl_pool *pool = cl_pool_new(4);
    CHECK(pool != NULL);
    cl_future *futs[TASKS];
    for (long i = 0; i < TASKS; i++)
        futs[i] = cl_pool_submit(pool, square_counting_concurrency, (void *)i);
    for (long i = 0; i < TASKS; i++) {
        void *value = NULL;
        CHECK(futs[i] != NULL);
        CHECK(cl_future_result(futs[i], 10.0, &value) == CL_FUTURE_OK);
        CHECK((long)value == i * i);
        cl_future_free(futs[i]);
    }
    CHECK(cl_atomic_int_load(&most_running) == 4); /* all four workers, and never more */
    cl_pool_free(pool);
}

/* Tasks submitted in a burst, just after the pool ran something (when a worker may be spinning
 * for the next task instead of sleeping), still wake every idle worker. */
static void test_burst_reaches_every_worker(void) {
    enum { WORKERS = 4, ROUNDS = 20 };
    cl_pool *pool = cl_pool_new(WORKERS);
    int all_running = 0;
    for (int round = 0; round < ROUNDS; round++) {
        cl_future *warm = cl_pool_submit(pool, square, (void *)2);
        cl_future_result(warm, 10.0, NULL);
        cl_future_free(warm);
        gate_close();
        cl_future *futs[WORKERS];
        for (int i = 0; i < WORKERS; i++) futs[i] = cl_pool_submit(pool, wait_at_gate, NULL);
        int running = 0;
        for (int i = 0; i < WORKERS; i++) running += wait_running(futs[i]);
        all_running += running == WORKERS;
        gate_release();
        for (int i = 0; i < WORKERS; i++) {
            CHECK(cl_future_result(futs[i], 10.0, NULL) == CL_FUTURE_OK);
            cl_future_free(futs[i]);
        }
    }
    CHECK(all_running == ROUNDS);
    cl_pool_free(pool);
}

static void test_zero_workers_means_one_per_cpu(void) {
    cl_pool *pool = cl_pool_new(0);
    CHECK(pool != NULL);
    cl_future *f = cl_pool_submit(pool, square, (void *)9);
    void *value = NULL;
    CHECK(cl_future_result(f, 10.0, &value) == CL_FUTURE_OK && (long)value == 81);
    cl_future_free(f);
    cl_pool_free(pool);
}

/* ---- map ------------------------------------------------------------------------------------ */

static void test_map_keeps_order(void) {
    enum { N = 8 };
    cl_pool *pool = cl_pool_new(4);
    void *args[N], *results[N];
    /* Later arguments finish first, so completion order is not argument order. */
    for (long i = 0; i < N; i++) args[i] = (void *)((N - i) * 5);
    CHECK(cl_pool_map(pool, sleep_ms, args, N, results, 10.0) == 0);
    for (int i = 0; i < N; i++) CHECK(results[i] == args[i]);

    for (long i = 0; i < N; i++) args[i] = (void *)i;
    CHECK(cl_pool_map(pool, square, args, N, results, CL_FOREVER) == 0);
    for (long i = 0; i < N; i++) CHECK((long)results[i] == i * i);
    CHECK(cl_pool_map(pool, square, args, N, NULL, CL_FOREVER) == 0); /* results optional */
    CHECK(cl_pool_map(pool, square, NULL, 0, NULL, 0) == 0);           /* nothing to do */
    cl_pool_free(pool);
}

static void test_map_reports_first_failure(void) {
    enum { N = 6 };
    cl_pool *pool = cl_pool_new(2);
    void *args[N], *results[N];
    for (long i = 0; i < N; i++) args[i] = (void *)i;
    capture_begin();
    int status = cl_pool_map(pool, fail_on_three, args, N, results, 10.0);
    const char *msg = capture_end();
    CHECK(status == -1);
    CHECK_STR(msg, "cl_pool_map: task 3 failed: three is not allowed\n");
    for (long i = 0; i < 3; i++) CHECK((long)results[i] == i * 10);
    CHECK(results[3] == NULL);
    cl_pool_free(pool);
}

static void test_map_timeout(void) {
    cl_pool *pool = cl_pool_new(2);
    void *args[3] = {(void *)1, (void *)2, (void *)3}, *results[3];
    gate_close();
    double t0 = cl_now();
    capture_begin();
    int status = cl_pool_map(pool, wait_at_gate, args, 3, results, 0.2);
    const char *msg = capture_end();
    double took = cl_now() - t0;
    CHECK(status == -1);
    CHECK(took >= 0.19 && took < 2.0);
    CHECK_STR(msg, "cl_pool_map: task 0 timed out\n");
    CHECK(results[0] == NULL && results[2] == NULL);
    gate_release(); /* the two already running finish; the third was cancelled */
    cl_pool_free(pool);
}

/* ---- many futures --------------------------------------------------------------------------- */

static void test_as_completed_yields_every_future_once(void) {
    enum { N = 10 };
    cl_pool *pool = cl_pool_new(4);
    cl_future *futs[N];
    int seen[N] = {0};
    for (long i = 0; i < N; i++)
        futs[i] = cl_pool_submit(pool, sleep_ms, (void *)((i * 7) % 5 * 4));
    cl_as_completed *it = cl_as_completed_new(futs, N, 10.0);
    cl_future *f;
    int count = 0;
    while ((f = cl_as_completed_next(it))) {
        CHECK(cl_future_done(f));
        for (int i = 0; i < N; i++) seen[i] += futs[i] == f;
        count++;
    }
    CHECK(count == N);
    CHECK(cl_as_completed_remaining(it) == 0);
    for (int i = 0; i < N; i++) CHECK(seen[i] == 1);
    cl_as_completed_free(it);
    for (int i = 0; i < N; i++) cl_future_free(futs[i]);
    cl_pool_free(pool);
}

static void test_wait_first_completed_returns_early(void) {
    cl_pool *pool = cl_pool_new(4);
    cl_future *futs[4];
    gate_close();
    for (int i = 0; i < 3; i++) futs[i] = cl_pool_submit(pool, wait_at_gate, NULL);
    futs[3] = cl_pool_submit(pool, sleep_ms, (void *)20);
    double t0 = cl_now();
    int done = cl_futures_wait(futs, 4, CL_FIRST_COMPLETED, 10.0);
    double took = cl_now() - t0;
    CHECK(done == 1);
    CHECK(cl_future_done(futs[3]));
    CHECK(took < 2.0); /* the quick one, not the timeout */
    for (int i = 0; i < 3; i++) CHECK(!cl_future_done(futs[i]));
    gate_release();
    CHECK(cl_futures_wait(futs, 4, CL_ALL_COMPLETED, 10.0) == 4);
    for (int i = 0; i < 4; i++) cl_future_free(futs[i]);
    cl_pool_free(pool);
}

/* ---- shutting down -------------------------------------------------------------------------- */

static void test_shutdown_cancels_pending(void) {
    enum { QUEUED = 5 };
    cl_pool *pool = cl_pool_new(1);
    gate_close();
    cl_future *first = cl_pool_submit(pool, wait_at_gate, (void *)1);
    CHECK(wait_running(first));
    cl_future *queued[QUEUED];
    for (int i = 0; i < QUEUED; i++) queued[i] = cl_pool_submit(pool, square, (void *)2);

    CHECK(cl_pool_shutdown(pool, 0, 1) == 0);
    for (int i = 0; i < QUEUED; i++) {
        CHECK(cl_future_cancelled(queued[i]));
        CHECK(cl_future_result(queued[i], 0, NULL) == CL_FUTURE_CANCELLED);
    }
    CHECK(cl_future_running(first)); /* running tasks are never cancelled */

    capture_begin();
    cl_future *late = cl_pool_submit(pool, square, (void *)3);
    const char *msg = capture_end();
    CHECK(late == NULL);
    CHECK(starts_with(msg, "cl_pool_submit: "));
    CHECK(strstr(msg, "shut down") != NULL);

    gate_release();
    void *value = NULL;
    CHECK(cl_future_result(first, 10.0, &value) == CL_FUTURE_OK && value == (void *)1);
    CHECK(cl_pool_shutdown(pool, 1, 0) == 0);
    CHECK(cl_pool_shutdown(pool, 1, 1) == 0); /* again: harmless */
    cl_future_free(first);
    for (int i = 0; i < QUEUED; i++) cl_future_free(queued[i]);
    cl_pool_free(pool);
}

static void test_shutdown_without_cancel_runs_queued(void) {
    cl_pool *pool = cl_pool_new(1);
    gate_close();
    cl_future *futs[4];
    futs[0] = cl_pool_submit(pool, wait_at_gate, (void *)0);
    for (long i = 1; i < 4; i++) futs[i] = cl_pool_submit(pool, square, (void *)i);
    CHECK(cl_pool_shutdown(pool, 0, 0) == 0);
    gate_release();
    CHECK(cl_pool_shutdown(pool, 1, 0) == 0); /* returns once every worker has ended */
    for (long i = 0; i < 4; i++) {
        void *value = (void *)-1;
        CHECK(cl_future_done(futs[i]));
        CHECK(cl_future_result(futs[i], 0, &value) == CL_FUTURE_OK && (long)value == i * i);
        cl_future_free(futs[i]);
    }
    cl_pool_free(pool);
}

/* Futures outlive their pool: freeing it lets the queued tasks run first. */
static void test_free_lets_queued_tasks_finish(void) {
    enum { N = 6 };
    cl_pool *pool = cl_pool_new(2);
    cl_future *futs[N];
    for (long i = 0; i < N; i++) futs[i] = cl_pool_submit(pool, sleep_ms, (void *)(10 + i));
    cl_pool_free(pool);
    for (long i = 0; i < N; i++) {
        void *value = NULL;
        CHECK(cl_future_result(futs[i], 0, &value) == CL_FUTURE_OK && (long)value == 10 + i);
        cl_future_free(futs[i]);
    }
}

/* The submitter may drop its future while the task still runs. */
static void test_future_freed_before_task_ends(void) {
    cl_pool *pool = cl_pool_new(1);
    gate_close();
    cl_future *f = cl_pool_submit(pool, wait_at_gate, NULL);
    cl_future *queued = cl_pool_submit(pool, square, (void *)4);
    CHECK(wait_running(f));
    cl_future_free(f);
    cl_future_free(queued);
    gate_release();
    cl_pool_free(pool); /* ASan: nothing leaked, nothing used after free */
}

/* ---- failures and callbacks ----------------------------------------------------------------- */

static void *fail_twice(void *arg) {
    (void)arg;
    cl_task_fail("first reason");
    cl_task_fail("second reason");
    return NULL;
}

static void test_task_fail(void) {
    cl_pool *pool = cl_pool_new(2);
    cl_future *f = cl_pool_submit(pool, fail_on_three, (void *)3);
    void *value = (void *)1;
    CHECK(cl_future_result(f, 10.0, &value) == CL_FUTURE_ERROR);
    CHECK(value == NULL);
    CHECK_STR(cl_future_error(f), "three is not allowed");
    cl_future_free(f);

    f = cl_pool_submit(pool, fail_on_three, (void *)4); /* the failure stayed with its task */
    CHECK(cl_future_result(f, 10.0, &value) == CL_FUTURE_OK && (long)value == 40);
    CHECK(cl_future_error(f) == NULL);
    cl_future_free(f);

    f = cl_pool_submit(pool, fail_twice, NULL);
    CHECK(cl_future_result(f, 10.0, NULL) == CL_FUTURE_ERROR);
    CHECK_STR(cl_future_error(f), "first reason");
    cl_future_free(f);
    cl_pool_free(pool);

    capture_begin();
    int r = cl_task_fail("not in a task");
    const char *msg = capture_end();
    CHECK(r == -1);
    CHECK(starts_with(msg, "cl_task_fail: "));
}

static pthread_t callback_thread;
static int callback_calls;

static void note_callback(cl_future *f, void *arg) {
    (void)f;
    (void)arg;
    callback_thread = pthread_self();
    cl_atomic_int_add(&callback_calls, 1);
}

static void test_callbacks_run_on_the_worker(void) {
    cl_pool *pool = cl_pool_new(1);
    gate_close();
    cl_future *f = cl_pool_submit(pool, wait_at_gate, NULL);
    CHECK(cl_future_add_done_callback(f, note_callback, NULL) == 0);
    gate_release();
    CHECK(cl_future_result(f, 10.0, NULL) == CL_FUTURE_OK);
    cl_pool_free(pool); /* joins the worker: its writes are visible from here */
    CHECK(callback_calls == 1);
    CHECK(!pthread_equal(callback_thread, pthread_self()));
    cl_future_free(f);
}

/* ---- thread-local values in workers --------------------------------------------------------- */

static cl_local *per_worker;
static int worker_values, worker_values_destroyed;

static void destroy_worker_value(void *value) {
    cl_atomic_int_add(&worker_values_destroyed, 1);
    free(value);
}

static void *count_in_worker(void *arg) {
    (void)arg;
    int *mine = cl_local_get(per_worker);
    if (!mine) {
        mine = calloc(1, sizeof *mine);
        cl_local_set(per_worker, mine);
        cl_atomic_int_add(&worker_values, 1);
    }
    (*mine)++;
    cl_sleep(0.001);
    return NULL;
}

static void test_locals_destroyed_when_workers_end(void) {
    per_worker = cl_local_new(destroy_worker_value);
    cl_pool *pool = cl_pool_new(3);
    void *args[30] = {0};
    CHECK(cl_pool_map(pool, count_in_worker, args, 30, NULL, 10.0) == 0);
    int values = cl_atomic_int_load(&worker_values);
    CHECK(values >= 1 && values <= 3); /* one per worker that ran something */
    CHECK(cl_atomic_int_load(&worker_values_destroyed) == 0);
    cl_pool_free(pool);
    CHECK(cl_atomic_int_load(&worker_values_destroyed) == values);
    cl_local_free(per_worker);
}

/* ---- observation ---------------------------------------------------------------------------- */

/* Events counted by kind, for futures and pools; the observer runs on every thread. */
static long future_events[CL_EVENT_TIMEOUT + 1], pool_events[CL_EVENT_TIMEOUT + 1];
static long main_thread_waits; /* future waits reported on the main thread */
static long main_thread_id;

static void count_event(const cl_hook_event *event, void *ctx) {
    (void)ctx;
    if (strcmp(event->primitive, "future") == 0) {
        cl_atomic_add(&future_events[event->kind], 1);
        if (event->kind == CL_EVENT_WAIT && event->thread_id == main_thread_id)
            cl_atomic_add(&main_thread_waits, 1);
    } else if (strcmp(event->primitive, "pool") == 0) {
        cl_atomic_add(&pool_events[event->kind], 1);
    }
}

static void test_waits_are_reported_to_the_hook(void) {
    main_thread_id = cl_thread_id();
    cl_hook_set(count_event, NULL);
    cl_pool *pool = cl_pool_new(2);
    gate_close();
    cl_future *f = cl_pool_submit(pool, wait_at_gate, NULL);
    CHECK(cl_future_result(f, 0.05, NULL) == CL_FUTURE_TIMEOUT); /* blocked, then gave up */
    gate_release();
    CHECK(cl_future_result(f, 10.0, NULL) == CL_FUTURE_OK);     /* blocked, then got it */
    cl_future_free(f);
    cl_pool_free(pool);
    cl_hook_set(NULL, NULL);

    CHECK(pool_events[CL_EVENT_THREAD_START] == 2); /* each worker, on itself */
    CHECK(pool_events[CL_EVENT_THREAD_END] == 2);
    CHECK(pool_events[CL_EVENT_WAIT] >= 1);         /* workers waiting for tasks, the join */
    CHECK(pool_events[CL_EVENT_ACQUIRE] >= 1);
    CHECK(future_events[CL_EVENT_TIMEOUT] == 1);
    CHECK(future_events[CL_EVENT_ACQUIRE] == 1);
    CHECK(future_events[CL_EVENT_RELEASE] == 1);   /* the completion */
    CHECK(main_thread_waits == 2);
}

/* ---- misuse --------------------------------------------------------------------------------- */

static cl_pool *task_pool;

static void *shut_own_pool_down(void *arg) {
    (void)arg;
    return (void *)(long)cl_pool_shutdown(task_pool, 1, 0);
}

static void *free_own_pool(void *arg) {
    (void)arg;
    cl_pool_free(task_pool);
    return NULL;
}

static void test_pool_cannot_wait_for_itself(void) {
    task_pool = cl_pool_new(1);
    capture_begin();
    cl_future *f = cl_pool_submit(task_pool, free_own_pool, NULL);
    CHECK(cl_future_result(f, 10.0, NULL) == CL_FUTURE_OK); /* refused, not hung */
    cl_future_free(f);
    f = cl_pool_submit(task_pool, shut_own_pool_down, NULL);
    void *value = NULL;
    CHECK(cl_future_result(f, 10.0, &value) == CL_FUTURE_OK); /* returned, not hung */
    const char *msg = capture_end();
    CHECK((long)value == -1);
    CHECK(starts_with(msg, "cl_pool_free: "));
    CHECK(strstr(msg, "\ncl_pool_shutdown: ") != NULL);
    cl_future_free(f);
    cl_pool_free(task_pool); /* the shutdown went through, without the wait */
}

static void test_misuse(void) {
    volatile double zero = 0;
    void *args[1] = {NULL}, *results[1];

    capture_begin();
    CHECK(cl_pool_new(-1) == NULL);
    CHECK(cl_pool_submit(NULL, square, NULL) == NULL);
    CHECK(cl_pool_map(NULL, square, args, 1, results, 1) == -1);
    CHECK(cl_pool_shutdown(NULL, 1, 0) == -1);
    cl_pool_free(NULL); /* like free(NULL): silent */
    const char *msg = capture_end();
    CHECK(starts_with(msg, "cl_pool_new: "));
    CHECK(strstr(msg, "\ncl_pool_submit: ") != NULL);
    CHECK(strstr(msg, "\ncl_pool_map: ") != NULL);
    CHECK(strstr(msg, "\ncl_pool_shutdown: ") != NULL);
    CHECK(strstr(msg, "cl_pool_free") == NULL);

    cl_pool *pool = cl_pool_new(1);
    capture_begin();
    CHECK(cl_pool_submit(pool, NULL, NULL) == NULL);
    CHECK(cl_pool_map(pool, NULL, args, 1, results, 1) == -1);
    CHECK(cl_pool_map(pool, square, NULL, 1, results, 1) == -1);
    CHECK(cl_pool_map(pool, square, args, -1, results, 1) == -1);
    CHECK(cl_pool_map(pool, square, args, 1, results, -1) == -1);
    CHECK(cl_pool_map(pool, square, args, 1, results, zero / zero) == -1);
    msg = capture_end();
    CHECK(starts_with(msg, "cl_pool_submit: fn is NULL"));
    int lines = 0;
    for (const char *p = msg; (p = strstr(p, "cl_pool_map: ")); p++) lines++;
    CHECK(lines == 5);
    cl_pool_free(pool);

    if (USE_AFTER_FREE_CHECKS) {
        capture_begin();
        cl_future *f = cl_pool_submit(pool, square, NULL); /* pool freed above */
        cl_pool_free(pool);
        msg = capture_end();
        CHECK(f == NULL);
        CHECK(starts_with(msg, "cl_pool_submit: "));
        CHECK(strstr(msg, "\ncl_pool_free: ") != NULL);
    }
}

int main(void) {
    test_ten_tasks_on_four_workers();
    test_burst_reaches_every_worker();
    test_zero_workers_means_one_per_cpu();
    test_map_keeps_order();
    test_map_reports_first_failure();
    test_map_timeout();
    test_as_completed_yields_every_future_once();
    test_wait_first_completed_returns_early();
    test_shutdown_cancels_pending();
    test_shutdown_without_cancel_runs_queued();
    test_free_lets_queued_tasks_finish();
    test_future_freed_before_task_ends();
    test_task_fail();
    test_callbacks_run_on_the_worker();
    test_locals_destroyed_when_workers_end();
    test_waits_are_reported_to_the_hook();
    test_pool_cannot_wait_for_itself();
    test_misuse();
    return check_summary(SUITE);
}
