/* conclab/sync.h — synchronization (Python: threading.Lock, RLock, Semaphore, BoundedSemaphore,
 * Event, Condition, Barrier, and the `with` statement).
 * Part of <conclab.h>; see there for the conventions every runtime header keeps.
 *
 * Return values. Python answers True/False and raises on misuse; here a call that can fail
 * returns 1 for True and 0 for False, and a misuse (a NULL or freed handle, releasing what is not
 * held, a negative timeout, ...) prints "cl_<call>: what went wrong" on stderr and returns 0 too,
 * so `if (cl_lock_acquire_timeout(l, 0.5))` never enters a critical section it does not own.
 * The exception is cl_barrier_wait, whose 0 is an arrival index: it returns -1 where Python
 * raises BrokenBarrierError, and on misuse.
 *
 * Timeouts are seconds as a double (fractions allowed; 0 polls). CL_FOREVER, or anything from
 * 1e9 s on, waits without limit (Python: timeout=None); a negative value or NaN is a misuse
 * (Python: ValueError) — Python's Lock.acquire(timeout=-1) is spelled cl_lock_acquire here. Waits
 * are measured on the monotonic clock, so changing the system time does not shorten them.
 *
 * Every wait lets the emulated GIL go while it blocks, and every wait, acquire, release and
 * timeout is reported to the observer of <conclab/hook.h>.
 *
 * Differences from Python, on purpose:
 *   - A Lock acquired twice by the same thread waits forever, as in Python (another thread may
 *     legally release it); after a second of that it prints a hint naming the likely deadlock.
 *   - Condition's own lock (cl_condition_new(NULL)) is a Lock, not an RLock. Its wait and
 *     notify check that the caller is the thread that acquired the lock (Python, for a plain
 *     Lock, only checks that someone holds it); notify returns how many threads it woke.
 *   - A Barrier's action is a C function and cannot fail; it runs on the last thread to arrive,
 *     before the others are let go, and must not call the barrier's functions except
 *     cl_barrier_broken, cl_barrier_n_waiting and cl_barrier_parties.
 *   - The cl_*_free calls refuse (and report) while the object is held or waited on.
 */
#ifndef CONCLAB_SYNC_H
#define CONCLAB_SYNC_H

#include <stddef.h> /* NULL: several calls take it for "none" */

