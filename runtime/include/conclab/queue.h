/* conclab/queue.h — a message queue shared by threads and processes (Python:
 * multiprocessing.Queue, and queue.Queue between threads).
 * Part of <conclab.h>; see there for the conventions every runtime header keeps.
 *
 * Make the queue BEFORE the fork that starts the other processes: it lives in shared memory
 * that every process forked afterwards sees at the same address, so the same cl_queue * works
 * in all of them (no names, no pickling). Messages are arbitrary bytes, copied in by put and
 * copied out by get into a malloc'd buffer the caller frees; helpers send a long, a double or a
 * string. Any number of producers and consumers, in any processes and threads, may share it;
 * every message is taken exactly once, in the order the puts completed.
 *
 * Bounds. maxsize bounds the number of messages (0 or less: no bound, as in Python). The bytes
 * in the queue are bounded too, by its capacity: cl_queue_new gives CL_QUEUE_DEFAULT_CAPACITY
 * (256 MiB), cl_queue_new_sized chooses (a message of capacity_bytes always fits; each message
 * also uses 8 bytes for its length). The capacity is address space reserved up front, not
 * memory: memory is only used by the pages messages touch, and the pages of a large message
 * (1 MiB or more) are given back once it has been taken, so one 64 MB message does not pin
 * 64 MB for good. Under the notebook's memory limit (RLIMIT_AS, 4 GiB more than the notebook
 * holds by default) each default queue takes 256 MiB of that allowance: make many queues with
 * cl_queue_new_sized. A message larger than the capacity is an error at once; a put waits
 * while the queue holds maxsize messages or lacks room for its bytes.
 *
 * Waits on an empty or full queue let the emulated GIL go, and are reported to the observer of
 * <conclab/hook.h> as primitive "queue" (wait, then acquire or timeout).
 *
 * Return values: 1 done, 0 timed out (put: still full; get: still empty), -1 error, reported on
 * stderr as "cl_queue_<call>: ...". One -1 is not an error and prints nothing: a get on a
 * closed queue that has been drained — the end of the stream (see cl_queue_close).
 * Timeouts are seconds: 0 polls (Python's put_nowait / get_nowait), CL_FOREVER waits forever.
 *
 * Differences from Python, on purpose:
 *   - cl_queue_close closes the queue for every process: later puts fail (reported), waiting
 *     puts return -1, and gets drain what is left and then return -1 at once instead of
 *     waiting. This replaces Python's "put a sentinel per consumer" idiom (which still works
 *     here: put an end marker your consumers recognise). Python's close() only concerns the
 *     calling process and its feeder thread; a put there raises ValueError afterwards.
 *   - A put copies the message into the queue before it returns; there is no feeder thread,
 *     so nothing is lost when a process exits right after a put (no join_thread needed).
 *   - qsize, empty and full are exact at the instant they look (Python's are approximate),
 *     but another process may change the answer right after. full only counts messages.
 *   - The getters and putters share one lock, held while a message is copied: a process killed
 *     while holding it (say, mid-put) does not wedge the queue — the next caller reports the
 *     recovery, the half-written message is dropped and everything put before it is kept.
 *   - cl_queue_free unmaps the queue in the calling process only; other processes keep using
 *     it. Threads of this process must be done with it. It leaves one read-only page behind so
 *     that a later call on the freed handle is reported instead of crashing.
 */
#ifndef CONCLAB_QUEUE_H
#define CONCLAB_QUEUE_H

#include <stddef.h> /* size_t */

#ifdef __cplusplus
extern "C" {
#endif

#include <conclab/clock.h> /* CL_FOREVER */

/* A queue of byte messages in shared memory (Python: multiprocessing.Queue); freed by cl_queue_free. */
typedef struct cl_queue cl_queue;

/* The bytes a queue from cl_queue_new can hold at once: 256 MiB of address space, used as touched. */
#define CL_QUEUE_DEFAULT_CAPACITY ((size_t)256 << 20)

/* Creates a queue of at most maxsize messages (0: no bound) with the default capacity; NULL on error. */
cl_queue *cl_queue_new(int maxsize);

/* Creates a queue of at most maxsize messages (0: no bound) holding at most capacity_bytes of messages; NULL on error. */
cl_queue *cl_queue_new_sized(int maxsize, size_t capacity_bytes);

/* Copies size bytes from data into the queue, waiting at most timeout seconds for room; 1 put, 0 full, -1 error. */
int cl_queue_put(cl_queue *q, const void *data, size_t size, double timeout);

/* Takes the oldest message, waiting at most timeout seconds: *data gets a malloc'd copy (free it), *size its length; 1, 0 empty, -1 error or closed and drained. */
int cl_queue_get(cl_queue *q, void **data, size_t *size, double timeout);

/* Puts a long as a message of sizeof(long) bytes; 1 put, 0 full, -1 error. */
int cl_queue_put_long(cl_queue *q, long value, double timeout);

/* Takes a message put by cl_queue_put_long into *value; 1, 0 empty, -1 error (a message of another size is taken and reported). */
int cl_queue_get_long(cl_queue *q, long *value, double timeout);

/* Puts a double as a message of sizeof(double) bytes; 1 put, 0 full, -1 error. */
int cl_queue_put_double(cl_queue *q, double value, double timeout);

/* Takes a message put by cl_queue_put_double into *value; 1, 0 empty, -1 error (a message of another size is taken and reported). */
int cl_queue_get_double(cl_queue *q, double *value, double timeout);

/* Puts the characters of string s (without its NUL) as a message; 1 put, 0 full, -1 error. */
int cl_queue_put_string(cl_queue *q, const char *s, double timeout);

/* Takes any message as a malloc'd NUL-terminated string in *s (free it); 1, 0 empty, -1 error or closed and drained. */
int cl_queue_get_string(cl_queue *q, char **s, double timeout);

/* Returns the number of messages in the queue right now (-1 on misuse). */
int cl_queue_qsize(cl_queue *q);

/* Returns 1 if the queue holds no message right now, else 0. */
int cl_queue_empty(cl_queue *q);

/* Returns 1 if the queue holds maxsize messages right now (never for an unbounded one), else 0. */
int cl_queue_full(cl_queue *q);

/* Returns the most message bytes the queue can hold at once (0 on misuse). */
size_t cl_queue_capacity(cl_queue *q);

/* Closes the queue for every process: puts fail from now on, gets drain what is left then return -1; 1, or 0 on misuse. */
int cl_queue_close(cl_queue *q);

/* Returns 1 once the queue has been closed (by any process), else 0. */
int cl_queue_closed(cl_queue *q);

/* Unmaps the queue in this process only (others keep it); 1, or 0 on misuse. NULL is ignored. */
int cl_queue_free(cl_queue *q);

#ifdef __cplusplus
}
#endif

#endif
