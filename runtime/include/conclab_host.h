/* conclab_host.h — for the program that hosts notebook cells (the executor), never for cells.
 *
 * Some runtime calls mean something only to Jupyter (clearing a cell's output). The runtime
 * cannot reach Jupyter itself, so the host installs hooks once, before any cell runs, and the
 * runtime calls them. Without hooks (homework run in a terminal) those calls fall back to what a
 * terminal can do. Not installed with <conclab.h>: this is the kernel's side of the runtime. */
#ifndef CONCLAB_HOST_H
#define CONCLAB_HOST_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cl_host_hooks {
    /* cl_clear_output was called (wait: clear only when new output arrives). stdout and stderr
     * were flushed just before, so output written earlier is already in its pipes. Called on
     * any thread of the cell or of a process it forked, like display. */
    void (*clear_output)(void *ctx, int wait);
    /* A display (conclab/display.h): `bundle` is the JSON object of its representations
     * (`size` bytes), `id` its display id, `update` 1 when it replaces an earlier display with
     * that id. stdout and stderr were flushed just before, and the host returns only once the
     * display is on its way, so it keeps its place among the cell's output. Returns 0, or -1
     * with a reason for the student in `why`. */
    int (*display)(void *ctx, const char *bundle, unsigned long size, const char *id, int update, char *why, unsigned long why_size);
    /* cl_check's claim did not hold (`message`: what it says, printed with ✗ already): the host
     * ends the cell with it as the error. Does not return. */
    void (*check_failed)(void *ctx, const char *message);
    /* A thread of the runtime's (cl_thread, a pool worker) starts: called on it, first thing.
     * The host gives it what every thread of a cell needs (an alternate signal stack). */
    void (*thread_started)(void *ctx);
    /* Where `address` is in the notebook's code, in words ("in transfer() of cell[3]"), for the
     * lock-order checker's and hung threads' reports (conclab/chaos.h); returns 0 when the
     * address is not the notebook's. Called on any thread; must not block. */
    int (*describe_code)(void *ctx, const void *address, char *out, unsigned long size);
    void *ctx;
} cl_host_hooks;

/* Installs hooks (copied), or restores the terminal fallbacks when hooks is NULL. */
void cl_host_set_hooks(const cl_host_hooks *hooks);

/* Hung threads. The runtime notes on `board` (`size` bytes of memory the host shares with the
 * process that stops cells, e.g. a MAP_SHARED page; 32 KiB hold about 100 threads) what each of
 * its threads is waiting for, as the wait begins, and clears it when the wait ends. Forked
 * processes inherit the board and note their threads too. */
/* Gives the runtime the board of waits to keep; call once, before cells run. */
void cl_host_share_waits(void *board, unsigned long size);

/* The report below: first the wait-for cycle if there is one ("Deadlock: Thread-1 waits for lock
 * `b` held by Thread-2, which waits for lock `a` held by Thread-1. ..."), then one line per thread
 * still alive (threads of processes other than `cell_pid` marked with their process). Call it
 * before killing them: threads that are gone are left out. *deadlock (if not NULL) is set to 1
 * when a cycle was found. Returns the length written, 0 when no live thread is on the board. */
/* What the threads on board are doing, in words, into out (NUL-terminated). */
unsigned long cl_host_waits_report(const void *board, int cell_pid, char *out, unsigned long size, int *deadlock);

/* For a caller in another PID namespace than the cells (a kernel outside a sandbox), alive(pid,
 * tid, ctx) says whether the thread the board numbers (pid, tid) is still alive, where the report
 * would signal it with tgkill (NULL alive: that tgkill). */
/* The same report, with the caller's own test of which threads are alive. */
unsigned long cl_host_waits_report_alive(const void *board, int cell_pid, char *out, unsigned long size, int *deadlock, int (*alive)(int pid, int tid, void *ctx), void *ctx);

/* A libc function that may block (`name`), and the runtime's version of it (`function`, of the
 * same type) for cell code: it lets go of the emulated GIL while it waits, as CPython's own calls
 * do, and the GIL's signal cannot cut it short (conclab/gil.h). */
typedef struct cl_host_blocking_call {
    const char *name;
    void *function;
} cl_host_blocking_call;

/* The blocking libc calls with their GIL-aware versions (sleeps, I/O, waits, joins, locks); the list ends with a NULL name. */
const cl_host_blocking_call *cl_host_blocking_calls(void);

#ifdef __cplusplus
}
#endif

#endif
