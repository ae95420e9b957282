/* cell.c — splits a cell into top-level items.
 *
 * A cell is read as a sequence of chunks, each ending at a ';' or at the '}' that closes a body,
 * at bracket depth 0. Each chunk is then classified: a directive, a type definition, a function,
 * a prototype, one or more variables, a statement, or (last, with no ';') an expression. The
 * classification only needs the declaration specifiers, so it is a scan over tokens rather than
 * a full C parser: tcc checks everything else. */
#include "cell.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lexer.h"
#include "xalloc.h"

typedef struct splitter {
    int depth;  /* open top-level #if groups */
    const char *src;
    token *toks;
    size_t n;
    const strmap *typedef_names;       /* from earlier cells and headers; may be NULL */
    size_t *match;                     /* per token: the index of its matching bracket */
    char **local_types;                /* typedef names this cell declares, in order */
    size_t n_local_types;
    cell *out;
} splitter;

/* ---------------------------------------------------------------- small helpers */

static char *dup_range(const char *src, size_t start, size_t end) {
    char *s = malloc(end - start + 1);
    if (!s) abort();
    memcpy(s, src + start, end - start);
    s[end - start] = '\0';
    return s;
}

static void set_error(cell_error *err, int line, const char *format, ...) __attribute__((format(printf, 3, 4)));
static void set_error(cell_error *err, int line, const char *format, ...) {
    if (!err) return;
    err->line = line > 0 ? line : 1;
    va_list ap;
    va_start(ap, format);
    vsnprintf(err->text, sizeof err->text, format, ap);
    va_end(ap);
}

static int is(const splitter *sp, size_t i, const char *text) {
    return i < sp->n && token_is(sp->src, &sp->toks[i], text);
}

static int is_ident(const splitter *sp, size_t i) {
    return i < sp->n && sp->toks[i].kind == TOK_IDENT && !token_is_keyword(sp->src, &sp->toks[i]);
}

static char *tok_text(const splitter *sp, size_t i) {
    return dup_range(sp->src, sp->toks[i].start, sp->toks[i].end);
}

/* Source text of tokens [a, b), exactly as written (comments and newlines inside kept). */
static char *span_text(const splitter *sp, size_t a, size_t b) {
    if (a >= b) return strdup("");
    return dup_range(sp->src, sp->toks[a].start, sp->toks[b - 1].end);
}

/* The bracket the token at i is, or 0. */
static char bracket(const splitter *sp, size_t i) {
    if (i >= sp->n || sp->toks[i].kind != TOK_PUNCT || sp->toks[i].end - sp->toks[i].start != 1) return 0;
    char c = sp->src[sp->toks[i].start];
    return strchr("()[]{}", c) ? c : 0;
}

static int is_opener(const splitter *sp, size_t i) {
    char c = bracket(sp, i);
    return c == '(' || c == '[' || c == '{';
}

static int is_closer(const splitter *sp, size_t i) {
    char c = bracket(sp, i);
    return c == ')' || c == ']' || c == '}';
}

/* Index of the token matching the opener at i (check_balance found them all). */
static size_t matching(const splitter *sp, size_t i) {
    return i < sp->n && sp->match ? sp->match[i] : sp->n;
}

static cell_item *new_item(splitter *sp, cell_item_kind kind, int line) {
    cell *c = sp->out;
    size_t n = c->n_items;
    if (n == 0 || (n >= 8 && (n & (n - 1)) == 0)) {  /* room for 8, then doubling at powers of two */
        cell_item *grown = realloc(c->items, (n < 8 ? 8 : 2 * n) * sizeof *grown);
        if (!grown) abort();
        c->items = grown;
    }
    cell_item *it = &c->items[c->n_items++];
    memset(it, 0, sizeof *it);
    it->kind = kind;
    it->line = line;
    it->conditional_depth = sp->depth;
    return it;
}

static void add_also(cell_item *it, char *name) {
    char **grown = realloc(it->also, (it->n_also + 1) * sizeof *grown);
    if (!grown) abort();
    it->also = grown;
    it->also[it->n_also++] = name;
}

