/* test_runtime_atomic.c — atomics (int, long, pointer) and thread-local values, from the outside.
 * Built by gcc as a normal test and compiled by tcc at run time (test_runtime_atomic_tcc),
 * because notebook cells call these from tcc code, which has no atomics and no __thread. */
#include <conclab.h>

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture_stderr.h"
#include "check.h"

#ifdef __TINYC__
#define SUITE "test_runtime_atomic (tcc)"
#else
#define SUITE "test_runtime_atomic"
#endif

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define USE_AFTER_FREE_CHECKS 0 /* sanitizers rightly flag the read that detects a double free */
#else
#define USE_AFTER_FREE_CHECKS 1
#endif

#define THREADS 8
#define ITERATIONS 100000

/* The threads of one run start their loops together, so they really contend. */
static int arrived_at_start;
static void *(*run_fn)(void *);

static void *start_together(void *arg) {
    cl_atomic_int_add(&arrived_at_start, 1);
    while (cl_atomic_int_load(&arrived_at_start) < THREADS) sched_yield();
    return run_fn(arg);
}

/* Runs fn(arg) on THREADS pthreads (not cl_thread: this tests atomics, nothing else) and
 * returns the largest value they returned. */
static long run_on_threads(void *(*fn)(void *), void *arg) {
    pthread_t threads[THREADS];
    long largest = 0;
    run_fn = fn;
    cl_atomic_int_store(&arrived_at_start, 0);
    for (int i = 0; i < THREADS; i++)
        CHECK(pthread_create(&threads[i], NULL, start_together, arg) == 0);
    for (int i = 0; i < THREADS; i++) {
        void *r = NULL;
        pthread_join(threads[i], &r);
        if ((long)r > largest) largest = (long)r;
    }
    return largest;
}

/* ---- contention --------------------------------------------------------------------------- */

static long long_counter;
static int int_counter;
static void *moving_pointer;

static void *long_adds(void *arg) {
    long last = 0;
    (void)arg;
    for (int i = 0; i < ITERATIONS; i++) last = cl_atomic_long_add(&long_counter, 1);
    return (void *)last;
}

static void *int_adds(void *arg) {
    long last = 0;
    (void)arg;
    for (int i = 0; i < ITERATIONS; i++) last = cl_atomic_int_add(&int_counter, 1);
    return (void *)last;
}

static void *int_cas_increments(void *arg) {
    (void)arg;
    for (int i = 0; i < ITERATIONS; i++) {
        int seen;
        do seen = cl_atomic_int_load(&int_counter);
        while (!cl_atomic_int_cas(&int_counter, seen, seen + 1));
    }
    return NULL;
}

static void *long_cas_increments(void *arg) {
    (void)arg;
    for (int i = 0; i < ITERATIONS; i++) {
        long seen;
        do seen = cl_atomic_load(&long_counter);
        while (!cl_atomic_cas(&long_counter, seen, seen + 1));
    }
    return NULL;
}

static void *pointer_steps(void *arg) {
    (void)arg;
    for (int i = 0; i < ITERATIONS; i++) cl_atomic_ptr_add(&moving_pointer, 8);
    return NULL;
}

static void test_adds_under_contention(void) {
    cl_atomic_long_store(&long_counter, 0);
    long largest = run_on_threads(long_adds, NULL);
    CHECK(cl_atomic_long_load(&long_counter) == (long)THREADS * ITERATIONS);
    CHECK(largest == (long)THREADS * ITERATIONS); /* add returns the new value */

    cl_atomic_int_store(&int_counter, 0);
    largest = run_on_threads(int_adds, NULL);
    CHECK(cl_atomic_int_load(&int_counter) == THREADS * ITERATIONS);
    CHECK(largest == (long)THREADS * ITERATIONS);

    cl_atomic_ptr_store(&moving_pointer, NULL);
    run_on_threads(pointer_steps, NULL);
    CHECK((uintptr_t)cl_atomic_ptr_load(&moving_pointer) == (uintptr_t)THREADS * ITERATIONS * 8);
}

static void test_cas_loops_under_contention(void) {
    cl_atomic_int_store(&int_counter, 0);
    run_on_threads(int_cas_increments, NULL);
    CHECK(cl_atomic_int_load(&int_counter) == THREADS * ITERATIONS);

    cl_atomic_store(&long_counter, 0);
    run_on_threads(long_cas_increments, NULL);
    CHECK(cl_atomic_load(&long_counter) == (long)THREADS * ITERATIONS);
}

/* A Treiber stack: pushing with a pointer CAS from every thread loses no node. */
typedef struct node {
    struct node *next;
} node;

#define NODES_PER_THREAD 2000
static node *stack_top;
static node nodes[THREADS * NODES_PER_THREAD];
static int next_slice;

static void *push_nodes(void *arg) {
    (void)arg;
    int slice = cl_atomic_int_add(&next_slice, 1) - 1;
    for (int i = 0; i < NODES_PER_THREAD; i++) {
        node *n = &nodes[slice * NODES_PER_THREAD + i];
        node *top;
        do {
            top = cl_atomic_ptr_load((void **)&stack_top);
            n->next = top;
        } while (!cl_atomic_ptr_cas((void **)&stack_top, top, n));
    }
    return NULL;
}

