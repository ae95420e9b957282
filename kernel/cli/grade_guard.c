/* grade_guard.c — keeping a graded notebook on the instructor's footing in `conclab grade`.
 *
 * After a student's cell, a macro that shadows a word of the tests, the runtime or a locked cell
 * is undefined, and a locked cell whose definition was replaced runs again; a locked cell that
 * fails is noted. The engine's messages say "cell[7]", a number the student never sees, so the
 * question's grade_id is added. When the engine says the state was lost, the earlier cells that
 * are not tests run again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "grade_run_internal.h"
#include "strbuf.h"
#include "xalloc.h"

/* ---- macros that would blind the tests ---- */

/* A macro persists into every later cell, so `#define cl_check(...) 1` in an answer would make
 * every test pass. Names of the runtime and of what tests are written with may not be macros
 * defined by a student's cell: they are undefined right after it, and the report says so. */
static bool shadows_a_test_word(const char *name) {
    static const char *const words[] = {"assert", "printf", "fprintf", "puts", "exit", "abort", "strcmp",
                                        "memcmp", "if", "else", "return", "while", "for", "do", "int", "long",
                                        "double", "void", "char", "sizeof", "main", NULL};
    if (strncmp(name, "cl_", 3) == 0 || strncmp(name, "CL_", 3) == 0) return true;
    for (const char *const *w = words; *w; w++)
        if (strcmp(name, *w) == 0) return true;
    return false;
}

/* ---- naming the question a message points at ---- */

/* The engine's messages say "cell[7]", a number the student never sees; the question's grade_id
 * is added after it. */
void remember_question(runner *r, int count, size_t index) {
    char buf[160], key[24];
    int item = r->plan->item_of_cell[index];
    json_t *cell = json_array_get(json_object_get(r->plan->notebook, "cells"), index);
    const char *gid = json_string_value(json_object_get(json_object_get(json_object_get(cell, "metadata"), "nbgrader"), "grade_id"));
    if (item >= 0) gid = r->plan->items[item].grade_id;
    if (!gid) return;
    snprintf(key, sizeof key, "%d", count);
    snprintf(buf, sizeof buf, "%s", gid);
    json_object_set_new(r->question_of, key, json_string(buf));
}

static char *name_questions(const runner *r, const char *text) {
    strbuf b = {0};
    const char *at;
    while ((at = strstr(text, "cell["))) {
        char *end;
        long n = strtol(at + 5, &end, 10);
        if (end == at + 5 || *end != ']') {
            strbuf_addn(&b, text, (size_t)(at - text) + 5);
            text = at + 5;
            continue;
        }
        strbuf_addn(&b, text, (size_t)(end + 1 - text));
        char key[24];
        snprintf(key, sizeof key, "%ld", n);
        const char *gid = json_string_value(json_object_get(r->question_of, key));
        if (gid) strbuf_addf(&b, " ('%s')", gid);
        text = end + 1;
    }
    strbuf_add(&b, text);
    return strbuf_take(&b);
}

void name_questions_in_items(const runner *r) {
    for (size_t i = 0; i < r->plan->n_items; i++) {
        grade_item *it = &r->plan->items[i];
        char *message = name_questions(r, it->message), *output = name_questions(r, it->output);
        free(it->message);
        free(it->output);
        it->message = message;
        it->output = output;
    }
}

/* ---- locked cells keep their meaning ---- */

/* A student cell runs after the instructor's setup and helpers, and its definitions replace
 * theirs: `long run_depositors(...) { return the expected total; }` would pass the race test with
 * a racy answer, and `#define run_depositors ...` would break a later helper. So names the locked
 * cells define belong to them: after a student's cell, a macro that shadows a word of a locked
 * cell (or of the runtime, or a test word) is undefined, and a locked cell whose definition was
 * replaced runs again, so the instructor's definition is the one the tests use. */

static const char *cell_label(const runner *r, size_t index, char *buf, size_t size) {
    int item = r->plan->item_of_cell[index];
    json_t *cell = json_array_get(json_object_get(r->plan->notebook, "cells"), index);
    const char *gid = json_string_value(json_object_get(json_object_get(json_object_get(cell, "metadata"), "nbgrader"), "grade_id"));
    if (item >= 0) gid = r->plan->items[item].grade_id;
    if (gid) {
        snprintf(buf, size, "'%s'", gid);
        return buf;
    }
    /* a cell the student added: its first line is what they can find it by */
    char *code = nbg_cell_source(cell);
    const char *first = code + strspn(code, " \t\r\n");
    int len = (int)strcspn(first, "\r\n");
    int shown = len > 40 ? 40 : len;
    while (shown > 0 && shown < len && ((unsigned char)first[shown] & 0xC0) == 0x80) shown--;  /* whole UTF-8 characters */
    snprintf(buf, size, "\"%.*s%s\"", shown, first, shown < len ? "..." : "");
    free(code);
    return buf;
}

