/* complete.h — the logic behind engine_complete and engine_inspect, apart from the engine so it
 * can be tested on its own: cursor arithmetic, what the cursor is completing, the candidates from
 * each source, and the names system headers declare.
 *
 * The protocol counts cursor positions in Unicode code points; the code is read in bytes. Every
 * position a reply carries is converted back to code points. */
#ifndef CONCLAB_COMPLETE_H
#define CONCLAB_COMPLETE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "api_docs.h"
#include "engine.h"

/* Byte offset of code point number `cursor` in code, clamped to [0, strlen(code)]. */
size_t complete_byte_offset(const char *code, int cursor);

/* How many code points code[0, bytes) holds. */
int complete_code_points(const char *code, size_t bytes);

typedef enum complete_context {
    COMPLETE_IDENTIFIER,  /* a C name */
    COMPLETE_NONE,        /* nothing sensible to offer: a member after '.' or '->' (members are
                           * not known), a number, the space after #include */
    COMPLETE_DIRECTIVE,   /* the word after '#' that starts a line */
    COMPLETE_HEADER,      /* the path inside #include <...> or "..." */
} complete_context;

/* The text the matches replace: it ends at the cursor. */
typedef struct complete_word {
    complete_context context;
    size_t start, end;              /* bytes */
    int cursor_start, cursor_end;   /* code points */
} complete_word;

complete_word complete_word_at(const char *code, int cursor);

/* Where candidates come from; any member may be NULL. */
typedef struct complete_sources {
    const json_t *symbols;       /* the notebook's definitions: name -> {"kind", "declaration", "cell"} */
    const api_docs *runtime;     /* <conclab.h> */
    const json_t *header_names;  /* complete_header_names() */
    const char *const *header_dirs;  /* NULL-terminated: where #include <...> looks */
    /* The C library, offered after all of the above (library_docs.h, man_pages.h). */
    const json_t *prelude_names; /* what the prelude's headers declare (complete_prelude_names) */
    const json_t *includes;      /* the notebook's #include lines, for the include notes */
    bool no_prelude;             /* %prelude off */
    bool manuals;                /* the system's manual pages: their names and contents */
} complete_sources;

/* At most this many C library names in one reply: "p" alone does not list hundreds. */
#define COMPLETE_LIBRARY_MAX 100

/* The complete_reply content without "status": sorted, distinct matches, cursor_start,
 * cursor_end and metadata (with "_jupyter_types_experimental", which JupyterLab shows as icons).
 * New reference. */
json_t *complete_matches(const char *code, int cursor, const complete_sources *src);

/* The name the cursor is on or just after, or, between the parentheses of a call, the called
 * name. Malloc'd, or NULL. *tag receives "struct", "union" or "enum" when the name follows one,
 * else NULL. */
char *complete_name_at(const char *code, int cursor, const char **tag);

/* The plain text engine_inspect answers for the name at the cursor, or NULL. Malloc'd. */
char *inspect_text(const char *code, int cursor, const complete_sources *src);

/* The same as a mimebundle ("text/plain", and "text/markdown" for C library names), at a
 * detail level (0, or 1 for more of a manual page). NULL when nothing is known. New reference. */
json_t *inspect_bundle(const char *code, int cursor, int detail, const complete_sources *src);

/* inspect_bundle for a name rather than a cursor in code. */
json_t *inspect_name(const char *name, int detail, const complete_sources *src);

/* The answer to a cell's help lines (help_lines.h), all in one mimebundle: what inspection says
 * of each name, or that it is not known. New reference. */
struct help_query;
json_t *inspect_help_page(const struct help_query *queries, size_t n, const complete_sources *src);

/* The names declared by a list of #include lines (a JSON array of strings), found by running
 * `tcc -E -dD -I include_dir` over them: name -> {"kind", "declaration", "header"}. Names
 * reserved to the implementation (leading "__" or '_' and a capital) are left out. Never
 * NULL: a failure gives an empty object. New reference. */
json_t *complete_header_names(const json_t *includes, const char *include_dir);

/* The same from preprocessed text (tcc -E -dD output). New reference. */
json_t *complete_scan_preprocessed(const char *text, size_t len);

/* What the prelude's headers (all but <conclab.h>, which the runtime docs cover) declare, as
 * complete_header_names gives it: read once, on first use. Shared; never NULL. */
const json_t *complete_prelude_names(void);

/* An engine's sources: its symbols, the runtime docs, the names its #include lines declare
 * (recomputed only when the list changes) and the include directories. Release after use. */
void complete_sources_of(engine *eng, complete_sources *src);
void complete_sources_release(complete_sources *src);

#endif
