/* server.c — the five ZeroMQ channels of a Jupyter kernel.
 *
 * Threads and who touches which socket (ZeroMQ sockets are not thread-safe):
 *   - the caller's thread (the kernel's main loop) receives and replies on shell and stdin;
 *   - the control thread receives on control and runs the handler, which replies on control;
 *   - the heartbeat thread echoes on hb;
 *   - iopub is published from any thread; every send goes through one mutex.
 *
 * Stopping: server_request_stop sets a flag and writes one byte to a pipe that nobody drains.
 * Every wait polls that pipe beside its socket, so all of them wake at once and stay awake,
 * while the sockets stay open: replies sent on the way out (shutdown_reply, the last status)
 * still leave, and server_free flushes them within the linger time. */
#define _GNU_SOURCE
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "digest_history.h"
#include "error_text.h"
#include "monotonic.h"

/* A Jupyter message has a few identities, six fixed frames and rarely many buffers; more than
 * this is an attack or a bug, and is dropped without buffering it all. */
#define MAX_FRAMES 1024
/* Long enough for the last replies and statuses to reach a connected client on shutdown; it
 * only delays server_free when a client is connected but not reading. */
#define REPLY_LINGER_MS 1000
/* iopub carries a cell's streamed output; the default 1000 would drop output in bursts. */
#define IOPUB_SNDHWM 10000
#define HEARTBEAT_MAX_FRAMES 16

struct server {
    void *zmq;
    void *shell, *control, *iopub, *stdin_sock, *hb;
    unsigned char key[sizeof ((connection_info *)0)->key];
    size_t key_len;
    digest_history digests;  /* signatures seen: replays are dropped (signed sessions only) */
    bool has_digests;
    char session[40];

    pthread_mutex_t send_lock;
    atomic_int stopping;
    int wake[2];  /* stop pipe: [0] polled by every wait, [1] written once by request_stop */

    server_control_handler on_control;
    void *on_control_ctx;
    pthread_t hb_thread, control_thread;
    int hb_started, control_started;
};

static const char *channel_name(void *sock, const server *srv) {
    if (sock == srv->shell) return "shell";
    if (sock == srv->control) return "control";
    if (sock == srv->stdin_sock) return "stdin";
    return "iopub";
}

static long now_ms(void) { return (long)monotonic_ms(); }

/* ---- receiving -------------------------------------------------------------------------- */

/* One multipart message as received: the zmq messages own the bytes, frames point into them. */
typedef struct multipart {
    zmq_msg_t *msgs;
    wire_frame *frames;
    size_t n, cap;
    int overflow;  /* had more than MAX_FRAMES frames; the rest were discarded */
} multipart;

static void multipart_free(multipart *mp) {
    for (size_t i = 0; i < mp->n; i++) zmq_msg_close(&mp->msgs[i]);
    free(mp->msgs);
    free(mp->frames);
    memset(mp, 0, sizeof *mp);
}

static int multipart_grow(multipart *mp) {
    size_t cap = mp->cap ? mp->cap * 2 : 8;
    if (cap > MAX_FRAMES) cap = MAX_FRAMES;
    zmq_msg_t *msgs = realloc(mp->msgs, cap * sizeof *msgs);
    if (!msgs) return -1;
    mp->msgs = msgs;
    wire_frame *frames = realloc(mp->frames, cap * sizeof *frames);
    if (!frames) return -1;
    mp->frames = frames;
    mp->cap = cap;
    return 0;
}

static int recv_part(void *sock, zmq_msg_t *m) {
    zmq_msg_init(m);
    int rc;
    do rc = zmq_msg_recv(m, sock, ZMQ_DONTWAIT);
    while (rc < 0 && errno == EINTR);
    if (rc < 0) zmq_msg_close(m);
    return rc;
}

/* Reads one whole message without blocking (ZeroMQ delivers all parts of a message at once).
 * 1: a message; 0: nothing waiting; -1: the socket failed. */
static int recv_multipart(void *sock, multipart *mp) {
    for (;;) {
        if (mp->n == mp->cap && (mp->cap == MAX_FRAMES || multipart_grow(mp) != 0)) {
            zmq_msg_t excess;  /* no room: read the rest of the message and throw it away */
            if (recv_part(sock, &excess) < 0) return mp->n ? 1 : -1;
            mp->overflow = 1;
            int more = zmq_msg_more(&excess);
            zmq_msg_close(&excess);
            if (!more) return 1;
            continue;
        }
        zmq_msg_t *m = &mp->msgs[mp->n];
        if (recv_part(sock, m) < 0) {
            if (mp->n) return 1;  /* cannot happen mid-message; decode will reject the stump */
            return errno == EAGAIN ? 0 : -1;
        }
        mp->n++;
        if (!zmq_msg_more(m)) return 1;
    }
}

