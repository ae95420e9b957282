/* test_runtime.c — libconclab from the outside: threads, locks, atomics, clocks and the error
 * line every misuse must print. Built twice: by gcc as a normal test, and compiled by tcc at run
 * time (test_runtime_tcc), because notebook cells call the runtime from tcc code. */
#include <conclab.h>
#include <conclab_host.h>

#include <pthread.h>
#include <sys/wait.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#ifdef __TINYC__
#define SUITE "test_runtime (tcc)"
#else
#define SUITE "test_runtime"
#endif

#define THREADS 8
#define ITERATIONS 100000

/* ---- capturing stderr (the message a misuse prints) or stdout ------------------------- */

static char captured[2048];
static FILE *capture_file;
static int captured_fd, saved_fd = -1;

static void capture_fd_begin(int fd) {
    fflush(stdout);
    fflush(stderr);
    capture_file = tmpfile();
    captured_fd = fd;
    saved_fd = dup(fd);
    dup2(fileno(capture_file), fd);
}

static void capture_begin(void) {
    capture_fd_begin(2);
}

/* What reached the captured fd so far, without ending the capture. pread leaves the file offset
 * alone: the fd being captured shares it and keeps appending. */
static const char *captured_so_far(void) {
    static char text[2048];
    ssize_t n = pread(fileno(capture_file), text, sizeof text - 1, 0);
    text[n > 0 ? n : 0] = '\0';
    return text;
}

static const char *capture_end(void) {
    fflush(stdout);
    fflush(stderr);
    dup2(saved_fd, captured_fd);
    close(saved_fd);
    rewind(capture_file);
    size_t n = fread(captured, 1, sizeof captured - 1, capture_file);
    captured[n] = '\0';
    fclose(capture_file);
    return captured;
}

static int starts_with(const char *text, const char *prefix) {
    return strncmp(text, prefix, strlen(prefix)) == 0;
}

/* ---- atomics ---------------------------------------------------------------------------- */

static long atomic_counter;

static void *add_many(void *arg) {
    long last = 0;
    (void)arg;
    for (int i = 0; i < ITERATIONS; i++) last = cl_atomic_add(&atomic_counter, 1);
    return (void *)last;
}

static void *cas_increment_many(void *arg) {
    (void)arg;
    for (int i = 0; i < ITERATIONS; i++) {
        long seen;
        do seen = cl_atomic_load(&atomic_counter);
        while (!cl_atomic_cas(&atomic_counter, seen, seen + 1));
    }
    return NULL;
}

/* Runs fn on THREADS threads and returns the largest value they returned. */
static long run_on_threads(void *(*fn)(void *)) {
    cl_thread *threads[THREADS];
    long largest = 0;
    for (int i = 0; i < THREADS; i++) threads[i] = cl_thread_start(fn, NULL);
    for (int i = 0; i < THREADS; i++) {
        CHECK(threads[i] != NULL);
        long r = (long)cl_thread_join(threads[i]);
        if (r > largest) largest = r;
    }
    return largest;
}

static void test_atomic_add_from_threads(void) {
    cl_atomic_store(&atomic_counter, 0);
    long largest = run_on_threads(add_many);
    CHECK(cl_atomic_load(&atomic_counter) == (long)THREADS * ITERATIONS);
    /* add returns the new value: the very last add anywhere returned the total. */
    CHECK(largest == (long)THREADS * ITERATIONS);
}

static void test_atomic_cas_from_threads(void) {
    cl_atomic_store(&atomic_counter, 0);
    run_on_threads(cas_increment_many);
    CHECK(cl_atomic_load(&atomic_counter) == (long)THREADS * ITERATIONS);
}

static void test_atomic_single_thread(void) {
    long x = 5;
    CHECK(cl_atomic_cas(&x, 5, 7) == 1);
    CHECK(x == 7);
    CHECK(cl_atomic_cas(&x, 5, 9) == 0);
    CHECK(x == 7);
    CHECK(cl_atomic_add(&x, -10) == -3);
    cl_atomic_store(&x, 123456789012L);
    CHECK(cl_atomic_load(&x) == 123456789012L);
}

