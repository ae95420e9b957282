/* barrier.c — cl_barrier, Python's threading.Barrier: `parties` threads meet, and none goes on
 * until all have arrived. It follows CPython's state machine:
 *
 *   FILLING   threads arrive and wait; the last one runs the action and starts DRAINING
 *   DRAINING  the waiters leave with their index; the last to leave makes it FILLING again
 *   RESETTING reset() while threads waited: they leave with -1, the last makes it FILLING
 *   BROKEN    a timeout or abort(): every wait returns -1 until reset()
 *
 * Threads that arrive while it drains or resets wait for the next round, so a fast thread cannot
 * lap the others. The state is guarded by an internal lock; waiters sleep on a sequence word
 * that every change of state bumps. */
#include "conclab.h"
#include "observe.h"
#include "report.h"
#include "trace_internal.h"
#include "thread_internal.h"
#include "wait.h"

#include <stdlib.h>

#define BARRIER_MAGIC 0x42415252u /* "BARR" */

enum { FILLING = 0, DRAINING = 1, RESETTING = -1, BROKEN = -2 };

struct cl_barrier {
    uint32_t magic;
    uint32_t guard;
    uint32_t changed;       /* bumped on every change of state; waiters park on it */
    int parties;
    int state;              /* written under guard, read anywhere: atomics */
    int count;              /* threads inside wait (arrived, not yet left); ditto */
    void (*action)(void *);
    void *arg;
    double timeout;         /* the default for cl_barrier_wait */
    long action_thread;     /* cl__self_id() of the thread running the action, else 0 */
};

static int valid(cl_barrier *b, const char *call) {
    if (!b) {
        cl_report(call, "barrier is NULL");
        return 0;
    }
    if (b->magic != BARRIER_MAGIC) {
        cl_report(call, "not a barrier (freed already, or another kind of handle?)");
        return 0;
    }
    return 1;
}

static int get(int *field) {
    return __atomic_load_n(field, __ATOMIC_SEQ_CST);
}

static void put(int *field, int value) {
    __atomic_store_n(field, value, __ATOMIC_SEQ_CST);
}

/* Changes the state and wakes every waiter to look at it. Guard held. */
static void become(cl_barrier *b, int state) {
    put(&b->state, state);
    cl__seq_bump(&b->changed);
}

/* 1 when called from the barrier's action, which runs with the guard held; reports it. */
static int inside_action(cl_barrier *b, const char *call) {
    if (__atomic_load_n(&b->action_thread, __ATOMIC_SEQ_CST) != cl__self_id()) return 0;
    cl_report(call, "cannot be called from the barrier's own action");
    return 1;
}

cl_barrier *cl_barrier_new(int parties, void (*action)(void *), void *arg, double timeout) {
    const char *call = "cl_barrier_new";
    cl__deadline check;
    if (parties < 1) {
        cl_report(call, "parties must be > 0, got %d", parties);
        return NULL;
    }
    if (!cl__deadline_init(&check, timeout, call)) return NULL;
    cl_barrier *b = calloc(1, sizeof *b);
    if (!b) {
        cl_report(call, "out of memory");
        return NULL;
    }
    b->magic = BARRIER_MAGIC;
    b->parties = parties;
    b->action = action;
    b->arg = arg;
    b->timeout = timeout;
    return b;
}

/* ---- waiting (guard held throughout, dropped only while parked) ------------------------------ */

/* The last arrival: runs the action, then lets everyone go. */
static int trip(cl_barrier *b, int index) {
    cl__observe(CL_EVENT_RELEASE, "barrier", b);
    if (b->action) {
        __atomic_store_n(&b->action_thread, cl__self_id(), __ATOMIC_SEQ_CST);
        b->action(b->arg);
        __atomic_store_n(&b->action_thread, 0, __ATOMIC_SEQ_CST);
    }
    become(b, DRAINING);
    cl__observe(CL_EVENT_ACQUIRE, "barrier", b);
    return index;
}

