/* conclab/http.h — a minimal HTTP/1.1 client and server on the event loop's streams, enough for
 * the slow web API and the scraper exercise on 127.0.0.1 with no internet (Python: the talk's
 * aiohttp.ClientSession.get and a small aiohttp.web server).
 * Part of <conclab.h>; see there for the conventions every runtime header keeps.
 *
 *     void *fetch(void *url) {                              // async def fetch(url):
 *         cl_http_response *r = cl_http_get(url, 5.0);      //     r = await session.get(url)
 *         if (r) printf("%d %s\n", cl_http_response_status(r), cl_http_response_body(r));
 *         cl_http_response_free(r);
 *         return NULL;
 *     }
 *     void *main_task(void *arg) {                          // a slow API: 0.2 s a request,
 *         cl_http_server_options o = {0};                   // 2 requests in service at once
 *         o.delay = 0.2;
 *         o.max_workers = 2;
 *         cl_http_server *api = cl_http_server_start("127.0.0.1", 0, &o);
 *         char url[64];
 *         snprintf(url, sizeof url, "http://127.0.0.1:%d/item/1", cl_http_server_port(api));
 *         ... gather tasks running fetch(url) ...
 *         cl_http_server_close(api);
 *         return NULL;
 *     }
 *
 * Client: GET only, plain http://host[:port]/path (no TLS, no redirects), one connection per
 * request with "Connection: close"; bodies framed by Content-Length, chunked transfer coding or
 * the end of the connection. It must run in a task: it awaits.
 *
 * Server: each connection is served in a task of its own (keep-alive honoured). A request first
 * takes a worker (at most max_workers requests are in service at once; the others wait in
 * arrival order, like requests queued in front of a slow API's worker pool), then waits delay
 * seconds (an asyncio.sleep: the loop serves others meanwhile), then answers from the handler,
 * else from the routes table, else 404 ("with no routes and no handler, every path answers 200
 * with the path as its body"). */
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

/* One fixed answer of a server: GET path answers status with body (content type text/plain unless given). */
typedef struct cl_http_route {
    const char *path;
    int status;
    const char *body;
    const char *content_type;
} cl_http_route;

/* How a server behaves; zero-initialise it and set what you need (a NULL options is all zeros). */
typedef struct cl_http_server_options {
    double delay;                 /* seconds each request waits before its answer (the slow API) */
    int max_workers;              /* requests in service at once, the rest wait; 0: no limit */
    const cl_http_route *routes;  /* a table of n_routes answers by path, or NULL */
    int n_routes;
    void (*handler)(cl_http_request *req, void *arg); /* answers with cl_http_request_respond (may await; no answer: 500), or NULL */
    void *handler_arg;
    int chunked;                  /* send bodies with chunked transfer coding, not Content-Length */
} cl_http_server_options;

/* ---- client (Python: aiohttp's session.get, urllib.request.urlopen) ------------------------ */

/* GETs url (http://host[:port]/path) within timeout seconds (awaits); returns the response, yours to free, or NULL (reported unless cancelled). */
cl_http_response *cl_http_get(const char *url, double timeout);

/* Returns response r's status code (200, 404, ...). */
int cl_http_response_status(cl_http_response *r);

/* Returns the value of r's header name (case-insensitive), or NULL if it has none. */
const char *cl_http_response_header(cl_http_response *r, const char *name);

/* Returns r's body as a NUL-terminated string (bodies may also hold NUL bytes: see the size). */
const char *cl_http_response_body(cl_http_response *r);

/* Returns the size of r's body in bytes. */
size_t cl_http_response_body_size(cl_http_response *r);

/* Frees response r (NULL is ignored). */
void cl_http_response_free(cl_http_response *r);

/* ---- server (Python: a small aiohttp.web application) ------------------------------------- */

/* Serves HTTP on host:port (port 0 picks a free one) in the running loop as options say; returns the server, or NULL (reported). */
cl_http_server *cl_http_server_start(const char *host, int port, const cl_http_server_options *options);

/* Returns the port server srv listens on. */
int cl_http_server_port(cl_http_server *srv);

/* Returns how many requests srv has answered so far. */
long cl_http_server_requests(cl_http_server *srv);

/* Returns the most requests srv had in service at once (never above max_workers). */
int cl_http_server_peak_workers(cl_http_server *srv);

/* Stops srv: no new connections, open ones are cancelled, awaits their end, frees srv; returns 0, or -1 if cancelled meanwhile. */
int cl_http_server_close(cl_http_server *srv);

/* Returns the request's method ("GET"). */
const char *cl_http_request_method(cl_http_request *req);

/* Returns the request's path with its query ("/item/3?x=1"). */
const char *cl_http_request_path(cl_http_request *req);

/* Returns the value of the request's header name (case-insensitive), or NULL. */
const char *cl_http_request_header(cl_http_request *req, const char *name);

/* Answers req with status and size bytes of body (content_type NULL: text/plain); returns 0, or -1 if it was answered already. */
int cl_http_request_respond(cl_http_request *req, int status, const char *content_type, const void *body, size_t size);

#ifdef __cplusplus
}
#endif

#endif
