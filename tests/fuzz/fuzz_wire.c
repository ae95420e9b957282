/* fuzz_wire.c — wire_decode on arbitrary frame lists, the bytes a stranger can send to a port.
 *
 * The input is split into frames at each '\n'. It is decoded twice: without a key, and with one.
 * Random bytes never carry a valid HMAC, so a signature frame that reads "*" is replaced by the
 * right one first; that lets the fuzzer get past verification into the JSON parts.
 *
 * Beyond "no crash, no leak" (the sanitizers' job) it checks what decoding promises: a failure
 * leaves the message empty and says why; a success re-encodes and decodes to the same message. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

#define SEPARATOR '\n'
#define MAX_FRAMES 256
#define KEY ((const unsigned char *)"fuzz-key")
#define KEY_LEN 8

static void require(int ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "fuzz_wire: broken promise: %s\n", what);
        abort();
    }
}

static size_t split(const uint8_t *data, size_t size, wire_frame *frames) {
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= size; i++) {
        int last_slot = n == MAX_FRAMES - 1;
        if (i == size || (data[i] == SEPARATOR && !last_slot)) {
            frames[n].data = (unsigned char *)data + start;
            frames[n].size = i - start;
            n++;
            start = i + 1;
        }
    }
    return n;
}

static int frames_equal(const wire_frame *a, size_t na, const wire_frame *b, size_t nb) {
    if (na != nb) return 0;
    for (size_t i = 0; i < na; i++)
        if (a[i].size != b[i].size || memcmp(a[i].data, b[i].data, a[i].size) != 0) return 0;
    return 1;
}

static void check_round_trip(const wire_msg *m, const unsigned char *key, size_t key_len) {
    wire_frame *frames;
    long n = wire_encode(m, key, key_len, &frames);
    require(n >= 6, "a decoded message encodes");
    wire_msg back;
    require(wire_decode(frames, (size_t)n, key, key_len, &back, NULL) == WIRE_OK,
            "an encoded message decodes");
    require(json_equal(back.header, m->header) && json_equal(back.parent_header, m->parent_header) &&
                json_equal(back.metadata, m->metadata) && json_equal(back.content, m->content),
            "the JSON parts survive a round trip");
    require(frames_equal(back.identities, back.n_identities, m->identities, m->n_identities) &&
                frames_equal(back.buffers, back.n_buffers, m->buffers, m->n_buffers),
            "identities and buffers survive a round trip");
    wire_msg_clear(&back);
    wire_frames_free(frames, (size_t)n);
}

static void decode_once(const wire_frame *frames, size_t n, const unsigned char *key, size_t key_len) {
    wire_msg m;
    char *err = NULL;
    wire_status st = wire_decode(frames, n, key, key_len, &m, &err);
    if (st == WIRE_OK) {
        require(err == NULL, "success sets no error");
        require(json_is_object(m.header) && json_is_object(m.parent_header) &&
                    json_is_object(m.metadata) && json_is_object(m.content),
                "every part of a decoded message is an object");
        require(json_is_string(json_object_get(m.header, "msg_type")), "a decoded header has a msg_type");
        check_round_trip(&m, key, key_len);
    } else {
        require(st == WIRE_MALFORMED || (st == WIRE_BAD_SIGNATURE && key_len > 0),
                "only a keyed decode can fail on the signature");
        require(err != NULL, "failure says why");
        require(!m.header && !m.parent_header && !m.metadata && !m.content && !m.identities &&
                    !m.buffers && !m.n_identities && !m.n_buffers,
                "failure leaves the message empty");
    }
    free(err);
    wire_msg_clear(&m);
}

/* Puts the right signature where the input asks for one with "*". */
static void sign_placeholder(wire_frame *frames, size_t n, char sig[65]) {
    for (size_t i = 0; i + 6 <= n; i++) {
        if (frames[i].size == 9 && memcmp(frames[i].data, "<IDS|MSG>", 9) == 0) {
            if (frames[i + 1].size == 1 && frames[i + 1].data[0] == '*') {
                wire_sign(KEY, KEY_LEN, &frames[i + 2], 4, sig);
                frames[i + 1].data = (unsigned char *)sig;
                frames[i + 1].size = strlen(sig);
            }
            return;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    wire_frame frames[MAX_FRAMES];
    size_t n = split(data, size, frames);
    decode_once(frames, n, NULL, 0);
    char sig[65];
    sign_placeholder(frames, n, sig);
    decode_once(frames, n, KEY, KEY_LEN);
    return 0;
}
