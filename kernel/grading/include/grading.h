/* grading.h — graded homework in nbgrader's format (issue 18): reading an instructor notebook,
 * making the student version, restoring a submission's locked and test cells, scoring, and the
 * report files. Pure data work on notebooks (jansson values): running cells is the caller's
 * (kernel/cli/grade_run.c drives the engine). */
#ifndef CONCLAB_GRADING_H
#define CONCLAB_GRADING_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* ---- nbgrader cell metadata (schema 3) ---- */

typedef struct nbg_cell {
    bool tracked;          /* the cell has "nbgrader" metadata with a grade_id */
    const char *grade_id;  /* borrowed from the cell */
    bool grade, solution, locked, task;
    double points;
    bool has_points;
    bool is_code;
} nbg_cell;

/* Reads cell's metadata.nbgrader. Returns 0, or -1 with *err (malloc'd) saying what is wrong. A
 * cell without nbgrader metadata is fine: out->tracked is false. */
int nbg_cell_read(const json_t *cell, nbg_cell *out, char **err);

/* nbgrader's definition: solution cells are never locked, grade cells always are. */
bool nbg_is_locked(const nbg_cell *c);

/* The cell's source as one malloc'd string ("" when missing). */
char *nbg_cell_source(const json_t *cell);

/* nbgrader's checksum of the cell (32 hex digits + NUL written to hex). */
void nbg_checksum(const json_t *cell, const nbg_cell *meta, char hex[33]);

/* md5 of len bytes, as 32 lowercase hex digits. */
void grading_md5_hex(const void *data, size_t len, char hex[33]);

/* ---- regions ---- */

extern const char GRADING_CODE_STUB[];      /* what replaces a C solution region */
extern const char GRADING_ANSWER_STUB[];    /* what replaces a written (markdown) answer */

/* The student's text for a solution cell: each region between BEGIN/END SOLUTION markers
 * replaced by the stub (at the marker's indentation); with no markers, the whole cell. NULL and
 * *err on unbalanced markers. */
char *regions_clear_solution(const char *source, bool is_code, char **err);

/* The text without its BEGIN/END HIDDEN TESTS regions (markers included); *had_hidden says
 * whether there were any. NULL and *err on unbalanced markers. */
char *regions_remove_hidden(const char *source, bool *had_hidden, char **err);

/* The lines inside the HIDDEN TESTS regions of source (malloc'd; "" when none). */
char *regions_hidden_text(const char *source);

/* text with every line that shows one of hidden's lines (a traceback quoting the line a hidden
 * test stopped at) replaced by "[a line of a hidden test]" (malloc'd). */
char *regions_redact(const char *text, const char *hidden);

/* Whether the text has a marker line of that kind ("SOLUTION" or "HIDDEN TESTS"). */
bool regions_has_marker(const char *source, const char *what);

/* ---- the student version ---- */

/* Checks an instructor notebook (unique grade_ids, points on grade cells, balanced markers,
 * markers only where they belong). 0, or -1 with *err naming the cell. */
int assign_check_source(const json_t *nb, char **err);

/* The student version of a checked instructor notebook (new reference): solutions stubbed,
 * hidden tests removed, outputs cleared, checksums computed. NULL with *err. */
json_t *assign_student_version(const json_t *nb, char **err);

/* Text as nbformat stores it: a list of lines, each keeping its "\n" (new reference). */
json_t *grading_lines(const char *text);

/* The released (student) text of one instructor cell, as assign_student_version makes it. */
char *assign_released_source(const json_t *cell, const nbg_cell *meta);

/* ---- one graded question ---- */

typedef struct grade_item {
    char *grade_id;
    char *name;
    const char *kind;      /* "test", "answer", "manual" */
    double points, max_points;
    const char *status;    /* "passed", "failed", "partial", "error", "timeout", "crashed", "manual" */
    char *message;         /* one line */
    char *output;          /* the cell's output text (capped) */
    bool hidden;           /* the test had hidden tests */
    char *hidden_text;     /* their lines, kept out of message and output (grade_plan_hide) */
    const char *restored;  /* "unchanged", "edited", "moved", "duplicated", "deleted" */
    bool pending;          /* counted in max_score, waiting for a person */
    bool unanswered;       /* a written answer left as released */
    /* concurrency-aware trials; has_runs false: none were asked for */
    bool has_runs;
    int runs, runs_failed;
    unsigned long long first_failing_seed;
    bool has_failing_seed;
    char *replay;
    /* what the instructor asked for this cell (metadata "conclab") */
    int repeat;
    bool chaos, tsan, lockcheck;
} grade_item;

