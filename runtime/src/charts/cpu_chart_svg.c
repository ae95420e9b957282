/* cpu_chart_svg.c — CPU use drawn like a CPU meter (cpu_chart.h).
 *
 * Each row is a filled step line: a sample is the mean use over the interval that ends at its
 * time, so it is drawn flat over that interval, not as a point. Samples narrower than a pixel
 * (a minute at 50 ms on 700 px) are averaged, weighted by time, into pixel-wide steps. */
#include "cpu_chart.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "svg.h"
#include "timeline_svg.h"

#define CORE_ROWS_TARGET_HEIGHT 180.0
#define TALLEST_CORE_ROW 28.0
#define SMALLEST_CORE_ROW 12.0
#define PROCESS_ROW_HEIGHT 48.0
#define ROW_GAP 3.0
#define HEADER_HEIGHT 18.0
#define PLOT_LEFT 190
#define RIGHT_MARGIN 28
#define CORE_COLOR CL_SVG_BLUE
#define PROCESS_COLOR CL_SVG_RED

/* Sample i of one row: a core's share (0..1) or the process's cores (0..n_cores). */
static double sample(const tl_cpu *c, int core, size_t i) {
    double v = core >= 0 ? c->per_core[i * (size_t)c->n_cores + (size_t)core] : c->process[i];
    return isfinite(v) && v > 0 ? v : 0;
}

