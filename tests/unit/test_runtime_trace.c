/* test_runtime_trace.c — tracing (conclab/trace.h) from the outside: each scenario records, saves
 * the Chrome trace with cl_trace_save (which builds the timeline model), and reads the file back
 * (trace_file.h): lanes and their names, states, flows, tasks, processes, dropped events.
 *
 * Built twice: by gcc, and compiled by tcc at run time (test_runtime_trace_tcc), the way cells
 * call the runtime. Files go to $CONCLAB_TRACE_DIR (default /tmp) and are removed unless
 * $CONCLAB_TRACE_KEEP is set: check_trace_json.py keeps them to load them as JSON. */
#include <conclab.h>
#include <conclab_host.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "trace_file.h"

#ifdef __TINYC__
#define SUITE "test_runtime_trace (tcc)"
#else
#define SUITE "test_runtime_trace"
#endif

#define EPSILON_US 0.01 /* the file's timestamps have three decimals of a microsecond */

static char saved_path[512];

/* Saves the recording as scenario's file and reads it back into f. */
static void save_and_read(const char *scenario, tf_file *f) {
    const char *dir = getenv("CONCLAB_TRACE_DIR");
    snprintf(saved_path, sizeof saved_path, "%s/trace_%s_%d.json", dir ? dir : "/tmp", scenario,
             (int)getpid());
    CHECK(cl_trace_save(saved_path) == 1);
    CHECK(tf_read(saved_path, f));
}

static void done_with(tf_file *f) {
    tf_free(f);
    if (!getenv("CONCLAB_TRACE_KEEP")) remove(saved_path);
}

/* ---- off: nothing recorded, the hook as before ------------------------------------------------ */

static long hook_events;

static void count_event(const cl_hook_event *e, void *ctx) {
    (void)e;
    (void)ctx;
    cl_atomic_add(&hook_events, 1);
}

static void lock_twice(void) {
    cl_lock *l = cl_lock_new();
    cl_lock_acquire(l);
    cl_lock_release(l);
    cl_lock_acquire(l);
    cl_lock_release(l);
    cl_lock_free(l);
}

static void test_off_and_hook(void) {
    CHECK(!cl_trace_active());
    CHECK(cl_trace_dropped() == 0);
    cl_hook_set(count_event, NULL);
    lock_twice();
    CHECK(cl_atomic_load(&hook_events) == 4);
    CHECK(cl_trace_start() == 0);
    CHECK(cl_trace_active());
    lock_twice();
    CHECK(cl_atomic_load(&hook_events) == 8); /* the observer sees the same while tracing */
    cl_trace_stop();
    CHECK(!cl_trace_active());
    cl_hook_set(NULL, NULL);
    lock_twice();
    CHECK(cl_atomic_load(&hook_events) == 8);
}

/* ---- threads, names, locks, flows, marks ------------------------------------------------------ */

static cl_lock *forks;

static void *philosopher(void *arg) {
    (void)arg;
    for (int i = 0; i < 3; i++) {
        cl_lock_acquire(forks);
        cl_sleep(0.01);
        cl_lock_release(forks);
    }
    return NULL;
}

static void *after_stop(void *arg) {
    (void)arg;
    return NULL;
}

