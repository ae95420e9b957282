/* test_runtime_async_sync.c — asyncio's Lock, Semaphore, BoundedSemaphore, Event, Condition and
 * `async with` for tasks (conclab/async_sync.h): exclusion, FIFO hand-over, timeouts (own and
 * through cl_async_wait_for), cancellation during every kind of wait leaving the primitive
 * consistent, and misuse reports. Runs as gcc code and, in plain builds, compiled by tcc. */
#include <conclab.h>

#include "capture_stderr.h"
#include "check.h"

/* ---- shared helpers ---- */

static cl_async_lock *lock;
static cl_async_semaphore *sem;
static cl_async_event *event;
static cl_async_condition *cond;
static int inside, max_inside, order[16], n_order;

static void note_order(long who) { if (n_order < 16) order[n_order++] = (int)who; }

/* Lets the other tasks run until they have parked (a few loop iterations). */
static void let_others_run(void) {
    for (int i = 0; i < 5; i++) cl_async_sleep(0);
}

/* ---- Lock ---- */

static long counter;

static void *locked_increment(void *arg) {
    (void)arg;
    for (int i = 0; i < 20; i++) {
        CL_ASYNC_WITH_LOCK(lock) {
            inside++;
            if (inside > max_inside) max_inside = inside;
            long seen = counter;
            cl_async_sleep(0);       /* yield in the middle of the read-modify-write */
            counter = seen + 1;
            inside--;
        }
    }
    return NULL;
}

static void *lock_exclusion_main(void *arg) {
    (void)arg;
    cl_future *t[5];
    for (int i = 0; i < 5; i++) t[i] = cl_async_create_task(locked_increment, NULL);
    CHECK(cl_async_gather(t, 5, 0) == 0);
    for (int i = 0; i < 5; i++) cl_future_free(t[i]);
    return NULL;
}

static void test_lock_exclusion(void) {
    lock = cl_async_lock_new();
    counter = 0; inside = 0; max_inside = 0;
    CHECK(cl_async_run(lock_exclusion_main, NULL, NULL) == CL_FUTURE_OK);
    CHECK(counter == 100);      /* without the lock, increments are lost across the yield */
    CHECK(max_inside == 1);
    CHECK(cl_async_lock_locked(lock) == 0);
    CHECK(cl_async_lock_free(lock) == 1);
}

static int waiter_result[8];

static void *lock_waiter(void *arg) {
    long who = (long)arg;
    int got = cl_async_lock_acquire(lock);
    waiter_result[who] = got;
    if (got) {
        note_order(who);
        cl_async_sleep(0.001);
        cl_async_lock_release(lock);
    }
    return NULL;
}

static void *lock_fifo_main(void *arg) {
    (void)arg;
    n_order = 0;
    CHECK(cl_async_lock_acquire(lock) == 1);
    cl_future *t[4];
    for (long i = 0; i < 4; i++) {
        t[i] = cl_async_create_task(lock_waiter, (void *)i);
        let_others_run();           /* each parks before the next is created */
    }
    CHECK(n_order == 0);
    cl_async_lock_release(lock);
    cl_async_gather(t, 4, 0);
    for (int i = 0; i < 4; i++) cl_future_free(t[i]);
    return NULL;
}

static void test_lock_fifo(void) {
    lock = cl_async_lock_new();
    CHECK(cl_async_run(lock_fifo_main, NULL, NULL) == CL_FUTURE_OK);
    CHECK(n_order == 4);
    for (int i = 0; i < 4; i++) CHECK(order[i] == i);
    CHECK(cl_async_lock_free(lock) == 1);
}

/* A cancelled waiter must not swallow the lock: whether it is cancelled while parked, or right
 * after the lock was handed to it (before it could run). */