static void add_words(json_t *set, const char *text) {
    for (const char *p = text; *p;) {
        if (*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')) {
            const char *start = p;
            while (*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')) p++;
            char *word = xasprintf("%.*s", (int)(p - start), start);
            json_object_set_new(set, word, json_true());
            free(word);
        } else if (*p >= '0' && *p <= '9') {
            while (*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')) p++;
        } else {
            p++;
        }
    }
}

void collect_locked_words(runner *r) {
    r->locked_words = json_object();
    size_t i;
    json_t *cell;
    json_array_foreach(json_object_get(r->plan->notebook, "cells"), i, cell) {
        if (!r->plan->is_locked_cell[i]) continue;
        char *code = nbg_cell_source(cell);
        add_words(r->locked_words, code);
        free(code);
    }
}

/* The names cell number count defined now belong to locked cell index. */
void claim_names(runner *r, int count, size_t index) {
    const char *name;
    json_t *sym;
    json_object_foreach((json_t *)engine_symbols(r->eng), name, sym)
        if (json_integer_value(json_object_get(sym, "cell")) == count) json_object_set_new(r->owners, name, json_integer((json_int_t)index));
}

static void run_quietly(runner *r, const char *code, engine_outcome *out) {
    capture c;
    run_code(r->eng, code, ++r->count, &c, out);
    capture_free(&c);
}

static void undo_shadowing_macros(runner *r, int count, const char *label) {
    const char *name;
    json_t *sym;
    strbuf undo = {0};
    json_object_foreach((json_t *)engine_symbols(r->eng), name, sym) {
        const char *kind = json_string_value(json_object_get(sym, "kind"));
        if (!kind || strcmp(kind, "macro") != 0 || json_integer_value(json_object_get(sym, "cell")) != count ||
            (!shadows_a_test_word(name) && !json_object_get(r->locked_words, name)))
            continue;
        strbuf_addf(&undo, "#undef %s\n", name);
        json_array_append_new(r->plan->notes, json_sprintf("cell %s (In [%d]) defined the macro %s, which would change "
                                                           "what the tests or the locked cells do; it was undefined "
                                                           "before the tests ran", label, count, name));
    }
    if (undo.len) {
        engine_outcome out;
        run_quietly(r, undo.data, &out);
        engine_outcome_clear(&out);
    }
    strbuf_free(&undo);
}

static void restore_locked_definitions(runner *r, int count, const char *label) {
    json_t *rerun = json_object();  /* locked cell index -> the names taken from it */
    const char *name;
    json_t *sym;
    json_object_foreach((json_t *)engine_symbols(r->eng), name, sym) {
        json_t *owner = json_object_get(r->owners, name);
        const char *kind = json_string_value(json_object_get(sym, "kind"));
        if (!owner || json_integer_value(json_object_get(sym, "cell")) != count || (kind && strcmp(kind, "macro") == 0)) continue;
        char key[32];
        snprintf(key, sizeof key, "%lld", (long long)json_integer_value(owner));
        if (!json_object_get(rerun, key)) json_object_set_new(rerun, key, json_array());
        json_array_append_new(json_object_get(rerun, key), json_string(name));
    }
    const char *key;
    json_t *names;
    json_object_foreach(rerun, key, names) {
        size_t index = strtoul(key, NULL, 10);
        char owner_label[160];
        cell_label(r, index, owner_label, sizeof owner_label);
        strbuf list = {0};
        size_t k;
        json_t *n;
        json_array_foreach(names, k, n) strbuf_addf(&list, "%s%s", k ? ", " : "", json_string_value(n));
        char *code = nbg_cell_source(json_array_get(json_object_get(r->plan->notebook, "cells"), index));
        engine_outcome out;
        run_quietly(r, code, &out);
        free(code);
        if (out.ok) claim_names(r, r->count, index);
        json_array_append_new(r->plan->notes, json_sprintf("cell %s (In [%d]) redefined %s, defined by the locked cell %s; "
                                                           "that cell ran again so the tests use the instructor's definition%s%s",
                                                           label, count, list.data, owner_label,
                                                           out.ok ? "" : ", and it failed: ", out.ok ? "" : (out.evalue ? out.evalue : "error")));
        engine_outcome_clear(&out);
        strbuf_free(&list);
    }
    json_decref(rerun);
}

/* After a student's cell (number count) ran. */
void guard_locked_cells(runner *r, size_t index, int count) {
    char label[160];
    cell_label(r, index, label, sizeof label);
    undo_shadowing_macros(r, count, label);
    restore_locked_definitions(r, count, label);
}

/* A locked cell that is not a test failed: nothing scores it, so the report says it, and so do
 * the tests that fail after it. */
void note_locked_failure(runner *r, size_t index, int count, const engine_outcome *out) {
    char label[160];
    cell_label(r, index, label, sizeof label);
    char *what = xasprintf("the locked cell %s (In [%d]) failed: %s: %s; tests that rely on it may fail for that reason",
                           label, count, out->ename ? out->ename : "Error", out->evalue ? out->evalue : "");
    json_array_append_new(r->plan->notes, json_string(what));
    if (!r->locked_failure) r->locked_failure = what;
    else free(what);
}

void rebuild_state(runner *r) {
    if (!r->o->quiet) fprintf(stderr, "conclab grade: the notebook's state was lost; running the %zu earlier cells again\n",
                              r->n_setup);
    json_array_append_new(r->plan->notes, json_sprintf("the notebook's state was lost after In [%d]; the %zu earlier "
                                                       "cells that are not tests ran again", r->count, r->n_setup));
    for (size_t i = 0; i < r->n_setup; i++) {
        json_t *cell = json_array_get(json_object_get(r->plan->notebook, "cells"), r->setup[i]);
        char *code = nbg_cell_source(cell);
        capture c;
        engine_outcome out;
        run_code(r->eng, code, ++r->count, &c, &out);
        engine_outcome_clear(&out);
        capture_free(&c);
        free(code);
    }
}
