/* complete.c — completion for complete_request: what the cursor is completing, and candidates
 * from C keywords, the notebook's own definitions, the runtime API, the names the notebook's
 * headers declare, and (inside #include <...>) header files.
 *
 * The names a header declares are found the way a reader would: tcc preprocesses the notebook's
 * #include lines (-dD keeps the #defines), and a light scan of the output picks the name out of
 * each top-level declaration. It runs once per distinct include list. */
#include "complete.h"
#include "engine_internal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lexer.h"
#include "library_docs.h"
#include "man_pages.h"
#include "runtime_paths.h"
#include "strbuf.h"
#include "monotonic.h"

#ifndef CONCLAB_TCC_BINARY
#define CONCLAB_TCC_BINARY "/usr/bin/tcc"
#endif

extern char **environ;

/* ---- cursor arithmetic ------------------------------------------------------------------- */

static bool is_continuation_byte(unsigned char c) {
    return (c & 0xC0) == 0x80;
}

static bool is_ident_char(char c) {
    return c == '_' || isalnum((unsigned char)c);
}

size_t complete_byte_offset(const char *code, int cursor) {
    size_t i = 0;
    int points = 0;
    if (cursor <= 0) return 0;
    for (; code[i]; i++) {
        if (is_continuation_byte((unsigned char)code[i])) continue;
        if (points == cursor) return i;
        points++;
    }
    return i;
}

int complete_code_points(const char *code, size_t bytes) {
    int points = 0;
    for (size_t i = 0; i < bytes && code[i]; i++)
        if (!is_continuation_byte((unsigned char)code[i])) points++;
    return points;
}

/* ---- what the cursor is completing ------------------------------------------------------- */

static size_t skip_blanks(const char *code, size_t p, size_t end) {
    while (p < end && (code[p] == ' ' || code[p] == '\t')) p++;
    return p;
}

/* On a line starting with '#': the directive's name, or the path of an #include. Returns false
 * when the cursor is past those (e.g. in "#define NAME"), where C names are completed. */
static bool directive_word(const char *code, size_t line, size_t end, complete_word *w) {
    size_t p = skip_blanks(code, line, end);
    if (p == end || code[p] != '#') return false;
    size_t word = p = skip_blanks(code, p + 1, end);
    while (p < end && is_ident_char(code[p])) p++;
    if (p == end) {
        w->context = COMPLETE_DIRECTIVE;
        w->start = word;
        return true;
    }
    if (p - word != 7 || strncmp(code + word, "include", 7) != 0) return false;
    p = skip_blanks(code, p, end);
    if (p == end) {  /* "#include |": the path needs its '<' or '"' first */
        w->context = COMPLETE_NONE;
        w->start = end;
        return true;
    }
    if (code[p] != '<' && code[p] != '"') return false;
    char close = code[p] == '<' ? '>' : '"';
    if (memchr(code + p + 1, close, end - p - 1)) return false;  /* the path is closed */
    w->context = COMPLETE_HEADER;
    w->start = p + 1;
    return true;
}

static bool after_member_access(const char *code, size_t line, size_t start) {
    size_t p = start;
    while (p > line && (code[p - 1] == ' ' || code[p - 1] == '\t')) p--;
    if (p > line && code[p - 1] == '.') return true;
    return p > line + 1 && code[p - 1] == '>' && code[p - 2] == '-';
}

complete_word complete_word_at(const char *code, int cursor) {
    size_t end = complete_byte_offset(code, cursor);
    size_t line = end;
    while (line > 0 && code[line - 1] != '\n') line--;
    complete_word w = {.context = COMPLETE_IDENTIFIER, .start = end, .end = end};
    if (!directive_word(code, line, end, &w)) {
        while (w.start > line && is_ident_char(code[w.start - 1])) w.start--;
        if (w.start < end && isdigit((unsigned char)code[w.start])) w.context = COMPLETE_NONE;
        if (after_member_access(code, line, w.start)) w.context = COMPLETE_NONE;
    }
    w.cursor_start = complete_code_points(code, w.start);
    w.cursor_end = complete_code_points(code, w.end);
    return w;
}

