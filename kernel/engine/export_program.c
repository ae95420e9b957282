/* export_program.c — the notebook as one C program.
 *
 * The kernel reads a notebook as one C file written in order (README: "How cells behave"); the
 * export writes that file down, so gcc (and gcc's sanitizers) can build what the notebook ran.
 * Each C cell k becomes, in notebook order:
 *
 *   - its definitions at file scope, as written, under `#line N "cell[k]"` so gcc's messages
 *     (and a debugger, and TSan) name the student's cell and line;
 *   - then `static void cell_k(void)` holding its top-level statements in order, called from
 *     `main` in notebook order. A function per cell rather than one long `main` keeps C's view
 *     of the order: a cell's statements see the macros, #if branches and declarations of the
 *     cells up to it and no later ones, as they did in the notebook.
 *
 * Decisions where C and the notebook differ:
 *   - A global with a run-time initializer (`double t0 = cl_now();`) is a file-scope
 *     declaration, and an assignment at its place among the cell's statements: the notebook
 *     assigns it when the cell runs. "Run-time" means the initializer calls something or reads
 *     a notebook global; constants stay initializers. An object that is const itself loses the
 *     const (a note says so). An array cannot be assigned: a local of its type takes the
 *     initializer and is copied over; an array without a size cannot be declared ahead of its
 *     initializer, so it is left as written (gcc refuses it) and reported.
 *   - A global defined again in a later cell (re-running `int counter = 0;` resets it) is one
 *     declaration; the later definition becomes an assignment at its place.
 *   - A function defined in more than one cell is called through a pointer that each defining
 *     cell sets when it starts, as the kernel's trampoline does (emit_redefined): every caller
 *     reaches the definition in force at the time, earlier cells' functions included.
 *   - A struct, union or enum defined again with the same text is left out; with another text
 *     it cannot be one program, and a note says so.
 *   - `#define NAME` again: an `#undef NAME` first, as the kernel redefines without a warning.
 *   - A cell's `main` is renamed `cell_k_main` and called at the end of that cell's statements
 *     with argc 1 and argv {"cell[k]"}, as the kernel does; what it returns is ignored (the
 *     kernel only shows it, as Out[n]: exit status N).
 *   - The last line without a semicolon (the notebook's Out[n]) is evaluated for its side
 *     effects, `(void)(expr);`, not printed: printing it as the kernel does needs the kernel's
 *     knowledge of types. Static locals need nothing: each cell's code runs once, as it did.
 *   - Magic lines become comments and the C under them runs as plain C (`%%time`,
 *     `%%timeline` and the like only watch it); `%%timeit SETUP`'s setup and body run once and
 *     `%timeit STATEMENT` is not run (notes say so). `name?` lines are comments too.
 *   - What changed nothing in the notebook changes nothing in the program: a `%%tsan` cell (it ran
 *     outside the notebook) is left out; a `%%chaos` cell with trials (throwaway copies) and a
 *     cell the caller marks definitions_only (a cell that failed on purpose, Jupyter's
 *     raises-exception tag, kept nothing but its definitions) give their definitions, and
 *     their statements are not run. `%lockcheck on|off` becomes cl_lockcheck_enable(1|0) where
 *     the setting changed, as the kernel turns it on for the cells after it. A cell in another
 *     language, or starting with a magic the kernel does not know (`%%bash`), is skipped with
 *     a comment and a note.
 *   - The prelude headers are included at the top unless every C cell ran with `%prelude off`.
 */
#define _GNU_SOURCE /* asprintf */
#include "export_program.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cell.h"
#include "help_lines.h"
#include "lexer.h"
#include "magics.h"
#include "strbuf.h"
#include "strmap.h"
#include "xalloc.h"

static const char *const prelude_includes[] = {"conclab.h", "stdio.h", "stdlib.h", "string.h",
                                               "stdbool.h", "stdint.h", "math.h"};