static void test_threads_and_names(void) {
    forks = cl_lock_new();
    cl_lock_set_name(forks, "forks[2]");
    CHECK(cl_trace_start() == 0);
    cl_trace_mark("begin");
    cl_thread *a = cl_thread_start_named("alpha", philosopher, NULL);
    cl_thread *b = cl_thread_start_named("beta", philosopher, NULL);
    cl_thread_join(a);
    cl_thread_join(b);
    cl_trace_stop();
    cl_thread_join(cl_thread_start_named("after-stop", after_stop, NULL));
    cl_lock_free(forks);
    tf_file f;
    save_and_read("threads", &f);
    CHECK(tf_tid_named(&f, "main") == (long)getpid());
    CHECK(tf_tid_named(&f, "alpha") > 0);
    CHECK(tf_tid_named(&f, "beta") > 0);
    CHECK(tf_tid_named(&f, "after-stop") == -1); /* off: not recorded */
    CHECK(tf_count(&f, 'X', "lock", "lock \"forks[2]\"") >= 1);
    CHECK(tf_count(&f, 'X', "sleep", "sleep") >= 6);
    CHECK(tf_count(&f, 'X', "join", "thread \"alpha\"") == 1);
    CHECK(tf_count(&f, 's', "release", NULL) >= 1);
    CHECK(tf_count(&f, 's', "release", NULL) == tf_count(&f, 'f', "release", NULL));
    CHECK(tf_count(&f, 'i', "begin", NULL) == 1);
    CHECK(tf_count(&f, 'M', "process_name", NULL) == 1);
    CHECK(f.dropped == 0);
    done_with(&f);
}

/* ---- the libc calls cells make (the kernel binds them to the runtime's versions) --------------- */

static void *host_call(const char *name) {
    for (const cl_host_blocking_call *c = cl_host_blocking_calls(); c->name; c++)
        if (strcmp(c->name, name) == 0) return c->function;
    return NULL;
}

static void test_libc_calls(void) {
    int (*cell_usleep)(unsigned int) = (int (*)(unsigned int))host_call("usleep");
    int (*cell_poll)(void *, unsigned long, int) = (int (*)(void *, unsigned long, int))host_call("poll");
    CHECK(cell_usleep != NULL && cell_poll != NULL);
    if (!cell_usleep || !cell_poll) return;
    CHECK(cl_trace_start() == 0);
    cell_usleep(20000);
    cell_poll(NULL, 0, 20);
    cl_trace_stop();
    tf_file f;
    save_and_read("libc", &f);
    CHECK(tf_count(&f, 'X', "sleep", "sleep") == 1);
    CHECK(tf_count(&f, 'X', "io", "poll") == 1);
    done_with(&f);
}

/* ---- Semaphore(3), 10 threads ------------------------------------------------------------------ */

static cl_semaphore *three;
static cl_event *gate; /* all ten start together, so seven of them must wait */

static void *visitor(void *arg) {
    (void)arg;
    cl_event_wait(gate);
    cl_semaphore_acquire(three);
    cl_sleep(0.02); /* the only sleeps: a sleep span is a thread inside */
    cl_semaphore_release(three);
    return NULL;
}

static void test_semaphore(void) {
    three = cl_semaphore_new(3);
    gate = cl_event_new();
    CHECK(cl_trace_start() == 0);
    cl_thread *t[10];
    for (int i = 0; i < 10; i++) t[i] = cl_thread_start(visitor, NULL);
    cl_sleep(0.05);
    cl_event_set(gate);
    for (int i = 0; i < 10; i++) cl_thread_join(t[i]);
    cl_trace_stop();
    tf_file f;
    save_and_read("semaphore", &f);
    CHECK(tf_count(&f, 'X', "sleep", NULL) == 11); /* the visitors', and main's before the gate */
    CHECK(tf_most_at_once(&f, "sleep") <= 3);
    CHECK(tf_most_at_once(&f, "sleep") >= 2);
    CHECK(tf_count(&f, 'X', "lock", "semaphore 1") >= 1); /* unnamed: numbered */
    CHECK(tf_count(&f, 's', "release", NULL) >= 1);
    done_with(&f);
    cl_semaphore_free(three);
    cl_event_free(gate);
}

/* ---- the emulated GIL: never two runners ------------------------------------------------------- */

static volatile double compute_sink; /* the busy loop's work, kept */

static void *compute(void *arg) {
    (void)arg;
    double end = cl_now() + 0.15;
    while (cl_now() < end) compute_sink += 1;
    return NULL;
}

