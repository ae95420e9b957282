"""test_check.py — check cells (cl_check, conclab/check.h) through jupyter_client.

A claim that holds prints ✓ with its text and the cell goes on; one that does not prints ✗ and
the cell fails with CheckFailed naming the claim and its line, the notebook's state intact, from
the cell or from a thread alike. A cell that runs in place (threads of earlier cells running)
cannot end without the notebook: it runs on to its end, then fails with the first claim, and
the notebook keeps what it did.
"""
from kernel_session import describe_failure, stream_text


def test_a_claim_that_holds_prints_a_tick_and_the_cell_goes_on(k):
    content, msgs = k.run('double ck_ratio = 0.51;\ncl_check(ck_ratio < 0.7, "threads took %.2f x the sequential time", ck_ratio);\nprintf("next\\n");')
    assert content["status"] == "ok", describe_failure("", content, msgs)
    assert stream_text(msgs) == "\u2713 threads took 0.51 x the sequential time\nnext\n"


def test_a_claim_that_fails_stops_the_cell_with_check_failed(k):
    k.run_ok("int ck_total = 999;")
    code = 'ck_total = 5;\ncl_check(ck_total == 1000000, "total is %d, want 1000000", ck_total);\nprintf("never\\n");'
    content, msgs = k.run(code)
    assert content["status"] == "error" and content["ename"] == "CheckFailed", describe_failure(code, content, msgs)
    assert content["evalue"] == "total is 5, want 1000000 at cell[%d], line 2" % content["execution_count"]
    assert stream_text(msgs) == "\u2717 total is 5, want 1000000\n"
    content, msgs = k.run('printf("%d\\n", ck_total);')
    assert stream_text(msgs) == "999\n"  # the failed cell's assignment is gone, as after any failed cell


def test_a_claim_failing_in_a_thread_fails_the_cell(k):
    code = ('void *ck_worker(void *arg) { cl_check(arg != NULL, "the worker got its argument"); return arg; }\n'
            'cl_thread *ck_t = cl_thread_start(ck_worker, NULL);\ncl_thread_join(ck_t);')
    content, msgs = k.run(code)
    assert content["status"] == "error" and content["ename"] == "CheckFailed", describe_failure(code, content, msgs)
    assert content["evalue"].startswith("the worker got its argument at cell[")


def test_in_place_the_cell_runs_on_and_fails_at_its_end_with_state_kept(k):
    k.run_ok('void *ck_idle(void *arg) { cl_sleep(2.5); return arg; }\ncl_thread_start(ck_idle, NULL);\nint ck_kept = 1;')
    code = 'cl_check(0, "first claim");\ncl_check(0, "second claim");\nck_kept = 2;\nprintf("ran on\\n");'
    content, msgs = k.run(code)
    assert content["status"] == "error" and content["ename"] == "CheckFailed", describe_failure(code, content, msgs)
    assert content["evalue"].startswith("first claim (the cell ran on to its end")
    assert stream_text(msgs) == "\u2717 first claim\n\u2717 second claim\nran on\n"
    content, msgs = k.run('cl_sleep(2.6);\nprintf("%d\\n", ck_kept);')
    assert content["status"] == "ok" and stream_text(msgs) == "2\n", describe_failure("", content, msgs)
    content, msgs = k.run('cl_check(ck_kept == 2, "kept");')  # not in place any more: a fork again
    assert content["status"] == "ok" and stream_text(msgs) == "\u2713 kept\n"
