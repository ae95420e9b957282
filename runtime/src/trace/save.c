/* save.c — cl_trace_save: the recording so far, as a model, into a Chrome trace file. */
#include "conclab.h"
#include "report.h"
#include "trace_model.h"

#include <stdio.h>

int cl_trace_save(const char *path) {
    const char *call = "cl_trace_save";
    if (!path) {
        cl_report(call, "path is NULL");
        return 0;
    }
    tl_model *m = cl__trace_model(NULL);
    if (!m) {
        cl_report(call, "nothing recorded (call cl_trace_start first)");
        return 0;
    }
    FILE *out = fopen(path, "w");
    if (!out) {
        cl_report(call, "cannot write %s", path);
        tl_model_free(m);
        return 0;
    }
    int ok = cl__trace_write_chrome(out, m);
    ok = fclose(out) == 0 && ok;
    tl_model_free(m);
    if (!ok) cl_report(call, "writing %s failed", path);
    return ok;
}
