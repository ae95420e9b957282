#define _GNU_SOURCE /* fopencookie */
#include "stdin_bridge.h"

#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conclab_host.h"
#include "messages.h"

static int channel = -1;
static int allowed;
static char *pending;     /* the rest of the last line the user typed */
static size_t pending_len;

/* Each cell starts with an empty stdin: what an earlier cell typed but did not read (scanf
 * leaves the newline) and an end-of-file it saw (sticky in glibc) do not leak into this one. */
void stdin_bridge_allow(int yes) {
    allowed = yes;
    __fpurge(stdin);
    clearerr(stdin);
    free(pending);
    pending = NULL;
    pending_len = 0;
}

/* Asks for one line. Returns 0 with `pending` filled, -1 for end-of-file. */
static int request_line(void) {
    if (!allowed || channel < 0) return -1;
    fflush(stdout);
    fflush(stderr);
    event ask = {.kind = EV_INPUT_REQUEST, .input_request = {"", false}};
    if (event_send(channel, &ask, NULL, 0) != 0) return -1;
    op reply;
    int eof = op_receive(channel, &reply, NULL, NULL, NULL) != 0 || reply.kind != OP_INPUT_REPLY ||
              reply.input_reply.eof;
    if (!eof) {
        const char *value = reply.input_reply.value;
        pending_len = strlen(value) + 1;
        pending = malloc(pending_len + 1);
        if (pending) {
            memcpy(pending, value, pending_len - 1);
            pending[pending_len - 1] = '\n';
            pending[pending_len] = '\0';
        } else {
            eof = 1;
        }
    }
    op_clear(&reply);
    return eof ? -1 : 0;
}

static ssize_t take_pending(char *buf, size_t count) {
    if (!pending && request_line() != 0) return 0;
    size_t n = count < pending_len ? count : pending_len;
    memcpy(buf, pending, n);
    memmove(pending, pending + n, pending_len - n);
    pending_len -= n;
    if (pending_len == 0) {
        free(pending);
        pending = NULL;
    }
    return (ssize_t)n;
}

static ssize_t cookie_read(void *cookie, char *buf, size_t count) {
    (void)cookie;
    return take_pending(buf, count);
}

static ssize_t (*read_other)(int, void *, size_t) = read;  /* the runtime's GIL-aware read */

ssize_t stdin_bridge_read(int fd, void *buf, size_t count) {
    if (fd == 0) return take_pending(buf, count);
    return read_other(fd, buf, count);
}

void stdin_bridge_install(int channel_fd) {
    channel = channel_fd;
    for (const cl_host_blocking_call *c = cl_host_blocking_calls(); c->name; c++)
        if (strcmp(c->name, "read") == 0) read_other = (ssize_t (*)(int, void *, size_t))c->function;
    cookie_io_functions_t io = {.read = cookie_read};
    FILE *in = fopencookie(NULL, "r", io);
    if (in) stdin = in;
}
