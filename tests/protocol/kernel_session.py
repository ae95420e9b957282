"""kernel_session.py — a conclab kernel driven through a real jupyter_client, for the protocol tests.

A KernelSession wraps a started KernelManager and BlockingKernelClient. Its `run` sends one
execute_request and gathers everything that request caused: the shell reply and every iopub
message whose parent is the request, stamped with the time it was received. Messages that belong
to other requests are kept aside, not thrown away, so tests may queue several requests at once.

Every wait has a deadline: a kernel that stops answering fails the test, it never hangs it.
Also here: starting and stopping a kernel (stop_session ends whatever the kernel leaves running
below it), readers for a request's outputs, and short forms for cells that must succeed.
"""
import os
import re
import signal
import time
from queue import Empty

from wire_client import descendants_of, pid_running

KERNEL_NAME = "conclab-test"   # the kernelspec conftest.py writes

# How long one poll of a channel may block; short, so receipt times are accurate to ~10 ms.
POLL_S = 0.005


class KernelTimeout(AssertionError):
    """The kernel did not finish a request in time."""


class KernelSession:
    def __init__(self, km, kc):
        self.km = km
        self.kc = kc
        self._iopub = {}   # parent msg_id -> [msg] received while waiting for another request
        self._shell = {}   # parent msg_id -> reply msg
        self._stdin = {}   # parent msg_id -> [input_request msg]

    # -- sending ----------------------------------------------------------------------------

    def execute(self, code, silent=False, store_history=True, user_expressions=None,
                allow_stdin=False, stop_on_error=True):
        """Sends an execute_request and returns its msg_id without waiting."""
        return self.kc.execute(code, silent=silent, store_history=store_history,
                               user_expressions=user_expressions or {},
                               allow_stdin=allow_stdin, stop_on_error=stop_on_error)

    # -- receiving --------------------------------------------------------------------------

    def _poll(self, channel_get, store, multi):
        """Moves at most one waiting message from a channel into its store. True if one came."""
        try:
            msg = channel_get(timeout=POLL_S)
        except Empty:
            return False
        msg["_t"] = time.monotonic()
        parent = msg.get("parent_header", {}).get("msg_id")
        if multi:
            store.setdefault(parent, []).append(msg)
        else:
            store[parent] = msg
        return True

    def _pump(self, with_stdin):
        got = self._poll(self.kc.get_iopub_msg, self._iopub, True)
        got |= self._poll(self.kc.get_shell_msg, self._shell, False)
        if with_stdin:
            got |= self._poll(self.kc.get_stdin_msg, self._stdin, True)
        return got

    def collect(self, msg_id, timeout=30, stdin_lines=None, answer_delay=0.0):
        """Waits for the reply to msg_id and its closing `idle` status.

        Returns (reply_msg, iopub_msgs): iopub_msgs holds every iopub message of the request in
        arrival order (busy, execute_input, outputs..., idle); each message carries "_t", the
        time.monotonic() at which it was received. When stdin_lines is a list, each input_request
        of the request is answered with the next line, answer_delay seconds after it arrived, and
        recorded in self.input_requests (with "_answered", the time the answer was sent).
        """
        deadline = time.monotonic() + timeout
        answers = list(stdin_lines) if stdin_lines is not None else None
        self.input_requests = []
        with_stdin = answers is not None
        while True:
            if with_stdin:
                self.input_requests += self._stdin.pop(msg_id, [])
                for req in self.input_requests:
                    if "_answered" not in req and time.monotonic() >= req["_t"] + answer_delay:
                        self.kc.input(answers.pop(0) if answers else "")
                        req["_answered"] = time.monotonic()
            reply = self._shell.get(msg_id)
            msgs = self._iopub.get(msg_id, [])
            idle = any(m["msg_type"] == "status" and m["content"].get("execution_state") == "idle"
                       for m in msgs)
            if reply is not None and idle:
                del self._shell[msg_id]
                return reply, self._iopub.pop(msg_id)
            if time.monotonic() > deadline:
                raise KernelTimeout(
                    "no %s within %.1f s for request %s (iopub so far: %s)"
                    % ("reply" if reply is None else "idle status", timeout, msg_id,
                       [m["msg_type"] for m in msgs]))
            self._pump(with_stdin)

    def run(self, code, timeout=30, stdin_lines=None, answer_delay=0.0, **kwargs):
        """Executes code and returns (reply_content, iopub_msgs) once the kernel is idle again."""
        if stdin_lines is not None:
            kwargs["allow_stdin"] = True
        msg_id = self.execute(code, **kwargs)
        reply, msgs = self.collect(msg_id, timeout=timeout, stdin_lines=stdin_lines,
                                   answer_delay=answer_delay)
        return reply["content"], msgs

    def run_ok(self, code, timeout=30, **kwargs):
        """Runs code that must succeed; returns its iopub messages."""
        content, msgs = self.run(code, timeout=timeout, **kwargs)
        assert content["status"] == "ok", describe_failure(code, content, msgs)
        return msgs

    def request(self, method, *args, timeout=10, **kwargs):
        """Calls a kc request method (complete, inspect, history, ...) and waits for its reply."""
        msg_id = getattr(self.kc, method)(*args, **kwargs)
        reply, _ = self.collect(msg_id, timeout=timeout)
        return reply

    def control_request(self, msg_type, content=None, timeout=5):
        """Sends a request on the control channel; returns (reply, seconds it took)."""
        msg = self.kc.session.msg(msg_type, content or {})
        start = time.monotonic()
        self.kc.control_channel.send(msg)
        deadline = start + timeout
        while time.monotonic() < deadline:
            try:
                reply = self.kc.get_control_msg(timeout=0.05)
            except Empty:
                continue
            if reply["parent_header"].get("msg_id") == msg["header"]["msg_id"]:
                return reply, time.monotonic() - start
        raise KernelTimeout("no %s reply on control within %.1f s" % (msg_type, timeout))

    def wait_for_reply(self, msg_id, timeout):
        """Waits for only the shell reply of msg_id (not idle); returns it or raises."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if msg_id in self._shell:
                return self._shell[msg_id]
            self._pump(False)
        raise KernelTimeout("no reply to %s within %.1f s" % (msg_id, timeout))

    def wait_for_iopub(self, msg_id, predicate, timeout):
        """Waits until an iopub message of msg_id satisfies predicate; returns it (kept stored)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for m in self._iopub.get(msg_id, []):
                if predicate(m):
                    return m
            self._pump(False)
        raise KernelTimeout("no matching iopub message for %s within %.1f s" % (msg_id, timeout))

    def wait_for_input_request(self, msg_id, timeout):
        """Waits for an input_request of msg_id on the stdin channel; returns it unanswered."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._stdin.get(msg_id):
                return self._stdin[msg_id][0]
            self._pump(True)
        raise KernelTimeout("no input_request for %s within %.1f s" % (msg_id, timeout))

    def has_reply(self, msg_id):
        """True once the shell reply to msg_id has been received (and not yet collected)."""
        self._pump(False)
        return msg_id in self._shell

    def drain(self, seconds=0.2):
        """Forgets whatever is pending (e.g. after a test that left requests unanswered)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self._pump(True)
        self._iopub.clear()
        self._shell.clear()
        self._stdin.clear()


