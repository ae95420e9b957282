"""test_faults.py — issue 3 proved from the outside: cells that crash, hang, are interrupted or
hit a limit never take the kernel, nor the notebook's state, with them.

Every test drives a real kernel through jupyter_client and checks three things afterwards:
the reply (status, ename, evalue naming the cell and line), the kernel (`is_alive()`, same
process) and the notebook's state (a variable and a function from earlier cells still print,
and what the failed cell changed before failing is rolled back). Most tests also read the
process table: below the kernel only the executor may remain, and no zombie.

Kernels are shared per group of tests (crashes and bounds checking, interrupts, limits) to keep
the file fast; tests that lose the state on purpose get a kernel of their own.
"""
import os
import re
import signal
import time

import pytest

from kernel_session import (PRELUDE, describe_failure, of_type, start_session, stop_session,
                            stdout_of, stream_text)
from process_table import COMPILER_NAME, SPARE_NAME, kernel_pid, only_executor_below, process_rows
from wire_client import descendants_of, pid_running

# ---- the notebook state every group checks ----------------------------------------------------

STATE_CELLS = [
    "int fk_keep = 42;\nint fk_twice(int x) { return 2 * x; }\nchar *fk_heap;",
    'fk_heap = strdup("kept on the heap");',
]
STATE_PROBE = r'printf("%d %d %s\n", fk_keep, fk_twice(fk_keep), fk_heap);'
STATE_PRINTED = "42 84 kept on the heap\n"

# Every fault cell first changes fk_keep; the state check then proves the change was rolled back.
SPOIL = "fk_keep = -1;"


def define_state(k):
    for cell in STATE_CELLS:
        k.run_ok(cell)


def assert_state_intact(k, after):
    content, msgs = k.run(STATE_PROBE, timeout=10)
    assert content["status"] == "ok" and stream_text(msgs) == STATE_PRINTED, (
        "state not intact after %s:\n%s" % (after, describe_failure(STATE_PROBE, content, msgs)))


def fault_line(code):
    """The 1-based line of the cell marked `// FAULT`."""
    lines = code.split("\n")
    marked = [i + 1 for i, line in enumerate(lines) if "// FAULT" in line]
    assert len(marked) == 1, "test bug: mark exactly one line with // FAULT"
    return marked[0]


def error_reply(k, code, timeout=20):
    """Runs a cell that must fail; returns (reply content, iopub msgs) after checking the
    reply and the iopub error message agree."""
    content, msgs = k.run(code, timeout=timeout)
    assert content["status"] == "error", describe_failure(code, content, msgs)
    errors = of_type(msgs, "error")
    assert len(errors) == 1, describe_failure(code, content, msgs)
    assert (errors[0]["content"]["ename"], errors[0]["content"]["evalue"]) == (
        content["ename"], content["evalue"]), describe_failure(code, content, msgs)
    return content, msgs


def assert_kernel_survived(k, pid_before):
    assert k.km.is_alive(), "the kernel process died"
    assert kernel_pid(k) == pid_before, "the kernel was replaced (pid %d -> %d)" % (
        pid_before, kernel_pid(k))


def session_with_state(env=None):
    session = start_session(env=env)
    try:
        session.run_ok(PRELUDE)
        define_state(session)
    except BaseException:
        stop_session(session)
        raise
    return session


# ==== 1. crashes and exits in a forked cell: the state from before the cell lives on =============

@pytest.fixture(scope="module")
def ck(k):
    """The module's shared kernel, with the state cells run once."""
    define_state(k)
    return k


CRASHES = {
    "null_deref": (SPOIL + "\nint *fk_null = NULL;\n*fk_null = 1; // FAULT", "SIGSEGV",
                   "signal 11 (SIGSEGV: Segmentation fault)"),
    "wild_pointer": (SPOIL + "\nint *fk_wild = (int *)0x7f0000dead00;\n*fk_wild = 1; // FAULT",
                     "SIGSEGV", "signal 11 (SIGSEGV: Segmentation fault)"),
    "bus_error": ("#include <sys/mman.h>\n" + SPOIL + "\nFILE *fk_empty = tmpfile();\n"
                  "char *fk_map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fileno(fk_empty), 0);\n"
                  "fk_map[0] = 1; // FAULT", "SIGBUS", "signal 7 (SIGBUS: Bus error)"),
    "abort": (SPOIL + "\nabort(); // FAULT", "SIGABRT", "signal 6 (SIGABRT: Aborted)"),
    "failed_assert": ("#include <assert.h>\n" + SPOIL + "\nassert(fk_keep == 42); // FAULT", "SIGABRT",
                      "signal 6 (SIGABRT: Aborted)"),
    "exit_3": (SPOIL + "\nexit(3); // FAULT", "Exit", "exit status 3"),
    "_exit_0": (SPOIL + "\n_exit(0); // FAULT", "Exit", "exit status 0"),
    "divide_by_zero": (SPOIL + "\nvolatile int fk_zero = 0;\nint fk_quotient = 1 / fk_zero; // FAULT",
                       "SIGFPE", "signal 8 (SIGFPE"),
    # sent, not caused by an instruction: the crash handler must not swallow them
    "raise_sigsegv": ("#include <signal.h>\n" + SPOIL + "\nraise(SIGSEGV); // FAULT", "SIGSEGV",
                      "signal 11 (SIGSEGV: Segmentation fault)"),
    "kill_self_sigbus": ("#include <signal.h>\n" + SPOIL + "\nkill(getpid(), SIGBUS); // FAULT", "SIGBUS",
                         "signal 7 (SIGBUS: Bus error)"),
}


@pytest.mark.parametrize("case", list(CRASHES))
def test_crash_keeps_kernel_and_state(ck, case):
    code, ename, says = CRASHES[case]
    pid = kernel_pid(ck)
    content, msgs = error_reply(ck, code)
    where = "at cell[%d], line %d" % (content["execution_count"], fault_line(code))
    assert content["ename"] == ename, describe_failure(code, content, msgs)
    assert says in content["evalue"], describe_failure(code, content, msgs)
    assert content["traceback"][-1] == "The notebook's state from before this cell is intact.", content
    if case == "failed_assert":
        assert "Assertion `fk_keep == 42' failed" in stream_text(msgs, "stderr"), (
            describe_failure(code, content, msgs))
    assert_kernel_survived(ck, pid)
    only_executor_below(ck)
    assert_state_intact(ck, case)
    # last, so that a missing location does not hide whether the kernel and state survived
    assert content["evalue"].endswith(where), "evalue should end with %r:\n%s" % (
        where, describe_failure(code, content, msgs))


