/* code_arena.h — where every cell's compiled code and global data live: one stretch of address
 * space, reserved once, smaller than 2 GiB.
 *
 * tcc reaches some globals of earlier cells with 32-bit RIP-relative operands (an `addsd` with a
 * memory operand, for one: kernel/engine/LIBTCC.md). Those only reach within ±2 GiB, and a
 * relocation that does not reach makes libtcc exit the process. Keeping all cells in one arena
 * under 2 GiB makes every such reference reach, whatever the cells allocate in between. */
#ifndef CONCLAB_CODE_ARENA_H
#define CONCLAB_CODE_ARENA_H

#include <stddef.h>

/* Readable, writable and executable memory for one cell's code and data, aligned to 64 bytes;
 * NULL when the arena cannot hold `size` more bytes (or cannot be reserved at all). */
void *code_arena_alloc(size_t size);

/* Gives back the most recent allocation (a cell that failed to link). */
void code_arena_unwind(void *block, size_t size);

/* Bytes still free, and the arena's whole size. */
size_t code_arena_left(void);
size_t code_arena_capacity(void);

#endif
