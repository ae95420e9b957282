/* display_socket.c — display requests on the SOCK_SEQPACKET socket (display_socket.h). */
#define _GNU_SOURCE /* memfd_create, MSG_CMSG_CLOEXEC */
#include "display_socket.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "monotonic.h"

static const char MAGIC[4] = {'C', 'L', 'D', '1'};

/* What precedes the id and the bundle in a datagram. */
typedef struct request_header {
    char magic[4];
    uint32_t kind;
    uint32_t id_length;
    uint32_t bundle_size;
    uint32_t in_memfd;   /* 1: the bundle is in the second descriptor passed, not in the datagram */
} request_header;

/* ---------------------------------------------------------------- the cell's side */

static int bundle_memfd(const char *bundle, size_t size) {
    int fd = memfd_create("conclab-display", MFD_CLOEXEC);
    if (fd < 0) return -1;
    for (size_t done = 0; done < size;) {
        ssize_t n = write(fd, bundle + done, size - done);
        if (n <= 0) {
            close(fd);
            return -1;
        }
        done += (size_t)n;
    }
    return fd;
}

static int send_with_descriptors(int sock, const void *data, size_t size, const int *fds, int n_fds) {
    struct iovec iov = {(void *)data, size};
    union {
        char buf[CMSG_SPACE(2 * sizeof(int))];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                         .msg_controllen = CMSG_SPACE((size_t)n_fds * sizeof(int))};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN((size_t)n_fds * sizeof(int));
    memcpy(CMSG_DATA(c), fds, (size_t)n_fds * sizeof(int));
    ssize_t n;
    do n = sendmsg(sock, &msg, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n == (ssize_t)size ? 0 : -1;
}

/* The kernel's answer: a line, empty when it took the display, else the reason it did not. A line
 * and not end-of-stream: a process another thread forks meanwhile holds a copy of the socket. */
static int wait_for_answer(int fd, double timeout_s, char *why, size_t why_size) {
    char answer[256];
    size_t got = 0;
    double deadline = monotonic_seconds() + timeout_s;
    for (;;) {
        double left = deadline - monotonic_seconds();
        struct pollfd p = {fd, POLLIN, 0};
        int ready = timeout_s <= 0 ? poll(&p, 1, -1) : left > 0 ? poll(&p, 1, (int)(left * 1000) + 1) : 0;
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) {
            snprintf(why, why_size, "the notebook did not take the display within %.0f s", timeout_s);
            return -1;
        }
        ssize_t n = read(fd, answer + got, sizeof answer - 1 - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            snprintf(why, why_size, "the notebook did not answer");
            return -1;
        }
        got += (size_t)n;
        if (answer[got - 1] == '\n' || got >= sizeof answer - 1) break;
    }
    answer[got] = '\0';
    answer[strcspn(answer, "\n")] = '\0';
    if (answer[0] == '\0') return 0;
    snprintf(why, why_size, "%s", answer);
    return -1;
}

int display_request_send(int sock, display_kind kind, const char *id, const char *bundle, size_t size,
                         double timeout_s, char *why, size_t why_size) {
    size_t id_length = id ? strlen(id) : 0;
    if (id_length > DISPLAY_MAX_ID || size > DISPLAY_MAX_BUNDLE) {
        snprintf(why, why_size, "%s", id_length > DISPLAY_MAX_ID ? "display id too long" : "too big to show (a display may have 64 MB at most)");
        return -1;
    }
    int answer[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, answer) != 0) {
        snprintf(why, why_size, "cannot reach the notebook: %s", strerror(errno));
        return -1;
    }
    int in_memfd = size > DISPLAY_INLINE_MAX;
    int fds[2] = {answer[1], in_memfd ? bundle_memfd(bundle, size) : -1};
    request_header h = {{'C', 'L', 'D', '1'}, (uint32_t)kind, (uint32_t)id_length, (uint32_t)size, (uint32_t)in_memfd};
    size_t length = sizeof h + id_length + (in_memfd ? 0 : size);
    char *datagram = malloc(length);
    int rc = -1;
    if (datagram && (!in_memfd || fds[1] >= 0)) {
        memcpy(datagram, &h, sizeof h);
        if (id_length) memcpy(datagram + sizeof h, id, id_length);
        if (!in_memfd && size) memcpy(datagram + sizeof h + id_length, bundle, size);
        rc = send_with_descriptors(sock, datagram, length, fds, in_memfd ? 2 : 1);
        if (rc != 0) snprintf(why, why_size, "cannot reach the notebook: %s", strerror(errno));
    } else {
        snprintf(why, why_size, "%s", datagram ? "cannot pass the picture to the notebook (memfd)" : "out of memory");
    }
    free(datagram);
    close(answer[1]);
    if (fds[1] >= 0) close(fds[1]);
    if (rc == 0) rc = wait_for_answer(answer[0], timeout_s, why, why_size);
    close(answer[0]);
    return rc;
}

/* ---------------------------------------------------------------- the kernel's side */

