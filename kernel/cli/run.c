/* run.c — `conclab run`: executes a notebook headless through the same engine the kernel uses.
 *
 * Code cells run in order, numbered 1, 2, 3 like a fresh kernel's Run All. Each cell's output is
 * echoed to the terminal while it runs (stdout to stdout, stderr to stderr) and recorded into the
 * cell in nbformat 4 shape. Like `jupyter nbconvert --execute`, the run stops at the first cell
 * that fails unless --allow-errors is given; cells after it keep whatever they held before.
 * The notebook is written only when asked (-o or --inplace), and always whole: through a
 * temporary file renamed over the target, so a failed write never leaves half a notebook. */
#define _GNU_SOURCE /* pipe2, asprintf */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "notebook_text.h"
#include "engine.h"
#include "monotonic.h"
#include "xalloc.h"

enum {
    RUN_OK = 0,          /* every cell ran (or failed, with --allow-errors) */
    RUN_CELL_FAILED = 1, /* a cell failed and the run stopped there */
    RUN_CANNOT = 2,      /* bad usage, unreadable notebook, engine or output trouble */
    RUN_INTERRUPTED = 130, /* stopped by Ctrl-C, as shells report SIGINT */
};

static const char run_usage[] =
    "usage: conclab run NOTEBOOK.ipynb [-o OUT.ipynb | --inplace] [options]\n"
    "\n"
    "Executes the notebook's C cells in order through the conclab engine, without Jupyter,\n"
    "showing each cell's output as it runs (stdout on stdout; cell headers and stderr on stderr).\n"
    "Stops at the first cell that fails and exits with status 1, like\n"
    "`jupyter nbconvert --execute`.\n"
    "\n"
    "options:\n"
    "  -o, --output OUT.ipynb  write the executed notebook, with its outputs, to OUT.ipynb\n"
    "      --inplace           write the executed notebook back over NOTEBOOK.ipynb\n"
    "                          (without -o or --inplace no file is written: run and report)\n"
    "      --allow-errors      record a failing cell's error and go on with the next cells;\n"
    "                          the exit status is then 0\n"
    "      --timeout SECONDS   stop any cell that runs longer than SECONDS (default: none)\n"
    "      --sandbox           run the cells in a bubblewrap sandbox: no network, a private\n"
    "                          /tmp, the system read-only, no other files but the sandbox\n"
    "                          folder; needs bwrap (Debian: bubblewrap) and user namespaces\n"
    "      --sandbox-dir DIR   the folder a sandboxed notebook may read and write, and its\n"
    "                          working directory (default: a private empty one)\n"
    "  -q, --quiet             do not echo cell output; only report failures\n"
    "  -h, --help              show this help\n"
    "\n"
    "The notebook is written even when a cell fails, so its error can be read in place. Cells\n"
    "after the failing one keep their previous outputs. Cells that read standard input see\n"
    "end-of-file. Ctrl-C interrupts the running cell and ends the run (the notebook is still\n"
    "written); a second Ctrl-C quits at once.\n"
    "\n"
    "exit status: 0 all cells ran, 1 a cell failed, 2 usage error, unreadable notebook, or the\n"
    "engine or the output file failed, 130 interrupted.\n";

typedef struct run_options {
    const char *input;
    const char *output;  /* where to write the executed notebook; NULL: nowhere */
    bool inplace;
    bool allow_errors;
    bool quiet;
    double timeout_s;    /* 0: no limit */
    bool sandbox;
    const char *sandbox_dir;  /* with sandbox: its read-write folder; NULL: a private one */
} run_options;

/* ---- options ---------------------------------------------------------------------------- */

/* Matches `NAME VALUE` and `NAME=VALUE` at argv[*i]. 1: matched (and *i moved past the value),
 * 0: another option, -1: matched but the value is missing. */
static int take_value(int argc, char **argv, int *i, const char *name, const char **value) {
    size_t n = strlen(name);
    const char *arg = argv[*i];
    if (strncmp(arg, name, n) != 0) return 0;
    if (arg[n] == '=' && name[1] == '-') {
        *value = arg + n + 1;
        return 1;
    }
    if (arg[n] != '\0') return 0;
    if (*i + 1 >= argc) return -1;
    *value = argv[++*i];
    return 1;
}

