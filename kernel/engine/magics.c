#define _GNU_SOURCE /* asprintf */
#include "magics.h"

#include "messages.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char known[] = "%%time, %%timeit [SETUP], %timeit STATEMENT, %%timeline [--live] [--cpu] [--save FILE], "
                            "%%cpu, %%timeout SECONDS, %timeout SECONDS, %%bounds, %bounds on|off, %prelude on|off, "
                            "%threads, %limits, %export FILE.c, %%tsan [--only-this-cell], "
                            "%%chaos [--seed N] [--runs K], %lockcheck on|off";

static int parse_seconds(const char *arg, double *out) {
    char *end;
    double v = strtod(arg, &end);
    while (*end == ' ' || *end == '\t') end++;
    if (end == arg || *end || v < 0 || v > 86400) return -1;
    *out = v;
    return 0;
}

/* %%timeline's options, from the rest of its line. */
static int parse_timeline(const char *rest, cell_magics *cell, char **err) {
    cell->watch |= WATCH_TIMELINE;
    char word[4096];
    int used;
    while (sscanf(rest, " %4095s%n", word, &used) == 1) {
        rest += used;
        if (strcmp(word, "--live") == 0) cell->watch |= WATCH_LIVE;
        else if (strcmp(word, "--cpu") == 0) cell->watch |= WATCH_TIMELINE_CPU;
        else if (strcmp(word, "--save") == 0 && sscanf(rest, " %4095s%n", word, &used) == 1) {
            rest += used;
            free(cell->trace_file);
            cell->trace_file = strdup(word);
        } else {
            if (asprintf(err, "%%%%timeline takes --live, --cpu and --save FILE, got '%s'", word) < 0) *err = NULL;
            return -1;
        }
    }
    return 0;
}

/* ---- %%chaos and %lockcheck (issue 17): the cell's trials and lock-order checking ---- */
enum { CHAOS_DEFAULT_RUNS = 20, CHAOS_MAX_RUNS = 1000 };
#define CHAOS_MAX_SEED (1ULL << 62) /* travels as a JSON integer */

static int chaos_number(const char *word, unsigned long long max, unsigned long long *out) {
    char *end;
    if (!word || word[0] < '0' || word[0] > '9') return -1;
    unsigned long long v = strtoull(word, &end, 10);
    if (*end || v > max) return -1;
    *out = v;
    return 0;
}

/* %%chaos's options, from the rest of its line. */
static int parse_chaos(const char *rest, cell_magics *cell, char **err) {
    char word[64], value[64];
    int used;
    bool runs_given = false;
    unsigned long long runs = 0;
    while (sscanf(rest, " %63s%n", word, &used) == 1) {
        rest += used;
        bool is_seed = strcmp(word, "--seed") == 0, is_runs = strcmp(word, "--runs") == 0;
        bool has_value = (is_seed || is_runs) && sscanf(rest, " %63s%n", value, &used) == 1;
        if (has_value) rest += used;
        if (is_seed && has_value && chaos_number(value, CHAOS_MAX_SEED, &cell->chaos_seed) == 0) {
            cell->chaos_seeded = true;
        } else if (is_runs && has_value && chaos_number(value, CHAOS_MAX_RUNS, &runs) == 0 && runs >= 2) {
            runs_given = true;
        } else {
            if (asprintf(err, "%%%%chaos takes --seed N (a whole number) and --runs K (2 to %d), got '%s%s%s'",
                         CHAOS_MAX_RUNS, word, has_value ? " " : "", has_value ? value : "") < 0) *err = NULL;
            return -1;
        }
    }
    cell->chaos_runs = runs_given ? (int)runs : cell->chaos_seeded ? 1 : CHAOS_DEFAULT_RUNS;
    cell->lockcheck = true;
    return 0;
}

static int parse_lockcheck(const char *arg, notebook_settings *nb, cell_magics *cell, char **err) {
    if (strcmp(arg, "on") != 0 && strcmp(arg, "off") != 0) {
        if (asprintf(err, "%%lockcheck takes on or off, got '%s'", arg) < 0) *err = NULL;
        return -1;
    }
    nb->lockcheck = cell->lockcheck = strcmp(arg, "on") == 0;
    free(cell->note);
    cell->note = strdup(cell->lockcheck ? "Lock-order checking is on: when two threads take the same locks in "
                                          "opposite orders (a deadlock waiting to happen), a report says which "
                                          "locks, in which orders and where, on stderr.\n"
                                        : "Lock-order checking is off.\n");
    return 0;
}

