/* stream.c — a TCP connection for tasks: connect, buffered reads, queued writes, close
 * (Python: asyncio.open_connection, StreamReader, StreamWriter).
 *
 * The loop reads every connected socket into the stream's own buffer as bytes arrive (as
 * asyncio's transport feeds its StreamReader), so a read call only copies out of the buffer, and
 * waits when it is empty; a task cancelled while waiting leaves no libuv request pointing into
 * its stack. Writes go out at once with uv_try_write when nothing is queued (the common case:
 * no copy, no request); what the kernel does not take is copied into a uv_write request. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "conclab/clock.h"
#include "report.h"
#include "stream_internal.h"

enum {
    READ_CHUNK = 16 * 1024,      /* room offered to each read from the socket */
    READ_PAUSE = 128 * 1024,     /* unread bytes at which the loop stops reading */
    WRITE_HIGH = 64 * 1024,      /* asyncio's default high-water mark of a transport */
    WRITE_LOW = 16 * 1024        /* ... and its low-water mark */
};

/* A write request with the bytes it sends, in one allocation. */
typedef struct write_req {
    uv_write_t req;
    size_t size;
    char data[];
} write_req;

static void ignore_sigpipe_once(void) {
    struct sigaction old;
    if (sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_DFL && !(old.sa_flags & SA_SIGINFO))
        signal(SIGPIPE, SIG_IGN);
}

/* ---- lifetime ---------------------------------------------------------------------------------- */

static void stream_unref(cl_stream *s) {
    if (--s->refs > 0) return;
    free(s->rbuf);
    free(s);
}

static void on_close(uv_handle_t *h) {
    stream_unref(h->data);
}

/* The socket closes now (uv_close closes it at once); only the memory waits for the close
 * callback. Waiters are woken here rather than there: the loop's deadlock test does not count a
 * handle that is closing as something that could still wake a task. */
static void start_close(cl_stream *s) {
    if (s->close_started) return;
    s->close_started = 1;
    uv_close((uv_handle_t *)&s->tcp, on_close);
    s->closed = 1;
    s->reading = 0;
    cl__stream_wake(&s->read_waiter);
    cl__stream_wake(&s->drain_waiter);
    cl__stream_wake(&s->connect_waiter);
    if (s->closed_future) {
        cl_future_set_result(s->closed_future, NULL);
        cl_future_free(s->closed_future);
        s->closed_future = NULL;
    }
}

/* A write to a socket the peer has closed raises SIGPIPE, whose default kills the process;
 * Python ignores it from startup, so do we once the first stream exists (unless someone already
 * chose a handler): the write then fails with EPIPE, reported as a lost connection. */
static void ignore_sigpipe(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, ignore_sigpipe_once);
}

cl_stream *cl__stream_new(cl_loop *l, const char *call) {
    ignore_sigpipe();
    cl_stream *s = calloc(1, sizeof *s);
    if (!s) {
        cl_report(call, "out of memory");
        return NULL;
    }
    int rc = uv_tcp_init(cl__loop_uv(l), &s->tcp);
    if (rc < 0) {
        cl_report(call, "%s", uv_strerror(rc));
        free(s);
        return NULL;
    }
    s->tcp.data = s;
    s->loop = l;
    s->refs = 2;
    s->timeout = CL_FOREVER;
    s->connect_status = 1;
    return s;
}

void cl__stream_release(cl_stream *s) {
    if (s->owner_released) return;
    s->owner_released = 1;
    cl_stream_close(s);
    stream_unref(s);
}

void cl_stream_free(cl_stream *s) {
    if (!s) return;
    if (s->server) {
        /* The server owns the streams it hands to handlers: freeing one there only closes it. */
        cl_stream_close(s);
        return;
    }
    cl__stream_release(s);
}

/* ---- waiting ----------------------------------------------------------------------------------- */

double cl__stream_deadline(double timeout) {
    return timeout >= 1e9 ? CL_FOREVER : cl_now() + timeout;
}

