/* model.c — the timeline model (charts/timeline_model.h) from the events recorded so far.
 *
 * All threads' events are replayed in one time order, because some facts join lanes: a release
 * on one lane that lets a waiter on another acquire (a flow), a task stepped by the loop's
 * thread, a pool task queued by one thread and run by another.
 *
 * Each thread and each task is an actor, whose state is what its lane shows:
 *   waiting for the emulated GIL        TL_GIL
 *   else waiting on a primitive         the primitive's state (TL_LOCK, TL_SLEEP, ...)
 *   else a task between its steps       TL_WAIT, "its turn"
 *   else                                TL_RUNNING (labelled with a pool task it runs)
 * While the GIL is on, a thread lets it go only inside a wait (observe.h), and its lane shows
 * the wait before the GIL is let go: so RUNNING means holding the GIL.
 * A wait recorded while the loop's thread steps a task is the task's; it is the thread's too
 * until the task suspends (a blocking call in a task blocks the loop, and the lane shows it). */
#define _GNU_SOURCE
#include "conclab.h"
#include "labels.h"
#include "lane_builder.h"
#include "snapshot.h"
#include "trace_internal.h"
#include "trace_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONE ((size_t)-1)

typedef struct actor {
    size_t lane;              /* NONE until its thread's first event */
    int waiting;
    tl_state wait_state;
    trace_object *wait_on;
    const char *wait_what;    /* its label, fixed when the wait began */
    double wait_start;
    int gil_waiting;
    int gil_released;         /* let the GIL go in a blocking call the trace does not name */
    int suspended;            /* tasks: between their steps */
    const char *activity;     /* the label of its RUNNING spans, or NULL */
    size_t task;              /* threads: the task they step now, or NONE */
} actor;

typedef struct builder {
    const trace_snapshot *snap;
    const cl__trace_region *region;
    trace_labels *labels;
    lane_builder *lanes;
    size_t n_lanes, lanes_cap;
    actor *actors;            /* one per snapshot thread, then one per task */
    size_t n_actors, actors_cap;
    tl_flow *flows;
    size_t n_flows, flows_cap;
    tl_instant *instants;
    size_t n_instants, instants_cap;
    long n_tasks;
    int failed;               /* out of memory somewhere: no model */
} builder;

/* Grows *items (of *cap elements of size) to hold one more; 0 when out of memory. */
static int reserve(void **items, size_t *cap, size_t n, size_t size) {
    if (n < *cap) return 1;
    size_t more = *cap ? *cap * 2 : 16;
    void *grown = realloc(*items, more * size);
    if (!grown) return 0;
    *items = grown;
    *cap = more;
    return 1;
}

static double seconds(uint64_t ns) { return (double)ns * 1e-9; }

/* ---- what a primitive's wait looks like ------------------------------------------------------ */

/* The runtime's primitives, and the libc calls cells make (core/blocking.c), by state. */
static const char *const lock_waits[] = {"lock", "rlock", "semaphore", "async_lock",
                                         "async_semaphore", "shared_lock", "shared_semaphore",
                                         "sem_wait", "pthread_mutex_lock"};
static const char *const io_waits[] = {"stream", "loop", "connection", "http", "pipe", "read",
                                       "recv", "accept", "connect", "poll", "select"};
static const char *const join_waits[] = {"thread", "process", "waitpid", "pthread_join", "system"};

static int among(const char *primitive, const char *const *kinds, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(primitive, kinds[i]) == 0) return 1;
    return 0;
}

#define AMONG(primitive, kinds) among(primitive, kinds, sizeof kinds / sizeof *kinds)

static tl_state state_of_wait(const char *primitive) {
    if (!primitive) return TL_WAIT;
    if (AMONG(primitive, lock_waits)) return TL_LOCK;
    if (AMONG(primitive, io_waits)) return TL_IO;
    if (AMONG(primitive, join_waits)) return TL_JOIN;
    if (strcmp(primitive, "sleep") == 0) return TL_SLEEP;
    if (strcmp(primitive, "gil") == 0) return TL_GIL;
    return TL_WAIT;
}

