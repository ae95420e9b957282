/* bench_runtime.c — libconclab against raw pthreads, side by side in one run, and the emulated
 * GIL's experiments (issue 4 item 8). See tests/bench/README.md for how to run and read it.
 *
 * Every figure is the median of repeated trials (p10 and p90 beside it); trials of conclab and
 * of its raw counterpart alternate, so a burst of load on the machine hits both. It is a
 * benchmark, not a test: ctest runs `--quick` only to show that it works (bench_runtime_smoke),
 * and the exit status ignores the figures unless --check is given. */
#include <conclab.h>

#include "bench_stats.h"
#include "lock_pairs.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- options and sizes ----------------------------------------------------------------------- */

typedef struct sizes {
    int trials;             /* trials of each primitive measure */
    long lock_pairs;        /* acquire+release pairs per uncontended trial */
    long contended_ops;     /* acquire+release pairs per thread per contended trial */
    int thread_pairs;       /* start+join pairs per trial */
    int pool_samples;       /* submit->result round trips (each one is a sample) */
    int gil_trials;         /* trials of each GIL experiment */
    double cpu_seconds;     /* one thread's share of CPU-bound work */
    int io_sleeps;          /* cl_sleep(IO_SLEEP_SECONDS) calls per I/O-bound thread */
    int convoy_samples;     /* wake-ups measured per convoy run */
} sizes;

static const sizes FULL = {15, 2000000, 500000, 300, 20000, 5, 0.5, 10, 300};
static const sizes QUICK = {3, 100000, 20000, 30, 500, 1, 0.05, 5, 40};

#define IO_THREADS 3
#define IO_SLEEP_SECONDS 0.010
#define CONVOY_SLEEP_SECONDS 0.001
#define DEFAULT_INTERVAL 0.005

static struct {
    const char *json;
    int quick, check, quiet;
} opt;

static sizes size;

static void progress(const char *what) {
    if (!opt.quiet) fprintf(stderr, "bench_runtime: %s\n", what);
}

/* ---- statistics -------------------------------------------------------------------------------- */

typedef bench_summary summary;
#define summarize bench_summarize

/* ---- results: what the table and the JSON file show ------------------------------------------- */

typedef struct result {
    const char *section;
    char name[80];
    const char *unit;
    summary ours, raw;   /* raw.n == 0: no raw counterpart */
    double ratio;        /* NAN: none */
    const char *ratio_of;
    char target[40];     /* "" when there is none */
    int met;             /* 1, 0, or -1 without a target */
    char note[80];
} result;

#define MAX_RESULTS 32
static result results[MAX_RESULTS];
static int n_results;

static result *add_result(const char *section, const char *name, const char *unit) {
    if (n_results == MAX_RESULTS) {
        fprintf(stderr, "bench_runtime: too many results\n");
        exit(2);
    }
    result *r = &results[n_results++];
    memset(r, 0, sizeof *r);
    r->section = section;
    snprintf(r->name, sizeof r->name, "%s", name);
    r->unit = unit;
    r->ratio = NAN;
    r->ratio_of = "";
    r->met = -1;
    return r;
}

static void set_target(result *r, int met, const char *fmt, double value) {
    snprintf(r->target, sizeof r->target, fmt, value);
    r->met = met;
}

/* ---- work that the compiler cannot remove ---------------------------------------------------- */

/* Where results go so the work is not optimized away; threads write it, hence atomically. */
static long sink;

