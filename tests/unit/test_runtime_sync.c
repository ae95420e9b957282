/* test_runtime_sync.c — Lock, RLock, Semaphore, BoundedSemaphore, Event, Condition, Barrier and
 * the CL_WITH_* macros from the outside: Python's semantics, timeouts, the hook's wait / acquire /
 * release events, and every misuse the runtime must report instead of crashing or hanging.
 * Built by gcc, and compiled by tcc at run time (test_runtime_sync_tcc) as notebook cells are. */
#include <conclab.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "runtime_sync_helpers.h"

#ifdef __TINYC__
#define SUITE "test_runtime_sync (tcc)"
#else
#define SUITE "test_runtime_sync"
#endif

/* Runs fn(arg) on n threads (n <= 16) and joins them; returns the sum of their results. */
static long run_threads(int n, void *(*fn)(void *), void *arg) {
    cl_thread *t[16];
    long sum = 0;
    for (int i = 0; i < n; i++) t[i] = cl_thread_start(fn, arg);
    for (int i = 0; i < n; i++) sum += (long)cl_thread_join(t[i]);
    return sum;
}

/* Checks that a timed wait gave up after about 0.2 s: never early, and not much later. */
#define CHECK_WAITED_ABOUT_0_2(t0) do { double w_ = cl_now() - (t0); CHECK(w_ >= 0.1 && w_ < 2.0); } while (0)

/* ---- Lock ------------------------------------------------------------------------------------- */

static cl_lock *shared_lock;
static long shared_counter;

static void *locked_increments(void *arg) {
    (void)arg;
    for (int i = 0; i < 100000; i++) {
        cl_lock_acquire(shared_lock);
        shared_counter++; /* a plain read-modify-write: only the lock makes the total exact */
        cl_lock_release(shared_lock);
    }
    return NULL;
}

static void test_lock_counts_exactly(void) {
    shared_lock = cl_lock_new();
    shared_counter = 0;
    run_threads(10, locked_increments, NULL);
    CHECK(shared_counter == 1000000);
    CHECK(cl_lock_locked(shared_lock) == 0);
    CHECK(cl_lock_free(shared_lock) == 1);
}

static void *try_lock_from_thread(void *arg) {
    int got = cl_lock_try_acquire(arg);
    if (got) cl_lock_release(arg);
    return (void *)(long)got;
}

static void *release_from_thread(void *arg) {
    return (void *)(long)cl_lock_release(arg);
}

static void test_lock_basics(void) {
    cl_lock *l = cl_lock_new();
    CHECK(cl_lock_locked(l) == 0);
    CHECK(cl_lock_try_acquire(l) == 1);
    CHECK(cl_lock_locked(l) == 1);
    CHECK(cl_lock_try_acquire(l) == 0); /* not re-entrant, and try never waits */
    CHECK((long)cl_thread_join(cl_thread_start(try_lock_from_thread, l)) == 0);

    double t0 = cl_now();
    CHECK(cl_lock_acquire_timeout(l, 0.2) == 0);
    CHECK_WAITED_ABOUT_0_2(t0);
    t0 = cl_now();
    CHECK(cl_lock_acquire_timeout(l, 0) == 0); /* 0 polls */
    CHECK(cl_now() - t0 < 1.0);

    /* Python's Lock has no owner: another thread may release it. */
    capture_begin();
    long released = (long)cl_thread_join(cl_thread_start(release_from_thread, l));
    CHECK_STR(capture_end(), "");
    CHECK(released == 1);
    CHECK(cl_lock_locked(l) == 0);
    CHECK(cl_lock_acquire_timeout(l, 0.2) == 1);
    CHECK(cl_lock_release(l) == 1);
    CHECK(cl_lock_acquire_timeout(l, CL_FOREVER) == 1);
    CHECK(cl_lock_release(l) == 1);
    CHECK((long)cl_thread_join(cl_thread_start(try_lock_from_thread, l)) == 1);
    CHECK(cl_lock_free(l) == 1);
}

/* A lock as a signal: one thread waits in acquire until another releases it. */
static long handoff_stage;

static void *acquire_then_note(void *arg) {
    cl_atomic_store(&handoff_stage, 1);
    int got = cl_lock_acquire(arg);
    cl_atomic_store(&handoff_stage, 2);
    cl_lock_release(arg);
    return (void *)(long)got;
}

static void test_lock_handoff(void) {
    cl_lock *l = cl_lock_new();
    cl_atomic_store(&handoff_stage, 0);
    cl_lock_acquire(l);
    cl_thread *t = cl_thread_start(acquire_then_note, l);
    CHECK(await_value(&handoff_stage, 1) == 1);
    cl_sleep(0.05);
    CHECK(cl_atomic_load(&handoff_stage) == 1); /* still waiting: the lock is held */
    cl_lock_release(l);
    CHECK((long)cl_thread_join(t) == 1);
    CHECK(cl_atomic_load(&handoff_stage) == 2);
    cl_lock_free(l);
}

/* The same thread acquiring twice waits, as in Python, and is told after a second. */
static long second_acquire_done;

static void *acquire_twice(void *arg) {
    cl_lock_acquire(arg);
    cl_lock_acquire(arg); /* waits until the main thread releases it */
    cl_atomic_store(&second_acquire_done, 1);
    cl_lock_release(arg);
    return NULL;
}

static void test_lock_self_deadlock_hint(void) {
    cl_lock *l = cl_lock_new();
    cl_atomic_store(&second_acquire_done, 0);
    capture_begin();
    cl_thread *t = cl_thread_start(acquire_twice, l);
    double deadline = cl_now() + 10;
    while (!contains(captured_so_far(), "deadlock") && cl_now() < deadline) cl_sleep(0.01);
    CHECK(cl_atomic_load(&second_acquire_done) == 0);
    CHECK(cl_lock_release(l) == 1); /* legal from here: the waiting thread now gets it */
    cl_thread_join(t);
    const char *msg = capture_end();
    CHECK(starts_with(msg, "cl_lock_acquire: this thread acquired the lock and is waiting"));
    CHECK(cl_atomic_load(&second_acquire_done) == 1);
    CHECK(cl_lock_free(l) == 1);
}

