/* thread.c — cl_thread: a pthread plus the bookkeeping behind cl_thread_count. */
#include "conclab.h"
#include "report.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct cl_thread {
    pthread_t id;
    void *(*fn)(void *);
    void *arg;
};

/* Threads whose fn has not returned yet. Raised before pthread_create so a caller that asks
 * right after cl_thread_start never sees a thread that has started but is not counted. */
static long running_threads;

static void count_thread_finished(void *unused) {
    (void)unused;
    __atomic_sub_fetch(&running_threads, 1, __ATOMIC_SEQ_CST);
}

static void *thread_main(void *handle) {
    cl_thread *t = handle;
    void *result;
    /* A cleanup handler, not a plain decrement, so pthread_exit inside fn is counted too. */
    pthread_cleanup_push(count_thread_finished, NULL);
    result = t->fn(t->arg);
    pthread_cleanup_pop(1);
    return result;
}

cl_thread *cl_thread_start(void *(*fn)(void *), void *arg) {
    if (!fn) {
        cl_report("cl_thread_start", "fn is NULL");
        return NULL;
    }
    cl_thread *t = malloc(sizeof *t);
    if (!t) {
        cl_report("cl_thread_start", "out of memory");
        return NULL;
    }
    t->fn = fn;
    t->arg = arg;
    __atomic_add_fetch(&running_threads, 1, __ATOMIC_SEQ_CST);
    int err = pthread_create(&t->id, NULL, thread_main, t);
    if (err) {
        __atomic_sub_fetch(&running_threads, 1, __ATOMIC_SEQ_CST);
        free(t);
        cl_report("cl_thread_start", "cannot start a thread: %s", strerror(err));
        return NULL;
    }
    return t;
}

void *cl_thread_join(cl_thread *t) {
    if (!t) {
        cl_report("cl_thread_join", "thread is NULL (did cl_thread_start fail?)");
        return NULL;
    }
    void *result = NULL;
    int err = pthread_join(t->id, &result);
    if (err == EDEADLK) {
        cl_report("cl_thread_join", "a thread cannot join itself");
        return NULL;
    }
    if (err) {
        cl_report("cl_thread_join", "%s", strerror(err));
        return NULL;
    }
    free(t);
    return result;
}

int cl_thread_count(void) {
    return (int)__atomic_load_n(&running_threads, __ATOMIC_SEQ_CST);
}

long cl_thread_id(void) { return (long)syscall(SYS_gettid); }
