#define _GNU_SOURCE /* vasprintf */
#include "xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *checked(void *p) {
    if (!p) {
        static const char message[] = "conclab: out of memory\n";
        if (write(2, message, sizeof message - 1) < 0) { /* nothing more to do */ }
        abort();
    }
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
    if (vasprintf(&text, format, ap) < 0) checked(NULL);
    va_end(ap);
    return text;
}
