/* test_runtime_loop.c — the event loop of conclab/loop.h from the outside: running, callbacks,
 * tasks, every kind of await and its cancellation, the chapter's examples scaled down (0.2 s,
 * 0.1 s, 0.3 s for 2 s, 1 s, 3 s), 100 000 sleeping tasks, a blocking call stalling the loop,
 * and the errors reported instead of hangs. Compiled by gcc and, at run time, by tcc (what a
 * notebook cell is): plain C, no gcc extensions. Generous time bounds: timing is the bench's. */
#include <conclab.h>

#include <dirent.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture_stderr.h"
#include "check.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif
/* TSan counts every coroutine as a thread and allows 8128 of them, and makes each take a few
 * milliseconds to create (4000 took 23 s on the project's 2-core VM, against a 15 s bound). */
#if defined(__SANITIZE_THREAD__)
#define MANY_TASKS 1000
#elif SANITIZED
#define MANY_TASKS 10000
#else
#define MANY_TASKS 100000
#endif

static int contains(const char *text, const char *part) {
    return strstr(text, part) != NULL;
}

/* ---- helpers: task bodies --------------------------------------------------------------------- */

typedef struct sleep_job {
    double seconds;
    int result;      /* what cl_async_sleep returned */
    int cleaned_up;  /* the code after the cancelled await ran */
    double ended_at;
} sleep_job;

static void *sleep_for(void *arg) {
    sleep_job *j = arg;
    j->result = cl_async_sleep(j->seconds);
    j->cleaned_up = 1;
    j->ended_at = cl_now();
    return j;
}

static void *return_arg(void *arg) {
    return arg;
}

static void *fail_with(void *arg) {
    cl_async_sleep(0.01);
    cl_task_fail((const char *)arg);
    return NULL;
}

/* ---- running and results ---------------------------------------------------------------------- */

static void *main_returns(void *arg) {
    return arg;
}

static void test_run_returns_result(void) {
    void *result = NULL;
    CHECK(cl_async_run(main_returns, "hello", &result) == CL_FUTURE_OK);
    CHECK_STR((const char *)result, "hello");
    CHECK(cl_loop_current() == NULL);
}

static void *main_fails(void *arg) {
    (void)arg;
    cl_task_fail("boom");
    return NULL;
}

static void test_run_reports_failure(void) {
    capture_begin();
    int status = cl_async_run(main_fails, NULL, NULL);
    const char *err = capture_end();
    CHECK(status == CL_FUTURE_ERROR);
    CHECK(contains(err, "cl_async_run: main task") && contains(err, "boom"));
}

/* asyncio.gather of sleeps 2 s, 1 s, 3 s takes about 3 s: here 0.2, 0.1, 0.3. */
static void *main_gather_example(void *arg) {
    double *took = arg;
    sleep_job jobs[3] = {{0.2, 0, 0, 0}, {0.1, 0, 0, 0}, {0.3, 0, 0, 0}};
    cl_future *f[3];
    double start = cl_now();
    for (int i = 0; i < 3; i++) f[i] = cl_async_create_task(sleep_for, &jobs[i]);
    CHECK(cl_async_gather(f, 3, 0) == 0);
    *took = cl_now() - start;
    for (int i = 0; i < 3; i++) {
        void *v = NULL;
        CHECK(cl_future_result(f[i], 0, &v) == CL_FUTURE_OK && v == &jobs[i]);
        cl_future_free(f[i]);
    }
    CHECK(jobs[1].ended_at < jobs[0].ended_at && jobs[0].ended_at < jobs[2].ended_at);
    return NULL;
}

static void test_gather_runs_concurrently(void) {
    double took = 0;
    CHECK(cl_async_run(main_gather_example, &took, NULL) == CL_FUTURE_OK);
    CHECK(took >= 0.29 && took < 0.5);
}

/* ---- callbacks -------------------------------------------------------------------------------- */

static char order[64];

static void append(void *arg) {
    strcat(order, (const char *)arg);
}

static void stop_loop(void *arg) {
    cl_loop_stop((cl_loop *)arg);
}

static void *post_from_thread(void *arg) {
    cl_loop_call_soon_threadsafe((cl_loop *)arg, append, "T");
    cl_loop_call_soon_threadsafe((cl_loop *)arg, stop_loop, arg);
    return NULL;
}

