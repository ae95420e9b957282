/* test_runtime_future.c — cl_future on its own, completed by hand or by helper threads: every
 * state transition, results, errors, cancelling, done callbacks, timeouts, cl_futures_wait and
 * cl_as_completed, and the misuse lines. Also compiled by tcc (test_runtime_future_tcc). */
#include <conclab.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "capture_stderr.h"
#include "check.h"

#ifdef __TINYC__
#define SUITE "test_runtime_future (tcc)"
#else
#define SUITE "test_runtime_future"
#endif

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define USE_AFTER_FREE_CHECKS 0 /* sanitizers rightly flag the read that detects a double free */
#else
#define USE_AFTER_FREE_CHECKS 1
#endif

/* ---- helpers: completing futures from another thread later -------------------------------- */

typedef struct later {
    cl_future *f;
    double delay;
    void *value;
    const char *error; /* set: fail instead */
    pthread_t thread;
} later;

static void *complete_after_delay(void *arg) {
    later *l = arg;
    cl_sleep(l->delay);
    if (l->error) cl_future_set_error(l->f, l->error);
    else cl_future_set_result(l->f, l->value);
    return NULL;
}

static void complete_later(later *l, cl_future *f, double delay, void *value, const char *error) {
    l->f = f;
    l->delay = delay;
    l->value = value;
    l->error = error;
    pthread_create(&l->thread, NULL, complete_after_delay, l);
}

static void join_later(later *l) {
    pthread_join(l->thread, NULL);
}

/* ---- states ------------------------------------------------------------------------------- */

static void test_pending_running_finished(void) {
    cl_future *f = cl_future_new();
    CHECK(f != NULL);
    CHECK(!cl_future_done(f) && !cl_future_running(f) && !cl_future_cancelled(f));

    CHECK(cl_future_set_running(f) == 1);
    CHECK(cl_future_running(f) && !cl_future_done(f));

    int x = 42;
    CHECK(cl_future_set_result(f, &x) == 0);
    CHECK(cl_future_done(f) && !cl_future_running(f) && !cl_future_cancelled(f));
    void *value = NULL;
    CHECK(cl_future_result(f, 0, &value) == CL_FUTURE_OK);
    CHECK(value == &x);
    CHECK(cl_future_result(f, 1.0, NULL) == CL_FUTURE_OK); /* value is optional */
    CHECK(cl_future_error(f) == NULL);
    cl_future_free(f);
}

static void test_pending_to_finished_without_running(void) {
    cl_future *f = cl_future_new();
    CHECK(cl_future_set_result(f, (void *)7) == 0); /* producers with no running step */
    void *value;
    CHECK(cl_future_result(f, CL_FOREVER, &value) == CL_FUTURE_OK && value == (void *)7);
    cl_future_free(f);
}

static void test_error_state(void) {
    cl_future *f = cl_future_new();
    cl_future_set_running(f);
    CHECK(cl_future_error(f) == NULL);
    CHECK(cl_future_set_error(f, "disk on fire") == 0);
    void *value = (void *)1;
    CHECK(cl_future_result(f, 0, &value) == CL_FUTURE_ERROR);
    CHECK(value == NULL);
    CHECK_STR(cl_future_error(f), "disk on fire");
    CHECK(cl_future_done(f) && !cl_future_cancelled(f));
    cl_future_free(f);
}

static void test_completing_twice_is_reported(void) {
    cl_future *f = cl_future_new();
    cl_future_set_result(f, (void *)1);
    capture_begin();
    int again = cl_future_set_result(f, (void *)2);
    int error = cl_future_set_error(f, "late");
    int running = cl_future_set_running(f);
    const char *msg = capture_end();
    CHECK(again == -1 && error == -1 && running == -1);
    CHECK(starts_with(msg, "cl_future_set_result: "));
    CHECK(strstr(msg, "\ncl_future_set_error: ") != NULL);
    CHECK(strstr(msg, "\ncl_future_set_running: ") != NULL);
    void *value;
    CHECK(cl_future_result(f, 0, &value) == CL_FUTURE_OK && value == (void *)1); /* first wins */
    cl_future_free(f);

    f = cl_future_new();
    cl_future_set_running(f);
    capture_begin();
    running = cl_future_set_running(f);
    msg = capture_end();
    CHECK(running == -1);
    CHECK(starts_with(msg, "cl_future_set_running: "));
    cl_future_free(f);
}

