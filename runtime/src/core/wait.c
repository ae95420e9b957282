/* wait.c — deadlines, parking on futex words, lock words and guards; see wait.h. */
#include "wait.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "report.h"

/* Longer than any lab runs (about 31 years): such a timeout is as good as none, and keeps the
 * double-to-time_t conversion defined. */
#define LONGEST_TIMEOUT_SECONDS 1e9

/* ---- deadlines ------------------------------------------------------------------------------ */

struct timespec cl__monotonic_after(double seconds) {
    struct timespec at;
    clock_gettime(CLOCK_MONOTONIC, &at);
    time_t whole = (time_t)seconds;
    long nanos = at.tv_nsec + (long)((seconds - (double)whole) * 1e9);
    at.tv_sec += whole + nanos / 1000000000L;
    at.tv_nsec = nanos % 1000000000L;
    return at;
}

void cl__deadline_forever(cl__deadline *d) {
    d->forever = 1;
    d->at.tv_sec = 0;
    d->at.tv_nsec = 0;
}

int cl__deadline_init(cl__deadline *d, double seconds, const char *call) {
    if (seconds >= LONGEST_TIMEOUT_SECONDS) { /* CL_FOREVER among them */
        cl__deadline_forever(d);
        return 1;
    }
    if (!(seconds >= 0)) { /* also catches NaN */
        cl_report(call, "timeout must be >= 0 seconds (or CL_FOREVER), got %g", seconds);
        return 0;
    }
    d->forever = 0;
    d->at = cl__monotonic_after(seconds);
    return 1;
}

static int earlier(const struct timespec *a, const struct timespec *b) {
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

int cl__deadline_passed(const cl__deadline *d) {
    if (d->forever) return 0;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return !earlier(&now, &d->at);
}

void cl__deadline_within(const cl__deadline *d, double seconds, cl__deadline *out) {
    struct timespec soon = cl__monotonic_after(seconds);
    out->forever = 0;
    out->at = (d->forever || earlier(&soon, &d->at)) ? soon : d->at;
}

/* ---- parking -------------------------------------------------------------------------------- */

int cl__park(uint32_t *word, uint32_t expected, const cl__deadline *d) {
    if (cl__deadline_passed(d)) return -1;
    /* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline, so a retry after an early
     * wake-up waits for the same instant instead of a fresh interval. */
    long r = syscall(SYS_futex, word, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, expected,
                     d->forever ? NULL : &d->at, NULL, FUTEX_BITSET_MATCH_ANY);
    if (r == -1 && errno == ETIMEDOUT) return -1;
    return 0; /* woken, *word != expected (EAGAIN), or a signal (EINTR): callers re-check */
}

void cl__unpark(uint32_t *word, int count) {
    syscall(SYS_futex, word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, count, NULL, NULL, 0);
}

/* ---- lock words ----------------------------------------------------------------------------- */

/* The classic three-state futex mutex: a waiter marks the word CONTENDED before parking, so the
 * release that frees it knows to unpark someone; a waiter that gets the word keeps it CONTENDED,
 * since others may still be parked. A waiter that times out may leave it CONTENDED with nobody
 * parked, which costs the next release one needless wake-up and nothing else. */
int cl__lockword_wait(uint32_t *w, const cl__deadline *d) {
    for (;;) {
        if (__atomic_exchange_n(w, CL__LOCK_CONTENDED, __ATOMIC_ACQUIRE) == CL__LOCK_FREE) return 1;
        if (cl__park(w, CL__LOCK_CONTENDED, d) < 0) {
            /* The deadline passed; one last try, so a release at the very end still counts. */
            return __atomic_exchange_n(w, CL__LOCK_CONTENDED, __ATOMIC_ACQUIRE) == CL__LOCK_FREE;
        }
    }
}

/* ---- guards --------------------------------------------------------------------------------- */

void cl__guard_lock(uint32_t *guard) {
    if (cl__lockword_try(guard)) return;
    cl__deadline forever;
    cl__deadline_forever(&forever);
    cl__blocking_begin();
    cl__lockword_wait(guard, &forever);
    cl__blocking_end();
}

void cl__guard_unlock(uint32_t *guard) {
    cl__lockword_release(guard);
}

int cl__seq_wait(uint32_t *seq, uint32_t *guard, const cl__deadline *d) {
    uint32_t seen = __atomic_load_n(seq, __ATOMIC_RELAXED);
    cl__guard_unlock(guard);
    /* A bump between the unlock and the park changes *seq, so the park returns at once: no
     * wake-up is lost. */
    cl__blocking_begin();
    int r = cl__park(seq, seen, d);
    cl__blocking_end();
    cl__guard_lock(guard);
    return r;
}

void cl__seq_bump(uint32_t *seq) {
    __atomic_add_fetch(seq, 1, __ATOMIC_RELEASE);
    cl__unpark(seq, INT_MAX);
}
