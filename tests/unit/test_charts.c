/* test_charts.c — the runtime's pictures (src/charts/): the SVG writer and axes, the timeline,
 * the CPU sampler and chart, and the bar chart.
 *
 * Run with a folder (test_charts OUT_DIR), it also writes every picture there with a manifest of
 * what each must show (manifest.jsonl), which check_svg.py then parses and checks as XML. The
 * models are built by hand: the tracer that records real ones lives elsewhere. */
#define _GNU_SOURCE /* CLOCK_PROCESS_CPUTIME_ID, strdup */
#include <locale.h>
#include <pthread.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "axis.h"
#include "bundle.h"
#include "check.h"
#include "conclab.h"
#include "cpu_chart.h"
#include "cpu_sampler.h"
#include "svg.h"
#include "timeline_svg.h"

static const char *out_dir; /* NULL: check in memory only */
static FILE *manifest;

/* ---------------------------------------------------------------- building models */

/* A small deterministic generator (0..32767), so the pictures are the same on every run. */
static unsigned next_random(unsigned *seed) { return *seed = *seed * 1103515245u + 12345u, (*seed >> 16) & 0x7fff; }

static void free_model(tl_model *m) {
    for (size_t i = 0; i < m->n_lanes; i++) {
        for (size_t k = 0; k < m->lanes[i].n_spans; k++) free(m->lanes[i].spans[k].what);
        free(m->lanes[i].spans);
        free(m->lanes[i].name);
    }
    for (size_t i = 0; i < m->n_instants; i++) free(m->instants[i].name);
    free(m->lanes);
    free(m->flows);
    free(m->instants);
    free(m->title);
    cl__cpu_free(m->cpu);
    free(m);
}

/* Lane i cycles through `states` in n_spans equal spans over [0, duration] (times from 1000 s,
 * as cl_now() gives them). Every third lane past the first four is in a second process; the last
 * lane is a task when there are more than two. */
static tl_model *make_model(size_t n_lanes, double duration, size_t n_spans, const tl_state *states, int n_states) {
    tl_model *m = calloc(1, sizeof *m);
    m->start = 1000;
    m->end = 1000 + duration;
    m->n_lanes = n_lanes;
    m->lanes = calloc(n_lanes ? n_lanes : 1, sizeof *m->lanes);
    for (size_t i = 0; i < n_lanes; i++) {
        tl_lane *lane = &m->lanes[i];
        char name[64];
        lane->kind = n_lanes > 2 && i + 1 == n_lanes ? TL_LANE_TASK : TL_LANE_THREAD;
        lane->pid = i >= 4 && i % 3 == 0 ? 4243 : 4242;
        if (i == 0) snprintf(name, sizeof name, "main");
        else if (lane->kind == TL_LANE_TASK) snprintf(name, sizeof name, "task fetch(%zu)", i);
        else snprintf(name, sizeof name, "worker-%zu", i);
        lane->name = strdup(name);
        lane->id = (long)i;
        lane->start = m->start;
        lane->end = m->end;
        lane->n_spans = n_spans;
        lane->spans = calloc(n_spans, sizeof *lane->spans);
        for (size_t k = 0; k < n_spans; k++) {
            tl_span *s = &lane->spans[k];
            s->start = m->start + duration * (double)k / (double)n_spans;
            s->end = m->start + duration * (double)(k + 1) / (double)n_spans;
            s->state = states[(k + i) % (size_t)n_states];
            if (s->state == TL_LOCK) {
                snprintf(name, sizeof name, "lock \"forks[%zu]\"", (k + i) % 5);
                s->what = strdup(name);
            }
        }
    }
    return m;
}

static void add_flows(tl_model *m, size_t n) {
    m->flows = calloc(n, sizeof *m->flows);
    m->n_flows = n;
    double d = m->end - m->start;
    for (size_t i = 0; i < n; i++) {
        tl_flow *f = &m->flows[i];
        f->from_lane = i % m->n_lanes;
        f->to_lane = (i + 1) % m->n_lanes;
        f->from_time = m->start + d * (double)(i + 1) / (double)(n + 1);
        f->to_time = f->from_time + d * 0.01;
    }
}

