/* display_bridge.c — display and clear requests from a cell to the notebook (display_bridge.h). */
#include "display_bridge.h"

#include <fcntl.h>
#include <stdio.h>

#include "descriptors.h"
#include "display_socket.h"

/* How long a display waits for the notebook: long, since the kernel may be answering an input
 * prompt; a cell is never stuck for good behind a kernel that stopped listening. */
#define ANSWER_TIMEOUT_SECONDS 60.0

static int display_socket = -1;

void display_bridge_open(void) {
    if (fcntl(DISPLAY_SOCKET_FD, F_GETFD) < 0) return;
    display_socket = descriptor_move_high(DISPLAY_SOCKET_FD);
}

int display_bridge_show(void *ctx, const char *bundle, unsigned long size, const char *id, int update, char *why,
                        unsigned long why_size) {
    (void)ctx;
    if (display_socket < 0) {
        snprintf(why, why_size, "this executor has no way to the notebook's displays");
        return -1;
    }
    return display_request_send(display_socket, update ? DISPLAY_UPDATE : DISPLAY_SHOW, id, bundle, size,
                                ANSWER_TIMEOUT_SECONDS, why, why_size);
}

void display_bridge_clear(void *ctx, int wait) {
    (void)ctx;
    char why[200];
    if (display_socket < 0) return;
    if (display_request_send(display_socket, wait ? DISPLAY_CLEAR_WAIT : DISPLAY_CLEAR, NULL, NULL, 0,
                             ANSWER_TIMEOUT_SECONDS, why, sizeof why) != 0)
        fprintf(stderr, "cl_clear_output: %s\n", why);
}
