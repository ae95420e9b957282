/* jit_build.h — what jit.c and jit_source.c share about the notebook and the cell being built.
 * Internal to the JIT; the public face is jit.h. */
#ifndef CONCLAB_JIT_BUILD_H
#define CONCLAB_JIT_BUILD_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>

#include "cell.h"
#include "definitions.h"
#include "prelude_headers.h"
#include "strbuf.h"
#include "strmap.h"

/* How later cells declare a global an earlier cell defined. Hidden visibility makes tcc reach it
 * with a direct RIP-relative operand where it uses one; with the default visibility it would send
 * that operand through a PLT stub and read the stub's bytes instead of the value (LIBTCC.md:
 * `3.0 / y` and `-y` of an earlier `double y` were garbage). The code arena keeps every cell
 * within reach of every other. Spelled `__attribute`: glibc's <sys/cdefs.h> defines `__attribute__`
 * away for compilers that are not GCC, tcc among them. */
#define NOTEBOOK_STORAGE "__attribute((visibility(\"hidden\")))"

/* A global some cell defined: where it lives, and whether a redefinition may reuse it. */
typedef struct variable {
    void *addr;
    char *type_key;     /* specifiers + declarator: same key, same storage */
    bool reusable;
} variable;

struct jit {
    definitions defs;   /* what later cells see, in order */
    strmap vars;        /* name -> variable */
    strmap functions;   /* names reached through a trampoline -> (void *)1 */
    strmap type_names;  /* typedef names, for the splitter -> (void *)1 */
    bool bounds;        /* compile with tcc -b */
    bool no_prelude;    /* %prelude off: cells include their headers themselves */
};

typedef enum var_plan { PLAN_STATIC_INIT, PLAN_RUNTIME_INIT, PLAN_REUSE } var_plan;

/* The trailing expression is first shown by value (render.h: scalars, strings, pointers, arrays,
 * the notebook's structs); a struct of a header's type is shown by size; a void expression (a
 * call) just runs. tcc's refusals move us down the list. */
typedef enum value_mode { VALUE_SHOW, VALUE_OPAQUE, VALUE_VOID } value_mode;

/* An earlier definition this cell defines again, and the cell's item that does. */
typedef struct replacement {
    size_t definition;
    size_t item;
} replacement;

typedef struct build {
    struct jit *j;
    cell c;
    int number;
    bool want_value;
    value_mode value;   /* how the trailing expression is shown */
    void *code;         /* where the linked code lives */
    size_t code_size;
    var_plan *plans;    /* per item; meaningful for ITEM_VARIABLE */
    bool *emitted;      /* per item: already placed in the prelude, in place of an old entry */
    replacement *replaced; /* sorted by definition */
    size_t n_replaced;
    char **names;       /* what the cell's text mentions */
    size_t n_names;
    bool everything;    /* compile against every definition, not only the ones the cell reaches */
    size_t *prelude;    /* indices of the definitions in this cell's prelude, in order */
    size_t n_prelude;
    prelude_mask headers; /* the prelude headers this cell includes (prelude_headers.h) */
    bool relocating;    /* tcc_relocate runs: an error there must not reach libtcc's exit(1) */
    sigjmp_buf relocation_failed;
    strbuf errors, warnings;
} build;

/* jit_source.c: the cell's translation unit (malloc'd). */
char *jit_source_generate(build *b);

/* jit_source.c: the names an item defines (malloc'd array of malloc'd strings). */
char **jit_item_keys(const cell_item *it, size_t *n);
void jit_free_keys(char **keys, size_t n);

/* jit_source.c: the cell's item that replaces definition `at`, or NULL. */
const cell_item *jit_replacement_of(const build *b, size_t at);

/* jit_source.c: the cell's definition of main, which runs once the cell's statements are done;
 * and whether it returns the exit status (int) rather than void. */
const cell_item *jit_main_item(const build *b);
bool jit_main_returns_int(const cell_item *main_item);

/* jit_source.c: the marker symbol of an item inside a top-level #if group. */
void jit_item_marker(const build *b, size_t index, char *out, size_t size);

#endif