def test_a_child_that_raises_a_crash_signal_dies_of_it(ck):
    """The crash handler is inherited by the cell's own forks: a child's raise() still kills it."""
    code = ("#include <signal.h>\n#include <sys/wait.h>\nint fk_status;\n"
            "if (fork() == 0) { raise(SIGFPE); _exit(3); }\nwait(&fk_status);\n"
            'printf("%d %d\\n", WIFSIGNALED(fk_status), WIFSIGNALED(fk_status) ? WTERMSIG(fk_status) : -1);')
    content, msgs = ck.run(code)
    assert content["status"] == "ok" and stream_text(msgs) == "1 8\n", describe_failure(code, content, msgs)


def test_crash_in_a_notebook_function_names_it(ck):
    define = "int fk_poke(int *p) {\n    return *p;\n}"
    defined_in = ck.run(define)[0]["execution_count"]
    code = SPOIL + "\nint fk_poked = 0;\nfk_poked = fk_poke(NULL); // FAULT"
    pid = kernel_pid(ck)
    content, msgs = error_reply(ck, code)
    cell = content["execution_count"]
    assert content["ename"] == "SIGSEGV", describe_failure(code, content, msgs)
    assert content["evalue"].endswith("at cell[%d], line %d" % (cell, fault_line(code))), content
    frames = content["traceback"]
    assert "  in fk_poke() from cell[%d]" % defined_in in frames, frames
    assert "  at the top level of cell[%d], line %d" % (cell, fault_line(code)) in frames, frames
    assert_kernel_survived(ck, pid)
    assert_state_intact(ck, "a crash in a function")


def test_what_a_crashing_cell_defined_stays_defined(ck):
    """A cell's definitions take effect before it runs: a crash after them keeps them, and
    the state from before the cell (fk_keep) is rolled back all the same."""
    code = (SPOIL + "\nint fk_tripled(int v) { return 3 * v; }\nint fk_defined_then = 14;\n"
            "#define FK_DEFINED_THEN 1\nabort(); // FAULT")
    content, msgs = error_reply(ck, code)
    assert content["ename"] == "SIGABRT", describe_failure(code, content, msgs)
    msgs = ck.run_ok('printf("%d %d\\n", fk_tripled(fk_defined_then), FK_DEFINED_THEN);')
    assert stream_text(msgs) == "42 1\n", msgs
    assert_state_intact(ck, "a crash after definitions")


def spares_of(k):
    return [r for r in process_rows(kernel_pid(k)) if r[3] == SPARE_NAME and r[1] != "Z"]


def wait_for_spare(k, within=2.0):
    deadline = time.monotonic() + within
    while not spares_of(k):
        assert time.monotonic() < deadline, "no spare below the holder: %r" % process_rows(kernel_pid(k))
        time.sleep(0.02)
    return spares_of(k)[0][0]


def test_the_next_cell_runs_in_the_process_forked_ahead(ck):
    """kernel/executor/spare.h: an idle holder forks the next cell's process; the cell runs there
    and that process holds the notebook afterwards."""
    ck.run_ok("int fk_ahead = 1;")
    spare = wait_for_spare(ck)
    ck.run_ok("fk_ahead++;")
    holder, _ = only_executor_below(ck)
    assert holder == spare, "the cell should have run in the spare %d; the holder is %d" % (spare, holder)
    assert_state_intact(ck, "cells in spares")


def test_a_spare_killed_from_outside_changes_nothing(ck):
    ck.run_ok("int fk_before_kill = 41;")
    spare = wait_for_spare(ck)
    os.kill(spare, signal.SIGKILL)
    msgs = ck.run_ok('printf("%d\\n", fk_before_kill + 1);')
    assert stream_text(msgs) == "42\n", msgs
    only_executor_below(ck, within=2.0)
    assert_state_intact(ck, "a killed spare")


def test_stack_overflow_names_the_recursing_function(ck):
    define = ("int fk_dive(int n) {\n    volatile char pad[256];\n    pad[0] = (char)n;\n"
              "    return fk_dive(n + 1) + pad[0];\n}")
    defined_in = ck.run(define)[0]["execution_count"]
    code = SPOIL + "\nfk_dive(0); // FAULT"
    pid = kernel_pid(ck)
    content, msgs = error_reply(ck, code)
    cell = content["execution_count"]
    assert content["ename"] == "SIGSEGV", describe_failure(code, content, msgs)
    assert content["evalue"].endswith("at cell[%d], line %d" % (cell, fault_line(code))), content
    dive = [f for f in content["traceback"] if f.startswith("  in fk_dive() from cell[%d]" % defined_in)]
    assert dive, "the traceback does not name fk_dive(): %r" % content["traceback"]
    # README: "in f() from cell[M] (256 frames or more)"
    folded = re.search(r"\((\d+) frames( or more)?\)", dive[0])
    assert folded and int(folded.group(1)) >= 256, "a runaway recursion should fold 256 frames or more: %r" % dive
    assert_kernel_survived(ck, pid)
    only_executor_below(ck)
    assert_state_intact(ck, "a stack overflow")


