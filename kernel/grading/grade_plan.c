/* grade_plan.c — what is run when a submission is graded: the submission, with every locked and
 * test cell of the instructor's version put back by grade_id.
 *
 * Editing, moving, duplicating or deleting a test cell gains nothing: the instructor's cell (its
 * hidden tests included) stands at the instructor's position, once. The student's own cells (the
 * answers and any cells added) keep their order relative to the instructor's cells they follow
 * (their anchors): an anchor is a cell of the instructor's that the student left in order (the
 * longest run of the instructor's cells found in the instructor's order). Each graded question
 * records what was put back, for the report. */
#include "grading.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"
#include "xalloc.h"

typedef struct source_cell {
    const json_t *cell;
    nbg_cell meta;
    size_t first_copy;     /* index of the first submission cell with its grade_id; SIZE_MAX: none */
    int copies;
    bool in_order;         /* its first copy is an anchor */
} source_cell;

enum { NO_ANCHOR = -1 };

static void read_source(const json_t *source, source_cell *sc, strmap *by_id) {
    size_t i;
    const json_t *cell;
    json_array_foreach(json_object_get(source, "cells"), i, cell) {
        char *err = NULL;
        sc[i].cell = cell;
        sc[i].first_copy = SIZE_MAX;
        if (nbg_cell_read(cell, &sc[i].meta, &err) != 0) free(err);  /* checked before: cannot happen */
        if (sc[i].meta.tracked) strmap_put(by_id, sc[i].meta.grade_id, (void *)(uintptr_t)(i + 1));
    }
}

/* For each submission cell: the source cell it is a copy of (index + 1), or 0 for the student's
 * own cells. A later copy of a locked cell is dropped (*dropped); a later copy of an answer
 * counts as the student's own cell. */
static size_t *match_submission(const json_t *submission, source_cell *sc, const strmap *by_id, bool *dropped) {
    const json_t *cells = json_object_get(submission, "cells");
    size_t n = json_array_size(cells), i;
    size_t *match = xcalloc(n ? n : 1, sizeof *match);
    const json_t *cell;
    json_array_foreach(cells, i, cell) {
        nbg_cell m;
        char *err = NULL;
        if (nbg_cell_read(cell, &m, &err) != 0) {  /* a student's broken metadata: the cell is the student's */
            free(err);
            continue;
        }
        size_t at = m.tracked ? (size_t)(uintptr_t)strmap_get(by_id, m.grade_id) : 0;
        if (!at) continue;
        source_cell *s = &sc[at - 1];
        if (s->copies++ == 0) {
            s->first_copy = i;
            match[i] = at;
        } else {
            dropped[i] = nbg_is_locked(&s->meta);
        }
    }
    return match;
}

/* Marks the source cells whose first copies form the longest run in the instructor's order
 * (a longest increasing subsequence, quadratic: notebooks have tens of graded cells). */
static void find_anchors(const json_t *submission, source_cell *sc, const size_t *match) {
    size_t n = json_array_size(json_object_get(submission, "cells"));
    size_t *order = xmalloc((n ? n : 1) * sizeof *order), m = 0;
    for (size_t i = 0; i < n; i++)
        if (match[i]) order[m++] = match[i] - 1;
    size_t *len = xmalloc((m ? m : 1) * sizeof *len), *prev = xmalloc((m ? m : 1) * sizeof *prev);
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < m; i++) {
        len[i] = 1;
        prev[i] = SIZE_MAX;
        for (size_t j = 0; j < i; j++)
            if (order[j] < order[i] && len[j] + 1 > len[i]) len[i] = len[j] + 1, prev[i] = j;
        if (best == SIZE_MAX || len[i] > len[best]) best = i;
    }
    for (size_t i = best; i != SIZE_MAX; i = prev[i]) sc[order[i]].in_order = true;
    free(order);
    free(len);
    free(prev);
}

