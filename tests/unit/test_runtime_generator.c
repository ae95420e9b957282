/* test_runtime_generator.c — async generators (`async for`, aclose, awaits inside the body,
 * cancellation, misuse) and stackless generators (CL_GEN_* macros), including Part VII's toy
 * event loop: a round-robin scheduler of stackless generators with sleeping, printing
 * interleaved output. Runs as gcc code and, in plain builds, compiled by tcc. */
#include <conclab.h>

#include "capture_stderr.h"
#include "check.h"

/* ---- async generators ---- */

static void ticker(void *arg) {                 /* async def ticker(n): yield i; sleep */
    long n = (long)arg;
    for (long i = 0; i < n; i++) {
        if (cl_async_gen_yield((void *)i) < 0) return;
        cl_async_sleep(0.01);
    }
}

static long ticks_elsewhere;
static void *other_task(void *arg) {
    (void)arg;
    for (;;) {
        ticks_elsewhere++;
        if (cl_async_sleep(0.002) < 0) break;
    }
    return NULL;
}

static void *consume_main(void *arg) {
    (void)arg;
    cl_future *other = cl_async_create_task(other_task, NULL);
    cl_async_gen *g = cl_async_gen_new(ticker, (void *)5L);
    CHECK(g != NULL);
    CHECK(starts_with(cl_async_gen_name(g), "async_gen-"));
    void *v;
    long expect = 0, bad = 0;
    double t0 = cl_now();
    while (cl_async_gen_next(g, &v) == 1) {     /* async for v in ticker(5) */
        if ((long)v != expect) bad++;
        expect++;
    }
    double took = cl_now() - t0;
    CHECK(bad == 0);
    CHECK(expect == 5);
    CHECK(took >= 0.04 && took < 2.0);          /* four sleeps of 10 ms between yields */
    CHECK(ticks_elsewhere >= 3);                /* the sleeps inside let other tasks run */
    CHECK(cl_async_gen_finished(g) == 1);
    CHECK(cl_async_gen_next(g, &v) == 0);       /* StopAsyncIteration again */
    cl_async_gen_free(g);
    cl_task_cancel(other);
    cl_await(other, NULL);
    cl_future_free(other);
    return NULL;
}

static void test_consume(void) {
    ticks_elsewhere = 0;
    CHECK(cl_async_run(consume_main, NULL, NULL) == CL_FUTURE_OK);
}

/* The body runs in a task of its own, named after the generator, while the consumer waits. */
static cl_future *seen_task;
static void who_am_i(void *arg) {
    (void)arg;
    cl_async_sleep(0.001);
    seen_task = cl_task_current();
    cl_async_gen_yield(NULL);
}

static void *current_main(void *arg) {
    (void)arg;
    cl_async_gen *g = cl_async_gen_new_ex("whoami", 0, who_am_i, NULL);
    void *v;
    CHECK(cl_async_gen_next(g, &v) == 1);
    CHECK(seen_task != NULL && seen_task != cl_task_current());
    CHECK_STR(cl_task_name(seen_task), "whoami");
    CHECK(cl_async_gen_next(g, &v) == 0);
    cl_async_gen_free(g);
    return NULL;
}

/* aclose: the body sees -1 at its yield, cleans up (awaiting), returns. */
static int cleaned_up, yields_after_close;
static void endless(void *arg) {
    (void)arg;
    for (long i = 0;; i++) {
        if (cl_async_gen_yield((void *)i) < 0) break;
    }
    cl_async_sleep(0.01);                       /* cleanup may await */
    cleaned_up++;
}

static void stubborn(void *arg) {
    (void)arg;
    cl_async_gen_yield("one");
    cl_async_gen_yield("ignored close");       /* Python: RuntimeError */
    yields_after_close++;                       /* reached: the yield returned -1 at once */
}

