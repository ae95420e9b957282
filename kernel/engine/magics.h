/* magics.h — IPython-style magic lines at the top of a cell. They are settings, not C:
 *
 *   %%timeout SECONDS   this cell's time limit          %timeout SECONDS   every later cell's
 *   %%time              wall, user and sys time and the cores used, after the cell
 *   %%timeit [SETUP]    the cell's body timed over many loops (SETUP run once first)
 *   %timeit STATEMENT   the statement timed so, before the rest of the cell
 *   %%timeline [--live] [--cpu] [--save FILE]
 *                       a picture of what the cell's threads, processes and tasks did, after
 *                       it (--live: redrawn while it runs; --cpu: the cores' use under it;
 *                       --save: its trace as Chrome Trace Event JSON too)
 *   %%cpu               a chart of every core's use while the cell ran
 *   %%bounds            check this cell's memory use    %bounds on|off     every later cell
 *   %threads            threads earlier cells left running
 *   %limits             the limits in force
 *   %prelude on|off     whether cells may use the common headers without including them
 *   %export FILE.c      the cells run so far in this session as one C program (export_program.h)
 *   %%tsan [--only-this-cell]
 *                       that program plus this cell, built with gcc's ThreadSanitizer and run
 *                       outside the notebook; data races become the cell's error (tsan_cell.c);
 *                       --only-this-cell: earlier cells' definitions, but only this cell's
 *                       statements run (a long notebook need not run again under TSan)
 *   %%chaos [--seed N] [--runs K]
 *                       the cell run K times (default 20) as throwaway trials with seeded random
 *                       hold-ups at the runtime's scheduling points and lock-order checking on;
 *                       --seed N alone: one ordinary run with seed N (the replay)
 *   %lockcheck on|off   every later cell checks the order its threads take locks in
 *
 * Magic lines are blanked (not removed) so the C below keeps its line numbers. */
#ifndef CONCLAB_MAGICS_H
#define CONCLAB_MAGICS_H

#include <stdbool.h>

typedef struct notebook_settings {
    double timeout_s;  /* default per-cell time limit; 0: none */
    bool bounds;       /* compile cells with bounds checking */
    bool no_prelude;   /* %prelude off: no headers included for the cell (prelude_headers.h) */
    bool lockcheck;    /* %lockcheck on: lock-order reports on stderr (conclab/chaos.h) */
} notebook_settings;

typedef enum magic_query { QUERY_NONE, QUERY_THREADS, QUERY_LIMITS } magic_query;

typedef struct cell_magics {
    double timeout_s;  /* this cell's time limit (from %%timeout or the notebook's) */
    bool bounds;
    bool no_prelude;
    bool time;         /* %%time: report the cell's times after it */
    unsigned watch;    /* %%timeline, %%cpu: WATCH_* (messages.h) */
    char *trace_file;  /* %%timeline --save FILE (malloc'd), or NULL */
    int timeit_line;   /* the line of %%timeit or %timeit (0-based), or -1 */
    bool timeit_cell;  /* %%timeit: the rest of the cell is the body; else %timeit's statement */
    char *timeit_text; /* %%timeit's setup or %timeit's statement (malloc'd, may be "") */
    magic_query query;
    char *export_file; /* %export FILE.c (malloc'd), or NULL */
    bool tsan;         /* %%tsan: run under ThreadSanitizer, outside the notebook (tsan_cell.c) */
    bool tsan_only_this_cell;  /* %%tsan --only-this-cell: earlier cells give definitions only */
    char *note;        /* what a settings magic changed, to tell the user; malloc'd or NULL */
    bool lockcheck;    /* lock-order checking while the cell runs */
    int chaos_runs;    /* %%chaos: 0 none; 1 one ordinary run under chaos_seed; >= 2 trials */
    bool chaos_seeded; /* --seed given (else the executor draws the first seed) */
    unsigned long long chaos_seed;
} cell_magics;

/* Reads the magic lines at the top of `code` (blanking them in place), updates the notebook's
 * settings for line magics and fills *cell. Returns 0, or -1 with *err (malloc'd) for an unknown
 * or malformed magic, in which case nothing was changed. */
int magics_parse(char *code, notebook_settings *notebook, cell_magics *cell, char **err);

void cell_magics_clear(cell_magics *cell);

/* The C to run for a %%timeit or %timeit cell (malloc'd; NULL when the cell has neither): the body
 * or the statement in a function __cl_timeit_<number> handed to __cl_timeit (cell_times.h), which
 * chooses the loop count and prints the result. The cell's lines keep their numbers. */
char *magics_timeit_code(const cell_magics *cell, const char *code, int number);

#endif
