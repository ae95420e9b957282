/* stream_connect.c — opening a TCP connection from a task (Python: asyncio.open_connection):
 * resolve the host (a numeric address at once, a name through libuv's getaddrinfo on its thread
 * pool), connect, then hand over a reading stream.
 *
 * Cancellation and timeouts: the resolve request keeps its own record, freed by its callback
 * whatever happened to the task meanwhile; a pending connect is cancelled by closing the stream,
 * whose close callback runs after libuv has called the connect callback with UV_ECANCELED. */
#include <stdlib.h>
#include <string.h>

#include "conclab/clock.h"
#include "report.h"
#include "stream_internal.h"

#define CALL "cl_stream_open_connection"

/* A getaddrinfo in flight: freed by its callback, which completes done with a copy of the first
 * address (or an error message) unless the task stopped waiting. */
typedef struct resolve_op {
    uv_getaddrinfo_t req;
    cl_future *done;
} resolve_op;

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
    resolve_op *op = (resolve_op *)req;
    if (status < 0 || !res) {
        cl_future_set_error(op->done, status < 0 ? uv_strerror(status) : "no address");
    } else {
        struct sockaddr_storage *sa = malloc(sizeof *sa);
        if (!sa) {
            cl_future_set_error(op->done, "out of memory");
        } else {
            memset(sa, 0, sizeof *sa);
            memcpy(sa, res->ai_addr, res->ai_addrlen);
            if (cl_future_set_result(op->done, sa) < 0) free(sa); /* nobody waits any more */
        }
    }
    uv_freeaddrinfo(res);
    cl_future_free(op->done);
    free(op);
}

/* Fills *sa with host:port; 0, or a CL_STREAM_ status (errors reported). */
static int resolve(cl_loop *l, const char *host, int port, struct sockaddr_storage *sa, double deadline) {
    memset(sa, 0, sizeof *sa);
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)sa) == 0) return 0;
    if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)sa) == 0) return 0;

    resolve_op *op = calloc(1, sizeof *op);
    cl_future *done = cl_future_new();
    if (!op || !done) {
        free(op);
        cl_future_free(done);
        cl_report(CALL, "out of memory");
        return CL_STREAM_ERROR;
    }
    op->done = cl_future_ref(done);
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = uv_getaddrinfo(cl__loop_uv(l), &op->req, on_resolved, host, service, &hints);
    if (rc < 0) {
        cl_future_free(op->done);
        free(op);
        cl_future_free(done);
        cl_report(CALL, "cannot resolve %s: %s", host, uv_strerror(rc));
        return CL_STREAM_ERROR;
    }
    void *value = NULL;
    cl_future_status st = deadline >= 1e9 ? cl_await(done, &value)
                                          : cl_async_wait_for(done, deadline - cl_now(), &value);
    if (st != CL_FUTURE_OK) {
        uv_cancel((uv_req_t *)&op->req); /* may fail if it already runs: the callback frees op */
        /* It may have finished just as we gave up: then its address is ours to free. */
        if (cl_future_result(done, 0, &value) == CL_FUTURE_OK) free(value);
    }
    int out = 0;
    if (st == CL_FUTURE_OK) {
        memcpy(sa, value, sizeof *sa);
        free(value);
    } else if (st == CL_FUTURE_ERROR) {
        const char *why = cl_future_error(done);
        cl_report(CALL, "cannot resolve %s: %s", host, why ? why : "error");
        out = CL_STREAM_ERROR;
    } else {
        out = st == CL_FUTURE_TIMEOUT ? CL_STREAM_TIMEOUT : CL_STREAM_CANCELLED;
    }
    cl_future_free(done);
    return out;
}

static void on_connect(uv_connect_t *req, int status) {
    cl_stream *s = req->handle->data;
    s->connect_status = status;
    cl__stream_wake(&s->connect_waiter);
}

static int check_arguments(const char *host, int port, double timeout) {
    if (!host) {
        cl_report(CALL, "host is NULL");
        return -1;
    }
    if (port <= 0 || port > 65535) {
        cl_report(CALL, "port %d is not in 1..65535", port);
        return -1;
    }
    if (!(timeout >= 0)) {
        cl_report(CALL, "timeout must be >= 0 seconds (CL_FOREVER: none)");
        return -1;
    }
    return 0;
}

static void report_timeout(const char *host, int port, double timeout) {
    cl_report(CALL, "cannot connect to %s:%d: timed out after %g s", host, port, timeout);
}

cl_stream *cl_stream_open_connection(const char *host, int port, double timeout) {
    if (check_arguments(host, port, timeout) < 0) return NULL;
    if (cl__stream_check_task(NULL, CALL) < 0) return NULL;
    cl_loop *l = cl_loop_current();
    double deadline = cl__stream_deadline(timeout);

    struct sockaddr_storage sa;
    int rc = resolve(l, host, port, &sa, deadline);
    if (rc == CL_STREAM_TIMEOUT) report_timeout(host, port, timeout);
    if (rc < 0) return NULL;

    cl_stream *s = cl__stream_new(l, CALL);
    if (!s) return NULL;
    rc = uv_tcp_connect(&s->connect, &s->tcp, (const struct sockaddr *)&sa, on_connect);
    if (rc < 0) {
        cl_report(CALL, "cannot connect to %s:%d: %s", host, port, uv_strerror(rc));
        s->connect_status = rc;
        cl__stream_release(s);
        return NULL;
    }
    rc = cl__stream_park(s, &s->connect_waiter, deadline);
    if (rc == 0 && s->connect_status == 0) {
        s->timeout = timeout;
        cl__stream_connected(s);
        return s;
    }
    if (rc == CL_STREAM_TIMEOUT) report_timeout(host, port, timeout);
    else if (rc == 0) cl_report(CALL, "cannot connect to %s:%d: %s", host, port, uv_strerror(s->connect_status));
    cl__stream_release(s); /* closing cancels a connect still pending */
    return NULL;
}
