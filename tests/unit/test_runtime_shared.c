/* test_runtime_shared.c — Value, Array, shared Lock, Semaphore and Event from the outside, across
 * processes: 4 processes x 100 000 locked increments make exactly 400 000, a child killed while
 * holding a lock does not deadlock the rest (the next acquirer recovers it and it is reported),
 * waits with timeouts, and every misuse the runtime must report instead of crashing or hanging.
 * Built by gcc, and compiled by tcc at run time (test_runtime_shared_tcc) as notebook cells are.
 * Every wait is bounded. */
#include <conclab.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "capture_stderr.h"
#include "check.h"

#ifdef __TINYC__
#define SUITE "test_runtime_shared (tcc)"
#else
#define SUITE "test_runtime_shared"
#endif

#define CHECK_WAITED_ABOUT_0_2(t0) do { double w_ = cl_now() - (t0); CHECK(w_ >= 0.1 && w_ < 2.0); } while (0)

#define PROMPTLY 10.0

#define CHECK_REPORTS(call_expr, want_result, prefix) do { \
    capture_begin(); \
    CHECK((call_expr) == (want_result)); \
    CHECK(starts_with(capture_end(), prefix)); \
} while (0)

/* Runs fn(arg) in n processes (n <= 8), joins them; returns how many exited with 0. */
static int run_processes(int n, int (*fn)(void *), void *arg) {
    cl_process *p[8];
    int ok = 0;
    for (int i = 0; i < n; i++) p[i] = cl_process_start(fn, arg);
    for (int i = 0; i < n; i++) {
        CHECK(cl_process_join_timeout(p[i], 60) == 1);
        ok += cl_process_exitcode(p[i]) == 0;
        cl_process_free(p[i]);
    }
    return ok;
}

/* Joins p within PROMPTLY and returns its exit code. */
static int finish(cl_process *p) {
    CHECK(cl_process_join_timeout(p, PROMPTLY) == 1);
    int code = cl_process_exitcode(p);
    cl_process_free(p);
    return code;
}

/* ---- Value ---------------------------------------------------------------------------------- */

#define INCREMENTS 100000

static int locked_increments(void *arg) {
    cl_value *v = arg;
    for (int i = 0; i < INCREMENTS; i++) {
        CL_WITH_VALUE(v) {
            (*(long *)cl_value_ptr(v))++; /* a plain read-modify-write: only the lock makes it exact */
        }
    }
    return 0;
}

static int unlocked_increments(void *arg) {
    cl_value *v = arg;
    for (int i = 0; i < INCREMENTS; i++) cl_value_set_long(v, cl_value_get_long(v) + 1);
    return 0;
}

/* The typed calls inside the value's own lock: re-entrant, as Python's RLock. */
static int get_set_increments(void *arg) {
    cl_value *v = arg;
    for (int i = 0; i < INCREMENTS / 10; i++)
        CL_WITH_VALUE(v) cl_value_set_long(v, cl_value_get_long(v) + 1);
    return 0;
}

static void test_value_counts_exactly_across_processes(void) {
    cl_value *v = cl_value_new_long(0, 1);
    CHECK(cl_value_size(v) == sizeof(long));
    CHECK(run_processes(4, locked_increments, v) == 4);
    CHECK(cl_value_get_long(v) == 4 * INCREMENTS);

    cl_value_set_long(v, 0);
    CHECK(run_processes(4, get_set_increments, v) == 4);
    CHECK(cl_value_get_long(v) == 4 * INCREMENTS / 10);

    /* Without holding the lock across the update, increments may be lost: only bounds hold. */
    cl_value_set_long(v, 0);
    CHECK(run_processes(4, unlocked_increments, v) == 4);
    long racy = cl_value_get_long(v);
    printf("%s: 4 x %d unlocked get+set increments gave %ld\n", SUITE, INCREMENTS, racy);
    CHECK(racy >= INCREMENTS && racy <= 4 * INCREMENTS);
    CHECK(cl_value_free(v) == 1);
}

static int add_two_and_a_half(void *arg) {
    cl_value *v = arg;
    return cl_value_set_double(v, cl_value_get_double(v) + 2.5) ? 0 : 1;
}

