/* queue.c — cl_queue, Python's multiprocessing.Queue: byte messages in one shared mapping.
 *
 * Layout: a page-aligned header (robust process-shared mutex, counters, two sequence words
 * used as condition variables) followed by a ring of `capacity` bytes. A message is its length
 * as 8 bytes, then its bytes, written at the tail and wrapping around the end of the ring.
 *
 * head and tail are byte offsets that only grow (their difference is the bytes in use, their
 * remainder by capacity the place in the ring), so publishing or taking a message is one store
 * to tail or head after the copy. A process killed mid-copy has therefore changed nothing the
 * others can see, except perhaps `count`, which a recovering locker recomputes by walking the
 * messages from head to tail.
 *
 * Waiting follows shared_memory.h: a getter reads the `not_empty` sequence word under the
 * mutex, unlocks, parks on it across processes, relocks and looks again; a put that finds
 * getters waiting moves the word on and wakes them (puts and `not_full` likewise). */
#define _GNU_SOURCE /* MAP_NORESERVE, MADV_REMOVE */
#include "conclab.h"
#include "observe.h"
#include "message.h"
#include "report.h"
#include "trace_internal.h"
#include "shared_memory.h"
#include "wait.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define QUEUE_MAGIC 0x51554555u /* "QUEU" */
#define PREFIX_BYTES sizeof(uint64_t)
/* A taken message at least this large gives its pages back (smaller ones are reused soon). */
#define GIVE_BACK_BYTES ((size_t)1 << 20)
/* The largest capacity accepted: far beyond any lab, and keeps offsets' arithmetic simple. */
#define MAX_CAPACITY ((size_t)1 << 40)

struct cl_queue {
    uint32_t magic;
    uint32_t closed;
    uint32_t not_empty;       /* sequence word: moved on when a message arrives or on close */
    uint32_t not_full;        /* sequence word: moved on when room is made or on close */
    uint32_t getters_waiting; /* parked (or about to park) on not_empty; under the mutex */
    uint32_t putters_waiting; /* parked (or about to park) on not_full; under the mutex */
    int maxsize;              /* 0: no bound on the count */
    size_t capacity;          /* bytes in the ring */
    size_t mapping_bytes;     /* header pages + ring, for munmap */
    uint64_t head;            /* offset of the oldest message */
    uint64_t tail;            /* offset where the next message goes */
    uint64_t count;           /* messages between head and tail */
    pthread_mutex_t mutex;
};

/* ---- the mapping ---------------------------------------------------------------------------- */

static size_t page_bytes(void) {
    return (size_t)sysconf(_SC_PAGESIZE);
}

static size_t round_up(size_t n, size_t to) {
    return (n + to - 1) / to * to;
}

/* The header takes whole pages so the ring starts on a page, which giving pages back needs. */
static size_t header_bytes(void) {
    return round_up(sizeof(struct cl_queue), page_bytes());
}

static unsigned char *ring_of(cl_queue *q) {
    return (unsigned char *)q + header_bytes();
}

/* Not cl__shared_map: MAP_NORESERVE, so a large capacity is only address space until used,
 * even where the system counts committed memory strictly. */
static void *map_queue(size_t bytes, const char *call) {
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (p == MAP_FAILED) {
        cl_report(call, "cannot map %zu bytes of shared memory (%s); a smaller capacity "
                        "(cl_queue_new_sized) may fit", bytes, strerror(errno));
        return NULL;
    }
    return p;
}

static int valid(cl_queue *q, const char *call) {
    if (!q) {
        cl_report(call, "queue is NULL");
        return 0;
    }
    if (q->magic != QUEUE_MAGIC) {
        cl_report(call, "not a queue (freed already, or another kind of handle?)");
        return 0;
    }
    return 1;
}