/* A signed message whose signature arrived before: the same bytes sent again. */
static bool is_replay(server *srv, const multipart *mp) {
    if (!srv->has_digests) return false;
    for (size_t i = 0; i + 1 < mp->n; i++)
        if (mp->frames[i].size == 9 && memcmp(mp->frames[i].data, "<IDS|MSG>", 9) == 0)
            return !digest_history_add(&srv->digests, mp->frames[i + 1].data, mp->frames[i + 1].size);
    return false;
}

/* Takes one message off a readable socket. 1: a valid message in *out; 0: none, or one that was
 * dropped (logged); -1: the socket failed. */
static int take_message(server *srv, void *sock, wire_msg *out) {
    multipart mp = {0};
    int rc = recv_multipart(sock, &mp);
    if (rc == 1) {
        /* Point at the parts only now: growing the array moved the zmq_msg_t structs, and small
         * messages keep their bytes inside the struct itself. */
        for (size_t i = 0; i < mp.n; i++) {
            mp.frames[i].data = zmq_msg_data(&mp.msgs[i]);
            mp.frames[i].size = zmq_msg_size(&mp.msgs[i]);
        }
        char *why = NULL;
        wire_status st = mp.overflow ? WIRE_MALFORMED
                                     : wire_decode(mp.frames, mp.n, srv->key, srv->key_len, out, &why);
        if (st != WIRE_OK) {
            fprintf(stderr, "conclab: dropped message on %s: %s\n", channel_name(sock, srv),
                    why ? why : mp.overflow ? "too many frames" : "malformed");
            rc = 0;
        } else if (is_replay(srv, &mp)) {
            fprintf(stderr, "conclab: dropped message on %s: a replay (its signature was seen before)\n",
                    channel_name(sock, srv));
            wire_msg_clear(out);
            rc = 0;
        }
        free(why);
    }
    multipart_free(&mp);
    return rc;
}

/* Waits for a valid message on sock, or for stop. 1: *out filled; 0: timeout; -1: stopping.
 * *out is empty unless 1, so clearing it is always safe. */
static int wait_message(server *srv, void *sock, int timeout_ms, wire_msg *out) {
    memset(out, 0, sizeof *out);
    long deadline = timeout_ms >= 0 ? now_ms() + timeout_ms : 0;
    for (;;) {
        if (atomic_load(&srv->stopping)) return -1;
        long wait = timeout_ms >= 0 ? deadline - now_ms() : -1;
        if (timeout_ms >= 0 && wait < 0) wait = 0;
        zmq_pollitem_t items[2] = {
            {.socket = sock, .events = ZMQ_POLLIN},
            {.fd = srv->wake[0], .events = ZMQ_POLLIN},
        };
        int rc = zmq_poll(items, 2, wait);
        if (rc < 0 && errno != EINTR) return -1;
        if (atomic_load(&srv->stopping)) return -1;
        if (rc > 0 && (items[0].revents & ZMQ_POLLIN)) {
            int got = take_message(srv, sock, out);
            if (got != 0) return got;
        }
        if (timeout_ms >= 0 && deadline - now_ms() <= 0) return 0;
    }
}

int server_recv_shell(server *srv, int timeout_ms, wire_msg *out) {
    return wait_message(srv, srv->shell, timeout_ms, out);
}

int server_recv_stdin(server *srv, int timeout_ms, wire_msg *out) {
    return wait_message(srv, srv->stdin_sock, timeout_ms, out);
}

/* ---- sending ---------------------------------------------------------------------------- */

static int send_frames(void *sock, const wire_frame *frames, long n) {
    for (long i = 0; i < n; i++) {
        int flags = i + 1 < n ? ZMQ_SNDMORE : 0;
        int rc;
        do rc = zmq_send(sock, frames[i].data, frames[i].size, flags);
        while (rc < 0 && errno == EINTR);
        if (rc < 0) return -1;
    }
    return 0;
}

static void *channel_socket(server *srv, server_channel ch) {
    switch (ch) {
    case CHANNEL_SHELL: return srv->shell;
    case CHANNEL_CONTROL: return srv->control;
    case CHANNEL_IOPUB: return srv->iopub;
    case CHANNEL_STDIN: return srv->stdin_sock;
    }
    return NULL;
}

