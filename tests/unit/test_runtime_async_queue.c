/* test_runtime_async_queue.c — asyncio.Queue for tasks (conclab/async_queue.h): producers and
 * consumers with task_done/join, full and empty queues, FIFO order, timeouts (own and through
 * cl_async_wait_for), cancellation of waiting getters, putters and joiners without losing or
 * inventing an item, and misuse reports. Runs as gcc code and, in plain builds, under tcc. */
#include <conclab.h>

#include "capture_stderr.h"
#include "check.h"

static cl_async_queue *q;

static void let_others_run(void) {
    for (int i = 0; i < 5; i++) cl_async_sleep(0);
}

/* ---- producer / consumer with task_done and join ---- */

enum { N_ITEMS = 200, N_CONSUMERS = 3 };
static long consumed_sum, consumed_count[N_CONSUMERS], seen_last;
static int in_order;

static void *producer(void *arg) {
    (void)arg;
    for (long i = 1; i <= N_ITEMS; i++) {
        CHECK(cl_async_queue_put_long(q, i) == 1);
        CHECK(cl_async_queue_qsize(q) <= 5);
    }
    return NULL;
}

static void *consumer(void *arg) {
    long who = (long)arg, item;
    while (cl_async_queue_get_long(q, &item)) {   /* 0 once cancelled */
        if (item <= seen_last) in_order = 0;
        seen_last = item;
        if (item % 7 == 0) cl_async_sleep(0.001); /* some work that awaits */
        consumed_sum += item;
        consumed_count[who]++;
        cl_async_queue_task_done(q);
    }
    return NULL;
}

static void *join_main(void *arg) {
    (void)arg;
    cl_future *c[N_CONSUMERS];
    for (long i = 0; i < N_CONSUMERS; i++) c[i] = cl_async_create_task(consumer, (void *)i);
    cl_future *p = cl_async_create_task(producer, NULL);
    CHECK(cl_await(p, NULL) == CL_FUTURE_OK);
    CHECK(cl_async_queue_join(q) == 1);           /* every item processed */
    CHECK(consumed_sum == (long)N_ITEMS * (N_ITEMS + 1) / 2);
    CHECK(cl_async_queue_unfinished(q) == 0);
    for (int i = 0; i < N_CONSUMERS; i++) cl_task_cancel(c[i]);
    CHECK(cl_async_gather(c, N_CONSUMERS, 0) == -1);  /* cancelled, as in Python */
    for (int i = 0; i < N_CONSUMERS; i++) {
        CHECK(cl_future_cancelled(c[i]) == 1);
        CHECK(consumed_count[i] > 0);             /* the work was shared */
        cl_future_free(c[i]);
    }
    cl_future_free(p);
    return NULL;
}

static void test_producer_consumer(void) {
    q = cl_async_queue_new(5);
    consumed_sum = 0; seen_last = 0; in_order = 1;
    for (int i = 0; i < N_CONSUMERS; i++) consumed_count[i] = 0;
    CHECK(cl_async_run(join_main, NULL, NULL) == CL_FUTURE_OK);
    CHECK(in_order == 1);                         /* gets are FIFO */
    CHECK(cl_async_queue_empty(q) == 1);
    CHECK(cl_async_queue_free(q) == 1);
}

/* ---- full, empty, nowait, timeouts ---- */

static int put_done;
static void *blocked_putter(void *arg) {
    put_done = cl_async_queue_put(q, arg);
    return NULL;
}

