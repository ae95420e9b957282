/* server.h — the transport: ZeroMQ sockets for the five channels, signing, the heartbeat, and a
 * thread of its own for the control channel. Knows nothing about C or cells. */
#ifndef CONCLAB_SERVER_H
#define CONCLAB_SERVER_H

#include "connection.h"
#include "wire.h"

typedef enum server_channel {
    CHANNEL_SHELL,
    CHANNEL_CONTROL,
    CHANNEL_IOPUB,
    CHANNEL_STDIN,
} server_channel;

typedef struct server server;

/* Called on the control thread for each valid control message; the server frees msg after. */
typedef void (*server_control_handler)(server *srv, wire_msg *msg, void *ctx);

/* Binds all sockets and starts the heartbeat and control threads. NULL with *err on failure. */
server *server_start(const connection_info *ci, server_control_handler on_control, void *ctx, char **err);

/* Waits up to timeout_ms (-1: forever) for a valid shell message. Returns 1 with *out filled,
 * 0 on timeout, -1 when the server is stopping. Bad signatures and malformed frames are logged
 * to stderr and dropped here. */
int server_recv_shell(server *srv, int timeout_ms, wire_msg *out);

/* Same for the stdin channel (input_reply). */
int server_recv_stdin(server *srv, int timeout_ms, wire_msg *out);

/* Sends msg_type with content (reference stolen) on a channel. The parent's identities route the
 * reply (shell, control, stdin); its header becomes parent_header. parent may be NULL (iopub
 * messages with no parent, e.g. the starting status). metadata may be NULL ({}; stolen).
 * Thread-safe: iopub is shared by the shell and control threads. Returns 0 or -1. */
int server_send(server *srv, server_channel ch, const wire_msg *parent, const char *msg_type,
                json_t *content, json_t *metadata);

/* Publishes status busy/idle/starting on iopub with the given parent (may be NULL). */
int server_publish_status(server *srv, const wire_msg *parent, const char *state);

/* The session id this kernel signs its headers with. */
const char *server_session(const server *srv);

/* Asks the threads to stop (safe from any thread, including the control handler). */
void server_request_stop(server *srv);
int server_stopping(const server *srv);

/* Joins the threads and closes everything. Call from the main thread. */
void server_free(server *srv);

#endif