@pytest.mark.parametrize("start", [
    'cl_thread *fk_t = cl_thread_start_named("diver", fk_thread_dive, NULL);\ncl_thread_join(fk_t); // FAULT',
    '#include <pthread.h>\npthread_t fk_raw;\npthread_create(&fk_raw, NULL, fk_thread_dive, NULL);\n'
    'pthread_join(fk_raw, NULL); // FAULT',
], ids=["cl_thread", "pthread"])
def test_stack_overflow_in_a_thread_names_the_thread_and_the_cell(ck, start):
    define = ("int fk_tdive(int n) {\n    volatile char pad[256];\n    pad[0] = (char)n;\n"
              "    return fk_tdive(n + 1) + pad[0];\n}\nvoid *fk_thread_dive(void *arg) { fk_tdive(0); return arg; }")
    defined_in = ck.run(define)[0]["execution_count"]
    code = SPOIL + "\n" + start
    pid = kernel_pid(ck)
    content, msgs = error_reply(ck, code)
    cell = content["execution_count"]
    assert content["ename"] == "SIGSEGV", describe_failure(code, content, msgs)
    name = "diver" if "diver" in start else "conclab-cell"
    assert content["evalue"].endswith("at thread '%s' of cell[%d]" % (name, cell)), content
    dive = [f for f in content["traceback"] if f.startswith("  in fk_tdive() from cell[%d]" % defined_in)]
    assert dive and "frames" in dive[0], "the traceback does not show the recursion: %r" % content["traceback"]
    assert_kernel_survived(ck, pid)
    only_executor_below(ck)
    assert_state_intact(ck, "a stack overflow in a thread")


def test_bad_magic_is_a_magic_error_and_keeps_state(ck):
    code = "%%timeout soon\n" + SPOIL
    pid = kernel_pid(ck)
    content, msgs = error_reply(ck, code)
    assert content["ename"] == "MagicError", describe_failure(code, content, msgs)
    assert "%%timeout needs a number of seconds" in content["evalue"], content
    assert_kernel_survived(ck, pid)
    assert_state_intact(ck, "a bad magic")


# ==== 5. bounds checking ===========================================================================

BOUNDS = {
    "heap_overflow": ("%%bounds\n" + SPOIL + "\nchar *fk_small = malloc(8);\nfk_small[8] = 'x'; // FAULT"),
    "use_after_free": ("%%bounds\n" + SPOIL + "\nchar *fk_freed = malloc(8);\nfree(fk_freed);\n"
                       "fk_freed[0] = 'x'; // FAULT"),
    "double_free": ("%%bounds\n" + SPOIL + "\nchar *fk_twice_freed = malloc(8);\nfree(fk_twice_freed);\n"
                    "free(fk_twice_freed); // FAULT"),
}


def assert_bounds_error(k, code):
    content, msgs = error_reply(k, code)
    where = "at cell[%d], line %d" % (content["execution_count"], fault_line(code))
    assert content["ename"] == "BoundsError", describe_failure(code, content, msgs)
    assert content["evalue"].endswith(where), "evalue should end with %r:\n%s" % (
        where, describe_failure(code, content, msgs))
    assert "BCHECK" in stream_text(msgs, "stderr"), describe_failure(code, content, msgs)
    return content


@pytest.mark.parametrize("case", list(BOUNDS))
def test_bounds_cell_magic_reports_memory_errors(ck, case):
    pid = kernel_pid(ck)
    assert_bounds_error(ck, BOUNDS[case])
    assert_kernel_survived(ck, pid)
    assert_state_intact(ck, "a bounds error (%s)" % case)


ARRAYS = {
    "local_array": ("%%bounds\nint fk_local_off_by_one(int i) {\n    int a[4];\n    a[i] = 1;\n"
                    "    return a[0];\n}\n" + SPOIL + "\nfk_local_off_by_one(4); // FAULT"),
    "global_array": ("%%bounds\nint fk_global_array[4];\nint fk_global_off_by_one(int i) {\n"
                     "    fk_global_array[i] = 1;\n    return 0;\n}\n" + SPOIL +
                     "\nfk_global_off_by_one(4); // FAULT"),
}


@pytest.fixture(scope="module")
def ak(jupyter_home):
    """A kernel of their own for the array cases: if the overflow goes unnoticed, the cell
    succeeds and its change to fk_keep stays, which must not spoil the other tests' state."""
    session = session_with_state()
    try:
        yield session
    finally:
        stop_session(session)


# tcc 0.9.27's bounds checker misses a write one element past the end of a fixed-size array
# (a[10] on int a[4] is caught). Recorded in README's known limits; strict, so a tcc that starts
# catching it turns this into a failure to be noticed and removed.
@pytest.mark.xfail(strict=True, reason="tcc 0.9.27 bounds checking misses one-past-the-end array writes")
@pytest.mark.parametrize("case", list(ARRAYS))
def test_bounds_catches_an_array_off_by_one(ak, case):
    """Issue 3, item 4: 'an out-of-bounds array or heap access'; a[4] on int a[4] is the one
    students write."""
    pid = kernel_pid(ak)
    try:
        assert_bounds_error(ak, ARRAYS[case])
        assert_kernel_survived(ak, pid)
        assert_state_intact(ak, "a bounds error (%s)" % case)
    finally:
        ak.run_ok("fk_keep = 42;")


def test_bounds_on_for_the_notebook_then_off(ck):
    overflow = SPOIL + "\nchar *fk_nb = malloc(8);\nfk_nb[8] = 'x'; // FAULT"
    pid = kernel_pid(ck)
    try:
        msgs = ck.run_ok("%bounds on")
        assert "Bounds checking is on" in stream_text(msgs), msgs
        assert "bounds checking: on" in stream_text(ck.run_ok("%limits"))
        assert_bounds_error(ck, overflow)
        assert_state_intact(ck, "a bounds error under %bounds on")
    finally:
        msgs = ck.run_ok("%bounds off")
    assert "Bounds checking is off" in stream_text(msgs), msgs
    assert "bounds checking: off" in stream_text(ck.run_ok("%limits"))
    # unchecked again: the one-byte overflow lands in malloc's slack and goes unnoticed
    silent = 'char *fk_nb2 = malloc(8);\nfk_nb2[8] = \'x\';\nputs("unchecked");'
    content, msgs = ck.run(silent)
    assert content["status"] == "ok" and stream_text(msgs) == "unchecked\n", describe_failure(silent, content, msgs)
    assert_kernel_survived(ck, pid)
    assert_state_intact(ck, "%bounds off")


# ==== 2. interrupts, in both modes ================================================================

@pytest.fixture(scope="module")
def ik(jupyter_home):
    session = session_with_state()
    try:
        yield session
    finally:
        stop_session(session)


READY = 'puts("ready"); fflush(stdout);'

