/* grade_batch.c — `conclab grade DIR/ --source SRC`: a class graded in parallel, resumably.
 *
 * The options and the order of things: list the folder, keep this shard's or --only's
 * submissions, skip those already graded, grade the rest with a pool of child graders, then
 * rebuild the class summary from every report on disk. Nothing a child does can stop the batch;
 * only Ctrl-C, a bad instructor notebook or a batch that cannot write its output can. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "grade_batch.h"
#include "monotonic.h"
#include "xalloc.h"

enum {
    BATCH_OK = 0,          /* every submission has a report or a recorded error */
    BATCH_FAILED = 1,      /* the batch itself failed (output not writable, cannot start children) */
    BATCH_USAGE = 2,       /* bad options, unreadable folder or instructor notebook */
    BATCH_INTERRUPTED = 130,
};

#define DEFAULT_SUBMISSION_TIMEOUT_S 600.0

static const char batch_usage[] =
    "usage: conclab grade DIR/ --source INSTRUCTOR.ipynb [-o OUTDIR] [options]\n"
    "\n"
    "Grades every submission in DIR, several at a time, each by its own `conclab grade FILE`\n"
    "process: a crash, hang or broken file costs that submission only. DIR holds one file per\n"
    "student (alice.ipynb) or, as nbgrader lays it out, one folder per student (alice/hw1.ipynb).\n"
    "Each student's reports go to OUTDIR/<student>/; the class's to OUTDIR/summary.csv,\n"
    "OUTDIR/summary.json and OUTDIR/overview.html. In summary.csv, a text cell starting with =, +,\n"
    "-, @, a tab or a carriage return gets a leading ' so a spreadsheet does not run it as a formula.\n"
    "\n"
    "options:\n"
    "  -o, --output OUTDIR          where reports go (default: graded)\n"
    "  -j, --jobs N                 grade N submissions at a time (default: the number of cores)\n"
    "      --force                  regrade submissions that already have a report\n"
    "      --only NAME              regrade this student only (repeatable); the summary is updated\n"
    "      --shard I/N              grade the I-th of N equal slices of the sorted submissions\n"
    "                               (1-based), e.g. one per task of a Slurm array job\n"
    "      --summary-only           grade nothing: rebuild the summary from the reports in OUTDIR\n"
    "      --submission-timeout S   stop grading a submission after S seconds in all (default 600);\n"
    "                               it is recorded as an error\n"
    "  -q, --quiet                  report errors only\n"
    "  -h, --help                   show this help\n"
    "passed to each submission's grader (see conclab grade --help):\n"
    "      --timeout S, --repeat N, --seed S, --stderr-fails, --sandbox, --no-sandbox\n"
    "\n"
    "Resuming: a submission whose OUTDIR/<student>/results.json is newer than both the submission\n"
    "and the source, and was graded with the same grader options (recorded in batch-options.json),\n"
    "is skipped as already graded, so after Ctrl-C, a crash or a reboot the same command carries on\n"
    "where it stopped; other options regrade it. Ctrl-C stops the graders at once; only complete\n"
    "reports are kept. A regrade moves the old report aside (results.previous.json).\n"
    "\n"
    "exit status: 0 every submission graded or its error recorded (a broken submission is not a\n"
    "failure of the batch), 1 the batch itself failed, 2 usage error, 130 interrupted.\n";

typedef struct batch_options {
    const char *dir, *source, *outdir;
    int jobs;
    int shard_index, shard_count; /* 0/0: no sharding */
    bool force, summary_only, quiet;
    double submission_timeout_s;
    char **only;
    size_t only_count;
    char **grader_args;
    size_t grader_argc;
} batch_options;

/* ---- options ------------------------------------------------------------------------------ */

