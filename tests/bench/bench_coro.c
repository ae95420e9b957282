/* bench_coro.c — the coroutine core (issue 6 item 10: context switch, task create -> complete)
 * against glibc's swapcontext, side by side in one run. See tests/bench/README.md.
 *
 * The coroutine API is internal to libconclab, so this program compiles runtime/src/aio/context.c,
 * coro.c and coro_guard.c in (bench_coro.cmake), with -O2 as the library is built.
 *
 * Every figure is the median of repeated trials (p10 and p90 beside it); trials of conclab and
 * of swapcontext alternate, so a burst of load on the machine hits both. A benchmark, not a test:
 * ctest runs `--quick` only to show that it works (bench_coro_smoke), and the exit status
 * ignores the figures unless --check is given. */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "bench_stats.h"
#include "coro.h"

/* ---- options and sizes ------------------------------------------------------------------------ */

typedef struct sizes {
    int trials;        /* trials of the switch measure */
    long switch_pairs; /* resume+yield pairs per switch trial */
    int create_samples;/* samples of create -> finish; each the mean of a batch */
    int create_batch;
    long many;         /* coroutines alive at once in the "many" measure */
    int many_trials;
} sizes;

static const sizes FULL = {15, 2000000, 2000, 100, 100000, 5};
static const sizes QUICK = {3, 100000, 200, 50, 10000, 1};

static struct {
    const char *json;
    int quick, check, quiet;
} opt;

static sizes size;