HANGS = {
    "cpu_loop": SPOIL + "\n" + READY + "\nfor (;;) {}",
    "thread_loop": ("void *fk_spin(void *arg) { for (;;) {} return arg; }\n" + SPOIL +
                    "\npthread_t fk_spinner;\npthread_create(&fk_spinner, NULL, fk_spin, NULL);\n" +
                    READY + "\npthread_join(fk_spinner, NULL);"),
    "deadlock": ("pthread_mutex_t fk_m1 = PTHREAD_MUTEX_INITIALIZER;\n"
                 "pthread_mutex_t fk_m2 = PTHREAD_MUTEX_INITIALIZER;\n"
                 "void *fk_ab(void *arg) { pthread_mutex_lock(&fk_m1); usleep(100000); "
                 "pthread_mutex_lock(&fk_m2); return arg; }\n"
                 "void *fk_ba(void *arg) { pthread_mutex_lock(&fk_m2); usleep(100000); "
                 "pthread_mutex_lock(&fk_m1); return arg; }\n" + SPOIL +
                 "\npthread_t fk_d1, fk_d2;\npthread_create(&fk_d1, NULL, fk_ab, NULL);\n"
                 "pthread_create(&fk_d2, NULL, fk_ba, NULL);\nusleep(300000);\n" + READY +
                 "\npthread_join(fk_d1, NULL);\npthread_join(fk_d2, NULL);"),
    "pipe_read": (SPOIL + "\nint fk_fds[2];\npipe(fk_fds);\n" + READY +
                  "\nchar fk_byte;\nread(fk_fds[0], &fk_byte, 1);"),
    "forked_children": (SPOIL + "\nfor (int i = 0; i < 3; i++) {\n    pid_t c = fork();\n"
                        "    if (c == 0) for (;;) {}\n    printf(\"child %d\\n\", c);\n}\n" + READY +
                        "\nwhile (wait(NULL) > 0) {}"),
}


def send_interrupt(k, mode):
    if mode == "message":
        k.km.interrupt_kernel()  # interrupt_request on control: the kernelspec says "message"
    else:
        os.kill(kernel_pid(k), signal.SIGINT)


@pytest.mark.parametrize("mode", ["message", "sigint"])
@pytest.mark.parametrize("case", list(HANGS))
def test_interrupt_ends_the_cell_within_a_second(ik, case, mode):
    code = HANGS[case]
    pid = kernel_pid(ik)
    msg_id = ik.execute(code)
    ik.wait_for_iopub(msg_id, lambda m: m["msg_type"] == "stream" and "ready" in m["content"]["text"], 10)
    time.sleep(0.3)
    assert not ik.has_reply(msg_id), "the cell ended by itself; the test proved nothing"
    t0 = time.monotonic()
    send_interrupt(ik, mode)
    reply = ik.wait_for_reply(msg_id, timeout=10)
    elapsed = reply["_t"] - t0
    _, msgs = ik.collect(msg_id, timeout=5)
    content = reply["content"]
    assert elapsed < 1.0, "%s (%s): the reply came %.3f s after the interrupt" % (case, mode, elapsed)
    assert content["status"] == "error" and content["ename"] == "Interrupted", describe_failure(code, content, msgs)
    assert "state from before this cell is intact" in content["evalue"], content
    children = [int(n) for n in re.findall(r"child (\d+)", stream_text(msgs))]
    assert case != "forked_children" or len(children) == 3, stream_text(msgs)
    _, waited = only_executor_below(ik)
    print("%s/%s: reply %.0f ms after the interrupt; process table clean %.0f ms later"
          % (case, mode, elapsed * 1e3, waited * 1e3))
    for child in children:
        assert not os.path.exists("/proc/%d" % child), "forked child %d is still in the process table" % child
    assert_kernel_survived(ik, pid)
    assert_state_intact(ik, "interrupting %s by %s" % (case, mode))


def test_interrupt_reply_names_cell_and_line(ik):
    """Issue 3, item 2: a cell stopped by interrupt gets 'the cell and line where it happened'."""
    code = SPOIL + "\n" + READY + "\nfor (;;) {} // FAULT"
    msg_id = ik.execute(code)
    ik.wait_for_iopub(msg_id, lambda m: m["msg_type"] == "stream" and "ready" in m["content"]["text"], 10)
    time.sleep(0.2)
    ik.km.interrupt_kernel()
    reply = ik.wait_for_reply(msg_id, timeout=10)
    _, msgs = ik.collect(msg_id, timeout=5)
    content = reply["content"]
    assert content["ename"] == "Interrupted", describe_failure(code, content, msgs)
    where = "cell[%d], line %d" % (content["execution_count"], fault_line(code))
    assert where in content["evalue"], "evalue should name %r:\n%s" % (where, describe_failure(code, content, msgs))
    assert_state_intact(ik, "an interrupt")


# ==== 3. time limits ================================================================================

def assert_timed_out(k, code, limit_s):
    pid = kernel_pid(k)
    t0 = time.monotonic()
    msg_id = k.execute(code)
    reply = k.wait_for_reply(msg_id, timeout=limit_s + 10)
    elapsed = reply["_t"] - t0
    _, msgs = k.collect(msg_id, timeout=5)
    content = reply["content"]
    assert content["status"] == "error" and content["ename"] == "TimeoutError", describe_failure(code, content, msgs)
    assert "time limit of %g s" % limit_s in content["evalue"], content
    assert "state from before this cell is intact" in content["evalue"], content
    assert limit_s <= elapsed < limit_s + 0.5, "a %g s limit stopped the cell after %.3f s" % (limit_s, elapsed)
    assert_kernel_survived(k, pid)
    only_executor_below(k)
    assert_state_intact(k, "a time limit")
    print("time limit %g s: reply after %.3f s" % (limit_s, elapsed))
    return content, elapsed


def test_timeout_cell_magic(ik):
    assert_timed_out(ik, "%%timeout 1\n" + SPOIL + "\nfor (;;) {} // FAULT", 1)


def test_timeout_reply_names_cell_and_line(ik):
    """Issue 3, item 2: a cell stopped by its time limit gets 'the cell and line where it happened'."""
    code = "%%timeout 1\n" + SPOIL + "\nfor (;;) {} // FAULT"
    content, _ = assert_timed_out(ik, code, 1)
    where = "cell[%d], line %d" % (content["execution_count"], fault_line(code))
    assert where in content["evalue"], "evalue should name %r: %r" % (where, content["evalue"])


