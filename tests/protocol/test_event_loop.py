"""test_event_loop.py — issue 6 seen from a notebook: the event loop, its tasks and its servers
run inside cells, through jupyter_client.

What only the kernel can get wrong: output of tasks arrives live while the loop runs; a task that
overflows its stack is named, and the cell's crash loses nothing; a cell stuck in a loop (a task
that blocks it) is interrupted like any other; a server a cell starts on 127.0.0.1 is gone when
the cell ends.
"""
import re
import time

from kernel_session import describe_failure, of_type, stdout_of, stream_text
from process_table import only_executor_below


def test_gather_runs_tasks_concurrently_and_prints_live(k):
    code = r"""
void *el_worker(void *arg) {
    double delay = *(double *)arg;
    cl_async_sleep(delay);
    printf("done after %.1f s\n", delay);
    fflush(stdout);
    return arg;
}
void *el_main(void *arg) {
    (void)arg;
    static double delays[3] = {0.6, 0.2, 0.9};
    cl_future *tasks[3];
    for (int i = 0; i < 3; i++) tasks[i] = cl_async_create_task(el_worker, &delays[i]);
    int failed = cl_async_gather(tasks, 3, 0);
    for (int i = 0; i < 3; i++) cl_future_free(tasks[i]);
    return (void *)(long)failed;
}
double el_start = cl_now();
cl_async_run(el_main, NULL, NULL);
printf("all in %.1f s\n", cl_now() - el_start);
"""
    msg_id = k.execute(code)
    first = k.wait_for_iopub(msg_id, lambda m: m["msg_type"] == "stream" and "done after 0.2" in m["content"]["text"], 10)
    reply = k.wait_for_reply(msg_id, timeout=10)
    _, msgs = k.collect(msg_id, timeout=5)
    text = stream_text(msgs)
    assert reply["content"]["status"] == "ok", describe_failure(code, reply["content"], msgs)
    assert reply["_t"] - first["_t"] > 0.4, "the first task's line came with the reply, not live"
    assert text.splitlines()[:3] == ["done after 0.2 s", "done after 0.6 s", "done after 0.9 s"], text
    total = float(text.splitlines()[3].split()[2])
    assert 0.85 <= total < 1.5, "three tasks of 0.6, 0.2 and 0.9 s took %.1f s together" % total


def test_stack_overflow_in_a_task_names_it_and_keeps_the_state(k):
    stdout_of(k, "int el_kept = 17;")
    code = r"""
int el_deep(int n) { volatile char pad[512]; pad[0] = (char)n; return n == 0 ? 0 : el_deep(n - 1) + pad[0]; }
void *el_diver(void *arg) { (void)arg; return (void *)(long)el_deep(1 << 20); }
void *el_overflow_main(void *arg) {
    (void)arg;
    cl_future *t = cl_async_create_task_ex("deep-diver", 0, el_diver, NULL);
    cl_await(t, NULL);
    return NULL;
}
el_kept = -1;
cl_async_run(el_overflow_main, NULL, NULL);
"""
    content, msgs = k.run(code, timeout=30)
    assert content["status"] == "error" and content["ename"] == "SIGSEGV", describe_failure(code, content, msgs)
    assert "stack overflow in task 'deep-diver'" in stream_text(msgs, "stderr"), describe_failure(code, content, msgs)
    assert content["traceback"][-1] == "The notebook's state from before this cell is intact.", content
    assert stdout_of(k, 'printf("%d\\n", el_kept);') == "17\n"


def test_a_task_blocking_the_loop_is_interrupted_like_any_cell(k):
    code = r"""
void *el_hog(void *arg) { (void)arg; puts("ready"); fflush(stdout); for (;;) {} return NULL; }
void *el_hog_main(void *arg) {
    (void)arg;
    cl_future *t = cl_async_create_task(el_hog, NULL);
    cl_async_sleep(10.0);   /* never wakes: the hog never awaits */
    cl_await(t, NULL);
    return NULL;
}
cl_async_run(el_hog_main, NULL, NULL);
"""
    msg_id = k.execute(code)
    try:
        k.wait_for_iopub(msg_id, lambda m: m["msg_type"] == "stream" and "ready" in m["content"]["text"], 10)
        time.sleep(0.3)
    finally:
        k.km.interrupt_kernel()
    reply = k.wait_for_reply(msg_id, timeout=10)
    assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "Interrupted", reply["content"]
    k.collect(msg_id, timeout=5)
    only_executor_below(k, within=2.0)
    assert stdout_of(k, 'printf("alive\\n");') == "alive\n"


