#define _GNU_SOURCE /* asprintf */
#include "magics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char known[] = "%%timeout SECONDS, %timeout SECONDS, %%bounds, %bounds on|off, %prelude on|off, "
                            "%threads, %limits";

static int parse_seconds(const char *arg, double *out) {
    char *end;
    double v = strtod(arg, &end);
    while (*end == ' ' || *end == '\t') end++;
    if (end == arg || *end || v < 0 || v > 86400) return -1;
    *out = v;
    return 0;
}

/* One magic line (without its leading '%' or "%%"). */
static int apply(const char *line, bool cell_magic, notebook_settings *nb, cell_magics *cell, char **err) {
    char name[32] = "", arg[64] = "";
    int n = sscanf(line, "%31s %63[^\n]", name, arg);
    const char *prefix = cell_magic ? "%%" : "%";
    if (n < 1) {
        if (asprintf(err, "empty magic line; known magics: %s", known) < 0) *err = NULL;
        return -1;
    }
    if (strcmp(name, "timeout") == 0) {
        double seconds;
        if (parse_seconds(arg, &seconds) != 0) {
            if (asprintf(err, "%stimeout needs a number of seconds (0 for none), got '%s'", prefix, arg) < 0) *err = NULL;
            return -1;
        }
        cell->timeout_s = seconds;
        if (!cell_magic) {
            nb->timeout_s = seconds;
            free(cell->note);
            if (seconds > 0 && asprintf(&cell->note, "Each cell may now run for %g s.\n", seconds) < 0) cell->note = NULL;
            if (seconds == 0) cell->note = strdup("Cells now run without a time limit.\n");
        }
        return 0;
    }
    if (strcmp(name, "bounds") == 0) {
        bool on = cell_magic || strcmp(arg, "on") == 0;
        if (!cell_magic && strcmp(arg, "on") != 0 && strcmp(arg, "off") != 0) {
            if (asprintf(err, "%%bounds takes on or off, got '%s'", arg) < 0) *err = NULL;
            return -1;
        }
        cell->bounds = on;
        if (!cell_magic) {
            nb->bounds = on;
            free(cell->note);
            cell->note = strdup(on ? "Bounds checking is on: out-of-bounds accesses, use after free and double "
                                     "free are reported with the cell and line.\n"
                                   : "Bounds checking is off.\n");
        }
        return 0;
    }
    if (!cell_magic && strcmp(name, "prelude") == 0) {
        if (strcmp(arg, "on") != 0 && strcmp(arg, "off") != 0) {
            if (asprintf(err, "%%prelude takes on or off, got '%s'", arg) < 0) *err = NULL;
            return -1;
        }
        nb->no_prelude = cell->no_prelude = strcmp(arg, "off") == 0;
        free(cell->note);
        cell->note = strdup(cell->no_prelude ? "The prelude is off: cells include the headers they use, as a C file does.\n"
                                              : "The prelude is on: cells may use <conclab.h>, <stdio.h>, <stdlib.h>, "
                                                "<string.h>, <stdbool.h>, <stdint.h> and <math.h> without including them.\n");
        return 0;
    }
    if (!cell_magic && (strcmp(name, "threads") == 0 || strcmp(name, "limits") == 0)) {
        cell->query = name[0] == 't' ? QUERY_THREADS : QUERY_LIMITS;
        return 0;
    }
    if (asprintf(err, "unknown magic %s%s; known magics: %s", prefix, name, known) < 0) *err = NULL;
    return -1;
}

int magics_parse(char *code, notebook_settings *notebook, cell_magics *cell, char **err) {
    notebook_settings nb = *notebook;
    memset(cell, 0, sizeof *cell);
    cell->timeout_s = nb.timeout_s;
    cell->bounds = nb.bounds;
    cell->no_prelude = nb.no_prelude;
    *err = NULL;
    for (char *line = code; *line;) {
        char *start = line + strspn(line, " \t");
        char *eol = strchr(line, '\n');
        char *next = eol ? eol + 1 : line + strlen(line);
        if (*start == '\n' || *start == '\0') {
            line = next;
            continue;
        }
        if (*start != '%') break;  /* the C begins */
        bool cell_magic = start[1] == '%';
        char saved = eol ? *eol : '\0';
        if (eol) *eol = '\0';
        int rc = apply(start + (cell_magic ? 2 : 1), cell_magic, &nb, cell, err);
        if (eol) *eol = saved;
        if (rc != 0) {
            cell_magics_clear(cell);
            return -1;
        }
        memset(line, ' ', (size_t)((eol ? eol : next) - line));
        line = next;
    }
    *notebook = nb;
    return 0;
}

void cell_magics_clear(cell_magics *cell) {
    free(cell->note);
    cell->note = NULL;
}
