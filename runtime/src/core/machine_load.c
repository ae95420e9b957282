/* machine_load.c — what else the machine is doing: cl_machine_mark_now, cl_machine_others_since.
 *
 * A lab that measures a speed-up needs to know whether a second core was free. Its own CPU time
 * cannot tell (a program the runtime wrongly kept on one core and a program whose second core
 * another program took look the same from inside), so this compares the whole machine's busy
 * time (/proc/stat) with this program's: every process of its session (/proc/PID/stat), which
 * covers its threads, the processes it forked and, through the parents' cumulative fields, those
 * already reaped. A core the hypervisor takes away without telling the guest stays invisible. */
#include "conclab.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* CPU seconds the whole machine spent busy since boot (/proc/stat's first line); -1 if unknown. */
static double machine_busy_seconds(void) {
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return -1;
    unsigned long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
    int got = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &user, &nice, &system, &idle, &iowait, &irq,
                     &softirq, &steal);
    fclose(f);
    if (got < 4) return -1;
    return (double)(user + nice + system + irq + softirq + steal) / (double)sysconf(_SC_CLK_TCK);
}

/* The session of process pid and its CPU ticks (own and reaped children's); 0 if unreadable. */
static int read_process(const char *pid, long *session, unsigned long long *ticks) {
    char path[64], text[1024];
    snprintf(path, sizeof path, "/proc/%s/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    const char *after_name = strrchr(text, ')'); /* the command name may hold spaces and parentheses */
    if (!after_name) return 0;
    /* fields from 3 on: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime */
    char state;
    long ppid, pgrp;
    unsigned long long utime, stime, cutime, cstime;
    if (sscanf(after_name + 2, "%c %ld %ld %ld %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu", &state, &ppid, &pgrp,
               session, &utime, &stime, &cutime, &cstime) != 8)
        return 0;
    *ticks = utime + stime + cutime + cstime;
    return 1;
}

/* CPU seconds of every process in this process's session. */
static double our_seconds(void) {
    long mine = (long)getsid(0);
    unsigned long long total = 0;
    DIR *proc = opendir("/proc");
    if (!proc) return 0;
    for (struct dirent *e; (e = readdir(proc));) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        long session;
        unsigned long long ticks;
        if (read_process(e->d_name, &session, &ticks) && session == mine) total += ticks;
    }
    closedir(proc);
    return (double)total / (double)sysconf(_SC_CLK_TCK);
}

cl_machine_mark cl_machine_mark_now(void) {
    cl_machine_mark m;
    m.wall = cl_now();
    m.machine_busy = machine_busy_seconds();
    m.ours = our_seconds();
    return m;
}

double cl_machine_others_since(cl_machine_mark mark) {
    cl_machine_mark now = cl_machine_mark_now();
    double wall = now.wall - mark.wall;
    if (mark.machine_busy < 0 || now.machine_busy < 0 || wall <= 0) return -1;
    double others = (now.machine_busy - mark.machine_busy) - (now.ours - mark.ours);
    return others > 0 ? others / wall : 0;
}