static void test_pointer_cas_stack(void) {
    run_on_threads(push_nodes, NULL);
    int count = 0;
    for (node *n = cl_atomic_ptr_load((void **)&stack_top); n; n = n->next) count++;
    CHECK(count == THREADS * NODES_PER_THREAD);
}

/* A spin lock made of exchange: the plain counter it guards comes out exact. */
#define SPIN_ITERATIONS 20000
static int spin_flag;
static long guarded_counter;

static void *spin_locked_increments(void *arg) {
    (void)arg;
    for (int i = 0; i < SPIN_ITERATIONS; i++) {
        while (cl_atomic_int_exchange(&spin_flag, 1) != 0) sched_yield();
        guarded_counter++;
        cl_atomic_int_store(&spin_flag, 0);
    }
    return NULL;
}

static void test_exchange_spin_lock(void) {
    guarded_counter = 0;
    run_on_threads(spin_locked_increments, NULL);
    CHECK(guarded_counter == (long)THREADS * SPIN_ITERATIONS);
}

/* ---- single-threaded semantics ------------------------------------------------------------ */

static void test_long_semantics(void) {
    long x = 5;
    CHECK(cl_atomic_cas(&x, 5, 7) == 1 && x == 7);
    CHECK(cl_atomic_cas(&x, 5, 9) == 0 && x == 7);
    CHECK(cl_atomic_add(&x, -10) == -3);
    CHECK(cl_atomic_exchange(&x, 40) == -3 && x == 40);
    CHECK(cl_atomic_long_exchange(&x, 41) == 40);
    CHECK(cl_atomic_long_cas(&x, 41, 42) == 1);
    CHECK(cl_atomic_long_add(&x, 1) == 43);
    cl_atomic_long_store(&x, 123456789012L);
    CHECK(cl_atomic_long_load(&x) == 123456789012L);
}

static void test_int_semantics(void) {
    int x = 1;
    CHECK(cl_atomic_int_add(&x, 2) == 3);
    CHECK(cl_atomic_int_add(&x, -5) == -2);
    CHECK(cl_atomic_int_exchange(&x, 10) == -2 && x == 10);
    CHECK(cl_atomic_int_cas(&x, 10, 11) == 1 && x == 11);
    CHECK(cl_atomic_int_cas(&x, 10, 12) == 0 && x == 11);
    cl_atomic_int_store(&x, -7);
    CHECK(cl_atomic_int_load(&x) == -7);
}

static void test_pointer_semantics(void) {
    char buffer[64];
    void *p = buffer;
    CHECK(cl_atomic_ptr_load(&p) == buffer);
    CHECK(cl_atomic_ptr_add(&p, 16) == buffer + 16); /* bytes, not elements */
    CHECK(cl_atomic_ptr_add(&p, -6) == buffer + 10);
    CHECK(cl_atomic_ptr_exchange(&p, buffer + 1) == buffer + 10);
    CHECK(cl_atomic_ptr_cas(&p, buffer + 1, buffer + 2) == 1 && p == buffer + 2);
    CHECK(cl_atomic_ptr_cas(&p, buffer + 1, buffer + 3) == 0 && p == buffer + 2);
    cl_atomic_ptr_store(&p, NULL);
    CHECK(cl_atomic_ptr_load(&p) == NULL);
}

static void test_atomic_errors(void) {
    capture_begin();
    int i = cl_atomic_int_add(NULL, 1);
    const char *msg = capture_end();
    CHECK(i == 0);
    CHECK(starts_with(msg, "cl_atomic_int_add: "));

    capture_begin();
    int swapped = cl_atomic_ptr_cas(NULL, NULL, NULL);
    msg = capture_end();
    CHECK(swapped == 0);
    CHECK(starts_with(msg, "cl_atomic_ptr_cas: "));

    capture_begin();
    long l = cl_atomic_exchange(NULL, 3);
    cl_atomic_long_store(NULL, 3);
    msg = capture_end();
    CHECK(l == 0);
    CHECK(starts_with(msg, "cl_atomic_exchange: "));
    CHECK(strstr(msg, "\ncl_atomic_long_store: ") != NULL);

    capture_begin();
    void *p = cl_atomic_ptr_add(NULL, 1);
    msg = capture_end();
    CHECK(p == NULL);
    CHECK(starts_with(msg, "cl_atomic_ptr_add: "));
}

/* ---- thread-local values ------------------------------------------------------------------ */

static int destroyed;     /* how many values the destructor freed */
static long destroyed_sum; /* the sum of their contents, to tell which ones */

static void destroy_counted(void *value) {
    cl_atomic_add(&destroyed_sum, *(long *)value);
    cl_atomic_int_add(&destroyed, 1);
    free(value);
}

static long *boxed(long v) {
    long *box = malloc(sizeof *box);
    *box = v;
    return box;
}

static cl_local *shared_local;
static int arrived;
static int next_index;
static int own_value_seen; /* threads that read back their own value after all had set theirs */

