/* diagnostics.c — compile errors and stop locations, shown as Python shows a traceback's line. */
#define _GNU_SOURCE /* asprintf, strndup */
#include "diagnostics.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lexer.h"

typedef struct hint {
    const char *in_code;    /* a token of the cell that calls for it, or NULL */
    const char *in_errors;  /* text of tcc's messages that calls for it, or NULL */
    const char *text;
} hint;

static const hint hints[] = {
    {NULL, "stdatomic.h", "tcc has no C11 atomics: use cl_atomic_add/load/store/exchange/cas (long), "
                          "cl_atomic_int_* and cl_atomic_ptr_* from <conclab.h>"},
    {"_Atomic", NULL, "tcc has no _Atomic: use cl_atomic_add/load/store/exchange/cas (long), "
                      "cl_atomic_int_* and cl_atomic_ptr_* from <conclab.h>"},
    {"__thread", NULL, "tcc has no thread-local storage: use cl_local_new, cl_local_get and cl_local_set "
                       "from <conclab.h> (Python's threading.local())"},
    {"_Thread_local", NULL, "tcc has no thread-local storage: use cl_local_new, cl_local_get and "
                            "cl_local_set from <conclab.h> (Python's threading.local())"},
    {NULL, "'__atomic_", "tcc has no __atomic builtins: use cl_atomic_add/load/store/exchange/cas "
                         "(long), cl_atomic_int_* and cl_atomic_ptr_* from <conclab.h>"},
    {NULL, "'__sync_", "tcc has no __sync builtins: use cl_atomic_add/load/store/exchange/cas (long), "
                       "cl_atomic_int_* and cl_atomic_ptr_* from <conclab.h>"},
};

static bool code_has_token(const char *code, const char *word) {
    lexer lx;
    lexer_init(&lx, code, strlen(code));
    for (token t = lexer_next(&lx); t.kind != TOK_EOF; t = lexer_next(&lx))
        if (t.kind == TOK_IDENT && token_is(code, &t, word)) return true;
    return false;
}

const char *diagnostics_hint(const char *errors, const char *code) {
    for (size_t i = 0; i < sizeof hints / sizeof hints[0]; i++) {
        if (hints[i].in_errors && errors && strstr(errors, hints[i].in_errors)) return hints[i].text;
        if (hints[i].in_code && code && code_has_token(code, hints[i].in_code)) return hints[i].text;
    }
    return NULL;
}

/* Line `line` (1-based) of code, or NULL. */
static char *line_of(const char *code, int line) {
    const char *p = code;
    for (int at = 1; at < line && p; at++) {
        p = strchr(p, '\n');
        if (p) p++;
    }
    if (!p || line < 1) return NULL;
    return strndup(p, strcspn(p, "\r\n"));
}

/* Where `token` starts on the line, as a whole word or punctuator; -1 when it is not there. */
static int column_of(const char *text, const char *token) {
    size_t n = strlen(token);
    if (!n) return -1;
    for (const char *p = strstr(text, token); p; p = strstr(p + 1, token)) {
        bool word = (token[0] == '_' || (token[0] >= 'A' && token[0] <= 'z'));
        char before = p > text ? p[-1] : ' ', after = p[n];
        bool edge_before = !word || !(before == '_' || (before >= '0' && before <= '9') ||
                                      (before >= 'A' && before <= 'Z') || (before >= 'a' && before <= 'z'));
        bool edge_after = !word || !(after == '_' || (after >= '0' && after <= '9') ||
                                     (after >= 'A' && after <= 'Z') || (after >= 'a' && after <= 'z'));
        if (edge_before && edge_after) return (int)(p - text);
    }
    return -1;
}

/* The token a message points at: what tcc "got" when it expected something else, or else the
 * first thing it quotes. */
static char *token_named(const char *message) {
    const char *got = strstr(message, "(got \"");
    const char *start = got ? got + 6 : strpbrk(message, "'\"");
    if (!start) return NULL;
    if (!got) start++;
    char close = got ? '"' : start[-1];
    const char *end = strchr(start, close);
    return end && end > start ? strndup(start, (size_t)(end - start)) : NULL;
}

