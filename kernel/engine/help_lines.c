/* help_lines.c — finding `name?` lines with the C lexer, so that comments, strings and the
 * conditional operator keep their meaning (help_lines.h). */
#include "help_lines.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lexer.h"

typedef struct cell {
    const char *src;
    const token *toks;
    size_t n;
} cell;

static bool is(const cell *c, size_t i, const char *text) {
    return i < c->n && token_is(c->src, &c->toks[i], text);
}

static bool is_ascii_name(const cell *c, size_t i) {
    if (i >= c->n || c->toks[i].kind != TOK_IDENT) return false;
    for (unsigned p = c->toks[i].start; p < c->toks[i].end; p++)
        if ((unsigned char)c->src[p] >= 0x80) return false;
    return true;
}

/* Whether only blanks stand between the start of its line and token i. */
static bool starts_line(const cell *c, size_t i) {
    for (unsigned p = c->toks[i].start; p > 0; p--) {
        char ch = c->src[p - 1];
        if (ch == '\n') return true;
        if (ch != ' ' && ch != '\t') return false;
    }
    return true;
}

/* Whether token i touches token i - 1, on the same line. */
static bool touches(const cell *c, size_t i) {
    return i > 0 && i < c->n && c->toks[i].start == c->toks[i - 1].end;
}

/* A name with member accesses from token i, written without spaces: "p", "p->next", "s.field".
 * Returns the index past it, or i when there is none. */
static size_t name_end(const cell *c, size_t i) {
    if (!is_ascii_name(c, i)) return i;
    size_t j = i + 1;
    while ((is(c, j, ".") || is(c, j, "->")) && touches(c, j) && is_ascii_name(c, j + 1) && touches(c, j + 1))
        j += 2;
    return j;
}

/* The '?' run from token i (one or two, touching what comes before them): its length. */
static size_t marks(const cell *c, size_t i, bool must_touch) {
    size_t k = 0;
    while (k < 2 && is(c, i + k, "?") && (!must_touch || k > 0 || touches(c, i)) && (k == 0 || touches(c, i + k))) k++;
    return k;
}

/* Tokens [i, *end) form `name?`, `name??`, `?name` or `??name`, alone on their line. */
static bool help_form(const cell *c, size_t i, size_t *end, size_t *name_at, size_t *name_stop, int *detail) {
    size_t q = marks(c, i, false), j;
    if (q > 0) {  /* ?name */
        *name_at = i + q;
        if (!touches(c, *name_at)) return false;
        *name_stop = j = name_end(c, *name_at);
        if (j == *name_at) return false;
    } else {
        *name_at = i;
        *name_stop = name_end(c, i);
        if (*name_stop == i) return false;
        q = marks(c, *name_stop, true);
        if (q == 0) return false;
        j = *name_stop + q;
    }
    int line = c->toks[i].line;
    if (c->toks[j - 1].line != line || (j < c->n && c->toks[j].line == line)) return false;
    *end = j;
    *detail = q == 2;
    return true;
}

/* Whether the statement going on after token `from` holds a ':' no '?' of its own claims: the
 * '?' before it was a conditional operator, not a help mark. */
static bool colon_follows(const cell *c, size_t from) {
    int depth = 0, open = 0;
    for (size_t i = from; i < c->n; i++) {
        const token *t = &c->toks[i];
        if (t->kind == TOK_DIRECTIVE || is(c, i, "case") || is(c, i, "default")) return false;
        if (is(c, i, "(") || is(c, i, "[")) depth++;
        else if (is(c, i, ")") || is(c, i, "]")) {
            if (--depth < 0) return false;
        } else if (depth == 0 && (is(c, i, ";") || is(c, i, "{") || is(c, i, "}"))) {
            return false;
        } else if (depth == 0 && is(c, i, "?")) {
            open++;
        } else if (depth == 0 && is(c, i, ":")) {
            if (open-- == 0) return true;
        }
    }
    return false;
}

/* Whether a statement may start at token i: the cell's start, or after ';', '{', '}', a
 * preprocessor line or another help line. */
static bool statement_start(const cell *c, size_t i, bool after_help) {
    if (i == 0 || after_help) return true;
    const token *prev = &c->toks[i - 1];
    return prev->kind == TOK_DIRECTIVE || is(c, i - 1, ";") || is(c, i - 1, "{") || is(c, i - 1, "}");
}

static void record(const cell *c, size_t name_at, size_t name_stop, int detail, help_query *q) {
    size_t len = c->toks[name_stop - 1].end - c->toks[name_at].start;
    if (len >= HELP_NAME_MAX) len = HELP_NAME_MAX - 1;
    memcpy(q->name, c->src + c->toks[name_at].start, len);
    q->name[len] = '\0';
    q->detail = detail;
}

size_t help_lines_take(char *code, help_query *queries, size_t max) {
    if (!strchr(code, '?')) return 0;  /* most cells: no need to read them again */
    size_t len = strlen(code), n = 0, found = 0;
    token *toks = lexer_tokenize(code, len, &n, NULL);
    if (!toks) return 0;
    cell c = {code, toks, n};
    bool after_help = false;
    for (size_t i = 0; i < n;) {
        size_t end, name_at, name_stop;
        int detail;
        if (statement_start(&c, i, after_help) && starts_line(&c, i) &&
            help_form(&c, i, &end, &name_at, &name_stop, &detail) && !colon_follows(&c, end)) {
            if (found < max) record(&c, name_at, name_stop, detail, &queries[found]);
            found++;
            memset(code + toks[i].start, ' ', toks[end - 1].end - toks[i].start);
            after_help = true;
            i = end;
            continue;
        }
        after_help = false;
        i++;
    }
    free(toks);
    return found;
}
