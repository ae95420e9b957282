/* test_runtime_http.c — the HTTP client (libcurl) and server helper (conclab/http.h) from the
 * outside: routes and 404, the default answer, a handler that awaits, the slow API's delay and
 * worker limit (5 requests of 0.2 s: ~0.2 s with 5 workers, ~1.0 s with 1), chunked bodies
 * (from our server and from a hand-written one), bodies to the end of the connection, timeouts,
 * cancellation, bad URLs, Python's urllib as a client of our server; POST, request and response
 * headers, redirects; and outside any loop: a server on a thread of its own with blocking
 * clients in threads (their requests overlap) and in a forked process. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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
    {"/hello", 200, "hello, world\n", NULL, NULL},
    {"/json", 201, "{\"ok\": true}", "application/json", NULL},
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
    CHECK(contains(capture_end(), "transfer closed"));
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
    CHECK(r == NULL);  /* the answer comes at 1 s: no response means the 0.2 s timeout ended it */
    CHECK(between(cl_now() - t, 0.15, 3.0));  /* not before it; how long after is the machine's load */
    CHECK(starts_with(said, "cl_http_get: http://127.0.0.1:"));
    CHECK(contains(said, "no complete answer within 0.2 s"));

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
    CHECK(cl_http_get("ftp://127.0.0.1/", 1.0) == NULL);
    CHECK(cl_http_get("http://:80/", 1.0) == NULL);
    CHECK(cl_http_get("http://127.0.0.1:99999/", 1.0) == NULL);
    CHECK(cl_http_get("http://127.0.0.1:1/", 1.0) == NULL);
    CHECK(cl_http_get(NULL, 1.0) == NULL);
    CHECK(cl_http_get("http://127.0.0.1:1/", -1.0) == NULL);
    said = capture_end();
    CHECK(contains(said, "cl_http_get: ftp://127.0.0.1/: Protocol \"ftp\" not supported"));
    CHECK(contains(said, "cl_http_get: http://:80/: URL using bad/illegal format"));
    CHECK(contains(said, "cl_http_get: http://127.0.0.1:99999/: URL using bad/illegal format"));
    CHECK(contains(said, "cl_http_get: http://127.0.0.1:1/: Failed to connect"));
    CHECK(contains(said, "cl_http_get: url is NULL"));
    CHECK(contains(said, "cl_http_get: timeout must be >= 0 seconds"));

    o.delay = -1;
    capture_begin();
    CHECK(cl_http_server_start("127.0.0.1", 0, &o) == NULL);
    CHECK(starts_with(capture_end(), "cl_http_server_start: bad options"));
    return NULL;
}

/* ---- methods, headers, bodies, redirects ------------------------------------------------------- */

/* Echoes what came: method, a header, the body; /to-a redirects to /a. */
static void echo_handler(cl_http_request *req, void *arg) {
    (void)arg;
    char answer[512];
    const char *agent = cl_http_request_header(req, "X-Probe");
    int n = snprintf(answer, sizeof answer, "%s %s probe=%s body=%zu:%s", cl_http_request_method(req),
                     cl_http_request_path(req), agent ? agent : "-", cl_http_request_body_size(req),
                     cl_http_request_body(req));
    cl_http_request_add_header(req, "X-Served", "yes");
    cl_http_request_respond(req, 200, NULL, answer, (size_t)n);
}

static const cl_http_route REDIRECTS[] = {
    {"/old", 301, "moved\n", NULL, "/middle"},
    {"/middle", 302, "again\n", NULL, "/new"},
    {"/new", 200, "arrived\n", NULL, NULL},
    {"/loop", 302, "", NULL, "/loop"},
};