static bool same_text(const char *a, const char *b) {
    /* Jupyter on another system may have saved "\r\n"; the text is what matters. */
    while (*a || *b) {
        if (*a == '\r' && a[1] == '\n') a++;
        if (*b == '\r' && b[1] == '\n') b++;
        if (*a != *b) return false;
        if (*a) a++, b++;
    }
    return true;
}

static const char *restored_state(const source_cell *s, const json_t *submission) {
    if (s->copies == 0) return "deleted";
    if (s->copies > 1) return "duplicated";
    if (!nbg_is_locked(&s->meta)) return "unchanged";  /* an answer: the student's to change */
    const json_t *copy = json_array_get(json_object_get(submission, "cells"), s->first_copy);
    char *released = assign_released_source(s->cell, &s->meta), *theirs = nbg_cell_source(copy);
    char *full = nbg_cell_source(s->cell);  /* the instructor's own notebook graded as a submission */
    const char *type = json_string_value(json_object_get(copy, "cell_type"));
    bool edited = (!same_text(released, theirs) && !same_text(full, theirs)) || !type ||
                  strcmp(type, json_string_value(json_object_get(s->cell, "cell_type"))) != 0;
    free(released);
    free(theirs);
    free(full);
    if (edited) return "edited";
    return s->in_order ? "unchanged" : "moved";
}

/* The instructor's cell, as it is to run: the whole source (hidden tests too), no outputs. */
static json_t *instructor_copy(const source_cell *s, bool released) {
    json_t *cell = json_deep_copy(s->cell);
    if (released) {
        char *text = assign_released_source(s->cell, &s->meta);
        json_object_set_new(cell, "source", grading_lines(text));
        free(text);
    }
    if (s->meta.is_code) {
        json_object_set_new(cell, "outputs", json_array());
        json_object_set_new(cell, "execution_count", json_null());
    }
    return cell;
}

/* A student's cell: their copy; a second copy of an answer loses its nbgrader identity so the
 * notebook has each grade_id once. */
static json_t *student_copy(const json_t *cell, bool strip_identity) {
    json_t *copy = json_deep_copy(cell);
    if (strip_identity) json_object_del(json_object_get(copy, "metadata"), "nbgrader");
    return copy;
}

static void item_from_source(grade_item *it, const source_cell *s, const json_t *submission) {
    const nbg_cell *m = &s->meta;
    it->grade_id = xstrdup(m->grade_id);
    it->name = xstrdup(m->grade_id);
    it->kind = m->is_code && m->grade && !m->solution ? "test" : m->is_code && m->grade ? "answer" : "manual";
    it->max_points = m->points;
    it->status = "error";
    it->message = xstrdup("not run");
    it->output = xstrdup("");
    char *text = nbg_cell_source(s->cell);
    it->hidden = strcmp(it->kind, "test") == 0 && regions_has_marker(text, "HIDDEN TESTS");
    it->hidden_text = it->hidden ? regions_hidden_text(text) : NULL;
    free(text);
    it->restored = submission ? restored_state(s, submission) : "unchanged";
    const json_t *conclab = json_object_get(json_object_get(s->cell, "metadata"), "conclab");
    const json_t *repeat = json_object_get(conclab, "repeat");
    it->repeat = json_is_integer(repeat) && json_integer_value(repeat) > 1 ? (int)json_integer_value(repeat) : 0;
    if (it->repeat > 1000) it->repeat = 1000;
    it->chaos = json_is_true(json_object_get(conclab, "chaos"));
    it->tsan = json_is_true(json_object_get(conclab, "tsan"));
    it->lockcheck = json_is_true(json_object_get(conclab, "lockcheck"));
    if (submission && strcmp(it->kind, "manual") == 0 && s->copies > 0) {
        const json_t *copy = json_array_get(json_object_get(submission, "cells"), s->first_copy);
        char *released = assign_released_source(s->cell, &s->meta), *theirs = nbg_cell_source(copy);
        it->unanswered = m->solution && same_text(released, theirs);
        free(released);
        free(theirs);
    } else if (submission && s->copies == 0 && m->solution) {
        it->unanswered = true;
    }
}