def test_the_chapters_examples_at_full_size(k):
    """Section 12.4's numbers as the chapter gives them: gather of 2 s, 1 s and 3 s takes about
    3 s; a task cancelled after 2 s ends then, its cleanup run; a 3 s timeout on a 10 s task."""
    code = r"""
void *el_sleep_for(void *arg) { cl_async_sleep(*(double *)arg); return arg; }
void *el_cleanup_ran;
void *el_long_job(void *arg) {
    (void)arg;
    if (cl_async_sleep(10.0) != 0) { el_cleanup_ran = (void *)1; return NULL; }
    return NULL;
}
void *el_chapter(void *arg) {
    (void)arg;
    static double d[3] = {2.0, 1.0, 3.0}, ten = 10.0;
    cl_future *t[3];
    double start = cl_now();
    for (int i = 0; i < 3; i++) t[i] = cl_async_create_task(el_sleep_for, &d[i]);
    cl_async_gather(t, 3, 0);
    printf("gather: %.1f s\n", cl_now() - start);
    for (int i = 0; i < 3; i++) cl_future_free(t[i]);

    start = cl_now();
    cl_future *job = cl_async_create_task(el_long_job, NULL);
    cl_async_sleep(2.0);
    cl_task_cancel(job);
    cl_future_status st = cl_await(job, NULL);
    printf("cancel: %.1f s, %s, cleanup %s\n", cl_now() - start,
           st == CL_FUTURE_CANCELLED ? "cancelled" : "not cancelled", el_cleanup_ran ? "ran" : "did not run");
    cl_future_free(job);

    start = cl_now();
    cl_future *slow = cl_async_create_task(el_sleep_for, &ten);
    st = cl_async_wait_for(slow, 3.0, NULL);
    printf("wait_for: %.1f s, %s\n", cl_now() - start, st == CL_FUTURE_TIMEOUT ? "timed out" : "no timeout");
    cl_future_free(slow);
    return NULL;
}
cl_async_run(el_chapter, NULL, NULL);
"""
    out = stdout_of(k, code, timeout=60)
    # the durations with a tolerance (a busy machine is late, never early); the words exactly
    pattern = re.compile(r"^gather: (\d+\.\d) s\ncancel: (\d+\.\d) s, cancelled, cleanup ran\n"
                         r"wait_for: (\d+\.\d) s, timed out\n$")
    m = pattern.match(out)
    assert m, out
    for got, want in zip(map(float, m.groups()), (3.0, 2.0, 3.0)):
        assert want - 0.05 <= got <= want + 0.5, out


def test_a_hundred_thousand_sleeping_tasks_fit_in_a_cell(k):
    code = r"""
long el_woken;
void *el_nap(void *arg) { (void)arg; cl_async_sleep(0.5); el_woken++; return NULL; }
void *el_crowd(void *arg) {
    (void)arg;
    enum { N = 100000 };
    cl_future **t = malloc(N * sizeof *t);
    for (int i = 0; i < N; i++) t[i] = cl_async_create_task(el_nap, NULL);
    int failed = cl_async_gather(t, N, 0);
    for (int i = 0; i < N; i++) cl_future_free(t[i]);
    free(t);
    printf("%ld woke, %s\n", el_woken, failed ? "some failed" : "none failed");
    return NULL;
}
cl_async_run(el_crowd, NULL, NULL);
"""
    assert stdout_of(k, code, timeout=120) == "100000 woke, none failed\n"


def test_to_thread_leaves_no_thread_behind_the_cell(k):
    """asyncio.run shuts the default executor down; so does cl_async_run: no 'threads still
    running' notice, and the next cell is forked again (a crash keeps the state)."""
    code = r"""
void *el_in_thread(void *arg) { return (void *)((long)arg * 2); }
void *el_offload(void *arg) {
    (void)arg;
    void *v = NULL;
    cl_future *f = cl_async_to_thread(el_in_thread, (void *)21);
    cl_await(f, &v);
    cl_future_free(f);
    printf("%ld\n", (long)v);
    return NULL;
}
cl_async_run(el_offload, NULL, NULL);
"""
    content, msgs = k.run(code, timeout=30)
    assert content["status"] == "ok" and stream_text(msgs) == "42\n", describe_failure(code, content, msgs)
    assert not of_type(msgs, "display_data"), "a notice of threads left running: %r" % of_type(msgs, "display_data")
    stdout_of(k, "int el_survivor = 5;")
    crash, crash_msgs = k.run("el_survivor = 0;\n*(volatile int *)0 = 1;", timeout=30)
    assert crash["status"] == "error" and crash["traceback"][-1] == (
        "The notebook's state from before this cell is intact."), describe_failure("", crash, crash_msgs)
    assert stdout_of(k, 'printf("%d\\n", el_survivor);') == "5\n"
