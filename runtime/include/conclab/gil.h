/* conclab/gil.h — an emulated Global Interpreter Lock (Python: the GIL of CPython, and
 * sys.setswitchinterval / sys.getswitchinterval).
 *
 * C has no GIL. Switch this one on and the runtime behaves like CPython: at most one "Python
 * thread" runs at a time, the running one is made to hand over every switch interval (5 ms by
 * default), and every blocking runtime call (cl_sleep, lock, semaphore, event, condition, queue
 * and future waits, joins) lets it go while it waits. Switch it off and the same code runs in
 * parallel on every core.
 *
 *   Who takes part: threads started by the runtime (cl_thread_start, pool workers), and every
 *   thread that calls cl_gil_enable (in a notebook, the cell's main thread), for the rest of its
 *   life. Other threads (plain pthread_create) are never held back.
 *   The thread that calls cl_gil_enable holds the GIL when the call returns, so the main thread
 *   and the workers it starts contend for it as they do in CPython. Threads already running when
 *   the GIL is switched on stop at once and queue for it.
 *   Switching needs no edits to CPU-bound code: a thread that has waited a whole interval asks
 *   the holder to drop the GIL and interrupts it with a signal (SIGURG); the holder hands the GIL
 *   over and queues again behind the waiter ("forced switching", as in CPython 3.2+). So the
 *   convoy effect shows: a thread waking from cl_sleep while another computes waits about one
 *   interval for the GIL.
 *
 * Differences from CPython, and caveats:
 *   - CPython switches only between bytecodes; here a thread can be stopped anywhere, even inside
 *     printf or malloc while it holds a libc lock. Another thread that then needs that lock waits
 *     for it holding the GIL, and gets preempted in turn one interval later: slower, never stuck.
 *   - In notebook cells, the blocking libc calls (sleep, usleep, nanosleep, read, write, recv,
 *     send, accept, connect, poll, select, waitpid, system, pthread_join, pthread_mutex_lock,
 *     sem_wait, pthread_cond_wait...) let the GIL go while they wait, as CPython's do, and are
 *     never cut short by its signal: the kernel binds them to the runtime's versions
 *     (conclab_host.h). A program built with gcc calls libc's own: there a thread blocked in
 *     such a call keeps the GIL, like a C extension that does not release it, until a waiter
 *     interrupts it; most calls then restart (SA_RESTART), but sleep, usleep, nanosleep, poll
 *     and select return early (or fail with EINTR): use cl_sleep.
 *   - The runtime owns SIGURG once the GIL has been on: do not install another handler for it.
 *   - Under ThreadSanitizer a thread blocked in pthread_mutex_lock does not run signal handlers,
 *     so a holder blocked on a mutex that a preempted thread holds is never interrupted: the
 *     slow-but-never-stuck case above becomes a hang there. Use cl_lock under the GIL.
 *   - Handovers forced by the signal are not reported to the hook (conclab/hook.h): the observer
 *     cannot be run inside a signal handler. Those at blocking calls are ("gil" wait, acquire,
 *     release), and cl_gil_switch_count counts every one.
 */
#ifndef CONCLAB_GIL_H
#define CONCLAB_GIL_H

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the emulated GIL (Python: CPython's GIL, sys.setswitchinterval) -------------------- */

/* Switches the emulated GIL on; the calling thread takes part and holds it on return. */
void cl_gil_enable(void);

/* Switches the emulated GIL off: every thread runs freely again (from any thread). */
void cl_gil_disable(void);

/* Switches the GIL on (on != 0) or off and returns the previous state, to restore it after a region. */
int cl_gil_set(int on);

/* Returns 1 when the emulated GIL is on, else 0. */
int cl_gil_enabled(void);

/* Returns 1 when the calling thread holds the GIL (Python: PyGILState_Check), else 0. */
int cl_gil_held(void);

/* Sets how long a thread may keep the GIL while others wait (sys.setswitchinterval); returns 1, or 0 if not > 0. */
int cl_gil_set_switch_interval(double seconds);

/* Returns the switch interval in seconds (sys.getswitchinterval; 0.005 unless set). */
double cl_gil_switch_interval(void);

/* Returns how many times the GIL has passed from one thread to another since the program started. */
long cl_gil_switch_count(void);

/* ---- a region with the GIL on ----------------------------------------------------------------
 *
 *     CL_WITH_GIL {                // switches the GIL on (the caller holds it)
 *         run_the_experiment();
 *     }                            // back to what it was before: off, or on if it already was
 *
 * Built like CL_WITH_LOCK (conclab/sync.h) from for-loops: `break` and `continue` leave the block
 * and restore the state; `return`, `goto` out of it and longjmp do not. */

/* Runs the block that follows with the emulated GIL on, then restores the previous state; break leaves it, return does not restore. */
#define CL_WITH_GIL \
    for (int cl_with_gil_was_ = cl_gil_set(1), cl_with_gil_once_ = 1; cl_with_gil_once_; cl_gil_set(cl_with_gil_was_), cl_with_gil_once_ = 0) \
        for (; cl_with_gil_once_; cl_with_gil_once_ = 0)

#ifdef __cplusplus
}
#endif

#endif
