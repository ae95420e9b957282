/* grade_batch_summary.c — the class's results gathered from every student's report, written as
 * summary.csv (one row per student, one column per question), summary.json and overview.html.
 *
 * The summary is rebuilt from the files each time, never kept in memory across runs: after an
 * interrupted batch, a resumed one, --only, or N shards on N machines, it says what the reports
 * on disk say. Every submission in the folder has a row, graded or not, so nothing goes missing
 * without a trace. */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "grade_batch.h"
#include "strbuf.h"
#include "xalloc.h"

/* ---- the questions ------------------------------------------------------------------------ */

static size_t question_index(const class_results *c, const char *grade_id) {
    for (size_t i = 0; i < c->question_count; i++)
        if (strcmp(c->questions[i].grade_id, grade_id) == 0) return i;
    return (size_t)-1;
}

static void add_question(class_results *c, const char *grade_id, double max_points) {
    c->questions = xrealloc(c->questions, (c->question_count + 1) * sizeof *c->questions);
    c->questions[c->question_count++] = (question){xstrdup(grade_id), max_points};
}

/* The instructor notebook's graded cells (nbgrader metadata "grade": true), in its order. */
static void questions_from_source(class_results *c, const char *source) {
    json_t *nb = json_load_file(source, 0, NULL);
    size_t i;
    json_t *cell;
    json_array_foreach(json_object_get(nb, "cells"), i, cell) {
        json_t *meta = json_object_get(json_object_get(cell, "metadata"), "nbgrader");
        const char *grade_id = json_string_value(json_object_get(meta, "grade_id"));
        if (!grade_id || !json_is_true(json_object_get(meta, "grade"))) continue;
        if (question_index(c, grade_id) != (size_t)-1) continue;
        double points = json_number_value(json_object_get(meta, "points"));
        add_question(c, grade_id, points);
        c->max_score += points;
    }
    json_decref(nb);
}

/* ---- one student -------------------------------------------------------------------------- */

/* The single grader falls back to no sandbox when bwrap cannot run here, and says so only in
 * its report's notes: the batch must say it where the instructor looks. */
#define UNSANDBOXED_NOTE "graded without a sandbox"

static bool noted_unsandboxed(json_t *report) {
    size_t i;
    json_t *note;
    json_array_foreach(json_object_get(report, "notes"), i, note) {
        const char *text = json_string_value(note);
        if (text && strstr(text, UNSANDBOXED_NOTE)) return true;
    }
    return false;
}

static void fill_from_report(class_results *c, student_result *s, json_t *report) {
    s->unsandboxed = noted_unsandboxed(report);
    c->unsandboxed += s->unsandboxed;
    const char *status = json_string_value(json_object_get(report, "status"));
    s->status = status && strcmp(status, "graded") == 0 ? "graded" : "unreadable";
    const char *error = json_string_value(json_object_get(report, "error"));
    if (error) s->error = xstrdup(error);
    else if (!status || (strcmp(status, "graded") != 0 && strcmp(status, "unreadable") != 0))
        s->error = xasprintf("results.json has an unknown status (%s)", status ? status : "none");
    s->has_score = true;
    s->score = json_number_value(json_object_get(report, "score"));
    s->max_score = json_number_value(json_object_get(report, "max_score"));
    size_t i;
    json_t *test;
    json_array_foreach(json_object_get(report, "tests"), i, test) {
        const char *grade_id = json_string_value(json_object_get(test, "grade_id"));
        if (!grade_id) continue;
        size_t q = question_index(c, grade_id);
        if (q == (size_t)-1) continue;
        s->points[q] = json_number_value(json_object_get(test, "points"));
        const char *test_status = json_string_value(json_object_get(test, "status"));
        free(s->test_status[q]);
        s->test_status[q] = test_status ? xstrdup(test_status) : NULL;
    }
}

/* Questions a report has and the source lacks (a source changed since?) still get a column. */
static void questions_from_report(class_results *c, json_t *report) {
    size_t i;
    json_t *test;
    json_array_foreach(json_object_get(report, "tests"), i, test) {
        const char *grade_id = json_string_value(json_object_get(test, "grade_id"));
        if (grade_id && question_index(c, grade_id) == (size_t)-1)
            add_question(c, grade_id, json_number_value(json_object_get(test, "max_points")));
    }
}

static json_t *load_student_json(const char *outdir, const char *student, const char *name) {
    char *path = student_file(outdir, student, name);
    json_t *j = json_load_file(path, 0, NULL);
    free(path);
    return j;
}

static bool student_has(const char *outdir, const char *student, const char *name) {
    char *path = student_file(outdir, student, name);
    bool there = access(path, F_OK) == 0;
    free(path);
    return there;
}

