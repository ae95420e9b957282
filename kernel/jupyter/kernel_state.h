/* kernel_state.h — what the kernel core's files share: the kernel's state and the handlers each
 * file provides. Internal to kernel/jupyter/; the public face is kernel.h.
 *
 * Threads: the main thread owns the shell channel, the engine's execute/pump calls, the execution
 * count and the history. The control thread and the signal thread only interrupt or stop, through
 * kernel_interrupt and kernel_stop, which are safe from any thread. */
#ifndef CONCLAB_KERNEL_STATE_H
#define CONCLAB_KERNEL_STATE_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "engine.h"
#include "history.h"
#include "server.h"

typedef struct kernel {
    server *srv;
    engine *eng;
    history *hist;
    int execution_count;       /* the last stored cell's number; main thread only */
    wire_msg last_execute;     /* header of the last execute_request: parent of pumped output */
    bool has_last_execute;
    bool abort_queued;         /* a cell failed with stop_on_error: abort what is queued */
    double failed_at;          /* when that failure was first shown (wall clock, before its error
                                  went out): requests the client sent earlier could not know */
    atomic_uint interrupts;    /* bumped by each interrupt, so a pending input prompt gives up */
    atomic_bool stopping;      /* shutdown asked: the shell loop ends */
} kernel;

/* Where a cell's output goes: iopub with the request as parent; prompts go out on stdin. */
typedef struct output_route {
    kernel *k;
    const wire_msg *parent;    /* NULL: publish without a parent */
} output_route;

/* output.c */
engine_callbacks output_callbacks(output_route *route);

/* execute.c: execute_request; sets k->abort_queued after a failure with stop_on_error. */
void execute_request(kernel *k, const wire_msg *msg);

/* shell.c: one shell message, bracketed by busy/idle; and the stop_on_error drain. */
void shell_dispatch(kernel *k, const wire_msg *msg);
void shell_abort_queued(kernel *k);

/* control.c: the server's control handler (runs on the control thread). */
void control_dispatch(server *srv, wire_msg *msg, void *ctx);

/* kernel.c: safe from any thread. */
void kernel_interrupt(kernel *k);
void kernel_stop(kernel *k);
/* Replies to shutdown_request on the channel it came on (and on iopub, as ipykernel does). The
 * caller stops the kernel once the request's idle status is out. */
void kernel_reply_shutdown(kernel *k, server_channel ch, const wire_msg *msg);

/* kernel_info.c: the content of kernel_info_reply (new reference). */
json_t *kernel_info_content(void);

/* signals.c: SIGINT interrupts the running cell, SIGTERM stops the kernel, SIGPIPE is ignored. */
int signals_start(kernel *k);
void signals_stop(void);

/* Seconds since the epoch: what clients stamp their requests with (header "date"). */
static inline double wall_clock_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Request fields with the protocol's defaults when absent or of the wrong type. */
static inline const char *content_string(const wire_msg *msg, const char *key, const char *dflt) {
    const char *s = json_string_value(json_object_get(msg->content, key));
    return s ? s : dflt;
}

static inline bool content_bool(const wire_msg *msg, const char *key, bool dflt) {
    json_t *v = json_object_get(msg->content, key);
    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

static inline long long content_int(const wire_msg *msg, const char *key, long long dflt) {
    json_t *v = json_object_get(msg->content, key);
    return json_is_integer(v) ? json_integer_value(v) : dflt;
}

#endif
