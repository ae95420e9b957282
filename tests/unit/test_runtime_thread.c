/* test_runtime_thread.c — cl_thread from the outside: results, names, the live count, join with a
 * timeout, detached threads, the hook's start and end events, and every misuse the runtime must
 * report instead of crashing or hanging. Built by gcc, and compiled by tcc at run time
 * (test_runtime_thread_tcc) as notebook cells are. */
#define _GNU_SOURCE /* pthread_getname_np */
#include <conclab.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "runtime_sync_helpers.h"

#ifdef __TINYC__
#define SUITE "test_runtime_thread (tcc)"
#else
#define SUITE "test_runtime_thread"
#endif

/* ---- results, ids and the count --------------------------------------------------------- */

static void *double_it(void *arg) {
    return (void *)((long)arg * 2);
}

static void *my_id(void *arg) {
    (void)arg;
    return (void *)cl_thread_id();
}

static void test_join_returns_result(void) {
    cl_thread *t = cl_thread_start(double_it, (void *)21);
    CHECK(t != NULL);
    CHECK((long)cl_thread_join(t) == 42);
}

static void test_ids_differ(void) {
    cl_thread *a = cl_thread_start(my_id, NULL);
    cl_thread *b = cl_thread_start(my_id, NULL);
    long ida = (long)cl_thread_join(a), idb = (long)cl_thread_join(b);
    CHECK(ida > 0 && idb > 0);
    CHECK(ida != idb);
    CHECK(ida != cl_thread_id());
    CHECK(cl_thread_id() == (long)getpid()); /* the main thread's id is the process id */
}

static long gate;

static void *wait_at_gate(void *arg) {
    while (!cl_atomic_load(&gate)) cl_sleep(0.0005);
    return arg;
}

static void *exit_early(void *arg) {
    pthread_exit(arg);
    return NULL;
}

static void test_count_follows_running_threads(void) {
    enum { N = 5 };
    cl_thread *t[N];
    CHECK(cl_thread_count() == 0);
    cl_atomic_store(&gate, 0);
    for (long i = 0; i < N; i++) t[i] = cl_thread_start(wait_at_gate, (void *)i);
    CHECK(cl_thread_count() == N);
    for (long i = 0; i < N; i++) CHECK(cl_thread_is_alive(t[i]) == 1);
    cl_atomic_store(&gate, 1);
    /* A thread stops counting when its fn returns, not when it is joined. */
    long running = N;
    double deadline = cl_now() + 10;
    while (running && cl_now() < deadline) {
        cl_sleep(0.0005);
        running = cl_thread_count();
    }
    CHECK(running == 0);
    for (long i = 0; i < N; i++) CHECK(cl_thread_is_alive(t[i]) == 0);
    for (long i = 0; i < N; i++) CHECK((long)cl_thread_join(t[i]) == i);
}

static void test_pthread_exit_is_a_normal_end(void) {
    cl_thread *t = cl_thread_start(exit_early, (void *)7);
    CHECK((long)cl_thread_join(t) == 7);
    CHECK(cl_thread_count() == 0);
}

static void test_many_threads_in_turn(void) {
    long sum = 0;
    for (long i = 0; i < 300; i++) sum += (long)cl_thread_join(cl_thread_start(double_it, (void *)i));
    CHECK(sum == 299 * 300); /* 2 * (0 + ... + 299) */
    CHECK(cl_thread_count() == 0);
}

/* ---- names ------------------------------------------------------------------------------------ */

typedef struct names_seen {
    char ours[80];
    char os[32];
} names_seen;

static void *report_names(void *arg) {
    names_seen *seen = arg;
    snprintf(seen->ours, sizeof seen->ours, "%s", cl_thread_name());
    pthread_getname_np(pthread_self(), seen->os, sizeof seen->os);
    return NULL;
}

static void *dummy_name(void *arg) {
    snprintf(arg, 80, "%s", cl_thread_name());
    return NULL;
}

