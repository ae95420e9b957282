/* axis.h — axes with "nice" ticks (steps of 1, 2 or 5 times a power of ten), shared by the
 * timeline, the CPU chart and the bar chart so they read alike when shown side by side. */
#ifndef CONCLAB_RUNTIME_AXIS_H
#define CONCLAB_RUNTIME_AXIS_H

#include <stddef.h>

#include "bundle.h"

#define CL_AXIS_INTERNAL __attribute__((visibility("hidden")))

#define CL_AXIS_MOST_TICKS 24

typedef struct cl__axis {
    double lo, hi;   /* the values the axis spans */
    double step;     /* between ticks */
    int n_ticks;
    double ticks[CL_AXIS_MOST_TICKS];
} cl__axis;

/* How times are written on an axis: µs, ms or s, chosen by the span so labels stay short. */
typedef struct cl__time_unit {
    const char *name;  /* "µs", "ms", "s" */
    double seconds;    /* one unit in seconds */
    int decimals;      /* enough to tell ticks apart */
} cl__time_unit;

/* A linear map from values [v0, v1] to pixels [p0, p1]. */
typedef struct cl__scale {
    double v0, v1, p0, p1;
} cl__scale;

/* The pixel for value v. */
CL_AXIS_INTERNAL double cl__scale_at(const cl__scale *s, double v);

/* About `target` ticks over [lo, hi]. With `cover` the axis grows to whole steps around the
 * data (bar charts: the longest bar ends under a tick); without it the ticks stay inside
 * [lo, hi] (time axes: the trace ends where it ended, not at the next round number). */
CL_AXIS_INTERNAL void cl__axis_nice(cl__axis *a, double lo, double hi, int target, int cover);

/* The unit for a time axis spanning `span` seconds with ticks `step` apart. */
CL_AXIS_INTERNAL void cl__time_unit_for(cl__time_unit *u, double span, double step);

/* A duration with three significant digits in the unit that suits it: "850 µs", "12.3 ms", "1.25 s". */
CL_AXIS_INTERNAL char *cl__format_duration(char *out, size_t size, double seconds);

/* A time axis under a plot: grid lines from y_top to y_axis, the ticks' labels (class "tick",
 * data-t the tick in seconds from the origin) under y_axis and the caption "time (ms)". */
CL_AXIS_INTERNAL void cl__axis_draw_time(cl_text *t, const cl__axis *a, const cl__time_unit *u,
                                         const cl__scale *x, double y_top, double y_axis);

#endif
