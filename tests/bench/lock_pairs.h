/* lock_pairs.h — the uncontended lock measure bench_runtime and bench_trace share: a lock taken
 * and let go `pairs` times in a row, in ns per pair, for cl_lock and for a raw pthread mutex. */
#ifndef CONCLAB_BENCH_LOCK_PAIRS_H
#define CONCLAB_BENCH_LOCK_PAIRS_H

#include <conclab.h>
#include <pthread.h>

static inline double cl_lock_pairs_ns(cl_lock *l, long pairs) {
    double start = cl_now();
    for (long i = 0; i < pairs; i++) {
        cl_lock_acquire(l);
        cl_lock_release(l);
    }
    return (cl_now() - start) / (double)pairs * 1e9;
}

static inline double mutex_pairs_ns(pthread_mutex_t *m, long pairs) {
    double start = cl_now();
    for (long i = 0; i < pairs; i++) {
        pthread_mutex_lock(m);
        pthread_mutex_unlock(m);
    }
    return (cl_now() - start) / (double)pairs * 1e9;
}

#endif
