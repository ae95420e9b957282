/* test_runtime_chart.c — <conclab/chart.h> as a notebook cell calls it (run by gcc and by tcc):
 * bar charts of trials and a CPU recording around some work, shown and returned as SVG. */
#include <conclab.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

static volatile double sink;

static void work(double seconds) {
    double until = cl_now() + seconds, x = 1;
    while (cl_now() < until) {
        int i;
        for (i = 0; i < 1000; i++) x = x * 1.0000001 + 1e-9;
    }
    sink = x;
}

static void test_bars(void) {
    double sequential[3] = {1.0, 1.1, 0.9};
    double threads[3] = {0.6, 0.5, 0.7};
    cl_bar bars[2];
    bars[0].label = "sequential";
    bars[0].values = sequential;
    bars[0].count = 3;
    bars[0].series = NULL;
    bars[1].label = "threads";
    bars[1].values = threads;
    bars[1].count = 3;
    bars[1].series = NULL;
    char *svg = cl_chart_bars_svg("Two ways", "s", bars, 2);
    CHECK(svg != NULL);
    CHECK(svg && strstr(svg, "data-label=\"threads\"") != NULL);
    CHECK(svg && strstr(svg, "1 s (median of 3)") != NULL);
    free(svg);
    CHECK(cl_chart_bars("Two ways", "s", bars, 2) != 0);
    CHECK(cl_chart_bars("none", "s", bars, 0) == 0);
}

static void test_cpu_recording(void) {
    cl_cpu_recording *r = cl_cpu_record_start();
    CHECK(r != NULL);
    work(0.15);
    char *svg = cl_cpu_record_svg(r, "busy for 0.15 s");
    CHECK(svg && strstr(svg, "data-core=\"0\"") != NULL);
    free(svg);
    r = cl_cpu_record_start();
    work(0.1);
    CHECK(cl_cpu_record_show(r, "shown") != 0);
}

/* Outside a notebook the shown pictures are files: they go to a folder of their own, removed after. */
static void remove_folder(const char *path) {
    DIR *d = opendir(path);
    struct dirent *e;
    char file[4096];
    while (d && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        snprintf(file, sizeof file, "%s/%s", path, e->d_name);
        unlink(file);
    }
    if (d) closedir(d);
    rmdir(path);
}

int main(void) {
    char folder[] = "/tmp/test_runtime_chart.XXXXXX";
    CHECK(mkdtemp(folder) != NULL);
    setenv("CONCLAB_DISPLAY_DIR", folder, 1);
    test_bars();
    test_cpu_recording();
    remove_folder(folder);
    return check_summary("test_runtime_chart");
}
