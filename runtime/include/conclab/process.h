/* conclab/process.h — processes (Python: multiprocessing.Process, active_children,
 * current_process().name).
 * Part of <conclab.h>; see there for the conventions every runtime header keeps.
 *
 * A process is a fork of the calling one (Python's "fork" start method): the child inherits the
 * cell's JIT code, its globals and its heap as they were at the start, then runs fn(arg); what
 * fn returns is the child's exit code, as main's is. Changes the child makes to ordinary memory
 * stay in the child: share data through <conclab/shared.h> (Value, Array, Lock, Semaphore, Event)
 * or <conclab/queue.h> and <conclab/pipe.h>, all created before the start.
 *
 * Lifetime of a handle: cl_process_start returns one; join it (any number of times, from any
 * thread of the process that started it) and release it with cl_process_free once it ended.
 * A process that ended is reaped (no zombie is left) by whichever of join, is_alive, exitcode,
 * active_children or the next cl_process_start notices first, as Python's _cleanup does.
 *
 * Return values: join answers 1 (ended), 0 (timed out), -1 (misuse: reported on stderr);
 * exitcode answers the code (0..255), minus the signal number for a process killed by a signal
 * (-9 for SIGKILL, -11 for a crash on SIGSEGV), CL_PROCESS_RUNNING while it runs, and
 * CL_PROCESS_ERROR on misuse; the other calls answer 1 or 0 (misuse reported).
 *
 * Differences from Python, on purpose:
 *   - fn returns the exit code (Python: 0 unless sys.exit(n) or an exception, then 1). A child
 *     that calls exit(n) itself runs the parent program's atexit handlers; returning does not.
 *   - Only the process that started a child may join, poll, signal or free it (Python raises
 *     AssertionError, "can only join a child process"); a forked child holding a copy of a handle
 *     gets a report instead.
 *   - stdio buffers are flushed before every fork (so nothing prints twice) and when the child
 *     ends; the child's stdin is not redirected (Python points it at /dev/null).
 *   - cl_process_free is Python's close(): it refuses (and reports) while the process runs.
 *   - Names default to "Process-N", numbered per parent; a child's own children are
 *     "Process-N:M", as in Python. Names longer than 63 characters are cut there.
 */
#ifndef CONCLAB_PROCESS_H
#define CONCLAB_PROCESS_H

#include <stddef.h> /* NULL: several calls take it for "none" */

#ifdef __cplusplus
extern "C" {
#endif

#include <conclab/clock.h> /* CL_FOREVER */

/* What cl_process_exitcode answers while the process still runs (Python: None). */
#define CL_PROCESS_RUNNING (-1000)

/* What cl_process_exitcode answers on misuse (a NULL or freed handle, another process's child). */
#define CL_PROCESS_ERROR (-1001)

/* A child process started by cl_process_start; opaque, released by cl_process_free. */
typedef struct cl_process cl_process;

/* Forks a child that runs fn(arg) and exits with what fn returns, named "Process-N"; NULL on error. */
cl_process *cl_process_start(int (*fn)(void *arg), void *arg);

/* Like cl_process_start under the given name (Process(name=...)); NULL on error. */
cl_process *cl_process_start_named(const char *name, int (*fn)(void *arg), void *arg);

/* Waits until the process ends and reaps it; returns 1, or -1 on misuse (joining itself, a handle of another process). */
int cl_process_join(cl_process *p);

/* Waits at most seconds for the process to end; returns 1 if it ended, 0 on timeout, -1 on misuse. */
int cl_process_join_timeout(cl_process *p, double seconds);

/* Returns the exit code, -signal if a signal killed it, CL_PROCESS_RUNNING while it runs (CL_PROCESS_ERROR on misuse). */
int cl_process_exitcode(cl_process *p);

/* Returns 1 while the process runs, else 0 (Python: is_alive()). */
int cl_process_is_alive(cl_process *p);

/* Sends SIGTERM (Python: terminate()); its exit code becomes -15 unless it handles the signal. Returns 1, 0 on misuse. */
int cl_process_terminate(cl_process *p);

/* Sends SIGKILL (Python: kill()), which cannot be caught; its exit code becomes -9. Returns 1, 0 on misuse. */
int cl_process_kill(cl_process *p);

/* Returns the process id of the child (Python: pid), or -1 on misuse. */
int cl_process_pid(cl_process *p);

/* Returns the process's name ("Process-N" unless given one); NULL on misuse. */
const char *cl_process_name(cl_process *p);

/* Frees the handle of a process that ended (Python: close()); refuses and returns 0 while it runs. NULL is ignored. */
int cl_process_free(cl_process *p);

/* Returns how many processes this process started are still running, reaping those that ended (active_children()). */
int cl_process_active_children(void);

/* Returns the calling process's name: "MainProcess", or the name it was started under (current_process().name). */
const char *cl_process_current_name(void);

#ifdef __cplusplus
}
#endif

#endif
