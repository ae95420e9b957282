/* engine.h — the engine client: the one door from a front end (the Jupyter kernel, `conclab run`)
 * to the executor process that holds the notebook's state and runs cells.
 *
 * The engine knows C and processes; it knows nothing about ZeroMQ or Jupyter messages. Output
 * and prompts reach the front end through callbacks, on the thread that called engine_execute. */
#ifndef CONCLAB_ENGINE_H
#define CONCLAB_ENGINE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct engine engine;

typedef struct engine_options {
    size_t output_limit;   /* bytes of stdout+stderr per cell before the cell is cut off; 0: default */
    double timeout_s;      /* default per-cell time limit in seconds; 0: none */
    size_t memory_limit;   /* address space a cell may add; 0: CONCLAB_MEMORY_LIMIT or 4 GiB */
    int process_limit;     /* processes the notebook may have at once; 0: CONCLAB_PROCESS_LIMIT or 256 */
    bool sandbox;          /* run the executor in a bubblewrap sandbox (sandbox.h): no network, its own
                            * pids, a private /tmp, the system read-only, nothing else of the files
                            * but sandbox_dir; engine_start fails, saying why, where bwrap cannot run */
    const char *sandbox_dir;  /* the folder the sandboxed notebook may read and write, its working
                               * directory; NULL: a private empty one */
} engine_options;

typedef struct engine_callbacks {
    /* A chunk of the cell's output; text is valid UTF-8 (invalid bytes were replaced). */
    void (*on_stream)(void *ctx, const char *stream_name, const char *text, size_t len);
    /* A rich output (compiler warnings, what the cell shows with conclab/display.h): data is a
     * mimebundle, borrowed. display_id (or NULL) names it for updates; update: it replaces what
     * the earlier display with that id shows. */
    void (*on_display)(void *ctx, json_t *data, json_t *metadata, const char *display_id, bool update);
    /* The cell reads standard input. Return a malloc'd line (without its newline), or NULL for
     * end-of-file. Not called when the request did not allow stdin. */
    char *(*on_input)(void *ctx, const char *prompt, bool password);
    void *ctx;
    /* The cell called cl_clear_output(): clear what it has shown so far. May be NULL. */
    void (*on_clear)(void *ctx, bool wait);
} engine_callbacks;

typedef struct engine_request {
    const char *code;
    int cell_number;       /* execution count, used in names like cell[3] */
    bool allow_stdin;
    bool silent;           /* no trailing-expression result is computed */
} engine_request;

typedef struct engine_outcome {
    bool ok;
    char *ename, *evalue;  /* on error: e.g. "CompileError", "SIGSEGV", "Interrupted" */
    json_t *traceback;     /* on error: array of strings */
    json_t *result;        /* on success with a trailing expression: {"text/plain": "..."}; else NULL */
    double compile_seconds;  /* from sending the cell until it started running (compiling, mostly) */
    double run_seconds;      /* from then until it ended; 0 when it never ran */
    json_t *page;            /* the answer to the cell's `name?` lines (help_lines.h): a mimebundle
                              * for a pager, or NULL when the cell asked nothing */
} engine_outcome;

/* Spawns an executor. NULL with *err set on failure. */
engine *engine_start(const engine_options *opts, char **err);

/* Runs one cell to completion, forwarding output through cb; *out says how it ended (always
 * filled: every failure, the engine's own included, is an error there). */
void engine_execute(engine *eng, const engine_request *req, const engine_callbacks *cb, engine_outcome *out);

/* Stops the running cell and its whole process tree (safe from any thread or a signal handler's
 * helper thread). The outcome of the cell becomes an "Interrupted" error. No-op when idle. */
void engine_interrupt(engine *eng);

/* Forwards output written by threads or processes left running after their cell ended. */
void engine_pump(engine *eng, const engine_callbacks *cb);

/* While the front end waits for something else during a cell (an input reply): takes the
 * displays its threads and processes send meanwhile, so they are not held up. */
void engine_serve_while_waiting(engine *eng, const engine_callbacks *cb);

/* The process that holds the notebook's state now (it changes as cells run), for benchmarks and
 * tests that look at its memory. */
int engine_executor_pid(const engine *eng);

/* Throws the state away and starts a fresh executor. 0 or -1. */
int engine_restart(engine *eng);

/* Everything the notebook has defined so far: an object name -> {"kind", "declaration", "cell"}.
 * kind is one of "function", "variable", "type", "macro", "enum constant". Borrowed. */
const json_t *engine_symbols(engine *eng);

/* The #include lines the notebook has run, in order (borrowed array of strings). */
const json_t *engine_includes(engine *eng);

/* Completion at cursor_pos (a position in Unicode code points, as protocol 5.2+ counts):
 * {"matches": [...], "cursor_start": n, "cursor_end": n, "metadata": {}} (new reference).
 * Sources: C keywords, the notebook's definitions, the runtime API, names from included headers,
 * then (after those, at most COMPLETE_LIBRARY_MAX) the C library: the prelude's headers and the
 * names of the system's manual pages. */
json_t *engine_complete(engine *eng, const char *code, int cursor_pos);

/* What is known about the name under (or just before) the cursor: a malloc'd plain text, or NULL.
 * Notebook definitions give their declaration and cell; runtime API its signature and summary. */
char *engine_inspect(engine *eng, const char *code, int cursor_pos);

/* The same as a mimebundle ("text/plain"; "text/markdown" too for C library names, from their
 * manual pages), or NULL. detail_level 1 says more (a manual page's description). New reference. */
json_t *engine_inspect_bundle(engine *eng, const char *code, int cursor_pos, int detail_level);

/* For an is_complete request: a whole cell, one that needs more lines (*indent receives the
 * indent to go on with; indent_size >= 64), or one that can never parse (a closer with no
 * opener). Needs no executor. */
typedef enum engine_completeness { ENGINE_COMPLETE, ENGINE_INCOMPLETE, ENGINE_INVALID } engine_completeness;
engine_completeness engine_check_complete(const char *code, char *indent, size_t indent_size);

void engine_outcome_clear(engine_outcome *out);
void engine_free(engine *eng);

#endif
