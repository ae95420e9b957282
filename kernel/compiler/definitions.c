/* definitions.c — the notebook's definitions in order, found by key, and the closure a cell
 * needs. Replacing a definition leaves a hole in the order; holes are squeezed out once they
 * outnumber the living, so indices stay stable between two compactions. */
#define _GNU_SOURCE /* memmem */
#include "definitions.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lexer.h"
#include "strbuf.h"
#include "xalloc.h"

void definitions_init(definitions *d) { memset(d, 0, sizeof *d); }

static void free_strings(char **list, size_t n) {
    for (size_t i = 0; i < n; i++) free(list[i]);
    free(list);
}

static void definition_free(definition *def) {
    free_strings(def->keys, def->n_keys);
    free(def->uses);
    free(def->text);
    free(def->kind);
    free(def->declaration);
    memset(def, 0, sizeof *def);
}

void definitions_free(definitions *d) {
    for (size_t i = 0; i < d->n; i++) definition_free(&d->items[i]);
    free(d->items);
    strmap_free(&d->by_key);
    memset(d, 0, sizeof *d);
}

static size_t index_of(const definitions *d, const char *key) {
    return (size_t)(uintptr_t)strmap_get(&d->by_key, key);  /* index + 1, or 0 */
}

definition *definitions_find(const definitions *d, const char *key) {
    size_t at = index_of(d, key);
    return at ? &d->items[at - 1] : NULL;
}

size_t definitions_index(const definitions *d, const definition *def) { return (size_t)(def - d->items); }

/* ---------------------------------------------------------------- uses */

/* The names seen so far in one scan. A definition mentions a handful, so a short list searched
 * in order does; a whole cell mentions thousands, so past a few dozen a hash map takes over. */
typedef struct scan {
    void (*fn)(void *ctx, const char *name);
    void *ctx;
    bool pastes;
    const char *few[32];     /* copies in pool: a tag's name lives in a buffer that is reused */
    size_t few_len[32], n_few;
    char pool[2048];
    size_t pool_used;
    strmap many;
    bool using_map;
} scan;

static bool seen_before(scan *sc, const char *name, size_t len) {
    if (sc->using_map) {
        if (strmap_getn(&sc->many, name, len)) return true;
        char key[512];
        if (len >= sizeof key) return false;
        memcpy(key, name, len);
        key[len] = '\0';
        strmap_put(&sc->many, key, (void *)1);
        return false;
    }
    for (size_t i = 0; i < sc->n_few; i++)
        if (sc->few_len[i] == len && memcmp(sc->few[i], name, len) == 0) return true;
    if (sc->n_few < 32 && len <= sizeof sc->pool - sc->pool_used) {
        char *kept = sc->pool + sc->pool_used;
        memcpy(kept, name, len);
        sc->pool_used += len;
        sc->few[sc->n_few] = kept;
        sc->few_len[sc->n_few++] = len;
        return false;
    }
    sc->using_map = true;  /* move the few into the map, then carry on there */
    for (size_t i = 0; i < sc->n_few; i++) seen_before(sc, sc->few[i], sc->few_len[i]);
    return seen_before(sc, name, len);
}

static void use(scan *sc, const char *name, size_t len) {
    char copy[512];
    if (len >= sizeof copy || seen_before(sc, name, len)) return;
    memcpy(copy, name, len);
    copy[len] = '\0';
    sc->fn(sc->ctx, copy);
}

static bool is_tag_keyword(const char *src, const token *t) {
    return token_is(src, t, "struct") || token_is(src, t, "union") || token_is(src, t, "enum");
}

static void scan_source(scan *sc, const char *src, size_t len);

/* A preprocessor line: what its replacement text and conditions mention. Includes name files. */
static void scan_directive(scan *sc, const char *src, const token *t) {
    const char *p = src + t->start + 1, *end = src + t->end;
    while (p < end && (*p == ' ' || *p == '\t')) p++;
    if ((size_t)(end - p) >= 7 && strncmp(p, "include", 7) == 0) return;
    if (memmem(p, (size_t)(end - p), "##", 2)) sc->pastes = true;
    scan_source(sc, p, (size_t)(end - p));
}

/* Tokens one at a time: a tag keyword waits for the name after it. */
static void scan_source(scan *sc, const char *src, size_t len) {
    lexer lx;
    lexer_init(&lx, src, len);
    token tag = {0};
    for (token t = lexer_next(&lx); t.kind != TOK_EOF; t = lexer_next(&lx)) {
        if (tag.kind == TOK_IDENT && t.kind == TOK_IDENT) {
            char name[512];
            int k = snprintf(name, sizeof name, "%.*s %.*s", (int)(tag.end - tag.start), src + tag.start,
                             (int)(t.end - t.start), src + t.start);
            tag.kind = TOK_EOF;
            if (k > 0 && (size_t)k < sizeof name) use(sc, name, (size_t)k);
            continue;
        }
        tag.kind = TOK_EOF;
        if (t.kind == TOK_DIRECTIVE) scan_directive(sc, src, &t);
        else if (t.kind == TOK_IDENT && is_tag_keyword(src, &t)) tag = t;
        else if (t.kind == TOK_IDENT && !token_is_keyword(src, &t)) use(sc, src + t.start, t.end - t.start);
    }
}

void definitions_scan_uses(const char *text, void (*fn)(void *ctx, const char *name), void *ctx, bool *pastes) {
    scan sc = {.fn = fn, .ctx = ctx};
    scan_source(&sc, text, strlen(text));
    strmap_free(&sc.many);
    if (pastes) *pastes = sc.pastes;
}