/* `NAME VALUE` or `NAME=VALUE` at argv[*i]: 1 matched, 0 not this option, -1 value missing. */
static int take_value(int argc, char **argv, int *i, const char *name, const char **value) {
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0) return 0;
    if (argv[*i][n] == '=' && name[1] == '-') {
        *value = argv[*i] + n + 1;
        return 1;
    }
    if (argv[*i][n] != '\0') return 0;
    if (*i + 1 >= argc) return -1;
    *value = argv[++*i];
    return 1;
}

/* "batch/" names the same folder as "batch"; without the slash, paths built from it read
 * batch/alice.ipynb, not batch//alice.ipynb (in reports and their replay commands). */
static const char *without_trailing_slashes(const char *path) {
    char *p = (char *)path; /* an argv string: ours to change */
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/') p[--n] = '\0';
    return p;
}

static bool parse_positive(const char *text, double *out) {
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !isfinite(v) || v <= 0) return false;
    *out = v;
    return true;
}

static bool parse_count(const char *text, int *out) {
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < 1 || v > 100000) return false;
    *out = (int)v;
    return true;
}

static bool parse_shard(const char *text, int *index, int *count) {
    char extra;
    return sscanf(text, "%d/%d%c", index, count, &extra) == 2 && *count >= 1 && *index >= 1 && *index <= *count;
}

static void pass_through(batch_options *o, const char *arg, const char *value) {
    o->grader_args = xrealloc(o->grader_args, (o->grader_argc + 2) * sizeof *o->grader_args);
    o->grader_args[o->grader_argc++] = (char *)arg;
    if (value) o->grader_args[o->grader_argc++] = (char *)value;
}

static int usage_error(const char *message, const char *what) {
    fprintf(stderr, "conclab grade: %s%s (see conclab grade --help)\n", message, what ? what : "");
    return -1;
}

/* One option that takes a value: 1 handled, 0 not one of these, -1 usage error. */
static int parse_valued(batch_options *o, int argc, char **argv, int *i) {
    const char *v = NULL;
    int took;
    double seconds;
    int n;
    if ((took = take_value(argc, argv, i, "-o", &v)) || (took = take_value(argc, argv, i, "--output", &v))) {
        if (took < 0 || !*v) return usage_error("-o needs a folder", NULL);
        o->outdir = without_trailing_slashes(v);
    } else if ((took = take_value(argc, argv, i, "--source", &v))) {
        if (took < 0 || !*v) return usage_error("--source needs the instructor notebook", NULL);
        o->source = v;
    } else if ((took = take_value(argc, argv, i, "-j", &v)) || (took = take_value(argc, argv, i, "--jobs", &v))) {
        if (took < 0 || !parse_count(v, &o->jobs)) return usage_error("--jobs needs a number of at least 1", NULL);
    } else if ((took = take_value(argc, argv, i, "--shard", &v))) {
        if (took < 0 || !parse_shard(v, &o->shard_index, &o->shard_count))
            return usage_error("--shard needs I/N with 1 <= I <= N, e.g. --shard 2/8", NULL);
    } else if ((took = take_value(argc, argv, i, "--only", &v))) {
        if (took < 0 || !*v) return usage_error("--only needs a student's name", NULL);
        o->only = xrealloc(o->only, (o->only_count + 1) * sizeof *o->only);
        o->only[o->only_count++] = (char *)v;
    } else if ((took = take_value(argc, argv, i, "--submission-timeout", &v))) {
        if (took < 0 || !parse_positive(v, &o->submission_timeout_s))
            return usage_error("--submission-timeout needs a positive number of seconds", NULL);
    } else if ((took = take_value(argc, argv, i, "--timeout", &v))) {
        if (took < 0 || !parse_positive(v, &seconds)) return usage_error("--timeout needs a positive number of seconds", NULL);
        pass_through(o, "--timeout", v);
    } else if ((took = take_value(argc, argv, i, "--repeat", &v))) {
        if (took < 0 || !parse_count(v, &n)) return usage_error("--repeat needs a number of at least 1", NULL);
        pass_through(o, "--repeat", v);
    } else if ((took = take_value(argc, argv, i, "--seed", &v))) {
        if (took < 0 || !*v) return usage_error("--seed needs a number", NULL);
        pass_through(o, "--seed", v);
    } else {
        return 0;
    }
    return 1;
}

