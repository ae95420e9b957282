/* cgroup.c — listing, killing and removing the processes and folders of a cgroup (cgroup.h). */
#define _GNU_SOURCE
#include "cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "monotonic.h"

typedef int (*pid_visitor)(pid_t pid, void *ctx);

/* Calls visit for each process listed in dir/cgroup.procs; the sum of what it returned. */
static int each_process(const char *dir, pid_visitor visit, void *ctx) {
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/cgroup.procs", dir) >= (int)sizeof path) return 0;
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    int sum = 0;
    long pid;
    while (fscanf(f, "%ld", &pid) == 1) sum += visit((pid_t)pid, ctx);
    fclose(f);
    return sum;
}

/* Calls fn for dir and, when recursive, every sub-folder below it (children before parents when
 * post_order). */
static int each_folder(const char *dir, bool recursive, bool post_order, int (*fn)(const char *, void *),
                       void *ctx) {
    int sum = post_order ? 0 : fn(dir, ctx);
    DIR *d = recursive ? opendir(dir) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_type != DT_DIR || e->d_name[0] == '.') continue;
        char sub[PATH_MAX];
        if (snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name) < (int)sizeof sub)
            sum += each_folder(sub, true, post_order, fn, ctx);
    }
    if (d) closedir(d);
    return post_order ? sum + fn(dir, ctx) : sum;
}

int cgroup_join(const char *dir) {
    char path[PATH_MAX], pid[24];
    if (snprintf(path, sizeof path, "%s/cgroup.procs", dir) >= (int)sizeof path) return -1;
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    int rc = write(fd, pid, (size_t)n) == n ? 0 : -1;
    close(fd);
    return rc;
}

static int count_one(pid_t pid, void *ctx) {
    (void)pid;
    (void)ctx;
    return 1;
}

static int count_folder(const char *dir, void *ctx) { return each_process(dir, count_one, ctx); }

int cgroup_count_processes(const char *dir, bool recursive) {
    return each_folder(dir, recursive, false, count_folder, NULL);
}

static int kill_one(pid_t pid, void *ctx) {
    pid_t spare = *(pid_t *)ctx;
    if (pid <= 0 || pid == spare || pid == getpid()) return 0;
    return kill(pid, SIGKILL) == 0;
}

static int kill_folder(const char *dir, void *ctx) { return each_process(dir, kill_one, ctx); }

/* cgroup v2: one write ends the folder and everything below it. */
static bool kill_at_once(const char *dir) {
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/cgroup.kill", dir) >= (int)sizeof path) return false;
    FILE *f = fopen(path, "w");
    if (!f) return false;
    bool ok = fputs("1\n", f) >= 0;
    return fclose(f) == 0 && ok;
}

int cgroup_kill(const char *dir, bool recursive, pid_t spare) {
    if (spare == 0 && recursive) kill_at_once(dir);
    double deadline = monotonic_seconds() + 2.0;
    for (;;) {
        int signalled = each_folder(dir, recursive, false, kill_folder, &spare);
        int left = cgroup_count_processes(dir, recursive) - (spare > 0 && kill(spare, 0) == 0);
        if (left <= 0) return 0;
        if (monotonic_seconds() > deadline) return left;
        usleep(signalled ? 1000 : 5000);  /* the killed take a moment to leave cgroup.procs */
    }
}

static int remove_folder(const char *dir, void *ctx) {
    const char *top = ctx;
    if (top && strcmp(dir, top) == 0) return 0;
    return rmdir(dir) == 0;
}

void cgroup_remove_empty(const char *dir, bool remove_self) {
    each_folder(dir, true, true, remove_folder, remove_self ? NULL : (void *)dir);
}
