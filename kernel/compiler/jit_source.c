/* jit_source.c — writes one cell's translation unit:
 *
 *   the runtime header and the value-rendering prelude;
 *   the earlier definitions the cell needs, in notebook order (types and macros whole, functions
 *     as prototypes, globals as hidden externs); one the cell redefines is replaced in place when
 *     it is a type, macro or #include, so what followed it still follows it;
 *   the cell's own definitions, functions under a private name (__cl_def_N_name);
 *   `void __cl_cell_N(void)`: the statements, run-time initializers and the trailing expression,
 *     in the cell's order.
 *
 * `#line` directives make every diagnostic name the cell and line the student wrote. */
#define _GNU_SOURCE /* asprintf */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jit_build.h"
#include "render.h"
#include "render_types.h"

char **jit_item_keys(const cell_item *it, size_t *n) {
    char **keys = malloc((it->n_also + 2) * sizeof *keys);
    if (!keys) abort();
    *n = 0;
    if (it->kind == ITEM_DIRECTIVE) {
        char *k;
        if (it->name) {
            if (asprintf(&k, "#%s", it->name) < 0) abort();
        } else {
            k = strdup(it->text);  /* #include lines: the text itself dedupes them */
        }
        keys[(*n)++] = k;
        return keys;
    }
    if (it->name) keys[(*n)++] = strdup(it->name);
    for (size_t i = 0; i < it->n_also; i++) keys[(*n)++] = strdup(it->also[i]);
    return keys;
}

void jit_free_keys(char **keys, size_t n) {
    for (size_t i = 0; i < n; i++) free(keys[i]);
    free(keys);
}

void jit_item_marker(const build *b, size_t index, char *out, size_t size) {
    snprintf(out, size, "__cl_item_%d_%zu", b->number, index);
}

/* After an #include: glibc's <sys/cdefs.h> defines `__attribute__` away when the compiler is not
 * GCC, which would drop the cell's own `__attribute__((aligned(64)))` or `((packed))` without a
 * word (LIBTCC.md). Every header compiles with it back. */
#define KEEP_ATTRIBUTES "#undef __attribute__\n"

static bool is_include(const char *directive) {
    const char *p = directive + strspn(directive, "# \t");
    return strncmp(p, "include", 7) == 0;
}

static void add_line(strbuf *src, int cell, int line) {
    strbuf_addf(src, "\n#line %d \"cell[%d]\"\n", line, cell);
}

static char *renamed_prototype(const cell_item *it, int number) {
    char *out;
    if (asprintf(&out, "%.*s__cl_def_%d_%s", (int)it->name_offset, it->prototype, number,
                 it->prototype + it->name_offset) < 0)
        abort();
    return out;
}

/* Type, macro and #include items replace their old definition in place, so what was declared
 * after the old one (a struct using this struct, a `FILE *` global after <stdio.h>) still
 * follows. */
static bool emitted_in_place(const cell_item *it) {
    return it->conditional_depth == 0 && (it->kind == ITEM_TYPE || (it->kind == ITEM_DIRECTIVE && !it->is_conditional));
}

/* An item inside a top-level #if group leaves a one-byte marker next to it, so that after
 * compiling we can tell whether the preprocessor kept it. */
static void emit_marker(const build *b, strbuf *src, size_t index) {
    char marker[64];
    jit_item_marker(b, index, marker, sizeof marker);
    strbuf_addf(src, "\nchar %s;\n", marker);
}

static bool is_notebook_variable(const build *b, const cell_item *it) {
    return strmap_get(&b->j->vars, it->name) != NULL;
}

static void emit_variable(build *b, strbuf *src, const cell_item *it, size_t index) {
    if (b->plans[index] == PLAN_REUSE || (it->is_extern && is_notebook_variable(b, it)))
        strbuf_addf(src, "extern %s %s " NOTEBOOK_STORAGE ";\n", it->specifiers, it->declarator);
    else if (it->is_extern)
        strbuf_addf(src, "extern %s %s;\n", it->specifiers, it->declarator);
    else if (b->plans[index] == PLAN_STATIC_INIT && it->initializer)
        strbuf_addf(src, "%s %s = %s;\n", it->specifiers, it->declarator, it->initializer);
    else
        strbuf_addf(src, "%s %s;\n", it->specifiers, it->declarator);
}

