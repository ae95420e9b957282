/* waits_report.c — the board of waits (waits.c) in words: one line per live thread, and the
 * wait-for cycle when there is one ("Thread-1 waits for lock `b` held by Thread-2, which waits for
 * lock `a` held by Thread-1"). Runs in the process that stops the cell, just before the kill,
 * on a copy of the board. */
#define _GNU_SOURCE
#include "conclab.h"
#include "conclab_host.h"

#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "waits_internal.h"

#define MAX_SHOWN 64

typedef struct entry {
    cl__wait_slot slot;
    int holder;  /* index of the entry holding what it waits for, or -1 */
} entry;

typedef struct text {
    char *out;
    unsigned long size, len;
} text;

static void add(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(text *t, const char *fmt, ...) {
    if (t->len + 1 >= t->size) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->out + t->len, t->size - t->len, fmt, ap);
    va_end(ap);
    if (n > 0) t->len = t->len + (unsigned long)n < t->size ? t->len + (unsigned long)n : t->size - 1;
}

/* A whole copy of slot s (its note not torn by its thread writing it); 0 if it kept changing. */
static int copy_slot(const cl__wait_slot *s, int pid, int tid, cl__wait_slot *copy) {
    for (int attempt = 0; attempt < 100; attempt++) {
        if (!cl__wait_slot_read(s, &copy->note)) continue;
        copy->pid = pid;
        copy->tid = tid;
        return 1;
    }
    return 0;
}

static int same_namespace_alive(int pid, int tid, void *ctx) {
    (void)ctx;
    return syscall(SYS_tgkill, pid, tid, 0) == 0;
}

static int gather(const cl__wait_board *b, entry *entries, int (*alive)(int, int, void *), void *ctx) {
    int n = 0;
    for (uint32_t i = 0; i < b->n_slots && n < MAX_SHOWN; i++) {
        const cl__wait_slot *s = &b->slots[i];
        int tid = __atomic_load_n(&s->tid, __ATOMIC_ACQUIRE), pid = __atomic_load_n(&s->pid, __ATOMIC_ACQUIRE);
        if (tid == 0 || !alive(pid, tid, ctx)) continue;  /* free, or gone */
        if (copy_slot(s, pid, tid, &entries[n].slot)) n++;
    }
    return n;
}

/* Who holds what entry e waits for: its holder's thread id, or for a join the thread joined. */
static int find_holder(const entry *entries, int n, const cl__wait_slot *s) {
    for (int j = 0; j < n; j++) {
        const cl__wait_slot *o = &entries[j].slot;
        if (s->note.holder && o->tid == s->note.holder) return j;
        if (!s->note.holder && strcmp(s->note.primitive, "thread") == 0 && o->pid == s->pid && s->note.object[0] &&
            strcmp(o->note.thread, s->note.object) == 0)
            return j;
        if (strcmp(s->note.primitive, "process") == 0 && s->note.object[0] && strcmp(o->note.process, s->note.object) == 0)
            return j;  /* a join of a process waits for its threads: the first one found stands for it */
    }
    return -1;
}

/* "Thread-1", or "main of process 'left'" for a thread of a process the cell started. */
static void who(const cl__wait_slot *s, char *out, size_t size) {
    if (strcmp(s->note.process, "MainProcess") == 0 || !s->note.process[0]) snprintf(out, size, "%s", s->note.thread);
    else snprintf(out, size, "%s of process '%s'", s->note.thread, s->note.process);
}

static void name_object(const cl__wait_slot *s, char *out, size_t size) {
    const char *kind = strcmp(s->note.primitive, "shared_lock") == 0 ? "shared lock" : s->note.primitive;
    if (s->note.object[0]) snprintf(out, size, "%s `%s`", kind, s->note.object);
    else snprintf(out, size, "unnamed %s 0x%llx", kind, (unsigned long long)s->note.address);
}

/* "waits for lock `b`", "waits for thread 'Thread-2' to end", ... */
static void describe_wait(const cl__wait_slot *s, char *out, size_t size) {
    char object[96];
    name_object(s, object, sizeof object);
    if (strcmp(s->note.primitive, "thread") == 0) snprintf(out, size, "waits for thread '%s' to end (a join)", s->note.object[0] ? s->note.object : "?");
    else if (strcmp(s->note.primitive, "process") == 0) snprintf(out, size, "waits for process '%s' to end (a join)", s->note.object[0] ? s->note.object : "?");
    else if (strcmp(s->note.primitive, "sleep") == 0) snprintf(out, size, "sleeps");
    else if (strcmp(s->note.primitive, "gil") == 0) snprintf(out, size, "waits for the GIL");
    else if (strcmp(s->note.primitive, "event") == 0 || strcmp(s->note.primitive, "shared_event") == 0) snprintf(out, size, "waits for %s to be set", object);
    else if (strcmp(s->note.primitive, "condition") == 0) snprintf(out, size, "waits on %s to be notified", object);
    else if (strcmp(s->note.primitive, "future") == 0) snprintf(out, size, "waits for a future's result");
    else snprintf(out, size, "waits for %s", object);
}

