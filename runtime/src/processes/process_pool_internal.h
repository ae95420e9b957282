/* process_pool_internal.h — what the two sides of a process pool share: the messages on the
 * socket between a parent-side worker thread (process_pool.c) and its worker process
 * (process_worker.c), and the hook that lets cl_task_fail (pool.c) work in a worker. Internal.
 *
 * The wire (a stream socketpair, one per worker; both sides are the same program, so structs
 * go as they are):
 *   parent -> worker   wire_task, then payload_size bytes: count arguments of arg_size bytes.
 *                      kind WIRE_STOP (no payload) asks the worker to exit.
 *   worker -> parent   wire_reply, then payload_size bytes: count records, each a wire_record
 *                      and its size bytes (the result, or the failure message with its '\0').
 * One message in flight per worker: it answers before it reads the next. */
#ifndef CONCLAB_RUNTIME_PROCESS_POOL_INTERNAL_H
#define CONCLAB_RUNTIME_PROCESS_POOL_INTERNAL_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "conclab/process_pool.h"
#include "observe.h"

enum { WIRE_RUN = 1, WIRE_STOP = 2 };

typedef struct wire_task {
    uint32_t kind;         /* WIRE_RUN or WIRE_STOP */
    uint32_t count;        /* arguments in the payload: 1 for a task, more for a map chunk */
    cl_process_task fn;    /* valid in the worker: it is a fork of the process that has fn */
    uint64_t arg_size;     /* bytes per argument */
    uint64_t payload_size; /* count * arg_size */
} wire_task;

typedef struct wire_reply {
    uint64_t payload_size; /* bytes of records that follow */
    uint32_t count;        /* records: one per argument */
    uint32_t unused;
} wire_reply;

enum { RECORD_OK = 0, RECORD_FAILED = 1 };

typedef struct wire_record {
    uint64_t size;   /* bytes that follow */
    uint32_t status; /* RECORD_OK: the result; RECORD_FAILED: the message, '\0' included */
    uint32_t unused;
} wire_record;

/* Sends all len bytes on socket fd (no SIGPIPE); 1, or 0 when the peer is gone. With
 * peer_alive, a send that the socket's timeout interrupts asks peer_alive(arg) whether to go on. */
CL_INTERNAL int cl__wire_send(int fd, const void *data, size_t len, int (*peer_alive)(void *),
                              void *arg);

/* Receives exactly len bytes; 1, or 0 on EOF or error (peer_alive as for cl__wire_send). */
CL_INTERNAL int cl__wire_recv(int fd, void *data, size_t len, int (*peer_alive)(void *), void *arg);

/* The body of a worker process: serves tasks on fd until told to stop or its parent is gone,
 * then flushes stdio and _exits. parent is the pid it must be a child of, mask the signal
 * mask to run tasks with. Never returns. */
CL_INTERNAL void cl__process_worker_main(int fd, pid_t parent, const sigset_t *mask)
    __attribute__((noreturn));

/* cl_task_fail's path in a worker process: 1 if a process pool task is running here (the
 * failure is recorded), 0 if not. */
CL_INTERNAL int cl__process_task_fail(const char *message);

#endif
