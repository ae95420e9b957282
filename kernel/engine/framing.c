#include "framing.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The frame of msg, then `extra` bytes, in one write. */
static int send_frame(int fd, const json_t *msg, const void *extra, size_t extra_len) {
    char *text = json_dumps(msg, JSON_COMPACT);
    if (!text) return -1;
    uint32_t len = (uint32_t)strlen(text);
    char *frame = malloc(len + 4u + extra_len);
    if (!frame) {
        free(text);
        return -1;
    }
    memcpy(frame, &len, 4);
    memcpy(frame + 4, text, len);
    if (extra_len) memcpy(frame + 4 + len, extra, extra_len);
    free(text);
    size_t off = 0, total = len + 4u + extra_len;
    while (off < total) {
        ssize_t n = send(fd, frame + off, total - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            free(frame);
            return -1;
        }
        off += (size_t)n;
    }
    free(frame);
    return 0;
}

int framing_send(int fd, const json_t *msg) { return send_frame(fd, msg, NULL, 0); }

int framing_send_payload(int fd, json_t *msg, const void *payload, size_t len) {
    json_object_set_new(msg, "payload", json_integer((json_int_t)len));
    return send_frame(fd, msg, payload, len);
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
    size_t off = 0;
    while (off < len) {
        ssize_t n = send(fd, (const char *)data + off, len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        off += (size_t)n;
    }
    return 0;
}

int framing_recv_bytes(int fd, void *data, size_t len) { return read_fully(fd, data, len); }

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
