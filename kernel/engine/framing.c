#include "framing.h"

#include <errno.h>
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

/* The frame of msg, then the extra parts' bytes, in one write. */
static int send_frame(int fd, const json_t *msg, const framing_part *extra, int n_extra) {
    char *text = json_dumps(msg, JSON_COMPACT);
    if (!text) return -1;
    uint32_t len = (uint32_t)strlen(text);
    struct iovec parts[2 + FRAMING_MAX_PARTS];
    int n = 0;
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

json_t *framing_recv(int fd) {
    uint32_t len;
    if (read_fully(fd, &len, 4) != 0 || len > FRAMING_MAX) return NULL;
    char *text = malloc(len + 1u);
    if (!text) return NULL;
    if (read_fully(fd, text, len) != 0) {
        free(text);
        return NULL;
    }
    json_t *msg = json_loadb(text, len, 0, NULL);
    free(text);
    return msg;
}
