/* nbgrader_cell.c — a cell's nbgrader metadata (schema 3) and nbgrader's checksum of it.
 *
 * The checksum follows nbgrader's recipe so a student version made here keeps working with
 * nbgrader: md5 over the source, the cell type, str(is_grade), str(is_solution), str(is_locked)
 * (Python's "True"/"False"), the grade_id and, for grade cells, str(float(points)) as Python
 * prints a float ("3.0", "0.5"). */
#define _GNU_SOURCE
#include "grading.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "xalloc.h"

char *nbg_cell_source(const json_t *cell) {
    const json_t *source = json_object_get(cell, "source");
    if (json_is_string(source)) return xstrdup(json_string_value(source));
    strbuf b = {0};
    size_t i;
    const json_t *line;
    json_array_foreach(source, i, line) if (json_is_string(line)) strbuf_add(&b, json_string_value(line));
    return strbuf_take(&b);
}

static bool flag(const json_t *meta, const char *key) { return json_is_true(json_object_get(meta, key)); }

int nbg_cell_read(const json_t *cell, nbg_cell *out, char **err) {
    memset(out, 0, sizeof *out);
    const char *type = json_string_value(json_object_get(cell, "cell_type"));
    out->is_code = type && strcmp(type, "code") == 0;
    const json_t *meta = json_object_get(json_object_get(cell, "metadata"), "nbgrader");
    if (!meta) return 0;
    if (!json_is_object(meta)) {
        *err = xstrdup("its metadata \"nbgrader\" is not an object");
        return -1;
    }
    out->grade = flag(meta, "grade");
    out->solution = flag(meta, "solution");
    out->locked = flag(meta, "locked");
    out->task = flag(meta, "task");
    const json_t *id = json_object_get(meta, "grade_id");
    if (!json_is_string(id) || json_string_value(id)[0] == '\0') {
        if (out->grade || out->solution || out->locked || out->task) {
            *err = xstrdup("it has nbgrader metadata but no grade_id");
            return -1;
        }
        return 0;  /* {"nbgrader": {}} or only a schema_version: an ordinary cell */
    }
    out->tracked = true;
    out->grade_id = json_string_value(id);
    const json_t *points = json_object_get(meta, "points");
    if (points) {
        if (!json_is_number(points) || json_number_value(points) < 0 || !isfinite(json_number_value(points))) {
            *err = xasprintf("grade_id '%s': points must be a number >= 0", out->grade_id);
            return -1;
        }
        out->points = json_number_value(points);
        out->has_points = true;
    }
    if ((out->grade || out->task) && !out->has_points) {
        *err = xasprintf("grade_id '%s' is a %s cell without points", out->grade_id, out->task ? "task" : "grade");
        return -1;
    }
    return 0;
}

bool nbg_is_locked(const nbg_cell *c) {
    if (!c->tracked || c->solution) return false;
    return c->grade || c->task || c->locked;
}

/* Python's str(float(x)): the shortest text that reads back as x, with ".0" on whole numbers,
 * positional between 1e-4 and 1e16 as Python's repr chooses. */
static void python_float(double x, char *out, size_t size) {
    int precision = 1;
    for (; precision < 17; precision++) {
        snprintf(out, size, "%.*g", precision, x);
        if (strtod(out, NULL) == x) break;
    }
    snprintf(out, size, "%.*g", precision, x);
    double mag = fabs(x);
    if (strchr(out, 'e') && mag >= 1e-4 && mag < 1e16) {
        int exponent = (int)floor(log10(mag));
        int decimals = precision - 1 - exponent;
        snprintf(out, size, "%.*f", decimals > 0 ? decimals : 0, x);
    }
    if (!strchr(out, '.') && !strchr(out, 'e') && !strchr(out, 'n') && !strchr(out, 'i')) {
        size_t len = strlen(out);
        if (len + 2 < size) memcpy(out + len, ".0", 3);
    }
}

void nbg_checksum(const json_t *cell, const nbg_cell *meta, char hex[33]) {
    strbuf b = {0};
    char *source = nbg_cell_source(cell);
    strbuf_add(&b, source);
    free(source);
    const char *type = json_string_value(json_object_get(cell, "cell_type"));
    strbuf_add(&b, type ? type : "code");
    strbuf_add(&b, meta->grade ? "True" : "False");
    strbuf_add(&b, meta->solution ? "True" : "False");
    strbuf_add(&b, nbg_is_locked(meta) ? "True" : "False");
    strbuf_add(&b, meta->grade_id ? meta->grade_id : "");
    if (meta->grade) {
        char number[64];
        python_float(meta->points, number, sizeof number);
        strbuf_add(&b, number);
    }
    grading_md5_hex(b.data ? b.data : "", b.len, hex);
    strbuf_free(&b);
}
