/* test_server.c — the live transport: a server on loopback ports and a client made of plain
 * libzmq sockets, as jupyter_client would connect them. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "check.h"
#include "server.h"

#define KEY "test-key-5c1a"
#define K ((const unsigned char *)KEY)
#define KEYLEN (sizeof KEY - 1)

static long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Asks the kernel for five distinct free ports: bind them all to port 0, then release them. */
static int free_ports(int ports[5]) {
    int fds[5];
    for (int i = 0; i < 5; i++) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof a;
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&a, sizeof a) != 0 ||
            getsockname(fds[i], (struct sockaddr *)&a, &len) != 0)
            return -1;
        ports[i] = ntohs(a.sin_port);
    }
    for (int i = 0; i < 5; i++) close(fds[i]);
    return 0;
}

static int connection_for_test(connection_info *ci, const char *key) {
    int p[5];
    if (free_ports(p) != 0) return -1;
    char path[] = "/tmp/conclab-server-test-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return -1;
    FILE *f = fdopen(fd, "w");
    fprintf(f, "{\"shell_port\":%d,\"iopub_port\":%d,\"stdin_port\":%d,\"control_port\":%d,\"hb_port\":%d,"
               "\"ip\":\"127.0.0.1\",\"key\":\"%s\",\"transport\":\"tcp\",\"signature_scheme\":\"hmac-sha256\"}",
            p[0], p[1], p[2], p[3], p[4], key);
    fclose(f);
    char *err = NULL;
    int rc = connection_load(path, ci, &err);
    if (rc != 0) fprintf(stderr, "connection_load: %s\n", err);
    free(err);
    unlink(path);
    return rc;
}

/* Ports found free can be taken by someone else before the server binds them (tests run in
 * parallel), so try a few sets. */
static server *start_on_free_ports(connection_info *ci, const char *key, server_control_handler handler,
                                   void *ctx) {
    for (int attempt = 0; attempt < 5; attempt++) {
        char *err = NULL;
        server *srv = connection_for_test(ci, key) == 0 ? server_start(ci, handler, ctx, &err) : NULL;
        if (srv) return srv;
        fprintf(stderr, "server_start: %s (retrying)\n", err ? err : "no connection file");
        free(err);
    }
    return NULL;
}

/* ---- a tiny client ---------------------------------------------------------------------- */

static void *zctx;

static void *client_socket(int type, const connection_info *ci, int port, const char *identity) {
    void *s = zmq_socket(zctx, type);
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    if (identity) zmq_setsockopt(s, ZMQ_ROUTING_ID, identity, strlen(identity));
    if (type == ZMQ_SUB) zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0);
    char ep[128];
    connection_endpoint(ci, port, ep, sizeof ep);
    CHECK(zmq_connect(s, ep) == 0);
    return s;
}

/* A subscriber that takes one message at a time through a tiny TCP buffer, so what the server
 * publishes piles up on the server's side. */
static void *slow_subscriber(const connection_info *ci) {
    void *s = zmq_socket(zctx, ZMQ_SUB);
    int zero = 0, one = 1, small = 4096;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_RCVHWM, &one, sizeof one);
    zmq_setsockopt(s, ZMQ_RCVBUF, &small, sizeof small);
    zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0);
    char ep[128];
    connection_endpoint(ci, ci->iopub_port, ep, sizeof ep);
    CHECK(zmq_connect(s, ep) == 0);
    return s;
}

static int send_all(void *sock, const wire_frame *frames, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (zmq_send(sock, frames[i].data, frames[i].size, i + 1 < n ? ZMQ_SNDMORE : 0) < 0) return -1;
    return 0;
}

