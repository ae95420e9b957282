/* report_json.c — results.json (conclab-grade/1, what `conclab grade DIR/` reads back) and
 * gradescope.json (the shape of a Gradescope autograder's results.json). */
#include "grading.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void grade_report_total(grade_report *r) {
    r->score = r->max_score = r->manual_pending = 0;
    for (size_t i = 0; i < r->n_items; i++) {
        r->score += r->items[i].points;
        r->max_score += r->items[i].max_points;
        if (r->items[i].pending) r->manual_pending += r->items[i].max_points;
    }
}

static json_t *number(double x) {
    /* whole numbers print as integers: 10 rather than 10.0 */
    if (x == (double)(json_int_t)x) return json_integer((json_int_t)x);
    return json_real(x);
}

static json_t *runs_json(const grade_item *it) {
    if (!it->has_runs) return json_null();
    return json_pack("{s:i, s:i, s:o, s:o}", "runs", it->runs, "failed", it->runs_failed, "first_failing_seed",
                     it->has_failing_seed ? json_integer((json_int_t)it->first_failing_seed) : json_null(), "replay",
                     it->replay ? json_string(it->replay) : json_null());
}

static json_t *item_json(const grade_item *it) {
    return json_pack("{s:s, s:s, s:s, s:o, s:o, s:s, s:s, s:s, s:b, s:s, s:o}", "grade_id", it->grade_id, "name",
                     it->name, "kind", it->kind, "points", number(it->points), "max_points", number(it->max_points),
                     "status", it->status, "message", it->message ? it->message : "", "output",
                     it->output ? it->output : "", "hidden", it->hidden, "restored", it->restored, "runs", runs_json(it));
}

json_t *report_results_json(const grade_report *r) {
    json_t *tests = json_array();
    for (size_t i = 0; i < r->n_items; i++) json_array_append_new(tests, item_json(&r->items[i]));
    json_t *out = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "schema", "conclab-grade/1",
                     "submission", r->submission, "source", r->source, "status", r->status, "error",
                     r->error ? json_string(r->error) : json_null(), "score", number(r->score), "max_score",
                     number(r->max_score), "manual_points_pending", number(r->manual_pending), "seconds",
                     json_real(round(r->seconds * 1000) / 1000), "seed", r->has_seed ? json_integer((json_int_t)r->seed) : json_null(),
                     "tests", tests);
    /* after the contract's keys: what the grader did besides scoring (a macro undone, a lost
     * state rebuilt), so every mark is explained */
    json_object_set_new(out, "notes", r->notes ? json_deep_copy(r->notes) : json_array());
    return out;
}

/* Gradescope's test: hidden tests are shown after the grades are published. A manual question
 * has no score yet: it is listed with 0 and says so. */
static json_t *gradescope_test(const grade_item *it) {
    char *output = NULL;
    const char *message = it->message ? it->message : "";
    const char *text = it->output ? it->output : "";
    size_t n = strlen(message) + strlen(text) + 2;
    output = malloc(n + 1);
    if (output) snprintf(output, n + 1, "%s\n%s", message, text);
    json_t *t = json_pack("{s:s, s:o, s:o, s:s, s:s, s:s}", "name", it->name, "score", number(it->points),
                          "max_score", number(it->max_points), "status",
                          strcmp(it->status, "passed") == 0 ? "passed" : "failed", "output", output ? output : message,
                          "visibility", it->hidden ? "after_published" : "visible");
    free(output);
    return t;
}

json_t *report_gradescope_json(const grade_report *r) {
    json_t *tests = json_array();
    for (size_t i = 0; i < r->n_items; i++) json_array_append_new(tests, gradescope_test(&r->items[i]));
    json_t *out = json_pack("{s:o, s:o, s:f, s:s, s:o}", "score", number(r->score), "max_score", number(r->max_score),
                            "execution_time", r->seconds, "visibility", "visible", "tests", tests);
    if (r->error) json_object_set_new(out, "output", json_string(r->error));
    else if (r->manual_pending > 0)
        json_object_set_new(out, "output", json_sprintf("%g points need manual grading and are not in this score yet",
                                                        r->manual_pending));
    return out;
}
