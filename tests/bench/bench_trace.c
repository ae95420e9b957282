/* bench_trace.c — what tracing (conclab/trace.h) and the bug-finding listeners (conclab/chaos.h)
 * cost, side by side in one run (issue 13 item 3, issue 17 item 4):
 *
 *   per event, recording on       (lock+unlock pairs traced - untraced) / 2 events; <= 100 ns
 *   uncontended lock+unlock       cl_lock with tracing compiled in and off, against a raw
 *                                 pthread mutex; <= 1.2x. Twice: while the process has one
 *                                 thread (glibc and cl_lock then skip atomic instructions), and
 *                                 after a second thread has run (both use them)
 *   task switch                   two event-loop tasks handing over with cl_async_sleep(0),
 *                                 tracing off and on (each handover records a suspend and a
 *                                 resume); informational. The coroutine context switch itself
 *                                 carries no probe: bench_coro measures it (target <= 20 ns).
 *   lock-order checking           lock+unlock alone and a nested pair (a, then b while a is held:
 *                                 one order looked up per pair), checking on against off;
 *                                 <= 100 ns added per lock taken
 *   chaos compiled in and off     cl_atomic_add against gcc's __atomic_add_fetch; informational
 *
 * Every figure is the median of repeated trials (p10 and p90 beside it); the trials of the two
 * sides alternate, so a burst of load on the machine hits both. Each traced trial starts a new
 * recording and stays well inside its buffers, so no event is dropped (that path is cheaper).
 * A benchmark, not a test: ctest runs --quick only to show that it works (bench_trace_smoke),
 * and the exit status ignores the figures unless --check is given. */
#include <conclab.h>

#include "bench_stats.h"
#include "lock_pairs.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sizes {
    int trials;
    long lock_pairs;      /* per untraced trial */
    long traced_pairs;    /* per traced trial: 2 events each, well under the buffers' million */
    long task_switches;   /* per trial */
} sizes;

static const sizes FULL = {15, 2000000, 200000, 200000};
static const sizes QUICK = {3, 100000, 50000, 20000};

static struct {
    const char *json;
    int quick, check;
} opt;

static sizes size;

/* ---- the machine --------------------------------------------------------------------------- */

static void cpu_model(char *out, size_t cap) {
    snprintf(out, cap, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];
    if (!f) return;
    while (fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) != 0 || !colon) continue;
        snprintf(out, cap, "%s", colon + 2);
        out[strcspn(out, "\n")] = '\0';
        break;
    }
    fclose(f);
}

/* ---- measures ------------------------------------------------------------------------------ */

static double traced_lock_pairs_ns(cl_lock *l, long pairs) {
    cl_trace_start();
    double ns = cl_lock_pairs_ns(l, pairs);
    cl_trace_stop();
    if (cl_trace_dropped()) fprintf(stderr, "bench_trace: events dropped: figures too low\n");
    return ns;
}

static long switches_left;

static void *ping(void *arg) {
    (void)arg;
    while (switches_left > 0) {
        switches_left--;
        cl_async_sleep(0);
    }
    return NULL;
}

static void *two_tasks(void *arg) {
    (void)arg;
    cl_future *f[2] = {cl_async_create_task(ping, NULL), cl_async_create_task(ping, NULL)};
    cl_async_gather(f, 2, 0);
    cl_future_free(f[0]);
    cl_future_free(f[1]);
    return NULL;
}

static double task_switch_ns(int traced) {
    switches_left = size.task_switches;
    if (traced) cl_trace_start();
    double start = cl_now();
    cl_async_run(two_tasks, NULL, NULL);
    double ns = (cl_now() - start) / (double)size.task_switches * 1e9;
    if (traced) cl_trace_stop();
    return ns;
}

/* ---- results ------------------------------------------------------------------------------- */

typedef struct result {
    const char *name, *unit, *left_name, *right_name;
    bench_summary left, right;
    double figure;       /* the ratio or the per-event cost */
    const char *figure_of;
    const char *target;
    int met;             /* -1: no target */
} result;

static result results[12];
static int n_results;

static result *add(const char *name, const char *unit, const char *left, const char *right) {
    result *r = &results[n_results++];
    memset(r, 0, sizeof *r);
    r->name = name;
    r->unit = unit;
    r->left_name = left;
    r->right_name = right;
    r->met = -1;
    r->figure = NAN;
    return r;
}