static void read_student(class_results *c, student_result *s, const submission *sub, json_t *report,
                         const char *outdir) {
    s->student = sub->student;
    s->points = xcalloc(c->question_count, sizeof *s->points);
    s->test_status = xcalloc(c->question_count, sizeof *s->test_status);
    for (size_t q = 0; q < c->question_count; q++) s->points[q] = NAN;
    s->has_feedback = student_has(outdir, sub->student, "feedback.html");
    if (report) {
        fill_from_report(c, s, report);
        return;
    }
    if (sub->error) {
        s->status = "error";
        s->error = xstrdup(sub->error);
        return;
    }
    json_t *batch_error = load_student_json(outdir, sub->student, "batch-error.json");
    const char *why = json_string_value(json_object_get(batch_error, "error"));
    s->status = batch_error ? "error" : "not graded";
    s->error = batch_error ? xstrdup(why ? why : "the grader failed") : NULL;
    json_decref(batch_error);
}

static void gather(class_results *c, const roster *r, const char *source, const char *outdir) {
    memset(c, 0, sizeof *c);
    questions_from_source(c, source);
    json_t **reports = xcalloc(r->count + 1, sizeof *reports);
    for (size_t i = 0; i < r->count; i++) {
        if (r->items[i].error) continue;
        reports[i] = load_student_json(outdir, r->items[i].student, "results.json");
        if (reports[i]) questions_from_report(c, reports[i]);
    }
    c->students = xcalloc(r->count + 1, sizeof *c->students);
    c->student_count = r->count;
    for (size_t i = 0; i < r->count; i++) {
        read_student(c, &c->students[i], &r->items[i], reports[i], outdir);
        json_decref(reports[i]);
    }
    free(reports);
}

static void release(class_results *c) {
    for (size_t i = 0; i < c->student_count; i++) {
        for (size_t q = 0; q < c->question_count; q++) free(c->students[i].test_status[q]);
        free(c->students[i].test_status);
        free(c->students[i].points);
        free(c->students[i].error);
    }
    for (size_t q = 0; q < c->question_count; q++) free(c->questions[q].grade_id);
    free(c->students);
    free(c->questions);
}

/* ---- figures ------------------------------------------------------------------------------ */

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static bool is_error_status(const char *status) {
    return status && (strcmp(status, "error") == 0 || strcmp(status, "timeout") == 0 ||
                      strcmp(status, "crashed") == 0);
}

question_stats question_stats_of(const class_results *c, size_t q) {
    question_stats st = {0};
    double *values = xcalloc(c->student_count + 1, sizeof *values);
    double sum = 0;
    for (size_t i = 0; i < c->student_count; i++) {
        const student_result *s = &c->students[i];
        if (strcmp(s->status, "graded") != 0 || isnan(s->points[q])) continue;
        double v = s->points[q];
        values[st.graded++] = v;
        sum += v;
        st.full += v >= c->questions[q].max_points;
        st.zero += v <= 0;
        st.errors += is_error_status(s->test_status[q]);
    }
    if (st.graded) {
        qsort(values, st.graded, sizeof *values, by_value);
        st.mean = sum / (double)st.graded;
        st.median = st.graded % 2 ? values[st.graded / 2]
                                  : (values[st.graded / 2 - 1] + values[st.graded / 2]) / 2;
    }
    free(values);
    return st;
}

/* ---- summary.csv -------------------------------------------------------------------------- */

/* A text cell a spreadsheet would take for a formula (=, +, -, @, or a tab or carriage return
 * before one) gets a leading single quote, as OWASP's CSV-injection advice says: a student's file
 * name must not run as a formula on the instructor's machine. Numbers are written unguarded. */
static bool looks_like_formula(const char *text) {
    return text && text[0] && strchr("=+-@\t\r", text[0]);
}

/* RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled. */
static void csv_field(strbuf *b, const char *text, bool last) {
    char *guarded = looks_like_formula(text) ? xasprintf("'%s", text) : NULL;
    if (guarded) text = guarded;
    if (text && strpbrk(text, ",\"\r\n")) {
        strbuf_add(b, "\"");
        for (const char *p = text; *p; p++) strbuf_add(b, *p == '"' ? "\"\"" : (char[]){*p, '\0'});
        strbuf_add(b, "\"");
    } else if (text) {
        strbuf_add(b, text);
    }
    strbuf_add(b, last ? "\r\n" : ",");
    free(guarded);
}

static void csv_number(strbuf *b, double v, bool present) {
    if (present && !isnan(v)) strbuf_addf(b, "%g", v);
    strbuf_add(b, ",");
}

static char *summary_csv(const class_results *c) {
    strbuf b = {0};
    strbuf_add(&b, "student,status,score,max_score,");
    for (size_t q = 0; q < c->question_count; q++) csv_field(&b, c->questions[q].grade_id, false);
    strbuf_add(&b, "error\r\n");
    for (size_t i = 0; i < c->student_count; i++) {
        const student_result *s = &c->students[i];
        csv_field(&b, s->student, false);
        csv_field(&b, s->status, false);
        csv_number(&b, s->score, s->has_score);
        csv_number(&b, s->has_score ? s->max_score : c->max_score, true);
        for (size_t q = 0; q < c->question_count; q++) csv_number(&b, s->points[q], s->has_score);
        csv_field(&b, s->error ? s->error : "", true);
    }
    return strbuf_take(&b);
}