static void test_cancel_pending(void) {
    cl_future *f = cl_future_new();
    CHECK(cl_future_cancel(f) == 1);
    CHECK(cl_future_cancelled(f) && cl_future_done(f) && !cl_future_running(f));
    CHECK(cl_future_cancel(f) == 1); /* as in Python: still cancelled */
    void *value = (void *)1;
    CHECK(cl_future_result(f, 0, &value) == CL_FUTURE_CANCELLED && value == NULL);
    CHECK(cl_future_error(f) == NULL);

    /* The producer learns it should skip the work; completing it anyway is refused quietly. */
    capture_begin();
    int running = cl_future_set_running(f);
    int set = cl_future_set_result(f, (void *)3);
    const char *msg = capture_end();
    CHECK(running == 0);
    CHECK(set == -1);
    CHECK_STR(msg, "");
    CHECK(cl_future_cancelled(f));
    cl_future_free(f);
}

static void test_cancel_running_or_finished_fails(void) {
    cl_future *f = cl_future_new();
    cl_future_set_running(f);
    CHECK(cl_future_cancel(f) == 0);
    CHECK(cl_future_running(f) && !cl_future_cancelled(f));
    cl_future_set_result(f, NULL);
    CHECK(cl_future_cancel(f) == 0);
    CHECK(!cl_future_cancelled(f));
    CHECK(cl_future_result(f, 0, NULL) == CL_FUTURE_OK);
    cl_future_free(f);
}

/* ---- waiting ------------------------------------------------------------------------------ */

static void test_result_times_out(void) {
    cl_future *f = cl_future_new();
    double t0 = cl_now();
    void *value = (void *)1;
    CHECK(cl_future_result(f, 0, &value) == CL_FUTURE_TIMEOUT); /* 0 polls */
    CHECK(value == NULL);
    CHECK(cl_now() - t0 < 1.0); /* a poll: no wait (the future never completes) */

    t0 = cl_now();
    CHECK(cl_future_result(f, 0.2, &value) == CL_FUTURE_TIMEOUT);
    double waited = cl_now() - t0;
    CHECK(waited >= 0.19 && waited < 2.0);
    CHECK(!cl_future_done(f)); /* a timeout leaves the future as it was */
    cl_future_cancel(f);
    cl_future_free(f);
}

static void test_result_wakes_when_completed(void) {
    cl_future *f = cl_future_new();
    later l;
    double t0 = cl_now();
    complete_later(&l, f, 0.05, (void *)99, NULL);
    void *value = NULL;
    CHECK(cl_future_result(f, CL_FOREVER, &value) == CL_FUTURE_OK);
    double waited = cl_now() - t0;
    CHECK(value == (void *)99);
    CHECK(waited >= 0.04 && waited < 2.0);
    join_later(&l);
    cl_future_free(f);

    f = cl_future_new();
    complete_later(&l, f, 0.05, NULL, "late failure");
    CHECK(cl_future_result(f, 5.0, &value) == CL_FUTURE_ERROR);
    CHECK_STR(cl_future_error(f), "late failure");
    join_later(&l);
    cl_future_free(f);
}

/* ---- callbacks ---------------------------------------------------------------------------- */

typedef struct record {
    int calls;
    int order[8];
    pthread_t thread[8];
    int done_seen[8];
} record;

static record rec;

static void note(cl_future *f, void *arg) {
    int i = rec.calls++;
    rec.order[i] = (int)(long)arg;
    rec.thread[i] = pthread_self();
    rec.done_seen[i] = cl_future_done(f);
}

static void test_callbacks_added_before_completion(void) {
    memset(&rec, 0, sizeof rec);
    cl_future *f = cl_future_new();
    CHECK(cl_future_add_done_callback(f, note, (void *)1) == 0);
    CHECK(cl_future_add_done_callback(f, note, (void *)2) == 0);
    CHECK(rec.calls == 0); /* nothing runs before the future is done */
    cl_future_set_running(f);
    CHECK(rec.calls == 0);

    later l;
    complete_later(&l, f, 0.01, NULL, NULL);
    join_later(&l); /* the completing thread has run them by the time it ends */
    CHECK(rec.calls == 2);
    CHECK(rec.order[0] == 1 && rec.order[1] == 2); /* in the order added */
    CHECK(pthread_equal(rec.thread[0], l.thread) && pthread_equal(rec.thread[1], l.thread));
    CHECK(rec.done_seen[0] && rec.done_seen[1]);
    cl_future_free(f);
}

