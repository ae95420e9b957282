/* cpu_sampler.c — the CPU sampler thread (cpu_sampler.h). */
#define _GNU_SOURCE /* pthread_sigmask with everything blocked */
#include "cpu_sampler.h"

#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conclab/clock.h"

#define MOST_CORES 1024
#define SHORTEST_INTERVAL 0.005 /* below a clock tick's half, samples would be mostly noise */
#define MOST_GENERATIONS 8      /* children, grandchildren, ...: enough for any lab, finite for a fork bomb */

/* What /proc said at one moment. */
typedef struct reading {
    double time;                    /* cl_now() */
    unsigned long long *busy, *all; /* per core, in clock ticks */
    unsigned long long process;     /* utime + stime + cutime + cstime, in clock ticks */
} reading;

struct cl__cpu_sampler {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;  /* on CLOCK_MONOTONIC, like cl_now */
    int stopping;
    double interval;
    double ticks_per_second;
    reading last;
    tl_cpu samples;       /* grows; guarded by lock */
    size_t capacity;
};

/* ---------------------------------------------------------------- reading /proc */

/* Per-core busy and total ticks; returns how many cores the file lists (the highest cpuN + 1),
 * or -1. With busy NULL it only counts. */
static int read_cores(unsigned long long *busy, unsigned long long *all, int n_cores) {
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return -1;
    char line[512];
    int highest = -1;
    /* The per-core lines come first; the interrupt counters after them can be very long. */
    while (fgets(line, sizeof line, f) && strncmp(line, "cpu", 3) == 0) {
        int core;
        unsigned long long user, nice, system, idle, iowait = 0, irq = 0, softirq = 0, steal = 0;
        if (sscanf(line, "cpu%d %llu %llu %llu %llu %llu %llu %llu %llu", &core, &user, &nice, &system, &idle,
                   &iowait, &irq, &softirq, &steal) < 5)
            continue; /* the "cpu " total line */
        if (core < 0 || core >= MOST_CORES) continue;
        if (core > highest) highest = core;
        if (!busy || core >= n_cores) continue;
        /* guest time is already inside user time */
        busy[core] = user + nice + system + irq + softirq + steal;
        all[core] = busy[core] + idle + iowait;
    }
    fclose(f);
    return highest + 1;
}

/* utime + stime + cutime + cstime of one process (its own and its waited children's), from a
 * /proc/PID/stat file. */
static int read_stat_ticks(const char *path, unsigned long long *ticks) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char text[1024];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    /* The command name (field 2) may hold spaces and parentheses: count from its last ')'. */
    char *p = strrchr(text, ')');
    if (!p) return -1;
    unsigned long long utime, stime, cutime, cstime;
    if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu", &utime, &stime, &cutime,
               &cstime) != 4)
        return -1;
    *ticks = utime + stime + cutime + cstime;
    return 0;
}

/* Ticks of the children still running (or not yet waited for) under `pid`, and of theirs:
 * cutime counts a child only once it is waited for, so without these a process pool's work
 * would show as nothing while it runs and as a spike when it is joined. Each thread of a
 * process lists the children it forked in /proc/PID/task/TID/children. */
