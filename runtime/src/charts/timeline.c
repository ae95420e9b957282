/* timeline.c — conclab/timeline.h: a trace recording (src/trace/) drawn as a timeline
 * (timeline_svg.h), with CPU samples (cpu_sampler.h) under it when asked, shown as a display
 * (conclab/display.h), redrawn in place while it records when live, and saved as a Chrome trace.
 *
 * The live redraw runs on a plain pthread, like the CPU sampler's: a cl_thread would be a lane
 * of the picture it draws, and under the emulated GIL it would wait its turn with the threads it
 * is meant to show waiting. */
#include "conclab/timeline.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conclab/trace.h"
#include "cpu_sampler.h"
#include "report.h"
#include "timeline_svg.h"
#include "trace_model.h"

#define LIVE_REDRAW_SECONDS 0.5

typedef struct recording {
    int on;
    pid_t owner;            /* the process that began it: its threads draw, it ends it */
    char title[128];
    char *save;
    int width;
    cl__cpu_sampler *cpu;
    cl_display_id display;  /* the live picture, drawn first at the start */
    int live;
    pthread_t redrawer;
    pthread_mutex_t lock;   /* guards stopping, with `wake` */
    pthread_cond_t wake;
    int stopping;
} recording;

static recording current = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

/* The picture of what is recorded so far; the CPU samples taken so far go under the lanes, or
 * all of them (`cpu`, taken by the caller) at the end. */
static char *draw(tl_cpu *cpu) {
    tl_model *m = cl__trace_model(current.title);
    if (!m) return NULL;
    m->cpu = cpu;
    cl__timeline_options o = {.width = current.width, .show_cpu = cpu != NULL, .title = current.title};
    char *svg = cl__timeline_svg(m, &o);
    m->cpu = NULL;  /* the caller's */
    tl_model_free(m);
    return svg;
}

static void redraw_live(void) {
    tl_cpu *cpu = current.cpu ? cl__cpu_sampler_snapshot(current.cpu) : NULL;
    char *svg = draw(cpu);
    cl__cpu_free(cpu);
    if (svg && current.display) cl_update_svg(current.display, svg);
    free(svg);
}

static void *redraw_loop(void *arg) {
    (void)arg;
    pthread_mutex_lock(&current.lock);
    while (!current.stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += (long)(LIVE_REDRAW_SECONDS * 1e9);
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&current.wake, &current.lock, &until);
        if (current.stopping) break;
        pthread_mutex_unlock(&current.lock);
        redraw_live();
        pthread_mutex_lock(&current.lock);
    }
    pthread_mutex_unlock(&current.lock);
    return NULL;
}

/* The redraw thread takes no signal meant for the cell (an interrupt, the GIL's nudges). */
static int start_redrawer(void) {
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&current.redrawer, NULL, redraw_loop, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

static void stop_redrawer(void) {
    pthread_mutex_lock(&current.lock);
    current.stopping = 1;
    pthread_cond_signal(&current.wake);
    pthread_mutex_unlock(&current.lock);
    pthread_join(current.redrawer, NULL);
}

int cl_timeline_begin(const cl_timeline_options *options) {
    cl_timeline_options o = options ? *options : (cl_timeline_options){0};
    if (current.on) {
        cl_report("cl_timeline_begin", "a timeline is already being recorded (end it with cl_timeline_end)");
        return -1;
    }
    snprintf(current.title, sizeof current.title, "%s", o.title ? o.title : "timeline");
    current.save = o.save ? strdup(o.save) : NULL;
    current.width = o.width > 0 ? o.width : 0;
    current.cpu = o.cpu ? cl__cpu_sampler_start(0) : NULL;
    current.display = 0;
    current.live = 0;
    current.stopping = 0;
    if (cl_trace_start() != 0) {
        cl_report("cl_timeline_begin", "cannot start tracing (out of memory)");
        if (current.cpu) cl__cpu_free(cl__cpu_sampler_stop(current.cpu));
        free(current.save);
        current.save = NULL;
        return -1;
    }
    current.on = 1;
    current.owner = getpid();
    if (o.live) {
        char *svg = draw(NULL);
        current.display = svg ? cl_display_svg(svg) : 0;
        free(svg);
        current.live = current.display && start_redrawer() == 0;
    }
    return 0;
}

static void save_trace(tl_cpu *cpu) {
    tl_model *m = cl__trace_model(current.title);
    FILE *f = m ? fopen(current.save, "w") : NULL;
    if (!f) {
        cl_report("cl_timeline_end", "cannot write the trace to %s", current.save);
        tl_model_free(m);
        return;
    }
    m->cpu = cpu;
    int ok = cl__trace_write_chrome(f, m);
    m->cpu = NULL;
    if (fclose(f) != 0 || !ok) cl_report("cl_timeline_end", "cannot write the trace to %s", current.save);
    else printf("Trace saved to %s (open it in https://ui.perfetto.dev or chrome://tracing)\n", current.save);
    fflush(stdout);
    tl_model_free(m);
}

/* A process forked while a timeline records has none of its own (the redraw and sampling threads
 * stayed with the parent); it records into its parent's, which the parent ends. */
static void forget_in_child(void) {
    if (current.on && current.owner != getpid())
        current = (recording){.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};
}

__attribute__((constructor)) static void watch_forks(void) { pthread_atfork(NULL, NULL, forget_in_child); }

cl_display_id cl_timeline_end(void) {
    if (!current.on) {
        cl_report("cl_timeline_end", "no timeline is being recorded (start one with cl_timeline_begin)");
        return 0;
    }
    if (current.live) stop_redrawer();
    cl_trace_stop();
    tl_cpu *cpu = current.cpu ? cl__cpu_sampler_stop(current.cpu) : NULL;
    char *svg = draw(cpu);
    cl_display_id id = 0;
    if (!svg) cl_report("cl_timeline_end", "nothing was recorded to draw");
    else if (current.display && cl_update_svg(current.display, svg) == 0) id = current.display;
    else id = cl_display_svg(svg);
    free(svg);
    if (current.save) save_trace(cpu);
    cl__cpu_free(cpu);
    free(current.save);
    current = (recording){.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};
    return id;
}

int cl_trace_begin(const char *title) {
    cl_timeline_options o = {.title = title};
    return cl_timeline_begin(&o);
}

cl_display_id cl_trace_end(void) { return cl_timeline_end(); }
