/* grade_run_internal.h — what the pieces of `conclab grade`'s run share: the capture of one run
 * of a cell, the result of an extra run, and the runner that walks the notebook.
 *
 * Private to grade_run.c (the walk over the cells and the scoring of each), grade_capture.c
 * (what a cell printed, shown and returned), grade_extra_runs.c (chaos repeats, the ThreadSanitizer
 * run, the replay command) and grade_guard.c (locked cells keep their meaning, questions named in
 * messages, a lost state rebuilt); grade.c sees only grade_run.h. */
#ifndef CONCLAB_GRADE_RUN_INTERNAL_H
#define CONCLAB_GRADE_RUN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "engine.h"
#include "grade_run.h"
#include "strbuf.h"

enum {
    OUTPUT_CAP = 8192,      /* bytes of a question's output kept in the report */
};

/* What one run of a cell produced. */
typedef struct capture {
    json_t *outputs;        /* nbformat outputs */
    strbuf stream;          /* the stream being written (merged while the name stays the same) */
    char *stream_name;
    strbuf text;            /* everything shown, as text, for the report */
    size_t notebook_bytes;
    bool wrote_stderr;
    bool lock_order_report;
} capture;

/* ---- grade_capture.c ---- */

/* Frees what a capture holds (not c itself). */
void capture_free(capture *c);
/* Runs code as cell number count, capturing its outputs into c and its outcome into out. */
void run_code(engine *eng, const char *code, int count, capture *c, engine_outcome *out);
/* Stores the cell's outputs and execution count into the notebook cell, as Jupyter would. */
void store_outputs(json_t *cell, capture *c, const engine_outcome *out, int count);
/* Whether the engine says the notebook's state was lost in that run. */
bool state_was_lost(const engine_outcome *out);

/* ---- grade_extra_runs.c ---- */

/* What an extra run of a test cell (chaos repeats, ThreadSanitizer) found. */
typedef struct extra {
    bool failed;
    char *ename, *evalue;
    char *note;             /* said in the message when the check could not be made */
    char *output;           /* what the failing run printed, when it is not the plain run */
} extra;

/* magic, a newline, then code; malloc'd. */
char *prefixed(const char *magic, const char *code);
/* Repeats a passing test under %%chaos with recorded seeds; fills it (runs, seeds, replay) and x. */
void chaos_runs(engine *eng, const char *code, int count, int runs, grade_item *it, grade_run_options *o, extra *x);
/* The %%tsan run of a test cell (code NULL after a passing plain run); fills x. */
void tsan_run(engine *eng, const char *code, int count, double timeout_s, extra *x);
/* Frees what an extra holds (not x itself). */
void extra_free(extra *x);
/* Whether the TSan run's failure is a report (a data race, a TSan error) worth failing a test for. */
bool tsan_counts_as_report(const extra *tsan);
/* Puts the TSan run's output before the plain run's in the item's output. */
void keep_tsan_output(grade_item *it, const extra *tsan);

/* ---- the notebook ---- */

typedef struct runner {
    engine *eng;
    grade_plan *plan;
    grade_run_options *o;
    int count;
    size_t *setup;          /* cells that ran well and are not tests: what rebuilds a lost state */
    size_t n_setup;
    json_t *owners;         /* name -> index of the locked cell that defined it last */
    json_t *locked_words;   /* identifiers written in locked cells (a set) */
    char *locked_failure;   /* the first locked, ungraded cell that failed, in words */
    json_t *question_of;    /* cell number (as text) -> the grade_id of the cell it ran */
} runner;

/* ---- grade_guard.c ---- */

/* Records that cell number count ran the question of cell index, for naming it in messages. */
void remember_question(runner *r, int count, size_t index);
/* Adds the question's grade_id after each "cell[N]" in every item's message and output. */
void name_questions_in_items(const runner *r);
/* Collects the identifiers written in the locked cells into r->locked_words. */
void collect_locked_words(runner *r);
/* The names cell number count defined now belong to locked cell index. */
void claim_names(runner *r, int count, size_t index);
/* After a student's cell: undoes shadowing macros and re-runs locked cells it redefined. */
void guard_locked_cells(runner *r, size_t index, int count);
/* Notes a failing locked cell that is not a test in the report and in r->locked_failure. */
void note_locked_failure(runner *r, size_t index, int count, const engine_outcome *out);
/* Runs the earlier cells that are not tests again after the notebook's state was lost. */
void rebuild_state(runner *r);

#endif
