/* jit.c — one TCCState per cell, kept alive (its code lives in its memory).
 *
 * A cell's translation unit is: the runtime header, the value-rendering prelude, every earlier
 * definition as a declaration (types and macros whole, functions as prototypes, globals as
 * extern), then the cell's own items, then `void __cl_cell_N(void)` holding its statements.
 *
 * Functions are defined under a private name (__cl_def_N_name) and reached through a trampoline
 * bound to the public name, so a redefinition rebinds every caller. Globals keep their storage
 * when a cell redefines them with the same type (re-running `int counter = 0;` resets the one
 * counter every function uses); their initializer then runs as a statement. A global whose
 * initializer is not constant (`int n = compute();`) is defined without one and assigned at its
 * place among the statements: tcc tells us which ones by refusing them, and we compile again. */
#define _GNU_SOURCE
#include "jit.h"

#include <dlfcn.h>
#include <libtcc.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "cell.h"
#include "code_arena.h"
#include "codemap.h"
#include "crash.h"
#include "engine.h"
#include "memory_guard.h"
#include "render.h"
#include "stdin_bridge.h"
#include "strbuf.h"
#include "trampoline.h"

/* One declaration every later cell sees. */
typedef struct entry {
    char **keys;        /* the names it defines: "point", "struct point", "#N" for macros */
    size_t n_keys;
    char *text;         /* C source placed in later preludes */
    int cell, line;
    char *kind;         /* for inspection: function, variable, type, macro, ... */
    char *declaration;  /* for inspection */
} entry;

typedef struct variable {
    char *name;
    void *addr;
    char *type_key;     /* specifiers + declarator: same key, same storage */
    bool reusable;
} variable;

struct jit {
    entry *entries;
    size_t n_entries;
    variable *vars;
    size_t n_vars;
    char **functions;   /* names with a trampoline */
    size_t n_functions;
    char **type_names;  /* NULL-terminated, for the splitter */
    size_t n_type_names;
    TCCState **states;  /* every cell's compiled code, kept alive */
    size_t n_states;
    void **code;        /* the memory each state's code was relocated into */
    size_t *code_size;
    bool bounds;        /* compile with tcc -b */
};

/* How later cells declare a global an earlier cell defined. Hidden visibility makes tcc reach it
 * with a direct RIP-relative operand where it uses one; with the default visibility it would send
 * that operand through a PLT stub and read the stub's bytes instead of the value (LIBTCC.md:
 * `3.0 / y` and `-y` of an earlier `double y` were garbage). The code arena keeps every cell
 * within reach of every other. Spelled `__attribute`: glibc's <sys/cdefs.h> defines `__attribute__`
 * away for compilers that are not GCC, tcc among them. */
#define NOTEBOOK_STORAGE "__attribute((visibility(\"hidden\")))"

typedef enum var_plan { PLAN_STATIC_INIT, PLAN_RUNTIME_INIT, PLAN_REUSE } var_plan;

/* The trailing expression is first shown as a scalar, string or pointer; a struct or union is
 * shown by size; a void expression (a call) just runs. tcc's refusals move us down the list. */
typedef enum value_mode { VALUE_SCALAR, VALUE_OPAQUE, VALUE_VOID } value_mode;

typedef struct build {
    jit *j;
    cell c;
    int number;
    bool want_value;
    value_mode value;   /* how the trailing expression is shown */
    void *code;         /* where the linked code lives */
    size_t code_size;
    var_plan *plans;    /* per item; meaningful for ITEM_VARIABLE */
    bool relocating;    /* tcc_relocate runs: an error there must not reach libtcc's exit(1) */
    sigjmp_buf relocation_failed;
    bool *emitted;      /* per item: already placed in the prelude, in place of an old entry */
    strbuf errors, warnings;
} build;

static void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n);
    if (!q) abort();
    return q;
}

jit *jit_new(void) {
    jit *j = calloc(1, sizeof *j);
    if (!j) abort();
    j->type_names = calloc(1, sizeof *j->type_names);
    return j;
}

const char *const *jit_type_names(jit *j) { return (const char *const *)j->type_names; }

/* ---------------------------------------------------------------- lookups */

static variable *find_var(jit *j, const char *name) {
    for (size_t i = 0; i < j->n_vars; i++)
        if (strcmp(j->vars[i].name, name) == 0) return &j->vars[i];
    return NULL;
}

