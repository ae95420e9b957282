/* control.c — the control channel, served on the server's control thread so that it answers
 * while a cell runs on the main thread: interrupt, shutdown and kernel_info. */
#include <stdio.h>
#include <string.h>

#include "kernel_state.h"

void control_dispatch(server *srv, wire_msg *msg, void *ctx) {
    kernel *k = ctx;
    const char *type = wire_msg_type(msg);
    bool shutdown = false;

    server_publish_status(srv, msg, "busy");
    if (strcmp(type, "interrupt_request") == 0) {
        kernel_interrupt(k);
        server_send(srv, CHANNEL_CONTROL, msg, "interrupt_reply", json_pack("{s:s}", "status", "ok"),
                    NULL);
    } else if (strcmp(type, "shutdown_request") == 0) {
        kernel_reply_shutdown(k, CHANNEL_CONTROL, msg);
        shutdown = true;
    } else if (strcmp(type, "kernel_info_request") == 0) {
        server_send(srv, CHANNEL_CONTROL, msg, "kernel_info_reply", kernel_info_content(), NULL);
    } else {
        /* usage_request, debug_request and the like: this kernel offers neither; like
         * ipykernel with no handler, log and keep serving. */
        fprintf(stderr, "conclab: ignoring control message type '%s'\n", type);
    }
    server_publish_status(srv, msg, "idle");
    if (shutdown) kernel_stop(k);
}
