/* task_group.c — cl_task_group (asyncio.TaskGroup): tasks started together and awaited
 * together; the first failure cancels the rest, and the task that owns the group too if it is
 * not waiting in cl_task_group_wait yet (so whatever it awaits meanwhile returns CANCELLED),
 * a cancellation the group takes back when it is waited for (Python's _parent_cancel_requested
 * and uncancel). A cancellation of the owner from outside cancels every task of the group,
 * which is then waited for, and stays (the owner ends cancelled). */
#include "conclab.h"
#include "future_internal.h"
#include "loop_internal.h"
#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GROUP_MAGIC 0x54475250u /* "TGRP" */
#define DEAD_MAGIC 0xdeadf00du

struct cl_task_group {
    struct cl_task_group *self; /* first: how its done callbacks are found again */
    unsigned magic;
    cl__task *parent;
    cl_future **tasks;
    int n, cap;
    char *error;                /* "task 'Task-3': message" of the first failure */
    int aborting;               /* a task failed or the owner was cancelled: no new tasks */
    int in_wait, waited;
    int parent_cancel_requested;
};

static int valid(const cl_task_group *g, const char *call) {
    if (!g) {
        cl_report(call, "group is NULL (did cl_task_group_new fail?)");
        return 0;
    }
    if (g->magic != GROUP_MAGIC) {
        cl_report(call, "not a live cl_task_group (freed already?)");
        return 0;
    }
    return 1;
}

cl_task_group *cl_task_group_new(void) {
    cl__task *t = cl__task_running("cl_task_group_new");
    if (!t) return NULL;
    cl_task_group *g = calloc(1, sizeof *g);
    if (!g) {
        cl_report("cl_task_group_new", "out of memory");
        return NULL;
    }
    g->self = g;
    g->magic = GROUP_MAGIC;
    g->parent = t;
    return g;
}

static void abort_group(cl_task_group *g) {
    g->aborting = 1;
    for (int i = 0; i < g->n; i++) cl_future_cancel(g->tasks[i]);
}

static void on_task_done(cl_future *f, void *arg) {
    cl_task_group *g = arg;
    if (!cl__future_failed(f)) return;
    cl__future_mark_retrieved(f); /* the group reads it */
    if (g->error) return;
    char line[512];
    snprintf(line, sizeof line, "task '%s': %s", cl_task_name(f), cl_future_error(f));
    g->error = strdup(line);
    abort_group(g);
    if (!g->in_wait && !g->parent->finished && !g->parent_cancel_requested) {
        g->parent_cancel_requested = 1;
        cl_task_cancel(g->parent->future);
    }
}

cl_future *cl_task_group_create_task(cl_task_group *g, void *(*fn)(void *arg), void *arg) {
    const char *call = "cl_task_group_create_task";
    if (!valid(g, call)) return NULL;
    if (g->aborting || g->waited) {
        cl_report(call, g->aborting ? "the TaskGroup is shutting down (a task failed or it was cancelled)"
                                    : "the TaskGroup was waited for already (it has finished)");
        return NULL;
    }
    if (g->n == g->cap) {
        int cap = g->cap ? g->cap * 2 : 8;
        cl_future **tasks = realloc(g->tasks, (size_t)cap * sizeof *tasks);
        if (!tasks) {
            cl_report(call, "out of memory");
            return NULL;
        }
        g->tasks = tasks;
        g->cap = cap;
    }
    cl_future *f = cl_async_create_task(fn, arg);
    if (!f) return NULL;
    g->tasks[g->n++] = f;
    cl_future_add_done_callback(f, on_task_done, g);
    return f;
}

/* Suspends t until every task of g is done; returns whether t was cancelled meanwhile. */
static int wait_all(cl_task_group *g, cl__task *t) {
    int cancelled = 0;
    for (;;) {
        cl__waiter *w = cl__waiter_new(t->loop, t, 1, 1);
        int pending = 0;
        for (int i = 0; w && i < g->n; i++) {
            if (cl_future_done(g->tasks[i])) continue;
            pending++;
            if (cl__waiter_attach(w, g->tasks[i], "cl_task_group_wait") != 0) break;
        }
        if (!w || pending == 0) {
            if (w) cl__waiter_release(w);
            return cancelled;
        }
        int why = cl__task_suspend(t, w, -1);
        cl__waiter_release(w);
        if (why == CL_WAKE_CANCELLED) {
            cancelled = 1;
            abort_group(g);
        }
    }
}

int cl_task_group_wait(cl_task_group *g) {
    const char *call = "cl_task_group_wait";
    if (!valid(g, call)) return -1;
    cl__task *t = cl__task_running(call);
    if (!t) return -1;
    if (g->waited) return g->error ? -1 : 0;
    g->in_wait = 1;
    int cancelled = wait_all(g, t);
    g->in_wait = 0;
    g->waited = 1;
    if (g->parent_cancel_requested) { /* the group's own cancellation of its owner: taken back */
        g->parent_cancel_requested = 0;
        cl_task_uncancel(g->parent->future);
        if (g->parent->cancelling == 0) cancelled = 0;
    }
    return g->error || cancelled ? -1 : 0;
}

const char *cl_task_group_error(cl_task_group *g) {
    return valid(g, "cl_task_group_error") ? g->error : NULL;
}

void cl_task_group_free(cl_task_group *g) {
    if (!g) return;
    if (!valid(g, "cl_task_group_free")) return;
    if (!g->waited) {
        if (cl__task_running(NULL)) {
            cl_task_group_wait(g);
        } else {
            /* not inside a task: nothing can wait; cancel what runs and stop listening */
            abort_group(g);
        }
    }
    for (int i = 0; i < g->n; i++) {
        cl__future_take_done_callback(g->tasks[i], on_task_done, g);
        cl_future_free(g->tasks[i]);
    }
    free(g->tasks);
    free(g->error);
    g->magic = DEAD_MAGIC;
    free(g);
}