# -- starting and stopping ----------------------------------------------------------------------

def start_session(startup_timeout=30, env=None):
    """Starts a conclab-test kernel and a connected client. The caller must call stop_session.
    env: extra environment variables for the kernel process."""
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name=KERNEL_NAME)
    km.shutdown_wait_time = 3.0
    if env:
        km.start_kernel(env=dict(os.environ, **env))
    else:
        km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=startup_timeout)
    except BaseException:
        stop_session(KernelSession(km, kc))
        raise
    return KernelSession(km, kc)


def _kernel_pid(km):
    process = getattr(getattr(km, "provisioner", None), "process", None)
    return getattr(process, "pid", None)


def stop_session(session):
    """Shuts the kernel down; anything it leaves running below it is ended by pid."""
    pid = _kernel_pid(session.km)
    below = descendants_of(pid) if pid else []
    try:
        session.kc.stop_channels()
    finally:
        if session.km.has_kernel:
            try:
                session.km.shutdown_kernel(now=False)
            except Exception:
                session.km.shutdown_kernel(now=True)
        for child in below:
            if pid_running(child):
                try:
                    os.kill(child, signal.SIGKILL)
                except OSError:
                    pass


# -- reading outputs ---------------------------------------------------------------------------

def outputs(msgs):
    """The output messages of a request: everything but status and execute_input."""
    return [m for m in msgs if m["msg_type"] not in ("status", "execute_input")]