static int is(const char *primitive, const char *kind) {
    return primitive && strcmp(primitive, kind) == 0;
}

/* ---- lanes and actors ------------------------------------------------------------------------ */

static size_t new_lane(builder *b, tl_lane_kind kind, int pid, long id, const char *name) {
    if (!reserve((void **)&b->lanes, &b->lanes_cap, b->n_lanes, sizeof *b->lanes)) {
        b->failed = 1;
        return NONE;
    }
    lane_builder *lb = &b->lanes[b->n_lanes];
    memset(lb, 0, sizeof *lb);
    lb->lane.kind = kind;
    lb->lane.pid = pid;
    lb->lane.id = id;
    lb->lane.name = strdup(name);
    lb->pid_rank = pid == b->snap->root_pid ? 0 : 1;
    if (!lb->lane.name) b->failed = 1;
    return b->n_lanes++;
}

static size_t new_actor(builder *b) {
    if (!reserve((void **)&b->actors, &b->actors_cap, b->n_actors, sizeof *b->actors)) {
        b->failed = 1;
        return NONE;
    }
    actor *a = &b->actors[b->n_actors];
    memset(a, 0, sizeof *a);
    a->lane = NONE;
    a->task = NONE;
    return b->n_actors++;
}

/* 1 if the thread started while recording: its start is among its first events (a thread
 * takes the GIL before it says it started). */
static int started_while_recording(const trace_thread *tt) {
    for (size_t i = 0; i < tt->n && i < 8; i++)
        if (tt->events[i].kind == CL_EVENT_THREAD_START ||
            tt->events[i].kind == CL__TR_PROCESS_START)
            return 1;
    return 0;
}

/* A thread's lane, opened at its first event, or at the trace's start for a thread of the traced
 * process that was running already. */
static void open_thread_lane(builder *b, size_t thread, double t) {
    const trace_thread *tt = &b->snap->threads[thread];
    int child_main = tt->pid != b->snap->root_pid && tt->tid == tt->pid;
    char name[64];
    if (child_main) snprintf(name, sizeof name, "process %d", tt->pid);
    else snprintf(name, sizeof name, "%s", tt->name[0] ? tt->name : "thread");
    size_t lane = new_lane(b, child_main ? TL_LANE_PROCESS : TL_LANE_THREAD, tt->pid, tt->tid, name);
    if (lane == NONE) return;
    double start = t;
    if (!started_while_recording(tt) && tt->pid == b->snap->root_pid)
        start = seconds(b->snap->start_ns);
    lane_begin(&b->lanes[lane], start, TL_RUNNING, NULL);
    b->actors[thread].lane = lane;
}

/* The state an actor's lane shows now (see the top of the file). */
static void refresh(builder *b, size_t who, double t) {
    actor *a = &b->actors[who];
    if (a->lane == NONE) return;
    tl_state state = TL_RUNNING;
    const char *what = a->activity;
    if (a->gil_waiting) {
        state = TL_GIL;
        what = "GIL";
    } else if (a->waiting) {
        state = a->wait_state;
        what = a->wait_what;
    } else if (a->gil_released) {
        state = TL_WAIT;
        what = "a blocking call";
    } else if (a->suspended) {
        state = TL_WAIT;
        what = "its turn";
    }
    if (!lane_set(&b->lanes[a->lane], t, state, what)) b->failed = 1;
}

static void add_flow(builder *b, size_t from_lane, double from, size_t to_lane, double to) {
    if (from_lane == to_lane || from_lane == NONE || to_lane == NONE) return;
    if (!reserve((void **)&b->flows, &b->flows_cap, b->n_flows, sizeof *b->flows)) {
        b->failed = 1;
        return;
    }
    b->flows[b->n_flows++] = (tl_flow){from_lane, to_lane, from, to};
}