static void test_callback_added_after_completion_runs_at_once(void) {
    memset(&rec, 0, sizeof rec);
    cl_future *f = cl_future_new();
    cl_future_set_error(f, "x");
    CHECK(cl_future_add_done_callback(f, note, (void *)5) == 0);
    CHECK(rec.calls == 1 && rec.order[0] == 5);
    CHECK(pthread_equal(rec.thread[0], pthread_self()));
    cl_future_free(f);
}

static void test_callbacks_run_on_cancel_and_only_once(void) {
    memset(&rec, 0, sizeof rec);
    cl_future *f = cl_future_new();
    cl_future_add_done_callback(f, note, (void *)3);
    cl_future_cancel(f);
    CHECK(rec.calls == 1 && rec.order[0] == 3);
    cl_future_cancel(f);
    cl_future_set_result(f, NULL);
    CHECK(rec.calls == 1);
    cl_future_free(f);

    /* A future freed before it is done drops its callbacks without running them. */
    f = cl_future_new();
    cl_future_add_done_callback(f, note, (void *)4);
    cl_future_free(f);
    CHECK(rec.calls == 1);
}

/* ---- references --------------------------------------------------------------------------- */

static void test_references(void) {
    cl_future *f = cl_future_new();
    CHECK(cl_future_ref(f) == f);
    cl_future_free(f);                   /* one reference left */
    CHECK(cl_future_set_result(f, (void *)1) == 0); /* still alive */
    CHECK(cl_future_done(f));
    cl_future_free(f);                   /* the last one: freed (ASan checks for leaks) */
}

/* ---- many futures ------------------------------------------------------------------------- */

#define MANY 4

static void make_futures(cl_future **futs, int n) {
    for (int i = 0; i < n; i++) futs[i] = cl_future_new();
}

static void free_futures(cl_future **futs, int n) {
    for (int i = 0; i < n; i++) {
        cl_future_cancel(futs[i]);
        cl_future_free(futs[i]);
    }
}

static void test_wait_first_completed(void) {
    cl_future *futs[MANY];
    make_futures(futs, MANY);
    later l;
    double t0 = cl_now();
    complete_later(&l, futs[2], 0.05, NULL, NULL);
    int done = cl_futures_wait(futs, MANY, CL_FIRST_COMPLETED, 10.0);
    double waited = cl_now() - t0;
    CHECK(done == 1);
    CHECK(cl_future_done(futs[2]));
    CHECK(waited >= 0.04 && waited < 2.0); /* woken by the completion, not the timeout */
    join_later(&l);

    /* Already satisfied: returns at once, even with a zero timeout. */
    CHECK(cl_futures_wait(futs, MANY, CL_FIRST_COMPLETED, 0) == 1);
    free_futures(futs, MANY);
}

static void test_wait_all_completed_and_timeout(void) {
    cl_future *futs[MANY];
    make_futures(futs, MANY);
    later l[MANY];
    for (int i = 0; i < MANY; i++) complete_later(&l[i], futs[i], 0.01 * (i + 1), NULL, NULL);
    CHECK(cl_futures_wait(futs, MANY, CL_ALL_COMPLETED, 10.0) == MANY);
    for (int i = 0; i < MANY; i++) CHECK(cl_future_done(futs[i]));
    for (int i = 0; i < MANY; i++) join_later(&l[i]);
    free_futures(futs, MANY);

    /* One never completes: the wait gives up after its timeout and says how many are done. */
    make_futures(futs, MANY);
    for (int i = 0; i < MANY - 1; i++) cl_future_set_result(futs[i], NULL);
    double t0 = cl_now();
    CHECK(cl_futures_wait(futs, MANY, CL_ALL_COMPLETED, 0.2) == MANY - 1);
    double waited = cl_now() - t0;
    CHECK(waited >= 0.19 && waited < 2.0);
    CHECK(cl_futures_wait(futs, 0, CL_ALL_COMPLETED, 0) == 0); /* nothing to wait for */
    free_futures(futs, MANY);
}

