/* bundle.h — a display's representations as the JSON object Jupyter calls a mime bundle
 * ({"text/plain": "...", "image/png": "<base64>", "application/json": {...}}), built as text:
 * the runtime has no JSON library, and the kernel checks what it is given anyway. */
#ifndef CONCLAB_RUNTIME_BUNDLE_H
#define CONCLAB_RUNTIME_BUNDLE_H

#include <stddef.h>

#include "conclab/display.h"

#define CL_BUNDLE_INTERNAL __attribute__((visibility("hidden")))

/* A growing text. */
typedef struct cl_text {
    char *data;
    size_t len, cap;
    int failed;  /* an allocation failed: the text is incomplete */
} cl_text;

CL_BUNDLE_INTERNAL void cl__text_add(cl_text *t, const char *s, size_t n);
CL_BUNDLE_INTERNAL void cl__text_addf(cl_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
CL_BUNDLE_INTERNAL void cl__text_json_string(cl_text *t, const char *s, size_t n);
CL_BUNDLE_INTERNAL void cl__text_base64(cl_text *t, const unsigned char *bytes, size_t n);

/* The size of an item (its size, or strlen of its text when size is 0). */
CL_BUNDLE_INTERNAL size_t cl__mime_size(const cl_mime *item);

/* The bundle's JSON text (malloc'd), with a text/plain summary added when none was given; NULL
 * with a reason in *why when an item is unusable. */
CL_BUNDLE_INTERNAL char *cl__bundle_json(const cl_mime *items, int count, const char **why);

#endif
