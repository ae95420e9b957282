/* man_roff.h — the parts of a manual page (roff source with the man macros) that inspection
 * shows, as plain text: the NAME line, the LIBRARY note, the SYNOPSIS, the DESCRIPTION and the
 * RETURN VALUE. Fonts, escapes (\-, \e, \(em, \[aq], \ , \~ ...), tables, macro definitions and
 * conditionals are dropped or turned into plain characters.
 *
 * It is a reader for display, not a typesetter: it never fails, never recurses, and keeps each
 * part under a fixed size, whatever the input (a malformed page gives empty or odd text). */
#ifndef CONCLAB_MAN_ROFF_H
#define CONCLAB_MAN_ROFF_H

#include <stddef.h>

/* Each part is malloc'd and never NULL ("" when the page lacks it). Paragraphs are separated
 * by a blank line; no-fill text (.nf, .EX) keeps its lines. */
typedef struct man_page {
    char *names;         /* "printf, fprintf, dprintf" : the names NAME lists */
    char *summary;       /* "formatted output conversion" : NAME's text after " - " */
    char *library;       /* "POSIX threads library (libpthread, -lpthread)", or a "Link with" note */
    char *synopsis;      /* the SYNOPSIS up to its "Feature Test Macro Requirements" */
    char *description;   /* DESCRIPTION */
    char *return_value;  /* RETURN VALUE */
} man_page;

/* Bytes each part keeps at most; the rest of a part is dropped. */
#define MAN_PART_MAX 16384

void man_roff_parse(const char *text, size_t len, man_page *out);

/* When the page is only a redirection (`.so man3/printf.3`, comments aside), the path it
 * names (malloc'd), else NULL. */
char *man_roff_redirect(const char *text, size_t len);

/* The plain text of one line of roff text (escapes resolved, fonts dropped). Malloc'd. */
char *man_roff_plain(const char *text, size_t len);

/* The first n paragraphs of text (blank-line separated), at most max bytes (cut at a word and
 * marked with "..."). Malloc'd. */
char *man_paragraphs(const char *text, int n, size_t max);

void man_page_free(man_page *page);

#endif