static void *aclose_main(void *arg) {
    (void)arg;
    void *v;
    cl_async_gen *g = cl_async_gen_new(endless, NULL);
    for (int i = 0; i < 3; i++) CHECK(cl_async_gen_next(g, &v) == 1 && (long)v == i);
    CHECK(cleaned_up == 0);
    CHECK(cl_async_gen_aclose(g) == 0);
    CHECK(cleaned_up == 1);
    CHECK(cl_async_gen_finished(g) == 1);
    CHECK(cl_async_gen_next(g, &v) == 0);
    CHECK(cl_async_gen_aclose(g) == 0);         /* closing twice is harmless */
    cl_async_gen_free(g);

    /* Dropped in the middle: free closes it, so the cleanup runs. */
    g = cl_async_gen_new(endless, NULL);
    CHECK(cl_async_gen_next(g, &v) == 1);
    cl_async_gen_free(g);
    CHECK(cleaned_up == 2);

    /* Never started: nothing runs at all. */
    g = cl_async_gen_new(endless, NULL);
    CHECK(cl_async_gen_aclose(g) == 0);
    cl_async_gen_free(g);
    CHECK(cleaned_up == 2);

    g = cl_async_gen_new_ex("stubborn", 0, stubborn, NULL);
    CHECK_STR(cl_async_gen_name(g), "stubborn");
    CHECK(cl_async_gen_next(g, &v) == 1);
    capture_begin();
    int r = cl_async_gen_aclose(g);
    const char *out = capture_end();
    CHECK(r == -1);
    CHECK(strstr(out, "ignored GeneratorExit") != NULL);
    CHECK(strstr(out, "stubborn") != NULL);
    CHECK(cl_async_gen_finished(g) == 1);
    CHECK(yields_after_close == 1);
    cl_async_gen_free(g);
    return NULL;
}

static void test_aclose(void) {
    cleaned_up = 0; yields_after_close = 0;
    CHECK(cl_async_run(current_main, NULL, NULL) == CL_FUTURE_OK);
    CHECK(cl_async_run(aclose_main, NULL, NULL) == CL_FUTURE_OK);
}

/* Cancelling the consumer while the body awaits: the body sees it and ends, next says -1. */
static int body_saw_cancel;
static void slow_source(void *arg) {
    (void)arg;
    cl_async_gen_yield("first");
    if (cl_async_sleep(10) < 0) body_saw_cancel = 1;
}

static int next_after_cancel;
static void *slow_consumer(void *arg) {
    (void)arg;
    void *v;
    cl_async_gen *g = cl_async_gen_new(slow_source, NULL);
    cl_async_gen_next(g, &v);
    next_after_cancel = cl_async_gen_next(g, &v);
    cl_async_gen_free(g);
    return NULL;
}

static cl_async_gen *shared_gen;
static int second_consumer_result;
static void *second_consumer(void *arg) {
    (void)arg;
    void *v;
    second_consumer_result = cl_async_gen_next(shared_gen, &v);
    return NULL;
}
static void *first_consumer(void *arg) {
    (void)arg;
    void *v;
    cl_async_gen_next(shared_gen, &v);          /* suspends in the body's sleep */
    return NULL;
}
static void sleeper_gen(void *arg) {
    (void)arg;
    cl_async_sleep(0.05);
    cl_async_gen_yield("late");
}

static void *cancel_main(void *arg) {
    (void)arg;
    body_saw_cancel = 0; next_after_cancel = 99;
    cl_future *t = cl_async_create_task(slow_consumer, NULL);
    cl_async_sleep(0.02);
    double t0 = cl_now();
    cl_task_cancel(t);
    cl_await(t, NULL);
    CHECK(cl_now() - t0 < 2.0);
    CHECK(body_saw_cancel == 1);
    CHECK(next_after_cancel == -1);
    CHECK(cl_future_cancelled(t) == 1);
    cl_future_free(t);

    /* One consumer at a time (Python: "anext(): asynchronous generator is already running"). */
    shared_gen = cl_async_gen_new(sleeper_gen, NULL);
    cl_future *a = cl_async_create_task(first_consumer, NULL);
    cl_async_sleep(0.01);
    capture_begin();
    cl_future *b = cl_async_create_task(second_consumer, NULL);
    cl_await(b, NULL);
    const char *out = capture_end();
    CHECK(second_consumer_result == -1);
    CHECK(starts_with(out, "cl_async_gen_next: "));
    CHECK(strstr(out, "already running") != NULL);
    cl_await(a, NULL);
    cl_async_gen_free(shared_gen);
    cl_future_free(a);
    cl_future_free(b);
    return NULL;
}

