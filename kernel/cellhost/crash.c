#define _GNU_SOURCE
#include "crash.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "codemap.h"

enum { PAGE_SIZE = 8192, NOTE_OFFSET = 64, CHECK_SIZE = 512, UNDEFINED_SIZE = 256,
       NOTE_SIZE = PAGE_SIZE - NOTE_OFFSET - CHECK_SIZE - UNDEFINED_SIZE,
       CHECK_OFFSET = PAGE_SIZE - CHECK_SIZE, UNDEFINED_OFFSET = CHECK_OFFSET - UNDEFINED_SIZE,
       MAX_FRAMES = 256, STACK_SPAN = 64 << 20 };

static char *page;            /* shared with the holder: [size_t failed allocation][int lost descriptor]
                                 [int descriptors left open][int their limit][...][note]
                                 [the undefined function's name][the failed check's text] */
static char *note;
static int armed_cell;
static pid_t armed_pid;             /* the cell's process: processes it forks are not the cell */
static bool death_reported;         /* a holder reports the cell's death from this page */
static bool noted_before_signal;    /* crash_note_stopped_at wrote the note: the signal keeps it */
static pid_t armed_tid;             /* its main thread: a fault elsewhere is in a thread of a cell */
static __thread int thread_cell;    /* in a thread a cell started: which cell (0: not one) */
static uintptr_t armed_stack_top;   /* frames above this belong to the executor, not the cell */
static char alternate_stack[64 << 10];

/* Async-signal-safe text building: no stdio, no malloc. */
typedef struct writer {
    char *buf;
    size_t len, cap;
} writer;

static void put(writer *w, const char *s) {
    while (*s && w->len + 1 < w->cap) w->buf[w->len++] = *s++;
    w->buf[w->len] = '\0';
}

static void put_int(writer *w, long v) {
    char digits[24];
    int n = 0;
    unsigned long u = v < 0 ? (unsigned long)-v : (unsigned long)v;
    do digits[n++] = (char)('0' + u % 10);
    while ((u /= 10) && n < 23);
    if (v < 0) put(w, "-");
    while (n > 0) {
        char one[2] = {digits[--n], '\0'};
        put(w, one);
    }
}

/* The first line of a note: "cell[3], line 2", the top-level line the cell was running. */
static void put_location(writer *w) {
    put(w, "cell[");
    put_int(w, armed_cell);
    put(w, "], line ");
    put_int(w, *codemap_line);
    put(w, "\n");
}

static void put_frame(writer *w, const char *name, int cell, long repeats, int cut_short) {
    if (name[0]) {
        put(w, "  in ");
        put(w, name);
        put(w, "() from cell[");
        put_int(w, cell);
        put(w, "]");
    } else {
        put(w, "  at the top level of cell[");
        put_int(w, cell);
        put(w, "], line ");
        put_int(w, *codemap_line);
    }
    if (repeats > 1) {
        put(w, " (");
        put_int(w, repeats);
        put(w, cut_short ? " frames or more)" : " frames)");
    }
    put(w, "\n");
}

/* Writes the notebook frames from the innermost out, folding runs of the same function. */
static void walk_frames(writer *w, uintptr_t pc, uintptr_t fp, uintptr_t sp, uintptr_t stack_top) {
    const char *last_name = NULL, *ignored;
    int last_cell = 0, ignored_cell;
    long repeats = 0;
    int depth = 0;
    if (!codemap_lookup(pc, &ignored, &ignored_cell) && sp && !(sp & 7)) {
        /* died inside a library function that keeps no frame (strlen(NULL)): the cell's
         * return address is still on top of the stack */
        uintptr_t ret = ((uintptr_t *)sp)[0];
        if (codemap_lookup(ret - 1, &ignored, &ignored_cell)) pc = ret - 1;
    }
    for (; depth < MAX_FRAMES; depth++) {
        const char *name;
        int cell;
        if (codemap_lookup(pc, &name, &cell)) {
            if (last_name && strcmp(name, last_name) == 0 && cell == last_cell) {
                repeats++;
            } else {
                if (last_name) put_frame(w, last_name, last_cell, repeats, 0);
                last_name = name, last_cell = cell, repeats = 1;
            }
        }
        if (fp < sp || fp - sp > STACK_SPAN || (fp & 7) || (stack_top && fp >= stack_top)) break;
        uintptr_t next = ((uintptr_t *)fp)[0];
        pc = ((uintptr_t *)fp)[1] - 1;  /* inside the call instruction */
        if (next <= fp) break;
        fp = next;
    }
    if (last_name) put_frame(w, last_name, last_cell, repeats, depth == MAX_FRAMES);
}