def test_timeout_from_the_environment(jupyter_home):
    k = session_with_state(env={"CONCLAB_TIMEOUT": "1"})
    try:
        assert "time per cell:   1 s" in stream_text(k.run_ok("%limits"))
        assert_timed_out(k, SPOIL + "\nfor (;;) {}", 1)
        # a cell's own %%timeout overrides the kernel-wide default
        msgs = k.run_ok('%%timeout 5\nusleep(1300000);\nputs("slept");', timeout=10)
        assert stream_text(msgs) == "slept\n", msgs
    finally:
        stop_session(k)


# ==== 4. memory, process and output limits =========================================================

LIMITS_ENV = {"CONCLAB_MEMORY_LIMIT": "256M", "CONCLAB_PROCESS_LIMIT": "64", "CONCLAB_OUTPUT_LIMIT": "65536"}


@pytest.fixture(scope="module")
def lk(jupyter_home):
    session = session_with_state(env=LIMITS_ENV)
    try:
        yield session
    finally:
        stop_session(session)


def test_limits_from_the_environment_are_in_force(lk):
    text = stream_text(lk.run_ok("%limits"))
    assert "output per cell: 65536 bytes" in text, text
    assert "memory per cell: 256 MiB" in text, text
    assert re.search(r"processes:\s+64 at once", text), text


def test_memory_limit_ends_only_the_cell(lk):
    code = SPOIL + "\nfor (;;) {\n    char *fk_block = malloc(1 << 20);\n    memset(fk_block, 1, 1 << 20);\n}"
    pid = kernel_pid(lk)
    content, msgs = error_reply(lk, code)
    assert content["ename"] == "MemoryLimitExceeded", describe_failure(code, content, msgs)
    assert "memory limit" in content["evalue"], content
    assert "[conclab] memory limit reached" in stream_text(msgs, "stderr"), describe_failure(code, content, msgs)
    assert_kernel_survived(lk, pid)
    only_executor_below(lk)
    assert_state_intact(lk, "the memory limit")
    # the limit is per cell: the next cell may again use most of it
    big = "char *fk_big = malloc(200 << 20);\nmemset(fk_big, 1, 200 << 20);\nputs(\"200 MiB\");"
    assert stream_text(lk.run_ok(big)) == "200 MiB\n"


def test_a_cell_cannot_lift_its_memory_limit(lk):
    """setrlimit() in a cell cannot raise the limit (memory_guard.h: a seccomp filter refuses it),
    so a runaway allocation after it still fails."""
    code = ("#include <sys/resource.h>\nstruct rlimit fk_unlimited = {RLIM_INFINITY, RLIM_INFINITY};\n"
            "int fk_lifted = setrlimit(RLIMIT_AS, &fk_unlimited) == 0;\n"
            "char *fk_huge = malloc(400 << 20);\n"
            'printf("%d %d\\n", fk_lifted, fk_huge != NULL);')
    content, msgs = lk.run(code)
    assert content["status"] == "ok" and stream_text(msgs) == "0 0\n", describe_failure(code, content, msgs)


def test_the_memory_limit_is_measured_from_what_the_notebook_holds(lk):
    """Each cell gets its 256 MiB above what the notebook holds then, however much that is."""
    lk.run_ok("char *fk_held = malloc(200 << 20);\nmemset(fk_held, 1, 200 << 20);")
    lk.run_ok("char *fk_more = malloc(200 << 20);\nmemset(fk_more, 1, 200 << 20);")
    msgs = lk.run_ok("char *fk_again = malloc(200 << 20);\nmemset(fk_again, 1, 200 << 20);\nputs(\"600 MiB held\");")
    assert stream_text(msgs) == "600 MiB held\n"
    lk.run_ok("free(fk_held); free(fk_more); free(fk_again);")


def test_fork_bomb_hits_the_process_limit(lk):
    code = SPOIL + "\nfor (;;) fork();"
    pid = kernel_pid(lk)
    content, msgs = error_reply(lk, code, timeout=30)
    assert content["ename"] == "ProcessLimitExceeded", describe_failure(code, content, msgs)
    assert "more than 64 processes" in content["evalue"], content
    _, waited = only_executor_below(lk, within=2.0)
    assert_kernel_survived(lk, pid)
    assert_state_intact(lk, "a fork bomb")
    print("fork bomb: process table clean %.3f s after the reply" % waited)


def test_threads_do_not_count_as_processes(lk):
    """The pids cgroup counts threads too; the process limit must not: a lab may start more
    threads than the notebook may have processes."""
    # small stacks: 150 default ones (8 MiB of address space each) would pass this kernel's
    # 256 MiB memory limit first
    code = ("void *fk_nap(void *arg) { usleep(300000); return arg; }\n"
            "pthread_t fk_many[150];\nint fk_started = 0;\npthread_attr_t fk_small;\n"
            "pthread_attr_init(&fk_small);\npthread_attr_setstacksize(&fk_small, 1 << 16);\n"
            "for (int i = 0; i < 150; i++) fk_started += pthread_create(&fk_many[i], &fk_small, fk_nap, NULL) == 0;\n"
            "for (int i = 0; i < fk_started; i++) pthread_join(fk_many[i], NULL);\n"
            'printf("%d threads\\n", fk_started);')
    content, msgs = lk.run(code, timeout=30)
    assert content["status"] == "ok" and stream_text(msgs) == "150 threads\n", describe_failure(code, content, msgs)


def test_output_flood_hits_the_output_limit(lk):
    code = SPOIL + '\nfor (;;) puts("flood flood flood flood flood flood flood flood");'
    pid = kernel_pid(lk)
    content, msgs = error_reply(lk, code, timeout=30)
    assert content["ename"] == "OutputLimitExceeded", describe_failure(code, content, msgs)
    assert "more than 65536 bytes" in content["evalue"], content
    shown = stream_text(msgs)
    assert 0 < len(shown.encode()) <= 65536, "%d bytes of stdout reached the notebook" % len(shown.encode())
    assert "[conclab] output limit reached" in stream_text(msgs, "stderr"), stream_text(msgs, "stderr")
    assert_kernel_survived(lk, pid)
    only_executor_below(lk)
    assert_state_intact(lk, "an output flood")