/* ---------------------------------------------------------------- balance */

/* Pairs every bracket with its match (sp->match), or says which one has none. */
static int check_balance(splitter *sp, cell_error *err) {
    size_t cap = 16, depth = 0;
    size_t *stack = malloc(cap * sizeof *stack);
    sp->match = malloc((sp->n + 1) * sizeof *sp->match);
    if (!stack || !sp->match) abort();
    for (size_t i = 0; i < sp->n; i++) {
        sp->match[i] = sp->n;
        if (is_opener(sp, i)) {
            if (depth == cap) {
                cap *= 2;
                size_t *grown = realloc(stack, cap * sizeof *grown);
                if (!grown) abort();
                stack = grown;
            }
            stack[depth++] = i;
        } else if (is_closer(sp, i)) {
            const char *want = is(sp, i, ")") ? "(" : is(sp, i, "]") ? "[" : "{";
            if (depth == 0 || !is(sp, stack[depth - 1], want)) {
                set_error(err, sp->toks[i].line, "unexpected '%c'", sp->src[sp->toks[i].start]);
                free(stack);
                return -1;
            }
            depth--;
            sp->match[stack[depth]] = i;
            sp->match[i] = stack[depth];
        }
    }
    if (depth > 0) {
        const token *t = &sp->toks[stack[depth - 1]];
        set_error(err, t->line, "'%c' is never closed", sp->src[t->start]);
        free(stack);
        return -1;
    }
    free(stack);
    return 0;
}

/* ---------------------------------------------------------------- chunks */

static int is_statement_keyword(const splitter *sp, size_t i) {
    static const char *const words[] = {"if", "for", "while", "do", "switch", "return", "break",
                                        "continue", "goto", "case", "default", "else", NULL};
    for (int k = 0; words[k]; k++)
        if (is(sp, i, words[k])) return 1;
    return 0;
}

/* Does the '{' at i (closing at close) end the chunk that started at a? A function body or a
 * compound statement does; a struct/enum body or an initializer does not (a ';' follows). */
static int ends_here(const splitter *sp, size_t a, size_t i, size_t close) {
    for (size_t k = a; k < i; k++) {
        /* an '=' inside an earlier block (`if (a) { x = 1; } else {`) is that block's business */
        if (is(sp, k, "(") || is(sp, k, "[") || is(sp, k, "{")) k = matching(sp, k);
        else if (is(sp, k, "=")) return 0;  /* initializer or compound literal */
    }
    if (is(sp, a, "do") || is(sp, close + 1, "else")) return 0;
    /* `NAME { ... }` can only be a macro that opens a block (CL_WITH_GIL { ... }) */
    if (i == a + 1 && is_ident(sp, a)) return 1;
    return i == a || is(sp, i - 1, ")") || is(sp, i - 1, "else") || is(sp, i - 1, ":");
}

/* Where does the chunk starting at `a` end (exclusive)? Sets *terminated when it ends with ';'
 * or a body's '}', 0 when the cell ran out first (a trailing expression). */
static size_t chunk_end(const splitter *sp, size_t a, int *terminated) {
    *terminated = 1;
    for (size_t i = a; i < sp->n; i++) {
        if (sp->toks[i].kind == TOK_DIRECTIVE) {
            if (i == a) return i + 1;
            continue;  /* a directive inside a chunk (e.g. #ifdef in a body) stays with it */
        }
        if (is(sp, i, "(") || is(sp, i, "[")) {
            i = matching(sp, i);
            continue;
        }
        if (is(sp, i, ";")) {
            if (is(sp, i + 1, "else")) continue;
            return i + 1;
        }
        if (is(sp, i, "{")) {
            size_t close = matching(sp, i);
            if (ends_here(sp, a, i, close)) return close + 1;
            i = close;
            continue;
        }
    }
    *terminated = 0;
    return sp->n;
}

/* ---------------------------------------------------------------- declarations */

