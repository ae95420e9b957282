"""test_cleanup.py — every process a cell makes is accounted for (issue 12 item 1).

A cell starts processes that try to get away: one that calls setsid(), one that calls
setpgid(0, 0), a double-forked daemon (its parent exits, it calls setsid() and ignores SIGTERM and
SIGINT), and a plain child ignoring SIGTERM and SIGINT. Each writes its pid to a file. After an
interrupt, a time limit, a process limit, a restart, shutdown_request and the kernel's own death,
none of them may remain; a process a *finished* cell left on purpose keeps running until the
notebook restarts or shuts down. Processes are told apart by pid and start time, so a reused pid
is never mistaken for a survivor.
"""
import os
import signal
import time

import pytest

from kernel_session import describe_failure, start_session, stop_session, stdout_of
from process_table import kernel_pid, only_executor_below

ESCAPES = r"""
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

static void cu_note(const char *path) {
    FILE *f = fopen(path, "a");
    if (f) { fprintf(f, "%d\n", (int)getpid()); fclose(f); }
}

static void cu_deaf(void) { signal(SIGTERM, SIG_IGN); signal(SIGINT, SIG_IGN); signal(SIGHUP, SIG_IGN); }

/* The ways out of a cell's process group; each escapee notes its pid in path and waits forever. */
void cu_escape(const char *path) {
    if (fork() == 0) { setsid(); cu_deaf(); cu_note(path); for (;;) pause(); }
    if (fork() == 0) { setpgid(0, 0); cu_deaf(); cu_note(path); for (;;) pause(); }
    if (fork() == 0) {                       /* a daemon: double fork, setsid, deaf */
        if (fork() == 0) { setsid(); cu_deaf(); cu_note(path); for (;;) pause(); }
        _exit(0);
    }
    if (fork() == 0) { cu_deaf(); cu_note(path); for (;;) pause(); }
}
"""
N_ESCAPEES = 4


