/* prelude_headers.h — the headers a cell may use without including them: <conclab.h>, <stdio.h>,
 * <stdlib.h>, <string.h>, <stdbool.h>, <stdint.h> and <math.h>, as if every cell began with
 * them (`%prelude off` stops that).
 *
 * Parsing all seven would cost tcc about 4 ms a cell, so a cell gets only the ones declaring a
 * name its text reaches (prelude_names.c, generated at build time, says which header declares
 * what). Leaving a header out never changes what a cell means: a name it would have declared is
 * a name the cell does not use. Should a cell still miss one (headers updated since the build),
 * its errors or an implicit-declaration warning make the JIT compile it again with all seven. */
#ifndef CONCLAB_PRELUDE_HEADERS_H
#define CONCLAB_PRELUDE_HEADERS_H

#include "strbuf.h"

#define PRELUDE_HEADER_LIST "conclab.h", "stdio.h", "stdlib.h", "string.h", "stdbool.h", "stdint.h", "math.h"
#define PRELUDE_HEADER_COUNT 7
typedef unsigned prelude_mask;  /* bit h: prelude_header_files[h] */
#define PRELUDE_ALL ((prelude_mask)((1u << PRELUDE_HEADER_COUNT) - 1))

extern const char *const prelude_header_files[PRELUDE_HEADER_COUNT];

/* The generated table: every name a prelude header declares, sorted by name. */
typedef struct prelude_name {
    const char *name;
    int header;
} prelude_name;
extern const prelude_name prelude_names[];
extern const unsigned prelude_name_count;

/* The header that declares `name` (as a mask), or 0. */
prelude_mask prelude_header_of(const char *name);

/* `#include` lines for the headers in mask, in the list's order; each is followed by an
 * `#undef __attribute__` (see kernel/compiler/LIBTCC.md: glibc defines it away under tcc, which
 * would silently drop the cell's own `__attribute__((aligned(64)))` and `((packed))`). */
void prelude_headers_emit(strbuf *src, prelude_mask mask);

#endif
