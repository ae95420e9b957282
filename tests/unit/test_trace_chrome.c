/* test_trace_chrome.c — the Chrome trace writer (src/trace/chrome.c) on a model made by hand, so
 * every part of the format shows, including the CPU counters the tracer itself never fills:
 * process and thread metadata, complete events, a task's async events, an instant, a flow,
 * counters, and names that need escaping. The writer and tl_model_free are compiled in (they
 * are internal to libconclab); the file is loaded by Python's json module as well. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "trace_file.h"
#include "trace_model.h"

static char *copy_of(const char *s) {
    char *d = malloc(strlen(s) + 1);
    strcpy(d, s);
    return d;
}

static void lane(tl_lane *l, const char *name, tl_lane_kind kind, int pid, long id, int n_spans) {
    l->name = copy_of(name);
    l->kind = kind;
    l->pid = pid;
    l->id = id;
    l->start = 10.0;
    l->end = 10.0 + n_spans * 0.001;
    l->n_spans = (size_t)n_spans;
    l->spans = calloc((size_t)n_spans, sizeof *l->spans);
    for (int i = 0; i < n_spans; i++) {
        l->spans[i].start = 10.0 + i * 0.001;
        l->spans[i].end = 10.0 + (i + 1) * 0.001;
        l->spans[i].state = i % 2 ? TL_LOCK : TL_RUNNING;
        l->spans[i].what = i % 2 ? copy_of("lock \"forks[2]\" \\ 1") : NULL;
    }
}

static tl_model *sample_model(void) {
    tl_model *m = calloc(1, sizeof *m);
    m->title = copy_of("philosophers");
    m->start = 10.0;
    m->end = 10.004;
    m->n_lanes = 4;
    m->lanes = calloc(m->n_lanes, sizeof *m->lanes);
    lane(&m->lanes[0], "main", TL_LANE_THREAD, 100, 100, 4);
    lane(&m->lanes[1], "worker-1", TL_LANE_THREAD, 100, 101, 2);
    lane(&m->lanes[2], "Task-1", TL_LANE_TASK, 100, 1, 3);
    lane(&m->lanes[3], "Process-1", TL_LANE_PROCESS, 200, 200, 1);
    m->n_flows = 1;
    m->flows = calloc(1, sizeof *m->flows);
    m->flows[0] = (tl_flow){1, 0, 10.0015, 10.002};
    m->n_instants = 2;
    m->instants = calloc(2, sizeof *m->instants);
    m->instants[0] = (tl_instant){0, 10.0005, copy_of("begin")};
    m->instants[1] = (tl_instant){2, 10.0006, copy_of("in a task")};
    m->dropped = 7;
    tl_cpu *c = calloc(1, sizeof *c);
    c->n_cores = 2;
    c->n_samples = 3;
    c->times = calloc(3, sizeof *c->times);
    c->per_core = calloc(6, sizeof *c->per_core);
    c->process = calloc(3, sizeof *c->process);
    for (int i = 0; i < 3; i++) {
        c->times[i] = 10.001 * (i + 1);
        c->per_core[2 * i] = 0.5;
        c->per_core[2 * i + 1] = 0.25;
        c->process[i] = 0.75;
    }
    m->cpu = c;
    return m;
}

int main(void) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/test_trace_chrome_%d.json", (int)getpid());
    tl_model *m = sample_model();
    FILE *out = fopen(path, "w");
    CHECK(out != NULL);
    CHECK(cl__trace_write_chrome(out, m) == 1);
    fclose(out);
    tl_model_free(m);

    tf_file f;
    CHECK(tf_read(path, &f));
    CHECK(f.dropped == 7);
    CHECK(tf_count(&f, 'M', "process_name", "philosophers") == 1);
    CHECK(tf_count(&f, 'M', "process_name", "Process-1") == 1);
    CHECK(tf_count(&f, 'M', "process_sort_index", NULL) == 2);
    CHECK(tf_count(&f, 'M', "thread_name", NULL) == 3); /* tasks are async tracks instead */
    CHECK(tf_count(&f, 'M', "thread_sort_index", NULL) == 3);
    CHECK(tf_count(&f, 'X', NULL, NULL) == 7);
    CHECK(tf_count(&f, 'X', "lock", "lock \"forks[2]\" \\ 1") == 3);
    CHECK(tf_count(&f, 'b', NULL, NULL) == 4); /* the task's life and its three spans */
    CHECK(tf_count(&f, 'e', NULL, NULL) == 4);
    CHECK(tf_count(&f, 'i', "begin", NULL) == 1);
    CHECK(tf_count(&f, 'n', "in a task", NULL) == 1);
    CHECK(tf_count(&f, 's', NULL, NULL) == 1 && tf_count(&f, 'f', NULL, NULL) == 1);
    CHECK(tf_count(&f, 'C', "CPU 0", NULL) == 3 && tf_count(&f, 'C', "CPU 1", NULL) == 3);
    CHECK(tf_count(&f, 'C', "process CPU", NULL) == 3);
    tf_free(&f);

    char command[256];
    snprintf(command, sizeof command,
             "/usr/bin/python3 -c 'import json, sys; json.load(open(sys.argv[1]))' %s", path);
    CHECK(system(command) == 0);
    remove(path);
    return check_summary("test_trace_chrome");
}
