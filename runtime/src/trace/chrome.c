/* chrome.c — a timeline model as Chrome Trace Event JSON (the "JSON Object Format" that Perfetto
 * and chrome://tracing open).
 *
 * How the model maps onto the format:
 *   each process          pid; "M" process_name and process_sort_index
 *   a thread or process   tid; "M" thread_name and thread_sort_index (the model's lane order);
 *     lane                its spans as "X" complete events named by state, args.what
 *   a task lane           "b"/"e" async events keyed by its id: the task's whole life, and its
 *                         spans nested inside (same category and id)
 *   an instant            "i" on the lane's thread ("n" for a task)
 *   a flow                "s" on the releasing lane, "f" with "bp":"e" on the acquiring one,
 *                         each bound to the slice around it
 *   CPU samples           "C" counters: one per core, and the traced process's
 * Timestamps are microseconds of the monotonic clock. */
#define _GNU_SOURCE
#include "trace_model.h"

#include <stdio.h>
#include <string.h>

static const char *const state_names[TL_STATE_COUNT] = {
    [TL_RUNNING] = "running", [TL_LOCK] = "lock", [TL_WAIT] = "wait", [TL_SLEEP] = "sleep",
    [TL_IO] = "io",           [TL_GIL] = "gil",   [TL_JOIN] = "join",
};

static const char *state_name(tl_state s) {
    return s >= 0 && s < TL_STATE_COUNT ? state_names[s] : "unknown";
}

static double us(double seconds) { return seconds * 1e6; }

/* Writes s as a JSON string, quotes included. */
static void put_string(FILE *out, const char *s) {
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(out, "\\%c", *p);
        else if (*p < 0x20) fprintf(out, "\\u%04x", *p);
        else fputc(*p, out);
    }
    fputc('"', out);
}

typedef struct writer {
    FILE *out;
    int first;   /* no event written yet: no comma before the next */
} writer;

/* Starts the next event's object: the comma, and the fields every event has. */
static void begin_event(writer *w, const char *ph, int pid, long tid, double ts) {
    fputs(w->first ? "\n" : ",\n", w->out);
    w->first = 0;
    fprintf(w->out, "{\"ph\":\"%s\",\"pid\":%d,\"tid\":%ld,\"ts\":%.3f", ph, pid, tid, us(ts));
}

static long tid_of(const tl_lane *l) { return l->kind == TL_LANE_TASK ? (long)l->pid : l->id; }

/* ---- metadata ------------------------------------------------------------------------------ */

static const char *process_name_of(const tl_model *m, int pid, int root_pid, char *buf, size_t cap) {
    for (size_t i = 0; i < m->n_lanes; i++)
        if (m->lanes[i].pid == pid && m->lanes[i].kind == TL_LANE_PROCESS) return m->lanes[i].name;
    if (pid == root_pid && m->title) return m->title;
    snprintf(buf, cap, "process %d", pid);
    return buf;
}

static int seen_pid_before(const tl_model *m, size_t lane) {
    for (size_t i = 0; i < lane; i++)
        if (m->lanes[i].pid == m->lanes[lane].pid) return 1;
    return 0;
}

static void write_metadata(writer *w, const tl_model *m) {
    int root_pid = m->n_lanes ? m->lanes[0].pid : 0;
    int process_rank = 0;
    char buf[64];
    for (size_t i = 0; i < m->n_lanes; i++) {
        const tl_lane *l = &m->lanes[i];
        if (!seen_pid_before(m, i)) {
            begin_event(w, "M", l->pid, 0, 0);
            fputs(",\"name\":\"process_name\",\"args\":{\"name\":", w->out);
            put_string(w->out, process_name_of(m, l->pid, root_pid, buf, sizeof buf));
            fputs("}}", w->out);
            begin_event(w, "M", l->pid, 0, 0);
            fprintf(w->out, ",\"name\":\"process_sort_index\",\"args\":{\"sort_index\":%d}}",
                    process_rank++);
        }
        if (l->kind == TL_LANE_TASK) continue; /* async tracks are named by their events */
        begin_event(w, "M", l->pid, tid_of(l), 0);
        fputs(",\"name\":\"thread_name\",\"args\":{\"name\":", w->out);
        put_string(w->out, l->name);
        fputs("}}", w->out);
        begin_event(w, "M", l->pid, tid_of(l), 0);
        fprintf(w->out, ",\"name\":\"thread_sort_index\",\"args\":{\"sort_index\":%zu}}", i);
    }
}

/* ---- lanes --------------------------------------------------------------------------------- */

static void write_span_args(writer *w, const tl_span *s) {
    if (!s->what) return;
    fputs(",\"args\":{\"what\":", w->out);
    put_string(w->out, s->what);
    fputc('}', w->out);
}