static bool entry_has_key(const entry *e, const char *key) {
    for (size_t k = 0; k < e->n_keys; k++)
        if (strcmp(e->keys[k], key) == 0) return true;
    return false;
}

/* The keys an item defines (malloc'd array of malloc'd strings). */
static char **item_keys(const cell_item *it, size_t *n) {
    char **keys = xrealloc(NULL, (it->n_also + 2) * sizeof *keys);
    *n = 0;
    if (it->kind == ITEM_DIRECTIVE) {
        *n = 0;
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

static void free_keys(char **keys, size_t n) {
    for (size_t i = 0; i < n; i++) free(keys[i]);
    free(keys);
}

/* Does this cell define any key of entry e? Then e stays out of this cell's prelude. */
static const cell_item *replacing_item(const build *b, const entry *e) {
    for (size_t i = 0; i < b->c.n_items; i++) {
        const cell_item *it = &b->c.items[i];
        if (it->kind == ITEM_STATEMENT || it->kind == ITEM_EXPRESSION) continue;
        if (it->kind == ITEM_VARIABLE && it->is_extern && !find_var(b->j, it->name)) continue;
        size_t n;
        char **keys = item_keys(it, &n);
        bool hit = false;
        for (size_t k = 0; k < n && !hit; k++) hit = entry_has_key(e, keys[k]);
        free_keys(keys, n);
        if (hit) return it;
    }
    return NULL;
}

/* ---------------------------------------------------------------- source generation */

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

/* Type, macro and #include items replace their old entry in place, so what was declared after
 * the old one (a struct using this struct, a `FILE *` global after <stdio.h>) still follows. */
static bool emitted_in_place(const cell_item *it) {
    return it->conditional_depth == 0 && (it->kind == ITEM_TYPE || (it->kind == ITEM_DIRECTIVE && !it->is_conditional));
}

/* An item inside a top-level #if group leaves a one-byte marker next to it, so that after
 * compiling we can tell whether the preprocessor kept it. */
static void emit_marker(const build *b, strbuf *src, size_t index) {
    strbuf_addf(src, "\nchar __cl_item_%d_%zu;\n", b->number, index);
}

static bool compiled_in(const build *b, TCCState *s, const cell_item *it, size_t index) {
    if (it->conditional_depth == 0) return true;
    char marker[64];
    snprintf(marker, sizeof marker, "__cl_item_%d_%zu", b->number, index);
    return tcc_get_symbol(s, marker) != NULL;
}

static void emit_item_definition(build *b, strbuf *src, const cell_item *it, size_t index) {
    add_line(src, b->number, it->line);
    switch (it->kind) {
    case ITEM_DIRECTIVE:
        if (it->name && strncmp(it->text + strspn(it->text, "# \t"), "define", 6) == 0)
            strbuf_addf(src, "#undef %s\n", it->name);
        strbuf_addf(src, "%s\n", it->text);
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
        if (b->plans[index] == PLAN_REUSE)
            strbuf_addf(src, "extern %s %s " NOTEBOOK_STORAGE ";\n", it->specifiers, it->declarator);
        else if (it->is_extern)
            strbuf_addf(src, "extern %s %s;\n", it->specifiers, it->declarator);
        else if (b->plans[index] == PLAN_STATIC_INIT && it->initializer)
            strbuf_addf(src, "%s %s = %s;\n", it->specifiers, it->declarator, it->initializer);
        else
            strbuf_addf(src, "%s %s;\n", it->specifiers, it->declarator);
        break;
    default:
        return;
    }
    if (it->conditional_depth > 0) emit_marker(b, src, index);
}

static void emit_prelude(build *b, strbuf *src) {
    strbuf_add(src, "#include <conclab.h>\n");
    strbuf_add(src, render_prelude);
    strbuf_add(src, "extern volatile int __cl_line;\n");
    for (size_t i = 0; i < b->j->n_entries; i++) {
        const entry *e = &b->j->entries[i];
        const cell_item *by = replacing_item(b, e);
        if (by) {
            size_t index = (size_t)(by - b->c.items);
            if (emitted_in_place(by) && !b->emitted[index]) {
                emit_item_definition(b, src, by, index);
                b->emitted[index] = true;
            }
            continue;
        }
        add_line(src, e->cell, e->line);
        strbuf_addf(src, "%s\n", e->text);
    }
}

static void emit_statements(build *b, strbuf *src) {
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
            if (it->initializer)
                strbuf_addf(src, "{ __typeof__(%s) __cl_v = %s; __cl_copy(&%s, &__cl_v, sizeof %s); }\n",
                            it->name, it->initializer, it->name, it->name);
            else
                strbuf_addf(src, "{ static __typeof__(%s) __cl_zero; __cl_copy(&%s, &__cl_zero, sizeof %s); }\n",
                            it->name, it->name, it->name);
        } else if (it->kind == ITEM_EXPRESSION) {
            add_line(src, b->number, it->line);
            strbuf_addf(src, "__cl_line = %d; ", it->line);
            if (b->want_value && b->value == VALUE_SCALAR)
                strbuf_addf(src, "__CL_SHOW((%s));\n", it->text);
            else if (b->want_value && b->value == VALUE_OPAQUE)
                strbuf_addf(src, "{ __typeof__(%s) __cl_v = (%s); render_show_opaque(sizeof __cl_v); }\n",
                            it->text, it->text);
            else
                strbuf_addf(src, "(void)(%s);\n", it->text);
        }
    }
    strbuf_add(src, "}\n");
}

