/* notebook_file.c — reading a notebook to grade, with the reasons a submission can be unusable
 * spelled out (the batch reports them per file), and writing one as Jupyter does. */
#define _GNU_SOURCE
#include "grading.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "xalloc.h"

json_t *grading_load_notebook(const char *path, char **err) {
    struct stat st;
    if (stat(path, &st) != 0) {
        *err = xasprintf("cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        *err = xasprintf("%s is not a file", path);
        return NULL;
    }
    if (st.st_size == 0) {
        *err = xasprintf("%s is empty", path);
        return NULL;
    }
    if (st.st_size > GRADING_MAX_NOTEBOOK_BYTES) {
        *err = xasprintf("%s is too large to be a notebook (%lld bytes; the limit is %d MB)", path,
                         (long long)st.st_size, GRADING_MAX_NOTEBOOK_BYTES >> 20);
        return NULL;
    }
    json_error_t error;
    json_t *nb = json_load_file(path, JSON_REJECT_DUPLICATES, &error);
    if (!nb) {
        *err = xasprintf("%s is not valid JSON (line %d, column %d: %s)", path, error.line, error.column, error.text);
        return NULL;
    }
    const json_t *cells = json_object_get(nb, "cells");
    const json_t *major = json_object_get(nb, "nbformat");
    const char *why = !json_is_object(nb) || !json_is_array(cells) ? "is not a Jupyter notebook (no \"cells\" list)"
                      : major && (!json_is_integer(major) || json_integer_value(major) != 4)
                          ? "is not an nbformat 4 notebook"
                      : json_array_size(cells) == 0 ? "has no cells"
                                                    : NULL;
    size_t i;
    const json_t *cell;
    json_array_foreach(cells, i, cell) {
        if (why) break;
        if (!json_is_object(cell) || !json_is_string(json_object_get(cell, "cell_type"))) why = "has a cell without a cell_type";
    }
    if (why) {
        *err = xasprintf("%s %s", path, why);
        json_decref(nb);
        return NULL;
    }
    return nb;
}

/* Jupyter's way: sorted keys, indent 1, a final newline. */
int grading_write_notebook(const char *dir, const char *name, const json_t *nb, char **err) {
    char *text = json_dumps(nb, JSON_INDENT(1) | JSON_SORT_KEYS);
    if (!text) {
        *err = xstrdup("cannot encode the notebook");
        return -1;
    }
    char *with_newline = xasprintf("%s\n", text);
    free(text);
    int rc = grading_write_file(dir, name, with_newline, err);
    free(with_newline);
    return rc;
}
