#define _GNU_SOURCE
#include "framing.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

/* Sends every byte of the parts, in as few writes as the socket allows (one, when it has room). */
static int send_all(int fd, struct iovec *parts, int n) {
    while (n > 0) {
        struct msghdr m = {.msg_iov = parts, .msg_iovlen = (size_t)n};
        ssize_t sent = sendmsg(fd, &m, MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR) continue;
        if (sent <= 0) return -1;
        while (n > 0 && (size_t)sent >= parts->iov_len) {
            sent -= (ssize_t)parts->iov_len;
            parts++;
            n--;
        }
        if (n > 0) {
            parts->iov_base = (char *)parts->iov_base + sent;
            parts->iov_len -= (size_t)sent;
        }
    }
    return 0;
}

static const unsigned char magic[4] = FRAMING_MAGIC;

/* The frame of msg, then the extra parts' bytes, in one write. A message longer than
 * FRAMING_MAX is not sent: the reader would refuse it. */
static int send_frame(int fd, const json_t *msg, const framing_part *extra, int n_extra) {
    char *text = json_dumps(msg, JSON_COMPACT);
    if (!text) return -1;
    size_t length = strlen(text);
    if (length > FRAMING_MAX) {
        free(text);
        errno = EMSGSIZE;
        return -1;
    }
    uint32_t len = (uint32_t)length;
    struct iovec parts[3 + FRAMING_MAX_PARTS];
    int n = 0;
    parts[n++] = (struct iovec){(void *)magic, sizeof magic};
    parts[n++] = (struct iovec){&len, 4};
    parts[n++] = (struct iovec){text, len};
    for (int i = 0; i < n_extra && i < FRAMING_MAX_PARTS; i++)
        if (extra[i].length) parts[n++] = (struct iovec){(void *)extra[i].data, extra[i].length};
    int rc = send_all(fd, parts, n);
    free(text);
    return rc;
}

int framing_send(int fd, const json_t *msg) { return send_frame(fd, msg, NULL, 0); }

int framing_send_parts(int fd, json_t *msg, const framing_part *parts, int n) {
    size_t total = 0;
    for (int i = 0; i < n; i++) total += parts[i].length;
    if (n > FRAMING_MAX_PARTS) return -1;
    json_object_set_new(msg, "payload", json_integer((json_int_t)total));
    return send_frame(fd, msg, parts, n);
}

int framing_send_payload(int fd, json_t *msg, const void *payload, size_t len) {
    framing_part part = {payload, len};
    return framing_send_parts(fd, msg, &part, 1);
}

static int read_fully(int fd, void *buf, size_t len) {
    size_t off = 0;
    while (off < len) {
        ssize_t n = read(fd, (char *)buf + off, len - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        off += (size_t)n;
    }
    return 0;
}

int framing_send_bytes(int fd, const void *data, size_t len) {
    struct iovec part = {(void *)data, len};
    return send_all(fd, &part, 1);
}

int framing_recv_bytes(int fd, void *data, size_t len) { return read_fully(fd, data, len); }

/* The forward without splice: through a buffer here. */
static int copy_across(int from, int to, size_t n, size_t *consumed) {
    char buffer[16384];
    while (*consumed < n) {
        size_t want = n - *consumed < sizeof buffer ? n - *consumed : sizeof buffer;
        if (read_fully(from, buffer, want) != 0) return -1;
        *consumed += want;
        struct iovec part = {buffer, want};
        if (send_all(to, &part, 1) != 0) return -1;
    }
    return 0;
}

static int empty_relay(int relay, int to, size_t n) {
    while (n > 0) {
        ssize_t out = splice(relay, NULL, to, NULL, n, SPLICE_F_MOVE);
        if (out < 0 && errno == EINTR) continue;
        if (out <= 0) return -1;
        n -= (size_t)out;
    }
    return 0;
}

int framing_forward(int from, int to, size_t n, size_t *consumed) {
    *consumed = 0;
    int relay[2];
    if (pipe2(relay, O_CLOEXEC) != 0) return copy_across(from, to, n, consumed);
    int rc = 0;
    while (rc == 0 && *consumed < n) {
        ssize_t in = splice(from, NULL, relay[1], NULL, n - *consumed, SPLICE_F_MOVE);
        if (in < 0 && errno == EINTR) continue;
        if (in < 0 && errno == EINVAL && *consumed == 0) {  /* these descriptors do not splice */
            rc = copy_across(from, to, n, consumed);
            break;
        }
        if (in <= 0) {
            rc = -1;
            break;
        }
        *consumed += (size_t)in;
        rc = empty_relay(relay[0], to, (size_t)in);
    }
    close(relay[0]);
    close(relay[1]);
    return rc;
}

char *framing_recv_payload(int fd, const json_t *msg, size_t *len) {
    json_int_t n = json_integer_value(json_object_get(msg, "payload"));
    *len = 0;
    if (n <= 0 || n > (json_int_t)FRAMING_MAX * 4) return NULL;
    char *data = malloc((size_t)n + 1);
    if (!data || read_fully(fd, data, (size_t)n) != 0) {
        free(data);
        return NULL;
    }
    data[n] = '\0';
    *len = (size_t)n;
    return data;
}

/* Where the stray bytes in look[0..n) end: the first place a magic starts, or a magic's first
 * bytes end the buffer; n when neither. */
static size_t stray_length(const unsigned char *look, size_t n) {
    for (size_t at = 0; at < n; at++) {
        size_t k = n - at < sizeof magic ? n - at : sizeof magic;
        if (memcmp(look + at, magic, k) == 0) return at;
    }
    return n;
}

/* Bytes that start like a magic but stop: more may be on the way (a frame's first write cut
 * short), or not (a cell's bytes). Waits a moment for the rest. */
static bool more_comes(int fd) {
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, 1000) == 1;
}