/* ---- summary.json ------------------------------------------------------------------------- */

static json_t *number_or_null(double v, bool present) {
    return present && !isnan(v) ? json_real(v) : json_null();
}

static json_t *question_json(const class_results *c, size_t q) {
    question_stats st = question_stats_of(c, q);
    return json_pack("{s:s, s:f, s:I, s:o, s:o, s:I, s:I, s:I}", "grade_id", c->questions[q].grade_id,
                     "max_points", c->questions[q].max_points, "graded", (json_int_t)st.graded, "mean",
                     number_or_null(st.mean, st.graded > 0), "median", number_or_null(st.median, st.graded > 0),
                     "full", (json_int_t)st.full, "zero", (json_int_t)st.zero, "errors", (json_int_t)st.errors);
}

static json_t *student_json(const class_results *c, const student_result *s) {
    json_t *points = json_object();
    for (size_t q = 0; q < c->question_count; q++)
        json_object_set_new(points, c->questions[q].grade_id, number_or_null(s->points[q], s->has_score));
    char *feedback = xasprintf("%s/feedback.html", s->student);
    json_t *j = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "student", s->student, "status", s->status,
                          "score", number_or_null(s->score, s->has_score), "max_score",
                          number_or_null(s->has_score ? s->max_score : c->max_score, true), "points", points,
                          "error", s->error ? json_string(s->error) : json_null(), "feedback",
                          s->has_feedback ? json_string(feedback) : json_null(), "sandboxed",
                          s->has_score ? json_boolean(!s->unsandboxed) : json_null());
    free(feedback);
    return j;
}

static char *summary_json(const class_results *c, const char *source) {
    json_t *questions = json_array(), *students = json_array();
    for (size_t q = 0; q < c->question_count; q++) json_array_append_new(questions, question_json(c, q));
    size_t counts[4] = {0}; /* graded, unreadable, error, not graded */
    for (size_t i = 0; i < c->student_count; i++) {
        const student_result *s = &c->students[i];
        json_array_append_new(students, student_json(c, s));
        counts[strcmp(s->status, "graded") == 0       ? 0
               : strcmp(s->status, "unreadable") == 0 ? 1
               : strcmp(s->status, "error") == 0      ? 2
                                                      : 3]++;
    }
    json_t *j = json_pack("{s:s, s:s, s:f, s:{s:I, s:I, s:I, s:I, s:I, s:I}, s:o, s:o}", "schema",
                          "conclab-grade-summary/1", "source", source, "max_score", c->max_score, "counts",
                          "students", (json_int_t)c->student_count, "graded", (json_int_t)counts[0], "unreadable",
                          (json_int_t)counts[1], "error", (json_int_t)counts[2], "not_graded", (json_int_t)counts[3],
                          "unsandboxed", (json_int_t)c->unsandboxed, "questions", questions, "students", students);
    char *text = json_dumps(j, JSON_INDENT(1));
    json_decref(j);
    strbuf b = {0};
    strbuf_add(&b, text);
    strbuf_add(&b, "\n");
    free(text);
    return strbuf_take(&b);
}

/* ---- writing ------------------------------------------------------------------------------ */

/* Temporary file and rename: a reader (or an interrupted run) never sees half a summary. Shards
 * on several machines may write the summary into one shared folder at once: the temporary
 * file's name holds the host's name as well as the process id. */
static int write_atomically(const char *outdir, const char *name, const char *text) {
    char host[256] = "host";
    gethostname(host, sizeof host - 1);
    host[strcspn(host, "/")] = '\0';
    char *path = xasprintf("%s/%s", outdir, name);
    char *tmp = xasprintf("%s/.%s.%s.%ld.tmp", outdir, name, host, (long)getpid());
    FILE *f = fopen(tmp, "w");
    int rc = f && fputs(text, f) >= 0 ? 0 : -1;
    if (f && fclose(f) != 0) rc = -1;
    if (rc == 0 && rename(tmp, path) != 0) rc = -1;
    if (rc != 0) {
        fprintf(stderr, "conclab grade: cannot write %s: %s\n", path, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    free(path);
    return rc;
}

int summary_write(const roster *r, const char *source, const char *outdir) {
    if (mkdir(outdir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "conclab grade: cannot create %s: %s\n", outdir, strerror(errno));
        return -1;
    }
    class_results c;
    gather(&c, r, source, outdir);
    char *csv = summary_csv(&c), *json = summary_json(&c, source), *html = overview_html(&c, source);
    int rc = write_atomically(outdir, "summary.csv", csv) | write_atomically(outdir, "summary.json", json) |
             write_atomically(outdir, "overview.html", html);
    if (c.unsandboxed)
        fprintf(stderr,
                "conclab grade: WARNING: %zu %s graded WITHOUT a sandbox (it could not start here): "
                "their code could read and write what you can (see summary.json's \"sandboxed\" and each "
                "student's grader.log)\n",
                c.unsandboxed, c.unsandboxed == 1 ? "submission was" : "submissions were");
    free(csv);
    free(json);
    free(html);
    release(&c);
    return rc;
}
