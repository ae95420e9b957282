"""test_lifecycle.py — interrupts, crashes, control-channel requests and restart (issue 2, item 4),
through jupyter_client.

Each test spends a kernel of its own: it interrupts, crashes, restarts or shuts it down, and then
checks that the kernel answered fast and that the notebook's earlier state is (or, after a
restart, is no longer) there.
"""
import signal
import time

from kernel_session import KERNEL_NAME, describe_failure, of_type, result_text, stream_text
from wire_client import pid_running


# ---- interrupts, crashes, control, restart --------------------------------------------------------

def started(k, msg_id, timeout=10):
    """Waits until the cell is executing (its execute_input is out), then a moment more."""
    k.wait_for_iopub(msg_id, lambda m: m["msg_type"] == "execute_input", timeout)
    time.sleep(0.3)


def interrupt_and_check(k, code, interrupt):
    k.run_ok("#include <stdio.h>\n#include <unistd.h>\nint it_keep = 11;")
    msg_id = k.execute(code)
    started(k, msg_id)
    t0 = time.monotonic()
    interrupt()
    reply = k.wait_for_reply(msg_id, timeout=10)
    elapsed = time.monotonic() - t0
    _, msgs = k.collect(msg_id, timeout=5)
    assert elapsed < 2.0, "interrupt took %.2f s" % elapsed
    assert reply["content"]["status"] == "error", describe_failure(code, reply["content"], msgs)
    assert "interrupt" in (reply["content"]["ename"] + reply["content"]["evalue"]).lower(), reply["content"]
    content, msgs = k.run(r'printf("%d\n", it_keep);')
    assert content["status"] == "ok" and stream_text(msgs) == "11\n", describe_failure("after", content, msgs)


def test_interrupt_message_stops_busy_loop(fresh_kernel):
    interrupt_and_check(fresh_kernel, "while (1);", fresh_kernel.km.interrupt_kernel)


def test_interrupt_message_stops_sleep(fresh_kernel):
    interrupt_and_check(fresh_kernel, "sleep(100);", fresh_kernel.km.interrupt_kernel)


def test_sigint_to_the_kernel_stops_busy_loop(fresh_kernel):
    interrupt_and_check(fresh_kernel, "while (1);",
                        lambda: fresh_kernel.km.signal_kernel(signal.SIGINT))


def test_interrupt_ends_the_cells_forked_children(fresh_kernel):
    k = fresh_kernel
    k.run_ok("#include <stdio.h>\n#include <unistd.h>")
    code = r'pid_t ik_pid = fork(); if (ik_pid == 0) { for (;;); } printf("%d\n", ik_pid); fflush(stdout); for (;;);'
    msg_id = k.execute(code)
    line = k.wait_for_iopub(msg_id, lambda m: m["msg_type"] == "stream", timeout=10)
    child = int(line["content"]["text"].split()[0])
    assert pid_running(child), "the child was not running before the interrupt"
    k.km.interrupt_kernel()
    assert k.wait_for_reply(msg_id, timeout=5)["content"]["status"] == "error"
    k.collect(msg_id, timeout=5)
    deadline = time.monotonic() + 2
    while pid_running(child):
        assert time.monotonic() < deadline, "the cell's child %d outlived the interrupt" % child
        time.sleep(0.05)


def test_interrupt_request_on_control_is_answered(fresh_kernel):
    k = fresh_kernel
    msg_id = k.execute("while (1);")
    started(k, msg_id)
    reply, seconds = k.control_request("interrupt_request", timeout=5)
    assert reply["content"]["status"] == "ok"
    assert seconds < 1.0, "interrupt_reply took %.2f s" % seconds
    assert k.wait_for_reply(msg_id, timeout=5)["content"]["status"] == "error"
    k.collect(msg_id, timeout=5)


def test_interrupt_while_waiting_for_input(fresh_kernel):
    k = fresh_kernel
    k.run_ok("#include <stdio.h>")
    msg_id = k.execute("int iw_c = getchar();", allow_stdin=True)
    k.wait_for_input_request(msg_id, timeout=10)
    t0 = time.monotonic()
    k.km.interrupt_kernel()
    reply = k.wait_for_reply(msg_id, timeout=10)
    assert time.monotonic() - t0 < 2.0
    assert reply["content"]["status"] == "error"
    k.collect(msg_id, timeout=5)
    k.drain()
    content, msgs = k.run(r'printf("alive\n");')
    assert stream_text(msgs) == "alive\n", describe_failure("after", content, msgs)


def test_interrupt_when_idle_is_harmless(fresh_kernel):
    k = fresh_kernel
    reply, _ = k.control_request("interrupt_request")
    assert reply["content"]["status"] == "ok"
    content, msgs = k.run('#include <stdio.h>\nprintf("fine\\n");')
    assert content["status"] == "ok" and stream_text(msgs) == "fine\n"


