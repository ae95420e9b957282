/* test_runtime_stream.c — TCP streams on the event loop (conclab/stream.h), from the outside:
 * echo round trips, readline / readexactly / end of stream, many connections at once, timeouts,
 * cancellation during connect / read / drain, server close, misuse. Everything on 127.0.0.1.
 * Compiled by gcc and, as a notebook cell would be, by tcc. */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <conclab.h>

#include "capture_stderr.h"
#include "check.h"

#define BIG_STACK (256 * 1024)

static int contains(const char *text, const char *part) {
    return strstr(text, part) != NULL;
}

static int between(double x, double lo, double hi) {
    return x >= lo && x <= hi;
}

/* ---- handlers ---------------------------------------------------------------------------------- */

static void echo_handler(cl_stream *s, void *arg) {
    char buf[1024];
    long n;
    (void)arg;
    while ((n = cl_stream_read(s, buf, sizeof buf)) > 0) {
        if (cl_stream_write(s, buf, (size_t)n) < 0 || cl_stream_drain(s) < 0) break;
    }
}

/* Writes the text given as arg, then returns (the server closes the connection). */
static void say_handler(cl_stream *s, void *arg) {
    const char *text = arg;
    cl_stream_write(s, text, strlen(text));
    cl_stream_drain(s);
}

/* Sleeps 0.3 s, then writes "late\n". */
static void slow_handler(cl_stream *s, void *arg) {
    (void)arg;
    if (cl_async_sleep(0.3) < 0) return;
    cl_stream_write(s, "late\n", 5);
    cl_stream_drain(s);
    char buf[16];
    cl_stream_read(s, buf, sizeof buf); /* until the client closes */
}

/* Never reads: sleeps until cancelled (server close_clients). */
static void deaf_handler(cl_stream *s, void *arg) {
    (void)s;
    (void)arg;
    cl_async_sleep(30);
}

/* Counts bytes to the end of stream, then answers the count as a line. */
static void count_handler(cl_stream *s, void *arg) {
    char buf[512], line[32];
    long n, total = 0;
    (void)arg;
    while ((n = cl_stream_read(s, buf, sizeof buf)) > 0) total += n;
    snprintf(line, sizeof line, "%ld\n", total);
    cl_stream_write(s, line, strlen(line));
}

/* A listening socket whose accept queue is full and never drained: connects to it hang. */
static int hanging_listener(int *port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(0x7f000001);
    bind(fd, (struct sockaddr *)&sa, sizeof sa);
    listen(fd, 0);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    *port = ntohs(sa.sin_port);
    return fd;
}

/* Fills the hanging listener's queue with plain connections (kept in fds[0..1]; non-blocking,
 * since the second one already hangs). */
static void fill_queue(int port, int *fds) {
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(0x7f000001);
    sa.sin_port = htons((unsigned short)port);
    for (int i = 0; i < 2; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        connect(fds[i], (struct sockaddr *)&sa, sizeof sa);
        usleep(20000);
    }
}

static int unused_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(0x7f000001);
    bind(fd, (struct sockaddr *)&sa, sizeof sa);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    close(fd);
    return ntohs(sa.sin_port);
}

static void close_server(cl_stream_server *srv) {
    cl_stream_server_close(srv);
    cl_stream_server_close_clients(srv);
    CHECK(cl_stream_server_wait_closed(srv) == 0);
    cl_stream_server_free(srv);
}

static void close_stream(cl_stream *s) {
    cl_stream_close(s);
    CHECK(cl_stream_wait_closed(s) == 0);
    CHECK(cl_stream_is_closing(s));
    cl_stream_free(s);
}

/* ---- echo -------------------------------------------------------------------------------------- */

typedef struct bulk {
    cl_stream *s;
    size_t size;
    int status;
} bulk;

static unsigned char pattern(size_t i) {
    return (unsigned char)((i * 7 + i / 251) & 0xff);
}

/* Writes size pattern bytes in 4 KiB pieces, draining after each (a task of its own). */
static void *write_bulk(void *arg) {
    bulk *b = arg;
    unsigned char piece[4096];
    for (size_t at = 0; at < b->size; at += sizeof piece) {
        size_t n = b->size - at < sizeof piece ? b->size - at : sizeof piece;
        for (size_t i = 0; i < n; i++) piece[i] = pattern(at + i);
        if (cl_stream_write(b->s, piece, n) < 0 || (b->status = cl_stream_drain(b->s)) < 0) return NULL;
    }
    return NULL;
}