static void test_callbacks(void) {
    cl_loop *l = cl_loop_new();
    order[0] = '\0';
    CHECK(cl_loop_call_soon(l, append, "a") == 0);
    CHECK(cl_loop_call_soon(l, append, "b") == 0);
    cl_loop_call_later(l, 0.05, append, "L");
    cl_loop_timer *never = cl_loop_call_later(l, 0.02, append, "X");
    cl_loop_call_later(l, 0.10, stop_loop, l);
    CHECK(cl_loop_timer_cancel(never) == 1);
    double start = cl_loop_time(l);
    CHECK(cl_loop_run_forever(l) == 0);
    double took = cl_loop_time(l) - start;
    CHECK_STR(order, "abL");
    CHECK(took >= 0.09 && took < 1.0);

    /* call_soon_threadsafe from another thread wakes the sleeping loop */
    order[0] = '\0';
    cl_thread *th = cl_thread_start(post_from_thread, l);
    CHECK(cl_loop_run_forever(l) == 0);
    cl_thread_join(th);
    CHECK_STR(order, "T");
    cl_loop_free(l);
}

static void *main_run_until_complete(void *arg) {
    (void)arg;
    CHECK(cl_loop_current() != NULL);
    return "rc";
}

static void *create_task_elsewhere(void *loop) {
    return cl_loop_create_task(loop, main_run_until_complete, NULL);
}

static void test_run_until_complete(void) {
    cl_loop *l = cl_loop_new();
    cl_loop *before = cl_loop_current();
    CHECK(before == NULL);
    /* a task made by a callback of the running loop */
    cl_future *f = cl_future_new();
    cl_future_set_result(f, "plain");
    void *v = NULL;
    CHECK(cl_loop_run_until_complete(l, f, &v) == CL_FUTURE_OK && strcmp((char *)v, "plain") == 0);
    cl_future_free(f);
    /* a task made on the loop before it runs (Python: loop.run_until_complete(coro)) */
    cl_future *t = cl_loop_create_task(l, main_run_until_complete, NULL);
    CHECK(t != NULL && cl_task_is_task(t) && !cl_future_done(t));
    CHECK(cl_loop_run_until_complete(l, t, &v) == CL_FUTURE_OK);
    CHECK_STR((const char *)v, "rc");
    cl_future_free(t);
    /* ... but only on the loop's own thread */
    capture_begin();
    cl_thread *other = cl_thread_start(create_task_elsewhere, l);
    CHECK(cl_thread_join(other) == NULL);
    CHECK(cl_loop_create_task(NULL, return_arg, NULL) == NULL);
    const char *err = capture_end();
    CHECK(contains(err, "cl_loop_create_task: called from another thread than the loop's"));
    CHECK(contains(err, "cl_loop_create_task: loop is NULL"));
    cl_loop_free(l);
    CHECK(cl_async_run(main_run_until_complete, NULL, &v) == CL_FUTURE_OK);
    CHECK_STR((const char *)v, "rc");
}

/* ---- tasks ------------------------------------------------------------------------------------ */

static void *report_name(void *arg) {
    cl_future *me = cl_task_current();
    strcpy((char *)arg, cl_task_name(me));
    return NULL;
}

static void *main_tasks(void *arg) {
    (void)arg;
    char name[64] = "";
    cl_future *t = cl_async_create_task_ex("fetcher", 64 * 1024, report_name, name);
    CHECK(cl_task_is_task(t) == 1);
    CHECK_STR(cl_task_name(t), "fetcher");
    CHECK(cl_await(t, NULL) == CL_FUTURE_OK);
    CHECK_STR(name, "fetcher");
    cl_future *u = cl_async_create_task(return_arg, NULL);
    CHECK(strncmp(cl_task_name(u), "Task-", 5) == 0);
    CHECK(cl_task_set_name(u, "renamed") == 0);
    CHECK_STR(cl_task_name(u), "renamed");
    cl_future *plain = cl_future_new();
    CHECK(cl_task_is_task(plain) == 0);
    CHECK(cl_task_name(plain) == NULL);
    CHECK(cl_task_current() != NULL && cl_task_is_task(cl_task_current()));
    /* a failed task's error comes through await */
    cl_future *bad = cl_async_create_task(fail_with, "no luck");
    CHECK(cl_await(bad, NULL) == CL_FUTURE_ERROR);
    CHECK_STR(cl_future_error(bad), "no luck");
    cl_future_free(t);
    cl_future_free(u);
    cl_future_free(plain);
    cl_future_free(bad);
    return NULL;
}

static void test_tasks(void) {
    CHECK(cl_async_run(main_tasks, NULL, NULL) == CL_FUTURE_OK);
    CHECK(cl_task_current() == NULL);
}

/* ---- cancellation ----------------------------------------------------------------------------- */

