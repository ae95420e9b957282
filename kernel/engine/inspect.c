/* inspect.c — inspection for inspect_request (Shift+Tab, the contextual help panel) and `name?`:
 * what the notebook, the runtime, a header or the C library's manual says about a name. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "complete.h"
#include "help_lines.h"
#include "library_docs.h"
#include "strbuf.h"

static bool is_ident_char(char c) {
    return c == '_' || isalnum((unsigned char)c);
}

/* Inside "f(a, b|", the cursor is on no name: the call's name is what the user wants to know. */
static size_t called_name_end(const char *code, size_t at) {
    int depth = 0;
    for (size_t p = at; p > 0; p--) {
        char c = code[p - 1];
        if (c == ';' || c == '{' || c == '}') break;
        if (c == ')') depth++;
        if (c == '(' && depth-- == 0) {
            size_t end = p - 1;
            while (end > 0 && isspace((unsigned char)code[end - 1])) end--;
            return end;
        }
    }
    return 0;
}

static const char *tag_before(const char *code, size_t start) {
    static const char *const tags[] = {"struct", "union", "enum", NULL};
    size_t end = start;
    while (end > 0 && isspace((unsigned char)code[end - 1])) end--;
    if (end == start) return NULL;  /* "struct" must be a separate word */
    for (size_t i = 0; tags[i]; i++) {
        size_t n = strlen(tags[i]);
        if (end >= n && strncmp(code + end - n, tags[i], n) == 0 &&
            (end == n || !is_ident_char(code[end - n - 1])))
            return tags[i];
    }
    return NULL;
}

char *complete_name_at(const char *code, int cursor, const char **tag) {
    size_t at = complete_byte_offset(code, cursor);
    size_t start = at, end = at;
    while (start > 0 && is_ident_char(code[start - 1])) start--;
    while (is_ident_char(code[end])) end++;
    if (start == end) {
        end = called_name_end(code, at);
        start = end;
        while (start > 0 && is_ident_char(code[start - 1])) start--;
    }
    *tag = NULL;
    if (start == end || isdigit((unsigned char)code[start])) return NULL;
    *tag = tag_before(code, start);
    return strndup(code + start, end - start);
}

/* The notebook keys a struct as "struct point"; a plain name may be either. */
static const json_t *notebook_symbol(const json_t *symbols, const char *name, const char *tag,
                                     char **key) {
    static const char *const tags[] = {"struct", "union", "enum", NULL};
    strbuf b = {0};
    if (tag) strbuf_addf(&b, "%s %s", tag, name);
    else strbuf_add(&b, name);
    json_t *found = json_object_get(symbols, b.data);
    for (size_t i = 0; !found && !tag && tags[i]; i++) {
        strbuf_free(&b);
        strbuf_addf(&b, "%s %s", tags[i], name);
        found = json_object_get(symbols, b.data);
    }
    *key = strbuf_take(&b);
    strbuf_free(&b);
    return found;
}

static char *describe_symbol(const json_t *info) {
    const char *decl = json_string_value(json_object_get(info, "declaration"));
    const char *kind = json_string_value(json_object_get(info, "kind"));
    json_t *cell = json_object_get(info, "cell");
    strbuf b = {0};
    strbuf_addf(&b, "%s\n\nDefined in cell [%lld] (%s)", decl ? decl : "",
                json_is_integer(cell) ? json_integer_value(cell) : 0LL, kind ? kind : "definition");
    return strbuf_take(&b);
}

static char *describe_runtime(const api_doc *doc) {
    strbuf b = {0};
    strbuf_add(&b, doc->signature);
    if (doc->summary[0]) strbuf_addf(&b, "\n\n%s", doc->summary);
    strbuf_add(&b, "\n\nconclab runtime (<conclab.h>)");
    return strbuf_take(&b);
}

static char *describe_header_name(const json_t *info) {
    const char *decl = json_string_value(json_object_get(info, "declaration"));
    const char *header = json_string_value(json_object_get(info, "header"));
    const char *kind = json_string_value(json_object_get(info, "kind"));
    strbuf b = {0};
    strbuf_addf(&b, "%s\n\n%s declared in %s", decl ? decl : "", kind ? kind : "name",
                header ? header : "a header");
    return strbuf_take(&b);
}

/* The keywords a concurrency lab meets, and what tcc 0.9.27 makes of them. */
static const struct {
    const char *word, *text;
} keyword_notes[] = {
    {"volatile", "volatile: every access goes to memory. It does not make an access atomic or "
                 "ordered between threads: use a lock or cl_atomic_*."},
    {"_Atomic", "_Atomic: C11 atomic types. tcc 0.9.27 does not support them (nor <stdatomic.h>): "
                "use cl_atomic_add, cl_atomic_load, cl_atomic_store and cl_atomic_cas."},
    {"_Thread_local", "_Thread_local: one variable per thread. tcc 0.9.27 does not support it (nor "
                      "__thread): use pthread_key_create and pthread_getspecific."},
    {"static", "static: at file scope, a name private to the notebook; in a function, a variable "
               "that keeps its value between calls (and is shared by every thread)."},
    {"extern", "extern: declares a name defined elsewhere (another cell or a library) without "
               "defining it."},
    {"restrict", "restrict: promises the compiler that this pointer is the only way to reach its "
                 "object while it is in scope."},
    {"inline", "inline: a hint to expand calls in place; tcc compiles inline functions as "
               "ordinary ones."},
    {"sizeof", "sizeof: the size in bytes of a type or an expression's type, known at compile "
               "time."},
    {"typedef", "typedef: gives a type a new name; later cells can use it."},
};