/* Takes the magic that must come next. On a socket, stray bytes (a cell wrote into the channel)
 * are looked at without being taken (MSG_PEEK), then dropped and reported at once: -3, with
 * *stray counting them, even when nothing follows them yet. Elsewhere (a file, in the fuzz
 * target) they are read past up to the next magic, counted in *stray. 0 at a frame; -1 when the
 * peer is gone. */
static int take_magic(int fd, size_t *stray) {
    unsigned char look[4096];
    ssize_t n = recv(fd, look, sizeof look, MSG_PEEK);
    while (n < 0 && errno == EINTR) n = recv(fd, look, sizeof look, MSG_PEEK);
    if (n == 0) return -1;
    if (n > 0) {
        size_t at = stray_length(look, (size_t)n);
        if (at == 0 && (size_t)n < sizeof magic && more_comes(fd)) return take_magic(fd, stray);
        if (at == 0 && (size_t)n >= sizeof magic) return read_fully(fd, look, sizeof magic);
        if (at == 0) at = (size_t)n;  /* a magic's first bytes, and nothing after them */
        if (read_fully(fd, look, at) != 0) return -1;
        *stray += at;
        return -3;
    }
    unsigned char window[sizeof magic];  /* not a socket: byte by byte */
    if (read_fully(fd, window, sizeof window) != 0) return -1;
    while (memcmp(window, magic, sizeof magic) != 0) {
        memmove(window, window + 1, sizeof window - 1);
        if (read_fully(fd, window + sizeof window - 1, 1) != 0) return -1;
        (*stray)++;
    }
    return 0;
}

int framing_receive(int fd, json_t **msg, size_t *stray) {
    *msg = NULL;
    size_t skipped = 0;
    if (!stray) stray = &skipped;
    *stray = 0;
    uint32_t len;
    for (;;) {
        int rc = take_magic(fd, stray);
        if (rc != 0) return rc;
        if (read_fully(fd, &len, 4) != 0) return -1;
        if (len <= FRAMING_MAX) break;
        *stray += sizeof magic + 4;  /* no frame of ours is that long: what follows is not ours either */
        return -3;
    }
    char *text = malloc(len + 1u);
    if (!text) return -1;
    if (read_fully(fd, text, len) != 0) {
        free(text);
        return -1;
    }
    *msg = json_loadb(text, len, 0, NULL);
    free(text);
    return *msg ? 0 : -2;
}

json_t *framing_recv(int fd) {
    json_t *msg = NULL;
    size_t stray = 0;
    if (framing_receive(fd, &msg, &stray) == 0 && stray > 0) {  /* only our processes write here */
        json_decref(msg);
        msg = NULL;
    }
    return msg;
}
