/* axis.c — nice ticks and the time axis (axis.h). */
#include "axis.h"

#include <math.h>
#include <stdio.h>

#include "svg.h"

double cl__scale_at(const cl__scale *s, double v) {
    if (s->v1 == s->v0) return s->p0;
    return s->p0 + (v - s->v0) * (s->p1 - s->p0) / (s->v1 - s->v0);
}

/* The smallest of 1, 2, 5 times a power of ten that is at least `raw`. */
static double nice_step(double raw) {
    double power = pow(10, floor(log10(raw)));
    double mantissa = raw / power;
    if (mantissa <= 1.0 + 1e-9) return power;
    if (mantissa <= 2.0 + 1e-9) return 2 * power;
    if (mantissa <= 5.0 + 1e-9) return 5 * power;
    return 10 * power;
}

void cl__axis_nice(cl__axis *a, double lo, double hi, int target, int cover) {
    if (!isfinite(lo) || !isfinite(hi)) lo = 0, hi = 1;
    if (hi <= lo) hi = lo + (lo == 0 ? 1 : fabs(lo)); /* one value, or none: still draw an axis */
    if (target < 2) target = 2;
    double step = nice_step((hi - lo) / target);
    while ((hi - lo) / step + 1 > CL_AXIS_MOST_TICKS) step = nice_step(step * 1.01);
    /* The slack keeps a tick that floating point puts a hair past the end. */
    double slack = step * 1e-9;
    double first = cover ? floor(lo / step + 1e-9) * step : ceil(lo / step - 1e-9) * step;
    double last = cover ? ceil(hi / step - 1e-9) * step : hi;
    a->step = step;
    a->lo = cover ? first : lo;
    a->hi = cover ? last : hi;
    a->n_ticks = 0;
    for (int i = 0; a->n_ticks < CL_AXIS_MOST_TICKS; i++) {
        double tick = first + i * step;
        if (tick > last + slack) break;
        a->ticks[a->n_ticks++] = fabs(tick) < slack ? 0 : tick; /* no "-0" */
    }
}

/* Durations that floating point puts a hair under a round number (1000.001 - 1000) count as it. */
#define ROUND_SLACK (1 - 1e-6)

void cl__time_unit_for(cl__time_unit *u, double span, double step) {
    if (span < 1e-3 * ROUND_SLACK) {
        u->name = "\xC2\xB5s"; /* µs in UTF-8 */
        u->seconds = 1e-6;
    } else if (span < ROUND_SLACK) {
        u->name = "ms";
        u->seconds = 1e-3;
    } else {
        u->name = "s";
        u->seconds = 1;
    }
    double in_units = step / u->seconds;
    u->decimals = in_units >= 1 ? 0 : (int)ceil(-log10(in_units) - 1e-9);
}

char *cl__format_duration(char *out, size_t size, double seconds) {
    char number[48];
    const char *unit = "s";
    double value = seconds;
    if (fabs(seconds) < 1e-3 * ROUND_SLACK) {
        unit = "\xC2\xB5s";
        value = seconds * 1e6;
    } else if (fabs(seconds) < ROUND_SLACK) {
        unit = "ms";
        value = seconds * 1e3;
    }
    snprintf(out, size, "%s %s", cl__svg_sig(number, sizeof number, value, 3), unit);
    return out;
}

void cl__axis_draw_time(cl_text *t, const cl__axis *a, const cl__time_unit *u, const cl__scale *x, double y_top,
                        double y_axis) {
    char label[64], seconds[64];
    cl__svg_begin(t, "g");
    cl__svg_attr(t, "class", "axis time-axis");
    cl__svg_attr(t, "data-end", cl__svg_sig(seconds, sizeof seconds, a->hi, 9));
    cl__svg_end_open(t);
    cl__text_add(t, "\n", 1);
    for (int i = 0; i < a->n_ticks; i++) {
        double px = cl__scale_at(x, a->ticks[i]);
        cl__svg_line(t, px, y_top, px, y_axis, CL_SVG_FAINT, 1);
        cl__svg_line(t, px, y_axis, px, y_axis + 4, CL_SVG_INK, 1);
        cl__svg_begin(t, "text");
        cl__svg_attr(t, "class", "tick");
        cl__svg_attr(t, "data-t", cl__svg_sig(seconds, sizeof seconds, a->ticks[i], 9));
        cl__svg_attr_num(t, "x", px);
        cl__svg_attr_num(t, "y", y_axis + 16);
        cl__svg_attr(t, "text-anchor", "middle");
        cl__svg_attr_num(t, "font-size", 11);
        cl__svg_attr(t, "fill", CL_SVG_INK);
        cl__svg_end_open(t);
        cl__svg_escape(t, cl__svg_fixed(label, sizeof label, a->ticks[i] / u->seconds, u->decimals));
        cl__svg_close(t, "text");
    }
    cl__svg_line(t, x->p0, y_axis, x->p1, y_axis, CL_SVG_INK, 1);
    snprintf(label, sizeof label, "time (%s)", u->name);
    cl__svg_label(t, "axis-caption", (x->p0 + x->p1) / 2, y_axis + 32, "middle", 11, NULL, CL_SVG_INK, label);
    cl__svg_close(t, "g");
}