static const char *const storage_words[] = {"typedef", "extern", "static", "inline", "__inline",
                                            "__inline__", "_Noreturn", "register", "auto",
                                            "_Thread_local", "__extension__", NULL};
static const char *const qualifier_words[] = {"const", "volatile", "restrict", "__restrict",
                                              "__restrict__", "__const", "_Atomic", "__volatile__",
                                              NULL};
static const char *const base_type_words[] = {"void", "char", "short", "int", "long", "float",
                                              "double", "signed", "unsigned", "_Bool", "_Complex",
                                              "__signed__", "__int128", NULL};
/* Type names from standard headers that a cell uses before any of our tables could know them. */
static const char *const common_type_names[] = {"FILE", "DIR", "bool", "jmp_buf", "sigjmp_buf",
                                                "va_list", "fd_set", "pthread_t", "uv_loop_t", NULL};

static int in_list(const splitter *sp, size_t i, const char *const *list) {
    for (int k = 0; list[k]; k++)
        if (is(sp, i, list[k])) return 1;
    return 0;
}

static int is_known_type_name(const splitter *sp, size_t i) {
    if (!is_ident(sp, i)) return 0;
    const token *t = &sp->toks[i];
    size_t len = t->end - t->start;
    if (len > 2 && memcmp(sp->src + t->end - 2, "_t", 2) == 0) return 1;
    if (in_list(sp, i, common_type_names)) return 1;
    for (size_t k = 0; k < sp->n_local_types; k++)
        if (token_is(sp->src, t, sp->local_types[k])) return 1;
    return sp->typedef_names && strmap_getn(sp->typedef_names, sp->src + t->start, len) != NULL;
}

/* Is the identifier at i a typedef name starting a declaration? Two identifiers in a row only
 * occur in declarations (`pthread_t tid`); a known type name may also be followed by '*' or a
 * qualifier. A call such as `cl_sleep(x);` or `size_of_t(3);` is never taken for one. */
static int typedef_name_here(const splitter *sp, size_t i, int has_storage) {
    if (!is_ident(sp, i)) return 0;
    if (is_ident(sp, i + 1)) return 1;
    int known = is_known_type_name(sp, i);
    if (is(sp, i + 1, "*")) return known || has_storage;
    if (in_list(sp, i + 1, qualifier_words)) return known || has_storage;
    return known && is(sp, i + 1, "(") && is(sp, i + 2, "*");  /* `handler_t (*table)[4]` */
}

/* The declaration specifiers at the start of [a, b): storage classes, qualifiers, attributes,
 * one base type (keywords, struct/union/enum with an optional body, typeof, or a typedef name). */
typedef struct specifiers {
    size_t end;          /* first token after the specifiers */
    int has_type;        /* a base type or typedef name was seen */
    int has_storage;     /* typedef/extern/static/inline... was seen */
    int is_typedef, is_extern;
    size_t tag_kw;       /* index of struct/union/enum, or (size_t)-1 */
    size_t body_open;    /* index of the '{' of a struct/union/enum body, or (size_t)-1 */
} specifiers;

static specifiers scan_specifiers(const splitter *sp, size_t a, size_t b) {
    specifiers s = {a, 0, 0, 0, 0, (size_t)-1, (size_t)-1};
    size_t i = a;
    while (i < b) {
        if (in_list(sp, i, storage_words)) {
            s.has_storage = 1;
            if (is(sp, i, "typedef")) s.is_typedef = 1;
            if (is(sp, i, "extern")) s.is_extern = 1;
            i++;
        } else if (in_list(sp, i, qualifier_words)) {
            i++;
        } else if ((is(sp, i, "__attribute__") || is(sp, i, "_Alignas") || is(sp, i, "__declspec")) &&
                   is(sp, i + 1, "(")) {
            i = matching(sp, i + 1) + 1;
        } else if (in_list(sp, i, base_type_words)) {
            s.has_type = 1;
            i++;
        } else if ((is(sp, i, "typeof") || is(sp, i, "__typeof__")) && is(sp, i + 1, "(")) {
            s.has_type = 1;
            i = matching(sp, i + 1) + 1;
        } else if (is(sp, i, "struct") || is(sp, i, "union") || is(sp, i, "enum")) {
            s.has_type = 1;
            s.tag_kw = i++;
            while (is(sp, i, "__attribute__") && is(sp, i + 1, "(")) i = matching(sp, i + 1) + 1;
            if (is_ident(sp, i)) i++;
            if (is(sp, i, "{")) {
                s.body_open = i;
                i = matching(sp, i) + 1;
            }
        } else if (!s.has_type && typedef_name_here(sp, i, s.has_storage)) {
            s.has_type = 1;
            i++;
        } else {
            break;
        }
    }
    s.end = i;
    return s;
}

