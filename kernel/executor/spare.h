/* spare.h — the process the next cell will run in, forked while the notebook is idle.
 *
 * A cell runs in a fork of the holder (executor.c), and forking copies the holder's page
 * tables: for a notebook holding gigabytes that costs milliseconds on these VMs, which a
 * trivial cell would pay every time. So as soon as a holder is idle it forks the next cell's
 * process ahead of time, the spare, which waits. The spare is an exact copy of the holder as
 * long as the holder changes nothing until the next cell: the only thing that changes in
 * between is what the compile writes (the code arena's bytes, the code map, the definitions),
 * and the compiler's reply goes to the spare whole, to be applied there. The holder applies it
 * itself only if the spare dies running the cell, and carries on as the pre-cell snapshot.
 *
 * No spare is made when the holder has threads of the cells' (cells then run in place) or
 * compiles in-process; if the fork fails or the spare is gone, the cell forks as before. The
 * spare is in a process group of its own, named "conclab-spare" until it takes a cell, and
 * ends when its holder does (its order pipe reaches end-of-file). */
#ifndef CONCLAB_SPARE_H
#define CONCLAB_SPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "cell_watch.h"
#include "chaos_trials.h"
#include "compiler.h"

/* A cell handed to the spare. */
typedef struct spare_order {
    int cell;
    bool allow_stdin;
    size_t memory_limit;
    compiler_reply reply;  /* the compiler's reply, not yet applied */
    cell_watch watch;      /* %%time, %%timeline, %%cpu */
    cell_checks checks;    /* %lockcheck, %%chaos --seed N */
} spare_order;

/* In the holder: is a spare waiting? */
bool spare_waiting(void);

/* In the holder: forks the spare. Returns false in the holder (whether or not the fork worked);
 * returns true in the spare once the holder handed it a cell, with *order filled. A spare whose
 * holder ended without handing it anything exits. */
bool spare_fork(spare_order *order);

/* In the holder: hands the waiting spare its cell. The reply's payload goes along: from memory,
 * or, while still unread, straight from `payload_from` (the compiler's socket) without passing
 * through the holder, whose pages the spare shares. 0, or -1 when there is no spare or it is
 * gone: the cell must fork now, and *moved says how much of an unread payload went already. */
int spare_hand(const spare_order *order, int payload_from, size_t *moved);

/* In the holder, after spare_hand: the spare's pid and the pipe it writes one byte to when it
 * hands the notebook over (it is the holder from then on). */
pid_t spare_pid(void);
int spare_commit_fd(void);

/* In the holder: the spare died (or ended); forgets it. */
void spare_forget(void);

/* In the spare that took a cell: where to write the hand-over byte. */
int spare_own_commit_fd(void);

/* Kills the waiting spare, if any (the notebook ends). */
void spare_kill(void);

#endif