static int received_descriptors(struct msghdr *msg, int *fds, int most) {
    int n = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        int count = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        for (int i = 0; i < count; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + (size_t)i * sizeof(int), sizeof fd);
            if (n < most) fds[n++] = fd;
            else close(fd);  /* more than a request carries: not ours to keep */
        }
    }
    return n;
}

/* SEQPACKET reads 0 for an empty datagram and at end of stream alike. */
static bool peer_gone(int sock) {
    struct pollfd p = {sock, POLLIN | POLLRDHUP, 0};
    return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLRDHUP));
}

/* The answer goes back on a Unix socket and nothing else: closing that never blocks, whatever
 * a cell set on what it passed. The descriptor, or -1 (closed) when it is something else. */
static int answer_socket(int fd) {
    int domain = 0;
    socklen_t length = sizeof domain;
    if (fd >= 0 && getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &length) == 0 && domain == AF_UNIX) return fd;
    if (fd >= 0) close(fd);
    return -1;
}

/* A big bundle is read from a memfd only: a file a cell serves itself (FUSE, a FIFO) could
 * block the kernel's read, but a memfd takes seals, which nothing else does. */
static char *read_memfd(int fd, size_t size) {
    struct stat st;
    if (fcntl(fd, F_GET_SEALS) < 0) return NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size != size) return NULL;
    char *bundle = malloc(size + 1);
    if (!bundle) return NULL;
    if (pread(fd, bundle, size, 0) != (ssize_t)size) {
        free(bundle);
        return NULL;
    }
    bundle[size] = '\0';
    return bundle;
}

/* Ids are the runtime's "cl-PID-N": plain ASCII, so they go into JSON as they are. */
static bool id_is_plain(const char *id, size_t length) {
    for (size_t i = 0; i < length; i++)
        if (!isalnum((unsigned char)id[i]) && !strchr("-_.:", id[i])) return false;
    return true;
}

static const char *parse_request(const char *data, size_t length, const int *fds, int n_fds, display_request *req) {
    request_header h;
    if (length < sizeof h) return "a display request cut short";
    memcpy(&h, data, sizeof h);
    if (memcmp(h.magic, MAGIC, sizeof MAGIC) != 0) return "bytes that were not a display request";
    if (h.kind < DISPLAY_SHOW || h.kind > DISPLAY_CLEAR_WAIT) return "a display request of an unknown kind";
    if (h.id_length > DISPLAY_MAX_ID || h.bundle_size > DISPLAY_MAX_BUNDLE) return "a display request too big";
    if (!id_is_plain(data + sizeof h, h.id_length)) return "a display id of other than letters, digits and -_.:";
    size_t inline_size = h.in_memfd ? 0 : h.bundle_size;
    if (length != sizeof h + h.id_length + inline_size) return "a display request of the wrong length";
    if (h.in_memfd && n_fds < 2) return "a display request without its bundle";
    memcpy(req->id, data + sizeof h, h.id_length);
    req->id[h.id_length] = '\0';
    req->size = h.bundle_size;
    req->bundle = h.in_memfd ? read_memfd(fds[1], h.bundle_size) : malloc(inline_size + 1);
    if (!req->bundle) return "a display request whose bundle could not be read";
    if (!h.in_memfd) {
        memcpy(req->bundle, data + sizeof h + h.id_length, inline_size);
        req->bundle[inline_size] = '\0';
    }
    req->kind = (display_kind)h.kind;
    return NULL;
}

int display_request_receive(int sock, display_request *req) {
    memset(req, 0, sizeof *req);
    req->answer_fd = -1;
    static char data[sizeof(request_header) + DISPLAY_MAX_ID + DISPLAY_INLINE_MAX + 1];
    union {
        char buf[CMSG_SPACE(4 * sizeof(int))];
        struct cmsghdr align;
    } control;
    struct iovec iov = {data, sizeof data};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof control.buf};
    ssize_t n;
    do n = recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
    /* descriptors first, whatever came with them: an empty datagram may carry some too */
    int fds[2] = {-1, -1};
    int n_fds = received_descriptors(&msg, fds, 2);
    if (n == 0 && n_fds == 0 && peer_gone(sock)) return -1;
    req->answer_fd = answer_socket(fds[0]);
    if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) req->malformed = "a display request too long for a datagram";
    else if (fds[0] >= 0 && req->answer_fd < 0) req->malformed = "a display request whose answer is not a local socket";
    else req->malformed = parse_request(data, (size_t)n, fds, n_fds, req);
    if (fds[1] >= 0) close(fds[1]);
    if (req->malformed) req->kind = 0;
    return 1;
}

void display_request_answer(display_request *req, const char *refusal) {
    if (req->answer_fd < 0) return;
    char line[256];
    int length = snprintf(line, sizeof line, "%.250s\n", refusal ? refusal : "");
    ssize_t n = send(req->answer_fd, line, (size_t)length, MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)n;  /* a writer that stopped waiting has nobody to tell */
    close(req->answer_fd);
    req->answer_fd = -1;
}

void display_request_clear(display_request *req) {
    display_request_answer(req, "the notebook could not show it");
    free(req->bundle);
    req->bundle = NULL;
}