/* ---- locks ------------------------------------------------------------------------------ */

static cl_lock *counter_lock;
static long locked_counter;

static void *locked_add_many(void *arg) {
    (void)arg;
    for (int i = 0; i < ITERATIONS; i++) {
        cl_lock_acquire(counter_lock);
        locked_counter++; /* a plain read-modify-write: only the lock makes it exact */
        cl_lock_release(counter_lock);
    }
    return NULL;
}

static void test_locked_increments_are_exact(void) {
    counter_lock = cl_lock_new();
    CHECK(counter_lock != NULL);
    locked_counter = 0;
    run_on_threads(locked_add_many);
    CHECK(locked_counter == (long)THREADS * ITERATIONS);
    cl_lock_free(counter_lock);
}

/* ---- threads ---------------------------------------------------------------------------- */

static long gate;

static void *wait_at_gate_then_double(void *arg) {
    while (!cl_atomic_load(&gate)) cl_sleep(0.001);
    return (void *)((long)arg * 2);
}

static void *exit_early(void *arg) {
    pthread_exit(arg);
    return NULL;
}

/* Polls cl_thread_count until it reaches want or a few seconds pass; returns the last count. */
static int wait_for_count(int want) {
    double deadline = cl_now() + 5.0;
    int n = cl_thread_count();
    while (n != want && cl_now() < deadline) {
        cl_sleep(0.001);
        n = cl_thread_count();
    }
    return n;
}

static void test_thread_count_and_results(void) {
    enum { N = 4 };
    cl_thread *t[N];
    CHECK(cl_thread_count() == 0);
    cl_atomic_store(&gate, 0);
    for (long i = 0; i < N; i++) t[i] = cl_thread_start(wait_at_gate_then_double, (void *)(i + 1));
    CHECK(cl_thread_count() == N);
    cl_atomic_store(&gate, 1);
    /* Finished threads stop counting when fn returns, not when someone joins them. */
    CHECK(wait_for_count(0) == 0);
    for (long i = 0; i < N; i++) CHECK((long)cl_thread_join(t[i]) == (i + 1) * 2);
    CHECK(cl_thread_count() == 0);
}

static void test_thread_exit_is_counted(void) {
    cl_thread *t = cl_thread_start(exit_early, (void *)42);
    CHECK(t != NULL);
    CHECK(wait_for_count(0) == 0);
    CHECK((long)cl_thread_join(t) == 42);
}

static cl_thread *self_handle;
static long self_handle_published;

static void *join_myself(void *arg) {
    (void)arg;
    while (!cl_atomic_load(&self_handle_published)) cl_sleep(0.001);
    return cl_thread_join(self_handle);
}

static void test_thread_errors(void) {
    capture_begin();
    cl_thread *t = cl_thread_start(NULL, NULL);
    const char *msg = capture_end();
    CHECK(t == NULL);
    CHECK(starts_with(msg, "cl_thread_start: "));
    CHECK(cl_thread_count() == 0);

    capture_begin();
    void *r = cl_thread_join(NULL);
    msg = capture_end();
    CHECK(r == NULL);
    CHECK(starts_with(msg, "cl_thread_join: "));

    capture_begin();
    self_handle = cl_thread_start(join_myself, NULL);
    cl_atomic_store(&self_handle_published, 1);
    r = cl_thread_join(self_handle);
    msg = capture_end();
    CHECK(r == NULL);
    CHECK(starts_with(msg, "cl_thread_join: "));
    CHECK(strstr(msg, "itself") != NULL);
}

static cl_lock *foreign_lock;

static void *release_foreign_lock(void *arg) {
    (void)arg;
    return (void *)(long)cl_lock_release(foreign_lock);
}

/* Python's Lock semantics: not owned, so another thread may release it; releasing an unlocked
 * lock and freeing a held one are the errors. (A second acquire by the same thread waits, as in
 * Python; test_runtime_sync covers it.) */