/* asyncio's example: cancel a long task after 2 s (here 0.2 s); its cleanup runs. */
static void *main_cancel_sleep(void *arg) {
    sleep_job *j = arg;
    double start = cl_now();
    cl_future *t = cl_async_create_task(sleep_for, j);
    cl_async_sleep(0.2);
    CHECK(cl_task_cancel(t) == 1);
    CHECK(cl_task_cancelling(t) == 1);
    CHECK(cl_await(t, NULL) == CL_FUTURE_CANCELLED);
    CHECK(cl_future_cancelled(t) == 1);
    CHECK(cl_task_cancel(t) == 0);
    double took = cl_now() - start;
    CHECK(took >= 0.19 && took < 0.6);
    cl_future_free(t);
    return NULL;
}

static void test_cancel_sleep(void) {
    sleep_job j = {10.0, 0, 0, 0};
    CHECK(cl_async_run(main_cancel_sleep, &j, NULL) == CL_FUTURE_OK);
    CHECK(j.result == -1 && j.cleaned_up == 1);
}

static void *not_started(void *arg) {
    *(int *)arg = 1;
    return NULL;
}

static void *uncancels(void *arg) {
    (void)arg;
    if (cl_async_sleep(10) != 0) cl_task_uncancel(cl_task_current());
    return "survived";
}

static void *main_cancel_kinds(void *arg) {
    (void)arg;
    /* not started yet: cancelled at once, never runs */
    int ran = 0;
    cl_future *t = cl_async_create_task(not_started, &ran);
    CHECK(cl_task_cancel(t) == 1);
    CHECK(cl_future_cancelled(t) == 1);
    cl_async_sleep(0.01);
    CHECK(ran == 0);
    cl_future_free(t);

    /* uncancel: the task finishes normally */
    cl_future *u = cl_async_create_task(uncancels, NULL);
    cl_async_sleep(0.01);
    cl_future_cancel(u); /* cl_future_cancel on a task is cl_task_cancel */
    void *v = NULL;
    CHECK(cl_await(u, &v) == CL_FUTURE_OK && v && strcmp((char *)v, "survived") == 0);
    cl_future_free(u);
    return NULL;
}

static void test_cancel_kinds(void) {
    CHECK(cl_async_run(main_cancel_kinds, NULL, NULL) == CL_FUTURE_OK);
}

/* A victim task awaits in one of many ways; main cancels it while it waits. */
enum { AWAIT_TASK, AWAIT_FUTURE, AWAIT_WAIT_FOR, AWAIT_GATHER, AWAIT_WAIT, AWAIT_GROUP, AWAIT_SHIELD,
       AWAIT_TO_THREAD, AWAIT_POOL, AWAIT_PROCESS_POOL, AWAIT_KINDS };

typedef struct victim {
    int kind;
    cl_future *inner;     /* what it awaits (made by main) */
    int status;           /* what its await returned */
    int cleaned_up;
} victim;

static void *sleep_long(void *arg) {
    (void)arg;
    cl_async_sleep(10);
    return NULL;
}

static void *group_sleeper(void *arg) {
    int *cancelled = arg;
    if (cl_async_sleep(10) != 0) (*cancelled)++;
    return NULL;
}

static void *victim_body(void *arg) {
    victim *v = arg;
    cl_future *futs[1];
    futs[0] = v->inner;
    switch (v->kind) {
    case AWAIT_TASK: case AWAIT_FUTURE: case AWAIT_TO_THREAD: case AWAIT_POOL: case AWAIT_PROCESS_POOL:
        v->status = cl_await(v->inner, NULL);
        break;
    case AWAIT_WAIT_FOR:
        v->status = cl_async_wait_for(v->inner, 10, NULL);
        break;
    case AWAIT_GATHER:
        v->status = cl_async_gather(futs, 1, 0) == -1 ? CL_FUTURE_CANCELLED : CL_FUTURE_OK;
        break;
    case AWAIT_WAIT:
        v->status = cl_async_wait(futs, 1, CL_ALL_COMPLETED, 10) == -1 ? CL_FUTURE_CANCELLED : CL_FUTURE_OK;
        break;
    case AWAIT_GROUP: {
        static int cancelled;
        cl_task_group *g = cl_task_group_new();
        cancelled = 0;
        cl_task_group_create_task(g, group_sleeper, &cancelled);
        cl_task_group_create_task(g, group_sleeper, &cancelled);
        v->status = cl_task_group_wait(g) == -1 ? CL_FUTURE_CANCELLED : CL_FUTURE_OK;
        CHECK(cancelled == 2); /* the group's tasks were cancelled and finished first */
        cl_task_group_free(g);
        break;
    }
    case AWAIT_SHIELD: {
        cl_future *outer = cl_async_shield(v->inner);
        v->status = cl_await(outer, NULL);
        cl_future_free(outer);
        break;
    }
    }
    v->cleaned_up = 1;
    return NULL;
}