static void test_cancel(void) {
    CHECK(cl_async_run(cancel_main, NULL, NULL) == CL_FUTURE_OK);
}

/* A generator that consumes another one: the inner one's awaits pass through both. */
static void inner_gen(void *arg) {
    (void)arg;
    for (long i = 1; i <= 3; i++) {
        cl_async_sleep(0.005);
        if (cl_async_gen_yield((void *)i) < 0) return;
    }
}
static void doubling_gen(void *arg) {
    (void)arg;
    cl_async_gen *inner = cl_async_gen_new(inner_gen, NULL);
    void *v;
    while (cl_async_gen_next(inner, &v) == 1) {
        cl_async_sleep(0.005);
        if (cl_async_gen_yield((void *)((long)v * 2)) < 0) break;
    }
    cl_async_gen_free(inner);
}
static void *nested_main(void *arg) {
    (void)arg;
    cl_future *other = cl_async_create_task(other_task, NULL);
    cl_async_gen *g = cl_async_gen_new(doubling_gen, NULL);
    void *v;
    long sum = 0;
    while (cl_async_gen_next(g, &v) == 1) sum += (long)v;
    CHECK(sum == 12);
    CHECK(ticks_elsewhere >= 3);
    cl_async_gen_free(g);
    cl_task_cancel(other);
    cl_await(other, NULL);
    cl_future_free(other);
    return NULL;
}

static void count_to(void *arg) {
    for (long i = 0; i < (long)arg; i++) cl_async_gen_yield((void *)i);
}

static void test_nested_and_plain(void) {
    ticks_elsewhere = 0;
    CHECK(cl_async_run(nested_main, NULL, NULL) == CL_FUTURE_OK);

    cl_async_gen *g = cl_async_gen_new(count_to, (void *)4L);
    void *v;
    capture_begin();
    int r0 = cl_async_gen_next(g, &v);          /* the consumer must be a task */
    const char *out0 = capture_end();
    CHECK(r0 == -1);
    CHECK(starts_with(out0, "cl_async_gen_next: "));
    cl_async_gen_free(g);                       /* never started: nothing to close */

    capture_begin();
    int r = cl_async_gen_yield(NULL);
    const char *out = capture_end();
    CHECK(r == -1);
    CHECK(starts_with(out, "cl_async_gen_yield: "));
    capture_begin();
    g = cl_async_gen_new(NULL, NULL);
    out = capture_end();
    CHECK(g == NULL);
    CHECK(starts_with(out, "cl_async_gen_new: "));
}

/* ---- stackless generators ---- */

typedef struct { int resume; int i; } countdown;

static int countdown_next(countdown *g, int *out) {
    CL_GEN_BEGIN(g->resume);
    for (g->i = 3; g->i > 0; g->i--)
        CL_GEN_YIELD(g->resume, (*out = g->i, 1));
    CL_GEN_END(g->resume, 0);
}

static void test_stackless(void) {
    countdown g = {CL_GEN_START, 0};
    int v, got[8], n = 0;
    while (countdown_next(&g, &v) && n < 8) got[n++] = v;
    CHECK(n == 3);
    CHECK(got[0] == 3 && got[1] == 2 && got[2] == 1);
    CHECK(CL_GEN_FINISHED(g.resume));
    CHECK(countdown_next(&g, &v) == 0);         /* stays finished */
    countdown a = {CL_GEN_START, 0}, b = {CL_GEN_START, 0};
    int va = 0, vb = 0;
    countdown_next(&a, &va);                    /* two instances, independent states */
    countdown_next(&a, &va);
    countdown_next(&b, &vb);
    CHECK(va == 2 && vb == 3);
}

/* Part VII's toy event loop: tasks are stackless generators; each step returns what it waits
 * for (run again now, or sleep k ticks); the scheduler keeps a ready queue, a sleeping list,
 * and a clock of ticks, and prints what the tasks say. */

