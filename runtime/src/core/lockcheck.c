/* lockcheck.c — lock-order checking (conclab/chaos.h), lockdep's idea for a student's locks.
 *
 * Each thread keeps the locks it holds, in the order it took them. Taking lock B while holding A
 * records the edge "A before B" in one graph for the process, with the thread and where each was
 * taken. If B already reaches A in that graph (B before A directly, or through other locks), the
 * new edge closes a cycle: threads following those orders can each hold one lock of the cycle and
 * wait for the next forever. That is reported the first time it is seen, whether or not this run
 * deadlocked, which is the point: a deadlock that happens once in a hundred runs shows on every
 * run here.
 *
 * Objects are keyed by address; freeing one forgets its edges (its address may come back as
 * another lock). Async locks do not take part: they are held by tasks, and the tasks of one loop
 * share its thread, so a thread's list of held locks would mix them up and report orders no task
 * followed. */
#include "conclab.h"
#include "call_site.h"
#include "hook_internal.h"
#include "lockcheck_internal.h"
#include "report.h"
#include "trace_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HELD_MAX 32     /* locks one thread holds at once that are checked */
#define EDGE_MAX 4096   /* orders remembered; beyond, new ones are not checked (and said once) */
#define SITE_TEXT 160
#define PATH_MAX_LOCKS 16

typedef struct held_lock {
    const void *object;
    const char *primitive;
    const void *site;  /* where it was taken: an address in the caller's code */
} held_lock;

typedef struct edge {
    const void *from, *to;
    const char *from_primitive, *to_primitive;
    const void *from_site, *to_site;
    char thread[48];
    int reported;  /* a cycle through this edge was reported already */
} edge;

static pthread_mutex_t graph_guard = PTHREAD_MUTEX_INITIALIZER;
static edge *edges;
static size_t n_edges;
static int reports;       /* cycles reported since checking was turned on; atomics only */
static int full_noted;    /* EDGE_MAX reached and said so */

static __thread held_lock held[HELD_MAX];
static __thread int n_held;

int cl__is_lock_kind(const char *primitive) {
    return strcmp(primitive, "lock") == 0 || strcmp(primitive, "rlock") == 0 ||
           strcmp(primitive, "shared_lock") == 0;
}

static edge *find_edge(const void *from, const void *to) {
    for (size_t i = 0; i < n_edges; i++)
        if (edges[i].from == from && edges[i].to == to) return &edges[i];
    return NULL;
}

/* A path from `from` to `to` through recorded edges, as edge indices into path[]; its length, or
 * 0 when there is none. Depth-first, bounded: the labs hold a handful of locks. */
static int find_path(const void *from, const void *to, size_t *path, int depth) {
    if (depth >= PATH_MAX_LOCKS) return 0;
    for (size_t i = 0; i < n_edges; i++) {
        if (edges[i].from != from) continue;
        path[depth] = i;
        if (edges[i].to == to) return depth + 1;
        int n = find_path(edges[i].to, to, path, depth + 1);
        if (n) return n;
    }
    return 0;
}

/* `lock "name"`, or the kind and address of an unnamed one. */
static void describe_lock(const char *primitive, const void *object, char *out, size_t size) {
    char name[64];
    if (cl__name_copy(object, name, sizeof name)) snprintf(out, size, "%s `%s`", primitive, name);
    else snprintf(out, size, "unnamed %s %p", primitive, object);
}

static int offsets_shown; /* a report named a binary+offset: it ends with how to read one */

static void describe_where(const void *site, char *out, size_t size) {
    int how = cl__call_site_describe(site, out, size);
    if (!how) snprintf(out, size, "where unknown");
    if (how == 2) offsets_shown = 1;
}

/* One order of the cycle, as a line: "Thread-1 took lock `a` (cell[3] ...) then lock `b` (...)". */
static void append_order(char *text, size_t size, const edge *e) {
    char from[96], to[96], from_where[SITE_TEXT], to_where[SITE_TEXT];
    describe_lock(e->from_primitive, e->from, from, sizeof from);
    describe_lock(e->to_primitive, e->to, to, sizeof to);
    describe_where(e->from_site, from_where, sizeof from_where);
    describe_where(e->to_site, to_where, sizeof to_where);
    size_t len = strlen(text);
    snprintf(text + len, size - len, "\n  - thread '%s' took %s (%s), then %s (%s)", e->thread, from, from_where,
             to, to_where);
}

