/* pipe.c — cl_pipe_new and cl_connection, Python's multiprocessing.Pipe(duplex=True).
 *
 * The two ends are a UNIX stream socketpair; a message is its length as 8 bytes, then its
 * bytes. A stream carries messages of any size (a datagram socket would cap them at its buffer),
 * and the kernel tells a reader when every copy of the other end is closed (EOF), which is how
 * "the other process is gone" is noticed without any bookkeeping here.
 *
 * Each end is a small malloc'd handle in the process that uses it: after a fork each process
 * has its own copy of the handle and its own descriptor, and closing one end in one process
 * leaves the other processes' copies alone, as with any file descriptor.
 *
 * Reads and writes never block in the kernel while holding the GIL: the socket is used with
 * MSG_DONTWAIT, and when it is not ready the caller waits in poll() with the GIL let go. */
#define _GNU_SOURCE /* ppoll */
#include "conclab.h"
#include "observe.h"
#include "message.h"
#include "report.h"
#include "wait.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define CONNECTION_MAGIC 0x434f4e4eu /* "CONN" */
#define PREFIX_BYTES sizeof(uint64_t)

struct cl_connection {
    uint32_t magic;
    int fd;
    uint32_t send_guard; /* one sender at a time among this process's threads */
    uint32_t recv_guard; /* one receiver at a time among this process's threads */
};

static int valid(cl_connection *c, const char *call) {
    if (!c) {
        cl_report(call, "connection is NULL");
        return 0;
    }
    if (c->magic != CONNECTION_MAGIC) {
        cl_report(call, "not a connection (closed already, or another kind of handle?)");
        return 0;
    }
    return 1;
}

static cl_connection *connection_new(int fd) {
    cl_connection *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->magic = CONNECTION_MAGIC;
    c->fd = fd;
    return c;
}

int cl_pipe_new(cl_connection **a, cl_connection **b) {
    const char *call = "cl_pipe_new";
    if (!a || !b) {
        cl_report(call, "pass the addresses of two cl_connection pointers");
        return 0;
    }
    *a = *b = NULL;
    int fds[2];
    /* CLOEXEC: a program started with exec does not inherit (and so keep open) the ends. */
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
        cl_report(call, "cannot make a pipe: %s", strerror(errno));
        return 0;
    }
    *a = connection_new(fds[0]);
    *b = connection_new(fds[1]);
    if (!*a || !*b) {
        cl_report(call, "out of memory");
        free(*a);
        free(*b);
        *a = *b = NULL;
        close(fds[0]);
        close(fds[1]);
        return 0;
    }
    return 1;
}

int cl_connection_close(cl_connection *c) {
    if (!c) return 1; /* like free(NULL) */
    if (!valid(c, "cl_connection_close")) return 0;
    close(c->fd);
    c->magic = 0;
    free(c);
    return 1;
}

int cl_connection_fileno(cl_connection *c) {
    if (!valid(c, "cl_connection_fileno")) return -1;
    return c->fd;
}

/* ---- waiting for the socket ----------------------------------------------------------------- */

/* The time left until d, for ppoll; 0 once it has passed. */
static int time_left(const cl__deadline *d, struct timespec *left) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long ns = (long long)(d->at.tv_sec - now.tv_sec) * 1000000000LL + (d->at.tv_nsec - now.tv_nsec);
    if (ns <= 0) return 0;
    left->tv_sec = (time_t)(ns / 1000000000LL);
    left->tv_nsec = (long)(ns % 1000000000LL);
    return 1;
}

/* Polls fd for `events` until ready or d passes, GIL let go; 1 ready, 0 timed out, -1 error. */
static int poll_until(int fd, short events, const cl__deadline *d, const char *call) {
    struct pollfd p = {fd, events, 0};
    int r;
    cl__blocking_begin();
    for (;;) {
        struct timespec left;
        if (!d->forever && !time_left(d, &left)) {
            r = 0;
            break;
        }
        r = ppoll(&p, 1, d->forever ? NULL : &left, NULL);
        if (r >= 0 || errno != EINTR) break; /* a signal (the GIL's, say) just polls again */
    }
    cl__blocking_end();
    if (r < 0) cl_report(call, "cannot wait for the connection: %s", strerror(errno));
    else if (r > 0 && (p.revents & POLLNVAL)) {
        cl_report(call, "the connection's descriptor was closed behind its back");
        r = -1;
    }
    return r < 0 ? -1 : r > 0;
}

