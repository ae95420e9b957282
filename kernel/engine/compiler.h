/* compiler.h — the compiler process: it holds the notebook's definitions and compiles every cell
 * with libtcc for the executor, which runs them.
 *
 * Why a process of its own: the executor forks for every cell and the child carries on as the
 * holder of the notebook, so in a fresh holder every page a compile writes faults first to undo
 * copy-on-write (on this project's machines a fault costs ~15 µs, and a compile writes hundreds
 * of pages). The compiler never forks: its pages stay warm and its heap stays out of the
 * executor's, which forks the faster for it. It is forked from the executor before the first
 * cell, so the code arena, the progress page, libc, libconclab and the executable are at the
 * same addresses in both: code it relocates into its copy of the arena runs unchanged in the
 * executor once the same bytes are copied there.
 *
 * Protocol, framing.h frames on a socketpair, one request at a time:
 *
 *   executor -> compiler  {"op": "compile", "cell": 3, "want_value": true, "bounds": false,
 *                          "prelude": true, "payload": <length>}, then the cell's code
 *   compiler -> executor  {"ok": true, "errors": "..." or null, "warnings": "..." or null,
 *                          "has_value": true, "run": <address>, "definitions": <length>,
 *                          "code_map": <length>, "ranges": <count>, "payload": <length>}
 *                         then the payload: the cell's definitions and its code map (jit.h),
 *                         the table of written ranges (start and length, 8 bytes each, in the
 *                         machine's byte order) and the bytes of every range, in that order
 *
 * The written ranges (code_arena.h) are the cell's code and data and the trampolines it added or
 * rebound; they come even when the cell failed to compile, since trampolines made on the way
 * are remembered. The compiler ends when the executor's side of the socket closes or the
 * kernel dies. */
#ifndef CONCLAB_COMPILER_H
#define CONCLAB_COMPILER_H

#include <stdbool.h>
#include <sys/types.h>

#include "jit.h"

/* In the executor: forks the compiler. Returns its pid (or -1) and sets *fd to the executor's
 * end of the socket. `kernel_pidfd` becomes readable when the kernel dies. */
pid_t compiler_start(int *fd, int kernel_pidfd);

typedef struct compile_options {
    bool want_value;  /* show the trailing expression */
    bool bounds;      /* tcc -b */
    bool prelude;     /* the common headers without #include (jit_set_prelude) */
} compile_options;

/* In the executor: compiles a cell and copies its code into place. Fills *out as jit_compile
 * does. Returns 0, or -1 when the compiler is gone (it crashed: *out then says so). */
int compiler_compile(int fd, const char *code, int cell, const compile_options *opts, jit_cell *out);

#endif
