/* lock.c — cl_lock: a mutex that knows its holder, so the mistakes students make (acquiring a
 * lock they already hold, releasing one they do not, freeing a held one) print a message instead
 * of hanging or corrupting memory. The holder is tracked here rather than with an error-checking
 * pthread mutex because sanitizers intercept those checks and hide them. */
#include "conclab.h"
#include "report.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct cl_lock {
    pthread_mutex_t mutex;
    /* pthread_self() of the holder, 0 when free. Read without the mutex (that is the point), so
     * always through atomics. Only the holder ever writes its own id, so "holder == me" can only
     * be true when it is. */
    pthread_t holder;
};

static pthread_t holder_of(cl_lock *l) {
    return __atomic_load_n(&l->holder, __ATOMIC_SEQ_CST);
}

cl_lock *cl_lock_new(void) {
    cl_lock *l = malloc(sizeof *l);
    if (!l) {
        cl_report("cl_lock_new", "out of memory");
        return NULL;
    }
    int err = pthread_mutex_init(&l->mutex, NULL);
    if (err) {
        free(l);
        cl_report("cl_lock_new", "%s", strerror(err));
        return NULL;
    }
    l->holder = 0;
    return l;
}

void cl_lock_acquire(cl_lock *l) {
    if (!l) {
        cl_report("cl_lock_acquire", "lock is NULL");
        return;
    }
    if (holder_of(l) == pthread_self()) {
        cl_report("cl_lock_acquire", "deadlock: this thread already holds the lock");
        return;
    }
    int err = pthread_mutex_lock(&l->mutex);
    if (err) {
        cl_report("cl_lock_acquire", "%s", strerror(err));
        return;
    }
    __atomic_store_n(&l->holder, pthread_self(), __ATOMIC_SEQ_CST);
}

void cl_lock_release(cl_lock *l) {
    if (!l) {
        cl_report("cl_lock_release", "lock is NULL");
        return;
    }
    if (holder_of(l) != pthread_self()) {
        cl_report("cl_lock_release", "this thread does not hold the lock");
        return;
    }
    __atomic_store_n(&l->holder, (pthread_t)0, __ATOMIC_SEQ_CST);
    int err = pthread_mutex_unlock(&l->mutex);
    if (err) cl_report("cl_lock_release", "%s", strerror(err));
}

void cl_lock_free(cl_lock *l) {
    if (!l) return; /* like free(NULL) */
    if (holder_of(l) != 0) {
        /* Freeing it anyway would leave its holder with a dangling lock: leak it instead. */
        cl_report("cl_lock_free", "the lock is still held; release it first");
        return;
    }
    int err = pthread_mutex_destroy(&l->mutex);
    if (err) cl_report("cl_lock_free", "%s", strerror(err));
    free(l);
}