static double clamp(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

typedef struct row {
    int core;            /* -1: the process */
    double top, height;
    double full;         /* the value at the top of the row: 1 for a core, n_cores for the process */
} row;

static double row_y(const row *r, double v) { return r->top + r->height * (1 - clamp(v / r->full, 0, 1)); }

static void add_point(cl_text *t, char command, double x, double y) {
    char a[48], b[48];
    cl__text_addf(t, "%c%s,%s ", command, cl__svg_fixed(a, sizeof a, x, 2), cl__svg_fixed(b, sizeof b, y, 2));
}

/* The filled step line of one row, with samples averaged into steps at least a pixel wide. */
static void draw_area(cl_text *t, const tl_cpu *c, const row *r, const cl__scale *x, double origin) {
    double bottom = r->top + r->height;
    double limit = x->v1;
    cl__svg_begin(t, "path");
    cl__text_add(t, " d=\"", 4);
    double step_start = clamp(c->times[0] - origin, 0, limit), weighted = 0;
    add_point(t, 'M', cl__scale_at(x, step_start), bottom);
    for (size_t i = 1; i < c->n_samples; i++) {
        double a = clamp(c->times[i - 1] - origin, 0, limit), b = clamp(c->times[i] - origin, 0, limit);
        weighted += sample(c, r->core, i) * (b - a);
        int last = i + 1 == c->n_samples;
        if (!last && cl__scale_at(x, b) - cl__scale_at(x, step_start) < 1) continue;
        double mean = b > step_start ? weighted / (b - step_start) : 0;
        add_point(t, 'L', cl__scale_at(x, step_start), row_y(r, mean));
        add_point(t, 'L', cl__scale_at(x, b), row_y(r, mean));
        step_start = b;
        weighted = 0;
    }
    add_point(t, 'L', cl__scale_at(x, step_start), bottom);
    cl__text_add(t, "Z\"", 2);
    cl__svg_attr(t, "fill", r->core >= 0 ? CORE_COLOR : PROCESS_COLOR);
    cl__svg_attr(t, "fill-opacity", "0.45");
    cl__svg_attr(t, "stroke", r->core >= 0 ? CORE_COLOR : PROCESS_COLOR);
    cl__svg_attr(t, "stroke-width", "1");
    cl__svg_end_empty(t);
}

/* Time-weighted mean and the peak of one row, for its hover text. */
static void row_summary(const tl_cpu *c, int core, double *mean, double *peak) {
    double weighted = 0, span = 0;
    *peak = 0;
    for (size_t i = 1; i < c->n_samples; i++) {
        double dt = c->times[i] - c->times[i - 1], v = sample(c, core, i);
        if (dt > 0) weighted += v * dt, span += dt;
        if (v > *peak) *peak = v;
    }
    *mean = span > 0 ? weighted / span : 0;
}

static void draw_row(cl_text *t, const tl_cpu *c, const row *r, const cl__scale *x, double origin, double label_x) {
    char label[64], title[160], mean_text[48], peak_text[48], core[32], average[64];
    double mean, peak;
    row_summary(c, r->core, &mean, &peak);
    if (r->core >= 0) {
        snprintf(label, sizeof label, "cpu%d", r->core);
        snprintf(title, sizeof title, "cpu%d: %s %% busy on average, %s %% at most", r->core,
                 cl__svg_fixed(mean_text, sizeof mean_text, 100 * mean, 0), cl__svg_fixed(peak_text, sizeof peak_text, 100 * peak, 0));
        snprintf(average, sizeof average, "avg %s %%", mean_text);
    } else {
        snprintf(label, sizeof label, "this process + children");
        snprintf(title, sizeof title, "this process and its children: %s cores busy on average, %s at most",
                 cl__svg_fixed(mean_text, sizeof mean_text, mean, 2), cl__svg_fixed(peak_text, sizeof peak_text, peak, 2));
        snprintf(average, sizeof average, "avg %s core%s", mean_text, mean == 1 ? "" : "s");
    }
    snprintf(core, sizeof core, "%d", r->core);
    cl__svg_begin(t, "g");
    cl__svg_attr(t, "class", r->core >= 0 ? "cpu-row" : "cpu-row process");
    if (r->core >= 0) cl__svg_attr(t, "data-core", core);
    cl__svg_end_open(t);
    cl__svg_title(t, title);
    cl__text_add(t, "\n", 1);
    double size = r->height - 2 < 11 ? r->height - 2 : 11;
    double baseline = r->top + r->height / 2 + size * 0.35;
    if (r->core >= 0) {
        cl__svg_label(t, "cpu-label", label_x, baseline, "start", size, NULL, CL_SVG_INK, label);
        cl__svg_label(t, "cpu-average", x->p0 - 8, baseline, "end", size - 1, NULL, "#555555", average);
    } else { /* a longer name: the average goes under it */
        cl__svg_label(t, "cpu-label", label_x, baseline - 7, "start", size, NULL, CL_SVG_INK, label);
        cl__svg_label(t, "cpu-average", label_x, baseline + 8, "start", size - 1, NULL, "#555555", average);
    }
    cl__svg_rect(t, "meter", x->p0, r->top, x->p1 - x->p0, r->height, "#F3F3F3", NULL);
    if (r->core < 0) /* one faint line per whole core, so "2 cores busy" can be read off */
        for (int k = 1; k < c->n_cores; k++)
            cl__svg_line(t, x->p0, row_y(r, k), x->p1, row_y(r, k), "#DDDDDD", 1);
    draw_area(t, c, r, x, origin);
    cl__svg_close(t, "g");
}

static void draw_header(cl_text *t, const tl_cpu *c, const cl__scale *x, double label_x, double y) {
    char scale[64];
    cl__svg_label(t, "cpu-header", label_x, y + 12, "start", 11, "bold", "#555555", "CPU use");
    cl__svg_label(t, NULL, x->p0, y + 12, "start", 10, NULL, "#555555",
                  "per core: empty = idle, full = 100 % busy");
    snprintf(scale, sizeof scale, "this process: full = all %d cores", c->n_cores);
    cl__svg_label(t, NULL, x->p1, y + 12, "end", 10, NULL, "#555555", scale);
}

double cl__cpu_rows_draw(cl_text *t, const tl_cpu *c, const cl__scale *x, double origin, double label_x, double y) {
    if (!c || c->n_samples < 2 || c->n_cores <= 0) return 0;
    double top = y;
    draw_header(t, c, x, label_x, y);
    y += HEADER_HEIGHT;
    double h = clamp(CORE_ROWS_TARGET_HEIGHT / c->n_cores, SMALLEST_CORE_ROW, TALLEST_CORE_ROW);
    for (int core = 0; core < c->n_cores; core++) {
        row r = {core, y, h - ROW_GAP, 1};
        draw_row(t, c, &r, x, origin, label_x);
        y += h;
    }
    y += ROW_GAP;
    row process = {-1, y, PROCESS_ROW_HEIGHT, c->n_cores};
    draw_row(t, c, &process, x, origin, label_x);
    return y + PROCESS_ROW_HEIGHT + ROW_GAP - top;
}

static double mean_interval(const tl_cpu *c) {
    return c->n_samples > 1 ? (c->times[c->n_samples - 1] - c->times[0]) / (double)(c->n_samples - 1) : 0;
}

/* Why the steps wobble: the kernel counts CPU time in clock ticks, so a sample is only as good as
 * a tick is short next to the interval. */
static const char *tick_note(char *out, size_t size) {
    long ticks = sysconf(_SC_CLK_TCK);
    char tick[48];
    snprintf(out, size, "The kernel counts CPU time in %s ticks: each step is good to about one tick.",
             cl__format_duration(tick, sizeof tick, ticks > 0 ? 1.0 / (double)ticks : 0.01));
    return out;
}

char *cl__cpu_chart_svg(const tl_cpu *c, const char *title, double width) {
    if (width <= 0) width = CL_TIMELINE_DEFAULT_WIDTH;
    if (width < 320) width = 320;
    int usable = c && c->n_samples >= 2 && c->n_cores > 0;
    double duration = usable ? c->times[c->n_samples - 1] - c->times[0] : 0;
    cl__axis axis;
    cl__time_unit unit;
    cl__axis_nice(&axis, 0, duration > 0 ? duration : 1e-3, 8, 0);
    cl__time_unit_for(&unit, axis.hi, axis.step);
    cl__scale x = {0, axis.hi, PLOT_LEFT, width - RIGHT_MARGIN};

    cl_text rows = {0}, out = {0};
    double y = 40;
    if (usable) y += cl__cpu_rows_draw(&rows, c, &x, c->times[0], 12, y);
    else {
        cl__svg_label(&rows, "empty", PLOT_LEFT, y + 20, "start", 12, NULL, "#555555", "No CPU samples.");
        y += 30;
    }
    cl__axis_draw_time(&out, &axis, &unit, &x, 40, y + 4); /* written first: behind the rows */
    char length[48], every[48], note[256], ticks[160];
    snprintf(note, sizeof note, "Sampled %s: every %s from /proc/stat (per core) and /proc/PID/stat (this process and "
             "its children); %d cores.", cl__format_duration(length, sizeof length, duration),
             cl__format_duration(every, sizeof every, usable ? mean_interval(c) : 0), usable ? c->n_cores : 0);
    cl__svg_label(&rows, "note", 12, y + 4 + 44 + 12, "start", 11, NULL, "#555555", note);
    cl__svg_label(&rows, "note", 12, y + 4 + 44 + 27, "start", 11, NULL, "#555555", tick_note(ticks, sizeof ticks));
    y += 4 + 44 + 39;

    return cl__svg_picture(width, y, "conclab-cpu", 12, title ? title : "CPU use", &out, &rows);
}