static void *test_echo(void *arg) {
    (void)arg;
    cl_stream_server *srv = cl_stream_start_server("127.0.0.1", 0, echo_handler, NULL);
    CHECK(srv != NULL);
    int port = cl_stream_server_port(srv);
    CHECK(port > 0);
    cl_stream *c = cl_stream_open_connection("127.0.0.1", port, 5.0);
    CHECK(c != NULL);
    if (!c) return NULL;

    int same = 1;
    for (int i = 0; i < 100; i++) {
        char msg[64], back[64];
        snprintf(msg, sizeof msg, "message %d\n", i);
        CHECK(cl_stream_write(c, msg, strlen(msg)) == 0);
        long n = cl_stream_readline(c, back, sizeof back);
        same &= n == (long)strlen(msg) && strcmp(back, msg) == 0;
    }
    CHECK(same);

    char addr[64], want[32];
    CHECK(cl_stream_peer_address(c, addr, sizeof addr) == 0);
    snprintf(want, sizeof want, ":%d", port);
    CHECK(starts_with(addr, "127.0.0.1:") && contains(addr, want));

    /* 2 MiB through the echo with back-pressure both ways: a writer task, this task reads. */
    bulk b = {c, 2u << 20, 0};
    cl_future *w = cl_async_create_task_ex("writer", BIG_STACK, write_bulk, &b);
    unsigned char *got = malloc(b.size);
    CHECK(cl_stream_readexactly(c, got, b.size) == (long)b.size);
    size_t bad = 0;
    for (size_t i = 0; i < b.size; i++) bad += got[i] != pattern(i);
    CHECK(bad == 0);
    free(got);
    CHECK(cl_await(w, NULL) == CL_FUTURE_OK);
    CHECK(b.status == 0);
    cl_future_free(w);

    close_stream(c);
    CHECK(cl_stream_server_connections(srv) == 1);
    close_server(srv);
    return NULL;
}

/* ---- the hook ----------------------------------------------------------------------------------- */

typedef struct stream_events {
    const void *stream;
    int waits, acquires;
} stream_events;

static void count_stream_events(const cl_hook_event *e, void *ctx) {
    stream_events *seen = ctx;
    if (strcmp(e->primitive, "stream") != 0 || e->object != seen->stream) return;
    if (e->kind == CL_EVENT_WAIT) seen->waits++;
    if (e->kind == CL_EVENT_ACQUIRE) seen->acquires++;
}

/* A read that has to wait for the echo is a wait on that stream, then an acquire. */
static void *test_hook(void *arg) {
    (void)arg;
    cl_stream_server *srv = cl_stream_start_server("127.0.0.1", 0, echo_handler, NULL);
    CHECK(srv != NULL);
    cl_stream *c = srv ? cl_stream_open_connection("127.0.0.1", cl_stream_server_port(srv), 5.0) : NULL;
    CHECK(c != NULL);
    if (!c) return NULL;
    stream_events seen = {c, 0, 0};
    cl_hook_set(count_stream_events, &seen);
    char back[16];
    CHECK(cl_stream_write(c, "ping\n", 5) == 0);
    CHECK(cl_stream_readline(c, back, sizeof back) == 5);
    cl_hook_set(NULL, NULL);
    CHECK(seen.waits >= 1 && seen.acquires == seen.waits);
    close_stream(c);
    close_server(srv);
    return NULL;
}

/* ---- reading to the end ------------------------------------------------------------------------ */

static cl_stream *connect_to(cl_stream_server *srv) {
    return cl_stream_open_connection("127.0.0.1", cl_stream_server_port(srv), 5.0);
}