/* `X * y;` where X is unknown: multiplying for no effect is useless, so it is a declaration. */
static int looks_like_pointer_declaration(const splitter *sp, size_t a, size_t b) {
    size_t i = a + 1;
    if (!is_ident(sp, a)) return 0;
    while (is(sp, i, "*") || is(sp, i, "const")) i++;
    if (i == a + 1 || !is_ident(sp, i)) return 0;
    i++;
    return i < b && (is(sp, i, ";") || is(sp, i, "=") || is(sp, i, ",") || is(sp, i, "["));
}

/* `X *name(params) { ... }` where X is unknown (a typedef from a header: `cl_thread *start(void) {`):
 * a '{' right after a call cannot follow an expression, so it is a function returning a pointer. */
static int looks_like_pointer_function(const splitter *sp, size_t a, size_t b) {
    size_t i = a + 1;
    if (!is_ident(sp, a)) return 0;
    while (is(sp, i, "*") || is(sp, i, "const")) i++;
    if (i == a + 1 || !is_ident(sp, i) || !is(sp, i + 1, "(")) return 0;
    size_t close = matching(sp, i + 1);
    return close + 1 < b && is(sp, close + 1, "{");
}

/* The declared name inside declarator tokens [a, b): the first identifier that is not directly
 * followed by another identifier and not a parameter. `(*fp)(int)` -> fp, `names[10]` -> names. */
static size_t declarator_name(const splitter *sp, size_t a, size_t b) {
    for (size_t i = a; i < b; i++) {
        if (is(sp, i, "[")) {
            i = matching(sp, i);
            continue;
        }
        if (is(sp, i, "(") && i > a && (is_ident(sp, i - 1) || is(sp, i - 1, ")") || is(sp, i - 1, "]")))
            return (size_t)-1;  /* reached a parameter list before any name */
        if (is_ident(sp, i) && !in_list(sp, i, qualifier_words)) {
            if (is(sp, i, "__attribute__") && is(sp, i + 1, "(")) {
                i = matching(sp, i + 1);
                continue;
            }
            return i;
        }
    }
    return (size_t)-1;
}

/* Is the declarator [a, b) with its name at `name` a function? C reads a declarator from the
 * name outwards, suffixes before prefixes: the name is a function when the first thing applied to
 * it is a parameter list. A `*` in parentheses around the name comes first (`(*fp)(int)`: a
 * pointer to a function); a `*` outside them comes last (`*worker(void *arg)` and
 * `(*pick(int))(int)`: functions returning pointers). */
static int declarator_is_function(const splitter *sp, size_t a, size_t b, size_t name) {
    size_t group_start = name;  /* the leftmost token of the parentheses around the name so far */
    size_t i = name + 1;
    while (i < b && is(sp, i, ")")) {
        int depth = 0;
        for (size_t k = group_start; k-- > a;) {
            if (is(sp, k, ")")) {
                depth++;
            } else if (is(sp, k, "(")) {
                if (depth-- == 0) {
                    group_start = k;
                    break;
                }
            } else if (depth == 0 && is(sp, k, "*")) {
                return 0;  /* a pointer inside the parentheses: applied before what follows them */
            }
        }
        i++;
    }
    return i < b && is(sp, i, "(");
}

