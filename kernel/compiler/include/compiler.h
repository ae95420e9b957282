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
 *   executor -> compiler  {"op": "again"}: the last reply once more (see compiler_refetch)
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

#include <jansson.h>
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

/* The same in steps, for a reply that may be applied in another process (spare.h). */
typedef struct compiler_reply {
    json_t *reply;   /* the reply message */
    char *payload;   /* its payload once read, or NULL */
    size_t length;
    size_t unread;   /* bytes of the payload still in the compiler's socket */
} compiler_reply;

/* Compiles a cell; fills *out with what the reply says (ok, errors, warnings, has_value, run) and
 * keeps the message in *r, its payload left unread in the socket. Returns 0, or -1 when the
 * compiler is gone (*out then says so). */
int compiler_ask(int fd, const char *code, int cell, const compile_options *opts, compiler_reply *r, jit_cell *out);

/* What a reply says, into *out (as compiler_ask fills it). */
void compiler_read_outcome(const compiler_reply *r, jit_cell *out);

/* Copies the reply's code into place in this process (reading its payload from fd first if it
 * is still unread) and adds the definitions and code map to *out. Once per reply. Returns 0, or
 * -1 when the reply was malformed or the compiler is gone. */
int compiler_apply(int fd, compiler_reply *r, jit_cell *out);

/* The last reply once more, after skipping `skip` bytes of the payload still in the socket (its
 * payload was passed on to a process that died; the compiler keeps the last reply until the
 * next compile). 0, or -1 when the compiler is gone. */
int compiler_refetch(int fd, compiler_reply *r, size_t skip);

void compiler_reply_clear(compiler_reply *r);

#endif
