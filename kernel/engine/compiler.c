/* compiler.c — the compiler process's loop, and the executor's side of a compile request. */
#define _GNU_SOURCE
#include "compiler.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "code_arena.h"
#include "framing.h"

/* ---------------------------------------------------------------- in the compiler */

static json_t *string_or_null(const char *text) { return text ? json_string(text) : json_null(); }

/* The reply to one compile, then the bytes of every range written since the last one. */
static int send_result(int fd, const jit_cell *c) {
    size_t n = 0;
    code_arena_range *ranges = code_arena_take_written(&n);
    json_t *written = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(written, json_pack("[I, I]", (json_int_t)ranges[i].start, (json_int_t)ranges[i].length));
    size_t map_length = c->code_map ? strlen(c->code_map) : 0;
    json_t *reply = json_pack("{s:b, s:o, s:o, s:b, s:I, s:I, s:I, s:o}", "ok", c->ok,
                              "errors", string_or_null(c->errors), "warnings", string_or_null(c->warnings),
                              "has_value", c->has_value, "run", (json_int_t)(uintptr_t)c->run,
                              "definitions", (json_int_t)c->definitions_length, "code_map", (json_int_t)map_length,
                              "written", written);
    /* the payload: the definitions, then the code map */
    char *payload = malloc(c->definitions_length + map_length + 1);
    if (!payload) abort();
    if (c->definitions_length) memcpy(payload, c->definitions, c->definitions_length);
    if (map_length) memcpy(payload + c->definitions_length, c->code_map, map_length);
    int rc = framing_send_payload(fd, reply, payload, c->definitions_length + map_length);
    free(payload);
    json_decref(reply);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = framing_send_bytes(fd, (const void *)ranges[i].start, ranges[i].length);
    free(ranges);
    return rc;
}

/* Waits for the next request; NULL when the executor is gone or the kernel died. */
static json_t *next_request(int fd, int kernel_pidfd) {
    struct pollfd fds[2] = {{fd, POLLIN, 0}, {kernel_pidfd, POLLIN, 0}};
    for (;;) {
        int n = poll(fds, kernel_pidfd >= 0 ? 2 : 1, -1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 || fds[1].revents) return NULL;
        if (fds[0].revents) return framing_recv(fd);
    }
}

_Noreturn static void compiler_main(int fd, int kernel_pidfd) {
    prctl(PR_SET_NAME, "conclab-compile");
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) {  /* nothing of ours goes to the cell's output; stderr stays for tcc dumps */
        dup2(devnull, 0);
        dup2(devnull, 1);
        close(devnull);
    }
    jit *j = jit_new();
    for (;;) {
        json_t *req = next_request(fd, kernel_pidfd);
        if (!req) _exit(0);
        jit_cell c;
        jit_set_bounds(j, json_is_true(json_object_get(req, "bounds")));
        jit_set_prelude(j, !json_is_false(json_object_get(req, "prelude")));
        const char *code = json_string_value(json_object_get(req, "code"));
        jit_compile(j, code ? code : "", (int)json_integer_value(json_object_get(req, "cell")),
                    json_is_true(json_object_get(req, "want_value")), &c);
        json_decref(req);
        int rc = send_result(fd, &c);
        jit_cell_clear(&c);
        if (rc != 0) _exit(0);
    }
}

pid_t compiler_start(int *fd, int kernel_pidfd) {
    int sv[2];
    if (code_arena_reserve() != 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        compiler_main(sv[1], kernel_pidfd);
    }
    close(sv[1]);
    if (pid < 0) {
        close(sv[0]);
        return -1;
    }
    *fd = sv[0];
    return pid;
}

/* ---------------------------------------------------------------- in the executor */

/* Copies the compiler's bytes into place, a word at a time where aligned: a trampoline another
 * thread may be calling through changes in one store. */
static void apply_range(uintptr_t start, const unsigned char *bytes, size_t length) {
    unsigned char *to = (unsigned char *)start;
    size_t i = 0;
    for (; i < length && ((uintptr_t)(to + i) & 7); i++) to[i] = bytes[i];
    for (; i + 8 <= length; i += 8) {
        uint64_t word;
        memcpy(&word, bytes + i, 8);
        __atomic_store_n((uint64_t *)(void *)(to + i), word, __ATOMIC_RELEASE);
    }
    for (; i < length; i++) to[i] = bytes[i];
}

static int receive_written(int fd, const json_t *written) {
    size_t i;
    const json_t *range;
    json_array_foreach(written, i, range) {
        uintptr_t start = (uintptr_t)json_integer_value(json_array_get(range, 0));
        size_t length = (size_t)json_integer_value(json_array_get(range, 1));
        unsigned char *bytes = malloc(length ? length : 1);
        if (!bytes || framing_recv_bytes(fd, bytes, length) != 0) {
            free(bytes);
            return -1;
        }
        if (code_arena_expose((const void *)start, length) == 0) apply_range(start, bytes, length);
        free(bytes);
    }
    return 0;
}

/* The reply's payload: the definitions, then the code map (their lengths are in the reply). */
static bool split_payload(const char *payload, size_t length, const json_t *reply, jit_cell *out) {
    size_t defs = (size_t)json_integer_value(json_object_get(reply, "definitions"));
    size_t map = (size_t)json_integer_value(json_object_get(reply, "code_map"));
    if (defs + map != length) return false;
    if (defs) out->definitions = strndup(payload, defs);
    out->definitions_length = defs;
    if (map) out->code_map = strndup(payload + defs, map);
    return true;
}

static char *strdup_or_null(const json_t *s) { return json_is_string(s) ? strdup(json_string_value(s)) : NULL; }

int compiler_compile(int fd, const char *code, int cell, const compile_options *opts, jit_cell *out) {
    memset(out, 0, sizeof *out);
    json_t *req = json_pack("{s:s, s:s, s:i, s:b, s:b, s:b}", "op", "compile", "code", code, "cell", cell,
                            "want_value", opts->want_value, "bounds", opts->bounds, "prelude", opts->prelude);
    int sent = framing_send(fd, req);
    json_decref(req);
    json_t *reply = sent == 0 ? framing_recv(fd) : NULL;
    size_t payload_length = 0;
    char *payload = reply ? framing_recv_payload(fd, reply, &payload_length) : NULL;
    if (payload && !split_payload(payload, payload_length, reply, out)) {
        json_decref(reply);
        reply = NULL;
    }
    free(payload);
    if (!reply || receive_written(fd, json_object_get(reply, "written")) != 0) {
        json_decref(reply);
        if (asprintf(&out->errors, "cell[%d]:1: error: the compiler process died while compiling this cell "
                     "(a crash inside tcc)\n", cell) < 0)
            out->errors = NULL;
        return -1;
    }
    out->ok = json_is_true(json_object_get(reply, "ok"));
    out->errors = strdup_or_null(json_object_get(reply, "errors"));
    out->warnings = strdup_or_null(json_object_get(reply, "warnings"));
    out->has_value = json_is_true(json_object_get(reply, "has_value"));
    out->run = (void (*)(void))(uintptr_t)json_integer_value(json_object_get(reply, "run"));
    json_decref(reply);
    return 0;
}