/* ---- candidates ---------------------------------------------------------------------------- */

static const char *const c_keywords[] = {
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else",
    "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long", "register",
    "restrict", "return", "short", "signed", "sizeof", "static", "struct", "switch", "typedef",
    "union", "unsigned", "void", "volatile", "while", "_Alignas", "_Alignof", "_Atomic", "_Bool",
    "_Complex", "_Generic", "_Imaginary", "_Noreturn", "_Static_assert", "_Thread_local", NULL,
};

static const char *const directives[] = {
    "define", "elif", "else", "endif", "error", "if", "ifdef", "ifndef", "include", "line",
    "pragma", "undef", "warning", NULL,
};

typedef struct match {
    char *text;
    const char *type;       /* for JupyterLab's icons: "keyword", "function", "path", ... */
    const char *signature;  /* its declaration when known (borrowed), or NULL */
    size_t order;           /* earlier sources win when two offer the same text */
    int tier;               /* 0: the notebook, the runtime, its headers, C; 1: the prelude's
                             * headers; 2: the manual's other names */
} match;

typedef struct match_list {
    const char *prefix;
    size_t prefix_len;
    match *items;
    size_t n, cap;
    int tier;               /* the tier of what is offered now */
} match_list;

static void offer_signed(match_list *m, const char *text, const char *type, const char *signature) {
    if (strncmp(text, m->prefix, m->prefix_len) != 0) return;
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 256;
        match *grown = realloc(m->items, cap * sizeof(*grown));
        if (!grown) return;
        m->items = grown;
        m->cap = cap;
    }
    m->items[m->n] = (match){strdup(text), type, signature, m->n, m->tier};
    m->n++;
}

static void offer(match_list *m, const char *text, const char *type) {
    offer_signed(m, text, type, NULL);
}

static void offer_words(match_list *m, const char *const *words, const char *type) {
    for (size_t i = 0; words[i]; i++) offer(m, words[i], type);
}

static void offer_symbols(match_list *m, const json_t *symbols) {
    const char *name;
    json_t *info;
    json_object_foreach((json_t *)symbols, name, info) {
        /* "struct point" is completed as "point" after the user typed "struct " */
        const char *space = strrchr(name, ' ');
        const char *kind = json_string_value(json_object_get(info, "kind"));
        offer(m, space ? space + 1 : name, kind ? kind : "variable");
    }
}

static void offer_runtime(match_list *m, const api_docs *docs) {
    static const char *const kinds[] = {[API_FUNCTION] = "function", [API_TYPE] = "type",
                                        [API_MACRO] = "macro"};
    for (size_t i = 0; docs && i < docs->n; i++) offer(m, docs->items[i].name, kinds[docs->items[i].kind]);
}

static void offer_header_names(match_list *m, const json_t *names) {
    const char *name;
    json_t *info;
    json_object_foreach((json_t *)names, name, info) {
        const char *kind = json_string_value(json_object_get(info, "kind"));
        offer_signed(m, name, kind ? kind : "variable", json_string_value(json_object_get(info, "declaration")));
    }
}

/* The kinds of pages: section 3type documents types, 3const constants, 2 and 3 mostly
 * functions (and a few macros and variables, which the prelude's names then tell apart). */
static void offer_manual_name(void *ctx, const man_name *n) {
    const char *type = strcmp(n->section, "3type") == 0 ? "type" : strcmp(n->section, "3const") == 0 ? "constant"
                                                                                                     : "function";
    offer(ctx, n->name, type);
}

/* The C library by prefix, what cells may use as they are (the prelude's names) before what
 * needs an #include (the manual's other names). A bare Tab (no prefix) does not list it all. */
static void offer_library(match_list *m, const complete_sources *src) {
    if (m->prefix_len == 0) return;
    m->tier = 1;
    if (src->prelude_names) offer_header_names(m, src->prelude_names);
    m->tier = 2;
    if (src->manuals) man_pages_with_prefix(m->prefix, 4 * COMPLETE_LIBRARY_MAX, offer_manual_name, m);
    m->tier = 0;
}