static void test_lock_misuse(void) {
    volatile double zero = 0;
    cl_lock *l = cl_lock_new();

    capture_begin();
    int r = cl_lock_release(l);
    const char *msg = capture_end();
    CHECK(r == 0);
    CHECK_STR(msg, "cl_lock_release: release unlocked lock\n");

    cl_lock_acquire(l);
    capture_begin();
    int freed = cl_lock_free(l); /* held: refused, and the lock stays usable */
    msg = capture_end();
    CHECK(freed == 0);
    CHECK(starts_with(msg, "cl_lock_free: the lock is held"));
    CHECK(cl_lock_locked(l) == 1);

    capture_begin();
    double t0 = cl_now();
    int neg = cl_lock_acquire_timeout(l, -0.5);
    int nan = cl_lock_acquire_timeout(l, zero / zero);
    msg = capture_end();
    CHECK(cl_now() - t0 < 1.0);
    CHECK(neg == 0 && nan == 0);
    CHECK(starts_with(msg, "cl_lock_acquire_timeout: timeout must be >= 0"));
    CHECK(contains(msg, "\ncl_lock_acquire_timeout: timeout must be >= 0"));
    cl_lock_release(l);

    capture_begin();
    int results = cl_lock_acquire(NULL) + cl_lock_try_acquire(NULL) +
                  cl_lock_acquire_timeout(NULL, 1) + cl_lock_release(NULL) + cl_lock_locked(NULL);
    int null_free = cl_lock_free(NULL);
    msg = capture_end();
    CHECK(results == 0);
    CHECK(null_free == 1); /* like free(NULL) */
    CHECK(starts_with(msg, "cl_lock_acquire: lock is NULL\n"));
    CHECK(contains(msg, "\ncl_lock_try_acquire: lock is NULL\n"));
    CHECK(contains(msg, "\ncl_lock_acquire_timeout: lock is NULL\n"));
    CHECK(contains(msg, "\ncl_lock_release: lock is NULL\n"));
    CHECK(contains(msg, "\ncl_lock_locked: lock is NULL\n"));
    CHECK(cl_lock_free(l) == 1);
}

/* ---- CL_WITH_LOCK and friends ----------------------------------------------------------------- */

static int return_from_inside(cl_lock *l) {
    CL_WITH_LOCK(l) {
        return 1; /* documented: skips the release */
    }
    return 0;
}

static void test_with_lock(void) {
    cl_lock *a = cl_lock_new(), *b = cl_lock_new();
    int ran = 0, inside_locked = 0;
    CL_WITH_LOCK(a) {
        ran++;
        inside_locked = cl_lock_locked(a);
    }
    CHECK(ran == 1 && inside_locked == 1);
    CHECK(cl_lock_locked(a) == 0);

    for (int i = 0; i < 3; i++) {
        CL_WITH_LOCK(a) {
            if (i == 1) break; /* leaves the with block, not the for loop */
            ran++;
        }
        CHECK(cl_lock_locked(a) == 0);
    }
    CHECK(ran == 3);

    CL_WITH_LOCK(a) {
        CL_WITH_LOCK(b) {
            CHECK(cl_lock_locked(a) && cl_lock_locked(b));
            continue; /* also leaves the block */
        }
        CHECK(cl_lock_locked(a) && !cl_lock_locked(b));
    }
    CHECK(!cl_lock_locked(a) && !cl_lock_locked(b));

    capture_begin();
    ran = 0;
    CL_WITH_LOCK((cl_lock *)NULL) ran++;
    CHECK(starts_with(capture_end(), "cl_lock_acquire: lock is NULL"));
    CHECK(ran == 0); /* as an exception would skip Python's with body */

    CHECK(return_from_inside(a) == 1);
    CHECK(cl_lock_locked(a) == 1); /* the limitation the header documents */
    cl_lock_release(a);

    cl_rlock *r = cl_rlock_new();
    CL_WITH_RLOCK(r) {
        CL_WITH_RLOCK(r) ran++;
        CHECK(cl_rlock_release(r) == 1); /* one level is still ours */
        cl_rlock_acquire(r);
    }
    CHECK(cl_rlock_free(r) == 1); /* every level was released */

    cl_semaphore *s = cl_semaphore_new(2);
    CL_WITH_SEMAPHORE(s) {
        CHECK(cl_semaphore_value(s) == 1);
        CL_WITH_SEMAPHORE(s) CHECK(cl_semaphore_value(s) == 0);
    }
    CHECK(cl_semaphore_value(s) == 2);

    cl_condition *c = cl_condition_new(a);
    CL_WITH_CONDITION(c) CHECK(cl_lock_locked(a) == 1);
    CHECK(cl_lock_locked(a) == 0);

    cl_condition_free(c);
    cl_semaphore_free(s);
    cl_lock_free(a);
    cl_lock_free(b);
}

/* ---- RLock ------------------------------------------------------------------------------------ */

static void *try_rlock_from_thread(void *arg) {
    int got = cl_rlock_try_acquire(arg);
    if (got) cl_rlock_release(arg);
    return (void *)(long)got;
}

static void *timed_rlock_from_thread(void *arg) {
    return (void *)(long)cl_rlock_acquire_timeout(arg, 0.2);
}

static void *release_rlock_from_thread(void *arg) {
    capture_begin();
    int r = cl_rlock_release(arg);
    const char *msg = capture_end();
    return (void *)(long)(r == 0 && starts_with(msg, "cl_rlock_release: cannot release un-acquired lock"));
}

static void test_rlock_recursion(void) {
    cl_rlock *r = cl_rlock_new();
    CHECK(cl_rlock_acquire(r) == 1);
    CHECK(cl_rlock_acquire(r) == 1);
    CHECK(cl_rlock_try_acquire(r) == 1);
    CHECK(cl_rlock_acquire_timeout(r, 0) == 1);
    for (int level = 4; level > 0; level--) {
        CHECK((long)cl_thread_join(cl_thread_start(try_rlock_from_thread, r)) == 0);
        CHECK(cl_rlock_release(r) == 1);
    }
    CHECK((long)cl_thread_join(cl_thread_start(try_rlock_from_thread, r)) == 1);

    cl_rlock_acquire(r);
    double t0 = cl_now();
    CHECK((long)cl_thread_join(cl_thread_start(timed_rlock_from_thread, r)) == 0);
    CHECK_WAITED_ABOUT_0_2(t0);
    CHECK((long)cl_thread_join(cl_thread_start(release_rlock_from_thread, r)) == 1);
    cl_rlock_release(r);
    CHECK(cl_rlock_free(r) == 1);
}

