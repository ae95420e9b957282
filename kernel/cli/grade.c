/* grade.c — `conclab grade SUBMISSION.ipynb --source INSTRUCTOR.ipynb`: grades one submission.
 *
 * The instructor's locked and test cells are put back by grade_id (grade_plan.c), the notebook
 * runs cell by cell through the engine (grade_run.c), each question is scored by nbgrader's rules
 * (scoring.c), and the reports are written into OUTDIR, each file whole (report_*.c):
 * results.json (the batch grader reads it), gradescope.json, results.csv, junit.xml,
 * feedback.html and graded.ipynb. An unusable submission still gets a results.json that says
 * why, so a batch of hundreds accounts for every file. */
#define _GNU_SOURCE
#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "grade_run.h"
#include "grading.h"
#include "monotonic.h"
#include "xalloc.h"

enum {
    GRADE_OK = 0,          /* graded, whatever the score */
    GRADE_FAILED = 1,      /* the grader itself failed (the engine, the output folder) */
    GRADE_USAGE = 2,       /* usage error or a bad instructor notebook: nothing written */
    GRADE_UNREADABLE = 3,  /* the submission cannot be used: results.json says why */
    GRADE_INTERRUPTED = 130, /* SIGINT, SIGTERM or SIGHUP: nothing written, as shells report SIGINT */
};

enum { DEFAULT_TIMEOUT_S = 30 };

static const char grade_usage[] =
    "usage: conclab grade SUBMISSION.ipynb --source INSTRUCTOR.ipynb [options]\n"
    "\n"
    "Grades one submission against the instructor's version of the assignment (nbgrader's\n"
    "format). Every locked and test cell is restored from the instructor's notebook by grade_id\n"
    "(edited, moved, duplicated or deleted test cells are put back; hidden tests come back);\n"
    "every cell runs with a time limit, and a crash, hang, deadlock or fork bomb costs only that\n"
    "cell's points. Scoring follows nbgrader: a test cell that fails scores 0, one whose value is a\n"
    "number scores that many points (at most its points), any other scores full points. Output on\n"
    "stderr (compiler warnings, the student's own messages) does not fail a cell unless\n"
    "--stderr-fails is given. Written answers and manually graded cells count in the maximum and\n"
    "are reported as needing manual grading.\n"
    "\n"
    "options:\n"
    "  --source INSTRUCTOR.ipynb  the instructor's version (with solutions and hidden tests)\n"
    "  -o, --output OUTDIR        where the reports go (default: graded/NAME/ in the current\n"
    "                             folder, NAME being the submission's name without .ipynb)\n"
    "  --timeout SECONDS          time limit of each cell (default: 30)\n"
    "  --stderr-fails             a test cell that writes to stderr scores 0 (nbgrader's rule;\n"
    "                             also set by the notebook metadata conclab.grading.stderr_fails)\n"
    "  --repeat N                 run every test cell N times under schedule perturbation\n"
    "                             (%%chaos) besides its plain run; it passes only if all do\n"
    "  --seed S                   the first perturbation seed (default: chosen and recorded)\n"
    "  --sandbox                  the cells must run in the bubblewrap sandbox (no network, a\n"
    "                             private /tmp, the system read-only, no other files): stop\n"
    "                             with status 1 where it cannot start. Default: the sandbox\n"
    "                             where it can start; otherwise graded without one, and the\n"
    "                             report's notes and stderr say so\n"
    "  --no-sandbox               run the cells without the sandbox\n"
    "  -q, --quiet                print nothing but errors\n"
    "  -h, --help                 show this help\n"
    "\n"
    "OUTDIR receives results.json, gradescope.json, results.csv, junit.xml, feedback.html (for\n"
    "the student: messages and outputs, never a test's source) and graded.ipynb.\n"
    "\n"
    "exit status: 0 graded (any score), 1 the grader failed, 2 usage error or a bad instructor\n"
    "notebook (nothing written), 3 the submission is unusable (missing, empty, not a notebook,\n"
    "larger than 20 MB, no cells): results.json says why, with score 0; 130 stopped by SIGINT,\n"
    "SIGTERM or SIGHUP (the running cell and its processes are stopped; nothing is written).\n";

typedef struct grade_options {
    const char *submission, *source, *outdir;
    grade_run_options run;
} grade_options;

static int bad_usage(const char *fmt, const char *arg) {
    fprintf(stderr, "conclab grade: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see conclab grade --help)\n");
    return -1;
}