/* xorshift steps: pure CPU, no memory traffic, no calls into the runtime. */
static unsigned long compute(long steps, unsigned long x) {
    for (long i = 0; i < steps; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    return x;
}

static long steps_per_second;

static void calibrate(void) {
    double best = 1e9;
    long steps = 1L << 22;
    for (int i = 0; i < 3; i++) {
        double start = cl_now();
        cl_atomic_store(&sink, (long)compute(steps, 88172645463325252UL + (unsigned long)i));
        double took = cl_now() - start;
        if (took < best) best = took;
    }
    steps_per_second = (long)((double)steps / best);
}

static void *nothing(void *arg) { return arg; }

/* ---- 1. uncontended lock/unlock ------------------------------------------------------------ */

static void bench_uncontended(void) {
    progress("uncontended lock/unlock");
    cl_lock *l = cl_lock_new();
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    double ours[64], raw[64];
    cl_lock_pairs_ns(l, size.lock_pairs / 10); /* warm up */
    mutex_pairs_ns(&m, size.lock_pairs / 10);
    for (int t = 0; t < size.trials; t++) {
        ours[t] = cl_lock_pairs_ns(l, size.lock_pairs);
        raw[t] = mutex_pairs_ns(&m, size.lock_pairs);
    }
    cl_lock_free(l);
    result *r = add_result("primitives", "uncontended lock+unlock", "ns/pair");
    r->ours = summarize(ours, size.trials);
    r->raw = summarize(raw, size.trials);
    r->ratio = r->ours.median / r->raw.median;
    r->ratio_of = "conclab / pthread";
    set_target(r, r->ratio <= 1.2, "<= %.1fx", 1.2);
}

/* ---- 2. contended lock throughput, 2 threads ---------------------------------------------- */

typedef struct contended {
    cl_lock *lock;          /* conclab's, or NULL for the pthread mutex */
    pthread_mutex_t mutex;
    long ops, counter, ready, go;
    double finished[2];
} contended;

typedef struct contender {
    contended *c;
    int index;
} contender;

static void *contend(void *arg) {
    contender *me = arg;
    contended *c = me->c;
    cl_atomic_add(&c->ready, 1);
    while (!cl_atomic_load(&c->go))
        ;
    for (long i = 0; i < c->ops; i++) {
        if (c->lock) {
            cl_lock_acquire(c->lock);
            c->counter++;
            cl_lock_release(c->lock);
        } else {
            pthread_mutex_lock(&c->mutex);
            c->counter++;
            pthread_mutex_unlock(&c->mutex);
        }
    }
    c->finished[me->index] = cl_now();
    return NULL;
}

/* Millions of acquire+release pairs per second, both threads together. */
static double contended_mops(int use_cl) {
    contended c;
    memset(&c, 0, sizeof c);
    pthread_mutex_init(&c.mutex, NULL);
    c.lock = use_cl ? cl_lock_new() : NULL;
    c.ops = size.contended_ops;
    contender who[2] = {{&c, 0}, {&c, 1}};
    cl_thread *cl_threads[2];
    pthread_t raw_threads[2];
    for (int i = 0; i < 2; i++) {
        if (use_cl) cl_threads[i] = cl_thread_start(contend, &who[i]);
        else pthread_create(&raw_threads[i], NULL, contend, &who[i]);
    }
    while (cl_atomic_load(&c.ready) < 2)
        ;
    double start = cl_now();
    cl_atomic_store(&c.go, 1);
    for (int i = 0; i < 2; i++) {
        if (use_cl) cl_thread_join(cl_threads[i]);
        else pthread_join(raw_threads[i], NULL);
    }
    double end = c.finished[0] > c.finished[1] ? c.finished[0] : c.finished[1];
    if (c.counter != 2 * c.ops) {
        fprintf(stderr, "bench_runtime: contended counter is %ld, expected %ld\n", c.counter,
                2 * c.ops);
        exit(2);
    }
    if (c.lock) cl_lock_free(c.lock);
    pthread_mutex_destroy(&c.mutex);
    return 2.0 * (double)c.ops / (end - start) / 1e6;
}

static void bench_contended(void) {
    progress("contended lock, 2 threads");
    double ours[64], raw[64];
    for (int t = 0; t < size.trials; t++) {
        ours[t] = contended_mops(1);
        raw[t] = contended_mops(0);
    }
    result *r = add_result("primitives", "contended lock, 2 threads", "Mpairs/s");
    r->ours = summarize(ours, size.trials);
    r->raw = summarize(raw, size.trials);
    r->ratio = r->ours.median / r->raw.median;
    r->ratio_of = "conclab / pthread (higher is better)";
}

/* ---- 3. thread start+join ------------------------------------------------------------------ */

static double cl_thread_pairs_us(int pairs) {
    double start = cl_now();
    for (int i = 0; i < pairs; i++) cl_thread_join(cl_thread_start(nothing, NULL));
    return (cl_now() - start) / pairs * 1e6;
}

static double pthread_pairs_us(int pairs) {
    double start = cl_now();
    for (int i = 0; i < pairs; i++) {
        pthread_t t;
        pthread_create(&t, NULL, nothing, NULL);
        pthread_join(t, NULL);
    }
    return (cl_now() - start) / pairs * 1e6;
}

static void bench_thread_start(void) {
    progress("thread start+join");
    double ours[64], raw[64];
    cl_thread_pairs_us(size.thread_pairs / 10 + 1);
    pthread_pairs_us(size.thread_pairs / 10 + 1);
    for (int t = 0; t < size.trials; t++) {
        ours[t] = cl_thread_pairs_us(size.thread_pairs);
        raw[t] = pthread_pairs_us(size.thread_pairs);
    }
    result *r = add_result("primitives", "thread start+join", "us/pair");
    r->ours = summarize(ours, size.trials);
    r->raw = summarize(raw, size.trials);
    r->ratio = r->ours.median / r->raw.median;
    r->ratio_of = "conclab / pthread";
}

/* ---- 4. thread pool submit -> result ------------------------------------------------------- */

/* The raw counterpart: one worker thread and a one-slot mailbox under a mutex and a condition. */
typedef struct mailbox {
    pthread_mutex_t mutex;
    pthread_cond_t changed;
    int state; /* 0 empty, 1 task posted, 2 result ready, 3 quit */
    void *arg, *result;
} mailbox;

static void *mailbox_worker(void *arg) {
    mailbox *m = arg;
    pthread_mutex_lock(&m->mutex);
    for (;;) {
        while (m->state != 1 && m->state != 3) pthread_cond_wait(&m->changed, &m->mutex);
        if (m->state == 3) break;
        m->result = nothing(m->arg);
        m->state = 2;
        pthread_cond_broadcast(&m->changed);
    }
    pthread_mutex_unlock(&m->mutex);
    return NULL;
}

static double mailbox_round_trip_us(mailbox *m) {
    double start = cl_now();
    pthread_mutex_lock(&m->mutex);
    m->arg = m;
    m->state = 1;
    pthread_cond_broadcast(&m->changed);
    while (m->state != 2) pthread_cond_wait(&m->changed, &m->mutex);
    m->state = 0;
    pthread_mutex_unlock(&m->mutex);
    return (cl_now() - start) * 1e6;
}

static double pool_round_trip_us(cl_pool *p) {
    double start = cl_now();
    cl_future *f = cl_pool_submit(p, nothing, p);
    void *value = NULL;
    cl_future_status status = cl_future_result(f, CL_FOREVER, &value);
    double took = (cl_now() - start) * 1e6;
    cl_future_free(f);
    if (status != CL_FUTURE_OK || value != p) {
        fprintf(stderr, "bench_runtime: a pool task did not return its argument\n");
        exit(2);
    }
    return took;
}

static void bench_pool(int workers, const char *name) {
    progress(name);
    cl_pool *p = cl_pool_new(workers);
    mailbox m = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, NULL, NULL};
    pthread_t worker;
    pthread_create(&worker, NULL, mailbox_worker, &m);
    int n = size.pool_samples;
    double *ours = malloc(sizeof(double) * (size_t)n), *raw = malloc(sizeof(double) * (size_t)n);
    for (int i = 0; i < n / 10; i++) { /* warm up: workers started, caches and pages touched */
        pool_round_trip_us(p);
        mailbox_round_trip_us(&m);
    }
    for (int i = 0; i < n; i++) {
        ours[i] = pool_round_trip_us(p);
        raw[i] = mailbox_round_trip_us(&m);
    }
    pthread_mutex_lock(&m.mutex);
    m.state = 3;
    pthread_cond_broadcast(&m.changed);
    pthread_mutex_unlock(&m.mutex);
    pthread_join(worker, NULL);
    cl_pool_free(p);
    result *r = add_result("primitives", name, "us");
    r->ours = summarize(ours, n);
    r->raw = summarize(raw, n);
    r->ratio = r->ours.median / r->raw.median;
    r->ratio_of = "conclab / mutex+cond mailbox";
    if (workers == 1) set_target(r, r->ours.median <= 20, "median <= %.0f us", 20);
    free(ours);
    free(raw);
}

