/* symbols.c — what the notebook defined, as completion and inspection ask for it. Each "done"
 * event carries the cell's definitions as records (definition_records.h); they are kept as they
 * came and read into the symbol table only when asked, so a cell of thousands of definitions
 * does not wait for it. */
#define _GNU_SOURCE /* strndup */
#include "engine_internal.h"

#include <stdlib.h>
#include <string.h>

#include "definition_records.h"

void engine_keep_definitions(engine *eng, const char *records, size_t length) {
    if (records && length) strbuf_addn(&eng->unmerged, records, length);
}

void engine_forget_definitions(engine *eng) {
    strbuf_free(&eng->unmerged);
    json_object_clear(eng->symbols);
    json_array_clear(eng->includes);
}

static void remember_include(engine *eng, const char *line) {
    size_t k;
    json_t *have;
    json_array_foreach(eng->includes, k, have) if (strcmp(json_string_value(have), line) == 0) return;
    json_array_append_new(eng->includes, json_string(line));
}

static void merge_record(engine *eng, const definition_record *r) {
    char *name = strndup(r->name, r->name_length), *kind = strndup(r->kind, r->kind_length);
    if (name && kind && strcmp(kind, "include") == 0) remember_include(eng, name);
    else if (name && kind)
        json_object_set_new(eng->symbols, name, json_pack("{s:s, s:s%, s:i}", "kind", kind, "declaration",
                                                          r->declaration, r->declaration_length, "cell", r->cell));
    free(name);
    free(kind);
}

static void merge_kept(engine *eng) {
    if (!eng->unmerged.len) return;
    const char *at = eng->unmerged.data, *end = at + eng->unmerged.len;
    definition_record r;
    while (definition_record_next(&at, end, &r)) merge_record(eng, &r);
    strbuf_free(&eng->unmerged);
}

const json_t *engine_symbols(engine *eng) {
    merge_kept(eng);
    return eng->symbols;
}

const json_t *engine_includes(engine *eng) {
    merge_kept(eng);
    return eng->includes;
}

bool engine_prelude_off(const engine *eng) {
    return eng->settings.no_prelude;
}