static bool is_directory(int dir_fd, const struct dirent *e) {
    if (e->d_type == DT_DIR) return true;
    if (e->d_type != DT_UNKNOWN && e->d_type != DT_LNK) return false;
    struct stat st;
    return fstatat(dir_fd, e->d_name, &st, 0) == 0 && S_ISDIR(st.st_mode);
}

/* Header files and folders under each include directory, for the path typed so far: in
 * "sys/ty" the folder "sys/" is listed and its entries offered as "sys/types.h", ... */
static void offer_header_files(match_list *m, const char *const *dirs) {
    const char *slash = strrchr(m->prefix, '/');
    size_t folder_len = slash ? (size_t)(slash - m->prefix) + 1 : 0;
    for (size_t d = 0; dirs && dirs[d]; d++) {
        strbuf path = {0};
        strbuf_addf(&path, "%s/%.*s", dirs[d], (int)folder_len, m->prefix);
        DIR *dir = opendir(path.data);
        strbuf_free(&path);
        if (!dir) continue;
        struct dirent *e;
        while ((e = readdir(dir)) != NULL) {
            if (e->d_name[0] == '.') continue;
            bool folder = is_directory(dirfd(dir), e);
            size_t len = strlen(e->d_name);
            if (!folder && (len < 3 || strcmp(e->d_name + len - 2, ".h") != 0)) continue;
            strbuf name = {0};
            strbuf_addf(&name, "%.*s%s%s", (int)folder_len, m->prefix, e->d_name, folder ? "/" : "");
            offer(m, name.data, folder ? "path" : "file");
            strbuf_free(&name);
        }
        closedir(dir);
    }
}

static int by_text_then_order(const void *a, const void *b) {
    const match *x = a, *y = b;
    int c = strcmp(x->text, y->text);
    return c ? c : (x->order > y->order) - (x->order < y->order);
}

static int by_tier_then_text(const void *a, const void *b) {
    const match *x = a, *y = b;
    return x->tier != y->tier ? x->tier - y->tier : strcmp(x->text, y->text);
}

/* One match per text (the earliest source's), then the notebook's tier before the library's,
 * each sorted, the library's cut at COMPLETE_LIBRARY_MAX. */
static void rank(match_list *m) {
    if (!m->n) return;
    qsort(m->items, m->n, sizeof(*m->items), by_text_then_order);
    size_t kept = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (kept && strcmp(m->items[i].text, m->items[kept - 1].text) == 0) free(m->items[i].text);
        else m->items[kept++] = m->items[i];
    }
    m->n = kept;
    qsort(m->items, m->n, sizeof(*m->items), by_tier_then_text);
    size_t library = 0;
    kept = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (m->items[i].tier > 0 && library++ >= COMPLETE_LIBRARY_MAX) free(m->items[i].text);
        else m->items[kept++] = m->items[i];
    }
    m->n = kept;
}

static json_t *reply_of(match_list *m, const complete_word *w) {
    rank(m);
    json_t *matches = json_array(), *types = json_array();
    for (size_t i = 0; i < m->n; i++) {
        json_array_append_new(matches, json_string(m->items[i].text));
        json_t *type = json_pack("{s:i, s:i, s:s, s:s}", "start", w->cursor_start, "end", w->cursor_end, "text",
                                 m->items[i].text, "type", m->items[i].type);
        if (m->items[i].signature) json_object_set_new(type, "signature", json_string(m->items[i].signature));
        json_array_append_new(types, type);
    }
    for (size_t i = 0; i < m->n; i++) free(m->items[i].text);
    free(m->items);
    return json_pack("{s:o, s:i, s:i, s:{s:o}}", "matches", matches, "cursor_start", w->cursor_start,
                     "cursor_end", w->cursor_end, "metadata", "_jupyter_types_experimental", types);
}

