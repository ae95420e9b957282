/* conclab/timeline.h — a picture of what threads, processes and tasks did, drawn from the run
 * itself (the kernel's %%timeline magic is built on these): one lane per thread, process and
 * task, coloured by what it was doing (running, waiting for a lock, for a condition, event or
 * queue, sleeping, waiting for I/O or for the GIL, joining), from the runtime's trace
 * (conclab/trace.h). Shown as a display (conclab/display.h): inline in a notebook, an SVG
 * file elsewhere.
 * Part of <conclab.h>; see there for the conventions every runtime header keeps. */
#ifndef CONCLAB_TIMELINE_H
#define CONCLAB_TIMELINE_H

#include <conclab/display.h>

#ifdef __cplusplus
extern "C" {
#endif

/* How cl_timeline_begin draws; zero for the defaults. */
typedef struct cl_timeline_options {
    const char *title;  /* above the lanes; NULL: "timeline" */
    int live;           /* redraw it in place about twice a second while it is recorded */
    int cpu;            /* every core's use, sampled from /proc/stat, under the lanes */
    const char *save;   /* also write the trace there as Chrome Trace Event JSON (Perfetto), or NULL */
    int width;          /* in pixels; 0: 900 */
} cl_timeline_options;

/* Starts recording a timeline drawn by cl_timeline_end (options may be NULL); 0 on success, -1 if one is already recording. */
int cl_timeline_begin(const cl_timeline_options *options);
/* Stops recording and shows the timeline (saving the trace if asked); returns its display id, 0 on failure. */
cl_display_id cl_timeline_end(void);
/* Starts recording the code that follows for a timeline titled `title`; 0 on success. */
int cl_trace_begin(const char *title);
/* Stops what cl_trace_begin started and shows its timeline; returns its display id, 0 on failure. */
cl_display_id cl_trace_end(void);

#ifdef __cplusplus
}
#endif

#endif
