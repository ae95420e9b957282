/* coro.c — stackful coroutines and their stacks; see coro.h. The SIGSEGV side of stack overflow
 * lives in coro_guard.c; the register-level switch in context.c. */
#define _GNU_SOURCE
#include "coro.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "report.h"

#ifdef CL_ASAN
#include <sanitizer/asan_interface.h>
#endif

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102 /* Linux 6.13: a guard region that costs no extra mapping */
#endif

enum { SUSPENDED, RUNNING, DONE };          /* RUNNING: running, or waiting for one it resumed */
enum { GUARD_MADVISE, GUARD_MPROTECT, GUARD_CANARY };
enum { CANARY_WORDS = 8 };
#define CANARY 0xC0C0DEADBEEF5AFEULL
#define RECORD_ALIGN 64
#define SKIP_LIMIT (1 << 20) /* a frame this far below its stack still counts as an overflow */

typedef struct coro_thread coro_thread;

struct cl_coro {
    cl_context context;
    cl_context *resumer;   /* where a yield or the end goes back to: set by each resume */
    cl_coro *outer;        /* the coroutine that resumed this one, NULL for the thread's stack */
    coro_thread *owner;
    cl_coro_fn fn;
    void *arg;
    char *map;             /* the whole mapping: [guard page][stack ... this record] */
    size_t map_size;
    unsigned char state, guard;
    char name[CL_CORO_NAME_CAP];
};

struct coro_thread {
    cl_context own;        /* the thread's own stack */
    cl_coro *current;
    int cached;
    cl_coro *cache[CL_CORO_STACK_CACHE]; /* freed default-sized coroutines, stacks and all */
};

static __thread coro_thread *self __attribute__((tls_model("initial-exec")));

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_key_t thread_key; /* only for its destructor: a thread's cache goes when it ends */
static size_t page;
static int use_madvise = 1;      /* cleared when the kernel refuses MADV_GUARD_INSTALL */
static long mprotect_budget;     /* mprotect guards allowed at once (each costs one mapping) */
static long mprotect_guards;     /* mprotect guards alive */
static unsigned long task_number;

/* ---- stacks ----------------------------------------------------------------------------------- */

static size_t record_size(void) { return (sizeof(cl_coro) + RECORD_ALIGN - 1) & ~(size_t)(RECORD_ALIGN - 1); }

static char *usable_lo(const cl_coro *c) { return c->map + page; }

static long max_map_count(void) {
    char text[32] = "";
    int fd = open("/proc/sys/vm/max_map_count", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, text, sizeof text - 1);
        text[n > 0 ? n : 0] = '\0';
        close(fd);
    }
    long count = strtol(text, NULL, 10);
    return count > 0 ? count : 65530;
}

static void canary_set(char *lo) {
    uint64_t *w = (uint64_t *)(void *)lo - CANARY_WORDS;
    for (int i = 0; i < CANARY_WORDS; i++) w[i] = CANARY;
}

static int canary_intact(const char *lo) {
    const uint64_t *w = (const uint64_t *)(const void *)lo - CANARY_WORDS;
    for (int i = 0; i < CANARY_WORDS; i++)
        if (w[i] != CANARY) return 0;
    return 1;
}

/* The guard below a new stack: free where the kernel can, a mapping of its own while the map
 * count allows, else a canary (coro.h says why). */
static unsigned char put_guard(char *map) {
    if (__atomic_load_n(&use_madvise, __ATOMIC_RELAXED)) {
        if (madvise(map, page, MADV_GUARD_INSTALL) == 0) return GUARD_MADVISE;
        if (errno == EINVAL) __atomic_store_n(&use_madvise, 0, __ATOMIC_RELAXED);
    }
    if (__atomic_add_fetch(&mprotect_guards, 1, __ATOMIC_RELAXED) <= __atomic_load_n(&mprotect_budget, __ATOMIC_RELAXED) &&
        mprotect(map, page, PROT_NONE) == 0)
        return GUARD_MPROTECT;
    __atomic_sub_fetch(&mprotect_guards, 1, __ATOMIC_RELAXED);
    canary_set(map + page);
    return GUARD_CANARY;
}