static void *block_a_while(void *arg) {
    usleep((useconds_t)(*(double *)arg * 1e6));
    return "thread done";
}

static void process_task(const void *arg, size_t size) {
    (void)arg;
    (void)size;
    usleep(300000);
    cl_task_return_long(7);
}

static void *main_cancel_every_await(void *arg) {
    (void)arg;
    static double thread_time = 1.0;  /* the work the cancel must not wait for */
    cl_pool *pool = cl_pool_new(1);
    cl_process_pool *ppool = cl_process_pool_new(1);
    for (int kind = 0; kind < AWAIT_KINDS; kind++) {
        victim v = {kind, NULL, -1, 0};
        if (kind == AWAIT_TASK || kind == AWAIT_WAIT_FOR || kind == AWAIT_GATHER || kind == AWAIT_WAIT || kind == AWAIT_SHIELD)
            v.inner = cl_async_create_task(sleep_long, NULL);
        else if (kind == AWAIT_FUTURE)
            v.inner = cl_future_new();
        else if (kind == AWAIT_TO_THREAD)
            v.inner = cl_async_to_thread(block_a_while, &thread_time);
        else if (kind == AWAIT_POOL)
            v.inner = cl_pool_submit(pool, block_a_while, &thread_time);
        else if (kind == AWAIT_PROCESS_POOL)
            v.inner = cl_process_pool_submit(ppool, process_task, NULL, 0);
        cl_future *t = cl_async_create_task(victim_body, &v);
        cl_async_sleep(0.05);
        double start = cl_now();
        CHECK(cl_task_cancel(t) == 1);
        CHECK(cl_await(t, NULL) == CL_FUTURE_CANCELLED);
        if (cl_now() - start > 0.5) fprintf(stderr, "kind %d: cancel took %.3f s\n", kind, cl_now() - start);
        CHECK(cl_now() - start < 0.5); /* prompt, even while a thread or process still works */
        CHECK(v.cleaned_up == 1);
        if (v.status != CL_FUTURE_CANCELLED) fprintf(stderr, "kind %d: status %d\n", kind, v.status);
        CHECK(v.status == CL_FUTURE_CANCELLED);
        if (v.inner) {
            if (kind == AWAIT_SHIELD) { /* the shielded task goes on */
                CHECK(!cl_future_done(v.inner));
                cl_task_cancel(v.inner);
                cl_await(v.inner, NULL);
            } else if (kind == AWAIT_TASK || kind == AWAIT_WAIT_FOR || kind == AWAIT_GATHER || kind == AWAIT_FUTURE) {
                cl_await(v.inner, NULL); /* its cleanup */
                CHECK(cl_future_cancelled(v.inner) == 1);
            } else if (kind == AWAIT_WAIT) { /* asyncio.wait leaves its futures alone */
                CHECK(!cl_future_done(v.inner));
                cl_task_cancel(v.inner);
                cl_await(v.inner, NULL);
            } else { /* a thread or process that runs cannot be cancelled: it finishes */
                void *value = NULL;
                CHECK(cl_await(v.inner, &value) == CL_FUTURE_OK);
            }
            cl_future_free(v.inner);
        }
        cl_future_free(t);
    }
    cl_pool_free(pool);
    cl_process_pool_free(ppool);
    return NULL;
}

static void test_cancel_every_await(void) {
    CHECK(cl_async_run(main_cancel_every_await, NULL, NULL) == CL_FUTURE_OK);
}

/* ---- awaiting other producers ----------------------------------------------------------------- */

static void *square_in_thread(void *arg) {
    long x = (long)(size_t)arg;
    usleep(20000);
    return (void *)(size_t)(x * x);
}

static void square_in_process(const void *arg, size_t size) {
    (void)size;
    long x = *(const long *)arg;
    cl_task_return_long(x * x);
}

static void *main_foreign_futures(void *arg) {
    (void)arg;
    void *v = NULL;
    cl_future *f = cl_async_to_thread(square_in_thread, (void *)(size_t)9);
    CHECK(cl_await(f, &v) == CL_FUTURE_OK && (long)(size_t)v == 81);
    cl_future_free(f);
    cl_process_pool *pp = cl_process_pool_new(1);
    long x = 12;
    cl_future *g = cl_process_pool_submit(pp, square_in_process, &x, sizeof x);
    CHECK(cl_await(g, &v) == CL_FUTURE_OK && v && *(long *)v == 144);
    cl_future_free(g);
    cl_process_pool_free(pp);
    return NULL;
}