def of_type(msgs, msg_type):
    return [m for m in msgs if m["msg_type"] == msg_type]


def stream_text(msgs, name="stdout"):
    return "".join(m["content"]["text"] for m in msgs
                   if m["msg_type"] == "stream" and m["content"]["name"] == name)


def result_text(msgs):
    """The text/plain of the request's single execute_result, or None when there is none."""
    results = of_type(msgs, "execute_result")
    assert len(results) <= 1, "more than one execute_result: %r" % results
    return results[0]["content"]["data"].get("text/plain") if results else None


def all_text(content, msgs):
    """Every piece of text a user could see for a request: streams, displays, errors, reply."""
    parts = []
    for m in msgs:
        c = m["content"]
        if m["msg_type"] == "stream":
            parts.append(c["text"])
        elif m["msg_type"] in ("display_data", "update_display_data", "execute_result"):
            parts.append(str(c.get("data", {}).get("text/plain", "")))
        elif m["msg_type"] == "error":
            parts += [c.get("ename", ""), c.get("evalue", "")] + list(c.get("traceback", []))
    if content.get("status") == "error":
        parts += [str(content.get("ename", "")), str(content.get("evalue", ""))]
        parts += [str(t) for t in content.get("traceback", [])]
    return "\n".join(parts)


def describe_failure(code, content, msgs):
    """A readable account of what came back, for assertion messages."""
    return ("cell:\n%s\nreply: %r\noutputs: %r"
            % (code, {k: v for k, v in content.items() if k != "payload"},
               [(m["msg_type"], m["content"]) for m in outputs(msgs)]))


# -- running cells that must succeed ---------------------------------------------------------------

# The headers most test cells use, run once as a module's first cell (conftest.py: fixture k).
PRELUDE = r"""#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <unistd.h>
#include <sys/wait.h>
#include <pthread.h>
#include <time.h>
#include <conclab.h>
"""


def stdout_of(k, code, **kwargs):
    """Runs a cell that must succeed with no stderr output; returns its stdout."""
    content, msgs = k.run(code, **kwargs)
    assert content["status"] == "ok", describe_failure(code, content, msgs)
    assert stream_text(msgs, "stderr") == "", describe_failure(code, content, msgs)
    return stream_text(msgs)


def value_of(k, code):
    """Runs a cell that must succeed and returns its execute_result text/plain (or None)."""
    content, msgs = k.run(code)
    assert content["status"] == "ok", describe_failure(code, content, msgs)
    return result_text(msgs)


def assert_no_redefinition_complaint(k, code):
    """Runs a cell that redefines something: it must succeed and say nothing about it."""
    content, msgs = k.run(code)
    text = all_text(content, msgs)
    assert content["status"] == "ok", describe_failure(code, content, msgs)
    assert "redefin" not in text.lower(), describe_failure(code, content, msgs)


RUNTIME_INCLUDE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                               "runtime", "include")


def runtime_header_text():
    """<conclab.h> and the conclab/ headers it gathers, as one text: the runtime's declarations."""
    with open(os.path.join(RUNTIME_INCLUDE, "conclab.h")) as f:
        umbrella = f.read()
    parts = [umbrella]
    for name in re.findall(r'#include\s*[<"](conclab/[\w.]+)[>"]', umbrella):
        with open(os.path.join(RUNTIME_INCLUDE, name)) as f:
            parts.append(f.read())
    return "\n".join(parts)
