/* tsan_report.c — TSan's reports retold (tsan_report.h).
 *
 * A report is the text between two lines of "==================" that starts with
 * "WARNING: ThreadSanitizer: KIND (pid=N)". Within it, the lines read here are:
 *   "  Write of size 8 at 0x... by thread T1:"  (or Read, Atomic read, Previous write, ... by
 *                                                main thread) and the frames below it,
 *   "    #0 worker cell[3]:8 (notebook+0x1234)"  a frame; the first one in a cell is the place,
 *   "  Location is global 'counter' of size 8 at ..."  what raced,
 *   "  Thread T1 'Thread-1' (tid=5, running) created by main thread at:" and its frames.
 * Anything else is only shown, in TSan's own words, under the retelling. */
#define _GNU_SOURCE
#include "tsan_report.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "xalloc.h"

#define MAX_ACCESSES 2
#define MAX_THREADS 8

typedef struct place {
    int cell, line;     /* 0: no frame in a cell */
    char function[64];  /* the function of that frame (or of the first frame) */
} place;

typedef struct access {
    char what[32];      /* "write", "atomic read", ... */
    int size;
    char thread[16];    /* "T1", or "main" */
    place at;
} access;

typedef struct thread_info {
    char id[16];        /* "T1" */
    char name[64];      /* its name, as the runtime set it, or "" */
    place created;
} thread_info;

typedef struct report {
    char kind[96];      /* "data race", "lock-order-inversion (potential deadlock)", ... */
    char location[128]; /* "`counter`", "a heap block of 8 bytes", or "" */
    access accesses[MAX_ACCESSES];
    int n_accesses;
    thread_info threads[MAX_THREADS];
    int n_threads;
    place *filling;     /* where the frames being read go, or NULL */
    place first_frame;  /* for reports without accesses: the first frame in a cell */
} report;

static const char separator[] = "==================";
static const char warning[] = "WARNING: ThreadSanitizer: ";

/* ---------------------------------------------------------------- one line of a report */

/* "    #0 worker cell[3]:8:5 (notebook+0x1234)": the first frame in a cell fills *p. */
static void read_frame(const char *line, place *p) {
    if (!p || p->cell) return;
    const char *s = line + strspn(line, " ");
    int consumed = 0;
    char function[64];
    if (sscanf(s, "#%*d %63s %n", function, &consumed) != 1 || !consumed) return;
    if (!p->function[0]) snprintf(p->function, sizeof p->function, "%s", function);
    const char *file = s + consumed;
    const char *slash = strrchr(file, '/');  /* "./cell[3]:8", or a directory before it */
    const char *space = strchr(file, ' ');
    if (slash && (!space || slash < space)) file = slash + 1;
    int cell, at;
    if (sscanf(file, "cell[%d]:%d", &cell, &at) != 2) return;
    p->cell = cell;
    p->line = at;
    snprintf(p->function, sizeof p->function, "%s", function);
}

/* "  Previous atomic write of size 8 at 0x... by thread T1:" */
static bool read_access(const char *line, report *r) {
    const char *s = line + strspn(line, " ");
    const char *of = strstr(s, " of size "), *by = strstr(s, " by ");
    if (!by || r->n_accesses == MAX_ACCESSES) return false;
    const char *what_end = of ? of : strstr(s, " at ");
    if (!what_end || what_end > by) return false;
    bool previous = strncmp(s, "Previous ", 9) == 0;
    const char *what = previous ? s + 9 : s;
    bool known = strncasecmp(what, "read", 4) == 0 || strncasecmp(what, "write", 5) == 0 ||
                 strncasecmp(what, "atomic ", 7) == 0;
    if (!known) return false;
    access *a = &r->accesses[r->n_accesses++];
    memset(a, 0, sizeof *a);
    snprintf(a->what, sizeof a->what, "%.*s", (int)(what_end - what), what);
    a->what[0] = (char)(a->what[0] | 0x20);  /* lower case: it is said within a sentence */
    if (of) a->size = atoi(of + 9);
    if (strncmp(by + 4, "main thread", 11) == 0) snprintf(a->thread, sizeof a->thread, "main");
    else sscanf(by + 4, "thread %15[^: ]", a->thread);
    r->filling = &a->at;
    return true;
}

