/* conclab/trace.h — recording what threads, processes and tasks do, for timelines.
 *
 * cl_trace_start records, until cl_trace_stop, every thread, process and task start and end,
 * every wait, acquire and release of a blocking primitive, sleeps, I/O waits, the emulated GIL's
 * waits and handovers, and pool tasks, each with a monotonic timestamp, into bounded per-thread
 * buffers: a full trace drops further events and counts them (cl_trace_dropped). Processes forked
 * while recording write into the same trace, so their events appear beside their parent's.
 * Recording costs well under a microsecond per event; while it is off, nothing.
 *
 * Start and stop recording from one thread while the threads being traced are idle (a cell's
 * start and end): a recording started while other threads record may hold a stray event.
 *
 * Primitives may be given names that the trace shows ("lock \"forks[2]\""); unnamed ones are
 * numbered per kind in the order a trace first sees them ("lock 1", "semaphore 2").
 * Part of <conclab.h>; see there for the conventions every runtime header keeps. */
#ifndef CONCLAB_TRACE_H
#define CONCLAB_TRACE_H

#include <conclab/sync.h>
#include <conclab/queue.h>
#include <conclab/async_sync.h>
#include <conclab/async_queue.h>
#include <conclab/shared.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Starts recording in this process and those it forks from now on, discarding any earlier recording; 0 on success, -1 if no memory. */
int cl_trace_start(void);

/* Stops recording (here and in the processes forked while it ran); what was recorded stays until the next cl_trace_start. */
void cl_trace_stop(void);

/* 1 while recording, 0 otherwise. */
int cl_trace_active(void);

/* Marks a moment named name on the calling thread's lane (an instant in the timeline). */
void cl_trace_mark(const char *name);

/* How many events the current or last recording lost because its buffers were full. */
unsigned long long cl_trace_dropped(void);

/* Writes the recording so far (while recording or after) to path as Chrome Trace Event JSON, for Perfetto or chrome://tracing; 1 on success, 0 on failure. */
int cl_trace_save(const char *path);

/* Names a lock in traces (the name is copied; NULL removes it). */
void cl_lock_set_name(cl_lock *l, const char *name);

/* Names an rlock in traces (the name is copied; NULL removes it). */
void cl_rlock_set_name(cl_rlock *l, const char *name);

/* Names a semaphore in traces (the name is copied; NULL removes it). */
void cl_semaphore_set_name(cl_semaphore *s, const char *name);

/* Names a condition in traces (the name is copied; NULL removes it). */
void cl_condition_set_name(cl_condition *c, const char *name);

/* Names an event in traces (the name is copied; NULL removes it). */
void cl_event_set_name(cl_event *e, const char *name);

/* Names a barrier in traces (the name is copied; NULL removes it). */
void cl_barrier_set_name(cl_barrier *b, const char *name);

/* Names a process queue in traces (the name is copied; NULL removes it). */
void cl_queue_set_name(cl_queue *q, const char *name);

/* Names an async lock in traces (the name is copied; NULL removes it). */
void cl_async_lock_set_name(cl_async_lock *l, const char *name);

/* Names an async semaphore in traces (the name is copied; NULL removes it). */
void cl_async_semaphore_set_name(cl_async_semaphore *s, const char *name);

/* Names an async event in traces (the name is copied; NULL removes it). */
void cl_async_event_set_name(cl_async_event *e, const char *name);

/* Names an async condition in traces (the name is copied; NULL removes it). */
void cl_async_condition_set_name(cl_async_condition *c, const char *name);

/* Names an async queue in traces (the name is copied; NULL removes it). */
void cl_async_queue_set_name(cl_async_queue *q, const char *name);

/* Names a shared lock in traces (the name is copied; NULL removes it). */
void cl_shared_lock_set_name(cl_shared_lock *l, const char *name);

/* Names a shared semaphore in traces (the name is copied; NULL removes it). */
void cl_shared_semaphore_set_name(cl_shared_semaphore *s, const char *name);

/* Names a shared event in traces (the name is copied; NULL removes it). */
void cl_shared_event_set_name(cl_shared_event *e, const char *name);

#ifdef __cplusplus
}
#endif

#endif
