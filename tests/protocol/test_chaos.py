"""test_chaos.py — %%chaos and %lockcheck (issue 17, items 3 and 4) through jupyter_client.

%%chaos --runs K runs the cell K times as throwaway trials, each under chaos seed S+i (seeded
hold-ups at the runtime's scheduling points) with lock-order checking on, and says how many
failed, the first failing seed, what that run printed and why, and how to replay it.
%%chaos --seed N alone is that replay: one ordinary run under seed N. %lockcheck on makes every
later cell report contradicting lock orders on stderr, as a warning.

Figures measured on the 2-core VM while writing this (lost update, 4 threads x 1 increment,
runtime of main at a672ef0): plain 0 or 1 of 100 runs; %%chaos --runs 100: 51, 57, 57, 62, 64 of
100, about 0.01 s per trial (100 trials in 1.0-1.3 s); replaying the first failing seed failed
again 5, 6, 8, 8, 10 times in 10 (the runtime decides the same hold-ups, the OS still schedules),
so the test replays it 10 times and asks for one failure. With the runtime of 1f0cf6f the chaos
figure was 24-42 of 100; the test asks for 30, the brief's floor.
"""
import re
import time

from kernel_session import describe_failure, stream_text

RACE = r'''long ch_counter;
void *ch_bump(void *arg) { (void)arg; long v = cl_atomic_load(&ch_counter); cl_atomic_store(&ch_counter, v + 1); return NULL; }
int ch_race_once(void) {
    ch_counter = 0;
    cl_thread *t[4];
    for (int i = 0; i < 4; i++) t[i] = cl_thread_start(ch_bump, NULL);
    for (int i = 0; i < 4; i++) cl_thread_join(t[i]);
    return ch_counter == 4;
}'''

RACE_CHECK = 'ch_race_once();\ncl_check(ch_counter == 4, "4 threads, 1 increment each: counter is %ld", ch_counter);'

LOCKS = r'''cl_lock *ch_a, *ch_b;
void *ch_ab(void *x) { cl_lock_acquire(ch_a); cl_lock_acquire(ch_b); cl_lock_release(ch_b); cl_lock_release(ch_a); return x; }
void *ch_ba(void *x) { cl_lock_acquire(ch_b); cl_lock_acquire(ch_a); cl_lock_release(ch_a); cl_lock_release(ch_b); return x; }
ch_a = cl_lock_new(); ch_b = cl_lock_new();'''

# one thread after the other: the orders contradict, yet this can never deadlock
INVERTED = 'cl_thread_join(cl_thread_start(ch_ab, NULL));\ncl_thread_join(cl_thread_start(ch_ba, NULL));\nprintf("no deadlock\\n");'

SUMMARY_FAILED = re.compile(r"^chaos: failed (\d+) of (\d+) runs; first failing seed (\d+)$", re.M)
SUMMARY_PASSED = re.compile(r"^chaos: passed (\d+) of (\d+) runs \(seeds (\d+)\.\.(\d+)\)$", re.M)


def test_the_lost_update_passes_plain_runs_and_fails_under_chaos_and_its_seed_replays(k):
    k.run_ok(RACE)
    plain = stream_text(k.run_ok('int ch_lost = 0;\nfor (int i = 0; i < 100; i++) ch_lost += !ch_race_once();\n'
                                 'printf("%d\\n", ch_lost);'))
    lost_plain = int(plain)
    code = "%%chaos --runs 100\n" + RACE_CHECK
    started = time.monotonic()
    content, msgs = k.run(code, timeout=120)
    seconds = time.monotonic() - started
    out = stream_text(msgs)
    assert content["status"] == "error" and content["ename"] == "ChaosFailure", describe_failure(code, content, msgs)
    m = SUMMARY_FAILED.search(out)
    assert m and m.group(2) == "100", out
    failed, seed = int(m.group(1)), m.group(3)
    print("plain: %d of 100 lost an update; chaos: %d of 100 (%.1f s for 100 trials)" % (lost_plain, failed, seconds))
    assert lost_plain <= 2, "the racy program should pass plain runs almost always: %d of 100 failed" % lost_plain
    assert failed >= 30, "chaos should find the lost update often: %d of 100\n%s" % (failed, out)
    assert "\u2717 4 threads, 1 increment each: counter is" in out  # what the failing run printed
    assert "why it failed: its check did not hold: 4 threads, 1 increment each" in out
    assert ("replay it: %%%%chaos --seed %s\n" % seed) in out
    assert content["evalue"].startswith("%d of 100 runs failed under chaos; the first failing seed was %s" % (failed, seed))
    # the replay: one ordinary run under that seed; the OS still schedules, so not every time
    replays = []
    for _ in range(10):
        content, msgs = k.run("%%chaos --seed " + seed + "\n" + RACE_CHECK)
        replays.append(content["status"] == "error")
        if content["status"] == "error":
            assert content["ename"] == "CheckFailed", describe_failure("replay", content, msgs)
            assert any(("chaos seed %s" % seed) in line for line in content["traceback"]), content["traceback"]
    print("replaying seed %s failed %d of 10 times" % (seed, sum(replays)))
    assert sum(replays) >= 1, "replaying the first failing seed never failed in 10 runs"