/* 0: go; 1: help; -1: usage error (reported). */
static int parse_options(int argc, char **argv, batch_options *o) {
    memset(o, 0, sizeof *o);
    o->outdir = "graded";
    o->submission_timeout_s = DEFAULT_SUBMISSION_TIMEOUT_S;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    o->jobs = cores > 0 ? (int)cores : 1;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        int handled;
        if (arg[0] != '-') {
            if (o->dir) return usage_error("one folder at a time: ", arg);
            o->dir = without_trailing_slashes(arg);
        } else if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            return 1;
        } else if (!strcmp(arg, "--force")) {
            o->force = true;
        } else if (!strcmp(arg, "--summary-only")) {
            o->summary_only = true;
        } else if (!strcmp(arg, "-q") || !strcmp(arg, "--quiet")) {
            o->quiet = true;
        } else if (!strcmp(arg, "--stderr-fails") || !strcmp(arg, "--sandbox") || !strcmp(arg, "--no-sandbox")) {
            pass_through(o, arg, NULL);
        } else if ((handled = parse_valued(o, argc, argv, &i)) != 0) {
            if (handled < 0) return -1;
        } else {
            return usage_error("unknown option ", arg);
        }
    }
    if (!o->dir) return usage_error("which folder of submissions?", NULL);
    if (!o->source) return usage_error("--source INSTRUCTOR.ipynb is needed to grade", NULL);
    return 0;
}

/* The instructor notebook must be readable JSON before hundreds of children are told to use it;
 * the single grader checks the rest of it. */
static int check_source(const char *source) {
    json_error_t error;
    json_t *nb = json_load_file(source, 0, &error);
    if (!nb) {
        fprintf(stderr, "conclab grade: the instructor notebook %s cannot be read: %s\n", source, error.text);
        return -1;
    }
    bool ok = json_is_array(json_object_get(nb, "cells"));
    json_decref(nb);
    if (!ok) fprintf(stderr, "conclab grade: %s is not a Jupyter notebook (no \"cells\" list)\n", source);
    return ok ? 0 : -1;
}

/* ---- the run ------------------------------------------------------------------------------ */

static size_t count_state(const roster *r, submission_state state) {
    size_t n = 0;
    for (size_t i = 0; i < r->count; i++) n += r->items[i].state == state;
    return n;
}

static void choose_submissions(roster *r, const batch_options *o) {
    if (o->shard_count) roster_keep_shard(r, o->shard_index, o->shard_count);
    if (!o->force && !o->only_count) roster_skip_graded(r, o->source, o->outdir, o->grader_args, o->grader_argc);
}

static void report_skipped(const roster *r, progress *p) {
    for (size_t i = 0; i < r->count; i++) {
        const submission *s = &r->items[i];
        if (s->state == SUBMISSION_ALREADY_GRADED) progress_skipped(p, s, "already graded");
        if (s->state == SUBMISSION_TO_GRADE && s->options_changed) progress_note(p, s, "options changed: regrading");
        if (s->state == SUBMISSION_BROKEN) {
            char *why = xasprintf("error: %s", s->error);
            progress_skipped(p, s, why);
            free(why);
        }
    }
}

static const char *plural(size_t n, const char *one, const char *many) {
    return n == 1 ? one : many;
}

