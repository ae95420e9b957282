/* http_server.c — a small HTTP/1.1 server on a stream server: a slow web API to teach with
 * (per-request delay, a limit on requests in service, fixed routes or a handler, counters).
 *
 * The worker limit is a FIFO of waiter futures, as asyncio.Semaphore keeps one: a finishing
 * request hands its worker straight to the first waiter whose future it can complete, so a
 * waiter cancelled meanwhile is skipped and never swallows the worker.
 *
 * Started outside any loop, a server gets a loop on a thread of its own (a plain pthread, which
 * the emulated GIL does not hold back): a task there starts it, says so, and waits for
 * cl_http_server_stop's word to close it. Its counters are read from other threads, so they are
 * updated atomically. */
#define _GNU_SOURCE /* asprintf */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conclab/http.h"
#include "conclab/loop.h"
#include "report.h"
#include "stream_internal.h"
#include "thread_internal.h"

enum { LINE_BYTES = 8192, MAX_HEADERS = 64, HANDLER_STACK = 64 * 1024 };
#define MAX_BODY ((size_t)64 << 20) /* a request body larger than this is refused (413) */

/* A server on a loop and thread of its own. */
typedef struct own_thread {
    pthread_t thread;
    cl_future *stop;     /* completed by cl_http_server_stop */
    sem_t started;       /* posted once the server listens, or failed to */
    int failed;
    char *host;
    int port;
} own_thread;

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
    own_thread *own;    /* NULL: served by the loop that started it */
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
    char *body;         /* Content-Length bytes, NUL-terminated; NULL when none */
    size_t body_size;
    char *extra;        /* "Name: value\r\n" lines the handler added for the answer */
    int too_large;      /* the body was over MAX_BODY: answered 413 */
    long *answered;     /* the server's count, raised before the answer leaves */
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
    if (srv->in_service > srv->peak) __atomic_store_n(&srv->peak, srv->in_service, __ATOMIC_RELAXED);
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
    free(req->body);
    free(req->extra);
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
    long size = length ? atol(length) : 0;
    if (size <= 0) return 1;
    if ((size_t)size > MAX_BODY) { /* not kept: skipped, and the answer is 413 */
        req->too_large = 1;
        for (long left = size; left > 0;) {
            long got = cl_stream_read(s, line, left < LINE_BYTES ? (size_t)left : LINE_BYTES);
            if (got <= 0) return -2;
            left -= got;
        }
        return 1;
    }
    req->body = malloc((size_t)size + 1);
    if (!req->body || cl_stream_readexactly(s, req->body, (size_t)size) != size) return -2;
    req->body[size] = '\0';
    req->body_size = (size_t)size;
    return 1;
}

static const char *reason(int status) {
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 413: return "Content Too Large";
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
    /* counted before it is written: a client that has its answer finds it counted */
    if (req->answered) __atomic_add_fetch(req->answered, 1, __ATOMIC_RELAXED);
    char head[512];
    int n = snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\nServer: conclab\r\nContent-Type: %.200s\r\nConnection: %s\r\n",
                     status, reason(status), content_type ? content_type : "text/plain; charset=utf-8",
                     req->keep_alive ? "keep-alive" : "close");
    if (req->chunked) n += snprintf(head + n, sizeof head - (size_t)n, "Transfer-Encoding: chunked\r\n");
    else n += snprintf(head + n, sizeof head - (size_t)n, "Content-Length: %zu\r\n", size);
    if (cl_stream_write(req->s, head, (size_t)n) < 0) return -1;
    if (req->extra && cl_stream_write(req->s, req->extra, strlen(req->extra)) < 0) return -1;
    if (cl_stream_write(req->s, "\r\n", 2) < 0) return -1;
    int rc = req->chunked ? write_chunked(req->s, body, size) : cl_stream_write(req->s, body, size);
    if (rc == 0) rc = cl_stream_drain(req->s);
    return rc < 0 ? -1 : 0;
}

/* Answers from the handler, the routes, or the path itself. */
static void answer(cl_http_server *srv, cl_http_request *req) {
    const cl_http_server_options *o = &srv->opt;
    if (req->too_large) {
        cl_http_request_respond(req, 413, NULL, "Content Too Large\n", 18);
        return;
    }
    if (o->handler) {
        o->handler(req, o->handler_arg);
        /* A handler cancelled because the server stops has no one to answer: the client may
         * have left long ago, and writing to it would only report a broken pipe. */
        int cancelled = cl_task_current() && cl_task_cancelling(cl_task_current()) > 0;
        if (!req->responded && !cancelled && !cl_stream_is_closing(req->s))
            cl_http_request_respond(req, 500, NULL, "handler gave no answer\n", 23);
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
            if (r->location) cl_http_request_add_header(req, "Location", r->location);
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
    if (rc == 0) answer(srv, req);
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
            s->peer_may_leave = 1; /* a client that gave up before its answer is no error here */
            req.chunked = srv->opt.chunked;
            req.answered = &srv->requests;
            more = serve(srv, &req) == 0 && req.keep_alive;
        }
        request_clear(&req);
    }
    free(line);
    if (--srv->live_handlers == 0 && srv->orphaned) free(srv);
}