static void test_lock_errors(void) {
    cl_lock *l = cl_lock_new();
    CHECK(l != NULL);

    cl_lock_acquire(l);
    capture_begin();
    int freed = cl_lock_free(l); /* still held: must refuse */
    const char *msg = capture_end();
    CHECK(freed == 0);
    CHECK(starts_with(msg, "cl_lock_free: "));

    foreign_lock = l;
    capture_begin();
    long released = (long)cl_thread_join(cl_thread_start(release_foreign_lock, NULL));
    msg = capture_end();
    CHECK(released == 1);
    CHECK_STR(msg, "");
    CHECK(cl_lock_locked(l) == 0);

    capture_begin();
    int again = cl_lock_release(l); /* no longer held */
    msg = capture_end();
    CHECK(again == 0);
    CHECK(starts_with(msg, "cl_lock_release: release unlocked lock"));

    capture_begin();
    cl_lock_free(l);
    cl_lock_free(NULL);
    msg = capture_end();
    CHECK_STR(msg, "");

    capture_begin();
    cl_lock_acquire(NULL);
    msg = capture_end();
    CHECK(starts_with(msg, "cl_lock_acquire: "));
}

static void test_atomic_errors(void) {
    capture_begin();
    long r = cl_atomic_add(NULL, 1);
    const char *msg = capture_end();
    CHECK(r == 0);
    CHECK(starts_with(msg, "cl_atomic_add: "));

    capture_begin();
    int swapped = cl_atomic_cas(NULL, 0, 1);
    msg = capture_end();
    CHECK(swapped == 0);
    CHECK(starts_with(msg, "cl_atomic_cas: "));
}

/* ---- time and machine ------------------------------------------------------------------- */