static void *test_reading(void *arg) {
    (void)arg;
    char line[64];
    cl_stream_server *lines = cl_stream_start_server("127.0.0.1", 0, say_handler, "first\nsecond\r\nno newline");
    cl_stream *c = connect_to(lines);
    CHECK(c != NULL);
    if (!c) return NULL;
    CHECK(cl_stream_readline(c, line, sizeof line) == 6);
    CHECK_STR(line, "first\n");
    CHECK(cl_stream_readline(c, line, sizeof line) == 8);
    CHECK_STR(line, "second\r\n");
    CHECK(cl_stream_readline(c, line, sizeof line) == 10); /* the end comes first */
    CHECK_STR(line, "no newline");
    CHECK(cl_stream_readline(c, line, sizeof line) == 0);
    CHECK(cl_stream_at_eof(c));
    CHECK(cl_stream_read(c, line, sizeof line) == 0);
    cl_stream_free(c);
    close_server(lines);

    /* readexactly meeting the end: IncompleteReadError */
    cl_stream_server *abc = cl_stream_start_server("127.0.0.1", 0, say_handler, "abc");
    c = connect_to(abc);
    capture_begin();
    long n = cl_stream_readexactly(c, line, 10);
    const char *said = capture_end();
    CHECK(n == CL_STREAM_ERROR);
    CHECK_STR(said, "cl_stream_readexactly: incomplete read: 3 bytes read on a total of 10 expected bytes\n");
    cl_stream_free(c);

    /* readexactly in pieces across several reads */
    c = connect_to(abc);
    CHECK(cl_stream_readexactly(c, line, 2) == 2 && memcmp(line, "ab", 2) == 0);
    CHECK(cl_stream_readexactly(c, line, 1) == 1 && line[0] == 'c');
    CHECK(cl_stream_readexactly(c, line, 0) == 0);
    cl_stream_free(c);
    close_server(abc);

    /* a line longer than the buffer is an error, not a silent cut */
    cl_stream_server *longline = cl_stream_start_server("127.0.0.1", 0, say_handler,
        "0123456789012345678901234567890123456789\nshort\n");
    c = connect_to(longline);
    capture_begin();
    char small[16];
    n = cl_stream_readline(c, small, sizeof small);
    said = capture_end();
    CHECK(n == CL_STREAM_ERROR);
    CHECK(starts_with(said, "cl_stream_readline: line longer than the 15-byte buffer"));
    cl_stream_free(c);
    close_server(longline);

    /* write_eof: the peer sees the end and still answers */
    cl_stream_server *counter = cl_stream_start_server("127.0.0.1", 0, count_handler, NULL);
    c = connect_to(counter);
    CHECK(cl_stream_write(c, "12345", 5) == 0);
    CHECK(cl_stream_write(c, "678", 3) == 0);
    CHECK(cl_stream_write_eof(c) == 0);
    CHECK(cl_stream_readline(c, line, sizeof line) == 2);
    CHECK_STR(line, "8\n");
    close_stream(c);
    close_server(counter);
    return NULL;
}

/* ---- many connections -------------------------------------------------------------------------- */

enum { MANY = 300 };
static int many_ok;
static int many_port;

static void *one_client(void *arg) {
    long id = (long)arg;
    cl_stream *c = cl_stream_open_connection("127.0.0.1", many_port, 10.0);
    if (!c) return NULL;
    char msg[32], back[32];
    snprintf(msg, sizeof msg, "client %ld\n", id);
    cl_async_sleep(0.05); /* so all are connected at once */
    cl_stream_write(c, msg, strlen(msg));
    if (cl_stream_readline(c, back, sizeof back) > 0 && strcmp(msg, back) == 0) many_ok++;
    cl_stream_free(c);
    return NULL;
}

static void *test_many(void *arg) {
    (void)arg;
    cl_stream_server *srv = cl_stream_start_server("127.0.0.1", 0, echo_handler, NULL);
    many_port = cl_stream_server_port(srv);
    many_ok = 0;
    cl_future *tasks[MANY];
    for (long i = 0; i < MANY; i++) tasks[i] = cl_async_create_task(one_client, (void *)i);
    CHECK(cl_async_gather(tasks, MANY, 0) == 0);
    for (int i = 0; i < MANY; i++) cl_future_free(tasks[i]);
    CHECK(many_ok == MANY);
    CHECK(cl_stream_server_connections(srv) == MANY);
    close_server(srv);
    return NULL;
}

/* ---- timeouts ---------------------------------------------------------------------------------- */

