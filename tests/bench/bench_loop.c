/* bench_loop.c — the event loop (issue 6 item 10: task create -> complete, target median
 * <= 1 us) against Python's asyncio (/usr/bin/python3) doing the same operations, side by side
 * in one run. See tests/bench/README.md.
 *
 *   create -> complete  a task is created, runs to its end and is awaited, one after another
 *   same, 100 alive     100 tasks are created, then each is awaited (100 stacks at once)
 *   await round trip    a future is made, completed by a call_soon callback and awaited
 *   sleep(0) yield      a task lets the others run and is resumed
 *   call_soon           a callback is scheduled and run (batches of 10 000)
 *
 * Every figure is a median of samples (p10 and p90 beside it), each the mean over a batch.
 * A benchmark, not a test: ctest runs `--quick` only to show that it works (bench_loop_smoke),
 * and the exit status ignores the figures unless --check is given. */
#include <conclab.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sizes {
    int samples;
    int batch;          /* tasks or awaits per sample */
    int callbacks;      /* call_soon callbacks per sample */
} sizes;

static const sizes FULL = {400, 100, 10000};
static const sizes QUICK = {30, 100, 2000};
static sizes size;

static struct {
    const char *json;
    int quick, check;
} opt;

enum { CREATE, CREATE_BATCH, ROUND_TRIP, YIELD, CALL_SOON, MEASURES };
static const char *measure_names[MEASURES] = {"task create -> complete", "same, 100 alive at once", "await round trip",
                                              "sleep(0) yield", "call_soon callback"};

typedef struct stats {
    double p10, median, p90; /* nanoseconds per operation */
} stats;

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static stats summarize(double *ns, int n) {
    qsort(ns, (size_t)n, sizeof *ns, by_value);
    stats s = {ns[n / 10], ns[n / 2], ns[(n * 9) / 10]};
    return s;
}

/* ---- conclab ---------------------------------------------------------------------------------- */

static void *nothing(void *arg) {
    return arg;
}

static void complete_it(void *arg) {
    cl_future_set_result((cl_future *)arg, NULL);
}

static long callbacks_run;

static void count_it(void *arg) {
    (void)arg;
    callbacks_run++;
}

static void stop_it(void *arg) {
    cl_loop_stop((cl_loop *)arg);
}

static stats bench_create_one(void) {
    double *ns = malloc((size_t)size.samples * sizeof *ns);
    for (int s = 0; s < size.samples; s++) {
        double start = cl_now();
        for (int i = 0; i < size.batch; i++) {
            cl_future *t = cl_async_create_task(nothing, NULL);
            cl_await(t, NULL);
            cl_future_free(t);
        }
        ns[s] = (cl_now() - start) * 1e9 / size.batch;
    }
    stats st = summarize(ns, size.samples);
    free(ns);
    return st;
}

static stats bench_create(void) {
    double *ns = malloc((size_t)size.samples * sizeof *ns);
    cl_future **tasks = malloc((size_t)size.batch * sizeof *tasks);
    for (int s = 0; s < size.samples; s++) {
        double start = cl_now();
        for (int i = 0; i < size.batch; i++) tasks[i] = cl_async_create_task(nothing, NULL);
        for (int i = 0; i < size.batch; i++) {
            cl_await(tasks[i], NULL);
            cl_future_free(tasks[i]);
        }
        ns[s] = (cl_now() - start) * 1e9 / size.batch;
    }
    stats st = summarize(ns, size.samples);
    free(tasks);
    free(ns);
    return st;
}

static stats bench_round_trip(void) {
    double *ns = malloc((size_t)size.samples * sizeof *ns);
    cl_loop *l = cl_loop_current();
    for (int s = 0; s < size.samples; s++) {
        double start = cl_now();
        for (int i = 0; i < size.batch; i++) {
            cl_future *f = cl_future_new();
            cl_loop_call_soon(l, complete_it, f);
            cl_await(f, NULL);
            cl_future_free(f);
        }
        ns[s] = (cl_now() - start) * 1e9 / size.batch;
    }
    stats st = summarize(ns, size.samples);
    free(ns);
    return st;
}