static void test_names(void) {
    names_seen a, b, c;
    CHECK_STR(cl_thread_name(), "main");

    cl_thread_join(cl_thread_start_named("downloader", report_names, &a));
    CHECK_STR(a.ours, "downloader");
    CHECK_STR(a.os, "downloader");

    cl_thread_join(cl_thread_start_named("a-name-well-over-fifteen-characters", report_names, &b));
    CHECK_STR(b.ours, "a-name-well-over-fifteen-characters");
    CHECK_STR(b.os, "a-name-well-ove"); /* the kernel keeps 15 */

    /* Unnamed threads get Thread-N, numbered upwards as in Python. */
    cl_thread_join(cl_thread_start(report_names, &a));
    cl_thread_join(cl_thread_start_named(NULL, report_names, &b));
    CHECK(starts_with(a.ours, "Thread-"));
    CHECK(starts_with(b.ours, "Thread-"));
    CHECK(atoi(b.ours + 7) == atoi(a.ours + 7) + 1);
    CHECK_STR(a.os, a.ours);

    /* A thread the runtime did not start still has a name. */
    pthread_t raw;
    pthread_create(&raw, NULL, dummy_name, c.ours);
    pthread_join(raw, NULL);
    CHECK(starts_with(c.ours, "Dummy-"));
    CHECK_STR(cl_thread_name(), "main");
}

/* ---- join with a timeout --------------------------------------------------------------------- */

static void test_join_timeout_then_join(void) {
    cl_atomic_store(&gate, 0);
    cl_thread *t = cl_thread_start(wait_at_gate, (void *)5);
    void *result = (void *)-1;

    double t0 = cl_now();
    CHECK(cl_thread_join_timeout(t, 0.2, &result) == 0);
    double waited = cl_now() - t0;
    CHECK(waited >= 0.1 && waited < 2.0);
    CHECK(result == (void *)-1); /* untouched on timeout */

    t0 = cl_now();
    CHECK(cl_thread_join_timeout(t, 0, &result) == 0); /* 0 polls */
    CHECK(cl_now() - t0 < 1.0);
    CHECK(cl_thread_is_alive(t) == 1); /* the handle is still good */

    cl_atomic_store(&gate, 1);
    CHECK(cl_thread_join_timeout(t, 10, &result) == 1);
    CHECK((long)result == 5);
}

static void test_join_timeout_forever_and_null_result(void) {
    cl_thread *t = cl_thread_start(double_it, (void *)1);
    CHECK(cl_thread_join_timeout(t, CL_FOREVER, NULL) == 1);
    t = cl_thread_start(double_it, (void *)2);
    while (cl_thread_count() != 0) cl_sleep(0.0005);
    void *r = NULL;
    CHECK(cl_thread_join_timeout(t, 0, &r) == 1); /* finished already: 0 is enough */
    CHECK((long)r == 4);
}

/* ---- detached (daemon) threads ------------------------------------------------------------- */

static long detached_done;

static void *detached_work(void *arg) {
    while (!cl_atomic_load(&gate)) cl_sleep(0.0005);
    cl_atomic_add(&detached_done, 1);
    return arg;
}

static void test_detach(void) {
    cl_atomic_store(&gate, 0);
    cl_atomic_store(&detached_done, 0);
    cl_thread *t = cl_thread_start(detached_work, NULL);
    CHECK(cl_thread_detach(t) == 1);

    capture_begin();
    void *r = cl_thread_join(t); /* still running: known, and refused */
    const char *msg = capture_end();
    CHECK(r == NULL);
    CHECK(starts_with(msg, "cl_thread_join: "));
    CHECK(contains(msg, "detached"));

    capture_begin();
    int again = cl_thread_detach(t);
    msg = capture_end();
    CHECK(again == 0);
    CHECK(starts_with(msg, "cl_thread_detach: "));

    cl_atomic_store(&gate, 1);
    CHECK(await_value(&detached_done, 1) == 1);
    long running = 1;
    for (double deadline = cl_now() + 10; running && cl_now() < deadline; cl_sleep(0.0005))
        running = cl_thread_count();
    CHECK(running == 0);

    /* Several detached threads that end on their own; ASan checks nothing leaks. */
    for (int i = 0; i < 20; i++) CHECK(cl_thread_detach(cl_thread_start(detached_work, NULL)) == 1);
    CHECK(await_value(&detached_done, 21) == 21);
}

static void test_detach_after_end_reaps(void) {
    cl_thread *t = cl_thread_start(double_it, (void *)3);
    while (cl_thread_is_alive(t)) cl_sleep(0.0005);
    CHECK(cl_thread_detach(t) == 1); /* ended already: its resources go now */
    capture_begin();
    void *r = cl_thread_join(t);
    const char *msg = capture_end();
    CHECK(r == NULL);
    CHECK(starts_with(msg, "cl_thread_join: not a joinable thread"));
}