static cl_rlock *shared_rlock;

static void *rlocked_increments(void *arg) {
    (void)arg;
    for (int i = 0; i < 20000; i++) {
        cl_rlock_acquire(shared_rlock);
        cl_rlock_acquire(shared_rlock);
        shared_counter++;
        cl_rlock_release(shared_rlock);
        cl_rlock_release(shared_rlock);
    }
    return NULL;
}

static void test_rlock_counts_exactly(void) {
    shared_rlock = cl_rlock_new();
    shared_counter = 0;
    run_threads(4, rlocked_increments, NULL);
    CHECK(shared_counter == 80000);
    CHECK(cl_rlock_free(shared_rlock) == 1);
}

static void test_rlock_misuse(void) {
    cl_rlock *r = cl_rlock_new();
    capture_begin();
    int rel = cl_rlock_release(r);
    const char *msg = capture_end();
    CHECK(rel == 0);
    CHECK(starts_with(msg, "cl_rlock_release: cannot release un-acquired lock"));

    cl_rlock_acquire(r);
    capture_begin();
    int freed = cl_rlock_free(r);
    int neg = cl_rlock_acquire_timeout(r, -1);
    msg = capture_end();
    CHECK(freed == 0 && neg == 0);
    CHECK(starts_with(msg, "cl_rlock_free: the rlock is held"));
    CHECK(contains(msg, "\ncl_rlock_acquire_timeout: timeout must be >= 0"));
    cl_rlock_release(r);

    capture_begin();
    int results = cl_rlock_acquire(NULL) + cl_rlock_try_acquire(NULL) +
                  cl_rlock_acquire_timeout(NULL, 1) + cl_rlock_release(NULL);
    msg = capture_end();
    CHECK(results == 0);
    CHECK(starts_with(msg, "cl_rlock_acquire: rlock is NULL"));
    CHECK(contains(msg, "\ncl_rlock_release: rlock is NULL"));
    CHECK(cl_rlock_free(NULL) == 1);
    CHECK(cl_rlock_free(r) == 1);
}

/* ---- Semaphore -------------------------------------------------------------------------------- */

static cl_semaphore *shared_semaphore;
static long inside_now, inside_most, entered;

static void *enter_semaphore(void *arg) {
    (void)arg;
    for (int round = 0; round < 20; round++) {
        cl_semaphore_acquire(shared_semaphore);
        long now = cl_atomic_add(&inside_now, 1);
        long most = cl_atomic_load(&inside_most);
        while (now > most && !cl_atomic_cas(&inside_most, most, now)) most = cl_atomic_load(&inside_most);
        cl_atomic_add(&entered, 1);
        cl_sleep(0.0002); /* stay inside a little, so others pile up at the door */
        cl_atomic_add(&inside_now, -1);
        cl_semaphore_release(shared_semaphore);
    }
    return NULL;
}

static void test_semaphore_limits_concurrency(void) {
    shared_semaphore = cl_semaphore_new(3);
    cl_atomic_store(&inside_now, 0);
    cl_atomic_store(&inside_most, 0);
    cl_atomic_store(&entered, 0);
    run_threads(10, enter_semaphore, NULL);
    CHECK(cl_atomic_load(&entered) == 200);
    CHECK(cl_atomic_load(&inside_most) <= 3);
    CHECK(cl_atomic_load(&inside_most) >= 1);
    CHECK(cl_semaphore_value(shared_semaphore) == 3);
    CHECK(cl_semaphore_free(shared_semaphore) == 1);
}

static void *acquire_semaphore(void *arg) {
    return (void *)(long)cl_semaphore_acquire(arg);
}

static void test_semaphore_basics(void) {
    cl_semaphore *s = cl_semaphore_new(1);
    CHECK(cl_semaphore_try_acquire(s) == 1);
    CHECK(cl_semaphore_try_acquire(s) == 0);
    double t0 = cl_now();
    CHECK(cl_semaphore_acquire_timeout(s, 0.2) == 0);
    CHECK_WAITED_ABOUT_0_2(t0);
    CHECK(cl_semaphore_release(s) == 1);
    CHECK(cl_semaphore_acquire_timeout(s, 0.2) == 1);
    CHECK(cl_semaphore_value(s) == 0);

    /* release_n wakes as many waiters as it adds permits. */
    hook_watch(s);
    cl_thread *t[3];
    for (int i = 0; i < 3; i++) t[i] = cl_thread_start(acquire_semaphore, s);
    CHECK(await_value(&hook_counts[P_SEMAPHORE][CL_EVENT_WAIT], 3) == 3);
    CHECK(cl_semaphore_release_n(s, 3) == 1);
    for (int i = 0; i < 3; i++) CHECK((long)cl_thread_join(t[i]) == 1);
    hook_stop();
    CHECK(cl_semaphore_value(s) == 0);

    /* A plain semaphore may be released above its start, as in Python. */
    CHECK(cl_semaphore_release_n(s, 5) == 1);
    CHECK(cl_semaphore_value(s) == 5);
    CHECK(cl_semaphore_free(s) == 1);

    cl_semaphore *zero = cl_semaphore_new(0);
    CHECK(cl_semaphore_try_acquire(zero) == 0);
    CHECK(cl_semaphore_free(zero) == 1);
}

static void test_bounded_semaphore(void) {
    cl_semaphore *s = cl_bounded_semaphore_new(2);
    CHECK(cl_semaphore_acquire(s) == 1);
    CHECK(cl_semaphore_release(s) == 1);
    capture_begin();
    int over = cl_semaphore_release(s);
    const char *msg = capture_end();
    CHECK(over == 0);
    CHECK_STR(msg, "cl_semaphore_release: semaphore released too many times\n");
    CHECK(cl_semaphore_value(s) == 2);

    cl_semaphore_acquire(s);
    capture_begin();
    int over_n = cl_semaphore_release_n(s, 2);
    int freed = cl_semaphore_free(s); /* one permit is out: refused */
    msg = capture_end();
    CHECK(over_n == 0 && freed == 0);
    CHECK(starts_with(msg, "cl_semaphore_release_n: semaphore released too many times"));
    CHECK(contains(msg, "\ncl_semaphore_free: 1 permit(s)"));
    CHECK(cl_semaphore_release_n(s, 1) == 1);
    CHECK(cl_semaphore_free(s) == 1);
}

