/* shared_memory.c — shared mappings, robust mutexes and cross-process futexes; see
 * shared_memory.h. */
#define _GNU_SOURCE /* pthread_mutex_clocklock, syscall */
#include "shared_memory.h"
#include "report.h"

#include <errno.h>
#include <linux/futex.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

void *cl__shared_map(size_t size, const char *call) {
    void *p = mmap(NULL, size ? size : 1, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        cl_report(call, "cannot map %zu bytes of shared memory: %s", size, strerror(errno));
        return NULL;
    }
    return p;
}

void cl__shared_unmap(void *p, size_t size) {
    if (p) munmap(p, size ? size : 1);
}

int cl__robust_init(pthread_mutex_t *m, const char *call) {
    pthread_mutexattr_t attr;
    int err = pthread_mutexattr_init(&attr);
    if (!err) err = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    if (!err) err = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    /* Error checking: locking it twice from one thread is reported instead of hanging. */
    if (!err) err = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
    if (!err) err = pthread_mutex_init(m, &attr);
    pthread_mutexattr_destroy(&attr);
    if (err) cl_report(call, "cannot make a process-shared lock: %s", strerror(err));
    return err == 0;
}

#if defined(__SANITIZE_THREAD__)
/* ThreadSanitizer (gcc 12) does not intercept pthread_mutex_clocklock: it would miss the lock
 * and report false races. Under it, a timed lock polls with trylock instead. */
static int timed_lock(pthread_mutex_t *m, const cl__deadline *d) {
    struct timespec pause = {0, 50000};
    for (;;) {
        int err = pthread_mutex_trylock(m);
        if (err != EBUSY) return err;
        if (cl__deadline_passed(d)) return ETIMEDOUT;
        nanosleep(&pause, NULL);
    }
}
#else
static int timed_lock(pthread_mutex_t *m, const cl__deadline *d) {
    return pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &d->at);
}
#endif

int cl__robust_lock(pthread_mutex_t *m, const cl__deadline *d, const char *call,
                    const char *what) {
    int err = d->forever ? pthread_mutex_lock(m) : timed_lock(m, d);
    switch (err) {
    case 0:
        return CL__ROBUST_LOCKED;
    case ETIMEDOUT:
        return CL__ROBUST_TIMEOUT;
    case EOWNERDEAD:
        pthread_mutex_consistent(m);
        cl_report(call, "a process died while holding %s; it is released, but what it protects "
                        "may be half updated", what);
        return CL__ROBUST_RECOVERED;
    case EDEADLK:
        cl_report(call, "this thread already holds %s", what);
        return CL__ROBUST_ERROR;
    default:
        cl_report(call, "cannot lock %s: %s", what, strerror(err));
        return CL__ROBUST_ERROR;
    }
}

int cl__robust_unlock(pthread_mutex_t *m, const char *call) {
    int err = pthread_mutex_unlock(m);
    if (err == EPERM) cl_report(call, "released by a thread that does not hold it");
    else if (err) cl_report(call, "cannot unlock: %s", strerror(err));
    return err == 0;
}

int cl__shared_park(uint32_t *word, uint32_t expected, const cl__deadline *d) {
    /* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline, as cl__park does; without
     * FUTEX_PRIVATE_FLAG the kernel keys the wait on the shared page, not on this process. */
    long r = syscall(SYS_futex, word, FUTEX_WAIT_BITSET, expected, d->forever ? NULL : &d->at,
                     NULL, FUTEX_BITSET_MATCH_ANY);
    return r == -1 && errno == ETIMEDOUT ? -1 : 0;
}

void cl__shared_unpark(uint32_t *word, int count) {
    syscall(SYS_futex, word, FUTEX_WAKE, count, NULL, NULL, 0);
}

void cl__shared_bump(uint32_t *seq) {
    __atomic_add_fetch(seq, 1, __ATOMIC_SEQ_CST);
    cl__shared_unpark(seq, INT32_MAX);
}
