/* conclab/async_queue.h — a first-in first-out queue between the tasks of one event loop
 * (Python: asyncio.Queue).
 * Part of <conclab.h>; see there for the conventions every runtime header keeps.
 *
 *     cl_async_queue *q = cl_async_queue_new(10);   // q = asyncio.Queue(maxsize=10)
 *     void *producer(void *arg) {                   // async def producer():
 *         for (long i = 0; i < 100; i++)            //     for i in range(100):
 *             cl_async_queue_put_long(q, i);        //         await q.put(i)
 *         return NULL;
 *     }
 *     void *consumer(void *arg) {                   // async def consumer():
 *         long item;                                //     while True:
 *         while (cl_async_queue_get_long(q, &item)) {   //     item = await q.get()
 *             use(item);
 *             cl_async_queue_task_done(q);          //         q.task_done()
 *         }                                         // (get returns 0 once the task is cancelled)
 *         return NULL;
 *     }
 *     ...                                           // main: await q.join(); cancel consumers
 *
 * Items are pointers (void *), stored as given: the queue never copies nor frees what they
 * point to. The _long helpers carry a long in the pointer instead. maxsize 0 (or less) means
 * unbounded, as in Python; then put never waits.
 *
 * put and get suspend only the calling task (an await), so they belong inside a task. They
 * return 1 when done and 0 when they did not happen: the task was cancelled while it waited
 * (cl_task_cancelling(cl_task_current()) says so), the timeout passed, or a misuse (reported as
 * "cl_<call>: what went wrong"). A cancelled get never loses an item and a cancelled put never
 * stores one; a waiter woken and then cancelled passes the wake-up to the next one, as asyncio's
 * _wakeup_next does. put_nowait and get_nowait never wait: 0 means full (QueueFull) or empty
 * (QueueEmpty), which are not reported since they are answers, not mistakes.
 *
 * Not thread-safe, as in Python: use a queue from its loop's thread only (between threads, use
 * <conclab/queue.h>, or cl_loop_call_soon_threadsafe to reach the loop).
 * Differences from Python: no LifoQueue, PriorityQueue or shutdown(); waits are reported to the
 * observer of <conclab/hook.h> as the primitive "async_queue". */
#ifndef CONCLAB_ASYNC_QUEUE_H
#define CONCLAB_ASYNC_QUEUE_H

#include <stddef.h> /* NULL */

#include <conclab/clock.h> /* CL_FOREVER */

#ifdef __cplusplus
extern "C" {
#endif

/* A FIFO queue of pointers for the tasks of one loop (Python: asyncio.Queue); freed by cl_async_queue_free. */
typedef struct cl_async_queue cl_async_queue;

/* Creates a queue holding at most maxsize items (0 or less: unbounded); NULL on error. */
cl_async_queue *cl_async_queue_new(int maxsize);

/* Awaits a free slot and puts item at the back (await q.put(item)); returns 1, or 0 if cancelled while waiting. */
int cl_async_queue_put(cl_async_queue *q, void *item);

/* Awaits a free slot for at most seconds and puts item; returns 1, or 0 on timeout or cancellation (nothing stored). */
int cl_async_queue_put_timeout(cl_async_queue *q, void *item, double seconds);

/* Puts item only if there is room right now (q.put_nowait); returns 1, or 0 if the queue is full. */
int cl_async_queue_put_nowait(cl_async_queue *q, void *item);

/* Awaits an item and takes it from the front into *item (await q.get()); returns 1, or 0 if cancelled while waiting. */
int cl_async_queue_get(cl_async_queue *q, void **item);

/* Awaits an item for at most seconds; returns 1 with *item set, or 0 on timeout or cancellation (nothing taken). */
int cl_async_queue_get_timeout(cl_async_queue *q, void **item, double seconds);

/* Takes an item only if one is there right now (q.get_nowait); returns 1, or 0 if the queue is empty. */
int cl_async_queue_get_nowait(cl_async_queue *q, void **item);

/* Awaits a free slot and puts a long (carried in the item pointer); returns 1, or 0 if cancelled. */
int cl_async_queue_put_long(cl_async_queue *q, long value);

/* Awaits an item put with cl_async_queue_put_long and stores it in *value; returns 1, or 0 if cancelled. */
int cl_async_queue_get_long(cl_async_queue *q, long *value);

/* Marks one item taken with get as processed (q.task_done()); returns 1, or 0 (reported) if called more times than items were put. */
int cl_async_queue_task_done(cl_async_queue *q);

/* Awaits until every item put has been marked done with task_done (await q.join()); returns 1, or 0 if cancelled. */
int cl_async_queue_join(cl_async_queue *q);

/* Returns the number of items in the queue right now (q.qsize()). */
int cl_async_queue_qsize(cl_async_queue *q);

/* Returns 1 if the queue holds no item, else 0 (q.empty()). */
int cl_async_queue_empty(cl_async_queue *q);

/* Returns 1 if the queue holds maxsize items (never for an unbounded one), else 0 (q.full()). */
int cl_async_queue_full(cl_async_queue *q);

/* Returns the queue's maxsize (0: unbounded) (q.maxsize). */
int cl_async_queue_maxsize(cl_async_queue *q);

/* Returns how many items were put and not yet marked done with task_done. */
int cl_async_queue_unfinished(cl_async_queue *q);

/* Frees the queue (not the items it still holds); refuses (returns 0 and reports) while tasks wait on it. NULL is ignored. */
int cl_async_queue_free(cl_async_queue *q);

#ifdef __cplusplus
}
#endif

#endif
