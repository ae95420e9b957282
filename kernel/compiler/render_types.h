/* render_types.h — the C that describes the notebook's struct and union types to the renderer
 * (render.h), for a cell that shows a value: a descriptor per type, listing each member's name,
 * offset and type, and __CL_STRUCT_TYPES(x), the _Generic associations that find them. */
#ifndef CONCLAB_RENDER_TYPES_H
#define CONCLAB_RENDER_TYPES_H

#include <stddef.h>

#include "strbuf.h"

typedef struct render_types render_types;

render_types *render_types_new(void);

/* A type definition as the notebook wrote it ("struct point { int x, y; };", "typedef struct
 * { ... } pair;"). Definitions without a body ("typedef struct point point;") add nothing. */
void render_types_add(render_types *t, const char *definition);

/* The descriptors and __CL_STRUCT_TYPES, to place after the types and before their use. */
void render_types_emit(const render_types *t, strbuf *src);

void render_types_free(render_types *t);

#endif