static int parse_timeout(const char *text, double *out) {
    char *end;
    errno = 0;
    double t = strtod(text, &end);
    if (errno || end == text || *end != '\0' || !isfinite(t) || t <= 0) return -1;
    *out = t;
    return 0;
}

/* 0: run; 1: help was asked for; -1: usage error (already reported). */
static int parse_options(int argc, char **argv, run_options *o) {
    memset(o, 0, sizeof *o);
    bool only_operands = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *value = NULL;
        int took;
        if (only_operands || arg[0] != '-' || strcmp(arg, "-") == 0) {
            if (o->input) {
                fprintf(stderr, "conclab run: one notebook at a time ('%s' and '%s')\n", o->input, arg);
                return -1;
            }
            o->input = arg;
        } else if (strcmp(arg, "--") == 0) {
            only_operands = true;
        } else if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            return 1;
        } else if (strcmp(arg, "-q") == 0 || strcmp(arg, "--quiet") == 0) {
            o->quiet = true;
        } else if (strcmp(arg, "--allow-errors") == 0) {
            o->allow_errors = true;
        } else if (strcmp(arg, "--sandbox") == 0) {
            o->sandbox = true;
        } else if ((took = take_value(argc, argv, &i, "--sandbox-dir", &value)) != 0) {
            if (took < 0 || value[0] == '\0') {
                fprintf(stderr, "conclab run: --sandbox-dir needs a folder\n");
                return -1;
            }
            o->sandbox_dir = value;
        } else if (strcmp(arg, "--inplace") == 0) {
            o->inplace = true;
        } else if ((took = take_value(argc, argv, &i, "-o", &value)) != 0 ||
                   (took = take_value(argc, argv, &i, "--output", &value)) != 0) {
            if (took < 0 || value[0] == '\0') {
                fprintf(stderr, "conclab run: %s needs a file name\n", arg);
                return -1;
            }
            o->output = value;
        } else if ((took = take_value(argc, argv, &i, "--timeout", &value)) != 0) {
            if (took < 0 || parse_timeout(value, &o->timeout_s) != 0) {
                fprintf(stderr, "conclab run: --timeout needs a positive number of seconds\n");
                return -1;
            }
        } else {
            fprintf(stderr, "conclab run: unknown option '%s' (see conclab run --help)\n", arg);
            return -1;
        }
    }
    if (!o->input) {
        fprintf(stderr, "conclab run: which notebook? (see conclab run --help)\n");
        return -1;
    }
    if (o->inplace && o->output) {
        fprintf(stderr, "conclab run: -o and --inplace cannot be used together\n");
        return -1;
    }
    if (o->sandbox_dir && !o->sandbox) {
        fprintf(stderr, "conclab run: --sandbox-dir goes with --sandbox\n");
        return -1;
    }
    if (o->inplace) o->output = o->input;
    return 0;
}

/* ---- reading the notebook --------------------------------------------------------------- */

static bool is_code_cell(const json_t *cell) {
    const char *type = json_string_value(json_object_get(cell, "cell_type"));
    return type && strcmp(type, "code") == 0;
}


/* Checks the shape the run relies on, before anything runs, so a damaged notebook fails fast. */
static int check_notebook(const char *path, json_t *nb) {
    json_t *cells = json_object_get(nb, "cells");
    if (!json_is_object(nb) || !json_is_array(cells)) {
        fprintf(stderr, "conclab run: %s is not a Jupyter notebook (no \"cells\" list)\n", path);
        return -1;
    }
    json_t *major = json_object_get(nb, "nbformat");
    if (major && (!json_is_integer(major) || json_integer_value(major) != 4)) {
        fprintf(stderr,
                "conclab run: %s is nbformat %" JSON_INTEGER_FORMAT "; conclab runs nbformat 4 notebooks\n"
                "  (convert it: jupyter nbconvert --to notebook --nbformat 4 %s)\n",
                path, json_integer_value(major), path);
        return -1;
    }
    size_t i;
    json_t *cell;
    json_array_foreach(cells, i, cell) {
        if (!json_is_object(cell) || !json_is_string(json_object_get(cell, "cell_type"))) {
            fprintf(stderr, "conclab run: %s: cell %zu has no cell_type\n", path, i + 1);
            return -1;
        }
        if (!is_code_cell(cell)) continue;
        char *source = notebook_multiline_text(json_object_get(cell, "source"));
        if (!source) {
            fprintf(stderr, "conclab run: %s: cell %zu: source is not text\n", path, i + 1);
            return -1;
        }
        free(source);
    }
    return 0;
}