static void test_semaphore_misuse(void) {
    capture_begin();
    cl_semaphore *neg = cl_semaphore_new(-1);
    cl_semaphore *bneg = cl_bounded_semaphore_new(-3);
    int results = cl_semaphore_acquire(NULL) + cl_semaphore_try_acquire(NULL) +
                  cl_semaphore_acquire_timeout(NULL, 1) + cl_semaphore_release(NULL) +
                  cl_semaphore_value(NULL);
    const char *msg = capture_end();
    CHECK(neg == NULL && bneg == NULL && results == 0);
    CHECK(starts_with(msg, "cl_semaphore_new: semaphore initial value must be >= 0, got -1"));
    CHECK(contains(msg, "\ncl_bounded_semaphore_new: semaphore initial value must be >= 0"));
    CHECK(contains(msg, "\ncl_semaphore_acquire: semaphore is NULL"));
    CHECK(contains(msg, "\ncl_semaphore_value: semaphore is NULL"));

    cl_semaphore *s = cl_semaphore_new(0);
    capture_begin();
    int bad_n = cl_semaphore_release_n(s, 0);
    int bad_t = cl_semaphore_acquire_timeout(s, -2);
    msg = capture_end();
    CHECK(bad_n == 0 && bad_t == 0);
    CHECK(starts_with(msg, "cl_semaphore_release_n: n must be one or more, got 0"));
    CHECK(contains(msg, "\ncl_semaphore_acquire_timeout: timeout must be >= 0"));

    /* Freeing while a thread waits is refused; the waiter is then let through. */
    hook_watch(s);
    cl_thread *t = cl_thread_start(acquire_semaphore, s);
    CHECK(await_value(&hook_counts[P_SEMAPHORE][CL_EVENT_WAIT], 1) == 1);
    capture_begin();
    int freed = cl_semaphore_free(s);
    msg = capture_end();
    CHECK(freed == 0);
    CHECK(starts_with(msg, "cl_semaphore_free: threads are waiting"));
    cl_semaphore_release(s);
    CHECK((long)cl_thread_join(t) == 1);
    hook_stop();
    CHECK(cl_semaphore_free(s) == 1);
    CHECK(cl_semaphore_free(NULL) == 1);
}

/* ---- Event ------------------------------------------------------------------------------------- */

static long woke;

static void *wait_event(void *arg) {
    int r = cl_event_wait(arg);
    cl_atomic_add(&woke, 1);
    return (void *)(long)r;
}

static void *wait_event_briefly(void *arg) {
    return (void *)(long)cl_event_wait_timeout(arg, 10);
}

static void test_event_releases_waiters(void) {
    cl_event *e = cl_event_new();
    cl_thread *t[3];
    cl_atomic_store(&woke, 0);
    hook_watch(e);
    for (int i = 0; i < 3; i++) t[i] = cl_thread_start(wait_event, e);
    CHECK(await_value(&hook_counts[P_EVENT][CL_EVENT_WAIT], 3) == 3);
    cl_sleep(0.02);
    CHECK(cl_atomic_load(&woke) == 0);
    cl_event_set(e);
    long sum = 0;
    for (int i = 0; i < 3; i++) sum += (long)cl_thread_join(t[i]);
    hook_stop();
    CHECK(sum == 3);
    CHECK(hook_count(P_EVENT, CL_EVENT_ACQUIRE) == 3);
    CHECK(hook_count(P_EVENT, CL_EVENT_RELEASE) == 1);
    CHECK(cl_event_free(e) == 1);
}

static void test_event_flag_and_timeouts(void) {
    cl_event *e = cl_event_new();
    CHECK(cl_event_is_set(e) == 0);
    double t0 = cl_now();
    CHECK(cl_event_wait_timeout(e, 0.2) == 0);
    CHECK_WAITED_ABOUT_0_2(t0);
    cl_event_set(e);
    cl_event_set(e); /* twice is fine */
    CHECK(cl_event_is_set(e) == 1);
    t0 = cl_now();
    CHECK(cl_event_wait_timeout(e, 5) == 1);
    CHECK(cl_event_wait(e) == 1);
    CHECK(cl_now() - t0 < 1.0);
    cl_event_clear(e);
    CHECK(cl_event_is_set(e) == 0);
    CHECK(cl_event_wait_timeout(e, 0) == 0);

    /* A waiter woken by a set returns 1 even if the flag was cleared before it ran (Python). */
    hook_watch(e);
    cl_thread *t = cl_thread_start(wait_event_briefly, e);
    CHECK(await_value(&hook_counts[P_EVENT][CL_EVENT_WAIT], 1) == 1);
    cl_event_set(e);
    cl_event_clear(e);
    CHECK((long)cl_thread_join(t) == 1);
    hook_stop();
    CHECK(cl_event_is_set(e) == 0);
    CHECK(cl_event_free(e) == 1);
}

static void test_event_misuse(void) {
    cl_event *e = cl_event_new();
    capture_begin();
    cl_event_set(NULL);
    cl_event_clear(NULL);
    int results = cl_event_is_set(NULL) + cl_event_wait(NULL) + cl_event_wait_timeout(NULL, 1) +
                  cl_event_wait_timeout(e, -1);
    const char *msg = capture_end();
    CHECK(results == 0);
    CHECK(starts_with(msg, "cl_event_set: event is NULL"));
    CHECK(contains(msg, "\ncl_event_clear: event is NULL"));
    CHECK(contains(msg, "\ncl_event_wait: event is NULL"));
    CHECK(contains(msg, "\ncl_event_wait_timeout: timeout must be >= 0"));

    hook_watch(e);
    cl_thread *t = cl_thread_start(wait_event, e);
    CHECK(await_value(&hook_counts[P_EVENT][CL_EVENT_WAIT], 1) == 1);
    capture_begin();
    int freed = cl_event_free(e);
    msg = capture_end();
    CHECK(freed == 0);
    CHECK(starts_with(msg, "cl_event_free: threads are waiting"));
    cl_event_set(e);
    cl_thread_join(t);
    hook_stop();
    CHECK(cl_event_free(e) == 1);
    CHECK(cl_event_free(NULL) == 1);
}