/* One cell, read: its C split into items, and what its magic lines were. */
typedef struct prepared {
    const export_cell *in;
    bool skip;            /* not exported: skip_why says why */
    char *skip_why;
    char *magic_lines;    /* the magic lines, as they were, for the comment (malloc'd or NULL) */
    bool no_prelude;      /* the cell ran with %prelude off */
    bool timeit_cell, timeit_line;
    char *timeit_setup;   /* %%timeit SETUP: run once before the body, as the kernel does */
    bool chaos_trials;    /* %%chaos with trials: its statements ran in throwaway copies only */
    int lockcheck_switch; /* -1, or 0/1: %lockcheck changed to off/on before this cell */
    int timeit_at;        /* the magic's line (1-based) */
    cell c;
} prepared;

typedef struct exporter {
    strbuf out;             /* the program */
    strbuf notes;
    const char *file_name;
    strmap type_names;      /* typedef names so far, for cell_split */
    strmap defined_twice;   /* function names with more than one definition */
    strmap declared;        /* functions whose prototype or definition is out already */
    strmap variables;       /* global name -> the number of the cell that declared it */
    strmap types;           /* "struct tag" or typedef name -> the text that defined it */
    strmap macros;          /* macro names defined so far */
    strmap macro_params;    /* function-like macro names: a call to one may be constant */
    strbuf prologue;        /* what the cell sets first: its redefined functions */
    strbuf body;            /* the statements of the cell being written */
    bool lockcheck;         /* %lockcheck's setting after the cells so far */
    bool body_has_code;     /* ...other than #if lines */
    strbuf calls;           /* main's calls, one per cell with statements */
} exporter;

/* ---------------------------------------------------------------- small helpers */

static char *xstrndup(const char *s, size_t n) {
    char *copy = strndup(s, n);
    if (!copy) abort();
    return copy;
}

static void note(exporter *ex, int number, int line, const char *format, ...)
    __attribute__((format(printf, 4, 5)));
static void note(exporter *ex, int number, int line, const char *format, ...) {
    if (line > 0) strbuf_addf(&ex->notes, "cell[%d]:%d: ", number, line);
    else strbuf_addf(&ex->notes, "cell[%d]: ", number);
    va_list ap;
    va_start(ap, format);
    char *text = NULL;
    if (vasprintf(&text, format, ap) < 0) text = NULL;
    va_end(ap);
    strbuf_add(&ex->notes, text ? text : "(out of memory)");
    strbuf_add(&ex->notes, "\n");
    free(text);
}

static size_t count_lines(const char *s, size_t len) {
    size_t n = 0;
    for (size_t i = 0; i < len; i++) n += s[i] == '\n';
    return n;
}

/* A `#line` back to the generated file itself, so messages about the glue name it. */
static void line_back(exporter *ex) {
    if (ex->out.len && ex->out.data[ex->out.len - 1] != '\n') strbuf_add(&ex->out, "\n");
    size_t next = count_lines(ex->out.data ? ex->out.data : "", ex->out.len) + 2;
    strbuf_addf(&ex->out, "#line %zu \"%s\"\n", next, ex->file_name);
}

static void add_located(strbuf *to, int number, int line, const char *text);

/* Code for the cell's function (not an #if line). */
static void add_code(exporter *ex, int number, int line, const char *text) {
    ex->body_has_code = true;
    add_located(&ex->body, number, line, text);
}

static void add_located(strbuf *to, int number, int line, const char *text) {
    if (to->len && to->data[to->len - 1] != '\n') strbuf_add(to, "\n");
    strbuf_addf(to, "#line %d \"cell[%d]\"\n%s\n", line, number, text);
}

/* Is `word` one of the tokens of text? */
static bool has_token(const char *text, const char *word) {
    size_t n;
    token *toks = lexer_tokenize(text, strlen(text), &n, NULL);
    bool found = false;
    for (size_t i = 0; i < n && !found; i++) found = token_is(text, &toks[i], word);
    free(toks);
    return found;
}