static json_t *load_notebook(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "conclab run: cannot read %s: %s\n", path, strerror(errno));
        return NULL;
    }
    json_error_t error;
    json_t *nb = json_loadf(f, 0, &error);
    fclose(f);
    if (!nb) {
        fprintf(stderr, "conclab run: %s:%d:%d: not valid JSON: %s\n", path, error.line, error.column,
                error.text);
        return NULL;
    }
    if (check_notebook(path, nb) != 0) {
        json_decref(nb);
        return NULL;
    }
    return nb;
}

/* A notebook made for another language runs as C all the same (the cells decide); say so, since
 * the errors that follow would otherwise be puzzling. */
static void warn_about_language(const char *path, const json_t *nb) {
    const json_t *meta = json_object_get(nb, "metadata");
    const char *lang = json_string_value(json_object_get(json_object_get(meta, "kernelspec"), "language"));
    if (!lang) lang = json_string_value(json_object_get(json_object_get(meta, "language_info"), "name"));
    if (lang && strcasecmp(lang, "c") != 0)
        fprintf(stderr, "conclab run: warning: %s is a %s notebook; running its cells as C\n", path, lang);
}

/* ---- writing the notebook --------------------------------------------------------------- */

/* The notebook the way Jupyter writes it: sorted keys, indent 1, UTF-8 as is, final newline. */
static int dump_notebook(json_t *nb, FILE *f) {
    int rc = json_dumpf(nb, f, JSON_INDENT(1) | JSON_SORT_KEYS);
    if (fputc('\n', f) == EOF || fflush(f) != 0) rc = -1;
    return rc;
}

/* A device or a pipe (-o /dev/stdout, -o /dev/null) is written in place: renaming a file over
 * it would replace the device itself. */
static int write_notebook_to_special(json_t *nb, const char *path) {
    FILE *f = fopen(path, "w");
    int rc = f ? dump_notebook(nb, f) : -1;
    int saved_errno = errno;
    if (f && fclose(f) != 0) rc = -1;
    if (rc != 0) fprintf(stderr, "conclab run: cannot write %s: %s\n", path, strerror(saved_errno));
    return rc;
}

/* Writes the notebook into a temporary file beside the target, then renames it over the target,
 * keeping an existing target's permissions and writing through a symbolic link rather than
 * replacing it. */
