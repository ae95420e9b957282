/* jit.c — compiles one cell at a time with libtcc so that the notebook behaves as one C file.
 *
 * Each cell gets a TCCState of its own, which is deleted once the code is relocated into the
 * code arena: only the code and what the notebook must remember of it stay. A cell is compiled
 * against the earlier definitions its text reaches (definitions.h), bound to where they live:
 * globals at their storage, functions at their trampolines. Should a cell reach a name it could
 * not see in advance (a macro that pastes tokens), it is compiled against everything.
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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "code_arena.h"
#include "definition_records.h"
#include "conclab_host.h"
#include "cell_times.h"
#include "codemap.h"
#include "crash.h"
#include "runtime_paths.h"
#include "jit_build.h"
#include "lexer.h"
#include "memory_guard.h"
#include "render.h"
#include "stdin_bridge.h"
#include "trampoline.h"
#include "xalloc.h"

jit *jit_new(void) {
    jit *j = calloc(1, sizeof *j);
    if (!j) abort();
    definitions_init(&j->defs);
    return j;
}

void jit_set_bounds(jit *j, bool on) { j->bounds = on; }
void jit_set_prelude(jit *j, bool on) { j->no_prelude = !on; }

/* ---------------------------------------------------------------- what the cell needs */

static variable *find_var(const jit *j, const char *name) { return strmap_get(&j->vars, name); }

static void add_name(void *ctx, const char *name) {
    build *b = ctx;
    b->names = xrealloc(b->names, (b->n_names + 1) * sizeof *b->names);
    b->names[b->n_names] = strdup(name);
    if (!b->names[b->n_names++]) abort();
}

static int by_definition(const void *x, const void *y) {
    const replacement *a = x, *b = y;
    if (a->definition != b->definition) return a->definition < b->definition ? -1 : 1;
    return a->item < b->item ? -1 : a->item > b->item;
}

/* The earlier definitions this cell defines again: each is replaced by the cell's first item
 * that shares one of its names. */
static void find_replacements(build *b) {
    for (size_t i = 0; i < b->c.n_items; i++) {
        const cell_item *it = &b->c.items[i];
        if (it->kind == ITEM_STATEMENT || it->kind == ITEM_EXPRESSION) continue;
        if (it->kind == ITEM_VARIABLE && it->is_extern && !find_var(b->j, it->name)) continue;
        size_t n;
        char **keys = jit_item_keys(it, &n);
        for (size_t k = 0; k < n; k++) {
            const definition *def = definitions_find(&b->j->defs, keys[k]);
            if (!def) continue;
            b->replaced = xrealloc(b->replaced, (b->n_replaced + 1) * sizeof *b->replaced);
            b->replaced[b->n_replaced++] = (replacement){definitions_index(&b->j->defs, def), i};
        }
        jit_free_keys(keys, n);
    }
    if (b->n_replaced > 1) qsort(b->replaced, b->n_replaced, sizeof *b->replaced, by_definition);
}

/* The prelude headers declaring a name the cell reaches: in its text or in a definition of its
 * prelude. */
static void choose_headers(build *b) {
    b->headers = 0;
    if (b->j->no_prelude) return;
    if (b->everything) {
        b->headers = PRELUDE_ALL;
        return;
    }
    for (size_t i = 0; i < b->n_names; i++) b->headers |= prelude_header_of(b->names[i]);
    for (size_t p = 0; p < b->n_prelude; p++) {
        const definition *def = &b->j->defs.items[b->prelude[p]];
        const char *u = def->uses;
        for (size_t k = 0; k < def->n_uses; k++, u += strlen(u) + 1) b->headers |= prelude_header_of(u);
    }
}

