/* conclab/http.h — an HTTP client on libcurl and a small HTTP/1.1 server, for the slow web API,
 * the scraper exercise and the talk's clients, all on 127.0.0.1 with no internet (Python:
 * requests.get / aiohttp's session.get, and a small aiohttp.web server).
 * Part of <conclab.h>; see there for the conventions every runtime header keeps.
 *
 *     cl_http_server *api = cl_http_server_start("127.0.0.1", 0, &(cl_http_server_options){
 *         .delay = 0.2, .max_workers = 2});                 // a slow API on a thread of its own
 *     char url[64];
 *     snprintf(url, sizeof url, "http://127.0.0.1:%d/item/1", cl_http_server_port(api));
 *     cl_http_response *r = cl_http_get(url, 5.0);          // r = requests.get(url, timeout=5)
 *     if (r) printf("%d %s\n", cl_http_response_status(r), cl_http_response_body(r));
 *     cl_http_response_free(r);
 *     cl_http_server_stop(api);
 *
 * Client: http:// and https:// (libcurl, the system's certificates unless ca_file says), any
 * method, request headers and body, redirects followed (10 at most unless max_redirects says),
 * gzip bodies decoded, the whole exchange within one timeout. In a task (cl_async_run) a
 * request awaits: the loop serves its other tasks meanwhile and keeps connections alive for the
 * next request; anywhere else (a thread, a process-pool worker, the cell itself) it blocks,
 * letting the emulated GIL go meanwhile as a blocking call in CPython does.
 *
 * Server: started inside a running loop, it is served by that loop (close it with
 * cl_http_server_close, from a task); started anywhere else, it runs on a loop and thread of its
 * own, cl_http_server_start returns once it listens, and cl_http_server_stop ends it from any
 * thread. Each connection is served in a task of its own (keep-alive honoured). A request first
 * takes a worker (at most max_workers requests are in service at once; the others wait in
 * arrival order, like requests queued in front of a slow API's worker pool), then waits delay
 * seconds (an asyncio.sleep: the loop serves others meanwhile), then answers from the handler,
 * else from the routes table, else 404 ("with no routes and no handler, every path answers 200
 * with the path as its body"). Request bodies (Content-Length) are read for the handler. */
#ifndef CONCLAB_HTTP_H
#define CONCLAB_HTTP_H

#include <stddef.h> /* size_t */