/* ---- restoring a submission ---- */

typedef struct grade_plan {
    json_t *notebook;      /* the notebook to run: the submission with the instructor's cells back */
    grade_item *items;     /* one per grade or task cell of the instructor's notebook, in its order */
    size_t n_items;
    int *item_of_cell;     /* for each cell of notebook: index into items, or -1 */
    bool *is_test_cell;    /* for each cell: an autograded test (not re-run to rebuild state) */
    bool *is_locked_cell;  /* for each cell: the instructor's locked cell (setup, helpers, tests) */
    json_t *notes;         /* what the grader did besides scoring, in words (array of strings) */
} grade_plan;

/* Builds the plan from a checked instructor notebook and a submission (both borrowed). */
int grade_plan_build(const json_t *source, const json_t *submission, grade_plan *plan, char **err);

/* The items alone, every one "deleted"-free and unscored (for an unreadable submission). */
int grade_plan_items_only(const json_t *source, grade_plan *plan, char **err);

/* Keeps the hidden tests' lines out of every item's message and output: a traceback quotes the
 * line a test stopped at, and the student must not read a hidden one there. */
void grade_plan_hide(grade_plan *plan);

void grade_plan_free(grade_plan *plan);

/* ---- scoring ---- */

typedef struct cell_result {
    bool ok;
    const char *ename, *evalue;
    const char *result_text;  /* text/plain of the execute_result, or NULL */
    bool wrote_stderr;
    bool lock_order_report;   /* the run printed a lock-order report */
    const char *source;       /* the cell's source as run (markdown answers: the student's text) */
} cell_result;

typedef struct scoring_rules {
    bool stderr_fails;
} scoring_rules;

/* Sets item->points, status, message from how the cell ran (nbgrader's rules, conclab's notes). */
void scoring_score(grade_item *item, const cell_result *r, const scoring_rules *rules);

/* A markdown answer or task: "manual" unless left as released (then 0, "failed"). */
void scoring_manual(grade_item *item, bool unanswered);

/* ---- the report ---- */

typedef struct grade_report {
    const char *submission, *source;
    const char *status;      /* "graded", "unreadable" */
    const char *error;       /* NULL when graded */
    double score, max_score, manual_pending, seconds;
    bool has_seed;
    unsigned long long seed;
    const grade_item *items;
    size_t n_items;
    const json_t *notes;     /* array of strings, or NULL */
} grade_report;

void grade_report_total(grade_report *r);

json_t *report_results_json(const grade_report *r);
json_t *report_gradescope_json(const grade_report *r);
char *report_csv(const grade_report *r);
char *report_junit(const grade_report *r);
char *report_html(const grade_report *r);

/* Appends text for HTML or XML: markup characters (& < > " ') escaped, control characters other
 * than line feed and tab (not allowed in XML 1.0) dropped; NULL is empty. */
struct strbuf;
void grading_html_escape(struct strbuf *b, const char *text);

/* A submission larger than this is not read (a notebook of homework is kilobytes). */
#define GRADING_MAX_NOTEBOOK_BYTES (20 << 20)

/* Reads a notebook; NULL with *err saying plainly why it cannot be used (missing, empty, too
 * large, not JSON, not a notebook, no cells). */
json_t *grading_load_notebook(const char *path, char **err);

/* Writes nb to DIR/NAME as Jupyter does (through a temporary file). 0, or -1 with *err. */
int grading_write_notebook(const char *dir, const char *name, const json_t *nb, char **err);

/* Writes text to DIR/NAME through a temporary file renamed over it. 0, or -1 with *err. */
int grading_write_file(const char *dir, const char *name, const char *text, char **err);

/* Creates DIR and its parents. 0, or -1 with *err. */
int grading_make_dir(const char *dir, char **err);

#endif