def start_time(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()
    return None if fields[0] == "Z" else fields[19]


def escapees(path, count=N_ESCAPEES, within=10.0):
    """(pid, start time) of the escapees once all have noted their pid."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if os.path.exists(path):
            pids = [int(line) for line in open(path).read().split()]
            if len(pids) >= count:
                return [(pid, start_time(pid)) for pid in pids]
        time.sleep(0.02)
    pytest.fail("the escapees did not all start: %r" % (open(path).read() if os.path.exists(path) else None))


def survivors(procs):
    return [pid for pid, start in procs if start is not None and start_time(pid) == start]


def assert_all_gone(procs, what, within=3.0):
    deadline = time.monotonic() + within
    while survivors(procs):
        if time.monotonic() > deadline:
            pytest.fail("%s: processes a cell made are still running: %r" % (what, survivors(procs)))
        time.sleep(0.02)


def kill_leftovers(procs):
    for pid in survivors(procs):
        os.kill(pid, signal.SIGKILL)


# With the notebook's cgroup (where it can be written: root here) and without it, where the
# kernel process, a child subreaper, finds what the cells left below it.
@pytest.fixture(params=["cgroup", "no-cgroup"])
def session(jupyter_home, request):
    k = start_session(env={"CONCLAB_CGROUPS": "off"} if request.param == "no-cgroup" else None)
    k.run_ok(ESCAPES)
    k.run_ok("int cu_kept = 7;")
    try:
        yield k
    finally:
        stop_session(k)


def run_escaping_cell(k, path, tail="for (;;) pause();", prefix=""):
    """Starts a cell that makes the escapees and then runs `tail`; returns its msg_id and them."""
    msg_id = k.execute(prefix + 'cu_escape("%s");\n%s' % (path, tail))
    return msg_id, escapees(path)


def test_interrupt_ends_every_process_the_cell_made(session, tmp_path):
    msg_id, procs = run_escaping_cell(session, tmp_path / "pids")
    try:
        session.km.interrupt_kernel()
        reply = session.wait_for_reply(msg_id, timeout=10)
        assert reply["content"]["ename"] == "Interrupted", reply["content"]
        assert_all_gone(procs, "after an interrupt")
        only_executor_below(session, within=2.0)
        assert stdout_of(session, 'printf("%d\\n", cu_kept);') == "7\n"
    finally:
        kill_leftovers(procs)


def test_time_limit_ends_every_process_the_cell_made(session, tmp_path):
    msg_id, procs = run_escaping_cell(session, tmp_path / "pids", prefix="%%timeout 2\n")
    try:
        reply = session.wait_for_reply(msg_id, timeout=15)
        assert reply["content"]["ename"] == "TimeoutError", reply["content"]
        assert_all_gone(procs, "after the time limit")
        assert stdout_of(session, 'printf("%d\\n", cu_kept);') == "7\n"
    finally:
        kill_leftovers(procs)


def test_a_crashed_cell_leaves_nothing_running(session, tmp_path):
    msg_id, procs = run_escaping_cell(session, tmp_path / "pids", tail="usleep(200000);\nraise(SIGSEGV);")
    try:
        reply = session.wait_for_reply(msg_id, timeout=15)
        assert reply["content"]["ename"] == "SIGSEGV", reply["content"]
        assert_all_gone(procs, "after a crash")
    finally:
        kill_leftovers(procs)


def test_what_a_finished_cell_left_keeps_running_until_restart(session, tmp_path):
    _, procs = run_escaping_cell(session, tmp_path / "kept", tail='puts("finished");')
    try:
        session.collect(_, timeout=10)
        time.sleep(0.3)
        assert len(survivors(procs)) == N_ESCAPEES, "a finished cell's processes were ended"
        # another cell that is interrupted does not take them along
        msg_id, others = run_escaping_cell(session, tmp_path / "others")
        session.km.interrupt_kernel()
        session.wait_for_reply(msg_id, timeout=10)
        assert_all_gone(others, "after an interrupt")
        assert len(survivors(procs)) == N_ESCAPEES, "interrupting a later cell ended an earlier cell's processes"
        session.km.restart_kernel(now=False)
        session.kc.wait_for_ready(timeout=30)
        assert_all_gone(procs, "after a restart")
    finally:
        kill_leftovers(procs)


@pytest.mark.parametrize("cgroups", ["on", "off"])
@pytest.mark.parametrize("running", [False, True], ids=["finished-cell", "running-cell"])
def test_shutdown_request_ends_every_process(jupyter_home, tmp_path, running, cgroups):
    k = start_session(env={"CONCLAB_CGROUPS": cgroups})
    procs = []
    try:
        k.run_ok(ESCAPES)
        msg_id, procs = run_escaping_cell(k, tmp_path / "pids", tail="for (;;) pause();" if running else "")
        if not running:
            k.collect(msg_id, timeout=10)
        kernel = kernel_pid(k)
        k.kc.shutdown()
        deadline = time.monotonic() + 10
        while start_time(kernel) is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert start_time(kernel) is None, "the kernel did not end on shutdown_request"
        assert_all_gone(procs, "after shutdown_request")
    finally:
        kill_leftovers(procs)
        stop_session(k)


def notebook_cgroup_in_use(k):
    return "pids cgroup" in stdout_of(k, "%limits")


def test_the_kernels_death_ends_every_process(jupyter_home, tmp_path):
    """SIGKILL leaves the kernel no chance; the executor notices and ends the notebook's cgroup.
    Without a cgroup the escapees' parents are gone and nothing can tell them apart: README
    says so under Known limits, and this test needs the cgroup."""
    k = start_session()
    procs = []
    try:
        if not notebook_cgroup_in_use(k):
            pytest.skip("no pids cgroup can be written here (not root, none delegated)")
        k.run_ok(ESCAPES)
        msg_id, procs = run_escaping_cell(k, tmp_path / "pids")
        os.kill(kernel_pid(k), signal.SIGKILL)
        assert_all_gone(procs, "after the kernel was killed", within=5.0)
    finally:
        kill_leftovers(procs)
        stop_session(k)


def pids_cgroup_of(pid):
    for line in open("/proc/%d/cgroup" % pid):
        _, controllers, path = line.rstrip("\n").split(":", 2)
        if "pids" in controllers.split(","):
            return "/sys/fs/cgroup/pids" + ("" if path == "/" else path)
    return None


def unused_pid():
    pid = int(open("/proc/sys/kernel/pid_max").read()) - 7
    while os.path.exists("/proc/%d" % pid):
        pid -= 1
    return pid


def test_a_killed_kernels_stale_cgroup_is_removed_by_the_next(jupyter_home):
    parent = pids_cgroup_of(os.getpid())
    if not parent or not os.access(parent, os.W_OK):
        pytest.skip("no pids cgroup can be written here (not root, none delegated)")
    stale = os.path.join(parent, "conclab-%d-0" % unused_pid())
    os.makedirs(os.path.join(stale, "cell-3"))
    leftover = os.fork()
    if leftover == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        while True:
            signal.pause()
    try:
        with open(os.path.join(stale, "cell-3", "cgroup.procs"), "w") as f:
            f.write("%d\n" % leftover)
        k = start_session()
        stop_session(k)
        deadline, status = time.monotonic() + 10, None
        while status is None and time.monotonic() < deadline:
            pid, st = os.waitpid(leftover, os.WNOHANG)
            status = st if pid else None
            time.sleep(0.02)
        assert status is not None, "the process left in the stale cgroup still runs"
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        assert not os.path.exists(stale), "the stale cgroup is still there"
    finally:
        try:
            os.kill(leftover, signal.SIGKILL)
            os.waitpid(leftover, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        for d in (os.path.join(stale, "cell-3"), stale):
            if os.path.exists(d):
                os.rmdir(d)


@pytest.mark.parametrize("cgroups", ["on", "off"])
def test_process_limit_ends_every_process_the_cell_made(jupyter_home, tmp_path, cgroups):
    k = start_session(env={"CONCLAB_PROCESS_LIMIT": "24", "CONCLAB_CGROUPS": cgroups})
    procs = []
    try:
        k.run_ok(ESCAPES)
        msg_id, procs = run_escaping_cell(
            k, tmp_path / "pids", tail="for (int i = 0; i < 100; i++) if (fork() == 0) { pause(); _exit(0); }\npause();")
        reply = k.wait_for_reply(msg_id, timeout=30)
        assert reply["content"]["ename"] == "ProcessLimitExceeded", reply["content"]
        assert_all_gone(procs, "after the process limit")
        only_executor_below(k, within=2.0)
    finally:
        kill_leftovers(procs)
        stop_session(k)
