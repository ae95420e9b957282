/* test_runtime_gil.c — the emulated GIL (conclab/gil.h) from the outside: one runtime thread
 * at a time while it is on, switching without edits to CPU-bound code, sleeps letting it go,
 * switching it on and off under running threads, threads it must not touch, the hook, fork.
 *
 * Built twice, like test_runtime.c: by gcc, and compiled by tcc at run time
 * (test_runtime_gil_tcc), since notebook cells are tcc code that the GIL must preempt.
 * Bounds are generous (this is not the benchmark: see tests/bench/bench_runtime.c). */
#include <conclab.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#ifdef __TINYC__
#define SUITE "test_runtime_gil (tcc)"
#else
#define SUITE "test_runtime_gil"
#endif

#define WINDOW_SECONDS 50e-6 /* one observation window of run_and_watch */

/* ---- who runs at the same time ------------------------------------------------------------
 * A runner computes in short windows. Around each window it reads the other runner's progress
 * counter. If its own window was short (it was not stopped in the middle: a thread that loses
 * the GIL gets it back no sooner than one switch interval later) and the other runner made
 * progress during it, both ran at the same instant. Under the GIL that can never happen, so
 * "most at once" is 1; without it, on two cores, it is 2. Windows that end after `stop` was
 * raised are not counted: a thread that leaves hands the GIL over at once. */

typedef struct runner {
    long apart[8]; /* keeps the two runners' counters off one cache line */
    long progress;
    long *other_progress; /* NULL: just compute */
    long *stop;
    long *counting; /* windows that start while *counting is 1 count (NULL: all) */
    long windows, overlaps;
} runner;

static void *run_and_watch(void *arg) {
    runner *r = arg;
    double short_window = cl_gil_switch_interval() / 2;
    while (!cl_atomic_load(r->stop)) {
        /* Both reads of the other's counter inside the timed window: a pause between them, and
         * only such a pause, makes the window long. */
        /* Whether the window counts is decided at its start: one that began while the GIL was
         * still off saw the other runner run freely, however short it turns out to be. */
        int counts = !r->counting || cl_atomic_load(r->counting);
        double start = cl_now();
        long theirs = r->other_progress ? cl_atomic_load(r->other_progress) : 0;
        do cl_atomic_add(&r->progress, 1);
        while (cl_now() - start < WINDOW_SECONDS);
        long theirs_after = r->other_progress ? cl_atomic_load(r->other_progress) : 0;
        int was_short = cl_now() - start < short_window;
        if (cl_atomic_load(r->stop)) break;
        if (!was_short || !counts) continue;
        r->windows++;
        if (theirs_after != theirs) cl_atomic_add(&r->overlaps, 1);
    }
    return NULL;
}

/* Sleeps at least `least` seconds, then until the runner saw an overlap or `most` seconds have
 * passed: on a loaded machine two threads may share a core for a while before they run at once. */
static void watch_for_overlap(runner *r1, runner *r2, double least, double most) {
    double start = cl_now();
    for (;;) {
        cl_sleep(0.02);
        double elapsed = cl_now() - start;
        long overlaps = cl_atomic_load(&r1->overlaps) + (r2 ? cl_atomic_load(&r2->overlaps) : 0);
        if (elapsed >= most || (elapsed >= least && overlaps > 0)) return;
    }
}

/* Runs two watching runners for `least` to `most` seconds (see watch_for_overlap); returns how
 * many ran at once at most, and each one's progress. With enable_later, the runners start with
 * the GIL off, and it is switched on (and their windows counted) once they are running. */
static int most_at_once(double least, double most, long *progress_a, long *progress_b,
                        int enable_later) {
    long stop = 0, counting = !enable_later;
    runner a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.other_progress = &b.progress;
    b.other_progress = &a.progress;
    a.stop = b.stop = &stop;
    a.counting = b.counting = &counting;
    cl_thread *ta = cl_thread_start(run_and_watch, &a);
    cl_thread *tb = cl_thread_start(run_and_watch, &b);
    if (enable_later) {
        cl_sleep(0.05);
        cl_gil_enable(); /* on return the runners have stopped, and queue for it */
        cl_atomic_store(&counting, 1);
    }
    watch_for_overlap(&a, &b, least, most);
    cl_atomic_store(&stop, 1);
    cl_thread_join(ta);
    cl_thread_join(tb);
    if (progress_a) *progress_a = a.progress;
    if (progress_b) *progress_b = b.progress;
    return a.overlaps + b.overlaps > 0 ? 2 : 1;
}

