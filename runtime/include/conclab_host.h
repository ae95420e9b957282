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
    /* cl_clear_output was called. stdout and stderr were flushed just before, so output the
     * cell wrote earlier is already in its pipes. Called on the cell's thread. */
    void (*clear_output)(void *ctx);
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