static void *full_empty_main(void *arg) {
    (void)arg;
    void *item = NULL;
    CHECK(cl_async_queue_maxsize(q) == 2);
    CHECK(cl_async_queue_get_nowait(q, &item) == 0);   /* QueueEmpty */
    CHECK(cl_async_queue_put_nowait(q, "a") == 1);
    CHECK(cl_async_queue_put_nowait(q, "b") == 1);
    CHECK(cl_async_queue_full(q) == 1);
    CHECK(cl_async_queue_put_nowait(q, "c") == 0);     /* QueueFull */
    double t0 = cl_now();
    CHECK(cl_async_queue_put_timeout(q, "c", 0.1) == 0);
    double took = cl_now() - t0;
    CHECK(took >= 0.05 && took < 2.0);
    CHECK(cl_async_queue_qsize(q) == 2);               /* nothing stored by the timed-out put */

    put_done = -1;
    cl_future *p = cl_async_create_task(blocked_putter, "c");
    let_others_run();
    CHECK(put_done == -1);                             /* waits for room */
    CHECK(cl_async_queue_get(q, &item) == 1);
    CHECK_STR((const char *)item, "a");
    CHECK(cl_await(p, NULL) == CL_FUTURE_OK);
    CHECK(put_done == 1);
    CHECK(cl_async_queue_get_nowait(q, &item) == 1);
    CHECK_STR((const char *)item, "b");
    CHECK(cl_async_queue_get(q, &item) == 1);
    CHECK_STR((const char *)item, "c");
    cl_future_free(p);

    t0 = cl_now();
    CHECK(cl_async_queue_get_timeout(q, &item, 0.1) == 0);
    took = cl_now() - t0;
    CHECK(took >= 0.05 && took < 2.0);
    CHECK(cl_async_queue_get_timeout(q, &item, 0) == 0);
    for (int i = 0; i < 3; i++) CHECK(cl_async_queue_task_done(q) == 1);
    CHECK(cl_async_queue_join(q) == 1);               /* nothing unfinished: no wait */
    return NULL;
}

static void test_full_empty(void) {
    q = cl_async_queue_new(2);
    CHECK(cl_async_run(full_empty_main, NULL, NULL) == CL_FUTURE_OK);
    CHECK(cl_async_queue_free(q) == 1);
}

static void test_unbounded(void) {
    q = cl_async_queue_new(0);
    CHECK(cl_async_queue_maxsize(q) == 0);
    for (long i = 0; i < 1000; i++) CHECK(cl_async_queue_put_nowait(q, (void *)i) == 1);
    CHECK(cl_async_queue_full(q) == 0);
    CHECK(cl_async_queue_qsize(q) == 1000);
    int ok = 1;
    for (long i = 0; i < 1000; i++) {
        void *item;
        if (!cl_async_queue_get_nowait(q, &item) || (long)item != i) ok = 0;
        if (i % 3 == 0 && i < 500) cl_async_queue_put_nowait(q, (void *)(1000 + i)); /* wraps */
    }
    CHECK(ok);
    CHECK(cl_async_queue_qsize(q) == 167);
    void *item;
    CHECK(cl_async_queue_get_nowait(q, &item) == 1 && (long)item == 1000);
    CHECK(cl_async_queue_free(q) == 1);
}

/* ---- cancellation ---- */

static int got[4];
static void *item_of[4];

static void *getter(void *arg) {
    long who = (long)arg;
    got[who] = cl_async_queue_get(q, &item_of[who]);
    return NULL;
}

static void *cancel_getters_main(void *arg) {
    (void)arg;
    for (int i = 0; i < 4; i++) { got[i] = -1; item_of[i] = NULL; }
    cl_future *t[3];
    for (long i = 0; i < 3; i++) t[i] = cl_async_create_task(getter, (void *)i);
    let_others_run();
    cl_task_cancel(t[0]);                          /* parked getter */
    let_others_run();
    CHECK(got[0] == 0);
    CHECK(cl_async_queue_put_nowait(q, "x") == 1); /* wakes getter 1 ... */
    cl_task_cancel(t[1]);                          /* ... cancelled before it ran */
    let_others_run();
    /* The item went to exactly one task: getter 1 if it saw the wake-up first, else getter 2
     * (passed on); never lost, never taken twice. */
    int takers = (got[1] == 1) + (got[2] == 1);
    CHECK(takers == 1);
    CHECK(cl_async_queue_qsize(q) == 0);
    if (got[2] != 1) {
        cl_async_queue_put_nowait(q, "y");
        let_others_run();
        CHECK(got[2] == 1);
    }
    cl_async_gather(t, 3, 0);
    for (int i = 0; i < 3; i++) cl_future_free(t[i]);
    return NULL;
}

