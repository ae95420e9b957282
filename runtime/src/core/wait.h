/* wait.h — how the runtime's primitives wait. Internal.
 *
 * Every primitive keeps its state in 32-bit words changed with atomics; a thread that must wait
 * parks on one of those words (a Linux futex) and whoever changes it unparks the waiters. This
 * gives Python's semantics directly — a lock that any thread may release, semaphores, events —
 * without a pthread mutex underneath, and keeps the uncontended paths to one atomic instruction.
 *
 * Deadlines are absolute CLOCK_MONOTONIC instants, so a wait woken early (a spurious wake-up, a
 * signal, a lost race) just parks again until the same instant.
 */
#ifndef CONCLAB_RUNTIME_WAIT_H
#define CONCLAB_RUNTIME_WAIT_H

#include <stdint.h>
#include <time.h>

#include "observe.h"

/* ---- deadlines ------------------------------------------------------------------------------ */

/* When a wait gives up: never, or at a CLOCK_MONOTONIC instant. */
typedef struct cl__deadline {
    int forever;
    struct timespec at;
} cl__deadline;

/* Sets d from a timeout in seconds as the public API takes it: CL_FOREVER, or anything from 1e9 s
 * on, means no limit; a negative value or NaN is a misuse, reported as "call: ..." — then it
 * returns 0 and the caller returns its error value. Returns 1 when valid. */
CL_INTERNAL int cl__deadline_init(cl__deadline *d, double seconds, const char *call);

/* The monotonic clock `seconds` (finite, below the longest timeout) from now. */
CL_INTERNAL struct timespec cl__monotonic_after(double seconds);

/* A deadline that never passes. */
CL_INTERNAL void cl__deadline_forever(cl__deadline *d);

/* 1 once the deadline has passed. */
CL_INTERNAL int cl__deadline_passed(const cl__deadline *d);

/* The earlier of d and `seconds` from now, in *out. */
CL_INTERNAL void cl__deadline_within(const cl__deadline *d, double seconds, cl__deadline *out);

/* ---- parking -------------------------------------------------------------------------------- */

/* Sleeps while *word == expected, until unparked or the deadline passes. Returns 0 when woken
 * (or when *word already differed), -1 when the deadline passed. Wake-ups may be spurious:
 * callers re-check their condition in a loop. Does not touch the GIL: callers bracket their
 * whole wait with cl__blocking_begin/end. */
CL_INTERNAL int cl__park(uint32_t *word, uint32_t expected, const cl__deadline *d);

/* Wakes up to count threads parked on word (INT32_MAX: all of them). */
CL_INTERNAL void cl__unpark(uint32_t *word, int count);

/* ---- lock words: a mutex in 32 bits that any thread may release ----------------------------- */

enum {
    CL__LOCK_FREE = 0,
    CL__LOCK_HELD = 1,      /* held, nobody parked */
    CL__LOCK_CONTENDED = 2  /* held, and someone may be parked: release must unpark */
};

/* Takes the word if it is free; 1 on success. The whole uncontended acquire. */
static inline int cl__lockword_try(uint32_t *w) {
    uint32_t expected = CL__LOCK_FREE;
    return __atomic_compare_exchange_n(w, &expected, CL__LOCK_HELD, 0, __ATOMIC_ACQUIRE,
                                       __ATOMIC_RELAXED);
}

/* The contended acquire: parks until the word is taken (1) or the deadline passes (0). Neither
 * observes nor touches the GIL: the primitive calling it does both. */
CL_INTERNAL int cl__lockword_wait(uint32_t *w, const cl__deadline *d);

/* Frees the word and wakes one parked thread if there may be one. Returns what the word held
 * before, so CL__LOCK_FREE means it was not held at all (the caller reports that misuse). */
static inline uint32_t cl__lockword_release(uint32_t *w) {
    uint32_t was = __atomic_exchange_n(w, CL__LOCK_FREE, __ATOMIC_RELEASE);
    if (was == CL__LOCK_CONTENDED) cl__unpark(w, 1);
    return was;
}

/* 1 while the word is held by anyone. */
static inline int cl__lockword_held(uint32_t *w) {
    return __atomic_load_n(w, __ATOMIC_RELAXED) != CL__LOCK_FREE;
}

/* ---- guards: the runtime's own short critical sections -------------------------------------- */

/* A lock word used to protect a primitive's bookkeeping. Unobserved (it is not the user's), but
 * a contended guard lets the emulated GIL go while it waits: a thread that waits for anything,
 * even briefly, must never hold the GIL, or a GIL holder and a guard holder could wait for each
 * other. */
CL_INTERNAL void cl__guard_lock(uint32_t *guard);
CL_INTERNAL void cl__guard_unlock(uint32_t *guard);

/* Waits for *seq to move on from the value seen under the guard, like a condition variable:
 * drops the guard, parks (GIL released) until cl__seq_bump or the deadline, retakes the guard.
 * Returns 0 when woken, -1 when the deadline passed. */
CL_INTERNAL int cl__seq_wait(uint32_t *seq, uint32_t *guard, const cl__deadline *d);

/* Moves *seq on and wakes everyone in cl__seq_wait on it. Called with the guard held. */
CL_INTERNAL void cl__seq_bump(uint32_t *seq);

#endif