static int write_notebook(json_t *nb, const char *path) {
    char target[PATH_MAX];
    struct stat st;
    bool exists = stat(path, &st) == 0;
    if (exists && !S_ISREG(st.st_mode)) return write_notebook_to_special(nb, path);
    if (!exists || !realpath(path, target)) snprintf(target, sizeof target, "%s", path);

    char tmp[PATH_MAX + 32];
    snprintf(tmp, sizeof tmp, "%s.conclab-%ld.tmp", target, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        fprintf(stderr, "conclab run: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (exists) (void)fchmod(fd, st.st_mode & 07777);
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(tmp);
        fprintf(stderr, "conclab run: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    int rc = dump_notebook(nb, f);
    int saved_errno = errno;
    if (fclose(f) != 0 && rc == 0) {
        rc = -1;
        saved_errno = errno;
    }
    if (rc == 0 && rename(tmp, target) != 0) {
        rc = -1;
        saved_errno = errno;
    }
    if (rc != 0) {
        unlink(tmp);
        fprintf(stderr, "conclab run: cannot write %s: %s\n", path, strerror(saved_errno));
    }
    return rc;
}

/* ---- the terminal ----------------------------------------------------------------------- */

/* What the user watches. Tracks whether the last thing shown ended its line, so a cell header
 * or the final report never lands in the middle of a cell's unfinished line. */
typedef struct terminal {
    bool quiet;
    bool at_line_start;
    FILE *last;  /* the stream written last: an unfinished line is ended there */
} terminal;

static void terminal_write(terminal *t, FILE *to, const char *text, size_t len) {
    if (t->quiet || len == 0) return;
    fwrite(text, 1, len, to);
    fflush(to);
    t->at_line_start = text[len - 1] == '\n';
    t->last = to;
}

static void terminal_end_line(terminal *t) {
    if (!t->at_line_start && t->last) terminal_write(t, t->last, "\n", 1);
}

/* Writes text and a newline if it lacks one. */
static void terminal_line(terminal *t, FILE *to, const char *text) {
    size_t len = strlen(text);
    terminal_write(t, to, text, len);
    if (len == 0 || text[len - 1] != '\n') terminal_write(t, to, "\n", 1);
}

/* Tracebacks may be coloured for Jupyter; colour codes are noise in a file or a pipe. */
static void strip_colour_codes(char *s) {
    char *out = s;
    for (const char *in = s; *in; in++) {
        if (in[0] == '\033' && in[1] == '[') {
            in += 2;
            while (*in && !(*in >= 0x40 && *in <= 0x7e)) in++;
            if (!*in) break;
            continue;
        }
        *out++ = *in;
    }
    *out = '\0';
}

static void terminal_traceback(terminal *t, const json_t *traceback, bool colour) {
    size_t i;
    json_t *line;
    json_array_foreach(traceback, i, line) {
        if (!json_is_string(line)) continue;
        char *text = xstrdup(json_string_value(line));
        if (!colour) strip_colour_codes(text);
        terminal_line(t, stderr, text);
        free(text);
    }
}

/* ---- one cell's outputs, in nbformat shape ---------------------------------------------- */

typedef struct cell_run {
    json_t *outputs;       /* the cell's new "outputs" list */
    int execution_count;
    terminal *term;
    /* The stream output still growing: consecutive chunks of one stream make one output. */
    char *stream_name;
    char *text;
    size_t len, cap;
    json_t *displays;      /* display id -> the output showing it, for updates */
} cell_run;

/* Jupyter stores multi-line strings as a list of lines, each keeping its "\n"; writing the same
 * shape keeps a notebook run here diffing cleanly against one saved from Jupyter. */
static json_t *json_lines(const char *text, size_t len) {
    json_t *lines = json_array();
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && text[i] != '\n') continue;
        size_t end = i < len ? i + 1 : i;
        if (end > start) json_array_append_new(lines, json_stringn(text + start, end - start));
        start = end;
    }
    return lines;
}

static bool is_json_mime(const char *mime) {
    size_t n = strlen(mime);
    return strcmp(mime, "application/json") == 0 || (n > 5 && strcmp(mime + n - 5, "+json") == 0);
}

/* A copy of a mimebundle with its text values as lists of lines (JSON values stay as they are). */
static json_t *bundle_for_notebook(const json_t *data) {
    json_t *copy = json_object();
    const char *mime;
    json_t *value;
    json_object_foreach((json_t *)data, mime, value) {
        if (json_is_string(value) && !is_json_mime(mime))
            json_object_set_new(copy, mime, json_lines(json_string_value(value), json_string_length(value)));
        else
            json_object_set_new(copy, mime, json_deep_copy(value));
    }
    return copy;
}

static void cell_run_close_stream(cell_run *run) {
    if (!run->stream_name) return;
    json_array_append_new(run->outputs, json_pack("{s:s, s:s, s:o}", "output_type", "stream", "name",
                                                  run->stream_name, "text", json_lines(run->text, run->len)));
    free(run->stream_name);
    run->stream_name = NULL;
    run->len = 0;
}

static void cell_run_append_stream(cell_run *run, const char *name, const char *text, size_t len) {
    if (run->stream_name && strcmp(run->stream_name, name) != 0) cell_run_close_stream(run);
    if (!run->stream_name) run->stream_name = xstrdup(name);
    if (run->len + len > run->cap) {
        run->cap = run->len + len > 2 * run->cap ? run->len + len : 2 * run->cap;
        run->text = xrealloc(run->text, run->cap);
    }
    memcpy(run->text + run->len, text, len);
    run->len += len;
}

static void on_stream(void *ctx, const char *stream_name, const char *text, size_t len) {
    cell_run *run = ctx;
    terminal_write(run->term, strcmp(stream_name, "stderr") == 0 ? stderr : stdout, text, len);
    cell_run_append_stream(run, stream_name, text, len);
}

/* The terminal shows a rich output's plain-text form, or names what it cannot show. */
static void show_bundle(terminal *t, const char *prefix, const json_t *data) {
    const char *plain = json_string_value(json_object_get(data, "text/plain"));
    terminal_end_line(t);
    terminal_write(t, stdout, prefix, strlen(prefix));
    if (plain) {
        terminal_line(t, stdout, plain);
        return;
    }
    const char *mime;
    json_t *value;
    terminal_write(t, stdout, "[", 1);
    json_object_foreach((json_t *)data, mime, value) {
        (void)value;
        terminal_write(t, stdout, " ", 1);
        terminal_write(t, stdout, mime, strlen(mime));
    }
    terminal_line(t, stdout, " ]");
}

/* A display is stored as Jupyter saves it; an update replaces the data of the output it names
 * (within the cell), so the notebook keeps the last state, as in Jupyter. The terminal shows
 * every state. */
static void on_display(void *ctx, json_t *data, json_t *metadata, const char *display_id, bool update) {
    cell_run *run = ctx;
    cell_run_close_stream(run);
    show_bundle(run->term, "", data);
    json_t *shown = update && display_id ? json_object_get(run->displays, display_id) : NULL;
    if (shown) {
        json_object_set_new(shown, "data", bundle_for_notebook(data));
        return;
    }
    if (update) return;  /* a display of an earlier cell: only Jupyter keeps track of those */
    json_t *output = json_pack("{s:s, s:o, s:o}", "output_type", "display_data", "data", bundle_for_notebook(data),
                               "metadata", json_is_object(metadata) ? json_deep_copy(metadata) : json_object());
    json_array_append_new(run->outputs, output);
    if (display_id) json_object_set(run->displays, display_id, output);
}

/* Records the cell's end: its value as execute_result, or its failure as an error output. */
static void cell_run_finish(cell_run *run, const engine_outcome *outcome) {
    cell_run_close_stream(run);
    if (outcome->page) {  /* the answer to `name?` lines, kept as JupyterLab shows it: under the cell */
        show_bundle(run->term, "", outcome->page);
        json_array_append_new(run->outputs, json_pack("{s:s, s:o, s:{}}", "output_type", "display_data", "data",
                                                      bundle_for_notebook(outcome->page), "metadata"));
    }
    if (outcome->ok && outcome->result) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "Out[%d]: ", run->execution_count);
        show_bundle(run->term, prefix, outcome->result);
        json_array_append_new(run->outputs, json_pack("{s:s, s:i, s:o, s:{}}", "output_type", "execute_result",
                                                      "execution_count", run->execution_count, "data",
                                                      bundle_for_notebook(outcome->result), "metadata"));
    } else if (!outcome->ok) {
        json_t *traceback = json_is_array(outcome->traceback) ? json_deep_copy(outcome->traceback) : json_array();
        terminal_end_line(run->term);
        terminal_traceback(run->term, traceback, isatty(STDERR_FILENO));
        json_array_append_new(run->outputs, json_pack("{s:s, s:s, s:s, s:o}", "output_type", "error", "ename",
                                                      outcome->ename ? outcome->ename : "Error", "evalue",
                                                      outcome->evalue ? outcome->evalue : "", "traceback",
                                                      traceback));
    }
}