/* nbformat 4.5 wants cell ids unique: a student's copy of a cell keeps its id, so a second one
 * gets a suffix. */
static void make_id_unique(const grade_plan *p, json_t *cell) {
    const char *id = json_string_value(json_object_get(cell, "id"));
    if (!id) return;
    for (int suffix = 2;; suffix++) {
        char *candidate = suffix == 2 ? xstrdup(id) : xasprintf("%s-%d", id, suffix - 1);
        bool taken = false;
        size_t i;
        json_t *other;
        json_array_foreach(json_object_get(p->notebook, "cells"), i, other) {
            const char *other_id = json_string_value(json_object_get(other, "id"));
            if (other_id && strcmp(other_id, candidate) == 0) taken = true;
        }
        if (!taken) {
            json_object_set_new(cell, "id", json_string(candidate));
            free(candidate);
            return;
        }
        free(candidate);
    }
}

static void plan_add(grade_plan *p, json_t *cell, int item, bool is_test, bool is_locked) {
    make_id_unique(p, cell);
    size_t n = json_array_size(json_object_get(p->notebook, "cells"));
    json_array_append_new(json_object_get(p->notebook, "cells"), cell);
    p->item_of_cell = xrealloc(p->item_of_cell, (n + 1) * sizeof *p->item_of_cell);
    p->is_test_cell = xrealloc(p->is_test_cell, (n + 1) * sizeof *p->is_test_cell);
    p->is_locked_cell = xrealloc(p->is_locked_cell, (n + 1) * sizeof *p->is_locked_cell);
    p->item_of_cell[n] = item;
    p->is_test_cell[n] = is_test;
    p->is_locked_cell[n] = is_locked;
}

/* An answer cell whose nbgrader metadata is gone (deleted, or retyped in a new cell). As nbgrader
 * does, the released stub is not put back: it would stand after the student's own cells and
 * replace their definitions. The student's cells run as they are; a graded answer that has no
 * cell of its own is left unanswered. Either way the report says what happened. */
static void note_missing_answer(grade_plan *plan, const source_cell *c, int item_index) {
    if (item_index >= 0) {
        grade_item *it = &plan->items[item_index];
        it->unanswered = true;
        scoring_manual(it, true);
        free(it->message);
        it->message = xasprintf("the answer cell '%s' is missing from the submission (deleted, or recreated without its "
                                "nbgrader metadata): it was graded as unanswered", c->meta.grade_id);
        json_array_append_new(plan->notes, json_sprintf("the answer cell '%s' is missing from the submission (deleted, or "
                                                        "recreated without its nbgrader metadata); this question was "
                                                        "graded as unanswered", c->meta.grade_id));
        return;
    }
    json_array_append_new(plan->notes, json_sprintf("the answer cell '%s' is missing from the submission (deleted, or "
                                                    "recreated without its nbgrader metadata); the released stub was not "
                                                    "put back and the student's own cells were graded as they are",
                                                    c->meta.grade_id));
}

