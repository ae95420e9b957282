#include "memory_guard.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "crash.h"

static size_t allowed;  /* the extra address space granted to this cell */

void memory_guard_limit(size_t bytes) {
    allowed = bytes;
    if (!bytes) return;
    unsigned long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%lu", &pages) != 1) pages = 0;
        fclose(f);
    }
    struct rlimit lim;
    if (getrlimit(RLIMIT_AS, &lim) != 0) return;
    rlim_t want = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + (rlim_t)bytes;
    if (lim.rlim_max != RLIM_INFINITY && want > lim.rlim_max) want = lim.rlim_max;
    lim.rlim_cur = want;
    setrlimit(RLIMIT_AS, &lim);
}

/* Says so once per cell, on stderr, where the failure belongs. */
static void refused(size_t bytes) {
    static int told;
    crash_note_failed_allocation(bytes);
    if (told++) return;
    fprintf(stderr, "\n[conclab] memory limit reached: an allocation of %zu bytes failed (the cell may use "
            "about %zu MiB more; CONCLAB_MEMORY_LIMIT sets it)\n", bytes, allowed >> 20);
}

void *memory_guard_malloc(size_t size) {
    void *p = malloc(size);
    if (!p && size) refused(size);
    return p;
}

void *memory_guard_calloc(size_t count, size_t size) {
    void *p = calloc(count, size);
    if (!p && count && size) refused(count * size);
    return p;
}

void *memory_guard_realloc(void *ptr, size_t size) {
    void *p = realloc(ptr, size);
    if (!p && size) refused(size);
    return p;
}
