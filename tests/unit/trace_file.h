/* trace_file.h — reads back a file cl_trace_save wrote, for test_runtime_trace.c: one event per
 * line, its fields in the writer's order, so sscanf and strstr do (the tcc run has no JSON
 * library). The file's validity as JSON is checked by tests/unit/check_trace_json.py. */
#ifndef CONCLAB_TRACE_FILE_H
#define CONCLAB_TRACE_FILE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct tf_event {
    char ph;
    int pid;
    long tid;
    double ts, dur;      /* microseconds */
    char name[96];
    char what[96];       /* args.what, or args.name for metadata */
    char id[48];         /* async events */
} tf_event;

typedef struct tf_file {
    tf_event *events;
    int n;
    unsigned long long dropped;
} tf_file;

/* Copies the JSON string that starts right after `key` in line (unescaping \" and \\). */
static inline void tf_string_after(const char *line, const char *key, char *out, size_t cap) {
    const char *p = strstr(line, key);
    size_t n = 0;
    out[0] = '\0';
    if (!p) return;
    for (p += strlen(key); *p && *p != '"' && n + 1 < cap; p++) {
        if (*p == '\\' && p[1]) p++;
        out[n++] = *p;
    }
    out[n] = '\0';
}

static inline double tf_number_after(const char *line, const char *key) {
    const char *p = strstr(line, key);
    return p ? atof(p + strlen(key)) : 0;
}

/* Reads path; returns 0 (and an empty file) when it cannot. */
static inline int tf_read(const char *path, tf_file *f) {
    FILE *in = fopen(path, "r");
    char line[1024];
    int cap = 0;
    f->events = NULL;
    f->n = 0;
    f->dropped = 0;
    if (!in) return 0;
    while (fgets(line, sizeof line, in)) {
        tf_event e;
        memset(&e, 0, sizeof e);
        if (strstr(line, "\"dropped_events\":"))
            f->dropped = (unsigned long long)tf_number_after(line, "\"dropped_events\":");
        if (sscanf(line, "{\"ph\":\"%c\",\"pid\":%d,\"tid\":%ld,\"ts\":%lf", &e.ph, &e.pid, &e.tid,
                   &e.ts) != 4)
            continue;
        e.dur = tf_number_after(line, "\"dur\":");
        tf_string_after(line, "\"name\":\"", e.name, sizeof e.name);
        tf_string_after(line, "\"what\":\"", e.what, sizeof e.what);
        if (e.ph == 'M') tf_string_after(line, "\"args\":{\"name\":\"", e.what, sizeof e.what);
        tf_string_after(line, "\"id\":\"", e.id, sizeof e.id);
        if (f->n == cap) {
            cap = cap ? cap * 2 : 256;
            f->events = realloc(f->events, (size_t)cap * sizeof *f->events);
        }
        f->events[f->n++] = e;
    }
    fclose(in);
    return 1;
}

static inline void tf_free(tf_file *f) {
    free(f->events);
    f->events = NULL;
    f->n = 0;
}

/* The tid of the thread lane named name (from its thread_name metadata), or -1. */
static inline long tf_tid_named(const tf_file *f, const char *name) {
    for (int i = 0; i < f->n; i++)
        if (f->events[i].ph == 'M' && strcmp(f->events[i].name, "thread_name") == 0 &&
            strcmp(f->events[i].what, name) == 0)
            return f->events[i].tid;
    return -1;
}

/* How many events have phase ph and (when not NULL) name and what containing `what`. */
static inline int tf_count(const tf_file *f, char ph, const char *name, const char *what) {
    int n = 0;
    for (int i = 0; i < f->n; i++) {
        const tf_event *e = &f->events[i];
        if (e->ph != ph) continue;
        if (name && strcmp(e->name, name) != 0) continue;
        if (what && !strstr(e->what, what)) continue;
        n++;
    }
    return n;
}

/* The most "X" spans named state that are open at any one moment. */
static inline int tf_most_at_once(const tf_file *f, const char *state) {
    int most = 0;
    for (int i = 0; i < f->n; i++) {
        const tf_event *a = &f->events[i];
        if (a->ph != 'X' || strcmp(a->name, state) != 0) continue;
        double at = a->ts + a->dur / 2; /* inside a: count who else is there */
        int here = 0;
        for (int j = 0; j < f->n; j++) {
            const tf_event *b = &f->events[j];
            if (b->ph == 'X' && strcmp(b->name, state) == 0 && b->ts < at && at < b->ts + b->dur)
                here++;
        }
        if (here > most) most = here;
    }
    return most;
}

#endif