/* 1 if a read would not block right now (data, or the end of the stream). */
static int readable_now(int fd) {
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, 0) > 0;
}

/* Waits by d until the connection is readable; observed as a wait only if it has to wait. */
static int wait_readable(cl_connection *c, const cl__deadline *d, const char *call) {
    if (readable_now(c->fd)) return 1;
    if (cl__deadline_passed(d)) return 0;
    cl__observe(CL_EVENT_WAIT, "connection", c);
    int r = poll_until(c->fd, POLLIN, d, call);
    cl__observe(r == 1 ? CL_EVENT_ACQUIRE : CL_EVENT_TIMEOUT, "connection", c);
    return r;
}

/* ---- moving bytes --------------------------------------------------------------------------- */

/* Writes all of iov[0..n) to the socket; 1, or -1 (reported). */
static int write_all(cl_connection *c, struct iovec *iov, int n, const char *call) {
    cl__deadline forever;
    cl__deadline_forever(&forever);
    while (n > 0) {
        struct msghdr m;
        memset(&m, 0, sizeof m);
        m.msg_iov = iov;
        m.msg_iovlen = (size_t)n;
        /* NOSIGNAL: a closed other end is an error to report, not a SIGPIPE that kills us. */
        ssize_t sent = sendmsg(c->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (sent < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (poll_until(c->fd, POLLOUT, &forever, call) < 0) return -1;
                continue;
            }
            if (errno == EPIPE || errno == ECONNRESET)
                cl_report(call, "the other end is closed");
            else
                cl_report(call, "cannot send: %s", strerror(errno));
            return -1;
        }
        size_t done = (size_t)sent;
        while (n > 0 && done >= iov->iov_len) {
            done -= iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + done;
            iov->iov_len -= done;
        }
    }
    return 1;
}

/* How read_exact ended. */
enum { READ_DONE = 1, READ_EOF_AT_START = 0, READ_CUT = -2, READ_ERROR = -1 };

/* Reads exactly n bytes, waiting as long as it takes: DONE, EOF_AT_START (nothing read, the
 * stream has ended), CUT (the stream ended part way), or ERROR (reported). */
static int read_exact(cl_connection *c, void *buf, size_t n, const char *call) {
    cl__deadline forever;
    cl__deadline_forever(&forever);
    size_t got = 0;
    while (got < n) {
        ssize_t r = recv(c->fd, (char *)buf + got, n - got, MSG_DONTWAIT);
        if (r > 0) {
            got += (size_t)r;
        } else if (r == 0) {
            return got == 0 ? READ_EOF_AT_START : READ_CUT;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (poll_until(c->fd, POLLIN, &forever, call) < 0) return READ_ERROR;
        } else if (errno == ECONNRESET) {
            return got == 0 ? READ_EOF_AT_START : READ_CUT;
        } else if (errno != EINTR) {
            cl_report(call, "cannot receive: %s", strerror(errno));
            return READ_ERROR;
        }
    }
    return READ_DONE;
}

/* Reads and drops n bytes: a message that cannot be kept must still leave the stream. */
static int skip_bytes(cl_connection *c, uint64_t n, const char *call) {
    char scrap[65536];
    while (n > 0) {
        size_t chunk = n < sizeof scrap ? (size_t)n : sizeof scrap;
        if (read_exact(c, scrap, chunk, call) != READ_DONE) return 0;
        n -= chunk;
    }
    return 1;
}

/* Reads one whole message (readable already); 1, or -1: reported, or silent at end of stream. */
static int read_message(cl_connection *c, void **data, size_t *size, const char *call) {
    uint64_t length;
    int r = read_exact(c, &length, PREFIX_BYTES, call);
    if (r == READ_EOF_AT_START) return -1; /* the end of the stream: not an error */
    if (r == READ_DONE) {
        unsigned char *copy = length < SIZE_MAX ? malloc(length ? (size_t)length : 1) : NULL;
        if (!copy) {
            cl_report(call, "out of memory for a message of %llu bytes; it was dropped",
                      (unsigned long long)length);
            skip_bytes(c, length, call);
            return -1;
        }
        r = read_exact(c, copy, (size_t)length, call);
        if (r == READ_DONE) {
            *data = copy;
            *size = (size_t)length;
            return 1;
        }
        free(copy);
    }
    if (r != READ_ERROR) cl_report(call, "the other end closed in the middle of a message");
    return -1;
}

