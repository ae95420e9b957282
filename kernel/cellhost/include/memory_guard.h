/* memory_guard.h — a memory limit for cells, and allocation functions for cells that say when
 * the limit refused them. The limit is a soft RLIMIT_AS that the engine client sets on the holder
 * of the notebook and on the spare from outside (prlimit) before each cell, above what the
 * process already maps, so a runaway allocation fails in the cell rather than exhausting the
 * machine. The executor's processes cannot change it themselves: memory_guard_lock() installs a
 * seccomp filter, inherited by every process they fork, under which setrlimit(RLIMIT_AS) and
 * prlimit(RLIMIT_AS) with a new value fail with EPERM. No privilege is needed for either. */
#ifndef CONCLAB_MEMORY_GUARD_H
#define CONCLAB_MEMORY_GUARD_H

#include <stddef.h>

/* In the cell's process: the cell may use `bytes` more (what the message about it says). */
void memory_guard_limit(size_t bytes);

/* In the executor, once, before any cell: RLIMIT_AS cannot be set from here on, in this
 * process or any it forks. 0, or -1 where the filter cannot be installed (another machine). */
int memory_guard_lock(void);

/* Linked into cells in place of malloc, calloc and realloc. */
void *memory_guard_malloc(size_t size);
void *memory_guard_calloc(size_t count, size_t size);
void *memory_guard_realloc(void *ptr, size_t size);

#endif
