/* sandbox_pids.c — the sandbox numbers its processes in its own PID namespace: the executor
 * reports the pids it sees (its cells, the holder of the notebook), and the kernel, which signals
 * and watches them from outside, needs its own numbers for them. /proc/PID/status's NSpid line
 * holds both: the kernel's pid first, the innermost namespace's last. A pid is translated only
 * to a process of this sandbox's namespace, so a message naming any other process finds none. */
#define _GNU_SOURCE
#include "sandbox.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "monotonic.h"

static unsigned long long pid_namespace_of(pid_t pid) {
    char path[64];
    struct stat st;
    snprintf(path, sizeof path, "/proc/%d/ns/pid", (int)pid);
    return stat(path, &st) == 0 ? (unsigned long long)st.st_ino : 0;
}

/* The innermost pid of a process (the last number of its NSpid line), or -1. */
static pid_t innermost_pid(pid_t pid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    pid_t inner = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "NSpid:", 6) != 0) continue;
        char *last = NULL, *save = NULL;
        for (char *tok = strtok_r(line + 6, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) last = tok;
        if (last) inner = (pid_t)atoi(last);
        break;
    }
    fclose(f);
    return inner;
}

pid_t sandbox_host_pid(const sandbox_pids *sp, pid_t inside_pid) {
    if (!sp->init || inside_pid <= 0) return -1;
    if (inside_pid == 1) return sp->init;
    DIR *d = opendir("/proc");
    if (!d) return -1;
    pid_t found = -1;
    struct dirent *e;
    while (found < 0 && (e = readdir(d))) {
        if (!isdigit((unsigned char)e->d_name[0])) continue;
        pid_t pid = (pid_t)atoi(e->d_name);
        if (innermost_pid(pid) == inside_pid && pid_namespace_of(pid) == sp->ns) found = pid;
    }
    closedir(d);
    return found;
}

bool sandbox_thread_alive(const sandbox_pids *sp, pid_t inside_pid, pid_t inside_tid) {
    pid_t pid = sandbox_host_pid(sp, inside_pid);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = pid > 0 ? opendir(path) : NULL;
    if (!d) return false;
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(d))) {
        if (!isdigit((unsigned char)e->d_name[0])) continue;
        char status[320], line[256];
        snprintf(status, sizeof status, "/proc/%d/task/%s/status", (int)pid, e->d_name);
        FILE *f = fopen(status, "r");
        while (f && fgets(line, sizeof line, f)) {
            if (strncmp(line, "NSpid:", 6) != 0) continue;
            char *last = strrchr(line, '\t');  /* the innermost number is the last, after a tab */
            found = last && atoi(last + 1) == inside_tid;
            break;
        }
        if (f) fclose(f);
    }
    closedir(d);
    return found;
}

/* bwrap's --info-fd JSON: {"child-pid": N, ...}; N is the sandbox's pid 1 as we number it. */
static pid_t read_child_pid(int fd, double seconds) {
    char text[512];
    size_t got = 0;
    double deadline = monotonic_seconds() + seconds;
    for (;;) {
        double left = deadline - monotonic_seconds();
        struct pollfd p = {fd, POLLIN, 0};
        if (left <= 0 || got + 1 >= sizeof text) break;
        int n = poll(&p, 1, (int)(left * 1000) + 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        ssize_t r = read(fd, text + got, sizeof text - 1 - got);
        if (r <= 0) break;  /* bwrap closes it once written, or dies first */
        got += (size_t)r;
    }
    text[got] = '\0';
    const char *key = strstr(text, "\"child-pid\"");
    const char *colon = key ? strchr(key, ':') : NULL;
    return colon ? (pid_t)atoi(colon + 1) : -1;
}

/* The one child of a process: bwrap's pid 1 has the keeper, the keeper the executor. */
static pid_t only_child(pid_t parent, double seconds) {
    char path[96];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)parent, (int)parent);
    for (double deadline = monotonic_seconds() + seconds; monotonic_seconds() < deadline; usleep(1000)) {
        FILE *f = fopen(path, "r");
        if (!f) return -1;  /* the parent is gone: the sandbox failed */
        long child = 0;
        bool has = fscanf(f, "%ld", &child) == 1;
        fclose(f);
        if (has && child > 0) return (pid_t)child;
    }
    return -1;
}

pid_t sandbox_pids_attach(sandbox_pids *sp, int info_fd, double seconds) {
    double started = monotonic_seconds();
    sp->init = read_child_pid(info_fd, seconds);
    if (sp->init <= 0) {
        sp->init = 0;
        return -1;
    }
    sp->ns = pid_namespace_of(sp->init);
    sp->keeper = only_child(sp->init, seconds - (monotonic_seconds() - started));
    return sp->keeper > 0 ? only_child(sp->keeper, seconds - (monotonic_seconds() - started)) : -1;
}