static char *generate(build *b) {
    strbuf src = {0};
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

/* ---------------------------------------------------------------- compiling */

static void collect_message(void *opaque, const char *msg) {
    build *b = opaque;
    bool warning = strstr(msg, "warning: ") != NULL;
    strbuf_addf(warning ? &b->warnings : &b->errors, "%s\n", msg);
    /* An error while relocating is fatal to libtcc: after this callback it calls exit(1), as no
     * parser is there to catch it. Leave instead; the state is deleted unused. */
    if (b->relocating && !warning) siglongjmp(b->relocation_failed, 1);
}

/* Symbols the generated code needs from the executor itself. */
static void add_executor_symbols(TCCState *s, bool bounds) {
    if (!bounds) {  /* bounds checking brings allocation functions of its own */
        tcc_add_symbol(s, "malloc", (void *)memory_guard_malloc);
        tcc_add_symbol(s, "calloc", (void *)memory_guard_calloc);
        tcc_add_symbol(s, "realloc", (void *)memory_guard_realloc);
    }
    tcc_add_symbol(s, "render_show_bool", (void *)render_show_bool);
    tcc_add_symbol(s, "render_show_char", (void *)render_show_char);
    tcc_add_symbol(s, "render_show_int", (void *)render_show_int);
    tcc_add_symbol(s, "render_show_uint", (void *)render_show_uint);
    tcc_add_symbol(s, "render_show_double", (void *)render_show_double);
    tcc_add_symbol(s, "render_show_string", (void *)render_show_string);
    tcc_add_symbol(s, "render_show_pointer", (void *)render_show_pointer);
    tcc_add_symbol(s, "render_show_opaque", (void *)render_show_opaque);
    tcc_add_symbol(s, "__cl_copy", (void *)memcpy);
    tcc_add_symbol(s, "read", (void *)stdin_bridge_read);
    tcc_add_symbol(s, "__cl_line", (void *)codemap_line);
    tcc_add_symbol(s, "_exit", (void *)crash_exit_now);
    tcc_add_symbol(s, "_Exit", (void *)crash_exit_now);
}

static bool defined_here(const build *b, const char *name) {
    for (size_t i = 0; i < b->c.n_items; i++) {
        const cell_item *it = &b->c.items[i];
        if (it->kind == ITEM_VARIABLE && !it->is_extern && b->plans[i] != PLAN_REUSE && it->name &&
            strcmp(it->name, name) == 0)
            return true;
    }
    return false;
}

/* Earlier definitions, bound to where they live: globals at their storage, functions at their
 * trampolines. Declared-only functions that libc does not provide get a trampoline too, so a
 * later definition reaches callers compiled before it. */
static void add_notebook_symbols(build *b, TCCState *s) {
    jit *j = b->j;
    for (size_t i = 0; i < j->n_vars; i++)
        if (!defined_here(b, j->vars[i].name)) tcc_add_symbol(s, j->vars[i].name, j->vars[i].addr);
    for (size_t i = 0; i < j->n_functions; i++)
        tcc_add_symbol(s, j->functions[i], trampoline_for(j->functions[i]));
    for (size_t i = 0; i < b->c.n_items; i++) {
        const cell_item *it = &b->c.items[i];
        bool own = it->kind == ITEM_FUNCTION ||
                   (it->kind == ITEM_PROTOTYPE && !dlsym(RTLD_DEFAULT, it->name));
        if (own && !trampoline_target(it->name)) tcc_add_symbol(s, it->name, trampoline_for(it->name));
    }
}

static TCCState *new_state(build *b) {
    TCCState *s = tcc_new();
    if (!s) abort();
    tcc_set_error_func(s, b, collect_message);
    /* options first: -b turns on debug sections, which the output type then creates (the other
     * order leaves them missing and tcc crashes in put_stabs_r) */
    tcc_set_options(s, "-Wall -Wimplicit-function-declaration");
    if (b->j->bounds) tcc_set_options(s, "-b");
    tcc_set_output_type(s, TCC_OUTPUT_MEMORY);
    tcc_add_include_path(s, engine_runtime_include_dir());
    tcc_define_symbol(s, "_GNU_SOURCE", "1");
    return s;
}

/* tcc refused a global initializer at `line`: initialize the variables there at run time. */
static bool move_refused_initializers(build *b) {
    bool moved = false;
    const char *text = b->errors.data ? b->errors.data : "";
    char pattern[64];
    snprintf(pattern, sizeof pattern, "cell[%d]:", b->number);
    for (const char *p = strstr(text, pattern); p; p = strstr(p + 1, pattern)) {
        int line = atoi(p + strlen(pattern));
        const char *eol = strchr(p, '\n');
        const char *refused = strstr(p, "initializer element is not constant");
        if (!refused || (eol && refused > eol)) continue;
        for (size_t i = 0; i < b->c.n_items; i++) {
            const cell_item *it = &b->c.items[i];
            int last_line = it->line;
            for (const char *c = it->text; *c; c++) last_line += *c == '\n';
            if (it->kind == ITEM_VARIABLE && b->plans[i] == PLAN_STATIC_INIT && it->initializer &&
                line >= it->line && line <= last_line) {
                b->plans[i] = PLAN_RUNTIME_INIT;
                moved = true;
            }
        }
    }
    return moved;
}

/* Did tcc refuse the way the trailing expression is shown (an error on its lines)? */
static bool refused_value_display(const build *b) {
    if (!b->want_value || b->value == VALUE_VOID || !b->errors.data || !b->c.n_items) return false;
    const cell_item *last = &b->c.items[b->c.n_items - 1];
    if (last->kind != ITEM_EXPRESSION) return false;
    int last_line = last->line;
    for (const char *c = last->text; *c; c++) last_line += *c == '\n';
    for (int line = last->line; line <= last_line; line++) {
        char at[48];
        snprintf(at, sizeof at, "cell[%d]:%d:", b->number, line);
        if (strstr(b->errors.data, at)) return true;
    }
    return false;
}

static void plan_variables(build *b) {
    for (size_t i = 0; i < b->c.n_items; i++) {
        const cell_item *it = &b->c.items[i];
        b->plans[i] = PLAN_STATIC_INIT;
        if (it->kind != ITEM_VARIABLE || it->is_extern) continue;
        variable *v = find_var(b->j, it->name);
        char *key;
        if (asprintf(&key, "%s %s", it->specifiers, it->declarator) < 0) abort();
        if (v && v->reusable && strcmp(v->type_key, key) == 0) b->plans[i] = PLAN_REUSE;
        free(key);
    }
}

/* Relocates into the code arena (so a crash address can be traced to its cell, and so every cell
 * reaches every other's globals). */
static int relocate(build *b, TCCState *s) {
    int size = tcc_relocate(s, NULL);
    if (size < 0) return -1;
    size_t length = size > 0 ? (size_t)size : 1;
    void *mem = code_arena_alloc(length);
    if (!mem) {
        strbuf_addf(&b->errors, "cell[%d]:1: error: this cell's code and global variables need %zu MiB, more than "
                    "the %zu MiB left for the notebook's code and globals (%zu MiB in all, as gcc's small "
                    "code model allows); allocate large arrays with malloc instead\n", b->number,
                    (length >> 20) + 1, code_arena_left() >> 20, code_arena_capacity() >> 20);
        return -1;
    }
    volatile int rc = -1;
    b->relocating = true;
    if (sigsetjmp(b->relocation_failed, 0) == 0) rc = tcc_relocate(s, mem);
    else {
        strbuf_free(&b->errors);  /* "internal error: relocation failed" says less than this */
        strbuf_addf(&b->errors, "cell[%d]:1: error: the cell cannot be linked: an address in it lies more than "
                    "2 GiB from the code that uses it (a constant index far outside an array?)\n", b->number);
    }
    b->relocating = false;
    if (rc < 0) {
        code_arena_unwind(mem, length);
        return -1;
    }
    b->code = mem;
    b->code_size = length;
    return 0;
}

/* Compiles and links; on failure the state is deleted and NULL returned with b->errors set. */
static TCCState *compile_and_link(build *b) {
    for (int attempt = 0; attempt < 8; attempt++) {
        strbuf_free(&b->errors);
        strbuf_free(&b->warnings);
        memset(b->emitted, 0, b->c.n_items * sizeof *b->emitted);
        char *src = generate(b);
        if (getenv("CONCLAB_JIT_DUMP")) fprintf(stderr, "---- cell[%d] attempt %d\n%s\n", b->number, attempt, src);
        TCCState *s = new_state(b);
        add_executor_symbols(s, b->j->bounds);
        add_notebook_symbols(b, s);
        int rc = tcc_compile_string(s, src);
        free(src);
        if (rc == 0 && relocate(b, s) == 0) return s;
        tcc_delete(s);
        if (move_refused_initializers(b)) continue;
        if (refused_value_display(b)) {
            b->value++;
            continue;
        }
        break;
    }
    if (!b->errors.len) strbuf_add(&b->errors, "compilation failed\n");
    return NULL;
}

/* ---------------------------------------------------------------- remembering definitions */

static void entry_free(entry *e) {
    free_keys(e->keys, e->n_keys);
    free(e->text);
    free(e->kind);
    free(e->declaration);
}

/* The new entry takes the place of the first old one sharing a name; other sharers go. */
static void put_entry(jit *j, entry fresh) {
    size_t slot = j->n_entries;
    for (size_t i = 0; i < j->n_entries;) {
        bool shares = false;
        for (size_t k = 0; k < fresh.n_keys && !shares; k++) shares = entry_has_key(&j->entries[i], fresh.keys[k]);
        if (!shares) {
            i++;
            continue;
        }
        entry_free(&j->entries[i]);
        if (slot == j->n_entries) {
            slot = i;
            j->entries[i] = fresh;
            i++;
        } else {
            memmove(&j->entries[i], &j->entries[i + 1], (j->n_entries - i - 1) * sizeof *j->entries);
            j->n_entries--;
        }
    }
    if (slot == j->n_entries) {
        j->entries = xrealloc(j->entries, (j->n_entries + 1) * sizeof *j->entries);
        j->entries[j->n_entries++] = fresh;
    }
}

static void remember_function_name(jit *j, const char *name) {
    for (size_t i = 0; i < j->n_functions; i++)
        if (strcmp(j->functions[i], name) == 0) return;
    j->functions = xrealloc(j->functions, (j->n_functions + 1) * sizeof *j->functions);
    j->functions[j->n_functions++] = strdup(name);
}

static void remember_type_name(jit *j, const char *name) {
    for (size_t i = 0; i < j->n_type_names; i++)
        if (strcmp(j->type_names[i], name) == 0) return;
    j->type_names = xrealloc(j->type_names, (j->n_type_names + 2) * sizeof *j->type_names);
    j->type_names[j->n_type_names++] = strdup(name);
    j->type_names[j->n_type_names] = NULL;
}

static void remember_variable(jit *j, const cell_item *it, void *addr) {
    variable *v = find_var(j, it->name);
    if (!v) {
        j->vars = xrealloc(j->vars, (j->n_vars + 1) * sizeof *j->vars);
        v = &j->vars[j->n_vars++];
        memset(v, 0, sizeof *v);
        v->name = strdup(it->name);
    }
    free(v->type_key);
    if (asprintf(&v->type_key, "%s %s", it->specifiers, it->declarator) < 0) abort();
    v->addr = addr;
    /* const storage may sit in read-only memory; `int a[] = {...}` has no size to copy by */
    v->reusable = !strstr(it->specifiers, "const") && !strstr(it->declarator, "[]");
}

static const char *item_kind_label(const cell_item *it) {
    switch (it->kind) {
    case ITEM_DIRECTIVE: return it->name ? "macro" : "directive";
    case ITEM_TYPE: return "type";
    case ITEM_FUNCTION:
    case ITEM_PROTOTYPE: return "function";
    case ITEM_VARIABLE: return "variable";
    default: return "statement";
    }
}

static char *entry_text_for(const cell_item *it) {
    char *text = NULL;
    int rc = 0;
    switch (it->kind) {
    case ITEM_DIRECTIVE:
        if (it->name && strncmp(it->text + strspn(it->text, "# \t"), "define", 6) == 0)
            rc = asprintf(&text, "#undef %s\n%s", it->name, it->text);
        else
            text = strdup(it->text);
        break;
    case ITEM_TYPE: text = strdup(it->text); break;
    case ITEM_FUNCTION:
    case ITEM_PROTOTYPE: rc = asprintf(&text, "%s;", it->prototype); break;
    case ITEM_VARIABLE:
        rc = asprintf(&text, "extern %s %s%s;", it->specifiers, it->declarator, it->is_extern ? "" : " " NOTEBOOK_STORAGE);
        break;
    default: break;
    }
    if (rc < 0) abort();
    return text;
}

/* What inspection shows: the declaration as a student would write it. */
static char *declaration_for(const cell_item *it, const char *entry_text) {
    char *text;
    if (it->kind == ITEM_FUNCTION || it->kind == ITEM_PROTOTYPE) return strdup(it->prototype);
    if (it->kind != ITEM_VARIABLE) return strdup(entry_text);
    if (asprintf(&text, "extern %s %s;", it->specifiers, it->declarator) < 0) abort();
    return text;
}

static void describe(json_t *defs, const char *name, const char *kind, const char *decl, int cell) {
    json_array_append_new(defs, json_pack("{s:s, s:s, s:s, s:i}", "name", name, "kind", kind,
                                          "declaration", decl, "cell", cell));
}

static void commit_item(build *b, TCCState *s, const cell_item *it, size_t index, json_t *defs) {
    jit *j = b->j;
    if (it->kind == ITEM_STATEMENT || it->kind == ITEM_EXPRESSION || it->is_conditional) return;
    if (!compiled_in(b, s, it, index)) return;
    if (it->kind == ITEM_VARIABLE && it->is_extern && find_var(j, it->name)) return;
    if (it->kind == ITEM_FUNCTION) {
        char *def;
        if (asprintf(&def, "__cl_def_%d_%s", b->number, it->name) < 0) abort();
        trampoline_bind(it->name, tcc_get_symbol(s, def));
        free(def);
        remember_function_name(j, it->name);
    } else if (it->kind == ITEM_PROTOTYPE && !dlsym(RTLD_DEFAULT, it->name)) {
        trampoline_for(it->name);
        remember_function_name(j, it->name);
    } else if (it->kind == ITEM_VARIABLE && !it->is_extern) {
        void *addr = b->plans[index] == PLAN_REUSE ? find_var(j, it->name)->addr : tcc_get_symbol(s, it->name);
        remember_variable(j, it, addr);
    } else if (it->kind == ITEM_TYPE && it->name && strncmp(it->text, "typedef", 7) == 0) {
        remember_type_name(j, it->name);
    }
    entry e = {0};
    e.keys = item_keys(it, &e.n_keys);
    e.text = entry_text_for(it);
    e.cell = b->number;
    e.line = it->line;
    e.kind = strdup(item_kind_label(it));
    e.declaration = declaration_for(it, e.text);
    if (it->name) describe(defs, it->name, e.kind, e.declaration, b->number);
    else if (it->kind == ITEM_DIRECTIVE && strstr(it->text, "include")) describe(defs, it->text, "include", it->text, b->number);
    for (size_t k = 0; k < it->n_also; k++)
        if (!strchr(it->also[k], ' '))
            describe(defs, it->also[k], it->kind == ITEM_TYPE && strncmp(it->text, "enum", 4) == 0 ?
                     "enum constant" : e.kind, e.declaration, b->number);
    put_entry(j, e);
}

/* Tells the code map where this cell's functions are: __cl_def_N_name and __cl_cell_N. */
static void note_symbol(void *ctx, const char *name, const void *addr) {
    (void)ctx;
    int cell = 0, used = 0;
    if (sscanf(name, "__cl_def_%d_%n", &cell, &used) == 1 && used > 0)
        codemap_add_function((uintptr_t)addr, name + used, cell);
    else if (sscanf(name, "__cl_cell_%d", &cell) == 1)
        codemap_add_function((uintptr_t)addr, NULL, cell);
}

static void map_code(TCCState *s, void *code, size_t size) {
    codemap_add_region((uintptr_t)code, size);
    tcc_list_symbols(s, NULL, note_symbol);
}

static void build_free(build *b) {
    cell_free(&b->c);
    free(b->plans);
    free(b->emitted);
    strbuf_free(&b->errors);
    strbuf_free(&b->warnings);
}

void jit_compile(jit *j, const char *code, int cell_number, bool want_value, jit_cell *out) {
    memset(out, 0, sizeof *out);
    build b = {.j = j, .number = cell_number, .want_value = want_value};
    char *err = NULL;
    if (cell_split(code, jit_type_names(j), &b.c, &err) != 0) {
        const char *msg = strncmp(err, "line ", 5) == 0 ? err + 5 : err;
        int line = atoi(msg);
        const char *colon = strchr(msg, ':');
        if (asprintf(&out->errors, "cell[%d]:%d: error:%s\n", cell_number, line > 0 ? line : 1,
                     colon ? colon + 1 : msg) < 0)
            abort();
        free(err);
        return;
    }
    b.plans = calloc(b.c.n_items + 1, sizeof *b.plans);
    b.emitted = calloc(b.c.n_items + 1, sizeof *b.emitted);
    if (!b.plans || !b.emitted) abort();
    plan_variables(&b);
    TCCState *s = compile_and_link(&b);
    if (b.warnings.len) out->warnings = strbuf_take(&b.warnings);
    if (!s) {
        out->errors = strbuf_take(&b.errors);
        build_free(&b);
        return;
    }
    j->states = xrealloc(j->states, (j->n_states + 1) * sizeof *j->states);
    j->code = xrealloc(j->code, (j->n_states + 1) * sizeof *j->code);
    j->code_size = xrealloc(j->code_size, (j->n_states + 1) * sizeof *j->code_size);
    j->code[j->n_states] = b.code;
    j->code_size[j->n_states] = b.code_size;
    j->states[j->n_states++] = s;
    map_code(s, b.code, b.code_size);
    out->definitions = json_array();
    for (size_t i = 0; i < b.c.n_items; i++) commit_item(&b, s, &b.c.items[i], i, out->definitions);
    char runner[64];
    snprintf(runner, sizeof runner, "__cl_cell_%d", cell_number);
    out->run = (void (*)(void))tcc_get_symbol(s, runner);
    out->has_value = want_value && b.value != VALUE_VOID && b.c.n_items > 0 &&
                     b.c.items[b.c.n_items - 1].kind == ITEM_EXPRESSION;
    out->ok = out->run != NULL;
    build_free(&b);
}

void jit_set_bounds(jit *j, bool on) { j->bounds = on; }

void jit_cell_clear(jit_cell *c) {
    free(c->errors);
    free(c->warnings);
    json_decref(c->definitions);
    memset(c, 0, sizeof *c);
}

static void free_names(char **names, size_t n) {
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

void jit_free(jit *j) {
    if (!j) return;
    for (size_t i = 0; i < j->n_entries; i++) entry_free(&j->entries[i]);
    free(j->entries);
    for (size_t i = 0; i < j->n_vars; i++) {
        free(j->vars[i].name);
        free(j->vars[i].type_key);
    }
    free(j->vars);
    free_names(j->functions, j->n_functions);
    free_names(j->type_names, j->n_type_names);
    for (size_t i = 0; i < j->n_states; i++) {
        tcc_delete(j->states[i]);  /* the code itself stays in the arena */
    }
    free(j->states);
    free(j->code);
    free(j->code_size);
    free(j);
}