static void add_instant(builder *b, size_t lane, double t, const char *name) {
    if (lane == NONE) return;
    if (!reserve((void **)&b->instants, &b->instants_cap, b->n_instants, sizeof *b->instants)) {
        b->failed = 1;
        return;
    }
    char *copy = strdup(name ? name : "mark");
    if (!copy) b->failed = 1;
    b->instants[b->n_instants++] = (tl_instant){lane, t, copy};
}

/* ---- events ---------------------------------------------------------------------------------- */

static void begin_wait(builder *b, size_t who, trace_object *o, const char *primitive, double t) {
    actor *a = &b->actors[who];
    if (is(primitive, "gil")) {
        a->gil_waiting = 1;
        return;
    }
    a->gil_released = 0; /* the wait names what it blocks in */
    if (a->waiting) return; /* a wait inside a wait (a condition retaking its lock): the outer one says what it is */
    a->waiting = 1;
    a->wait_state = state_of_wait(primitive);
    a->wait_on = o;
    a->wait_what = trace_labels_label(b->labels, o, primitive);
    a->wait_start = t;
}

/* An acquire (got it) or a timeout (gave up): the wait ends; an acquire right after another
 * lane's release of the same object is drawn as a flow. */
static void end_wait(builder *b, size_t who, trace_object *o, const char *primitive, double t,
                     int acquired) {
    actor *a = &b->actors[who];
    if (is(primitive, "gil")) {
        a->gil_waiting = 0;
        a->gil_released = 0;
        return;
    }
    a->gil_released = 0; /* back from its wait: holding the GIL again, or the GIL is off */
    int was_waiting = a->waiting && a->wait_on == o;
    if (was_waiting) a->waiting = 0;
    if (acquired && was_waiting && o && o->has_release && o->release_time >= a->wait_start) {
        add_flow(b, o->release_lane, o->release_time, a->lane, t);
        o->has_release = 0;
    }
}

static void note_release(builder *b, size_t who, trace_object *o, const char *primitive, double t) {
    if (!o || is(primitive, "gil")) return;
    o->has_release = 1;
    o->release_lane = b->actors[who].lane;
    o->release_time = t;
}

static void queue_pool_task(builder *b, size_t who, trace_object *o, double t) {
    if (!o) return;
    if (o->queued_head > 0 && o->queued_head == o->n_queued) o->queued_head = o->n_queued = 0;
    if (!reserve((void **)&o->queued, &o->queued_cap, o->n_queued, sizeof *o->queued)) {
        b->failed = 1;
        return;
    }
    o->queued[o->n_queued++] = (trace_queued){b->actors[who].lane, t};
}

/* A pool's workers take its tasks in the order they were queued: the oldest one is this one. */
static void run_pool_task(builder *b, size_t who, trace_object *o, const char *primitive, double t) {
    actor *a = &b->actors[who];
    if (o && is(primitive, "pool") && o->queued_head < o->n_queued) {
        trace_queued q = o->queued[o->queued_head++];
        add_flow(b, q.lane, q.time, a->lane, t);
    }
    char *text = NULL;
    const char *pool = o ? trace_labels_label(b->labels, o, primitive) : "pool";
    if (asprintf(&text, "a task of %s", pool) < 0) text = NULL;
    a->activity = trace_labels_keep(b->labels, text);
}

/* "Task-3" stays as it is; a name the user gave reads "task fetch". */
static void task_lane_name(char *out, size_t size, const char *given) {
    if (strncmp(given, "Task-", 5) == 0) snprintf(out, size, "%s", given);
    else snprintf(out, size, "task %s", given);
}

static void start_task(builder *b, size_t thread, trace_object *o, const char *name, double t) {
    size_t ta = new_actor(b);
    if (ta == NONE || !o) return;
    char lane_name[96];
    const char *given = name ? name : "task";
    task_lane_name(lane_name, sizeof lane_name, given);
    const trace_thread *tt = &b->snap->threads[thread];
    size_t lane = new_lane(b, TL_LANE_TASK, tt->pid, ++b->n_tasks, lane_name);
    if (lane == NONE) return;
    lane_begin(&b->lanes[lane], t, TL_WAIT, "its turn");
    b->actors[ta].lane = lane;
    b->actors[ta].suspended = 1;
    o->task_actor = ta + 1;
    trace_labels_name(b->labels, o, given);
}