/* ---- 5. the GIL: CPU-bound threads ----------------------------------------------------------- */

static void *compute_share(void *arg) {
    long steps = (long)(size.cpu_seconds * (double)steps_per_second);
    cl_atomic_store(&sink, (long)compute(steps, (unsigned long)arg + 1));
    return NULL;
}

/* Two threads doing one share each; the caller joins them. */
static double two_threads_seconds(void) {
    double start = cl_now();
    cl_thread *a = cl_thread_start(compute_share, (void *)1);
    cl_thread *b = cl_thread_start(compute_share, (void *)2);
    cl_thread_join(a);
    cl_thread_join(b);
    return cl_now() - start;
}

static void bench_gil_cpu(void) {
    progress("GIL: CPU-bound threads");
    double seq[16], free_run[16], gil_run[16], switches[16];
    for (int t = 0; t < size.gil_trials; t++) {
        double start = cl_now();
        compute_share((void *)1);
        compute_share((void *)2);
        seq[t] = cl_now() - start;
        free_run[t] = two_threads_seconds();
        long before = cl_gil_switch_count();
        CL_WITH_GIL gil_run[t] = two_threads_seconds();
        switches[t] = (double)(cl_gil_switch_count() - before);
    }
    int cpus = cl_cpu_count();
    char name[80];
    snprintf(name, sizeof name, "CPU-bound: 1 thread, 2 x %.2f s of work", size.cpu_seconds);
    result *r = add_result("gil", name, "s");
    r->ours = summarize(seq, size.gil_trials);
    r->ratio = 1;
    r->ratio_of = "x sequential";
    double sequential = r->ours.median;

    r = add_result("gil", "CPU-bound: 2 threads, GIL off", "s");
    r->ours = summarize(free_run, size.gil_trials);
    r->ratio = r->ours.median / sequential;
    r->ratio_of = "x sequential";
    /* Two threads can use two cores at most: ideally 1/2 of the sequential time from 2 cores on. */
    if (cpus >= 2) set_target(r, r->ratio <= 0.75, "about 1/cores (<= %.2fx)", 0.75);
    snprintf(r->note, sizeof r->note, "%d cores", cpus);

    r = add_result("gil", "CPU-bound: 2 threads, GIL on", "s");
    r->ours = summarize(gil_run, size.gil_trials);
    r->ratio = r->ours.median / sequential;
    r->ratio_of = "x sequential";
    set_target(r, r->ratio >= 0.9, ">= %.1fx", 0.9);
    summary s = summarize(switches, size.gil_trials);
    snprintf(r->note, sizeof r->note, "%.0f GIL handovers", s.median);
    bench_summary_free(&s);
}

