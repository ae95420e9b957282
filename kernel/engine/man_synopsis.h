/* man_synopsis.h — from a page's SYNOPSIS (as man_roff.h gives it), what concerns one of the
 * names it documents: the #include lines that declare it and its prototype(s).
 *
 * printf(3) declares ten functions under one #include; size_t(3type) declares size_t under
 * <stddef.h> and ssize_t under <sys/types.h>. Each declaration belongs to the #include lines
 * written above it, so asking for ssize_t gives <sys/types.h> and its typedef only. */
#ifndef CONCLAB_MAN_SYNOPSIS_H
#define CONCLAB_MAN_SYNOPSIS_H

#include <stddef.h>

#define MAN_SYNOPSIS_MAX_HEADERS 8

typedef struct man_synopsis {
    char *includes;       /* "#include <pthread.h>" lines (and #define _GNU_SOURCE ones), or "" */
    char *declarations;   /* the prototypes, typedefs or externs that name the name, or "" */
    char *link_note;      /* an old page's "Link with -pthread." line, or "" */
    char *headers[MAN_SYNOPSIS_MAX_HEADERS];  /* "<pthread.h>", ... */
    size_t n_headers;
} man_synopsis;

/* Never fails: parts not found are "". Free with man_synopsis_free. */
void man_synopsis_for(const char *synopsis, const char *name, man_synopsis *out);

void man_synopsis_free(man_synopsis *s);

#endif