static void check_requests(cl_http_server *echo, cl_http_server *hops) {
    char url[128];
    url_of(url, sizeof url, cl_http_server_port(echo), "/form");
    cl_http_response *r = cl_http_post(url, "text/plain", "a=1&b=2", 7, 5.0);
    CHECK(cl_http_response_status(r) == 200);
    CHECK_STR(cl_http_response_body(r), "POST /form probe=- body=7:a=1&b=2");
    CHECK_STR(cl_http_response_header(r, "x-served"), "yes");
    cl_http_response_free(r);
    const char *headers[] = {"X-Probe: 42", NULL};
    cl_http_options put = {.method = "PUT", .headers = headers, .body = "xyz", .body_size = 3};
    r = cl_http_fetch(url, &put, 5.0);
    CHECK_STR(cl_http_response_body(r), "PUT /form probe=42 body=3:xyz");
    cl_http_response_free(r);
    cl_http_options head = {.method = "HEAD"};
    r = cl_http_fetch(url, &head, 5.0);
    CHECK(cl_http_response_status(r) == 200 && cl_http_response_body_size(r) == 0);
    cl_http_response_free(r);

    url_of(url, sizeof url, cl_http_server_port(hops), "/old");
    r = cl_http_get(url, 5.0);
    CHECK(cl_http_response_status(r) == 200);
    CHECK_STR(cl_http_response_body(r), "arrived\n");
    CHECK(contains(cl_http_response_url(r), "/new"));
    cl_http_response_free(r);
    cl_http_options stay = {.max_redirects = -1};
    r = cl_http_fetch(url, &stay, 5.0);
    CHECK(cl_http_response_status(r) == 301);
    CHECK_STR(cl_http_response_header(r, "Location"), "/middle");
    cl_http_response_free(r);
    url_of(url, sizeof url, cl_http_server_port(hops), "/loop");
    capture_begin();
    CHECK(cl_http_get(url, 5.0) == NULL);
    CHECK(contains(capture_end(), "Maximum (10) redirects followed"));
}

static cl_http_server *start_echo(void) {
    cl_http_server_options o = {0};
    o.handler = echo_handler;
    return cl_http_server_start("127.0.0.1", 0, &o);
}

static cl_http_server *start_hops(void) {
    cl_http_server_options o = {0};
    o.routes = REDIRECTS;
    o.n_routes = 4;
    return cl_http_server_start("127.0.0.1", 0, &o);
}

/* In a task: the same requests, awaited. */
static void *test_requests_in_a_task(void *arg) {
    (void)arg;
    cl_http_server *echo = start_echo(), *hops = start_hops();
    check_requests(echo, hops);
    CHECK(cl_http_server_close(echo) == 0);
    CHECK(cl_http_server_close(hops) == 0);
    return NULL;
}

/* ---- outside any loop: a server on its own thread, blocking clients ---------------------------- */

static char slow_url[128];

static void *fetch_blocking(void *arg) {
    (void)arg;
    cl_http_response *r = cl_http_get(slow_url, 10.0);
    void *ok = (void *)(long)(r && cl_http_response_status(r) == 200);
    cl_http_response_free(r);
    return ok;
}

