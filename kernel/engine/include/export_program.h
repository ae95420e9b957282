/* export_program.h — a notebook's C cells as one standalone C program (issue 17, item 1), shared
 * by `conclab export` and the `%export FILE.c` magic. Pure text in, text out: nothing runs.
 *
 * The program reads as the notebook does, cell after cell (the rules: export_program.c). Where a
 * cell cannot be carried over faithfully the program says so in a comment at that place and a
 * note says so too, for the caller to show on stderr: the export never quietly changes what the
 * notebook does. */
#ifndef CONCLAB_EXPORT_PROGRAM_H
#define CONCLAB_EXPORT_PROGRAM_H

#include <stddef.h>

typedef struct export_cell {
    const char *source;    /* the cell as the user wrote it, magics and `name?` lines included */
    int number;            /* n of cell[n] in #line directives: its execution count */
    const char *language;  /* the cell's own language when it says one (metadata); NULL: C */
    int definitions_only;  /* its definitions, but main does not run its statements */
} export_cell;

/* The program (malloc'd). `file_name` is what the program is saved as (for the #line that
 * brings diagnostics back to the generated code after a cell; NULL: "notebook.c"). *notes
 * (malloc'd, "" when all went over faithfully) receives one line per thing the user should
 * know, each starting with the cell it is about. */
char *export_program(const export_cell *cells, size_t n, const char *file_name, char **notes);

#endif
