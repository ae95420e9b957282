#include "framing.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int framing_send(int fd, const json_t *msg) {
    char *text = json_dumps(msg, JSON_COMPACT);
    if (!text) return -1;
    uint32_t len = (uint32_t)strlen(text);
    char *frame = malloc(len + 4u);
    if (!frame) {
        free(text);
        return -1;
    }
    memcpy(frame, &len, 4);
    memcpy(frame + 4, text, len);
    free(text);
    size_t off = 0, total = len + 4u;
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
