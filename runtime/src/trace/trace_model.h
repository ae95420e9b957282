/* trace_model.h — the recording as a timeline model, and the model as a Chrome trace file: what
 * the picture writers (src/charts/) and the magics (%%timeline) use. Internal to the runtime. */
#ifndef CONCLAB_RUNTIME_TRACE_MODEL_H
#define CONCLAB_RUNTIME_TRACE_MODEL_H

#include <stdio.h>

#include "observe.h"
#include "timeline_model.h"

/* Builds the model of everything recorded so far (title copied, may be NULL); NULL when nothing
 * was ever recorded or memory ran out. Works while recording goes on (the lanes still running
 * end at the moment of the call) and after cl_trace_stop. Thread-safe: calls are serialised with
 * each other and with cl_trace_start/stop, never with the threads recording. Free the result
 * with tl_model_free. */
CL_INTERNAL tl_model *cl__trace_model(const char *title);

/* Writes m as Chrome Trace Event JSON (Perfetto, chrome://tracing); 1 on success. */
CL_INTERNAL int cl__trace_write_chrome(FILE *out, const tl_model *m);

#endif