/* ---------------------------------------------------------------- reading the cells */

/* The lines of `before` that magics_parse or help_lines_take blanked in `after`, as comments. */
static char *blanked_lines(const char *before, const char *after) {
    strbuf b = {0};
    while (*before) {
        size_t len = strcspn(before, "\n");
        bool was = before[strspn(before, " \t")] != '\n' && before[strspn(before, " \t")] != '\0';
        bool is = after[strspn(after, " \t")] != '\n' && after[strspn(after, " \t")] != '\0';
        if (was && !is) strbuf_addf(&b, "// %.*s\n", (int)len, before);
        before += len + (before[len] == '\n');
        after += len + (after[len] == '\n');
    }
    return b.len ? strbuf_take(&b) : NULL;
}

static void skip_cell(prepared *p, const char *why) {
    p->skip = true;
    p->skip_why = xstrdup(why);
}

static void remember_type_names(exporter *ex, const cell *c) {
    for (size_t i = 0; i < c->n_items; i++) {
        const cell_item *it = &c->items[i];
        if (it->kind != ITEM_TYPE || !it->name || strncmp(it->text, "typedef", 7) != 0) continue;
        strmap_put(&ex->type_names, it->name, (void *)1);
        for (size_t k = 0; k < it->n_also; k++) strmap_put(&ex->type_names, it->also[k], (void *)1);
    }
}

static void prepare(exporter *ex, const export_cell *in, notebook_settings *settings, prepared *p) {
    memset(p, 0, sizeof *p);
    p->in = in;
    if (in->language && strcmp(in->language, "c") != 0 && strcmp(in->language, "C") != 0) {
        char why[120];
        snprintf(why, sizeof why, "a %.60s cell, not C", in->language);
        skip_cell(p, why);
        return;
    }
    char *code = xstrdup(in->source);
    help_query asked[HELP_LINES_MAX];
    help_lines_take(code, asked, HELP_LINES_MAX);
    cell_magics magics;
    char *err = NULL;
    if (magics_parse(code, settings, &magics, &err) != 0) {
        skip_cell(p, err ? err : "a magic the kernel does not know");
        free(err);
        free(code);
        return;
    }
    p->magic_lines = blanked_lines(in->source, code);
    p->no_prelude = magics.no_prelude;
    p->timeit_cell = magics.timeit_line >= 0 && magics.timeit_cell;
    p->timeit_line = magics.timeit_line >= 0 && !magics.timeit_cell;
    if (p->timeit_cell && magics.timeit_text && magics.timeit_text[0]) p->timeit_setup = xstrdup(magics.timeit_text);
    p->timeit_at = magics.timeit_line + 1;
    p->chaos_trials = magics.chaos_runs >= 2;
    /* the notebook's setting, not the cell's (a %%chaos cell checks lock order for itself only) */
    p->lockcheck_switch = settings->lockcheck != ex->lockcheck ? settings->lockcheck : -1;
    ex->lockcheck = settings->lockcheck;
    bool tsan = magics.tsan;
    cell_magics_clear(&magics);
    if (tsan) {
        skip_cell(p, "%%tsan ran it outside the notebook, and nothing of it stayed there");
        free(code);
        return;
    }
    cell_error cerr;
    if (cell_split(code, &ex->type_names, &p->c, &cerr) != 0) {
        char why[200];
        snprintf(why, sizeof why, "it does not compile: line %d: %s", cerr.line, cerr.text);
        skip_cell(p, why);
    } else {
        remember_type_names(ex, &p->c);
    }
    free(code);
}

/* Which functions the notebook defines more than once (emit_redefined). */
static void find_redefined(exporter *ex, prepared *cells, size_t n) {
    strmap seen = {0};
    for (size_t k = 0; k < n; k++) {
        if (cells[k].skip) continue;
        for (size_t i = 0; i < cells[k].c.n_items; i++) {
            cell_item *it = &cells[k].c.items[i];
            if (it->kind != ITEM_FUNCTION || strcmp(it->name, "main") == 0) continue;
            if (strmap_has(&seen, it->name)) strmap_put(&ex->defined_twice, it->name, (void *)1);
            strmap_put(&seen, it->name, (void *)1);
        }
    }
    strmap_free(&seen);
}