static void test_outside_a_loop(void) {
    double t = cl_now();
    cl_http_server *echo = start_echo(), *hops = start_hops();
    CHECK(echo && hops);
    check_requests(echo, hops);  /* the same calls, blocking */

    /* three threads, each a 0.3 s request to a server with three workers: they overlap */
    cl_http_server_options o = {0};
    o.delay = 0.3;
    o.max_workers = 3;
    cl_http_server *slow = cl_http_server_start("127.0.0.1", 0, &o);
    url_of(slow_url, sizeof slow_url, cl_http_server_port(slow), "/item");
    double start = cl_now();
    cl_thread *threads[3];
    for (int i = 0; i < 3; i++) threads[i] = cl_thread_start(fetch_blocking, NULL);
    for (int i = 0; i < 3; i++) CHECK(cl_thread_join(threads[i]) == (void *)1);
    CHECK(between(cl_now() - start, 0.29, 0.8));
    CHECK(cl_http_server_requests(slow) == 3 && cl_http_server_peak_workers(slow) == 3);

    /* a forked process (a process-pool worker's way) asks the parent's server */
    fflush(NULL);
    pid_t child = fork();
    if (child == 0) _exit(fetch_blocking(NULL) == (void *)1 ? 0 : 1);
    int status = -1;
    waitpid(child, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(cl_http_server_requests(slow) == 4);

    capture_begin();
    CHECK(cl_http_server_close(slow) == -1);
    CHECK(contains(capture_end(), "stop it with cl_http_server_stop"));
    CHECK(cl_http_server_stop(slow) == 0);
    CHECK(cl_http_server_stop(echo) == 0);
    CHECK(cl_http_server_stop(hops) == 0);
    printf("  %-16s %.3f s\n", "outside a loop", cl_now() - t);
}

/* ---- stopping a server whose handler still waits for a client that left ------------------------ */

static void waits_long(cl_http_request *req, void *arg) {
    (void)arg;
    if (cl_async_sleep(5.0) != 0) return; /* cancelled when the server stops */
    cl_http_request_respond(req, 200, NULL, "late\n", 5);
}

static void answers_late(cl_http_request *req, void *arg) {
    (void)arg;
    if (cl_async_sleep(0.3) != 0) return;
    static char big[256 * 1024]; /* more than a socket buffer: the write meets the closed peer */
    memset(big, 'x', sizeof big);
    cl_http_request_respond(req, 200, NULL, big, sizeof big);
}

static void *give_up_early(void *url) {
    cl_http_response *r = cl_http_get(url, 0.2);
    CHECK(r == NULL); /* timed out */
    cl_http_response_free(r);
    return NULL;
}

static char handler_thread[64];

static void names_its_thread(cl_http_request *req, void *arg) {
    (void)arg;
    snprintf(handler_thread, sizeof handler_thread, "%s", cl_thread_name());
    cl_http_request_respond(req, 200, NULL, "ok\n", 3);
}

static void test_stop_while_handler_waits(void) {
    cl_http_server_options o = {0};
    o.handler = waits_long;
    cl_http_server *srv = cl_http_server_start("127.0.0.1", 0, &o);
    char url[128];
    url_of(url, sizeof url, cl_http_server_port(srv), "/slow");
    capture_begin();
    CHECK(cl_async_run(give_up_early, url, NULL) == CL_FUTURE_OK);
    double start = cl_now();
    CHECK(cl_http_server_stop(srv) == 0);
    const char *err = capture_end();
    CHECK(cl_now() - start < 1.0);          /* the handler was cancelled, not waited for */
    CHECK(!contains(err, "broken pipe"));  /* and nothing was written to the client that left */
    CHECK(!contains(err, "cl_stream_write"));

    /* a handler that answers after its client gave up: the server carries on, quietly */
    o.handler = answers_late;
    srv = cl_http_server_start("127.0.0.1", 0, &o);
    url_of(url, sizeof url, cl_http_server_port(srv), "/late");
    capture_begin();
    CHECK(cl_async_run(give_up_early, url, NULL) == CL_FUTURE_OK);
    cl_sleep(0.5); /* the late answer meets a closed connection meanwhile */
    err = capture_end();
    CHECK(!contains(err, "broken pipe") && !contains(err, "connection reset"));
    CHECK(cl_http_server_stop(srv) == 0);

    /* the server's own thread has a name of its own (a timeline lane says it) */
    o.handler = names_its_thread;
    srv = cl_http_server_start("127.0.0.1", 0, &o);
    url_of(url, sizeof url, cl_http_server_port(srv), "/who");
    cl_http_response *r = cl_http_get(url, 5.0);
    CHECK(r && cl_http_response_status(r) == 200);
    cl_http_response_free(r);
    CHECK_STR(handler_thread, "http server 127.0.0.1");
    CHECK(cl_http_server_stop(srv) == 0);
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
    test_outside_a_loop();
    test_stop_while_handler_waits();
    run("requests", test_requests_in_a_task);
    run("routes", test_routes);
    run("handler", test_handler);
    run("slow api", test_slow_api);
    run("bodies", test_bodies);
    run("failures", test_failures);
    run("python client", test_python_client);
    return check_summary("test_runtime_http");
}