/* The others: wait for the trip, or break the barrier when d passes first. */
static int wait_for_trip(cl_barrier *b, int index, const cl__deadline *d) {
    cl__observe(CL_EVENT_WAIT, "barrier", b);
    while (get(&b->state) == FILLING)
        if (cl__seq_wait(&b->changed, &b->guard, d) < 0 && get(&b->state) == FILLING) {
            become(b, BROKEN);
            break;
        }
    int passed = get(&b->state) >= 0;
    cl__observe(passed ? CL_EVENT_ACQUIRE : CL_EVENT_TIMEOUT, "barrier", b);
    return passed ? index : -1;
}

/* A thread leaves; the last one out of a drain or reset opens the next round. */
static void leave(cl_barrier *b) {
    put(&b->count, get(&b->count) - 1);
    int state = get(&b->state);
    if (get(&b->count) == 0 && (state == DRAINING || state == RESETTING)) become(b, FILLING);
}

static int wait_until(cl_barrier *b, const cl__deadline *d) {
    cl__guard_lock(&b->guard);
    cl__deadline no_limit;
    cl__deadline_forever(&no_limit);
    /* As CPython: waiting for the previous round to clear takes no timeout. */
    while (get(&b->state) == DRAINING || get(&b->state) == RESETTING)
        cl__seq_wait(&b->changed, &b->guard, &no_limit);
    if (get(&b->state) == BROKEN) {
        cl__guard_unlock(&b->guard);
        cl__observe(CL_EVENT_TIMEOUT, "barrier", b);
        return -1;
    }
    int index = get(&b->count);
    put(&b->count, index + 1);
    int result = index + 1 == b->parties ? trip(b, index) : wait_for_trip(b, index, d);
    leave(b);
    cl__guard_unlock(&b->guard);
    return result;
}

int cl_barrier_wait(cl_barrier *b) {
    const char *call = "cl_barrier_wait";
    cl__deadline d;
    if (!valid(b, call) || inside_action(b, call)) return -1;
    cl__deadline_init(&d, b->timeout, call); /* checked by cl_barrier_new */
    return wait_until(b, &d);
}

int cl_barrier_wait_timeout(cl_barrier *b, double seconds) {
    const char *call = "cl_barrier_wait_timeout";
    cl__deadline d;
    if (!valid(b, call) || inside_action(b, call) || !cl__deadline_init(&d, seconds, call))
        return -1;
    return wait_until(b, &d);
}

/* ---- control and queries ------------------------------------------------------------------- */

void cl_barrier_abort(cl_barrier *b) {
    const char *call = "cl_barrier_abort";
    if (!valid(b, call) || inside_action(b, call)) return;
    cl__guard_lock(&b->guard);
    become(b, BROKEN);
    cl__guard_unlock(&b->guard);
}

void cl_barrier_reset(cl_barrier *b) {
    const char *call = "cl_barrier_reset";
    if (!valid(b, call) || inside_action(b, call)) return;
    cl__guard_lock(&b->guard);
    int state = get(&b->state);
    if (get(&b->count) == 0) become(b, FILLING);
    else if (state == FILLING || state == BROKEN) become(b, RESETTING); /* waiters leave with -1 */
    /* DRAINING or RESETTING with threads inside: the last to leave makes it FILLING anyway. */
    cl__guard_unlock(&b->guard);
}

int cl_barrier_broken(cl_barrier *b) {
    if (!valid(b, "cl_barrier_broken")) return 0;
    return get(&b->state) == BROKEN;
}

int cl_barrier_n_waiting(cl_barrier *b) {
    if (!valid(b, "cl_barrier_n_waiting")) return 0;
    /* As CPython: only threads of the round being filled are waiting. */
    return get(&b->state) == FILLING ? get(&b->count) : 0;
}

int cl_barrier_parties(cl_barrier *b) {
    if (!valid(b, "cl_barrier_parties")) return 0;
    return b->parties;
}

int cl_barrier_free(cl_barrier *b) {
    const char *call = "cl_barrier_free";
    if (!b) return 1; /* like free(NULL) */
    if (!valid(b, call)) return 0;
    if (get(&b->count) > 0) {
        cl_report(call, "threads are waiting at the barrier");
        return 0;
    }
    b->magic = 0;
    cl__name_forget(b); /* its address may come back as another object */
    free(b);
    return 1;
}