/* Specifier text with storage classes dropped: `static inline int` -> `int`. The body of a
 * struct/union/enum is replaced by its tag when the tag exists (the body becomes its own item). */
static char *specifier_text(const splitter *sp, size_t a, const specifiers *s, int keep_body) {
    size_t cap = 64, len = 0;
    char *out = malloc(cap);
    if (!out) abort();
    out[0] = '\0';
    for (size_t i = a; i < s->end; i++) {
        size_t piece_end = i + 1;
        if (in_list(sp, i, storage_words)) continue;
        if (i == s->body_open) {
            int tagged = s->tag_kw != (size_t)-1 && is_ident(sp, s->tag_kw + 1);
            if (tagged && !keep_body) {
                i = matching(sp, i);
                continue;
            }
            piece_end = matching(sp, i) + 1;
        } else if (is(sp, i + 1, "(") && (is(sp, i, "__attribute__") || is(sp, i, "_Alignas") ||
                                          is(sp, i, "typeof") || is(sp, i, "__typeof__"))) {
            piece_end = matching(sp, i + 1) + 1;
        }
        char *piece = span_text(sp, i, piece_end);
        size_t n = strlen(piece);
        if (len + n + 2 > cap) {
            while (len + n + 2 > cap) cap *= 2;
            char *grown = realloc(out, cap);
            if (!grown) abort();
            out = grown;
        }
        if (len) out[len++] = ' ';
        memcpy(out + len, piece, n + 1);
        len += n;
        free(piece);
        i = piece_end - 1;
    }
    return out;
}

static void add_enum_constants(const splitter *sp, size_t open, cell_item *it) {
    size_t close = matching(sp, open);
    int expect_name = 1;
    for (size_t i = open + 1; i < close; i++) {
        if (is(sp, i, "(") || is(sp, i, "[") || is(sp, i, "{")) {
            i = matching(sp, i);
        } else if (is(sp, i, ",")) {
            expect_name = 1;
        } else if (expect_name && is_ident(sp, i)) {
            add_also(it, tok_text(sp, i));
            expect_name = 0;
        }
    }
}

/* `struct point { ... }` seen in the specifiers becomes an item of its own. */
static void emit_tag_definition(splitter *sp, size_t a, const specifiers *s, int standalone,
                                size_t b) {
    if (s->body_open == (size_t)-1) return;
    int tagged = is_ident(sp, s->tag_kw + 1);
    if (!tagged && !standalone && !is(sp, s->tag_kw, "enum")) return;  /* stays in the variable */
    cell_item *it = new_item(sp, ITEM_TYPE, sp->toks[a].line);
    if (standalone) {
        it->text = span_text(sp, a, b);
    } else {
        char *spec = specifier_text(sp, a, s, 1);
        it->text = xasprintf("%s;", spec);
        free(spec);
    }
    if (tagged) it->name = xasprintf("%.*s %.*s", (int)(sp->toks[s->tag_kw].end - sp->toks[s->tag_kw].start),
                               sp->src + sp->toks[s->tag_kw].start,
                               (int)(sp->toks[s->tag_kw + 1].end - sp->toks[s->tag_kw + 1].start),
                               sp->src + sp->toks[s->tag_kw + 1].start);
    if (is(sp, s->tag_kw, "enum")) add_enum_constants(sp, s->body_open, it);
}

static void remember_local_type(splitter *sp, const char *name) {
    char **grown = realloc(sp->local_types, (sp->n_local_types + 1) * sizeof *grown);
    if (!grown) abort();
    sp->local_types = grown;
    sp->local_types[sp->n_local_types++] = strdup(name);
}

/* typedef ... name1, *name2; : one type item naming every declared typedef. A tagged body
 * (`typedef struct point {...} point;`) becomes its own item first, so redefining `struct point`
 * later replaces the struct without losing the typedef. */