int cl__stream_check_task(cl_loop *l, const char *call) {
    if (!cl_task_current()) {
        cl_report(call, "called outside a task (use it inside cl_async_run's task)");
        return -1;
    }
    if (l && cl_loop_current() != l) {
        cl_report(call, "the stream belongs to another thread's loop");
        return -1;
    }
    return 0;
}

int cl__stream_park(cl_stream *s, cl_future **slot, double deadline) {
    cl_future *w = cl_future_new();
    if (!w) return CL_STREAM_ERROR;
    cl__observe(CL_EVENT_WAIT, "stream", s);
    *slot = cl_future_ref(w); /* the slot's reference, dropped by whoever empties it */
    cl_future_status st;
    if (deadline >= 1e9) {
        st = cl_await(w, NULL);
    } else {
        double left = deadline - cl_now();
        st = cl_async_wait_for(w, left > 0 ? left : 0, NULL);
    }
    if (*slot == w) { /* not woken: timed out or cancelled */
        *slot = NULL;
        cl_future_free(w);
    }
    cl_future_free(w);
    cl__observe(st == CL_FUTURE_OK ? CL_EVENT_ACQUIRE : CL_EVENT_TIMEOUT, "stream", s);
    switch (st) {
    case CL_FUTURE_OK: return 0;
    case CL_FUTURE_TIMEOUT: return CL_STREAM_TIMEOUT;
    case CL_FUTURE_CANCELLED: return CL_STREAM_CANCELLED;
    default: return CL_STREAM_ERROR;
    }
}

void cl__stream_wake(cl_future **slot) {
    cl_future *w = *slot;
    if (!w) return;
    *slot = NULL;
    cl_future_set_result(w, NULL); /* -1 if it was cancelled meanwhile: nobody waits then */
    cl_future_free(w);
}

/* ---- reading ----------------------------------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    (void)suggested;
    cl_stream *s = h->data;
    if (s->rstart == s->rend) s->rstart = s->rend = 0;
    if (s->rcap - s->rend < READ_CHUNK && s->rstart > 0) {
        memmove(s->rbuf, s->rbuf + s->rstart, s->rend - s->rstart);
        s->rend -= s->rstart;
        s->rstart = 0;
    }
    if (s->rcap - s->rend < READ_CHUNK) {
        size_t cap = s->rcap ? s->rcap * 2 : READ_CHUNK;
        while (cap - s->rend < READ_CHUNK) cap *= 2;
        char *p = realloc(s->rbuf, cap);
        if (!p) { /* libuv reports UV_ENOBUFS to on_read */
            *buf = uv_buf_init(NULL, 0);
            return;
        }
        s->rbuf = p;
        s->rcap = cap;
    }
    *buf = uv_buf_init(s->rbuf + s->rend, (unsigned)(s->rcap - s->rend));
}

static void stop_reading(cl_stream *s) {
    if (!s->reading) return;
    s->reading = 0;
    uv_read_stop((uv_stream_t *)&s->tcp);
}

static void on_read(uv_stream_t *h, ssize_t nread, const uv_buf_t *buf) {
    (void)buf;
    cl_stream *s = h->data;
    if (nread == 0) return; /* EAGAIN */
    if (nread > 0) {
        s->rend += (size_t)nread;
        if (s->rend - s->rstart >= READ_PAUSE) stop_reading(s);
    } else if (nread == UV_EOF) {
        s->eof = 1;
        stop_reading(s);
    } else {
        s->rerror = (int)nread;
        stop_reading(s);
    }
    cl__stream_wake(&s->read_waiter);
}

static void resume_reading(cl_stream *s) {
    if (s->reading || s->eof || s->rerror || s->close_started) return;
    if (s->rend - s->rstart >= READ_PAUSE) return;
    int rc = uv_read_start((uv_stream_t *)&s->tcp, on_alloc, on_read);
    if (rc < 0) s->rerror = rc;
    else s->reading = 1;
}

void cl__stream_connected(cl_stream *s) {
    uv_tcp_nodelay(&s->tcp, 1);
    resume_reading(s);
}

