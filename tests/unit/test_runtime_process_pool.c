/* test_runtime_process_pool.c — cl_process_pool from the outside: results of every size, map,
 * starmap, imap_unordered, futures shared with the thread pool's waits, workers that crash or
 * are killed mid-task, terminate, shutdown, join, no zombies or orphans, misuse. Plain C that
 * gcc builds and tcc compiles at run time (the _tcc twin): tasks are cell code in a notebook.
 * Every wait is bounded; worker pids are checked through a shared page made before the pool. */
#include <conclab.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture_stderr.h"
#include "check.h"
#include "children.h"

/* Tasks here crash their worker on purpose (SIGSEGV): under ThreadSanitizer the worker must die
 * of the signal as it does without it, not exit through TSan's report (the pool reports how the
 * worker ended, and the test checks that). Only TSan reads this; CI's TSAN_OPTIONS add to it. */
const char *__tsan_default_options(void);
const char *__tsan_default_options(void) {
    return "handle_segv=0";
}

/* ---- tasks ---------------------------------------------------------------------------------- */

static void square(const void *arg, size_t size) {
    long x = *(const long *)arg;
    if (size != sizeof(long)) cl_task_fail("wrong argument size");
    else cl_task_return_long(x * x);
}

typedef struct power_args {
    long base, exponent;
} power_args;

static void power(const void *arg, size_t size) {
    const power_args *a = arg;
    long r = 1;
    (void)size;
    for (long i = 0; i < a->exponent; i++) r *= a->base;
    cl_task_return_long(r);
}

static void greet(const void *arg, size_t size) {
    char text[64];
    (void)size;
    snprintf(text, sizeof text, "hello %s from a worker", (const char *)arg);
    cl_task_return_string(text);
}

static void half(const void *arg, size_t size) {
    (void)size;
    cl_task_return_double(*(const double *)arg / 2);
}

static void silent(const void *arg, size_t size) {
    (void)arg;
    (void)size;
}

static void fail_if_three(const void *arg, size_t size) {
    long x = *(const long *)arg;
    (void)size;
    if (x == 3) {
        cl_task_fail("three is not allowed");
        return;
    }
    cl_task_return_long(x);
}

static void return_int_not_long(const void *arg, size_t size) {
    int x = (int)*(const long *)arg;
    (void)size;
    cl_task_return(&x, sizeof x);
}

static void crash(const void *arg, size_t size) {
    (void)arg;
    (void)size;
    raise(SIGSEGV);
}

static void kill_self(const void *arg, size_t size) {
    (void)arg;
    (void)size;
    kill(getpid(), SIGKILL);
}

static void exit_three(const void *arg, size_t size) {
    (void)arg;
    (void)size;
    _exit(3);
}

static void my_pid(const void *arg, size_t size) {
    (void)arg;
    (void)size;
    cl_task_return_long((long)getpid());
}

/* Sleeps the number of seconds in its argument, then answers it. */
static void nap(const void *arg, size_t size) {
    double seconds = *(const double *)arg;
    (void)size;
    usleep((useconds_t)(seconds * 1e6));
    cl_task_return_double(seconds);
}

/* Worker pids noted by tasks that run, in a page shared with the test made before the pool. */
static long *shared_pids;

static void note_pid_then_nap(const void *arg, size_t size) {
    long slot = *(const long *)arg;
    (void)size;
    shared_pids[slot] = (long)getpid();
    usleep(10 * 1000 * 1000); /* far longer than the test waits: terminate must end it */
    cl_task_return_long(slot);
}

#define BIG_SIZE (64u * 1024 * 1024)

static unsigned char pattern_at(size_t i) {
    return (unsigned char)(i * 7 + i / 4096);
}

static void big_result(const void *arg, size_t size) {
    unsigned char *data = malloc(BIG_SIZE);
    (void)arg;
    (void)size;
    if (!data) {
        cl_task_fail("no memory for 64 MB in the worker");
        return;
    }
    for (size_t i = 0; i < BIG_SIZE; i++) data[i] = pattern_at(i);
    cl_task_return(data, BIG_SIZE);
    free(data);
}

/* Sums the bytes of its argument: a big argument must arrive whole. */
static void sum_bytes(const void *arg, size_t size) {
    const unsigned char *p = arg;
    long sum = 0;
    for (size_t i = 0; i < size; i++) sum += p[i];
    cl_task_return_long(sum);
}