static void add_instants(tl_model *m, size_t n) {
    m->instants = calloc(n, sizeof *m->instants);
    m->n_instants = n;
    for (size_t i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "round %zu", i + 1);
        m->instants[i].lane = i % m->n_lanes;
        m->instants[i].time = m->start + (m->end - m->start) * (double)(i + 1) / (double)(n + 2);
        m->instants[i].name = strdup(name);
    }
}

/* Made-up CPU use: core k busy in its own waves, the process the sum. */
static tl_cpu *make_cpu(int n_cores, double start, double duration, size_t n_samples) {
    tl_cpu *c = calloc(1, sizeof *c);
    c->n_cores = n_cores;
    c->n_samples = n_samples;
    c->times = calloc(n_samples, sizeof *c->times);
    c->per_core = calloc(n_samples * (size_t)n_cores, sizeof *c->per_core);
    c->process = calloc(n_samples, sizeof *c->process);
    for (size_t i = 0; i < n_samples; i++) {
        c->times[i] = start + duration * (double)i / (double)(n_samples - 1);
        double sum = 0;
        for (int k = 0; k < n_cores && i > 0; k++) {
            double v = 0.5 + 0.5 * sin((double)i / 7.0 + k);
            c->per_core[i * (size_t)n_cores + (size_t)k] = v;
            sum += v;
        }
        c->process[i] = sum * 0.8;
    }
    return c;
}

/* ---------------------------------------------------------------- writing pictures */

