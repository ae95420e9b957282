/* stream_internal.h — what stream.c shares with stream_server.c and the HTTP helpers: the stream
 * record, so a server can make streams of accepted sockets, and the waiting pattern every
 * awaiting stream call follows. Internal.
 *
 * Lifetime: a stream has two references, its owner's (the user, or the server for a connection
 * it accepted) and the libuv handle's, dropped by the close callback; the memory goes with the
 * last. libuv calls every pending write's and connect's callback (UV_ECANCELED) before the close
 * callback, so those callbacks may always touch the stream. */
#ifndef CONCLAB_RUNTIME_STREAM_INTERNAL_H
#define CONCLAB_RUNTIME_STREAM_INTERNAL_H

#include <uv.h>

#include "conclab/future.h"
#include "conclab/loop.h"
#include "conclab/stream.h"
#include "observe.h" /* CL_INTERNAL */

/* The loop's libuv loop (defined by loop.c, declared in its loop_internal.h under this name). */
CL_INTERNAL uv_loop_t *cl__loop_uv(cl_loop *l);

struct cl_stream {
    uv_tcp_t tcp;           /* tcp.data points back here */
    uv_connect_t connect;
    uv_shutdown_t shutdown;
    cl_loop *loop;
    int refs;               /* the owner's and the handle's */
    int owner_released;     /* the owner has let go (cl_stream_free, or the server after the handler) */
    double timeout;         /* seconds for each wait; CL_FOREVER: none */

    char *rbuf;             /* received bytes not read yet: rbuf[rstart, rend) */
    size_t rstart, rend, rcap;
    int reading;            /* uv_read_start is in effect */
    int eof;                /* the peer closed its side */
    int rerror;             /* a libuv error from reading, or 0 */
    cl_future *read_waiter; /* the task waiting for bytes, completed by the read callback */

    size_t wpending;        /* bytes queued in uv_write requests */
    int werror;             /* a libuv error from writing, or 0 */
    int peer_may_leave;     /* a server's connection: a client gone mid-answer is not reported */
    cl_future *drain_waiter;

    int connect_status;     /* the connect callback's status (1 while pending) */
    cl_future *connect_waiter;

    int closing;            /* close asked for (it starts once queued writes are sent) */
    int close_started;      /* uv_close was called */
    int closed;             /* the close callback ran */
    cl_future *closed_future; /* made on demand for cl_stream_wait_closed */

    struct cl_stream_server *server; /* the server that accepted it, or NULL */
    cl_future *task;        /* that connection's handler task */
    struct cl_stream *prev, *next;   /* in the server's list of open connections */
};

/* A stream on loop l with its handle initialised (refs 2, not reading yet), or NULL (reported
 * as call). */
CL_INTERNAL cl_stream *cl__stream_new(cl_loop *l, const char *call);

/* Starts reading a connected stream into its buffer and turns Nagle off (asyncio does too). */
CL_INTERNAL void cl__stream_connected(cl_stream *s);

/* Drops the owner's reference: closes s (after queued writes) and frees it when libuv is done. */
CL_INTERNAL void cl__stream_release(cl_stream *s);

/* Awaits a new future parked in *slot until a libuv callback completes it (cl__stream_wake) or
 * until deadline (cl_now() seconds; >= 1e9: none); the hook sees a wait on stream s. Returns 0,
 * CL_STREAM_TIMEOUT, CL_STREAM_CANCELLED or CL_STREAM_ERROR (outside a task: reported by
 * cl_await). */
CL_INTERNAL int cl__stream_park(cl_stream *s, cl_future **slot, double deadline);

/* Completes the future parked in *slot, if any, so its task resumes. */
CL_INTERNAL void cl__stream_wake(cl_future **slot);

/* The deadline for a wait of timeout seconds from now (a huge value for CL_FOREVER). */
CL_INTERNAL double cl__stream_deadline(double timeout);

/* Checks that the caller is a task on s's loop; reports as call and returns -1 if not. */
CL_INTERNAL int cl__stream_check_task(cl_loop *l, const char *call);

/* Sets the stack size of the handler tasks srv starts (0: the loop's default). */
CL_INTERNAL void cl__stream_server_set_stack_size(cl_stream_server *srv, size_t bytes);

#endif