static void *test_timeouts(void *arg) {
    (void)arg;
    char line[32];
    cl_stream_server *srv = cl_stream_start_server("127.0.0.1", 0, slow_handler, NULL);
    cl_stream *c = connect_to(srv);
    CHECK(c != NULL);
    if (!c) return NULL;
    CHECK(cl_stream_set_timeout(c, 0.1) == 0);
    double t = cl_now();
    capture_begin();
    long n = cl_stream_readline(c, line, sizeof line);
    const char *said = capture_end();
    CHECK(n == CL_STREAM_TIMEOUT);
    CHECK(between(cl_now() - t, 0.05, 2.0));
    CHECK_STR(said, ""); /* a timeout is control flow, not a misuse */
    /* the stream is still usable: the late line arrives */
    CHECK(cl_stream_set_timeout(c, 5.0) == 0);
    CHECK(cl_stream_readline(c, line, sizeof line) == 5);
    CHECK_STR(line, "late\n");
    capture_begin();
    CHECK(cl_stream_set_timeout(c, -1) == -1);
    CHECK(starts_with(capture_end(), "cl_stream_set_timeout: "));
    close_stream(c);
    close_server(srv);

    /* connecting to a listener whose queue is full: the connect times out */
    int port, fds[2];
    int lfd = hanging_listener(&port);
    fill_queue(port, fds);
    t = cl_now();
    capture_begin();
    c = cl_stream_open_connection("127.0.0.1", port, 0.2);
    said = capture_end();
    CHECK(c == NULL);
    CHECK(between(cl_now() - t, 0.1, 2.0));
    CHECK(starts_with(said, "cl_stream_open_connection: cannot connect to 127.0.0.1:"));
    CHECK(contains(said, "timed out after 0.2 s"));
    close(fds[0]);
    close(fds[1]);
    close(lfd);

    /* nobody listening: refused at once */
    capture_begin();
    c = cl_stream_open_connection("127.0.0.1", unused_port(), 5.0);
    said = capture_end();
    CHECK(c == NULL);
    CHECK(contains(said, "connection refused"));

    /* a name, resolved on libuv's thread pool */
    srv = cl_stream_start_server("127.0.0.1", 0, say_handler, "by name\n");
    c = cl_stream_open_connection("localhost", cl_stream_server_port(srv), 5.0);
    CHECK(c != NULL);
    if (c) {
        CHECK(cl_stream_readline(c, line, sizeof line) == 8);
        cl_stream_free(c);
    }
    close_server(srv);
    return NULL;
}

/* ---- cancellation ------------------------------------------------------------------------------ */

typedef struct probe {
    cl_stream *s;
    int port;
    long status;
    cl_stream *connected;
} probe;

static void *connect_forever(void *arg) {
    probe *p = arg;
    p->connected = cl_stream_open_connection("127.0.0.1", p->port, CL_FOREVER);
    p->status = cl_task_cancelling(cl_task_current());
    return NULL;
}

static void *read_one(void *arg) {
    probe *p = arg;
    char buf[16];
    p->status = cl_stream_read(p->s, buf, sizeof buf);
    return NULL;
}

static void *flood(void *arg) {
    probe *p = arg;
    static char block[64 * 1024];
    for (int i = 0; i < 1000; i++) {
        if (cl_stream_write(p->s, block, sizeof block) < 0) break;
        p->status = cl_stream_drain(p->s);
        if (p->status < 0) break;
    }
    return NULL;
}