static int build(const json_t *source, const json_t *submission, grade_plan *plan) {
    memset(plan, 0, sizeof *plan);
    const json_t *src_cells = json_object_get(source, "cells");
    size_t n_src = json_array_size(src_cells);
    source_cell *sc = xcalloc(n_src ? n_src : 1, sizeof *sc);
    strmap by_id = {0};
    read_source(source, sc, &by_id);
    const json_t *sub_cells = submission ? json_object_get(submission, "cells") : NULL;
    size_t n_sub = json_array_size(sub_cells);
    bool *dropped = xcalloc(n_sub ? n_sub : 1, sizeof *dropped);
    size_t *match = submission ? match_submission(submission, sc, &by_id, dropped) : xcalloc(1, sizeof *match);
    if (submission) find_anchors(submission, sc, match);

    /* Each student cell follows the anchor before it (a source index), or comes first. */
    int *anchor = xmalloc((n_sub ? n_sub : 1) * sizeof *anchor);
    int current = NO_ANCHOR;
    for (size_t i = 0; i < n_sub; i++) {
        anchor[i] = current;
        if (match[i] && sc[match[i] - 1].in_order) current = (int)(match[i] - 1);
    }

    plan->notes = json_array();
    plan->notebook = submission ? json_deep_copy(submission) : json_deep_copy(source);
    json_object_set_new(plan->notebook, "cells", json_array());
    for (size_t i = 0; i < n_src; i++)
        if (sc[i].meta.tracked && (sc[i].meta.grade || sc[i].meta.task)) plan->n_items++;
    plan->items = xcalloc(plan->n_items ? plan->n_items : 1, sizeof *plan->items);

    for (size_t i = 0; i < n_sub; i++)
        if (!match[i] && !dropped[i] && anchor[i] == NO_ANCHOR) plan_add(plan, student_copy(json_array_get(sub_cells, i), true), -1, false, false);
    size_t item = 0;
    for (size_t s = 0; s < n_src; s++) {
        source_cell *c = &sc[s];
        if (!c->meta.tracked) continue;
        int item_index = -1;
        if (c->meta.grade || c->meta.task) {
            item_index = (int)item;
            item_from_source(&plan->items[item++], c, submission);
        }
        bool is_test = item_index >= 0 && strcmp(plan->items[item_index].kind, "test") == 0;
        json_t *cell;
        if (nbg_is_locked(&c->meta) || !submission) cell = instructor_copy(c, !submission && !nbg_is_locked(&c->meta));
        else if (c->copies == 0) cell = NULL;
        else cell = student_copy(json_array_get(sub_cells, c->first_copy), false);
        if (cell) plan_add(plan, cell, item_index, is_test, nbg_is_locked(&c->meta));
        else note_missing_answer(plan, c, item_index);
        if (!c->in_order) continue;
        for (size_t i = 0; i < n_sub; i++)
            if (!match[i] && !dropped[i] && anchor[i] == (int)s) plan_add(plan, student_copy(json_array_get(sub_cells, i), true), -1, false, false);
    }
    free(anchor);
    free(dropped);
    free(match);
    free(sc);
    strmap_free(&by_id);
    return 0;
}

int grade_plan_build(const json_t *source, const json_t *submission, grade_plan *plan, char **err) {
    if (assign_check_source(source, err) != 0) return -1;
    return build(source, submission, plan);
}

int grade_plan_items_only(const json_t *source, grade_plan *plan, char **err) {
    if (assign_check_source(source, err) != 0) return -1;
    return build(source, NULL, plan);
}

void grade_plan_hide(grade_plan *plan) {
    /* every item: one test's hidden line may show in another's output (a later crash's traceback) */
    for (size_t h = 0; h < plan->n_items; h++) {
        if (!plan->items[h].hidden_text) continue;
        for (size_t i = 0; i < plan->n_items; i++) {
            grade_item *it = &plan->items[i];
            char *message = regions_redact(it->message, plan->items[h].hidden_text);
            char *output = regions_redact(it->output, plan->items[h].hidden_text);
            free(it->message);
            free(it->output);
            it->message = message;
            it->output = output;
        }
    }
}

void grade_plan_free(grade_plan *plan) {
    for (size_t i = 0; i < plan->n_items; i++) {
        grade_item *it = &plan->items[i];
        free(it->grade_id);
        free(it->name);
        free(it->message);
        free(it->output);
        free(it->replay);
        free(it->hidden_text);
    }
    free(plan->items);
    free(plan->item_of_cell);
    free(plan->is_test_cell);
    free(plan->is_locked_cell);
    json_decref(plan->notebook);
    json_decref(plan->notes);
    memset(plan, 0, sizeof *plan);
}