static void *cancel_putter_main(void *arg) {
    (void)arg;
    void *item;
    CHECK(cl_async_queue_put_nowait(q, "first") == 1);
    cl_future *p = cl_async_create_task(blocked_putter, "second");
    put_done = -1;
    let_others_run();
    cl_task_cancel(p);
    cl_await(p, NULL);
    CHECK(put_done == 0);
    CHECK(cl_async_queue_qsize(q) == 1);           /* the cancelled put stored nothing */
    CHECK(cl_async_queue_get_nowait(q, &item) == 1);
    CHECK_STR((const char *)item, "first");
    cl_future_free(p);

    /* asyncio.wait_for(q.get(), 0.05): the getter task is cancelled, no item is lost. */
    got[3] = -1;
    cl_future *g = cl_async_create_task(getter, (void *)3L);
    CHECK(cl_async_wait_for(g, 0.05, NULL) == CL_FUTURE_TIMEOUT);
    cl_await(g, NULL);
    CHECK(got[3] == 0);
    CHECK(cl_async_queue_put_nowait(q, "kept") == 1);
    CHECK(cl_async_queue_get_nowait(q, &item) == 1);
    CHECK_STR((const char *)item, "kept");
    cl_future_free(g);
    return NULL;
}

static int join_result;
static void *joiner(void *arg) {
    (void)arg;
    join_result = cl_async_queue_join(q);
    return NULL;
}

static void *cancel_join_main(void *arg) {
    (void)arg;
    CHECK(cl_async_queue_put_nowait(q, "work") == 1);
    join_result = -1;
    cl_future *j1 = cl_async_create_task(joiner, NULL);
    let_others_run();
    cl_task_cancel(j1);
    cl_await(j1, NULL);
    CHECK(join_result == 0);
    cl_future *j2 = cl_async_create_task(joiner, NULL);
    let_others_run();
    CHECK(join_result == 0);                       /* still waiting */
    void *item;
    cl_async_queue_get_nowait(q, &item);
    CHECK(cl_async_queue_task_done(q) == 1);
    cl_await(j2, NULL);
    CHECK(join_result == 1);
    cl_future_free(j1);
    cl_future_free(j2);
    return NULL;
}

static void test_cancellation(void) {
    q = cl_async_queue_new(1);
    CHECK(cl_async_run(cancel_getters_main, NULL, NULL) == CL_FUTURE_OK);
    CHECK(cl_async_run(cancel_putter_main, NULL, NULL) == CL_FUTURE_OK);
    CHECK(cl_async_queue_free(q) == 1);
    q = cl_async_queue_new(0);
    CHECK(cl_async_run(cancel_join_main, NULL, NULL) == CL_FUTURE_OK);
    CHECK(cl_async_queue_free(q) == 1);
}

/* ---- misuse ---- */

static void test_misuse(void) {
    q = cl_async_queue_new(1);
    capture_begin();
    int r = cl_async_queue_task_done(q);
    const char *out = capture_end();
    CHECK(r == 0);
    CHECK(starts_with(out, "cl_async_queue_task_done: "));

    void *item;
    capture_begin();
    r = cl_async_queue_get(q, &item);              /* empty, and not in a task */
    out = capture_end();
    CHECK(r == 0);
    CHECK(starts_with(out, "cl_async_queue_get: "));

    capture_begin();
    r = cl_async_queue_put_nowait(NULL, "x");
    out = capture_end();
    CHECK(r == 0);
    CHECK(starts_with(out, "cl_async_queue_put_nowait: "));

    /* Nothing to wait for: works outside a task too. */
    CHECK(cl_async_queue_put(q, "x") == 1);
    CHECK(cl_async_queue_get(q, &item) == 1);
    CHECK(cl_async_queue_task_done(q) == 1);
    CHECK(cl_async_queue_free(q) == 1);
}

int main(void) {
    test_producer_consumer();
    test_full_empty();
    test_unbounded();
    test_cancellation();
    test_misuse();
    return check_summary("test_runtime_async_queue");
}
