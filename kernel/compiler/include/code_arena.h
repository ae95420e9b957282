/* code_arena.h — where every cell's compiled code and global data live: one stretch of address
 * space, reserved once, smaller than 2 GiB.
 *
 * tcc reaches some globals of earlier cells with 32-bit RIP-relative operands (an `addsd` with a
 * memory operand, for one: kernel/compiler/LIBTCC.md). Those only reach within ±2 GiB, and a
 * relocation that does not reach makes libtcc exit the process. Keeping all cells in one arena
 * under 2 GiB makes every such reference reach, whatever the cells allocate in between. */
#ifndef CONCLAB_CODE_ARENA_H
#define CONCLAB_CODE_ARENA_H

#include <stddef.h>
#include <stdint.h>

/* Reserves the arena now (it is otherwise reserved by the first block): the executor does so
 * before it forks the compiler, so both find it at the same address. 0, or -1. */
int code_arena_reserve(void);

/* Readable, writable and executable memory for one cell's code and data, aligned to 64 bytes;
 * NULL when the arena cannot hold `size` more bytes (or cannot be reserved at all). */
void *code_arena_alloc(size_t size);

/* Gives back the most recent allocation (a cell that failed to link). */
void code_arena_unwind(void *block, size_t size);

/* The compiler writes cells' code into its own copy of the arena; the executor applies the same
 * bytes to its copy. These are the ranges written since the last code_arena_take_written. */
typedef struct code_arena_range {
    uintptr_t start;
    size_t length;
} code_arena_range;

void code_arena_note_written(const void *start, size_t length);
/* The ranges noted so far (malloc'd, *n of them; NULL when none); the list starts empty again. */
code_arena_range *code_arena_take_written(size_t *n);

/* In the executor: makes [start, start + length) accessible, for bytes the compiler wrote there.
 * 0, or -1 when the range is not inside the arena. */
int code_arena_expose(const void *start, size_t length);

/* Bytes still free, and the arena's whole size. */
size_t code_arena_left(void);
size_t code_arena_capacity(void);

#endif
