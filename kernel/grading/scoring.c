/* scoring.c — a question's points from how its cell ran, by nbgrader's rules: a test cell that
 * raises an error gets 0; one whose value (execute_result) is a number gets that many points,
 * clamped to [0, points]; otherwise full points. Unlike nbgrader, what the cell wrote to stderr
 * (compiler warnings, the student's own diagnostics) does not fail it unless the instructor asks
 * (--stderr-fails, or the notebook's metadata). */
#include "grading.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* A status for the way a cell failed: the engine's error names say what happened. */
static const char *status_of_error(const char *ename) {
    if (!ename) return "error";
    if (strcmp(ename, "TimeoutError") == 0 || strcmp(ename, "Interrupted") == 0) return "timeout";
    if (strncmp(ename, "SIG", 3) == 0 || strcmp(ename, "ExecutorDied") == 0 || strcmp(ename, "ProcessLimitExceeded") == 0 ||
        strcmp(ename, "MemoryLimitExceeded") == 0 || strcmp(ename, "OutputLimitExceeded") == 0)
        return "crashed";
    if (strcmp(ename, "CheckFailed") == 0 || strcmp(ename, "ChaosFailure") == 0 || strcmp(ename, "DataRace") == 0 ||
        strcmp(ename, "ThreadSanitizer") == 0)
        return "failed";
    return "error";
}

/* The first line of text, at most 300 bytes (a message is one line). */
static char *one_line(const char *prefix, const char *text) {
    size_t n = text ? strcspn(text, "\n") : 0;
    if (n > 300) n = 300;
    return xasprintf("%s%.*s%s", prefix, (int)n, text ? text : "", text && text[n] && n == 300 ? "…" : "");
}

static void set(grade_item *item, double points, const char *status, char *message) {
    item->points = points;
    item->status = status;
    free(item->message);
    item->message = message;
}

/* nbgrader's partial credit: a value that reads whole as a number. */
static bool numeric_value(const char *text, double *out) {
    if (!text) return false;
    char *end;
    double v = strtod(text, &end);
    while (*end == ' ' || *end == '\n' || *end == '\t') end++;
    if (end == text || *end || !isfinite(v)) return false;
    *out = v;
    return true;
}

static void score_test(grade_item *item, const cell_result *r, const scoring_rules *rules) {
    double max = item->max_points, value;
    if (!r->ok) {
        char *prefix = xasprintf("%s: ", r->ename ? r->ename : "Error");
        set(item, 0, status_of_error(r->ename), one_line(prefix, r->evalue));
        free(prefix);
    } else if (item->lockcheck && r->lock_order_report) {
        set(item, 0, "failed", xstrdup("lock-order checking saw locks taken in contradicting orders (a possible "
                                       "deadlock): this question requires none"));
    } else if (rules->stderr_fails && r->wrote_stderr) {
        set(item, 0, "failed", xstrdup("the cell wrote to stderr, and this assignment counts that as a failure"));
    } else if (numeric_value(r->result_text, &value)) {
        double points = value < 0 ? 0 : value > max ? max : value;
        const char *status = points >= max ? "passed" : points > 0 ? "partial" : "failed";
        set(item, points, status, xasprintf("the test gave %g of %g points", points, max));
    } else {
        set(item, max, "passed", xstrdup("passed"));
    }
}

void scoring_score(grade_item *item, const cell_result *r, const scoring_rules *rules) {
    item->pending = false;
    if (strcmp(item->kind, "test") == 0) {
        score_test(item, r, rules);
    } else if (!r->ok) {  /* an answer that does not even run earns nothing, as in nbgrader */
        char *prefix = xasprintf("%s: ", r->ename ? r->ename : "Error");
        set(item, 0, status_of_error(r->ename), one_line(prefix, r->evalue));
        free(prefix);
    } else {
        scoring_manual(item, false);
    }
}

void scoring_manual(grade_item *item, bool unanswered) {
    if (unanswered) {
        item->pending = false;
        set(item, 0, "failed", xstrdup("not answered (left as released)"));
        return;
    }
    item->pending = true;
    set(item, 0, "manual", xasprintf("needs manual grading (%g points, not yet in the score)", item->max_points));
}
