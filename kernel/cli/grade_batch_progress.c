/* grade_batch_progress.c — what the instructor watches while a class is graded.
 *
 * On a terminal: one bar redrawn in place (done/total, errors, elapsed, ETA, who is being
 * graded), with a line of its own for each submission that failed, so errors stay on screen.
 * Elsewhere (CI, a log file, a Slurm job's output): one plain line per submission. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "grade_batch.h"
#include "monotonic.h"
#include "xalloc.h"

#define BAR_WIDTH 24

struct progress {
    size_t total, done, errors;
    double started;
    bool bar;     /* a terminal: redraw in place */
    bool quiet;   /* only errors */
    bool drawn;   /* the bar is on the current line */
    const char *current; /* a student being graded, for the bar */
};

progress *progress_start(size_t total, bool quiet) {
    progress *p = xcalloc(1, sizeof *p);
    p->total = total;
    p->started = monotonic_seconds();
    p->bar = isatty(STDERR_FILENO) && !quiet;
    p->quiet = quiet;
    return p;
}

static void clock_text(char *out, size_t size, double seconds) {
    long s = (long)(seconds + 0.5);
    if (s >= 3600) snprintf(out, size, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else snprintf(out, size, "%ld:%02ld", s / 60, s % 60);
}

static void clear_bar(progress *p) {
    if (p->drawn) fputs("\r\033[K", stderr);
    p->drawn = false;
}

static void draw_bar(progress *p) {
    if (!p->bar) return;
    double elapsed = monotonic_seconds() - p->started;
    char since[64], eta[64] = "?";
    clock_text(since, sizeof since, elapsed);
    if (p->done > 0 && p->done < p->total)
        clock_text(eta, sizeof eta, elapsed / (double)p->done * (double)(p->total - p->done));
    else if (p->done == p->total)
        snprintf(eta, sizeof eta, "0:00");
    char bar[BAR_WIDTH + 1];
    size_t filled = p->total ? p->done * BAR_WIDTH / p->total : BAR_WIDTH;
    for (size_t i = 0; i < BAR_WIDTH; i++) bar[i] = i < filled ? '#' : '.';
    bar[BAR_WIDTH] = '\0';
    fprintf(stderr, "\r\033[K[%s] %zu/%zu  errors %zu  elapsed %s  ETA %s%s%.30s", bar, p->done, p->total,
            p->errors, since, eta, p->current ? "  grading " : "", p->current ? p->current : "");
    fflush(stderr);
    p->drawn = true;
}

/* A line that stays: above the bar on a terminal. */
static void say(progress *p, const char *line) {
    clear_bar(p);
    fprintf(stderr, "%s\n", line);
    draw_bar(p);
}

void progress_skipped(progress *p, const submission *sub, const char *why) {
    p->done++;
    if (sub->state == SUBMISSION_BROKEN) p->errors++;
    if (p->quiet && sub->state != SUBMISSION_BROKEN) return;
    char *line = xasprintf("[%zu/%zu] %s: %s", p->done, p->total, sub->student, why);
    say(p, line);
    free(line);
}

void progress_note(progress *p, const submission *sub, const char *what) {
    if (p->quiet) return;
    char *line = xasprintf("%s: %s", sub->student, what);
    say(p, line);
    free(line);
}

void progress_started(progress *p, const submission *sub) {
    p->current = sub->student;
    draw_bar(p);
}

/* "7.5/10", "unreadable: not JSON", from the report the grader wrote. */
static char *report_text(const char *outdir, const submission *sub) {
    char *path = student_file(outdir, sub->student, "results.json");
    json_t *j = json_load_file(path, 0, NULL);
    free(path);
    if (!j) return xstrdup("graded, but its results.json cannot be read");
    const char *status = json_string_value(json_object_get(j, "status"));
    const char *error = json_string_value(json_object_get(j, "error"));
    char *text = status && strcmp(status, "graded") != 0
                     ? xasprintf("%s: %s", status, error ? error : "no reason given")
                     : xasprintf("%g/%g", json_number_value(json_object_get(j, "score")),
                                 json_number_value(json_object_get(j, "max_score")));
    json_decref(j);
    return text;
}

void progress_finished(progress *p, const grading_outcome *o, const char *outdir) {
    p->done++;
    if (p->current == o->sub->student) p->current = NULL;
    char *what = o->error ? xasprintf("error: %s", o->error) : report_text(outdir, o->sub);
    bool failed = o->error || o->exit_status != 0;
    if (failed) p->errors++;
    if (!p->bar && (!p->quiet || failed)) {
        fprintf(stderr, "[%zu/%zu] %s: %s (%.1f s)\n", p->done, p->total, o->sub->student, what, o->seconds);
        fflush(stderr);
    } else if (p->bar && failed) {
        char *line = xasprintf("%s: %s", o->sub->student, what);
        say(p, line);
        free(line);
    }
    free(what);
    draw_bar(p);
}

void progress_tick(progress *p) {
    draw_bar(p);
}

void progress_end(progress *p) {
    if (p->drawn) fputc('\n', stderr);
    free(p);
}