/* Sends a request signed with key; returns its msg_id (malloc'd). */
static char *send_request(void *sock, const char *msg_type, json_t *content, const unsigned char *key,
                          size_t key_len) {
    wire_msg m = {.header = wire_header_new(msg_type, "client-session"),
                  .parent_header = json_object(),
                  .metadata = json_object(),
                  .content = content ? content : json_object()};
    char *id = strdup(json_string_value(json_object_get(m.header, "msg_id")));
    wire_frame *frames;
    long n = wire_encode(&m, key, key_len, &frames);
    CHECK(n == 6 && send_all(sock, frames, (size_t)n) == 0);
    wire_frames_free(frames, (size_t)n);
    wire_msg_clear(&m);
    return id;
}

/* Receives one multipart message within timeout_ms, decoding it with the key. 1 or 0. */
static int client_recv(void *sock, int timeout_ms, wire_msg *out) {
    zmq_pollitem_t item = {.socket = sock, .events = ZMQ_POLLIN};
    if (zmq_poll(&item, 1, timeout_ms) <= 0) return 0;
    wire_frame frames[32];
    size_t n = 0;
    int more = 1;
    while (more && n < 32) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, 0) < 0) break;
        frames[n].size = zmq_msg_size(&m);
        frames[n].data = malloc(frames[n].size + 1);
        memcpy(frames[n].data, zmq_msg_data(&m), frames[n].size);
        more = zmq_msg_more(&m);
        zmq_msg_close(&m);
        n++;
    }
    char *err = NULL;
    wire_status st = wire_decode(frames, n, K, KEYLEN, out, &err);
    if (st != WIRE_OK) fprintf(stderr, "client_recv: %s\n", err);
    free(err);
    for (size_t i = 0; i < n; i++) free(frames[i].data);
    return st == WIRE_OK;
}

static const char *field(json_t *obj, const char *key) {
    return json_string_value(json_object_get(obj, key));
}

/* Runs fn with stderr sent to a file; returns what it wrote (malloc'd). */
static char *capture_stderr(int (*fn)(void *), void *arg, int *result) {
    char path[] = "/tmp/conclab-stderr-XXXXXX";
    int fd = mkstemp(path);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    *result = fn(arg);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char *text = calloc(1, 4096);
    lseek(fd, 0, SEEK_SET);
    ssize_t got = read(fd, text, 4095);
    (void)got;
    close(fd);
    unlink(path);
    return text;
}

/* ---- the control handler ---------------------------------------------------------------- */

typedef struct control_log {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int calls;
    pthread_t thread;
    char last_type[64];
} control_log;

static void on_control(server *srv, wire_msg *msg, void *ctx) {
    control_log *log = ctx;
    const char *type = wire_msg_type(msg);
    server_send(srv, CHANNEL_CONTROL, msg, "shutdown_reply", json_pack("{s:s,s:b}", "status", "ok", "restart", 0),
                NULL);
    if (strcmp(type, "stop_request") == 0) server_request_stop(srv);  /* from inside the handler */
    pthread_mutex_lock(&log->lock);
    log->calls++;
    log->thread = pthread_self();
    snprintf(log->last_type, sizeof log->last_type, "%s", type);
    pthread_cond_broadcast(&log->changed);
    pthread_mutex_unlock(&log->lock);
}

static int wait_calls(control_log *log, int calls, int timeout_ms) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
    pthread_mutex_lock(&log->lock);
    while (log->calls < calls)
        if (pthread_cond_timedwait(&log->changed, &log->lock, &until) != 0) break;
    int got = log->calls;
    pthread_mutex_unlock(&log->lock);
    return got;
}

/* ---- the tests -------------------------------------------------------------------------- */

typedef struct live {
    server *srv;
    connection_info ci;
    control_log log;
    void *shell, *control, *stdin_sock, *hb, *iopub, *slow_iopub;
} live;