/* The most "running" spans of the given lanes that overlap by more than rounding. */
static int running_overlaps(const tf_file *f, long tid1, long tid2) {
    int overlaps = 0;
    for (int i = 0; i < f->n; i++) {
        const tf_event *a = &f->events[i];
        if (a->ph != 'X' || a->tid != tid1 || strcmp(a->name, "running") != 0) continue;
        for (int j = 0; j < f->n; j++) {
            const tf_event *b = &f->events[j];
            if (b->ph != 'X' || b->tid != tid2 || strcmp(b->name, "running") != 0) continue;
            double from = a->ts > b->ts ? a->ts : b->ts;
            double to = a->ts + a->dur < b->ts + b->dur ? a->ts + a->dur : b->ts + b->dur;
            if (to - from > EPSILON_US) overlaps++;
        }
    }
    return overlaps;
}

static void test_gil(void) {
    CHECK(cl_trace_start() == 0);
    cl_gil_enable();
    cl_thread *a = cl_thread_start_named("cpu-a", compute, NULL);
    cl_thread *b = cl_thread_start_named("cpu-b", compute, NULL);
    cl_thread_join(a);
    cl_thread_join(b);
    cl_gil_disable();
    cl_trace_stop();
    tf_file f;
    save_and_read("gil", &f);
    long ta = tf_tid_named(&f, "cpu-a"), tb = tf_tid_named(&f, "cpu-b");
    CHECK(ta > 0 && tb > 0);
    CHECK(running_overlaps(&f, ta, tb) == 0);
    CHECK(running_overlaps(&f, ta, (long)getpid()) == 0);
    CHECK(running_overlaps(&f, tb, (long)getpid()) == 0);
    CHECK(tf_count(&f, 'X', "gil", "GIL") >= 2); /* they took turns */
    done_with(&f);
}

/* ---- a forked process ------------------------------------------------------------------------- */

static int child_work(void *arg) {
    (void)arg;
    cl_lock *l = cl_lock_new();
    cl_lock_set_name(l, "child lock");
    cl_lock_acquire(l);
    cl_sleep(0.05);
    cl_lock_release(l);
    cl_lock_free(l);
    return 0;
}

static void test_process(void) {
    CHECK(cl_trace_start() == 0);
    cl_process *p = cl_process_start_named("worker-process", child_work, NULL);
    long pid = (long)cl_process_pid(p);
    CHECK(cl_process_join(p) == 1);
    cl_process_free(p);
    cl_trace_stop();
    tf_file f;
    save_and_read("process", &f);
    int child_sleeps = 0, named = 0, joined = 0;
    for (int i = 0; i < f.n; i++) {
        const tf_event *e = &f.events[i];
        if (e->ph == 'X' && e->pid == pid && e->tid == pid && strcmp(e->name, "sleep") == 0)
            child_sleeps++;
        if (e->ph == 'M' && e->pid == pid && strcmp(e->name, "process_name") == 0 &&
            strcmp(e->what, "worker-process") == 0)
            named++;
        if (e->ph == 'X' && e->pid == (int)getpid() && strcmp(e->name, "join") == 0 &&
            strstr(e->what, "process \"worker-process\""))
            joined++;
    }
    CHECK(child_sleeps == 1);
    CHECK(named == 1);
    CHECK(joined == 1);
    done_with(&f);
}

/* ---- a pool ----------------------------------------------------------------------------------- */

static void *pool_task(void *arg) {
    cl_sleep(0.01);
    return arg;
}

static void *meet_at_barrier(void *barrier) {
    return (void *)(long)cl_barrier_wait(barrier);
}