static void write_text(const char *name, const char *text) {
    if (!out_dir || !text) return;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", out_dir, name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

/* One manifest line: {"file": ..., "kind": ..., then `extra` (JSON members, or "")}. */
static void describe(const char *file, const char *kind, const char *extra) {
    if (!manifest) return;
    fprintf(manifest, "{\"file\": \"%s\", \"kind\": \"%s\"%s%s}\n", file, kind, *extra ? ", " : "", extra);
}

/* The lanes a timeline shows and the states its spans have, as manifest members. */
static void describe_timeline(const char *file, const tl_model *m, size_t shown) {
    cl_text t = {0};
    cl__text_addf(&t, "\"lanes\": %zu, \"shown\": %zu, \"duration\": %.9g, \"flows\": %zu, \"dropped\": %llu, \"names\": [",
                  m->n_lanes, shown, m->end - m->start, m->n_flows, m->dropped);
    for (size_t i = 0; i < m->n_lanes; i++) {
        if (i) cl__text_add(&t, ", ", 2);
        cl__text_json_string(&t, m->lanes[i].name, strlen(m->lanes[i].name));
    }
    int used[TL_STATE_COUNT] = {0};
    for (size_t i = 0; i < m->n_lanes; i++)
        for (size_t k = 0; k < m->lanes[i].n_spans; k++) used[m->lanes[i].spans[k].state] = 1;
    static const char *const keys[] = {"running", "lock", "wait", "sleep", "io", "gil", "join"};
    cl__text_add(&t, "], \"states\": [", 14);
    int first = 1;
    for (int s = 0; s < TL_STATE_COUNT; s++)
        if (used[s]) {
            cl__text_addf(&t, "%s\"%s\"", first ? "" : ", ", keys[s]);
            first = 0;
        }
    cl__text_addf(&t, "], \"cpu_cores\": %d", m->cpu ? m->cpu->n_cores : 0);
    describe(file, "timeline", t.data);
    free(t.data);
}

static char *timeline(const char *file, tl_model *m, const cl__timeline_options *o) {
    char *svg = cl__timeline_svg(m, o);
    CHECK(svg != NULL);
    CHECK(svg && strncmp(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39) == 0);
    size_t max_lanes = o && o->max_lanes ? (size_t)o->max_lanes : 64;
    write_text(file, svg);
    describe_timeline(file, m, m->n_lanes < max_lanes ? m->n_lanes : max_lanes);
    return svg;
}

/* ---------------------------------------------------------------- the writer and axes */

static void test_numbers(void) {
    char b[64];
    CHECK_STR(cl__svg_fixed(b, sizeof b, 1.5, 2), "1.5");
    CHECK_STR(cl__svg_fixed(b, sizeof b, 2.0, 2), "2");
    CHECK_STR(cl__svg_fixed(b, sizeof b, -0.004, 2), "0");
    CHECK_STR(cl__svg_fixed(b, sizeof b, -12.345, 2), "-12.35");
    CHECK_STR(cl__svg_fixed(b, sizeof b, NAN, 2), "0");
    CHECK_STR(cl__svg_fixed(b, sizeof b, INFINITY, 2), "0");
    CHECK_STR(cl__svg_sig(b, sizeof b, 0.012345, 3), "0.0123");
    CHECK_STR(cl__svg_sig(b, sizeof b, 12345, 3), "12345");
    CHECK_STR(cl__format_duration(b, sizeof b, 0.0123), "12.3 ms");
    CHECK_STR(cl__format_duration(b, sizeof b, 2.5e-6), "2.5 \xC2\xB5s");
    CHECK_STR(cl__format_duration(b, sizeof b, 61), "61 s");
    cl_text t = {0};
    cl__svg_escape(&t, "a<b & \"c\" 'd'>\x01");
    CHECK_STR(t.data, "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt; ");
    free(t.data);
    cl_text u = {0}; /* Latin-1, a cut character, a surrogate: U+FFFD each; good UTF-8 stays */
    cl__svg_escape(&u, "M\xfcller \xE2\x80 \xED\xA0\x80 \xC2\xB5s \xF0\x9F\x8D\x9D");
    CHECK_STR(u.data, "M\xEF\xBF\xBDller \xEF\xBF\xBD\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD \xC2\xB5s \xF0\x9F\x8D\x9D");
    free(u.data);
}

static void check_axis(double span, double want_step, const char *want_unit) {
    cl__axis a;
    cl__time_unit u;
    cl__axis_nice(&a, 0, span, 8, 0);
    cl__time_unit_for(&u, a.hi, a.step);
    CHECK(fabs(a.step - want_step) < want_step * 1e-9);
    CHECK_STR(u.name, want_unit);
    CHECK(a.ticks[0] == 0);
    CHECK(a.ticks[a.n_ticks - 1] <= span * (1 + 1e-9));
    CHECK(a.n_ticks >= 3 && a.n_ticks <= 12);
}

static void test_axes(void) {
    check_axis(1e-3, 2e-4, "ms");
    check_axis(60, 10, "s");
    check_axis(0.37, 0.05, "ms");
    check_axis(2.5, 0.5, "s");
    check_axis(2e-4, 5e-5, "\xC2\xB5s");
    cl__axis a;
    cl__axis_nice(&a, 0, 3.7, 6, 1); /* a value axis covers the longest bar */
    CHECK(a.ticks[0] == 0 && a.hi >= 3.7 && a.ticks[a.n_ticks - 1] == a.hi);
}

/* ---------------------------------------------------------------- timelines */

static const tl_state every_state[] = {TL_RUNNING, TL_LOCK, TL_RUNNING, TL_WAIT, TL_SLEEP,
                                       TL_IO, TL_RUNNING, TL_GIL, TL_JOIN};

static void test_small_timelines(void) {
    const tl_state two[] = {TL_RUNNING, TL_LOCK};
    tl_model *m = make_model(2, 1e-3, 6, two, 2);
    add_flows(m, 2);
    free(timeline("timeline-2lanes-1ms.svg", m, NULL));
    free_model(m);

    m = make_model(8, 2.5, 27, every_state, 9);
    m->title = strdup("Dining philosophers, 8 lanes");
    m->dropped = 12;
    add_flows(m, 6);
    add_instants(m, 4);
    m->cpu = make_cpu(2, m->start, 2.5, 51);
    cl__timeline_options o = {0, 0, 1, NULL};
    char *svg = timeline("timeline-8lanes-every-state.svg", m, &o);
    CHECK(svg && strstr(svg, "12 events dropped"));
    CHECK(svg && strstr(svg, "class=\"cpu-row\" data-core=\"1\""));
    /* the same model draws the same picture */
    char *again = cl__timeline_svg(m, &o);
    CHECK(svg && again && strcmp(svg, again) == 0);
    free(again);
    free(svg);
    free_model(m);
}

static void test_many_lanes(void) {
    tl_model *m = make_model(64, 60, 40, every_state, 9);
    add_flows(m, 30);
    free(timeline("timeline-64lanes-60s.svg", m, NULL));
    free_model(m);

    m = make_model(100, 2, 10, every_state, 9);
    char *svg = timeline("timeline-100lanes.svg", m, NULL);
    CHECK(svg && strstr(svg, "36 more lanes not shown"));
    free(svg);
    free_model(m);
}

static size_t count(const char *text, const char *what) {
    size_t n = 0;
    for (const char *p = text; p && (p = strstr(p, what)); p++) n++;
    return n;
}

/* 10 000 spans of 0.1 ms on a lane of 1 s: merged into pieces about a pixel wide, split by
 * state. On "main" the mix never changes (one band); on "worker-1" waits for a lock grow more
 * likely as time goes on, and every state but running is in the mix somewhere. */
static void test_merging(void) {
    const tl_state two[] = {TL_RUNNING, TL_RUNNING, TL_LOCK};
    tl_model *m = make_model(3, 1, 10000, two, 3);
    unsigned seed = 1;
    for (size_t k = 0; k < m->lanes[1].n_spans; k++) {
        tl_span *s = &m->lanes[1].spans[k];
        free(s->what);
        s->what = NULL;
        int waits = (int)(next_random(&seed) % 10000) < (int)k;
        s->state = waits ? every_state[1 + next_random(&seed) % 8] : TL_RUNNING;
    }
    char *svg = timeline("timeline-merge.svg", m, NULL);
    CHECK(svg && strstr(svg, "intervals merged"));
    CHECK(svg && strlen(svg) < 600 * 1000);
    size_t pieces = count(svg, "class=\"span ");
    printf("test_merging: 30 000 spans drawn as %zu rectangles, %zu bytes\n", pieces, svg ? strlen(svg) : 0);
    CHECK(pieces < 8 * 700 + 2 * 7);
    free(svg);
    free_model(m);
}

static void test_odd_models(void) {
    tl_model *m = make_model(0, 0, 0, every_state, 1);
    char *svg = timeline("timeline-empty.svg", m, NULL);
    CHECK(svg && strstr(svg, "Nothing was traced"));
    free(svg);
    free_model(m);

    m = make_model(3, 0.02, 4, every_state, 9);
    free(m->lanes[1].name);
    m->lanes[1].name = strdup("<b>&\"quoted\" name that is much too long to fit the label column");
    m->lanes[2].kind = TL_LANE_PROCESS;
    free(m->lanes[0].name);
    m->lanes[0].name = strdup("M\xfcller's thread"); /* Latin-1: not UTF-8 */
    free(m->lanes[0].spans[1].what);
    m->lanes[0].spans[1].what = strdup("lock \"a<b>\" & 'c'");
    m->lanes[0].spans[1].state = TL_LOCK;
    free(timeline("timeline-escaping.svg", m, NULL));
    free_model(m);
}

/* Labels and numbers must not follow a locale that writes "1,5". */
static void test_locale(void) {
    const tl_state two[] = {TL_RUNNING, TL_LOCK};
    tl_model *m = make_model(3, 0.0123, 7, two, 2);
    char *plain = cl__timeline_svg(m, NULL);
    if (setlocale(LC_NUMERIC, "de_DE.UTF-8") || setlocale(LC_NUMERIC, "fr_FR.UTF-8")) {
        char *german = cl__timeline_svg(m, NULL);
        CHECK(plain && german && strcmp(plain, german) == 0);
        free(german);
        setlocale(LC_NUMERIC, "C");
    } else {
        printf("test_locale: no de_DE or fr_FR locale installed; compared in C only\n");
    }
    free(plain);
    free_model(m);
}

/* ---------------------------------------------------------------- CPU */

static void test_cpu_chart(void) {
    tl_cpu *c = make_cpu(4, 50, 3, 61);
    char *svg = cl__cpu_chart_svg(c, "Four cores, made up", 0);
    CHECK(svg && strstr(svg, "data-core=\"3\""));
    write_text("cpu-synthetic.svg", svg);
    describe("cpu-synthetic.svg", "cpu", "\"cores\": 4, \"duration\": 3");
    free(svg);
    cl__cpu_free(c);
    svg = cl__cpu_chart_svg(NULL, NULL, 0);
    CHECK(svg && strstr(svg, "No CPU samples"));
    free(svg);
}

static double cpu_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void spin(double seconds) {
    double until = cl_now() + seconds, x = 1;
    while (cl_now() < until)
        for (int i = 0; i < 10000; i++) x = x * 1.0000001 + 1e-9;
    volatile double keep = x; /* so the loop is not optimised away; local, as two threads spin */
    (void)keep;
}

/* Spinning one thread for 0.3 s: some core is busy, and the process kept about one core busy,
 * as much as the kernel says it used (the VM is shared, so not necessarily a whole one). */
static void test_sampler(void) {
    double cpu_before = cpu_seconds(), wall_before = cl_now();
    cl__cpu_sampler *s = cl__cpu_sampler_start(0.05);
    CHECK(s != NULL);
    if (!s) return;
    spin(0.15);
    tl_cpu *live = cl__cpu_sampler_snapshot(s);
    CHECK(live && live->n_samples >= 2);
    cl__cpu_free(live);
    spin(0.15);
    tl_cpu *c = cl__cpu_sampler_stop(s);
    double used = (cpu_seconds() - cpu_before) / (cl_now() - wall_before);
    CHECK(c && c->n_samples >= 4 && c->n_cores >= 1);
    if (!c) return;
    double busiest = 0, weighted = 0;
    for (size_t i = 1; i < c->n_samples; i++) {
        for (int k = 0; k < c->n_cores; k++)
            if (c->per_core[i * (size_t)c->n_cores + (size_t)k] > busiest) busiest = c->per_core[i * (size_t)c->n_cores + (size_t)k];
        weighted += c->process[i] * (c->times[i] - c->times[i - 1]);
    }
    double share = weighted / (c->times[c->n_samples - 1] - c->times[0]);
    printf("test_sampler: %zu samples on %d cores; busiest core %.2f; process %.2f cores (kernel: %.2f)\n",
           c->n_samples, c->n_cores, busiest, share, used);
    CHECK(c->per_core[0] == 0 && c->process[0] == 0); /* sample 0 is the start */
    CHECK(busiest >= 0.5);
    CHECK(share > 0.5 && share < 1.4);
    CHECK(fabs(share - used) < 0.25);
    char *svg = cl__cpu_chart_svg(c, "One thread spinning for 0.3 s", 0);
    write_text("cpu-spin.svg", svg);
    char extra[96];
    snprintf(extra, sizeof extra, "\"cores\": %d, \"duration\": %.9g", c->n_cores, c->times[c->n_samples - 1] - c->times[0]);
    describe("cpu-spin.svg", "cpu", extra);
    free(svg);
    cl__cpu_free(c);
}

/* A forked child spinning for 0.4 s counts as the process's while it runs, not only once it is
 * waited for (as /proc/self/stat's cutime alone would have it: nothing, then a spike). */
static void test_sampler_children(void) {
    cl__cpu_sampler *s = cl__cpu_sampler_start(0.05);
    CHECK(s != NULL);
    if (!s) return;
    pid_t child = fork();
    if (child == 0) {
        spin(0.4);
        _exit(0);
    }
    CHECK(child > 0);
    cl_sleep(0.45);
    waitpid(child, NULL, 0);
    tl_cpu *c = cl__cpu_sampler_stop(s);
    CHECK(c && c->n_samples >= 4);
    if (!c) return;
    double weighted = 0, highest = 0;
    for (size_t i = 1; i < c->n_samples; i++) {
        weighted += c->process[i] * (c->times[i] - c->times[i - 1]);
        if (c->process[i] > highest) highest = c->process[i];
    }
    double share = weighted / (c->times[c->n_samples - 1] - c->times[0]);
    printf("test_sampler_children: the child kept %.2f cores busy on average, %.2f at most\n", share, highest);
    CHECK(share > 0.45 && share < 1.4);
    CHECK(highest < 1.6);
    cl__cpu_free(c);
}

static void test_cpu_recording(void) {
    cl_cpu_recording *r = cl_cpu_record_start();
    CHECK(r != NULL);
    spin(0.1);
    char *svg = cl_cpu_record_svg(r, "recorded");
    CHECK(svg && strstr(svg, "cpu-row"));
    free(svg);
    CHECK(cl_cpu_record_svg(NULL, "none") == NULL);
}

/* ---------------------------------------------------------------- sample pictures */

/* A growing lane for the sample model. */
static void lane_add(tl_lane *lane, size_t *cap, double start, double end, tl_state state, const char *what) {
    if (!(end > start)) return;
    if (lane->n_spans == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        lane->spans = realloc(lane->spans, *cap * sizeof *lane->spans);
    }
    lane->spans[lane->n_spans++] = (tl_span){start, end, state, what ? strdup(what) : NULL};
}

/* Five philosophers for 2 s, simulated: think (sleep), take the lower fork then the higher
 * (waiting when a neighbour holds it), eat (run), put both down. A wait that ends when a
 * neighbour puts a fork down is a hand-off. Not a trace: a model shaped like one, for the docs. */
static tl_model *philosophers(void) {
    enum { N = 5 };
    const double duration = 2, t0 = 1000;
    const tl_state join[] = {TL_JOIN};
    tl_model *m = make_model(0, duration, 0, join, 1);
    m->title = strdup("Five philosophers, two seconds (a made-up model, not a trace)");
    free(m->lanes);
    m->n_lanes = N + 1;
    m->lanes = calloc(N + 1, sizeof *m->lanes);
    size_t caps[N + 1] = {0}, flow_cap = 256;
    m->flows = calloc(flow_cap, sizeof *m->flows);
    m->lanes[0] = (tl_lane){strdup("main"), TL_LANE_THREAD, 4242, 0, t0, t0 + duration, NULL, 0};
    lane_add(&m->lanes[0], &caps[0], t0, t0 + 0.002, TL_RUNNING, NULL);
    lane_add(&m->lanes[0], &caps[0], t0 + 0.002, t0 + duration, TL_JOIN, "thread \"philosopher-0\"");
    double next[N], fork_free[N] = {0};
    int fork_holder[N];
    unsigned seed = 7;
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof name, "philosopher-%d", i);
        m->lanes[i + 1] = (tl_lane){strdup(name), TL_LANE_THREAD, 4242, i + 1, t0 + 0.002, t0 + duration, NULL, 0};
        next[i] = t0 + 0.002;
        fork_holder[i] = -1;
        fork_free[i] = t0;
    }
    for (;;) {
        int p = 0;
        for (int i = 1; i < N; i++)
            if (next[i] < next[p]) p = i;
        if (next[p] >= t0 + duration) break;
        tl_lane *lane = &m->lanes[p + 1];
        double now = next[p];
        double think = 0.02 + 0.06 * next_random(&seed) / 32767.0;
        lane_add(lane, &caps[p + 1], now, now + think, TL_SLEEP, NULL);
        now += think;
        int forks[2] = {p < (p + 1) % N ? p : (p + 1) % N, p < (p + 1) % N ? (p + 1) % N : p};
        for (int k = 0; k < 2; k++) {
            int f = forks[k];
            char what[32];
            snprintf(what, sizeof what, "lock \"forks[%d]\"", f);
            if (fork_free[f] > now) {
                double got = fork_free[f] + 0.00004;
                lane_add(lane, &caps[p + 1], now, got, TL_LOCK, what);
                if (m->n_flows < flow_cap && fork_holder[f] >= 0)
                    m->flows[m->n_flows++] = (tl_flow){(size_t)fork_holder[f] + 1, (size_t)p + 1, fork_free[f], got};
                now = got;
            }
            lane_add(lane, &caps[p + 1], now, now + 0.0005, TL_RUNNING, NULL);
            now += 0.0005;
        }
        double eat = 0.03 + 0.03 * next_random(&seed) / 32767.0;
        lane_add(lane, &caps[p + 1], now, now + eat, TL_RUNNING, NULL);
        now += eat;
        for (int k = 0; k < 2; k++) fork_free[forks[k]] = now, fork_holder[forks[k]] = p;
        next[p] = now;
    }
    for (int i = 0; i <= N; i++) { /* the trace stops at 2 s: cut the last spans there */
        tl_lane *lane = &m->lanes[i];
        while (lane->n_spans && lane->spans[lane->n_spans - 1].start >= t0 + duration) {
            free(lane->spans[lane->n_spans - 1].what);
            lane->n_spans--;
        }
        if (lane->n_spans && lane->spans[lane->n_spans - 1].end > t0 + duration) lane->spans[lane->n_spans - 1].end = t0 + duration;
    }
    while (m->n_flows && m->flows[m->n_flows - 1].to_time > t0 + duration) m->n_flows--;
    m->instants = calloc(1, sizeof *m->instants);
    m->instants[0] = (tl_instant){1, t0 + 1, strdup("halfway")};
    m->n_instants = 1;
    return m;
}

