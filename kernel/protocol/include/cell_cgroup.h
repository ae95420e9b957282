/* cell_cgroup.h — where each cell's processes are kept, agreed between the engine client and the
 * executor. Where the notebook has a cgroup of its own (kernel/engine/process_limit.h), the
 * client names it to the executor in CELL_CGROUPS_ENV and makes a folder CELL_CGROUP_FORMAT for
 * each cell before sending it; the cell's process moves itself there before the cell's code runs,
 * so every process the cell makes is found there (cgroup.h), whatever process group or parent it
 * ends up with. */
#ifndef CONCLAB_CELL_CGROUP_H
#define CONCLAB_CELL_CGROUP_H

#define CELL_CGROUPS_ENV "CONCLAB_CELL_CGROUPS"
#define CELL_CGROUP_FORMAT "%s/cell-%d"

#endif
