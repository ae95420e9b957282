/* framing.h — JSON messages between the kernel's processes over a stream socket (messages.h):
 * a 4-byte magic, a 4-byte length, then the JSON text. Each frame goes out in one write so that
 * processes sharing the socket (a cell's children reading stdin) do not interleave. The magic
 * lets a reader find the next frame after bytes that are not a frame of ours (a cell that wrote
 * into the channel), instead of reading them as a length and losing its place for good. */
#ifndef CONCLAB_FRAMING_H
#define CONCLAB_FRAMING_H

#include <jansson.h>

#define FRAMING_MAX (64u << 20)
#define FRAMING_MAGIC {'C', 'L', 'F', '1'}

/* Sends a message; the reference is not stolen. 0, or -1 when the peer is gone or the message
 * is longer than FRAMING_MAX (errno EMSGSIZE). */
int framing_send(int fd, const json_t *msg);

/* Reads one whole message (blocking). NULL on end-of-file, error, a malformed frame, or bytes
 * before it that were not a frame. */
json_t *framing_recv(int fd);

/* The same, telling why not: 0 with *msg set; -1 when the peer is gone; -2 when the frame
 * arrived whole but is not JSON; -3 when bytes that are not a frame were read past (anything
 * before a magic, or a frame claiming more than FRAMING_MAX), counted in *stray (may be NULL),
 * at once on a socket, even when no frame follows them yet. After -2 and -3 the next frame can
 * still be read. On what is not a socket, stray bytes are read past up to the next frame, which
 * is returned with *stray saying how many there were. */
int framing_receive(int fd, json_t **msg, size_t *stray);

/* A message with raw bytes right after it, in the same write: the message gets a "payload"
 * member saying how many. Bulky text (a cell's definitions) travels so, unescaped. */
int framing_send_payload(int fd, json_t *msg, const void *payload, size_t len);

/* The same with the payload in parts, sent as one (at most FRAMING_MAX_PARTS of them). */
#define FRAMING_MAX_PARTS 8
typedef struct framing_part {
    const void *data;
    size_t length;
} framing_part;
int framing_send_parts(int fd, json_t *msg, const framing_part *parts, int n);

/* Raw bytes: exactly len of them. 0, or -1 when the peer is gone. */
int framing_send_bytes(int fd, const void *data, size_t len);
int framing_recv_bytes(int fd, void *data, size_t len);

/* Moves the next n bytes of `from` to `to` without reading them into this process (a payload
 * passed on unread). 0 when all arrived; -1 when either side failed, with *consumed the bytes
 * taken from `from` (the rest are still to be read there). */
int framing_forward(int from, int to, size_t n, size_t *consumed);

/* The payload a received message announced: malloc'd and NUL-terminated (*len bytes before the
 * NUL), or NULL when it announced none or the peer is gone. */
char *framing_recv_payload(int fd, const json_t *msg, size_t *len);

#endif