static void test_value_kinds(void) {
    cl_value *d = cl_value_new_double(1.25, 0);
    CHECK(cl_value_get_double(d) == 1.25);
    CHECK(finish(cl_process_start(add_two_and_a_half, d)) == 0);
    CHECK(cl_value_get_double(d) == 3.75); /* the child's write is seen by the parent */
    CHECK(cl_value_free(d) == 1);

    cl_value *raw = cl_value_new(100, 1);
    CHECK(cl_value_size(raw) == 100);
    unsigned char *bytes = cl_value_ptr(raw);
    int zero = 1;
    for (int i = 0; i < 100; i++) zero = zero && bytes[i] == 0;
    CHECK(zero);
    CHECK(((unsigned long)bytes % 16) == 0); /* aligned for any type */
    CHECK(cl_value_lock(raw) == 1);
    CHECK(cl_value_lock(raw) == 1); /* re-entrant */
    CHECK(cl_value_unlock(raw) == 1);
    CHECK_REPORTS(cl_value_free(raw), 0, "cl_value_free: this thread holds the value's lock");
    CHECK(cl_value_unlock(raw) == 1);
    CHECK(cl_value_free(raw) == 1);
}

/* ---- Array ---------------------------------------------------------------------------------- */

static int fill_squares(void *arg) {
    cl_array *a = arg;
    for (size_t i = 0; i < cl_array_length(a); i++) cl_array_set_long(a, i, (long)(i * i));
    return 0;
}

static int double_in_place(void *arg) {
    cl_array *a = arg;
    CL_WITH_ARRAY(a) {
        double *x = cl_array_ptr(a);
        for (size_t i = 0; i < cl_array_length(a); i++) x[i] *= 2;
    }
    return 0;
}

static void test_arrays(void) {
    cl_array *a = cl_array_new_long(10, 1);
    CHECK(cl_array_length(a) == 10 && cl_array_elem_size(a) == sizeof(long));
    CHECK(finish(cl_process_start(fill_squares, a)) == 0);
    long sum = 0;
    for (size_t i = 0; i < 10; i++) sum += cl_array_get_long(a, i);
    CHECK(sum == 285);
    CHECK(((long *)cl_array_ptr(a))[9] == 81);
    CHECK_REPORTS(cl_array_get_long(a, 10), 0, "cl_array_get_long: index 10 out of range");
    CHECK_REPORTS(cl_array_set_long(a, 99, 1), 0, "cl_array_set_long: index 99 out of range");
    cl_array *ints = cl_array_new(sizeof(int), 3, 0);
    CHECK_REPORTS(cl_array_get_long(ints, 0), 0, "cl_array_get_long: the array holds elements of 4 bytes, not 8");
    CHECK(cl_array_free(ints) == 1);
    CHECK(cl_array_free(a) == 1);

    cl_array *d = cl_array_new_double(4, 1);
    for (size_t i = 0; i < 4; i++) cl_array_set_double(d, i, (double)i + 0.5);
    CHECK(run_processes(2, double_in_place, d) == 2);
    CHECK(cl_array_get_double(d, 3) == 14.0);
    CHECK(cl_array_free(d) == 1);

    struct point { int x, y; };
    cl_array *pts = cl_array_new(sizeof(struct point), 3, 0);
    CHECK(cl_array_elem_size(pts) == sizeof(struct point));
    CHECK(((struct point *)cl_array_ptr(pts))[2].y == 0);
    CHECK_REPORTS(cl_array_lock(pts), 0, "cl_array_lock: the array was created without a lock");
    CHECK(cl_array_free(pts) == 1);
}

/* ---- shared Lock ---------------------------------------------------------------------------- */

static cl_shared_lock *lock;
static cl_shared_event *lock_taken;

/* Takes the lock, says so, and never lets it go: the parent kills it. */
static int hold_lock_forever(void *arg) {
    (void)arg;
    if (!cl_shared_lock_acquire(lock)) return 1;
    cl_shared_event_set(lock_taken);
    cl_sleep(30);
    return 0;
}

static int try_lock_in_child(void *arg) {
    (void)arg;
    int got = cl_shared_lock_try_acquire(lock); /* 0 while the parent holds it */
    if (got) cl_shared_lock_release(lock);   /* ending with it held would be a dead owner */
    return got;
}

static int wait_for_lock_briefly(void *arg) {
    (void)arg;
    double t0 = cl_now();
    int got = cl_shared_lock_acquire_timeout(lock, 0.2);
    double waited = cl_now() - t0;
    return !got && waited >= 0.1 && waited < 2.0 ? 0 : 1;
}

static int release_parents_lock(void *arg) {
    (void)arg;
    capture_begin();
    int released = cl_shared_lock_release(lock);
    const char *said = capture_end();
    return !released && starts_with(said, "cl_shared_lock_release: the lock is held by another") ? 0 : 1;
}