/* A row of cl_lock against a pthread mutex (ns per pair, trial by trial): within 1.2x. */
static void add_lock_ratio(const char *name, const double *ours, const double *raw) {
    result *r = add(name, "ns/pair", "conclab", "pthread");
    r->left = bench_summarize(ours, size.trials);
    r->right = bench_summarize(raw, size.trials);
    r->figure = r->left.median / r->right.median;
    r->figure_of = "ratio";
    r->target = "<= 1.2x";
    r->met = r->figure <= 1.2;
}

static void bench_lock(void) {
    cl_lock *l = cl_lock_new();
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    double off[64], raw[64], on[64];
    cl_lock_pairs_ns(l, size.lock_pairs / 10); /* warm up, and fault the trace buffers in */
    mutex_pairs_ns(&m, size.lock_pairs / 10);
    traced_lock_pairs_ns(l, size.traced_pairs);
    for (int t = 0; t < size.trials; t++) {
        off[t] = cl_lock_pairs_ns(l, size.lock_pairs);
        raw[t] = mutex_pairs_ns(&m, size.lock_pairs);
        on[t] = traced_lock_pairs_ns(l, size.traced_pairs);
    }
    cl_lock_free(l);
    add_lock_ratio("uncontended lock+unlock, tracing off", off, raw);
    result *e = add("one event recorded (lock+unlock: 2 events)", "ns/pair", "traced", "untraced");
    e->left = bench_summarize(on, size.trials);
    e->right = bench_summarize(off, size.trials);
    e->figure = (e->left.median - e->right.median) / 2;
    e->figure_of = "ns/event";
    e->target = "<= 100 ns";
    e->met = e->figure <= 100;
}

static void *nothing(void *arg) { return arg; }

/* Once a second thread has existed, glibc's mutex and cl_lock both use atomic instructions. */
static void bench_lock_threaded(void) {
    cl_thread_join(cl_thread_start(nothing, NULL));
    cl_lock *l = cl_lock_new();
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    double off[64], raw[64];
    cl_lock_pairs_ns(l, size.lock_pairs / 10);
    mutex_pairs_ns(&m, size.lock_pairs / 10);
    for (int t = 0; t < size.trials; t++) {
        off[t] = cl_lock_pairs_ns(l, size.lock_pairs);
        raw[t] = mutex_pairs_ns(&m, size.lock_pairs);
    }
    cl_lock_free(l);
    add_lock_ratio("  ... after a second thread has run (atomics)", off, raw);
}

static void bench_task_switch(void) {
    double off[64], on[64];
    task_switch_ns(0);
    for (int t = 0; t < size.trials; t++) {
        off[t] = task_switch_ns(0);
        on[t] = task_switch_ns(1);
    }
    result *r = add("task switch (cl_async_sleep(0) between two tasks)", "ns/switch", "untraced",
                    "traced");
    r->left = bench_summarize(off, size.trials);
    r->right = bench_summarize(on, size.trials);
    r->figure = r->right.median / r->left.median;
    r->figure_of = "traced/untraced";
}

static double nested_pairs_ns(cl_lock *outer, cl_lock *inner, long pairs) {
    double start = cl_now();
    for (long i = 0; i < pairs; i++) {
        cl_lock_acquire(outer);
        cl_lock_acquire(inner);
        cl_lock_release(inner);
        cl_lock_release(outer);
    }
    return (cl_now() - start) / (double)pairs * 1e9;
}

/* A row of checking on against off: what checking adds per lock taken (`locks` per pair). */
static void add_checking_cost(const char *name, const double *on, const double *off, int locks) {
    result *r = add(name, "ns/pair", "checked", "unchecked");
    r->left = bench_summarize(on, size.trials);
    r->right = bench_summarize(off, size.trials);
    r->figure = (r->left.median - r->right.median) / locks;
    r->figure_of = "ns/lock taken";
    r->target = "<= 100 ns";
    r->met = r->figure <= 100;
}

static void bench_lockcheck(void) {
    cl_lock *a = cl_lock_new(), *b = cl_lock_new();
    double single_off[64], single_on[64], nested_off[64], nested_on[64];
    for (int t = 0; t < size.trials; t++) {
        single_off[t] = cl_lock_pairs_ns(a, size.lock_pairs / 4);
        nested_off[t] = nested_pairs_ns(a, b, size.lock_pairs / 8);
        cl_lockcheck_enable(1);
        single_on[t] = cl_lock_pairs_ns(a, size.lock_pairs / 4);
        nested_on[t] = nested_pairs_ns(a, b, size.lock_pairs / 8);
        cl_lockcheck_enable(0);
    }
    cl_lock_free(a);
    cl_lock_free(b);
    add_checking_cost("lock+unlock, lock-order checking on vs off", single_on, single_off, 1);
    add_checking_cost("nested pair (b taken while a held), on vs off", nested_on, nested_off, 2);
}

