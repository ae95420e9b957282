/* bars_svg.c — cl_chart_bars (conclab/chart.h): timings over several trials as a bar chart.
 *
 * Bars lie horizontally, so labels such as "event loop" read without tilting the head. Each bar
 * ends at the median of its trials (one slow run, the first one warming caches, does not move
 * it), a whisker spans the fastest to the slowest trial and every trial is a dot: the spread is
 * part of the answer, and a class should see it. The value axis starts at 0, so lengths compare. */
#include "conclab/chart.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axis.h"
#include "report.h"
#include "svg.h"

#define WIDTH 900.0
#define LABEL_X 12.0
#define RIGHT_MARGIN 150.0  /* room for the value written after the longest bar, at least */
#define TITLE_HEIGHT 40.0
#define LEGEND_HEIGHT 22.0
#define BAR_HEIGHT 20.0
#define BAR_GAP 4.0
#define GROUP_GAP 14.0
#define AXIS_HEIGHT 40.0
#define MOST_SERIES 32

/* One bar's trials, summarised. */
typedef struct stats {
    double min, median, max;
    int n;        /* finite trials */
    int skipped;  /* NaN or infinite trials, left out */
} stats;

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int summarise(const cl_bar *bar, stats *s) {
    memset(s, 0, sizeof *s);
    if (!bar->values || bar->count <= 0) return 0;
    double *sorted = malloc((size_t)bar->count * sizeof *sorted);
    if (!sorted) return -1;
    for (int i = 0; i < bar->count; i++) {
        if (isfinite(bar->values[i])) sorted[s->n++] = bar->values[i];
        else s->skipped++;
    }
    qsort(sorted, (size_t)s->n, sizeof *sorted, by_value);
    if (s->n > 0) {
        s->min = sorted[0];
        s->max = sorted[s->n - 1];
        s->median = s->n % 2 ? sorted[s->n / 2] : (sorted[s->n / 2 - 1] + sorted[s->n / 2]) / 2;
    }
    free(sorted);
    return 0;
}

static const char *label_of(const cl_bar *bar) { return bar->label ? bar->label : "?"; }
static const char *series_of(const cl_bar *bar) { return bar->series ? bar->series : ""; }

/* Index of the first bar with the same label (for groups) or series (for colours). */
static int first_with_label(const cl_bar *bars, int i) {
    for (int j = 0; j < i; j++)
        if (strcmp(label_of(&bars[j]), label_of(&bars[i])) == 0) return j;
    return i;
}

static int series_index(const cl_bar *bars, int i) {
    int distinct = 0;
    for (int j = 0; j < i; j++) {
        int seen_before = 0;
        for (int k = 0; k < j; k++)
            if (strcmp(series_of(&bars[k]), series_of(&bars[j])) == 0) seen_before = 1;
        if (seen_before) continue;
        if (strcmp(series_of(&bars[j]), series_of(&bars[i])) == 0) return distinct;
        distinct++;
    }
    return distinct;
}

typedef struct chart {
    const char *unit;
    const cl_bar *bars;
    int count;
    stats *stats;
    cl__axis axis;
    cl__scale x;
    double label_width;
    int legend;        /* bars name series */
    int several_trials;
    int skipped;
} chart;

static void value_text(char *out, size_t size, const chart *c, double v) {
    char number[48];
    snprintf(out, size, "%s%s%s", cl__svg_sig(number, sizeof number, v, 3), *c->unit ? " " : "", c->unit);
}

/* What is written after a bar: its median, and how many trials it is the median of. */
static void bar_value_label(char *out, size_t size, const chart *c, const stats *s) {
    char median[64];
    value_text(median, sizeof median, c, s->median);
    if (s->n > 1) snprintf(out, size, "%s (median of %d)", median, s->n);
    else snprintf(out, size, "%s", median);
}