def test_segfault_keeps_kernel_and_state(fresh_kernel):
    k = fresh_kernel
    k.run_ok("#include <stdio.h>\nint sg_keep = 21;")
    content, msgs = k.run("*(int *)0 = 1;", timeout=20)
    assert content["status"] == "error", describe_failure("segv", content, msgs)
    assert "segv" in (content["ename"] + content["evalue"]).lower() or \
        "segmentation" in (content["ename"] + content["evalue"]).lower(), content
    assert len(of_type(msgs, "error")) == 1
    assert k.km.is_alive()
    content, msgs = k.run(r'printf("%d\n", sg_keep * 2);')
    assert content["status"] == "ok" and stream_text(msgs) == "42\n", describe_failure("after", content, msgs)


def test_runtime_error_stops_run_all(fresh_kernel):
    k = fresh_kernel
    k.run_ok("#include <stdio.h>")
    bad = k.execute("*(volatile int *)0 = 1;")
    nxt = k.execute(r'printf("should not run\n");')
    r1, _ = k.collect(bad, timeout=20)
    r2, m2 = k.collect(nxt, timeout=20)
    assert r1["content"]["status"] == "error"
    assert r2["content"]["status"] == "aborted", describe_failure("next", r2["content"], m2)
    assert "should not run" not in stream_text(m2)


def test_exit_in_a_cell_keeps_kernel_and_state(fresh_kernel):
    k = fresh_kernel
    k.run_ok("#include <stdio.h>\n#include <stdlib.h>\nint ex_keep = 8;")
    content, msgs = k.run("exit(3);", timeout=20)
    assert content["status"] == "error", describe_failure("exit(3);", content, msgs)
    assert "3" in content["evalue"], content
    assert k.km.is_alive()
    content, msgs = k.run(r'printf("%d\n", ex_keep);')
    assert content["status"] == "ok" and stream_text(msgs) == "8\n", describe_failure("after", content, msgs)


def test_kernel_info_on_control_while_cell_runs(fresh_kernel):
    k = fresh_kernel
    k.run_ok("#include <unistd.h>")
    msg_id = k.execute("sleep(3);")
    started(k, msg_id)
    reply, seconds = k.control_request("kernel_info_request", timeout=5)
    assert reply["content"]["language_info"]["name"] == "c"
    assert seconds < 1.0, "kernel_info_reply on control took %.2f s during a cell" % seconds
    assert not k.has_reply(msg_id), "the cell had already ended; the test proved nothing"
    r, _ = k.collect(msg_id, timeout=10)
    assert r["content"]["status"] == "ok"


def test_restart_gives_empty_state_fast(fresh_kernel):
    k = fresh_kernel
    k.run_ok("int rs_gone = 5;")
    t0 = time.monotonic()
    k.km.restart_kernel(now=False)
    k.kc.wait_for_ready(timeout=10)
    elapsed = time.monotonic() - t0
    assert elapsed < 5.0, "restart took %.2f s" % elapsed
    k.drain()
    content, _ = k.run("int rs_probe = 0;")
    assert content["status"] == "ok" and content["execution_count"] == 1, content
    content, msgs = k.run("rs_gone")
    assert content["status"] == "error", "rs_gone survived the restart: %r" % result_text(msgs)


def test_restart_during_a_running_cell(fresh_kernel):
    k = fresh_kernel
    k.run_ok("int rr_gone = 5;")
    msg_id = k.execute("for (;;);")
    started(k, msg_id)
    t0 = time.monotonic()
    k.km.restart_kernel(now=False)
    k.kc.wait_for_ready(timeout=10)
    elapsed = time.monotonic() - t0
    assert elapsed < 5.0, "restart during a busy cell took %.2f s" % elapsed
    k.drain()
    content, msgs = k.run("#include <stdio.h>\nputs(\"fresh\");")
    assert content["status"] == "ok" and stream_text(msgs) == "fresh\n", describe_failure("after", content, msgs)


def test_shutdown_request_with_restart_on_control(fresh_kernel):
    k = fresh_kernel
    reply, seconds = k.control_request("shutdown_request", {"restart": True}, timeout=5)
    assert reply["content"]["status"] == "ok"
    assert reply["content"]["restart"] is True
    deadline = time.monotonic() + 3
    while k.km.is_alive():
        assert time.monotonic() < deadline, "kernel still alive 3 s after shutdown_request"
        time.sleep(0.05)


def test_kernel_leaves_when_its_launcher_dies_without_shutting_it_down():
    """A crashed notebook server must not leave kernels (and their cells) running forever."""
    import os
    import subprocess
    import sys
    launcher = r'''
import os
from jupyter_client.manager import start_new_kernel
km, kc = start_new_kernel(kernel_name=%r, startup_timeout=30)
kc.execute("for (;;) {}")
print(km.provisioner.process.pid, flush=True)
os._exit(0)
''' % KERNEL_NAME
    # the kernel inherits the launcher's stdout, so read the pid line rather than wait for EOF
    proc = subprocess.Popen([sys.executable, "-c", launcher], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env=dict(os.environ))
    try:
        pid = int(proc.stdout.readline().split()[-1])
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
    deadline = time.monotonic() + 5
    while pid_running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = pid_running(pid)
    if alive:
        os.kill(pid, signal.SIGKILL)
    assert not alive, "the kernel outlived its launcher by more than 5 s"
