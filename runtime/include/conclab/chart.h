/* conclab/chart.h — measurements as pictures: bar charts of timings over several trials, and
 * CPU-meter charts (per-core use over time) around any code.
 *
 * Pictures are self-contained SVG, so they survive nbconvert, GitHub's notebook viewer and
 * grading. In a notebook they show in the running cell; outside one they are written to files
 * (see conclab/display.h). A picture says what it measured: how many trials, which is the median.
 * Part of <conclab.h>; see there for the conventions every runtime header keeps. */
#ifndef CONCLAB_CHART_H
#define CONCLAB_CHART_H

#include <conclab/display.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One bar of a bar chart: the trials of one measurement. Bars with the same label stand
 * together; series tells them apart ("conclab" and "post"), one colour each, with a legend. */
typedef struct cl_bar {
    const char *label;     /* what was measured: "sequential", "threads", "processes", ... */
    const double *values;  /* the trials, e.g. seconds per run */
    int count;             /* how many trials */
    const char *series;    /* NULL, or which set of bars it belongs to */
} cl_bar;

/* A bar chart as SVG text (malloc'd, the caller frees it): bars at the median, min-max whiskers, a dot per trial; NULL on failure. */
char *cl_chart_bars_svg(const char *title, const char *unit, const cl_bar *bars, int count);
/* Shows a bar chart of `count` bars (median, min-max whiskers, a dot per trial), values in `unit`; returns its display id. */
cl_display_id cl_chart_bars(const char *title, const char *unit, const cl_bar *bars, int count);

/* CPU use per core and of this process, recorded every 50 ms from /proc until stopped. */
typedef struct cl_cpu_recording cl_cpu_recording;

/* Starts recording CPU use per core and of this process (with the children it waited for); NULL on failure. */
cl_cpu_recording *cl_cpu_record_start(void);
/* Stops a recording and frees it; returns its CPU-meter chart as SVG text (malloc'd, the caller frees it), NULL on failure. */
char *cl_cpu_record_svg(cl_cpu_recording *r, const char *title);
/* Stops a recording, shows its CPU-meter chart and frees it; returns the display id. */
cl_display_id cl_cpu_record_show(cl_cpu_recording *r, const char *title);

#ifdef __cplusplus
}
#endif

#endif
