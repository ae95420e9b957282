/* fuzz_protocol.c — the kernel<->executor messages (kernel/protocol/messages.h) on arbitrary
 * bytes: what a cell that scribbles on the channel, or a half-dead peer, can make either side read.
 *
 * The first byte picks how the rest becomes the stream. Even: as is, magics and length prefixes
 * and all (the framing's own checks). Odd: split at each '\n' into frames, each given the magic
 * and its right length, so the fuzzer reaches the JSON and the field checks instead of stopping
 * at lengths.
 * The stream is read to its end as ops, then again as events.
 *
 * Beyond "no crash, no leak" (the sanitizers' job) it checks what receiving promises: a refused
 * message says why and leaves the struct and payload empty; an accepted one builds back into a
 * message that parses to the same message again. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "framing.h"
#include "messages.h"

static void require(int ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "fuzz_protocol: broken promise: %s\n", what);
        abort();
    }
}

static int all_zero(const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i]) return 0;
    return 1;
}

static void write_all(int fd, const void *data, size_t size) {
    require(write(fd, data, size) == (ssize_t)size, "the memfd takes the input");
}

/* The stream the input stands for, in a memfd read from its start. */
static int stream_of(const uint8_t *data, size_t size) {
    int fd = memfd_create("fuzz_protocol", MFD_CLOEXEC);
    require(fd >= 0, "memfd_create");
    if (size > 0 && data[0] % 2 == 1) {
        size_t start = 1;
        for (size_t i = 1; i <= size; i++) {
            if (i < size && data[i] != '\n') continue;
            uint32_t length = (uint32_t)(i - start);
            static const char magic[4] = FRAMING_MAGIC;
            write_all(fd, magic, sizeof magic);
            write_all(fd, &length, 4);
            write_all(fd, data + start, length);
            start = i + 1;
        }
    } else if (size > 1) {
        write_all(fd, data + 1, size - 1);
    }
    lseek(fd, 0, SEEK_SET);
    return fd;
}

/* An accepted message builds back into one that parses to the same message. */
static void check_rebuilt(json_t *built, int (*parse)(json_t *, void *, char **), json_t *(*build)(const void *),
                          void *scratch) {
    require(built != NULL, "an accepted message builds");
    char *err = NULL;
    require(parse(built, scratch, &err) == 0 && err == NULL, "a built message parses");
    json_t *again = build(scratch);
    require(json_equal(again, built), "building is stable");
    json_decref(again);
    json_decref(built);
}

static int parse_op(json_t *msg, void *out, char **err) { return op_parse(msg, out, err); }
static json_t *build_op(const void *o) { return op_build(o); }
static int parse_event(json_t *msg, void *out, char **err) { return event_parse(msg, out, err); }
static json_t *build_event(const void *e) { return event_build(e); }

static void check_outcome(int rc, const void *out, size_t out_size, const char *err, const char *payload,
                          size_t length) {
    require(rc == 0 || rc == -1 || rc == -2 || rc == -3, "receiving returns 0, -1, -2 or -3");
    if (rc == 0) {
        require(err == NULL, "success sets no error");
        require(!payload || payload[length] == '\0', "a payload is NUL-terminated");
        require(payload || length == 0, "no payload, no length");
    } else {
        require(all_zero(out, out_size), "a refusal leaves the message empty");
        require(payload == NULL && length == 0, "a refusal returns no payload");
        require(rc == -1 || err != NULL, "a malformed message says why");
    }
}

static void read_ops(int fd) {
    for (;;) {
        op o;
        char *err = NULL, *payload = NULL;
        size_t length = 0;
        int rc = op_receive(fd, &o, &payload, &length, &err);
        check_outcome(rc, &o, sizeof o, err, payload, length);
        if (rc == 0) {
            require(o.kind >= OP_EXECUTE && o.kind <= OP_SHUTDOWN, "an accepted op has a kind");
            op again;
            check_rebuilt(op_build(&o), parse_op, build_op, &again);
            op_clear(&again);
            op_clear(&o);
        }
        free(err);
        free(payload);
        if (rc == -1) return;
    }
}

static void read_events(int fd) {
    for (;;) {
        event e;
        char *err = NULL, *payload = NULL;
        size_t length = 0;
        int rc = event_receive(fd, &e, &payload, &length, &err);
        check_outcome(rc, &e, sizeof e, err, payload, length);
        if (rc == 0) {
            require(e.kind >= EV_RUNNING && e.kind <= EV_DONE, "an accepted event has a kind");
            require(e.kind != EV_DONE || e.done.ok || e.done.ename, "a failed cell has an error name");
            event again;
            event_stamp_set(e.stamp);  /* rebuilt as its sender would have stamped it */
            check_rebuilt(event_build(&e), parse_event, build_event, &again);
            require(again.stamp.nonce == e.stamp.nonce && again.stamp.cell == e.stamp.cell, "the stamp survives");
            event_clear(&again);
            event_clear(&e);
        }
        free(err);
        free(payload);
        if (rc == -1) return;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int fd = stream_of(data, size);
    read_ops(fd);
    lseek(fd, 0, SEEK_SET);
    read_events(fd);
    close(fd);
    return 0;
}
