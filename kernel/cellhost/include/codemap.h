/* codemap.h — which notebook function an address of JIT code belongs to, so a crash can be
 * reported as "in fib() from cell[2]" rather than as a raw address. Filled as cells compile;
 * lookups only read fixed arrays, so a signal handler may call them. */
#ifndef CONCLAB_CODEMAP_H
#define CONCLAB_CODEMAP_H

#include <stddef.h>
#include <stdint.h>

#include "progress.h"

/* The memory one cell's code was relocated into. */
void codemap_add_region(uintptr_t start, size_t size);

/* A function starting at `start`: "fib" from cell 2, or (name NULL) the top level of cell 3. */
void codemap_add_function(uintptr_t start, const char *name, int cell);

/* The function containing addr: its name ("" for a cell's top level) and cell. 0 if none. */
int codemap_lookup(uintptr_t addr, const char **name, int *cell);

/* The host's describe_code hook (conclab_host.h): "in worker() of cell[3]", or "at cell[4],
 * line 7" for the top level of the running cell; 0 when addr is not the notebook's code. */
int codemap_describe(void *ctx, const void *addr, char *out, unsigned long size);

/* Where the running cell is (progress.h): the generated code stores the line before each
 * statement through the symbol __cl_line. */
extern volatile int *codemap_line;

/* Uses `page` (shared memory, or NULL for a private one) for the progress from now on. */
void codemap_use_progress(progress_page *page);

/* A new cell starts running. */
void codemap_running(int cell);

#endif