static void *test_cancel(void *arg) {
    (void)arg;
    /* during connect */
    int port, fds[2];
    int lfd = hanging_listener(&port);
    fill_queue(port, fds);
    probe p = {NULL, port, -100, NULL};
    capture_begin();
    cl_future *t = cl_async_create_task(connect_forever, &p);
    cl_async_sleep(0.1);
    CHECK(cl_task_cancel(t) == 1);
    CHECK(cl_await(t, NULL) == CL_FUTURE_CANCELLED);
    CHECK_STR(capture_end(), ""); /* cancelled: not an error to report */
    CHECK(p.connected == NULL);
    CHECK(p.status == 1);
    cl_future_free(t);
    close(fds[0]);
    close(fds[1]);
    close(lfd);

    /* during read: the bytes that come later wait for the next read */
    cl_stream_server *srv = cl_stream_start_server("127.0.0.1", 0, slow_handler, NULL);
    cl_stream *c = connect_to(srv);
    probe r = {c, 0, -100, NULL};
    t = cl_async_create_task(read_one, &r);
    cl_async_sleep(0.05);
    cl_task_cancel(t);
    CHECK(cl_await(t, NULL) == CL_FUTURE_CANCELLED);
    CHECK(r.status == CL_STREAM_CANCELLED);
    cl_future_free(t);
    char line[16];
    CHECK(cl_stream_readline(c, line, sizeof line) == 5);
    CHECK_STR(line, "late\n");
    close_stream(c);
    close_server(srv);

    /* during read, then the stream is freed at once while the server still writes */
    srv = cl_stream_start_server("127.0.0.1", 0, slow_handler, NULL);
    c = connect_to(srv);
    r.s = c;
    r.status = -100;
    t = cl_async_create_task(read_one, &r);
    cl_async_sleep(0.05);
    cl_task_cancel(t);
    cl_await(t, NULL);
    cl_future_free(t);
    cl_stream_free(c);
    cl_async_sleep(0.4); /* the late write lands on a closed socket: nothing points at c */
    close_server(srv);

    /* during drain: the peer never reads, the buffers fill */
    srv = cl_stream_start_server("127.0.0.1", 0, deaf_handler, NULL);
    c = connect_to(srv);
    probe d = {c, 0, -100, NULL};
    t = cl_async_create_task(flood, &d);
    cl_async_sleep(0.3);
    CHECK(cl_stream_write_buffer_size(c) > 64 * 1024);
    cl_task_cancel(t);
    CHECK(cl_await(t, NULL) == CL_FUTURE_CANCELLED);
    CHECK(d.status == CL_STREAM_CANCELLED);
    cl_future_free(t);
    cl_stream_free(c); /* queued writes are dropped with the socket */
    close_server(srv);
    return NULL;
}

/* ---- servers ----------------------------------------------------------------------------------- */

static void *serve(void *arg) {
    return (void *)(long)cl_stream_server_serve_forever(arg);
}

static void *wait_closed(void *arg) {
    return (void *)(long)cl_stream_server_wait_closed(arg);
}

static void *test_server_close(void *arg) {
    (void)arg;
    char line[32];
    cl_stream_server *srv = cl_stream_start_server("127.0.0.1", 0, echo_handler, NULL);
    int port = cl_stream_server_port(srv);
    cl_future *forever = cl_async_create_task(serve, srv);
    cl_stream *c = connect_to(srv);
    CHECK(c != NULL);
    if (!c) return NULL;
    cl_async_sleep(0.02);
    CHECK(!cl_future_done(forever));
    cl_stream_server_close(srv);
    void *rc = (void *)1;
    CHECK(cl_await(forever, &rc) == CL_FUTURE_OK);
    CHECK(rc == NULL);
    cl_future_free(forever);

    /* closed: no new connections, but the open one is still served */
    capture_begin();
    cl_stream *late = cl_stream_open_connection("127.0.0.1", port, 2.0);
    CHECK(contains(capture_end(), "connection refused"));
    CHECK(late == NULL);
    CHECK(cl_stream_write(c, "still\n", 6) == 0);
    CHECK(cl_stream_readline(c, line, sizeof line) == 6);

    /* wait_closed waits for that connection's handler */
    cl_future *closing = cl_async_create_task(wait_closed, srv);
    cl_async_sleep(0.05);
    CHECK(!cl_future_done(closing));
    cl_stream_close(c); /* the handler reads the end and returns */
    CHECK(cl_async_wait_for(closing, 2.0, NULL) == CL_FUTURE_OK);
    cl_future_free(closing);
    cl_stream_free(c);
    cl_stream_server_free(srv);

    /* close_clients cancels handlers; their streams close, the client sees the end */
    srv = cl_stream_start_server("127.0.0.1", 0, deaf_handler, NULL);
    c = connect_to(srv);
    cl_async_sleep(0.02);
    cl_stream_server_close(srv);
    cl_stream_server_close_clients(srv);
    CHECK(cl_stream_server_wait_closed(srv) == 0);
    cl_stream_set_timeout(c, 2.0);
    CHECK(cl_stream_read(c, line, sizeof line) == 0);
    cl_stream_free(c);
    cl_stream_server_free(srv);

    /* serve_forever cancelled closes the server, as asyncio's does */
    srv = cl_stream_start_server("127.0.0.1", 0, echo_handler, NULL);
    port = cl_stream_server_port(srv);
    forever = cl_async_create_task(serve, srv);
    cl_async_sleep(0.01);
    cl_task_cancel(forever);
    CHECK(cl_await(forever, NULL) == CL_FUTURE_CANCELLED);
    cl_future_free(forever);
    CHECK(cl_stream_server_wait_closed(srv) == 0);
    cl_stream_server_free(srv);
    capture_begin();
    CHECK(cl_stream_open_connection("127.0.0.1", port, 2.0) == NULL);
    capture_end();
    return NULL;
}