static int threads_of_this_process(void) {
    DIR *d = opendir("/proc/self/task");
    int n = 0;
    if (!d) return -1;
    for (struct dirent *e; (e = readdir(d));) n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void test_foreign_futures(void) {
    int before = threads_of_this_process();
    CHECK(cl_async_run(main_foreign_futures, NULL, NULL) == CL_FUTURE_OK);
    /* the default executor went with its loop, as asyncio.run shuts it down */
    CHECK(threads_of_this_process() == before);
    capture_begin();
    CHECK(cl_async_to_thread(square_in_thread, NULL) == NULL); /* no running loop */
    CHECK(strstr(capture_end(), "cl_async_to_thread: no running loop") != NULL);
}

/* ---- wait_for, wait, gather modes, shield ---------------------------------------------------- */

/* asyncio's example: a 3 s timeout on a 10 s task (here 0.3 s on 1.0 s). */
static void *main_wait_for(void *arg) {
    (void)arg;
    sleep_job j = {1.0, 0, 0, 0};
    cl_future *t = cl_async_create_task(sleep_for, &j);
    double start = cl_now();
    CHECK(cl_async_wait_for(t, 0.3, NULL) == CL_FUTURE_TIMEOUT);
    double took = cl_now() - start;
    CHECK(took >= 0.29 && took < 0.7);
    CHECK(cl_future_cancelled(t) == 1 && j.cleaned_up == 1); /* waited for its cleanup */
    cl_future_free(t);
    sleep_job quick = {0.05, 0, 0, 0};
    cl_future *q = cl_async_create_task(sleep_for, &quick);
    void *v = NULL;
    CHECK(cl_async_wait_for(q, 1.0, &v) == CL_FUTURE_OK && v == &quick);
    cl_future_free(q);
    return NULL;
}

static void test_wait_for(void) {
    CHECK(cl_async_run(main_wait_for, NULL, NULL) == CL_FUTURE_OK);
}

static void *main_wait_and_gather(void *arg) {
    (void)arg;
    sleep_job a = {0.05, 0, 0, 0}, b = {0.5, 0, 0, 0};
    cl_future *f[2];
    f[0] = cl_async_create_task(sleep_for, &a);
    f[1] = cl_async_create_task(sleep_for, &b);
    double start = cl_now();
    CHECK(cl_async_wait(f, 2, CL_FIRST_COMPLETED, CL_FOREVER) == 1);
    CHECK(cl_now() - start < 0.3);
    CHECK(cl_async_wait(f, 2, CL_ALL_COMPLETED, 0.05) == 1); /* timed out */
    CHECK(cl_async_wait(f, 2, CL_ALL_COMPLETED, CL_FOREVER) == 2);
    cl_future_free(f[0]);
    cl_future_free(f[1]);

    /* gather: every result or error, or fail fast at the first error */
    cl_future *g[3];
    sleep_job slow = {1.0, 0, 0, 0};
    g[0] = cl_async_create_task(fail_with, "first");
    g[1] = cl_async_create_task(sleep_for, &slow);
    g[2] = cl_async_create_task(return_arg, "x");
    start = cl_now();
    CHECK(cl_async_gather(g, 3, 1) == -1);
    CHECK(cl_now() - start < 0.5);            /* did not wait for the slow one */
    CHECK(!cl_future_done(g[1]));             /* and did not cancel it */
    CHECK(cl_async_gather(g, 3, 0) == -1);    /* all done now; one failed */
    CHECK(cl_future_done(g[1]) && cl_future_succeeded(g[1]) == 1);
    for (int i = 0; i < 3; i++) cl_future_free(g[i]);

    /* wait with FIRST_EXCEPTION */
    cl_future *h[2];
    sleep_job slower = {0.5, 0, 0, 0};
    h[0] = cl_async_create_task(sleep_for, &slower);
    h[1] = cl_async_create_task(fail_with, "oops");
    CHECK(cl_async_wait(h, 2, CL_FIRST_EXCEPTION, CL_FOREVER) == 1);
    CHECK_STR(cl_future_error(h[1]), "oops");
    cl_task_cancel(h[0]);
    cl_await(h[0], NULL);
    cl_future_free(h[0]);
    cl_future_free(h[1]);
    return NULL;
}

static void test_wait_and_gather(void) {
    CHECK(cl_async_run(main_wait_and_gather, NULL, NULL) == CL_FUTURE_OK);
}

/* ---- task groups ------------------------------------------------------------------------------ */

static void *main_task_group(void *arg) {
    (void)arg;
    /* all succeed */
    cl_task_group *g = cl_task_group_new();
    sleep_job a = {0.05, 0, 0, 0}, b = {0.1, 0, 0, 0};
    cl_future *fa = cl_task_group_create_task(g, sleep_for, &a);
    cl_task_group_create_task(g, sleep_for, &b);
    CHECK(cl_task_group_wait(g) == 0);
    CHECK(cl_task_group_error(g) == NULL);
    CHECK(cl_future_done(fa) && a.result == 0 && b.result == 0);
    cl_task_group_free(g);

    /* one fails: the others are cancelled, the owner's await is interrupted, the group says why */
    g = cl_task_group_new();
    int cancelled = 0;
    cl_task_group_create_task(g, group_sleeper, &cancelled);
    cl_future *bad = cl_task_group_create_task(g, fail_with, "broken");
    cl_task_group_create_task(g, group_sleeper, &cancelled);
    double start = cl_now();
    int slept = cl_async_sleep(5); /* the owner, before `async with` ends: cancelled by the group */
    CHECK(slept == -1);
    CHECK(cl_task_group_wait(g) == -1);
    CHECK(cl_now() - start < 1.0);
    CHECK(cancelled == 2);
    char want[64];
    snprintf(want, sizeof want, "task '%s': broken", cl_task_name(bad));
    CHECK_STR(cl_task_group_error(g), want);
    CHECK(cl_task_cancelling(cl_task_current()) == 0); /* the group took its cancellation back */
    CHECK(cl_task_group_create_task(g, return_arg, NULL) == NULL); /* finished: refused, reported */
    cl_task_group_free(g);
    CHECK(cl_async_sleep(0.01) == 0); /* the owner goes on normally */
    return "after group";
}

static void test_task_group(void) {
    void *v = NULL;
    capture_begin();
    CHECK(cl_async_run(main_task_group, NULL, &v) == CL_FUTURE_OK);
    const char *err = capture_end();
    CHECK(v && strcmp((char *)v, "after group") == 0);
    CHECK(!contains(err, "never retrieved"));
    CHECK(contains(err, "cl_task_group_create_task: the TaskGroup is shutting down"));
}

/* ---- shield ----------------------------------------------------------------------------------- */

static void *main_shield(void *arg) {
    (void)arg;
    sleep_job j = {0.1, 0, 0, 0};
    cl_future *inner = cl_async_create_task(sleep_for, &j);
    cl_future *outer = cl_async_shield(inner);
    CHECK(cl_future_cancel(outer) == 1);
    CHECK(cl_future_cancelled(outer) == 1);
    CHECK(cl_await(inner, NULL) == CL_FUTURE_OK && j.result == 0); /* untouched */
    cl_future *outer2 = cl_async_shield(inner);
    void *v = NULL;
    CHECK(cl_await(outer2, &v) == CL_FUTURE_OK && v == &j);
    cl_future_free(outer);
    cl_future_free(outer2);
    cl_future_free(inner);
    return NULL;
}

static void test_shield(void) {
    CHECK(cl_async_run(main_shield, NULL, NULL) == CL_FUTURE_OK);
}

/* ---- many tasks ------------------------------------------------------------------------------- */

static int woke_count;

static void *count_after_sleep(void *arg) {
    (void)arg;
    if (cl_async_sleep(0.5) == 0) woke_count++;
    return NULL;
}

static void *main_many_sleepers(void *arg) {
    int n = *(int *)arg;
    cl_future **f = malloc((size_t)n * sizeof *f);
    double start = cl_now();
    for (int i = 0; i < n; i++) f[i] = cl_async_create_task(count_after_sleep, NULL);
    CHECK(cl_async_gather(f, n, 0) == 0);
    double took = cl_now() - start;
    CHECK(took >= 0.49 && took < 15.0);
    printf("%d sleeping tasks: %.2f s for 0.5 s sleeps\n", n, took);
    for (int i = 0; i < n; i++) cl_future_free(f[i]);
    free(f);
    return NULL;
}

static void test_many_sleepers(void) {
    int n = MANY_TASKS;
    woke_count = 0;
    CHECK(cl_async_run(main_many_sleepers, &n, NULL) == CL_FUTURE_OK);
    CHECK(woke_count == n);
}

/* ---- a blocking call stalls every task -------------------------------------------------------- */

static void *busy_loop(void *arg) {
    double until = cl_now() + *(double *)arg;
    while (cl_now() < until) {
    }
    return NULL;
}

static void *main_blocking(void *arg) {
    double *lateness = arg;
    double busy = 0.3;
    sleep_job j = {0.05, 0, 0, 0};
    double start = cl_now();
    cl_future *s = cl_async_create_task(sleep_for, &j);
    cl_future *b = cl_async_create_task(busy_loop, &busy);
    cl_await(s, NULL);
    cl_await(b, NULL);
    *lateness = j.ended_at - start - 0.05;
    cl_future_free(s);
    cl_future_free(b);
    return NULL;
}

static void test_blocking_stalls_others(void) {
    double lateness = 0;
    CHECK(cl_async_run(main_blocking, &lateness, NULL) == CL_FUTURE_OK);
    CHECK(lateness >= 0.2); /* the sleeper could not wake while the busy loop held the loop */
}

/* ---- errors instead of hangs ------------------------------------------------------------------ */

static void test_await_outside_task(void) {
    cl_future *f = cl_future_new();
    capture_begin();
    CHECK(cl_await(f, NULL) == CL_FUTURE_ERROR);
    CHECK(cl_async_sleep(0.1) == -1);
    CHECK(cl_async_create_task(return_arg, NULL) == NULL);
    const char *err = capture_end();
    CHECK(starts_with(err, "cl_await: not inside a task"));
    CHECK(contains(err, "cl_async_sleep: not inside a task"));
    CHECK(contains(err, "cl_async_create_task: no running event loop"));
    cl_future_free(f);
}

static int cleanup_ran;

static void *await_forever(void *arg) {
    cl_future *f = arg;
    if (cl_await(f, NULL) == CL_FUTURE_CANCELLED) cleanup_ran++;
    return NULL;
}

static void *main_deadlock(void *arg) {
    (void)arg;
    cl_future *never = cl_future_new(); /* made in the loop: only the loop could complete it */
    cl_future *helper = cl_async_create_task_ex("helper", 0, await_forever, never);
    int status = cl_await(helper, NULL);
    if (status == CL_FUTURE_CANCELLED) cleanup_ran++;
    cl_future_free(helper);
    cl_future_free(never);
    return NULL;
}

static void *await_other(void *arg) {
    cl_future **other = arg;
    cl_await(*other, NULL);
    return NULL;
}

static void *main_mutual(void *arg) {
    (void)arg;
    static cl_future *me;
    me = cl_task_current();
    cl_future *b = cl_async_create_task_ex("B", 0, await_other, &me);
    cl_await(b, NULL);
    cl_future_free(b);
    return NULL;
}

static void test_deadlock_report(void) {
    cleanup_ran = 0;
    capture_begin();
    double start = cl_now();
    int status = cl_async_run(main_deadlock, NULL, NULL);
    const char *err = capture_end();
    CHECK(status == CL_FUTURE_ERROR);
    CHECK(cl_now() - start < 2.0);
    CHECK(starts_with(err, "cl_async_run: deadlock: main task 'Task-"));
    CHECK(contains(err, "waits for task 'helper', which waits for a future"));
    CHECK(cleanup_ran == 2);

    capture_begin();
    status = cl_async_run(main_mutual, NULL, NULL);
    err = capture_end();
    CHECK(status == CL_FUTURE_ERROR);
    CHECK(contains(err, "waits for task 'B', which waits for task 'Task-"));
}

/* Recurses until the depth asked for, far beyond what a 16 KiB stack holds. */
static long recurse(long depth) {
    volatile char big[1024];
    big[0] = (char)depth;
    if (depth <= 0) return big[0];
    return recurse(depth - 1) + big[0];
}

static void *overflow(void *arg) {
    (void)arg;
    return (void *)(size_t)recurse(1000000);
}

static void *main_overflow(void *arg) {
    (void)arg;
    /* Created under one name and renamed: the report must give the name the task has now
     * (the name given at creation is checked by tests/protocol/test_event_loop.py). */
    cl_future *t = cl_async_create_task_ex("not-yet-named", 0, overflow, NULL);
    cl_task_set_name(t, "deep-recursion");
    cl_await(t, NULL);
    return NULL;
}

static void test_stack_overflow_names_task(void) {
    int pipefd[2];
    CHECK(pipe(pipefd) == 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pipefd[1], 2);
        close(pipefd[0]);
        cl_async_run(main_overflow, NULL, NULL);
        _exit(0);
    }
    close(pipefd[1]);
    char text[4096];
    size_t used = 0;
    ssize_t n;
    while (used < sizeof text - 1 && (n = read(pipefd[0], text + used, sizeof text - 1 - used)) > 0) used += (size_t)n;
    text[used] = '\0';
    close(pipefd[0]);
    int wstatus = 0;
    waitpid(pid, &wstatus, 0);
    CHECK(WIFSIGNALED(wstatus));
    CHECK(contains(text, "stack overflow in task 'deep-recursion'"));
}