static void test_shell_round_trip(live *t, wire_msg *request) {
    char *id = send_request(t->shell, "kernel_info_request", NULL, K, KEYLEN);
    CHECK(server_recv_shell(t->srv, 3000, request) == 1);
    CHECK_STR(wire_msg_type(request), "kernel_info_request");
    CHECK_STR(field(request->header, "msg_id"), id);
    CHECK(request->n_identities == 1 && request->identities[0].size == 8 &&
          memcmp(request->identities[0].data, "client-1", 8) == 0);

    CHECK(server_send(t->srv, CHANNEL_SHELL, request, "kernel_info_reply",
                      json_pack("{s:s}", "protocol_version", "5.3"), NULL) == 0);
    wire_msg reply;
    CHECK(client_recv(t->shell, 3000, &reply) == 1);  /* decoded with the key: signature valid */
    CHECK_STR(wire_msg_type(&reply), "kernel_info_reply");
    CHECK_STR(field(reply.parent_header, "msg_id"), id);
    CHECK_STR(field(reply.header, "session"), server_session(t->srv));
    CHECK_STR(field(reply.content, "protocol_version"), "5.3");
    CHECK(json_object_size(reply.metadata) == 0);
    wire_msg_clear(&reply);
    free(id);
}

typedef struct recv_call {
    live *t;
    int timeout_ms;
} recv_call;

static int recv_and_discard(void *arg) {
    recv_call *c = arg;
    wire_msg m;
    int rc = server_recv_shell(c->t->srv, c->timeout_ms, &m);
    if (rc == 1) wire_msg_clear(&m);
    return rc;
}

static void test_bad_messages_dropped(live *t) {
    /* signed with the wrong key */
    char *id = send_request(t->shell, "execute_request", NULL, (const unsigned char *)"wrong", 5);
    recv_call call = {t, 400};
    int rc;
    char *log = capture_stderr(recv_and_discard, &call, &rc);
    CHECK(rc == 0);
    CHECK(strstr(log, "conclab: dropped message on shell: bad signature\n") != NULL);
    free(log);
    free(id);

    /* unsigned while the kernel has a key */
    id = send_request(t->shell, "execute_request", NULL, NULL, 0);
    log = capture_stderr(recv_and_discard, &call, &rc);
    CHECK(rc == 0);
    CHECK(strstr(log, "dropped message on shell: missing signature") != NULL);
    free(log);
    free(id);

    /* no delimiter at all */
    zmq_send(t->shell, "garbage", 7, ZMQ_SNDMORE);
    zmq_send(t->shell, "more", 4, 0);
    log = capture_stderr(recv_and_discard, &call, &rc);
    CHECK(rc == 0);
    CHECK(strstr(log, "dropped message on shell: no <IDS|MSG> delimiter") != NULL);
    free(log);

    /* too many frames */
    zmq_send(t->shell, "<IDS|MSG>", 9, ZMQ_SNDMORE);
    for (int i = 0; i < 1500; i++) zmq_send(t->shell, "x", 1, ZMQ_SNDMORE);
    zmq_send(t->shell, "x", 1, 0);
    log = capture_stderr(recv_and_discard, &call, &rc);
    CHECK(rc == 0);
    CHECK(strstr(log, "dropped message on shell: too many frames") != NULL);
    free(log);

    /* after all that, a good message still gets through, and nothing is queued before it */
    id = send_request(t->shell, "is_complete_request", NULL, K, KEYLEN);
    wire_msg m;
    CHECK(server_recv_shell(t->srv, 3000, &m) == 1);
    CHECK_STR(field(m.header, "msg_id"), id);
    wire_msg_clear(&m);
    free(id);

    long start = now_ms();
    CHECK(server_recv_shell(t->srv, 0, &m) == 0);  /* nothing waiting: returns at once */
    CHECK(server_recv_shell(t->srv, 150, &m) == 0);
    long took = now_ms() - start;
    CHECK(took >= 140 && took < 1000);
}

