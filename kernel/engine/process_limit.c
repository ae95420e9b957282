#define _GNU_SOURCE
#include "process_limit.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cell_cgroup.h"
#include "cgroup.h"
#include "monotonic.h"
#include "text_file.h"

/* Where this process's pids cgroup is: cgroup v1 (".../pids/<path>") or v2 ("/sys/fs/cgroup/<path>"
 * when it offers the pids controller). */
static int current_pids_cgroup(char *out, size_t size) {
    FILE *f = fopen("/proc/self/cgroup", "r");
    if (!f) return -1;
    char line[512];
    int found = -1;
    while (found != 0 && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *controllers = strchr(line, ':');
        char *path = controllers ? strchr(controllers + 1, ':') : NULL;
        if (!path) continue;
        *path++ = '\0';
        controllers++;
        if (strstr(controllers, "pids") &&
            snprintf(out, size, "/sys/fs/cgroup/pids%s", strcmp(path, "/") == 0 ? "" : path) < (int)size)
            found = 0;
        else if (controllers[0] == '\0' && access("/sys/fs/cgroup/cgroup.controllers", R_OK) == 0 &&
                 snprintf(out, size, "/sys/fs/cgroup%s", strcmp(path, "/") == 0 ? "" : path) < (int)size)
            found = 0;
    }
    fclose(f);
    return found;
}

/* The pids controller counts threads as well as processes, and a lab may well start hundreds of
 * threads: pids.max is only the backstop that refuses a fork bomb outright, set
 * PROCESS_LIMIT_THREAD_ALLOWANCE above the process limit, while the processes themselves are counted from cgroup.procs. The
 * allowance is not larger because a fork bomb grows to the backstop before it is stopped. */
static long task_backstop(int max) {
    return (long)max + PROCESS_LIMIT_THREAD_ALLOWANCE;
}

/* The cgroups of kernels that were killed (SIGKILL leaves no chance to clean up): what still
 * runs in them is ended, and the folders removed. A kernel is known by its pid in the name
 * ("conclab-<pid>-<n>", "conclab-<pid>" before); one whose pid is still alive is left alone. */
static void remove_stale_cgroups(const char *parent) {
    DIR *d = opendir(parent);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        int pid;
        if (e->d_type != DT_DIR || sscanf(e->d_name, "conclab-%d", &pid) != 1 || pid <= 0) continue;
        if (kill(pid, 0) == 0 || errno != ESRCH) continue;
        char dir[PATH_MAX];
        if (snprintf(dir, sizeof dir, "%s/%s", parent, e->d_name) >= (int)sizeof dir) continue;
        cgroup_kill(dir, true, 0);
        cgroup_remove_empty(dir, true);
    }
    if (d) closedir(d);
}

void process_limit_init(process_limit *pl, int max) {
    memset(pl, 0, sizeof *pl);
    pl->max = max;
    char parent[PATH_MAX - 32];
    const char *cgroups = getenv("CONCLAB_CGROUPS");
    if (cgroups && strcmp(cgroups, "off") == 0) return;  /* the fallback, on purpose (tests use it) */
    if (max <= 0 || current_pids_cgroup(parent, sizeof parent) != 0) return;
    remove_stale_cgroups(parent);
    static int engines;  /* a process may run several engines (benchmarks, tests): a cgroup each */
    snprintf(pl->dir, sizeof pl->dir, "%s/conclab-%d-%d", parent, (int)getpid(), engines++);
    char limit[32];
    snprintf(limit, sizeof limit, "%ld\n", task_backstop(max));
    if ((mkdir(pl->dir, 0755) != 0) || text_file_write_in(pl->dir, "pids.max", limit) != 0) {
        rmdir(pl->dir);
        pl->dir[0] = '\0';
    }
}

void process_limit_join(const process_limit *pl) {
    if (pl->dir[0]) cgroup_join(pl->dir);
}

static long refused_forks(const process_limit *pl) {
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/pids.events", pl->dir);
    FILE *f = fopen(path, "r");
    long n = 0;
    if (f) {
        if (fscanf(f, "max %ld", &n) != 1) n = 0;
        fclose(f);
    }
    return n;
}

static int count_group(pid_t group) {
    DIR *d = opendir("/proc");
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
        char path[300], buf[512];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        if (fgets(buf, sizeof buf, f)) {
            char *close = strrchr(buf, ')');  /* "pid (comm) state ppid pgrp ..." */
            int ppid, pgrp;
            char state;
            if (close && sscanf(close + 1, " %c %d %d", &state, &ppid, &pgrp) == 3 && pgrp == group &&
                state != 'Z')
                n++;
        }
        fclose(f);
    }
    closedir(d);
    return n;
}

/* Processes (not threads) in the notebook's cgroup and its cells'. */
static int count_cgroup_processes(const process_limit *pl) { return cgroup_count_processes(pl->dir, true); }

enum { ENGINE_OWN_PROCESSES = 2 };  /* the executor holding the notebook, and the compiler */

bool process_limit_exceeded(process_limit *pl, pid_t group) {
    if (pl->max <= 0) return false;
    double now = monotonic_seconds();
    if (group > 0 && now < pl->next_count) return false;
    pl->next_count = now + PROCESS_LIMIT_INTERVAL_S;
    if (pl->dir[0]) {
        long now = refused_forks(pl);
        pl->backstop_hit = now > pl->refused;
        pl->refused = now;
        /* the executor and its compiler are in the cgroup too: the notebook's processes are the others */
        return pl->backstop_hit || (group > 0 && count_cgroup_processes(pl) - ENGINE_OWN_PROCESSES > pl->max);
    }
    return group > 0 && count_group(group) > pl->max;
}

void process_limit_free(process_limit *pl) {
    if (pl->dir[0]) cgroup_remove_empty(pl->dir, true);
    pl->dir[0] = '\0';
}

/* ---------------------------------------------------------------- a cgroup for each cell */

static bool cell_dir(const process_limit *pl, int cell, char *out, size_t size) {
    return pl->dir[0] && snprintf(out, size, CELL_CGROUP_FORMAT, pl->dir, cell) < (int)size;
}

void process_limit_prepare_cell(const process_limit *pl, int cell) {
    char dir[PATH_MAX + 32];
    if (cell_dir(pl, cell, dir, sizeof dir)) mkdir(dir, 0755);
}

void process_limit_end_cell(const process_limit *pl, int cell) {
    char dir[PATH_MAX + 32];
    if (cell_dir(pl, cell, dir, sizeof dir)) cgroup_kill(dir, true, 0);
}

void process_limit_end_all(const process_limit *pl) {
    if (pl->dir[0]) cgroup_kill(pl->dir, true, 0);
}

void process_limit_tidy(const process_limit *pl) {
    if (pl->dir[0]) cgroup_remove_empty(pl->dir, false);
}
