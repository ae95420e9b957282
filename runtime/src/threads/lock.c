/* lock.c — cl_lock, Python's threading.Lock: not owned, so any thread may release it, and a
 * thread that acquires it twice waits (for another thread to release it, or forever).
 *
 * The lock is a lock word (wait.h): acquiring a free lock is one compare-and-swap, releasing
 * one exchange, as with a pthread mutex. A pthread mutex cannot be used itself: unlocking one
 * from another thread is undefined behaviour.
 *
 * The thread that last acquired the lock is remembered, though it does not own it: to tell a
 * student who acquires it again that they are probably deadlocked, and so that a condition can
 * check that its caller holds the lock.
 *
 * While the process has only one thread, no other thread can see the word, so it is read and
 * written without atomic instructions, as glibc does for its mutexes then (an uncontended pair
 * costs a third as much on an AMD EPYC). glibc's flag turns false before a second thread exists,
 * and pthread_create orders everything before it, so the word is never accessed both ways at once.
 * A cl_lock is private to its process (cl_shared_lock is the one processes share). */
#include "conclab.h"
#include "call_site.h"
#include "hook_internal.h"
#include "lock_internal.h"
#include "observe.h"
#include "report.h"
#include "trace_internal.h"
#include "thread_internal.h"
#include "wait.h"
#include "waits_internal.h"

#include <stdlib.h>
#include <sys/single_threaded.h>

#define LOCK_MAGIC 0x4c4f434bu /* "LOCK": a cheap guard against freed or foreign pointers */

/* How long a thread waits for a lock it acquired itself before it is told. */
#define SELF_DEADLOCK_HINT_SECONDS 1.0

struct cl_lock {
    uint32_t magic;
    uint32_t word;
    long acquirer; /* cl__self_id() of the last acquirer, 0 after a release; atomics only */
};

/* cl__lockword_try, without atomics while nobody else can look. */
static inline int try_word(uint32_t *w) {
    if (!__libc_single_threaded) return cl__lockword_try(w);
    if (*w != CL__LOCK_FREE) return 0;
    *w = CL__LOCK_HELD;
    return 1;
}

/* cl__lockword_release, likewise (a lone thread has no waiter to wake). */
static inline uint32_t release_word(uint32_t *w) {
    if (!__libc_single_threaded) return cl__lockword_release(w);
    uint32_t was = *w;
    *w = CL__LOCK_FREE;
    return was;
}

/* Reports why l cannot be used; out of line, so the checks of the fast paths stay small. */
__attribute__((noinline, cold)) static int invalid(cl_lock *l, const char *call) {
    if (!l) cl_report(call, "lock is NULL");
    else cl_report(call, "not a lock (freed already, or another kind of handle?)");
    return 0;
}

/* 1 if l can be used; else reports why not. */
static inline int valid(cl_lock *l, const char *call) {
    if (__builtin_expect(l && l->magic == LOCK_MAGIC, 1)) return 1;
    return invalid(l, call);
}

static inline __attribute__((always_inline)) void got_it(cl_lock *l) {
    __atomic_store_n(&l->acquirer, cl__self_id(), __ATOMIC_RELAXED);
    if (cl__hook_active()) cl__observe(CL_EVENT_ACQUIRE, "lock", l);
}

static int acquired_by_caller(cl_lock *l) {
    return cl__lockword_held(&l->word) &&
           __atomic_load_n(&l->acquirer, __ATOMIC_RELAXED) == cl__self_id();
}

/* Waits for the word; if the caller is itself the last acquirer, it is told after a while that it
 * may be waiting for itself. Python just hangs there; the wait goes on here too, because another
 * thread may legally release the lock. */
static int wait_for_word(cl_lock *l, const cl__deadline *d, const char *call) {
    if (acquired_by_caller(l)) {
        cl__deadline soon;
        cl__deadline_within(d, SELF_DEADLOCK_HINT_SECONDS, &soon);
        if (cl__lockword_wait(&l->word, &soon)) return 1;
        if (cl__deadline_passed(d)) return 0;
        if (acquired_by_caller(l))
            cl_report(call, "this thread acquired the lock and is waiting to acquire it again: "
                            "a deadlock, unless another thread releases it (cl_rlock allows "
                            "re-entry)");
    }
    return cl__lockword_wait(&l->word, d);
}

