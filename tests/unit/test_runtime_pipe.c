/* test_runtime_pipe.c — cl_pipe_new and cl_connection from the outside: messages both ways and
 * in order, the typed helpers, recv and poll timeouts, the end of the stream once every copy of
 * the other end is closed (and not before), sending to a closed end (an error, not SIGPIPE),
 * ping-pong and a 64 MB message between processes, threads sharing an end without interleaving,
 * a sender killed mid-message, and misuse. Processes are made with raw fork()/waitpid, and
 * every wait is bounded. Also compiled by tcc (test_runtime_pipe_tcc), the way cells use it. */
#include <conclab.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture_stderr.h"
#include "children.h"
#include "check.h"

#ifdef __TINYC__
#define SUITE "test_runtime_pipe (tcc)"
#else
#define SUITE "test_runtime_pipe"
#endif

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define USE_AFTER_FREE_CHECKS 0 /* sanitizers rightly flag the read that detects a use after free */
#else
#define USE_AFTER_FREE_CHECKS 1
#endif

/* ---- processes ------------------------------------------------------------------------------ */

typedef struct child_args {
    cl_connection *mine;   /* the end the child uses */
    cl_connection *theirs; /* the parent's end: the child closes its copy first */
    long n;
} child_args;

/* Forks a child that closes the parent's end, runs fn(args) and exits with its return value
 * (flushed, without the parent's atexit handlers); -1 if fork failed. */
static pid_t spawn(int (*fn)(child_args *), child_args *args) {
    fflush(NULL); /* nothing buffered may be printed twice */
    pid_t pid = fork();
    if (pid == 0) {
        cl_connection_close(args->theirs);
        int code = fn(args);
        fflush(NULL);
        _exit(code);
    }
    return pid;
}

/* ---- one process ---------------------------------------------------------------------------- */

static void test_both_ways_in_order(void) {
    cl_connection *a = NULL, *b = NULL;
    CHECK(cl_pipe_new(&a, &b) == 1);
    CHECK(a != NULL && b != NULL && a != b);
    CHECK(cl_connection_fileno(a) >= 0 && cl_connection_fileno(b) >= 0);
    CHECK(cl_connection_send(a, "one", 3) == 1);
    CHECK(cl_connection_send(a, "", 0) == 1);
    CHECK(cl_connection_send(a, "three\0x", 7) == 1);
    CHECK(cl_connection_send(b, "back", 4) == 1); /* duplex */

    void *data = NULL;
    size_t size = 99;
    CHECK(cl_connection_recv(b, &data, &size, 1.0) == 1);
    CHECK(size == 3 && memcmp(data, "one", 3) == 0);
    free(data);
    CHECK(cl_connection_recv(b, &data, &size, 1.0) == 1 && size == 0);
    free(data);
    CHECK(cl_connection_recv(b, &data, NULL, 1.0) == 1 && memcmp(data, "three\0x", 7) == 0);
    free(data);
    CHECK(cl_connection_recv(a, &data, &size, 1.0) == 1);
    CHECK(size == 4 && memcmp(data, "back", 4) == 0);
    free(data);
    CHECK(cl_connection_poll(a, 0) == 0 && cl_connection_poll(b, 0) == 0); /* all read */
    CHECK(cl_connection_close(a) == 1);
    CHECK(cl_connection_close(b) == 1);
    CHECK(cl_connection_close(NULL) == 1);
}

static void test_typed_helpers(void) {
    cl_connection *a, *b;
    cl_pipe_new(&a, &b);
    CHECK(cl_connection_send_long(a, -9876543210L) == 1);
    CHECK(cl_connection_send_double(a, -0.125) == 1);
    CHECK(cl_connection_send_string(a, "héllo, pipe") == 1);
    CHECK(cl_connection_send_string(a, "") == 1);
    long l = 0;
    double x = 0;
    char *s = NULL;
    CHECK(cl_connection_recv_long(b, &l, 1.0) == 1 && l == -9876543210L);
    CHECK(cl_connection_recv_double(b, &x, 1.0) == 1 && x == -0.125);
    CHECK(cl_connection_recv_string(b, &s, 1.0) == 1);
    CHECK_STR(s, "héllo, pipe");
    free(s);
    s = NULL;
    CHECK(cl_connection_recv_string(b, &s, 1.0) == 1);
    CHECK_STR(s, "");
    free(s);

    /* A message of the wrong size for the helper is taken and reported; the next one is fine. */
    CHECK(cl_connection_send(a, "abc", 3) == 1);
    CHECK(cl_connection_send_long(a, 5) == 1);
    capture_begin();
    CHECK(cl_connection_recv_double(b, &x, 1.0) == -1);
    CHECK(starts_with(capture_end(), "cl_connection_recv_double: the message is 3 bytes"));
    CHECK(cl_connection_recv_long(b, &l, 1.0) == 1 && l == 5);
    cl_connection_close(a);
    cl_connection_close(b);
}

