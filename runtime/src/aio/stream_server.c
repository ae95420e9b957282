/* stream_server.c — a listening TCP server whose connections each run in a task of their own
 * (Python: asyncio.start_server, Server.serve_forever, close, close_clients, wait_closed).
 *
 * Lifetime: the server has one reference for its owner, one for the listening handle (dropped
 * by its close callback) and one per open connection (dropped when that connection's handler
 * task is done), so handler tasks may outlive cl_stream_server_free. The cleanup of a
 * connection runs as a done callback of its task, so it also runs for a task cancelled before
 * it started (which never calls the handler). */
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "stream_internal.h"

struct cl_stream_server {
    uv_tcp_t tcp;            /* the listening handle; tcp.data points back here */
    cl_loop *loop;
    int refs;
    int port;
    void (*handler)(cl_stream *s, void *arg);
    void *arg;
    size_t stack_size;       /* of handler tasks; 0: the loop's default */
    int closing, closed;     /* close asked for; the listening handle's close callback ran */
    int owner_released;
    long accepted;
    cl_stream *connections;  /* open ones, whose handler tasks have not finished */
    cl_future *closed_future;/* completed when closed (serve_forever) */
    cl_future *idle_future;  /* completed when closed with no connection left (wait_closed) */
};

static void server_unref(cl_stream_server *srv) {
    if (--srv->refs == 0) free(srv);
}

static void complete(cl_future **slot) {
    if (!*slot) return;
    cl_future_set_result(*slot, NULL);
    cl_future_free(*slot);
    *slot = NULL;
}

static void check_idle(cl_stream_server *srv) {
    if (srv->closed && !srv->connections) complete(&srv->idle_future);
}

static void on_listener_closed(uv_handle_t *h) {
    server_unref(h->data);
}

/* The listening socket closes at once; only the memory waits for the close callback (waiters are
 * not left to it: the loop's deadlock test does not count a closing handle as progress). */
static void close_listener(cl_stream_server *srv) {
    srv->closing = 1;
    uv_close((uv_handle_t *)&srv->tcp, on_listener_closed);
    srv->closed = 1;
    complete(&srv->closed_future);
    check_idle(srv);
}

/* ---- connections ------------------------------------------------------------------------------- */

static void *run_handler(void *arg) {
    cl_stream *s = arg;
    s->server->handler(s, s->server->arg);
    return NULL;
}

static void unlink_connection(cl_stream_server *srv, cl_stream *s) {
    if (s->prev) s->prev->next = s->next;
    else srv->connections = s->next;
    if (s->next) s->next->prev = s->prev;
    s->prev = s->next = NULL;
}

/* The handler's task is done (returned, failed or cancelled, maybe before it started). */
static void on_handler_done(cl_future *task, void *arg) {
    cl_stream *s = arg;
    cl_stream_server *srv = s->server;
    unlink_connection(srv, s);
    s->task = NULL;
    cl_future_free(task);
    cl__stream_release(s);
    check_idle(srv);
    server_unref(srv);
}

static void on_connection(uv_stream_t *listener, int status) {
    cl_stream_server *srv = listener->data;
    if (status < 0) {
        cl_report("cl_stream_start_server", "accepting a connection: %s", uv_strerror(status));
        return;
    }
    cl_stream *s = cl__stream_new(srv->loop, "cl_stream_start_server");
    if (!s) return;
    if (uv_accept(listener, (uv_stream_t *)&s->tcp) < 0) {
        s->connect_status = -1;
        cl__stream_release(s);
        return;
    }
    s->connect_status = 0;
    cl__stream_connected(s);
    char name[32];
    snprintf(name, sizeof name, "conn-%ld", srv->accepted + 1);
    cl_future *task = cl_async_create_task_ex(name, srv->stack_size, run_handler, s);
    if (!task) {
        cl__stream_release(s);
        return;
    }
    srv->accepted++;
    srv->refs++;
    s->server = srv;
    s->task = task;
    s->next = srv->connections;
    if (s->next) s->next->prev = s;
    srv->connections = s;
    cl_future_add_done_callback(task, on_handler_done, s); /* runs at once if already done */
}

/* ---- the public calls -------------------------------------------------------------------------- */

static int bind_address(const char *host, int port, struct sockaddr_storage *sa) {
    memset(sa, 0, sizeof *sa);
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)sa) == 0) return 0;
    if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)sa) == 0) return 0;
    if (strcmp(host, "localhost") == 0) return uv_ip4_addr("127.0.0.1", port, (struct sockaddr_in *)sa);
    return -1;
}