static void emit_typedef(splitter *sp, size_t a, size_t b, const specifiers *s) {
    int tagged_body = s->body_open != (size_t)-1 && is_ident(sp, s->tag_kw + 1);
    if (tagged_body) emit_tag_definition(sp, a, s, 0, b);
    cell_item *it = new_item(sp, ITEM_TYPE, sp->toks[a].line);
    if (tagged_body) {
        char *spec = specifier_text(sp, a, s, 0);
        char *rest = span_text(sp, s->end, b);
        it->text = xasprintf("typedef %s %s", spec, rest);
        free(spec);
        free(rest);
    } else {
        it->text = span_text(sp, a, b);
    }
    size_t start = s->end;
    for (size_t i = s->end; i <= b; i++) {
        if (i < b && is_opener(sp, i)) {
            i = matching(sp, i);
            continue;
        }
        if (i == b || is(sp, i, ",") || is(sp, i, ";")) {
            size_t name = declarator_name(sp, start, i);
            if (name != (size_t)-1) {
                char *n = tok_text(sp, name);
                remember_local_type(sp, n);
                if (!it->name) it->name = n;
                else add_also(it, n);
            }
            start = i + 1;
        }
    }
    if (!tagged_body && s->tag_kw != (size_t)-1 && is(sp, s->tag_kw, "enum") && s->body_open != (size_t)-1)
        add_enum_constants(sp, s->body_open, it);
}

static void emit_function(splitter *sp, size_t a, const specifiers *s, size_t d0, size_t d1,
                          size_t name, size_t body_end) {
    int has_body = is(sp, d1, "{");
    cell_item *it = new_item(sp, has_body ? ITEM_FUNCTION : ITEM_PROTOTYPE, sp->toks[a].line);
    char *spec = specifier_text(sp, a, s, 0);
    char *decl = span_text(sp, d0, d1);
    it->prototype = xasprintf("%s %s", spec, decl);
    it->name_offset = strlen(spec) + 1 + (sp->toks[name].start - sp->toks[d0].start);
    free(spec);
    free(decl);
    it->name = tok_text(sp, name);
    it->text = span_text(sp, a, body_end);
    it->is_extern = s->is_extern;
    if (has_body) {
        it->body = span_text(sp, d1, body_end);
        it->body_line = sp->toks[d1].line;
    }
}

static void emit_variable(splitter *sp, size_t a, size_t b, const specifiers *s, size_t d0,
                          size_t d1, size_t name) {
    cell_item *it = new_item(sp, ITEM_VARIABLE, sp->toks[d0].line);
    it->text = span_text(sp, a, b);
    it->specifiers = specifier_text(sp, a, s, 0);
    it->name = tok_text(sp, name);
    it->is_extern = s->is_extern;
    size_t eq = d1;
    for (size_t i = d0; i < d1; i++) {
        if (is(sp, i, "(") || is(sp, i, "[")) i = matching(sp, i);
        else if (is(sp, i, "=")) {
            eq = i;
            break;
        }
    }
    it->declarator = span_text(sp, d0, eq);
    if (eq < d1) it->initializer = span_text(sp, eq + 1, d1);
}

/* A declaration [a, b): split its declarators at depth-0 commas. */
static void emit_declaration(splitter *sp, size_t a, size_t b, const specifiers *s) {
    if (s->is_typedef) {
        emit_typedef(sp, a, b, s);
        return;
    }
    size_t stop = b;
    if (is(sp, b - 1, ";")) stop = b - 1;
    if (s->end >= stop) {  /* `struct point { ... };` or `enum { A, B };` alone */
        emit_tag_definition(sp, a, s, 1, b);
        return;
    }
    emit_tag_definition(sp, a, s, 0, b);
    size_t d0 = s->end;
    int in_initializer = 0;
    for (size_t i = s->end; i <= stop; i++) {
        if (i < stop && is(sp, i, "=")) in_initializer = 1;
        if (i < stop && is(sp, i, "{") && !in_initializer) {  /* a function body ends it */
            size_t name = declarator_name(sp, d0, i);
            if (name != (size_t)-1) emit_function(sp, a, s, d0, i, name, matching(sp, i) + 1);
            return;
        }
        if (i < stop && is_opener(sp, i)) {
            i = matching(sp, i);
            continue;
        }
        if (i == stop || is(sp, i, ",")) {
            size_t name = declarator_name(sp, d0, i);
            if (name != (size_t)-1) {
                if (declarator_is_function(sp, d0, i, name))
                    emit_function(sp, a, s, d0, i, name, b);
                else
                    emit_variable(sp, a, b, s, d0, i, name);
            }
            d0 = i + 1;
            in_initializer = 0;
        }
    }
}