static size_t task_of(trace_object *o) { return o && o->task_actor ? o->task_actor - 1 : NONE; }

static void end_lane_of(builder *b, size_t who, double t) {
    size_t lane = b->actors[who].lane;
    if (lane != NONE && !lane_end(&b->lanes[lane], t)) b->failed = 1;
}

static void rename_lane(builder *b, size_t thread, const char *name) {
    size_t lane = b->actors[thread].lane;
    char *copy = name ? strdup(name) : NULL;
    if (lane == NONE || !copy) {
        free(copy);
        return;
    }
    free(b->lanes[lane].lane.name);
    b->lanes[lane].lane.name = copy;
}

/* How many lanes are called "worker N of <pool>" so far. */
static int workers_named(const builder *b, const char *pool) {
    int found = 0;
    size_t tail = strlen(pool);
    for (size_t i = 0; i < b->n_lanes; i++) {
        const char *name = b->lanes[i].lane.name;
        size_t len = name ? strlen(name) : 0;
        if (len > tail + 4 && strncmp(name, "worker ", 7) == 0 && strcmp(name + len - tail, pool) == 0 &&
            strncmp(name + len - tail - 4, " of ", 4) == 0)
            found++;
    }
    return found;
}

/* A runtime thread's lane is called by the name its creator gave it; a pool's workers by the
 * pool's label, numbered in the order they started ("worker 2 of pool 1"). */
static void name_thread_lane(builder *b, size_t thread, trace_object *o, const char *primitive) {
    if (is(primitive, "thread") && o->name) {
        rename_lane(b, thread, o->name);
    } else if (is(primitive, "pool")) {
        const char *pool = trace_labels_label(b->labels, o, primitive);
        char *text = NULL;
        if (asprintf(&text, "worker %d of %s", workers_named(b, pool) + 1, pool) < 0) return;
        rename_lane(b, thread, text);
        free(text);
    }
}

static void rename_process_lane(builder *b, size_t thread, const char *name) {
    size_t lane = b->actors[thread].lane;
    if (lane == NONE || !name) return;
    char *copy = strdup(name);
    if (!copy) return;
    free(b->lanes[lane].lane.name);
    b->lanes[lane].lane.name = copy;
    b->lanes[lane].lane.kind = TL_LANE_PROCESS;
}