/* The last line: what was actually done, not what was planned (an interrupt stops midway). */
static void report_done(const roster *r, const pool_counts *done, size_t to_grade, double seconds, int jobs) {
    size_t skipped = count_state(r, SUBMISSION_ALREADY_GRADED);
    size_t failed = done->failed + count_state(r, SUBMISSION_BROKEN);
    size_t ran = done->graded + done->failed;
    size_t not_reached = to_grade - ran - done->busy;
    fprintf(stderr, "conclab grade: %zu %s graded, %zu failed, %zu already graded", done->graded,
            plural(done->graded, "submission", "submissions"), failed, skipped);
    if (done->busy) fprintf(stderr, ", %zu left to another conclab grade grading them", done->busy);
    if (not_reached) fprintf(stderr, ", %zu not reached", not_reached);
    fprintf(stderr, " in %.1f s", seconds);
    if (ran) fprintf(stderr, " (%.2f s each, %d at a time)", seconds / (double)ran, jobs);
    fputc('\n', stderr);
}

static int grade_all(const roster *r, const batch_options *o) {
    size_t to_grade = count_state(r, SUBMISSION_TO_GRADE);
    size_t total = to_grade + count_state(r, SUBMISSION_ALREADY_GRADED) + count_state(r, SUBMISSION_BROKEN);
    if (mkdir(o->outdir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "conclab grade: cannot create %s: %s\n", o->outdir, strerror(errno));
        return BATCH_FAILED;
    }
    double started = monotonic_seconds();
    progress *p = progress_start(total, o->quiet);
    report_skipped(r, p);
    pool_options po = {.jobs = o->jobs, .submission_timeout_s = o->submission_timeout_s, .source = o->source,
                       .outdir = o->outdir, .grader_args = o->grader_args, .grader_argc = o->grader_argc};
    pool_counts done;
    pool_result result = pool_run(r, &po, p, &done);
    progress_end(p);
    double seconds = monotonic_seconds() - started;
    if (!o->quiet && (result == POOL_DONE || result == POOL_INTERRUPTED))
        report_done(r, &done, to_grade, seconds, o->jobs);
    if (result == POOL_INTERRUPTED) fprintf(stderr, "conclab grade: interrupted; run the same command to resume\n");
    switch (result) {
    case POOL_DONE: return BATCH_OK;
    case POOL_INTERRUPTED: return BATCH_INTERRUPTED;
    case POOL_SOURCE_REFUSED: return BATCH_USAGE;
    case POOL_FAILED: break;
    }
    return BATCH_FAILED;
}

int cli_grade_batch(int argc, char **argv) {
    batch_options o;
    int parsed = parse_options(argc, argv, &o);
    if (parsed != 0) {
        fputs(parsed > 0 ? batch_usage : "", parsed > 0 ? stdout : stderr);
        return parsed > 0 ? 0 : BATCH_USAGE;
    }
    int rc = BATCH_USAGE;
    roster r = {0};
    if (check_source(o.source) != 0 || roster_list(&r, o.dir, o.source, o.outdir) != 0) goto done;
    if (o.only_count && roster_keep_only(&r, o.only, o.only_count) != 0) goto done;
    rc = BATCH_OK;
    if (!o.summary_only) {
        choose_submissions(&r, &o);
        rc = grade_all(&r, &o);
    }
    if (rc != BATCH_USAGE && summary_write(&r, o.source, o.outdir) != 0 && rc == BATCH_OK) rc = BATCH_FAILED;
    if (rc != BATCH_USAGE && !o.quiet)
        fprintf(stderr, "conclab grade: summary in %s/summary.csv, class overview in %s/overview.html\n", o.outdir,
                o.outdir);
done:
    roster_free(&r);
    free(o.only);
    free(o.grader_args);
    return rc;
}

/* Options of either form of `conclab grade` whose value is the next argument. */
static bool takes_value(const char *arg) {
    static const char *const valued[] = {"-o", "--output", "--source", "-j", "--jobs", "--shard", "--only",
                                         "--submission-timeout", "--timeout", "--repeat", "--seed"};
    for (size_t i = 0; i < sizeof valued / sizeof *valued; i++)
        if (strcmp(arg, valued[i]) == 0) return true;
    return false;
}

bool grade_wants_batch(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (argv[i][0] == '-') {
            i += takes_value(argv[i]);
            continue;
        }
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) return true;
    }
    return false;
}