/* ---- 6. the GIL: I/O-bound (sleeping) threads ------------------------------------------------- */

static void *sleep_repeatedly(void *arg) {
    (void)arg;
    for (int i = 0; i < size.io_sleeps; i++) cl_sleep(IO_SLEEP_SECONDS);
    return NULL;
}

static double sleepers_seconds(void) {
    cl_thread *threads[IO_THREADS];
    double start = cl_now();
    for (int i = 0; i < IO_THREADS; i++) threads[i] = cl_thread_start(sleep_repeatedly, NULL);
    for (int i = 0; i < IO_THREADS; i++) cl_thread_join(threads[i]);
    return cl_now() - start;
}

static void bench_gil_io(void) {
    progress("GIL: sleeping threads");
    double seq[16], free_run[16], gil_run[16];
    for (int t = 0; t < size.gil_trials; t++) {
        double start = cl_now();
        for (int i = 0; i < IO_THREADS; i++) sleep_repeatedly(NULL);
        seq[t] = cl_now() - start;
        free_run[t] = sleepers_seconds();
        CL_WITH_GIL gil_run[t] = sleepers_seconds();
    }
    char name[80];
    snprintf(name, sizeof name, "I/O-bound: %d x %d x cl_sleep(%.0f ms), one after another",
             IO_THREADS, size.io_sleeps, IO_SLEEP_SECONDS * 1e3);
    result *r = add_result("gil", name, "s");
    r->ours = summarize(seq, size.gil_trials);
    r->ratio = 1;
    r->ratio_of = "x sequential";
    double sequential = r->ours.median;
    const char *names[2] = {"I/O-bound: 3 threads, GIL off", "I/O-bound: 3 threads, GIL on"};
    double *runs[2] = {free_run, gil_run};
    for (int i = 0; i < 2; i++) {
        r = add_result("gil", names[i], "s");
        r->ours = summarize(runs[i], size.gil_trials);
        r->ratio = r->ours.median / sequential;
        r->ratio_of = "x sequential";
        set_target(r, r->ratio <= 0.5, "overlap (<= %.1fx)", 0.5);
    }
}

