/* cgroup.h — the processes of a cgroup folder, cgroup v1 or v2: counted, and all ended. Used for
 * the notebook's cgroup and its cells' (kernel/engine/process_limit.h), so that a process a cell
 * made is found even after it left the cell's process group or its parents died. */
#ifndef CONCLAB_CGROUP_H
#define CONCLAB_CGROUP_H

#include <stdbool.h>
#include <sys/types.h>

/* Moves the calling process into the cgroup dir. 0, or -1. Only open() and write(): safe in a
 * child forked from a threaded process, before it execs. */
int cgroup_join(const char *dir);

/* Processes (not threads) in dir, and in its sub-folders too when recursive. */
int cgroup_count_processes(const char *dir, bool recursive);

/* SIGKILLs every process in dir (and its sub-folders when recursive) except `spare` (0: none),
 * round after round until none is left or about two seconds passed: a process forking as it is
 * killed has children that the next round finds. cgroup v2's cgroup.kill does it at once where
 * there is one and nothing is spared. Returns how many are left (0: all gone). */
int cgroup_kill(const char *dir, bool recursive, pid_t spare);

/* Removes dir's empty sub-folders, then dir itself when remove_self and it is empty too. */
void cgroup_remove_empty(const char *dir, bool remove_self);

#endif