static void *lock_cancel_main(void *arg) {
    (void)arg;
    n_order = 0;
    for (int i = 0; i < 8; i++) waiter_result[i] = -1;
    CHECK(cl_async_lock_acquire(lock) == 1);
    cl_future *t[3];
    for (long i = 0; i < 3; i++) t[i] = cl_async_create_task(lock_waiter, (void *)i);
    let_others_run();
    CHECK(cl_task_cancel(t[1]) == 1);   /* parked in the middle of the line */
    let_others_run();
    CHECK(waiter_result[1] == 0);
    CHECK(cl_async_lock_locked(lock) == 1);
    cl_async_lock_release(lock);        /* handed to waiter 0 ... */
    cl_task_cancel(t[0]);               /* ... which is cancelled before it runs */
    cl_async_gather(t, 3, 0);
    /* Waiter 0 either took the lock before its cancellation was seen (Python raises
     * CancelledError there instead) or passed it on; either way waiter 2 got it. */
    CHECK(waiter_result[2] == 1);
    CHECK(cl_async_lock_locked(lock) == 0);
    for (int i = 0; i < 3; i++) cl_future_free(t[i]);
    return NULL;
}

static void test_lock_cancel(void) {
    lock = cl_async_lock_new();
    CHECK(cl_async_run(lock_cancel_main, NULL, NULL) == CL_FUTURE_OK);
    CHECK(cl_async_lock_free(lock) == 1);
}

static void *acquire_forever(void *arg) {
    (void)arg;
    if (cl_async_lock_acquire(lock)) {  /* only if the test is broken */
        cl_async_lock_release(lock);
        return (void *)1;
    }
    return NULL;
}

static void *lock_timeout_main(void *arg) {
    (void)arg;
    CHECK(cl_async_lock_acquire(lock) == 1);
    double t0 = cl_now();
    CHECK(cl_async_lock_acquire_timeout(lock, 0.2) == 0);
    double took = cl_now() - t0;
    CHECK(took >= 0.15 && took < 2.0);
    CHECK(cl_async_lock_acquire_timeout(lock, 0) == 0);  /* polls */

    /* asyncio.wait_for(lock.acquire(), 0.1): the acquiring task is cancelled on timeout. */
    cl_future *t = cl_async_create_task(acquire_forever, NULL);
    t0 = cl_now();
    CHECK(cl_async_wait_for(t, 0.1, NULL) == CL_FUTURE_TIMEOUT);
    took = cl_now() - t0;
    CHECK(took >= 0.05 && took < 2.0);
    cl_await(t, NULL);
    CHECK(cl_future_cancelled(t) == 1);
    cl_future_free(t);
    cl_async_lock_release(lock);
    CHECK(cl_async_lock_locked(lock) == 0);  /* nobody took it over */
    return NULL;
}

static void test_lock_timeout(void) {
    lock = cl_async_lock_new();
    CHECK(cl_async_run(lock_timeout_main, NULL, NULL) == CL_FUTURE_OK);
    CHECK(cl_async_lock_free(lock) == 1);
}

static void *lock_with_main(void *arg) {
    (void)arg;
    int runs = 0;
    CL_ASYNC_WITH_LOCK(lock) {
        runs++;
        CHECK(cl_async_lock_locked(lock) == 1);
        break;                          /* break releases */
    }
    CHECK(runs == 1);
    CHECK(cl_async_lock_locked(lock) == 0);
    CL_ASYNC_WITH_LOCK(lock) { runs++; }
    CHECK(runs == 2);
    CHECK(cl_async_lock_locked(lock) == 0);
    return NULL;
}

/* A task cancelled while it waits in CL_ASYNC_WITH_LOCK skips the block. */
static int body_ran;
static void *with_waiter(void *arg) {
    (void)arg;
    CL_ASYNC_WITH_LOCK(lock) { body_ran = 1; }
    return NULL;
}

static void *lock_with_cancel_main(void *arg) {
    (void)arg;
    body_ran = 0;
    cl_async_lock_acquire(lock);
    cl_future *t = cl_async_create_task(with_waiter, NULL);
    let_others_run();
    cl_task_cancel(t);
    cl_await(t, NULL);
    CHECK(body_ran == 0);
    cl_async_lock_release(lock);
    CHECK(cl_async_lock_locked(lock) == 0);
    cl_future_free(t);
    return NULL;
}