/* ---- the server -------------------------------------------------------------------------------- */

/* Starts srv's listening socket in the running loop. 0, or -1 (reported). */
static int listen_here(cl_http_server *srv, const char *host, int port) {
    srv->tcp = cl_stream_start_server(host, port, serve_connection, srv);
    if (!srv->tcp) return -1;
    cl__stream_server_set_stack_size(srv->tcp, HANDLER_STACK);
    return 0;
}

/* The task of a server's own loop: listen, say so, serve until stopped, close. */
static void *serve_on_own_loop(void *arg) {
    cl_http_server *srv = arg;
    own_thread *own = srv->own;
    own->failed = listen_here(srv, own->host, own->port) != 0;
    sem_post(&own->started);
    if (own->failed) return NULL;
    cl_await(own->stop, NULL);
    cl_stream_server_close(srv->tcp);
    cl_stream_server_close_clients(srv->tcp);
    cl_stream_server_wait_closed(srv->tcp);
    cl_stream_server_free(srv->tcp);
    srv->tcp = NULL;
    return NULL;
}

static void *own_thread_main(void *arg) {
    cl_http_server *srv = arg;
    char name[64];
    snprintf(name, sizeof name, "http server %s", srv->own->host);
    cl__thread_name_self(name); /* its lane in a timeline, rather than "Dummy-1" */
    cl_async_run(serve_on_own_loop, arg, NULL);
    return NULL;
}

static void free_own(own_thread *own) {
    if (!own) return;
    cl_future_free(own->stop);
    sem_destroy(&own->started);
    free(own->host);
    free(own);
}

/* Runs srv on a loop and thread of its own; 0 once it listens, or -1 (reported). */
static int start_own_thread(cl_http_server *srv, const char *host, int port) {
    own_thread *own = calloc(1, sizeof *own);
    if (!own || !(own->stop = cl_future_new()) || !(own->host = strdup(host ? host : "127.0.0.1"))) {
        cl_report("cl_http_server_start", "out of memory");
        free_own(own);
        return -1;
    }
    own->port = port;
    sem_init(&own->started, 0, 0);
    srv->own = own;
    if (pthread_create(&own->thread, NULL, own_thread_main, srv) != 0) {
        cl_report("cl_http_server_start", "cannot start the server's thread");
        free_own(own);
        return -1;
    }
    while (sem_wait(&own->started) != 0) {
    }
    if (own->failed) {
        pthread_join(own->thread, NULL);
        free_own(own);
        return -1;
    }
    return 0;
}

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
    int rc = cl_loop_current() ? listen_here(srv, host, port) : start_own_thread(srv, host, port);
    if (rc != 0) {
        free(srv);
        return NULL;
    }
    return srv;
}

int cl_http_server_port(cl_http_server *srv) {
    return srv && srv->tcp ? cl_stream_server_port(srv->tcp) : -1;
}

long cl_http_server_requests(cl_http_server *srv) {
    return srv ? __atomic_load_n(&srv->requests, __ATOMIC_RELAXED) : 0;
}

int cl_http_server_peak_workers(cl_http_server *srv) {
    return srv ? __atomic_load_n(&srv->peak, __ATOMIC_RELAXED) : 0;
}

int cl_http_server_close(cl_http_server *srv) {
    if (!srv) return 0;
    if (srv->own) {
        cl_report("cl_http_server_close", "this server runs on a thread of its own: stop it with cl_http_server_stop");
        return -1;
    }
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

int cl_http_server_stop(cl_http_server *srv) {
    if (!srv) return 0;
    if (!srv->own) { /* served by a loop: only a task of that loop can close it */
        if (cl_loop_current()) return cl_http_server_close(srv);
        cl_report("cl_http_server_stop", "this server is served by an event loop: close it from one of its tasks "
                                         "(cl_http_server_close)");
        return -1;
    }
    if (pthread_equal(pthread_self(), srv->own->thread)) {
        cl_report("cl_http_server_stop", "called from the server's own thread (a handler): it would wait for itself");
        return -1;
    }
    cl_future_set_result(srv->own->stop, NULL);
    pthread_join(srv->own->thread, NULL);
    free_own(srv->own);
    free(srv);
    return 0;
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

const char *cl_http_request_body(cl_http_request *req) { return req && req->body ? req->body : ""; }

size_t cl_http_request_body_size(cl_http_request *req) { return req ? req->body_size : 0; }

int cl_http_request_add_header(cl_http_request *req, const char *name, const char *value) {
    if (!req || !name || !value) {
        cl_report("cl_http_request_add_header", "request, name and value must not be NULL");
        return -1;
    }
    if (req->responded) {
        cl_report("cl_http_request_add_header", "request %s was answered already", req->path);
        return -1;
    }
    if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n")) {
        cl_report("cl_http_request_add_header", "a header name or value holds a line break or a colon");
        return -1;
    }
    char *more;
    if (asprintf(&more, "%s%s: %s\r\n", req->extra ? req->extra : "", name, value) < 0) return -1;
    free(req->extra);
    req->extra = more;
    return 0;
}