static int check_stream(cl_stream *s, const char *call) {
    if (!s) {
        cl_report(call, "stream is NULL");
        return -1;
    }
    return 0;
}

/* Waits until bytes are buffered, or the stream ended or failed. 0 when there is something to
 * look at (bytes, end, error), else a CL_STREAM_ status. */
static int wait_readable(cl_stream *s, const char *call, double deadline) {
    while (s->rstart == s->rend && !s->eof && !s->rerror) {
        if (s->closing) {
            cl_report(call, "the stream is closed");
            return CL_STREAM_ERROR;
        }
        if (s->read_waiter) {
            cl_report(call, "another task is already waiting to read this stream");
            return CL_STREAM_ERROR;
        }
        if (cl__stream_check_task(s->loop, call) < 0) return CL_STREAM_ERROR;
        resume_reading(s);
        if (!s->reading) continue; /* failed to start: rerror is set */
        int rc = cl__stream_park(s, &s->read_waiter, deadline);
        if (rc < 0) return rc;
    }
    return 0;
}

/* Takes up to n buffered bytes into buf; reading resumes if it had paused. */
static size_t take(cl_stream *s, void *buf, size_t n) {
    size_t have = s->rend - s->rstart;
    if (n > have) n = have;
    memcpy(buf, s->rbuf + s->rstart, n);
    s->rstart += n;
    resume_reading(s);
    return n;
}

static long read_failure(cl_stream *s, const char *call) {
    cl_report(call, "%s", uv_strerror(s->rerror));
    return CL_STREAM_ERROR;
}

long cl_stream_read(cl_stream *s, void *buf, size_t n) {
    if (check_stream(s, "cl_stream_read") < 0) return CL_STREAM_ERROR;
    if (n == 0) return 0;
    int rc = wait_readable(s, "cl_stream_read", cl__stream_deadline(s->timeout));
    if (rc < 0) return rc;
    if (s->rstart < s->rend) return (long)take(s, buf, n);
    if (s->rerror) return read_failure(s, "cl_stream_read");
    return 0; /* end of stream */
}

long cl_stream_readexactly(cl_stream *s, void *buf, size_t n) {
    if (check_stream(s, "cl_stream_readexactly") < 0) return CL_STREAM_ERROR;
    double deadline = cl__stream_deadline(s->timeout);
    size_t got = 0;
    while (got < n) {
        int rc = wait_readable(s, "cl_stream_readexactly", deadline);
        if (rc < 0) return rc;
        if (s->rstart < s->rend) {
            got += take(s, (char *)buf + got, n - got);
        } else if (s->rerror) {
            return read_failure(s, "cl_stream_readexactly");
        } else {
            cl_report("cl_stream_readexactly", "incomplete read: %zu bytes read on a total of %zu expected bytes", got, n);
            return CL_STREAM_ERROR;
        }
    }
    return (long)n;
}

long cl_stream_readline(cl_stream *s, char *buf, size_t size) {
    if (check_stream(s, "cl_stream_readline") < 0) return CL_STREAM_ERROR;
    if (!buf || size < 2) {
        cl_report("cl_stream_readline", "the buffer must hold at least 2 bytes");
        return CL_STREAM_ERROR;
    }
    double deadline = cl__stream_deadline(s->timeout);
    size_t scanned = 0; /* bytes of the buffer already known to hold no '\n' */
    for (;;) {
        size_t have = s->rend - s->rstart;
        char *nl = have > scanned ? memchr(s->rbuf + s->rstart + scanned, '\n', have - scanned) : NULL;
        size_t len = nl ? (size_t)(nl - (s->rbuf + s->rstart)) + 1 : have;
        if (len > size - 1) {
            cl_report("cl_stream_readline", "line longer than the %zu-byte buffer", size - 1);
            return CL_STREAM_ERROR;
        }
        if (nl || ((s->eof || s->rerror) && have > 0)) {
            take(s, buf, len);
            buf[len] = '\0';
            return (long)len;
        }
        if (s->rerror) return read_failure(s, "cl_stream_readline");
        if (s->eof) {
            buf[0] = '\0';
            return 0;
        }
        scanned = have;
        /* wait_readable returns at once while bytes are buffered: wait for more ourselves. */
        if (s->read_waiter) {
            cl_report("cl_stream_readline", "another task is already waiting to read this stream");
            return CL_STREAM_ERROR;
        }
        if (s->closing) {
            cl_report("cl_stream_readline", "the stream is closed");
            return CL_STREAM_ERROR;
        }
        if (cl__stream_check_task(s->loop, "cl_stream_readline") < 0) return CL_STREAM_ERROR;
        resume_reading(s);
        if (!s->reading) continue;
        int rc = cl__stream_park(s, &s->read_waiter, deadline);
        if (rc < 0) return rc;
    }
}