static void test_lock_with(void) {
    lock = cl_async_lock_new();
    CHECK(cl_async_run(lock_with_main, NULL, NULL) == CL_FUTURE_OK);
    CHECK(cl_async_run(lock_with_cancel_main, NULL, NULL) == CL_FUTURE_OK);
    CHECK(cl_async_lock_free(lock) == 1);
}

static void test_lock_misuse(void) {
    lock = cl_async_lock_new();
    capture_begin();
    int released = cl_async_lock_release(lock);
    const char *out = capture_end();
    CHECK(released == 0);
    CHECK(starts_with(out, "cl_async_lock_release: "));

    CHECK(cl_async_lock_acquire(lock) == 1);   /* free: taken at once, even outside a task */
    capture_begin();
    int got = cl_async_lock_acquire(lock);     /* would have to wait: only a task can */
    out = capture_end();
    CHECK(got == 0);
    CHECK(starts_with(out, "cl_async_lock_acquire: "));
    CHECK(strstr(out, "task") != NULL);

    capture_begin();
    int freed = cl_async_lock_free(lock);
    out = capture_end();
    CHECK(freed == 0);
    CHECK(starts_with(out, "cl_async_lock_free: "));

    capture_begin();
    got = cl_async_lock_acquire(NULL);
    out = capture_end();
    CHECK(got == 0);
    CHECK(starts_with(out, "cl_async_lock_acquire: "));

    CHECK(cl_async_lock_release(lock) == 1);
    CHECK(cl_async_lock_free(lock) == 1);
}

/* ---- Semaphore ---- */

static void *limited_worker(void *arg) {
    (void)arg;
    CL_ASYNC_WITH_SEMAPHORE(sem) {
        inside++;
        if (inside > max_inside) max_inside = inside;
        cl_async_sleep(0.01);
        inside--;
    }
    return NULL;
}

static void *semaphore_limit_main(void *arg) {
    (void)arg;
    cl_future *t[10];
    for (int i = 0; i < 10; i++) t[i] = cl_async_create_task(limited_worker, NULL);
    CHECK(cl_async_gather(t, 10, 0) == 0);
    for (int i = 0; i < 10; i++) cl_future_free(t[i]);
    return NULL;
}

static void test_semaphore_limit(void) {
    sem = cl_async_semaphore_new(3);
    inside = 0; max_inside = 0;
    double t0 = cl_now();
    CHECK(cl_async_run(semaphore_limit_main, NULL, NULL) == CL_FUTURE_OK);
    double took = cl_now() - t0;
    CHECK(max_inside == 3);               /* never more than 3 inside, and 3 did get in */
    CHECK(took >= 0.035 && took < 2.0);   /* 10 tasks of 10 ms, 3 at a time: 4 rounds */
    CHECK(cl_async_semaphore_value(sem) == 3);
    CHECK(cl_async_semaphore_free(sem) == 1);
}

static void *sem_waiter(void *arg) {
    long who = (long)arg;
    int got = cl_async_semaphore_acquire(sem);
    waiter_result[who] = got;
    if (got) note_order(who);
    return NULL;   /* keeps the permit: the main task counts them */
}

static void *semaphore_cancel_main(void *arg) {
    (void)arg;
    n_order = 0;
    for (int i = 0; i < 8; i++) waiter_result[i] = -1;
    CHECK(cl_async_semaphore_acquire(sem) == 1);
    CHECK(cl_async_semaphore_locked(sem) == 1);
    cl_future *t[3];
    for (long i = 0; i < 3; i++) t[i] = cl_async_create_task(sem_waiter, (void *)i);
    let_others_run();
    cl_task_cancel(t[0]);
    let_others_run();
    CHECK(waiter_result[0] == 0);
    CHECK(cl_async_semaphore_value(sem) == 0);
    cl_async_semaphore_release(sem);     /* goes to waiter 1, not to the cancelled one */
    let_others_run();
    CHECK(waiter_result[1] == 1);
    CHECK(waiter_result[2] == -1);       /* still waiting */
    CHECK(cl_async_semaphore_acquire_timeout(sem, 0.05) == 0);
    cl_async_semaphore_release(sem);
    cl_async_gather(t, 3, 0);
    CHECK(waiter_result[2] == 1);
    CHECK(cl_async_semaphore_value(sem) == 0);
    cl_async_semaphore_release(sem);
    cl_async_semaphore_release(sem);
    CHECK(cl_async_semaphore_value(sem) == 2);
    for (int i = 0; i < 3; i++) cl_future_free(t[i]);
    return NULL;
}