# The defaults README's Limits table promises, with no CONCLAB_* variable set.
@pytest.fixture(scope="module")
def default_limits_kernel(jupyter_home):
    saved = {name: os.environ.pop(name) for name in list(os.environ) if name.startswith("CONCLAB_")
             and name != "CONCLAB_BIN"}
    try:
        session = session_with_state()
    finally:
        os.environ.update(saved)
    try:
        yield session
    finally:
        stop_session(session)


def test_default_limits_are_in_force(default_limits_kernel):
    k = default_limits_kernel
    text = stream_text(k.run_ok("%limits"))
    assert re.search(r"time per cell:\s+none", text), text
    assert "output per cell: 4194304 bytes" in text, text
    assert "memory per cell: 4096 MiB" in text, text
    assert re.search(r"processes:\s+256 at once", text), text
    # 4 GiB more than the notebook holds: 3 GiB of address space may be had, 5 GiB may not
    code = ('char *fk_three = malloc(3UL << 30), *fk_five = malloc(5UL << 30);\n'
            'printf("%d %d\\n", fk_three != NULL, fk_five != NULL);\nfree(fk_three);')
    content, msgs = k.run(code)
    assert content["status"] == "ok" and stream_text(msgs) == "1 0\n", describe_failure(code, content, msgs)


def test_default_process_limit_is_256(default_limits_kernel):
    k = default_limits_kernel
    code = SPOIL + "\nfor (int i = 0; i < 400; i++) if (fork() == 0) { pause(); _exit(0); }\npause();"
    content, msgs = error_reply(k, code, timeout=60)
    assert content["ename"] == "ProcessLimitExceeded", describe_failure(code, content, msgs)
    assert "more than 256 processes" in content["evalue"], content
    only_executor_below(k, within=2.0)
    assert_state_intact(k, "the default process limit")


# ==== 6. restart ====================================================================================

def test_restart_request_is_answered_fast_and_gives_an_empty_state(fresh_kernel):
    k = fresh_kernel
    k.run_ok(PRELUDE)
    k.run_ok("int fk_gone = 5;")
    old_pid = kernel_pid(k)
    old_below = descendants_of(old_pid)
    assert old_below, "no executor below the kernel"
    reply, seconds = k.control_request("shutdown_request", {"restart": True}, timeout=5)
    assert reply["content"] == {"status": "ok", "restart": True}, reply["content"]
    assert seconds < 0.1, "shutdown_reply came %.1f ms after shutdown_request" % (seconds * 1e3)
    deadline = time.monotonic() + 3
    while pid_running(old_pid):
        assert time.monotonic() < deadline, "the kernel still runs 3 s after a shutdown_request"
        time.sleep(0.02)
    ended = time.monotonic() - (deadline - 3)
    # The front end starts the kernel again. now=True: the old kernel is gone already, and
    # jupyter_client would otherwise queue a second shutdown_request on its control socket,
    # which its 100 ms linger may deliver to the new kernel. (It still queues an
    # interrupt_request: harmless to an idle kernel, and stale after the linger, hence the pause.)
    k.km.restart_kernel(now=True)
    k.kc.wait_for_ready(timeout=10)
    time.sleep(0.2)
    k.drain()
    assert k.km.is_alive() and kernel_pid(k) != old_pid
    for p in old_below:
        assert not pid_running(p), "process %d of the old kernel outlived it" % p
    content, msgs = k.run('printf("%d\\n", fk_gone);')
    assert content["status"] == "error" and content["ename"] == "CompileError", describe_failure("", content, msgs)
    assert "'fk_gone' undeclared" in content["evalue"], content
    msgs = k.run_ok('#include <stdio.h>\nint fk_new = 7;\nprintf("%d\\n", fk_new);')
    assert stream_text(msgs) == "7\n", msgs
    only_executor_below(k)
    print("restart: shutdown_reply after %.1f ms; old kernel ended within %.0f ms" % (seconds * 1e3, ended * 1e3))


# ==== 7. threads left running =======================================================================

SLEEPERS = ("void *fk_sleeper(void *arg) { for (;;) usleep(20000); return arg; }\n"
            "pthread_t fk_s1, fk_s2;\npthread_create(&fk_s1, NULL, fk_sleeper, NULL);\n"
            "pthread_create(&fk_s2, NULL, fk_sleeper, NULL);")


def start_sleepers(k):
    """Runs the cell leaving two threads; returns (its number, its iopub messages)."""
    content, msgs = k.run(SLEEPERS)
    assert content["status"] == "ok", describe_failure(SLEEPERS, content, msgs)
    return content["execution_count"], msgs


def test_threads_left_running_are_announced_listed_and_harmless(jupyter_home):
    k = session_with_state()
    try:
        cell, msgs = start_sleepers(k)
        notices = [m["content"]["data"].get("text/plain") for m in of_type(msgs, "display_data")]
        expected = "[conclab] 2 threads started by cell [%d] are still running (%%threads lists them)" % cell
        assert notices == [expected], notices
        executor, _ = only_executor_below(k)
        listing = stream_text(k.run_ok("%threads"))
        tids = [int(t) for t in re.findall(r"thread (\d+) from cell \[%d\]" % cell, listing)]
        assert len(tids) == 2, listing
        for tid in tids:
            assert os.path.exists("/proc/%d/task/%d" % (executor, tid)), (
                "%%threads lists %d, not a thread of the executor %d" % (tid, executor))
        assert_state_intact(k, "a cell leaving threads running")
        # a cell running in place (threads alive) still defines and calls new things
        msgs = k.run_ok('int fk_later(void) { return fk_twice(fk_keep) + 1; }\nprintf("%d\\n", fk_later());')
        assert stream_text(msgs) == "85\n", msgs
    finally:
        stop_session(k)


def crash_in_place(k):
    start_sleepers(k)
    code = SPOIL + "\n*(volatile int *)0 = 1; // FAULT"
    old_executor, _ = only_executor_below(k)
    pid = kernel_pid(k)
    content, msgs = error_reply(k, code)
    assert_kernel_survived(k, pid)
    return code, content, msgs, old_executor