/* ---- 7. the GIL: the convoy effect ------------------------------------------------------------ */

static long convoy_stop;

static void *compute_until_stopped(void *arg) {
    unsigned long x = (unsigned long)arg + 7;
    while (!cl_atomic_load(&convoy_stop)) x = compute(10000, x);
    cl_atomic_store(&sink, (long)x);
    return NULL;
}

static double *wakeups; /* seconds late, one per cl_sleep */

static void *sleep_and_wake(void *arg) {
    (void)arg;
    for (int i = 0; i < size.convoy_samples; i++) {
        double start = cl_now();
        cl_sleep(CONVOY_SLEEP_SECONDS);
        wakeups[i] = (cl_now() - start - CONVOY_SLEEP_SECONDS) * 1e3;
    }
    return NULL;
}

/* One I/O thread sleeping 1 ms at a time, beside a computing thread or not; interval 0: GIL off. */
static void convoy_run(double interval, int with_cpu) {
    char name[80];
    if (interval > 0)
        snprintf(name, sizeof name, "wake-up: GIL on (%g ms)%s", interval * 1e3,
                 with_cpu ? ", + CPU thread" : ", alone");
    else snprintf(name, sizeof name, "wake-up: GIL off%s", with_cpu ? ", + CPU thread" : ", alone");
    progress(name);
    cl_atomic_store(&convoy_stop, 0);
    int was_on = 0;
    if (interval > 0) {
        cl_gil_set_switch_interval(interval);
        was_on = cl_gil_set(1);
    }
    cl_thread *cpu = with_cpu ? cl_thread_start(compute_until_stopped, NULL) : NULL;
    cl_thread_join(cl_thread_start(sleep_and_wake, NULL));
    cl_atomic_store(&convoy_stop, 1);
    if (cpu) cl_thread_join(cpu);
    if (interval > 0) {
        cl_gil_set(was_on);
        cl_gil_set_switch_interval(DEFAULT_INTERVAL);
    }
    result *r = add_result("convoy", name, "ms late");
    r->ours = summarize(wakeups, size.convoy_samples);
    if (interval > 0) {
        r->ratio = r->ours.median / (interval * 1e3);
        r->ratio_of = "median / interval";
        if (with_cpu) set_target(r, r->ratio >= 0.5, "toward the interval (>= %.1fx)", 0.5);
    }
}

static void bench_convoy(void) {
    wakeups = malloc(sizeof(double) * (size_t)size.convoy_samples);
    convoy_run(0, 0);
    convoy_run(0, 1);
    convoy_run(DEFAULT_INTERVAL, 0);
    convoy_run(0.001, 1);
    convoy_run(DEFAULT_INTERVAL, 1);
    if (!opt.quick) convoy_run(0.010, 1);
    free(wakeups);
}

/* ---- output -------------------------------------------------------------------------------------- */

static double load_average(void) {
    double load = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &load) != 1) load = -1;
        fclose(f);
    }
    return load;
}

static void print_figure(const summary *s) {
    char spread[40] = "";
    if (s->n) snprintf(spread, sizeof spread, "[%.3g-%.3g]", s->p10, s->p90);
    if (s->n) printf(" %9.3g %-17s", s->median, spread);
    else printf(" %27s", "");
}