static void test_one_thread_at_a_time(void) {
    long a = 0, b = 0;
    cl_gil_enable();
    CHECK(cl_gil_enabled() == 1);
    CHECK(most_at_once(0.5, 0.5, &a, &b, 0) == 1);
    CHECK(a > 0 && b > 0); /* both ran: the GIL switched between them */
    cl_gil_disable();
    CHECK(cl_gil_enabled() == 0);
    /* Switched on while they run: they stop at once and take turns too. */
    CHECK(most_at_once(0.5, 0.5, NULL, NULL, 1) == 1);
    CHECK(cl_gil_enabled() == 1);
    cl_gil_disable();
    if (cl_cpu_count() >= 2) CHECK(most_at_once(0.1, 10.0, NULL, NULL, 0) == 2);
    else printf("%s: one CPU, so no parallel run to compare with\n", SUITE);
}

/* ---- switching without edits -------------------------------------------------------------- */

static void *compute_until_stopped(void *arg) {
    runner *r = arg;
    while (!cl_atomic_load(r->stop)) cl_atomic_add(&r->progress, 1);
    return NULL;
}

/* Two computing threads and nothing that blocks: both must move within a second, and they can
 * only do so if the holder is preempted, about every interval. */
static void test_switching(void) {
    long stop = 0;
    runner a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.stop = b.stop = &stop;
    cl_gil_enable();
    long switches_before = cl_gil_switch_count();
    cl_thread *ta = cl_thread_start(compute_until_stopped, &a);
    cl_thread *tb = cl_thread_start(compute_until_stopped, &b);
    cl_sleep(0.5);
    long a_mid = cl_atomic_load(&a.progress), b_mid = cl_atomic_load(&b.progress);
    cl_sleep(0.5);
    long a_end = cl_atomic_load(&a.progress), b_end = cl_atomic_load(&b.progress);
    long switches = cl_gil_switch_count() - switches_before;
    cl_atomic_store(&stop, 1);
    cl_thread_join(ta);
    cl_thread_join(tb);
    cl_gil_disable();
    CHECK(a_mid > 0 && b_mid > 0);
    CHECK(a_end > a_mid && b_end > b_mid); /* and they keep taking turns */
    /* 1 s at 5 ms per turn is about 200 handovers; 20 leaves room for a slow machine. */
    CHECK(switches >= 20);
    if (switches < 20) fprintf(stderr, "  only %ld switches in 1 s\n", switches);
}

/* The thread that switched the GIL on holds it, and is preempted like any other: a thread it
 * starts runs while it computes, without it calling anything. */
static long started_flag;

static void *raise_flag(void *arg) {
    (void)arg;
    cl_atomic_store(&started_flag, 1);
    return NULL;
}

static void test_enabler_holds_and_is_preempted(void) {
    cl_gil_enable();
    CHECK(cl_gil_held() == 1);
    cl_atomic_store(&started_flag, 0);
    cl_thread *t = cl_thread_start(raise_flag, NULL);
    double start = cl_now();
    long seen = 0;
    while (!seen && cl_now() - start < 2.0) seen = cl_atomic_load(&started_flag);
    CHECK(seen == 1);
    CHECK(cl_gil_held() == 1); /* it got the GIL back */
    cl_thread_join(t);
    cl_gil_disable();
    CHECK(cl_gil_held() == 0);
}

/* ---- blocking calls let the GIL go ---------------------------------------------------------- */

static void *sleep_a_fifth(void *arg) {
    (void)arg;
    cl_sleep(0.2);
    return NULL;
}

static void test_sleep_releases(void) {
    long stop = 0;
    runner a;
    memset(&a, 0, sizeof a);
    a.stop = &stop;
    cl_gil_set_switch_interval(1.0); /* so only a release, not a forced switch, lets it run */
    cl_gil_enable();
    cl_thread *t = cl_thread_start(compute_until_stopped, &a);
    cl_sleep(0.2);
    CHECK(cl_atomic_load(&a.progress) > 0);
    cl_atomic_store(&stop, 1);
    cl_thread_join(t);
    cl_gil_set_switch_interval(0.005);

    /* Three sleepers under the GIL overlap: together they take about one sleep, not three (0.6 s).
     * The best of three tries counts, so a busy machine costs a retry rather than a failure. */
    double best = 1e9;
    for (int attempt = 0; attempt < 3 && best >= 0.45; attempt++) {
        cl_thread *sleepers[3];
        double start = cl_now();
        for (int i = 0; i < 3; i++) sleepers[i] = cl_thread_start(sleep_a_fifth, NULL);
        for (int i = 0; i < 3; i++) cl_thread_join(sleepers[i]);
        double elapsed = cl_now() - start;
        CHECK(elapsed >= 0.2);
        if (elapsed < best) best = elapsed;
    }
    CHECK(best < 0.45);
    cl_gil_disable();
}