json_t *complete_matches(const char *code, int cursor, const complete_sources *src) {
    complete_word w = complete_word_at(code, cursor);
    char *prefix = strndup(code + w.start, w.end - w.start);
    match_list m = {.prefix = prefix, .prefix_len = w.end - w.start};
    switch (w.context) {
    case COMPLETE_IDENTIFIER:
        offer_symbols(&m, src->symbols);
        offer_runtime(&m, src->runtime);
        offer_header_names(&m, src->header_names);
        offer_words(&m, c_keywords, "keyword");
        offer_library(&m, src);
        break;
    case COMPLETE_DIRECTIVE:
        offer_words(&m, directives, "directive");
        break;
    case COMPLETE_HEADER:
        offer_header_files(&m, src->header_dirs);
        break;
    case COMPLETE_NONE:
        break;
    }
    json_t *reply = reply_of(&m, &w);
    free(prefix);
    return reply;
}

/* ---- names declared by headers --------------------------------------------------------------- */

typedef struct scan {
    const char *src;
    size_t len;
    const token *toks;
    json_t *names;
    const char *header;  /* the file the current line comes from (a line marker's path) */
    size_t header_len;
} scan;

static bool is_reserved(const char *s, size_t n) {
    return n == 0 || (s[0] == '_' && (n == 1 || s[1] == '_' || isupper((unsigned char)s[1])));
}

static bool tok_is(const scan *s, const token *t, const char *text) {
    return token_is(s->src, t, text);
}

/* "/usr/include/x86_64-linux-gnu/bits/types.h" is included as <bits/types.h>. */
static char *header_display(const char *path, size_t len) {
    const char *rel = path;
    for (const char *p = path; p + 9 <= path + len; p++)
        if (strncmp(p, "/include/", 9) == 0) rel = p + 9;
    const char *arch = memchr(rel, '/', len - (size_t)(rel - path));
    if (arch && arch - rel > 10 && strncmp(arch - 10, "-linux-gnu", 10) == 0) rel = arch + 1;
    strbuf b = {0};
    strbuf_addf(&b, "<%.*s>", (int)(len - (size_t)(rel - path)), rel);
    return strbuf_take(&b);
}

static bool from_real_header(const scan *s) {
    return s->header && s->header_len > 0 && s->header[0] == '/';
}

/* `extern FILE *stdin;` says more than the `#define stdin stdin` after it, and the function
 * sigaction more than `struct sigaction`. */
static bool is_weak_kind(const char *kind) {
    return !kind || strcmp(kind, "macro") == 0 || strcmp(kind, "struct") == 0 ||
           strcmp(kind, "union") == 0 || strcmp(kind, "enum") == 0;
}

static void declare_name(scan *s, const char *name, size_t len, const char *kind, const char *decl) {
    if (is_reserved(name, len) || !from_real_header(s)) return;
    char *key = strndup(name, len);
    json_t *old = json_object_get(s->names, key);
    if (!old || (is_weak_kind(json_string_value(json_object_get(old, "kind"))) && !is_weak_kind(kind))) {
        char *header = header_display(s->header, s->header_len);
        json_object_set_new(s->names, key,
                            json_pack("{s:s, s:s, s:s}", "kind", kind, "declaration", decl, "header", header));
        free(header);
    }
    free(key);
}

/* A line marker `# 12 "/usr/include/stdio.h" 1` names the file; `#define NAME ...` a macro. */
static void read_directive(scan *s, const token *t) {
    const char *p = s->src + t->start, *end = s->src + t->end;
    p++;
    while (p < end && (*p == ' ' || *p == '\t')) p++;
    if (p < end && isdigit((unsigned char)*p)) {
        const char *quote = memchr(p, '"', (size_t)(end - p));
        const char *close = quote ? memchr(quote + 1, '"', (size_t)(end - quote - 1)) : NULL;
        if (close) {
            s->header = quote + 1;
            s->header_len = (size_t)(close - quote - 1);
        }
        return;
    }
    if (end - p < 7 || strncmp(p, "define", 6) != 0 || !isspace((unsigned char)p[6])) return;
    const char *name = p + 7;
    while (name < end && isspace((unsigned char)*name)) name++;
    const char *name_end = name;
    while (name_end < end && is_ident_char(*name_end)) name_end++;
    const char *body = name_end;
    while (body < end && isspace((unsigned char)*body)) body++;
    size_t name_len = (size_t)(name_end - name);
    bool guard_body = body == end || (end - body == 1 && *body == '1');
    if (guard_body && name_len > 2 && strncmp(name_end - 2, "_H", 2) == 0) return;  /* a guard */
    size_t len = (size_t)(end - s->src - t->start);
    char *decl = strndup(s->src + t->start, len > 200 ? 200 : len);
    for (char *c = decl; *c; c++)
        if (*c == '\n' || *c == '\\') *c = ' ';
    declare_name(s, name, name_len, "macro", decl);
    free(decl);
}