static void test_semaphore_cancel(void) {
    sem = cl_async_semaphore_new(1);
    CHECK(cl_async_run(semaphore_cancel_main, NULL, NULL) == CL_FUTURE_OK);
    CHECK(cl_async_semaphore_free(sem) == 1);
}

static void test_bounded_semaphore(void) {
    sem = cl_async_bounded_semaphore_new(2);
    CHECK(cl_async_semaphore_acquire(sem) == 1);   /* permits free: no task needed */
    CHECK(cl_async_semaphore_value(sem) == 1);
    capture_begin();
    int freed = cl_async_semaphore_free(sem);
    const char *out = capture_end();
    CHECK(freed == 0);
    CHECK(starts_with(out, "cl_async_semaphore_free: "));
    CHECK(cl_async_semaphore_release(sem) == 1);
    capture_begin();
    int released = cl_async_semaphore_release(sem);
    out = capture_end();
    CHECK(released == 0);
    CHECK(starts_with(out, "cl_async_semaphore_release: "));
    CHECK(cl_async_semaphore_value(sem) == 2);
    CHECK(cl_async_semaphore_free(sem) == 1);

    capture_begin();
    cl_async_semaphore *bad = cl_async_semaphore_new(-1);
    out = capture_end();
    CHECK(bad == NULL);
    CHECK(starts_with(out, "cl_async_semaphore_new: "));

    /* An unbounded one may go above its start, as in Python. */
    sem = cl_async_semaphore_new(0);
    CHECK(cl_async_semaphore_release(sem) == 1);
    CHECK(cl_async_semaphore_value(sem) == 1);
    CHECK(cl_async_semaphore_free(sem) == 1);
}

/* ---- Event ---- */

static int woken;

static void *event_waiter(void *arg) {
    long who = (long)arg;
    int got = cl_async_event_wait(event);
    waiter_result[who] = got;
    if (got) woken++;
    return NULL;
}

static void *event_main(void *arg) {
    (void)arg;
    woken = 0;
    for (int i = 0; i < 8; i++) waiter_result[i] = -1;
    cl_future *t[4];
    for (long i = 0; i < 4; i++) t[i] = cl_async_create_task(event_waiter, (void *)i);
    let_others_run();
    CHECK(woken == 0);
    cl_task_cancel(t[3]);                     /* cancelled while waiting */
    let_others_run();
    CHECK(waiter_result[3] == 0);
    double t0 = cl_now();
    CHECK(cl_async_event_wait_timeout(event, 0.1) == 0);
    double took = cl_now() - t0;
    CHECK(took >= 0.05 && took < 2.0);
    cl_async_event_set(event);
    CHECK(cl_async_event_is_set(event) == 1);
    cl_async_event_clear(event);              /* woken waiters still return 1 */
    cl_async_gather(t, 4, 0);
    CHECK(woken == 3);
    for (int i = 0; i < 3; i++) CHECK(waiter_result[i] == 1);
    cl_async_event_set(event);
    CHECK(cl_async_event_wait(event) == 1);   /* already set: no wait */
    CHECK(cl_async_event_wait_timeout(event, 0) == 1);
    for (int i = 0; i < 4; i++) cl_future_free(t[i]);

    /* asyncio.wait_for(event.wait(), 0.05) on a task. */
    cl_async_event_clear(event);
    cl_future *w = cl_async_create_task(event_waiter, (void *)5L);
    CHECK(cl_async_wait_for(w, 0.05, NULL) == CL_FUTURE_TIMEOUT);
    cl_await(w, NULL);
    CHECK(cl_future_cancelled(w) == 1);
    CHECK(waiter_result[5] == 0);
    cl_future_free(w);
    return NULL;
}

