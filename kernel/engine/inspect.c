/* inspect.c — inspection for inspect_request (Shift+Tab, the contextual help panel): what the
 * notebook, the runtime or a header says about the name at the cursor. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "complete.h"
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

char *inspect_text(const char *code, int cursor, const complete_sources *src) {
    const char *tag;
    char *name = complete_name_at(code, cursor, &tag);
    if (!name) return NULL;
    char *text = NULL, *key = NULL;
    const json_t *info = notebook_symbol(src->symbols, name, tag, &key);
    const api_doc *doc = src->runtime ? api_docs_find(src->runtime, name) : NULL;
    const json_t *header_info = json_object_get(src->header_names, name);
    if (info) text = describe_symbol(info);
    else if (doc) text = describe_runtime(doc);
    else if (header_info) text = describe_header_name(header_info);
    else text = describe_keyword(name);
    free(key);
    free(name);
    return text;
}

char *engine_inspect(engine *eng, const char *code, int cursor_pos) {
    complete_sources src;
    complete_sources_of(eng, &src);
    char *text = inspect_text(code ? code : "", cursor_pos, &src);
    complete_sources_release(&src);
    return text;
}