static char *describe_keyword(const char *name) {
    for (size_t i = 0; i < sizeof(keyword_notes) / sizeof(keyword_notes[0]); i++)
        if (strcmp(keyword_notes[i].word, name) == 0) return strdup(keyword_notes[i].text);
    return NULL;
}

/* A C library name: its manual page first (the richest), then a header the notebook included,
 * then the prelude's headers. */
static json_t *library_bundle(const char *name, int detail, const complete_sources *src) {
    library_context lib = {.includes = src->includes, .no_prelude = src->no_prelude,
                           .prelude_names = src->prelude_names, .manuals = src->manuals};
    json_t *bundle = library_docs_manual(name, detail, &lib);
    const json_t *header_info = bundle ? NULL : json_object_get(src->header_names, name);
    if (header_info) {
        char *text = describe_header_name(header_info);
        bundle = json_pack("{s:s}", "text/plain", text);
        free(text);
    }
    return bundle ? bundle : library_docs_prelude(name, &lib);
}

static json_t *plain_bundle(char *text) {
    json_t *bundle = text ? json_pack("{s:s}", "text/plain", text) : NULL;
    free(text);
    return bundle;
}

static json_t *bundle_for(const char *name, const char *tag, int detail, const complete_sources *src) {
    char *key = NULL;
    const json_t *info = notebook_symbol(src->symbols, name, tag, &key);
    free(key);
    const api_doc *doc = src->runtime ? api_docs_find(src->runtime, name) : NULL;
    if (info) return plain_bundle(describe_symbol(info));
    if (doc) return plain_bundle(describe_runtime(doc));
    json_t *keyword = plain_bundle(describe_keyword(name));
    return keyword ? keyword : library_bundle(name, detail, src);
}

json_t *inspect_bundle(const char *code, int cursor, int detail, const complete_sources *src) {
    const char *tag;
    char *name = complete_name_at(code, cursor, &tag);
    if (!name) return NULL;
    json_t *bundle = bundle_for(name, tag, detail, src);
    free(name);
    return bundle;
}

json_t *inspect_name(const char *name, int detail, const complete_sources *src) {
    return bundle_for(name, NULL, detail, src);
}

char *inspect_text(const char *code, int cursor, const complete_sources *src) {
    json_t *bundle = inspect_bundle(code, cursor, 0, src);
    const char *text = json_string_value(json_object_get(bundle, "text/plain"));
    char *copy = text ? strdup(text) : NULL;
    json_decref(bundle);
    return copy;
}

char *engine_inspect(engine *eng, const char *code, int cursor_pos) {
    complete_sources src;
    complete_sources_of(eng, &src);
    char *text = inspect_text(code ? code : "", cursor_pos, &src);
    complete_sources_release(&src);
    return text;
}

/* ---- help lines: `name?` ---------------------------------------------------------------- */

static json_t *help_answer(const help_query *q, const complete_sources *src) {
    const char *member = strpbrk(q->name, ".-");
    json_t *bundle = member ? NULL : inspect_name(q->name, q->detail, src);
    if (bundle) return bundle;
    strbuf b = {0};
    if (member)
        strbuf_addf(&b, "%s: members are not inspected; %.*s? shows what %.*s is.", q->name,
                    (int)(member - q->name), q->name, (int)(member - q->name), q->name);
    else
        strbuf_addf(&b, "%s: not found. No definition of the notebook, function of the conclab runtime, "
                        "name from an included header or manual page goes by this name.", q->name);
    bundle = json_pack("{s:s}", "text/plain", b.data);
    strbuf_free(&b);
    return bundle;
}

json_t *inspect_help_page(const help_query *queries, size_t n, const complete_sources *src) {
    strbuf text = {0}, md = {0};
    bool all_markdown = true;
    for (size_t i = 0; i < n; i++) {
        json_t *answer = help_answer(&queries[i], src);
        const char *t = json_string_value(json_object_get(answer, "text/plain"));
        const char *m = json_string_value(json_object_get(answer, "text/markdown"));
        if (i) strbuf_add(&text, "\n\n");
        strbuf_add(&text, t ? t : "");
        if (i) strbuf_add(&md, "\n\n---\n\n");
        if (m) strbuf_add(&md, m);
        all_markdown &= m != NULL;
        json_decref(answer);
    }
    strbuf_add(&text, "");
    json_t *page = json_pack("{s:s}", "text/plain", text.data);
    if (all_markdown && md.len) json_object_set_new(page, "text/markdown", json_string(md.data));
    strbuf_free(&text);
    strbuf_free(&md);
    return page;
}

json_t *engine_help_page(engine *eng, const help_query *queries, size_t n) {
    complete_sources src;
    complete_sources_of(eng, &src);
    json_t *page = inspect_help_page(queries, n, &src);
    complete_sources_release(&src);
    return page;
}

json_t *engine_inspect_bundle(engine *eng, const char *code, int cursor_pos, int detail_level) {
    complete_sources src;
    complete_sources_of(eng, &src);
    json_t *bundle = inspect_bundle(code ? code : "", cursor_pos, detail_level, &src);
    complete_sources_release(&src);
    return bundle;
}