/* A signal that was sent (raise, kill, abort's own) rather than caused by an instruction: after
 * the handler returns nothing re-runs a fault, so it must be raised again, now under the
 * default action (SA_RESETHAND), for the process to die of it as it should. */
static void die_of_it_if_sent(int sig, const siginfo_t *info) {
    if (info->si_code <= 0) raise(sig);  /* SI_USER, SI_TKILL, SI_QUEUE: delivered as we return */
}

/* The first line for a fault in a thread: "thread 'diver' of cell[2]". */
static void put_thread(writer *w) {
    char name[17] = "";
    prctl(PR_GET_NAME, name, 0, 0, 0);
    put(w, "thread '");
    put(w, name);
    put(w, "' of cell[");
    put_int(w, thread_cell ? thread_cell : armed_cell);
    put(w, "]\n");
}

static void on_fatal_signal(int sig, siginfo_t *info, void *context) {
    /* A process the cell started (conclab's cl_process, a pool worker, a raw fork) dies of its
     * signal like any other: its parent sees the exit status; the cell itself did not crash. */
    if (!note || getpid() != armed_pid || noted_before_signal) {
        die_of_it_if_sent(sig, info);
        return;
    }
    ucontext_t *uc = context;
    writer w = {note, 0, NOTE_SIZE};
    bool in_thread = (pid_t)syscall(SYS_gettid) != armed_tid;
    if (in_thread) put_thread(&w);
    else put_location(&w);
    walk_frames(&w, (uintptr_t)uc->uc_mcontext.gregs[REG_RIP], (uintptr_t)uc->uc_mcontext.gregs[REG_RBP],
                (uintptr_t)uc->uc_mcontext.gregs[REG_RSP], in_thread ? 0 : armed_stack_top);
    /* returning re-runs the faulting instruction under the default action (SA_RESETHAND), so
     * the process still dies from this very signal */
    die_of_it_if_sent(sig, info);
}

static volatile int *lost_descriptor_slot(void) { return (volatile int *)(void *)(page + sizeof(size_t)); }
static volatile int *open_descriptors_slot(void) { return (volatile int *)(void *)(page + sizeof(size_t) + sizeof(int)); }

void crash_prepare(void) {
    if (!page) {
        void *shared = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (shared == MAP_FAILED) return;
        page = shared;
        note = page + NOTE_OFFSET;
    }
    note[0] = '\0';
    page[CHECK_OFFSET] = '\0';
    page[UNDEFINED_OFFSET] = '\0';
    *(volatile size_t *)(void *)page = 0;
    *lost_descriptor_slot() = -1;
    open_descriptors_slot()[0] = open_descriptors_slot()[1] = 0;
}

void crash_note_failed_allocation(size_t bytes) {
    volatile size_t *failed = (volatile size_t *)(void *)page;
    if (page && bytes > *failed) *failed = bytes;
}

size_t crash_failed_allocation(void) { return page ? *(volatile size_t *)(void *)page : 0; }

void crash_note_lost_descriptor(int fd) {
    if (page) *lost_descriptor_slot() = fd;
}

int crash_lost_descriptor(void) { return page ? *lost_descriptor_slot() : -1; }

void crash_note_descriptors_left(int count, int limit) {
    if (!page) return;
    open_descriptors_slot()[0] = count;
    open_descriptors_slot()[1] = limit;
}

int crash_descriptors_left(int *limit) {
    *limit = page ? open_descriptors_slot()[1] : 0;
    return page ? open_descriptors_slot()[0] : 0;
}

void crash_note_check_failed(const char *message) {
    if (!page) return;
    size_t n = 0;
    for (; message && message[n] && n < CHECK_SIZE - 1; n++) page[CHECK_OFFSET + n] = message[n];
    page[CHECK_OFFSET + n] = '\0';
}

