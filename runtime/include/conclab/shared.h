/* conclab/shared.h — memory and synchronization shared between processes (Python:
 * multiprocessing.Value, Array, Lock, Semaphore, BoundedSemaphore, Event).
 * Part of <conclab.h>; see there for the conventions every runtime header keeps.
 *
 * Create these objects BEFORE starting the processes that use them: each lives in one shared
 * memory mapping, which a forked child inherits at the same address, so the same pointer works
 * in the parent and in every child (no names, no pickling). cl_*_free unmaps it in the calling
 * process only; the others keep their view until they free it or end. A handle freed in this
 * process is reported when used again ("freed already"), never a crash.
 *
 * Return values, timeouts and `with` macros follow <conclab/sync.h>: 1 for True, 0 for False
 * and for misuse (reported on stderr as "cl_<call>: ..."); timeouts in seconds, 0 polls,
 * CL_FOREVER waits without limit, negative or NaN is a misuse. Every wait lets the emulated GIL
 * go and is reported to the observer of <conclab/hook.h>.
 *
 * A process that dies holding a shared lock (or a Value's or Array's lock) does not deadlock the
 * others: the lock is robust, the next acquirer gets it and a line on stderr says so ("... a
 * process died while holding ..."), because the data it protects may be half updated.
 *
 * Differences from Python, on purpose:
 *   - cl_shared_lock is owned, like a pthread mutex: only the thread that acquired it may
 *     release it (Python's multiprocessing.Lock lets anyone), and acquiring it twice from the
 *     same thread is reported and fails instead of hanging. That ownership is what lets the
 *     runtime recover it when its owner dies.
 *   - A Value's or Array's own lock is re-entrant, as Python's default RLock: inside
 *     CL_WITH_VALUE(v) the cl_value_get_* / cl_value_set_* calls may be used freely.
 *   - cl_value_get_long and cl_value_set_long each take the lock once, so
 *     `cl_value_set_long(v, cl_value_get_long(v) + 1)` is NOT atomic: another process may update
 *     in between, exactly as with Python's `v.value += 1`. Hold the lock around the whole update:
 *     CL_WITH_VALUE(v) { cl_value_set_long(v, cl_value_get_long(v) + 1); }
 *   - A semaphore permit or an event is not given back when a process dies: only locks are.
 *   - Values and Arrays remember their element size, not their C type: the typed calls report
 *     a size mismatch (a 4-byte element read as a long), but cannot tell a long from a double.
 */
#ifndef CONCLAB_SHARED_H
#define CONCLAB_SHARED_H

#include <stddef.h> /* size_t, NULL */

