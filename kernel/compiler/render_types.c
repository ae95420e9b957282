/* render_types.c — struct and union definitions read with the cell splitter (a body is a list
 * of declarations), written back as static descriptors. */
#define _GNU_SOURCE /* strndup */
#include "render_types.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cell.h"
#include "lexer.h"
#include "render.h"

typedef struct member {
    char *name;
    bool bitfield;
    bool maybe_pointer;  /* its declarator has * or (: an unknown type there is a pointer */
} member;

typedef struct described {
    char *type;          /* how C names it: "struct point", "union num", "pair" */
    bool is_union;
    member *members;
    size_t n_members;
} described;

struct render_types {
    described *types;
    size_t n, cap;
};

render_types *render_types_new(void) {
    render_types *t = calloc(1, sizeof *t);
    if (!t) abort();
    return t;
}

void render_types_free(render_types *t) {
    if (!t) return;
    for (size_t i = 0; i < t->n; i++) {
        for (size_t m = 0; m < t->types[i].n_members; m++) free(t->types[i].members[m].name);
        free(t->types[i].members);
        free(t->types[i].type);
    }
    free(t->types);
    free(t);
}

static bool known(const render_types *t, const char *type) {
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->types[i].type, type) == 0) return true;
    return false;
}

/* The body of the first struct/union in text: [*open, *close) between its braces, and whether
 * the keyword was union. false when there is none. */
static bool find_body(const char *text, size_t *open, size_t *close, bool *is_union) {
    size_t n = 0;
    int open_comment = 0;
    token *toks = lexer_tokenize(text, strlen(text), &n, &open_comment);
    bool found = false;
    int keyword = -1;
    for (size_t i = 0; toks && i < n && !found; i++) {
        if (token_is(text, &toks[i], "struct") || token_is(text, &toks[i], "union")) keyword = (int)i;
        if (keyword < 0 || !token_is(text, &toks[i], "{")) continue;
        int depth = 0;
        for (size_t k = i; k < n; k++) {
            if (token_is(text, &toks[k], "{")) depth++;
            else if (token_is(text, &toks[k], "}") && --depth == 0) {
                *open = toks[i].end;
                *close = toks[k].start;
                *is_union = token_is(text, &toks[keyword], "union");
                found = true;
                break;
            }
        }
    }
    free(toks);
    return found;
}

static bool has_char_outside_brackets(const char *s, char c) {
    int depth = 0;
    for (; *s; s++) {
        if (*s == '[' || *s == '(') depth++;
        else if (*s == ']' || *s == ')') depth--;
        else if (*s == c && depth == 0) return true;
    }
    return false;
}

static void add_member(described *d, const cell_item *it) {
    if (!it->name || strstr(it->declarator, "[]")) return;  /* a flexible array member has no size */
    member *grown = realloc(d->members, (d->n_members + 1) * sizeof *grown);
    if (!grown) abort();
    d->members = grown;
    member *m = &d->members[d->n_members++];
    m->name = strdup(it->name);
    m->bitfield = has_char_outside_brackets(it->declarator, ':');
    m->maybe_pointer = strpbrk(it->declarator, "*(") != NULL;
}

static void add_type(render_types *t, const cell_item *item);

/* One type definition item with a body: its members, and the named types defined inside. */
static void add_type(render_types *t, const cell_item *item) {
    if (item->kind != ITEM_TYPE || !item->name || strncmp(item->name, "enum ", 5) == 0) return;
    size_t open, close;
    bool is_union;
    if (!find_body(item->text, &open, &close, &is_union) || known(t, item->name)) return;
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 8;
        t->types = realloc(t->types, t->cap * sizeof *t->types);
        if (!t->types) abort();
    }
    described *d = &t->types[t->n++];
    memset(d, 0, sizeof *d);
    d->type = strdup(item->name);
    d->is_union = is_union;
    char *body = strndup(item->text + open, close - open);
    cell members;
    if (body && cell_split(body, NULL, &members, NULL) == 0) {
        size_t self = (size_t)(d - t->types);
        for (size_t i = 0; i < members.n_items; i++) {
            if (members.items[i].kind == ITEM_VARIABLE) add_member(&t->types[self], &members.items[i]);
            else if (members.items[i].kind == ITEM_TYPE) add_type(t, &members.items[i]);  /* may move t->types */
        }
        cell_free(&members);
    }
    free(body);
}

void render_types_add(render_types *t, const char *definition) {
    if (!strchr(definition, '{')) return;
    cell c;
    if (cell_split(definition, NULL, &c, NULL) != 0) return;
    for (size_t i = 0; i < c.n_items; i++) add_type(t, &c.items[i]);
    cell_free(&c);
}

void render_types_emit(const render_types *t, strbuf *src) {
    for (size_t i = 0; i < t->n; i++) strbuf_addf(src, "static const __cl_rtype __cl_rt_t%zu;\n", i);
    strbuf_add(src, "#define __CL_STRUCT_TYPES(x)");
    for (size_t i = 0; i < t->n; i++) strbuf_addf(src, " %s: &__cl_rt_t%zu,", t->types[i].type, i);
    strbuf_add(src, "\n");
    for (size_t i = 0; i < t->n; i++) {
        const described *d = &t->types[i];
        strbuf_addf(src, "static const __cl_rfield __cl_rf_t%zu[%zu] = {", i, d->n_members ? d->n_members : 1);
        for (size_t m = 0; m < d->n_members; m++) {
            const member *f = &d->members[m];
            if (f->bitfield)
                strbuf_addf(src, "{\"%s\", 0, &__cl_rt_bitfield}, ", f->name);
            else
                strbuf_addf(src, "{\"%s\", (unsigned long)&((%s *)0)->%s, %s(((%s *)0)->%s)}, ", f->name, d->type,
                            f->name, f->maybe_pointer ? "__CL_TYPE" : "__CL_DATA", d->type, f->name);
        }
        strbuf_addf(src, "};\nstatic const __cl_rtype __cl_rt_t%zu = {%d, sizeof(%s), 0, 0, __cl_rf_t%zu, %zu};\n", i,
                    d->is_union ? RENDER_UNION : RENDER_STRUCT, d->type, i, d->n_members);
    }
}