const char *crash_check_failed(void) { return page ? page + CHECK_OFFSET : ""; }

void crash_note_death_reported(bool reported) { death_reported = reported; }

bool crash_note_undefined_function(const char *name) {
    if (!page || getpid() != armed_pid || !death_reported) return false;
    size_t n = 0;
    for (; name[n] && n < UNDEFINED_SIZE - 1; n++) page[UNDEFINED_OFFSET + n] = name[n];
    page[UNDEFINED_OFFSET + n] = '\0';
    return true;
}

const char *crash_undefined_function(void) { return page ? page + UNDEFINED_OFFSET : ""; }

void crash_note_stopped_at(uintptr_t return_address, uintptr_t frame) {
    if (!note || getpid() != armed_pid) return;
    writer w = {note, 0, NOTE_SIZE};
    bool in_thread = (pid_t)syscall(SYS_gettid) != armed_tid;
    if (in_thread) put_thread(&w);
    else put_location(&w);
    /* Only notebook code (tcc keeps frame pointers) is sure to have left a frame in rbp; a call
     * from the runtime (a thread started on the function) leaves the first line alone. */
    const char *name;
    int cell;
    if (codemap_lookup(return_address - 1, &name, &cell))
        walk_frames(&w, return_address - 1, frame, (uintptr_t)__builtin_frame_address(0),
                    in_thread ? 0 : armed_stack_top);
    noted_before_signal = true;
}

/* exit() from a cell (or from bounds checking, which exits with 255): where it was called. */
static void note_exit_location(void) {
    if (!note || note[0] || getpid() != armed_pid) return;
    writer w = {note, 0, NOTE_SIZE};
    put_location(&w);
}

void crash_exit_now(int status) {
    note_exit_location();
    _exit(status);
}

void crash_arm(int cell) {
    static int exit_hook;
    if (!exit_hook) exit_hook = atexit(note_exit_location) == 0;
    armed_cell = cell;
    armed_pid = getpid();
    noted_before_signal = false;  /* a cell that caught its SIGABRT lived on: this cell notes its own */
    armed_tid = (pid_t)syscall(SYS_gettid);
    codemap_running(cell);
    armed_stack_top = (uintptr_t)__builtin_frame_address(0);
    stack_t alt = {.ss_sp = alternate_stack, .ss_flags = 0, .ss_size = sizeof alternate_stack};
    sigaltstack(&alt, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fatal_signal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    const int fatal[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS};
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++) sigaction(fatal[i], &sa, NULL);
}

const char *crash_note(void) { return note ? note : ""; }

/* ---------------------------------------------------------------- threads of cells */

enum { THREAD_ALTERNATE_STACK = 64 << 10 };
static pthread_key_t alternate_stack_key;
static pthread_once_t alternate_stack_once = PTHREAD_ONCE_INIT;

static void free_alternate_stack(void *stack) {
    stack_t off = {.ss_flags = SS_DISABLE};
    sigaltstack(&off, NULL);
    free(stack);
}

static void make_alternate_stack_key(void) { pthread_key_create(&alternate_stack_key, free_alternate_stack); }

void crash_thread_started(void *ctx) {
    (void)ctx;
    thread_cell = armed_cell;
    pthread_once(&alternate_stack_once, make_alternate_stack_key);
    void *stack = malloc(THREAD_ALTERNATE_STACK);
    stack_t alt = {.ss_sp = stack, .ss_flags = 0, .ss_size = THREAD_ALTERNATE_STACK};
    if (stack && sigaltstack(&alt, NULL) == 0) pthread_setspecific(alternate_stack_key, stack);
    else free(stack);
}

typedef struct thread_start {
    void *(*fn)(void *);
    void *arg;
} thread_start;

static void *start_cell_thread(void *opaque) {
    thread_start start = *(thread_start *)opaque;
    free(opaque);
    crash_thread_started(NULL);
    return start.fn(start.arg);
}

int crash_pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*fn)(void *), void *arg) {
    thread_start *start = malloc(sizeof *start);
    if (!start) return EAGAIN;
    *start = (thread_start){fn, arg};
    int rc = pthread_create(thread, attr, start_cell_thread, start);
    if (rc != 0) free(start);
    return rc;
}