static void emit_item_definition(build *b, strbuf *src, const cell_item *it, size_t index) {
    add_line(src, b->number, it->line);
    switch (it->kind) {
    case ITEM_DIRECTIVE:
        if (it->name && strncmp(it->text + strspn(it->text, "# \t"), "define", 6) == 0)
            strbuf_addf(src, "#undef %s\n", it->name);
        strbuf_addf(src, "%s\n", it->text);
        if (is_include(it->text)) strbuf_add(src, KEEP_ATTRIBUTES);
        if (it->conditional_depth > 0 && !it->is_conditional) emit_marker(b, src, index);
        return;
    case ITEM_TYPE:
        strbuf_addf(src, "%s\n", it->text);
        break;
    case ITEM_PROTOTYPE:
        strbuf_addf(src, "%s;\n", it->prototype);
        break;
    case ITEM_FUNCTION: {
        char *renamed = renamed_prototype(it, b->number);
        strbuf_addf(src, "%s;\n", it->prototype);
        add_line(src, b->number, it->line);
        strbuf_addf(src, "%s", renamed);
        add_line(src, b->number, it->body_line);
        strbuf_addf(src, "%s\n", it->body);
        free(renamed);
        break;
    }
    case ITEM_VARIABLE:
        emit_variable(b, src, it, index);
        break;
    default:
        return;
    }
    if (it->conditional_depth > 0) emit_marker(b, src, index);
}

const cell_item *jit_replacement_of(const build *b, size_t at) {
    size_t lo = 0, hi = b->n_replaced;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (b->replaced[mid].definition < at) lo = mid + 1;
        else hi = mid;
    }
    return lo < b->n_replaced && b->replaced[lo].definition == at ? &b->c.items[b->replaced[lo].item] : NULL;
}

/* One earlier definition, or the cell's item that replaces it. */
static void emit_definition(build *b, strbuf *src, size_t at) {
    const cell_item *by = jit_replacement_of(b, at);
    if (by) {
        size_t index = (size_t)(by - b->c.items);
        if (emitted_in_place(by) && !b->emitted[index]) {
            emit_item_definition(b, src, by, index);
            b->emitted[index] = true;
        }
        return;
    }
    const definition *def = &b->j->defs.items[at];
    if (!def->live) return;
    add_line(src, def->cell, def->line);
    strbuf_addf(src, "%s\n", def->text);
    if (def->is_directive && is_include(def->text)) strbuf_add(src, KEEP_ATTRIBUTES);
}

/* Does the cell end with an expression whose value it shows? */
static bool shows_value(const build *b) {
    return b->want_value && b->value != VALUE_VOID && b->c.n_items > 0 &&
           b->c.items[b->c.n_items - 1].kind == ITEM_EXPRESSION;
}

static void emit_prelude(build *b, strbuf *src) {
    prelude_headers_emit(src, b->headers);
    if (shows_value(b)) strbuf_add(src, render_prelude);
    else if (jit_main_item(b)) strbuf_add(src, "void render_show_exit_status(int);\n");
    strbuf_add(src, "extern volatile int __cl_line;\nvoid *__cl_copy(void *, const void *, unsigned long);\n");
    /* the definitions the cell reaches and the ones it replaces, merged in notebook order */
    size_t p = 0, r = 0;
    while (p < b->n_prelude || r < b->n_replaced) {
        size_t next_p = p < b->n_prelude ? b->prelude[p] : (size_t)-1;
        size_t next_r = r < b->n_replaced ? b->replaced[r].definition : (size_t)-1;
        size_t at = next_p < next_r ? next_p : next_r;
        emit_definition(b, src, at);
        if (next_p == at) p++;
        while (r < b->n_replaced && b->replaced[r].definition == at) r++;
    }
}

