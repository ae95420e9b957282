/* crash.h — a cell that dies from a signal leaves a note saying where: the top-level line of the
 * cell it was running and the chain of notebook functions it was in, read off the frame
 * pointers (tcc always keeps them). The note lives in a page shared with the holder, which
 * outlives the dead cell and puts the note into the error the student sees. */
#ifndef CONCLAB_CRASH_H
#define CONCLAB_CRASH_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* In the holder, before forking a cell: makes the shared page (once) and empties it. */
void crash_prepare(void);

/* In the cell's process: installs the handlers (on an alternate stack, so a stack overflow can
 * be reported too) for the cell numbered `cell`. */
void crash_arm(int cell);

/* Linked into cells as _exit and _Exit, which skip atexit: notes where, then exits. */
void crash_exit_now(int status) __attribute__((noreturn));

/* In a thread a cell started, first thing (the runtime's thread_started hook, conclab_host.h,
 * and crash_pthread_create): an alternate signal stack of its own, so that a stack overflow
 * there is reported too, as "thread 'NAME' of cell[N]" with its frames. */
void crash_thread_started(void *ctx);

/* Linked into cells as pthread_create: the thread starts with crash_thread_started. */
int crash_pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);

/* In the holder, after the cell died: the note, one frame per line; "" when there is none. */
const char *crash_note(void);

/* In the cell: an allocation of `bytes` failed (the memory limit, most likely). The holder reads
 * the largest such request back with crash_failed_allocation() (0: none). */
void crash_note_failed_allocation(size_t bytes);
size_t crash_failed_allocation(void);

/* In the cell: a descriptor of the kernel's own that the cell closed or replaced, so this process
 * cannot go on as the notebook's holder. The holder reads it back (-1: none). */
void crash_note_lost_descriptor(int fd);
int crash_lost_descriptor(void);

/* In the cell: it left `count` descriptors open, at its process's `limit`, so this process cannot
 * go on as the holder (later cells would find none). The holder reads them back (0: none). */
void crash_note_descriptors_left(int count, int limit);
int crash_descriptors_left(int *limit);

/* In the cell: a check cell's claim did not hold (cl_check); the cell ends with it. The holder
 * reads the claim back ("": none). */
void crash_note_check_failed(const char *message);
const char *crash_check_failed(void);

/* In the cell's process, before it runs: whether a holder will report the cell's death from this
 * page (a forked cell), or nobody will (a cell running in place dies with the holder; a %%chaos
 * trial is reported from its output). */
void crash_note_death_reported(bool reported);

/* In the cell: it called a function that is declared but not defined yet (trampoline.h), and is
 * about to stop itself. False when no holder will read it: a process the cell forked, or
 * crash_note_death_reported(false). The holder reads the name back ("": none). */
bool crash_note_undefined_function(const char *name);
const char *crash_undefined_function(void);

/* In the cell, about to stop itself (raise) at a call it cannot make: the note, written now from
 * the caller's return address and frame pointer, since the signal's own context is inside the
 * executor and says nothing of the cell's frames. The signal then keeps this note. */
void crash_note_stopped_at(uintptr_t return_address, uintptr_t frame);

#endif