static unsigned long long live_children_ticks(const char *pid, int depth) {
    char path[128];
    snprintf(path, sizeof path, "/proc/%s/task", pid);
    DIR *tasks = depth < MOST_GENERATIONS ? opendir(path) : NULL;
    if (!tasks) return 0;
    unsigned long long total = 0;
    struct dirent *task;
    while ((task = readdir(tasks)) != NULL) {
        if (task->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "/proc/%s/task/%.32s/children", pid, task->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        char child[32];
        while (fscanf(f, "%31s", child) == 1) {
            char stat[128];
            unsigned long long ticks;
            snprintf(stat, sizeof stat, "/proc/%s/stat", child);
            if (read_stat_ticks(stat, &ticks) == 0) total += ticks + live_children_ticks(child, depth + 1);
        }
        fclose(f);
    }
    closedir(tasks);
    return total;
}

/* This process's ticks, with its children's, waited for or not. Its own file is read first: a
 * child waited for in between is then missed once (and counted at the next sample), never
 * counted twice. */
static int read_process(unsigned long long *ticks) {
    if (read_stat_ticks("/proc/self/stat", ticks) != 0) return -1;
    *ticks += live_children_ticks("self", 0);
    return 0;
}

static int take_reading(reading *r, int n_cores) {
    r->time = cl_now();
    memset(r->busy, 0, (size_t)n_cores * sizeof *r->busy);
    memset(r->all, 0, (size_t)n_cores * sizeof *r->all);
    if (read_cores(r->busy, r->all, n_cores) < 0) return -1;
    return read_process(&r->process);
}

/* ---------------------------------------------------------------- samples */

static int grow(cl__cpu_sampler *s) {
    if (s->samples.n_samples < s->capacity) return 0;
    size_t capacity = s->capacity ? s->capacity * 2 : 256, cores = (size_t)s->samples.n_cores;
    double *times = realloc(s->samples.times, capacity * sizeof *times);
    if (times) s->samples.times = times;
    double *per_core = realloc(s->samples.per_core, capacity * cores * sizeof *per_core);
    if (per_core) s->samples.per_core = per_core;
    double *process = realloc(s->samples.process, capacity * sizeof *process);
    if (process) s->samples.process = process;
    if (!times || !per_core || !process) return -1; /* keep what was sampled; stop adding */
    s->capacity = capacity;
    return 0;
}

static double share(unsigned long long now, unsigned long long before, double whole) {
    if (now <= before || whole <= 0) return 0;
    return (double)(now - before) / whole;
}

/* Turns the ticks since the last reading into one sample; `now` becomes the last reading. */
static void add_sample(cl__cpu_sampler *s, reading *now) {
    int cores = s->samples.n_cores;
    pthread_mutex_lock(&s->lock);
    if (grow(s) == 0) {
        size_t i = s->samples.n_samples;
        double wall = now->time - s->last.time;
        s->samples.times[i] = now->time;
        for (int k = 0; k < cores; k++) {
            double v = share(now->busy[k], s->last.busy[k], (double)(now->all[k] - s->last.all[k]));
            s->samples.per_core[i * (size_t)cores + (size_t)k] = v > 1 ? 1 : v;
        }
        double v = share(now->process, s->last.process, wall * s->ticks_per_second);
        s->samples.process[i] = v > cores ? cores : v; /* tick rounding can overshoot */
        s->samples.n_samples++;
    }
    pthread_mutex_unlock(&s->lock);
    reading swap = s->last;
    s->last = *now;
    *now = swap;
}

/* ---------------------------------------------------------------- the thread */

static struct timespec deadline_after(struct timespec from, double seconds) {
    long long ns = (long long)from.tv_nsec + (long long)(seconds * 1e9);
    from.tv_sec += (time_t)(ns / 1000000000LL);
    from.tv_nsec = (long)(ns % 1000000000LL);
    return from;
}

static void *sample_loop(void *arg) {
    cl__cpu_sampler *s = arg;
    int cores = s->samples.n_cores;
    reading now = {0, calloc((size_t)cores, sizeof *now.busy), calloc((size_t)cores, sizeof *now.all), 0};
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    pthread_mutex_lock(&s->lock);
    while (!s->stopping && now.busy && now.all) {
        /* Deadlines on a fixed grid, so the interval does not drift by the time a sample takes;
         * after a stall (a suspended VM) the grid starts anew rather than sampling in a burst. */
        next = deadline_after(next, s->interval);
        struct timespec now_ts;
        clock_gettime(CLOCK_MONOTONIC, &now_ts);
        if (now_ts.tv_sec > next.tv_sec || (now_ts.tv_sec == next.tv_sec && now_ts.tv_nsec > next.tv_nsec))
            next = deadline_after(now_ts, s->interval);
        while (!s->stopping && pthread_cond_timedwait(&s->wake, &s->lock, &next) == 0) {}
        if (s->stopping) break;
        pthread_mutex_unlock(&s->lock);
        if (take_reading(&now, cores) == 0) add_sample(s, &now);
        pthread_mutex_lock(&s->lock);
    }
    pthread_mutex_unlock(&s->lock);
    free(now.busy);
    free(now.all);
    return NULL;
}

/* The arrays of c, not c itself. */
static void free_samples(tl_cpu *c) {
    free(c->times);
    free(c->per_core);
    free(c->process);
}

static void sampler_free(cl__cpu_sampler *s) {
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->wake);
    free(s->last.busy);
    free(s->last.all);
    free(s);
}

