/* definition_records.c — writing and reading definition records (definition_records.h). */
#include "definition_records.h"

#include <stdlib.h>
#include <string.h>

static const char separators[] = {DEFINITION_FIELD_END, DEFINITION_RECORD_END, '\0'};

static void add_field(strbuf *out, const char *text) {
    while (*text) {
        size_t n = strcspn(text, separators);
        strbuf_addn(out, text, n);
        text += n;
        if (*text) {
            strbuf_addn(out, " ", 1);
            text++;
        }
    }
    strbuf_addn(out, separators, 1);
}

void definition_record_add(strbuf *out, const char *name, const char *kind, const char *declaration, int cell) {
    add_field(out, name);
    add_field(out, kind);
    strbuf_addf(out, "%d%c", cell, DEFINITION_FIELD_END);
    add_field(out, declaration);
    strbuf_addn(out, (char[]){DEFINITION_RECORD_END}, 1);
}

bool definition_record_next(const char **at, const char *end, definition_record *r) {
    const char *p = *at, *field[4];
    size_t length[4];
    for (int f = 0; f < 4; f++) {
        const char *stop = p < end ? memchr(p, DEFINITION_FIELD_END, (size_t)(end - p)) : NULL;
        if (!stop) return false;
        field[f] = p;
        length[f] = (size_t)(stop - p);
        p = stop + 1;
    }
    if (p < end && *p == DEFINITION_RECORD_END) p++;
    *r = (definition_record){field[0], field[1], field[3], length[0], length[1], length[3], atoi(field[2])};
    *at = p;
    return true;
}
