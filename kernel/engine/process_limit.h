/* process_limit.h — a cap on the processes a notebook may have, so a fork bomb ends its cell
 * instead of the machine; threads do not count. Where the pids cgroup controller can be written
 * (root, or a delegated cgroup), the executor and everything it forks live in a cgroup of their
 * own: its processes are counted from cgroup.procs while a cell runs, and pids.max (which counts
 * threads too, so it is set far above the cap) refuses a fork bomb outright, which shows in
 * pids.events. Elsewhere the cell's process group is counted. Stale cgroups of kernels that were
 * killed are removed by the next one that starts. */
#ifndef CONCLAB_PROCESS_LIMIT_H
#define CONCLAB_PROCESS_LIMIT_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

/* Threads a notebook may run beyond its process limit where the cgroup counts them too. */
#define PROCESS_LIMIT_THREAD_ALLOWANCE 1024

typedef struct process_limit {
    int max;
    char dir[PATH_MAX];  /* the cgroup, or "" when there is none */
    long refused;        /* forks the cgroup refused, as last seen */
    bool backstop_hit;   /* the last hit was the cgroup's cap on processes and threads together */
    double next_count;   /* when the processes may be counted again (CLOCK_MONOTONIC seconds) */
} process_limit;

/* Makes the cgroup if it can. */
void process_limit_init(process_limit *pl, int max);

/* Moves the calling process into the cgroup (in the executor, before exec). */
void process_limit_join(const process_limit *pl);

/* Has the notebook hit the cap since the last call? `group` is the running cell's process group,
 * counted when there is no cgroup. Counting reads /proc or the cgroup, so it happens at most
 * every PROCESS_LIMIT_INTERVAL_S, the first time that long after the cell started: a short cell
 * never pays for it. Call with group 0 when a cell starts. */
#define PROCESS_LIMIT_INTERVAL_S 0.1
bool process_limit_exceeded(process_limit *pl, pid_t group);

/* Removes the cgroup (once its processes are gone). */
void process_limit_free(process_limit *pl);

/* Each cell's processes in a cgroup of their own below the notebook's (cell_cgroup.h): made
 * before the cell is sent; ended (all of them, wherever they went) when the cell is stopped;
 * every process of the notebook ended at restart and shutdown; empty ones removed after each
 * cell. Nothing happens where the notebook has no cgroup (process_tree.h does the work there). */
void process_limit_prepare_cell(const process_limit *pl, int cell);
void process_limit_end_cell(const process_limit *pl, int cell);
void process_limit_end_all(const process_limit *pl);
void process_limit_tidy(const process_limit *pl);

#endif