/* ---- Condition ---------------------------------------------------------------------------------- */

/* A bounded buffer: two conditions on one lock, as in the chapter's producer/consumer. */
#define BUFFER_CAP 4
#define ITEMS_PER_PRODUCER 2000

static struct {
    cl_lock *lock;
    cl_condition *not_full, *not_empty;
    long items[BUFFER_CAP];
    int head, count;
} buffer;

static void *produce(void *arg) {
    long first = (long)arg;
    for (long i = 0; i < ITEMS_PER_PRODUCER; i++) {
        cl_lock_acquire(buffer.lock);
        while (buffer.count == BUFFER_CAP) cl_condition_wait(buffer.not_full);
        buffer.items[(buffer.head + buffer.count++) % BUFFER_CAP] = first + i;
        cl_condition_notify(buffer.not_empty, 1);
        cl_lock_release(buffer.lock);
    }
    return NULL;
}

static void *consume(void *arg) {
    long sum = 0;
    (void)arg;
    for (long i = 0; i < ITEMS_PER_PRODUCER; i++) {
        cl_lock_acquire(buffer.lock);
        while (buffer.count == 0) cl_condition_wait(buffer.not_empty);
        sum += buffer.items[buffer.head];
        buffer.head = (buffer.head + 1) % BUFFER_CAP;
        buffer.count--;
        cl_condition_notify(buffer.not_full, 1);
        cl_lock_release(buffer.lock);
    }
    return (void *)sum;
}

static void test_condition_producer_consumer(void) {
    buffer.lock = cl_lock_new();
    buffer.not_full = cl_condition_new(buffer.lock);
    buffer.not_empty = cl_condition_new(buffer.lock);
    buffer.head = buffer.count = 0;
    cl_thread *p1 = cl_thread_start(produce, (void *)0);
    cl_thread *p2 = cl_thread_start(produce, (void *)1000000);
    cl_thread *c1 = cl_thread_start(consume, NULL);
    cl_thread *c2 = cl_thread_start(consume, NULL);
    cl_thread_join(p1);
    cl_thread_join(p2);
    long sum = (long)cl_thread_join(c1) + (long)cl_thread_join(c2);
    long n = ITEMS_PER_PRODUCER;
    CHECK(sum == n * (n - 1) + n * 1000000); /* every item once: (0..n-1) + (1e6..1e6+n-1) */
    CHECK(buffer.count == 0);
    CHECK(cl_condition_free(buffer.not_full) == 1);
    CHECK(cl_condition_free(buffer.not_empty) == 1);
    CHECK(cl_lock_free(buffer.lock) == 1);
}

static cl_condition *shared_condition;
static long notified_count;

static void *wait_on_condition(void *arg) {
    (void)arg;
    cl_condition_acquire(shared_condition);
    int r = cl_condition_wait_timeout(shared_condition, 10);
    cl_atomic_add(&notified_count, 1);
    cl_condition_release(shared_condition);
    return (void *)(long)r;
}

static void test_condition_notify_n(void) {
    shared_condition = cl_condition_new(NULL); /* with a lock of its own */
    cl_atomic_store(&notified_count, 0);
    hook_watch(shared_condition);
    cl_thread *t[4];
    for (int i = 0; i < 4; i++) t[i] = cl_thread_start(wait_on_condition, NULL);
    CHECK(await_value(&hook_counts[P_CONDITION][CL_EVENT_WAIT], 4) == 4);

    cl_condition_acquire(shared_condition);
    CHECK(cl_condition_notify(shared_condition, 2) == 2);
    cl_condition_release(shared_condition);
    CHECK(await_value(&notified_count, 2) == 2);
    cl_sleep(0.05);
    CHECK(cl_atomic_load(&notified_count) == 2); /* exactly two woke */

    cl_condition_acquire(shared_condition);
    CHECK(cl_condition_notify_all(shared_condition) == 2);
    CHECK(cl_condition_notify_all(shared_condition) == 0);
    cl_condition_release(shared_condition);
    long sum = 0;
    for (int i = 0; i < 4; i++) sum += (long)cl_thread_join(t[i]);
    hook_stop();
    CHECK(sum == 4); /* all four were notified, none timed out */
    CHECK(hook_count(P_CONDITION, CL_EVENT_ACQUIRE) == 4);
    CHECK(cl_condition_free(shared_condition) == 1);
}

static long ready_flag;

static int flag_is_up(void *arg) {
    return (int)*(long *)arg;
}

static void *raise_flag(void *arg) {
    cl_sleep(0.02);
    cl_condition_acquire(arg);
    ready_flag = 1; /* under the lock: wait_for reads it under the lock */
    cl_condition_notify_all(arg);
    cl_condition_release(arg);
    return NULL;
}

static void test_condition_timeouts_and_wait_for(void) {
    cl_condition *c = cl_condition_new(NULL);
    cl_condition_acquire(c);
    double t0 = cl_now();
    CHECK(cl_condition_wait_timeout(c, 0.2) == 0);
    CHECK_WAITED_ABOUT_0_2(t0);
    CHECK(cl_lock_locked(cl_condition_lock(c)) == 1); /* the lock is ours again */

    ready_flag = 0;
    t0 = cl_now();
    CHECK(cl_condition_wait_for(c, flag_is_up, &ready_flag, 0.2) == 0);
    CHECK_WAITED_ABOUT_0_2(t0);

    cl_thread *t = cl_thread_start(raise_flag, c);
    CHECK(cl_condition_wait_for(c, flag_is_up, &ready_flag, CL_FOREVER) == 1);
    CHECK(ready_flag == 1);
    CHECK(cl_condition_wait_for(c, flag_is_up, &ready_flag, 0) == 1); /* true at once: no wait */
    cl_condition_release(c);
    cl_thread_join(t);
    CHECK(cl_condition_free(c) == 1);
}

static void *wait_without_lock(void *arg) {
    capture_begin();
    int r = cl_condition_wait_timeout(arg, 1);
    const char *msg = capture_end();
    return (void *)(long)(r == 0 && starts_with(msg, "cl_condition_wait_timeout: cannot wait on un-acquired lock"));
}