/* ---- Ctrl-C ------------------------------------------------------------------------------ */

/* The first Ctrl-C interrupts the running cell, so the run ends like a failed cell and the
 * notebook so far is still written; the second one quits at once. engine_interrupt is not
 * async-signal-safe, so the handler only writes a byte to a pipe and a watcher thread acts. */
static int interrupt_pipe[2] = {-1, -1};
static volatile sig_atomic_t interrupted;

static void on_sigint(int sig) {
    if (interrupted) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    interrupted = 1;
    int saved_errno = errno;
    ssize_t n = write(interrupt_pipe[1], "i", 1);
    (void)n;
    errno = saved_errno;
}

static void *interrupt_watcher(void *arg) {
    engine *eng = arg;
    char c;
    while (read(interrupt_pipe[0], &c, 1) == 1 && c == 'i') engine_interrupt(eng);
    return NULL;
}

typedef struct interrupt_guard {
    pthread_t watcher;
    struct sigaction previous;
    bool active;
} interrupt_guard;

static void interrupt_guard_start(interrupt_guard *g, engine *eng) {
    g->active = false;
    if (pipe2(interrupt_pipe, O_CLOEXEC) != 0) return;
    if (pthread_create(&g->watcher, NULL, interrupt_watcher, eng) != 0) {
        close(interrupt_pipe[0]);
        close(interrupt_pipe[1]);
        return;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, &g->previous);
    g->active = true;
}