def test_a_correct_program_passes_every_run_with_the_seeds_named(k):
    k.run_ok('long ch_total; cl_lock *ch_guard;\n'
             'void *ch_add(void *arg) { (void)arg; cl_lock_acquire(ch_guard); ch_total++; cl_lock_release(ch_guard); return NULL; }\n'
             'ch_guard = cl_lock_new();')
    code = ('%%chaos --runs 30 --seed 500\nch_total = 0;\ncl_thread *t[4];\n'
            'for (int i = 0; i < 4; i++) t[i] = cl_thread_start(ch_add, NULL);\n'
            'for (int i = 0; i < 4; i++) cl_thread_join(t[i]);\ncl_check(ch_total == 4, "total %ld", ch_total);')
    content, msgs = k.run(code, timeout=60)
    assert content["status"] == "ok", describe_failure(code, content, msgs)
    out = stream_text(msgs)
    assert SUMMARY_PASSED.search(out).groups() == ("30", "30", "500", "529"), out
    assert "\u2713" not in out  # trials' own output is not streamed


def test_an_inverted_lock_order_fails_a_chaos_run_with_the_lockcheck_report(k):
    k.run_ok(LOCKS)
    code = "%%chaos --runs 3\n" + INVERTED
    content, msgs = k.run(code, timeout=60)
    out = stream_text(msgs)
    assert content["status"] == "error" and content["ename"] == "ChaosFailure", describe_failure(code, content, msgs)
    assert SUMMARY_FAILED.search(out).group(1) == "3", out
    assert "lockcheck: possible deadlock: locks taken in contradicting orders" in out
    assert "no deadlock\n" in out  # it ran to its end: the report is about what could happen
    assert "why it failed: lock-order checking saw threads take the same locks in opposite orders" in out


def test_lockcheck_on_warns_on_stderr_and_the_cell_succeeds(fresh_kernel):
    k = fresh_kernel
    k.run_ok(LOCKS)
    msgs = k.run_ok(INVERTED)  # off: nothing said
    assert "lockcheck" not in stream_text(msgs, "stderr")
    msgs = k.run_ok("%lockcheck on")
    assert "Lock-order checking is on" in stream_text(msgs)
    msgs = k.run_ok(INVERTED)
    err = stream_text(msgs, "stderr")
    assert "lockcheck: possible deadlock: locks taken in contradicting orders" in err, err
    assert stream_text(msgs) == "no deadlock\n"
    assert "lock order:      checked" in stream_text(k.run_ok("%limits"))
    k.run_ok("%lockcheck off")
    msgs = k.run_ok("cl_lock *ch_c = cl_lock_new(), *ch_d = cl_lock_new();\n"
                             "cl_lock_acquire(ch_c); cl_lock_acquire(ch_d); cl_lock_release(ch_d); cl_lock_release(ch_c);\n"
                             "cl_lock_acquire(ch_d); cl_lock_acquire(ch_c); cl_lock_release(ch_c); cl_lock_release(ch_d);")
    assert "lockcheck" not in stream_text(msgs, "stderr")


def test_trials_leave_the_notebook_state_as_it_was(k):
    k.run_ok("int ch_kept = 7;")
    code = '%%chaos --runs 4 --seed 1\nch_kept = 99;\nint ch_new_in_trial = 1;\nprintf("trial sees %d\\n", ch_kept);'
    content, msgs = k.run(code, timeout=60)
    assert content["status"] == "ok", describe_failure(code, content, msgs)
    assert stream_text(k.run_ok('printf("%d\\n", ch_kept);')) == "7\n"


def test_a_hung_trial_is_cut_at_its_limit_counted_failed_and_the_kernel_answers(k):
    code = '%%timeout 2\n%%chaos --runs 5 --seed 3\nif (cl_chaos_active(NULL)) for (;;) cl_sleep(1);'
    started = time.monotonic()
    content, msgs = k.run(code, timeout=30)
    seconds = time.monotonic() - started
    out = stream_text(msgs)
    assert content["status"] == "error" and content["ename"] == "ChaosFailure", describe_failure(code, content, msgs)
    assert "chaos: failed 1 of 1 runs; first failing seed 3" in out, out
    assert "stopped after 1 of the 5 runs asked for: the cell's time limit of 2 s was reached" in out
    assert "did not finish within its time limit of 2 s" in out
    assert seconds < 6, "the magic should stop at the cell's limit: took %.1f s" % seconds
    assert stream_text(k.run_ok('printf("alive\\n");')) == "alive\n"


def test_trials_are_refused_plainly_while_threads_of_earlier_cells_run(fresh_kernel):
    k = fresh_kernel
    k.run_ok("void *ch_idle(void *arg) { cl_sleep(3); return arg; }\ncl_thread_start(ch_idle, NULL);")
    content, msgs = k.run('%%chaos --runs 3\nprintf("x\\n");')
    assert content["status"] == "error" and content["ename"] == "ChaosUnavailable", describe_failure("", content, msgs)
    assert "threads of earlier cells are still running" in content["evalue"]


def test_bad_chaos_options_are_a_magic_error(k):
    for line in ("%%chaos --runs 1", "%%chaos --runs 5000", "%%chaos --seed x", "%%chaos --fast"):
        content, msgs = k.run(line + '\nprintf("x\\n");')
        assert content["status"] == "error" and content["ename"] == "MagicError", (line, content)
        assert "%%chaos takes --seed N" in content["evalue"]


def test_an_interrupt_stops_the_trials_and_the_notebook_goes_on(k):
    k.run_ok("int ch_before_interrupt = 5;")
    msg_id = k.execute('%%chaos --runs 50 --seed 9\nch_before_interrupt = 6;\nfor (;;) cl_sleep(1);')
    time.sleep(1.5)  # the first trial is under way (each would run 10 s)
    k.km.interrupt_kernel()
    reply = k.wait_for_reply(msg_id, timeout=10)
    assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "Interrupted", reply["content"]
    k.collect(msg_id, timeout=5)
    assert stream_text(k.run_ok('printf("%d\\n", ch_before_interrupt);')) == "5\n"