/* Replays one event of snapshot thread `thread`. */
static void replay(builder *b, size_t thread, const cl__trace_event *e) {
    double t = seconds(e->ns);
    actor *th = &b->actors[thread];
    if (th->lane == NONE) open_thread_lane(b, thread, t);
    if (th->lane == NONE) return;
    size_t who = th->task != NONE ? th->task : thread; /* the task it steps owns the waits */
    const char *text = cl__trace_string_at(b->region, e->arg);
    trace_object *o = trace_labels_find(b->labels, e->object, e->primitive);
    if (!o) {
        b->failed = 1;
        return;
    }
    switch (e->kind) {
    case CL_EVENT_THREAD_START:
        name_thread_lane(b, thread, o, e->primitive);
        break;
    case CL_EVENT_THREAD_END:
        if (is(e->primitive, "thread")) note_release(b, thread, o, e->primitive, t); /* for joins */
        end_lane_of(b, thread, t);
        break;
    case CL_EVENT_WAIT:
        begin_wait(b, who, o, e->primitive, t);
        if (who != thread && !is(e->primitive, "gil")) begin_wait(b, thread, o, e->primitive, t);
        break;
    case CL_EVENT_ACQUIRE:
    case CL_EVENT_TIMEOUT:
        end_wait(b, who, o, e->primitive, t, e->kind == CL_EVENT_ACQUIRE);
        if (who != thread && !is(e->primitive, "gil")) end_wait(b, thread, o, e->primitive, t, 0);
        break;
    case CL_EVENT_RELEASE:
        if (is(e->primitive, "gil") && !th->waiting) th->gil_released = 1;
        note_release(b, who, o, e->primitive, t);
        break;
    case CL__TR_NAME:
        trace_labels_name(b->labels, o, text);
        if (is(e->primitive, "task") && task_of(o) != NONE && text) { /* cl_task_set_name: its lane too */
            char lane_name[96];
            task_lane_name(lane_name, sizeof lane_name, text);
            rename_lane(b, task_of(o), lane_name);
        }
        break;
    case CL__TR_FORGET:
        trace_labels_forget(b->labels, o);
        break;
    case CL__TR_MARK:
        add_instant(b, b->actors[who].lane, t, text);
        break;
    case CL__TR_TASK_START:
        start_task(b, thread, o, text, t);
        th = &b->actors[thread]; /* the actors may have moved */
        break;
    case CL__TR_TASK_RESUME: {
        size_t task = task_of(o);
        if (task == NONE) break;
        th->task = task;
        b->actors[task].suspended = 0;
        refresh(b, task, t);
        break;
    }
    case CL__TR_TASK_SUSPEND:
    case CL__TR_TASK_END: {
        size_t task = task_of(o);
        th->task = NONE;
        th->waiting = 0; /* the thread goes back to its loop */
        if (task == NONE) break;
        b->actors[task].suspended = 1;
        if (e->kind == CL__TR_TASK_END) {
            end_lane_of(b, task, t);
            o->task_actor = 0;
        }
        refresh(b, task, t);
        break;
    }
    case CL__TR_POOL_QUEUED:
        queue_pool_task(b, who, o, t);
        break;
    case CL__TR_POOL_RUN:
        run_pool_task(b, thread, o, e->primitive, t);
        break;
    case CL__TR_POOL_DONE:
        th->activity = NULL;
        break;
    case CL__TR_PROCESS_START:
        rename_process_lane(b, thread, text);
        break;
    case CL__TR_PROCESS_END:
        end_lane_of(b, thread, t);
        break;
    default:
        break;
    }
    refresh(b, thread, t);
    if (who != thread && who < b->n_actors) refresh(b, who, t);
}

/* ---- one time order over all threads --------------------------------------------------------- */

typedef struct event_ref {
    uint64_t ns;
    uint32_t thread, index;
} event_ref;

static int by_time(const void *a, const void *b) {
    const event_ref *x = a, *y = b;
    if (x->ns != y->ns) return x->ns < y->ns ? -1 : 1;
    if (x->thread != y->thread) return x->thread < y->thread ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static event_ref *in_time_order(const trace_snapshot *s, size_t *n_out) {
    size_t n = 0;
    for (size_t i = 0; i < s->n_threads; i++) n += s->threads[i].n;
    event_ref *refs = malloc((n ? n : 1) * sizeof *refs);
    if (!refs) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < s->n_threads; i++)
        for (size_t j = 0; j < s->threads[i].n; j++)
            refs[k++] = (event_ref){s->threads[i].events[j].ns, (uint32_t)i, (uint32_t)j};
    qsort(refs, n, sizeof *refs, by_time);
    *n_out = n;
    return refs;
}

/* ---- the model ------------------------------------------------------------------------------- */

/* Lanes in reading order: the traced process's first, each process's own lane (its main thread)
 * first among its lanes, threads before tasks, then by start. */
static int lane_rank(const lane_builder *l) {
    return l->lane.kind == TL_LANE_PROCESS ? 0 : l->lane.kind == TL_LANE_THREAD ? 1 : 2;
}

static const lane_builder *sort_base;

static int by_reading_order(const void *a, const void *b) {
    const lane_builder *x = &sort_base[*(const size_t *)a], *y = &sort_base[*(const size_t *)b];
    if (x->pid_rank != y->pid_rank) return x->pid_rank - y->pid_rank;
    if (x->lane.pid != y->lane.pid) return x->lane.pid < y->lane.pid ? -1 : 1;
    if (lane_rank(x) != lane_rank(y)) return lane_rank(x) - lane_rank(y);
    if (x->lane.start != y->lane.start) return x->lane.start < y->lane.start ? -1 : 1;
    return x->lane.id < y->lane.id ? -1 : x->lane.id > y->lane.id;
}