static int bound_port(cl_stream_server *srv) {
    struct sockaddr_storage sa;
    int len = sizeof sa;
    if (uv_tcp_getsockname(&srv->tcp, (struct sockaddr *)&sa, &len) < 0) return -1;
    if (sa.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&sa)->sin_port);
    return ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
}

cl_stream_server *cl_stream_start_server(const char *host, int port, void (*handler)(cl_stream *s, void *arg), void *arg) {
    const char *call = "cl_stream_start_server";
    if (!handler) {
        cl_report(call, "handler is NULL");
        return NULL;
    }
    if (port < 0 || port > 65535) {
        cl_report(call, "port %d is not in 0..65535", port);
        return NULL;
    }
    cl_loop *l = cl_loop_current();
    if (!l) {
        cl_report(call, "no running loop (call it inside cl_async_run's task)");
        return NULL;
    }
    if (!host) host = "0.0.0.0";
    struct sockaddr_storage sa;
    if (bind_address(host, port, &sa) < 0) {
        cl_report(call, "%s is not a numeric IP address (or localhost)", host);
        return NULL;
    }
    cl_stream_server *srv = calloc(1, sizeof *srv);
    if (!srv) {
        cl_report(call, "out of memory");
        return NULL;
    }
    srv->loop = l;
    srv->handler = handler;
    srv->arg = arg;
    srv->refs = 2; /* the owner's and the listening handle's */
    uv_tcp_init(cl__loop_uv(l), &srv->tcp);
    srv->tcp.data = srv;
    int rc = uv_tcp_bind(&srv->tcp, (const struct sockaddr *)&sa, 0);
    if (rc == 0) rc = uv_listen((uv_stream_t *)&srv->tcp, 4096, on_connection);
    if (rc < 0) {
        cl_report(call, "cannot listen on %s:%d: %s", host, port, uv_strerror(rc));
        close_listener(srv);
        server_unref(srv);
        return NULL;
    }
    srv->port = bound_port(srv);
    return srv;
}

void cl__stream_server_set_stack_size(cl_stream_server *srv, size_t bytes) {
    srv->stack_size = bytes;
}

int cl_stream_server_port(cl_stream_server *srv) {
    return srv ? srv->port : -1;
}

long cl_stream_server_connections(cl_stream_server *srv) {
    return srv ? srv->accepted : 0;
}

void cl_stream_server_close(cl_stream_server *srv) {
    if (!srv || srv->closing) return;
    close_listener(srv);
}

void cl_stream_server_close_clients(cl_stream_server *srv) {
    if (!srv) return;
    for (cl_stream *s = srv->connections; s; s = s->next) cl_task_cancel(s->task);
}

/* Awaits the future in *slot (made on demand) unless done says it is not needed. */
static int await_server(cl_stream_server *srv, cl_future **slot, int done, const char *call) {
    if (done) return 0;
    if (cl__stream_check_task(srv->loop, call) < 0) return CL_STREAM_ERROR;
    if (!*slot && !(*slot = cl_future_new())) return CL_STREAM_ERROR;
    cl_future *f = cl_future_ref(*slot);
    cl_future_status st = cl_await(f, NULL);
    cl_future_free(f);
    return st == CL_FUTURE_OK ? 0 : st == CL_FUTURE_CANCELLED ? CL_STREAM_CANCELLED : CL_STREAM_ERROR;
}

int cl_stream_server_serve_forever(cl_stream_server *srv) {
    if (!srv) {
        cl_report("cl_stream_server_serve_forever", "server is NULL");
        return CL_STREAM_ERROR;
    }
    srv->refs++; /* the server may be freed by another task while we wait */
    int rc = await_server(srv, &srv->closed_future, srv->closing, "cl_stream_server_serve_forever");
    if (rc == CL_STREAM_CANCELLED) cl_stream_server_close(srv); /* as serve_forever does */
    server_unref(srv);
    return rc;
}

int cl_stream_server_wait_closed(cl_stream_server *srv) {
    if (!srv) {
        cl_report("cl_stream_server_wait_closed", "server is NULL");
        return CL_STREAM_ERROR;
    }
    cl_stream_server_close(srv);
    srv->refs++;
    int rc = await_server(srv, &srv->idle_future, srv->closed && !srv->connections, "cl_stream_server_wait_closed");
    server_unref(srv);
    return rc;
}

void cl_stream_server_free(cl_stream_server *srv) {
    if (!srv || srv->owner_released) return;
    srv->owner_released = 1;
    cl_stream_server_close(srv);
    server_unref(srv);
}