/* The value of option `name` at argv[*i] (`NAME VALUE` or `NAME=VALUE`), or NULL. */
static const char *value_of(int argc, char **argv, int *i, const char *name, bool *missing) {
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0) return NULL;
    if (argv[*i][n] == '=') return argv[*i] + n + 1;
    if (argv[*i][n] != '\0') return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

static bool whole_number(const char *text, unsigned long long max, unsigned long long *out) {
    char *end;
    errno = 0;
    if (text[0] < '0' || text[0] > '9') return false;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || *end || v > max) return false;
    *out = v;
    return true;
}

/* 0: grade; 1: help; -1: usage error (reported). */
static int parse_options(int argc, char **argv, grade_options *o) {
    memset(o, 0, sizeof *o);
    o->run.timeout_s = DEFAULT_TIMEOUT_S;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *v;
        bool missing = false;
        unsigned long long n;
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) return 1;
        if (strcmp(arg, "-q") == 0 || strcmp(arg, "--quiet") == 0) o->run.quiet = true;
        else if (strcmp(arg, "--stderr-fails") == 0) o->run.stderr_fails = true;
        else if (strcmp(arg, "--sandbox") == 0) o->run.sandbox = GRADE_SANDBOX_REQUIRED;
        else if (strcmp(arg, "--no-sandbox") == 0) o->run.sandbox = GRADE_SANDBOX_OFF;
        else if ((v = value_of(argc, argv, &i, "--source", &missing))) o->source = v;
        else if ((v = value_of(argc, argv, &i, "--output", &missing)) || (v = value_of(argc, argv, &i, "-o", &missing)))
            o->outdir = v;
        else if ((v = value_of(argc, argv, &i, "--timeout", &missing))) {
            char *end;
            double t = strtod(v, &end);
            if (end == v || *end || !isfinite(t) || t <= 0) return bad_usage("--timeout needs a positive number of seconds, not '%s'", v);
            o->run.timeout_s = t;
        } else if ((v = value_of(argc, argv, &i, "--repeat", &missing))) {
            if (!whole_number(v, 1000, &n) || n < 1) return bad_usage("--repeat needs a whole number from 1 to 1000, not '%s'", v);
            o->run.repeat = n > 1 ? (int)n : 0;
        } else if ((v = value_of(argc, argv, &i, "--seed", &missing))) {
            if (!whole_number(v, 1ULL << 62, &n)) return bad_usage("--seed needs a whole number, not '%s'", v);
            o->run.seed = n;
            o->run.seed_given = true;
        } else if (missing) return bad_usage("%s needs a value", arg);
        else if (arg[0] == '-' && arg[1]) return bad_usage("unknown option '%s'", arg);
        else if (o->submission) return bad_usage("one submission at a time (also '%s')", arg);
        else o->submission = arg;
    }
    if (!o->submission) return bad_usage("%s", "which submission?");
    if (!o->source) return bad_usage("%s", "--source INSTRUCTOR.ipynb is required");
    return 0;
}

static char *default_outdir(const char *submission) {
    char *copy = xstrdup(submission);
    char *name = basename(copy);
    size_t n = strlen(name);
    if (n > 6 && strcmp(name + n - 6, ".ipynb") == 0) name[n - 6] = '\0';
    char *dir = xasprintf("graded/%s", name[0] ? name : "submission");
    free(copy);
    return dir;
}

static void print_summary(const grade_report *r, const char *outdir) {
    for (size_t i = 0; i < r->n_items; i++) {
        const grade_item *it = &r->items[i];
        bool restored = strcmp(it->restored, "unchanged") != 0;
        printf("  %-24s %5g / %-5g %-8s %s", it->name, it->points, it->max_points, it->status, it->message);
        if (restored) printf("  [test cell %s: restored]", it->restored);
        printf("\n");
    }
    printf("%s: %g / %g", r->submission, r->score, r->max_score);
    if (r->manual_pending > 0) printf(" (%g points need manual grading)", r->manual_pending);
    printf(" in %.1f s; reports in %s/\n", r->seconds, outdir);
    size_t i;
    json_t *note;
    json_array_foreach((json_t *)r->notes, i, note) printf("  note: %s\n", json_string_value(note));
}

