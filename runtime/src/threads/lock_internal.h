/* lock_internal.h — what cl_condition needs to know about a cl_lock beyond conclab/sync.h. */
#ifndef CONCLAB_RUNTIME_LOCK_INTERNAL_H
#define CONCLAB_RUNTIME_LOCK_INTERNAL_H

#include "conclab/sync.h"
#include "observe.h"

/* 1 if l is a live lock; else reports "call: ..." and returns 0. */
CL_INTERNAL int cl__lock_valid(cl_lock *l, const char *call);

/* 1 if l is held and the calling thread is the one that acquired it. */
CL_INTERNAL int cl__lock_held_by_caller(cl_lock *l);

#endif