/* "    int y = foo + 1;" and, under it, "            ^^^" (tabs kept so the carets line up). */
static void add_source(json_t *tb, const char *source, int column, size_t width) {
    json_array_append_new(tb, json_sprintf("    %s", source));
    if (column < 0) return;
    size_t len = (size_t)column + 4 + (width ? width : 1);
    char *marks = malloc(len + 1);
    if (!marks) return;
    memset(marks, ' ', 4);
    for (int i = 0; i < column; i++) marks[4 + i] = source[i] == '\t' ? '\t' : ' ';
    memset(marks + 4 + column, '^', width ? width : 1);
    marks[len] = '\0';
    json_array_append_new(tb, json_string(marks));
    free(marks);
}

json_t *diagnostics_source_line(const char *code, int cell, int line) {
    json_t *tb = json_array();
    char *source = code ? line_of(code, line) : NULL;
    if (!source || !source[strspn(source, " \t")]) {
        free(source);
        return tb;
    }
    json_array_append_new(tb, json_sprintf("  cell[%d], line %d:", cell, line));
    add_source(tb, source, (int)strspn(source, " \t"), 1);
    free(source);
    return tb;
}

/* The first line of code on which `token` appears, or 0. */
static int line_with(const char *code, const char *token) {
    int line = 1;
    for (const char *p = code; *p; line++) {
        char *text = strndup(p, strcspn(p, "\n"));
        bool found = text && column_of(text, token) >= 0;
        free(text);
        if (found) return line;
        p += strcspn(p, "\n");
        if (*p) p++;
    }
    return 0;
}

/* One of tcc's lines, and the cell's line it names: by number when it is this cell's, else (a
 * link error such as "undefined symbol 'f'") where the token it quotes first appears. */
static void explain_line(json_t *tb, const char *message, const char *code, int cell) {
    json_array_append_new(tb, json_string(message));
    if (strstr(message, "warning: ")) return;
    char prefix[32];
    int n = snprintf(prefix, sizeof prefix, "cell[%d]:", cell);
    char *token = token_named(message);
    int line = strncmp(message, prefix, (size_t)n) == 0 ? atoi(message + n)
             : !strstr(message, "cell[") && token ? line_with(code, token) : 0;
    char *source = line > 0 ? line_of(code, line) : NULL;
    if (!source) {
        free(token);
        return;
    }
    int column = token ? column_of(source, token) : -1;
    add_source(tb, source, column, token && column >= 0 ? strlen(token) : 0);
    free(token);
    free(source);
}

static bool is_context_line(const char *line) { return strncmp(line, "In file included from ", 22) == 0; }

void diagnostics_compile_error(const char *errors, const char *code, int cell, char **evalue, json_t **traceback) {
    json_t *tb = json_array();
    const char *first = NULL;
    size_t first_len = 0;
    for (const char *p = errors ? errors : ""; *p;) {
        size_t len = strcspn(p, "\n");
        char *line = strndup(p, len);
        if (line && !is_context_line(line)) {
            const char *shown = strncmp(line, "tcc: ", 5) == 0 ? line + 5 : line;
            if (!first) {
                first = p + (shown - line);
                first_len = len - (size_t)(shown - line);
            }
            explain_line(tb, shown, code, cell);
        }
        free(line);
        p += len + (p[len] == '\n');
    }
    const char *hint = diagnostics_hint(errors, code);
    if (hint) json_array_append_new(tb, json_sprintf("hint: %s", hint));
    char *value = NULL;
    if (!first) value = strdup("compilation failed");
    else if (hint && asprintf(&value, "%.*s (hint: %s)", (int)first_len, first, hint) < 0) value = NULL;
    else if (!hint) value = strndup(first, first_len);
    *evalue = value ? value : strdup("compilation failed");
    *traceback = tb;
}