static void test_condition_misuse(void) {
    cl_lock *l = cl_lock_new();
    cl_condition *c = cl_condition_new(l);
    double t0 = cl_now();
    capture_begin();
    int w = cl_condition_wait(c);
    int n = cl_condition_notify(c, 1);
    int na = cl_condition_notify_all(c);
    int wf = cl_condition_wait_for(c, flag_is_up, &ready_flag, 1);
    const char *msg = capture_end();
    CHECK(cl_now() - t0 < 1.0); /* reported, not waited */
    CHECK(w == 0 && n == 0 && na == 0 && wf == 0);
    CHECK(starts_with(msg, "cl_condition_wait: cannot wait on un-acquired lock"));
    CHECK(contains(msg, "\ncl_condition_notify: cannot notify on un-acquired lock"));
    CHECK(contains(msg, "\ncl_condition_notify_all: cannot notify on un-acquired lock"));
    CHECK(contains(msg, "\ncl_condition_wait_for: cannot wait on un-acquired lock"));

    /* Holding the lock in another thread does not count as holding it here. */
    cl_lock_acquire(l);
    CHECK((long)cl_thread_join(cl_thread_start(wait_without_lock, c)) == 1);
    capture_begin();
    int neg = cl_condition_wait_timeout(c, -1);
    int nopred = cl_condition_wait_for(c, NULL, NULL, 1);
    int negn = cl_condition_notify(c, -1);
    msg = capture_end();
    CHECK(neg == 0 && nopred == 0 && negn == 0);
    CHECK(starts_with(msg, "cl_condition_wait_timeout: timeout must be >= 0"));
    CHECK(contains(msg, "\ncl_condition_wait_for: predicate is NULL"));
    CHECK(contains(msg, "\ncl_condition_notify: n must be >= 0"));
    cl_lock_release(l);

    /* Freeing: refused while a thread waits; its own lock is refused while held. */
    shared_condition = c;
    cl_atomic_store(&notified_count, 0);
    hook_watch(c);
    cl_thread *t = cl_thread_start(wait_on_condition, NULL);
    CHECK(await_value(&hook_counts[P_CONDITION][CL_EVENT_WAIT], 1) == 1);
    capture_begin();
    int freed = cl_condition_free(c);
    msg = capture_end();
    CHECK(freed == 0);
    CHECK(starts_with(msg, "cl_condition_free: threads are waiting"));
    cl_lock_acquire(l);
    cl_condition_notify(c, 1);
    cl_lock_release(l);
    CHECK((long)cl_thread_join(t) == 1);
    hook_stop();
    CHECK(cl_condition_free(c) == 1);
    CHECK(cl_lock_free(l) == 1); /* a lock passed in is not the condition's to free */

    cl_condition *own = cl_condition_new(NULL);
    cl_condition_acquire(own);
    capture_begin();
    freed = cl_condition_free(own);
    msg = capture_end();
    CHECK(freed == 0);
    CHECK(starts_with(msg, "cl_condition_free: the condition's lock is held"));
    cl_condition_release(own);
    CHECK(cl_condition_free(own) == 1);

    capture_begin();
    int results = cl_condition_acquire(NULL) + cl_condition_release(NULL) + cl_condition_wait(NULL) +
                  cl_condition_notify(NULL, 1) + (cl_condition_lock(NULL) != NULL);
    msg = capture_end();
    CHECK(results == 0);
    CHECK(starts_with(msg, "cl_condition_acquire: condition is NULL"));
    CHECK(contains(msg, "\ncl_condition_lock: condition is NULL"));
    CHECK(cl_condition_free(NULL) == 1);
}

/* ---- Barrier ------------------------------------------------------------------------------------ */

#define PARTIES 4
#define ROUNDS 50

static cl_barrier *shared_barrier;
static long index_seen[ROUNDS][PARTIES];
static long actions_run;
static long behind_action; /* waits that returned before their round's action ran: must stay 0 */

static long action_saw_waiting; /* cl_barrier_n_waiting as the action saw it, summed */

static void count_action(void *arg) {
    cl_atomic_add((long *)arg, 1);
    /* The action runs on the last arrival, with everyone else still waiting. */
    cl_atomic_add(&action_saw_waiting, cl_barrier_n_waiting(shared_barrier));
}

static void *meet_repeatedly(void *arg) {
    (void)arg;
    for (int round = 0; round < ROUNDS; round++) {
        int index = cl_barrier_wait(shared_barrier);
        if (index < 0 || index >= PARTIES) return (void *)1;
        if (cl_atomic_load(&actions_run) < round + 1) cl_atomic_add(&behind_action, 1);
        cl_atomic_add(&index_seen[round][index], 1);
    }
    return NULL;
}

static void test_barrier_indexes_and_action(void) {
    memset(index_seen, 0, sizeof index_seen);
    cl_atomic_store(&actions_run, 0);
    cl_atomic_store(&behind_action, 0);
    cl_atomic_store(&action_saw_waiting, 0);
    shared_barrier = cl_barrier_new(PARTIES, count_action, &actions_run, CL_FOREVER);
    CHECK(cl_barrier_parties(shared_barrier) == PARTIES);
    CHECK(run_threads(PARTIES, meet_repeatedly, NULL) == 0);
    int every_index_once = 1;
    for (int round = 0; round < ROUNDS; round++)
        for (int i = 0; i < PARTIES; i++) every_index_once &= index_seen[round][i] == 1;
    CHECK(every_index_once);
    CHECK(cl_atomic_load(&actions_run) == ROUNDS);
    CHECK(cl_atomic_load(&behind_action) == 0);
    CHECK(cl_atomic_load(&action_saw_waiting) == (long)ROUNDS * PARTIES);
    CHECK(cl_barrier_broken(shared_barrier) == 0);
    CHECK(cl_barrier_n_waiting(shared_barrier) == 0);
    CHECK(cl_barrier_free(shared_barrier) == 1);

    cl_barrier *alone = cl_barrier_new(1, NULL, NULL, CL_FOREVER);
    CHECK(cl_barrier_wait(alone) == 0);
    CHECK(cl_barrier_wait(alone) == 0);
    cl_barrier_free(alone);
}

static void *wait_barrier(void *arg) {
    return (void *)(long)cl_barrier_wait(arg);
}

