/* async_queue.c — asyncio.Queue; see conclab/async_queue.h.
 *
 * Items sit in a ring buffer that grows by doubling (an unbounded queue has no fixed size).
 * Two lines of waiters, getters and putters, as in asyncio: a put wakes the first getter, a get
 * wakes the first putter. The woken task then checks again (another task may have got there
 * first) and parks again if it must; a waiter woken and then cancelled passes its wake-up on
 * (asyncio's _wakeup_next), so no item waits while a getter sleeps. join() waits in a third
 * line, woken all at once when the count of unfinished items drops to zero. */
#include "conclab/async_queue.h"

#include <stdint.h>
#include <stdlib.h>

#include "async_waiters.h"
#include "report.h"
#include "trace_internal.h"

#define CL__ASYNC_QUEUE_MIN_CAPACITY 8

struct cl_async_queue {
    void **items;
    int capacity, head, count;
    int maxsize;      /* 0: unbounded */
    int unfinished;   /* put and not yet task_done */
    cl__async_waiters getters, putters, joiners;
};

cl_async_queue *cl_async_queue_new(int maxsize) {
    cl_async_queue *q = calloc(1, sizeof *q);
    if (!q) {
        cl_report("cl_async_queue_new", "out of memory");
        return NULL;
    }
    q->maxsize = maxsize > 0 ? maxsize : 0;
    return q;
}

static int queue_is_full(const cl_async_queue *q) {
    return q->maxsize > 0 && q->count >= q->maxsize;
}

/* Makes room for one more item; 0 when out of memory. */
static int queue_reserve(cl_async_queue *q) {
    if (q->count < q->capacity) return 1;
    int capacity = q->capacity ? q->capacity * 2 : CL__ASYNC_QUEUE_MIN_CAPACITY;
    void **items = malloc((size_t)capacity * sizeof *items);
    if (!items) return 0;
    for (int i = 0; i < q->count; i++) items[i] = q->items[(q->head + i) % q->capacity];
    free(q->items);
    q->items = items;
    q->capacity = capacity;
    q->head = 0;
    return 1;
}

/* Stores item (room checked by the caller) and wakes a getter (put_nowait's body). */
static int queue_push(cl_async_queue *q, void *item, const char *call) {
    if (!queue_reserve(q)) {
        cl_report(call, "out of memory");
        return 0;
    }
    q->items[(q->head + q->count) % q->capacity] = item;
    q->count++;
    q->unfinished++;
    cl__observe(CL_EVENT_RELEASE, "async_queue", q);
    cl__async_waiters_wake_first(&q->getters);
    return 1;
}

/* Takes the front item (the caller checked there is one) and wakes a putter. */
static void *queue_pop(cl_async_queue *q) {
    void *item = q->items[q->head];
    q->head = (q->head + 1) % q->capacity;
    q->count--;
    cl__observe(CL_EVENT_ACQUIRE, "async_queue", q);
    cl__async_waiters_wake_first(&q->putters);
    return item;
}

/* Parks in line wl until woken; 1 to check again, 0 to give up (timeout, cancelled, misuse). A
 * waiter woken too late hands the wake-up to the next one in its line. */
static int queue_park(cl_async_queue *q, cl__async_waiters *wl, double *seconds, const char *call) {
    if (!cl__async_waiters_can_park(wl, *seconds, call)) return 0;
    double start = cl_now();
    cl__async_park outcome = cl__async_waiters_park(wl, *seconds, "async_queue", q);
    if (*seconds < 1e9) {
        *seconds -= cl_now() - start;
        if (*seconds < 0) *seconds = 0;
    }
    if (outcome == CL__ASYNC_PARK_WOKEN) return 1;
    /* Woken or not, we stop waiting: if the condition holds now, someone else must see it. */
    int ready = wl == &q->getters ? q->count > 0 : !queue_is_full(q);
    if (ready) cl__async_waiters_wake_first(wl);
    return 0;
}

static int queue_put(cl_async_queue *q, void *item, double seconds, const char *call) {
    if (!q) {
        cl_report(call, "queue is NULL");
        return 0;
    }
    while (queue_is_full(q))
        if (!queue_park(q, &q->putters, &seconds, call)) return 0;
    return queue_push(q, item, call);
}

