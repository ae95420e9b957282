/* test_display_socket.c — display requests (kernel/protocol/display_socket.h) on a real
 * SOCK_SEQPACKET pair: every kind round-trips with its id and bundle, small bundles inline and
 * big ones through a memfd; answers reach the writer (taken, or the refusal's words); and what a
 * cell could put on the socket instead (short datagrams, wrong magic, lengths that lie, a memfd
 * promised and missing, an unknown kind) is refused with a reason, never half-read. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "display_socket.h"

static int pair[2];

typedef struct sent {
    display_kind kind;
    const char *id;
    char *bundle;
    size_t size;
    int rc;
    char why[200];
} sent;

static void *send_one(void *arg) {
    sent *s = arg;
    s->rc = display_request_send(pair[0], s->kind, s->id, s->bundle, s->size, 5.0, s->why, sizeof s->why);
    return NULL;
}

/* Receives the next request, waiting for it. */
static int receive(display_request *req) {
    for (int i = 0; i < 5000; i++) {
        int rc = display_request_receive(pair[1], req);
        if (rc != 0) return rc;
        usleep(1000);
    }
    return 0;
}

static void round_trip(display_kind kind, const char *id, size_t size, const char *refusal) {
    sent s = {kind, id, NULL, size, -2, ""};
    if (size) {
        s.bundle = malloc(size);
        for (size_t i = 0; i < size; i++) s.bundle[i] = (char)('a' + i % 26);
    }
    pthread_t writer;
    pthread_create(&writer, NULL, send_one, &s);
    display_request req;
    CHECK(receive(&req) == 1);
    CHECK(req.malformed == NULL);
    CHECK(req.kind == kind);
    CHECK_STR(req.id, id ? id : "");
    CHECK(req.size == size);
    CHECK(size == 0 || (req.bundle && memcmp(req.bundle, s.bundle, size) == 0));
    display_request_answer(&req, refusal);
    display_request_clear(&req);
    pthread_join(writer, NULL);
    CHECK(s.rc == (refusal ? -1 : 0));
    if (refusal) CHECK_STR(s.why, refusal);
    free(s.bundle);
}

static void test_round_trips(void) {
    round_trip(DISPLAY_SHOW, "cl-1-1", 100, NULL);
    round_trip(DISPLAY_UPDATE, "cl-1-1", DISPLAY_INLINE_MAX, NULL);       /* the largest inline */
    round_trip(DISPLAY_SHOW, "cl-1-2", DISPLAY_INLINE_MAX + 1, NULL);     /* the smallest in a memfd */
    round_trip(DISPLAY_SHOW, "cl-1-3", 5u << 20, NULL);
    round_trip(DISPLAY_CLEAR, NULL, 0, NULL);
    round_trip(DISPLAY_CLEAR_WAIT, NULL, 0, NULL);
    round_trip(DISPLAY_SHOW, "cl-1-4", 10, "not valid JSON (for the test)");
}

