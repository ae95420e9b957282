/* http_server.c — a small HTTP/1.1 server on a stream server: a slow web API to teach with
 * (per-request delay, a limit on requests in service, fixed routes or a handler, counters).
 *
 * The worker limit is a FIFO of waiter futures, as asyncio.Semaphore keeps one: a finishing
 * request hands its worker straight to the first waiter whose future it can complete, so a
 * waiter cancelled meanwhile is skipped and never swallows the worker. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conclab/http.h"
#include "report.h"
#include "stream_internal.h"

enum { LINE_BYTES = 8192, MAX_HEADERS = 64, HANDLER_STACK = 64 * 1024 };

/* A request waiting for a worker; lives on its task's stack while it waits. */
typedef struct worker_wait {
    cl_future *ready;
    struct worker_wait *next;
} worker_wait;

struct cl_http_server {
    cl_stream_server *tcp;
    cl_http_server_options opt;
    long requests;
    int in_service, peak;
    worker_wait *first, *last;
    int live_handlers;  /* connections being served; they use this record */
    int orphaned;       /* close gave up waiting: the last handler frees the record */
};

struct cl_http_request {
    char method[16];
    char *path;
    int keep_alive;
    int n_headers;
    char *names[MAX_HEADERS], *values[MAX_HEADERS];
    int responded;
    cl_stream *s;
    int chunked;
};

/* ---- workers ----------------------------------------------------------------------------------- */

/* Ends a request's service: its worker goes to the first waiter still waiting, else is free. */
static void give_worker(cl_http_server *srv) {
    while (srv->first) {
        worker_wait *w = srv->first;
        srv->first = w->next;
        if (!srv->first) srv->last = NULL;
        w->next = NULL;
        if (cl_future_set_result(w->ready, NULL) == 0) return; /* handed over: in_service stays */
    }
    srv->in_service--;
}

static void count_in_service(cl_http_server *srv) {
    if (srv->in_service > srv->peak) srv->peak = srv->in_service;
}

/* Takes a worker, waiting in line if all are busy; 0, or a CL_STREAM_ status. */
static int take_worker(cl_http_server *srv) {
    int limit = srv->opt.max_workers;
    if (limit <= 0 || (srv->in_service < limit && !srv->first)) {
        srv->in_service++;
        count_in_service(srv);
        return 0;
    }
    worker_wait w = {cl_future_new(), NULL};
    if (!w.ready) return CL_STREAM_ERROR;
    if (srv->last) srv->last->next = &w;
    else srv->first = &w;
    srv->last = &w;
    cl_future_status st = cl_await(w.ready, NULL);
    /* Leave the line if still in it (a handed-over worker's waiter was popped already). */
    for (worker_wait **p = &srv->first, *prev = NULL; *p; prev = *p, p = &(*p)->next) {
        if (*p == &w) {
            *p = w.next;
            if (srv->last == &w) srv->last = prev;
            break;
        }
    }
    int handed = cl_future_done(w.ready) && cl_future_succeeded(w.ready) == 1;
    cl_future_free(w.ready);
    if (st == CL_FUTURE_OK) {
        count_in_service(srv);
        return 0;
    }
    if (handed) give_worker(srv); /* cancelled just as the worker came: pass it on */
    return st == CL_FUTURE_CANCELLED ? CL_STREAM_CANCELLED : CL_STREAM_ERROR;
}

/* ---- requests ---------------------------------------------------------------------------------- */

static void request_clear(cl_http_request *req) {
    free(req->path);
    for (int i = 0; i < req->n_headers; i++) {
        free(req->names[i]);
        free(req->values[i]);
    }
    memset(req, 0, sizeof *req);
}

static void strip_eol(char *line, long *n) {
    while (*n > 0 && (line[*n - 1] == '\n' || line[*n - 1] == '\r')) line[--*n] = '\0';
}

/* Reads the request line and headers; 1 with a request, 0 at a clean end, -1 on a bad request,
 * -2 when the stream failed (reset, timeout, cancelled). */
