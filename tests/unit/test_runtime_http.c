/* test_runtime_http.c — the HTTP/1.1 client and server helper (conclab/http.h) from the outside:
 * routes and 404, the default answer, a handler that awaits, the slow API's delay and worker
 * limit (5 requests of 0.2 s: ~0.2 s with 5 workers, ~1.0 s with 1), chunked bodies (from our
 * server and from a hand-written one), bodies to the end of the connection, timeouts,
 * cancellation, bad URLs, and Python's urllib as a client of our server. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <conclab.h>

#include "capture_stderr.h"
#include "check.h"

static int contains(const char *text, const char *part) {
    return text && strstr(text, part) != NULL;
}

static int between(double x, double lo, double hi) {
    return x >= lo && x <= hi;
}

static void url_of(char *buf, size_t size, int port, const char *path) {
    snprintf(buf, size, "http://127.0.0.1:%d%s", port, path);
}

/* ---- routes, default, handler ------------------------------------------------------------------ */

static const cl_http_route ROUTES[] = {
    {"/hello", 200, "hello, world\n", NULL},
    {"/json", 201, "{\"ok\": true}", "application/json"},
};

static void *test_routes(void *arg) {
    (void)arg;
    char url[128];
    cl_http_server_options o;
    memset(&o, 0, sizeof o);
    o.routes = ROUTES;
    o.n_routes = 2;
    cl_http_server *srv = cl_http_server_start("127.0.0.1", 0, &o);
    CHECK(srv != NULL);
    if (!srv) return NULL;
    int port = cl_http_server_port(srv);

    url_of(url, sizeof url, port, "/hello");
    cl_http_response *r = cl_http_get(url, 5.0);
    CHECK(r != NULL);
    CHECK(cl_http_response_status(r) == 200);
    CHECK_STR(cl_http_response_body(r), "hello, world\n");
    CHECK(cl_http_response_body_size(r) == 13);
    CHECK_STR(cl_http_response_header(r, "content-length"), "13");
    CHECK(contains(cl_http_response_header(r, "Content-Type"), "text/plain"));
    cl_http_response_free(r);

    url_of(url, sizeof url, port, "/json?x=1");
    r = cl_http_get(url, 5.0);
    CHECK(cl_http_response_status(r) == 201);
    CHECK_STR(cl_http_response_header(r, "Content-Type"), "application/json");
    CHECK_STR(cl_http_response_body(r), "{\"ok\": true}");
    cl_http_response_free(r);

    url_of(url, sizeof url, port, "/missing");
    r = cl_http_get(url, 5.0);
    CHECK(cl_http_response_status(r) == 404);
    CHECK(cl_http_response_header(r, "X-Nothing") == NULL);
    cl_http_response_free(r);
    CHECK(cl_http_server_requests(srv) == 3);
    CHECK(cl_http_server_close(srv) == 0);

    /* no routes, no handler: the path comes back */
    srv = cl_http_server_start("127.0.0.1", 0, NULL);
    url_of(url, sizeof url, cl_http_server_port(srv), "/item/3?x=1");
    r = cl_http_get(url, 5.0);
    CHECK(cl_http_response_status(r) == 200);
    CHECK_STR(cl_http_response_body(r), "/item/3?x=1");
    cl_http_response_free(r);
    CHECK(cl_http_server_close(srv) == 0);
    return NULL;
}

static void answer_agent(cl_http_request *req, void *arg) {
    int *calls = arg;
    char body[256];
    (*calls)++;
    cl_async_sleep(0.01); /* a handler may await */
    snprintf(body, sizeof body, "%s %s from %s", cl_http_request_method(req), cl_http_request_path(req),
             cl_http_request_header(req, "user-agent"));
    cl_http_request_respond(req, 202, NULL, body, strlen(body));
    capture_begin();
    CHECK(cl_http_request_respond(req, 200, NULL, "again", 5) == -1);
    CHECK(starts_with(capture_end(), "cl_http_request_respond: request /who was answered already"));
}

static void no_answer(cl_http_request *req, void *arg) {
    (void)req;
    (void)arg;
}

static void *test_handler(void *arg) {
    (void)arg;
    char url[128];
    int calls = 0;
    cl_http_server_options o;
    memset(&o, 0, sizeof o);
    o.handler = answer_agent;
    o.handler_arg = &calls;
    cl_http_server *srv = cl_http_server_start("127.0.0.1", 0, &o);
    url_of(url, sizeof url, cl_http_server_port(srv), "/who");
    cl_http_response *r = cl_http_get(url, 5.0);
    CHECK(cl_http_response_status(r) == 202);
    CHECK_STR(cl_http_response_body(r), "GET /who from conclab");
    CHECK(calls == 1);
    cl_http_response_free(r);
    cl_http_server_close(srv);

    o.handler = no_answer;
    srv = cl_http_server_start("127.0.0.1", 0, &o);
    url_of(url, sizeof url, cl_http_server_port(srv), "/x");
    r = cl_http_get(url, 5.0);
    CHECK(cl_http_response_status(r) == 500);
    cl_http_response_free(r);
    cl_http_server_close(srv);
    return NULL;
}