cl_queue *cl_queue_new_sized(int maxsize, size_t capacity_bytes) {
    const char *call = "cl_queue_new_sized";
    if (capacity_bytes == 0 || capacity_bytes > MAX_CAPACITY) {
        cl_report(call, "capacity must be from 1 byte to 1 TiB, got %zu", capacity_bytes);
        return NULL;
    }
    /* Room for one message of capacity_bytes, length included. */
    size_t capacity = round_up(capacity_bytes + PREFIX_BYTES, page_bytes());
    size_t bytes = header_bytes() + capacity;
    cl_queue *q = map_queue(bytes, call);
    if (!q) return NULL;
    if (!cl__robust_init(&q->mutex, call)) {
        munmap(q, bytes);
        return NULL;
    }
    q->maxsize = maxsize > 0 ? maxsize : 0; /* Python: maxsize <= 0 means no bound */
    q->capacity = capacity;
    q->mapping_bytes = bytes;
    q->magic = QUEUE_MAGIC;
    return q;
}

cl_queue *cl_queue_new(int maxsize) {
    return cl_queue_new_sized(maxsize, CL_QUEUE_DEFAULT_CAPACITY);
}

int cl_queue_free(cl_queue *q) {
    if (!q) return 1; /* like free(NULL) */
    if (!valid(q, "cl_queue_free")) return 0;
    size_t header = header_bytes(), bytes = q->mapping_bytes;
    munmap((unsigned char *)q + header, bytes - header);
    /* Replace the header by a read-only page of zeros rather than unmapping it: a later call on
     * this handle then reads a wrong magic number and is reported, instead of crashing. The
     * other processes keep their own mapping of the real header. */
    if (mmap(q, header, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
        munmap(q, header);
    cl__name_forget(q); /* its address may come back as another object */
    return 1;
}

/* ---- the ring ------------------------------------------------------------------------------- */

static void ring_write(cl_queue *q, uint64_t at, const void *src, size_t n) {
    size_t offset = (size_t)(at % q->capacity), first = q->capacity - offset;
    if (first > n) first = n;
    memcpy(ring_of(q) + offset, src, first);
    memcpy(ring_of(q), (const unsigned char *)src + first, n - first);
}

static void ring_read(cl_queue *q, uint64_t at, void *dst, size_t n) {
    size_t offset = (size_t)(at % q->capacity), first = q->capacity - offset;
    if (first > n) first = n;
    memcpy(dst, ring_of(q) + offset, first);
    memcpy((unsigned char *)dst + first, ring_of(q), n - first);
}

static uint64_t length_at(cl_queue *q, uint64_t at) {
    uint64_t length;
    ring_read(q, at, &length, sizeof length);
    return length;
}

/* Gives back the pages lying wholly inside ring bytes [from, to) (no wrap): their contents are
 * dropped and they use no memory until touched again. */
static void give_back_span(cl_queue *q, size_t from, size_t to) {
    size_t page = page_bytes(), lo = round_up(from, page), hi = to / page * page;
    /* MADV_REMOVE frees shared memory for every process; DONTNEED would only unmap it here. */
    if (hi > lo) madvise(ring_of(q) + lo, hi - lo, MADV_REMOVE);
}

/* Gives back the pages of a message that has just been taken, whose bytes start at `at`. */
static void give_back(cl_queue *q, uint64_t at, size_t bytes) {
    size_t offset = (size_t)(at % q->capacity), first = q->capacity - offset;
    if (first >= bytes) {
        give_back_span(q, offset, offset + bytes);
    } else {
        give_back_span(q, offset, q->capacity);
        give_back_span(q, 0, bytes - first);
    }
}

static int has_room(cl_queue *q, size_t size) {
    if (q->maxsize > 0 && q->count >= (uint64_t)q->maxsize) return 0;
    return q->capacity - (size_t)(q->tail - q->head) >= PREFIX_BYTES + size;
}

/* ---- locking -------------------------------------------------------------------------------- */

/* After a process died holding the mutex: recount the messages between head and tail. If the
 * walk does not land exactly on tail the ring is damaged (it cannot be, by design, but a stray
 * write could do it): then the queue is emptied rather than handing out garbage. */
static void repair(cl_queue *q, const char *call) {
    uint64_t at = q->head, count = 0;
    while (at < q->tail) {
        uint64_t length = length_at(q, at);
        if (length > q->capacity || q->tail - at < PREFIX_BYTES + length) break;
        at += PREFIX_BYTES + length;
        count++;
    }
    if (at != q->tail) {
        cl_report(call, "the queue's contents were damaged; it has been emptied");
        q->head = q->tail;
        count = 0;
    }
    q->count = count;
    /* Whoever was waiting may have missed a wake-up from the process that died. */
    cl__shared_bump(&q->not_empty);
    cl__shared_bump(&q->not_full);
}

/* Takes the queue's mutex; 1 when held, 0 (reported) when not. It is only ever held while a
 * message is copied, so this waits without a deadline; the GIL is let go if it must wait.
 * The first try is pthread_mutex_trylock rather than a lock with a past deadline: the
 * sanitizers' interceptors know trylock and lock, not clocklock. */
static int lock_queue(cl_queue *q, const char *call) {
    int r, err = pthread_mutex_trylock(&q->mutex);
    if (err == 0) {
        r = CL__ROBUST_LOCKED;
    } else if (err == EOWNERDEAD) {
        pthread_mutex_consistent(&q->mutex);
        cl_report(call, "a process died while holding a queue's lock; the queue was repaired "
                        "(a message it was putting is dropped)");
        r = CL__ROBUST_RECOVERED;
    } else {
        cl__deadline forever;
        cl__deadline_forever(&forever);
        cl__blocking_begin();
        r = cl__robust_lock(&q->mutex, &forever, call, "a queue's lock");
        cl__blocking_end();
    }
    if (r == CL__ROBUST_RECOVERED) repair(q, call);
    return r == CL__ROBUST_LOCKED || r == CL__ROBUST_RECOVERED;
}

static void unlock_queue(cl_queue *q, const char *call) {
    cl__robust_unlock(&q->mutex, call);
}

/* With the mutex held: lets it go, waits for *seq to move on (or the deadline), takes it back.
 * *waiting counts this caller meanwhile, so that the other side knows to wake it. 1 when the
 * mutex is held again, 0 (reported) if it could not be retaken. */
static int wait_for_change(cl_queue *q, uint32_t *seq, uint32_t *waiting, const cl__deadline *d,
                           const char *call) {
    uint32_t seen = __atomic_load_n(seq, __ATOMIC_ACQUIRE);
    (*waiting)++;
    unlock_queue(q, call);
    cl__blocking_begin();
    cl__shared_park(seq, seen, d);
    cl__blocking_end();
    if (!lock_queue(q, call)) return 0;
    (*waiting)--;
    return 1;
}

/* ---- put and get ---------------------------------------------------------------------------- */

/* Puts one message by deadline d; 1 put, 0 timed out, -1 error (reported). */
static int put_message(cl_queue *q, const void *data, size_t size, const cl__deadline *d,
                       const char *call) {
    if (size > q->capacity - PREFIX_BYTES) {
        cl_report(call, "a message of %zu bytes can never fit in this queue (it holds %zu bytes "
                        "of messages; cl_queue_new_sized makes a bigger one)", size,
                  q->capacity - PREFIX_BYTES);
        return -1;
    }
    if (!lock_queue(q, call)) return -1;
    int result, waited = 0;
    for (;;) {
        if (q->closed) {
            cl_report(call, "the queue is closed");
            result = -1;
            break;
        }
        if (has_room(q, size)) {
            uint64_t length = size;
            ring_write(q, q->tail, &length, PREFIX_BYTES);
            if (size) ring_write(q, q->tail + PREFIX_BYTES, data, size);
            q->tail += PREFIX_BYTES + size; /* the message exists from this store on */
            q->count++;
            result = 1;
            break;
        }
        if (cl__deadline_passed(d)) {
            result = 0;
            break;
        }
        if (!waited) cl__observe(CL_EVENT_WAIT, "queue", q);
        waited = 1;
        if (!wait_for_change(q, &q->not_full, &q->putters_waiting, d, call)) return -1;
    }
    int wake_getters = result == 1 && q->getters_waiting > 0;
    unlock_queue(q, call);
    if (wake_getters) cl__shared_bump(&q->not_empty);
    if (waited) cl__observe(result == 1 ? CL_EVENT_ACQUIRE : CL_EVENT_TIMEOUT, "queue", q);
    return result;
}

/* With the mutex held and a message at head: copies it out into a malloc'd buffer; 1, or -1
 * (reported) when memory runs out, leaving the message in the queue. */
static int take_message(cl_queue *q, void **data, size_t *size, const char *call) {
    uint64_t length = length_at(q, q->head);
    unsigned char *copy = malloc(length ? (size_t)length : 1);
    if (!copy) {
        cl_report(call, "out of memory for a message of %zu bytes; it stays in the queue",
                  (size_t)length);
        return -1;
    }
    uint64_t at = q->head;
    ring_read(q, at + PREFIX_BYTES, copy, (size_t)length);
    q->head = at + PREFIX_BYTES + length; /* the message is gone from this store on */
    q->count--;
    if (length >= GIVE_BACK_BYTES) give_back(q, at, PREFIX_BYTES + (size_t)length);
    *data = copy;
    *size = (size_t)length;
    return 1;
}

/* Gets one message by deadline d; 1 taken, 0 timed out, -1 error (reported) or closed and
 * drained (silent). */
static int get_message(cl_queue *q, void **data, size_t *size, const cl__deadline *d,
                       const char *call) {
    if (!lock_queue(q, call)) return -1;
    int result, waited = 0;
    for (;;) {
        if (q->count > 0) {
            result = take_message(q, data, size, call);
            break;
        }
        if (q->closed) {
            result = -1; /* the end of the stream: not an error */
            break;
        }
        if (cl__deadline_passed(d)) {
            result = 0;
            break;
        }
        if (!waited) cl__observe(CL_EVENT_WAIT, "queue", q);
        waited = 1;
        if (!wait_for_change(q, &q->not_empty, &q->getters_waiting, d, call)) return -1;
    }
    int wake_putters = result == 1 && q->putters_waiting > 0;
    unlock_queue(q, call);
    if (wake_putters) cl__shared_bump(&q->not_full);
    if (waited) cl__observe(result == 1 ? CL_EVENT_ACQUIRE : CL_EVENT_TIMEOUT, "queue", q);
    return result;
}

int cl_queue_put(cl_queue *q, const void *data, size_t size, double timeout) {
    const char *call = "cl_queue_put";
    cl__deadline d;
    if (!valid(q, call) || !cl__deadline_init(&d, timeout, call)) return -1;
    if (!data && size) {
        cl_report(call, "data is NULL but size is %zu", size);
        return -1;
    }
    return put_message(q, data, size, &d, call);
}

int cl_queue_get(cl_queue *q, void **data, size_t *size, double timeout) {
    const char *call = "cl_queue_get";
    cl__deadline d;
    if (!valid(q, call) || !cl__deadline_init(&d, timeout, call)) return -1;
    if (!data) {
        cl_report(call, "data is NULL: pass the address of a pointer to receive the message");
        return -1;
    }
    size_t ignored;
    return get_message(q, data, size ? size : &ignored, &d, call);
}

/* ---- typed helpers -------------------------------------------------------------------------- */

static int put_checked(cl_queue *q, const void *data, size_t size, double timeout,
                       const char *call) {
    cl__deadline d;
    if (!valid(q, call) || !cl__deadline_init(&d, timeout, call)) return -1;
    return put_message(q, data, size, &d, call);
}

/* Gets a message that must be exactly `size` bytes into out; one of another size is taken
 * anyway (it cannot be what the caller wants) and reported. */
static int get_fixed(cl_queue *q, void *out, size_t size, double timeout, const char *call,
                     const char *what) {
    cl__deadline d;
    if (!valid(q, call) || !cl__deadline_init(&d, timeout, call)) return -1;
    if (!out) {
        cl_report(call, "the result pointer is NULL");
        return -1;
    }
    void *data;
    size_t got;
    int r = get_message(q, &data, &got, &d, call);
    if (r != 1) return r;
    return cl__message_to_fixed(data, got, out, size, what, call);
}

int cl_queue_put_long(cl_queue *q, long value, double timeout) {
    return put_checked(q, &value, sizeof value, timeout, "cl_queue_put_long");
}

int cl_queue_get_long(cl_queue *q, long *value, double timeout) {
    return get_fixed(q, value, sizeof *value, timeout, "cl_queue_get_long", "long");
}

int cl_queue_put_double(cl_queue *q, double value, double timeout) {
    return put_checked(q, &value, sizeof value, timeout, "cl_queue_put_double");
}

int cl_queue_get_double(cl_queue *q, double *value, double timeout) {
    return get_fixed(q, value, sizeof *value, timeout, "cl_queue_get_double", "double");
}

int cl_queue_put_string(cl_queue *q, const char *s, double timeout) {
    const char *call = "cl_queue_put_string";
    if (!s) {
        cl_report(call, "string is NULL");
        return -1;
    }
    return put_checked(q, s, strlen(s), timeout, call);
}

int cl_queue_get_string(cl_queue *q, char **s, double timeout) {
    const char *call = "cl_queue_get_string";
    cl__deadline d;
    if (!valid(q, call) || !cl__deadline_init(&d, timeout, call)) return -1;
    if (!s) {
        cl_report(call, "the result pointer is NULL");
        return -1;
    }
    void *data;
    size_t size;
    int r = get_message(q, &data, &size, &d, call);
    if (r != 1) return r;
    return cl__message_to_string(data, size, s, call);
}

/* ---- state ---------------------------------------------------------------------------------- */

int cl_queue_qsize(cl_queue *q) {
    const char *call = "cl_queue_qsize";
    if (!valid(q, call) || !lock_queue(q, call)) return -1;
    uint64_t count = q->count;
    unlock_queue(q, call);
    return count > INT32_MAX ? INT32_MAX : (int)count;
}

int cl_queue_empty(cl_queue *q) {
    return cl_queue_qsize(q) == 0;
}

int cl_queue_full(cl_queue *q) {
    const char *call = "cl_queue_full";
    if (!valid(q, call) || !lock_queue(q, call)) return 0;
    int full = q->maxsize > 0 && q->count >= (uint64_t)q->maxsize;
    unlock_queue(q, call);
    return full;
}

size_t cl_queue_capacity(cl_queue *q) {
    if (!valid(q, "cl_queue_capacity")) return 0;
    return q->capacity - PREFIX_BYTES;
}

int cl_queue_close(cl_queue *q) {
    const char *call = "cl_queue_close";
    if (!valid(q, call) || !lock_queue(q, call)) return 0;
    __atomic_store_n(&q->closed, 1, __ATOMIC_RELEASE);
    unlock_queue(q, call);
    /* Everyone waiting looks again: getters drain or end, putters fail. */
    cl__shared_bump(&q->not_empty);
    cl__shared_bump(&q->not_full);
    return 1;
}

int cl_queue_closed(cl_queue *q) {
    if (!valid(q, "cl_queue_closed")) return 0;
    return __atomic_load_n(&q->closed, __ATOMIC_ACQUIRE) != 0;
}
