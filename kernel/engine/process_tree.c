/* process_tree.c — finding and ending the processes below the kernel process (process_tree.h). */
#include "process_tree.h"

#include <dirent.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xalloc.h"

typedef struct process_row {
    pid_t pid, ppid;
    unsigned long long start;
    bool doomed;
    char name[16];  /* what prctl(PR_SET_NAME) set: "conclab-spare", ... */
} process_row;

typedef struct process_table {
    process_row *rows;
    size_t n;
} process_table;

/* "pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
 * cutime cstime priority nice threads itrealvalue starttime ...": the comm may hold spaces and
 * parentheses, so fields are counted from the last ')'. */
static bool read_stat_any(pid_t pid, process_row *row, bool *zombie) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return false;
    bool ok = fgets(buf, sizeof buf, f) != NULL;
    fclose(f);
    char *close = ok ? strrchr(buf, ')') : NULL;
    char state;
    int ppid;
    if (!close || sscanf(close + 2, "%c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
                         &state, &ppid, &row->start) != 3)
        return false;
    row->pid = pid;
    row->ppid = ppid;
    row->doomed = false;
    char *open = strchr(buf, '(');
    size_t n = open && close > open ? (size_t)(close - open - 1) : 0;
    if (n >= sizeof row->name) n = sizeof row->name - 1;
    memcpy(row->name, open ? open + 1 : "", n);
    row->name[n] = '\0';
    *zombie = state == 'Z';
    return true;
}

/* A live process: a zombie is already dead, its parent only has to reap it. */
static bool read_stat(pid_t pid, process_row *row) {
    bool zombie;
    return read_stat_any(pid, row, &zombie) && !zombie;
}

static void add_row(process_table *t, size_t *cap, const process_row *row) {
    if (t->n == *cap) t->rows = xrealloc(t->rows, (*cap = *cap ? 2 * *cap : 64) * sizeof *t->rows);
    t->rows[t->n++] = *row;
}

/* The children of pid, from /proc/PID/task/TID/children: an orphan handed to a subreaper becomes
 * the child of any of its threads, so every thread's list is read. Calls add for each. */
static void each_child(pid_t pid, void (*add)(pid_t child, void *ctx), void *ctx) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
        char children[320];
        snprintf(children, sizeof children, "/proc/%d/task/%s/children", (int)pid, e->d_name);
        FILE *f = fopen(children, "r");
        long child;
        while (f && fscanf(f, "%ld", &child) == 1) add((pid_t)child, ctx);
        if (f) fclose(f);
    }
    if (d) closedir(d);
}

typedef struct walk {
    process_table *t;
    size_t cap;
} walk;

static void add_below(pid_t child, void *ctx) {
    walk *w = ctx;
    process_row row;
    if (!read_stat(child, &row)) return;
    for (size_t i = 0; i < w->t->n; i++)
        if (w->t->rows[i].pid == child) return;  /* listed by two threads' files while it moved */
    add_row(w->t, &w->cap, &row);
}

/* Every live process below this one, parents before children: far fewer files than all of
 * /proc. Where /proc has no children files (a kernel without CONFIG_PROC_CHILDREN), all of
 * /proc is read instead. */
static void read_table(process_table *t) {
    t->rows = NULL;
    t->n = 0;
    walk w = {t, 0};
    char probe[64];
    snprintf(probe, sizeof probe, "/proc/self/task/%d/children", (int)getpid());
    if (access(probe, R_OK) == 0) {
        each_child(getpid(), add_below, &w);
        for (size_t i = 0; i < t->n; i++) each_child(t->rows[i].pid, add_below, &w);
        return;
    }
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
        process_row row;
        if (read_stat((pid_t)atoi(e->d_name), &row)) add_row(t, &w.cap, &row);
    }
    if (d) closedir(d);
}

/* Marks every process below the doomed ones as doomed too; returns how many are doomed. */
static size_t doom_descendants(process_table *t) {
    size_t doomed = 0;
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t i = 0; i < t->n; i++) {
            if (t->rows[i].doomed) continue;
            for (size_t j = 0; j < t->n; j++) {
                if (t->rows[j].doomed && t->rows[j].pid == t->rows[i].ppid) {
                    t->rows[i].doomed = changed = true;
                    break;
                }
            }
        }
    }
    for (size_t i = 0; i < t->n; i++) doomed += t->rows[i].doomed;
    return doomed;
}

static bool listed(const process_list *list, const process_row *row) {
    for (size_t i = 0; list && i < list->n; i++)
        if (list->items[i].pid == row->pid && list->items[i].start == row->start) return true;
    return false;
}