/* Attributes, asm labels and qualifiers of GNU C say nothing about the declared name. */
static bool is_annotation(const scan *s, const token *t) {
    static const char *const with_args[] = {"__attribute__", "__attribute", "__asm__", "__asm", "asm",
                                            "__declspec", NULL};
    for (size_t i = 0; with_args[i]; i++)
        if (tok_is(s, t, with_args[i])) return true;
    return false;
}

static bool is_gnu_qualifier(const scan *s, const token *t) {
    static const char *const words[] = {"__extension__", "__restrict", "__restrict__", "__inline",
                                        "__inline__", "__const", "__const__", "__volatile__",
                                        "__signed__", NULL};
    for (size_t i = 0; words[i]; i++)
        if (tok_is(s, t, words[i])) return true;
    return false;
}

/* The index just past the bracket group opening at v[i] ("(", "[" or "{"). */
static size_t skip_group(const scan *s, const token *const *v, size_t i, size_t n) {
    int depth = 0;
    for (; i < n; i++) {
        if (v[i]->kind != TOK_PUNCT) continue;
        const char *c = s->src + v[i]->start;
        if (*c == '(' || *c == '[' || *c == '{') depth++;
        if (*c == ')' || *c == ']' || *c == '}') depth--;
        if (depth == 0) return i + 1;
    }
    return n;
}

static bool is_punct(const scan *s, const token *t, char c) {
    return t->kind == TOK_PUNCT && t->end == t->start + 1 && s->src[t->start] == c;
}

static bool is_name(const scan *s, const token *t) {
    return t->kind == TOK_IDENT && !token_is_keyword(s->src, t);
}

/* Spacing as the source had it after prev (dropped annotations leave no double spaces), and
 * never two words glued together. */
static bool needs_space(const scan *s, const token *prev, const token *t) {
    if (prev->end < s->len && isspace((unsigned char)s->src[prev->end])) return true;
    bool prev_word = prev->kind == TOK_IDENT || prev->kind == TOK_NUMBER;
    bool word = t->kind == TOK_IDENT || t->kind == TOK_NUMBER;
    return prev_word && word;
}

/* The tokens of a declaration as written, enum and struct bodies shown as "{ ... }". */
static char *render(const scan *s, const token *const *v, size_t n) {
    strbuf b = {0};
    for (size_t i = 0; i < n; i++) {
        if (i == 0 && tok_is(s, v[i], "extern")) continue;
        if (b.len && needs_space(s, v[i - 1], v[i])) strbuf_add(&b, " ");
        if (is_punct(s, v[i], '{')) {
            strbuf_add(&b, "{ ... }");
            i = skip_group(s, v, i, n) - 1;
            continue;
        }
        strbuf_addn(&b, s->src + v[i]->start, v[i]->end - v[i]->start);
        if (b.len > 300) break;
    }
    return strbuf_take(&b);
}

/* enum { A, B = 2 }: every name that opens an item of the body. */
static void declare_enum_constants(scan *s, const token *const *v, size_t open, size_t close) {
    int depth = 0;
    for (size_t i = open; i < close; i++) {
        if (v[i]->kind == TOK_PUNCT && strchr("([{", s->src[v[i]->start])) depth++;
        if (v[i]->kind == TOK_PUNCT && strchr(")]}", s->src[v[i]->start])) depth--;
        bool opens_item = depth == 1 && i > open && (is_punct(s, v[i - 1], '{') || is_punct(s, v[i - 1], ','));
        if (!opens_item || v[i]->kind != TOK_IDENT) continue;
        size_t item_end = i;
        while (item_end + 1 < close && !is_punct(s, v[item_end + 1], ',') && !is_punct(s, v[item_end + 1], '}'))
            item_end++;
        char *decl = render(s, v + i, item_end - i + 1);
        declare_name(s, s->src + v[i]->start, v[i]->end - v[i]->start, "enum constant", decl);
        free(decl);
    }
}