/* ---------------------------------------------------------------- classification */

static int starts_with_word(const char *p, const char *word) {
    size_t n = strlen(word);
    return strncmp(p, word, n) == 0 && !(p[n] == '_' || (p[n] >= 'a' && p[n] <= 'z') ||
                                         (p[n] >= 'A' && p[n] <= 'Z') || (p[n] >= '0' && p[n] <= '9'));
}

static void emit_directive(splitter *sp, size_t i) {
    cell_item *it = new_item(sp, ITEM_DIRECTIVE, sp->toks[i].line);
    it->text = tok_text(sp, i);
    const char *p = it->text + 1;
    while (*p == ' ' || *p == '\t') p++;
    int opens = starts_with_word(p, "if") || starts_with_word(p, "ifdef") || starts_with_word(p, "ifndef");
    int middle = starts_with_word(p, "elif") || starts_with_word(p, "else");
    int closes = starts_with_word(p, "endif");
    it->is_conditional = opens || middle || closes;
    if (opens) sp->depth++;
    if ((middle || closes) && sp->depth > 0) it->conditional_depth = sp->depth - 1;
    if (closes && sp->depth > 0) sp->depth--;
    if (strncmp(p, "define", 6) == 0 || strncmp(p, "undef", 5) == 0) {
        p += p[0] == 'd' ? 6 : 5;
        while (*p == ' ' || *p == '\t') p++;
        size_t n = 0;
        while (p[n] == '_' || (p[n] >= 'a' && p[n] <= 'z') || (p[n] >= 'A' && p[n] <= 'Z') ||
               (p[n] >= '0' && p[n] <= '9'))
            n++;
        if (n) it->name = xasprintf("%.*s", (int)n, p);
    }
}

static void classify(splitter *sp, size_t a, size_t b, int terminated) {
    if (is(sp, a, "_Static_assert") || is(sp, a, "static_assert")) {
        new_item(sp, ITEM_TYPE, sp->toks[a].line)->text = span_text(sp, a, b);
        return;
    }
    if (!is_statement_keyword(sp, a) && !is(sp, a, "{")) {
        specifiers s = scan_specifiers(sp, a, b);
        int declaration = s.has_type || s.has_storage;
        if (!declaration && terminated &&
            (looks_like_pointer_declaration(sp, a, b) || looks_like_pointer_function(sp, a, b))) {
            s.has_type = 1;
            s.end = a + 1;
            declaration = 1;
        }
        if (declaration) {
            emit_declaration(sp, a, b, &s);
            return;
        }
    }
    cell_item *it = new_item(sp, terminated ? ITEM_STATEMENT : ITEM_EXPRESSION, sp->toks[a].line);
    it->text = span_text(sp, a, b);
}

