/* assign.c — the student version of an instructor notebook, and the checks that refuse a broken
 * one before anything is released or graded. */
#include "grading.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"
#include "xalloc.h"

/* Checks one cell; *err names the problem (the caller adds which cell). */
static int check_cell(const json_t *cell, const nbg_cell *m, char **err) {
    char *source = nbg_cell_source(cell);
    int rc = 0;
    bool has_solution = regions_has_marker(source, "SOLUTION"), has_hidden = regions_has_marker(source, "HIDDEN TESTS");
    char *text = NULL;
    if (has_solution && !m->solution) {
        *err = xstrdup("it has BEGIN SOLUTION markers but is not a solution cell (nbgrader: \"solution\": true); "
                       "its solution would be released");
        rc = -1;
    } else if (has_hidden && !(m->grade && !m->solution && m->is_code)) {
        *err = xstrdup("it has BEGIN HIDDEN TESTS markers but is not an autograded test cell "
                       "(a code cell with \"grade\": true, \"solution\": false)");
        rc = -1;
    } else if (m->grade && !m->solution && !m->is_code) {
        *err = xstrdup("a markdown cell with \"grade\": true must also be \"solution\": true (a written answer) "
                       "or a task");
        rc = -1;
    } else if (has_solution && !(text = regions_clear_solution(source, m->is_code, err))) {
        rc = -1;
    } else if (has_hidden && !(text = regions_remove_hidden(source, NULL, err))) {
        rc = -1;
    }
    free(text);
    free(source);
    return rc;
}

int assign_check_source(const json_t *nb, char **err) {
    const json_t *cells = json_object_get(nb, "cells");
    if (!json_is_array(cells)) {
        *err = xstrdup("not a Jupyter notebook (no \"cells\" list)");
        return -1;
    }
    strmap seen = {0};
    size_t i, graded = 0;
    const json_t *cell;
    int rc = 0;
    json_array_foreach(cells, i, cell) {
        nbg_cell m;
        char *why = NULL;
        if (nbg_cell_read(cell, &m, &why) == 0 && m.tracked) {
            if (strmap_get(&seen, m.grade_id)) why = xasprintf("grade_id '%s' is used twice (cells %zu and %zu)",
                                                              m.grade_id, (size_t)(uintptr_t)strmap_get(&seen, m.grade_id), i + 1);
            else {
                strmap_put(&seen, m.grade_id, (void *)(uintptr_t)(i + 1));
                if (check_cell(cell, &m, &why) == 0 && (m.grade || m.task)) graded++;
            }
        }
        if (why) {
            *err = xasprintf("cell %zu%s%s%s: %s", i + 1, m.grade_id ? " (" : "", m.grade_id ? m.grade_id : "",
                             m.grade_id ? ")" : "", why);
            free(why);
            rc = -1;
            break;
        }
    }
    if (rc == 0 && graded == 0) {
        *err = xstrdup("no graded cells: mark test cells with nbgrader metadata (\"grade\": true, \"points\": N, "
                       "\"grade_id\": \"...\")");
        rc = -1;
    }
    strmap_free(&seen);
    return rc;
}

char *assign_released_source(const json_t *cell, const nbg_cell *m) {
    char *source = nbg_cell_source(cell), *err = NULL, *text = NULL;
    if (m->solution) text = regions_clear_solution(source, m->is_code, &err);
    else if (m->grade && m->is_code) text = regions_remove_hidden(source, NULL, &err);
    free(err);  /* the notebook was checked: no errors here */
    if (!text) return source;
    free(source);
    return text;
}

/* Jupyter stores a multi-line string as a list of lines, each keeping its "\n". */
json_t *grading_lines(const char *text) {
    json_t *lines = json_array();
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p + 1) : strlen(p);
        json_array_append_new(lines, json_stringn(p, n));
        p += n;
    }
    return lines;
}

static void release_cell(json_t *cell) {
    nbg_cell m;
    char *err = NULL;
    if (nbg_cell_read(cell, &m, &err) != 0) {
        free(err);
        return;
    }
    if (m.is_code) {
        json_object_set_new(cell, "outputs", json_array());
        json_object_set_new(cell, "execution_count", json_null());
    }
    if (!m.tracked) return;
    char *text = assign_released_source(cell, &m);
    json_object_set_new(cell, "source", grading_lines(text));
    free(text);
    json_t *meta = json_object_get(json_object_get(cell, "metadata"), "nbgrader");
    if (!json_object_get(meta, "schema_version")) json_object_set_new(meta, "schema_version", json_integer(3));
    json_object_set_new(meta, "locked", json_boolean(nbg_is_locked(&m)));
    if (m.grade || m.solution || nbg_is_locked(&m)) {
        char hex[33];
        nbg_checksum(cell, &m, hex);
        json_object_set_new(meta, "checksum", json_string(hex));
    }
}

json_t *assign_student_version(const json_t *nb, char **err) {
    if (assign_check_source(nb, err) != 0) return NULL;
    json_t *student = json_deep_copy(nb);
    size_t i;
    json_t *cell;
    json_array_foreach(json_object_get(student, "cells"), i, cell) release_cell(cell);
    return student;
}