static int read_request(cl_stream *s, char *line, cl_http_request *req) {
    long n = cl_stream_readline(s, line, LINE_BYTES);
    if (n <= 0) return n == 0 ? 0 : -2;
    strip_eol(line, &n);
    char method[16], version[16];
    char *path = malloc((size_t)n + 1);
    if (!path) return -1;
    if (sscanf(line, "%15s %s %15s", method, path, version) != 3) {
        free(path);
        return -1;
    }
    snprintf(req->method, sizeof req->method, "%s", method);
    req->path = path;
    req->keep_alive = strcmp(version, "HTTP/1.1") == 0;
    for (;;) {
        n = cl_stream_readline(s, line, LINE_BYTES);
        if (n <= 0) return -2;
        strip_eol(line, &n);
        if (n == 0) break;
        char *colon = strchr(line, ':');
        if (!colon || req->n_headers == MAX_HEADERS) continue;
        *colon = '\0';
        char *value = colon + 1;
        while (*value == ' ' || *value == '\t') value++;
        req->names[req->n_headers] = strdup(line);
        req->values[req->n_headers] = strdup(value);
        req->n_headers++;
        if (strcasecmp(line, "Connection") == 0)
            req->keep_alive = strcasecmp(value, "close") != 0 && (req->keep_alive || strcasecmp(value, "keep-alive") == 0);
    }
    const char *length = cl_http_request_header(req, "Content-Length");
    for (long left = length ? atol(length) : 0; left > 0;) { /* a body: not for us, skip it */
        long got = cl_stream_read(s, line, left < LINE_BYTES ? (size_t)left : LINE_BYTES);
        if (got <= 0) return -2;
        left -= got;
    }
    return 1;
}

static const char *reason(int status) {
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return status < 400 ? "OK" : "Error";
    }
}

static int write_chunked(cl_stream *s, const char *body, size_t size) {
    /* Three chunks or so, so a client meets more than one. */
    size_t piece = size / 3 + 1;
    for (size_t at = 0; at < size; at += piece) {
        size_t n = size - at < piece ? size - at : piece;
        char head[32];
        int h = snprintf(head, sizeof head, "%zx\r\n", n);
        if (cl_stream_write(s, head, (size_t)h) < 0 || cl_stream_write(s, body + at, n) < 0 ||
            cl_stream_write(s, "\r\n", 2) < 0)
            return -1;
    }
    return cl_stream_write(s, "0\r\n\r\n", 5);
}

int cl_http_request_respond(cl_http_request *req, int status, const char *content_type, const void *body, size_t size) {
    if (!req) {
        cl_report("cl_http_request_respond", "request is NULL");
        return -1;
    }
    if (req->responded) {
        cl_report("cl_http_request_respond", "request %s was answered already", req->path);
        return -1;
    }
    req->responded = 1;
    char head[512];
    int n = snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\nServer: conclab\r\nContent-Type: %.200s\r\nConnection: %s\r\n",
                     status, reason(status), content_type ? content_type : "text/plain; charset=utf-8",
                     req->keep_alive ? "keep-alive" : "close");
    if (req->chunked) n += snprintf(head + n, sizeof head - (size_t)n, "Transfer-Encoding: chunked\r\n\r\n");
    else n += snprintf(head + n, sizeof head - (size_t)n, "Content-Length: %zu\r\n\r\n", size);
    if (cl_stream_write(req->s, head, (size_t)n) < 0) return -1;
    int rc = req->chunked ? write_chunked(req->s, body, size) : cl_stream_write(req->s, body, size);
    if (rc == 0) rc = cl_stream_drain(req->s);
    return rc < 0 ? -1 : 0;
}

