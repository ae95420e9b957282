/* codemap.h — which notebook function an address of JIT code belongs to, so a crash can be
 * reported as "in fib() from cell[2]" rather than as a raw address. Filled as cells compile;
 * lookups only read fixed arrays, so a signal handler may call them. */
#ifndef CONCLAB_CODEMAP_H
#define CONCLAB_CODEMAP_H

#include <stddef.h>
#include <stdint.h>

/* The memory one cell's code was relocated into. */
void codemap_add_region(uintptr_t start, size_t size);

/* A function starting at `start`: "fib" from cell 2, or (name NULL) the top level of cell 3. */
void codemap_add_function(uintptr_t start, const char *name, int cell);

/* The function containing addr: its name ("" for a cell's top level) and cell. 0 if none. */
int codemap_lookup(uintptr_t addr, const char **name, int *cell);

/* The top-level line of the cell running now; the generated code stores it before each
 * statement (as __cl_line). */
extern volatile int codemap_line;

#endif