/* The declared name of one declarator v[0, n): `name(` for a function, `(*name)` for a pointer
 * to one (or `(*name(...))` for a function returning such a pointer), else the last name before
 * an initializer or array size. *function tells whether it is a function. */
static const token *declarator_name(const scan *s, const token *const *v, size_t n, bool *function) {
    *function = false;
    for (size_t i = 0; i < n; i++) {
        if (!is_punct(s, v[i], '(')) continue;
        if (i + 1 < n && is_punct(s, v[i + 1], '*')) {
            size_t j = i + 1;
            while (j < n && (is_punct(s, v[j], '*') || (v[j]->kind == TOK_IDENT && token_is_keyword(s->src, v[j]))))
                j++;
            if (j >= n || !is_name(s, v[j])) return NULL;
            *function = j + 1 < n && is_punct(s, v[j + 1], '(');  /* (*f(int))(int): returns a pointer */
            return v[j];
        }
        *function = i > 0 && is_name(s, v[i - 1]);
        return *function ? v[i - 1] : NULL;
    }
    const token *last = NULL;
    for (size_t i = 0; i < n; i++) {
        if (is_punct(s, v[i], '=') || is_punct(s, v[i], '[') || is_punct(s, v[i], ':')) break;
        if (is_name(s, v[i])) last = v[i];
    }
    return last;
}

/* "struct", "union" or "enum" when t is that keyword, else NULL. */
static const char *tag_keyword(const scan *s, const token *t) {
    static const char *const tags[] = {"struct", "union", "enum", NULL};
    for (size_t i = 0; tags[i]; i++)
        if (tok_is(s, t, tags[i])) return tags[i];
    return NULL;
}

/* One top-level declaration toks[from, to): strip annotations, then name each declarator. */
static void declare(scan *s, size_t from, size_t to) {
    const token **v = malloc((to - from + 1) * sizeof(*v));
    size_t n = 0;
    if (!v) return;
    for (size_t i = from; i < to; i++) {
        const token *t = &s->toks[i];
        if (t->kind == TOK_DIRECTIVE || is_gnu_qualifier(s, t)) continue;
        if (is_annotation(s, t)) {
            while (i + 1 < to && s->toks[i + 1].kind == TOK_DIRECTIVE) i++;
            if (i + 1 < to && is_punct(s, &s->toks[i + 1], '(')) {
                int depth = 0;
                for (i++; i < to; i++) {
                    depth += is_punct(s, &s->toks[i], '(') - is_punct(s, &s->toks[i], ')');
                    if (depth == 0) break;
                }
            }
            continue;
        }
        v[n++] = t;
    }
    if (n == 0) {
        free(v);
        return;
    }
    char *decl = render(s, v, n);
    bool is_typedef = false;
    for (size_t i = 0; i < n; i++) is_typedef |= tok_is(s, v[i], "typedef");

    /* Bodies are dropped (after enum constants are taken) so names inside them do not count. */
    const token **flat = malloc(n * sizeof(*flat));
    size_t m = 0;
    for (size_t i = 0; flat && i < n; i++) {
        if (is_punct(s, v[i], '{')) {
            size_t close = skip_group(s, v, i, n);
            bool is_enum = (i >= 1 && tok_is(s, v[i - 1], "enum")) ||
                           (i >= 2 && tok_is(s, v[i - 2], "enum"));
            if (is_enum) declare_enum_constants(s, v, i, close);
            i = close - 1;
            continue;
        }
        flat[m++] = v[i];
    }
    /* `struct timespec { ... };` declares a tag, completed after "struct " */
    const char *tag = m == 2 ? tag_keyword(s, flat[0]) : NULL;
    for (size_t start = 0; flat && start < m;) {
        size_t end = start;
        int depth = 0;
        for (; end < m; end++) {
            if (flat[end]->kind == TOK_PUNCT && strchr("([", s->src[flat[end]->start])) depth++;
            if (flat[end]->kind == TOK_PUNCT && strchr(")]", s->src[flat[end]->start])) depth--;
            if (depth == 0 && is_punct(s, flat[end], ',')) break;
        }
        bool function;
        const token *name = declarator_name(s, flat + start, end - start, &function);
        const char *kind = tag ? tag : is_typedef ? "type" : function ? "function" : "variable";
        if (name) declare_name(s, s->src + name->start, name->end - name->start, kind, decl);
        start = end + 1;
    }
    free(flat);
    free(decl);
    free(v);
}

