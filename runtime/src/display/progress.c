/* progress.c — cl_progress (conclab/display.h): a bar that any thread or forked process of the
 * cell advances. It lives in shared memory so a child's steps count too; a redraw happens at
 * most every REDRAW_SECONDS, by whichever advance claims the slot first.
 * In a notebook it is an SVG picture updated in place; on a terminal a line redrawn with \r;
 * elsewhere (a file, a pipe) only the final line is written. */
#include "conclab/display.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "conclab/clock.h"
#include "bundle.h"
#include "host_internal.h"
#include "report.h"

#define REDRAW_SECONDS 0.1
#define BAR_CELLS 30

struct cl_progress {
    long total;
    long done;               /* atomics only */
    long long next_draw_ns;  /* atomics only: the earliest time of the next redraw */
    double started;
    cl_display_id display;   /* in a notebook; atomics only */
    int finished;            /* atomics only: cl_progress_done drew the last state; a process
                                forked earlier, which still has the page, draws no more */
    int terminal;            /* drawing on a terminal with \r */
    char label[96];
};

static long long now_ns(void) { return (long long)(cl_now() * 1e9); }

static void format_rate(char *out, size_t size, const cl_progress *p, long done, double elapsed) {
    double rate = elapsed > 0 ? done / elapsed : 0;
    snprintf(out, size, "%ld/%ld [%.1f s, %.3g/s]", done, p->total, elapsed, rate);
}

static double fraction(const cl_progress *p, long done) {
    if (p->total <= 0) return 1;
    double f = (double)done / (double)p->total;
    return f < 0 ? 0 : f > 1 ? 1 : f;
}

/* label |██████░░░░| 60% 6/10 [1.2 s, 5/s] */
static void text_line(char *out, size_t size, const cl_progress *p, long done, double elapsed) {
    char bar[BAR_CELLS * 3 + 1], rate[96];
    int full = (int)(fraction(p, done) * BAR_CELLS + 0.5);
    size_t n = 0;
    for (int i = 0; i < BAR_CELLS; i++) {
        const char *cell = i < full ? "\xe2\x96\x88" : "\xe2\x96\x91"; /* █ ░ */
        memcpy(bar + n, cell, 3);
        n += 3;
    }
    bar[n] = '\0';
    format_rate(rate, sizeof rate, p, done, elapsed);
    snprintf(out, size, "%s%s|%s| %3.0f%% %s", p->label, p->label[0] ? " " : "", bar, 100 * fraction(p, done), rate);
}

static void svg_escape(cl_text *t, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '<': cl__text_add(t, "&lt;", 4); break;
        case '>': cl__text_add(t, "&gt;", 4); break;
        case '&': cl__text_add(t, "&amp;", 5); break;
        default: cl__text_add(t, s, 1);
        }
    }
}

/* The picture: label, bar, percentage and rate, in the timeline's blue. */
static char *svg_bar(const cl_progress *p, long done, double elapsed, int finished) {
    char rate[96];
    format_rate(rate, sizeof rate, p, done, elapsed);
    double w = 320 * fraction(p, done);
    cl_text t = {0};
    cl__text_addf(&t, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"620\" height=\"26\" "
                      "font-family=\"sans-serif\" font-size=\"13\">"
                      "<text x=\"0\" y=\"17\">");
    svg_escape(&t, p->label);
    cl__text_addf(&t, "</text><rect x=\"160\" y=\"5\" width=\"320\" height=\"16\" fill=\"#e8e8e8\" stroke=\"#999\"/>"
                      "<rect x=\"160\" y=\"5\" width=\"%.1f\" height=\"16\" fill=\"%s\"/>"
                      "<text x=\"488\" y=\"17\">%.0f%% %s</text></svg>",
                  w, finished ? "#228833" : "#4477aa", 100 * fraction(p, done), rate);
    return t.failed ? NULL : t.data;
}

/* The first drawer shows the bar; the others update it (a display made twice by racing drawers
 * would leave a stale bar behind: the loser's becomes an update instead). */
static void show(cl_progress *p, const cl_mime *items, int count) {
    cl_display_id id = __atomic_load_n(&p->display, __ATOMIC_ACQUIRE);
    if (id) {
        cl_display_update(id, items, count);
        return;
    }
    cl_display_id made = cl_display(items, count), none = 0;
    if (made && !__atomic_compare_exchange_n(&p->display, &none, made, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        cl_display_update(none, items, count);
}

static void draw(cl_progress *p, int finished) {
    long done = __atomic_load_n(&p->done, __ATOMIC_RELAXED);
    double elapsed = cl_now() - p->started;
    char line[512];
    text_line(line, sizeof line, p, done, elapsed);
    if (cl__host_can_display()) {
        char *svg = svg_bar(p, done, elapsed, finished);
        if (!svg) return;
        cl_mime items[2] = {{"image/svg+xml", svg, 0}, {"text/plain", line, 0}};
        show(p, items, 2);
        free(svg);
    } else if (p->terminal) {
        fprintf(stderr, "\r%s%s", line, finished ? "\n" : "");
        fflush(stderr);
    } else if (finished) {
        printf("%s\n", line);
        fflush(stdout);
    }
}

cl_progress *cl_progress_new(const char *label, long total) {
    cl_progress *p = mmap(NULL, sizeof *p, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        cl_report("cl_progress_new", "out of memory");
        return NULL;
    }
    memset(p, 0, sizeof *p);
    p->total = total;
    p->started = cl_now();
    p->terminal = !cl__host_can_display() && isatty(STDERR_FILENO);
    snprintf(p->label, sizeof p->label, "%s", label ? label : "");
    draw(p, 0);
    p->next_draw_ns = now_ns() + (long long)(REDRAW_SECONDS * 1e9);
    return p;
}

void cl_progress_advance(cl_progress *p, long steps) {
    if (!p) return;
    __atomic_add_fetch(&p->done, steps, __ATOMIC_RELAXED);
    if (__atomic_load_n(&p->finished, __ATOMIC_ACQUIRE)) return;
    long long now = now_ns(), due = __atomic_load_n(&p->next_draw_ns, __ATOMIC_RELAXED);
    if (now < due) return;
    /* one redraw per slot: the advance that moves the slot on draws */
    long long next = now + (long long)(REDRAW_SECONDS * 1e9);
    if (__atomic_compare_exchange_n(&p->next_draw_ns, &due, next, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) draw(p, 0);
}

void cl_progress_done(cl_progress *p) {
    if (!p) return;
    __atomic_store_n(&p->finished, 1, __ATOMIC_RELEASE);
    draw(p, 1);
    munmap(p, sizeof *p);
}
