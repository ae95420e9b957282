/* xalloc.h — allocation that cannot fail: out of memory aborts. For the kernel's own small
 * structures, where there is nothing sensible to do without the memory (a cell's allocations
 * are a different matter: memory_guard.h). */
#ifndef CONCLAB_XALLOC_H
#define CONCLAB_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *text);
char *xasprintf(const char *format, ...) __attribute__((format(printf, 1, 2)));

#endif
