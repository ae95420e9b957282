/* export.c — `conclab export NOTEBOOK.ipynb -o lab.c`: the notebook's C cells as one standalone
 * C program (export_program.h says how), for gcc and its sanitizers. Cells are numbered as
 * `conclab run` numbers them (empty cells take no number), so cell[N] in the program's #line
 * directives and in gcc's messages is In [N] of a Run All. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "notebook_text.h"
#include "export_program.h"
#include "xalloc.h"

static const char export_usage[] =
    "usage: conclab export NOTEBOOK.ipynb [-o OUT.c]\n"
    "\n"
    "Writes the notebook's C cells as one standalone C program, in notebook order: definitions\n"
    "at file scope, each cell's statements in a function main calls in order, #line directives\n"
    "naming the cells. Build it with\n"
    "    gcc -Wall OUT.c $(pkg-config --cflags --libs conclab)\n"
    "Without -o the program goes to stdout. Whatever cannot be exported faithfully is said on\n"
    "stderr (and in a comment at its place).\n"
    "\n"
    "exit status: 0 written, 2 usage error or unreadable notebook or unwritable output.\n";

/* A cell that names its own language (VS Code writes metadata.vscode.languageId). */
static const char *cell_language(const json_t *cell) {
    const json_t *meta = json_object_get(cell, "metadata");
    const char *lang = json_string_value(json_object_get(json_object_get(meta, "vscode"), "languageId"));
    return lang ? lang : json_string_value(json_object_get(meta, "language"));
}

/* The code cells, numbered; sources are malloc'd. Returns how many, or -1 on a bad notebook. */
static long read_cells(const char *path, json_t *nb, export_cell **out) {
    json_t *cells = json_object_get(nb, "cells");
    if (!json_is_array(cells)) {
        fprintf(stderr, "conclab export: %s is not a Jupyter notebook (no \"cells\" list)\n", path);
        return -1;
    }
    export_cell *list = xcalloc(json_array_size(cells) + 1, sizeof *list);
    long n = 0;
    size_t i;
    json_t *cell;
    json_array_foreach(cells, i, cell) {
        const char *type = json_string_value(json_object_get(cell, "cell_type"));
        if (!type || strcmp(type, "code") != 0) continue;  /* markdown and raw cells are prose */
        char *source = notebook_multiline_text(json_object_get(cell, "source"));
        if (!source) {
            fprintf(stderr, "conclab export: %s: cell %zu: source is not text\n", path, i + 1);
            for (long k = 0; k < n; k++) free((char *)list[k].source);
            free(list);
            return -1;
        }
        if (source[strspn(source, " \t\r\n\f\v")] == '\0') {  /* takes no number, as in a run */
            free(source);
            continue;
        }
        list[n].source = source;
        list[n].language = cell_language(cell);
        list[n].definitions_only = notebook_cell_raises_on_purpose(cell);
        list[n].number = (int)(n + 1);
        n++;
    }
    *out = list;
    return n;
}

static int write_output(const char *path, const char *text) {
    FILE *f = path ? fopen(path, "w") : stdout;
    if (!f) {
        fprintf(stderr, "conclab export: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    int rc = fputs(text, f) < 0 ? -1 : 0;
    if (path ? fclose(f) != 0 : fflush(f) != 0) rc = -1;
    if (rc != 0) fprintf(stderr, "conclab export: cannot write %s: %s\n", path ? path : "stdout", strerror(errno));
    return rc;
}

/* 0: go on; 1: help; -1: usage error. */
static int parse_args(int argc, char **argv, const char **input, const char **output) {
    *input = *output = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) return 1;
        if (strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output") == 0) {
            if (i + 1 >= argc) break;
            *output = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "conclab export: unknown option '%s' (see conclab export --help)\n", argv[i]);
            return -1;
        } else if (*input) {
            fprintf(stderr, "conclab export: one notebook at a time\n");
            return -1;
        } else {
            *input = argv[i];
        }
    }
    if (*input) return 0;
    fprintf(stderr, "conclab export: which notebook? (see conclab export --help)\n");
    return -1;
}

int cli_export(int argc, char **argv) {
    const char *input, *output;
    int parsed = parse_args(argc, argv, &input, &output);
    if (parsed != 0) {
        if (parsed > 0) fputs(export_usage, stdout);
        return parsed > 0 ? 0 : 2;
    }
    json_error_t error;
    json_t *nb = json_load_file(input, 0, &error);
    if (!nb) {
        fprintf(stderr, "conclab export: %s:%d: %s\n", input, error.line, error.text);
        return 2;
    }
    export_cell *cells = NULL;
    long n = read_cells(input, nb, &cells);
    int status = 2;
    if (n >= 0) {
        const char *base = output ? strrchr(output, '/') : NULL;
        char *notes = NULL;
        char *program = export_program(cells, (size_t)n, output ? (base ? base + 1 : output) : "notebook.c", &notes);
        for (const char *line = notes; *line; line += strcspn(line, "\n") + 1)
            fprintf(stderr, "conclab export: %s: %.*s\n", input, (int)strcspn(line, "\n"), line);
        status = write_output(output, program) == 0 ? 0 : 2;
        free(program);
        free(notes);
        for (long k = 0; k < n; k++) free((char *)cells[k].source);
        free(cells);
    }
    json_decref(nb);
    return status;
}
