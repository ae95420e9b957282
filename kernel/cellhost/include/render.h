/* render.h — a cell's trailing expression shown as a C programmer writes values:
 *
 *   42, -5, 18446744073709551615    integers
 *   0.1, 10.0, 1500.0, 1e+300       floating point: the shortest text that reads back as the same
 *                                   value, Python's repr rules (fixed from 1e-4 to 1e16), always
 *                                   recognisably floating
 *   'a', true, "text", NULL, 0x...  char, _Bool, strings, pointers
 *   {1, 2, 3, 4}                    arrays (past RENDER_MAX_ELEMENTS elements: "…"); char arrays
 *                                   as strings
 *   {.x = 1, .y = 2.5}              structs and unions by member, nested
 *
 * The generated cell code describes the value's type with a render_type (built by _Generic over
 * the builtin types and the struct types the notebook defined: JIT_RENDER_PRELUDE below) and
 * calls render_show_value; the text waits in render_take() for the reply. */
#ifndef CONCLAB_RENDER_H
#define CONCLAB_RENDER_H

#define RENDER_MAX_ELEMENTS 100   /* array elements shown before "…" */
#define RENDER_MAX_STRING 1000    /* characters of a string shown before "…" */
#define RENDER_MAX_DEPTH 8        /* nesting shown before "{…}" */
#define RENDER_MAX_TEXT 65536     /* the whole rendering, before "…" */

typedef enum render_kind {
    RENDER_BOOL = 1, RENDER_CHAR, RENDER_SCHAR, RENDER_UCHAR, RENDER_SHORT, RENDER_USHORT, RENDER_INT,
    RENDER_UINT, RENDER_LONG, RENDER_ULONG, RENDER_LLONG, RENDER_ULLONG, RENDER_FLOAT, RENDER_DOUBLE,
    RENDER_LDOUBLE, RENDER_STRING, RENDER_POINTER, RENDER_ARRAY, RENDER_STRUCT, RENDER_UNION,
    RENDER_BITFIELD,
} render_kind;

struct render_field;

/* The layout mirrors the one the cell prelude declares (__cl_rtype); keep them in step. */
typedef struct render_type {
    int kind;
    unsigned long size;
    unsigned long count;                  /* RENDER_ARRAY: elements */
    const struct render_type *element;    /* RENDER_ARRAY */
    const struct render_field *fields;    /* RENDER_STRUCT, RENDER_UNION */
    unsigned long n_fields;
} render_type;

typedef struct render_field {
    const char *name;
    unsigned long offset;
    const struct render_type *type;
} render_field;

/* The builtin types, which cells reach as __cl_rt_<name> (jit.c binds the symbols). */
typedef struct render_builtin {
    const char *symbol;
    const render_type *type;
} render_builtin;
extern const render_builtin render_builtins[];

/* Shows the value at `address`, of `type`. */
void render_show_value(const void *address, const render_type *type);
void render_show_opaque(unsigned long size);    /* a struct type the notebook did not define */
void render_show_exit_status(int status);       /* what a cell's main returned: "exit status 0" */

/* The text shown by the last call (malloc'd, the caller frees), or NULL when nothing was shown. */
char *render_take(void);

/* Shortest round-trip text of a floating-point value (Python's repr rules); is_float: as float. */
void render_format_double(char *out, unsigned long size, double value, int is_float);

/* C source for a cell that shows a value: the type declarations, the builtin descriptors and the
 * macros __CL_TYPE(e) (a const __cl_rtype * describing e; e may be an array) and
 * __CL_TYPE_OF_VALUE(v) (v is not an array). They expect __CL_STRUCT_TYPES(x), a list of
 * _Generic associations for the notebook's struct types, defined before they are used. */
extern const char render_prelude[];

#endif
