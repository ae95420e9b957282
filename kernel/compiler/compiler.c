/* compiler.c — the compiler process's loop, and the executor's side of a compile request. */
#define _GNU_SOURCE
#include "compiler.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <malloc.h>
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
#include "strbuf.h"

/* ---------------------------------------------------------------- in the compiler */

static json_t *string_or_null(const char *text) { return text ? json_string(text) : json_null(); }

/* The last compile's result, kept until the next one: the executor may ask for it again (when
 * the process it passed it on to died, spare.h). `written` is the arena ranges the compile
 * wrote: a table of (start, length) pairs, 8 bytes each, then their bytes; the buffer stays from
 * one compile to the next, faulted in. */
static jit_cell last;
static strbuf written;
static size_t n_written;

static void collect_written(void) {
    written.len = 0;
    code_arena_range *ranges = code_arena_take_written(&n_written);
    for (size_t i = 0; i < n_written; i++) {
        uint64_t entry[2] = {ranges[i].start, ranges[i].length};
        strbuf_addn(&written, (const char *)entry, sizeof entry);
    }
    for (size_t i = 0; i < n_written; i++) strbuf_addn(&written, (const char *)ranges[i].start, ranges[i].length);
    free(ranges);
}

/* The reply to the last compile; its payload: definitions, code map, written ranges (compiler.h). */
static int send_result(int fd) {
    const jit_cell *c = &last;
    size_t map_length = c->code_map ? strlen(c->code_map) : 0;
    json_t *reply = json_pack("{s:b, s:o, s:o, s:b, s:I, s:I, s:I, s:I}", "ok", c->ok,
                              "errors", string_or_null(c->errors), "warnings", string_or_null(c->warnings),
                              "has_value", c->has_value, "run", (json_int_t)(uintptr_t)c->run,
                              "definitions", (json_int_t)c->definitions_length, "code_map", (json_int_t)map_length,
                              "ranges", (json_int_t)n_written);
    framing_part parts[3] = {{c->definitions, c->definitions_length}, {c->code_map, map_length},
                             {written.data, written.len}};
    int rc = framing_send_parts(fd, reply, parts, 3);
    json_decref(reply);
    return rc;
}

