/* bundle.c — mime bundles as JSON text (bundle.h). */
#include "bundle.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cl__text_add(cl_text *t, const char *s, size_t n) {
    if (t->failed) return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->len + n + 1) cap *= 2;
        char *grown = realloc(t->data, cap);
        if (!grown) {
            t->failed = 1;
            return;
        }
        t->data = grown;
        t->cap = cap;
    }
    memcpy(t->data + t->len, s, n);
    t->len += n;
    t->data[t->len] = '\0';
}

void cl__text_addf(cl_text *t, const char *fmt, ...) {
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof small) {
        cl__text_add(t, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        t->failed = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    cl__text_add(t, big, (size_t)n);
    free(big);
}

/* Bytes pass as they are (the kernel repairs invalid UTF-8); quotes, backslashes and control
 * characters are escaped. */
void cl__text_json_string(cl_text *t, const char *s, size_t n) {
    cl__text_add(t, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        cl__text_add(t, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': cl__text_add(t, "\\\"", 2); break;
        case '\\': cl__text_add(t, "\\\\", 2); break;
        case '\n': cl__text_add(t, "\\n", 2); break;
        case '\t': cl__text_add(t, "\\t", 2); break;
        case '\r': cl__text_add(t, "\\r", 2); break;
        default: cl__text_addf(t, "\\u%04x", c);
        }
    }
    cl__text_add(t, s + run, n - run);
    cl__text_add(t, "\"", 1);
}

void cl__text_base64(cl_text *t, const unsigned char *b, size_t n) {
    static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char quad[4];
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)b[i] << 16;
        if (i + 1 < n) v |= (unsigned)b[i + 1] << 8;
        if (i + 2 < n) v |= b[i + 2];
        quad[0] = digits[(v >> 18) & 63];
        quad[1] = digits[(v >> 12) & 63];
        quad[2] = i + 1 < n ? digits[(v >> 6) & 63] : '=';
        quad[3] = i + 2 < n ? digits[v & 63] : '=';
        cl__text_add(t, quad, 4);
    }
}

size_t cl__mime_size(const cl_mime *item) {
    if (item->size || !item->data) return item->size;
    return strlen(item->data);
}

static int is_binary(const char *type) { return strncmp(type, "image/", 6) == 0 && strcmp(type, "image/svg+xml") != 0; }

static int is_json(const char *type) {
    size_t n = strlen(type);
    return strcmp(type, "application/json") == 0 || (n > 5 && strcmp(type + n - 5, "+json") == 0);
}

/* What a console shows for representations it cannot draw. */
static void summary(cl_text *t, const cl_mime *items, int count) {
    for (int i = 0; i < count; i++) {
        const char *type = items[i].type;
        if (strcmp(type, "text/markdown") == 0 || strcmp(type, "text/latex") == 0 || is_json(type)) {
            cl__text_json_string(t, items[i].data, cl__mime_size(&items[i]));
            return;
        }
    }
    char line[160];
    snprintf(line, sizeof line, "<%s, %zu bytes>", items[0].type, cl__mime_size(&items[0]));
    cl__text_json_string(t, line, strlen(line));
}

char *cl__bundle_json(const cl_mime *items, int count, const char **why) {
    if (!items || count <= 0) {
        *why = "nothing to show";
        return NULL;
    }
    int has_plain = 0;
    for (int i = 0; i < count; i++) {
        if (!items[i].type || !*items[i].type || strchr(items[i].type, '"') || strchr(items[i].type, '\\')) {
            *why = "an item without a proper MIME type";
            return NULL;
        }
        if (!items[i].data) {
            *why = "an item without data";
            return NULL;
        }
        if (strcmp(items[i].type, "text/plain") == 0) has_plain = 1;
    }
    cl_text t = {0};
    cl__text_add(&t, "{", 1);
    for (int i = 0; i < count; i++) {
        size_t size = cl__mime_size(&items[i]);
        cl__text_addf(&t, "%s\"%s\":", i ? "," : "", items[i].type);
        if (is_json(items[i].type)) {
            cl__text_add(&t, items[i].data, size);
        } else if (is_binary(items[i].type)) {
            cl__text_add(&t, "\"", 1);
            cl__text_base64(&t, items[i].data, size);
            cl__text_add(&t, "\"", 1);
        } else {
            cl__text_json_string(&t, items[i].data, size);
        }
    }
    if (!has_plain) {
        cl__text_add(&t, ",\"text/plain\":", 14);
        summary(&t, items, count);
    }
    cl__text_add(&t, "}", 1);
    if (t.failed) {
        free(t.data);
        *why = "out of memory";
        return NULL;
    }
    return t.data;
}