int cl_stream_at_eof(cl_stream *s) {
    if (check_stream(s, "cl_stream_at_eof") < 0) return 0;
    return s->eof && s->rstart == s->rend;
}

/* ---- writing ----------------------------------------------------------------------------------- */

static void on_write(uv_write_t *req, int status) {
    write_req *w = (write_req *)req;
    cl_stream *s = req->handle->data;
    s->wpending -= w->size;
    free(w);
    if (status < 0 && status != UV_ECANCELED && !s->werror) s->werror = status;
    if (s->wpending <= WRITE_LOW || s->werror) cl__stream_wake(&s->drain_waiter);
    if (s->closing && s->wpending == 0) start_close(s);
}

/* Reports a failed write, unless the stream said its peer may leave (a server's client that
 * gave up: normal for a server, and nothing its user can act on). */
static void report_write_error(cl_stream *s, const char *call, const char *what, int rc) {
    if (s->peer_may_leave && (rc == UV_EPIPE || rc == UV_ECONNRESET)) return;
    cl_report(call, "%s%s", what, uv_strerror(rc));
}

int cl_stream_write(cl_stream *s, const void *buf, size_t n) {
    if (check_stream(s, "cl_stream_write") < 0) return CL_STREAM_ERROR;
    if (s->closing) {
        cl_report("cl_stream_write", "the stream is closed");
        return CL_STREAM_ERROR;
    }
    if (s->werror) {
        report_write_error(s, "cl_stream_write", "", s->werror);
        return CL_STREAM_ERROR;
    }
    const char *p = buf;
    if (n == 0) return 0;
    if (s->wpending == 0) {
        uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
        int rc = uv_try_write((uv_stream_t *)&s->tcp, &b, 1);
        if (rc >= 0) {
            p += rc;
            n -= (size_t)rc;
        } else if (rc != UV_EAGAIN && rc != UV_ENOSYS) {
            s->werror = rc;
            report_write_error(s, "cl_stream_write", "", rc);
            return CL_STREAM_ERROR;
        }
        if (n == 0) return 0;
    }
    write_req *w = malloc(sizeof *w + n);
    if (!w) {
        cl_report("cl_stream_write", "out of memory");
        return CL_STREAM_ERROR;
    }
    w->size = n;
    memcpy(w->data, p, n);
    uv_buf_t b = uv_buf_init(w->data, (unsigned)n);
    int rc = uv_write(&w->req, (uv_stream_t *)&s->tcp, &b, 1, on_write);
    if (rc < 0) {
        free(w);
        s->werror = rc;
        report_write_error(s, "cl_stream_write", "", rc);
        return CL_STREAM_ERROR;
    }
    s->wpending += n;
    return 0;
}