/* ---- misuse ------------------------------------------------------------------------------------ */

static void *read_twice(void *arg) {
    char buf[8];
    return (void *)cl_stream_read(arg, buf, sizeof buf);
}

static void *test_misuse(void *arg) {
    (void)arg;
    char buf[16];
    cl_stream_server *srv = cl_stream_start_server("127.0.0.1", 0, slow_handler, NULL);
    cl_stream *c = connect_to(srv);
    cl_future *first = cl_async_create_task(read_twice, c);
    cl_async_sleep(0.01);
    capture_begin();
    CHECK(cl_stream_read(c, buf, sizeof buf) == CL_STREAM_ERROR);
    CHECK(starts_with(capture_end(), "cl_stream_read: another task is already waiting"));
    cl_task_cancel(first);
    cl_await(first, NULL);
    cl_future_free(first);

    cl_stream_close(c);
    capture_begin();
    CHECK(cl_stream_write(c, "x", 1) == CL_STREAM_ERROR);
    CHECK(cl_stream_read(c, buf, sizeof buf) == CL_STREAM_ERROR);
    const char *said = capture_end();
    CHECK(starts_with(said, "cl_stream_write: the stream is closed\n"));
    CHECK(contains(said, "cl_stream_read: the stream is closed\n"));
    cl_stream_free(c);
    close_server(srv);

    capture_begin();
    CHECK(cl_stream_read(NULL, buf, sizeof buf) == CL_STREAM_ERROR);
    CHECK(cl_stream_start_server("127.0.0.1", 70000, echo_handler, NULL) == NULL);
    CHECK(cl_stream_start_server("not an address", 0, echo_handler, NULL) == NULL);
    CHECK(cl_stream_open_connection("127.0.0.1", 0, 1.0) == NULL);
    said = capture_end();
    CHECK(contains(said, "cl_stream_read: stream is NULL"));
    CHECK(contains(said, "cl_stream_start_server: port 70000"));
    CHECK(contains(said, "cl_stream_start_server: not an address is not a numeric IP address"));
    CHECK(contains(said, "cl_stream_open_connection: port 0"));

    /* two servers on one port: the second cannot listen */
    srv = cl_stream_start_server("127.0.0.1", 0, echo_handler, NULL);
    capture_begin();
    CHECK(cl_stream_start_server("127.0.0.1", cl_stream_server_port(srv), echo_handler, NULL) == NULL);
    CHECK(contains(capture_end(), "address already in use"));
    close_server(srv);
    return NULL;
}

static void run(const char *name, void *(*fn)(void *)) {
    double t = cl_now();
    cl_future_status st = cl_async_run(fn, NULL, NULL);
    CHECK(st == CL_FUTURE_OK);
    printf("  %-20s %.3f s\n", name, cl_now() - t);
    fflush(stdout);
}

int main(void) {
    /* outside any loop: an error, not a hang */
    capture_begin();
    CHECK(cl_stream_open_connection("127.0.0.1", 80, 1.0) == NULL);
    CHECK(cl_stream_start_server("127.0.0.1", 0, echo_handler, NULL) == NULL);
    const char *said = capture_end();
    CHECK(starts_with(said, "cl_stream_open_connection: called outside a task"));
    CHECK(contains(said, "cl_stream_start_server: no running loop"));

    run("echo", test_echo);
    run("reading", test_reading);
    run("many", test_many);
    run("timeouts", test_timeouts);
    run("cancel", test_cancel);
    run("server close", test_server_close);
    run("misuse", test_misuse);
    run("hook", test_hook);
    return check_summary("test_runtime_stream");
}