static void say_hello(const void *arg, size_t size) {
    (void)arg;
    (void)size;
    printf("task says hi\n");
}

/* ---- helpers -------------------------------------------------------------------------------- */

/* 1 when process pid is gone or a zombie that is not ours to reap (its parent died). */
static int process_gone(long pid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return 1;
    int gone = 0;
    if (fgets(line, sizeof line, f)) {
        char *close_paren = strrchr(line, ')');
        gone = close_paren && (close_paren[2] == 'Z' || close_paren[2] == 'X');
    }
    fclose(f);
    return gone;
}

/* Waits up to seconds for pid to be gone. */
static int wait_gone(long pid, double seconds) {
    double until = cl_now() + seconds;
    while (!process_gone(pid)) {
        if (cl_now() > until) return 0;
        usleep(10000);
    }
    return 1;
}


static long result_long(cl_future *f) {
    void *value = NULL;
    if (cl_future_result(f, 20, &value) != CL_FUTURE_OK || !value) return -999;
    return *(long *)value;
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_submit_results_of_every_kind(void) {
    cl_process_pool *pool = cl_process_pool_new(2);
    CHECK(pool != NULL);
    CHECK(cl_process_pool_workers(pool) == 2);

    long seven = 7;
    cl_future *f = cl_process_pool_submit(pool, square, &seven, sizeof seven);
    CHECK(result_long(f) == 49);
    CHECK(cl_future_result_size(f) == sizeof(long));
    CHECK(cl_future_succeeded(f) == 1);
    CHECK(cl_future_error(f) == NULL);
    cl_future_free(f);

    f = cl_process_pool_apply_async(pool, greet, "Ada", 4);
    void *value = NULL;
    CHECK(cl_future_result(f, 20, &value) == CL_FUTURE_OK);
    CHECK_STR((const char *)value, "hello Ada from a worker");
    CHECK(cl_future_result_size(f) == strlen("hello Ada from a worker") + 1);
    cl_future_free(f);

    double five = 5;
    f = cl_process_pool_submit(pool, half, &five, sizeof five);
    CHECK(cl_future_result(f, 20, &value) == CL_FUTURE_OK && value && *(double *)value == 2.5);
    cl_future_free(f);

    f = cl_process_pool_submit(pool, silent, NULL, 0); /* no answer: Python's None */
    CHECK(cl_future_result(f, 20, &value) == CL_FUTURE_OK);
    CHECK(value == NULL);
    CHECK(cl_future_result_size(f) == 0);
    cl_future_free(f);

    long three = 3;
    f = cl_process_pool_submit(pool, fail_if_three, &three, sizeof three);
    CHECK(cl_future_result(f, 20, &value) == CL_FUTURE_ERROR);
    CHECK_STR(cl_future_error(f), "three is not allowed");
    CHECK(cl_future_succeeded(f) == 0);
    cl_future_free(f);

    cl_process_pool_free(pool);
    CHECK(no_children_left());
}

static void test_map_and_starmap(void) {
    cl_process_pool *pool = cl_process_pool_new(3);
    long xs[8], squares[8];
    for (int i = 0; i < 8; i++) xs[i] = i + 1, squares[i] = -1;
    CHECK(cl_process_pool_map(pool, square, xs, sizeof xs[0], 8, squares, sizeof squares[0],
                              20) == 0);
    for (int i = 0; i < 8; i++) CHECK(squares[i] == (long)(i + 1) * (i + 1));

    /* Python: pool.starmap(pow, [(2, 10), (3, 5), (4, 3)]) == [1024, 243, 64] */
    power_args args[3] = {{2, 10}, {3, 5}, {4, 3}};
    long powers[3] = {0, 0, 0};
    CHECK(cl_process_pool_starmap(pool, power, args, sizeof args[0], 3, powers, sizeof powers[0],
                                  20) == 0);
    CHECK(powers[0] == 1024 && powers[1] == 243 && powers[2] == 64);

    /* 1000 small tasks, in order. */
    long *many = malloc(1000 * sizeof *many), *out = malloc(1000 * sizeof *out);
    for (int i = 0; i < 1000; i++) many[i] = i, out[i] = -1;
    CHECK(cl_process_pool_map(pool, square, many, sizeof(long), 1000, out, sizeof(long), 30) == 0);
    int right = 0;
    for (int i = 0; i < 1000; i++) right += out[i] == (long)i * i;
    CHECK(right == 1000);

    /* results may be NULL; n = 0 does nothing. */
    CHECK(cl_process_pool_map(pool, square, many, sizeof(long), 10, NULL, 0, 20) == 0);
    CHECK(cl_process_pool_map(pool, square, many, sizeof(long), 0, out, sizeof(long), 20) == 0);
    free(many);
    free(out);
    cl_process_pool_free(pool);
}

static void test_map_failures(void) {
    cl_process_pool *pool = cl_process_pool_new(2);
    long xs[6] = {0, 1, 2, 3, 4, 5}, out[6];

    capture_begin();
    int status = cl_process_pool_map(pool, fail_if_three, xs, sizeof xs[0], 6, out, sizeof out[0], 20);
    const char *said = capture_end();
    CHECK(status == -1);
    CHECK(strstr(said, "cl_process_pool_map: task 3 failed: three is not allowed") != NULL);
    CHECK(out[0] == 0 && out[1] == 1 && out[2] == 2);

    capture_begin();
    status = cl_process_pool_map(pool, return_int_not_long, xs, sizeof xs[0], 6, out, sizeof out[0], 20);
    said = capture_end();
    CHECK(status == -1);
    CHECK(strstr(said, "cl_process_pool_map: task 0 returned 4 bytes, but result_size is 8") != NULL);

    /* A map that cannot finish in time says so within the timeout, not after the task. */
    double naps[1] = {3.0};
    double took = cl_now();
    capture_begin();
    status = cl_process_pool_map(pool, nap, naps, sizeof naps[0], 1, NULL, 0, 0.2);
    said = capture_end();
    took = cl_now() - took;
    CHECK(status == -1);
    CHECK(strstr(said, "cl_process_pool_map: task 0 timed out") != NULL);
    CHECK(took >= 0.1 && took < 2);
    cl_process_pool_terminate(pool);
    cl_process_pool_free(pool);
    CHECK(no_children_left());
}

static void test_imap_unordered(void) {
    cl_process_pool *pool = cl_process_pool_new(2);
    /* Argument i sleeps longer for small i, so completion order differs from argument order. */
    double naps[6] = {0.30, 0.25, 0.01, 0.01, 0.01, 0.01};
    cl_process_pool_iter *it = cl_process_pool_imap_unordered(pool, nap, naps, sizeof naps[0], 6);
    CHECK(it != NULL);
    CHECK(cl_process_pool_iter_remaining(it) == 6);
    int seen[6] = {0, 0, 0, 0, 0, 0}, order[6], got = 0, index;
    const void *value;
    size_t size;
    while (cl_process_pool_iter_next(it, 20, &index, &value, &size) == 1) {
        CHECK(index >= 0 && index < 6);
        if (index < 0 || index >= 6) break;
        CHECK(size == sizeof(double) && *(const double *)value == naps[index]);
        seen[index]++;
        order[got++] = index;
    }
    CHECK(got == 6);
    for (int i = 0; i < 6; i++) CHECK(seen[i] == 1);
    CHECK(order[0] != 0); /* the longest nap does not come first */
    CHECK(cl_process_pool_iter_remaining(it) == 0);
    CHECK(cl_process_pool_iter_next(it, 0, &index, &value, &size) == 0);
    cl_process_pool_iter_free(it);

    /* A failed task is reported with its index; the others still come. */
    long xs[5] = {1, 2, 3, 4, 5};
    it = cl_process_pool_imap_unordered(pool, fail_if_three, xs, sizeof xs[0], 5);
    int ok = 0, failed = 0, failed_index = -1;
    capture_begin();
    for (int i = 0; i < 5; i++) {
        int r = cl_process_pool_iter_next(it, 20, &index, &value, &size);
        if (r == 1) ok++;
        if (r == -1) failed++, failed_index = index;
    }
    const char *said = capture_end();
    CHECK(ok == 4 && failed == 1 && failed_index == 2);
    CHECK(strstr(said, "cl_process_pool_iter_next: task 2 failed: three is not allowed") != NULL);
    cl_process_pool_iter_free(it);

    /* A poll with nothing finished yet returns 0 at once; freeing with tasks running is fine. */
    double slow[1] = {0.3};
    it = cl_process_pool_imap_unordered(pool, nap, slow, sizeof slow[0], 1);
    CHECK(cl_process_pool_iter_next(it, 0, &index, &value, &size) == 0);
    CHECK(cl_process_pool_iter_remaining(it) == 1);
    cl_process_pool_iter_free(it);
    cl_process_pool_free(pool);
}

static void test_futures_work_with_the_thread_pool_waits(void) {
    cl_process_pool *pool = cl_process_pool_new(2);
    cl_future *futs[5];
    long xs[5] = {1, 2, 3, 4, 5};
    for (int i = 0; i < 5; i++) futs[i] = cl_process_pool_submit(pool, square, &xs[i], sizeof xs[i]);
    cl_as_completed *it = cl_as_completed_new(futs, 5, 20);
    long sum = 0;
    int count = 0;
    cl_future *f;
    while ((f = cl_as_completed_next(it))) {
        sum += result_long(f);
        count++;
    }
    CHECK(count == 5 && sum == 1 + 4 + 9 + 16 + 25);
    cl_as_completed_free(it);
    CHECK(cl_futures_wait(futs, 5, CL_ALL_COMPLETED, 20) == 5);
    for (int i = 0; i < 5; i++) CHECK(cl_future_done(futs[i]));
    for (int i = 0; i < 5; i++) cl_future_free(futs[i]);

    /* Waiting with a timeout on a task that takes longer. */
    double seconds = 0.5;
    f = cl_process_pool_submit(pool, nap, &seconds, sizeof seconds);
    CHECK(cl_future_result(f, 0.05, NULL) == CL_FUTURE_TIMEOUT);
    CHECK(!cl_future_done(f));
    capture_begin();
    CHECK(cl_future_succeeded(f) == -1); /* Python: ValueError while not ready */
    CHECK(starts_with(capture_end(), "cl_future_succeeded: "));
    CHECK(cl_future_result(f, 20, NULL) == CL_FUTURE_OK);
    cl_future_free(f);
    cl_process_pool_free(pool);
}

static void test_worker_crash_mid_task(void) {
    cl_process_pool *pool = cl_process_pool_new(2);
    void *value;
    cl_future *f = cl_process_pool_submit(pool, crash, NULL, 0);
    CHECK(cl_future_result(f, 20, &value) == CL_FUTURE_ERROR);
    const char *error = cl_future_error(f);
    CHECK(error && strstr(error, "worker process ") && strstr(error, " died of SIGSEGV while running this task"));
    cl_future_free(f);

    f = cl_process_pool_submit(pool, kill_self, NULL, 0);
    CHECK(cl_future_result(f, 20, &value) == CL_FUTURE_ERROR);
    error = cl_future_error(f);
    CHECK(error && strstr(error, "died of SIGKILL"));
    cl_future_free(f);

    f = cl_process_pool_submit(pool, exit_three, NULL, 0);
    CHECK(cl_future_result(f, 20, &value) == CL_FUTURE_ERROR);
    error = cl_future_error(f);
    CHECK(error && strstr(error, "exited with status 3"));
    cl_future_free(f);

    /* The dead workers were replaced: the pool still has two and works. */
    long xs[8] = {1, 2, 3, 4, 5, 6, 7, 8}, out[8];
    CHECK(cl_process_pool_map(pool, square, xs, sizeof xs[0], 8, out, sizeof out[0], 20) == 0);
    CHECK(out[7] == 64);
    CHECK(cl_process_pool_workers(pool) == 2);

    /* A crash inside a map chunk fails the map with the reason. */
    capture_begin();
    int status = cl_process_pool_map(pool, crash, xs, sizeof xs[0], 2, NULL, 0, 20);
    const char *said = capture_end();
    CHECK(status == -1);
    CHECK(strstr(said, "died of SIGSEGV") != NULL);
    cl_process_pool_free(pool);
    CHECK(no_children_left());
}

static void test_terminate_busy_pool(void) {
    shared_pids = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(shared_pids != MAP_FAILED);
    if (shared_pids == MAP_FAILED) return;
    memset(shared_pids, 0, 4096);
    cl_process_pool *pool = cl_process_pool_new(2);
    cl_future *futs[4];
    long slots[4] = {0, 1, 2, 3};
    for (int i = 0; i < 4; i++) futs[i] = cl_process_pool_submit(pool, note_pid_then_nap, &slots[i], sizeof slots[i]);
    double until = cl_now() + 10;
    while ((!shared_pids[0] || !shared_pids[1]) && cl_now() < until) usleep(5000);
    CHECK(shared_pids[0] && shared_pids[1]); /* both workers are busy */

    double took = cl_now();
    CHECK(cl_process_pool_terminate(pool) == 0);
    for (int i = 0; i < 4; i++) {
        CHECK(cl_future_result(futs[i], 5, NULL) == CL_FUTURE_ERROR);
        CHECK_STR(cl_future_error(futs[i]), "the pool was terminated");
    }
    CHECK(cl_process_pool_join(pool, 5) == 1);
    took = cl_now() - took;
    CHECK(took < 3);
    CHECK(shared_pids[2] == 0 && shared_pids[3] == 0); /* the queued ones never ran */
    CHECK(process_gone(shared_pids[0]) && process_gone(shared_pids[1]));
    CHECK(no_children_left());
    capture_begin();
    CHECK(cl_process_pool_submit(pool, square, &slots[0], sizeof slots[0]) == NULL);
    CHECK(starts_with(capture_end(), "cl_process_pool_submit: the pool is closed"));
    for (int i = 0; i < 4; i++) cl_future_free(futs[i]);
    CHECK(cl_process_pool_terminate(pool) == 0); /* again: nothing left to do */
    cl_process_pool_free(pool);
    munmap(shared_pids, 4096);
    shared_pids = NULL;
}

static void test_close_join_shutdown(void) {
    cl_process_pool *pool = cl_process_pool_new(1);
    long pid_arg = 0;
    cl_future *pid_f = cl_process_pool_submit(pool, my_pid, &pid_arg, sizeof pid_arg);
    long worker = result_long(pid_f);
    cl_future_free(pid_f);
    CHECK(worker > 0 && worker != (long)getpid());

    capture_begin();
    CHECK(cl_process_pool_join(pool, 1) == -1);
    CHECK(starts_with(capture_end(), "cl_process_pool_join: the pool is still running"));

    /* close lets the queued tasks run; join times out while one still does, then ends. */
    double seconds = 0.6;
    cl_future *f = cl_process_pool_submit(pool, nap, &seconds, sizeof seconds);
    CHECK(cl_process_pool_close(pool) == 0);
    double took = cl_now();
    CHECK(cl_process_pool_join(pool, 0.2) == 0);
    took = cl_now() - took;
    CHECK(took >= 0.1 && took < 2);
    CHECK(cl_process_pool_join(pool, 20) == 1);
    CHECK(cl_future_result(f, 0, NULL) == CL_FUTURE_OK);
    capture_begin();
    CHECK(cl_process_pool_submit(pool, square, &pid_arg, sizeof pid_arg) == NULL);
    CHECK(starts_with(capture_end(), "cl_process_pool_submit: the pool is closed"));
    cl_future_free(f);
    CHECK(process_gone(worker));
    CHECK(no_children_left());
    cl_process_pool_free(pool);

    /* shutdown(wait, cancel_pending): the queued tasks are cancelled, the running one finishes. */
    pool = cl_process_pool_new(1);
    double first = 0.3, other = 0.01;
    cl_future *running = cl_process_pool_submit(pool, nap, &first, sizeof first);
    cl_future *queued[3];
    for (int i = 0; i < 3; i++) queued[i] = cl_process_pool_submit(pool, nap, &other, sizeof other);
    usleep(100000); /* the first one has started */
    CHECK(cl_process_pool_shutdown(pool, 1, 1) == 0);
    CHECK(cl_future_result(running, 0, NULL) == CL_FUTURE_OK);
    for (int i = 0; i < 3; i++) CHECK(cl_future_cancelled(queued[i]));
    for (int i = 0; i < 3; i++) cl_future_free(queued[i]);
    cl_future_free(running);
    CHECK(no_children_left());
    cl_process_pool_free(pool);

    /* free lets queued tasks finish (ProcessPoolExecutor's `with`), their futures outlive it. */
    pool = cl_process_pool_new(2);
    long xs[4] = {1, 2, 3, 4};
    cl_future *later[4];
    for (int i = 0; i < 4; i++) later[i] = cl_process_pool_submit(pool, square, &xs[i], sizeof xs[i]);
    cl_process_pool_free(pool);
    for (int i = 0; i < 4; i++) CHECK(result_long(later[i]) == xs[i] * xs[i]);
    for (int i = 0; i < 4; i++) cl_future_free(later[i]);
    CHECK(no_children_left());
}

static void test_big_payloads(void) {
    cl_process_pool *pool = cl_process_pool_new(1);
    cl_future *f = cl_process_pool_submit(pool, big_result, NULL, 0);
    void *value = NULL;
    CHECK(cl_future_result(f, 60, &value) == CL_FUTURE_OK);
    CHECK(cl_future_result_size(f) == BIG_SIZE);
    if (value && cl_future_result_size(f) == BIG_SIZE) {
        const unsigned char *data = value;
        size_t wrong = 0;
        for (size_t i = 0; i < BIG_SIZE; i++) wrong += data[i] != pattern_at(i);
        CHECK(wrong == 0);
    }
    cl_future_free(f);

    /* 8 MB of argument bytes arrive whole. */
    size_t size = 8u * 1024 * 1024;
    unsigned char *arg = malloc(size);
    long want = 0;
    for (size_t i = 0; i < size; i++) arg[i] = (unsigned char)(i * 13), want += arg[i];
    f = cl_process_pool_submit(pool, sum_bytes, arg, size);
    free(arg); /* the pool copied it */
    CHECK(result_long(f) == want);
    cl_future_free(f);
    cl_process_pool_free(pool);
}

static void test_future_set_bytes(void) {
    cl_future *f = cl_future_new();
    char text[] = "bytes";
    CHECK(cl_future_set_bytes(f, text, sizeof text) == 0);
    text[0] = 'X'; /* the future has its own copy */
    void *value = NULL;
    CHECK(cl_future_result(f, 0, &value) == CL_FUTURE_OK);
    CHECK_STR((const char *)value, "bytes");
    CHECK(cl_future_result_size(f) == sizeof text);
    CHECK(cl_future_succeeded(f) == 1);
    capture_begin();
    CHECK(cl_future_set_bytes(f, text, sizeof text) == -1);
    CHECK(starts_with(capture_end(), "cl_future_set_bytes: "));
    cl_future_free(f);

    f = cl_future_new();
    CHECK(cl_future_set_result(f, text) == 0);
    CHECK(cl_future_result_size(f) == 0); /* not bytes */
    cl_future_free(f);

    f = cl_future_new();
    cl_future_cancel(f);
    CHECK(cl_future_set_bytes(f, text, sizeof text) == -1); /* the copy is dropped, no leak */
    CHECK(cl_future_succeeded(f) == 0);
    cl_future_free(f);
}

/* Output of a worker shows once, and what was buffered before the fork is not printed twice. */
static void test_output_not_doubled(void) {
    fflush(NULL);
    FILE *file = tmpfile();
    pid_t child = fork();
    if (child == 0) {
        dup2(fileno(file), 1); /* stdout is now fully buffered: a file */
        printf("before the pool\n");
        cl_process_pool *pool = cl_process_pool_new(2);
        cl_future *f = cl_process_pool_submit(pool, say_hello, NULL, 0);
        cl_future_result(f, 20, NULL);
        cl_future_free(f);
        cl_process_pool_free(pool);
        printf("after the pool\n");
        fflush(NULL);
        _exit(0);
    }
    int status = -1;
    waitpid(child, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    char text[512];
    ssize_t n = pread(fileno(file), text, sizeof text - 1, 0);
    text[n > 0 ? n : 0] = '\0';
    fclose(file);
    CHECK_STR(text, "before the pool\ntask says hi\nafter the pool\n");
}

/* Workers die with their parent: no orphans when the process that made the pool ends. */
static void test_no_orphans(void) {
    int fds[2];
    CHECK(pipe(fds) == 0);
    fflush(NULL);
    pid_t child = fork();
    if (child == 0) {
        close(fds[0]);
        cl_process_pool *pool = cl_process_pool_new(2);
        long arg = 0, pid;
        cl_future *f = cl_process_pool_submit(pool, my_pid, &arg, sizeof arg);
        pid = result_long(f);
        if (write(fds[1], &pid, sizeof pid) != (ssize_t)sizeof pid) _exit(2);
        _exit(0); /* without freeing the pool */
    }
    close(fds[1]);
    long worker = 0;
    CHECK(read(fds[0], &worker, sizeof worker) == (ssize_t)sizeof worker);
    close(fds[0]);
    int status = -1;
    waitpid(child, &status, 0);
    CHECK(worker > 0 && wait_gone(worker, 5));
}

static void test_misuse(void) {
    long x = 1;
    capture_begin();
    CHECK(cl_process_pool_new(-1) == NULL);
    CHECK(starts_with(captured_so_far(), "cl_process_pool_new: workers must be >= 0"));
    capture_end();

    capture_begin();
    CHECK(cl_process_pool_submit(NULL, square, &x, sizeof x) == NULL);
    CHECK(starts_with(capture_end(), "cl_process_pool_submit: pool is NULL"));

    cl_process_pool *pool = cl_process_pool_new(1);
    capture_begin();
    CHECK(cl_process_pool_submit(pool, NULL, &x, sizeof x) == NULL);
    CHECK(starts_with(capture_end(), "cl_process_pool_submit: fn is NULL"));
    capture_begin();
    CHECK(cl_process_pool_submit(pool, square, NULL, 8) == NULL);
    CHECK(starts_with(capture_end(), "cl_process_pool_submit: arg is NULL"));
    capture_begin();
    CHECK(cl_process_pool_map(pool, square, &x, sizeof x, 1, &x, sizeof x, -1) == -1);
    CHECK(starts_with(capture_end(), "cl_process_pool_map: timeout must be >= 0"));
    capture_begin();
    CHECK(cl_process_pool_map(pool, square, &x, sizeof x, -2, &x, sizeof x, 1) == -1);
    CHECK(starts_with(capture_end(), "cl_process_pool_map: n must be >= 0"));
    capture_begin();
    CHECK(cl_process_pool_imap_unordered(pool, square, NULL, 8, 3) == NULL);
    CHECK(starts_with(capture_end(), "cl_process_pool_imap_unordered: args is NULL"));
    capture_begin();
    CHECK(cl_process_pool_join(pool, -1) == -1);
    CHECK(starts_with(capture_end(), "cl_process_pool_join: timeout must be >= 0"));
    capture_begin();
    CHECK(cl_process_pool_iter_next(NULL, 1, NULL, NULL, NULL) == -1);
    CHECK(starts_with(capture_end(), "cl_process_pool_iter_next: iterator is NULL"));

    /* Answering outside a worker's task. */
    capture_begin();
    CHECK(cl_task_return_long(3) == -1);
    CHECK(starts_with(capture_end(), "cl_task_return_long: not inside a task"));
    capture_begin();
    CHECK(cl_task_return(&x, sizeof x) == -1);
    CHECK(starts_with(capture_end(), "cl_task_return: not inside a task"));
    capture_begin();
    CHECK(cl_task_fail("no") == -1);
    CHECK(starts_with(capture_end(), "cl_task_fail: not inside a task"));

    /* A forked child cannot use its parent's pool: it says so instead of hanging. */
    fflush(NULL);
    pid_t child = fork();
    if (child == 0) {
        int fd = open("/dev/null", 0);
        dup2(fd, 2);
        _exit(cl_process_pool_submit(pool, square, &x, sizeof x) == NULL ? 0 : 1);
    }
    int status = -1;
    waitpid(child, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    cl_process_pool_free(pool);
    cl_process_pool_free(NULL); /* like free(NULL) */
    CHECK(no_children_left());
}

static void test_one_per_cpu(void) {
    cl_process_pool *pool = cl_process_pool_new(0);
    CHECK(cl_process_pool_workers(pool) == cl_cpu_count());
    cl_process_pool_free(pool);
}

int main(void) {
    alarm(300); /* a hang anywhere fails the test instead of blocking the run */
    test_submit_results_of_every_kind();
    test_map_and_starmap();
    test_map_failures();
    test_imap_unordered();
    test_futures_work_with_the_thread_pool_waits();
    test_worker_crash_mid_task();
    test_terminate_busy_pool();
    test_close_join_shutdown();
    test_big_payloads();
    test_future_set_bytes();
    test_output_not_doubled();
    test_no_orphans();
    test_misuse();
    test_one_per_cpu();
    return check_summary("test_runtime_process_pool");
}