static void describe_holder(const entry *entries, const entry *e, char *out, size_t size) {
    char holder[80];
    if (e->holder >= 0) who(&entries[e->holder].slot, holder, sizeof holder);
    if (e->holder >= 0) snprintf(out, size, " held by %s", holder);
    else if (e->slot.note.holder) snprintf(out, size, " held by thread %d (not one of the cell's known threads)", e->slot.note.holder);
    else out[0] = '\0';
}

static void thread_line(text *t, const entry *entries, const entry *e, int cell_pid, double now) {
    const cl__wait_slot *s = &e->slot;
    char name[80], pid[32] = "";
    who(s, name, sizeof name);
    if (s->pid != cell_pid) snprintf(pid, sizeof pid, " (pid %d)", s->pid);
    if (!s->note.primitive[0]) {
        add(t, "  %s%s: running, not waiting for anything the runtime knows\n", name, pid);
        return;
    }
    char wait[160], holder[96] = "";
    describe_wait(s, wait, sizeof wait);
    if (strcmp(s->note.primitive, "thread") != 0 && strcmp(s->note.primitive, "process") != 0)
        describe_holder(entries, e, holder, sizeof holder);
    add(t, "  %s%s: %s%s, for %.1f s%s%s\n", name, pid, wait, holder, now - s->note.since,
        s->note.where[0] ? ", " : "", s->note.where);
}

/* The first wait-for cycle: its length, its entries in order in cycle[]; 0 when there is none. */
static int find_cycle(const entry *entries, int n, int *cycle) {
    for (int start = 0; start < n; start++) {
        int at = start, len = 0;
        while (len < n && entries[at].holder >= 0) {
            cycle[len++] = at;
            at = entries[at].holder;
            if (at == start) return len;
        }
    }
    return 0;
}

static void cycle_sentence(text *t, const entry *entries, const int *cycle, int len) {
    add(t, "Deadlock: ");
    for (int i = 0; i < len; i++) {
        const entry *e = &entries[cycle[i]];
        char wait[160], holder[96];
        describe_wait(&e->slot, wait, sizeof wait);
        describe_holder(entries, e, holder, sizeof holder);
        if (strcmp(e->slot.note.primitive, "thread") == 0 || strcmp(e->slot.note.primitive, "process") == 0)
            holder[0] = '\0';
        char name[80];
        who(&e->slot, name, sizeof name);
        if (i) add(t, ", which %s%s", wait, holder);
        else add(t, "%s %s%s", name, wait, holder);
    }
    add(t, ". None of them can go on.\n");
}

unsigned long cl_host_waits_report(const void *memory, int cell_pid, char *out, unsigned long size, int *deadlock) {
    return cl_host_waits_report_alive(memory, cell_pid, out, size, deadlock, NULL, NULL);
}

unsigned long cl_host_waits_report_alive(const void *memory, int cell_pid, char *out, unsigned long size, int *deadlock,
                                         int (*alive)(int pid, int tid, void *ctx), void *ctx) {
    const cl__wait_board *b = memory;
    if (!alive) alive = same_namespace_alive;
    if (deadlock) *deadlock = 0;
    if (!b || !out || !size || b->magic != CL__WAITS_MAGIC) return 0;
    out[0] = '\0';
    entry entries[MAX_SHOWN];
    int n = gather(b, entries, alive, ctx);
    if (n == 0) return 0;
    for (int i = 0; i < n; i++) entries[i].holder = find_holder(entries, n, &entries[i].slot);
    text t = {out, size, 0};
    int cycle[MAX_SHOWN], len = find_cycle(entries, n, cycle);
    if (len) cycle_sentence(&t, entries, cycle, len);
    if (deadlock) *deadlock = len > 0;
    add(&t, "What the cell's threads were doing:\n");
    double now = cl_now();
    for (int i = 0; i < n; i++) thread_line(&t, entries, &entries[i], cell_pid, now);
    return t.len;
}