static void *main_unretrieved(void *arg) {
    (void)arg;
    cl_future *t = cl_async_create_task_ex("lost", 0, fail_with, "nobody reads this");
    cl_future_free(t); /* the loop still holds it: it runs, fails, and is dropped */
    cl_async_sleep(0.05);
    cl_future *read = cl_async_create_task_ex("read", 0, fail_with, "read");
    cl_await(read, NULL); /* retrieved: no report */
    cl_future_free(read);
    return NULL;
}

static void test_unretrieved_error(void) {
    capture_begin();
    CHECK(cl_async_run(main_unretrieved, NULL, NULL) == CL_FUTURE_OK);
    const char *err = capture_end();
    CHECK(contains(err, "Task exception was never retrieved: task 'lost': nobody reads this"));
    CHECK(!contains(err, "task 'read'"));
}

static void *slow_step(void *arg) {
    (void)arg;
    usleep(150000);
    return NULL;
}

static void *main_debug(void *arg) {
    (void)arg;
    cl_loop *l = cl_loop_current();
    cl_loop_set_debug(l, 1);
    cl_future *t = cl_async_create_task_ex("hog", 0, slow_step, NULL);
    cl_await(t, NULL);
    cl_future_free(t);
    cl_loop_set_slow_callback_duration(l, 10);
    t = cl_async_create_task_ex("hog-ok", 0, slow_step, NULL);
    cl_await(t, NULL);
    cl_future_free(t);
    return NULL;
}