/* "  Thread T1 'Thread-1' (tid=5, running) created by main thread at:" */
static bool read_thread(const char *line, report *r) {
    const char *s = line + strspn(line, " ");
    if (strncmp(s, "Thread T", 8) != 0 || !strstr(s, " created by ") || r->n_threads == MAX_THREADS) return false;
    thread_info *t = &r->threads[r->n_threads++];
    memset(t, 0, sizeof *t);
    sscanf(s + 7, "%15[^ ]", t->id);
    const char *quote = strchr(s, '\'');
    const char *tid = strstr(s, " (tid=");
    if (quote && tid && quote < tid) {
        const char *close = strchr(quote + 1, '\'');
        if (close) snprintf(t->name, sizeof t->name, "%.*s", (int)(close - quote - 1), quote + 1);
    }
    r->filling = &t->created;
    return true;
}

/* "  Location is global 'counter' of size 8 at ...", "  Location is heap block of size 8 ..." */
static bool read_location(const char *line, report *r) {
    const char *s = line + strspn(line, " ");
    if (strncmp(s, "Location is ", 12) != 0) return false;
    s += 12;
    int size = 0;
    char name[96];
    if (sscanf(s, "global '%95[^']' of size %d", name, &size) >= 1)
        snprintf(r->location, sizeof r->location, "`%s`", name);
    else if (sscanf(s, "heap block of size %d", &size) == 1)
        snprintf(r->location, sizeof r->location, "a heap block of %d bytes (malloc'd)", size);
    else if (strncmp(s, "stack of ", 9) == 0)
        snprintf(r->location, sizeof r->location, "a local variable of %.60s", s + 9);
    r->filling = NULL;
    return true;
}

static void read_line(const char *line, report *r) {
    if (strncmp(line, warning, sizeof warning - 1) == 0) {
        const char *kind = line + sizeof warning - 1;
        const char *pid = strstr(kind, " (pid=");
        snprintf(r->kind, sizeof r->kind, "%.*s", (int)(pid ? pid - kind : (long)strlen(kind)), kind);
        r->filling = &r->first_frame;
        return;
    }
    if (line[strspn(line, " ")] == '#') {
        read_frame(line, r->filling);
        if (r->filling != &r->first_frame) read_frame(line, &r->first_frame);
        return;
    }
    if (read_access(line, r) || read_thread(line, r) || read_location(line, r)) return;
    if (line[0] && line[0] != ' ') r->filling = NULL;  /* SUMMARY and the like */
}

/* ---------------------------------------------------------------- the retelling */

static const char *place_text(const place *p, char *buf, size_t size) {
    if (p->cell) snprintf(buf, size, "cell[%d], line %d", p->cell, p->line);
    else snprintf(buf, size, "outside the cells");
    return buf;
}

static const thread_info *find_thread(const report *r, const char *id) {
    for (int i = 0; i < r->n_threads; i++)
        if (strcmp(r->threads[i].id, id) == 0) return &r->threads[i];
    return NULL;
}

/* "Thread-1 (T1)", "T1" or "the main thread" */
static const char *thread_text(const report *r, const char *id, char *buf, size_t size) {
    const thread_info *t = find_thread(r, id);
    if (strcmp(id, "main") == 0) snprintf(buf, size, "the main thread");
    else if (t && t->name[0]) snprintf(buf, size, "%s (%s)", t->name, id);
    else snprintf(buf, size, "thread %s", id);
    return buf;
}

static char *headline(const report *r) {
    const place *where = r->n_accesses ? &r->accesses[0].at : &r->first_frame;
    char at[64];
    strbuf h = {0};
    strbuf_add(&h, r->kind[0] ? r->kind : "ThreadSanitizer report");
    if (r->location[0]) strbuf_addf(&h, " on %s", r->location);
    if (where->cell) strbuf_addf(&h, " (%s)", place_text(where, at, sizeof at));
    return strbuf_take(&h);
}