static void print_table(double load_before) {
    printf("\nconclab runtime benchmark (%s): %d CPUs, load average %.2f at start, "
           "medians [p10-p90]\n", opt.quick ? "--quick, figures only indicative" : "full",
           cl_cpu_count(), load_before);
    const char *section = "";
    for (int i = 0; i < n_results; i++) {
        result *r = &results[i];
        if (strcmp(section, r->section) != 0) {
            section = r->section;
            if (strcmp(section, "primitives") == 0)
                printf("\n%-44s %-9s %-27s %-27s %7s  %s\n", "primitive", "unit", " conclab",
                       " raw pthread", "ratio", "target");
            else if (strcmp(section, "gil") == 0)
                printf("\n%-62s %-9s %-27s %7s  %s\n", "GIL experiment", "unit", " time",
                       "ratio", "target");
            else
                printf("\n%-62s %-9s %-27s %7s  %s\n", "convoy: cl_sleep(1 ms) in a loop", "unit",
                       " lateness of each wake-up", "ratio", "target");
        }
        if (strcmp(section, "primitives") == 0) {
            printf("%-44s %-9s", r->name, r->unit);
            print_figure(&r->ours);
            print_figure(&r->raw);
        } else {
            printf("%-62s %-9s", r->name, r->unit);
            print_figure(&r->ours);
        }
        if (isnan(r->ratio)) printf(" %7s", "");
        else printf(" %7.2f", r->ratio);
        if (r->met >= 0) printf("  %s %s", r->target, r->met ? "ok" : "MISSED");
        if (r->note[0]) printf("  (%s)", r->note);
        printf("\n");
    }
    printf("\nratios: primitives conclab / raw (contended: throughput, higher is better); GIL "
           "experiments x the sequential run; convoy median / switch interval\n");
}

/* Names and targets are our own literals: nothing in them needs escaping. */
static int write_json(const char *path, double load_before) {
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 0;
    }
    fprintf(f, "{\n  \"benchmark\": \"bench_runtime\",\n  \"quick\": %s,\n  \"cpus\": %d,\n"
               "  \"load_average\": ", opt.quick ? "true" : "false", cl_cpu_count());
    bench_json_number(f, load_before);
    fprintf(f, ",\n  \"trials\": %d,\n  \"gil_trials\": %d,\n  \"results\": [\n", size.trials,
            size.gil_trials);
    for (int i = 0; i < n_results; i++) {
        result *r = &results[i];
        fprintf(f, "    {\"section\": \"%s\", \"name\": \"%s\", \"unit\": \"%s\", \"conclab\": ",
                r->section, r->name, r->unit);
        bench_json_summary(f, &r->ours);
        fprintf(f, ", \"raw\": ");
        bench_json_summary(f, &r->raw);
        fprintf(f, ", \"ratio\": ");
        bench_json_number(f, r->ratio);
        fprintf(f, ", \"ratio_of\": \"%s\", \"target\": \"%s\", \"met\": %s, \"note\": \"%s\"}%s\n",
                r->ratio_of, r->target, r->met < 0 ? "null" : r->met ? "true" : "false", r->note,
                i + 1 < n_results ? "," : "");
    }
    fprintf(f, "  ]\n}\n");
    return fclose(f) == 0;
}

static void usage(void) {
    fprintf(stderr, "usage: bench_runtime [--quick] [--json FILE] [--check] [-q]\n"
                    "  --quick      a few trials: a smoke run, figures only indicative\n"
                    "  --json FILE  also write every sample, the medians and the ratios to FILE\n"
                    "  --check      exit 1 when a target is missed\n"
                    "  -q           no progress lines on stderr\n");
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) opt.quick = 1;
        else if (strcmp(argv[i], "--check") == 0) opt.check = 1;
        else if (strcmp(argv[i], "-q") == 0) opt.quiet = 1;
        else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc) opt.json = argv[++i];
        else {
            usage();
            return 2;
        }
    }
    size = opt.quick ? QUICK : FULL;
    double load_before = load_average();
    calibrate();

    bench_uncontended();
    bench_contended();
    bench_thread_start();
    bench_pool(1, "pool submit->result, 1 worker");
    bench_pool(0, "pool submit->result, 1 worker per CPU");
    bench_gil_cpu();
    bench_gil_io();
    bench_convoy();

    print_table(load_before);
    if (opt.json && !write_json(opt.json, load_before)) return 2;
    int missed = 0;
    for (int i = 0; i < n_results; i++) missed += results[i].met == 0;
    for (int i = 0; i < n_results; i++) {
        bench_summary_free(&results[i].ours);
        bench_summary_free(&results[i].raw);
    }
    if (missed) printf("%d target%s missed\n", missed, missed == 1 ? "" : "s");
    return opt.check && missed ? 1 : 0;
}