/* Moves the lanes into m in reading order, renumbering flows and instants. 0 when out of memory. */
static int hand_over_lanes(builder *b, tl_model *m) {
    size_t n = b->n_lanes;
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    size_t *new_index = malloc((n ? n : 1) * sizeof *new_index);
    m->lanes = calloc(n ? n : 1, sizeof *m->lanes);
    if (!order || !new_index || !m->lanes) {
        free(order);
        free(new_index);
        return 0;
    }
    for (size_t i = 0; i < n; i++) order[i] = i;
    sort_base = b->lanes; /* qsort has no context argument; the caller holds the trace lock */
    qsort(order, n, sizeof *order, by_reading_order);
    for (size_t i = 0; i < n; i++) {
        m->lanes[i] = b->lanes[order[i]].lane;
        new_index[order[i]] = i;
    }
    m->n_lanes = n;
    b->n_lanes = 0;
    for (size_t i = 0; i < b->n_flows; i++) {
        b->flows[i].from_lane = new_index[b->flows[i].from_lane];
        b->flows[i].to_lane = new_index[b->flows[i].to_lane];
    }
    for (size_t i = 0; i < b->n_instants; i++) b->instants[i].lane = new_index[b->instants[i].lane];
    free(order);
    free(new_index);
    return 1;
}

static void builder_free(builder *b) {
    for (size_t i = 0; i < b->n_lanes; i++) tl_lane_free(&b->lanes[i].lane);
    free(b->lanes);
    free(b->actors);
    free(b->flows);
    for (size_t i = 0; i < b->n_instants; i++) free(b->instants[i].name);
    free(b->instants);
    trace_labels_free(b->labels);
}

/* Replays the snapshot into b; 0 when out of memory. */
static int replay_all(builder *b, double end) {
    for (size_t i = 0; i < b->snap->n_threads; i++)
        if (new_actor(b) == NONE) return 0;
    size_t n = 0;
    event_ref *refs = in_time_order(b->snap, &n);
    if (!refs) return 0;
    for (size_t i = 0; i < n && !b->failed; i++)
        replay(b, refs[i].thread, &b->snap->threads[refs[i].thread].events[refs[i].index]);
    free(refs);
    for (size_t i = 0; i < b->n_lanes; i++)
        if (!lane_end(&b->lanes[i], end)) b->failed = 1;
    return !b->failed;
}

static tl_model *build(const cl__trace_region *r, const trace_snapshot *s, const char *title) {
    builder b;
    memset(&b, 0, sizeof b);
    b.snap = s;
    b.region = r;
    b.labels = trace_labels_new();
    tl_model *m = calloc(1, sizeof *m);
    double end = s->stop_ns ? seconds(s->stop_ns) : seconds(cl__trace_now_ns());
    if (!b.labels || !m || !replay_all(&b, end) || !hand_over_lanes(&b, m)) {
        builder_free(&b);
        tl_model_free(m);
        return NULL;
    }
    m->title = title ? strdup(title) : NULL;
    m->start = seconds(s->start_ns);
    m->end = end;
    m->flows = b.flows;
    m->n_flows = b.n_flows;
    m->instants = b.instants;
    m->n_instants = b.n_instants;
    m->dropped = s->dropped;
    b.flows = NULL;
    b.instants = NULL;
    b.n_instants = 0;
    builder_free(&b);
    return m;
}

tl_model *cl__trace_model(const char *title) {
    cl__trace_lock();
    const cl__trace_region *r = cl__trace_current;
    tl_model *m = NULL;
    trace_snapshot s;
    if (r && trace_snapshot_take(r, &s)) {
        m = build(r, &s, title);
        trace_snapshot_free(&s);
    }
    cl__trace_unlock();
    return m;
}