/* Writes every report file; -1 (reported) when one cannot be written. */
static int write_reports(const grade_report *r, const json_t *graded, const char *outdir) {
    char *err = NULL;
    if (grading_make_dir(outdir, &err) != 0) goto failed;
    json_t *results = report_results_json(r), *gradescope = report_gradescope_json(r);
    char *results_text = json_dumps(results, JSON_INDENT(2)), *gradescope_text = json_dumps(gradescope, JSON_INDENT(2));
    char *csv = report_csv(r), *junit = report_junit(r), *html = report_html(r);
    int rc = 0;
    /* results.json last: a reader that finds it finds every other file complete */
    if ((graded && grading_write_notebook(outdir, "graded.ipynb", graded, &err) != 0) ||
        grading_write_file(outdir, "gradescope.json", gradescope_text, &err) != 0 ||
        grading_write_file(outdir, "results.csv", csv, &err) != 0 ||
        grading_write_file(outdir, "junit.xml", junit, &err) != 0 ||
        grading_write_file(outdir, "feedback.html", html, &err) != 0 ||
        grading_write_file(outdir, "results.json", results_text, &err) != 0)
        rc = -1;
    json_decref(results);
    json_decref(gradescope);
    free(results_text);
    free(gradescope_text);
    free(csv);
    free(junit);
    free(html);
    if (rc == 0) return 0;
failed:
    fprintf(stderr, "conclab grade: %s\n", err ? err : "cannot write the reports");
    free(err);
    return -1;
}

/* The notebook's own setting (metadata conclab.grading.stderr_fails) adds to the option. */
static bool notebook_asks_stderr_fails(const json_t *source) {
    const json_t *grading = json_object_get(json_object_get(json_object_get(source, "metadata"), "conclab"), "grading");
    return json_is_true(json_object_get(grading, "stderr_fails"));
}

static unsigned long long fresh_seed(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ((unsigned long long)ts.tv_sec * 1000003ULL + (unsigned long long)ts.tv_nsec / 1000) % 1000000000ULL;
}

int cli_grade(int argc, char **argv) {
    grade_options o;
    int parsed = parse_options(argc, argv, &o);
    if (parsed > 0) {
        fputs(grade_usage, stdout);
        return GRADE_OK;
    }
    if (parsed < 0) return GRADE_USAGE;
    double started = monotonic_seconds();
    char *err = NULL;
    json_t *source = grading_load_notebook(o.source, &err);
    grade_plan plan;
    if (!source || grade_plan_items_only(source, &plan, &err) != 0) {
        fprintf(stderr, "conclab grade: the instructor notebook %s cannot be used: %s\n", o.source, err ? err : "?");
        free(err);
        json_decref(source);
        return GRADE_USAGE;
    }
    char *outdir = o.outdir ? xstrdup(o.outdir) : default_outdir(o.submission);
    o.run.stderr_fails |= notebook_asks_stderr_fails(source);
    if (!o.run.seed_given) o.run.seed = fresh_seed();
    o.run.submission = o.submission;
    o.run.source = o.source;
    grade_report report = {.submission = o.submission, .source = o.source, .status = "graded"};
    int status = GRADE_OK;

    json_t *submission = grading_load_notebook(o.submission, &err);
    if (!submission) {  /* unusable: every question scores 0, and the reports say why */
        report.status = "unreadable";
        report.error = err;
        for (size_t i = 0; i < plan.n_items; i++) {
            free(plan.items[i].message);
            plan.items[i].message = xasprintf("not graded: %s", err);
        }
        status = GRADE_UNREADABLE;
        fprintf(stderr, "conclab grade: %s\n", err);
    } else {
        grade_plan_free(&plan);
        char *plan_err = NULL;
        grade_plan_build(source, submission, &plan, &plan_err);  /* the source was checked above */
        free(plan_err);
        int ran = grade_run(&plan, &o.run, &err);
        if (ran == GRADE_RUN_STOPPED) {
            fprintf(stderr, "conclab grade: %s: %s\n", o.submission, err);
            status = GRADE_INTERRUPTED;
        } else if (ran != 0) {
            fprintf(stderr, "conclab grade: cannot run the notebook: %s\n", err ? err : "the engine failed");
            status = GRADE_FAILED;
        }
    }
    if (status != GRADE_FAILED && status != GRADE_INTERRUPTED) {
        grade_plan_hide(&plan);
        report.items = plan.items;
        report.n_items = plan.n_items;
        report.notes = plan.notes;
        report.has_seed = o.run.seed_used || o.run.seed_given;
        report.seed = o.run.seed;
        grade_report_total(&report);
        report.seconds = monotonic_seconds() - started;
        if (write_reports(&report, submission ? plan.notebook : NULL, outdir) != 0) status = GRADE_FAILED;
        else if (!o.run.quiet) print_summary(&report, outdir);
    }
    free(err);
    free(outdir);
    grade_plan_free(&plan);
    json_decref(submission);
    json_decref(source);
    return status;
}