static void draw_trials(cl_text *t, const chart *c, const cl_bar *bar, double mid) {
    char value[96], title[160];
    for (int i = 0; i < bar->count; i++) {
        if (!isfinite(bar->values[i])) continue;
        value_text(value, sizeof value, c, bar->values[i]);
        snprintf(title, sizeof title, "trial %d: %s", i + 1, value);
        cl__svg_begin(t, "circle");
        cl__svg_attr(t, "class", "trial");
        cl__svg_attr_num(t, "cx", cl__scale_at(&c->x, bar->values[i]));
        cl__svg_attr_num(t, "cy", mid);
        cl__svg_attr(t, "r", "3");
        cl__svg_attr(t, "fill", CL_SVG_INK);
        cl__svg_attr(t, "fill-opacity", "0.55");
        cl__svg_end_open(t);
        cl__svg_title(t, title);
        cl__svg_close(t, "circle");
    }
}

static void draw_whisker(cl_text *t, const chart *c, const stats *s, double mid) {
    double x0 = cl__scale_at(&c->x, s->min), x1 = cl__scale_at(&c->x, s->max);
    cl__svg_begin(t, "g");
    cl__svg_attr(t, "class", "whisker");
    cl__svg_end_open(t);
    cl__svg_line(t, x0, mid, x1, mid, CL_SVG_INK, 1.5);
    cl__svg_line(t, x0, mid - 5, x0, mid + 5, CL_SVG_INK, 1.5);
    cl__svg_line(t, x1, mid - 5, x1, mid + 5, CL_SVG_INK, 1.5);
    cl__svg_close(t, "g");
}

static void draw_bar(cl_text *t, const chart *c, int i, double y) {
    const cl_bar *bar = &c->bars[i];
    const stats *s = &c->stats[i];
    char median[96], low[96], high[96], title[512], text[160];
    double mid = y + BAR_HEIGHT / 2;
    cl__svg_begin(t, "g");
    cl__svg_attr(t, "class", "bar");
    cl__svg_attr(t, "data-series", series_of(bar));
    cl__svg_end_open(t);
    cl__text_add(t, "\n", 1);
    if (s->n == 0) {
        cl__svg_label(t, "value", c->x.p0 + 6, mid + 4, "start", 11, NULL, "#555555", "no trials");
        cl__svg_close(t, "g");
        return;
    }
    value_text(median, sizeof median, c, s->median);
    value_text(low, sizeof low, c, s->min);
    value_text(high, sizeof high, c, s->max);
    if (s->n > 1)
        snprintf(title, sizeof title, "%s%s%s: median %s of %d trials, fastest %s, slowest %s", label_of(bar),
                 *series_of(bar) ? " / " : "", series_of(bar), median, s->n, low, high);
    else
        snprintf(title, sizeof title, "%s%s%s: %s (one trial)", label_of(bar), *series_of(bar) ? " / " : "",
                 series_of(bar), median);
    double zero = cl__scale_at(&c->x, 0), end = cl__scale_at(&c->x, s->median);
    cl__svg_rect(t, "bar-median", end < zero ? end : zero, y, fabs(end - zero), BAR_HEIGHT,
                 cl__svg_series_color(series_index(c->bars, i)), title);
    if (s->n > 1) draw_whisker(t, c, s, mid);
    draw_trials(t, c, bar, mid);
    double right = cl__scale_at(&c->x, s->max > s->median ? s->max : s->median);
    bar_value_label(text, sizeof text, c, s);
    cl__svg_label(t, "value", (right > zero ? right : zero) + 8, mid + 4, "start", 11, NULL, CL_SVG_INK, text);
    cl__svg_close(t, "g");
}