static void test_pool(void) {
    cl_pool *p = cl_pool_new(2);
    CHECK(cl_trace_start() == 0);
    void *args[6] = {0}, *results[6];
    CHECK(cl_pool_map(p, pool_task, args, 6, results, CL_FOREVER) == 0);
    cl_trace_stop();
    cl_pool_shutdown(p, 1, 0);
    cl_pool_free(p);
    tf_file f;
    save_and_read("pool", &f);
    CHECK(tf_count(&f, 'X', "running", "a task of pool") >= 6);
    CHECK(tf_count(&f, 'X', "sleep", NULL) == 6);
    CHECK(tf_count(&f, 's', "release", NULL) >= 6); /* queued -> run, at least */
    done_with(&f);

    /* a pool made while recording: each worker a lane of its own name (the barrier makes both
     * workers run at once, so neither can take every task) */
    CHECK(cl_trace_start() == 0);
    p = cl_pool_new(2);
    cl_barrier *both = cl_barrier_new(2, NULL, NULL, 5.0);
    void *pair[2] = {both, both}, *answers[2];
    CHECK(cl_pool_map(p, meet_at_barrier, pair, 2, answers, CL_FOREVER) == 0);
    cl_pool_shutdown(p, 1, 0);
    cl_pool_free(p);
    cl_barrier_free(both);
    cl_trace_stop();
    save_and_read("pool_names", &f);
    long first = tf_tid_named(&f, "worker 1 of pool 1"), second = tf_tid_named(&f, "worker 2 of pool 1");
    CHECK(first > 0 && second > 0 && first != second);
    done_with(&f);
}

/* ---- a process pool: its workers' tasks reach the parent's trace ------------------------------ */

static void remote_task(const void *arg, size_t size) {
    (void)arg;
    (void)size;
    cl_sleep(0.1); /* long beside the link thread's own running, which includes the fork (slow under TSan) */
    cl_task_return_long(1);
}

static void test_process_pool(void) {
    CHECK(cl_trace_start() == 0);
    cl_process_pool *p = cl_process_pool_new(2); /* its workers fork while recording */
    long args[4] = {0}, results[4];
    CHECK(cl_process_pool_map(p, remote_task, args, sizeof *args, 4, results, sizeof *results,
                              CL_FOREVER) == 0);
    cl_process_pool_shutdown(p, 1, 0);
    cl_process_pool_free(p);
    cl_trace_stop();
    tf_file f;
    save_and_read("process_pool", &f);
    int worker_names = 0, remote_runs = 0, remote_sleeps = 0;
    for (int i = 0; i < f.n; i++) {
        const tf_event *e = &f.events[i];
        int remote = e->pid != (int)getpid();
        if (e->ph == 'M' && remote && strcmp(e->name, "process_name") == 0 &&
            strcmp(e->what, "process pool worker") == 0)
            worker_names++;
        if (e->ph == 'X' && remote && strcmp(e->what, "a task of process_pool") == 0) remote_runs++;
        if (e->ph == 'X' && remote && strcmp(e->name, "sleep") == 0) remote_sleeps++;
    }
    CHECK(worker_names >= 1 && worker_names <= 2);
    CHECK(remote_runs >= 4); /* a task's running is cut in two by its sleep */
    CHECK(remote_sleeps == 4);
    /* the parent's link thread waits while its worker computes (it runs only to fork it and pass messages) */
    long link = tf_tid_named(&f, "link to process-pool worker 1");
    double link_running = 0, link_waiting = 0;
    for (int i = 0; i < f.n; i++) {
        const tf_event *e = &f.events[i];
        if (e->ph != 'X' || e->tid != link || e->pid != (int)getpid()) continue;
        if (strcmp(e->name, "running") == 0) link_running += e->dur;
        else link_waiting += e->dur;
    }
    if (!(link > 0 && link_waiting > 2 * link_running))
        fprintf(stderr, "link thread %ld: %.0f us running, %.0f us waiting\n", link, link_running, link_waiting);
    CHECK(link > 0 && link_waiting > 2 * link_running);
    done_with(&f);
}

/* ---- event-loop tasks ------------------------------------------------------------------------- */

static void *nap(void *arg) {
    cl_async_sleep(*(double *)arg);
    return NULL;
}