/* ---- send and receive ----------------------------------------------------------------------- */

static int send_message(cl_connection *c, const void *data, size_t size, const char *call) {
    uint64_t length = size;
    struct iovec iov[2] = {{&length, PREFIX_BYTES}, {(void *)data, size}};
    cl__guard_lock(&c->send_guard);
    int r = write_all(c, iov, size ? 2 : 1, call);
    cl__guard_unlock(&c->send_guard);
    return r;
}

/* Receives one message by d; 1, 0 timed out, -1 error (reported) or end of stream (silent). */
static int receive_message(cl_connection *c, void **data, size_t *size, const cl__deadline *d,
                           const char *call) {
    for (;;) {
        int r = wait_readable(c, d, call);
        if (r != 1) return r;
        cl__guard_lock(&c->recv_guard);
        /* Another thread of ours may have taken what woke us up: then wait again. */
        if (readable_now(c->fd)) break;
        cl__guard_unlock(&c->recv_guard);
    }
    int r = read_message(c, data, size, call);
    cl__guard_unlock(&c->recv_guard);
    return r;
}

int cl_connection_send(cl_connection *c, const void *data, size_t size) {
    const char *call = "cl_connection_send";
    if (!valid(c, call)) return -1;
    if (!data && size) {
        cl_report(call, "data is NULL but size is %zu", size);
        return -1;
    }
    return send_message(c, data, size, call);
}

int cl_connection_recv(cl_connection *c, void **data, size_t *size, double timeout) {
    const char *call = "cl_connection_recv";
    cl__deadline d;
    if (!valid(c, call) || !cl__deadline_init(&d, timeout, call)) return -1;
    if (!data) {
        cl_report(call, "data is NULL: pass the address of a pointer to receive the message");
        return -1;
    }
    size_t ignored;
    return receive_message(c, data, size ? size : &ignored, &d, call);
}

int cl_connection_poll(cl_connection *c, double timeout) {
    const char *call = "cl_connection_poll";
    cl__deadline d;
    if (!valid(c, call) || !cl__deadline_init(&d, timeout, call)) return -1;
    return wait_readable(c, &d, call);
}

/* ---- typed helpers -------------------------------------------------------------------------- */

/* Receives a message that must be exactly `size` bytes into out; one of another size is taken
 * anyway (it cannot be what the caller wants) and reported. */
static int recv_fixed(cl_connection *c, void *out, size_t size, double timeout, const char *call,
                      const char *what) {
    cl__deadline d;
    if (!valid(c, call) || !cl__deadline_init(&d, timeout, call)) return -1;
    if (!out) {
        cl_report(call, "the result pointer is NULL");
        return -1;
    }
    void *data;
    size_t got;
    int r = receive_message(c, &data, &got, &d, call);
    if (r != 1) return r;
    return cl__message_to_fixed(data, got, out, size, what, call);
}

int cl_connection_send_long(cl_connection *c, long value) {
    const char *call = "cl_connection_send_long";
    return valid(c, call) ? send_message(c, &value, sizeof value, call) : -1;
}

int cl_connection_recv_long(cl_connection *c, long *value, double timeout) {
    return recv_fixed(c, value, sizeof *value, timeout, "cl_connection_recv_long", "long");
}

int cl_connection_send_double(cl_connection *c, double value) {
    const char *call = "cl_connection_send_double";
    return valid(c, call) ? send_message(c, &value, sizeof value, call) : -1;
}

int cl_connection_recv_double(cl_connection *c, double *value, double timeout) {
    return recv_fixed(c, value, sizeof *value, timeout, "cl_connection_recv_double", "double");
}

int cl_connection_send_string(cl_connection *c, const char *s) {
    const char *call = "cl_connection_send_string";
    if (!valid(c, call)) return -1;
    if (!s) {
        cl_report(call, "string is NULL");
        return -1;
    }
    return send_message(c, s, strlen(s), call);
}

int cl_connection_recv_string(cl_connection *c, char **s, double timeout) {
    const char *call = "cl_connection_recv_string";
    cl__deadline d;
    if (!valid(c, call) || !cl__deadline_init(&d, timeout, call)) return -1;
    if (!s) {
        cl_report(call, "the result pointer is NULL");
        return -1;
    }
    void *data;
    size_t size;
    int r = receive_message(c, &data, &size, &d, call);
    if (r != 1) return r;
    return cl__message_to_string(data, size, s, call);
}