static void *wait_barrier_0_2(void *arg) {
    return (void *)(long)cl_barrier_wait_timeout(arg, 0.2);
}

static void test_barrier_timeout_breaks_then_reset(void) {
    cl_barrier *b = cl_barrier_new(3, NULL, NULL, CL_FOREVER);
    double t0 = cl_now();
    cl_thread *patient = cl_thread_start(wait_barrier, b);
    cl_thread *hasty = cl_thread_start(wait_barrier_0_2, b);
    /* Only two of three arrive: the timed one gives up and breaks it for both. */
    CHECK((long)cl_thread_join(hasty) == -1);
    CHECK((long)cl_thread_join(patient) == -1);
    CHECK_WAITED_ABOUT_0_2(t0);
    CHECK(cl_barrier_broken(b) == 1);
    t0 = cl_now();
    CHECK(cl_barrier_wait(b) == -1); /* broken: at once */
    CHECK(cl_now() - t0 < 1.0);

    cl_barrier_reset(b);
    CHECK(cl_barrier_broken(b) == 0);
    cl_thread *t[3];
    for (int i = 0; i < 3; i++) t[i] = cl_thread_start(wait_barrier, b);
    long sum = 0;
    for (int i = 0; i < 3; i++) sum += (long)cl_thread_join(t[i]);
    CHECK(sum == 0 + 1 + 2);
    CHECK(cl_barrier_free(b) == 1);

    /* The default timeout given at creation applies to cl_barrier_wait. */
    b = cl_barrier_new(2, NULL, NULL, 0.2);
    t0 = cl_now();
    CHECK(cl_barrier_wait(b) == -1);
    CHECK_WAITED_ABOUT_0_2(t0);
    CHECK(cl_barrier_broken(b) == 1);
    cl_barrier_free(b);
}

static void test_barrier_abort_and_reset_release_waiters(void) {
    cl_barrier *b = cl_barrier_new(3, NULL, NULL, CL_FOREVER);
    cl_thread *t[2];
    for (int i = 0; i < 2; i++) t[i] = cl_thread_start(wait_barrier, b);
    long waiting = 0;
    for (double deadline = cl_now() + 10; waiting != 2 && cl_now() < deadline; cl_sleep(0.0005))
        waiting = cl_barrier_n_waiting(b);
    CHECK(waiting == 2);
    capture_begin();
    int freed = cl_barrier_free(b);
    const char *msg = capture_end();
    CHECK(freed == 0);
    CHECK(starts_with(msg, "cl_barrier_free: threads are waiting"));
    cl_barrier_abort(b);
    for (int i = 0; i < 2; i++) CHECK((long)cl_thread_join(t[i]) == -1);
    CHECK(cl_barrier_broken(b) == 1);
    cl_barrier_reset(b);

    for (int i = 0; i < 2; i++) t[i] = cl_thread_start(wait_barrier, b);
    waiting = 0;
    for (double deadline = cl_now() + 10; waiting != 2 && cl_now() < deadline; cl_sleep(0.0005))
        waiting = cl_barrier_n_waiting(b);
    CHECK(waiting == 2);
    cl_barrier_reset(b); /* the waiters leave with -1; the barrier is usable again after */
    for (int i = 0; i < 2; i++) CHECK((long)cl_thread_join(t[i]) == -1);
    CHECK(cl_barrier_broken(b) == 0);
    CHECK(cl_barrier_n_waiting(b) == 0);
    CHECK(cl_barrier_free(b) == 1);
}

static long action_misuse_ok;
static cl_barrier *action_barrier;

/* An action that calls back into its own barrier: refused, and no deadlock. */
static void misuse_own_barrier(void *arg) {
    (void)arg;
    capture_begin();
    int r = cl_barrier_wait(action_barrier);
    cl_barrier_abort(action_barrier);
    cl_barrier_reset(action_barrier);
    int broken = cl_barrier_broken(action_barrier); /* queries are allowed */
    const char *msg = capture_end();
    cl_atomic_store(&action_misuse_ok, r == -1 && broken == 0 &&
        starts_with(msg, "cl_barrier_wait: cannot be called from the barrier's own action") &&
        contains(msg, "\ncl_barrier_abort: cannot be called") &&
        contains(msg, "\ncl_barrier_reset: cannot be called"));
}

static void test_barrier_misuse(void) {
    capture_begin();
    cl_barrier *zero = cl_barrier_new(0, NULL, NULL, CL_FOREVER);
    cl_barrier *neg_timeout = cl_barrier_new(2, NULL, NULL, -1);
    int w = cl_barrier_wait(NULL);
    int wt = cl_barrier_wait_timeout(NULL, 1);
    cl_barrier_abort(NULL);
    cl_barrier_reset(NULL);
    int queries = cl_barrier_broken(NULL) + cl_barrier_n_waiting(NULL) + cl_barrier_parties(NULL);
    const char *msg = capture_end();
    CHECK(zero == NULL && neg_timeout == NULL);
    CHECK(w == -1 && wt == -1 && queries == 0);
    CHECK(starts_with(msg, "cl_barrier_new: parties must be > 0, got 0"));
    CHECK(contains(msg, "\ncl_barrier_new: timeout must be >= 0"));
    CHECK(contains(msg, "\ncl_barrier_wait: barrier is NULL"));
    CHECK(contains(msg, "\ncl_barrier_reset: barrier is NULL"));
    CHECK(cl_barrier_free(NULL) == 1);

    action_barrier = cl_barrier_new(1, misuse_own_barrier, NULL, CL_FOREVER);
    cl_atomic_store(&action_misuse_ok, 0);
    CHECK(cl_barrier_wait(action_barrier) == 0);
    CHECK(cl_atomic_load(&action_misuse_ok) == 1);
    CHECK(cl_barrier_broken(action_barrier) == 0);
    CHECK(cl_barrier_free(action_barrier) == 1);

    cl_barrier *b = cl_barrier_new(2, NULL, NULL, CL_FOREVER);
    capture_begin();
    int neg = cl_barrier_wait_timeout(b, -1);
    msg = capture_end();
    CHECK(neg == -1);
    CHECK(starts_with(msg, "cl_barrier_wait_timeout: timeout must be >= 0"));
    CHECK(cl_barrier_broken(b) == 0); /* a rejected call changes nothing */
    CHECK(cl_barrier_free(b) == 1);
}