static void test_heartbeat(live *t) {
    CHECK(zmq_send(t->hb, "ping", 4, 0) == 4);
    zmq_pollitem_t item = {.socket = t->hb, .events = ZMQ_POLLIN};
    CHECK(zmq_poll(&item, 1, 3000) == 1);
    char buf[16] = "";
    CHECK(zmq_recv(t->hb, buf, sizeof buf, ZMQ_DONTWAIT) == 4 && memcmp(buf, "ping", 4) == 0);

    CHECK(zmq_send(t->hb, "a", 1, ZMQ_SNDMORE) == 1 && zmq_send(t->hb, "bc", 2, 0) == 2);
    CHECK(zmq_poll(&item, 1, 3000) == 1);
    int more = 0;
    size_t more_size = sizeof more;
    CHECK(zmq_recv(t->hb, buf, sizeof buf, 0) == 1 && buf[0] == 'a');
    zmq_getsockopt(t->hb, ZMQ_RCVMORE, &more, &more_size);
    CHECK(more == 1);
    CHECK(zmq_recv(t->hb, buf, sizeof buf, 0) == 2 && memcmp(buf, "bc", 2) == 0);
}

/* The topic frame comes first; decoding sees it as the one identity. */
static int recv_status(live *t, const char *state, const char *parent_id, int timeout_ms) {
    long until = now_ms() + timeout_ms;
    wire_msg m;
    while (now_ms() < until && client_recv(t->iopub, 100, &m)) {
        int match = strcmp(wire_msg_type(&m), "status") == 0 &&
                    strcmp(field(m.content, "execution_state"), state) == 0 &&
                    (!parent_id || (field(m.parent_header, "msg_id") &&
                                    strcmp(field(m.parent_header, "msg_id"), parent_id) == 0));
        if (match) {
            char topic[128];
            snprintf(topic, sizeof topic, "kernel.%s.status", server_session(t->srv));
            CHECK(m.n_identities == 1 && m.identities[0].size == strlen(topic) &&
                  memcmp(m.identities[0].data, topic, strlen(topic)) == 0);
            CHECK_STR(field(m.header, "session"), server_session(t->srv));
        }
        wire_msg_clear(&m);
        if (match) return 1;
    }
    return 0;
}

static void test_iopub(live *t, const wire_msg *parent) {
    /* A SUB joins late; publish until it hears one (ZeroMQ's slow joiner). */
    int heard = 0;
    for (int i = 0; i < 50 && !heard; i++) {
        CHECK(server_publish_status(t->srv, NULL, "starting") == 0);
        heard = recv_status(t, "starting", NULL, 100);
    }
    CHECK(heard);
    CHECK(server_publish_status(t->srv, parent, "busy") == 0);
    CHECK(recv_status(t, "busy", field(parent->header, "msg_id"), 3000));
}

typedef struct publisher {
    live *t;
    int count;
} publisher;

static void *publish_many(void *arg) {
    publisher *p = arg;
    for (int i = 0; i < p->count; i++)
        server_send(p->t->srv, CHANNEL_IOPUB, NULL, "stream",
                    json_pack("{s:s,s:i}", "name", "stdout", "i", i), NULL);
    return NULL;
}

/* Two threads publishing at once: every message arrives whole and validly signed. */
static void test_iopub_from_two_threads(live *t) {
    wire_msg m;
    while (client_recv(t->iopub, 50, &m)) wire_msg_clear(&m);  /* drain */
    publisher p = {t, 300};
    pthread_t other;
    pthread_create(&other, NULL, publish_many, &p);
    publish_many(&p);
    pthread_join(other, NULL);
    int got = 0;
    while (got < 2 * p.count && client_recv(t->iopub, 2000, &m)) {
        if (strcmp(wire_msg_type(&m), "stream") == 0) got++;
        wire_msg_clear(&m);
    }
    CHECK(got == 2 * p.count);
}

