/* lane_builder.h — growing one lane's spans as its state changes. Internal to src/trace/.
 *
 * A lane always has one open span (a state, a label, and when it began); a change of state or
 * label closes it and opens the next at the same moment, so the spans cover the lane without
 * gaps. Zero-length spans are left out. */
#ifndef CONCLAB_RUNTIME_TRACE_LANE_BUILDER_H
#define CONCLAB_RUNTIME_TRACE_LANE_BUILDER_H

#include "timeline_model.h"
#include "observe.h"

typedef struct lane_builder {
    tl_lane lane;
    size_t cap;
    tl_state state;           /* of the open span */
    const char *what;         /* borrowed until the span is closed */
    double since;
    int open, ended;
    int pid_rank;             /* for sorting lanes: the traced process first */
} lane_builder;

/* Opens the lane at `start` in `state`. */
CL_INTERNAL void lane_begin(lane_builder *b, double start, tl_state state, const char *what);

/* From `time` on, the lane is in `state` (what: the hover text, or NULL). 0 when out of memory. */
CL_INTERNAL int lane_set(lane_builder *b, double time, tl_state state, const char *what);

/* Closes the lane at `time`. */
CL_INTERNAL int lane_end(lane_builder *b, double time);

#endif