static void test_timeouts_and_poll(void) {
    cl_connection *a, *b;
    cl_pipe_new(&a, &b);
    void *data = NULL;
    double t0 = cl_now();
    CHECK(cl_connection_recv(b, &data, NULL, 0) == 0);
    CHECK(cl_connection_poll(b, 0) == 0);
    CHECK(cl_now() - t0 < 0.5);
    t0 = cl_now();
    CHECK(cl_connection_recv(b, &data, NULL, 0.2) == 0);
    double waited = cl_now() - t0;
    CHECK(waited >= 0.1 && waited < 2.0);
    t0 = cl_now();
    CHECK(cl_connection_poll(b, 0.2) == 0);
    waited = cl_now() - t0;
    CHECK(waited >= 0.1 && waited < 2.0);
    CHECK(data == NULL);

    CHECK(cl_connection_send_long(a, 1) == 1);
    CHECK(cl_connection_poll(b, 0) == 1);
    CHECK(cl_connection_poll(b, CL_FOREVER) == 1); /* polling does not take the message */
    long l;
    CHECK(cl_connection_recv_long(b, &l, 0) == 1 && l == 1);
    cl_connection_close(a);
    cl_connection_close(b);
}

static void test_send_to_closed_end(void) {
    cl_connection *a, *b;
    cl_pipe_new(&a, &b);
    cl_connection_close(b);
    /* An error to report, not a SIGPIPE that would kill the test. */
    capture_begin();
    CHECK(cl_connection_send_string(a, "anyone?") == -1);
    CHECK(starts_with(capture_end(), "cl_connection_send_string: the other end is closed"));
    /* And the closed end's reader sees the end of the stream, silently. */
    capture_begin();
    long l;
    CHECK(cl_connection_poll(a, 1.0) == 1);
    CHECK(cl_connection_recv_long(a, &l, 1.0) == -1);
    CHECK_STR(capture_end(), "");
    cl_connection_close(a);
}

/* ---- between processes ---------------------------------------------------------------------- */

static int send_three_then_close(child_args *args) {
    cl_connection_send_string(args->mine, "a");
    cl_connection_send_string(args->mine, "b");
    cl_connection_send_string(args->mine, "c");
    cl_connection_close(args->mine);
    cl_sleep(5); /* stays alive: the end of the stream comes from the close, not the exit */
    return 0;
}

static void test_end_of_stream_once_child_closes(void) {
    cl_connection *parent, *child;
    cl_pipe_new(&parent, &child);
    child_args args = {child, parent, 0};
    pid_t pid = spawn(send_three_then_close, &args);
    cl_connection_close(child); /* the parent keeps only its end */
    char *s;
    int ok = 1;
    const char *expect[] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++) {
        s = NULL;
        if (cl_connection_recv_string(parent, &s, 10.0) != 1 || strcmp(s, expect[i]) != 0) ok = 0;
        free(s);
    }
    CHECK(ok);
    capture_begin();
    double t0 = cl_now();
    CHECK(cl_connection_poll(parent, 10.0) == 1);      /* the end of the stream is readable */
    CHECK(cl_connection_recv_string(parent, &s, 10.0) == -1); /* ... and ends the receive */
    CHECK(cl_connection_recv_string(parent, &s, 10.0) == -1); /* ... every time */
    CHECK(cl_now() - t0 < 4.0); /* well before the child exits */
    CHECK_STR(capture_end(), "");
    kill(pid, SIGKILL);
    CHECK(reap(pid, 10) == 128 + SIGKILL);
    cl_connection_close(parent);
    CHECK(no_children_left());
}

