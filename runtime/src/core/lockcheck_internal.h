/* lockcheck_internal.h — the lock-order checker's probes (lockcheck.c, conclab/chaos.h). */
#ifndef CONCLAB_RUNTIME_LOCKCHECK_INTERNAL_H
#define CONCLAB_RUNTIME_LOCKCHECK_INTERNAL_H

#include <stddef.h>

#include "observe.h"

/* An acquire or release of a lock-like primitive on the calling thread (others are ignored). */
CL_INTERNAL void cl__lockcheck_event(unsigned kind, const char *primitive, const void *object);

/* 1 for the primitives that are held by one thread at a time and ordered: lock, rlock, shared_lock
 * (the waits board also notes where these were taken). */
CL_INTERNAL int cl__is_lock_kind(const char *primitive);

/* The object is being freed: its orders go (its address may come back as another lock). */
CL_INTERNAL void cl__lockcheck_forget(const void *object);

#endif