/* Whether the '{' at toks[brace] opens a function body: it follows a ')' and the declaration is
 * not a struct, union, enum or typedef, nor an initializer. */
static bool opens_function_body(const scan *s, size_t decl, size_t brace) {
    size_t prev = brace;
    while (prev > decl && s->toks[prev - 1].kind == TOK_DIRECTIVE) prev--;
    if (prev == decl || !is_punct(s, &s->toks[prev - 1], ')')) return false;
    static const char *const not_functions[] = {"struct", "union", "enum", "typedef", NULL};
    for (size_t i = 0; not_functions[i]; i++)
        if (tok_is(s, &s->toks[decl], not_functions[i])) return false;
    for (size_t i = decl; i < brace; i++)
        if (is_punct(s, &s->toks[i], '=')) return false;
    return true;
}

json_t *complete_scan_preprocessed(const char *text, size_t len) {
    size_t n = 0;
    token *toks = lexer_tokenize(text, len, &n, NULL);
    scan s = {.src = text, .len = len, .toks = toks, .names = json_object()};
    size_t decl = 0, body = 0;
    int depth = 0;
    for (size_t i = 0; toks && i < n; i++) {
        const token *t = &toks[i];
        if (t->kind == TOK_DIRECTIVE) {
            read_directive(&s, t);
            if (decl == i) decl = i + 1;
            continue;
        }
        if (is_punct(&s, t, '{')) {
            if (depth == 0 && opens_function_body(&s, decl, i)) body = i;
            depth++;
        } else if (is_punct(&s, t, '}') && depth > 0) {
            if (--depth == 0 && body > 0) {  /* an inline function's definition */
                declare(&s, decl, body);
                decl = i + 1;
                body = 0;
            }
        } else if (is_punct(&s, t, ';') && depth == 0) {
            declare(&s, decl, i);
            decl = i + 1;
        }
    }
    free(toks);
    return s.names;
}

/* ---- running the preprocessor ------------------------------------------------------------ */

#define PREPROCESS_TIMEOUT_MS 5000
#define PREPROCESS_MAX_OUTPUT ((size_t)64 << 20)

/* Reads everything fd gives until EOF, the deadline or the size cap. Returns whether it got to
 * EOF. */
static bool read_all(int fd, strbuf *out, double deadline) {
    char chunk[65536];
    for (;;) {
        int left = (int)(deadline - monotonic_ms());
        if (left <= 0 || out->len > PREPROCESS_MAX_OUTPUT) return false;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int ready = poll(&p, 1, left);
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) return false;
        ssize_t got = read(fd, chunk, sizeof(chunk));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return got == 0;
        strbuf_addn(out, chunk, (size_t)got);
    }
}

/* Runs `tcc -E -dD -I include_dir -` on input; the output, or NULL. Malloc'd. Sockets rather
 * than pipes, so a tcc that dies early cannot raise SIGPIPE in the caller (send MSG_NOSIGNAL). */
