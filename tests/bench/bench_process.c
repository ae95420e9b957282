/* bench_process.c — processes and the process pool (issue 5), side by side in one run:
 *
 *   1. process start+join: cl_process_start + cl_process_join + cl_process_free of a function
 *      that returns at once, against raw fork + _exit + waitpid;
 *   2. per-task overhead of cl_process_pool_map on empty tasks, against Python's
 *      multiprocessing.Pool.map (Debian /usr/bin/python3, fork context, same worker count,
 *      run by bench_process_pool.py once per trial so the trials alternate); both send the
 *      tasks in chunks, so beside it the round trip of one task at a time (submit, wait for
 *      the result) against Python's Pool.apply;
 *   3. the benchmark post's workload (CHAPTERS.md: for x in 1..15, sum i % x for i in
 *      0..10^7, skipping each step with probability 1 % by a random draw per step) on a process
 *      pool of 16 workers against a sequential loop. Target: speed-up >= 0.8 x cores.
 *
 * Every figure is a median of trials (p10 and p90 beside it). A benchmark, not a test: ctest
 * runs `--quick` only to show it works (bench_process_smoke); the exit status ignores the
 * figures unless --check is given. See tests/bench/README.md. */
#include <conclab.h>

#include "bench_stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CONCLAB_BENCH_DIR
#define CONCLAB_BENCH_DIR "tests/bench"
#endif

typedef struct sizes {
    int trials;          /* trials of measures 1 and 2 */
    int start_pairs;     /* start+join pairs per trial */
    int map_tasks;       /* empty tasks per map */
    int round_trips;     /* submit->result round trips per trial */
    int workload_trials; /* trials of measure 3 (the post runs five) */
    long workload_steps; /* steps per x (the post: 10^7) */
} sizes;

static const sizes FULL = {15, 200, 100000, 2000, 5, 10000000};
static const sizes QUICK = {3, 20, 5000, 100, 1, 1000000};

#define WORKLOAD_TASKS 15
#define WORKLOAD_WORKERS 16

static struct {
    const char *json, *python;
    int quick, check, quiet;
} opt = {NULL, "/usr/bin/python3", 0, 0, 0};

static sizes size;

static void progress(const char *what) {
    if (!opt.quiet) fprintf(stderr, "bench_process: %s\n", what);
}

/* ---- statistics ----------------------------------------------------------------------------- */

typedef bench_summary summary;
#define summarize bench_summarize

/* ---- results -------------------------------------------------------------------------------- */

typedef struct result {
    char name[64];
    const char *unit, *ours_label, *other_label;
    summary ours, other; /* other.n == 0: no counterpart ran */
    double ratio;        /* NAN: none */
    char target[48];     /* "" when there is none */
    int met;             /* 1, 0, or -1 without a target */
    char note[96];
} result;

static result results[8];
static int n_results;

static result *add_result(const char *name, const char *unit, const char *ours_label,
                          const char *other_label) {
    result *r = &results[n_results++];
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", name);
    r->unit = unit;
    r->ours_label = ours_label;
    r->other_label = other_label;
    r->ratio = NAN;
    r->met = -1;
    return r;
}

static void fail(const char *what) {
    fprintf(stderr, "bench_process: %s\n", what);
    exit(2);
}

/* ---- 1. process start+join ------------------------------------------------------------------ */

static int returns_zero(void *arg) {
    (void)arg;
    return 0;
}

static double cl_process_pairs_us(int pairs) {
    double start = cl_now();
    for (int i = 0; i < pairs; i++) {
        cl_process *p = cl_process_start(returns_zero, NULL);
        if (!p || cl_process_join(p) != 1 || cl_process_exitcode(p) != 0) fail("cl_process failed");
        cl_process_free(p);
    }
    return (cl_now() - start) / pairs * 1e6;
}