static double naps[3] = {0.2, 0.1, 0.3};

static void *gather_three(void *arg) {
    (void)arg;
    cl_task_set_name(cl_task_current(), "main"); /* renamed after it started: its lane too */
    cl_future *f[3];
    f[0] = cl_async_create_task_ex("nap-0.2", 0, nap, &naps[0]);
    f[1] = cl_async_create_task_ex("nap-0.1", 0, nap, &naps[1]);
    f[2] = cl_async_create_task_ex("nap-0.3", 0, nap, &naps[2]);
    cl_async_gather(f, 3, 0);
    for (int i = 0; i < 3; i++) cl_future_free(f[i]);
    return NULL;
}

/* How long the task lane named name lasted (s), from its outermost b/e pair; -1 if absent. */
static double task_lane_seconds(const tf_file *f, const char *name) {
    double begin = -1, end = -1;
    for (int i = 0; i < f->n; i++) {
        const tf_event *e = &f->events[i];
        if (strcmp(e->name, name) != 0) continue;
        if (e->ph == 'b' && begin < 0) begin = e->ts;
        if (e->ph == 'e') end = e->ts;
    }
    return begin < 0 || end < 0 ? -1 : (end - begin) * 1e-6;
}

static void test_tasks(void) {
    CHECK(cl_trace_start() == 0);
    CHECK(cl_async_run(gather_three, NULL, NULL) == CL_FUTURE_OK);
    cl_trace_stop();
    tf_file f;
    save_and_read("tasks", &f);
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof name, "task nap-%.1f", naps[i]);
        double lasted = task_lane_seconds(&f, name);
        CHECK(lasted > naps[i] - 0.01 && lasted < naps[i] + 0.08);
    }
    CHECK(tf_count(&f, 'b', "sleep", "sleep") >= 3);
    CHECK(task_lane_seconds(&f, "task main") > 0.25);
    done_with(&f);
}

/* ---- bounded: a flood drops, and says so ------------------------------------------------------ */

static void test_flood(void) {
    cl_lock *l = cl_lock_new();
    CHECK(cl_trace_start() == 0);
    for (int i = 0; i < 1500000; i++) { /* 3 million events: more than the buffers hold */
        cl_lock_acquire(l);
        cl_lock_release(l);
    }
    CHECK(cl_trace_dropped() > 0);
    unsigned long long dropped = cl_trace_dropped();
    cl_trace_stop();
    cl_lock_free(l);
    tf_file f;
    save_and_read("flood", &f);
    CHECK(f.dropped == dropped);
    done_with(&f);
    CHECK(cl_trace_start() == 0); /* a new recording starts empty */
    CHECK(cl_trace_dropped() == 0);
    cl_trace_stop();
}

/* ---- saving while recording ------------------------------------------------------------------- */

static long live_stop;

static void *lingers(void *arg) {
    (void)arg;
    while (!cl_atomic_load(&live_stop)) cl_sleep(0.01);
    return NULL;
}

static void test_live(void) {
    CHECK(cl_trace_start() == 0);
    cl_thread *t = cl_thread_start_named("lingerer", lingers, NULL);
    cl_sleep(0.05);
    tf_file f;
    save_and_read("live", &f); /* the model, built while the thread still records */
    CHECK(cl_trace_active());
    CHECK(tf_tid_named(&f, "lingerer") > 0);
    CHECK(tf_count(&f, 'X', "sleep", NULL) >= 2);
    done_with(&f);
    cl_atomic_store(&live_stop, 1);
    cl_thread_join(t);
    cl_trace_stop();
}

int main(void) {
    test_off_and_hook();
    test_threads_and_names();
    test_libc_calls();
    test_semaphore();
    test_gil();
    test_process();
    test_pool();
    test_process_pool();
    test_tasks();
    test_flood();
    test_live();
    return check_summary(SUITE);
}