static int exit_at_once(child_args *args) {
    (void)args;
    return 0;
}

/* While the parent still holds its copy of the child's end, the child's exit is no end. */
static void test_no_end_of_stream_while_parent_holds_other_end(void) {
    cl_connection *parent, *child;
    cl_pipe_new(&parent, &child);
    child_args args = {child, parent, 0};
    pid_t pid = spawn(exit_at_once, &args);
    CHECK(reap(pid, 10) == 0);
    void *data;
    CHECK(cl_connection_recv(parent, &data, NULL, 0.2) == 0); /* times out: b is open here */
    cl_connection_close(child);
    CHECK(cl_connection_recv(parent, &data, NULL, 1.0) == -1); /* now it ends */
    cl_connection_close(parent);
}

/* Echoes every long back plus one, until the end of the stream. */
static int echo_plus_one(child_args *args) {
    long v;
    int r;
    while ((r = cl_connection_recv_long(args->mine, &v, 10.0)) == 1)
        if (cl_connection_send_long(args->mine, v + 1) != 1) return 1;
    return r == -1 ? 0 : 2;
}

static void test_ping_pong(void) {
    cl_connection *parent, *child;
    cl_pipe_new(&parent, &child);
    child_args args = {child, parent, 0};
    pid_t pid = spawn(echo_plus_one, &args);
    cl_connection_close(child);
    int ok = 1;
    for (long i = 0; i < 1000; i++) {
        long back = -1;
        if (cl_connection_send_long(parent, i) != 1) ok = 0;
        if (cl_connection_recv_long(parent, &back, 10.0) != 1 || back != i + 1) ok = 0;
        if (!ok) break;
    }
    CHECK(ok);
    cl_connection_close(parent); /* the child's receive ends, and it exits 0 */
    CHECK(reap(pid, 10) == 0);
}

#define LARGE_BYTES ((size_t)64 << 20)

static unsigned char pattern_byte(size_t i) {
    return (unsigned char)(i * 2654435761u >> 13);
}

static int send_large(child_args *args) {
    unsigned char *p = malloc(LARGE_BYTES);
    if (!p) return 1;
    for (size_t i = 0; i < LARGE_BYTES; i++) p[i] = pattern_byte(i);
    int r = cl_connection_send(args->mine, p, LARGE_BYTES);
    free(p);
    /* And check what comes back: the parent returns the same bytes. */
    void *data = NULL;
    size_t size = 0;
    if (cl_connection_recv(args->mine, &data, &size, 30.0) != 1) return 3;
    int same = size == LARGE_BYTES;
    for (size_t i = 0; same && i < size; i++) same = ((unsigned char *)data)[i] == pattern_byte(i);
    free(data);
    return r == 1 && same ? 0 : 2;
}

static void test_64_mb_both_ways(void) {
    cl_connection *parent, *child;
    cl_pipe_new(&parent, &child);
    child_args args = {child, parent, 0};
    pid_t pid = spawn(send_large, &args);
    cl_connection_close(child);
    void *data = NULL;
    size_t size = 0;
    CHECK(cl_connection_recv(parent, &data, &size, 60.0) == 1);
    CHECK(size == LARGE_BYTES);
    int same = data != NULL;
    for (size_t i = 0; same && i < size; i++) same = ((unsigned char *)data)[i] == pattern_byte(i);
    CHECK(same);
    CHECK(cl_connection_send(parent, data, size) == 1);
    free(data);
    CHECK(reap(pid, 60) == 0);
    cl_connection_close(parent);
}

/* Sends a 64 MB message and blocks (the parent does not read), to be killed mid-message. */
static int send_large_forever(child_args *args) {
    unsigned char *p = calloc(1, LARGE_BYTES);
    if (!p) return 1;
    cl_connection_send(args->mine, p, LARGE_BYTES);
    for (;;) cl_sleep(1);
}