static void progress(const char *what) {
    if (!opt.quiet) fprintf(stderr, "bench_coro: %s\n", what);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *must(void *p) {
    if (!p) {
        fprintf(stderr, "bench_coro: out of memory\n");
        exit(2);
    }
    return p;
}

/* ---- statistics ------------------------------------------------------------------------------- */

typedef bench_summary summary;
#define summarize bench_summarize

typedef struct result {
    char name[64];
    const char *unit;
    summary ours, anchor; /* anchor.n == 0: none */
    double ratio;         /* ours / anchor, NAN without one */
    char target[32];
    int met;              /* 1, 0, or -1 without a target */
} result;

#define MAX_RESULTS 8
static result results[MAX_RESULTS];
static int n_results;

static result *add_result(const char *name, const char *unit) {
    result *r = &results[n_results++];
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", name);
    r->unit = unit;
    r->ratio = NAN;
    r->met = -1;
    return r;
}

/* ---- 1. switch: resume + yield, each pair is two switches ------------------------------------- */

static void yield_forever(void *arg) {
    (void)arg;
    for (;;) cl__coro_yield();
}

static double coro_switch_ns(cl_coro *c, long pairs) {
    double start = now();
    for (long i = 0; i < pairs; i++) cl__coro_resume(c);
    return (now() - start) / (double)(2 * pairs) * 1e9;
}

static ucontext_t uc_main, uc_other;

static void swap_forever(void) {
    for (;;) swapcontext(&uc_other, &uc_main);
}

static double ucontext_switch_ns(long pairs) {
    double start = now();
    for (long i = 0; i < pairs; i++) swapcontext(&uc_main, &uc_other);
    return (now() - start) / (double)(2 * pairs) * 1e9;
}

static void bench_switch(void) {
    progress("context switch");
    cl_coro *c = must(cl__coro_create(yield_forever, NULL, "switcher", 0));
    char *stack = must(malloc(CL_CORO_DEFAULT_STACK));
    getcontext(&uc_other);
    uc_other.uc_stack.ss_sp = stack;
    uc_other.uc_stack.ss_size = CL_CORO_DEFAULT_STACK;
    uc_other.uc_link = NULL;
    makecontext(&uc_other, swap_forever, 0);

    double *ours = must(calloc((size_t)size.trials, sizeof(double)));
    double *anchor = must(calloc((size_t)size.trials, sizeof(double)));
    coro_switch_ns(c, size.switch_pairs / 10); /* warm up */
    ucontext_switch_ns(size.switch_pairs / 10);
    for (int t = 0; t < size.trials; t++) {
        ours[t] = coro_switch_ns(c, size.switch_pairs);
        anchor[t] = ucontext_switch_ns(size.switch_pairs);
    }
    result *r = add_result("context switch (resume+yield / 2)", "ns");
    r->ours = summarize(ours, size.trials);
    r->anchor = summarize(anchor, size.trials);
    r->ratio = r->ours.median / r->anchor.median;
    snprintf(r->target, sizeof r->target, "<= 20 ns");
    r->met = r->ours.median <= 20;
    free(ours);
    free(anchor);
    free(stack); /* the ucontext never runs again; the coroutine is dropped suspended */
    cl__coro_free(c);
}

/* ---- 2. create -> run -> finish of an empty coroutine ----------------------------------------- */

static long ran;

static void empty(void *arg) {
    (void)arg;
    ran++;
}

static double coro_create_ns(int batch) {
    double start = now();
    for (int i = 0; i < batch; i++) {
        cl_coro *c = cl__coro_create(empty, NULL, "empty", 0);
        cl__coro_resume(c);
        cl__coro_free(c);
    }
    return (now() - start) / batch * 1e9;
}

static void empty_ucontext(void) { ran++; }

/* The anchor does the least a ucontext can: a stack kept from one run to the next (as our cache
 * keeps them), makecontext, a swap in and the uc_link back. */
static __attribute__((noinline)) void ucontext_run_once(char *stack) {
    getcontext(&uc_other);
    uc_other.uc_stack.ss_sp = stack;
    uc_other.uc_stack.ss_size = CL_CORO_DEFAULT_STACK;
    uc_other.uc_link = &uc_main;
    makecontext(&uc_other, empty_ucontext, 0);
    swapcontext(&uc_main, &uc_other);
}

static double ucontext_create_ns(int batch, char *stack) {
    double start = now();
    for (int i = 0; i < batch; i++) ucontext_run_once(stack);
    return (now() - start) / batch * 1e9;
}

static void bench_create(void) {
    progress("create -> run -> finish");
    char *stack = must(malloc(CL_CORO_DEFAULT_STACK));
    int n = size.create_samples;
    double *ours = must(calloc((size_t)n, sizeof(double)));
    double *anchor = must(calloc((size_t)n, sizeof(double)));
    coro_create_ns(size.create_batch);
    ucontext_create_ns(size.create_batch, stack);
    for (int i = 0; i < n; i++) {
        ours[i] = coro_create_ns(size.create_batch);
        anchor[i] = ucontext_create_ns(size.create_batch, stack);
    }
    result *r = add_result("create -> run -> finish, empty body", "ns");
    r->ours = summarize(ours, n);
    r->anchor = summarize(anchor, n);
    r->ratio = r->ours.median / r->anchor.median;
    snprintf(r->target, sizeof r->target, "<= 1000 ns");
    r->met = r->ours.median <= 1000;
    free(ours);
    free(anchor);
    free(stack);
}

/* ---- 3. many alive at once (the 100 000 sleeping tasks, without the loop) -------------- */

static void park(void *arg) {
    (void)arg;
    cl__coro_yield();
}

static void bench_many(void) {
    progress("many coroutines alive at once");
    cl_coro **all = must(calloc((size_t)size.many, sizeof *all));
    double *per = must(calloc((size_t)size.many_trials, sizeof(double)));
    for (int t = 0; t < size.many_trials; t++) {
        double start = now();
        for (long i = 0; i < size.many; i++) {
            all[i] = must(cl__coro_create(park, NULL, NULL, 0));
            cl__coro_resume(all[i]);
        }
        for (long i = 0; i < size.many; i++) {
            cl__coro_resume(all[i]);
            cl__coro_free(all[i]);
        }
        per[t] = (now() - start) / (double)size.many * 1e9;
    }
    char name[64];
    snprintf(name, sizeof name, "%ld alive: create, park, finish, free", size.many);
    result *r = add_result(name, "ns/coro");
    r->ours = summarize(per, size.many_trials);
    free(per);
    free(all);
}

/* ---- output ----------------------------------------------------------------------------------- */

static void print_figure(const summary *s) {
    char spread[40] = "";
    if (s->n) snprintf(spread, sizeof spread, "[%.3g-%.3g]", s->p10, s->p90);
    if (s->n) printf(" %9.3g %-17s", s->median, spread);
    else printf(" %27s", "");
}

static void print_table(void) {
    printf("\nconclab coroutine benchmark (%s): %ld CPUs, %d KiB default stack, medians [p10-p90]\n\n",
           opt.quick ? "--quick, figures only indicative" : "full", sysconf(_SC_NPROCESSORS_ONLN),
           CL_CORO_DEFAULT_STACK / 1024);
    printf("%-44s %-8s %-27s %-27s %7s  %s\n", "measure", "unit", " conclab", " swapcontext", "ratio",
           "target");
    for (int i = 0; i < n_results; i++) {
        result *r = &results[i];
        printf("%-44s %-8s", r->name, r->unit);
        print_figure(&r->ours);
        print_figure(&r->anchor);
        if (isnan(r->ratio)) printf(" %7s", "");
        else printf(" %7.2f", r->ratio);
        if (r->met >= 0) printf("  %s %s", r->target, r->met ? "ok" : "MISSED");
        printf("\n");
    }
    printf("\nratio: conclab / swapcontext (lower is better)\n");
}

/* Names and targets are our own literals: nothing in them needs escaping. */
static int write_json(const char *path) {
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 0;
    }
    fprintf(f, "{\n  \"benchmark\": \"bench_coro\",\n  \"quick\": %s,\n  \"cpus\": %ld,\n"
               "  \"default_stack\": %d,\n  \"results\": [\n",
            opt.quick ? "true" : "false", sysconf(_SC_NPROCESSORS_ONLN), CL_CORO_DEFAULT_STACK);
    for (int i = 0; i < n_results; i++) {
        result *r = &results[i];
        fprintf(f, "    {\"name\": \"%s\", \"unit\": \"%s\", \"conclab\": ", r->name, r->unit);
        bench_json_summary(f, &r->ours);
        fprintf(f, ", \"swapcontext\": ");
        bench_json_summary(f, &r->anchor);
        fprintf(f, ", \"ratio\": ");
        bench_json_number(f, r->ratio);
        fprintf(f, ", \"target\": \"%s\", \"met\": %s}%s\n", r->target,
                r->met < 0 ? "null" : r->met ? "true" : "false", i + 1 < n_results ? "," : "");
    }
    fprintf(f, "  ]\n}\n");
    return fclose(f) == 0;
}

static void usage(void) {
    fprintf(stderr, "usage: bench_coro [--quick] [--json FILE] [--check] [-q]\n"
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
    bench_switch();
    bench_create();
    bench_many();
    if (ran != (long)(size.create_samples + 1) * size.create_batch * 2) {
        fprintf(stderr, "bench_coro: %ld empty bodies ran, expected %ld\n", ran,
                (long)(size.create_samples + 1) * size.create_batch * 2);
        return 2;
    }
    print_table();
    if (opt.json && !write_json(opt.json)) return 2;
    int missed = 0;
    for (int i = 0; i < n_results; i++) {
        missed += results[i].met == 0;
        bench_summary_free(&results[i].ours);
        bench_summary_free(&results[i].anchor);
    }
    if (missed) printf("%d target%s missed\n", missed, missed == 1 ? "" : "s");
    return opt.check && missed ? 1 : 0;
}
