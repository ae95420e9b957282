/* cell_times.c — %%time's report (cell_times.h). */
#include "cell_times.h"

#include <math.h>
#include <stdio.h>
#include <sys/resource.h>

#include "monotonic.h"

static double seconds_of(struct timeval tv) { return (double)tv.tv_sec + (double)tv.tv_usec / 1e6; }

void cell_times_now(cell_times *t) {
    t->wall = monotonic_seconds();
    struct rusage self, children;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &children);
    t->user = seconds_of(self.ru_utime) + seconds_of(children.ru_utime);
    t->sys = seconds_of(self.ru_stime) + seconds_of(children.ru_stime);
}

void cell_times_format(double seconds, char *out, unsigned size) {
    static const char *const units[] = {"s", "ms", "\xc2\xb5s", "ns"};
    double value = seconds;
    int unit = 0;
    while (unit < 3 && value != 0 && value < 1) {
        value *= 1000;
        unit++;
    }
    snprintf(out, size, "%.3g %s", value, units[unit]);
}

static double run_loops(void (*fn)(void), long loops) {
    double start = monotonic_seconds();
    for (long i = 0; i < loops; i++) fn();
    return monotonic_seconds() - start;
}

enum { TIMEIT_RUNS = 7 };

void cell_times_timeit(void (*fn)(void)) {
    static const long steps[] = {1, 2, 5};  /* 1, 2, 5, 10, 20, 50, ... loops, as IPython tries them */
    long loops = 1, decade = 1;
    double first = run_loops(fn, loops);
    for (int i = 1; first < 0.2 && loops < 1000000000L; i++) {
        if (i % 3 == 0) decade *= 10;
        loops = steps[i % 3] * decade;
        first = run_loops(fn, loops);
    }
    double per_loop[TIMEIT_RUNS], sum = 0;
    per_loop[0] = first / (double)loops;
    for (int r = 1; r < TIMEIT_RUNS; r++) per_loop[r] = run_loops(fn, loops) / (double)loops;
    for (int r = 0; r < TIMEIT_RUNS; r++) sum += per_loop[r];
    double mean = sum / TIMEIT_RUNS, squares = 0;
    for (int r = 0; r < TIMEIT_RUNS; r++) squares += (per_loop[r] - mean) * (per_loop[r] - mean);
    char m[32], sd[32];
    cell_times_format(mean, m, sizeof m);
    cell_times_format(sqrt(squares / TIMEIT_RUNS), sd, sizeof sd);
    printf("%s \xc2\xb1 %s per loop (mean \xc2\xb1 std. dev. of %d runs, %ld loop%s each)\n", m, sd, TIMEIT_RUNS,
           loops, loops == 1 ? "" : "s");
    fflush(stdout);
}

void cell_times_report(const cell_times *started) {
    cell_times now;
    cell_times_now(&now);
    double wall = now.wall - started->wall, user = now.user - started->user, sys = now.sys - started->sys;
    char u[32], s[32], total[32], w[32];
    cell_times_format(user, u, sizeof u);
    cell_times_format(sys, s, sizeof s);
    cell_times_format(user + sys, total, sizeof total);
    cell_times_format(wall, w, sizeof w);
    printf("CPU times: user %s, sys: %s, total: %s\nWall time: %s\nCores used: %.2f\n", u, s, total, w,
           wall > 0 ? (user + sys) / wall : 0.0);
    fflush(stdout);
}
