#include "codemap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct region {
    uintptr_t start, end;
} region;

typedef struct function {
    uintptr_t start;
    char name[64];
    int cell;
} function;

static region *regions;
static size_t n_regions, cap_regions;
static function *functions;
static size_t n_functions, cap_functions;

/* Room for one more element in a growing array (doubling, so adding stays cheap). */
static int make_room(void **array, size_t *cap, size_t n, size_t size) {
    if (n < *cap) return 0;
    size_t grown_cap = *cap ? *cap * 2 : 64;
    void *grown = realloc(*array, grown_cap * size);
    if (!grown) return -1;
    *array = grown;
    *cap = grown_cap;
    return 0;
}

static progress_page private_progress;
static progress_page *progress = &private_progress;
volatile int *codemap_line = &private_progress.line;

void codemap_use_progress(progress_page *page) {
    progress = page ? page : &private_progress;
    codemap_line = &progress->line;
}

void codemap_running(int cell) {
    progress->line = 0;
    progress->cell = cell;
}

void codemap_add_region(uintptr_t start, size_t size) {
    if (make_room((void **)&regions, &cap_regions, n_regions, sizeof *regions) != 0) return;
    regions[n_regions++] = (region){start, start + size};
}

void codemap_add_function(uintptr_t start, const char *name, int cell) {
    if (make_room((void **)&functions, &cap_functions, n_functions, sizeof *functions) != 0) return;
    function *f = &functions[n_functions++];
    f->start = start;
    f->cell = cell;
    f->name[0] = '\0';
    if (name) {
        strncpy(f->name, name, sizeof f->name - 1);
        f->name[sizeof f->name - 1] = '\0';
    }
}

int codemap_describe(void *ctx, const void *addr, char *out, unsigned long size) {
    (void)ctx;
    const char *name;
    int cell;
    /* a return address: the call is the instruction just before it */
    if (!addr || !codemap_lookup((uintptr_t)addr - 1, &name, &cell)) return 0;
    if (name[0]) snprintf(out, size, "in %s() of cell[%d]", name, cell);
    else if (cell == progress->cell && progress->line > 0) snprintf(out, size, "at cell[%d], line %d", cell, progress->line);
    else snprintf(out, size, "in cell[%d]", cell);
    return 1;
}

int codemap_lookup(uintptr_t addr, const char **name, int *cell) {
    const region *in = NULL;
    for (size_t i = 0; i < n_regions && !in; i++)
        if (addr >= regions[i].start && addr < regions[i].end) in = &regions[i];
    if (!in) return 0;
    const function *best = NULL;
    for (size_t i = 0; i < n_functions; i++) {
        const function *f = &functions[i];
        if (f->start <= addr && f->start >= in->start && (!best || f->start > best->start)) best = f;
    }
    if (!best) return 0;
    *name = best->name;
    *cell = best->cell;
    return 1;
}