/* One magic line (without its leading '%' or "%%"), the `index`th of the cell. */
static int apply(const char *line, int index, bool cell_magic, notebook_settings *nb, cell_magics *cell, char **err) {
    char name[32] = "", arg[64] = "";
    int n = sscanf(line, "%31s %63[^\n]", name, arg);
    const char *prefix = cell_magic ? "%%" : "%";
    if (n < 1) {
        if (asprintf(err, "empty magic line; known magics: %s", known) < 0) *err = NULL;
        return -1;
    }
    if (strcmp(name, "timeit") == 0) {  /* the whole rest of the line, however long */
        const char *rest = line + strspn(line, " \t") + strlen(name);
        rest += strspn(rest, " \t");
        if (!cell_magic && !*rest) {
            if (asprintf(err, "%%timeit needs a statement to time, e.g. %%timeit cl_sleep(0.001);") < 0) *err = NULL;
            return -1;
        }
        free(cell->timeit_text);
        cell->timeit_text = strdup(rest);
        cell->timeit_cell = cell_magic;
        cell->timeit_line = index;
        return 0;
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
    if (cell_magic && strcmp(name, "timeline") == 0) return parse_timeline(line + strspn(line, " \t") + 8, cell, err);
    if (cell_magic && strcmp(name, "cpu") == 0) {
        if (arg[0]) {
            if (asprintf(err, "%%%%cpu takes nothing after it, got '%s'", arg) < 0) *err = NULL;
            return -1;
        }
        cell->watch |= WATCH_CPU;
        return 0;
    }
    if (cell_magic && strcmp(name, "tsan") == 0) {
        bool only_this_cell = strcmp(arg, "--only-this-cell") == 0;
        if (arg[0] && !only_this_cell) {
            if (asprintf(err, "%%%%tsan takes --only-this-cell or nothing after it, got '%s'", arg) < 0) *err = NULL;
            return -1;
        }
        cell->tsan = true;
        cell->tsan_only_this_cell = only_this_cell;
        return 0;
    }
    if (cell_magic && strcmp(name, "time") == 0) {
        if (arg[0]) {
            if (asprintf(err, "%%%%time takes nothing after it, got '%s'", arg) < 0) *err = NULL;
            return -1;
        }
        cell->time = true;
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
    if (!cell_magic && strcmp(name, "export") == 0) {  /* the whole rest of the line: a path */
        const char *file = line + strspn(line, " \t") + strlen(name);
        file += strspn(file, " \t");
        if (!*file) {
            if (asprintf(err, "%%export needs a file name, e.g. %%export lab.c") < 0) *err = NULL;
            return -1;
        }
        free(cell->export_file);
        cell->export_file = strdup(file);
        return 0;
    }
    if (cell_magic && strcmp(name, "chaos") == 0) return parse_chaos(line + strspn(line, " \t") + 5, cell, err);
    if (!cell_magic && strcmp(name, "lockcheck") == 0) return parse_lockcheck(arg, nb, cell, err);
    if (asprintf(err, "unknown magic %s%s; known magics: %s", prefix, name, known) < 0) *err = NULL;
    return -1;
}

int magics_parse(char *code, notebook_settings *notebook, cell_magics *cell, char **err) {
    notebook_settings nb = *notebook;
    memset(cell, 0, sizeof *cell);
    cell->timeout_s = nb.timeout_s;
    cell->bounds = nb.bounds;
    cell->no_prelude = nb.no_prelude;
    cell->lockcheck = nb.lockcheck;
    cell->timeit_line = -1;
    *err = NULL;
    int index = 0;
    for (char *line = code; *line; index++) {
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
        int rc = apply(start + (cell_magic ? 2 : 1), index, cell_magic, &nb, cell, err);
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
    free(cell->timeit_text);
    free(cell->trace_file);
    free(cell->export_file);
    cell->note = cell->timeit_text = cell->trace_file = cell->export_file = NULL;
}

/* The start of the index'th line of text, or its end. */
static const char *line_start(const char *text, int index) {
    for (; index > 0 && *text; index--) {
        const char *eol = strchr(text, '\n');
        text = eol ? eol + 1 : text + strlen(text);
    }
    return text;
}

char *magics_timeit_code(const cell_magics *cell, const char *code, int number) {
    if (cell->timeit_line < 0) return NULL;
    /* everything on the magic's own line, so the cell's lines keep their numbers */
    const char *at = line_start(code, cell->timeit_line), *eol = strchr(at, '\n');
    const char *after = eol ? eol + 1 : at + strlen(at);
    char *out = NULL;
    int n;
    if (cell->timeit_cell)
        n = asprintf(&out, "%.*svoid __cl_timeit(void (*)(void)); %s void __cl_timeit_%d(void) {\n%s\n}\n"
                     "__cl_timeit(__cl_timeit_%d);\n", (int)(at - code), code, cell->timeit_text, number, after, number);
    else
        n = asprintf(&out, "%.*svoid __cl_timeit(void (*)(void)); void __cl_timeit_%d(void) { %s; } "
                     "__cl_timeit(__cl_timeit_%d);\n%s", (int)(at - code), code, number, cell->timeit_text, number, after);
    return n < 0 ? NULL : out;
}