static void compile_request(jit *j, int fd, json_t *req) {
    size_t length = 0;
    char *code = framing_recv_payload(fd, req, &length);
    jit_cell_clear(&last);
    jit_set_bounds(j, json_is_true(json_object_get(req, "bounds")));
    jit_set_prelude(j, !json_is_false(json_object_get(req, "prelude")));
    jit_compile(j, code ? code : "", (int)json_integer_value(json_object_get(req, "cell")),
                json_is_true(json_object_get(req, "want_value")), &last);
    collect_written();
    free(code);
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

/* A compile allocates megabytes and frees them; glibc would hand them back to the kernel, and
 * the next compile would fault every page in again (~15 µs a page here, milliseconds a cell).
 * Keep them: large blocks come from the heap and the heap is not trimmed. The heap grows in
 * steps whole huge pages fit in (glibc.malloc.hugetlb, set by the engine client). */
static void keep_heap_warm(void) {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    mallopt(M_TOP_PAD, 8 << 20);
}

_Noreturn static void compiler_main(int fd, int kernel_pidfd) {
    prctl(PR_SET_NAME, "conclab-compile");
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) {  /* nothing of ours goes to the cell's output; stderr stays for tcc dumps */
        dup2(devnull, 0);
        dup2(devnull, 1);
        close(devnull);
    }
    keep_heap_warm();
    jit *j = jit_new();
    for (;;) {
        json_t *req = next_request(fd, kernel_pidfd);
        if (!req) _exit(0);
        const char *op = json_string_value(json_object_get(req, "op"));
        if (op && strcmp(op, "compile") == 0) compile_request(j, fd, req);
        json_decref(req);
        if (send_result(fd) != 0) _exit(0);  /* "again": the same reply once more */
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

/* The written ranges at the end of the payload: their table, then their bytes. */
static bool apply_written(const char *at, size_t size, size_t n_ranges) {
    if (n_ranges > size / 16) return false;
    const char *bytes = at + n_ranges * 16;
    size_t left = size - n_ranges * 16;
    for (size_t i = 0; i < n_ranges; i++) {
        uint64_t entry[2];
        memcpy(entry, at + i * 16, sizeof entry);
        if (entry[1] > left) return false;
        if (code_arena_expose((const void *)(uintptr_t)entry[0], entry[1]) == 0)
            apply_range((uintptr_t)entry[0], (const unsigned char *)bytes, entry[1]);
        bytes += entry[1];
        left -= entry[1];
    }
    return left == 0;
}

/* The reply's payload: the definitions (which keep the payload's buffer), the code map, then
 * the written ranges, applied here. */
static bool take_payload(char *payload, size_t length, const json_t *reply, jit_cell *out) {
    size_t defs = (size_t)json_integer_value(json_object_get(reply, "definitions"));
    size_t map = (size_t)json_integer_value(json_object_get(reply, "code_map"));
    size_t n_ranges = (size_t)json_integer_value(json_object_get(reply, "ranges"));
    if (defs > length || map > length - defs ||
        !apply_written(payload + defs + map, length - defs - map, n_ranges)) {
        free(payload);
        return false;
    }
    if (map) out->code_map = strndup(payload + defs, map);
    if (defs) {
        out->definitions = payload;
        out->definitions_length = defs;
    } else {
        free(payload);
    }
    return true;
}

static char *strdup_or_null(const json_t *s) { return json_is_string(s) ? strdup(json_string_value(s)) : NULL; }

void compiler_read_outcome(const compiler_reply *r, jit_cell *out) {
    memset(out, 0, sizeof *out);
    out->ok = json_is_true(json_object_get(r->reply, "ok"));
    out->errors = strdup_or_null(json_object_get(r->reply, "errors"));
    out->warnings = strdup_or_null(json_object_get(r->reply, "warnings"));
    out->has_value = json_is_true(json_object_get(r->reply, "has_value"));
    out->run = (void (*)(void))(uintptr_t)json_integer_value(json_object_get(r->reply, "run"));
}

/* The reply's message; its payload stays in the socket (r->unread bytes). */
static int receive_reply(int fd, compiler_reply *r) {
    memset(r, 0, sizeof *r);
    r->reply = framing_recv(fd);
    if (!r->reply) return -1;
    json_int_t n = json_integer_value(json_object_get(r->reply, "payload"));
    r->unread = n > 0 ? (size_t)n : 0;
    return 0;
}

int compiler_apply(int fd, compiler_reply *r, jit_cell *out) {
    if (r->unread) {
        r->payload = framing_recv_payload(fd, r->reply, &r->length);
        if (!r->payload) return -1;
        r->unread = 0;
    }
    char *payload = r->payload;
    r->payload = NULL;
    bool whole = payload ? take_payload(payload, r->length, r->reply, out)
                         : json_integer_value(json_object_get(r->reply, "payload")) == 0;
    return whole ? 0 : -1;
}

void compiler_reply_clear(compiler_reply *r) {
    json_decref(r->reply);
    free(r->payload);
    memset(r, 0, sizeof *r);
}

int compiler_refetch(int fd, compiler_reply *r, size_t skip) {
    char sink[4096];
    while (skip > 0) {
        size_t n = skip < sizeof sink ? skip : sizeof sink;
        if (framing_recv_bytes(fd, sink, n) != 0) return -1;
        skip -= n;
    }
    compiler_reply_clear(r);
    json_t *again = json_pack("{s:s}", "op", "again");
    int sent = framing_send(fd, again);
    json_decref(again);
    return sent == 0 ? receive_reply(fd, r) : -1;
}

static void say_compiler_died(int cell, jit_cell *out) {
    free(out->errors);
    if (asprintf(&out->errors, "cell[%d]:1: error: the compiler process died while compiling this cell "
                 "(a crash inside tcc)\n", cell) < 0)
        out->errors = NULL;
    out->ok = false;
}

int compiler_ask(int fd, const char *code, int cell, const compile_options *opts, compiler_reply *r, jit_cell *out) {
    memset(out, 0, sizeof *out);
    json_t *req = json_pack("{s:s, s:i, s:b, s:b, s:b}", "op", "compile", "cell", cell,
                            "want_value", opts->want_value, "bounds", opts->bounds, "prelude", opts->prelude);
    int sent = framing_send_payload(fd, req, code, strlen(code));
    json_decref(req);
    if (sent != 0 || receive_reply(fd, r) != 0) {
        compiler_reply_clear(r);
        say_compiler_died(cell, out);
        return -1;
    }
    compiler_read_outcome(r, out);
    return 0;
}

int compiler_compile(int fd, const char *code, int cell, const compile_options *opts, jit_cell *out) {
    compiler_reply r;
    if (compiler_ask(fd, code, cell, opts, &r, out) != 0) return -1;
    int rc = compiler_apply(fd, &r, out);
    compiler_reply_clear(&r);
    if (rc != 0) say_compiler_died(cell, out);
    return rc;
}
