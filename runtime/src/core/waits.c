/* waits.c — the board of waits: what each thread is blocked on, for the report a stopped cell
 * gets (conclab_host.h: cl_host_share_waits, cl_host_waits_report).
 *
 * A cell that hangs is killed; by then nobody inside it can say anything. So every thread notes
 * on a board, as it starts to wait, what it waits for (the primitive, its name, who holds it
 * where that is known, since when, where the wait was called), and clears the note when the
 * wait ends. The board is memory the host shares with the process that stops the cell, which
 * reads it just before the kill. Forked processes of the cell inherit the mapping and note
 * their threads on it too, so a wait for a shared lock held in another process is seen.
 *
 * Only waits are noted, never the uncontended paths: a lock taken at once costs nothing more.
 * Each slot has a sequence word, odd while its thread writes it, so a reader copies a slot
 * only when it is whole. */
#define _GNU_SOURCE
#include "conclab.h"
#include "conclab_host.h"
#include "call_site.h"
#include "lockcheck_internal.h"
#include "thread_internal.h"
#include "trace_internal.h"
#include "waits_internal.h"

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static cl__wait_board *shared_board;                   /* set once by the host, before cells run */
static __thread cl__wait_slot *mine;              /* this thread's slot, once claimed */

int cl__waits_on;

void cl_host_share_waits(void *memory, unsigned long size) {
    if (!memory || size < sizeof(cl__wait_board) + sizeof(cl__wait_slot)) return;
    cl__wait_board *b = memory;
    memset(b, 0, size);
    b->n_slots = (uint32_t)((size - sizeof(cl__wait_board)) / sizeof(cl__wait_slot));
    b->magic = CL__WAITS_MAGIC;
    shared_board = b;
    __atomic_store_n(&cl__waits_on, 1, __ATOMIC_RELEASE);
}

static int alive(int pid, int tid) {
    return syscall(SYS_tgkill, pid, tid, 0) == 0;
}

/* A free slot, or one whose thread is gone (a cell killed earlier), taken for this thread. */
static cl__wait_slot *claim(void) {
    int pid = getpid(), tid = (int)cl__self_id();
    for (uint32_t i = 0; i < shared_board->n_slots; i++) {
        cl__wait_slot *s = &shared_board->slots[i];
        int32_t was = __atomic_load_n(&s->tid, __ATOMIC_ACQUIRE);
        if (was != 0 && (was == tid || alive(__atomic_load_n(&s->pid, __ATOMIC_RELAXED), was))) continue;
        if (!__atomic_compare_exchange_n(&s->tid, &was, tid, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) continue;
        __atomic_store_n(&s->pid, pid, __ATOMIC_RELEASE);
        return s;
    }
    return NULL;  /* full: this thread's waits are not shown */
}

static cl__wait_slot *my_slot(void) {
    /* first use, or a forked child (whose thread id differs from the slot's) */
    if (!mine || __atomic_load_n(&mine->tid, __ATOMIC_RELAXED) != (int32_t)cl__self_id()) mine = claim();
    return mine;
}

/* Writes `len` bytes of the note at `offset` (the whole note: 0, sizeof) between two steps of seq. */
static void publish(cl__wait_slot *s, const cl__wait_note *note, size_t offset, size_t len) {
    __atomic_add_fetch(&s->seq, 1, __ATOMIC_SEQ_CST);
    unsigned char *to = (unsigned char *)&s->note + offset;
    const unsigned char *from = (const unsigned char *)note + offset;
    for (size_t i = 0; i < len; i++) __atomic_store_n(to + i, from[i], __ATOMIC_RELEASE);
    __atomic_add_fetch(&s->seq, 1, __ATOMIC_RELEASE);
}

/* Who holds object, for the kinds that have a holder. */
static long holder_of(const char *primitive, const void *object) {
    if (strcmp(primitive, "lock") == 0) return cl__lock_holder(object);
    if (strcmp(primitive, "rlock") == 0) return cl__rlock_holder(object);
    if (strcmp(primitive, "shared_lock") == 0) return cl__shared_lock_holder(object);
    if (strcmp(primitive, "gil") == 0) return cl__gil_holder();
    return 0;
}

/* A note that names only the calling thread and its process: what a new thread publishes, and
 * what every wait starts from. */
static void note_for_this_thread(cl__wait_note *note) {
    memset(note, 0, sizeof *note);
    snprintf(note->thread, sizeof note->thread, "%s", cl_thread_name());
    snprintf(note->process, sizeof note->process, "%s", cl_process_current_name());
}

void cl__waits_note(const char *primitive, const void *object) {
    cl__wait_slot *s = my_slot();
    if (!s) return;
    cl__wait_note note;
    note_for_this_thread(&note);
    snprintf(note.primitive, sizeof note.primitive, "%s", primitive);
    const char *joined = !object ? NULL
                       : strcmp(primitive, "thread") == 0 ? cl__thread_name_of(object)
                       : strcmp(primitive, "process") == 0 ? cl__process_name_of(object) : NULL;
    if (joined) snprintf(note.object, sizeof note.object, "%s", joined);
    else if (object) cl__name_copy(object, note.object, sizeof note.object);
    note.address = (uint64_t)(uintptr_t)object;
    note.holder = (int32_t)holder_of(primitive, object);
    note.since = cl_now();
    if (!cl__is_lock_kind(primitive) || !cl__call_site_describe(cl__call_site_get(), note.where, sizeof note.where))
        note.where[0] = '\0';
    publish(s, &note, 0, sizeof note);
}

void cl__waits_clear(void) {
    cl__wait_slot *s = mine;
    if (!s || s->note.primitive[0] == '\0' || __atomic_load_n(&s->tid, __ATOMIC_RELAXED) != (int32_t)cl__self_id()) return;
    static const cl__wait_note nothing;  /* its primitive: "" */
    publish(s, &nothing, offsetof(cl__wait_note, primitive), 1);
}

void cl__waits_thread_started(void) {
    if (!__atomic_load_n(&cl__waits_on, __ATOMIC_ACQUIRE)) return;
    cl__wait_slot *s = my_slot();
    if (!s) return;
    cl__wait_note note;
    note_for_this_thread(&note);
    publish(s, &note, 0, sizeof note);
}

void cl__waits_thread_ended(void) {
    cl__wait_slot *s = mine;
    if (!s || __atomic_load_n(&s->tid, __ATOMIC_RELAXED) != (int32_t)cl__self_id()) return;
    mine = NULL;
    __atomic_store_n(&s->tid, 0, __ATOMIC_RELEASE);
}