/* ---------------------------------------------------------------- directives and types */

/* The name a `#define` defines, or NULL; *with_params when it is function-like. */
static char *defined_macro(const char *text, bool *with_params) {
    const char *s = text + strspn(text, " \t#");
    s += strspn(s, " \t");
    if (strncmp(s, "define", 6) != 0 || (s[6] != ' ' && s[6] != '\t')) return NULL;
    s += 6 + strspn(s + 6, " \t");
    size_t len = 0;
    while (s[len] == '_' || (s[len] >= 'a' && s[len] <= 'z') || (s[len] >= 'A' && s[len] <= 'Z') ||
           (len && s[len] >= '0' && s[len] <= '9'))
        len++;
    if (!len) return NULL;
    *with_params = s[len] == '(';
    return xstrndup(s, len);
}

static void emit_directive(exporter *ex, const prepared *p, const cell_item *it) {
    bool with_params = false;
    char *name = defined_macro(it->text, &with_params);
    if (name && strmap_has(&ex->macros, name)) strbuf_addf(&ex->out, "#undef %s\n", name);
    if (name) {
        strmap_put(&ex->macros, name, (void *)1);
        if (with_params) strmap_put(&ex->macro_params, name, (void *)1);
    }
    free(name);
    add_located(&ex->out, p->in->number, it->line, it->text);
    /* #if groups around top-level code hold the statements too */
    if (it->is_conditional) add_located(&ex->body, p->in->number, it->line, it->text);
}

static void emit_type(exporter *ex, const prepared *p, const cell_item *it) {
    const char *before = it->name ? strmap_get(&ex->types, it->name) : NULL;
    if (before && strcmp(before, it->text) == 0) {
        strbuf_addf(&ex->out, "/* cell[%d], line %d: %s again, as before: left out */\n", p->in->number, it->line,
                    it->name);
        return;
    }
    if (before)
        note(ex, p->in->number, it->line, "%s is defined again differently; one C program cannot hold both "
             "definitions (rename one)", it->name);
    if (it->name && !before) strmap_put(&ex->types, it->name, (void *)it->text);
    add_located(&ex->out, p->in->number, it->line, it->text);
}

/* ---------------------------------------------------------------- functions */

/* The parameter list of a prototype, between its parentheses after the name. */
static bool takes_no_arguments(const cell_item *it) {
    const char *open = strchr(it->prototype + it->name_offset, '(');
    if (!open) return true;
    const char *s = open + 1 + strspn(open + 1, " \t\n");
    return *s == ')' || (strncmp(s, "void", 4) == 0 && s[4 + strspn(s + 4, " \t\n")] == ')');
}

/* prototype with its name replaced */
static char *renamed(const cell_item *it, const char *name) {
    return xasprintf("%.*s%s%s", (int)it->name_offset, it->prototype, name,
                     it->prototype + it->name_offset + strlen(it->name));
}

static void emit_cell_main(exporter *ex, const prepared *p, const cell_item *it) {
    char name[48];
    snprintf(name, sizeof name, "cell_%d_main", p->in->number);
    char *proto = renamed(it, name);
    char *text = xasprintf("static %s\n%s", proto, it->body);
    strbuf_addf(&ex->out, "/* cell[%d]'s main, run once after its statements */\n", p->in->number);
    add_located(&ex->out, p->in->number, it->line, text);
    ex->body_has_code = true;
    if (takes_no_arguments(it)) {
        strbuf_addf(&ex->body, "%s();\n", name);
    } else {
        strbuf_addf(&ex->body, "{\n    char arg0[] = \"cell[%d]\";\n    char *argv[] = {arg0, NULL};\n"
                    "    %s(1, argv);\n}\n", p->in->number, name);
    }
    free(proto);
    free(text);
}