static void test_stdin(live *t, const wire_msg *execute_request) {
    CHECK(server_send(t->srv, CHANNEL_STDIN, execute_request, "input_request",
                      json_pack("{s:s,s:b}", "prompt", "n? ", "password", 0), NULL) == 0);
    wire_msg req;
    CHECK(client_recv(t->stdin_sock, 3000, &req) == 1);
    CHECK_STR(wire_msg_type(&req), "input_request");
    CHECK_STR(field(req.content, "prompt"), "n? ");
    wire_msg_clear(&req);

    char *id = send_request(t->stdin_sock, "input_reply", json_pack("{s:s}", "value", "42"), K, KEYLEN);
    wire_msg reply;
    CHECK(server_recv_stdin(t->srv, 3000, &reply) == 1);
    CHECK_STR(wire_msg_type(&reply), "input_reply");
    CHECK_STR(field(reply.content, "value"), "42");
    wire_msg_clear(&reply);
    free(id);

    /* no parent, no route on a ROUTER channel */
    CHECK(server_send(t->srv, CHANNEL_STDIN, NULL, "input_request", json_object(), NULL) == -1);
}

static void test_control_thread(live *t) {
    int before = wait_calls(&t->log, 0, 0);
    free(send_request(t->control, "interrupt_request", NULL, (const unsigned char *)"bad", 3));
    char *id = send_request(t->control, "kernel_info_request", NULL, K, KEYLEN);
    CHECK(wait_calls(&t->log, before + 1, 3000) == before + 1);
    usleep(100 * 1000);
    CHECK(wait_calls(&t->log, 0, 0) == before + 1);  /* the badly signed one never reached it */
    pthread_mutex_lock(&t->log.lock);
    CHECK(!pthread_equal(t->log.thread, pthread_self()));
    CHECK_STR(t->log.last_type, "kernel_info_request");
    pthread_mutex_unlock(&t->log.lock);

    wire_msg reply;
    CHECK(client_recv(t->control, 3000, &reply) == 1);
    CHECK_STR(field(reply.parent_header, "msg_id"), id);
    wire_msg_clear(&reply);
    free(id);
}

typedef struct listener {
    void *sock;
    int heard;
} listener;

/* Counts stream messages until the publisher has been quiet for a second. */
static void *count_streams(void *arg) {
    listener *l = arg;
    wire_msg m;
    while (client_recv(l->sock, 1000, &m)) {
        l->heard += strcmp(wire_msg_type(&m), "stream") == 0;
        wire_msg_clear(&m);
    }
    return NULL;
}