/* Draws every bar labelled like bars[first], from y; returns where the group ends. */
static double draw_group(cl_text *t, const chart *c, int first, double y) {
    const char *label = label_of(&c->bars[first]);
    int members = 0;
    for (int i = first; i < c->count; i++)
        if (strcmp(label_of(&c->bars[i]), label) == 0) members++;
    double height = members * BAR_HEIGHT + (members - 1) * BAR_GAP;
    char shown[256];
    snprintf(shown, sizeof shown - 4, "%s", label);
    cl__svg_fit_text(shown, c->label_width, 13);
    cl__svg_begin(t, "g");
    cl__svg_attr(t, "class", "bar-group");
    cl__svg_attr(t, "data-label", label);
    cl__svg_end_open(t);
    cl__text_add(t, "\n", 1);
    cl__svg_begin(t, "text");
    cl__svg_attr(t, "class", "bar-label");
    cl__svg_attr_num(t, "x", c->x.p0 - 10);
    cl__svg_attr_num(t, "y", y + height / 2 + 4.5);
    cl__svg_attr(t, "text-anchor", "end");
    cl__svg_attr_num(t, "font-size", 13);
    cl__svg_attr(t, "fill", CL_SVG_INK);
    cl__svg_end_open(t);
    cl__svg_title(t, label);
    cl__svg_escape(t, shown);
    cl__svg_close(t, "text");
    for (int i = first; i < c->count; i++) {
        if (strcmp(label_of(&c->bars[i]), label) != 0) continue;
        draw_bar(t, c, i, y);
        y += BAR_HEIGHT + BAR_GAP;
    }
    cl__svg_close(t, "g");
    return y - BAR_GAP + GROUP_GAP;
}

/* "time (s)" under the axis for units of time, the unit as given for the rest ("requests/s"). */
static void axis_caption(char *out, size_t size, const char *unit) {
    static const char *const times[] = {"s", "ms", "\xC2\xB5s", "us", "ns", "min", "seconds"};
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++)
        if (strcmp(unit, times[i]) == 0) {
            snprintf(out, size, "time (%s)", unit);
            return;
        }
    snprintf(out, size, "%s", unit);
}

static void draw_value_axis(cl_text *t, const chart *c, double top, double bottom) {
    char number[48];
    cl__svg_begin(t, "g");
    cl__svg_attr(t, "class", "axis value-axis");
    cl__svg_end_open(t);
    cl__text_add(t, "\n", 1);
    for (int i = 0; i < c->axis.n_ticks; i++) {
        double px = cl__scale_at(&c->x, c->axis.ticks[i]);
        cl__svg_line(t, px, top, px, bottom, c->axis.ticks[i] == 0 ? CL_SVG_INK : CL_SVG_FAINT, 1);
        cl__svg_label(t, "tick", px, bottom + 16, "middle", 11, NULL, CL_SVG_INK,
                      cl__svg_sig(number, sizeof number, c->axis.ticks[i], 6));
    }
    cl__svg_line(t, c->x.p0, bottom, c->x.p1, bottom, CL_SVG_INK, 1);
    char caption[256];
    axis_caption(caption, sizeof caption, c->unit);
    if (*caption) cl__svg_label(t, "axis-caption", (c->x.p0 + c->x.p1) / 2, bottom + 32, "middle", 11, NULL, CL_SVG_INK, caption);
    cl__svg_close(t, "g");
}

static void draw_legend(cl_text *t, const chart *c, double y) {
    double x = c->x.p0;
    for (int i = 0; i < c->count; i++) {
        int seen = 0;
        for (int j = 0; j < i; j++)
            if (strcmp(series_of(&c->bars[j]), series_of(&c->bars[i])) == 0) seen = 1;
        if (seen) continue;
        const char *name = *series_of(&c->bars[i]) ? series_of(&c->bars[i]) : "(no series)";
        cl__svg_begin(t, "g");
        cl__svg_attr(t, "class", "legend-entry");
        cl__svg_attr(t, "data-series", series_of(&c->bars[i]));
        cl__svg_end_open(t);
        cl__svg_rect(t, NULL, x, y, 12, 12, cl__svg_series_color(series_index(c->bars, i)), NULL);
        cl__svg_label(t, NULL, x + 17, y + 10.5, "start", 12, NULL, CL_SVG_INK, name);
        cl__svg_close(t, "g");
        x += 17 + cl__svg_text_width(name, 12) + 22;
    }
}