static int queue_get(cl_async_queue *q, void **item, double seconds, const char *call) {
    if (!q) {
        cl_report(call, "queue is NULL");
        return 0;
    }
    while (q->count == 0)
        if (!queue_park(q, &q->getters, &seconds, call)) return 0;
    void *got = queue_pop(q);
    if (item) *item = got;
    return 1;
}

int cl_async_queue_put(cl_async_queue *q, void *item) {
    return queue_put(q, item, CL_FOREVER, "cl_async_queue_put");
}

int cl_async_queue_put_timeout(cl_async_queue *q, void *item, double seconds) {
    return queue_put(q, item, seconds, "cl_async_queue_put_timeout");
}

int cl_async_queue_put_nowait(cl_async_queue *q, void *item) {
    if (!q) {
        cl_report("cl_async_queue_put_nowait", "queue is NULL");
        return 0;
    }
    if (queue_is_full(q)) return 0;
    return queue_push(q, item, "cl_async_queue_put_nowait");
}

int cl_async_queue_get(cl_async_queue *q, void **item) {
    return queue_get(q, item, CL_FOREVER, "cl_async_queue_get");
}

int cl_async_queue_get_timeout(cl_async_queue *q, void **item, double seconds) {
    return queue_get(q, item, seconds, "cl_async_queue_get_timeout");
}

int cl_async_queue_get_nowait(cl_async_queue *q, void **item) {
    if (!q) {
        cl_report("cl_async_queue_get_nowait", "queue is NULL");
        return 0;
    }
    if (q->count == 0) return 0;
    void *got = queue_pop(q);
    if (item) *item = got;
    return 1;
}

int cl_async_queue_put_long(cl_async_queue *q, long value) {
    return queue_put(q, (void *)(intptr_t)value, CL_FOREVER, "cl_async_queue_put_long");
}

int cl_async_queue_get_long(cl_async_queue *q, long *value) {
    void *item = NULL;
    if (!queue_get(q, &item, CL_FOREVER, "cl_async_queue_get_long")) return 0;
    if (value) *value = (long)(intptr_t)item;
    return 1;
}

int cl_async_queue_task_done(cl_async_queue *q) {
    if (!q) {
        cl_report("cl_async_queue_task_done", "queue is NULL");
        return 0;
    }
    if (q->unfinished <= 0) {
        cl_report("cl_async_queue_task_done", "called too many times (Python: ValueError)");
        return 0;
    }
    if (--q->unfinished == 0) cl__async_waiters_wake(&q->joiners, -1);
    return 1;
}

int cl_async_queue_join(cl_async_queue *q) {
    if (!q) {
        cl_report("cl_async_queue_join", "queue is NULL");
        return 0;
    }
    while (q->unfinished > 0) {
        if (!cl__async_waiters_can_park(&q->joiners, CL_FOREVER, "cl_async_queue_join")) return 0;
        if (cl__async_waiters_park(&q->joiners, CL_FOREVER, "async_queue", q) != CL__ASYNC_PARK_WOKEN) return 0;
    }
    return 1;
}

int cl_async_queue_qsize(cl_async_queue *q) {
    if (!q) {
        cl_report("cl_async_queue_qsize", "queue is NULL");
        return 0;
    }
    return q->count;
}

int cl_async_queue_empty(cl_async_queue *q) {
    if (!q) {
        cl_report("cl_async_queue_empty", "queue is NULL");
        return 0;
    }
    return q->count == 0;
}

int cl_async_queue_full(cl_async_queue *q) {
    if (!q) {
        cl_report("cl_async_queue_full", "queue is NULL");
        return 0;
    }
    return queue_is_full(q);
}

int cl_async_queue_maxsize(cl_async_queue *q) {
    if (!q) {
        cl_report("cl_async_queue_maxsize", "queue is NULL");
        return 0;
    }
    return q->maxsize;
}

int cl_async_queue_unfinished(cl_async_queue *q) {
    if (!q) {
        cl_report("cl_async_queue_unfinished", "queue is NULL");
        return 0;
    }
    return q->unfinished;
}

int cl_async_queue_free(cl_async_queue *q) {
    if (!q) return 1;
    if (q->getters.count || q->putters.count || q->joiners.count) {
        cl_report("cl_async_queue_free", "tasks wait on the queue; not freed");
        return 0;
    }
    free(q->items);
    cl__name_forget(q); /* its address may come back as another object */
    free(q);
    return 1;
}