#ifdef __cplusplus
extern "C" {
#endif

#include <conclab/clock.h> /* CL_FOREVER */

/* A lock that any thread may release (Python: threading.Lock); opaque, freed by cl_lock_free. */
typedef struct cl_lock cl_lock;

/* A re-entrant lock, owned by the thread that acquired it (Python: threading.RLock). */
typedef struct cl_rlock cl_rlock;

/* A counter of permits (Python: threading.Semaphore and threading.BoundedSemaphore). */
typedef struct cl_semaphore cl_semaphore;

/* A flag threads can wait for (Python: threading.Event). */
typedef struct cl_event cl_event;

/* A condition variable bound to a cl_lock (Python: threading.Condition). */
typedef struct cl_condition cl_condition;

/* A meeting point for a fixed number of threads (Python: threading.Barrier). */
typedef struct cl_barrier cl_barrier;

/* ---- Lock (Python: threading.Lock) ---------------------------------------------------------- */

/* Creates an unlocked lock; free it with cl_lock_free (NULL on error). */
cl_lock *cl_lock_new(void);

/* Blocks until the lock is acquired; returns 1 (0 only on misuse, such as a NULL lock). */
int cl_lock_acquire(cl_lock *l);

/* Acquires the lock only if it is free right now (acquire(blocking=False)); returns 1 if it did. */
int cl_lock_try_acquire(cl_lock *l);

/* Waits at most seconds for the lock (acquire(timeout=s)); returns 1 if acquired, 0 if not. */
int cl_lock_acquire_timeout(cl_lock *l, double seconds);

/* Releases the lock; any thread may, as in Python. Returns 1, or 0 if it was not locked. */
int cl_lock_release(cl_lock *l);

/* Returns 1 if the lock is held by some thread right now, else 0 (Python: locked()). */
int cl_lock_locked(cl_lock *l);

/* Frees the lock; refuses (returns 0 and reports) while it is held. NULL is ignored. */
int cl_lock_free(cl_lock *l);

/* ---- RLock (Python: threading.RLock) -------------------------------------------------------- */

/* Creates a re-entrant lock; free it with cl_rlock_free (NULL on error). */
cl_rlock *cl_rlock_new(void);

/* Blocks until the calling thread owns the lock, or counts one more level if it already does. */
int cl_rlock_acquire(cl_rlock *r);

/* Acquires or re-enters the lock only if that needs no waiting; returns 1 if it did. */
int cl_rlock_try_acquire(cl_rlock *r);

/* Waits at most seconds to own the lock; returns 1 if acquired, 0 if not. */
int cl_rlock_acquire_timeout(cl_rlock *r, double seconds);

/* Leaves one level; the last release frees the lock. Only the owner may release (else 0). */
int cl_rlock_release(cl_rlock *r);

/* Frees the lock; refuses (returns 0 and reports) while some thread owns it. NULL is ignored. */
int cl_rlock_free(cl_rlock *r);

/* ---- Semaphore and BoundedSemaphore (Python: threading.Semaphore, BoundedSemaphore) --------- */

/* Creates a semaphore holding value permits (value >= 0); NULL on error. */
cl_semaphore *cl_semaphore_new(int value);

/* Creates a semaphore that refuses to be released above its initial value (BoundedSemaphore). */
cl_semaphore *cl_bounded_semaphore_new(int value);

/* Blocks until a permit is free and takes it; returns 1 (0 only on misuse). */
int cl_semaphore_acquire(cl_semaphore *s);

/* Takes a permit only if one is free right now; returns 1 if it did. */
int cl_semaphore_try_acquire(cl_semaphore *s);

/* Waits at most seconds for a permit; returns 1 if it took one, 0 if not. */
int cl_semaphore_acquire_timeout(cl_semaphore *s, double seconds);

/* Gives back one permit, waking a waiter; 0 and an error if a bounded one would overflow. */
int cl_semaphore_release(cl_semaphore *s);

/* Gives back n permits at once (Python: release(n)); 0 and an error on misuse. */
int cl_semaphore_release_n(cl_semaphore *s, int n);

/* Returns the number of free permits right now (Python: the private _value). */
int cl_semaphore_value(cl_semaphore *s);

/* Frees the semaphore; refuses while threads wait on it or a bounded one is not fully released. */
int cl_semaphore_free(cl_semaphore *s);

/* ---- Event (Python: threading.Event) -------------------------------------------------------- */

/* Creates an event whose flag is clear; NULL on error. */
cl_event *cl_event_new(void);

/* Sets the flag and wakes every thread waiting for it. */
void cl_event_set(cl_event *e);

/* Clears the flag; later waits block until it is set again. */
void cl_event_clear(cl_event *e);

/* Returns 1 if the flag is set, else 0. */
int cl_event_is_set(cl_event *e);

/* Blocks until the flag is set; returns 1 (0 only on misuse). */
int cl_event_wait(cl_event *e);

/* Waits at most seconds for the flag; returns 1 if it was set, 0 on timeout. */
int cl_event_wait_timeout(cl_event *e, double seconds);

/* Frees the event; refuses (returns 0 and reports) while threads wait on it. NULL is ignored. */
int cl_event_free(cl_event *e);

/* ---- Condition (Python: threading.Condition) ------------------------------------------------ */

/* A predicate for cl_condition_wait_for: returns non-zero when the awaited state holds. */
typedef int (*cl_predicate)(void *arg);

/* Creates a condition bound to lock, or to a new lock of its own if lock is NULL. */
cl_condition *cl_condition_new(cl_lock *lock);

/* Acquires the condition's lock (Python: `with cond:` or cond.acquire()). */
int cl_condition_acquire(cl_condition *c);

/* Releases the condition's lock. */
int cl_condition_release(cl_condition *c);

/* Returns the lock the condition is bound to. */
cl_lock *cl_condition_lock(cl_condition *c);

/* Releases the lock, waits for a notify, retakes the lock; the caller must hold the lock. */
int cl_condition_wait(cl_condition *c);

/* Like cl_condition_wait for at most seconds; returns 1 if notified, 0 on timeout. */
int cl_condition_wait_timeout(cl_condition *c, double seconds);

/* Waits until pred(arg) is non-zero or the timeout (or CL_FOREVER) passes; returns pred's last value. */
int cl_condition_wait_for(cl_condition *c, cl_predicate pred, void *arg, double seconds);

/* Wakes up to n threads waiting on the condition; the caller must hold the lock. Returns how many. */
int cl_condition_notify(cl_condition *c, int n);

/* Wakes every thread waiting on the condition; the caller must hold the lock. Returns how many. */
int cl_condition_notify_all(cl_condition *c);

/* Frees the condition (and its own lock); refuses while threads wait on it. NULL is ignored. */
int cl_condition_free(cl_condition *c);

/* ---- Barrier (Python: threading.Barrier) ---------------------------------------------------- */

/* Creates a barrier for parties threads; action(arg) (may be NULL) runs once per passing; timeout is the default wait (or CL_FOREVER). */
cl_barrier *cl_barrier_new(int parties, void (*action)(void *), void *arg, double timeout);

/* Waits until all parties have arrived; returns this thread's arrival index 0..parties-1, or -1 if broken. */
int cl_barrier_wait(cl_barrier *b);

/* Like cl_barrier_wait with its own timeout; a timeout breaks the barrier for everyone (-1). */
int cl_barrier_wait_timeout(cl_barrier *b, double seconds);

/* Breaks the barrier: current and future waits return -1 until cl_barrier_reset. */
void cl_barrier_abort(cl_barrier *b);

/* Returns the barrier to its empty state; threads waiting on it now return -1. */
void cl_barrier_reset(cl_barrier *b);

/* Returns 1 if the barrier is broken, else 0. */
int cl_barrier_broken(cl_barrier *b);

/* Returns how many threads are waiting at the barrier right now. */
int cl_barrier_n_waiting(cl_barrier *b);

/* Returns the number of threads the barrier was created for. */
int cl_barrier_parties(cl_barrier *b);

/* Frees the barrier; refuses (returns 0 and reports) while threads wait on it. NULL is ignored. */
int cl_barrier_free(cl_barrier *b);

/* ---- scoped acquisition: Python's `with lock:` ----------------------------------------------
 *
 *     CL_WITH_LOCK(l) {            // acquires l
 *         counter++;
 *         if (done) break;         // leaves the block: l is released
 *     }                            // falls off the end: l is released
 *
 * The block runs once with the lock held, and the lock is released on every way out that C's
 * loop rules allow: falling off the end, `break` and `continue`. Two things differ from Python,
 * because the macro is built from for-loops (the only scoped construct tcc, which compiles
 * notebook cells, offers):
 *   - `break` and `continue` leave the CL_WITH block itself, not a loop around it: to leave an
 *     enclosing loop too, set a flag, break, and test the flag after the block;
 *   - `return`, `goto` out of the block and longjmp do NOT release: C cannot run code when a
 *     function returns (gcc's cleanup attribute could, tcc has none). Save the result, break,
 *     and return after the block.
 * If the acquire fails (a NULL handle), the error is reported and the block is skipped, as an
 * exception would skip Python's `with` body. The handle expression is evaluated once. */

/* Runs the block that follows with lock l held; break leaves it, return does not release. */
#define CL_WITH_LOCK(l) \
    for (cl_lock *cl_with_lock_ = (l), *cl_with_held_ = cl_lock_acquire(cl_with_lock_) ? cl_with_lock_ : 0; \
         cl_with_held_; cl_lock_release(cl_with_lock_), cl_with_held_ = 0) \
        for (; cl_with_held_; cl_with_held_ = 0)

/* Runs the block that follows with rlock r held; break leaves it, return does not release. */
#define CL_WITH_RLOCK(r) \
    for (cl_rlock *cl_with_rlock_ = (r), *cl_with_held_ = cl_rlock_acquire(cl_with_rlock_) ? cl_with_rlock_ : 0; \
         cl_with_held_; cl_rlock_release(cl_with_rlock_), cl_with_held_ = 0) \
        for (; cl_with_held_; cl_with_held_ = 0)

/* Runs the block that follows holding a permit of semaphore s; break leaves it, return does not release. */
#define CL_WITH_SEMAPHORE(s) \
    for (cl_semaphore *cl_with_sem_ = (s), *cl_with_held_ = cl_semaphore_acquire(cl_with_sem_) ? cl_with_sem_ : 0; \
         cl_with_held_; cl_semaphore_release(cl_with_sem_), cl_with_held_ = 0) \
        for (; cl_with_held_; cl_with_held_ = 0)

/* Runs the block that follows holding condition c's lock; break leaves it, return does not release. */
#define CL_WITH_CONDITION(c) \
    for (cl_condition *cl_with_cond_ = (c), *cl_with_held_ = cl_condition_acquire(cl_with_cond_) ? cl_with_cond_ : 0; \
         cl_with_held_; cl_condition_release(cl_with_cond_), cl_with_held_ = 0) \
        for (; cl_with_held_; cl_with_held_ = 0)

#ifdef __cplusplus
}
#endif

#endif