/* A function the notebook defines more than once is called through a pointer, as the kernel
 * calls it through a trampoline: `#define f (*f__current)` makes every call, earlier functions'
 * included, reach the definition in force, and each cell that defines f points it at its own
 * body (f__cell3) when it starts running. So a cell that called f before it was redefined ran
 * the older body, in the program as in the notebook. */
static void declare_redefined(exporter *ex, const prepared *p, const cell_item *it) {
    if (strmap_has(&ex->declared, it->name)) return;
    char *pointer_name = xasprintf("(*%s__current)", it->name);
    char *pointer = renamed(it, pointer_name);
    char *text = xasprintf("%s; /* defined in more than one cell: calls go to the definition in force */\n"
                           "#define %s (*%s__current)", pointer, it->name, it->name);
    add_located(&ex->out, p->in->number, it->line, text);
    strmap_put(&ex->declared, it->name, (void *)1);
    free(text);
    free(pointer);
    free(pointer_name);
}

static void emit_redefined(exporter *ex, const prepared *p, const cell_item *it) {
    declare_redefined(ex, p, it);
    char *version = xasprintf("%s__cell%d", it->name, p->in->number);
    char *proto = renamed(it, version);
    char *text = xasprintf("%s\n%s", proto, it->body);
    add_located(&ex->out, p->in->number, it->line, text);
    strbuf_addf(&ex->prologue, "%s__current = %s;\n", it->name, version);
    ex->body_has_code = true;
    free(text);
    free(proto);
    free(version);
}

static void emit_function(exporter *ex, const prepared *p, const cell_item *it) {
    if (strcmp(it->name, "main") == 0)
        emit_cell_main(ex, p, it);
    else if (strmap_has(&ex->defined_twice, it->name))
        emit_redefined(ex, p, it);
    else
        add_located(&ex->out, p->in->number, it->line, it->text);
    strmap_put(&ex->declared, it->name, (void *)1);
}

/* ---------------------------------------------------------------- variables */

/* Would gcc need this initializer computed at run time? It is when it calls a function (a
 * function-like macro may be constant) or reads a notebook global (its address is constant). */
static bool runs_at_run_time(const exporter *ex, const cell *c, const char *init) {
    size_t n;
    token *t = lexer_tokenize(init, strlen(init), &n, NULL);
    bool run_time = false;
    for (size_t i = 0; i < n && !run_time; i++) {
        if (t[i].kind != TOK_IDENT || token_is_keyword(init, &t[i])) continue;
        char *name = xstrndup(init + t[i].start, t[i].end - t[i].start);
        bool call = i + 1 < n && token_is(init, &t[i + 1], "(");
        bool address = i > 0 && token_is(init, &t[i - 1], "&");
        bool global = strmap_has(&ex->variables, name);
        for (size_t k = 0; k < c->n_items && !global; k++)
            global = c->items[k].kind == ITEM_VARIABLE && c->items[k].name && strcmp(c->items[k].name, name) == 0;
        if (call) run_time = strcmp(name, "sizeof") != 0 && !strmap_has(&ex->macro_params, name) &&
                             strcmp(name, "offsetof") != 0;
        else if (global && !address) run_time = true;
        free(name);
    }
    free(t);
    return run_time;
}

static bool is_static(const cell_item *it) {
    size_t n;
    token *t = lexer_tokenize(it->text, strlen(it->text), &n, NULL);
    bool found = false;
    for (size_t i = 0; i < n && !found && !token_is(it->text, &t[i], "="); i++)
        found = token_is(it->text, &t[i], "static");
    free(t);
    return found;
}

