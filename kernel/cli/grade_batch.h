/* grade_batch.h — `conclab grade DIR/`: a class's submissions graded by a pool of child graders.
 *
 * The pieces, one per file: the roster (which submissions, whose, which shard, already graded?),
 * the pool of child processes, the progress display, and the class summary (CSV, JSON and the
 * overview page). The single-submission grader (`conclab grade FILE`) does the grading; a batch
 * only runs it, one child per submission, and reads the results.json each child leaves behind. */
#ifndef CONCLAB_GRADE_BATCH_H
#define CONCLAB_GRADE_BATCH_H

#include <stdbool.h>
#include <stddef.h>

/* ---- the roster (grade_batch_roster.c) ---------------------------------------------------- */

typedef enum submission_state {
    SUBMISSION_TO_GRADE,       /* a file for a child grader */
    SUBMISSION_ALREADY_GRADED, /* its results.json is newer than it and than the source */
    SUBMISSION_NOT_MINE,       /* another shard's, or not named by --only */
    SUBMISSION_BROKEN,         /* the batch cannot even hand it to a grader (error says why) */
} submission_state;

typedef struct submission {
    char *student;  /* the file's name without .ipynb, or the nbgrader-layout folder's name */
    char *path;     /* the notebook (or whatever file) to grade; NULL when BROKEN before that */
    char *error;    /* why it is BROKEN */
    submission_state state;
    bool options_changed; /* graded before, with other grader options: graded again */
} submission;

typedef struct roster {
    submission *items; /* sorted by student */
    size_t count;
} roster;

/* Lists DIR's submissions: every regular file, and every folder holding the student's notebook
 * (nbgrader's DIR/<student>/<assignment>.ipynb; the one named like the source is preferred).
 * Hidden entries and the output folder itself are skipped. 0, or -1 with a message printed. */
int roster_list(roster *r, const char *dir, const char *source, const char *outdir);
void roster_free(roster *r);

/* Keeps the i-th (1-based) of n contiguous slices of the sorted roster; the rest NOT_MINE. */
void roster_keep_shard(roster *r, int index, int count);

/* Keeps only the named students (regraded even if graded before). -1 if a name is unknown
 * (reported). */
int roster_keep_only(roster *r, char **names, size_t count);

/* Marks TO_GRADE submissions whose OUTDIR/<student>/results.json is newer than both the
 * submission and the source, and was graded with the same grader options (args), as
 * ALREADY_GRADED; those graded with other options are marked options_changed. */
void roster_skip_graded(roster *r, const char *source, const char *outdir, char **args, size_t argc);

/* Records in OUTDIR/<student>/batch-options.json the grader options a submission is graded with.
 * 0, or -1 with a message printed. */
int grader_options_write(const char *outdir, const char *student, char **args, size_t argc);

/* OUTDIR/<student>/<name>, allocated. */
char *student_file(const char *outdir, const char *student, const char *name);

/* ---- the pool (grade_batch_pool.c) -------------------------------------------------------- */

typedef struct pool_options {
    int jobs;
    double submission_timeout_s; /* a whole submission's wall-clock limit */
    const char *source;
    const char *outdir;
    char **grader_args; /* passed through to each child (--timeout 2, --sandbox, ...) */
    size_t grader_argc;
} pool_options;

/* How one child grading ended. */
typedef struct grading_outcome {
    const submission *sub;
    int exit_status;  /* the child's, or -1 when killed by a signal or by the time limit */
    bool timed_out;
    int signal;       /* the signal that ended it, or 0 */
    double seconds;
    char *error;      /* NULL when a report was written (exit 0 or 3); else why not */
} grading_outcome;

typedef struct progress progress;

typedef enum pool_result {
    POOL_DONE,
    POOL_INTERRUPTED,    /* Ctrl-C or SIGTERM: the children were stopped */
    POOL_SOURCE_REFUSED, /* a child said the instructor notebook or the options are bad */
    POOL_FAILED,         /* the batch could not start children */
} pool_result;

/* What a pool run actually did (an interrupted run did not reach every submission). */
typedef struct pool_counts {
    size_t graded; /* the grader wrote a report of a graded submission */
    size_t failed; /* no report, or the submission was unreadable */
    size_t busy;   /* left to another batch that was grading them (their .grading.lock) */
} pool_counts;

/* Grades every TO_GRADE submission, o->jobs at a time; each outcome goes to the progress
 * display and, for a submission without a report, into OUTDIR/<student>/batch-error.json. */
pool_result pool_run(const roster *r, const pool_options *o, progress *p, pool_counts *counts);

/* ---- progress (grade_batch_progress.c) ---------------------------------------------------- */

/* A bar redrawn in place on a terminal; one line per submission otherwise. */
progress *progress_start(size_t total, bool quiet);
void progress_skipped(progress *p, const submission *sub, const char *why);
void progress_note(progress *p, const submission *sub, const char *what); /* a line, not counted */
void progress_started(progress *p, const submission *sub);
void progress_finished(progress *p, const grading_outcome *o, const char *outdir);
void progress_tick(progress *p); /* redraws the bar (elapsed time moves) */
void progress_end(progress *p);  /* ends the bar's line and frees it */

/* ---- the summary (grade_batch_summary.c, grade_batch_overview.c) --------------------------- */

/* One question: a graded cell of the instructor notebook (or, failing that, of a report). */
typedef struct question {
    char *grade_id;
    double max_points;
} question;

/* One student's line of the summary. */
typedef struct student_result {
    const char *student;
    const char *status;  /* graded, unreadable, error (no report: see error), not graded */
    char *error;         /* NULL or why */
    bool has_score;
    double score, max_score;
    double *points;      /* per question; NAN when the report has no such test */
    char **test_status;  /* per question: passed, failed, timeout, ... or NULL */
    bool has_feedback;   /* OUTDIR/<student>/feedback.html exists */
    bool unsandboxed;    /* its report notes that its code ran without the sandbox */
} student_result;

typedef struct class_results {
    question *questions;
    size_t question_count;
    student_result *students;
    size_t student_count;
    double max_score;    /* the source's total */
    size_t unsandboxed;  /* how many students' code ran without the sandbox */
} class_results;

/* Writes OUTDIR/summary.csv, summary.json and overview.html from every student's report.
 * 0, or -1 with a message printed. */
int summary_write(const roster *r, const char *source, const char *outdir);

/* The class overview page (grade_batch_overview.c), HTML with inline SVG charts. */
char *overview_html(const class_results *c, const char *source);

/* Per-question figures over the students whose submission was graded. */
typedef struct question_stats {
    size_t graded, full, zero, errors;
    double mean, median;
} question_stats;
question_stats question_stats_of(const class_results *c, size_t q);

#endif