/* The handler stops the server: the shell wait returns -1 at once, and its reply still leaves. */
static void test_stop_from_handler(live *t) {
    char *id = send_request(t->control, "stop_request", NULL, K, KEYLEN);
    wire_msg m;
    long start = now_ms();
    CHECK(server_recv_shell(t->srv, 10000, &m) == -1);
    CHECK(now_ms() - start < 3000);
    CHECK(server_stopping(t->srv));
    CHECK(server_recv_stdin(t->srv, 10000, &m) == -1);

    /* Output published on the way out is flushed by server_free, not thrown away: the slow
     * subscriber keeps most of it queued in the server when server_free begins. */
    wire_msg m2;
    while (client_recv(t->slow_iopub, 200, &m2)) wire_msg_clear(&m2);  /* drain earlier traffic */
    static char text[65536];
    memset(text, 'o', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    listener last_words = {.sock = t->slow_iopub};
    int sent = 100;
    for (int i = 0; i < sent; i++)
        CHECK(server_send(t->srv, CHANNEL_IOPUB, NULL, "stream",
                          json_pack("{s:s,s:s}", "name", "stdout", "text", text), NULL) == 0);

    pthread_t reader;
    pthread_create(&reader, NULL, count_streams, &last_words);
    start = now_ms();
    server_free(t->srv);
    t->srv = NULL;
    long free_took = now_ms() - start;
    CHECK(free_took < 2500);
    pthread_join(reader, NULL);
    CHECK(last_words.heard == sent);
    if (getenv("CONCLAB_TEST_VERBOSE") || last_words.heard != sent)
        fprintf(stderr, "  heard %d of %d, server_free took %ld ms\n", last_words.heard, sent, free_took);

    wire_msg reply;
    CHECK(client_recv(t->control, 3000, &reply) == 1);
    CHECK_STR(field(reply.parent_header, "msg_id"), id);
    wire_msg_clear(&reply);
    free(id);
}

static void test_live(void) {
    live t = {.log = {.lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER}};
    t.srv = start_on_free_ports(&t.ci, KEY, on_control, &t.log);
    CHECK(t.srv != NULL);
    if (!t.srv) return;
    CHECK(strlen(server_session(t.srv)) == 36);
    t.shell = client_socket(ZMQ_DEALER, &t.ci, t.ci.shell_port, "client-1");
    t.stdin_sock = client_socket(ZMQ_DEALER, &t.ci, t.ci.stdin_port, "client-1");
    t.control = client_socket(ZMQ_DEALER, &t.ci, t.ci.control_port, "client-1c");
    t.hb = client_socket(ZMQ_REQ, &t.ci, t.ci.hb_port, NULL);
    t.iopub = client_socket(ZMQ_SUB, &t.ci, t.ci.iopub_port, NULL);
    t.slow_iopub = slow_subscriber(&t.ci);

    wire_msg request;
    test_shell_round_trip(&t, &request);
    test_bad_messages_dropped(&t);
    test_heartbeat(&t);
    test_iopub(&t, &request);
    test_iopub_from_two_threads(&t);
    test_stdin(&t, &request);
    test_control_thread(&t);
    wire_msg_clear(&request);
    test_stop_from_handler(&t);

    void *socks[] = {t.shell, t.stdin_sock, t.control, t.hb, t.iopub, t.slow_iopub};
    for (int i = 0; i < 6; i++) zmq_close(socks[i]);
}

/* Stopping from another thread while the main thread waits with no timeout. */
static void *stop_later(void *arg) {
    usleep(200 * 1000);
    server_request_stop(arg);
    return NULL;
}

static void test_stop_from_other_thread(void) {
    connection_info ci;
    server *srv = start_on_free_ports(&ci, "", NULL, NULL);  /* and unsigned, for once */
    CHECK(srv != NULL);
    if (!srv) return;
    void *shell = client_socket(ZMQ_DEALER, &ci, ci.shell_port, "c");
    free(send_request(shell, "execute_request", NULL, NULL, 0));
    wire_msg m;
    CHECK(server_recv_shell(srv, 3000, &m) == 1);  /* unsigned is fine with no key */
    wire_msg_clear(&m);

    pthread_t stopper;
    pthread_create(&stopper, NULL, stop_later, srv);
    long start = now_ms();
    CHECK(server_recv_shell(srv, -1, &m) == -1);
    CHECK(now_ms() - start < 3000);
    pthread_join(stopper, NULL);
    server_request_stop(srv);  /* twice is fine */
    server_free(srv);
    zmq_close(shell);
}

static void test_bind_failure(void) {
    connection_info ci;
    CHECK(connection_for_test(&ci, KEY) == 0);
    /* hold the control port with a listening socket */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                            .sin_port = htons((uint16_t)ci.control_port)};
    CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(fd, 1) == 0);
    char *err = NULL;
    server *srv = server_start(&ci, NULL, NULL, &err);
    CHECK(srv == NULL);
    char want[64];
    snprintf(want, sizeof want, "cannot bind control to tcp://127.0.0.1:%d", ci.control_port);
    CHECK(err && strstr(err, want));
    if (err && !strstr(err, want)) fprintf(stderr, "  got: %s\n", err);
    free(err);
    server_free(srv);  /* NULL is fine */
    close(fd);

    /* once the port is free again, the same file works: the failed start released the others */
    srv = server_start(&ci, NULL, NULL, NULL);
    CHECK(srv != NULL);
    server_free(srv);
}

int main(void) {
    zctx = zmq_ctx_new();
    test_bind_failure();
    test_live();
    test_stop_from_other_thread();
    zmq_ctx_term(zctx);
    return check_summary("test_server");
}
