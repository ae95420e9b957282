/* help_lines.h — IPython's help lines in a C cell: a line that is only `name?` (or `?name`)
 * asks what inspection knows about name; `name??` (`??name`) asks for more. The kernel answers
 * with the inspection text (a "page" payload) and runs the rest of the cell.
 *
 * C has its own '?', so a line counts only when it cannot be C: it is a whole line holding an
 * identifier (or a member access such as p->x) and one or two '?' touching it, it starts a
 * statement (at the start of the cell, or after ';', '{', '}' or a preprocessor line), and no
 * ':' later in the statement would complete it as `flag ? a : b`. Comments and strings are never
 * help lines. */
#ifndef CONCLAB_HELP_LINES_H
#define CONCLAB_HELP_LINES_H

#include <stddef.h>

#define HELP_NAME_MAX 256
#define HELP_LINES_MAX 16

typedef struct help_query {
    char name[HELP_NAME_MAX];  /* "printf", or "p->x" */
    int detail;                /* 0 for '?', 1 for '??' */
} help_query;

/* Finds the cell's help lines (at most max are kept), blanks them with spaces in code (so the
 * C left keeps its line numbers) and returns how many there were. */
size_t help_lines_take(char *code, help_query *queries, size_t max);

#endif