static void write_thread_lane(writer *w, const tl_lane *l) {
    for (size_t j = 0; j < l->n_spans; j++) {
        const tl_span *s = &l->spans[j];
        begin_event(w, "X", l->pid, tid_of(l), s->start);
        fprintf(w->out, ",\"dur\":%.3f,\"cat\":\"state\",\"name\":\"%s\"", us(s->end - s->start),
                state_name(s->state));
        write_span_args(w, s);
        fputc('}', w->out);
    }
}

/* One async slice of a task lane: its begin or end event. */
static void write_async(writer *w, const tl_lane *l, const char *ph, double ts, const char *name,
                        const tl_span *span) {
    begin_event(w, ph, l->pid, tid_of(l), ts);
    fprintf(w->out, ",\"cat\":\"task\",\"id\":\"task-%d-%ld\",\"name\":", l->pid, l->id);
    put_string(w->out, name);
    if (span) write_span_args(w, span);
    fputc('}', w->out);
}

static void write_task_lane(writer *w, const tl_lane *l) {
    write_async(w, l, "b", l->start, l->name, NULL);
    for (size_t j = 0; j < l->n_spans; j++) {
        const tl_span *s = &l->spans[j];
        write_async(w, l, "b", s->start, state_name(s->state), s);
        write_async(w, l, "e", s->end, state_name(s->state), NULL);
    }
    write_async(w, l, "e", l->end, l->name, NULL);
}

static void write_instants(writer *w, const tl_model *m) {
    for (size_t i = 0; i < m->n_instants; i++) {
        const tl_instant *in = &m->instants[i];
        if (in->lane >= m->n_lanes) continue;
        const tl_lane *l = &m->lanes[in->lane];
        int task = l->kind == TL_LANE_TASK;
        begin_event(w, task ? "n" : "i", l->pid, tid_of(l), in->time);
        if (task) fprintf(w->out, ",\"cat\":\"task\",\"id\":\"task-%d-%ld\"", l->pid, l->id);
        else fputs(",\"cat\":\"mark\",\"s\":\"t\"", w->out);
        fputs(",\"name\":", w->out);
        put_string(w->out, in->name);
        fputc('}', w->out);
    }
}

static void write_flows(writer *w, const tl_model *m) {
    for (size_t i = 0; i < m->n_flows; i++) {
        const tl_flow *f = &m->flows[i];
        if (f->from_lane >= m->n_lanes || f->to_lane >= m->n_lanes) continue;
        const tl_lane *from = &m->lanes[f->from_lane], *to = &m->lanes[f->to_lane];
        begin_event(w, "s", from->pid, tid_of(from), f->from_time);
        fprintf(w->out, ",\"cat\":\"flow\",\"name\":\"release\",\"id\":%zu}", i + 1);
        begin_event(w, "f", to->pid, tid_of(to), f->to_time);
        fprintf(w->out, ",\"cat\":\"flow\",\"name\":\"release\",\"id\":%zu,\"bp\":\"e\"}", i + 1);
    }
}

/* CPU use as counters: a track per core, and one for the traced process. */
static void write_cpu(writer *w, const tl_model *m) {
    const tl_cpu *c = m->cpu;
    if (!c) return;
    int pid = m->n_lanes ? m->lanes[0].pid : 0;
    for (size_t i = 0; i < c->n_samples; i++) {
        for (int core = 0; c->per_core && core < c->n_cores; core++) {
            begin_event(w, "C", pid, 0, c->times[i]);
            fprintf(w->out, ",\"name\":\"CPU %d\",\"args\":{\"busy\":%.4f}}", core,
                    c->per_core[i * (size_t)c->n_cores + (size_t)core]);
        }
        if (c->process) {
            begin_event(w, "C", pid, 0, c->times[i]);
            fprintf(w->out, ",\"name\":\"process CPU\",\"args\":{\"cores\":%.4f}}", c->process[i]);
        }
    }
}

int cl__trace_write_chrome(FILE *out, const tl_model *m) {
    writer w = {out, 1};
    fputs("{\"displayTimeUnit\":\"ms\",\"otherData\":{\"title\":", out);
    put_string(out, m->title ? m->title : "conclab trace");
    fprintf(out, ",\"dropped_events\":%llu,\"start_us\":%.3f,\"end_us\":%.3f},\"traceEvents\":[",
            m->dropped, us(m->start), us(m->end));
    write_metadata(&w, m);
    for (size_t i = 0; i < m->n_lanes; i++) {
        if (m->lanes[i].kind == TL_LANE_TASK) write_task_lane(&w, &m->lanes[i]);
        else write_thread_lane(&w, &m->lanes[i]);
    }
    write_instants(&w, m);
    write_flows(&w, m);
    write_cpu(&w, m);
    fputs("\n]}\n", out);
    return !ferror(out);
}