static void test_shared_lock_excludes_processes(void) {
    lock = cl_shared_lock_new();
    CHECK(cl_shared_lock_locked(lock) == 0);
    CHECK(cl_shared_lock_acquire(lock) == 1);
    CHECK(cl_shared_lock_locked(lock) == 1);
    CHECK(finish(cl_process_start(try_lock_in_child, NULL)) == 0);
    CHECK(finish(cl_process_start(wait_for_lock_briefly, NULL)) == 0);
    CHECK(finish(cl_process_start(release_parents_lock, NULL)) == 0);
    CHECK(cl_shared_lock_try_acquire(lock) == 0); /* held by this thread: False, as Python */
    CHECK_REPORTS(cl_shared_lock_acquire(lock), 0, "cl_shared_lock_acquire: this thread already holds");
    CHECK_REPORTS(cl_shared_lock_free(lock), 0, "cl_shared_lock_free: this thread holds the lock");
    CHECK(cl_shared_lock_release(lock) == 1);
    CHECK_REPORTS(cl_shared_lock_release(lock), 0, "cl_shared_lock_release: release unlocked lock");
    CHECK(finish(cl_process_start(try_lock_in_child, NULL)) == 1); /* free now: the child got it */
    CHECK(cl_shared_lock_acquire_timeout(lock, 0.5) == 1);
    CHECK(cl_shared_lock_release(lock) == 1);
    int ran = 0;
    CL_WITH_SHARED_LOCK(lock) {
        ran = cl_shared_lock_locked(lock);
    }
    CHECK(ran == 1 && cl_shared_lock_locked(lock) == 0);
    CHECK(cl_shared_lock_free(lock) == 1);
}

/* A child killed while holding the lock: the next acquirer recovers it, and is told. */
static void test_shared_lock_survives_a_dead_owner(void) {
    lock = cl_shared_lock_new();
    lock_taken = cl_shared_event_new();
    cl_process *holder = cl_process_start(hold_lock_forever, NULL);
    CHECK(cl_shared_event_wait_timeout(lock_taken, PROMPTLY) == 1);
    CHECK(cl_shared_lock_locked(lock) == 1);
    CHECK(cl_shared_lock_try_acquire(lock) == 0);
    cl_process_kill(holder);
    CHECK(finish(holder) == -SIGKILL);
    CHECK(cl_shared_lock_locked(lock) == 1); /* still marked held by the dead owner */
    capture_begin();
    CHECK(cl_shared_lock_acquire_timeout(lock, PROMPTLY) == 1);
    const char *said = capture_end();
    CHECK(starts_with(said, "cl_shared_lock_acquire_timeout: a process died while holding the shared lock"));
    CHECK(cl_shared_lock_release(lock) == 1);
    /* Recovered for good: no more reports. */
    capture_begin();
    CHECK(cl_shared_lock_acquire(lock) == 1);
    CHECK(cl_shared_lock_release(lock) == 1);
    CHECK_STR(capture_end(), "");
    CHECK(cl_shared_lock_free(lock) == 1);
    CHECK(cl_shared_event_free(lock_taken) == 1);
}

static cl_value *guarded;

static int hold_value_lock_forever(void *arg) {
    (void)arg;
    if (!cl_value_lock(guarded)) return 1;
    cl_value_set_long(guarded, 42); /* re-entrant: inside its own lock */
    cl_shared_event_set(lock_taken);
    cl_sleep(30);
    return 0;
}

static void test_value_lock_survives_a_dead_owner(void) {
    guarded = cl_value_new_long(0, 1);
    lock_taken = cl_shared_event_new();
    cl_process *holder = cl_process_start(hold_value_lock_forever, NULL);
    CHECK(cl_shared_event_wait_timeout(lock_taken, PROMPTLY) == 1);
    cl_process_kill(holder);
    CHECK(finish(holder) == -SIGKILL);
    capture_begin();
    CHECK(cl_value_get_long(guarded) == 42);
    CHECK(strstr(capture_end(), "cl_value_get_long: a process died while holding") != NULL);
    CHECK(cl_value_free(guarded) == 1);
    CHECK(cl_shared_event_free(lock_taken) == 1);
}

/* ---- shared Semaphore ----------------------------------------------------------------------- */

static cl_shared_semaphore *sem;
static cl_value *inside, *most_inside;

/* Enters a room of 2 permits, notes how many are in it, leaves. */
static int enter_room(void *arg) {
    (void)arg;
    for (int round = 0; round < 20; round++) {
        if (!cl_shared_semaphore_acquire_timeout(sem, PROMPTLY)) return 1;
        CL_WITH_VALUE(inside) {
            long now = cl_value_get_long(inside) + 1;
            cl_value_set_long(inside, now);
            if (now > cl_value_get_long(most_inside)) cl_value_set_long(most_inside, now);
        }
        cl_sleep(0.001);
        CL_WITH_VALUE(inside) cl_value_set_long(inside, cl_value_get_long(inside) - 1);
        cl_shared_semaphore_release(sem);
    }
    return 0;
}