static double fork_pairs_us(int pairs) {
    double start = cl_now();
    for (int i = 0; i < pairs; i++) {
        fflush(NULL); /* as cl_process_start does: a fair comparison */
        pid_t pid = fork();
        if (pid == 0) _exit(0);
        int status;
        if (pid < 0 || waitpid(pid, &status, 0) != pid || status != 0) fail("fork failed");
    }
    return (cl_now() - start) / pairs * 1e6;
}

static void bench_start_join(void) {
    progress("process start+join");
    double ours[64], raw[64];
    cl_process_pairs_us(size.start_pairs / 4 + 1); /* warm up */
    fork_pairs_us(size.start_pairs / 4 + 1);
    for (int t = 0; t < size.trials; t++) {
        ours[t] = cl_process_pairs_us(size.start_pairs);
        raw[t] = fork_pairs_us(size.start_pairs);
    }
    result *r = add_result("process start+join", "us/pair", "conclab", "fork+waitpid");
    r->ours = summarize(ours, size.trials);
    r->other = summarize(raw, size.trials);
    r->ratio = r->ours.median / r->other.median;
}

/* ---- 2. map of empty tasks against Python's Pool.map --------------------------------------- */

static void empty_task(const void *arg, size_t size_) {
    (void)arg;
    (void)size_;
}

/* One trial of Python's Pool.map over tasks empty tasks (mode "map"), or of tasks round trips
 * of Pool.apply (mode "apply"): seconds, or NAN when Python failed. */
static double python_seconds(const char *mode, int workers, int tasks) {
    char command[1024];
    snprintf(command, sizeof command,
             "%s %s/bench_process_pool.py --mode %s --workers %d --tasks %d --trials 1",
             opt.python, CONCLAB_BENCH_DIR, mode, workers, tasks);
    fflush(NULL);
    FILE *out = popen(command, "r");
    if (!out) return NAN;
    char line[4096] = "";
    if (!fgets(line, sizeof line, out)) line[0] = '\0';
    int status = pclose(out);
    const char *at = strstr(line, "\"seconds\": [");
    if (status != 0 || !at) return NAN;
    return strtod(at + strlen("\"seconds\": ["), NULL);
}

static void bench_map_overhead(void) {
    progress("pool map of empty tasks (conclab and Python)");
    int workers = cl_cpu_count();
    cl_process_pool *pool = cl_process_pool_new(workers);
    if (!pool) fail("cl_process_pool_new failed");
    char *args = calloc((size_t)size.map_tasks, 1);
    if (!args) fail("out of memory");
    cl_process_pool_map(pool, empty_task, args, 1, workers * 4, NULL, 0, CL_FOREVER); /* warm up */
    double ours[64], python[64];
    int python_n = 0;
    for (int t = 0; t < size.trials; t++) {
        double start = cl_now();
        if (cl_process_pool_map(pool, empty_task, args, 1, size.map_tasks, NULL, 0, CL_FOREVER) != 0)
            fail("cl_process_pool_map failed");
        ours[t] = (cl_now() - start) / size.map_tasks * 1e6;
        double py = python_seconds("map", workers, size.map_tasks);
        if (!isnan(py)) python[python_n++] = py / size.map_tasks * 1e6;
    }
    cl_process_pool_free(pool);
    free(args);
    char name[64];
    snprintf(name, sizeof name, "map of %d empty tasks, %d workers", size.map_tasks, workers);
    result *r = add_result(name, "us/task", "conclab", "Python Pool.map");
    r->ours = summarize(ours, size.trials);
    r->other = summarize(python, python_n);
    if (python_n) r->ratio = r->ours.median / r->other.median;
    else snprintf(r->note, sizeof r->note, "(Python did not run: %s)", opt.python);
}

/* ---- 2b. one task at a time: submit, wait for the result ------------------------------------ */

static double round_trips_us(cl_process_pool *pool, int trips) {
    char arg = 0;
    double start = cl_now();
    for (int i = 0; i < trips; i++) {
        cl_future *f = cl_process_pool_submit(pool, empty_task, &arg, 1);
        if (!f || cl_future_result(f, CL_FOREVER, NULL) != CL_FUTURE_OK) fail("submit failed");
        cl_future_free(f);
    }
    return (cl_now() - start) / trips * 1e6;
}