int server_send(server *srv, server_channel ch, const wire_msg *parent, const char *msg_type,
                json_t *content, json_t *metadata) {
    void *sock = channel_socket(srv, ch);
    wire_msg msg = {
        .header = wire_header_new(msg_type, srv->session),
        .parent_header = parent && parent->header ? json_incref(parent->header) : json_object(),
        .metadata = metadata ? metadata : json_object(),
        .content = content ? content : json_object(),
    };
    /* iopub is addressed by topic; the other channels route back to the parent's sender. */
    char topic[256];
    wire_frame topic_frame = {(unsigned char *)topic, 0};
    if (ch == CHANNEL_IOPUB) {
        int len = snprintf(topic, sizeof topic, "kernel.%s.%s", srv->session, msg_type ? msg_type : "");
        topic_frame.size = len < (int)sizeof topic ? (size_t)len : sizeof topic - 1;
        msg.identities = &topic_frame;
        msg.n_identities = 1;
    } else if (parent) {
        msg.identities = parent->identities;
        msg.n_identities = parent->n_identities;
    }

    int rc = -1;
    if (!sock || !msg.header || !msg.parent_header || !msg.metadata || !msg.content) {
        fprintf(stderr, "conclab: cannot build %s message\n", msg_type ? msg_type : "(null)");
    } else if (ch != CHANNEL_IOPUB && msg.n_identities == 0) {
        fprintf(stderr, "conclab: cannot route %s: no parent identities\n", msg_type);
    } else {
        /* One lock for every send: iopub is shared between threads, and replies and output that
         * share a parent must not serialize the same JSON object at the same time. */
        wire_frame *frames;
        pthread_mutex_lock(&srv->send_lock);
        long n = wire_encode(&msg, srv->key, srv->key_len, &frames);
        if (n > 0) rc = send_frames(sock, frames, n);
        int send_errno = errno;
        pthread_mutex_unlock(&srv->send_lock);
        if (n > 0) wire_frames_free(frames, (size_t)n);
        if (n <= 0) fprintf(stderr, "conclab: cannot encode %s\n", msg_type);
        else if (rc != 0) fprintf(stderr, "conclab: cannot send %s: %s\n", msg_type, zmq_strerror(send_errno));
    }
    msg.identities = NULL;  /* borrowed */
    msg.n_identities = 0;
    wire_msg_clear(&msg);
    return rc;
}

int server_publish_status(server *srv, const wire_msg *parent, const char *state) {
    json_t *content = json_pack("{s:s}", "execution_state", state);
    if (!content) return -1;
    return server_send(srv, CHANNEL_IOPUB, parent, "status", content, NULL);
}

/* ---- threads ---------------------------------------------------------------------------- */

/* Waits until sock is readable or stop is requested. 1: readable; 0: stopping or failed. */
static int wait_readable(server *srv, void *sock) {
    for (;;) {
        zmq_pollitem_t items[2] = {
            {.socket = sock, .events = ZMQ_POLLIN},
            {.fd = srv->wake[0], .events = ZMQ_POLLIN},
        };
        int rc = zmq_poll(items, 2, -1);
        if (atomic_load(&srv->stopping)) return 0;
        if (rc < 0 && errno != EINTR) return 0;
        if (rc > 0 && (items[0].revents & ZMQ_POLLIN)) return 1;
    }
}

/* REP must take the whole request before it may answer, so gather, then send back. */
static void echo_one(void *sock) {
    zmq_msg_t parts[HEARTBEAT_MAX_FRAMES];
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t m;
        if (recv_part(sock, &m) < 0) break;
        more = zmq_msg_more(&m);
        if (n < HEARTBEAT_MAX_FRAMES) parts[n++] = m;
        else zmq_msg_close(&m);
    }
    for (int i = 0; i < n; i++) {
        if (zmq_msg_send(&parts[i], sock, i + 1 < n ? ZMQ_SNDMORE : 0) < 0) {
            for (int j = i; j < n; j++) zmq_msg_close(&parts[j]);
            break;
        }
    }
}

static void *heartbeat_main(void *arg) {
    server *srv = arg;
    while (wait_readable(srv, srv->hb)) echo_one(srv->hb);
    return NULL;
}

static void *control_main(void *arg) {
    server *srv = arg;
    wire_msg msg;
    while (wait_message(srv, srv->control, -1, &msg) == 1) {
        if (srv->on_control) srv->on_control(srv, &msg, srv->on_control_ctx);
        wire_msg_clear(&msg);
    }
    return NULL;
}

/* Signals (SIGINT from Jupyter's interrupt, SIGCHLD from the executor) belong to the kernel's
 * main thread; our threads are started with every signal blocked so none lands on them. */
static int start_threads(server *srv, char **err) {
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&srv->hb_thread, NULL, heartbeat_main, srv);
    srv->hb_started = rc == 0;
    if (rc == 0) {
        rc = pthread_create(&srv->control_thread, NULL, control_main, srv);
        srv->control_started = rc == 0;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) error_set(err, "cannot start server threads: %s", strerror(rc));
    return rc == 0 ? 0 : -1;
}

/* ---- start and stop --------------------------------------------------------------------- */

