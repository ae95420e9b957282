/* assign.c — `conclab assign`: the student version of an instructor notebook (nbgrader's
 * "generate assignment"): solutions replaced by a stub that fails with a clear message, hidden
 * tests removed, outputs cleared, nbgrader's checksums computed. A broken instructor notebook
 * is refused with the cell named, and nothing is written. */
#define _GNU_SOURCE
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "grading.h"
#include "xalloc.h"

static const char assign_usage[] =
    "usage: conclab assign INSTRUCTOR.ipynb [-o STUDENT.ipynb]\n"
    "\n"
    "Writes the student version of an assignment in nbgrader's format: every BEGIN/END SOLUTION\n"
    "region (or a whole solution cell without markers) becomes a line that fails with \"not\n"
    "answered yet\" when run; written answers become \"YOUR ANSWER HERE\"; BEGIN/END HIDDEN TESTS\n"
    "regions are removed; outputs are cleared and nbgrader's checksums computed.\n"
    "\n"
    "options:\n"
    "  -o, --output STUDENT.ipynb  where to write it (default: release/NAME.ipynb in the folder\n"
    "                              of INSTRUCTOR.ipynb)\n"
    "  -q, --quiet                 say nothing when it worked\n"
    "  -h, --help                  show this help\n"
    "\n"
    "exit status: 0 written, 2 usage error or a notebook that cannot be an assignment (the\n"
    "message names the cell; nothing is written).\n";

static char *default_output(const char *input) {
    char *a = xstrdup(input), *b = xstrdup(input);
    char *out = xasprintf("%s/release/%s", dirname(a), basename(b));
    free(a);
    free(b);
    return out;
}

/* Splits a path into its folder and file name (malloc'd both). */
static void split_path(const char *path, char **dir, char **name) {
    char *a = xstrdup(path), *b = xstrdup(path);
    *dir = xstrdup(dirname(a));
    *name = xstrdup(basename(b));
    free(a);
    free(b);
}

int cli_assign(int argc, char **argv) {
    const char *input = NULL, *output = NULL;
    bool quiet = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            fputs(assign_usage, stdout);
            return 0;
        } else if (strcmp(arg, "-q") == 0 || strcmp(arg, "--quiet") == 0) {
            quiet = true;
        } else if ((strcmp(arg, "-o") == 0 || strcmp(arg, "--output") == 0) && i + 1 < argc) {
            output = argv[++i];
        } else if (strncmp(arg, "--output=", 9) == 0) {
            output = arg + 9;
        } else if (arg[0] == '-' || input) {
            fprintf(stderr, "conclab assign: unexpected '%s' (see conclab assign --help)\n", arg);
            return 2;
        } else {
            input = arg;
        }
    }
    if (!input) {
        fprintf(stderr, "conclab assign: which instructor notebook? (see conclab assign --help)\n");
        return 2;
    }
    char *err = NULL;
    json_t *nb = grading_load_notebook(input, &err);
    json_t *student = nb ? assign_student_version(nb, &err) : NULL;
    if (!student) {
        fprintf(stderr, "conclab assign: %s: %s\n", input, err ? err : "failed");
        free(err);
        json_decref(nb);
        return 2;
    }
    char *target = output ? xstrdup(output) : default_output(input);
    char *dir, *name;
    split_path(target, &dir, &name);
    char *real_in = realpath(input, NULL), *real_out = realpath(target, NULL);
    int status = 0;
    if (real_in && real_out && strcmp(real_in, real_out) == 0) {
        fprintf(stderr, "conclab assign: %s would overwrite the instructor notebook; choose another -o\n", target);
        status = 2;
    } else if (grading_make_dir(dir, &err) != 0 || grading_write_notebook(dir, name, student, &err) != 0) {
        fprintf(stderr, "conclab assign: %s\n", err);
        status = 2;
    } else if (!quiet) {
        printf("conclab assign: wrote %s\n", target);
    }
    free(real_in);
    free(real_out);
    free(err);
    free(dir);
    free(name);
    free(target);
    json_decref(student);
    json_decref(nb);
    return status;
}
