/* cpu_record.c — cl_cpu_record_* (conclab/chart.h): the CPU sampler and chart for notebooks. */
#include "conclab/chart.h"

#include <stdlib.h>
#include <unistd.h>

#include "cpu_chart.h"
#include "cpu_sampler.h"
#include "report.h"

struct cl_cpu_recording {
    cl__cpu_sampler *sampler;
    pid_t owner;  /* the process whose thread samples: a forked copy cannot stop it */
};

cl_cpu_recording *cl_cpu_record_start(void) {
    cl_cpu_recording *r = malloc(sizeof *r);
    if (!r) {
        cl_report("cl_cpu_record_start", "out of memory");
        return NULL;
    }
    r->owner = getpid();
    r->sampler = cl__cpu_sampler_start(CL_CPU_DEFAULT_INTERVAL);
    if (!r->sampler) {
        cl_report("cl_cpu_record_start", "cannot read /proc/stat or start the sampling thread");
        free(r);
        return NULL;
    }
    return r;
}

/* Stops and frees r; the chart, or NULL with the reason reported under `call`. */
static char *stop_and_draw(const char *call, cl_cpu_recording *r, const char *title) {
    if (!r) {
        cl_report(call, "no recording (cl_cpu_record_start returned NULL?)");
        return NULL;
    }
    if (r->owner != getpid()) {
        cl_report(call, "the recording belongs to process %d, which started it", (int)r->owner);
        return NULL;
    }
    tl_cpu *samples = cl__cpu_sampler_stop(r->sampler);
    free(r);
    char *svg = samples ? cl__cpu_chart_svg(samples, title ? title : "CPU use", 0) : NULL;
    cl__cpu_free(samples);
    if (!svg) cl_report(call, "out of memory");
    return svg;
}

char *cl_cpu_record_svg(cl_cpu_recording *r, const char *title) {
    return stop_and_draw("cl_cpu_record_svg", r, title);
}

cl_display_id cl_cpu_record_show(cl_cpu_recording *r, const char *title) {
    char *svg = stop_and_draw("cl_cpu_record_show", r, title);
    if (!svg) return 0;
    cl_display_id id = cl_display_svg(svg);
    free(svg);
    return id;
}