static void bench_round_trip(void) {
    progress("submit->result round trips (conclab and Python's Pool.apply)");
    int workers = cl_cpu_count();
    cl_process_pool *pool = cl_process_pool_new(workers);
    if (!pool) fail("cl_process_pool_new failed");
    round_trips_us(pool, size.round_trips / 10 + 1); /* warm up */
    double ours[64], python[64];
    int python_n = 0;
    for (int t = 0; t < size.trials; t++) {
        ours[t] = round_trips_us(pool, size.round_trips);
        double py = python_seconds("apply", workers, size.round_trips);
        if (!isnan(py)) python[python_n++] = py / size.round_trips * 1e6;
    }
    cl_process_pool_free(pool);
    result *r = add_result("submit->result, 1 task at a time", "us/task", "conclab",
                           "Python Pool.apply");
    r->ours = summarize(ours, size.trials);
    r->other = summarize(python, python_n);
    if (python_n) r->ratio = r->ours.median / r->other.median;
}

/* ---- 3. the benchmark post's workload ------------------------------------------------------- */

/* Sum of i % x for i in 0..steps-1, skipping each step with probability 1 %: the draw is a
 * xorshift per step, seeded by x, so every run computes the same sums and they can be checked. */
static long workload(long x, long steps) {
    unsigned long long state = 0x9E3779B97F4A7C15ULL ^ (unsigned long long)x;
    long sum = 0;
    for (long i = 0; i < steps; i++) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        if (state % 100 == 0) continue; /* the 1 % skip */
        sum += i % x;
    }
    return sum;
}

static long workload_steps_arg;

static void workload_task(const void *arg, size_t size_) {
    (void)size_;
    cl_task_return_long(workload(*(const long *)arg, workload_steps_arg));
}

static double sequential_seconds(long *sums) {
    double start = cl_now();
    for (long x = 1; x <= WORKLOAD_TASKS; x++) sums[x - 1] = workload(x, size.workload_steps);
    return cl_now() - start;
}

/* The whole variant, as the post times it: the pool's start and end included. */
static double pool_seconds(long *sums) {
    long xs[WORKLOAD_TASKS];
    for (long x = 1; x <= WORKLOAD_TASKS; x++) xs[x - 1] = x;
    double start = cl_now();
    cl_process_pool *pool = cl_process_pool_new(WORKLOAD_WORKERS);
    if (!pool) fail("cl_process_pool_new(16) failed");
    if (cl_process_pool_map(pool, workload_task, xs, sizeof xs[0], WORKLOAD_TASKS, sums,
                            sizeof sums[0], CL_FOREVER) != 0)
        fail("cl_process_pool_map failed");
    cl_process_pool_free(pool);
    return cl_now() - start;
}

static void bench_workload(void) {
    progress("the benchmark post's workload (sequential and process pool of 16)");
    workload_steps_arg = size.workload_steps; /* set before the pool forks: workers inherit it */
    double seq[64], pool[64];
    long want[WORKLOAD_TASKS], got[WORKLOAD_TASKS];
    for (int t = 0; t < size.workload_trials; t++) {
        seq[t] = sequential_seconds(want);
        pool[t] = pool_seconds(got);
        if (memcmp(want, got, sizeof want) != 0) fail("the pool's sums differ from sequential's");
    }
    char name[64];
    snprintf(name, sizeof name, "post workload, 15 x %.0e steps", (double)size.workload_steps);
    result *r = add_result(name, "s", "pool of 16", "sequential");
    r->ours = summarize(pool, size.workload_trials);
    r->other = summarize(seq, size.workload_trials);
    double speedup = r->other.median / r->ours.median;
    r->ratio = speedup;
    int cores = cl_cpu_count();
    snprintf(r->target, sizeof r->target, "speed-up >= %.1f (0.8 x %d cores)", 0.8 * cores, cores);
    r->met = speedup >= 0.8 * cores;
    snprintf(r->note, sizeof r->note, "%s", r->met ? "ok" : "MISSED");
}