static double monotonic_reference(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void test_clock_and_sleep(void) {
    double before = monotonic_reference();
    double now = cl_now();
    double after = monotonic_reference();
    CHECK(before <= now + 1e-6 && now <= after + 1e-6);

    double t0 = cl_now();
    cl_sleep(0.05);
    double slept = cl_now() - t0;
    CHECK(slept >= 0.05);
    CHECK(slept < 1.0);

    t0 = cl_now();
    cl_sleep(0.0015); /* fractions of a millisecond count too */
    slept = cl_now() - t0;
    CHECK(slept >= 0.0015);
    CHECK(slept < 0.5);

    t0 = cl_now();
    cl_sleep(0);
    CHECK(cl_now() - t0 < 0.5);
}

static void test_sleep_errors(void) {
    volatile double zero = 0;
    capture_begin();
    double t0 = cl_now();
    cl_sleep(-1);
    cl_sleep(zero / zero);
    double took = cl_now() - t0;
    const char *msg = capture_end();
    CHECK(took < 0.5);
    CHECK(starts_with(msg, "cl_sleep: "));
    CHECK(strstr(msg + 1, "\ncl_sleep: ") != NULL); /* both calls reported */
}

/* ---- output ----------------------------------------------------------------------------- */

static int clear_calls, clear_waited;
static char output_seen_by_hook[2048];

static void count_clear(void *ctx, int wait) {
    clear_calls += *(int *)ctx;
    clear_waited = wait;
    snprintf(output_seen_by_hook, sizeof output_seen_by_hook, "%s", captured_so_far());
}

static void test_clear_output_calls_host_hook(void) {
    int step = 1;
    cl_host_hooks hooks = {.clear_output = count_clear, .ctx = &step};
    cl_host_set_hooks(&hooks);
    capture_fd_begin(1);
    printf("shown before clearing"); /* no newline: still in stdio's buffer unless flushed */
    cl_clear_output(1);
    capture_end();
    cl_host_set_hooks(NULL);
    CHECK(clear_calls == 1);
    CHECK(clear_waited == 1); /* wait reaches the host as given */
    /* The host must see everything written before the clear, or it would clear too early. */
    CHECK_STR(output_seen_by_hook, "shown before clearing");
}

static void test_clear_output_without_host(void) {
    clear_calls = 0;
    capture_fd_begin(1); /* a file, not a terminal: nothing to clear, nothing written */
    cl_clear_output(0);
    const char *out = capture_end();
    CHECK_STR(out, "");
    CHECK(clear_calls == 0);
}

static void test_cpu_count(void) {
    int n = cl_cpu_count();
    CHECK(n >= 1);
    CHECK(n <= sysconf(_SC_NPROCESSORS_CONF));
}

/* ---- what else the machine is doing ------------------------------------------------------------ */

static void spin_for(double seconds) {
    volatile unsigned long turns = 0;
    double end = cl_now() + seconds;
    while (cl_now() < end) turns++;
}

static void *spin_thread(void *arg) {
    spin_for(*(double *)arg);
    return NULL;
}

/* Cores other programs kept busy while this program spun: in a thread of its own (new_session 0,
 * thread 1), in a child of its session (0, 0), or in a child that left the session (1, 0), which
 * is another program as far as the machine is concerned. */
static double others_while_spinning(int new_session, int thread) {
    double seconds = 0.3;
    cl_machine_mark mark = cl_machine_mark_now();
    if (thread) {
        cl_thread *t = cl_thread_start(spin_thread, &seconds);
        cl_thread_join(t);
    } else if (!new_session) {
        fflush(NULL);
        pid_t child = fork();
        if (child == 0) {
            spin_for(seconds);
            _exit(0);
        }
        waitpid(child, NULL, 0);
    } else { /* another program: a grandchild in a session of its own, never reaped by us */
        int done[2];
        if (pipe(done) != 0) return -1;
        fflush(NULL);
        pid_t child = fork();
        if (child == 0) {
            setsid();
            if (fork() == 0) {
                spin_for(seconds);
                if (write(done[1], "x", 1) != 1) _exit(1);
                _exit(0);
            }
            _exit(0);
        }
        waitpid(child, NULL, 0);
        close(done[1]);
        char byte;
        if (read(done[0], &byte, 1) != 1) return -1;
        close(done[0]);
    }
    return cl_machine_others_since(mark);
}

static void test_machine_load(void) {
    if (cl_machine_others_since(cl_machine_mark_now()) < 0) {
        printf("  (no /proc/stat here: cl_machine_others_since is -1, as documented)\n");
        return;
    }
    /* Other programs may run beside this one and come and go: up to eight rounds, and one that
     * tells the three apart is enough. */
    int told_apart = 0;
    double thread = 0, child = 0, stranger = 0;
    for (int round = 0; round < 8 && !told_apart; round++) {
        thread = others_while_spinning(0, 1);
        child = others_while_spinning(0, 0);
        stranger = others_while_spinning(1, 0);
        told_apart = thread >= 0 && child >= 0 && stranger >= child + 0.5 && stranger >= thread + 0.5;
    }
    if (!told_apart) printf("  others: thread %.2f, own child %.2f, another session's child %.2f\n", thread, child, stranger);
    /* A stranger can only show up as a core more of load when the others left one idle. */
    double busiest = thread > child ? thread : child;
    if (!told_apart && busiest > cl_cpu_count() - 1.5) {
        printf("  the machine was busy (others kept %.2f of %d cores busy): not judged\n", busiest, cl_cpu_count());
        return;
    }
    CHECK(told_apart);
}

int main(void) {
    test_atomic_single_thread();
    test_atomic_add_from_threads();
    test_atomic_cas_from_threads();
    test_locked_increments_are_exact();
    test_thread_count_and_results();
    test_thread_exit_is_counted();
    test_thread_errors();
    test_lock_errors();
    test_atomic_errors();
    test_clock_and_sleep();
    test_sleep_errors();
    test_cpu_count();
    test_machine_load();
    test_clear_output_calls_host_hook();
    test_clear_output_without_host();
    return check_summary(SUITE);
}
