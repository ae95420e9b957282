/* memory_guard.h — a memory limit for the cell's process, and allocation functions for cells
 * that say when the limit refused them. The limit is a soft RLIMIT_AS above what the process
 * already maps, so a runaway allocation fails in the cell rather than exhausting the machine. */
#ifndef CONCLAB_MEMORY_GUARD_H
#define CONCLAB_MEMORY_GUARD_H

#include <stddef.h>

/* In the cell's process: allow `bytes` more of address space (0: no limit). */
void memory_guard_limit(size_t bytes);

/* Linked into cells in place of malloc, calloc and realloc. */
void *memory_guard_malloc(size_t size);
void *memory_guard_calloc(size_t count, size_t size);
void *memory_guard_realloc(void *ptr, size_t size);

#endif