/* A definition's uses, packed: "x\0struct point\0..." in one block. */
typedef struct use_list {
    strbuf packed;
    size_t n;
} use_list;

static void collect_use(void *ctx, const char *name) {
    use_list *l = ctx;
    strbuf_addn(&l->packed, name, strlen(name) + 1);
    l->n++;
}

/* ---------------------------------------------------------------- adding */

static void map_keys(definitions *d, size_t at) {
    const definition *def = &d->items[at];
    for (size_t k = 0; k < def->n_keys; k++) strmap_put(&d->by_key, def->keys[k], (void *)(uintptr_t)(at + 1));
}

/* Forgets the keys that still lead to `at`. */
static void unmap_keys(definitions *d, size_t at) {
    const definition *def = &d->items[at];
    for (size_t k = 0; k < def->n_keys; k++)
        if (index_of(d, def->keys[k]) == at + 1) strmap_remove(&d->by_key, def->keys[k]);
}

static void make_hole(definitions *d, size_t at) {
    unmap_keys(d, at);
    definition_free(&d->items[at]);
    d->holes++;
}

/* Squeezes the holes out once they are the majority: indices change, so the map is rebuilt. */
static void compact(definitions *d) {
    if (d->holes < 64 || d->holes * 2 < d->n) return;
    size_t kept = 0;
    d->last_directive = 0;
    strmap_free(&d->by_key);
    for (size_t i = 0; i < d->n; i++) {
        if (!d->items[i].live) continue;
        d->items[kept] = d->items[i];
        map_keys(d, kept);
        if (d->items[kept].is_directive) d->last_directive = kept + 1;
        kept++;
    }
    d->n = kept;
    d->holes = 0;
}

void definitions_put(definitions *d, definition fresh) {
    use_list uses = {{0}, 0};
    definitions_scan_uses(fresh.text ? fresh.text : "", collect_use, &uses, &fresh.pastes);
    fresh.uses = uses.n ? strbuf_take(&uses.packed) : NULL;
    fresh.n_uses = uses.n;
    fresh.live = true;
    fresh.mark = 0;

    /* the first (earliest) old definition sharing a key is the slot; the others go */
    size_t slot = 0;
    for (size_t k = 0; k < fresh.n_keys; k++) {
        size_t at = index_of(d, fresh.keys[k]);
        if (at && (!slot || at < slot)) slot = at;
    }
    for (size_t k = 0; k < fresh.n_keys; k++) {
        size_t at = index_of(d, fresh.keys[k]);
        if (at && at != slot) make_hole(d, at - 1);
    }
    if (slot) {
        unmap_keys(d, slot - 1);
        definition_free(&d->items[slot - 1]);
        d->items[slot - 1] = fresh;
    } else {
        if (d->n == d->cap) {
            d->cap = d->cap ? d->cap * 2 : 64;
            d->items = xrealloc(d->items, d->cap * sizeof *d->items);
        }
        d->items[d->n++] = fresh;
        slot = d->n;
    }
    map_keys(d, slot - 1);
    if (fresh.is_directive && slot > d->last_directive) d->last_directive = slot;
    compact(d);
}

/* ---------------------------------------------------------------- closure */

typedef struct closure {
    definitions *d;
    size_t *stack, n_stack;
    size_t *found, n_found;
    bool pastes;
} closure;

static void reach(closure *c, size_t at) {
    definition *def = &c->d->items[at];
    if (!def->live || def->mark == c->d->closures) return;
    def->mark = c->d->closures;
    c->stack = xrealloc(c->stack, (c->n_stack + 1) * sizeof *c->stack);
    c->stack[c->n_stack++] = at;
    c->found = xrealloc(c->found, (c->n_found + 1) * sizeof *c->found);
    c->found[c->n_found++] = at;
}

/* A name reaches what defines it: "x" a variable, function, type or enum constant, or a macro
 * (key "#x"); "struct point" its tag. */
static void reach_name(closure *c, const char *name) {
    size_t at = index_of(c->d, name);
    if (at) reach(c, at - 1);
    if (!strchr(name, ' ')) {
        char macro[512];
        if (snprintf(macro, sizeof macro, "#%s", name) < (int)sizeof macro && (at = index_of(c->d, macro)))
            reach(c, at - 1);
    }
}

static int by_index(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

size_t *definitions_needed(definitions *d, char *const *names, size_t n_names, size_t *n, bool *pastes) {
    closure c = {.d = d};
    d->closures++;
    /* #include lines always; and the macros before the last of them, which the headers may read
     * (_GNU_SOURCE, NDEBUG) */
    for (size_t i = 0; i < d->last_directive; i++)
        if (d->items[i].live && (d->items[i].is_directive || d->items[i].is_macro)) reach(&c, i);
    for (size_t i = 0; i < n_names; i++) reach_name(&c, names[i]);
    while (c.n_stack) {
        const definition *def = &d->items[c.stack[--c.n_stack]];
        c.pastes |= def->pastes;
        const char *u = def->uses;
        for (size_t k = 0; k < def->n_uses; k++, u += strlen(u) + 1) reach_name(&c, u);
    }
    free(c.stack);
    if (c.n_found > 1) qsort(c.found, c.n_found, sizeof *c.found, by_index);
    *n = c.n_found;
    *pastes = c.pastes;
    return c.found;
}
