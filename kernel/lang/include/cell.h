/* cell.h — the cell splitter: one cell's source into top-level items, so the JIT can treat the
 * notebook as one C file written in order. Directives and definitions persist for later cells;
 * statements and declarations with run-time initializers run in order; a trailing expression
 * without a semicolon becomes the cell's value. */
#ifndef CONCLAB_CELL_H
#define CONCLAB_CELL_H

#include <stdbool.h>
#include <stddef.h>

#include "strmap.h"

typedef enum cell_item_kind {
    ITEM_DIRECTIVE,   /* #include, #define, #undef, #pragma, ... : text is the whole line(s) */
    ITEM_TYPE,        /* typedef, or a struct/union/enum definition; text ends with ';' */
    ITEM_FUNCTION,    /* a function definition: prototype + body */
    ITEM_PROTOTYPE,   /* a function declaration without a body */
    ITEM_VARIABLE,    /* one declarator of a top-level object declaration */
    ITEM_STATEMENT,   /* code to run in order, e.g. a call, a loop, an assignment */
    ITEM_EXPRESSION,  /* the last item when it is an expression with no trailing ';' */
} cell_item_kind;

typedef struct cell_item {
    cell_item_kind kind;
    int line;            /* 1-based line in the cell where the item starts */
    char *text;          /* source text: the whole item (for VARIABLE: the whole declaration) */
    char *name;          /* defined name: macro, typedef, "struct tag", function, variable; or NULL */
    char **also;         /* further names the item declares (enum constants, more typedef names) */
    size_t n_also;
    /* ITEM_VARIABLE */
    char *specifiers;    /* e.g. "unsigned long", "struct point", with static/extern removed */
    char *declarator;    /* e.g. "*names[10]", "(*handler)(int)": no initializer */
    char *initializer;   /* text after '=', or NULL */
    bool is_extern;      /* declared with extern: a declaration, not a definition */
    /* ITEM_FUNCTION and ITEM_PROTOTYPE */
    char *prototype;     /* e.g. "int fib(int n)", with static/inline/extern removed */
    size_t name_offset;  /* where the name starts inside prototype */
    char *body;          /* ITEM_FUNCTION: "{ ... }" */
    int body_line;       /* line where the body starts */
    /* preprocessor conditionals at the top level of the cell */
    bool is_conditional; /* ITEM_DIRECTIVE: #if, #ifdef, #ifndef, #elif, #else, #endif */
    int conditional_depth; /* how many #if groups enclose the item (0: always compiled) */
} cell_item;

typedef struct cell {
    cell_item *items;
    size_t n_items;
} cell;

typedef enum cell_completeness {
    CELL_COMPLETE,
    CELL_INCOMPLETE,  /* open brace, parenthesis, bracket, comment, string or continued line */
    CELL_INVALID,     /* can never parse, e.g. a closer with no opener */
} cell_completeness;

/* Why a cell could not be split (jansson's json_error_t is the model): where, and what. */
typedef struct cell_error {
    int line;          /* 1-based line of the cell */
    char text[160];    /* e.g. "'{' is never closed" */
} cell_error;

/* Splits code into items. `typedef_names` (may be NULL) holds the type names known from earlier
 * cells and headers (any non-NULL value) so `my_t x;` is read as a declaration. Returns 0, or -1
 * with *err filled (err may be NULL) when a bracket, string, character constant or comment is
 * never closed or a closer has no opener; *out is then empty. */
int cell_split(const char *code, const strmap *typedef_names, cell *out, cell_error *err);
void cell_free(cell *c);

/* For is_complete_request: *indent receives the suggested indent (e.g. "    ", size >= 64). */
cell_completeness cell_check_complete(const char *code, char *indent, size_t indent_size);

const char *cell_item_kind_name(cell_item_kind kind);

#endif