static void test_sender_killed_mid_message(void) {
    cl_connection *parent, *child;
    cl_pipe_new(&parent, &child);
    child_args args = {child, parent, 0};
    pid_t pid = spawn(send_large_forever, &args);
    cl_connection_close(child);
    CHECK(cl_connection_poll(parent, 10.0) == 1); /* the message has begun */
    cl_sleep(0.05);
    kill(pid, SIGKILL);
    CHECK(reap(pid, 10) == 128 + SIGKILL);
    void *data = NULL;
    capture_begin();
    CHECK(cl_connection_recv(parent, &data, NULL, 10.0) == -1);
    CHECK(starts_with(capture_end(), "cl_connection_recv: the other end closed in the middle"));
    CHECK(data == NULL);
    cl_connection_close(parent);
    CHECK(no_children_left());
}

/* ---- threads sharing an end ----------------------------------------------------------------- */

#define SENDER_THREADS 4
#define PER_SENDER 200
#define SENDER_BYTES 100000 /* larger than the socket's buffer: one send takes several writes */

typedef struct sender {
    cl_connection *c;
    int id;
    int failed;
} sender;

static void *send_blocks(void *arg) {
    sender *s = arg;
    unsigned char *block = malloc(SENDER_BYTES);
    for (int i = 0; i < PER_SENDER; i++) {
        memset(block, s->id * PER_SENDER + i, SENDER_BYTES); /* one byte value per message */
        if (cl_connection_send(s->c, block, SENDER_BYTES) != 1) s->failed = 1;
    }
    free(block);
    return NULL;
}

static void test_threads_share_an_end(void) {
    cl_connection *a, *b;
    cl_pipe_new(&a, &b);
    sender senders[SENDER_THREADS];
    pthread_t threads[SENDER_THREADS];
    for (int i = 0; i < SENDER_THREADS; i++) {
        senders[i].c = a;
        senders[i].id = i;
        senders[i].failed = 0;
        pthread_create(&threads[i], NULL, send_blocks, &senders[i]);
    }
    int whole = 1, count = 0;
    for (int m = 0; m < SENDER_THREADS * PER_SENDER; m++) {
        unsigned char *data = NULL;
        size_t size = 0;
        if (cl_connection_recv(b, (void **)&data, &size, 10.0) != 1) {
            whole = 0;
            break;
        }
        count++;
        if (size != SENDER_BYTES) whole = 0;
        for (size_t i = 1; whole && i < size; i++) whole = data[i] == data[0];
        free(data);
    }
    for (int i = 0; i < SENDER_THREADS; i++) {
        pthread_join(threads[i], NULL);
        CHECK(!senders[i].failed);
    }
    CHECK(count == SENDER_THREADS * PER_SENDER);
    CHECK(whole); /* no message interleaved with another */
    cl_connection_close(a);
    cl_connection_close(b);
}

/* ---- under the emulated GIL ----------------------------------------------------------------- */

#define GIL_BLOCKS 300
#define GIL_BLOCK_BYTES 300000 /* larger than the socket's buffer: sends must wait for reads */

static void *gil_sender(void *arg) {
    unsigned char *block = calloc(1, GIL_BLOCK_BYTES);
    long failed = 0;
    for (int i = 0; i < GIL_BLOCKS; i++) {
        block[0] = (unsigned char)i;
        if (cl_connection_send(arg, block, GIL_BLOCK_BYTES) != 1) failed++;
    }
    free(block);
    return (void *)failed;
}

/* A sender blocked on a full socket, or a receiver waiting, must let the GIL go, or the
 * two threads deadlock (the alarm ends it). */
static void test_under_the_gil(void) {
    cl_connection *a, *b;
    cl_pipe_new(&a, &b);
    alarm(60);
    cl_gil_enable();
    cl_thread *sender = cl_thread_start(gil_sender, a);
    int in_order = 1, received = 0;
    for (int i = 0; i < GIL_BLOCKS; i++) {
        unsigned char *data = NULL;
        size_t size = 0;
        if (cl_connection_recv(b, (void **)&data, &size, 10.0) != 1) break;
        received++;
        if (size != GIL_BLOCK_BYTES || data[0] != (unsigned char)i) in_order = 0;
        free(data);
    }
    long failed = (long)cl_thread_join(sender);
    cl_gil_disable();
    alarm(0);
    CHECK(failed == 0);
    CHECK(received == GIL_BLOCKS);
    CHECK(in_order);
    cl_connection_close(a);
    cl_connection_close(b);
}