static void *open_socket(server *srv, const connection_info *ci, int type, int port,
                         const char *name, char **err) {
    void *sock = zmq_socket(srv->zmq, type);
    if (!sock) {
        error_set(err, "cannot create %s socket: %s", name, zmq_strerror(errno));
        return NULL;
    }
    int linger = type == ZMQ_REP ? 0 : REPLY_LINGER_MS;
    int one = 1, hwm = IOPUB_SNDHWM;
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    if (strchr(ci->ip, ':')) zmq_setsockopt(sock, ZMQ_IPV6, &one, sizeof one);
    /* A client that reconnects under the same identity takes over its route (as ipykernel). */
    if (type == ZMQ_ROUTER) zmq_setsockopt(sock, ZMQ_ROUTER_HANDOVER, &one, sizeof one);
    if (type == ZMQ_PUB) zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof hwm);

    char endpoint[128];
    connection_endpoint(ci, port, endpoint, sizeof endpoint);
    if (zmq_bind(sock, endpoint) != 0) {
        error_set(err, "cannot bind %s to %s: %s", name, endpoint, zmq_strerror(errno));
        zmq_close(sock);
        return NULL;
    }
    return sock;
}

static int open_sockets(server *srv, const connection_info *ci, char **err) {
    srv->zmq = zmq_ctx_new();
    if (!srv->zmq) {
        error_set(err, "cannot create a ZeroMQ context: %s", zmq_strerror(errno));
        return -1;
    }
    return (srv->shell = open_socket(srv, ci, ZMQ_ROUTER, ci->shell_port, "shell", err)) &&
                   (srv->control = open_socket(srv, ci, ZMQ_ROUTER, ci->control_port, "control", err)) &&
                   (srv->iopub = open_socket(srv, ci, ZMQ_PUB, ci->iopub_port, "iopub", err)) &&
                   (srv->stdin_sock = open_socket(srv, ci, ZMQ_ROUTER, ci->stdin_port, "stdin", err)) &&
                   (srv->hb = open_socket(srv, ci, ZMQ_REP, ci->hb_port, "heartbeat", err))
               ? 0
               : -1;
}

/* The session id is a uuid4, the same as a header's msg_id, so take one from a fresh header. */
static int new_session_id(char *out, size_t size) {
    json_t *header = wire_header_new("", "");
    const char *id = json_string_value(json_object_get(header, "msg_id"));
    int ok = id && strlen(id) < size;
    if (ok) strcpy(out, id);
    json_decref(header);
    return ok ? 0 : -1;
}

server *server_start(const connection_info *ci, server_control_handler on_control, void *ctx,
                     char **err) {
    if (err) *err = NULL;
    server *srv = calloc(1, sizeof *srv);
    if (!srv) {
        error_set(err, "out of memory");
        return NULL;
    }
    srv->wake[0] = srv->wake[1] = -1;
    srv->on_control = on_control;
    srv->on_control_ctx = ctx;
    srv->key_len = strnlen(ci->key, sizeof ci->key);
    memcpy(srv->key, ci->key, srv->key_len);
    pthread_mutex_init(&srv->send_lock, NULL);
    srv->has_digests = srv->key_len > 0 && digest_history_init(&srv->digests) == 0;

    if (new_session_id(srv->session, sizeof srv->session) != 0) {
        error_set(err, "cannot make a session id");
    } else if (pipe2(srv->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        error_set(err, "cannot create the stop pipe: %s", strerror(errno));
    } else if (open_sockets(srv, ci, err) == 0 && start_threads(srv, err) == 0) {
        return srv;
    }
    server_free(srv);
    return NULL;
}

const char *server_session(const server *srv) {
    return srv->session;
}

void server_request_stop(server *srv) {
    /* Only a flag and a write(2): safe from any thread, and from a signal handler too. */
    if (atomic_exchange(&srv->stopping, 1) == 0 && srv->wake[1] >= 0) {
        ssize_t rc;
        do rc = write(srv->wake[1], "x", 1);
        while (rc < 0 && errno == EINTR);
    }
}

int server_stopping(const server *srv) {
    return atomic_load(&srv->stopping);
}

void server_free(server *srv) {
    if (!srv) return;
    server_request_stop(srv);
    if (srv->hb_started) pthread_join(srv->hb_thread, NULL);
    if (srv->control_started) pthread_join(srv->control_thread, NULL);
    void *socks[] = {srv->shell, srv->control, srv->iopub, srv->stdin_sock, srv->hb};
    for (size_t i = 0; i < sizeof socks / sizeof socks[0]; i++)
        if (socks[i]) zmq_close(socks[i]);
    if (srv->zmq) {
        while (zmq_ctx_term(srv->zmq) != 0 && errno == EINTR) {
        }
    }
    for (int i = 0; i < 2; i++)
        if (srv->wake[i] >= 0) close(srv->wake[i]);
    pthread_mutex_destroy(&srv->send_lock);
    if (srv->has_digests) digest_history_free(&srv->digests);
    free(srv);
}