static stats bench_yield(void) {
    double *ns = malloc((size_t)size.samples * sizeof *ns);
    for (int s = 0; s < size.samples; s++) {
        double start = cl_now();
        for (int i = 0; i < size.batch; i++) cl_async_sleep(0);
        ns[s] = (cl_now() - start) * 1e9 / size.batch;
    }
    stats st = summarize(ns, size.samples);
    free(ns);
    return st;
}

static void *conclab_main(void *arg) {
    stats *out = arg;
    out[CREATE] = bench_create_one();
    out[CREATE_BATCH] = bench_create();
    out[ROUND_TRIP] = bench_round_trip();
    out[YIELD] = bench_yield();
    return NULL;
}

/* Outside any task: a loop runs batches of plain callbacks. */
static stats bench_call_soon(void) {
    int samples = size.samples / 4 > 5 ? size.samples / 4 : 5;
    double *ns = malloc((size_t)samples * sizeof *ns);
    cl_loop *l = cl_loop_new();
    for (int s = 0; s < samples; s++) {
        callbacks_run = 0;
        double start = cl_now();
        for (int i = 0; i < size.callbacks; i++) cl_loop_call_soon(l, count_it, NULL);
        cl_loop_call_soon(l, stop_it, l);
        cl_loop_run_forever(l);
        ns[s] = (cl_now() - start) * 1e9 / size.callbacks;
        if (callbacks_run != size.callbacks) fprintf(stderr, "bench_loop: call_soon lost callbacks\n");
    }
    cl_loop_free(l);
    stats st = summarize(ns, samples);
    free(ns);
    return st;
}

/* ---- Python asyncio, the same operations ------------------------------------------------------ */

static const char *python_script =
    "import asyncio, sys, time\n"
    "samples, batch, callbacks = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])\n"
    "def stats(ns):\n"
    "    ns.sort(); n = len(ns)\n"
    "    return '%.1f %.1f %.1f' % (ns[n // 10], ns[n // 2], ns[n * 9 // 10])\n"
    "async def nothing(): return None\n"
    "async def main():\n"
    "    loop = asyncio.get_running_loop()\n"
    "    out = []\n"
    "    ns = []\n"
    "    for s in range(samples):\n"
    "        t = time.perf_counter()\n"
    "        for i in range(batch): await asyncio.create_task(nothing())\n"
    "        ns.append((time.perf_counter() - t) * 1e9 / batch)\n"
    "    out.append(stats(ns)); ns = []\n"
    "    for s in range(samples):\n"
    "        t = time.perf_counter()\n"
    "        tasks = [asyncio.create_task(nothing()) for i in range(batch)]\n"
    "        for task in tasks: await task\n"
    "        ns.append((time.perf_counter() - t) * 1e9 / batch)\n"
    "    out.append(stats(ns)); ns = []\n"
    "    for s in range(samples):\n"
    "        t = time.perf_counter()\n"
    "        for i in range(batch):\n"
    "            f = loop.create_future(); loop.call_soon(f.set_result, None); await f\n"
    "        ns.append((time.perf_counter() - t) * 1e9 / batch)\n"
    "    out.append(stats(ns)); ns = []\n"
    "    for s in range(samples):\n"
    "        t = time.perf_counter()\n"
    "        for i in range(batch): await asyncio.sleep(0)\n"
    "        ns.append((time.perf_counter() - t) * 1e9 / batch)\n"
    "    out.append(stats(ns))\n"
    "    return out\n"
    "out = asyncio.run(main())\n"
    "loop = asyncio.new_event_loop(); ns = []; count = [0]\n"
    "def count_it(): count[0] += 1\n"
    "for s in range(max(samples // 4, 5)):\n"
    "    t = time.perf_counter()\n"
    "    for i in range(callbacks): loop.call_soon(count_it)\n"
    "    loop.call_soon(loop.stop); loop.run_forever()\n"
    "    ns.append((time.perf_counter() - t) * 1e9 / callbacks)\n"
    "loop.close(); out.append(stats(ns))\n"
    "print('\\n'.join(out))\n";