/* ---- switching it on and off under running threads ---------------------------------------- */

static long toggler_stop;

static void *toggle_repeatedly(void *arg) {
    (void)arg;
    for (int i = 0; i < 50 && !cl_atomic_load(&toggler_stop); i++) {
        cl_gil_set(i % 2 == 0);
        cl_sleep(0.001);
    }
    return NULL;
}

static void test_toggle_while_running(void) {
    long stop = 0;
    runner a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.stop = b.stop = &stop;
    cl_thread *ta = cl_thread_start(compute_until_stopped, &a);
    cl_thread *tb = cl_thread_start(compute_until_stopped, &b);
    cl_atomic_store(&toggler_stop, 0);
    cl_thread *toggler = cl_thread_start(toggle_repeatedly, NULL);
    for (int i = 0; i < 40; i++) {
        int was = cl_gil_set(i % 3 != 0);
        CHECK(was == 0 || was == 1);
        double start = cl_now();
        while (cl_now() - start < 0.001) /* compute a little, GIL or not */
            ;
        if (i % 10 == 0) cl_sleep(0.002);
    }
    cl_thread_join(toggler);
    cl_gil_disable();
    long a_before = cl_atomic_load(&a.progress), b_before = cl_atomic_load(&b.progress);
    cl_sleep(0.1);
    CHECK(cl_atomic_load(&a.progress) > a_before); /* nobody is left stuck waiting for it */
    CHECK(cl_atomic_load(&b.progress) > b_before);
    cl_atomic_store(&stop, 1);
    CHECK(cl_thread_join(ta) == NULL);
    CHECK(cl_thread_join(tb) == NULL);
    CHECK(cl_gil_enabled() == 0);
}

/* ---- threads the runtime did not start are not held back ---------------------------------- */

static void *plain_compute(void *arg) {
    compute_until_stopped(arg);
    CHECK(cl_gil_held() == 0);
    return NULL;
}

/* The main thread holds the GIL and computes; a long interval keeps it from being preempted. A
 * runtime thread started meanwhile must not run; a plain pthread must. */
static void test_plain_threads_unaffected(void) {
    long stop = 0;
    runner inside, outside;
    memset(&inside, 0, sizeof inside);
    memset(&outside, 0, sizeof outside);
    inside.stop = outside.stop = &stop;
    pthread_t plain;
    CHECK(pthread_create(&plain, NULL, plain_compute, &outside) == 0);
    cl_gil_set_switch_interval(10.0);
    cl_gil_enable();
    cl_thread *t = cl_thread_start(compute_until_stopped, &inside);
    long before = cl_atomic_load(&outside.progress);
    double start = cl_now();
    while (cl_now() - start < 0.3)
        ;
    CHECK(cl_atomic_load(&outside.progress) > before);
    CHECK(cl_atomic_load(&inside.progress) == 0);
    cl_atomic_store(&stop, 1);
    cl_gil_disable();
    pthread_join(plain, NULL);
    cl_thread_join(t);
    cl_gil_set_switch_interval(0.005);
}

/* ---- the hook sees sleeps and the GIL's handovers at blocking calls ----------------------- */

static long sleep_waits, sleep_timeouts, gil_releases, gil_acquires;

static void count_events(const cl_hook_event *ev, void *ctx) {
    (void)ctx;
    if (strcmp(ev->primitive, "sleep") == 0 && ev->kind == CL_EVENT_WAIT) cl_atomic_add(&sleep_waits, 1);
    if (strcmp(ev->primitive, "sleep") == 0 && ev->kind == CL_EVENT_TIMEOUT) cl_atomic_add(&sleep_timeouts, 1);
    if (strcmp(ev->primitive, "gil") == 0 && ev->kind == CL_EVENT_RELEASE) cl_atomic_add(&gil_releases, 1);
    if (strcmp(ev->primitive, "gil") == 0 && ev->kind == CL_EVENT_ACQUIRE) cl_atomic_add(&gil_acquires, 1);
}

