/* cell_watch.c — %%time, %%timeline and %%cpu around a cell (cell_watch.h), on the runtime's
 * public tracing and chart calls, the ones a program built with gcc uses too. */
#include "cell_watch.h"

#include <stdio.h>
#include <unistd.h>

#include "cell_times.h"
#include "conclab.h"
#include "messages.h"

static cell_times started;
static cl_cpu_recording *cpu;
static pid_t watcher;  /* the cell's process: a child that returns from the cell (a fork without
                          exit) reaches cell_watch_end too, and must leave the reports to it */

void cell_watch_begin(const cell_watch *w, int cell_number) {
    watcher = getpid();
    if (w->watch & WATCH_TIMELINE) {
        char title[64];
        snprintf(title, sizeof title, "cell[%d]", cell_number);
        cl_timeline_options o = {.title = title, .live = (w->watch & WATCH_LIVE) != 0,
                                 .cpu = (w->watch & WATCH_TIMELINE_CPU) != 0,
                                 .save = w->trace_file[0] ? w->trace_file : NULL};
        cl_timeline_begin(&o);
    }
    if (w->watch & WATCH_CPU) cpu = cl_cpu_record_start();
    if (w->time) cell_times_now(&started);  /* last: the others' set-up is not the cell's time */
}

void cell_watch_end(const cell_watch *w) {
    if (getpid() != watcher) return;
    if (w->time) cell_times_report(&started);
    if (w->watch & WATCH_TIMELINE) {
        fflush(NULL);
        cl_timeline_end();
    }
    if (cpu) {
        cl_cpu_record_show(cpu, "CPU use per core while the cell ran");
        cpu = NULL;
    }
    fflush(NULL);  /* what they printed goes before the cell's end is reported */
}
