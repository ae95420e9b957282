/* grade_batch_overview.c — overview.html: the class at a glance, one self-contained page.
 *
 * Per question, a bar chart of how many students got how many points (inline SVG drawn here:
 * no script, no CDN, it opens from a file or an LMS), with mean, median and how many got full
 * marks, zero, or an error; then the submissions that could not be graded and why, and every
 * student's row linking to their feedback page. Colours are the Okabe-Ito blue on white (a
 * contrast ratio above 4.5:1, safe for colour-blind readers) and every chart carries its numbers
 * as text too, so nothing depends on seeing the colour. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grade_batch.h"
#include "grading.h"
#include "strbuf.h"
#include "xalloc.h"

#define CHART_W 420
#define CHART_H 160
#define MARGIN_L 36
#define MARGIN_B 34
#define MARGIN_T 16
#define MAX_BINS 20

/* A student's folder name as a relative URL: unreserved bytes kept, the rest %XX. */
static void add_url_path(strbuf *b, const char *text) {
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-._~", *p)) {
            strbuf_addn(b, (const char *)p, 1);
        } else {
            char enc[4] = {'%', hex[*p >> 4], hex[*p & 15], '\0'};
            strbuf_add(b, enc);
        }
    }
}

/* ---- the distribution chart --------------------------------------------------------------- */

/* Whole points up to MAX_BINS-1: one bar per score; otherwise ten equal ranges. */
typedef struct bins {
    size_t count;
    double width;
    size_t height[MAX_BINS];
} bins;

static bins make_bins(double max_points) {
    bins b = {0};
    if (max_points > 0 && max_points == floor(max_points) && max_points < MAX_BINS) {
        b.count = (size_t)max_points + 1;
        b.width = 1;
    } else {
        b.count = 10;
        b.width = max_points > 0 ? max_points / 10 : 1;
    }
    return b;
}

static void bin_add(bins *b, double v) {
    double i = floor(v / b->width + 1e-9);
    if (i < 0) i = 0;
    if (i >= (double)b->count) i = (double)b->count - 1;
    b->height[(size_t)i]++;
}

static void bin_label(char *out, size_t size, const bins *b, size_t i) {
    if (b->width == 1 && b->count <= MAX_BINS) snprintf(out, size, "%zu", i);
    else snprintf(out, size, "%g–%g", (double)i * b->width, (double)(i + 1) * b->width);
}

static void add_chart(strbuf *out, const char *id, const char *title, const bins *b) {
    size_t tallest = 1;
    for (size_t i = 0; i < b->count; i++) tallest = b->height[i] > tallest ? b->height[i] : tallest;
    double plot_w = CHART_W - MARGIN_L - 8, plot_h = CHART_H - MARGIN_T - MARGIN_B;
    double slot = plot_w / (double)b->count;
    strbuf_addf(out, "<svg class=\"chart\" role=\"img\" aria-labelledby=\"%s-t\" width=\"%d\" height=\"%d\" "
                     "viewBox=\"0 0 %d %d\" xmlns=\"http://www.w3.org/2000/svg\">\n<title id=\"%s-t\">",
                id, CHART_W, CHART_H, CHART_W, CHART_H, id);
    grading_html_escape(out, title);
    strbuf_add(out, "</title>\n");
    strbuf_addf(out, "<line x1=\"%d\" y1=\"%g\" x2=\"%d\" y2=\"%g\" stroke=\"#444\"/>\n", MARGIN_L,
                MARGIN_T + plot_h, CHART_W - 8, MARGIN_T + plot_h);
    strbuf_addf(out, "<text x=\"4\" y=\"%d\" font-size=\"11\" fill=\"#222\">%zu</text>\n", MARGIN_T + 4, tallest);
    for (size_t i = 0; i < b->count; i++) {
        double h = plot_h * (double)b->height[i] / (double)tallest;
        double x = MARGIN_L + (double)i * slot + slot * 0.1, w = slot * 0.8;
        char label[48];
        bin_label(label, sizeof label, b, i);
        strbuf_addf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#0072B2\">"
                         "<title>%s points: %zu student%s</title></rect>\n",
                    x, MARGIN_T + plot_h - h, w, h, label, b->height[i], b->height[i] == 1 ? "" : "s");
        if (b->height[i])
            strbuf_addf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\" fill=\"#222\">%zu</text>\n",
                        x + w / 2, MARGIN_T + plot_h - h - 2, b->height[i]);
        strbuf_addf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\" fill=\"#222\">%s</text>\n",
                    x + w / 2, MARGIN_T + plot_h + 13, label);
    }
    strbuf_addf(out, "<text x=\"%g\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\" fill=\"#222\">points "
                     "(bar height: students)</text>\n</svg>\n",
                MARGIN_L + plot_w / 2, CHART_H - 4);
}