static int acquire_until(cl_lock *l, const cl__deadline *d, const char *call) {
    if (try_word(&l->word)) {
        got_it(l);
        return 1;
    }
    cl__observe(CL_EVENT_WAIT, "lock", l);
    cl__blocking_begin();
    int got = wait_for_word(l, d, call);
    cl__blocking_end();
    if (!got) {
        cl__observe(CL_EVENT_TIMEOUT, "lock", l);
        return 0;
    }
    got_it(l);
    return 1;
}

long cl__lock_holder(const void *lock) {
    const cl_lock *l = lock;
    return cl__lockword_held((uint32_t *)&l->word) ? __atomic_load_n(&l->acquirer, __ATOMIC_RELAXED) : 0;
}

cl_lock *cl_lock_new(void) {
    cl_lock *l = calloc(1, sizeof *l);
    if (!l) {
        cl_report("cl_lock_new", "out of memory");
        return NULL;
    }
    l->magic = LOCK_MAGIC;
    return l;
}

/* The wait of cl_lock_acquire: out of line, so the uncontended path sets up no frame. */
__attribute__((noinline)) static int acquire_waiting(cl_lock *l) {
    cl__deadline forever;
    cl__deadline_forever(&forever);
    return acquire_until(l, &forever, "cl_lock_acquire");
}

int cl_lock_acquire(cl_lock *l) {
    CL__NOTE_CALL_SITE();
    if (!valid(l, "cl_lock_acquire")) return 0;
    if (try_word(&l->word)) { /* the common case first, with nothing else to set up */
        got_it(l);
        return 1;
    }
    return acquire_waiting(l);
}

int cl_lock_try_acquire(cl_lock *l) {
    CL__NOTE_CALL_SITE();
    if (!valid(l, "cl_lock_try_acquire")) return 0;
    if (!try_word(&l->word)) return 0;
    got_it(l);
    return 1;
}

int cl_lock_acquire_timeout(cl_lock *l, double seconds) {
    CL__NOTE_CALL_SITE();
    const char *call = "cl_lock_acquire_timeout";
    cl__deadline d;
    if (!valid(l, call) || !cl__deadline_init(&d, seconds, call)) return 0;
    return acquire_until(l, &d, call);
}

int cl_lock_release(cl_lock *l) {
    const char *call = "cl_lock_release";
    if (!valid(l, call)) return 0;
    if (cl__hook_active()) {
        /* Reported before the word is freed, so a timeline never shows the next acquire
         * first; and not reported at all for a lock that is not held. */
        if (!cl__lockword_held(&l->word)) {
            cl_report(call, "release unlocked lock");
            return 0;
        }
        cl__observe(CL_EVENT_RELEASE, "lock", l);
    }
    __atomic_store_n(&l->acquirer, 0, __ATOMIC_RELAXED);
    if (release_word(&l->word) == CL__LOCK_FREE) {
        cl_report(call, "release unlocked lock");
        return 0;
    }
    return 1;
}

int cl_lock_locked(cl_lock *l) {
    if (!valid(l, "cl_lock_locked")) return 0;
    return cl__lockword_held(&l->word);
}

int cl_lock_free(cl_lock *l) {
    if (!l) return 1; /* like free(NULL) */
    if (!valid(l, "cl_lock_free")) return 0;
    if (cl__lockword_held(&l->word)) {
        /* Freeing it anyway would leave its holder with a dangling lock: keep it instead. */
        cl_report("cl_lock_free", "the lock is held; release it first");
        return 0;
    }
    l->magic = 0;
    cl__name_forget(l); /* its address may come back as another object */
    free(l);
    return 1;
}

/* ---- for cl_condition ------------------------------------------------------------------------ */

int cl__lock_valid(cl_lock *l, const char *call) {
    return valid(l, call);
}

int cl__lock_held_by_caller(cl_lock *l) {
    return acquired_by_caller(l);
}
