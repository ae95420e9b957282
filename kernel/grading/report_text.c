/* report_text.c — results.csv (one row per question), junit.xml (one testcase per question) and
 * feedback.html (for the student: each question's points, status, message and output, never a
 * test's source: hidden tests stay hidden). Everything taken from the notebook is escaped. */
#include "grading.h"

#include <stdio.h>
#include <string.h>

#include "strbuf.h"

/* RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled. */
static void csv_field(strbuf *b, const char *text) {
    if (!text) text = "";
    if (!strpbrk(text, ",\"\r\n")) {
        strbuf_add(b, text);
        return;
    }
    strbuf_add(b, "\"");
    for (const char *p = text; *p; p++) strbuf_add(b, *p == '"' ? "\"\"" : (char[]){*p, '\0'});
    strbuf_add(b, "\"");
}

char *report_csv(const grade_report *r) {
    strbuf b = {0};
    strbuf_add(&b, "grade_id,name,kind,points,max_points,status,restored,hidden,message\r\n");
    for (size_t i = 0; i < r->n_items; i++) {
        const grade_item *it = &r->items[i];
        csv_field(&b, it->grade_id);
        strbuf_add(&b, ",");
        csv_field(&b, it->name);
        strbuf_addf(&b, ",%s,%g,%g,%s,%s,%s,", it->kind, it->points, it->max_points, it->status, it->restored,
                    it->hidden ? "yes" : "no");
        csv_field(&b, it->message);
        strbuf_add(&b, "\r\n");
    }
    return strbuf_take(&b);
}

void grading_html_escape(strbuf *b, const char *text) {
    for (const char *p = text ? text : ""; *p; p++) {
        switch (*p) {
        case '<': strbuf_add(b, "&lt;"); break;
        case '>': strbuf_add(b, "&gt;"); break;
        case '&': strbuf_add(b, "&amp;"); break;
        case '"': strbuf_add(b, "&quot;"); break;
        case '\'': strbuf_add(b, "&#39;"); break;
        default:
            if ((unsigned char)*p < 0x20 && *p != '\n' && *p != '\t') break;
            strbuf_addn(b, p, 1);
        }
    }
}

static int count_status(const grade_report *r, const char *const *statuses) {
    int n = 0;
    for (size_t i = 0; i < r->n_items; i++)
        for (const char *const *s = statuses; *s; s++)
            if (strcmp(r->items[i].status, *s) == 0) n++;
    return n;
}

static const char *const FAILURES[] = {"failed", "partial", NULL};
static const char *const ERRORS[] = {"error", "timeout", "crashed", NULL};
static const char *const SKIPPED[] = {"manual", NULL};

static void junit_case(strbuf *b, const grade_report *r, const grade_item *it) {
    strbuf_add(b, "    <testcase classname=\"");
    grading_html_escape(b, r->submission);
    strbuf_add(b, "\" name=\"");
    grading_html_escape(b, it->name);
    strbuf_add(b, "\">\n");
    const char *tag = NULL;
    for (const char *const *s = FAILURES; *s; s++) if (strcmp(it->status, *s) == 0) tag = "failure";
    for (const char *const *s = ERRORS; *s; s++) if (strcmp(it->status, *s) == 0) tag = "error";
    if (strcmp(it->status, "manual") == 0) tag = "skipped";
    if (tag) {
        strbuf_addf(b, "      <%s type=\"%s\" message=\"", tag, it->status);
        grading_html_escape(b, it->message);
        strbuf_addf(b, "\">%g of %g points\n", it->points, it->max_points);
        grading_html_escape(b, it->output);
        strbuf_addf(b, "</%s>\n", tag);
    }
    strbuf_add(b, "      <system-out>");
    grading_html_escape(b, it->output);
    strbuf_add(b, "</system-out>\n    </testcase>\n");
}

char *report_junit(const grade_report *r) {
    strbuf b = {0};
    strbuf_add(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"");
    grading_html_escape(&b, r->submission);
    strbuf_addf(&b, "\" tests=\"%zu\" failures=\"%d\" errors=\"%d\" skipped=\"%d\" time=\"%.3f\">\n", r->n_items,
                count_status(r, FAILURES), count_status(r, ERRORS), count_status(r, SKIPPED), r->seconds);
    for (size_t i = 0; i < r->n_items; i++) junit_case(&b, r, &r->items[i]);
    strbuf_add(&b, "  </testsuite>\n</testsuites>\n");
    return strbuf_take(&b);
}

static const char STYLE[] =
    "body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
    "section{border:1px solid #ccc;border-radius:4px;margin:1em 0;padding:.5em 1em}"
    "pre{background:#f6f6f6;padding:.5em;overflow-x:auto;white-space:pre-wrap}"
    ".passed{color:#080}.failed,.error,.timeout,.crashed{color:#b00}.partial{color:#a60}.manual{color:#555}";

char *report_html(const grade_report *r) {
    strbuf b = {0};
    strbuf_add(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Feedback: ");
    grading_html_escape(&b, r->submission);
    strbuf_addf(&b, "</title><style>%s</style></head><body>\n<h1>Feedback: ", STYLE);
    grading_html_escape(&b, r->submission);
    strbuf_addf(&b, "</h1>\n<p>Score: <b>%g</b> of %g", r->score, r->max_score);
    if (r->manual_pending > 0) strbuf_addf(&b, " (%g points still to be graded by hand)", r->manual_pending);
    strbuf_add(&b, "</p>\n");
    if (r->error) {
        strbuf_add(&b, "<p class=\"error\">The submission could not be graded: ");
        grading_html_escape(&b, r->error);
        strbuf_add(&b, "</p>\n");
    }
    for (size_t i = 0; i < r->n_items; i++) {
        const grade_item *it = &r->items[i];
        strbuf_add(&b, "<section><h2>");
        grading_html_escape(&b, it->name);
        strbuf_addf(&b, "</h2>\n<p>%g of %g points: <span class=\"%s\">%s</span>", it->points, it->max_points,
                    it->status, it->status);
        if (strcmp(it->restored, "unchanged") != 0)
            strbuf_addf(&b, " (this cell was %s in the submission; the original was used)", it->restored);
        strbuf_add(&b, "</p>\n<p>");
        grading_html_escape(&b, it->message);
        strbuf_add(&b, "</p>\n");
        if (it->output && it->output[0]) {
            strbuf_add(&b, "<pre>");
            grading_html_escape(&b, it->output);
            strbuf_add(&b, "</pre>\n");
        }
        strbuf_add(&b, "</section>\n");
    }
    strbuf_add(&b, "</body></html>\n");
    return strbuf_take(&b);
}
