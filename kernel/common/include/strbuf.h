/* strbuf.h — a growable string; allocation failure aborts (the executor cannot recover from it
 * anyway, and the kernel is not the one allocating). */
#ifndef CONCLAB_STRBUF_H
#define CONCLAB_STRBUF_H

#include <stddef.h>

typedef struct strbuf {
    char *data;
    size_t len, cap;
} strbuf;

void strbuf_add(strbuf *b, const char *text);
void strbuf_addn(strbuf *b, const char *text, size_t n);
void strbuf_addf(strbuf *b, const char *format, ...) __attribute__((format(printf, 2, 3)));
char *strbuf_take(strbuf *b);  /* the string (never NULL); the buffer is left empty */
void strbuf_free(strbuf *b);

#endif