static void tell_access(json_t *tb, const report *r, int i) {
    const access *a = &r->accesses[i];
    char who[96], at[64], size[32] = "";
    if (a->size) snprintf(size, sizeof size, " of %d byte%s", a->size, a->size == 1 ? "" : "s");
    json_array_append_new(tb, json_sprintf("  %s%s%s by %s in %s() at %s", i ? "earlier, " : "", a->what, size,
                                           thread_text(r, a->thread, who, sizeof who),
                                           a->at.function[0] ? a->at.function : "?",
                                           place_text(&a->at, at, sizeof at)));
}

/* Where each thread of the report was started, when that was in a cell. */
static void tell_threads(json_t *tb, const report *r) {
    for (int i = 0; i < r->n_threads; i++) {
        const thread_info *t = &r->threads[i];
        char who[96], at[64];
        if (!t->created.cell) continue;
        json_array_append_new(tb, json_sprintf("  %s was started at %s", thread_text(r, t->id, who, sizeof who),
                                               place_text(&t->created, at, sizeof at)));
    }
}

/* One report: retold, then TSan's lines (from `start`, `length` bytes) indented below. */
static void tell(tsan_findings *f, const report *r, const char *start, size_t length) {
    char *head = headline(r);
    json_array_append_new(f->traceback, json_string(head));
    if (!f->first) f->first = head;
    else free(head);
    for (int i = 0; i < r->n_accesses; i++) tell_access(f->traceback, r, i);
    if (r->n_accesses == 2 && strcmp(r->kind, "data race") == 0)
        json_array_append_new(f->traceback, json_string("  nothing orders the two accesses (no lock held by both, "
                                                        "no join or other synchronization between them)"));
    tell_threads(f->traceback, r);
    json_array_append_new(f->traceback, json_string("  ThreadSanitizer's report:"));
    for (const char *line = start; line < start + length;) {
        size_t len = strcspn(line, "\n");
        if (line + len > start + length) len = (size_t)(start + length - line);
        json_array_append_new(f->traceback, json_sprintf("    %.*s", (int)len, line));
        line += len + 1;
    }
    json_array_append_new(f->traceback, json_string(""));
}

/* ---------------------------------------------------------------- the whole stderr */

static bool is_separator(const char *line) {
    return strncmp(line, separator, sizeof separator - 1) == 0 && line[strspn(line, "=")] <= '\n';
}

static const char *next_line(const char *line) {
    const char *eol = strchr(line, '\n');
    return eol ? eol + 1 : line + strlen(line);
}

/* A report starting at `at` (its separator line): read and told; returns where it ends. */
static const char *take_report(tsan_findings *f, const char *at) {
    const char *body = next_line(at);
    if (strncmp(body, warning, sizeof warning - 1) != 0) return NULL;
    report r;
    memset(&r, 0, sizeof r);
    const char *line = body;
    char buf[1024];
    while (*line && !is_separator(line)) {
        size_t len = strcspn(line, "\n");
        snprintf(buf, sizeof buf, "%.*s", (int)(len < sizeof buf ? len : sizeof buf - 1), line);
        read_line(buf, &r);
        line = next_line(line);
    }
    size_t length = (size_t)(line - body);
    while (length && body[length - 1] == '\n') length--;
    f->reports++;
    if (strcmp(r.kind, "data race") == 0) f->races++;
    tell(f, &r, body, length);
    return *line ? next_line(line) : line;
}

void tsan_read_reports(const char *text, tsan_findings *f) {
    memset(f, 0, sizeof *f);
    f->traceback = json_array();
    strbuf rest = {0};
    for (const char *line = text; *line;) {
        const char *after = is_separator(line) ? take_report(f, line) : NULL;
        if (after) {
            line = after;
            continue;
        }
        const char *next = next_line(line);
        /* TSan's closing count is the error's evalue's business */
        if (strncmp(line, "ThreadSanitizer: reported ", 26) != 0) strbuf_addn(&rest, line, (size_t)(next - line));
        line = next;
    }
    f->rest = strbuf_take(&rest);
}

void tsan_findings_clear(tsan_findings *f) {
    free(f->first);
    free(f->rest);
    json_decref(f->traceback);
    memset(f, 0, sizeof *f);
}