static char *preprocess(const char *input, const char *include_dir, size_t *len) {
    int to_tcc[2], from_tcc[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, to_tcc) != 0) return NULL;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, from_tcc) != 0) {
        close(to_tcc[0]);
        close(to_tcc[1]);
        return NULL;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, to_tcc[1], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, from_tcc[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    char *argv[] = {"tcc", "-E", "-dD", "-I", (char *)include_dir, "-", NULL};
    pid_t pid;
    int spawned = posix_spawn(&pid, CONCLAB_TCC_BINARY, &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    close(to_tcc[1]);
    close(from_tcc[1]);
    strbuf out = {0};
    if (spawned == 0) {
        size_t sent = 0, total = strlen(input);
        while (sent < total) {
            ssize_t n = send(to_tcc[0], input + sent, total - sent, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            sent += (size_t)n;
        }
        shutdown(to_tcc[0], SHUT_WR);
        if (!read_all(from_tcc[0], &out, monotonic_ms() + PREPROCESS_TIMEOUT_MS)) kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
    }
    close(to_tcc[0]);
    close(from_tcc[0]);
    if (spawned != 0) return NULL;
    *len = out.len;
    return strbuf_take(&out);
}

json_t *complete_header_names(const json_t *includes, const char *include_dir) {
    strbuf input = {0};
    size_t i;
    json_t *line;
    json_array_foreach((json_t *)includes, i, line) {
        if (json_is_string(line)) strbuf_addf(&input, "%s\n", json_string_value(line));
    }
    json_t *names = NULL;
    if (input.len) {
        size_t len = 0;
        char *text = preprocess(input.data, include_dir, &len);
        if (text) names = complete_scan_preprocessed(text, len);
        free(text);
    }
    strbuf_free(&input);
    return names ? names : json_object();
}

/* ---- an engine's sources ----------------------------------------------------------------- */

static pthread_mutex_t header_cache_lock = PTHREAD_MUTEX_INITIALIZER;
static json_t *cached_includes, *cached_names;

static json_t *header_names_of(const json_t *includes) {
    pthread_mutex_lock(&header_cache_lock);
    if (!cached_names || !json_equal(cached_includes, (json_t *)includes)) {
        json_decref(cached_includes);
        json_decref(cached_names);
        cached_includes = includes ? json_deep_copy(includes) : json_array();
        cached_names = complete_header_names(includes, runtime_include_dir());
    }
    json_t *names = json_incref(cached_names);
    pthread_mutex_unlock(&header_cache_lock);
    return names;
}

#if defined(__x86_64__)
#define MULTIARCH "x86_64-linux-gnu"
#elif defined(__aarch64__)
#define MULTIARCH "aarch64-linux-gnu"
#else
#define MULTIARCH "unknown"
#endif

/* tcc's own search path (tcc -vv), behind the runtime's headers. */
static const char *const *header_dirs(void) {
    static const char *dirs[] = {
        NULL,  /* runtime_include_dir() */
        "/usr/lib/" MULTIARCH "/tcc/include",
        "/usr/local/include",
        "/usr/include/" MULTIARCH,
        "/usr/include",
        NULL,
    };
    dirs[0] = runtime_include_dir();
    return dirs;
}

static json_t *prelude_names;
static pthread_once_t prelude_once = PTHREAD_ONCE_INIT;

static void read_prelude_names(void) {
    json_t *lines = json_array();
    for (size_t i = 0; library_prelude_headers[i]; i++) {
        if (strcmp(library_prelude_headers[i], "<conclab.h>") == 0) continue;  /* api_docs.c's */
        json_array_append_new(lines, json_sprintf("#include %s", library_prelude_headers[i]));
    }
    prelude_names = complete_header_names(lines, runtime_include_dir());
    json_decref(lines);
}

const json_t *complete_prelude_names(void) {
    pthread_once(&prelude_once, read_prelude_names);
    return prelude_names;
}

void complete_sources_of(engine *eng, complete_sources *src) {
    src->symbols = engine_symbols(eng);
    src->runtime = api_docs_runtime();
    src->header_names = header_names_of(engine_includes(eng));
    src->header_dirs = header_dirs();
    src->prelude_names = complete_prelude_names();
    src->includes = engine_includes(eng);
    src->no_prelude = engine_prelude_off(eng);
    src->manuals = true;
}

void complete_sources_release(complete_sources *src) {
    json_decref((json_t *)src->header_names);
    src->header_names = NULL;
}

json_t *engine_complete(engine *eng, const char *code, int cursor_pos) {
    complete_sources src;
    complete_sources_of(eng, &src);
    json_t *reply = complete_matches(code ? code : "", cursor_pos, &src);
    complete_sources_release(&src);
    return reply;
}