/* ---- the observation hook ------------------------------------------------------------------- */

static int observed_waits, observed_timeouts, observed_other;
static const void *observed_object;

static void observe(const cl_hook_event *e, void *ctx) {
    (void)ctx;
    if (strcmp(e->primitive, "connection") != 0) return;
    if (e->object != observed_object) observed_other++;
    else if (e->kind == CL_EVENT_WAIT) observed_waits++;
    else if (e->kind == CL_EVENT_TIMEOUT) observed_timeouts++;
    else observed_other++;
}

/* A wait that times out is reported as a "connection" wait then timeout on its handle. */
static void test_hook_sees_waits(void) {
    cl_connection *a, *b;
    cl_pipe_new(&a, &b);
    long v;
    void *q = b;
    observed_object = q;
    cl_hook_set(observe, NULL);
    CHECK(cl_connection_recv_long(b, &v, 0.05) == 0);
    cl_connection_send_long(a, 1);
    CHECK(cl_connection_recv_long(b, &v, 0.05) == 1); /* no wait: nothing observed */
    cl_hook_set(NULL, NULL);
    CHECK(observed_waits == 1 && observed_timeouts == 1 && observed_other == 0);
    cl_connection_close(a);
    cl_connection_close(b);
}

/* ---- misuse --------------------------------------------------------------------------------- */

static void test_misuse(void) {
    cl_connection *a, *b;
    cl_pipe_new(&a, &b);
    void *data;
    long l;
    char *s;

    capture_begin();
    CHECK(cl_pipe_new(NULL, &b) == 0);
    CHECK(starts_with(capture_end(), "cl_pipe_new: pass the addresses"));
    capture_begin();
    CHECK(cl_connection_send(NULL, "x", 1) == -1);
    CHECK(starts_with(capture_end(), "cl_connection_send: connection is NULL"));
    capture_begin();
    CHECK(cl_connection_recv(b, &data, NULL, -1) == -1);
    CHECK(starts_with(capture_end(), "cl_connection_recv: timeout must be >= 0"));
    capture_begin();
    CHECK(cl_connection_poll(b, NAN) == -1);
    CHECK(starts_with(capture_end(), "cl_connection_poll: timeout"));
    capture_begin();
    CHECK(cl_connection_send(a, NULL, 3) == -1);
    CHECK(cl_connection_recv(b, NULL, NULL, 0) == -1);
    CHECK(cl_connection_recv_long(b, NULL, 0) == -1);
    CHECK(cl_connection_send_string(a, NULL) == -1);
    CHECK(cl_connection_fileno(NULL) == -1);
    const char *err = capture_end();
    CHECK(starts_with(err, "cl_connection_send: data is NULL"));
    CHECK(strstr(err, "cl_connection_recv: data is NULL") != NULL);
    CHECK(strstr(err, "cl_connection_recv_long: the result pointer is NULL") != NULL);
    CHECK(strstr(err, "cl_connection_send_string: string is NULL") != NULL);
    CHECK(strstr(err, "cl_connection_fileno: connection is NULL") != NULL);
    CHECK(cl_connection_poll(b, 0) == 0); /* nothing was sent by the failed calls */

    cl_connection_close(a);
    cl_connection_close(b);
    if (USE_AFTER_FREE_CHECKS) {
        capture_begin();
        CHECK(cl_connection_recv_string(b, &s, 0) == -1);
        CHECK(starts_with(capture_end(), "cl_connection_recv_string: not a connection"));
    }
    (void)l;
    (void)s;
}

int main(void) {
    test_both_ways_in_order();
    test_typed_helpers();
    test_timeouts_and_poll();
    test_send_to_closed_end();
    test_end_of_stream_once_child_closes();
    test_no_end_of_stream_while_parent_holds_other_end();
    test_ping_pong();
    test_64_mb_both_ways();
    test_sender_killed_mid_message();
    test_threads_share_an_end();
    test_under_the_gil();
    test_hook_sees_waits();
    test_misuse();
    CHECK(no_children_left());
    return check_summary(SUITE);
}
