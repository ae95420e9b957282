/* spare.c — forking the next cell's process ahead of time, and handing it its cell (spare.h).
 *
 * Between holder and spare: a socket the holder writes the one order to (framing.h: the order
 * as a message, the compiler's reply inside it, the reply's payload after it) and a pipe the
 * spare writes one byte to when it hands the notebook over, as a cell's fork does (executor.c). */
#define _GNU_SOURCE
#include "spare.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "descriptors.h"
#include "framing.h"
#include "messages.h"

static pid_t spare;          /* in the holder: the spare, or 0 */
static int order_fd = -1;    /* in the holder: where the order goes */
static int commit_fd = -1;   /* in the holder: where the hand-over byte arrives */
static int own_commit_fd = -1;  /* in the spare that took a cell: where it writes that byte */

bool spare_waiting(void) { return spare > 0; }
pid_t spare_pid(void) { return spare; }
int spare_commit_fd(void) { return commit_fd; }
int spare_own_commit_fd(void) { return own_commit_fd; }

static void close_if_open(int *fd) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
}

void spare_forget(void) {
    close_if_open(&order_fd);
    close_if_open(&commit_fd);
    spare = 0;
}

void spare_kill(void) {
    if (spare <= 0) return;
    kill(-spare, SIGKILL);
    kill(spare, SIGKILL);
}

/* In the spare: blocks until the holder sends the order, or ends (false). */
static bool receive_order(int fd, spare_order *order) {
    json_t *msg = framing_recv(fd);
    if (!msg) return false;
    size_t length = 0;
    char *payload = framing_recv_payload(fd, msg, &length);
    json_t *reply = json_object_get(msg, "reply");
    bool whole = json_is_object(reply) && (payload || json_integer_value(json_object_get(msg, "payload")) == 0);
    if (whole) {
        order->cell = (int)json_integer_value(json_object_get(msg, "cell"));
        order->allow_stdin = json_is_true(json_object_get(msg, "allow_stdin"));
        order->memory_limit = (size_t)json_integer_value(json_object_get(msg, "memory_limit"));
        order->watch.time = json_is_true(json_object_get(msg, "timed"));
        order->watch.watch = (unsigned)json_integer_value(json_object_get(msg, "watch"));
        const char *trace_file = json_string_value(json_object_get(msg, "trace_file"));
        snprintf(order->watch.trace_file, sizeof order->watch.trace_file, "%s", trace_file ? trace_file : "");
        order->checks = (cell_checks){json_is_true(json_object_get(msg, "lockcheck")),
                                      json_is_true(json_object_get(msg, "chaos")),
                                      (unsigned long long)json_integer_value(json_object_get(msg, "chaos_seed"))};
        order->reply = (compiler_reply){.reply = json_incref(reply), .payload = payload, .length = length};
    } else {
        free(payload);
    }
    json_decref(msg);
    return whole;
}

bool spare_fork(spare_order *order) {
    int orders[2], commits[2];
    if (spare > 0) return false;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, orders) != 0) return false;
    if (pipe2(commits, O_CLOEXEC) != 0) {
        close(orders[0]);
        close(orders[1]);
        return false;
    }
    for (int i = 0; i < 2; i++) {  /* out of the cell's way (descriptors.h) */
        orders[i] = descriptor_move_high(orders[i]);
        commits[i] = descriptor_move_high(commits[i]);
    }
    /* Born with the spare's name: the engine client, which sets the next cell's memory limit on
     * the holder's spare (memory_guard.h), must never find it under the holder's name. While the
     * holder itself bears it, the client waits (the holder is not ready). */
    prctl(PR_SET_NAME, EXECUTOR_SPARE_NAME);
    pid_t child = fork();
    if (child != 0) prctl(PR_SET_NAME, EXECUTOR_READY_NAME);
    if (child == 0) {
        setpgid(0, 0);  /* the cell's process group from the start, as a cell's fork makes one */
        close(orders[0]);
        close(commits[0]);
        bool handed = receive_order(orders[1], order);
        close(orders[1]);
        if (!handed) _exit(0);  /* the holder ended, or handed over to another process */
        prctl(PR_SET_NAME, EXECUTOR_READY_NAME);
        own_commit_fd = commits[1];
        return true;
    }
    close(orders[1]);
    close(commits[1]);
    if (child < 0) {
        close(orders[0]);
        close(commits[0]);
        return false;
    }
    spare = child;
    order_fd = orders[0];
    commit_fd = commits[0];
    return false;
}

int spare_hand(const spare_order *order, int payload_from, size_t *moved) {
    *moved = 0;
    if (spare <= 0) return -1;
    const compiler_reply *r = &order->reply;
    json_t *msg = json_pack("{s:i, s:b, s:I, s:O, s:I, s:b, s:i, s:s}", "cell", order->cell, "allow_stdin",
                            order->allow_stdin, "memory_limit", (json_int_t)order->memory_limit, "reply", r->reply,
                            "payload", (json_int_t)(r->unread ? r->unread : r->length), "timed", order->watch.time,
                            "watch", (int)order->watch.watch, "trace_file", order->watch.trace_file);
    if (msg) json_object_update_new(msg, json_pack("{s:b, s:b, s:I}", "lockcheck", order->checks.lockcheck, "chaos",
                                                   order->checks.chaos, "chaos_seed", (json_int_t)order->checks.seed));
    int rc = msg ? framing_send(order_fd, msg) : -1;
    json_decref(msg);
    if (rc == 0 && r->unread) rc = framing_forward(payload_from, order_fd, r->unread, moved);
    else if (rc == 0 && r->length) rc = framing_send_bytes(order_fd, r->payload, r->length);
    close_if_open(&order_fd);  /* one order per spare */
    if (rc != 0) {  /* it died while waiting (killed from outside): reap it, fork as before */
        spare_kill();
        while (waitpid(spare, NULL, 0) < 0 && errno == EINTR) {
        }
        spare_forget();
        return -1;
    }
    return 0;
}