/* Runs the script with /usr/bin/python3; returns 0 and fills out, or -1 if Python is missing. */
static int bench_python(stats *out) {
    char path[] = "/tmp/bench_loop_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return -1;
    FILE *script = fdopen(fd, "w");
    fputs(python_script, script);
    fclose(script);
    char command[256];
    snprintf(command, sizeof command, "/usr/bin/python3 %s %d %d %d", path, size.samples, size.batch, size.callbacks);
    FILE *p = popen(command, "r");
    int got = 0;
    if (p) {
        for (int m = 0; m < MEASURES; m++)
            got += fscanf(p, "%lf %lf %lf", &out[m].p10, &out[m].median, &out[m].p90) == 3;
        pclose(p);
    }
    remove(path);
    return got == MEASURES ? 0 : -1;
}

/* ---- report ----------------------------------------------------------------------------------- */

static void parse_args(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) opt.quick = 1;
        else if (strcmp(argv[i], "--check") == 0) opt.check = 1;
        else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc) opt.json = argv[++i];
        else {
            fprintf(stderr, "usage: bench_loop [--quick] [--check] [--json FILE]\n");
            exit(2);
        }
    }
    size = opt.quick ? QUICK : FULL;
}

static void write_json(const stats *c, const stats *py, int have_python) {
    FILE *f = fopen(opt.json, "w");
    if (!f) {
        perror(opt.json);
        return;
    }
    fprintf(f, "{\n  \"unit\": \"ns per operation\",\n  \"measures\": [\n");
    for (int m = 0; m < MEASURES; m++) {
        fprintf(f, "    {\"name\": \"%s\", \"conclab\": {\"p10\": %.1f, \"median\": %.1f, \"p90\": %.1f}",
                measure_names[m], c[m].p10, c[m].median, c[m].p90);
        if (have_python)
            fprintf(f, ", \"python_asyncio\": {\"p10\": %.1f, \"median\": %.1f, \"p90\": %.1f}, \"speedup\": %.2f",
                    py[m].p10, py[m].median, py[m].p90, py[m].median / c[m].median);
        fprintf(f, "}%s\n", m + 1 < MEASURES ? "," : "");
    }
    fprintf(f, "  ]\n}\n");
    fclose(f);
}

int main(int argc, char **argv) {
    parse_args(argc, argv);
    stats c[MEASURES], py[MEASURES];
    memset(py, 0, sizeof py);
    if (cl_async_run(conclab_main, c, NULL) != CL_FUTURE_OK) return 2;
    c[CALL_SOON] = bench_call_soon();
    int have_python = bench_python(py) == 0;
    printf("%-26s %26s %26s %8s\n", "ns per operation", "conclab median (p10-p90)",
           "asyncio median (p10-p90)", "speedup");
    for (int m = 0; m < MEASURES; m++) {
        printf("%-26s %10.1f (%6.1f-%6.1f)", measure_names[m], c[m].median, c[m].p10, c[m].p90);
        if (have_python)
            printf(" %10.1f (%6.1f-%6.1f) %7.1fx\n", py[m].median, py[m].p10, py[m].p90, py[m].median / c[m].median);
        else
            printf(" %26s\n", "(no /usr/bin/python3)");
    }
    printf("target: task create -> complete median <= 1000 ns: %s\n", c[CREATE].median <= 1000 ? "met" : "NOT met");
    if (opt.json) write_json(c, py, have_python);
    return opt.check && c[CREATE].median > 1000 ? 1 : 0;
}