/* The new edge e closes a cycle with path[0..n): says so, once. Called with the guard held. */
static void report_cycle(const edge *e, const size_t *path, int n) {
    for (int i = 0; i < n; i++)
        if (edges[path[i]].reported) return;
    for (int i = 0; i < n; i++) edges[path[i]].reported = 1;
    char text[4096], first[96], second[96];
    offsets_shown = 0;
    describe_lock(e->from_primitive, e->from, first, sizeof first);
    describe_lock(e->to_primitive, e->to, second, sizeof second);
    snprintf(text, sizeof text, "possible deadlock: locks taken in contradicting orders (this run did not "
             "necessarily deadlock):");
    append_order(text, sizeof text, e);
    for (int i = 0; i < n; i++) append_order(text, sizeof text, &edges[path[i]]);
    size_t len = strlen(text);
    snprintf(text + len, sizeof text - len, "\n  Threads following these orders at the same time can each hold one "
             "lock and wait for the other forever. Take the locks in one order everywhere (e.g. %s always "
             "before %s).%s", second, first,
             offsets_shown ? "\n  (addr2line -f -e BINARY 0xOFFSET turns BINARY+0xOFFSET into a function and line.)" : "");
    __atomic_add_fetch(&reports, 1, __ATOMIC_RELAXED);
    cl_report("lockcheck", "%s", text);
}

/* The calling thread, holding held[0..n_held), takes `object`: records and checks each order. */
static void check_orders(const char *primitive, const void *object, const void *site) {
    pthread_mutex_lock(&graph_guard);
    for (int i = 0; i < n_held; i++) {
        const held_lock *h = &held[i];
        if (h->object == object || find_edge(h->object, object)) continue;
        if (n_edges == EDGE_MAX) {
            if (!full_noted++) cl_report("lockcheck", "more than %d lock orders: later ones are not checked", EDGE_MAX);
            break;
        }
        edge e = {h->object, object, h->primitive, primitive, h->site, site, "", 0};
        snprintf(e.thread, sizeof e.thread, "%s", cl_thread_name());
        size_t path[PATH_MAX_LOCKS];
        int n = find_path(object, h->object, path, 0);
        edges[n_edges++] = e;
        if (n) report_cycle(&edges[n_edges - 1], path, n);
    }
    pthread_mutex_unlock(&graph_guard);
}

static int holds(const void *object) {
    for (int i = 0; i < n_held; i++)
        if (held[i].object == object) return 1;
    return 0;
}

static void acquired(const char *primitive, const void *object) {
    if (holds(object)) return;  /* an rlock taken again: its first acquisition counts */
    const void *site = cl__call_site_get();
    if (n_held > 0) check_orders(primitive, object, site);
    if (n_held < HELD_MAX) held[n_held++] = (held_lock){object, primitive, site};
}

static void released(const void *object) {
    for (int i = n_held - 1; i >= 0; i--) {
        if (held[i].object != object) continue;
        memmove(&held[i], &held[i + 1], (size_t)(n_held - i - 1) * sizeof held[0]);
        n_held--;
        return;
    }
}

void cl__lockcheck_event(unsigned kind, const char *primitive, const void *object) {
    if (!primitive || !cl__is_lock_kind(primitive)) return;
    if (kind == CL_EVENT_ACQUIRE) acquired(primitive, object);
    else if (kind == CL_EVENT_RELEASE) released(object);
}

void cl__lockcheck_forget(const void *object) {
    if (!cl_lockcheck_enabled()) return;
    pthread_mutex_lock(&graph_guard);
    for (size_t i = 0; i < n_edges;) {
        if (edges[i].from == object || edges[i].to == object) edges[i] = edges[--n_edges];
        else i++;
    }
    pthread_mutex_unlock(&graph_guard);
}

void cl_lockcheck_enable(int on) {
    pthread_mutex_lock(&graph_guard);
    if (on && !edges) edges = calloc(EDGE_MAX, sizeof *edges);
    n_edges = 0;
    full_noted = 0;
    __atomic_store_n(&reports, 0, __ATOMIC_RELAXED);
    int ok = edges != NULL;
    pthread_mutex_unlock(&graph_guard);
    if (on && !ok) cl_report("cl_lockcheck_enable", "out of memory");
    n_held = 0;  /* the caller's locks taken before are not known: start clean */
    cl__observers_set(CL__OBSERVED_BY_LOCKCHECK, on && ok);
}

int cl_lockcheck_enabled(void) {
    return (__atomic_load_n(&cl__observers, __ATOMIC_RELAXED) & CL__OBSERVED_BY_LOCKCHECK) != 0;
}

int cl_lockcheck_reports(void) { return __atomic_load_n(&reports, __ATOMIC_RELAXED); }

/* CONCLAB_LOCKCHECK=1: checking from the start, for programs built outside the kernel. */
__attribute__((constructor)) static void lockcheck_from_environment(void) {
    const char *text = getenv("CONCLAB_LOCKCHECK");
    if (text && strcmp(text, "1") == 0) cl_lockcheck_enable(1);
}
