/* process_tree.h — the processes below the kernel process, read from /proc. The kernel process
 * is a child subreaper (engine.c): a process a cell made stays below it even after it left the
 * cell's process group (setsid, setpgid) or lost its parents (a double fork), because an orphan
 * goes to its nearest subreaper, not to init. So the processes a stopped cell left are the new
 * children of the kernel process (and all below them), and at restart or shutdown everything
 * below it goes. This works without cgroups; where there are some, process_limit.h's are used
 * as well. */
#ifndef CONCLAB_PROCESS_TREE_H
#define CONCLAB_PROCESS_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Processes told apart by pid and start time, so a reused pid is not mistaken for its elder. */
typedef struct process_id {
    pid_t pid;
    unsigned long long start;
} process_id;

typedef struct process_list {
    process_id *items;
    size_t n;
    unsigned long long taken_at;  /* process_tree_descendants: when, in start-time ticks */
} process_list;

/* The live children of parent whose name (prctl PR_SET_NAME) is name. */
void process_tree_children_named(pid_t parent, const char *name, process_list *out);

/* Every process below this one, now. */
void process_tree_descendants(process_list *out);
void process_list_free(process_list *list);

/* SIGKILLs, with everything below them, the children of this process that are not in `before`
 * (everything below it when the cell was sent), started no earlier than it was taken (a process
 * handed up to us while the list was read, like the compiler when its executor exits, is not in
 * it but is older) and are not `keep` (the holder of the notebook),
 * round after round until a round finds none. A process that was there before and came up to
 * this one since (the compiler, when the executor that forked it handed over) is spared, and so
 * is whatever a process that was there before makes (a pool from an earlier cell replacing a
 * worker). Returns how many processes were signalled. */
int process_tree_kill_new(const process_list *before, pid_t keep);

/* The same for the new children of parent, a process below this one that is a subreaper too
 * (the sandbox's keeper, whose orphans go to it, not to us). */
int process_tree_kill_new_below(pid_t parent, const process_list *before, pid_t keep);

/* Where pid is: a live process below this one (its parents lead here: the only kind the kernel
 * signals when a message names one), elsewhere, or gone already (or a zombie: nothing to
 * signal either way). */
typedef enum process_place { PROCESS_BELOW, PROCESS_ELSEWHERE, PROCESS_GONE } process_place;
process_place process_tree_place(pid_t pid);

/* SIGKILLs everything below this process, round after round until nothing is left (restart,
 * shutdown). Returns how many processes were signalled. */
int process_tree_kill_all(void);

#endif