static void test_debug_slow_callback(void) {
    capture_begin();
    CHECK(cl_async_run(main_debug, NULL, NULL) == CL_FUTURE_OK);
    const char *err = capture_end();
    CHECK(contains(err, "Executing <Task 'hog'> took 0.1"));
    CHECK(!contains(err, "hog-ok"));
}

static void *nested_run(void *arg) {
    (void)arg;
    capture_begin();
    int status = cl_async_run(main_returns, NULL, NULL);
    const char *err = capture_end();
    CHECK(status == CL_FUTURE_ERROR);
    CHECK(starts_with(err, "cl_async_run: cannot be called from a running event loop"));
    cl_future *me = cl_task_current();
    capture_begin();
    CHECK(cl_await(me, NULL) == CL_FUTURE_ERROR);
    CHECK(cl_future_result(me, 1.0, NULL) == CL_FUTURE_ERROR); /* would block its own loop */
    CHECK(cl_async_sleep(-1) == -1);
    err = capture_end();
    CHECK(contains(err, "awaits itself"));
    CHECK(contains(err, "cl_future_result: the future belongs to the event loop"));
    CHECK(contains(err, "cl_async_sleep: seconds must be >= 0"));
    return NULL;
}

static void test_misuse(void) {
    CHECK(cl_async_run(nested_run, NULL, NULL) == CL_FUTURE_OK);
    capture_begin();
    CHECK(cl_async_run(NULL, NULL, NULL) == CL_FUTURE_ERROR);
    CHECK(cl_loop_call_soon(NULL, append, NULL) == -1);
    const char *err = capture_end();
    CHECK(starts_with(err, "cl_async_run: main_fn is NULL"));
    CHECK(contains(err, "cl_loop_call_soon: loop is NULL"));
}

/* Runs one test, or only the one named by CL_TEST_ONLY. */
#define RUN(test) do { const char *only_ = getenv("CL_TEST_ONLY"); \
    if (!only_ || strcmp(only_, #test) == 0) { printf("%s\n", #test); test(); } } while (0)

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    RUN(test_run_returns_result);
    RUN(test_run_reports_failure);
    RUN(test_gather_runs_concurrently);
    RUN(test_callbacks);
    RUN(test_run_until_complete);
    RUN(test_tasks);
    RUN(test_cancel_sleep);
    RUN(test_cancel_kinds);
    RUN(test_cancel_every_await);
    RUN(test_foreign_futures);
    RUN(test_wait_for);
    RUN(test_wait_and_gather);
    RUN(test_task_group);
    RUN(test_shield);
    RUN(test_many_sleepers);
    RUN(test_blocking_stalls_others);
    RUN(test_await_outside_task);
    RUN(test_deadlock_report);
    if (!SANITIZED) RUN(test_stack_overflow_names_task); /* sanitizers take SIGSEGV themselves */
    RUN(test_unretrieved_error);
    RUN(test_debug_slow_callback);
    RUN(test_misuse);
    return check_summary("test_runtime_loop");
}