/* The running philosophers' share of each 50 ms, as a CPU sampler on two cores would see it. */
static tl_cpu *cpu_of(const tl_model *m) {
    size_t n = (size_t)((m->end - m->start) / 0.05) + 1;
    tl_cpu *c = make_cpu(2, m->start, m->end - m->start, n);
    for (size_t i = 1; i < n; i++) {
        double a = c->times[i - 1], b = c->times[i], busy = 0;
        for (size_t l = 1; l < m->n_lanes; l++)
            for (size_t k = 0; k < m->lanes[l].n_spans; k++) {
                const tl_span *s = &m->lanes[l].spans[k];
                if (s->state != TL_RUNNING) continue;
                double x = s->start > a ? s->start : a, y = s->end < b ? s->end : b;
                if (y > x) busy += y - x;
            }
        double cores = busy / (b - a) > 2 ? 2 : busy / (b - a);
        c->process[i] = cores;
        c->per_core[i * 2] = cores > 1 ? 1 : cores;
        c->per_core[i * 2 + 1] = cores > 1 ? cores - 1 : 0.05;
    }
    return c;
}

static void *spinner(void *seconds) {
    spin(*(double *)seconds);
    return NULL;
}

/* Sample pictures in the output folder: a timeline, a CPU recording and the bar chart. */
static void test_sample_pictures(void) {
    if (!out_dir) return;
    tl_model *m = philosophers();
    m->cpu = cpu_of(m);
    cl__timeline_options o = {0, 0, 1, NULL};
    free(timeline("timeline-sample.svg", m, &o));
    free_model(m);

    /* one thread spinning, then two, then none */
    cl_cpu_recording *r = cl_cpu_record_start();
    double one = 0.4, two = 0.4;
    spin(one);
    pthread_t helper;
    pthread_create(&helper, NULL, spinner, &two);
    spin(two);
    pthread_join(helper, NULL);
    cl_sleep(0.3);
    char *svg = cl_cpu_record_svg(r, "One thread spinning, then two, then none (recorded)");
    write_text("cpu-sample.svg", svg);
    free(svg);
}