/* The specifiers without a `const` that applies to the object itself (so it can be assigned). */
static char *assignable_specifiers(const cell_item *it, bool *dropped) {
    *dropped = false;
    if (strchr(it->declarator, '*') || !has_token(it->specifiers, "const")) return xstrdup(it->specifiers);
    strbuf b = {0};
    size_t n;
    token *t = lexer_tokenize(it->specifiers, strlen(it->specifiers), &n, NULL);
    for (size_t i = 0; i < n; i++) {
        if (token_is(it->specifiers, &t[i], "const")) continue;
        strbuf_addf(&b, "%s%.*s", b.len ? " " : "", (int)(t[i].end - t[i].start), it->specifiers + t[i].start);
    }
    free(t);
    *dropped = true;
    return strbuf_take(&b);
}

static bool is_word_char(char c) {
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* The declarator with its name replaced (the name is its only identifier that is not a keyword
 * or a macro; the first one found is it). */
static char *rename_declarator(const cell_item *it, const char *name) {
    const char *d = it->declarator, *at = d;
    while ((at = strstr(at, it->name)) != NULL) {
        bool starts = at == d || !is_word_char(at[-1]);
        bool ends = !is_word_char(at[strlen(it->name)]);
        if (starts && ends) break;
        at++;
    }
    if (!at) return xstrdup(d);
    return xasprintf("%.*s%s%s", (int)(at - d), d, name, at + strlen(it->name));
}

/* Sets the global where the cell sets it. A scalar, pointer or struct is assigned (a braced
 * initializer as a compound literal); an array cannot be, so a local of the same type takes
 * the initializer and is copied over (emit_variable keeps arrays without a size out). */
static void add_assignment(exporter *ex, const prepared *p, const cell_item *it, const char *specifiers) {
    const char *init = it->initializer + strspn(it->initializer, " \t\n");
    bool braced = *init == '{';
    bool is_array = strchr(it->declarator, '[') != NULL;
    char *text;
    if (is_array || (braced && (strchr(it->declarator, '(') || strchr(it->declarator, '*')))) {
        char *local = rename_declarator(it, "cell_value");
        text = xasprintf("{ %s %s = %s;\n  __builtin_memcpy(&%s, &cell_value, sizeof %s); } /* an array: copied */",
                         specifiers, local, init, it->name, it->name);
        free(local);
    } else if (braced) {
        text = xasprintf("%s = (%s)%s;", it->name, specifiers, init);
    } else {
        text = xasprintf("%s = %s;", it->name, init);
    }
    add_code(ex, p->in->number, it->line, text);
    free(text);
}

/* `int a[] = {f(), 2};`: the size comes from the initializer, so the array cannot be declared
 * ahead of the cell that computes it. */
static bool unsized_array(const cell_item *it) {
    char squeezed[256];
    size_t k = 0;
    for (const char *c = it->declarator; *c && k + 1 < sizeof squeezed; c++)
        if (*c != ' ' && *c != '\t' && *c != '\n') squeezed[k++] = *c;
    squeezed[k] = '\0';
    return strstr(squeezed, "[]") != NULL;
}

/* The file-scope declaration of a global's first definition. */
static void declare_variable(exporter *ex, const prepared *p, const cell_item *it, const char *specifiers,
                             bool with_initializer) {
    char *decl = xasprintf("%s%s %s%s%s;", is_static(it) ? "static " : "", specifiers, it->declarator,
                           with_initializer ? " = " : "", with_initializer ? it->initializer : "");
    add_located(&ex->out, p->in->number, it->line, decl);
    free(decl);
    if (it->conditional_depth == 0) strmap_put(&ex->variables, it->name, (void *)1);
}

static void emit_variable(exporter *ex, const prepared *p, const cell_item *it) {
    int number = p->in->number;
    if (it->is_extern) {
        add_located(&ex->out, number, it->line, it->text);
        return;
    }
    /* a variable in an #if branch may be the other branch's: only unconditional ones repeat */
    bool again = strmap_has(&ex->variables, it->name) && it->conditional_depth == 0;
    if (again && !it->initializer) {
        strbuf_addf(&ex->out, "/* cell[%d], line %d: %s declared again: it is the same variable */\n", number,
                    it->line, it->name);
        return;
    }
    bool run_time = it->initializer && (again || runs_at_run_time(ex, &p->c, it->initializer));
    if (run_time && unsized_array(it)) {
        if (!again) declare_variable(ex, p, it, it->specifiers, true);  /* gcc refuses it: not hidden */
        note(ex, number, it->line, "%s is an array without a size, set from values computed when the cell "
             "runs; C needs its size before that: give it one (e.g. %s[N])", it->name, it->name);
        return;
    }
    bool dropped = false;
    char *specifiers = run_time ? assignable_specifiers(it, &dropped) : xstrdup(it->specifiers);
    if (!again)
        declare_variable(ex, p, it, specifiers, !run_time && it->initializer);
    else
        strbuf_addf(&ex->out, "/* cell[%d], line %d: %s defined again: assigned where the cell runs */\n",
                    number, it->line, it->name);
    if (dropped) note(ex, number, it->line, "%s is const but set when the cell runs; the program declares it "
                      "without const and assigns it there", it->name);
    if (run_time) add_assignment(ex, p, it, specifiers);
    free(specifiers);
}

/* ---------------------------------------------------------------- statements */

static void emit_statement(exporter *ex, const prepared *p, const cell_item *it) {
    if (it->kind == ITEM_STATEMENT) {
        add_code(ex, p->in->number, it->line, it->text);
        return;
    }
    /* The notebook shows this value as Out[n]; the program computes it for its effects. */
    char *text = xasprintf("(void)(%s); /* Out[%d] in the notebook */", it->text, p->in->number);
    add_code(ex, p->in->number, it->line, text);
    free(text);
}

static void emit_item(exporter *ex, const prepared *p, const cell_item *it) {
    switch (it->kind) {
    case ITEM_DIRECTIVE: emit_directive(ex, p, it); break;
    case ITEM_TYPE: emit_type(ex, p, it); break;
    case ITEM_FUNCTION: emit_function(ex, p, it); break;
    case ITEM_PROTOTYPE:
        if (strmap_has(&ex->defined_twice, it->name)) {
            declare_redefined(ex, p, it);
            break;
        }
        add_located(&ex->out, p->in->number, it->line, it->text);
        strmap_put(&ex->declared, it->name, (void *)1);
        break;
    case ITEM_VARIABLE: emit_variable(ex, p, it); break;
    case ITEM_STATEMENT:
    case ITEM_EXPRESSION: emit_statement(ex, p, it); break;
    }
}

/* ---------------------------------------------------------------- cells and the program */

static void emit_cell(exporter *ex, const prepared *p) {
    int number = p->in->number;
    strbuf_addf(&ex->out, "\n/* ---- cell[%d] ---- */\n", number);
    if (p->skip) {
        strbuf_addf(&ex->out, "/* not exported: %s */\n", p->skip_why);
        note(ex, number, 0, "not exported: %s", p->skip_why);
        return;
    }
    if (p->magic_lines) strbuf_addf(&ex->out, "/* magics and help lines of the cell (not C):\n%s*/\n", p->magic_lines);
    if (p->timeit_cell) note(ex, number, 0, "%%%%timeit: the program runs the cell's body once, untimed");
    if (p->timeit_line) note(ex, number, 0, "%%timeit: the program does not run the timed statement");
    ex->body.len = ex->prologue.len = 0;
    ex->body_has_code = false;
    if (p->lockcheck_switch >= 0) {  /* as the kernel does for this cell and the ones after it */
        strbuf_addf(&ex->prologue, "    cl_lockcheck_enable(%d); /* %%lockcheck %s */\n", p->lockcheck_switch,
                    p->lockcheck_switch ? "on" : "off");
        ex->body_has_code = true;
    }
    if (p->timeit_setup) add_code(ex, number, p->timeit_at, p->timeit_setup);
    for (size_t i = 0; i < p->c.n_items; i++) emit_item(ex, p, &p->c.items[i]);
    if (!ex->body_has_code) return;  /* only #if lines, or nothing: no function */
    if (p->in->definitions_only || p->chaos_trials) {
        const char *why = p->chaos_trials ? "%%chaos ran them in throwaway copies of the notebook"
                                          : "only its definitions are wanted";
        strbuf_addf(&ex->out, "/* the cell's statements are not run here: %s */\n", why);
        if (p->chaos_trials)
            note(ex, number, 0, "%%%%chaos: its statements are not run (its trials changed nothing in the notebook); "
                                "CONCLAB_CHAOS_SEED=N runs the whole program under chaos");
        return;
    }
    line_back(ex);
    strbuf_addf(&ex->out, "static void cell_%d(void) {\n", number);
    if (ex->prologue.len) strbuf_addn(&ex->out, ex->prologue.data, ex->prologue.len);
    strbuf_addn(&ex->out, ex->body.data, ex->body.len);
    line_back(ex);
    strbuf_add(&ex->out, "}\n");
    strbuf_addf(&ex->calls, "    cell_%d();\n", number);
}

static void emit_head(exporter *ex, const prepared *cells, size_t n) {
    bool prelude = false;
    for (size_t k = 0; k < n; k++) prelude |= !cells[k].skip && !cells[k].no_prelude;
    strbuf_add(&ex->out, "/* A conclab notebook as one C program (conclab export).\n"
                         " * Build: gcc -Wall THIS.c $(pkg-config --cflags --libs conclab)\n"
                         " * Each cell's definitions are at file scope and its statements in cell_N(), which\n"
                         " * main calls in notebook order; #line directives name the cells. */\n"
                         "#define _GNU_SOURCE /* as the kernel compiles cells */\n");
    if (prelude) {
        strbuf_add(&ex->out, "/* the prelude: what every cell may use without including it */\n");
        for (size_t i = 0; i < sizeof prelude_includes / sizeof *prelude_includes; i++)
            strbuf_addf(&ex->out, "#include <%s>\n", prelude_includes[i]);
    }
}

static void emit_main(exporter *ex) {
    strbuf_add(&ex->out, "\n");
    line_back(ex);
    strbuf_add(&ex->out, "int main(void) {\n");
    strbuf_addn(&ex->out, ex->calls.data ? ex->calls.data : "", ex->calls.len);
    strbuf_add(&ex->out, "    return 0;\n}\n");
}

static void exporter_free(exporter *ex) {
    strmap_free(&ex->type_names);
    strmap_free(&ex->defined_twice);
    strmap_free(&ex->declared);
    strmap_free(&ex->variables);
    strmap_free(&ex->types);
    strmap_free(&ex->macros);
    strmap_free(&ex->macro_params);
    strbuf_free(&ex->body);
    strbuf_free(&ex->prologue);
    strbuf_free(&ex->calls);
}

char *export_program(const export_cell *cells, size_t n, const char *file_name, char **notes) {
    exporter ex = {.file_name = file_name ? file_name : "notebook.c"};
    prepared *p = xcalloc(n ? n : 1, sizeof *p);
    notebook_settings settings = {0};
    for (size_t k = 0; k < n; k++) prepare(&ex, &cells[k], &settings, &p[k]);
    find_redefined(&ex, p, n);
    emit_head(&ex, p, n);
    for (size_t k = 0; k < n; k++) emit_cell(&ex, &p[k]);
    emit_main(&ex);
    for (size_t k = 0; k < n; k++) {
        cell_free(&p[k].c);
        free(p[k].skip_why);
        free(p[k].magic_lines);
        free(p[k].timeit_setup);
    }
    free(p);
    *notes = strbuf_take(&ex.notes);
    char *program = strbuf_take(&ex.out);
    exporter_free(&ex);
    return program;
}
