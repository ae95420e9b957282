#define _GNU_SOURCE
#include "thread_census.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct known_thread {
    pid_t tid;
    int cell;
} known_thread;

static known_thread *known;
static size_t n_known;
static volatile pid_t excluded;  /* the executor's watchdog thread */

void thread_census_exclude_self(void) { excluded = gettid(); }

static int find(pid_t tid) {
    for (size_t i = 0; i < n_known; i++)
        if (known[i].tid == tid) return (int)i;
    return -1;
}

void thread_census_take(int cell) {
    pid_t self = getpid();
    known_thread *alive = NULL;
    size_t n_alive = 0;
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        pid_t tid = (pid_t)atoi(e->d_name);
        if (tid <= 0 || tid == self || tid == excluded) continue;
        known_thread *grown = realloc(alive, (n_alive + 1) * sizeof *grown);
        if (!grown) break;
        alive = grown;
        int at = find(tid);
        alive[n_alive++] = (known_thread){tid, at >= 0 ? known[at].cell : cell};
    }
    if (d) closedir(d);
    free(known);
    known = alive;
    n_known = n_alive;
}

json_t *thread_census_by_cell(void) {
    json_t *out = json_array();
    for (size_t i = 0; i < n_known; i++) {
        bool counted = false;
        for (size_t k = 0; k < i && !counted; k++) counted = known[k].cell == known[i].cell;
        if (counted) continue;
        int count = 0;
        for (size_t k = i; k < n_known; k++) count += known[k].cell == known[i].cell;
        json_array_append_new(out, json_pack("{s:i, s:i}", "cell", known[i].cell, "count", count));
    }
    return out;
}

/* The state letter and the name of a thread, from /proc. */
static void describe(pid_t tid, char *state, char *name, size_t name_size) {
    char path[64], buf[256];
    *state = '?';
    snprintf(name, name_size, "?");
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
    FILE *f = fopen(path, "r");
    if (f && fgets(buf, sizeof buf, f)) {
        char *close = strrchr(buf, ')');  /* "tid (comm) S ..." */
        char *open = strchr(buf, '(');
        if (open && close && close > open) {
            snprintf(name, name_size, "%.*s", (int)(close - open - 1), open + 1);
            if (close[1] == ' ') *state = close[2];
        }
    }
    if (f) fclose(f);
}

json_t *thread_census_list(void) {
    thread_census_take(0);  /* forget the dead; new ones (none expected here) get cell 0 */
    json_t *out = json_array();
    for (size_t i = 0; i < n_known; i++) {
        char state, name[32];
        describe(known[i].tid, &state, name, sizeof name);
        char st[2] = {state, '\0'};
        json_array_append_new(out, json_pack("{s:i, s:i, s:s, s:s}", "tid", (int)known[i].tid, "cell",
                                             known[i].cell, "state", st, "name", name));
    }
    return out;
}