static double atomic_adds_ns(int ours, long n) {
    long word = 0;
    double start = cl_now();
    for (long i = 0; i < n; i++) {
        if (ours) cl_atomic_add(&word, 1);
        else __atomic_add_fetch(&word, 1, __ATOMIC_SEQ_CST);
    }
    return (cl_now() - start) / (double)n * 1e9;
}

static void bench_chaos_off(void) {
    double ours[64], raw[64];
    for (int t = 0; t < size.trials; t++) {
        ours[t] = atomic_adds_ns(1, size.lock_pairs);
        raw[t] = atomic_adds_ns(0, size.lock_pairs);
    }
    result *r = add("atomic add: cl_atomic_add (chaos off) vs builtin", "ns/add", "conclab", "builtin");
    r->left = bench_summarize(ours, size.trials);
    r->right = bench_summarize(raw, size.trials);
    r->figure = r->left.median / r->right.median;
    r->figure_of = "ratio";
}

/* ---- report -------------------------------------------------------------------------------- */

static void print_side(const char *name, const bench_summary *s) {
    char spread[48];
    snprintf(spread, sizeof spread, "[%.3g-%.3g]", s->p10, s->p90);
    printf("  %-9s %9.3g %-19s", name, s->median, spread);
}

static void print_table(const char *cpu) {
    printf("\nconclab tracing and checking benchmark (%s): %s, %d CPUs, medians [p10-p90]\n",
           opt.quick ? "--quick, figures only indicative" : "full", cpu, cl_cpu_count());
    for (int i = 0; i < n_results; i++) {
        result *r = &results[i];
        printf("%-50s %-9s", r->name, r->unit);
        print_side(r->left_name, &r->left);
        print_side(r->right_name, &r->right);
        printf(" %8.3g %-15s", r->figure, r->figure_of);
        if (r->met >= 0) printf(" %s %s", r->target, r->met ? "ok" : "MISSED");
        printf("\n");
    }
}

static int write_json(const char *path, const char *cpu) {
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 0;
    }
    fprintf(f, "{\n  \"benchmark\": \"bench_trace\",\n  \"quick\": %s,\n  \"cpu_model\": \"%s\",\n"
               "  \"cpus\": %d,\n  \"results\": [\n", opt.quick ? "true" : "false", cpu,
            cl_cpu_count());
    for (int i = 0; i < n_results; i++) {
        result *r = &results[i];
        fprintf(f, "    {\"name\": \"%s\", \"unit\": \"%s\", \"%s\": ", r->name, r->unit,
                r->left_name);
        bench_json_summary(f, &r->left);
        fprintf(f, ", \"%s\": ", r->right_name);
        bench_json_summary(f, &r->right);
        fprintf(f, ", \"%s\": ", r->figure_of);
        bench_json_number(f, r->figure);
        fprintf(f, ", \"met\": %s}%s\n", r->met < 0 ? "null" : r->met ? "true" : "false",
                i + 1 < n_results ? "," : "");
    }
    fprintf(f, "  ]\n}\n");
    return fclose(f) == 0;
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) opt.quick = 1;
        else if (strcmp(argv[i], "--check") == 0) opt.check = 1;
        else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc) opt.json = argv[++i];
        else {
            fprintf(stderr, "usage: bench_trace [--quick] [--json FILE] [--check]\n");
            return 2;
        }
    }
    size = opt.quick ? QUICK : FULL;
    char cpu[160];
    cpu_model(cpu, sizeof cpu);
    bench_lock();          /* first: while the process has one thread */
    bench_lock_threaded();
    bench_task_switch();
    bench_lockcheck();
    bench_chaos_off();
    print_table(cpu);
    if (opt.json && !write_json(opt.json, cpu)) return 2;
    int missed = 0;
    for (int i = 0; i < n_results; i++) {
        missed += results[i].met == 0;
        bench_summary_free(&results[i].left);
        bench_summary_free(&results[i].right);
    }
    if (missed) printf("%d target%s missed\n", missed, missed == 1 ? "" : "s");
    return opt.check && missed ? 1 : 0;
}