/* Before engine_free: the watcher must not touch the engine once it is gone. */
static void interrupt_guard_stop(interrupt_guard *g) {
    if (!g->active) return;
    sigaction(SIGINT, &g->previous, NULL);
    ssize_t n = write(interrupt_pipe[1], "q", 1);
    (void)n;
    pthread_join(g->watcher, NULL);
    close(interrupt_pipe[0]);
    close(interrupt_pipe[1]);
}

/* ---- the run ---------------------------------------------------------------------------- */

typedef struct run_report {
    int cells_run;
    int cells_failed;
    int stopped_at;          /* execution count of the cell that stopped the run; 0: none */
    size_t stopped_index;    /* its position in the notebook, from 1 */
    char *stop_reason;       /* "ename: evalue" of the first failure */
} run_report;

/* Runs one code cell and stores its outputs and execution count into it. true: the cell ran
 * without error. */
static bool run_cell(engine *eng, json_t *cell, const char *code, int count, terminal *term,
                     run_report *report, const run_options *o) {
    cell_run run = {.outputs = json_array(), .execution_count = count, .term = term, .displays = json_object()};
    engine_callbacks cb = {.on_stream = on_stream, .on_display = on_display, .on_input = NULL, .ctx = &run};
    engine_request req = {.code = code, .cell_number = count, .allow_stdin = false, .silent = false};
    engine_outcome outcome;
    memset(&outcome, 0, sizeof outcome);

    engine_execute(eng, &req, &cb, &outcome);
    /* Threads the cell left running may have written since it ended: that belongs to it too. */
    engine_pump(eng, &cb);
    cell_run_finish(&run, &outcome);
    bool ok = outcome.ok;
    if (!ok && !notebook_cell_raises_on_purpose(cell)) {
        const char *ename = outcome.ename ? outcome.ename : "Error", *evalue = outcome.evalue ? outcome.evalue : "";
        if (!report->stop_reason && asprintf(&report->stop_reason, "%s: %s", ename, evalue) < 0)
            report->stop_reason = NULL;
        /* --quiet hides the live traceback; the error itself must still be seen. */
        if (o->quiet && !o->allow_errors) {
            terminal loud = {.at_line_start = true};
            terminal_traceback(&loud, outcome.traceback, isatty(STDERR_FILENO));
        }
    }
    engine_outcome_clear(&outcome);

    json_object_set_new(cell, "outputs", run.outputs);
    json_object_set_new(cell, "execution_count", json_integer(count));
    free(run.text);
    free(run.stream_name);
    json_decref(run.displays);
    return ok;
}

static void show_header(terminal *term, int count, size_t index, size_t n_cells) {
    char header[96];
    terminal_end_line(term);
    snprintf(header, sizeof header, "--- In [%d] (cell %zu of %zu) ---\n", count, index, n_cells);
    terminal_write(term, stderr, header, strlen(header));
}

