/* display_bridge.c — display and clear requests from a cell to the notebook (display_bridge.h). */
#include "display_bridge.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>

#include "descriptors.h"
#include "display_socket.h"

/* A display waits for the kernel's answer as long as the kernel lives: the kernel serves
 * displays whatever else it waits for (a cell's input included), and a kernel that dies takes
 * the request, with its answer socket, with it, which ends the wait. A time limit would only
 * tell the cell "not shown" about a display shown a moment later. */
#define ANSWER_TIMEOUT_SECONDS 0

static int display_socket = -1;
static struct stat identity;  /* what it is, to tell when a cell closed or replaced it */

void display_bridge_open(void) {
    if (fcntl(DISPLAY_SOCKET_FD, F_GETFD) < 0) return;
    display_socket = descriptor_move_high(DISPLAY_SOCKET_FD);
    if (fstat(display_socket, &identity) != 0) display_socket = -1;
}

int display_bridge_lost(void) {
    struct stat now;
    if (display_socket < 0) return -1;
    if (fstat(display_socket, &now) != 0 || now.st_ino != identity.st_ino || now.st_dev != identity.st_dev)
        return display_socket;
    return -1;
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