#ifdef __cplusplus
extern "C" {
#endif

#include <conclab/clock.h> /* CL_FOREVER */

/* A block of bytes in shared memory, with an optional lock (Python: multiprocessing.Value). */
typedef struct cl_value cl_value;

/* An array of fixed-size elements in shared memory, with an optional lock (multiprocessing.Array). */
typedef struct cl_array cl_array;

/* A lock shared between processes, owned by its acquirer (Python: multiprocessing.Lock). */
typedef struct cl_shared_lock cl_shared_lock;

/* A counter of permits shared between processes (multiprocessing.Semaphore, BoundedSemaphore). */
typedef struct cl_shared_semaphore cl_shared_semaphore;

/* A flag processes can wait for (Python: multiprocessing.Event). */
typedef struct cl_shared_event cl_shared_event;

/* ---- Value (Python: multiprocessing.Value) -------------------------------------------------- */

/* Creates size zeroed bytes in shared memory, with a process-shared lock if with_lock; NULL on error. */
cl_value *cl_value_new(size_t size, int with_lock);

/* Creates a shared long holding initial (Value('l', initial, lock=with_lock)); NULL on error. */
cl_value *cl_value_new_long(long initial, int with_lock);

/* Creates a shared double holding initial (Value('d', initial, lock=with_lock)); NULL on error. */
cl_value *cl_value_new_double(double initial, int with_lock);

/* Returns the address of the value's bytes, the same in every process (NULL on misuse). */
void *cl_value_ptr(cl_value *v);

/* Returns the size of the value in bytes (0 on misuse). */
size_t cl_value_size(cl_value *v);

/* Reads a long value, under its lock if it has one (0 on misuse). */
long cl_value_get_long(cl_value *v);

/* Writes a long value, under its lock if it has one; returns 1, 0 on misuse. */
int cl_value_set_long(cl_value *v, long x);

/* Reads a double value, under its lock if it has one (0 on misuse). */
double cl_value_get_double(cl_value *v);

/* Writes a double value, under its lock if it has one; returns 1, 0 on misuse. */
int cl_value_set_double(cl_value *v, double x);

/* Acquires the value's lock (get_lock().acquire()), re-entrant; returns 1, 0 on misuse or without a lock. */
int cl_value_lock(cl_value *v);

/* Releases one level of the value's lock; only its holder may. Returns 1, 0 on misuse. */
int cl_value_unlock(cl_value *v);

/* Unmaps the value in this process (other processes keep theirs); returns 1, 0 while this thread holds its lock. NULL is ignored. */
int cl_value_free(cl_value *v);

/* ---- Array (Python: multiprocessing.Array) -------------------------------------------------- */

/* Creates length zeroed elements of elem_size bytes in shared memory, locked if with_lock; NULL on error. */
cl_array *cl_array_new(size_t elem_size, size_t length, int with_lock);

/* Creates length zeroed longs in shared memory (Array('l', length, lock=with_lock)); NULL on error. */
cl_array *cl_array_new_long(size_t length, int with_lock);

/* Creates length zeroed doubles in shared memory (Array('d', length, lock=with_lock)); NULL on error. */
cl_array *cl_array_new_double(size_t length, int with_lock);

/* Returns the address of element 0, the same in every process (NULL on misuse). */
void *cl_array_ptr(cl_array *a);

/* Returns the number of elements (0 on misuse). */
size_t cl_array_length(cl_array *a);

/* Returns the size of one element in bytes (0 on misuse). */
size_t cl_array_elem_size(cl_array *a);

/* Reads element i of a long array, under its lock if it has one (0 on misuse or out of range). */
long cl_array_get_long(cl_array *a, size_t i);

/* Writes element i of a long array, under its lock if it has one; returns 1, 0 on misuse or out of range. */
int cl_array_set_long(cl_array *a, size_t i, long x);

/* Reads element i of a double array, under its lock if it has one (0 on misuse or out of range). */
double cl_array_get_double(cl_array *a, size_t i);

/* Writes element i of a double array, under its lock if it has one; returns 1, 0 on misuse or out of range. */
int cl_array_set_double(cl_array *a, size_t i, double x);

/* Acquires the array's lock (get_lock().acquire()), re-entrant; returns 1, 0 on misuse or without a lock. */
int cl_array_lock(cl_array *a);

/* Releases one level of the array's lock; only its holder may. Returns 1, 0 on misuse. */
int cl_array_unlock(cl_array *a);

/* Unmaps the array in this process (other processes keep theirs); returns 1, 0 while this thread holds its lock. NULL is ignored. */
int cl_array_free(cl_array *a);

/* ---- Lock (Python: multiprocessing.Lock) ---------------------------------------------------- */

/* Creates an unlocked lock shared with processes forked afterwards; NULL on error. */
cl_shared_lock *cl_shared_lock_new(void);

/* Blocks until the lock is acquired; returns 1 (also after recovering it from a dead owner, reported), 0 on misuse. */
int cl_shared_lock_acquire(cl_shared_lock *l);

/* Acquires the lock only if it is free right now; returns 1 if it did. */
int cl_shared_lock_try_acquire(cl_shared_lock *l);

/* Waits at most seconds for the lock; returns 1 if acquired, 0 if not. */
int cl_shared_lock_acquire_timeout(cl_shared_lock *l, double seconds);

/* Releases the lock; only the thread that acquired it may. Returns 1, or 0 (reported) otherwise. */
int cl_shared_lock_release(cl_shared_lock *l);

/* Returns 1 if some thread of some process holds the lock right now (or died holding it), else 0. */
int cl_shared_lock_locked(cl_shared_lock *l);

/* Unmaps the lock in this process; refuses (returns 0) while this thread holds it. NULL is ignored. */
int cl_shared_lock_free(cl_shared_lock *l);

/* ---- Semaphore and BoundedSemaphore (Python: multiprocessing.Semaphore, BoundedSemaphore) --- */

/* Creates a semaphore holding value permits (value >= 0), shared with processes forked afterwards; NULL on error. */
cl_shared_semaphore *cl_shared_semaphore_new(int value);

/* Creates a semaphore that refuses to be released above its initial value; NULL on error. */
cl_shared_semaphore *cl_shared_bounded_semaphore_new(int value);

/* Blocks until a permit is free and takes it; returns 1 (0 only on misuse). */
int cl_shared_semaphore_acquire(cl_shared_semaphore *s);

/* Takes a permit only if one is free right now; returns 1 if it did. */
int cl_shared_semaphore_try_acquire(cl_shared_semaphore *s);

/* Waits at most seconds for a permit; returns 1 if it took one, 0 if not. */
int cl_shared_semaphore_acquire_timeout(cl_shared_semaphore *s, double seconds);

/* Gives back one permit, waking a waiter in any process; 0 and an error if a bounded one would overflow. */
int cl_shared_semaphore_release(cl_shared_semaphore *s);

/* Returns the number of free permits right now (Python: get_value()); -1 on misuse. */
int cl_shared_semaphore_value(cl_shared_semaphore *s);

/* Unmaps the semaphore in this process; returns 1 (0 on misuse). NULL is ignored. */
int cl_shared_semaphore_free(cl_shared_semaphore *s);

/* ---- Event (Python: multiprocessing.Event) -------------------------------------------------- */

/* Creates an event whose flag is clear, shared with processes forked afterwards; NULL on error. */
cl_shared_event *cl_shared_event_new(void);

/* Sets the flag and wakes every waiter in every process; returns 1, 0 on misuse. */
int cl_shared_event_set(cl_shared_event *e);

/* Clears the flag; later waits block until it is set again. Returns 1, 0 on misuse. */
int cl_shared_event_clear(cl_shared_event *e);

/* Returns 1 if the flag is set, else 0. */
int cl_shared_event_is_set(cl_shared_event *e);

/* Blocks until the flag is set; returns 1 (0 only on misuse). */
int cl_shared_event_wait(cl_shared_event *e);

/* Waits at most seconds for the flag; returns 1 if it was set, 0 on timeout. */
int cl_shared_event_wait_timeout(cl_shared_event *e, double seconds);

/* Unmaps the event in this process; returns 1 (0 on misuse). NULL is ignored. */
int cl_shared_event_free(cl_shared_event *e);

/* ---- scoped acquisition: Python's `with v.get_lock():` and `with lock:` ---------------------
 * Built like CL_WITH_LOCK in <conclab/sync.h>, with the same rules: `break` leaves the block and
 * releases; `return` and `goto` out of it do NOT release. */

/* Runs the block that follows holding value v's lock; break leaves it, return does not release. */
#define CL_WITH_VALUE(v) \
    for (cl_value *cl_with_value_ = (v), *cl_with_held_ = cl_value_lock(cl_with_value_) ? cl_with_value_ : 0; \
         cl_with_held_; cl_value_unlock(cl_with_value_), cl_with_held_ = 0) \
        for (; cl_with_held_; cl_with_held_ = 0)

/* Runs the block that follows holding array a's lock; break leaves it, return does not release. */
#define CL_WITH_ARRAY(a) \
    for (cl_array *cl_with_array_ = (a), *cl_with_held_ = cl_array_lock(cl_with_array_) ? cl_with_array_ : 0; \
         cl_with_held_; cl_array_unlock(cl_with_array_), cl_with_held_ = 0) \
        for (; cl_with_held_; cl_with_held_ = 0)

/* Runs the block that follows holding shared lock l; break leaves it, return does not release. */
#define CL_WITH_SHARED_LOCK(l) \
    for (cl_shared_lock *cl_with_slock_ = (l), *cl_with_held_ = cl_shared_lock_acquire(cl_with_slock_) ? cl_with_slock_ : 0; \
         cl_with_held_; cl_shared_lock_release(cl_with_slock_), cl_with_held_ = 0) \
        for (; cl_with_held_; cl_with_held_ = 0)

/* Runs the block that follows holding a permit of shared semaphore s; break leaves it, return does not release. */
#define CL_WITH_SHARED_SEMAPHORE(s) \
    for (cl_shared_semaphore *cl_with_ssem_ = (s), *cl_with_held_ = cl_shared_semaphore_acquire(cl_with_ssem_) ? cl_with_ssem_ : 0; \
         cl_with_held_; cl_shared_semaphore_release(cl_with_ssem_), cl_with_held_ = 0) \
        for (; cl_with_held_; cl_with_held_ = 0)

#ifdef __cplusplus
}
#endif

#endif