static void test_writer_limits(void) {
    char why[200] = "";
    char long_id[DISPLAY_MAX_ID + 2];
    memset(long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    CHECK(display_request_send(pair[0], DISPLAY_SHOW, long_id, "{}", 2, 1.0, why, sizeof why) == -1);
    CHECK_STR(why, "display id too long");
    CHECK(display_request_send(pair[0], DISPLAY_SHOW, "a", "{}", DISPLAY_MAX_BUNDLE + 1, 1.0, why, sizeof why) == -1);
    CHECK(strncmp(why, "too big to show", 15) == 0);
    display_request req;
    CHECK(display_request_receive(pair[1], &req) == 0);  /* neither was sent */
}

static void test_no_answer_times_out(void) {
    char why[200] = "";
    double t0 = (double)time(NULL);
    CHECK(display_request_send(pair[0], DISPLAY_SHOW, "a", "{}", 2, 0.2, why, sizeof why) == -1);
    CHECK(strstr(why, "did not take the display") != NULL);
    CHECK((double)time(NULL) - t0 < 3);
    display_request req;
    CHECK(receive(&req) == 1);  /* late: answering it harms nobody */
    display_request_answer(&req, NULL);
    display_request_clear(&req);
}

/* A header as display_socket.c lays it out: magic, kind, id length, bundle size, in_memfd. */
static void send_raw(const char *magic, unsigned kind, unsigned id_length, unsigned size, unsigned in_memfd,
                     size_t extra) {
    char datagram[256] = {0};
    memcpy(datagram, magic, 4);
    unsigned fields[4] = {kind, id_length, size, in_memfd};
    memcpy(datagram + 4, fields, sizeof fields);
    CHECK(send(pair[0], datagram, 20 + extra, 0) == (ssize_t)(20 + extra));
}

static void expect_refused(const char *reason) {
    display_request req;
    CHECK(receive(&req) == 1);
    CHECK(req.kind == 0 && req.malformed && strstr(req.malformed, reason));
    if (req.malformed && !strstr(req.malformed, reason)) fprintf(stderr, "  refused as: %s\n", req.malformed);
    CHECK(req.bundle == NULL);
    display_request_clear(&req);
}

static void test_malformed_datagrams(void) {
    CHECK(send(pair[0], "CLD", 3, 0) == 3);
    expect_refused("cut short");
    send_raw("XXXX", DISPLAY_SHOW, 0, 0, 0, 0);
    expect_refused("not a display request");
    send_raw("CLD1", 9, 0, 0, 0, 0);
    expect_refused("unknown kind");
    send_raw("CLD1", DISPLAY_SHOW, 3, 10, 0, 5);
    expect_refused("wrong length");
    send_raw("CLD1", DISPLAY_SHOW, DISPLAY_MAX_ID + 1, 0, 0, DISPLAY_MAX_ID + 1);
    expect_refused("too big");
    send_raw("CLD1", DISPLAY_SHOW, 0, 100, 1, 0);
    expect_refused("without its bundle");
    /* the socket goes on: a good request after the bad ones is read whole */
    round_trip(DISPLAY_SHOW, "cl-9-9", 64, NULL);
}

static int open_descriptors(void) {
    int n = 0;
    for (int fd = 0; fd < 4096; fd++)
        if (fcntl(fd, F_GETFD) >= 0) n++;
    return n;
}

/* A datagram with descriptors and nothing else, as a cell could send a thousand of. */
static void send_descriptors_only(const char *data, size_t size, int fd) {
    struct iovec iov = {(void *)data, size};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof control.buf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    CHECK(sendmsg(pair[0], &msg, 0) == (ssize_t)size);
}

static void test_descriptors_a_cell_passes_are_never_kept(void) {
    int answer[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, answer) == 0);
    int before = open_descriptors();
    for (int i = 0; i < 50; i++) {
        send_descriptors_only("", 0, i % 2 ? 1 : answer[1]);  /* empty: recvmsg reads 0, as at end of stream */
        expect_refused(i % 2 ? "not a local socket" : "cut short");
    }
    CHECK(open_descriptors() == before);
    close(answer[0]);
    close(answer[1]);
    before = open_descriptors();
    int p[2];
    CHECK(pipe(p) == 0);
    char header[20] = "CLD1";
    unsigned fields[4] = {DISPLAY_SHOW, 0, 2, 0};
    memcpy(header + 4, fields, sizeof fields);
    char datagram[22];
    memcpy(datagram, header, 20);
    memcpy(datagram + 20, "{}", 2);
    send_descriptors_only(datagram, sizeof datagram, p[1]);  /* its "answer socket" is a pipe */
    expect_refused("not a local socket");
    close(p[0]);
    close(p[1]);
    CHECK(open_descriptors() == before);
}

static void test_odd_ids_are_refused(void) {
    char datagram[40] = "CLD1";
    unsigned fields[4] = {DISPLAY_SHOW, 3, 2, 0};
    memcpy(datagram + 4, fields, sizeof fields);
    memcpy(datagram + 20, "a\"b{}", 5);
    CHECK(send(pair[0], datagram, 25, 0) == 25);
    expect_refused("letters, digits");
}

static void test_closed_peer(void) {
    close(pair[0]);
    display_request req;
    CHECK(display_request_receive(pair[1], &req) == -1);
    close(pair[1]);
}

int main(void) {
    CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) == 0);
    test_round_trips();
    test_writer_limits();
    test_no_answer_times_out();
    test_malformed_datagrams();
    test_descriptors_a_cell_passes_are_never_kept();
    test_odd_ids_are_refused();
    test_closed_peer();
    return check_summary("test_display_socket");
}
