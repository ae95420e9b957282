/* wire.h — the Jupyter wire format: frames <-> messages, HMAC-SHA256 signing and verification.
 *
 *   [identities..., "<IDS|MSG>", hmac, header, parent_header, metadata, content, buffers...]
 *
 * Pure functions with no sockets, so they can be unit-tested and fuzzed. */
#ifndef CONCLAB_WIRE_H
#define CONCLAB_WIRE_H

#include <jansson.h>
#include <stddef.h>

typedef struct wire_frame {
    unsigned char *data;
    size_t size;
} wire_frame;

typedef struct wire_msg {
    wire_frame *identities;  /* routing frames before the delimiter (copied) */
    size_t n_identities;
    json_t *header;          /* objects, each owned by the message */
    json_t *parent_header;
    json_t *metadata;
    json_t *content;
    wire_frame *buffers;     /* extra binary frames after content (copied) */
    size_t n_buffers;
} wire_msg;

typedef enum wire_status {
    WIRE_OK = 0,
    WIRE_MALFORMED,      /* no delimiter, too few frames, bad JSON, a part that is not an object */
    WIRE_BAD_SIGNATURE,  /* signature missing or wrong while a key is set */
} wire_status;

/* Decodes frames into *out. The signature is checked (in constant time) when key_len > 0.
 * On failure *out is left empty and, when err is not NULL, *err names the problem (malloc'd). */
wire_status wire_decode(const wire_frame *frames, size_t n, const unsigned char *key, size_t key_len,
                        wire_msg *out, char **err);

/* Encodes a message into frames (malloc'd array of malloc'd frames); the signature is computed
 * when key_len > 0, else the signature frame is empty. Returns the number of frames, -1 on error. */
long wire_encode(const wire_msg *msg, const unsigned char *key, size_t key_len, wire_frame **frames);

/* Lowercase hex HMAC-SHA256 over the given parts; out must hold 65 bytes. */
void wire_sign(const unsigned char *key, size_t key_len, const wire_frame *parts, size_t n, char out[65]);

/* Builds a fresh header: msg_id (uuid4), session, username, date (ISO 8601 UTC), msg_type, version. */
json_t *wire_header_new(const char *msg_type, const char *session);

void wire_msg_clear(wire_msg *msg);
void wire_frames_free(wire_frame *frames, size_t n);
const char *wire_msg_type(const wire_msg *msg);  /* header.msg_type, or "" */

#endif
