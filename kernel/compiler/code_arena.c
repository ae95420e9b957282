/* code_arena.c — a bump allocator over one reservation. Pages are made accessible only as
 * blocks reach them, so the untouched rest costs neither memory nor page tables (and so nothing
 * when the executor forks). Blocks are never freed one by one: a cell's code stays as long as
 * the notebook's state does. */
#define _GNU_SOURCE
#include "code_arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* Just under 2 GiB: any two addresses inside are less than 2^31 apart, with room to spare for
 * the small displacements an instruction adds to its operand's address. */
#define ARENA_SIZE (((size_t)2 << 30) - ((size_t)16 << 20))
#define BLOCK_ALIGN 64

static unsigned char *base;   /* the reservation, or NULL before the first block */
static size_t used;           /* bytes handed out */
static size_t committed;      /* bytes made accessible (a multiple of the page size) */
static int reserve_failed;

static code_arena_range *written;
static size_t n_written, cap_written;

static int reserve(void) {
    if (base) return 0;
    if (reserve_failed) return -1;
    void *p = mmap(NULL, ARENA_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        reserve_failed = 1;
        return -1;
    }
    base = p;
    return 0;
}

/* Makes [0, end) of the arena accessible. */
static int commit_to(size_t end) {
    if (end <= committed) return 0;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t to = (end + page - 1) & ~(page - 1);
    if (mprotect(base + committed, to - committed, PROT_READ | PROT_WRITE | PROT_EXEC) != 0) return -1;
    committed = to;
    return 0;
}

int code_arena_reserve(void) { return reserve(); }

void *code_arena_alloc(size_t size) {
    if (reserve() != 0) return NULL;
    size_t start = (used + BLOCK_ALIGN - 1) & ~(size_t)(BLOCK_ALIGN - 1);
    if (size == 0) size = 1;
    if (start > ARENA_SIZE || size > ARENA_SIZE - start) return NULL;
    if (commit_to(start + size) != 0) return NULL;
    used = start + size;
    return base + start;
}

void code_arena_unwind(void *block, size_t size) {
    unsigned char *p = block;
    if (!base || p < base || p + size != base + used) return;  /* only the latest block */
    used = (size_t)(p - base);
}

void code_arena_note_written(const void *start, size_t length) {
    uintptr_t at = (uintptr_t)start;
    if (n_written && written[n_written - 1].start + written[n_written - 1].length == at) {
        written[n_written - 1].length += length;  /* right after the last one: one range */
        return;
    }
    if (n_written == cap_written) {
        cap_written = cap_written ? cap_written * 2 : 16;
        code_arena_range *grown = realloc(written, cap_written * sizeof *grown);
        if (!grown) abort();
        written = grown;
    }
    written[n_written++] = (code_arena_range){at, length};
}

code_arena_range *code_arena_take_written(size_t *n) {
    code_arena_range *taken = written;
    *n = n_written;
    written = NULL;
    n_written = cap_written = 0;
    return taken;
}

int code_arena_expose(const void *start, size_t length) {
    const unsigned char *p = start;
    if (reserve() != 0 || p < base || length > ARENA_SIZE || (size_t)(p - base) > ARENA_SIZE - length) return -1;
    size_t end = (size_t)(p - base) + length;
    if (commit_to(end) != 0) return -1;
    if (end > used) used = end;
    return 0;
}

size_t code_arena_left(void) {
    size_t start = (used + BLOCK_ALIGN - 1) & ~(size_t)(BLOCK_ALIGN - 1);
    return start >= ARENA_SIZE ? 0 : ARENA_SIZE - start;
}

size_t code_arena_capacity(void) { return ARENA_SIZE; }