typedef struct toy_task {
    int resume;
    const char *name;
    int i, n;
    int wake_at;                                /* tick at which a sleeping task is ready */
} toy_task;

enum { TOY_DONE = 0, TOY_READY = -1 };          /* a step's answer, or >0: sleep that many ticks */

static char toy_out[512];
static int toy_tick;

static void toy_say(const toy_task *t, const char *what, int i) {
    char line[64];
    snprintf(line, sizeof line, "%d %s %s %d\n", toy_tick, t->name, what, i);
    strncat(toy_out, line, sizeof toy_out - strlen(toy_out) - 1);
}

static int countdown_step(toy_task *t) {        /* def countdown(n): while n: print; yield */
    CL_GEN_BEGIN(t->resume);
    for (t->i = t->n; t->i > 0; t->i--) {
        toy_say(t, "T-minus", t->i);
        CL_GEN_YIELD(t->resume, TOY_READY);
    }
    CL_GEN_END(t->resume, TOY_DONE);
}

static int countup_step(toy_task *t) {          /* def countup(n): print; yield sleep(2) */
    CL_GEN_BEGIN(t->resume);
    for (t->i = 0; t->i < t->n; t->i++) {
        toy_say(t, "up", t->i);
        CL_GEN_YIELD(t->resume, 2);
    }
    CL_GEN_END(t->resume, TOY_DONE);
}

static int gate_open;
static int waiter_step(toy_task *t) {           /* waits until a flag is set, then speaks */
    CL_GEN_BEGIN(t->resume);
    CL_GEN_WAIT_UNTIL(t->resume, gate_open, TOY_READY);
    toy_say(t, "gate", 1);
    CL_GEN_END(t->resume, TOY_DONE);
}

typedef int (*toy_step_fn)(toy_task *t);

static void toy_run(toy_task *tasks, toy_step_fn *steps, int n) {
    int ready[8], n_ready = 0, sleeping[8], n_sleeping = 0;
    for (int i = 0; i < n; i++) ready[n_ready++] = i;
    toy_tick = 0;
    while (n_ready || n_sleeping) {
        /* One round: run every ready task once, in order (round robin). */
        int round[8], n_round = n_ready;
        memcpy(round, ready, sizeof ready);
        n_ready = 0;
        for (int k = 0; k < n_round; k++) {
            int id = round[k];
            int r = steps[id](&tasks[id]);
            if (r == TOY_READY) ready[n_ready++] = id;
            else if (r > 0) { tasks[id].wake_at = toy_tick + r; sleeping[n_sleeping++] = id; }
        }
        toy_tick++;
        if (toy_tick == 3) gate_open = 1;
        for (int k = 0; k < n_sleeping;) {     /* wake the sleepers whose time has come */
            if (tasks[sleeping[k]].wake_at <= toy_tick) {
                ready[n_ready++] = sleeping[k];
                sleeping[k] = sleeping[--n_sleeping];
            } else {
                k++;
            }
        }
    }
}

static void test_toy_event_loop(void) {
    toy_task tasks[3] = {
        {CL_GEN_START, "A", 0, 3, 0},
        {CL_GEN_START, "B", 0, 2, 0},
        {CL_GEN_START, "C", 0, 0, 0},
    };
    toy_step_fn steps[3] = {countdown_step, countup_step, waiter_step};
    toy_out[0] = '\0';
    gate_open = 0;
    toy_run(tasks, steps, 3);
    printf("%s", toy_out);                      /* the interleaving, for the reader */
    CHECK_STR(toy_out,
              "0 A T-minus 3\n"
              "0 B up 0\n"
              "1 A T-minus 2\n"
              "2 A T-minus 1\n"
              "2 B up 1\n"
              "3 C gate 1\n");
    for (int i = 0; i < 3; i++) CHECK(CL_GEN_FINISHED(tasks[i].resume));
}

int main(void) {
    test_consume();
    test_aclose();
    test_cancel();
    test_nested_and_plain();
    test_stackless();
    test_toy_event_loop();
    return check_summary("test_runtime_generator");
}