static void test_wait_first_exception(void) {
    cl_future *futs[MANY];
    make_futures(futs, MANY);
    cl_future_set_result(futs[0], NULL); /* a success does not end a FIRST_EXCEPTION wait */
    later l;
    complete_later(&l, futs[3], 0.05, NULL, "boom");
    double t0 = cl_now();
    CHECK(cl_futures_wait(futs, MANY, CL_FIRST_EXCEPTION, 10.0) == 2);
    CHECK(cl_now() - t0 < 2.0);
    CHECK_STR(cl_future_error(futs[3]), "boom");
    join_later(&l);
    free_futures(futs, MANY);

    /* Without any error it waits for all of them, as ALL_COMPLETED does. */
    make_futures(futs, 2);
    cl_future_set_result(futs[0], NULL);
    complete_later(&l, futs[1], 0.05, NULL, NULL);
    CHECK(cl_futures_wait(futs, 2, CL_FIRST_EXCEPTION, 10.0) == 2);
    join_later(&l);
    free_futures(futs, 2);
}

static void test_as_completed_order_and_duplicates(void) {
    cl_future *futs[MANY];
    make_futures(futs, MANY);
    cl_future_set_result(futs[1], NULL); /* done before iterating: comes first */
    cl_future *listed[MANY + 2] = {futs[0], futs[1], futs[2], futs[3], futs[2], futs[0]};
    cl_as_completed *it = cl_as_completed_new(listed, MANY + 2, 10.0);
    CHECK(it != NULL);
    CHECK(cl_as_completed_remaining(it) == MANY); /* repeats count once */
    later l[3];
    complete_later(&l[0], futs[3], 0.02, NULL, NULL);
    complete_later(&l[1], futs[0], 0.10, NULL, NULL);
    complete_later(&l[2], futs[2], 0.20, NULL, "third");
    CHECK(cl_as_completed_next(it) == futs[1]);
    CHECK(cl_as_completed_next(it) == futs[3]);
    CHECK(cl_as_completed_next(it) == futs[0]);
    CHECK(cl_as_completed_next(it) == futs[2]);
    CHECK(cl_as_completed_next(it) == NULL);
    CHECK(cl_as_completed_remaining(it) == 0);
    for (int i = 0; i < 3; i++) join_later(&l[i]);
    cl_as_completed_free(it);
    free_futures(futs, MANY);
}

static void test_as_completed_timeout(void) {
    cl_future *futs[2];
    make_futures(futs, 2);
    cl_future_set_result(futs[0], NULL);
    double t0 = cl_now();
    cl_as_completed *it = cl_as_completed_new(futs, 2, 0.2);
    CHECK(cl_as_completed_next(it) == futs[0]);
    CHECK(cl_as_completed_next(it) == NULL); /* futs[1] never completes */
    double waited = cl_now() - t0;
    CHECK(waited >= 0.19 && waited < 2.0);
    CHECK(cl_as_completed_remaining(it) == 1); /* so it was a timeout, not the end */
    /* The iterator holds references: the caller may drop theirs while it lives. */
    cl_future_free(futs[1]);
    cl_as_completed_free(it);
    cl_future_free(futs[0]);

    /* An empty list ends at once. */
    it = cl_as_completed_new(NULL, 0, CL_FOREVER);
    CHECK(it != NULL);
    CHECK(cl_as_completed_next(it) == NULL);
    cl_as_completed_free(it);
}

/* ---- misuse ------------------------------------------------------------------------------- */

