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
    void *ctx;
} cl_host_hooks;

/* Installs hooks (copied), or restores the terminal fallbacks when hooks is NULL. */
void cl_host_set_hooks(const cl_host_hooks *hooks);

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