static cl_coro *map_stack(size_t stack_size) {
    size_t size = page + stack_size;
    char *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (map == MAP_FAILED) return NULL;
    cl_coro *c = (cl_coro *)(void *)(map + size - record_size());
    c->map = map;
    c->map_size = size;
    c->guard = put_guard(map);
    cl__coro_guard_install(); /* a slow path already: worth re-checking the handler is ours */
    return c;
}

static void unmap_stack(cl_coro *c) {
    if (c->guard == GUARD_MPROTECT) __atomic_sub_fetch(&mprotect_guards, 1, __ATOMIC_RELAXED);
    munmap(c->map, c->map_size);
}

/* A freed coroutine's stack may hold ASan's poison from frames that never returned. */
static void forget_frames(cl_coro *c) {
#ifdef CL_ASAN
    __asan_unpoison_memory_region(usable_lo(c), (size_t)((char *)c - usable_lo(c)));
#else
    (void)c;
#endif
}

/* ---- threads ---------------------------------------------------------------------------------- */

static void thread_ends(void *arg) {
    coro_thread *t = arg;
    while (t->cached) unmap_stack(t->cache[--t->cached]);
    cl__coro_guard_thread_exit();
    self = NULL;
    free(t);
}

static void init_once(void) {
    page = (size_t)sysconf(_SC_PAGESIZE);
    if (!__atomic_load_n(&mprotect_budget, __ATOMIC_RELAXED))
        __atomic_store_n(&mprotect_budget, max_map_count() / 4, __ATOMIC_RELAXED);
    pthread_key_create(&thread_key, thread_ends);
}

static coro_thread *thread_state(void) {
    if (self) return self;
    pthread_once(&once, init_once);
    coro_thread *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    cl__context_init_thread(&t->own);
    pthread_setspecific(thread_key, t);
    self = t;
    cl__coro_guard_install();
    return t;
}

/* ---- names ------------------------------------------------------------------------------------ */

static void set_name(cl_coro *c, const char *name) {
    if (name) {
        size_t n = strnlen(name, CL_CORO_NAME_CAP - 1);
        memcpy(c->name, name, n);
        c->name[n] = '\0';
        return;
    }
    /* "Task-N", as asyncio numbers unnamed tasks; by hand, since this is on the create path */
    unsigned long number = __atomic_add_fetch(&task_number, 1, __ATOMIC_RELAXED);
    char digits[24];
    int n = 0;
    do digits[n++] = (char)('0' + number % 10);
    while ((number /= 10) && n < (int)sizeof digits);
    memcpy(c->name, "Task-", 5);
    int at = 5;
    while (n) c->name[at++] = digits[--n];
    c->name[at] = '\0';
}

void cl__coro_rename(cl_coro *c, const char *name) {
    if (c && name) set_name(c, name);
}

/* ---- overflow reports ------------------------------------------------------------------------- */

/* Async-signal-safe: "stack overflow in task 'name' (16 KiB stack)". */
static void report_overflow(const cl_coro *c) {
    char line[64 + CL_CORO_NAME_CAP + 32];
    size_t n = 0;
    const char *parts[] = {"stack overflow in task '", c->name, "' ("};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        for (const char *s = parts[i]; *s; s++) line[n++] = *s;
    char digits[24];
    int d = 0;
    size_t kib = cl__coro_stack_size(c) / 1024;
    do digits[d++] = (char)('0' + kib % 10);
    while ((kib /= 10) && d < (int)sizeof digits);
    while (d) line[n++] = digits[--d];
    for (const char *s = " KiB stack)\n"; *s; s++) line[n++] = *s;
    ssize_t written = write(STDERR_FILENO, line, n);
    (void)written; /* nowhere left to report a failed report */
}

int cl__coro_explain_fault(const void *addr, const void *sp) {
    coro_thread *t = self;
    cl_coro *c = t ? t->current : NULL;
    if (!c) return 0;
    uintptr_t a = (uintptr_t)addr, s = (uintptr_t)sp, lo = (uintptr_t)usable_lo(c);
    int in_guard = a >= (uintptr_t)c->map && a < lo;
    int frame_below = s && s < lo && lo - s <= SKIP_LIMIT;
    if (!in_guard && !frame_below) return 0;
    report_overflow(c);
    return 1;
}