/* ---- report --------------------------------------------------------------------------------- */

static void print_summary(const summary *s) {
    char text[40];
    if (s->n == 0) snprintf(text, sizeof text, "n/a");
    else snprintf(text, sizeof text, "%.3g [%.3g-%.3g]", s->median, s->p10, s->p90);
    printf(" %-26s", text);
}

static void print_table(void) {
    double load[1] = {0};
    if (getloadavg(load, 1) < 1) load[0] = NAN;
    printf("\nconclab process benchmark (%s): %d CPUs, load average %.2f, medians [p10-p90]\n\n",
           opt.quick ? "quick" : "full", cl_cpu_count(), load[0]);
    printf("%-63s %-8s %-26s %-26s %6s  %s\n", "measure: conclab | counterpart", "unit",
           "conclab", "counterpart", "ratio", "target");
    for (int i = 0; i < n_results; i++) {
        result *r = &results[i];
        printf("%s: %s | %s%*s %-8s", r->name, r->ours_label, r->other_label,
               61 - (int)(strlen(r->name) + strlen(r->ours_label) + strlen(r->other_label)), "",
               r->unit);
        print_summary(&r->ours);
        print_summary(&r->other);
        if (isnan(r->ratio)) printf(" %6s", "-");
        else printf(" %6.2f", r->ratio);
        printf("  %s %s\n", r->target, r->note);
    }
    printf("\nratios: conclab / counterpart, except the workload: sequential / pool (speed-up)\n");
}

static void json_summary(FILE *f, const char *key, const summary *s) {
    fprintf(f, "\"%s\": ", key);
    bench_json_summary(f, s);
}

static void write_json(void) {
    FILE *f = fopen(opt.json, "w");
    if (!f) fail("cannot write the JSON file");
    fprintf(f, "{\"benchmark\": \"bench_process\", \"mode\": \"%s\", \"cpus\": %d, \"results\": [\n",
            opt.quick ? "quick" : "full", cl_cpu_count());
    for (int i = 0; i < n_results; i++) {
        result *r = &results[i];
        fprintf(f, "  {\"name\": \"%s\", \"unit\": \"%s\", \"ours_label\": \"%s\", "
                   "\"other_label\": \"%s\", ", r->name, r->unit, r->ours_label, r->other_label);
        json_summary(f, "ours", &r->ours);
        fprintf(f, ", ");
        json_summary(f, "other", &r->other);
        if (isnan(r->ratio)) fprintf(f, ", \"ratio\": null");
        else fprintf(f, ", \"ratio\": %.6g", r->ratio);
        fprintf(f, ", \"target\": \"%s\", \"met\": %s}%s\n", r->target,
                r->met < 0 ? "null" : r->met ? "true" : "false", i + 1 < n_results ? "," : "");
    }
    fprintf(f, "]}\n");
    fclose(f);
}

static void usage(void) {
    fprintf(stderr, "usage: bench_process [--quick] [--json PATH] [--python PATH] [--check] [-q]\n");
    exit(2);
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) opt.quick = 1;
        else if (!strcmp(argv[i], "--check")) opt.check = 1;
        else if (!strcmp(argv[i], "-q")) opt.quiet = 1;
        else if (!strcmp(argv[i], "--json") && i + 1 < argc) opt.json = argv[++i];
        else if (!strcmp(argv[i], "--python") && i + 1 < argc) opt.python = argv[++i];
        else usage();
    }
    size = opt.quick ? QUICK : FULL;
    bench_start_join();
    bench_map_overhead();
    bench_round_trip();
    bench_workload();
    print_table();
    if (opt.json) write_json();
    int missed = 0;
    for (int i = 0; i < n_results; i++) {
        missed += results[i].met == 0;
        bench_summary_free(&results[i].ours);
        bench_summary_free(&results[i].other);
    }
    return opt.check && missed ? 1 : 0;
}