/* How many parameters a prototype's list declares: "(void)" and "()" have none. */
static int parameter_count(const char *params) {
    const char *open = strchr(params, '('), *close = strrchr(params, ')');
    if (!open || !close || close < open) return 0;
    const char *p = open + 1;
    while (p < close && (*p == ' ' || *p == '\t' || *p == '\n')) p++;
    if (p == close || (strncmp(p, "void", 4) == 0 && strspn(p + 4, " \t\n") == (size_t)(close - p - 4))) return 0;
    int count = 1, depth = 0;
    for (; p < close; p++) {
        if (*p == '(' || *p == '[') depth++;
        else if (*p == ')' || *p == ']') depth--;
        else if (*p == ',' && depth == 0) count++;
    }
    return count;
}

const cell_item *jit_main_item(const build *b) {
    for (size_t i = 0; i < b->c.n_items; i++)
        if (b->c.items[i].kind == ITEM_FUNCTION && b->c.items[i].conditional_depth == 0 &&
            strcmp(b->c.items[i].name, "main") == 0)
            return &b->c.items[i];
    return NULL;
}

bool jit_main_returns_int(const cell_item *main_item) {
    const char *p = main_item->prototype;
    while (*p == ' ') p++;
    return strncmp(p, "void", 4) != 0 || (p[4] != ' ' && p[4] != '\t');
}

/* A cell that defines main runs it once its statements are done, as the program it is: with
 * argc 1, argv {"cell[N]", NULL} (and environ, should main take a third parameter). */
static void emit_main_call(build *b, strbuf *src, const cell_item *main_item) {
    int params = parameter_count(main_item->prototype + main_item->name_offset);
    add_line(src, b->number, main_item->line);
    strbuf_addf(src, "__cl_line = %d; { static char *__cl_argv[] = {\"cell[%d]\", 0}; extern char **environ; "
                "(void)__cl_argv; (void)environ; ", main_item->line, b->number);
    const char *args = params == 0 ? "" : params == 2 ? "1, __cl_argv" : params >= 3 ? "1, __cl_argv, environ" : "1";
    if (jit_main_returns_int(main_item) && b->want_value) strbuf_addf(src, "render_show_exit_status(main(%s)); }\n", args);
    else strbuf_addf(src, "main(%s); }\n", args);
}

/* What the renderer needs to show the notebook's structs: the ones in this cell's prelude and the
 * ones the cell defines (render_types.h). */
static void emit_struct_descriptions(build *b, strbuf *src) {
    render_types *types = render_types_new();
    for (size_t p = 0; p < b->n_prelude; p++) {
        const definition *def = &b->j->defs.items[b->prelude[p]];
        if (def->live && strcmp(def->kind, "type") == 0 && !jit_replacement_of(b, b->prelude[p]))
            render_types_add(types, def->text);
    }
    for (size_t i = 0; i < b->c.n_items; i++)
        if (b->c.items[i].kind == ITEM_TYPE && b->c.items[i].conditional_depth == 0)
            render_types_add(types, b->c.items[i].text);
    render_types_emit(types, src);
    render_types_free(types);
}

/* Specifiers that make an arithmetic type (PTHREAD_MUTEX_INITIALIZER and the like expand to
 * braces, so a type that may be a struct is never assigned its initializer). */
static bool arithmetic_specifiers(const char *specifiers) {
    static const char *const words[] = {"char", "short", "int", "long", "float", "double", "signed", "unsigned",
                                        "_Bool", "bool", "volatile", "size_t", "ssize_t", "ptrdiff_t", NULL};
    if (strncmp(specifiers, "enum ", 5) == 0) return !strchr(specifiers + 5, ' ');  /* enum tag */
    for (const char *p = specifiers + strspn(specifiers, " \t\r\n"); *p; p += strspn(p, " \t\r\n")) {
        size_t n = strcspn(p, " \t\r\n");
        bool known = n >= 6 && strncmp(p + n - 2, "_t", 2) == 0 &&
                     (strncmp(p, "int", 3) == 0 || strncmp(p, "uint", 4) == 0);  /* <stdint.h>'s */
        for (int i = 0; !known && words[i]; i++) known = strlen(words[i]) == n && strncmp(p, words[i], n) == 0;
        if (!known) return false;
        p += n;
    }
    return true;
}

