"""test_processes.py — issue 5 seen from a notebook: processes, queues and process pools started
by cells, through jupyter_client.

What only the kernel can get wrong: output of child processes reaches the cell that started them
live and once; a child that crashes or calls exit() is the child's business (its exit code),
not a crash of the cell; a pool made in one cell serves the next; and whatever a cell started
is gone, zombies included, after it is joined, freed or interrupted.
"""
import time

import pytest

from kernel_session import describe_failure, of_type, stdout_of, stream_text
from process_table import kernel_pid, only_executor_below, process_rows


def test_child_output_arrives_live_and_once(k):
    code = r"""
int pr_talk(void *arg) {
    printf("child %ld says hi\n", (long)arg);
    fflush(stdout);
    cl_sleep(0.8);
    printf("child %ld says bye\n", (long)arg);
    return 0;
}
printf("parent: buffered before the fork");   /* no newline: still in stdio's buffer */
cl_process *pr_p = cl_process_start(pr_talk, (void *)7);
cl_process_join(pr_p);
printf("\nexit code %d\n", cl_process_exitcode(pr_p));
cl_process_free(pr_p);
"""
    msg_id = k.execute(code)
    hi = k.wait_for_iopub(msg_id, lambda m: m["msg_type"] == "stream" and "says hi" in m["content"]["text"], 10)
    assert not k.has_reply(msg_id), "the child's first line came only with the reply: not live"
    reply = k.wait_for_reply(msg_id, timeout=10)
    _, msgs = k.collect(msg_id, timeout=5)
    text = stream_text(msgs)
    assert reply["content"]["status"] == "ok", describe_failure(code, reply["content"], msgs)
    assert reply["_t"] - hi["_t"] > 0.5, "the child's line and the reply came together"
    assert text.count("parent: buffered before the fork") == 1, text
    assert text.count("child 7 says hi") == 1 and text.count("child 7 says bye") == 1, text
    assert "exit code 0" in text, text


CHILD_ENDINGS = {
    "returns 3": ("return 3;", 3),
    "exit(5)": ("exit(5);", 5),
    "_exit(6)": ("_exit(6);", 6),
    "segfault": ("*(volatile int *)0 = 1; return 0;", -11),
    "abort": ("abort(); return 0;", -6),
    "kills itself": ("kill(getpid(), SIGKILL); return 0;", -9),
}


@pytest.mark.parametrize("case", list(CHILD_ENDINGS))
def test_how_a_child_ends_is_its_exit_code_not_a_cell_crash(k, case):
    body, expected = CHILD_ENDINGS[case]
    name = "pr_end_%d" % list(CHILD_ENDINGS).index(case)
    code = ("#include <signal.h>\nint %s(void *arg) { (void)arg; %s }\n"
            "cl_process *%s_p = cl_process_start(%s, NULL);\n"
            "cl_process_join(%s_p);\n"
            "printf(\"exit code %%d\\n\", cl_process_exitcode(%s_p));\n"
            "cl_process_free(%s_p);\n" % (name, body, name, name, name, name, name))
    assert stdout_of(k, code, timeout=20) == "exit code %d\n" % expected
    only_executor_below(k)


def test_queue_between_processes_in_a_cell(k):
    code = r"""
cl_queue *pr_q;
int pr_produce(void *arg) {
    for (long i = 1; i <= 1000; i++) cl_queue_put_long(pr_q, i * (long)arg, CL_FOREVER);
    return 0;
}
pr_q = cl_queue_new(16);
cl_process *pr_a = cl_process_start(pr_produce, (void *)1);
cl_process *pr_b = cl_process_start(pr_produce, (void *)1000000);
long pr_small = 0, pr_large = 0, pr_value;
for (int i = 0; i < 2000; i++) {
    if (cl_queue_get_long(pr_q, &pr_value, 10.0) != 1) { printf("timed out\n"); break; }
    if (pr_value < 1000000) pr_small += pr_value; else pr_large += pr_value / 1000000;
}
cl_process_join(pr_a);
cl_process_join(pr_b);
printf("%ld %ld\n", pr_small, pr_large);
cl_process_free(pr_a);
cl_process_free(pr_b);
cl_queue_free(pr_q);
"""
    assert stdout_of(k, code, timeout=60) == "500500 500500\n"
    only_executor_below(k)


