#define _GNU_SOURCE /* vasprintf */
#include "xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *checked(void *p) {
    if (!p) abort();
    return p;
}

void *xmalloc(size_t size) { return checked(malloc(size ? size : 1)); }
void *xcalloc(size_t count, size_t size) { return checked(calloc(count ? count : 1, size ? size : 1)); }
void *xrealloc(void *p, size_t size) { return checked(realloc(p, size ? size : 1)); }
char *xstrdup(const char *text) { return checked(strdup(text)); }

char *xasprintf(const char *format, ...) {
    va_list ap;
    va_start(ap, format);
    char *text = NULL;
    if (vasprintf(&text, format, ap) < 0) abort();
    va_end(ap);
    return text;
}