/* ---- misuse ------------------------------------------------------------------------------------ */

static cl_thread *published;
static long handle_ready;

static void *join_myself(void *arg) {
    (void)arg;
    while (!cl_atomic_load(&handle_ready)) cl_sleep(0.0005);
    capture_begin();
    void *r = cl_thread_join(published);
    return r == NULL && starts_with(capture_end(), "cl_thread_join: a thread cannot join itself")
               ? (void *)1 : NULL;
}

static void *join_published(void *arg) {
    (void)arg;
    return cl_thread_join(published);
}

static void test_join_misuse(void) {
    /* Joining yourself. */
    cl_atomic_store(&handle_ready, 0);
    published = cl_thread_start(join_myself, NULL);
    cl_atomic_store(&handle_ready, 1);
    CHECK((long)cl_thread_join(published) == 1);

    /* Joining twice. */
    cl_thread *t = cl_thread_start(double_it, (void *)4);
    CHECK((long)cl_thread_join(t) == 8);
    capture_begin();
    void *r = cl_thread_join(t);
    int ok = cl_thread_join_timeout(t, 1, NULL);
    int alive = cl_thread_is_alive(t);
    const char *msg = capture_end();
    CHECK(r == NULL && ok == 0 && alive == 0);
    CHECK(starts_with(msg, "cl_thread_join: not a joinable thread"));
    CHECK(contains(msg, "\ncl_thread_join_timeout: not a joinable thread"));
    CHECK(contains(msg, "\ncl_thread_is_alive: not a joinable thread"));

    /* Two threads joining the same thread at once: the second is told. */
    cl_atomic_store(&gate, 0);
    published = cl_thread_start(wait_at_gate, (void *)9);
    hook_watch(published);
    cl_thread *rival = cl_thread_start(join_published, NULL);
    CHECK(await_value(&hook_counts[P_THREAD][CL_EVENT_WAIT], 1) == 1); /* the rival waits */
    capture_begin();
    ok = cl_thread_join_timeout(published, 0.05, &r);
    msg = capture_end();
    hook_stop();
    CHECK(ok == 0);
    CHECK(starts_with(msg, "cl_thread_join_timeout: another thread is already joining"));
    cl_atomic_store(&gate, 1);
    CHECK((long)cl_thread_join(rival) == 9);

    /* Negative and NaN timeouts leave the handle joinable. */
    volatile double zero = 0;
    t = cl_thread_start(double_it, (void *)6);
    capture_begin();
    int neg = cl_thread_join_timeout(t, -1, NULL);
    int nan = cl_thread_join_timeout(t, zero / zero, NULL);
    msg = capture_end();
    CHECK(neg == 0 && nan == 0);
    CHECK(starts_with(msg, "cl_thread_join_timeout: timeout must be >= 0"));
    CHECK((long)cl_thread_join(t) == 12);
}

static void test_null_handles(void) {
    capture_begin();
    cl_thread *t1 = cl_thread_start(NULL, NULL);
    cl_thread *t2 = cl_thread_start_named("x", NULL, NULL);
    void *r = cl_thread_join(NULL);
    int j = cl_thread_join_timeout(NULL, 1, NULL);
    int d = cl_thread_detach(NULL);
    int a = cl_thread_is_alive(NULL);
    const char *msg = capture_end();
    CHECK(t1 == NULL && t2 == NULL && r == NULL && j == 0 && d == 0 && a == 0);
    CHECK(starts_with(msg, "cl_thread_start: fn is NULL"));
    CHECK(contains(msg, "\ncl_thread_start_named: fn is NULL"));
    CHECK(contains(msg, "\ncl_thread_join: thread is NULL"));
    CHECK(contains(msg, "\ncl_thread_join_timeout: thread is NULL"));
    CHECK(contains(msg, "\ncl_thread_detach: thread is NULL"));
    CHECK(contains(msg, "\ncl_thread_is_alive: thread is NULL"));
    CHECK(cl_thread_count() == 0);
}

/* ---- the hook ------------------------------------------------------------------------------ */