#ifdef __cplusplus
extern "C" {
#endif

/* A response received by cl_http_get; opaque, released by cl_http_response_free. */
typedef struct cl_http_response cl_http_response;

/* A running HTTP server; opaque, released by cl_http_server_close. */
typedef struct cl_http_server cl_http_server;

/* A request being served, handed to a server's handler; valid during that call only. */
typedef struct cl_http_request cl_http_request;

/* One fixed answer of a server: path answers status with body (content type text/plain unless given; location: where a redirect points). */
typedef struct cl_http_route {
    const char *path;
    int status;
    const char *body;
    const char *content_type;
    const char *location;
} cl_http_route;

/* How a server behaves; zero-initialise it and set what you need (a NULL options is all zeros). */
typedef struct cl_http_server_options {
    double delay;                 /* seconds each request waits before its answer (the slow API) */
    int max_workers;              /* requests in service at once, the rest wait; 0: no limit */
    const cl_http_route *routes;  /* a table of n_routes answers by path, or NULL; used, not copied: it must outlive the server */
    int n_routes;
    void (*handler)(cl_http_request *req, void *arg); /* answers with cl_http_request_respond (may await; no answer: 500), or NULL */
    void *handler_arg;
    int chunked;                  /* send bodies with chunked transfer coding, not Content-Length */
} cl_http_server_options;

/* How a request is made; zero-initialise it and set what you need (a NULL options is all zeros). */
typedef struct cl_http_options {
    const char *method;           /* "GET" when NULL; "POST", "PUT", "DELETE", "HEAD", "PATCH", ... */
    const char *const *headers;   /* request headers ("Accept: text/plain"), ending with NULL; or NULL */
    const void *body;             /* what to send, body_size bytes of it, or NULL */
    size_t body_size;
    int max_redirects;            /* redirects to follow; 0: 10; -1: none (the 3xx is the answer) */
    const char *ca_file;          /* https://: trust the certificates in this PEM file, not the system's */
    int insecure;                 /* https:// without checking the server's certificate at all */
} cl_http_options;

/* ---- client (Python: requests.get / requests.request, aiohttp's session.get) --------------- */

/* GETs url (http:// or https://) within timeout seconds (CL_FOREVER: none), awaiting in a task and blocking elsewhere; returns the response, yours to free, or NULL (reported unless cancelled). */
cl_http_response *cl_http_get(const char *url, double timeout);

/* POSTs size bytes of body, as content_type (NULL: application/octet-stream), to url within timeout seconds; as cl_http_get. */
cl_http_response *cl_http_post(const char *url, const char *content_type, const void *body, size_t size, double timeout);

/* Makes the request options describe (method, headers, body, redirects, certificates) to url within timeout seconds, as JavaScript's fetch; as cl_http_get. */
cl_http_response *cl_http_fetch(const char *url, const cl_http_options *options, double timeout);

/* Returns response r's status code (200, 404, ...). */
int cl_http_response_status(cl_http_response *r);

/* Returns the value of r's header name (case-insensitive), or NULL if it has none. */
const char *cl_http_response_header(cl_http_response *r, const char *name);

/* Returns r's body as a NUL-terminated string (bodies may also hold NUL bytes: see the size). */
const char *cl_http_response_body(cl_http_response *r);

/* Returns the size of r's body in bytes. */
size_t cl_http_response_body_size(cl_http_response *r);

/* Returns the URL r came from: the one asked for, or where its redirects led. */
const char *cl_http_response_url(cl_http_response *r);

/* Frees response r (NULL is ignored). */
void cl_http_response_free(cl_http_response *r);

/* ---- server (Python: a small aiohttp.web application) ------------------------------------- */

/* Serves HTTP on host:port (port 0 picks a free one) as options say, in the running loop or else on a thread of its own; returns once it listens, or NULL (reported). */
cl_http_server *cl_http_server_start(const char *host, int port, const cl_http_server_options *options);

/* Returns the port server srv listens on. */
int cl_http_server_port(cl_http_server *srv);

/* Returns how many requests srv has answered so far (counted before an answer leaves). */
long cl_http_server_requests(cl_http_server *srv);

/* Returns the most requests srv had in service at once (never above max_workers). */
int cl_http_server_peak_workers(cl_http_server *srv);

/* Stops srv from a task of its loop: no new connections, open ones are cancelled, awaits their end, frees srv; returns 0, or -1 if cancelled meanwhile. */
int cl_http_server_close(cl_http_server *srv);

/* Stops srv from any thread (a server on a thread of its own, or one whose loop is not running the caller): closes it there, ends its thread, frees srv; returns 0, or -1 (reported). */
int cl_http_server_stop(cl_http_server *srv);

/* Returns the request's method ("GET"). */
const char *cl_http_request_method(cl_http_request *req);

/* Returns the request's path with its query ("/item/3?x=1"). */
const char *cl_http_request_path(cl_http_request *req);

/* Returns the value of the request's header name (case-insensitive), or NULL. */
const char *cl_http_request_header(cl_http_request *req, const char *name);

/* Returns the request's body (POST, PUT: Content-Length bytes), NUL-terminated; "" when it has none. */
const char *cl_http_request_body(cl_http_request *req);

/* Returns the size of the request's body in bytes. */
size_t cl_http_request_body_size(cl_http_request *req);

/* Adds a header to the answer req will get ("Location", "Set-Cookie", ...); returns 0, or -1 if it was answered already. */
int cl_http_request_add_header(cl_http_request *req, const char *name, const char *value);

/* Answers req with status and size bytes of body (content_type NULL: text/plain); returns 0, or -1 if it was answered already. */
int cl_http_request_respond(cl_http_request *req, int status, const char *content_type, const void *body, size_t size);

#ifdef __cplusplus
}
#endif

#endif
