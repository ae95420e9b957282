/* cpu_chart.h — CPU use (tl_cpu, timeline_model.h) drawn like a CPU meter: one row per core
 * (0-100 %) and one for the process with its children (in cores), as its own picture or under
 * a timeline's lanes. */
#ifndef CONCLAB_RUNTIME_CPU_CHART_H
#define CONCLAB_RUNTIME_CPU_CHART_H

#include "axis.h"
#include "bundle.h"
#include "timeline_model.h"

#define CL_CPU_CHART_INTERNAL __attribute__((visibility("hidden")))

/* Draws the rows at y, over x (times are c's minus `origin`), names at label_x; returns the
 * height used. */
CL_CPU_CHART_INTERNAL double cl__cpu_rows_draw(cl_text *t, const tl_cpu *c, const cl__scale *x, double origin,
                                               double label_x, double y);

/* The CPU chart as a picture of its own (malloc'd SVG text; NULL when memory ran out);
 * width in px, 0 for the timeline's default. */
CL_CPU_CHART_INTERNAL char *cl__cpu_chart_svg(const tl_cpu *c, const char *title, double width);

#endif