static int take_a_permit(void *arg) {
    (void)arg;
    return cl_shared_semaphore_acquire_timeout(sem, PROMPTLY) ? 0 : 1;
}

static void test_shared_semaphore(void) {
    sem = cl_shared_semaphore_new(2);
    inside = cl_value_new_long(0, 1);
    most_inside = cl_value_new_long(0, 1);
    CHECK(run_processes(4, enter_room, NULL) == 4);
    CHECK(cl_value_get_long(most_inside) >= 1 && cl_value_get_long(most_inside) <= 2);
    CHECK(cl_shared_semaphore_value(sem) == 2);
    cl_value_free(inside);
    cl_value_free(most_inside);

    /* A permit given by the parent wakes a child waiting in another process. */
    CHECK(cl_shared_semaphore_try_acquire(sem) == 1 && cl_shared_semaphore_try_acquire(sem) == 1);
    CHECK(cl_shared_semaphore_try_acquire(sem) == 0);
    cl_process *waiter = cl_process_start(take_a_permit, NULL);
    cl_sleep(0.05);
    CHECK(cl_process_is_alive(waiter) == 1);
    CHECK(cl_shared_semaphore_release(sem) == 1);
    CHECK(finish(waiter) == 0);
    CHECK(cl_shared_semaphore_value(sem) == 0);
    double t0 = cl_now();
    CHECK(cl_shared_semaphore_acquire_timeout(sem, 0.2) == 0);
    CHECK_WAITED_ABOUT_0_2(t0);
    CHECK(cl_shared_semaphore_release(sem) == 1);
    CHECK(cl_shared_semaphore_acquire(sem) == 1);
    CHECK(cl_shared_semaphore_release(sem) == 1);
    CL_WITH_SHARED_SEMAPHORE(sem) CHECK(cl_shared_semaphore_value(sem) == 0); /* 1 - 1 */
    CHECK(cl_shared_semaphore_value(sem) == 1);
    CHECK(cl_shared_semaphore_free(sem) == 1);

    cl_shared_semaphore *bounded = cl_shared_bounded_semaphore_new(1);
    CHECK_REPORTS(cl_shared_semaphore_release(bounded), 0, "cl_shared_semaphore_release: semaphore released too many times");
    CHECK(cl_shared_semaphore_acquire(bounded) == 1);
    CHECK(cl_shared_semaphore_release(bounded) == 1);
    CHECK(cl_shared_semaphore_free(bounded) == 1);
    CHECK_REPORTS(cl_shared_semaphore_new(-1) == NULL, 1, "cl_shared_semaphore_new: semaphore initial value must be >= 0");
}

/* ---- shared Event --------------------------------------------------------------------------- */

static cl_shared_event *go, *ready;

static int wait_for_go(void *arg) {
    (void)arg;
    cl_shared_event_set(ready);
    return cl_shared_event_wait_timeout(go, PROMPTLY) ? 0 : 1;
}

static void test_shared_event(void) {
    go = cl_shared_event_new();
    ready = cl_shared_event_new();
    CHECK(cl_shared_event_is_set(go) == 0);
    cl_process *a = cl_process_start(wait_for_go, NULL), *b = cl_process_start(wait_for_go, NULL);
    CHECK(cl_shared_event_wait_timeout(ready, PROMPTLY) == 1);
    cl_sleep(0.05);
    CHECK(cl_process_is_alive(a) == 1 && cl_process_is_alive(b) == 1);
    CHECK(cl_shared_event_set(go) == 1);
    CHECK(finish(a) == 0);
    CHECK(finish(b) == 0);
    CHECK(cl_shared_event_is_set(go) == 1);
    CHECK(cl_shared_event_wait(go) == 1);
    CHECK(cl_shared_event_clear(go) == 1);
    CHECK(cl_shared_event_is_set(go) == 0);
    double t0 = cl_now();
    CHECK(cl_shared_event_wait_timeout(go, 0.2) == 0);
    CHECK_WAITED_ABOUT_0_2(t0);
    CHECK(cl_shared_event_free(go) == 1);
    CHECK(cl_shared_event_free(ready) == 1);
}

/* ---- misuse --------------------------------------------------------------------------------- */