/* Which earlier definitions go into the cell's prelude: what its text reaches, or all. */
static void choose_prelude(build *b) {
    free(b->prelude);
    b->prelude = NULL;
    b->n_prelude = 0;
    bool pastes = false;
    if (!b->everything) {
        b->prelude = definitions_needed(&b->j->defs, b->names, b->n_names, &b->n_prelude, &pastes);
        if (!pastes) {
            choose_headers(b);
            return;
        }
        free(b->prelude);
        b->n_prelude = 0;
        b->everything = true;  /* a ## somewhere: names may be made that no text shows */
    }
    const definitions *d = &b->j->defs;
    b->prelude = xrealloc(NULL, (d->n + 1) * sizeof *b->prelude);
    for (size_t i = 0; i < d->n; i++)
        if (d->items[i].live) b->prelude[b->n_prelude++] = i;
    choose_headers(b);
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

/* ---------------------------------------------------------------- symbols */

/* Symbols the generated code needs from the executor itself. */
static void add_executor_symbols(TCCState *s, bool bounds) {
    if (!bounds) {  /* bounds checking brings allocation functions (and pthread_create) of its own */
        tcc_add_symbol(s, "pthread_create", (void *)crash_pthread_create);  /* a signal stack for each thread */
        tcc_add_symbol(s, "malloc", (void *)memory_guard_malloc);
        tcc_add_symbol(s, "calloc", (void *)memory_guard_calloc);
        tcc_add_symbol(s, "realloc", (void *)memory_guard_realloc);
    }
    tcc_add_symbol(s, "render_show_value", (void *)render_show_value);
    tcc_add_symbol(s, "render_show_opaque", (void *)render_show_opaque);
    tcc_add_symbol(s, "render_show_exit_status", (void *)render_show_exit_status);
    for (const render_builtin *t = render_builtins; t->symbol; t++) tcc_add_symbol(s, t->symbol, (void *)t->type);
    tcc_add_symbol(s, "__cl_copy", (void *)memcpy);
    /* sleeps, I/O and waits that let the emulated GIL go while they block, as CPython's do */
    for (const cl_host_blocking_call *c = cl_host_blocking_calls(); c->name; c++)
        if (strcmp(c->name, "read") != 0) tcc_add_symbol(s, c->name, c->function);
    tcc_add_symbol(s, "read", (void *)stdin_bridge_read);  /* which reads other descriptors so too */
    tcc_add_symbol(s, "__cl_line", (void *)codemap_line);
    tcc_add_symbol(s, "__cl_timeit", (void *)cell_times_timeit);  /* %timeit, %%timeit (magics.h) */
    tcc_add_symbol(s, "_exit", (void *)crash_exit_now);
    tcc_add_symbol(s, "_Exit", (void *)crash_exit_now);
}

/* A name that an earlier definition in the prelude declares: a global at its storage, a
 * function at its trampoline. */
static void bind_earlier(build *b, TCCState *s, const char *name) {
    variable *v = find_var(b->j, name);
    if (v) tcc_add_symbol(s, name, v->addr);
    else if (strmap_get(&b->j->functions, name)) tcc_add_symbol(s, name, trampoline_for(name));
}

static bool is_own_function(const cell_item *it) {
    return it->kind == ITEM_FUNCTION || (it->kind == ITEM_PROTOTYPE && !dlsym(RTLD_DEFAULT, it->name));
}

/* Does the cell define the name of definition `at` anew, as storage of its own? */
static bool defines_storage_anew(const build *b, size_t at) {
    const cell_item *by = jit_replacement_of(b, at);
    return by && by->kind == ITEM_VARIABLE && !by->is_extern && b->plans[by - b->c.items] != PLAN_REUSE;
}

/* Earlier definitions bound to where they live. The cell's own globals are its to define, but a
 * global it redefines with the same type keeps its storage. Declared-only functions that libc
 * does not provide get a trampoline too, so a later definition reaches callers compiled before. */
static void add_notebook_symbols(build *b, TCCState *s) {
    for (size_t p = 0; p < b->n_prelude; p++) {
        const definition *def = &b->j->defs.items[b->prelude[p]];
        if (!def->live || !def->n_keys || def->is_directive || def->is_macro) continue;
        if (!defines_storage_anew(b, b->prelude[p])) bind_earlier(b, s, def->keys[0]);
    }
    for (size_t i = 0; i < b->c.n_items; i++) {
        const cell_item *it = &b->c.items[i];
        if (it->kind == ITEM_VARIABLE && (b->plans[i] == PLAN_REUSE || it->is_extern)) {
            variable *v = find_var(b->j, it->name);
            if (v) tcc_add_symbol(s, it->name, v->addr);
        } else if (is_own_function(it) && !trampoline_target(it->name)) {
            tcc_add_symbol(s, it->name, trampoline_for(it->name));
        }
    }
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

static TCCState *new_state(build *b) {
    TCCState *s = tcc_new();
    if (!s) abort();
    tcc_set_error_func(s, b, collect_message);
    /* options first: -b turns on debug sections, which the output type then creates (the other
     * order leaves them missing and tcc crashes in put_stabs_r) */
    tcc_set_options(s, "-Wall -Wimplicit-function-declaration");
    if (b->j->bounds) tcc_set_options(s, "-b");
    tcc_set_output_type(s, TCC_OUTPUT_MEMORY);
    tcc_add_include_path(s, runtime_include_dir());
    tcc_define_symbol(s, "_GNU_SOURCE", "1");
    return s;
}

static int last_line_of(const cell_item *it) {
    int line = it->line;
    for (const char *c = it->text; *c; c++) line += *c == '\n';
    return line;
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
            if (it->kind == ITEM_VARIABLE && b->plans[i] == PLAN_STATIC_INIT && it->initializer &&
                line >= it->line && line <= last_line_of(it)) {
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
    for (int line = last->line; line <= last_line_of(last); line++) {
        char at[48];
        snprintf(at, sizeof at, "cell[%d]:%d:", b->number, line);
        if (strstr(b->errors.data, at)) return true;
    }
    return false;
}

static bool in_prelude(const build *b, size_t at) {
    size_t lo = 0, hi = b->n_prelude;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (b->prelude[mid] < at) lo = mid + 1;
        else hi = mid;
    }
    return lo < b->n_prelude && b->prelude[lo] == at;
}

/* Does a diagnostic name ('x' or "x") something the notebook defines that this cell's prelude
 * left out? Then the cell reached it in a way its text did not show. */
static bool mentions_left_out_name(const build *b, const char *text) {
    for (const char *p = text ? text : ""; (p = strpbrk(p, "'\"")); p++) {
        const char *end = strchr(p + 1, *p);
        if (!end) break;
        char name[256], macro[258];
        size_t len = (size_t)(end - p - 1);
        if (len == 0 || len >= sizeof name) continue;
        memcpy(name, p + 1, len);
        name[len] = '\0';
        snprintf(macro, sizeof macro, "#%s", name);
        const definition *def = definitions_find(&b->j->defs, name);
        if (!def) def = definitions_find(&b->j->defs, macro);
        if (def && !in_prelude(b, definitions_index(&b->j->defs, def))) return true;
        p = end;
    }
    return false;
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
    if (sigsetjmp(b->relocation_failed, 0) == 0) {
        rc = tcc_relocate(s, mem);
    } else {
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
    code_arena_note_written(mem, length);
    return 0;
}

/* One compile and link with the plans as they stand; NULL with b->errors set on failure. */
static TCCState *attempt(build *b) {
    strbuf_free(&b->errors);
    strbuf_free(&b->warnings);
    char *src = jit_source_generate(b);
    if (getenv("CONCLAB_JIT_DUMP")) fprintf(stderr, "---- cell[%d]\n%s\n", b->number, src);
    TCCState *s = new_state(b);
    add_executor_symbols(s, b->j->bounds);
    add_notebook_symbols(b, s);
    int rc = tcc_compile_string(s, src);
    free(src);
    if (rc == 0 && relocate(b, s) == 0) return s;
    tcc_delete(s);
    return NULL;
}

/* Did the cell fail, or call a function nobody declared, while some prelude headers were left
 * out? A header updated since the build may declare a name our table does not know. */
static bool may_miss_a_header(const build *b, const TCCState *s) {
    if (b->j->no_prelude || b->headers == PRELUDE_ALL) return false;
    return !s || (b->warnings.data && strstr(b->warnings.data, "implicit declaration"));
}

/* Compiles and links, adjusting the plans as tcc's refusals teach us; NULL on failure. tcc
 * stops at its first error, so each refused initializer costs a round: a cell may have as many
 * as it has items (`int a = f(); int b = f(); ...`), plus a few rounds for the other lessons. */
static TCCState *compile_and_link(build *b) {
    size_t rounds = b->c.n_items + 8;
    for (size_t round = 0; round < rounds; round++) {
        TCCState *s = attempt(b);
        if (may_miss_a_header(b, s)) {
            if (s) {
                code_arena_unwind(b->code, b->code_size);
                tcc_delete(s);
            }
            b->headers = PRELUDE_ALL;
            continue;
        }
        bool left_out = !b->everything && (mentions_left_out_name(b, b->errors.data) ||
                                           mentions_left_out_name(b, b->warnings.data));
        if (left_out) {
            if (s) {
                code_arena_unwind(b->code, b->code_size);
                tcc_delete(s);
            }
            b->everything = true;
            choose_prelude(b);
            continue;
        }
        if (s) return s;
        if (move_refused_initializers(b)) continue;
        if (refused_value_display(b)) {  /* "declaration of void object": a call that returns nothing */
            b->value = strstr(b->errors.data, "void") ? VALUE_VOID : b->value + 1;
            continue;
        }
        break;
    }
    if (!b->errors.len) strbuf_add(&b->errors, "compilation failed\n");
    return NULL;
}

/* ---------------------------------------------------------------- remembering definitions */

static void remember_variable(jit *j, const cell_item *it, void *addr) {
    variable *v = find_var(j, it->name);
    if (!v) {
        v = calloc(1, sizeof *v);
        if (!v) abort();
        strmap_put(&j->vars, it->name, v);
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

static char *definition_text_for(const cell_item *it, bool notebook_variable) {
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
        rc = asprintf(&text, "extern %s %s%s;", it->specifiers, it->declarator, notebook_variable ? " " NOTEBOOK_STORAGE : "");
        break;
    default: break;
    }
    if (rc < 0 || !text) abort();
    return text;
}

/* What inspection shows: the declaration as a student would write it. */
static char *declaration_for(const cell_item *it, const char *text) {
    char *decl;
    if (it->kind == ITEM_FUNCTION || it->kind == ITEM_PROTOTYPE) return strdup(it->prototype);
    if (it->kind != ITEM_VARIABLE) return strdup(text);
    if (asprintf(&decl, "extern %s %s;", it->specifiers, it->declarator) < 0) abort();
    return decl;
}

/* One record of jit_cell.definitions; the separators cannot occur in the fields. */

static bool compiled_in(const build *b, TCCState *s, const cell_item *it, size_t index) {
    if (it->conditional_depth == 0) return true;
    char marker[64];
    jit_item_marker(b, index, marker, sizeof marker);
    return tcc_get_symbol(s, marker) != NULL;
}

/* Binds what the item defines (trampolines, storage, type names) and adds its definition. */
static void bind_item(build *b, TCCState *s, const cell_item *it, size_t index) {
    jit *j = b->j;
    if (it->kind == ITEM_FUNCTION) {
        char def[300];
        snprintf(def, sizeof def, "__cl_def_%d_%s", b->number, it->name);
        trampoline_bind(it->name, tcc_get_symbol(s, def));
        strmap_put(&j->functions, it->name, (void *)1);
    } else if (it->kind == ITEM_PROTOTYPE && !dlsym(RTLD_DEFAULT, it->name)) {
        trampoline_for(it->name);
        strmap_put(&j->functions, it->name, (void *)1);
    } else if (it->kind == ITEM_VARIABLE && !it->is_extern) {
        void *addr = b->plans[index] == PLAN_REUSE ? find_var(j, it->name)->addr : tcc_get_symbol(s, it->name);
        remember_variable(j, it, addr);
    } else if (it->kind == ITEM_TYPE && it->name && strncmp(it->text, "typedef", 7) == 0) {
        strmap_put(&j->type_names, it->name, (void *)1);
    }
}

static void commit_item(build *b, TCCState *s, const cell_item *it, size_t index, strbuf *defs) {
    jit *j = b->j;
    if (it->kind == ITEM_STATEMENT || it->kind == ITEM_EXPRESSION || it->is_conditional) return;
    if (!compiled_in(b, s, it, index)) return;
    if (it->kind == ITEM_VARIABLE && it->is_extern && find_var(j, it->name)) return;
    bind_item(b, s, it, index);
    definition d = {0};
    d.keys = jit_item_keys(it, &d.n_keys);
    d.text = definition_text_for(it, it->kind == ITEM_VARIABLE && !it->is_extern);
    d.cell = b->number;
    d.line = it->line;
    d.kind = strdup(item_kind_label(it));
    d.declaration = declaration_for(it, d.text);
    d.is_directive = it->kind == ITEM_DIRECTIVE && !it->name;
    d.is_macro = it->kind == ITEM_DIRECTIVE && it->name;
    if (it->name) definition_record_add(defs, it->name, d.kind, d.declaration, b->number);
    else if (it->kind == ITEM_DIRECTIVE && strstr(it->text, "include")) definition_record_add(defs, it->text, "include", it->text, b->number);
    for (size_t k = 0; k < it->n_also; k++)
        if (!strchr(it->also[k], ' '))
            definition_record_add(defs, it->also[k], it->kind == ITEM_TYPE && strncmp(it->text, "enum", 4) == 0 ?
                     "enum constant" : d.kind, d.declaration, b->number);
    definitions_put(&j->defs, d);
}

/* Where this cell's functions are, for crash reports: __cl_def_N_name and __cl_cell_N. */
static void note_symbol(void *ctx, const char *name, const void *addr) {
    strbuf *map = ctx;
    int cell = 0, used = 0;
    if (sscanf(name, "__cl_def_%d_%n", &cell, &used) == 1 && used > 0)
        strbuf_addf(map, "F %lx %d %s\n", (unsigned long)(uintptr_t)addr, cell, name + used);
    else if (sscanf(name, "__cl_cell_%d", &cell) == 1)
        strbuf_addf(map, "F %lx %d\n", (unsigned long)(uintptr_t)addr, cell);
}

static char *code_map_of(TCCState *s, void *code, size_t size) {
    strbuf map = {0};
    strbuf_addf(&map, "R %lx %zx\n", (unsigned long)(uintptr_t)code, size);
    tcc_list_symbols(s, &map, note_symbol);
    return strbuf_take(&map);
}

static void build_free(build *b) {
    cell_free(&b->c);
    free(b->plans);
    free(b->emitted);
    free(b->replaced);
    free(b->prelude);
    for (size_t i = 0; i < b->n_names; i++) free(b->names[i]);
    free(b->names);
    strbuf_free(&b->errors);
    strbuf_free(&b->warnings);
}

/* tcc accepts _Thread_local and ignores it: the variable would be one for all threads, silently.
 * Refuse it (diagnostics.h then names cl_local). Returns its line, or 0. */
static int thread_local_line(const char *code) {
    lexer lx;
    lexer_init(&lx, code, strlen(code));
    for (token t = lexer_next(&lx); t.kind != TOK_EOF; t = lexer_next(&lx))
        if (t.kind == TOK_IDENT && token_is(code, &t, "_Thread_local")) return t.line;
    return 0;
}

static void report_split_error(int cell_number, const cell_error *err, jit_cell *out) {
    out->errors = xasprintf("cell[%d]:%d: error: %s\n", cell_number, err->line, err->text);
}

void jit_compile(jit *j, const char *code, int cell_number, bool want_value, jit_cell *out) {
    memset(out, 0, sizeof *out);
    build b = {.j = j, .number = cell_number, .want_value = want_value};
    cell_error err;
    int thread_local_at = thread_local_line(code);
    if (thread_local_at) {
        if (asprintf(&out->errors, "cell[%d]:%d: error: '_Thread_local' is not supported: every thread would share "
                     "the variable\n", cell_number, thread_local_at) < 0)
            abort();
        return;
    }
    if (cell_split(code, &j->type_names, &b.c, &err) != 0) {
        report_split_error(cell_number, &err, out);
        return;
    }
    b.plans = calloc(b.c.n_items + 1, sizeof *b.plans);
    b.emitted = calloc(b.c.n_items + 1, sizeof *b.emitted);
    if (!b.plans || !b.emitted) abort();
    plan_variables(&b);
    definitions_scan_uses(code, add_name, &b, &b.everything);
    find_replacements(&b);
    choose_prelude(&b);
    TCCState *s = compile_and_link(&b);
    if (b.warnings.len) out->warnings = strbuf_take(&b.warnings);
    if (!s) {
        out->errors = strbuf_take(&b.errors);
        build_free(&b);
        return;
    }
    out->code_map = code_map_of(s, b.code, b.code_size);
    strbuf defs = {0};
    for (size_t i = 0; i < b.c.n_items; i++) commit_item(&b, s, &b.c.items[i], i, &defs);
    out->definitions_length = defs.len;
    out->definitions = defs.len ? strbuf_take(&defs) : NULL;
    strbuf_free(&defs);
    char runner[64];
    snprintf(runner, sizeof runner, "__cl_cell_%d", cell_number);
    out->run = (void (*)(void))tcc_get_symbol(s, runner);
    const cell_item *main_item = jit_main_item(&b);
    out->has_value = want_value && ((b.value != VALUE_VOID && b.c.n_items > 0 &&
                                     b.c.items[b.c.n_items - 1].kind == ITEM_EXPRESSION) ||
                                    (main_item && jit_main_returns_int(main_item)));
    out->ok = out->run != NULL;
    tcc_delete(s);  /* the code lives on in the arena; the compiler's state is not needed */
    build_free(&b);
}

void jit_cell_clear(jit_cell *c) {
    free(c->errors);
    free(c->warnings);
    free(c->definitions);
    free(c->code_map);
    memset(c, 0, sizeof *c);
}

static void free_variable(void *ctx, const char *key, void *value) {
    (void)ctx, (void)key;
    variable *v = value;
    free(v->type_key);
    free(v);
}

void jit_free(jit *j) {
    if (!j) return;
    definitions_free(&j->defs);
    strmap_each(&j->vars, free_variable, NULL);
    strmap_free(&j->vars);
    strmap_free(&j->functions);
    strmap_free(&j->type_names);
    free(j);  /* cells' code stays in the arena, which lives as long as the process */
}