/* ---- the page ----------------------------------------------------------------------------- */

static const char page_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>Class overview</title>\n<style>\n"
    "body{font-family:system-ui,sans-serif;color:#222;background:#fff;margin:2em;max-width:72em}\n"
    "section.question{display:inline-block;vertical-align:top;width:440px;margin:0 2em 2em 0}\n"
    "table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:.2em .5em;text-align:left}\n"
    "td.num{text-align:right}.error{color:#a00000}a{color:#005a9c}\n"
    ".warning{border:2px solid #a00000;padding:.5em 1em;color:#a00000;font-weight:bold}\n"
    "</style>\n</head>\n<body>\n";

static void add_question_section(strbuf *b, const class_results *c, size_t q) {
    const question *qu = &c->questions[q];
    question_stats st = question_stats_of(c, q);
    bins bn = make_bins(qu->max_points);
    for (size_t i = 0; i < c->student_count; i++) {
        const student_result *s = &c->students[i];
        if (strcmp(s->status, "graded") == 0 && !isnan(s->points[q])) bin_add(&bn, s->points[q]);
    }
    strbuf_add(b, "<section class=\"question\">\n<h3>");
    grading_html_escape(b, qu->grade_id);
    strbuf_addf(b, " <small>(%g points)</small></h3>\n", qu->max_points);
    char *id = xasprintf("q%zu", q + 1);
    char *title = xasprintf("%s: number of students per score, %zu graded", qu->grade_id, st.graded);
    add_chart(b, id, title, &bn);
    free(title);
    free(id);
    if (st.graded)
        strbuf_addf(b, "<p>mean %.2f, median %g; full marks %zu, zero %zu, errors %zu (of %zu graded)</p>\n",
                    st.mean, st.median, st.full, st.zero, st.errors, st.graded);
    else
        strbuf_add(b, "<p>no submission graded yet</p>\n");
    strbuf_add(b, "</section>\n");
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void add_totals(strbuf *b, const class_results *c) {
    size_t graded = 0;
    double sum = 0, *scores = xcalloc(c->student_count + 1, sizeof *scores);
    bins bn = make_bins(c->max_score);
    for (size_t i = 0; i < c->student_count; i++) {
        const student_result *s = &c->students[i];
        if (strcmp(s->status, "graded") != 0) continue;
        bin_add(&bn, s->score);
        sum += s->score;
        scores[graded++] = s->score;
    }
    strbuf_addf(b, "<section class=\"question\">\n<h3>Total <small>(%g points)</small></h3>\n", c->max_score);
    char *title = xasprintf("Total score: number of students per score, %zu graded", graded);
    add_chart(b, "total", title, &bn);
    free(title);
    if (graded) {
        qsort(scores, graded, sizeof *scores, by_value);
        double median = graded % 2 ? scores[graded / 2] : (scores[graded / 2 - 1] + scores[graded / 2]) / 2;
        strbuf_addf(b, "<p>mean %.2f, median %g (of %zu graded)</p>\n", sum / (double)graded, median, graded);
    }
    free(scores);
    strbuf_add(b, "</section>\n");
}

static void add_errors(strbuf *b, const class_results *c) {
    strbuf_add(b, "<h2>Submissions not graded</h2>\n");
    size_t n = 0;
    for (size_t i = 0; i < c->student_count; i++) {
        const student_result *s = &c->students[i];
        if (strcmp(s->status, "graded") == 0) continue;
        strbuf_add(b, n++ ? "<li>" : "<ul>\n<li>");
        grading_html_escape(b, s->student);
        strbuf_add(b, ": <span class=\"error\">");
        grading_html_escape(b, s->status);
        if (s->error) {
            strbuf_add(b, ": ");
            grading_html_escape(b, s->error);
        }
        strbuf_add(b, "</span></li>\n");
    }
    strbuf_add(b, n ? "</ul>\n" : "<p>none: every submission was graded</p>\n");
}

/* Code that ran outside the sandbox could have read or changed anything the grader can: that
 * must be the first thing the instructor sees, with whose. */
static void add_sandbox_warning(strbuf *b, const class_results *c) {
    if (!c->unsandboxed) return;
    strbuf_addf(b, "<p class=\"warning\" id=\"unsandboxed\">Warning: %zu %s graded without a sandbox (it could "
                   "not start on this machine), so the students' code could read and write whatever the grader "
                   "can: ", c->unsandboxed, c->unsandboxed == 1 ? "submission was" : "submissions were");
    size_t n = 0;
    for (size_t i = 0; i < c->student_count; i++) {
        if (!c->students[i].unsandboxed) continue;
        if (n++) strbuf_add(b, ", ");
        grading_html_escape(b, c->students[i].student);
    }
    strbuf_add(b, ".</p>\n");
}

static void add_student_row(strbuf *b, const class_results *c, const student_result *s) {
    strbuf_add(b, "<tr><td>");
    if (s->has_feedback) {
        strbuf_add(b, "<a href=\"");
        add_url_path(b, s->student);
        strbuf_add(b, "/feedback.html\">");
        grading_html_escape(b, s->student);
        strbuf_add(b, "</a>");
    } else {
        grading_html_escape(b, s->student);
    }
    strbuf_add(b, "</td><td>");
    grading_html_escape(b, s->status);
    if (s->unsandboxed) strbuf_add(b, " <span class=\"error\">(no sandbox)</span>");
    if (s->has_score) strbuf_addf(b, "</td><td class=\"num\">%g / %g", s->score, s->max_score);
    else strbuf_add(b, "</td><td>");
    for (size_t q = 0; q < c->question_count; q++) {
        if (s->has_score && !isnan(s->points[q])) strbuf_addf(b, "</td><td class=\"num\">%g", s->points[q]);
        else strbuf_add(b, "</td><td>");
    }
    strbuf_add(b, "</td></tr>\n");
}

static void add_students(strbuf *b, const class_results *c) {
    strbuf_add(b, "<h2>Students</h2>\n<table>\n<thead><tr><th>student</th><th>status</th><th>score</th>");
    for (size_t q = 0; q < c->question_count; q++) {
        strbuf_add(b, "<th>");
        grading_html_escape(b, c->questions[q].grade_id);
        strbuf_add(b, "</th>");
    }
    strbuf_add(b, "</tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < c->student_count; i++) add_student_row(b, c, &c->students[i]);
    strbuf_add(b, "</tbody>\n</table>\n");
}

char *overview_html(const class_results *c, const char *source) {
    strbuf b = {0};
    size_t graded = 0;
    for (size_t i = 0; i < c->student_count; i++) graded += strcmp(c->students[i].status, "graded") == 0;
    strbuf_add(&b, page_head);
    const char *slash = strrchr(source, '/');
    strbuf_add(&b, "<h1>Class overview: ");
    grading_html_escape(&b, slash ? slash + 1 : source);
    strbuf_add(&b, "</h1>\n");
    add_sandbox_warning(&b, c);
    strbuf_addf(&b, "<p>%zu submission%s, %zu graded, %zu not graded. Charts and figures count the "
                    "graded submissions only.</p>\n<h2>Questions</h2>\n",
                c->student_count, c->student_count == 1 ? "" : "s", graded, c->student_count - graded);
    add_totals(&b, c);
    for (size_t q = 0; q < c->question_count; q++) add_question_section(&b, c, q);
    add_errors(&b, c);
    add_students(&b, c);
    strbuf_add(&b, "</body>\n</html>\n");
    return strbuf_take(&b);
}
