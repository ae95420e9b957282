/* timeline_svg.h — a timeline (timeline_model.h) drawn as a self-contained SVG picture: one lane
 * per thread, process and task, coloured by state, on a time axis, with a legend, hover texts,
 * hand-off arrows, marks and optionally the CPU rows underneath (cpu_chart.h). */
#ifndef CONCLAB_RUNTIME_TIMELINE_SVG_H
#define CONCLAB_RUNTIME_TIMELINE_SVG_H

#include "timeline_model.h"

#define CL_TIMELINE_DEFAULT_WIDTH 900
#define CL_TIMELINE_DEFAULT_MAX_LANES 64

/* How to draw; zeroes (or NULL options) mean the defaults. */
typedef struct cl__timeline_options {
    double width;         /* px; default CL_TIMELINE_DEFAULT_WIDTH */
    int max_lanes;        /* lanes past it are counted, not drawn; default CL_TIMELINE_DEFAULT_MAX_LANES */
    int show_cpu;         /* draw m->cpu under the lanes when the model has it */
    const char *title;    /* default: the model's title, else "Timeline" */
} cl__timeline_options;

/* The picture as malloc'd SVG text; NULL when memory ran out. Same model, same text. */
__attribute__((visibility("hidden"))) char *cl__timeline_svg(const tl_model *m, const cl__timeline_options *o);

#endif