/* ---- the hook on a contended lock -------------------------------------------------------------- */

static void *contend(void *arg) {
    cl_lock_acquire(arg);
    cl_lock_release(arg);
    return (void *)cl_thread_id();
}

static void test_hook_sees_contended_lock(void) {
    cl_lock *l = cl_lock_new();
    hook_watch(l);
    cl_lock_acquire(l);
    cl_thread *t = cl_thread_start(contend, l);
    CHECK(await_value(&hook_counts[P_LOCK][CL_EVENT_WAIT], 1) == 1);
    cl_lock_release(l);
    long waiter = (long)cl_thread_join(t);
    CHECK(cl_lock_acquire_timeout(l, 0) == 1);
    CHECK(cl_lock_try_acquire(l) == 0); /* a failed try is no event */
    CHECK(cl_lock_acquire_timeout(l, 0.01) == 0);
    cl_lock_release(l);
    hook_stop();

    CHECK(hook_count(P_LOCK, CL_EVENT_WAIT) == 2);    /* the thread, and the timed-out acquire */
    CHECK(hook_count(P_LOCK, CL_EVENT_ACQUIRE) == 3); /* main twice, the thread once */
    CHECK(hook_count(P_LOCK, CL_EVENT_RELEASE) == 3);
    CHECK(hook_count(P_LOCK, CL_EVENT_TIMEOUT) == 1);

    /* In order: main acquires; the thread waits; main releases; the thread acquires, releases. */
    long want_kind[] = {CL_EVENT_ACQUIRE, CL_EVENT_WAIT, CL_EVENT_RELEASE, CL_EVENT_ACQUIRE, CL_EVENT_RELEASE};
    long want_thread[] = {cl_thread_id(), waiter, cl_thread_id(), waiter, waiter};
    int in_order = cl_atomic_load(&hook_log_n) >= 5;
    for (int i = 0; in_order && i < 5; i++)
        in_order = hook_log_kind[i] == want_kind[i] && hook_log_thread[i] == want_thread[i];
    CHECK(in_order);
    CHECK(cl_lock_free(l) == 1);
}

static void test_hook_sees_every_primitive(void) {
    cl_rlock *r = cl_rlock_new();
    cl_semaphore *s = cl_semaphore_new(1);
    cl_event *e = cl_event_new();
    cl_barrier *b = cl_barrier_new(1, NULL, NULL, CL_FOREVER);
    cl_condition *c = cl_condition_new(NULL);
    hook_watch(NULL);
    cl_rlock_acquire(r);
    cl_rlock_release(r);
    cl_semaphore_acquire(s);
    cl_semaphore_release(s);
    cl_event_set(e);
    cl_event_wait(e);
    cl_barrier_wait(b);
    cl_condition_acquire(c);
    cl_condition_wait_timeout(c, 0.01);
    cl_condition_release(c);
    hook_stop();
    CHECK(hook_count(P_RLOCK, CL_EVENT_ACQUIRE) == 1 && hook_count(P_RLOCK, CL_EVENT_RELEASE) == 1);
    CHECK(hook_count(P_SEMAPHORE, CL_EVENT_ACQUIRE) == 1 && hook_count(P_SEMAPHORE, CL_EVENT_RELEASE) == 1);
    CHECK(hook_count(P_EVENT, CL_EVENT_RELEASE) == 1 && hook_count(P_EVENT, CL_EVENT_ACQUIRE) == 1);
    CHECK(hook_count(P_BARRIER, CL_EVENT_ACQUIRE) == 1);
    CHECK(hook_count(P_CONDITION, CL_EVENT_WAIT) == 1 && hook_count(P_CONDITION, CL_EVENT_TIMEOUT) == 1);
    /* The condition's wait let its lock go and took it back. */
    CHECK(hook_count(P_LOCK, CL_EVENT_RELEASE) == 2 && hook_count(P_LOCK, CL_EVENT_ACQUIRE) == 2);
    cl_rlock_free(r);
    cl_semaphore_free(s);
    cl_event_free(e);
    cl_barrier_free(b);
    cl_condition_free(c);
}

/* ---- under the emulated GIL ------------------------------------------------------------------ */

/* Every wait must let the GIL go: with it on, threads that wait on each other must still finish
 * (a wait that kept it would stop the thread it waits for). */
static void test_primitives_under_the_gil(void) {
    cl_gil_enable();
    CHECK(cl_gil_held() == 1);

    shared_lock = cl_lock_new();
    shared_counter = 0;
    cl_thread *t[4];
    for (int i = 0; i < 4; i++) t[i] = cl_thread_start(locked_increments, NULL);
    for (int i = 0; i < 4; i++) cl_thread_join(t[i]);
    CHECK(shared_counter == 400000);
    cl_lock_free(shared_lock);

    test_lock_handoff();
    test_semaphore_limits_concurrency();
    test_event_releases_waiters();
    test_condition_producer_consumer();
    test_condition_notify_n();
    test_barrier_indexes_and_action();
    test_barrier_timeout_breaks_then_reset();
    CHECK(cl_gil_held() == 1);
    cl_gil_disable();
}

int main(void) {
    test_lock_counts_exactly();
    test_lock_basics();
    test_lock_handoff();
    test_lock_self_deadlock_hint();
    test_lock_misuse();
    test_with_lock();
    test_rlock_recursion();
    test_rlock_counts_exactly();
    test_rlock_misuse();
    test_semaphore_limits_concurrency();
    test_semaphore_basics();
    test_bounded_semaphore();
    test_semaphore_misuse();
    test_event_releases_waiters();
    test_event_flag_and_timeouts();
    test_event_misuse();
    test_condition_producer_consumer();
    test_condition_notify_n();
    test_condition_timeouts_and_wait_for();
    test_condition_misuse();
    test_barrier_indexes_and_action();
    test_barrier_timeout_breaks_then_reset();
    test_barrier_abort_and_reset_release_waiters();
    test_barrier_misuse();
    test_hook_sees_contended_lock();
    test_hook_sees_every_primitive();
    test_primitives_under_the_gil();
    CHECK(cl_thread_count() == 0);
    return check_summary(SUITE);
}