def test_a_pool_made_in_one_cell_serves_the_next(k):
    stdout_of(k, "void pr_square(const void *arg, size_t size) {\n"
                  "    (void)size;\n    long x = *(const long *)arg;\n    cl_task_return_long(x * x);\n}")
    stdout_of(k, "cl_process_pool *pr_pool = cl_process_pool_new(3);")
    out = stdout_of(k, r"""
long pr_in[8] = {1, 2, 3, 4, 5, 6, 7, 8}, pr_out[8];
int pr_ok = cl_process_pool_map(pr_pool, pr_square, pr_in, sizeof pr_in[0], 8, pr_out, sizeof pr_out[0], 30.0);
for (int i = 0; i < 8; i++) printf("%ld ", pr_out[i]);
printf("-> %d\n", pr_ok);
""", timeout=60)
    assert out == "1 4 9 16 25 36 49 64 -> 0\n"
    stdout_of(k, "cl_process_pool_free(pr_pool);", timeout=30)
    only_executor_below(k, within=3.0)


def test_interrupting_a_cell_ends_its_processes_and_pool(k):
    code = r"""
void pr_forever(const void *arg, size_t size) { (void)arg; (void)size; for (;;) {} }
int pr_spin(void *arg) { (void)arg; for (;;) {} return 0; }
cl_process_pool *pr_busy = cl_process_pool_new(2);
cl_future *pr_f1 = cl_process_pool_submit(pr_busy, pr_forever, NULL, 0);
cl_future *pr_f2 = cl_process_pool_submit(pr_busy, pr_forever, NULL, 0);
cl_process *pr_s = cl_process_start(pr_spin, NULL);
puts("ready"); fflush(stdout);
cl_process_join(pr_s);
"""
    msg_id = k.execute(code)
    try:
        k.wait_for_iopub(msg_id, lambda m: m["msg_type"] == "stream" and "ready" in m["content"]["text"], 20)
        time.sleep(0.3)
        running = [row for row in process_rows(kernel_pid(k)) if row[1] == "R"]
        assert len(running) >= 3, "expected 2 busy workers and a spinning process: %r" % (running,)
    finally:
        k.km.interrupt_kernel()
    reply = k.wait_for_reply(msg_id, timeout=10)
    assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "Interrupted"
    k.collect(msg_id, timeout=5)
    only_executor_below(k, within=2.0)
    assert stdout_of(k, 'printf("alive\\n");') == "alive\n"


def test_a_worker_crash_fails_its_task_and_the_cell_goes_on(k):
    code = r"""
void pr_maybe_crash(const void *arg, size_t size) {
    (void)size;
    long x = *(const long *)arg;
    if (x == 2) *(volatile int *)0 = 1;
    cl_task_return_long(x);
}
cl_process_pool *pr_fragile = cl_process_pool_new(2);
long pr_args[3] = {1, 2, 3};
cl_future *pr_fs[3];
for (int i = 0; i < 3; i++) pr_fs[i] = cl_process_pool_submit(pr_fragile, pr_maybe_crash, &pr_args[i], sizeof pr_args[i]);
for (int i = 0; i < 3; i++) {
    void *v;
    cl_future_status st = cl_future_result(pr_fs[i], 30.0, &v);
    if (st == CL_FUTURE_OK) printf("%d: %ld\n", i, *(long *)v);
    else printf("%d: error: %s\n", i, cl_future_error(pr_fs[i]));
    cl_future_free(pr_fs[i]);
}
cl_process_pool_free(pr_fragile);
"""
    content, msgs = k.run(code, timeout=60)
    text = stream_text(msgs)
    assert content["status"] == "ok", describe_failure(code, content, msgs)
    lines = text.splitlines()
    assert lines[0] == "0: 1" and lines[2] == "2: 3", text
    assert lines[1].startswith("1: error:") and "SIGSEGV" in lines[1], text
    assert not of_type(msgs, "error")
    only_executor_below(k, within=3.0)
