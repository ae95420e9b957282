/* definitions.h — what the notebook has defined so far, in the order a C file would hold it, and
 * the part of it a new cell needs.
 *
 * Each definition is the declaration later cells see (a macro or type as written, a function's
 * prototype, a global's extern declaration) under the names it defines ("point", "struct point",
 * "#LIMIT" for a macro). A redefinition takes the old one's place, so what was declared after it
 * still follows it. A cell is compiled against the definitions its own text names and, through
 * their texts, what those name in turn: its cost does not grow with the notebook. */
#ifndef CONCLAB_DEFINITIONS_H
#define CONCLAB_DEFINITIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "strmap.h"

typedef struct definition {
    char **keys;        /* the names it defines */
    size_t n_keys;
    char *text;         /* C source placed in later cells */
    char *kind;         /* for inspection: function, variable, type, macro, directive */
    char *declaration;  /* for inspection */
    int cell, line;
    char *uses;         /* the names its text mentions ("x", "struct point"), without repeats,
                           one after another, each ending in '\0' */
    size_t n_uses;
    bool is_directive;  /* #include, #pragma and other unnamed directives: in every cell */
    bool is_macro;
    bool pastes;        /* its text uses ## (names it makes cannot be seen in advance) */
    bool live;          /* false once replaced */
    unsigned long mark; /* internal: the last closure that reached it */
} definition;

typedef struct definitions {
    definition *items;  /* in order; replaced ones stay as holes until compacted */
    size_t n, cap, holes;
    strmap by_key;      /* key -> index + 1 */
    size_t last_directive; /* index + 1 of the last live unnamed directive (an #include), or 0 */
    unsigned long closures;
} definitions;

void definitions_init(definitions *d);
void definitions_free(definitions *d);

/* The live definition of key, or NULL. */
definition *definitions_find(const definitions *d, const char *key);
size_t definitions_index(const definitions *d, const definition *def);

/* Adds a definition (taking ownership of its strings): it takes the place of the first old one
 * sharing a key, and other sharers go. Its uses are computed from its text. */
void definitions_put(definitions *d, definition fresh);

/* The names a piece of C source mentions, each once: identifiers, and "struct T", "union T",
 * "enum T" for tags; the identifiers inside preprocessor lines too. Calls fn for each; *pastes
 * (may be NULL) is set when the text uses ## outside strings. */
void definitions_scan_uses(const char *text, void (*fn)(void *ctx, const char *name), void *ctx, bool *pastes);

/* The closure of what `names` mention: marks every definition reachable from them, and every
 * unnamed directive (with the macros before the last of them, which it may read). Returns the
 * marked indices in order (malloc'd, *n of them). *pastes is set when a reached definition uses
 * ##: the caller should then take every definition. */
size_t *definitions_needed(definitions *d, char *const *names, size_t n_names, size_t *n, bool *pastes);

#endif
