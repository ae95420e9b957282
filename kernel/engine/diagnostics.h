/* diagnostics.h — errors that teach: what the student sees when a cell does not compile or stops.
 *
 *   - the message is the first real one, not tcc's "In file included from cell[1]:1:";
 *   - the line of the cell it is about is shown, with carets under the token it names (tcc gives
 *     no column: the token quoted in the message, 'x' or "x", is looked for on that line);
 *   - C11 features tcc lacks get a hint naming the runtime's replacement (<stdatomic.h> and
 *     _Atomic: cl_atomic_*; __thread and _Thread_local: cl_local; __atomic_* and __sync_*
 *     builtins: cl_atomic_*). */
#ifndef CONCLAB_DIAGNOSTICS_H
#define CONCLAB_DIAGNOSTICS_H

#include <jansson.h>

/* A failed compile: *evalue (malloc'd) is the first real message, with a hint when one applies;
 * *traceback (new reference) is every message, each followed by its source line. `code` is the
 * cell as compiled, `cell` its number. */
void diagnostics_compile_error(const char *errors, const char *code, int cell, char **evalue, json_t **traceback);

/* The source lines of "cell[cell], line `line`" with a marker under its first character, for
 * a traceback (array of strings, new reference; empty when the line is not in `code`). */
json_t *diagnostics_source_line(const char *code, int cell, int line);

/* A hint for code that uses a C11 feature tcc lacks, or NULL. */
const char *diagnostics_hint(const char *errors, const char *code);

#endif