static void test_event(void) {
    event = cl_async_event_new();
    CHECK(cl_async_event_is_set(event) == 0);
    CHECK(cl_async_run(event_main, NULL, NULL) == CL_FUTURE_OK);
    CHECK(cl_async_event_free(event) == 1);
}

/* ---- Condition ---- */

static int items;

static int have_items(void *arg) { (void)arg; return items > 0; }

static void *cond_consumer(void *arg) {
    long who = (long)arg;
    int got = 0;
    CL_ASYNC_WITH_CONDITION(cond) {
        got = cl_async_condition_wait_for(cond, have_items, NULL, CL_FOREVER);
        if (got) items--;
        CHECK(cl_async_lock_locked(cl_async_condition_lock(cond)) == 1);
    }
    waiter_result[who] = got;
    if (got) woken++;
    return NULL;
}

static void *condition_main(void *arg) {
    (void)arg;
    woken = 0; items = 0;
    for (int i = 0; i < 8; i++) waiter_result[i] = -1;
    cl_future *t[3];
    for (long i = 0; i < 3; i++) t[i] = cl_async_create_task(cond_consumer, (void *)i);
    let_others_run();
    CL_ASYNC_WITH_CONDITION(cond) {
        items = 1;
        CHECK(cl_async_condition_notify(cond, 1) == 1);
    }
    let_others_run();
    CHECK(woken == 1);
    CL_ASYNC_WITH_CONDITION(cond) {
        items = 2;
        CHECK(cl_async_condition_notify_all(cond) == 2);
    }
    CHECK(cl_async_gather(t, 3, 0) == 0);
    CHECK(woken == 3);
    CHECK(items == 0);
    for (int i = 0; i < 3; i++) cl_future_free(t[i]);

    /* wait_timeout: returns 0 with the lock held again. */
    CL_ASYNC_WITH_CONDITION(cond) {
        double t0 = cl_now();
        CHECK(cl_async_condition_wait_timeout(cond, 0.1) == 0);
        CHECK(cl_now() - t0 >= 0.05);
        CHECK(cl_async_lock_locked(cl_async_condition_lock(cond)) == 1);
        CHECK(cl_async_condition_wait_for(cond, have_items, NULL, 0.05) == 0);
    }
    return NULL;
}

static int notified_count;
static void *cond_plain_waiter(void *arg) {
    long who = (long)arg;
    int got = -1;
    CL_ASYNC_WITH_CONDITION(cond) {
        got = cl_async_condition_wait(cond);
        /* Notified or cancelled, wait() returns with the lock held (Python too). */
        CHECK(cl_async_lock_locked(cl_async_condition_lock(cond)) == 1);
    }
    waiter_result[who] = got;
    if (got == 1) notified_count++;
    return NULL;
}

/* Cancelling a waiter, parked or already notified, never loses a notification. */
static void *condition_cancel_main(void *arg) {
    (void)arg;
    notified_count = 0;
    for (int i = 0; i < 8; i++) waiter_result[i] = -1;
    cl_future *t[3];
    for (long i = 0; i < 3; i++) t[i] = cl_async_create_task(cond_plain_waiter, (void *)i);
    let_others_run();
    cl_task_cancel(t[0]);                         /* parked */
    let_others_run();
    CHECK(waiter_result[0] == 0);
    CL_ASYNC_WITH_CONDITION(cond) {
        CHECK(cl_async_condition_notify(cond, 1) == 1);   /* to waiter 1 ... */
    }
    cl_task_cancel(t[1]);                         /* ... cancelled before it runs */
    let_others_run();
    CHECK(notified_count == 1);                   /* waiter 1 or, passed on, waiter 2 */
    CL_ASYNC_WITH_CONDITION(cond) { cl_async_condition_notify_all(cond); }
    cl_async_gather(t, 3, 0);
    CHECK(cl_async_lock_locked(cl_async_condition_lock(cond)) == 0);
    for (int i = 0; i < 3; i++) cl_future_free(t[i]);
    return NULL;
}