static void test_null_handles(void) {
    capture_begin();
    void *value = (void *)1;
    CHECK(cl_future_result(NULL, 0, &value) == CL_FUTURE_ERROR);
    CHECK(value == NULL);
    CHECK(cl_future_error(NULL) == NULL);
    CHECK(cl_future_cancel(NULL) == 0);
    CHECK(cl_future_done(NULL) == 0);
    CHECK(cl_future_running(NULL) == 0);
    CHECK(cl_future_cancelled(NULL) == 0);
    CHECK(cl_future_add_done_callback(NULL, note, NULL) == -1);
    CHECK(cl_future_set_running(NULL) == -1);
    CHECK(cl_future_set_result(NULL, NULL) == -1);
    CHECK(cl_future_set_error(NULL, "x") == -1);
    CHECK(cl_future_ref(NULL) == NULL);
    CHECK(cl_as_completed_next(NULL) == NULL);
    CHECK(cl_as_completed_remaining(NULL) == -1);
    cl_future_free(NULL);          /* like free(NULL): silent */
    cl_as_completed_free(NULL);
    const char *msg = capture_end();
    const char *calls[] = {"cl_future_result: ", "cl_future_error: ", "cl_future_cancel: ",
                           "cl_future_done: ", "cl_future_running: ", "cl_future_cancelled: ",
                           "cl_future_add_done_callback: ", "cl_future_set_running: ",
                           "cl_future_set_result: ", "cl_future_set_error: ", "cl_future_ref: ",
                           "cl_as_completed_next: ", "cl_as_completed_remaining: "};
    int n = (int)(sizeof calls / sizeof calls[0]);
    const char *line = msg;
    for (int i = 0; i < n; i++) {
        CHECK(starts_with(line, calls[i]));
        line = strchr(line, '\n');
        if (!line) break;
        line++;
    }
    CHECK(line && *line == '\0'); /* and nothing for the two frees */
}

static void test_bad_arguments(void) {
    cl_future *f = cl_future_new();
    volatile double zero = 0;

    capture_begin();
    CHECK(cl_future_result(f, -1, NULL) == CL_FUTURE_ERROR);
    const char *msg = capture_end();
    CHECK(starts_with(msg, "cl_future_result: "));
    CHECK(strstr(msg, "timeout") != NULL);

    capture_begin();
    CHECK(cl_future_result(f, zero / zero, NULL) == CL_FUTURE_ERROR);
    CHECK(cl_future_add_done_callback(f, NULL, NULL) == -1);
    msg = capture_end();
    CHECK(starts_with(msg, "cl_future_result: "));
    CHECK(strstr(msg, "\ncl_future_add_done_callback: ") != NULL);

    cl_future *futs[2] = {f, NULL};
    capture_begin();
    CHECK(cl_futures_wait(futs, 1, CL_ALL_COMPLETED, -0.5) == -1);
    CHECK(cl_futures_wait(futs, -1, CL_ALL_COMPLETED, 0) == -1);
    CHECK(cl_futures_wait(NULL, 1, CL_ALL_COMPLETED, 0) == -1);
    CHECK(cl_futures_wait(futs, 2, CL_ALL_COMPLETED, 0) == -1); /* a NULL inside */
    CHECK(cl_futures_wait(futs, 1, (cl_return_when)42, 0) == -1);
    CHECK(cl_as_completed_new(futs, 1, -1) == NULL);
    CHECK(cl_as_completed_new(futs, 2, 1) == NULL);
    msg = capture_end();
    int lines = 0;
    for (const char *p = msg; (p = strstr(p, "cl_futures_wait: ")); p++) lines++;
    CHECK(lines == 5);
    CHECK(strstr(msg, "cl_as_completed_new: timeout") != NULL);
    CHECK(strstr(msg, "cl_as_completed_new: future is NULL") != NULL);

    cl_future_free(f);
    if (USE_AFTER_FREE_CHECKS) {
        capture_begin();
        cl_future_free(f); /* the magic field gives the second free away */
        msg = capture_end();
        CHECK(starts_with(msg, "cl_future_free: "));
    }
}

int main(void) {
    test_pending_running_finished();
    test_pending_to_finished_without_running();
    test_error_state();
    test_completing_twice_is_reported();
    test_cancel_pending();
    test_cancel_running_or_finished_fails();
    test_result_times_out();
    test_result_wakes_when_completed();
    test_callbacks_added_before_completion();
    test_callback_added_after_completion_runs_at_once();
    test_callbacks_run_on_cancel_and_only_once();
    test_references();
    test_wait_first_completed();
    test_wait_all_completed_and_timeout();
    test_wait_first_exception();
    test_as_completed_order_and_duplicates();
    test_as_completed_timeout();
    test_null_handles();
    test_bad_arguments();
    return check_summary(SUITE);
}