static int start_thread(cl__cpu_sampler *s) {
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* the new thread inherits the mask */
    int rc = pthread_create(&s->thread, NULL, sample_loop, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

static int init_sync(cl__cpu_sampler *s) {
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0) return -1;
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&s->wake, &attr);
    pthread_condattr_destroy(&attr);
    if (rc != 0) return -1;
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        pthread_cond_destroy(&s->wake);
        return -1;
    }
    return 0;
}

cl__cpu_sampler *cl__cpu_sampler_start(double interval) {
    int cores = read_cores(NULL, NULL, 0);
    if (cores <= 0) return NULL;
    cl__cpu_sampler *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    if (init_sync(s) != 0) {
        free(s);
        return NULL;
    }
    s->interval = isfinite(interval) && interval > 0 ? interval : CL_CPU_DEFAULT_INTERVAL;
    if (s->interval < SHORTEST_INTERVAL) s->interval = SHORTEST_INTERVAL;
    long ticks = sysconf(_SC_CLK_TCK);
    s->ticks_per_second = ticks > 0 ? (double)ticks : 100;
    s->samples.n_cores = cores;
    s->last.busy = calloc((size_t)cores, sizeof *s->last.busy);
    s->last.all = calloc((size_t)cores, sizeof *s->last.all);
    int ok = s->last.busy && s->last.all && take_reading(&s->last, cores) == 0 && grow(s) == 0;
    if (ok) { /* sample 0: the start, an empty interval */
        s->samples.times[0] = s->last.time;
        memset(s->samples.per_core, 0, (size_t)cores * sizeof *s->samples.per_core);
        s->samples.process[0] = 0;
        s->samples.n_samples = 1;
    }
    if (!ok || start_thread(s) != 0) {
        free_samples(&s->samples);
        sampler_free(s);
        return NULL;
    }
    return s;
}

static tl_cpu *copy_samples(const tl_cpu *from) {
    tl_cpu *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    size_t n = from->n_samples ? from->n_samples : 1, cores = (size_t)from->n_cores;
    c->n_cores = from->n_cores;
    c->times = malloc(n * sizeof *c->times);
    c->per_core = malloc(n * cores * sizeof *c->per_core);
    c->process = malloc(n * sizeof *c->process);
    if (!c->times || !c->per_core || !c->process) {
        free_samples(c);
        free(c);
        return NULL;
    }
    c->n_samples = from->n_samples;
    memcpy(c->times, from->times, from->n_samples * sizeof *c->times);
    memcpy(c->per_core, from->per_core, from->n_samples * cores * sizeof *c->per_core);
    memcpy(c->process, from->process, from->n_samples * sizeof *c->process);
    return c;
}

tl_cpu *cl__cpu_sampler_snapshot(cl__cpu_sampler *s) {
    if (!s) return NULL;
    pthread_mutex_lock(&s->lock);
    tl_cpu *c = copy_samples(&s->samples);
    pthread_mutex_unlock(&s->lock);
    return c;
}

tl_cpu *cl__cpu_sampler_stop(cl__cpu_sampler *s) {
    if (!s) return NULL;
    pthread_mutex_lock(&s->lock);
    s->stopping = 1;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    /* The time since the last sample counts too, unless it is too short to mean anything. */
    int cores = s->samples.n_cores;
    reading now = {0, calloc((size_t)cores, sizeof *now.busy), calloc((size_t)cores, sizeof *now.all), 0};
    if (now.busy && now.all && cl_now() - s->last.time >= s->interval / 2 && take_reading(&now, cores) == 0)
        add_sample(s, &now);
    free(now.busy);
    free(now.all);
    tl_cpu *c = calloc(1, sizeof *c);
    if (c) *c = s->samples;
    else free_samples(&s->samples);
    sampler_free(s);
    return c;
}

void cl__cpu_free(tl_cpu *c) {
    if (!c) return;
    free_samples(c);
    free(c);
}