static void test_condition(void) {
    cond = cl_async_condition_new(NULL);
    CHECK(cl_async_run(condition_main, NULL, NULL) == CL_FUTURE_OK);
    CHECK(cl_async_run(condition_cancel_main, NULL, NULL) == CL_FUTURE_OK);

    capture_begin();
    int r = cl_async_condition_notify(cond, 1);
    const char *out = capture_end();
    CHECK(r == 0);
    CHECK(starts_with(out, "cl_async_condition_notify: "));
    capture_begin();
    r = cl_async_condition_wait(cond);
    out = capture_end();
    CHECK(r == 0);
    CHECK(starts_with(out, "cl_async_condition_wait: "));
    CHECK(cl_async_condition_free(cond) == 1);

    /* Bound to a lock of the caller's: the same lock, not freed with the condition. */
    lock = cl_async_lock_new();
    cond = cl_async_condition_new(lock);
    CHECK(cl_async_condition_lock(cond) == lock);
    CHECK(cl_async_condition_acquire(cond) == 1);
    CHECK(cl_async_lock_locked(lock) == 1);
    CHECK(cl_async_condition_release(cond) == 1);
    CHECK(cl_async_condition_free(cond) == 1);
    CHECK(cl_async_lock_free(lock) == 1);
}

/* ---- async with: __aenter__ / __aexit__ that await ---- */

static char trail[64];
static void trail_add(const char *s) { strncat(trail, s, sizeof trail - strlen(trail) - 1); }

static int session_enter(void *ctx) {
    cl_async_sleep(0.01);               /* an enter that awaits, like opening a connection */
    trail_add((const char *)ctx);
    trail_add("+");
    return 1;
}

static void session_exit(void *ctx) {
    cl_async_sleep(0.01);
    trail_add((const char *)ctx);
    trail_add("-");
}

static int refuse_enter(void *ctx) { (void)ctx; trail_add("no"); return 0; }

static void *with_main(void *arg) {
    (void)arg;
    trail[0] = '\0';
    CL_ASYNC_WITH(session_enter, session_exit, "a") {
        trail_add("body");
        break;
        trail_add("never");
    }
    CL_ASYNC_WITH(refuse_enter, session_exit, "b") { trail_add("never"); }
    CL_ASYNC_WITH(session_enter, session_exit, NULL == NULL ? "c" : "d") { trail_add("."); }
    return NULL;
}

static void test_async_with(void) {
    CHECK(cl_async_run(with_main, NULL, NULL) == CL_FUTURE_OK);
    CHECK_STR(trail, "a+bodya-noc+.c-");
}

/* ---- hook ---- */

static int hook_lock_events[8];
static void count_events(const cl_hook_event *e, void *ctx) {
    (void)ctx;
    if (strcmp(e->primitive, "async_lock") == 0 && e->kind < 8) hook_lock_events[e->kind]++;
}

static void test_hook(void) {
    lock = cl_async_lock_new();
    memset(hook_lock_events, 0, sizeof hook_lock_events);
    cl_hook_set(count_events, NULL);
    CHECK(cl_async_run(lock_fifo_main, NULL, NULL) == CL_FUTURE_OK);
    cl_hook_set(NULL, NULL);
    CHECK(hook_lock_events[CL_EVENT_WAIT] == 4);
    CHECK(hook_lock_events[CL_EVENT_ACQUIRE] == 5);
    CHECK(hook_lock_events[CL_EVENT_RELEASE] == 5);
    CHECK(cl_async_lock_free(lock) == 1);
}

int main(void) {
    test_lock_exclusion();
    test_lock_fifo();
    test_lock_cancel();
    test_lock_timeout();
    test_lock_with();
    test_lock_misuse();
    test_semaphore_limit();
    test_semaphore_cancel();
    test_bounded_semaphore();
    test_event();
    test_condition();
    test_async_with();
    test_hook();
    return check_summary("test_runtime_async_sync");
}