/* ---------------------------------------------------------------- bars */

static void test_bars(void) {
    static const double sequential[] = {4.02, 3.98, 4.10, 4.05, 4.31};
    static const double threads[] = {4.21, 4.19, 4.30, 4.25, 4.22};
    static const double processes[] = {2.11, 2.05, 2.20, 2.09, 2.40};
    static const double loop[] = {4.00, 4.02, 4.01, 3.99, 4.06};
    static const double post_sequential[] = {3.9}, post_threads[] = {4.1}, post_processes[] = {2.0};
    cl_bar bars[] = {
        {"sequential", sequential, 5, "conclab"}, {"sequential", post_sequential, 1, "the post"},
        {"threads", threads, 5, "conclab"},       {"threads", post_threads, 1, "the post"},
        {"processes", processes, 5, "conclab"},   {"processes", post_processes, 1, "the post"},
        {"event loop", loop, 5, "conclab"},
    };
    char *svg = cl_chart_bars_svg("Counting primes to 10 million, five trials each", "s", bars, 7);
    CHECK(svg && strstr(svg, "median of 5"));
    write_text("bars-sample.svg", svg);
    describe("bars-sample.svg", "bars",
             "\"labels\": [\"sequential\", \"threads\", \"processes\", \"event loop\"], \"bars\": 7, \"trials\": 23, "
             "\"series\": [\"conclab\", \"the post\"]");
    free(svg);

    static const double odd[] = {0.5, NAN, 0.7, -0.1};
    cl_bar plain[] = {{"with a NaN & a <negative>", odd, 4, NULL}, {"none, and a label far too long to fit the column that the chart keeps for labels", NULL, 0, NULL}, {NULL, odd, 1, NULL}};
    svg = cl_chart_bars_svg(NULL, "ms", plain, 3);
    CHECK(svg && strstr(svg, "1 value that is not a number left out"));
    write_text("bars-odd.svg", svg);
    describe("bars-odd.svg", "bars", "\"labels\": [\"with a NaN & a <negative>\", \"none, and a label far too long to fit the column that the chart keeps for labels\", \"?\"], \"bars\": 3, "
             "\"trials\": 4, \"series\": []");
    free(svg);
    /* a long unit after the longest whisker: the text still fits in the picture */
    static const double ratio[] = {0.52, 0.55, 0.61, 0.58, 1.43};
    cl_bar relative[] = {{"processes", ratio, 5, NULL}};
    svg = cl_chart_bars_svg("Relative to sequential", "x sequential", relative, 1);
    CHECK(svg != NULL);
    write_text("bars-long-unit.svg", svg);
    describe("bars-long-unit.svg", "bars", "\"labels\": [\"processes\"], \"bars\": 1, \"trials\": 5, \"series\": []");
    free(svg);
    CHECK(cl_chart_bars_svg("t", "s", NULL, 3) == NULL);
    CHECK(cl_chart_bars_svg("t", "s", bars, 0) == NULL);
}

int main(int argc, char **argv) {
    if (argc > 1) {
        out_dir = argv[1];
        char path[4096];
        snprintf(path, sizeof path, "%s/manifest.jsonl", out_dir);
        manifest = fopen(path, "w");
        CHECK(manifest != NULL);
    }
    test_numbers();
    test_axes();
    test_small_timelines();
    test_many_lanes();
    test_merging();
    test_odd_models();
    test_locale();
    test_cpu_chart();
    test_sampler();
    test_sampler_children();
    test_cpu_recording();
    test_bars();
    test_sample_pictures();
    if (manifest) fclose(manifest);
    return check_summary("test_charts");
}