int cell_split(const char *code, const strmap *typedef_names, cell *out, cell_error *err) {
    memset(out, 0, sizeof *out);
    if (err) *err = (cell_error){0, ""};
    splitter sp = {.src = code, .typedef_names = typedef_names, .out = out};
    int open_comment = 0;
    sp.toks = lexer_tokenize(code, strlen(code), &sp.n, &open_comment);
    if (!sp.toks) abort();
    int rc = check_balance(&sp, err);
    for (size_t i = 0; rc == 0 && i < sp.n; i++) {
        if (sp.toks[i].unterminated) {
            set_error(err, sp.toks[i].line, "%s is never closed",
                      sp.toks[i].kind == TOK_CHAR ? "a character constant" : "a string");
            rc = -1;
        }
    }
    if (rc == 0 && open_comment) {
        set_error(err, open_comment, "a /* comment is never closed");
        rc = -1;
    }
    for (size_t a = 0; rc == 0 && a < sp.n;) {
        if (is(&sp, a, ";")) {  /* a stray semicolon is an empty declaration */
            a++;
            continue;
        }
        if (sp.toks[a].kind == TOK_DIRECTIVE) {
            emit_directive(&sp, a++);
            continue;
        }
        int terminated;
        size_t b = chunk_end(&sp, a, &terminated);
        classify(&sp, a, b, terminated);
        a = b;
    }
    for (size_t k = 0; k < sp.n_local_types; k++) free(sp.local_types[k]);
    free(sp.local_types);
    free(sp.toks);
    free(sp.match);
    if (rc != 0) cell_free(out);
    return rc;
}

void cell_free(cell *c) {
    for (size_t i = 0; i < c->n_items; i++) {
        cell_item *it = &c->items[i];
        free(it->text);
        free(it->name);
        for (size_t k = 0; k < it->n_also; k++) free(it->also[k]);
        free(it->also);
        free(it->specifiers);
        free(it->declarator);
        free(it->initializer);
        free(it->prototype);
        free(it->body);
    }
    free(c->items);
    memset(c, 0, sizeof *c);
}

const char *cell_item_kind_name(cell_item_kind kind) {
    static const char *const names[] = {"directive", "type", "function", "prototype",
                                        "variable", "statement", "expression"};
    return (unsigned)kind < sizeof names / sizeof names[0] ? names[kind] : "?";
}

/* ---------------------------------------------------------------- completeness */

static void set_indent(char *indent, size_t size, size_t depth) {
    size_t n = depth * 4;
    if (n + 1 > size) n = size ? size - 1 : 0;
    if (size) {
        memset(indent, ' ', n);
        indent[n] = '\0';
    }
}

cell_completeness cell_check_complete(const char *code, char *indent, size_t indent_size) {
    size_t n = 0, len = strlen(code);
    int open_comment = 0;
    set_indent(indent, indent_size, 0);
    token *toks = lexer_tokenize(code, len, &n, &open_comment);
    if (!toks) return CELL_INCOMPLETE;
    char stack[256];
    size_t depth = 0, overflow = 0;
    cell_completeness verdict = CELL_COMPLETE;
    for (size_t i = 0; i < n && verdict != CELL_INVALID; i++) {
        const token *t = &toks[i];
        char c = code[t->start];
        if (t->kind == TOK_OTHER && (c == '@' || c == '`')) {
            verdict = CELL_INVALID;  /* characters C has no use for outside strings */
        } else if (t->kind == TOK_PUNCT && t->end - t->start == 1 && strchr("([{", c)) {
            if (depth < sizeof stack) stack[depth++] = c;
            else overflow++;
        } else if (t->kind == TOK_PUNCT && t->end - t->start == 1 && strchr(")]}", c)) {
            char want = c == ')' ? '(' : c == ']' ? '[' : '{';
            if (overflow) overflow--;
            else if (depth == 0 || stack[depth - 1] != want) verdict = CELL_INVALID;
            else depth--;
        } else if (t->unterminated && i + 1 == n) {
            verdict = CELL_INCOMPLETE;  /* a string or a directive still being typed */
        }
    }
    free(toks);
    if (verdict == CELL_INVALID) return verdict;
    size_t trimmed = len;
    while (trimmed > 0 && (code[trimmed - 1] == ' ' || code[trimmed - 1] == '\t')) trimmed--;
    int continued = trimmed > 0 && code[trimmed - 1] == '\\';
    if (open_comment || depth + overflow > 0 || continued) {
        set_indent(indent, indent_size, depth + overflow);
        return CELL_INCOMPLETE;
    }
    return verdict;
}
