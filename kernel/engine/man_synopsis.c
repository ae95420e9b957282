/* man_synopsis.c — splits a SYNOPSIS into blocks of #include lines and the declarations under
 * each, then keeps what names the name asked for (man_synopsis.h). */
#define _GNU_SOURCE /* strndup */
#include "man_synopsis.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

#define MAX_BLOCKS 16
#define MAX_DECLARATIONS 64
#define MAX_SHOWN 8

typedef struct declaration {
    char *text;
    int block;  /* the #include block above it */
} declaration;

typedef struct split {
    strbuf blocks[MAX_BLOCKS];
    int n_blocks;
    bool declared_since_block;  /* a declaration came after the last #include line */
    declaration decls[MAX_DECLARATIONS];
    int n_decls;
    strbuf pending;             /* a declaration spanning lines, until its ';' */
    strbuf link_note;
} split;

static bool is_ident_char(char c) {
    return c == '_' || isalnum((unsigned char)c);
}

static bool starts_with(const char *s, const char *prefix) {
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* glibc's _Nullable and _Nonnull annotations are for analysers; no reader needs them. */
static char *without_annotations(const char *text) {
    static const char *const words[] = {"_Nullable", "_Nonnull", NULL};
    strbuf out = {0};
    strbuf_add(&out, "");
    for (const char *p = text; *p;) {
        bool dropped = false;
        for (size_t i = 0; words[i] && !dropped; i++) {
            size_t n = strlen(words[i]);
            if (strncmp(p, words[i], n) == 0 && !is_ident_char(p[n]) && (p == text || !is_ident_char(p[-1]))) {
                p += n;
                if (*p == ' ') p++;
                dropped = true;
            }
        }
        if (!dropped) strbuf_addn(&out, p++, 1);
    }
    return strbuf_take(&out);
}

static void flush_declaration(split *s) {
    if (!s->pending.len) return;
    while (s->pending.len && isspace((unsigned char)s->pending.data[s->pending.len - 1]))
        s->pending.data[--s->pending.len] = '\0';
    if (s->pending.len && s->n_decls < MAX_DECLARATIONS) {
        s->decls[s->n_decls].text = without_annotations(s->pending.data);
        s->decls[s->n_decls].block = s->n_blocks - 1;
        s->n_decls++;
        s->declared_since_block = true;
    }
    strbuf_free(&s->pending);
}

static void add_preprocessor_line(split *s, const char *line) {
    flush_declaration(s);
    if (s->n_blocks == 0 || (s->declared_since_block && s->n_blocks < MAX_BLOCKS)) {
        s->n_blocks++;
        s->declared_since_block = false;
    }
    strbuf *b = &s->blocks[s->n_blocks - 1];
    if (b->len < 2048) {
        strbuf_add(b, line);
        strbuf_add(b, "\n");
    }
}

static void read_line(split *s, const char *raw) {
    const char *line = raw + strspn(raw, " \t");
    size_t len = strlen(line);
    if (starts_with(line, "#define") && !starts_with(line + 7 + strspn(line + 7, " \t"), "_")) {
        flush_declaration(s);  /* a macro the page documents (not a feature-test macro) */
        strbuf_add(&s->pending, line);
        flush_declaration(s);
    } else if (line[0] == '#') {
        add_preprocessor_line(s, line);
    } else if (starts_with(line, "Link with") || starts_with(line, "Compile and link with")) {
        flush_declaration(s);
        strbuf_add(&s->link_note, line);
    } else if (len == 0 || (starts_with(line, "/*") && strstr(line, "*/") == line + len - 2)) {
        flush_declaration(s);  /* a blank line or a comment line ends a declaration */
    } else if (s->pending.len < 2048) {
        strbuf_add(&s->pending, raw);
        strbuf_add(&s->pending, "\n");
        if (line[len - 1] == ';' || line[len - 1] == '}') flush_declaration(s);
    }
}

/* Whether text holds name as a whole word; with call_only, only as `name(` or `(*name)`. */
static bool names(const char *text, const char *name, bool call_only) {
    size_t n = strlen(name);
    for (const char *p = text; (p = strstr(p, name)) != NULL; p += n) {
        if ((p > text && is_ident_char(p[-1])) || is_ident_char(p[n])) continue;
        if (!call_only) return true;
        const char *after = p + n + strspn(p + n, " ");
        if (*after == '(') return true;
        if (*after == ')' && p > text + 1 && p[-1] == '*' && p[-2] == '(') return true;
    }
    return false;
}

static void add_header(man_synopsis *out, const char *include_line) {
    const char *open = strchr(include_line, '<'), *close = open ? strchr(open, '>') : NULL;
    if (!open || !close || out->n_headers == MAN_SYNOPSIS_MAX_HEADERS) return;
    char *header = strndup(open, (size_t)(close - open) + 1);
    for (size_t i = 0; i < out->n_headers; i++)
        if (strcmp(out->headers[i], header) == 0) {
            free(header);
            return;
        }
    out->headers[out->n_headers++] = header;
}

static void take_block(const split *s, int block, strbuf *includes, man_synopsis *out) {
    if (block < 0 || block >= s->n_blocks || !s->blocks[block].data) return;
    const char *text = s->blocks[block].data;
    if (includes->len && strstr(includes->data, text)) return;  /* two declarations, one block */
    strbuf_add(includes, text);
    for (const char *line = text; *line;) {
        const char *nl = strchr(line, '\n');
        char *one = strndup(line, nl ? (size_t)(nl - line) : strlen(line));
        if (starts_with(one, "#include")) add_header(out, one);
        free(one);
        line = nl ? nl + 1 : line + strlen(line);
    }
}

/* Which declarations to show: those calling it by name, else those naming it at all. */
static void choose(const split *s, const char *name, bool chosen[]) {
    int found = 0;
    for (int pass = 0; pass < 2 && !found; pass++)
        for (int i = 0; i < s->n_decls; i++) {
            chosen[i] = found < MAX_SHOWN && names(s->decls[i].text, name, pass == 0);
            found += chosen[i];
        }
}

void man_synopsis_for(const char *synopsis, const char *name, man_synopsis *out) {
    memset(out, 0, sizeof *out);
    split s = {0};
    char *copy = strdup(synopsis ? synopsis : "");
    for (char *line = copy, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        if (starts_with(line + strspn(line, " \t"), "Feature Test Macro Requirements")) break;
        read_line(&s, line);
    }
    flush_declaration(&s);
    bool chosen[MAX_DECLARATIONS] = {false};
    choose(&s, name, chosen);
    strbuf includes = {0}, declarations = {0};
    bool any = false;
    for (int i = 0; i < s.n_decls; i++) {
        if (!chosen[i]) continue;
        any = true;
        take_block(&s, s.decls[i].block, &includes, out);
        if (declarations.len) strbuf_add(&declarations, "\n");
        strbuf_add(&declarations, s.decls[i].text);
    }
    for (int b = 0; !any && b < s.n_blocks; b++) take_block(&s, b, &includes, out);
    strbuf_add(&includes, "");
    strbuf_add(&declarations, "");
    strbuf_add(&s.link_note, "");
    out->includes = strbuf_take(&includes);
    size_t n = strlen(out->includes);
    while (n && out->includes[n - 1] == '\n') out->includes[--n] = '\0';
    out->declarations = strbuf_take(&declarations);
    out->link_note = strbuf_take(&s.link_note);
    for (int i = 0; i < s.n_decls; i++) free(s.decls[i].text);
    for (int b = 0; b < MAX_BLOCKS; b++) strbuf_free(&s.blocks[b]);
    strbuf_free(&s.pending);
    free(copy);
}

void man_synopsis_free(man_synopsis *s) {
    free(s->includes);
    free(s->declarations);
    free(s->link_note);
    for (size_t i = 0; i < s->n_headers; i++) free(s->headers[i]);
    memset(s, 0, sizeof *s);
}