def test_crash_while_threads_run_says_state_lost_and_kernel_lives(jupyter_home):
    k = session_with_state()
    try:
        code, content, msgs, old_executor = crash_in_place(k)
        assert content["ename"] == "ExecutorDied", describe_failure(code, content, msgs)
        assert "state was lost and a fresh one started" in content["evalue"], content
        assert "killed by signal 11" in content["evalue"] and "threads were running" in content["evalue"], content
        new_executor, _ = only_executor_below(k)
        assert new_executor != old_executor and not pid_running(old_executor)
        probe, probe_msgs = k.run(STATE_PROBE)
        assert probe["status"] == "error" and "undeclared" in probe["evalue"], (
            "the state should have started clean: " + describe_failure(STATE_PROBE, probe, probe_msgs))
        assert "No threads are running" in stream_text(k.run_ok("%threads"))
        msgs = k.run_ok('#include <stdio.h>\nint fk_again = 3;\nprintf("%d\\n", fk_again * 2);')
        assert stream_text(msgs) == "6\n", msgs
    finally:
        stop_session(k)


def test_an_executor_killed_from_outside_says_so_not_threads(jupyter_home):
    """No thread ran: the state is lost because the executor was killed, and the error says that."""
    k = session_with_state()
    try:
        holder, _ = only_executor_below(k)
        msg_id = k.execute('puts("waiting"); fflush(stdout);\nfor (;;) pause();')
        k.wait_for_iopub(msg_id, lambda m: m["msg_type"] == "stream" and "waiting" in m["content"]["text"], 20)
        os.kill(holder, signal.SIGKILL)
        content = k.wait_for_reply(msg_id, timeout=20)["content"]
        assert content["ename"] == "ExecutorDied", content
        assert "killed by signal 9" in content["evalue"] and "state was lost" in content["evalue"], content
        assert "threads" not in content["evalue"], content
        only_executor_below(k, within=2.0)
        assert stdout_of(k, 'puts("fresh");') == "fresh\n"
    finally:
        stop_session(k)


@pytest.mark.parametrize("how", [
    "for (int fk_fd = 3; fk_fd < 65536; fk_fd++) close(fk_fd);",
    "int fk_null = open(\"/dev/null\", 0);\nfor (int fk_fd = 3; fk_fd < 4096; fk_fd++) if (fk_fd != fk_null) dup2(fk_null, fk_fd);",
], ids=["closes-all", "dup2-over-all"])
def test_a_cell_that_closes_the_kernels_descriptors_is_told_so(ck, how):
    code = "#include <fcntl.h>\n#include <unistd.h>\n" + SPOIL + "\n" + how
    pid = kernel_pid(ck)
    content, msgs = error_reply(ck, code)
    assert content["ename"] == "DescriptorClosed", describe_failure(code, content, msgs)
    assert "conclab's own channel" in content["evalue"], content
    assert_kernel_survived(ck, pid)
    only_executor_below(ck)
    assert_state_intact(ck, "closing the kernel's descriptors")


# ==== the private channel: what a cell writes into it ends only that cell =========================

CHANNEL_WRITES = {
    "garbage": 'write(900, "garbage garbage garbage\\n", 24);',
    "a lot of garbage": "static char fk_junk[1 << 20];\nmemset(fk_junk, 'j', sizeof fk_junk);\n"
                        "for (int i = 0; i < 16; i++) write(900, fk_junk, sizeof fk_junk);",
    # a well-formed frame claiming the cell succeeded, as an old bug let through
    "forged done": 'const char fk_frame[] = "{\\"ev\\":\\"done\\",\\"ok\\":true,\\"holder\\":1,'
                   '\\"threads\\":[],\\"nonce\\":\\"0000000000000001\\",\\"cell\\":1}";\n'
                   'uint32_t fk_len = sizeof fk_frame - 1;\nwrite(900, "CLF1", 4); write(900, &fk_len, 4);\n'
                   'write(900, fk_frame, fk_len);',
    # a frame whose length is no frame's: read as junk, not as the end of the executor
    "oversize length": 'uint32_t fk_huge = 0x7fffffff;\nwrite(900, "CLF1", 4); write(900, &fk_huge, 4);',
}


@pytest.mark.parametrize("case", list(CHANNEL_WRITES))
def test_a_cell_writing_into_the_channel_ends_only_that_cell(ck, case):
    code = "#include <stdint.h>\n#include <unistd.h>\n" + SPOIL + "\n" + CHANNEL_WRITES[case] + "\nfor (;;) pause();"
    pid = kernel_pid(ck)
    content, msgs = error_reply(ck, code, timeout=30)
    assert content["ename"] == "ChannelError", describe_failure(code, content, msgs)
    assert "wrote into conclab's private channel (fd 900)" in content["evalue"], content
    assert "state from before this cell is intact" in content["evalue"], content
    assert_kernel_survived(ck, pid)
    only_executor_below(ck)
    assert_state_intact(ck, case)
    # nothing is shifted: each later cell gets its own result
    for n in range(3):
        assert stdout_of(ck, 'printf("%%d\\n", fk_keep + %d);' % n) == "%d\n" % (42 + n)


def test_a_cell_that_leaks_descriptors_to_the_limit_is_told_and_the_next_cells_run(ck):
    """Leaking files until EMFILE: the error names the count and the limit, and the cells after it
    still compile (headers and all) and run, in forks as before."""
    code = ("#include <errno.h>\n#include <fcntl.h>\n#include <sys/resource.h>\n" + SPOIL + "\n"
            "struct rlimit fk_files = {2048, 2048};\nsetrlimit(RLIMIT_NOFILE, &fk_files);\n"
            "int fk_leaked = 0;\nwhile (open(\"/dev/null\", O_RDONLY) >= 0) fk_leaked++;\n"
            'printf("EMFILE %d\\n", errno == EMFILE);')
    pid = kernel_pid(ck)
    content, msgs = error_reply(ck, code)
    assert stream_text(msgs) == "EMFILE 1\n", describe_failure(code, content, msgs)
    assert content["ename"] == "DescriptorLimitReached", describe_failure(code, content, msgs)
    assert re.search(r"left \d+ descriptors open, at this process's limit of 2048", content["evalue"]), content
    assert_kernel_survived(ck, pid)
    only_executor_below(ck)
    assert_state_intact(ck, "a descriptor leak")
    assert stdout_of(ck, '#include <conclab/thread.h>\n#include <sys/wait.h>\nputs("compiled");') == "compiled\n"


