/* api_docs.h — the runtime API as <conclab.h> documents it, for completion and inspection.
 *
 * The header keeps a convention this reader relies on: every function is declared on one line,
 * right after a line holding nothing but a one-line block comment that summarises it:
 *
 *     line 1:  the comment  "Starts a thread running fn(arg); join it with cl_thread_join."
 *     line 2:  cl_thread *cl_thread_start(void *(*fn)(void *), void *arg);
 *
 * Typedefs and #defines are read too, with the comment on the line above as their summary when
 * there is one. Names starting with '_' are the header's own business and are left out. */
#ifndef CONCLAB_API_DOCS_H
#define CONCLAB_API_DOCS_H

#include <stddef.h>

typedef enum api_kind {
    API_FUNCTION,
    API_TYPE,
    API_MACRO,
} api_kind;

typedef struct api_doc {
    api_kind kind;
    char *name;       /* "cl_thread_start" */
    char *signature;  /* "cl_thread *cl_thread_start(void *(*fn)(void *), void *arg)" */
    char *summary;    /* "Starts a thread running fn(arg); join it with cl_thread_join." or "" */
} api_doc;

typedef struct api_docs {
    api_doc *items;   /* sorted by name, one entry per name */
    size_t n;
} api_docs;

/* Reads the documented names out of a header's text. */
void api_docs_parse(const char *text, api_docs *out);

/* Same for a file. Returns 0, or -1 (and empty docs) when it cannot be read. */
int api_docs_load(const char *path, api_docs *out);

void api_docs_free(api_docs *docs);

/* The entry for name, or NULL. */
const api_doc *api_docs_find(const api_docs *docs, const char *name);

/* The runtime's docs, read from runtime_include_dir()/conclab.h on first use (empty when
 * the header cannot be read). Shared and never freed; safe from any thread. */
const api_docs *api_docs_runtime(void);

#endif