static void test_hook(void) {
    cl_hook_set(count_events, NULL);
    cl_sleep(0.001);
    CHECK(cl_atomic_load(&sleep_waits) == 1 && cl_atomic_load(&sleep_timeouts) == 1);
    CHECK(cl_atomic_load(&gil_releases) == 0); /* the GIL is off: nothing to let go */
    cl_gil_enable();
    cl_sleep(0.001);
    cl_hook_set(NULL, NULL);
    cl_gil_disable();
    CHECK(cl_atomic_load(&sleep_waits) == 2);
    CHECK(cl_atomic_load(&gil_releases) == 1);
    CHECK(cl_atomic_load(&gil_acquires) == 2); /* on cl_gil_enable, and after the sleep */
}

/* ---- fork: the child's only thread holds the GIL and can hand it over ----------------------- */

static void *add_one(void *arg) {
    cl_atomic_add(arg, 1);
    return NULL;
}

static void test_fork(void) {
    cl_gil_enable();
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        long counter = 0;
        int ok = cl_gil_held() == 1;
        cl_thread *t = cl_thread_start(add_one, &counter);
        cl_sleep(0.05);
        ok = ok && cl_atomic_load(&counter) == 1;
        cl_thread_join(t);
        ok = ok && cl_gil_held() == 1;
        _exit(ok ? 0 : 1);
    }
    int status = -1;
    CHECK(child > 0 && waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    cl_gil_disable();
}

/* ---- settings and misuse -------------------------------------------------------------------- */

static char captured[512];

/* Runs the interval setter with stderr sent to a file; returns its result, message in captured. */
static int set_interval_capturing(double seconds) {
    fflush(stderr);
    FILE *file = tmpfile();
    int saved = dup(2);
    dup2(fileno(file), 2);
    int result = cl_gil_set_switch_interval(seconds);
    dup2(saved, 2);
    close(saved);
    rewind(file);
    size_t n = fread(captured, 1, sizeof captured - 1, file);
    captured[n] = '\0';
    fclose(file);
    return result;
}

static void test_settings(void) {
    CHECK(cl_gil_enabled() == 0); /* off by default */
    CHECK(cl_gil_held() == 0);
    CHECK(cl_gil_switch_interval() > 0.00499 && cl_gil_switch_interval() < 0.00501);
    CHECK(cl_gil_set_switch_interval(0.001) == 1);
    CHECK(cl_gil_switch_interval() > 0.00099 && cl_gil_switch_interval() < 0.00101);
    CHECK(set_interval_capturing(0) == 0);
    CHECK(strncmp(captured, "cl_gil_set_switch_interval: ", 28) == 0);
    CHECK(set_interval_capturing(-1) == 0);
    CHECK(strncmp(captured, "cl_gil_set_switch_interval: ", 28) == 0);
    CHECK(set_interval_capturing(0.0 / 0.0) == 0);
    CHECK(cl_gil_switch_interval() > 0.00099 && cl_gil_switch_interval() < 0.00101); /* unchanged */
    CHECK(cl_gil_set_switch_interval(0.005) == 1);
    CHECK(cl_gil_set(1) == 0);
    CHECK(cl_gil_set(1) == 1); /* switching on twice is harmless */
    CHECK(cl_gil_set(0) == 1);
    CHECK(cl_gil_set(0) == 0);
    cl_gil_disable(); /* and off twice */
    CHECK(cl_gil_enabled() == 0);
}

static void test_with_gil(void) {
    int runs = 0;
    CL_WITH_GIL {
        runs++;
        CHECK(cl_gil_enabled() == 1 && cl_gil_held() == 1);
        CL_WITH_GIL CHECK(cl_gil_enabled() == 1); /* nested: still on afterwards */
        CHECK(cl_gil_enabled() == 1);
    }
    CHECK(runs == 1);
    CHECK(cl_gil_enabled() == 0);
    for (int i = 0; i < 3; i++) {
        CL_WITH_GIL {
            if (i == 1) break; /* leaves the block only, and restores */
            runs++;
        }
        CHECK(cl_gil_enabled() == 0);
    }
    CHECK(runs == 3);
}

int main(void) {
    alarm(60); /* a hang is a failure, with a signal to say so, before ctest's own timeout */
    test_settings();
    test_with_gil();
    test_hook();
    test_one_thread_at_a_time();
    test_switching();
    test_enabler_holds_and_is_preempted();
    test_sleep_releases();
    test_toggle_while_running();
    test_plain_threads_unaffected();
    test_fork();
    return check_summary(SUITE);
}