static void run_notebook(engine *eng, json_t *nb, const run_options *o, terminal *term, run_report *report) {
    json_t *cells = json_object_get(nb, "cells");
    size_t n_cells = json_array_size(cells), i;
    json_t *cell;
    json_array_foreach(cells, i, cell) {
        if (!is_code_cell(cell)) continue;
        char *code = notebook_multiline_text(json_object_get(cell, "source"));
        /* An empty cell sends nothing and takes no number, as in Jupyter. */
        if (code[strspn(code, " \t\r\n\f\v")] == '\0') {
            free(code);
            continue;
        }
        int count = ++report->cells_run;
        show_header(term, count, i + 1, n_cells);
        bool ok = run_cell(eng, cell, code, count, term, report, o);
        free(code);
        if ((ok || notebook_cell_raises_on_purpose(cell)) && !interrupted) continue;
        if (ok) return;  /* Ctrl-C between cells: the cell finished, the run ends here */
        report->cells_failed++;
        if (!report->stopped_at) {
            report->stopped_at = count;
            report->stopped_index = i + 1;
        }
        if (!o->allow_errors || interrupted) return;
    }
}

static void print_report(const run_options *o, const run_report *r, terminal *term, double seconds, bool written) {
    terminal_end_line(term);
    if (interrupted) {
        fprintf(stderr, "conclab run: %s: interrupted at In [%d]\n", o->input, r->cells_run);
    } else if (r->cells_failed && !o->allow_errors) {
        fprintf(stderr, "conclab run: %s: stopped at In [%d] (cell %zu): %s\n", o->input, r->stopped_at,
                r->stopped_index, r->stop_reason ? r->stop_reason : "failed");
    } else if (r->cells_failed) {
        fprintf(stderr, "conclab run: %s: %d of %d cells failed, the first at In [%d] (cell %zu)\n", o->input,
                r->cells_failed, r->cells_run, r->stopped_at, r->stopped_index);
    } else if (!o->quiet) {
        fprintf(stderr, "conclab run: %s: %d cell%s ran in %.2f s\n", o->input, r->cells_run,
                r->cells_run == 1 ? "" : "s", seconds);
    }
    if (written && !o->quiet) fprintf(stderr, "conclab run: wrote %s\n", o->output);
}

int cli_run(int argc, char **argv) {
    run_options o;
    int parsed = parse_options(argc, argv, &o);
    if (parsed > 0) {
        fputs(run_usage, stdout);
        return RUN_OK;
    }
    if (parsed < 0) return RUN_CANNOT;

    json_t *nb = load_notebook(o.input);
    if (!nb) return RUN_CANNOT;
    warn_about_language(o.input, nb);

    engine_options eo = {.output_limit = 0, .timeout_s = o.timeout_s, .sandbox = o.sandbox, .sandbox_dir = o.sandbox_dir};
    char *err = NULL;
    engine *eng = engine_start(&eo, &err);
    if (!eng) {
        fprintf(stderr, "conclab run: cannot start the engine: %s\n", err ? err : "unknown error");
        free(err);
        json_decref(nb);
        return RUN_CANNOT;
    }

    terminal term = {.quiet = o.quiet, .at_line_start = true};
    run_report report = {0};
    double started = monotonic_seconds();
    interrupt_guard guard;
    interrupt_guard_start(&guard, eng);
    run_notebook(eng, nb, &o, &term, &report);
    interrupt_guard_stop(&guard);
    engine_free(eng);

    bool written = false;
    int status = report.cells_failed && !o.allow_errors ? RUN_CELL_FAILED : RUN_OK;
    if (interrupted) status = RUN_INTERRUPTED;
    if (o.output) {
        if (write_notebook(nb, o.output) == 0)
            written = true;
        else
            status = RUN_CANNOT;
    }
    print_report(&o, &report, &term, monotonic_seconds() - started, written);
    free(report.stop_reason);
    json_decref(nb);
    return status;
}
