/* cell_watch.h — what the magics that watch a cell do around it, in the cell's own process, so
 * they see exactly its threads, the processes it forks and its tasks: %%time (cell_times.h),
 * %%timeline (a picture of what each of them did, optionally live and with the cores' use, and
 * its trace saved for Perfetto) and %%cpu (every core's use while it ran). The pictures are
 * displays (conclab/display.h), so they land in the cell like anything it shows itself. */
#ifndef CONCLAB_CELL_WATCH_H
#define CONCLAB_CELL_WATCH_H

#include <limits.h>
#include <stdbool.h>

typedef struct cell_watch {
    bool time;                   /* %%time */
    unsigned watch;              /* WATCH_* (messages.h) */
    char trace_file[PATH_MAX];   /* %%timeline --save FILE, or "" */
} cell_watch;

/* Just before the cell's code runs. */
void cell_watch_begin(const cell_watch *w, int cell_number);

/* Just after it returned (its output flushed): the reports and pictures. */
void cell_watch_end(const cell_watch *w);

#endif