/* ---- the slow API: delay and worker limit ------------------------------------------------------ */

static char slow_url[128];
static int slow_ok;

static void *fetch(void *arg) {
    (void)arg;
    cl_http_response *r = cl_http_get(slow_url, 10.0);
    if (r && cl_http_response_status(r) == 200) slow_ok++;
    cl_http_response_free(r);
    return NULL;
}

/* Five requests at once against a server with a 0.2 s delay and the given worker limit. */
static double five_requests(int workers, int *peak) {
    cl_http_server_options o;
    memset(&o, 0, sizeof o);
    o.delay = 0.2;
    o.max_workers = workers;
    cl_http_server *srv = cl_http_server_start("127.0.0.1", 0, &o);
    url_of(slow_url, sizeof slow_url, cl_http_server_port(srv), "/slow");
    slow_ok = 0;
    cl_future *t[5];
    double start = cl_now();
    for (int i = 0; i < 5; i++) t[i] = cl_async_create_task_ex(NULL, 64 * 1024, fetch, NULL);
    cl_async_gather(t, 5, 0);
    double took = cl_now() - start;
    for (int i = 0; i < 5; i++) cl_future_free(t[i]);
    CHECK(slow_ok == 5);
    CHECK(cl_http_server_requests(srv) == 5);
    *peak = cl_http_server_peak_workers(srv);
    cl_http_server_close(srv);
    return took;
}

static void *test_slow_api(void *arg) {
    (void)arg;
    int peak;
    double five = five_requests(5, &peak);
    printf("    5 workers: %.3f s (peak %d)\n", five, peak);
    CHECK(between(five, 0.18, 0.8));
    CHECK(peak == 5);
    double two = five_requests(2, &peak);
    printf("    2 workers: %.3f s (peak %d)\n", two, peak);
    CHECK(between(two, 0.55, 1.5));
    CHECK(peak == 2);
    double one = five_requests(1, &peak);
    printf("    1 worker:  %.3f s (peak %d)\n", one, peak);
    CHECK(between(one, 0.95, 2.5));
    CHECK(peak == 1);
    return NULL;
}

/* ---- bodies: chunked, to the end --------------------------------------------------------------- */

static void raw_handler(cl_stream *s, void *arg) {
    char line[256];
    while (cl_stream_readline(s, line, sizeof line) > 2) {} /* the request, to its empty line */
    cl_stream_write(s, arg, strlen(arg));
}

static void *test_bodies(void *arg) {
    (void)arg;
    char url[128];
    cl_http_server_options o;
    memset(&o, 0, sizeof o);
    o.chunked = 1;
    cl_http_server *srv = cl_http_server_start("127.0.0.1", 0, &o);
    url_of(url, sizeof url, cl_http_server_port(srv), "/a/rather/long/path/sent/back/in/chunks");
    cl_http_response *r = cl_http_get(url, 5.0);
    CHECK(cl_http_response_status(r) == 200);
    CHECK_STR(cl_http_response_header(r, "Transfer-Encoding"), "chunked");
    CHECK(cl_http_response_header(r, "Content-Length") == NULL);
    CHECK_STR(cl_http_response_body(r), "/a/rather/long/path/sent/back/in/chunks");
    cl_http_response_free(r);
    cl_http_server_close(srv);

    /* written by hand: chunk extensions, upper-case hex, a trailer */
    const char *chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "5;ext=1\r\nhello\r\nA\r\n, chunked \r\n6\r\nworld!\r\n0\r\nX-Trailer: yes\r\n\r\n";
    cl_stream_server *raw = cl_stream_start_server("127.0.0.1", 0, raw_handler, (void *)chunked);
    url_of(url, sizeof url, cl_stream_server_port(raw), "/");
    r = cl_http_get(url, 5.0);
    CHECK_STR(cl_http_response_body(r), "hello, chunked world!");
    cl_http_response_free(r);
    cl_stream_server_close(raw);
    cl_stream_server_wait_closed(raw);
    cl_stream_server_free(raw);

    /* no length: the body runs to the end of the connection */
    raw = cl_stream_start_server("127.0.0.1", 0, raw_handler, "HTTP/1.0 200 OK\r\nServer: old\r\n\r\nuntil the end");
    url_of(url, sizeof url, cl_stream_server_port(raw), "/");
    r = cl_http_get(url, 5.0);
    CHECK(cl_http_response_status(r) == 200);
    CHECK_STR(cl_http_response_body(r), "until the end");
    cl_http_response_free(r);

    /* a length longer than what comes: an error, not a short body */
    cl_stream_server_close(raw);
    cl_stream_server_wait_closed(raw);
    cl_stream_server_free(raw);
    raw = cl_stream_start_server("127.0.0.1", 0, raw_handler, "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort");
    url_of(url, sizeof url, cl_stream_server_port(raw), "/");
    capture_begin();
    r = cl_http_get(url, 5.0);
    CHECK(contains(capture_end(), "connection closed before the response ended"));
    CHECK(r == NULL);
    cl_stream_server_close(raw);
    cl_stream_server_wait_closed(raw);
    cl_stream_server_free(raw);
    return NULL;
}