static void test_hook_sees_start_and_end(void) {
    enum { N = 4 };
    cl_thread *t[N];
    long ids[N];
    hook_watch(NULL);
    for (int i = 0; i < N; i++) t[i] = cl_thread_start(my_id, NULL);
    for (int i = 0; i < N; i++) ids[i] = (long)cl_thread_join(t[i]);
    hook_stop();
    CHECK(hook_count(P_THREAD, CL_EVENT_THREAD_START) == N);
    CHECK(hook_count(P_THREAD, CL_EVENT_THREAD_END) == N);
    /* Each thread reports its own start before its own end, on itself. */
    long n = cl_atomic_load(&hook_log_n);
    for (int i = 0; i < N; i++) {
        int started = 0, ended = 0, start_first = 0;
        for (long k = 0; k < n && k < LOG_CAP; k++) {
            if (hook_log_thread[k] != ids[i]) continue;
            if (hook_log_kind[k] == CL_EVENT_THREAD_START) started++, start_first = !ended;
            if (hook_log_kind[k] == CL_EVENT_THREAD_END) ended++;
        }
        CHECK(started == 1 && ended == 1 && start_first);
    }
    /* A join that had to wait reports it; one that did not reports the acquire alone. */
    cl_atomic_store(&gate, 0);
    cl_thread *slow = cl_thread_start(wait_at_gate, NULL);
    hook_watch(slow);
    cl_atomic_store(&gate, 1);
    cl_thread_join(slow);
    hook_stop();
    CHECK(hook_count(P_THREAD, CL_EVENT_ACQUIRE) == 1);
    CHECK(hook_count(P_THREAD, CL_EVENT_WAIT) <= 1);
    CHECK(hook_count(P_THREAD, CL_EVENT_THREAD_END) == 1);
}

/* ---- fork ---------------------------------------------------------------------------------------- */

static void test_fork_child_does_not_wait_for_parent_threads(void) {
    cl_atomic_store(&gate, 0);
    cl_thread *t = cl_thread_start(wait_at_gate, (void *)11);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        /* Only this thread exists here: the count says so, and a join must not hang. */
        int status = cl_thread_count() == 0 ? 0 : 1;
        capture_begin();
        cl_thread_join(t);
        if (!contains(capture_end(), "did not survive fork")) status |= 2;
        if (cl_thread_id() != (long)getpid()) status |= 4;
        _exit(status);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    cl_atomic_store(&gate, 1);
    CHECK((long)cl_thread_join(t) == 11);
}

static void *return_arg(void *arg) {
    return arg;
}

/* A notebook's next cell runs in a fork: joining there the threads an earlier cell started and
 * that ended meanwhile gives their results, without pthread_join on the parent's reclaimed
 * stacks (which crashed from the third thread on). */
static void test_fork_child_joins_threads_that_ended_before(void) {
    enum { N = 6 };
    cl_thread *threads[N];
    for (long i = 0; i < N; i++) threads[i] = cl_thread_start(return_arg, (void *)(100 + i));
    for (int i = 0; i < N; i++)
        while (cl_thread_is_alive(threads[i])) cl_sleep(0.001);
    cl_sleep(0.05); /* and past their last steps in pthread, as between two cells */
    fflush(stdout);
    fflush(stderr);
    /* The child's verdict comes through a pipe: under TSan its exit status is TSan's, which
     * counts the parent's threads, never joined by pthread in the child, as leaked. */
    int verdict[2];
    CHECK(pipe(verdict) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        char status = 0;
        capture_begin();
        for (long i = 0; i < N; i++)
            if ((long)cl_thread_join(threads[i]) != 100 + i) status |= 1;
        if (capture_end()[0]) status |= 2; /* no report: these joins are not misuse */
        if (write(verdict[1], &status, 1) != 1) _exit(1);
        _exit(0);
    }
    close(verdict[1]);
    char child_status = 'x';
    CHECK(read(verdict[0], &child_status, 1) == 1 && child_status == 0); /* a crash writes nothing */
    close(verdict[0]);
    waitpid(pid, NULL, 0);
    for (long i = 0; i < N; i++) CHECK((long)cl_thread_join(threads[i]) == 100 + i);
}

int main(void) {
    test_join_returns_result();
    test_ids_differ();
    test_count_follows_running_threads();
    test_pthread_exit_is_a_normal_end();
    test_many_threads_in_turn();
    test_names();
    test_join_timeout_then_join();
    test_join_timeout_forever_and_null_result();
    test_detach();
    test_detach_after_end_reaps();
    test_join_misuse();
    test_null_handles();
    test_hook_sees_start_and_end();
    test_fork_child_does_not_wait_for_parent_threads();
    test_fork_child_joins_threads_that_ended_before();
    return check_summary(SUITE);
}
