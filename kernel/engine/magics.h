/* magics.h — IPython-style magic lines at the top of a cell. They are settings, not C:
 *
 *   %%timeout SECONDS   this cell's time limit          %timeout SECONDS   every later cell's
 *   %%bounds            check this cell's memory use    %bounds on|off     every later cell
 *   %threads            threads earlier cells left running
 *   %limits             the limits in force
 *   %prelude on|off     whether cells may use the common headers without including them
 *
 * Magic lines are blanked (not removed) so the C below keeps its line numbers. */
#ifndef CONCLAB_MAGICS_H
#define CONCLAB_MAGICS_H

#include <stdbool.h>

typedef struct notebook_settings {
    double timeout_s;  /* default per-cell time limit; 0: none */
    bool bounds;       /* compile cells with bounds checking */
    bool no_prelude;   /* %prelude off: no headers included for the cell (prelude_headers.h) */
} notebook_settings;

typedef enum magic_query { QUERY_NONE, QUERY_THREADS, QUERY_LIMITS } magic_query;

typedef struct cell_magics {
    double timeout_s;  /* this cell's time limit (from %%timeout or the notebook's) */
    bool bounds;
    bool no_prelude;
    magic_query query;
    char *note;        /* what a settings magic changed, to tell the user; malloc'd or NULL */
} cell_magics;

/* Reads the magic lines at the top of `code` (blanking them in place), updates the notebook's
 * settings for line magics and fills *cell. Returns 0, or -1 with *err (malloc'd) for an unknown
 * or malformed magic, in which case nothing was changed. */
int magics_parse(char *code, notebook_settings *notebook, cell_magics *cell, char **err);

void cell_magics_clear(cell_magics *cell);

#endif