/* A re-run variable whose initializer can simply be assigned (initialization and assignment
 * convert alike): a number or a pointer, not const, not a braced list. The others go through a
 * copy. */
static bool assignable(const cell_item *it) {
    if (!it->initializer || it->initializer[strspn(it->initializer, " \t\r\n")] == '{') return false;
    if (strchr(it->declarator, '[') || strstr(it->declarator, "const") || strstr(it->specifiers, "const"))
        return false;
    return strchr(it->declarator, '*') || arithmetic_specifiers(it->specifiers);
}

static void emit_statements(build *b, strbuf *src) {
    if (shows_value(b) && b->value == VALUE_SHOW) emit_struct_descriptions(b, src);
    /* errors tcc reports at the closing brace of the cell point at the cell's last item */
    add_line(src, b->number, b->c.n_items ? b->c.items[b->c.n_items - 1].line : 1);
    strbuf_addf(src, "void __cl_cell_%d(void) {\n", b->number);
    for (size_t i = 0; i < b->c.n_items; i++) {
        const cell_item *it = &b->c.items[i];
        if (it->is_conditional) {  /* #if groups hold in both halves */
            add_line(src, b->number, it->line);
            strbuf_addf(src, "%s\n", it->text);
        } else if (it->kind == ITEM_STATEMENT) {
            add_line(src, b->number, it->line);
            strbuf_addf(src, "__cl_line = %d; %s\n", it->line, it->text);
        } else if (it->kind == ITEM_VARIABLE && !it->is_extern && b->plans[i] != PLAN_STATIC_INIT) {
            add_line(src, b->number, it->line);
            strbuf_addf(src, "__cl_line = %d; ", it->line);
            if (assignable(it))
                strbuf_addf(src, "%s = (%s);\n", it->name, it->initializer);
            else if (it->initializer)
                strbuf_addf(src, "{ __typeof__(%s) __cl_v = %s; __cl_copy(&%s, &__cl_v, sizeof %s); }\n",
                            it->name, it->initializer, it->name, it->name);
            else
                strbuf_addf(src, "{ static __typeof__(%s) __cl_zero; __cl_copy(&%s, &__cl_zero, sizeof %s); }\n",
                            it->name, it->name, it->name);
        } else if (it->kind == ITEM_EXPRESSION) {
            add_line(src, b->number, it->line);
            strbuf_addf(src, "__cl_line = %d; ", it->line);
            if (b->want_value && b->value == VALUE_SHOW)
                strbuf_addf(src, "__CL_SHOW((%s));\n", it->text);
            else if (b->want_value && b->value == VALUE_OPAQUE)
                strbuf_addf(src, "{ __typeof__(%s) __cl_v = (%s); render_show_opaque(sizeof __cl_v); }\n",
                            it->text, it->text);
            else
                strbuf_addf(src, "(void)(%s);\n", it->text);
        }
    }
    const cell_item *main_item = jit_main_item(b);
    if (main_item) emit_main_call(b, src, main_item);
    strbuf_add(src, "}\n");
}

char *jit_source_generate(build *b) {
    strbuf src = {0};
    memset(b->emitted, 0, b->c.n_items * sizeof *b->emitted);
    emit_prelude(b, &src);
    for (size_t i = 0; i < b->c.n_items; i++) {
        const cell_item *it = &b->c.items[i];
        if (it->kind == ITEM_STATEMENT || it->kind == ITEM_EXPRESSION) continue;
        if (b->emitted[i]) continue;
        emit_item_definition(b, &src, it, i);
    }
    emit_statements(b, &src);
    return strbuf_take(&src);
}