/* A canary stack overflowed (found at a switch): same line, same death as a guard page gives. */
static void die_of_overflow(const cl_coro *c) {
    report_overflow(c);
    raise(SIGSEGV);
    abort(); /* a handler ignored it: the memory below that stack is not to be trusted */
}

/* ---- coroutines ------------------------------------------------------------------------------- */

/* The bottom frame of every coroutine: run, then leave for good. */
static void coro_main(void *arg) {
    cl_coro *c = arg;
    c->fn(c->arg);
    c->state = DONE;
    cl__context_exit(&c->context, c->resumer);
}

cl_coro *cl__coro_create(cl_coro_fn fn, void *arg, const char *name, size_t stack_size) {
    if (!fn) {
        cl_report("cl__coro_create", "no function to run");
        errno = EINVAL;
        return NULL;
    }
    coro_thread *t = thread_state();
    if (!t) return NULL;
    if (stack_size < CL_CORO_MIN_STACK) stack_size = stack_size ? CL_CORO_MIN_STACK : CL_CORO_DEFAULT_STACK;
    stack_size = (stack_size + page - 1) & ~(page - 1);
    cl_coro *c = stack_size == CL_CORO_DEFAULT_STACK && t->cached ? t->cache[--t->cached] : map_stack(stack_size);
    if (!c) return NULL;
    c->resumer = NULL;
    c->outer = NULL;
    c->owner = t;
    c->fn = fn;
    c->arg = arg;
    c->state = SUSPENDED;
    set_name(c, name);
    cl__context_make(&c->context, usable_lo(c), (size_t)((char *)c - usable_lo(c)), coro_main, c);
    return c;
}

static int refuse(const char *call, const cl_coro *c, const char *why) {
    cl_report(call, "coroutine '%s' %s", c->name, why);
    return -1;
}

int cl__coro_resume(cl_coro *c) {
    if (!c) {
        cl_report("cl__coro_resume", "no coroutine (NULL)");
        return -1;
    }
    coro_thread *t = self;
    if (c->owner != t) return refuse("cl__coro_resume", c, "belongs to another thread");
    if (c->state == DONE) return refuse("cl__coro_resume", c, "has already finished");
    if (c->state == RUNNING) return refuse("cl__coro_resume", c, "is already running");
    cl_coro *outer = t->current;
    c->outer = outer;
    c->resumer = outer ? &outer->context : &t->own;
    c->state = RUNNING;
    t->current = c;
    cl__context_switch(c->resumer, &c->context);
    t->current = outer;
    if (c->guard == GUARD_CANARY && !canary_intact(usable_lo(c))) die_of_overflow(c);
    return 0;
}

int cl__coro_yield(void) {
    coro_thread *t = self;
    cl_coro *c = t ? t->current : NULL;
    if (!c) {
        cl_report("cl__coro_yield", "not inside a coroutine");
        return -1;
    }
    c->state = SUSPENDED;
    cl__context_switch(&c->context, c->resumer);
    return 0;
}

int cl__coro_done(const cl_coro *c) { return c && c->state == DONE; }

cl_coro *cl__coro_current(void) { return self ? self->current : NULL; }

const char *cl__coro_name(const cl_coro *c) { return c ? c->name : NULL; }

size_t cl__coro_stack_size(const cl_coro *c) { return c ? c->map_size - page : 0; }

void cl__coro_free(cl_coro *c) {
    if (!c) return;
    if (c->state == RUNNING) {
        refuse("cl__coro_free", c, "is running: it cannot be freed");
        return;
    }
    if (c->guard == GUARD_CANARY && !canary_intact(usable_lo(c))) die_of_overflow(c);
    cl__context_release(&c->context);
    forget_frames(c);
    coro_thread *t = self;
    if (t && c->map_size == page + CL_CORO_DEFAULT_STACK && t->cached < CL_CORO_STACK_CACHE) {
        c->state = DONE;
        t->cache[t->cached++] = c;
        return;
    }
    unmap_stack(c);
}

void cl__coro_test_guard_policy(int madvise_guards, long budget) {
    pthread_once(&once, init_once);
    __atomic_store_n(&use_madvise, madvise_guards, __ATOMIC_RELAXED);
    __atomic_store_n(&mprotect_budget, budget >= 0 ? budget : max_map_count() / 4, __ATOMIC_RELAXED);
}
