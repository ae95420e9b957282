/* jit.h — compiles one cell at a time with libtcc so that the notebook behaves as one C file
 * written in order. The earlier definitions a cell reaches come to it as a prelude of
 * declarations (types and macros as written, functions as prototypes, globals as extern
 * declarations) and as symbols bound to the addresses they already have. A redefinition
 * replaces the old one. */
#ifndef CONCLAB_JIT_H
#define CONCLAB_JIT_H

#include <jansson.h>
#include <stdbool.h>

typedef struct jit jit;

typedef struct jit_cell {
    bool ok;
    char *errors;           /* compiler errors, as tcc wrote them ("cell[3]:2: error: ..."); or NULL */
    char *warnings;         /* compiler warnings; or NULL */
    void (*run)(void);      /* the cell's top-level statements, in order */
    bool has_value;         /* the cell ends with an expression whose value run() shows */
    char *definitions;      /* what this cell defined, as definition records
                               (definition_records.h); NULL when none */
    size_t definitions_length;
    char *code_map;         /* where the cell's code is, for crash reports, one line each: "R start
                               size" for the region, then "F address cell name" per function
                               (no name: the cell's top level); NULL when it did not compile */
} jit_cell;

jit *jit_new(void);

/* Compiles and links a cell. Definitions take effect at once (before run), so a cell that
 * crashes still leaves its functions and types defined. Always fills *out. */
void jit_compile(jit *j, const char *code, int cell_number, bool want_value, jit_cell *out);

/* Bounds checking (tcc -b) for the cells compiled from now on: out-of-bounds accesses, use after
 * free and double free are reported instead of corrupting memory. */
void jit_set_bounds(jit *j, bool on);

/* Whether cells may use <conclab.h>, <stdio.h>, <stdlib.h>, <string.h>, <stdbool.h>,
 * <stdint.h> and <math.h> without including them (on unless turned off; prelude_headers.h). */
void jit_set_prelude(jit *j, bool on);

void jit_cell_clear(jit_cell *c);

/* Frees what the jit remembers: only for tests, since an executor keeps its state until it
 * exits. The cells' code stays in the code arena. */
void jit_free(jit *j);

#endif
