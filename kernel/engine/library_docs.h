/* library_docs.h — what the C library says about a name, for inspection: its manual page
 * (man_pages.h: summary, synopsis, library, and with more detail the description), or where
 * there is none, its declaration in the prelude's headers; and in both cases whether a cell
 * needs an #include to use it. */
#ifndef CONCLAB_LIBRARY_DOCS_H
#define CONCLAB_LIBRARY_DOCS_H

#include <jansson.h>
#include <stdbool.h>

/* The headers every cell may use without including them, as prelude_headers.h lists them. */
extern const char *const library_prelude_headers[];

typedef struct library_context {
    const json_t *includes;       /* the notebook's #include lines (strings), or NULL */
    bool no_prelude;              /* %prelude off */
    const json_t *prelude_names;  /* the prelude headers' names: name -> {"kind", "declaration",
                                   * "header"} (complete_header_names), or NULL */
    bool manuals;                 /* read the manual pages */
} library_context;

/* What name's manual page says: a mimebundle {"text/plain", "text/markdown"}, or NULL when it
 * has none (or ctx->manuals is false). detail 0: summary, synopsis, include note, library, man
 * section; 1 adds the description and the return value. New reference. */
json_t *library_docs_manual(const char *name, int detail, const library_context *ctx);

/* Where there is no page: name's declaration in the prelude's headers (ctx->prelude_names), or
 * NULL. New reference. */
json_t *library_docs_prelude(const char *name, const library_context *ctx);

/* The one-line include note for a name its page declares in headers[0..n): whether the prelude
 * or the notebook's #include lines bring it (a name the prelude's headers declare counts, as
 * size_t, which <stdio.h> gets from <stddef.h>), or which #include it needs. Malloc'd; NULL
 * when n is 0. */
char *library_include_note(const char *name, const char *const *headers, size_t n, const library_context *ctx);

#endif