int cl_stream_drain(cl_stream *s) {
    if (check_stream(s, "cl_stream_drain") < 0) return CL_STREAM_ERROR;
    double deadline = cl__stream_deadline(s->timeout);
    while (!s->werror && !s->closed && s->wpending > WRITE_HIGH) {
        if (s->drain_waiter) {
            cl_report("cl_stream_drain", "another task is already draining this stream");
            return CL_STREAM_ERROR;
        }
        if (cl__stream_check_task(s->loop, "cl_stream_drain") < 0) return CL_STREAM_ERROR;
        int rc = cl__stream_park(s, &s->drain_waiter, deadline);
        if (rc < 0) return rc;
        if (s->wpending <= WRITE_LOW) break;
    }
    if (s->werror) {
        report_write_error(s, "cl_stream_drain", "connection lost: ", s->werror);
        return CL_STREAM_ERROR;
    }
    if (s->closed && s->wpending > 0) {
        cl_report("cl_stream_drain", "connection lost: the stream was closed");
        return CL_STREAM_ERROR;
    }
    return 0;
}

size_t cl_stream_write_buffer_size(cl_stream *s) {
    return s ? s->wpending : 0;
}

static void on_shutdown(uv_shutdown_t *req, int status) {
    cl_stream *s = req->handle->data;
    if (status < 0 && status != UV_ECANCELED && !s->werror) s->werror = status;
}

int cl_stream_write_eof(cl_stream *s) {
    if (check_stream(s, "cl_stream_write_eof") < 0) return CL_STREAM_ERROR;
    if (s->closing || s->shutdown.handle) return 0;
    int rc = uv_shutdown(&s->shutdown, (uv_stream_t *)&s->tcp, on_shutdown);
    if (rc < 0) {
        cl_report("cl_stream_write_eof", "%s", uv_strerror(rc));
        return CL_STREAM_ERROR;
    }
    return 0;
}

/* ---- closing and details ----------------------------------------------------------------------- */

void cl_stream_close(cl_stream *s) {
    if (!s || s->closing) return;
    s->closing = 1;
    stop_reading(s);
    /* A reader waiting now would wait forever: wake it; it finds the stream closed. */
    cl__stream_wake(&s->read_waiter);
    if (s->wpending == 0 || s->werror || s->connect_status != 0) start_close(s);
}

int cl_stream_wait_closed(cl_stream *s) {
    if (check_stream(s, "cl_stream_wait_closed") < 0) return CL_STREAM_ERROR;
    cl_stream_close(s);
    if (s->closed) return 0;
    if (cl__stream_check_task(s->loop, "cl_stream_wait_closed") < 0) return CL_STREAM_ERROR;
    if (!s->closed_future && !(s->closed_future = cl_future_new())) return CL_STREAM_ERROR;
    cl_future *f = cl_future_ref(s->closed_future);
    cl_future_status st = cl_await(f, NULL);
    cl_future_free(f);
    return st == CL_FUTURE_OK ? 0 : st == CL_FUTURE_CANCELLED ? CL_STREAM_CANCELLED : CL_STREAM_ERROR;
}

int cl_stream_is_closing(cl_stream *s) {
    return s ? s->closing : 0;
}

int cl_stream_set_timeout(cl_stream *s, double seconds) {
    if (check_stream(s, "cl_stream_set_timeout") < 0) return -1;
    if (isnan(seconds) || seconds < 0) {
        cl_report("cl_stream_set_timeout", "timeout must be >= 0 seconds (CL_FOREVER: none)");
        return -1;
    }
    s->timeout = seconds;
    return 0;
}

int cl_stream_peer_address(cl_stream *s, char *buf, size_t size) {
    if (check_stream(s, "cl_stream_peer_address") < 0 || !buf || size == 0) return -1;
    struct sockaddr_storage sa;
    int len = sizeof sa;
    if (s->close_started || uv_tcp_getpeername(&s->tcp, (struct sockaddr *)&sa, &len) < 0) return -1;
    char ip[64];
    int port;
    if (sa.ss_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&sa;
        uv_ip4_name(in, ip, sizeof ip);
        port = ntohs(in->sin_port);
    } else if (sa.ss_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&sa;
        uv_ip6_name(in6, ip, sizeof ip);
        port = ntohs(in6->sin6_port);
    } else {
        return -1;
    }
    int n = snprintf(buf, size, "%s:%d", ip, port);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}