def test_the_nonce_is_not_in_a_cells_environment(ck):
    code = ('#include <stdlib.h>\nFILE *fk_env = fopen("/proc/self/environ", "r");\nchar fk_buf[1 << 16];\n'
            'size_t fk_n = fread(fk_buf, 1, sizeof fk_buf - 1, fk_env);\nfk_buf[fk_n] = 0;\nint fk_found = 0;\n'
            'for (size_t i = 0; i < fk_n; i += strlen(fk_buf + i) + 1)\n'
            '    if (strncmp(fk_buf + i, "CONCLAB_CHANNEL_NONCE=", 22) == 0 && strspn(fk_buf + i + 22, "0") != 16) fk_found = 1;\n'
            'printf("%d %d\\n", getenv("CONCLAB_CHANNEL_NONCE") != NULL, fk_found);')
    assert stdout_of(ck, code) == "0 0\n"


def test_a_dead_compiler_is_reported_and_the_next_cell_has_a_fresh_notebook(jupyter_home):
    """tcc can crash on odd input; here the compiler process is killed instead, to the same end."""
    k = session_with_state()
    try:
        pid = kernel_pid(k)
        old_executor, _ = only_executor_below(k)
        compilers = [r[0] for r in process_rows(pid) if r[3] == COMPILER_NAME]
        assert len(compilers) == 1, process_rows(pid)
        os.kill(compilers[0], signal.SIGKILL)
        content, msgs = error_reply(k, "int fk_after = 1;")
        assert content["ename"] == "CompilerDied", describe_failure("int fk_after = 1;", content, msgs)
        assert "state was lost" in content["evalue"], content
        assert_kernel_survived(k, pid)
        new_executor, _ = only_executor_below(k, within=2.0)
        assert new_executor != old_executor and not pid_running(old_executor)
        assert not pid_running(compilers[0])
        probe, probe_msgs = k.run(STATE_PROBE)
        assert probe["status"] == "error" and "undeclared" in probe["evalue"], (
            "the state should have started clean: " + describe_failure(STATE_PROBE, probe, probe_msgs))
        msgs = k.run_ok('#include <stdio.h>\nint fk_again = 3;\nprintf("%d\\n", fk_again * 2);')
        assert stream_text(msgs) == "6\n", msgs
    finally:
        stop_session(k)


def test_once_the_threads_end_cells_fork_again_and_a_crash_keeps_the_state(jupyter_home):
    """Running in place lasts only while a cell's threads run: after they are joined, the next
    crash is again one that loses nothing."""
    k = session_with_state()
    try:
        k.run_ok("volatile int fk_stop = 0;\n"
                 "void *fk_until_stopped(void *arg) { while (!fk_stop) usleep(10000); return arg; }\n"
                 "pthread_t fk_waiter;\npthread_create(&fk_waiter, NULL, fk_until_stopped, NULL);")
        k.run_ok("fk_stop = 1;\npthread_join(fk_waiter, NULL);")  # runs in place
        code = SPOIL + "\n*(volatile int *)0 = 1; // FAULT"
        content, msgs = error_reply(k, code)
        assert content["ename"] == "SIGSEGV", describe_failure(code, content, msgs)
        assert content["traceback"][-1] == "The notebook's state from before this cell is intact.", content
        assert_state_intact(k, "a crash after the threads were joined")
    finally:
        stop_session(k)


def test_crash_while_threads_run_names_the_signal(jupyter_home):
    """Issue 3, item 2: the reply gives 'the signal's name'; running in place is no exception."""
    k = session_with_state()
    try:
        code, content, msgs, _ = crash_in_place(k)
        assert "SIGSEGV" in content["evalue"] or "Segmentation fault" in content["evalue"], (
            describe_failure(code, content, msgs))
    finally:
        stop_session(k)


def test_interrupt_while_threads_run(jupyter_home):
    k = session_with_state()
    try:
        start_sleepers(k)
        pid = kernel_pid(k)
        code = SPOIL + "\n" + READY + "\nfor (;;) {}"
        msg_id = k.execute(code)
        k.wait_for_iopub(msg_id, lambda m: m["msg_type"] == "stream" and "ready" in m["content"]["text"], 10)
        time.sleep(0.2)
        t0 = time.monotonic()
        k.km.interrupt_kernel()
        reply = k.wait_for_reply(msg_id, timeout=10)
        elapsed = reply["_t"] - t0
        _, msgs = k.collect(msg_id, timeout=5)
        content = reply["content"]
        assert elapsed < 1.0, "the reply came %.3f s after the interrupt" % elapsed
        print("in place: reply %.0f ms after the interrupt" % (elapsed * 1e3))
        assert content["ename"] == "Interrupted", describe_failure(code, content, msgs)
        assert "state was lost" in content["evalue"], content
        assert_kernel_survived(k, pid)
        only_executor_below(k)
        msgs = k.run_ok('#include <stdio.h>\nputs("usable");')
        assert stream_text(msgs) == "usable\n", msgs
    finally:
        stop_session(k)


def test_thread_crashing_between_cells(jupyter_home):
    k = session_with_state()
    try:
        k.run_ok("void *fk_late(void *arg) { usleep(300000); *(volatile int *)0 = 1; return arg; }\n"
                 "pthread_t fk_l;\npthread_create(&fk_l, NULL, fk_late, NULL);")
        pid = kernel_pid(k)
        time.sleep(0.8)
        content, msgs = k.run('#include <stdio.h>\nputs("next");')
        assert content["status"] == "ok" and stream_text(msgs) == "next\n", describe_failure("", content, msgs)
        assert "state was lost and a fresh one started" in stream_text(msgs, "stderr"), msgs
        assert_kernel_survived(k, pid)
        only_executor_below(k)
    finally:
        stop_session(k)