/* ---- timeouts, cancellation, errors ------------------------------------------------------------ */

static void *get_slow(void *arg) {
    return cl_http_get(arg, CL_FOREVER);
}

static void *test_failures(void *arg) {
    (void)arg;
    char url[128];
    cl_http_server_options o;
    memset(&o, 0, sizeof o);
    o.delay = 1.0;
    cl_http_server *srv = cl_http_server_start("127.0.0.1", 0, &o);
    url_of(url, sizeof url, cl_http_server_port(srv), "/slow");

    /* the chapter's timeout: 0.2 s on a 1 s answer */
    double t = cl_now();
    capture_begin();
    cl_http_response *r = cl_http_get(url, 0.2);
    const char *said = capture_end();
    CHECK(r == NULL);
    CHECK(between(cl_now() - t, 0.15, 0.9));
    CHECK(starts_with(said, "cl_http_get: http://127.0.0.1:"));
    CHECK(contains(said, "timed out after 0.2 s"));

    /* cancelled while waiting for the answer: no report, no response */
    capture_begin();
    cl_future *task = cl_async_create_task_ex(NULL, 64 * 1024, get_slow, url);
    cl_async_sleep(0.1);
    cl_task_cancel(task);
    CHECK(cl_await(task, NULL) == CL_FUTURE_CANCELLED);
    CHECK_STR(capture_end(), "");
    cl_future_free(task);
    CHECK(cl_http_server_close(srv) == 0);

    capture_begin();
    CHECK(cl_http_get("https://example.com/", 1.0) == NULL);
    CHECK(cl_http_get("http://:80/", 1.0) == NULL);
    CHECK(cl_http_get("http://127.0.0.1:99999/", 1.0) == NULL);
    CHECK(cl_http_get(NULL, 1.0) == NULL);
    said = capture_end();
    CHECK(contains(said, "cl_http_get: https://example.com/: only http:// URLs are supported"));
    CHECK(contains(said, "cl_http_get: http://:80/: no host"));
    CHECK(contains(said, "cl_http_get: http://127.0.0.1:99999/: bad port"));
    CHECK(contains(said, "cl_http_get: url is NULL"));

    o.delay = -1;
    capture_begin();
    CHECK(cl_http_server_start("127.0.0.1", 0, &o) == NULL);
    CHECK(starts_with(capture_end(), "cl_http_server_start: bad options"));
    return NULL;
}

/* ---- Python's urllib as a client of our server ------------------------------------------------- */

static char python_cmd[512];

static void *run_python(void *arg) {
    (void)arg;
    return (void *)(long)system(python_cmd);
}

static void *test_python_client(void *arg) {
    (void)arg;
    cl_http_server_options o;
    memset(&o, 0, sizeof o);
    o.routes = ROUTES;
    o.n_routes = 2;
    cl_http_server *srv = cl_http_server_start("127.0.0.1", 0, &o);
    snprintf(python_cmd, sizeof python_cmd,
             "/usr/bin/python3 -c \"import urllib.request,sys;"
             "b=urllib.request.urlopen('http://127.0.0.1:%d/hello',timeout=5).read();"
             "sys.exit(0 if b==b'hello, world\\\\n' else 3)\"",
             cl_http_server_port(srv));
    cl_future *f = cl_async_to_thread(run_python, NULL);
    void *status = (void *)-1;
    CHECK(cl_async_wait_for(f, 20.0, &status) == CL_FUTURE_OK);
    CHECK(status == NULL);
    cl_future_free(f);
    CHECK(cl_http_server_requests(srv) == 1);
    cl_http_server_close(srv);
    return NULL;
}

static void run(const char *name, void *(*fn)(void *)) {
    double t = cl_now();
    CHECK(cl_async_run(fn, NULL, NULL) == CL_FUTURE_OK);
    printf("  %-16s %.3f s\n", name, cl_now() - t);
    fflush(stdout);
}

int main(void) {
    capture_begin();
    CHECK(cl_http_get("http://127.0.0.1:1/", 1.0) == NULL);
    CHECK(cl_http_server_start("127.0.0.1", 0, NULL) == NULL);
    const char *said = capture_end();
    CHECK(contains(said, "cl_stream_open_connection: called outside a task"));
    CHECK(contains(said, "cl_stream_start_server: no running loop"));

    run("routes", test_routes);
    run("handler", test_handler);
    run("slow api", test_slow_api);
    run("bodies", test_bodies);
    run("failures", test_failures);
    run("python client", test_python_client);
    return check_summary("test_runtime_http");
}
