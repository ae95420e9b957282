/* prelude_headers.c — which prelude header a name needs: a binary search of the generated table. */
#include "prelude_headers.h"

#include <string.h>

const char *const prelude_header_files[PRELUDE_HEADER_COUNT] = {PRELUDE_HEADER_LIST};

prelude_mask prelude_header_of(const char *name) {
    unsigned lo = 0, hi = prelude_name_count;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        int c = strcmp(prelude_names[mid].name, name);
        if (c == 0) return (prelude_mask)1u << prelude_names[mid].header;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return 0;
}

void prelude_headers_emit(strbuf *src, prelude_mask mask) {
    for (int h = 0; h < PRELUDE_HEADER_COUNT; h++)
        if (mask & (1u << h)) strbuf_addf(src, "#include <%s>\n#undef __attribute__\n", prelude_header_files[h]);
}