static double draw_note(cl_text *t, const chart *c, double y) {
    char line[256];
    if (c->several_trials) {
        cl__svg_label(t, "note", LABEL_X, y += 15, "start", 11, NULL, "#555555",
                      "Bar: the median of the trials. Whisker: fastest to slowest. Dots: each trial.");
    }
    if (c->skipped) {
        snprintf(line, sizeof line, "%d value%s that %s not a number left out.", c->skipped,
                 c->skipped == 1 ? "" : "s", c->skipped == 1 ? "is" : "are");
        cl__svg_label(t, "note", LABEL_X, y += 15, "start", 11, NULL, "#B00020", line);
    }
    return y + 10;
}

/* Scans the bars: the value range, the label column, what the note must say. */
static int chart_init(chart *c, const char *unit, const cl_bar *bars, int count) {
    memset(c, 0, sizeof *c);
    c->unit = unit ? unit : "";
    c->bars = bars;
    c->count = count;
    c->stats = calloc((size_t)count, sizeof *c->stats);
    if (!c->stats) return -1;
    double lo = 0, hi = 0, widest = 0, widest_value = 0;
    for (int i = 0; i < count; i++) {
        if (summarise(&bars[i], &c->stats[i]) != 0) return -1;
        const stats *s = &c->stats[i];
        if (s->n > 0 && s->min < lo) lo = s->min;
        if (s->n > 0 && s->max > hi) hi = s->max;
        if (s->n > 1) c->several_trials = 1;
        if (bars[i].series) c->legend = 1;
        c->skipped += s->skipped;
        double w = cl__svg_text_width(label_of(&bars[i]), 13);
        if (w > widest) widest = w;
    }
    c->label_width = widest < 60 ? 60 : widest > 280 ? 280 : widest;
    for (int i = 0; i < count; i++) { /* the text after the longest bar must fit in the picture */
        char text[160];
        bar_value_label(text, sizeof text, c, &c->stats[i]);
        double w = cl__svg_text_width(text, 11) + 16;
        if (w > widest_value) widest_value = w;
    }
    double right_margin = widest_value > RIGHT_MARGIN ? (widest_value < 320 ? widest_value : 320) : RIGHT_MARGIN;
    cl__axis_nice(&c->axis, lo, hi, 6, 1);
    c->x = (cl__scale){c->axis.lo, c->axis.hi, LABEL_X + c->label_width + 14, WIDTH - right_margin};
    return 0;
}

static char *bars_svg(const char *call, const char *title, const char *unit, const cl_bar *bars, int count) {
    if (!bars || count <= 0) {
        cl_report(call, "no bars to draw (bars is NULL or count is %d)", count);
        return NULL;
    }
    chart c;
    if (chart_init(&c, unit, bars, count) != 0) {
        free(c.stats);
        cl_report(call, "out of memory");
        return NULL;
    }
    cl_text body = {0};
    double y = TITLE_HEIGHT;
    if (c.legend) {
        draw_legend(&body, &c, y - 6);
        y += LEGEND_HEIGHT;
    }
    double top = y;
    for (int i = 0; i < count; i++)
        if (first_with_label(bars, i) == i) y = draw_group(&body, &c, i, y);
    double bottom = y - GROUP_GAP + 8;
    cl_text axis = {0};
    draw_value_axis(&axis, &c, top - 6, bottom);
    y = draw_note(&body, &c, bottom + AXIS_HEIGHT);
    free(c.stats);
    char *svg = cl__svg_picture(WIDTH, y, "conclab-bars", LABEL_X, title ? title : "", &axis, &body);
    if (!svg) cl_report(call, "out of memory");
    return svg;
}

char *cl_chart_bars_svg(const char *title, const char *unit, const cl_bar *bars, int count) {
    return bars_svg("cl_chart_bars_svg", title, unit, bars, count);
}

cl_display_id cl_chart_bars(const char *title, const char *unit, const cl_bar *bars, int count) {
    char *svg = bars_svg("cl_chart_bars", title, unit, bars, count);
    if (!svg) return 0;
    cl_display_id id = cl_display_svg(svg);
    free(svg);
    return id;
}
