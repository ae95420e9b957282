#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void reserve(strbuf *b, size_t extra) {
    if (b->len + extra + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) cap *= 2;
    char *grown = realloc(b->data, cap);
    if (!grown) abort();
    b->data = grown;
    b->cap = cap;
}

void strbuf_addn(strbuf *b, const char *text, size_t n) {
    reserve(b, n);
    if (n) memcpy(b->data + b->len, text, n); /* text may be NULL when n is 0 (an empty strbuf) */
    b->len += n;
    b->data[b->len] = '\0';
}

void strbuf_add(strbuf *b, const char *text) { strbuf_addn(b, text, strlen(text)); }

void strbuf_addf(strbuf *b, const char *format, ...) {
    va_list ap;
    va_start(ap, format);
    int n = vsnprintf(NULL, 0, format, ap);
    va_end(ap);
    if (n < 0) return;
    reserve(b, (size_t)n);
    va_start(ap, format);
    vsnprintf(b->data + b->len, (size_t)n + 1, format, ap);
    va_end(ap);
    b->len += (size_t)n;
}

char *strbuf_take(strbuf *b) {
    char *s = b->data ? b->data : strdup("");
    if (!s) abort();
    b->data = NULL;
    b->len = b->cap = 0;
    return s;
}

void strbuf_free(strbuf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