static void test_misuse(void) {
    CHECK_REPORTS(cl_value_ptr(NULL) == NULL, 1, "cl_value_ptr: value is NULL");
    CHECK_REPORTS(cl_value_new(0, 0) == NULL, 1, "cl_value_new: size must be > 0");
    CHECK_REPORTS(cl_array_new(0, 4, 0) == NULL, 1, "cl_array_new: element size must be > 0");
    CHECK_REPORTS(cl_array_new(1 << 20, (size_t)-1 / 2, 0) == NULL, 1, "cl_array_new: ");
    CHECK_REPORTS(cl_shared_lock_acquire(NULL), 0, "cl_shared_lock_acquire: shared lock is NULL");
    CHECK_REPORTS(cl_shared_semaphore_value(NULL), -1, "cl_shared_semaphore_value: ");
    CHECK_REPORTS(cl_shared_event_set(NULL), 0, "cl_shared_event_set: ");
    CHECK(cl_value_free(NULL) == 1 && cl_array_free(NULL) == 1 && cl_shared_lock_free(NULL) == 1);
    CHECK(cl_shared_semaphore_free(NULL) == 1 && cl_shared_event_free(NULL) == 1);

    cl_value *small = cl_value_new(2, 1);
    CHECK_REPORTS(cl_value_get_double(small) == 0, 1, "cl_value_get_double: the value holds elements of 2 bytes, not 8");
    CHECK_REPORTS(cl_value_set_long(small, 1), 0, "cl_value_set_long: the value holds elements of 2 bytes");
    CHECK(cl_value_free(small) == 1);
    cl_value *v = cl_value_new_long(5, 0);
    CHECK_REPORTS(cl_value_lock(v), 0, "cl_value_lock: the value was created without a lock");
    CHECK_REPORTS(cl_value_unlock(v), 0, "cl_value_unlock: the value was created without a lock");
    int ran = 0;
    capture_begin();
    CL_WITH_VALUE(v) ran = 1; /* the acquire fails: the block is skipped */
    CHECK(starts_with(capture_end(), "cl_value_lock: "));
    CHECK(ran == 0);
    /* Handles of one kind are not taken for another. */
    CHECK_REPORTS(cl_array_length((cl_array *)v), 0, "cl_array_length: not an array");
    CHECK_REPORTS(cl_shared_lock_locked((cl_shared_lock *)v), 0, "cl_shared_lock_locked: not a shared lock");
    CHECK(cl_value_free(v) == 1);
    /* A freed handle is reported, not a crash. */
    CHECK_REPORTS(cl_value_get_long(v), 0, "cl_value_get_long: the value was freed already");
    CHECK_REPORTS(cl_value_free(v), 0, "cl_value_free: the value was freed already");

    cl_shared_lock *l = cl_shared_lock_new();
    cl_shared_lock_free(l);
    CHECK_REPORTS(cl_shared_lock_acquire(l), 0, "cl_shared_lock_acquire: the shared lock was freed already");
    cl_shared_event *e = cl_shared_event_new();
    CHECK_REPORTS(cl_shared_event_wait_timeout(e, -1), 0, "cl_shared_event_wait_timeout: timeout must be");
    cl_shared_event_free(e);
    CHECK_REPORTS(cl_shared_event_wait(e), 0, "cl_shared_event_wait: the shared event was freed already");
    cl_shared_semaphore *s = cl_shared_semaphore_new(0);
    CHECK_REPORTS(cl_shared_semaphore_acquire_timeout(s, 0.0 / 0.0), 0, "cl_shared_semaphore_acquire_timeout: timeout must be");
    cl_shared_semaphore_free(s);
    CHECK_REPORTS(cl_shared_semaphore_release(s), 0, "cl_shared_semaphore_release: the shared semaphore was freed");
}

/* Freeing in one process leaves the others' view alone. */
static cl_value *freed_by_child;

static int free_my_view(void *arg) {
    (void)arg;
    return cl_value_free(freed_by_child) ? 0 : 1;
}

static void test_free_is_per_process(void) {
    freed_by_child = cl_value_new_long(9, 1);
    CHECK(finish(cl_process_start(free_my_view, NULL)) == 0);
    CHECK(cl_value_get_long(freed_by_child) == 9);
    CHECK(cl_value_free(freed_by_child) == 1);
}

int main(void) {
    test_value_counts_exactly_across_processes();
    test_value_kinds();
    test_arrays();
    test_shared_lock_excludes_processes();
    test_shared_lock_survives_a_dead_owner();
    test_value_lock_survives_a_dead_owner();
    test_shared_semaphore();
    test_shared_event();
    test_misuse();
    test_free_is_per_process();
    int status;
    CHECK(waitpid(-1, &status, WNOHANG) == -1 && errno == ECHILD); /* no child left behind */
    return check_summary(SUITE);
}
