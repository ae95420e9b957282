"""test_http.py — the HTTP client and the slow-API server from a notebook, as the talk uses them.

A cell starts the server in one line (it runs on a thread of its own); threads, a process pool
and event-loop tasks all fetch from it; HTTPS works against a local TLS server (openssl
s_server with a certificate made for the test), checked against that certificate; a cell stops
the server. Every server here listens on 127.0.0.1 and is stopped by the test.
"""
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from kernel_session import describe_failure, stream_text

FETCH = r'''
char hp_url[64];
long hp_fetch_one(void) {
    cl_http_response *r = cl_http_get(hp_url, 10.0);
    long ok = r && cl_http_response_status(r) == 200 && strcmp(cl_http_response_body(r), "/item") == 0;
    cl_http_response_free(r);
    return ok;
}
'''


@pytest.fixture(scope="module")
def api(k):
    """A slow API (0.3 s a request, 4 workers) started by a cell, stopped by a cell."""
    k.run_ok('cl_http_server *hp_api = cl_http_server_start("127.0.0.1", 0, '
             '&(cl_http_server_options){.delay = 0.3, .max_workers = 4});')
    k.run_ok(FETCH + 'snprintf(hp_url, sizeof hp_url, "http://127.0.0.1:%d/item", cl_http_server_port(hp_api));')
    yield k
    content, msgs = k.run("cl_http_server_stop(hp_api)")
    assert content["status"] == "ok", describe_failure("stop", content, msgs)


def elapsed_and_results(k, code):
    content, msgs = k.run(code, timeout=60)
    assert content["status"] == "ok", describe_failure(code, content, msgs)
    out = stream_text(msgs).split()
    return float(out[0]), [int(x) for x in out[1:]]


def test_threads_fetch_from_the_cells_server_at_once(api):
    code = r'''
void *hp_thread(void *arg) { (void)arg; return (void *)hp_fetch_one(); }
double hp_t0 = cl_now();
cl_thread *hp_threads[4];
for (int i = 0; i < 4; i++) hp_threads[i] = cl_thread_start(hp_thread, NULL);
long hp_ok[4];
for (int i = 0; i < 4; i++) hp_ok[i] = (long)cl_thread_join(hp_threads[i]);
printf("%.3f %ld %ld %ld %ld\n", cl_now() - hp_t0, hp_ok[0], hp_ok[1], hp_ok[2], hp_ok[3]);
'''
    took, ok = elapsed_and_results(api, code)
    assert ok == [1, 1, 1, 1]
    assert 0.29 <= took < 0.9, "4 requests of 0.3 s on 4 workers should overlap: %.3f s" % took


def test_a_process_pool_fetches_from_the_cells_server(api):
    code = r'''
int hp_work(void *arg) { (void)arg; return cl_task_return_long(hp_fetch_one()); }
cl_process_pool *hp_pool = cl_process_pool_new(2);
double hp_p0 = cl_now();
cl_future *hp_f[2];
for (int i = 0; i < 2; i++) hp_f[i] = cl_process_pool_submit(hp_pool, hp_work, NULL, 0);
long hp_pv[2] = {0, 0};
for (int i = 0; i < 2; i++) { void *v; if (cl_future_result(hp_f[i], 20.0, &v) == CL_FUTURE_OK) hp_pv[i] = *(long *)v; }
printf("%.3f %ld %ld\n", cl_now() - hp_p0, hp_pv[0], hp_pv[1]);
for (int i = 0; i < 2; i++) cl_future_free(hp_f[i]);
cl_process_pool_shutdown(hp_pool, 1, 0);
cl_process_pool_free(hp_pool);
'''
    took, ok = elapsed_and_results(api, code)
    assert ok == [1, 1]
    assert took < 3.0


def test_tasks_fetch_from_the_cells_server_and_await(api):
    code = r'''
void *hp_task(void *arg) { (void)arg; return (void *)hp_fetch_one(); }
void *hp_main(void *arg) {
    (void)arg;
    cl_future *tasks[4];
    for (int i = 0; i < 4; i++) tasks[i] = cl_async_create_task(hp_task, NULL);
    cl_async_gather(tasks, 4, 1);
    long sum = 0;
    for (int i = 0; i < 4; i++) { void *v = NULL; cl_future_result(tasks[i], 0, &v); sum += (long)v; cl_future_free(tasks[i]); }
    return (void *)sum;
}
double hp_a0 = cl_now();
void *hp_sum = NULL;
cl_async_run(hp_main, NULL, &hp_sum);
printf("%.3f %ld\n", cl_now() - hp_a0, (long)hp_sum);
'''
    took, ok = elapsed_and_results(api, code)
    assert ok == [4]
    assert 0.29 <= took < 0.9, "4 awaited requests should overlap: %.3f s" % took


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def tls_server():
    """openssl s_server on 127.0.0.1 with a certificate made for it; (url, certificate file)."""
    openssl = shutil.which("openssl")
    if not openssl:
        pytest.skip("openssl is not installed (install.sh installs it)")
    tmp = tempfile.mkdtemp(prefix="conclab-tls-")
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    port = _free_port()
    server = subprocess.Popen([openssl, "s_server", "-accept", "127.0.0.1:%d" % port, "-www",
                               "-cert", cert, "-key", key, "-quiet"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield "https://127.0.0.1:%d/" % port, cert
    finally:
        server.kill()
        server.wait(timeout=5)
        shutil.rmtree(tmp, ignore_errors=True)


def test_https_checked_against_the_servers_certificate(k, tls_server):
    url, cert = tls_server
    code = r'''
cl_http_response *hs_r = cl_http_fetch("%s", &(cl_http_options){.ca_file = "%s"}, 10.0);
printf("%%d %%d\n", cl_http_response_status(hs_r), strstr(cl_http_response_body(hs_r), "s_server") != NULL);
cl_http_response_free(hs_r);
''' % (url, cert)
    content, msgs = k.run(code, timeout=30)
    assert content["status"] == "ok", describe_failure(code, content, msgs)
    assert stream_text(msgs) == "200 1\n"


def test_https_refuses_a_certificate_nobody_vouches_for(k, tls_server):
    url, _ = tls_server
    code = 'cl_http_get("%s", 10.0) == NULL' % url
    content, msgs = k.run(code, timeout=30)
    assert content["status"] == "ok", describe_failure(code, content, msgs)
    said = stream_text(msgs, "stderr")
    assert "cl_http_get: %s" % url in said and "certificate" in said.lower(), said