/* Now, in the units of a process's start time in /proc/PID/stat: clock ticks since boot. */
static unsigned long long ticks_now(void) {
    struct timespec now;
    clock_gettime(CLOCK_BOOTTIME, &now);
    long hz = sysconf(_SC_CLK_TCK);
    return (unsigned long long)now.tv_sec * (unsigned long long)hz +
           (unsigned long long)now.tv_nsec / (1000000000ull / (unsigned long long)hz);
}

void process_tree_descendants(process_list *out) {
    unsigned long long taken_at = ticks_now();
    process_table t;
    read_table(&t);
    for (size_t i = 0; i < t.n; i++) t.rows[i].doomed = t.rows[i].ppid == getpid();
    doom_descendants(&t);
    out->items = NULL;
    out->n = 0;
    out->taken_at = taken_at;
    for (size_t i = 0; i < t.n; i++) {
        if (!t.rows[i].doomed) continue;
        out->items = xrealloc(out->items, (out->n + 1) * sizeof *out->items);
        out->items[out->n++] = (process_id){t.rows[i].pid, t.rows[i].start};
    }
    free(t.rows);
}

/* One walk up the parents. A parent reaped while we look breaks it: the caller looks again. */
static process_place walk_up(pid_t pid) {
    process_row row;
    if (pid <= 1) return PROCESS_ELSEWHERE;
    if (!read_stat(pid, &row)) return PROCESS_GONE;
    for (int depth = 0; depth < 4096; depth++) {
        if (row.ppid == getpid()) return PROCESS_BELOW;
        /* through zombies too: a holder that handed over may not be reaped yet */
        bool zombie;
        if (row.ppid <= 1 || !read_stat_any(row.ppid, &row, &zombie)) return PROCESS_ELSEWHERE;
    }
    return PROCESS_ELSEWHERE;
}

process_place process_tree_place(pid_t pid) {
    process_place first = walk_up(pid);
    /* a reaped parent hands its children to us first, so a second walk finds the way */
    return first == PROCESS_ELSEWHERE ? walk_up(pid) : first;
}

typedef struct named_children {
    const char *name;
    process_list *out;
} named_children;

static void add_if_named(pid_t child, void *ctx) {
    named_children *n = ctx;
    process_row row;
    if (!read_stat(child, &row) || strcmp(row.name, n->name) != 0) return;
    n->out->items = xrealloc(n->out->items, (n->out->n + 1) * sizeof *n->out->items);
    n->out->items[n->out->n++] = (process_id){row.pid, row.start};
}

void process_tree_children_named(pid_t parent, const char *name, process_list *out) {
    out->items = NULL;
    out->n = 0;
    named_children n = {name, out};
    each_child(parent, add_if_named, &n);
}

void process_list_free(process_list *list) {
    free(list->items);
    list->items = NULL;
    list->n = 0;
}

/* One round: dooms the children `choose` picks and everything below them, and kills them. */
static int kill_round(pid_t parent, bool (*choose)(const process_row *, const void *), const void *ctx) {
    process_table t;
    read_table(&t);
    for (size_t i = 0; i < t.n; i++) t.rows[i].doomed = t.rows[i].ppid == parent && choose(&t.rows[i], ctx);
    doom_descendants(&t);
    int killed = 0;
    for (size_t i = 0; i < t.n; i++)
        if (t.rows[i].doomed && t.rows[i].pid != getpid()) killed += kill(t.rows[i].pid, SIGKILL) == 0;
    free(t.rows);
    return killed;
}

/* Rounds until one finds nobody (a process forking as it is killed leaves children for the
 * next round), at most 50. */
static int kill_rounds(pid_t parent, bool (*choose)(const process_row *, const void *), const void *ctx) {
    int total = 0;
    for (int round = 0; round < 50; round++) {
        int killed = kill_round(parent, choose, ctx);
        if (!killed) break;
        total += killed;
        usleep(2000);  /* the killed hand their children to us as they die */
    }
    return total;
}

typedef struct new_children {
    const process_list *before;
    pid_t keep;
} new_children;

static bool is_new_child(const process_row *row, const void *ctx) {
    const new_children *n = ctx;
    return row->pid != n->keep && row->start >= n->before->taken_at && !listed(n->before, row);
}

int process_tree_kill_new(const process_list *before, pid_t keep) {
    return process_tree_kill_new_below(getpid(), before, keep);
}

int process_tree_kill_new_below(pid_t parent, const process_list *before, pid_t keep) {
    new_children n = {before, keep};
    return kill_rounds(parent, is_new_child, &n);
}

static bool any_child(const process_row *row, const void *ctx) {
    (void)row;
    (void)ctx;
    return true;
}

int process_tree_kill_all(void) { return kill_rounds(getpid(), any_child, NULL); }