/* Answers from the handler, the routes, or the path itself. */
static void answer(cl_http_server *srv, cl_http_request *req) {
    const cl_http_server_options *o = &srv->opt;
    if (o->handler) {
        o->handler(req, o->handler_arg);
        if (!req->responded) cl_http_request_respond(req, 500, NULL, "handler gave no answer\n", 23);
        return;
    }
    if (!o->routes) {
        cl_http_request_respond(req, 200, NULL, req->path, strlen(req->path));
        return;
    }
    size_t len = strcspn(req->path, "?");
    for (int i = 0; i < o->n_routes; i++) {
        const cl_http_route *r = &o->routes[i];
        if (r->path && strlen(r->path) == len && strncmp(r->path, req->path, len) == 0) {
            const char *body = r->body ? r->body : "";
            cl_http_request_respond(req, r->status ? r->status : 200, r->content_type, body, strlen(body));
            return;
        }
    }
    cl_http_request_respond(req, 404, NULL, "Not Found\n", 10);
}

/* Serves one request: a worker, the delay, the answer. 0 to go on, -1 to stop the connection. */
static int serve(cl_http_server *srv, cl_http_request *req) {
    if (take_worker(srv) < 0) return -1;
    int rc = 0;
    if (srv->opt.delay > 0 && cl_async_sleep(srv->opt.delay) < 0) rc = -1;
    if (rc == 0) {
        answer(srv, req);
        srv->requests++;
    }
    give_worker(srv);
    return rc;
}

static void serve_connection(cl_stream *s, void *arg) {
    cl_http_server *srv = arg;
    srv->live_handlers++;
    char *line = malloc(LINE_BYTES);
    cl_http_request req;
    memset(&req, 0, sizeof req);
    for (int more = line != NULL; more;) {
        int got = read_request(s, line, &req);
        if (got == -1) {
            const char *bad = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            if (!cl_stream_is_closing(s)) cl_stream_write(s, bad, strlen(bad));
        }
        more = got > 0;
        if (more) {
            req.s = s;
            req.chunked = srv->opt.chunked;
            more = serve(srv, &req) == 0 && req.keep_alive;
        }
        request_clear(&req);
    }
    free(line);
    if (--srv->live_handlers == 0 && srv->orphaned) free(srv);
}

/* ---- the server -------------------------------------------------------------------------------- */

cl_http_server *cl_http_server_start(const char *host, int port, const cl_http_server_options *options) {
    cl_http_server *srv = calloc(1, sizeof *srv);
    if (!srv) {
        cl_report("cl_http_server_start", "out of memory");
        return NULL;
    }
    if (options) srv->opt = *options;
    if (srv->opt.delay < 0 || srv->opt.n_routes < 0 || (srv->opt.n_routes > 0 && !srv->opt.routes)) {
        cl_report("cl_http_server_start", "bad options (delay < 0, or routes missing)");
        free(srv);
        return NULL;
    }
    if (!srv->opt.routes) srv->opt.n_routes = 0;
    srv->tcp = cl_stream_start_server(host, port, serve_connection, srv);
    if (!srv->tcp) {
        free(srv);
        return NULL;
    }
    cl__stream_server_set_stack_size(srv->tcp, HANDLER_STACK);
    return srv;
}

int cl_http_server_port(cl_http_server *srv) {
    return srv ? cl_stream_server_port(srv->tcp) : -1;
}

long cl_http_server_requests(cl_http_server *srv) {
    return srv ? srv->requests : 0;
}

int cl_http_server_peak_workers(cl_http_server *srv) {
    return srv ? srv->peak : 0;
}

int cl_http_server_close(cl_http_server *srv) {
    if (!srv) return 0;
    cl_stream_server_close(srv->tcp);
    cl_stream_server_close_clients(srv->tcp);
    int rc = cl_stream_server_wait_closed(srv->tcp);
    cl_stream_server_free(srv->tcp);
    if (rc == 0 || srv->live_handlers == 0) {
        free(srv);
        return rc == 0 ? 0 : -1;
    }
    srv->orphaned = 1;
    return -1;
}

const char *cl_http_request_method(cl_http_request *req) {
    return req ? req->method : NULL;
}

const char *cl_http_request_path(cl_http_request *req) {
    return req ? req->path : NULL;
}

const char *cl_http_request_header(cl_http_request *req, const char *name) {
    if (!req || !name) return NULL;
    for (int i = 0; i < req->n_headers; i++)
        if (req->names[i] && strcasecmp(req->names[i], name) == 0) return req->values[i];
    return NULL;
}
