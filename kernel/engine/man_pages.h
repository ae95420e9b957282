/* man_pages.h — the system's manual pages for the C library and system calls (Debian's
 * manpages-dev), found the way man(1) finds them, without running it.
 *
 * Where: each directory of MANPATH (colon-separated; an empty entry stands for the defaults),
 * else /usr/local/share/man and /usr/share/man. Which: for a name, the first of
 * man3/NAME.3, man2/NAME.2, then the 3type, 3const, 3head and 3posix pages (in man3 or their
 * own directory), compressed (.gz) or not. A page that is only `.so man3/other.3` is followed,
 * at most MAN_REDIRECTS_MAX times (a loop gives nothing). At most MAN_PAGE_MAX bytes of a page
 * are read: the parts shown are at its top.
 *
 * Parsed pages are cached (a few hundred, by name), misses too: inspection asks on every move of
 * the cursor. Safe from any thread. Nothing here fails loudly: no page is NULL. */
#ifndef CONCLAB_MAN_PAGES_H
#define CONCLAB_MAN_PAGES_H

#include <stdbool.h>
#include <stddef.h>

#include "man_roff.h"

#define MAN_PAGE_MAX ((size_t)1 << 20)
#define MAN_REDIRECTS_MAX 4

/* A page found for a name. */
typedef struct man_doc {
    char *name;      /* the name asked for: "fprintf" */
    char *section;   /* "3", "2", "3type" ... as `man 3 fprintf` takes it */
    char *path;      /* the file read (after any .so) */
    man_page page;
} man_doc;

/* The page documenting name (a C identifier), or NULL. The copy is the caller's. */
man_doc *man_pages_find(const char *name);

/* The page at path (.gz or plain), parsed, .so redirections followed from root (the directory
 * holding man2, man3 ...). For tests; NULL when it cannot be read. */
man_doc *man_pages_read(const char *root, const char *path, const char *name);

void man_doc_free(man_doc *doc);

/* One name the manual documents. */
typedef struct man_name {
    const char *name;
    const char *section;   /* "3", "2", "3type", ... */
} man_name;

/* Calls fn for each documented name starting with prefix, in order, at most max times; returns
 * how many there were in all (which may be more than max). The index of names is read from the
 * directories once per MANPATH. */
size_t man_pages_with_prefix(const char *prefix, size_t max, void (*fn)(void *ctx, const man_name *n), void *ctx);

/* Whether any manual page directory with C library pages exists. */
bool man_pages_available(void);

/* Forget the cache and the index (tests change MANPATH). */
void man_pages_reset(void);

#endif