/* Each thread stores its own value, waits until every thread has stored one, then reads back. */
static void *set_and_read_back(void *arg) {
    (void)arg;
    long mine = cl_atomic_int_add(&next_index, 1) * 10;
    long *box = boxed(mine);
    /* No CHECK here: the harness counts without atomics, so only the main thread checks. */
    int unset_before = cl_local_get(shared_local) == NULL;
    int stored = cl_local_set(shared_local, box) == 0;
    cl_atomic_int_add(&arrived, 1);
    while (cl_atomic_int_load(&arrived) < THREADS) sched_yield();
    long *got = cl_local_get(shared_local);
    if (unset_before && stored && got == box && *got == mine) cl_atomic_int_add(&own_value_seen, 1);
    return NULL;
}

static void test_local_values_per_thread(void) {
    destroyed = 0;
    destroyed_sum = 0;
    shared_local = cl_local_new(destroy_counted);
    CHECK(shared_local != NULL);
    long *main_box = boxed(1000);
    CHECK(cl_local_get(shared_local) == NULL);
    CHECK(cl_local_set(shared_local, main_box) == 0);

    run_on_threads(set_and_read_back, NULL);
    CHECK(own_value_seen == THREADS);
    /* Every thread's value was destroyed as that thread ended: 10 * (1 + ... + THREADS). */
    CHECK(cl_atomic_int_load(&destroyed) == THREADS);
    CHECK(cl_atomic_load(&destroyed_sum) == 10L * THREADS * (THREADS + 1) / 2);
    CHECK(cl_local_get(shared_local) == main_box); /* untouched by the others */

    /* The main thread never ends here: freeing the local destroys its value. */
    cl_local_free(shared_local);
    CHECK(cl_atomic_int_load(&destroyed) == THREADS + 1);
    CHECK(cl_atomic_load(&destroyed_sum) == 10L * THREADS * (THREADS + 1) / 2 + 1000);
}

static void test_local_set_replaces_without_destroying(void) {
    destroyed = 0;
    destroyed_sum = 0;
    cl_local *l = cl_local_new(destroy_counted);
    long *first = boxed(1), *second = boxed(2);
    cl_local_set(l, first);
    cl_local_set(l, second);
    CHECK(destroyed == 0); /* the replaced value is still the caller's */
    CHECK(cl_local_get(l) == second);
    free(first);
    cl_local_free(l);
    CHECK(destroyed == 1 && destroyed_sum == 2);

    l = cl_local_new(NULL); /* no destructor: values are left alone */
    long plain = 5;
    CHECK(cl_local_set(l, &plain) == 0);
    CHECK(cl_local_get(l) == &plain);
    CHECK(cl_local_set(l, NULL) == 0);
    CHECK(cl_local_get(l) == NULL);
    cl_local_free(l);
}

static int keeper_has_set, keeper_may_leave;

static void *set_then_wait(void *arg) {
    cl_local_set(arg, boxed(7));
    cl_atomic_int_store(&keeper_has_set, 1);
    while (!cl_atomic_int_load(&keeper_may_leave)) sched_yield();
    return NULL;
}

/* A thread that outlives the local: free destroys its value once, its exit does not again. */
static void test_local_free_destroys_values_of_living_threads(void) {
    destroyed = 0;
    destroyed_sum = 0;
    cl_local *l = cl_local_new(destroy_counted);
    pthread_t keeper;
    pthread_create(&keeper, NULL, set_then_wait, l);
    while (!cl_atomic_int_load(&keeper_has_set)) sched_yield();
    cl_local_free(l);
    CHECK(cl_atomic_int_load(&destroyed) == 1);
    CHECK(cl_atomic_load(&destroyed_sum) == 7);
    cl_atomic_int_store(&keeper_may_leave, 1);
    pthread_join(keeper, NULL);
    CHECK(cl_atomic_int_load(&destroyed) == 1);
}

static void test_local_errors(void) {
    capture_begin();
    void *v = cl_local_get(NULL);
    int r = cl_local_set(NULL, &r);
    cl_local_free(NULL); /* like free(NULL): silent */
    const char *msg = capture_end();
    CHECK(v == NULL);
    CHECK(r == -1);
    CHECK(starts_with(msg, "cl_local_get: "));
    CHECK(strstr(msg, "\ncl_local_set: ") != NULL);
    CHECK(strstr(msg, "cl_local_free") == NULL);

    if (USE_AFTER_FREE_CHECKS) {
        cl_local *l = cl_local_new(NULL);
        cl_local_free(l);
        capture_begin();
        cl_local_free(l);
        msg = capture_end();
        CHECK(starts_with(msg, "cl_local_free: "));
    }
}

int main(void) {
    test_long_semantics();
    test_int_semantics();
    test_pointer_semantics();
    test_adds_under_contention();
    test_cas_loops_under_contention();
    test_pointer_cas_stack();
    test_exchange_spin_lock();
    test_atomic_errors();
    test_local_values_per_thread();
    test_local_set_replaces_without_destroying();
    test_local_free_destroys_values_of_living_threads();
    test_local_errors();
    return check_summary(SUITE);
}
