"""test_wire_live.py — the transport under hostile input, over raw ZeroMQ (issue 2, items 4 and 7).

A kernel started with a known key must answer correctly signed messages with correctly signed
replies, drop (and log) anything with a bad or missing signature, or a signature it has already
seen (a replay), without executing it, and keep serving after malformed frames, unknown message
types and content of the wrong JSON types.
"""
import json
import os
import signal
import time

import pytest

from wire_client import DELIM, RawKernel, children_of, descendants_of, pid_running

QUIET_S = 1.0   # how long a dropped message must stay unanswered


@pytest.fixture(scope="module")
def rk(conclab_bin, tmp_path_factory):
    kernel = RawKernel(conclab_bin, str(tmp_path_factory.mktemp("wire")))
    try:
        kernel.wait_ready()
        yield kernel
    finally:
        kernel.close()


@pytest.fixture
def own_rk(conclab_bin, tmp_path):
    """A keyed kernel of the test's own, for tests that end it."""
    kernel = RawKernel(conclab_bin, str(tmp_path))
    try:
        kernel.wait_ready()
        yield kernel
    finally:
        kernel.close()


def assert_still_serving(rk, channel="shell"):
    assert rk.alive(), "kernel exited; log:\n" + rk.log()
    msg_id = rk.request(channel, "kernel_info_request")
    reply = rk.reply_to(channel, msg_id, timeout=5)
    assert reply is not None, "kernel stopped answering on %s; log:\n%s" % (channel, rk.log())
    assert reply["content"]["status"] == "ok"
    rk.drain()


def assert_dropped(rk, frames, channel="shell"):
    """Sends frames; nothing may answer them, and the kernel must keep serving."""
    parent = None
    try:
        i = frames.index(DELIM)
        parent = json.loads(frames[i + 2])["msg_id"]
    except (ValueError, IndexError, KeyError, TypeError, UnicodeDecodeError, json.JSONDecodeError):
        pass
    rk.send_frames(channel, frames)
    if parent is not None:
        assert rk.reply_to(channel, parent, timeout=QUIET_S) is None, "a dropped message was answered"
    else:
        time.sleep(QUIET_S / 2)
    assert_still_serving(rk, channel)


# ---- signing ---------------------------------------------------------------------------------

def test_good_request_gets_a_correctly_signed_reply(rk):
    msg_id = rk.request("shell", "kernel_info_request")
    reply = rk.reply_to("shell", msg_id, timeout=5)
    assert reply is not None
    assert reply["signature"] == rk.sign(reply["raw_parts"]), "reply signature does not verify"
    assert reply["msg_type"] == "kernel_info_reply"
    assert reply["parent_header"]["msg_id"] == msg_id
    for field in ("msg_id", "session", "username", "date", "msg_type", "version"):
        assert field in reply["header"], field
    published = rk.iopub_for(msg_id, timeout=3)
    assert [m["content"]["execution_state"] for m in published] == ["busy", "idle"]
    for m in published:
        assert m["signature"] == rk.sign(m["raw_parts"]), "iopub signature does not verify"


def test_heartbeat_echoes(rk):
    hb = rk.sockets["hb"]
    hb.send(b"ping-conclab")
    assert hb.poll(2000), "no heartbeat echo within 2 s"
    assert hb.recv() == b"ping-conclab"


def test_control_channel_answers(rk):
    assert_still_serving(rk, "control")


def test_bad_signature_is_dropped_and_logged(rk):
    parts = rk.parts("kernel_info_request")
    before = rk.log()
    assert_dropped(rk, rk.frames(parts, signature=b"0" * 64))
    time.sleep(0.1)
    new_log = rk.log()[len(before):]
    assert "signature" in new_log.lower(), "the dropped message was not logged: %r" % new_log


def test_missing_signature_is_dropped(rk):
    assert_dropped(rk, rk.frames(rk.parts("kernel_info_request"), signature=b""))


def test_signature_made_with_another_key_is_dropped(rk):
    parts = rk.parts("kernel_info_request")
    assert_dropped(rk, rk.frames(parts, signature=rk.sign(parts, key=b"not-the-key")))


def test_tampered_content_is_dropped(rk):
    parts = rk.parts("kernel_info_request", {"a": 1})
    sig = rk.sign(parts)
    parts[3] = b'{"a": 2}'
    assert_dropped(rk, rk.frames(parts, signature=sig))


def test_truncated_or_extended_signature_is_dropped(rk):
    parts = rk.parts("kernel_info_request")
    assert_dropped(rk, rk.frames(parts, signature=rk.sign(parts)[:-2]))
    parts = rk.parts("kernel_info_request")
    assert_dropped(rk, rk.frames(parts, signature=rk.sign(parts) + b"00"))


def test_a_replayed_message_is_dropped_and_logged(rk, tmp_path):
    """The same signed bytes sent again (issue 12 item 6): answered once, run once, the replay logged."""
    marker = tmp_path / "runs"
    code = 'FILE *rp_f = fopen("%s", "a"); fputs("x", rp_f); fclose(rp_f);' % marker
    parts = rk.parts("execute_request", {"code": code, "silent": False, "store_history": False,
                                         "user_expressions": {}, "allow_stdin": False})
    frames = rk.frames(parts)
    msg_id = json.loads(parts[0])["msg_id"]
    rk.send_frames("shell", frames)
    reply = rk.reply_to("shell", msg_id, timeout=20)
    assert reply is not None and reply["content"]["status"] == "ok", rk.log()
    rk.drain()
    before = rk.log()
    for channel in ("shell", "control"):
        assert_dropped(rk, frames, channel)
    time.sleep(0.2)
    assert marker.read_text() == "x", "the replayed cell ran again"
    assert "replay" in rk.log()[len(before):], "the replay was not logged: %r" % rk.log()[len(before):]


def test_unsigned_execute_request_never_runs(rk, tmp_path):
    marker = str(tmp_path / "ran")
    code = '#include <stdio.h>\nfclose(fopen("%s", "w"));' % marker
    parts = rk.parts("execute_request", {"code": code, "silent": False, "store_history": True,
                                         "user_expressions": {}, "allow_stdin": False,
                                         "stop_on_error": True})
    msg_id = json.loads(parts[0])["msg_id"]
    rk.send_frames("shell", rk.frames(parts, signature=b"f" * 64))
    assert rk.reply_to("shell", msg_id, timeout=1.5) is None
    assert rk.iopub_for(msg_id, timeout=0.5) == [], "a forged request made the kernel busy"
    assert not os.path.exists(marker), "a message with a bad signature was executed"
    # The same request, correctly signed, does run: the probe itself works.
    rk.send_frames("shell", rk.frames(parts))
    reply = rk.reply_to("shell", msg_id, timeout=30)
    assert reply is not None and reply["content"]["status"] == "ok", reply and reply["content"]
    assert os.path.exists(marker)
    rk.drain()


def test_stdin_round_trip_and_forged_input_reply(rk):
    code = '#include <stdio.h>\nchar in_buf[32];\nif (fgets(in_buf, sizeof in_buf, stdin)) printf("got %s", in_buf);'
    msg_id = rk.request("shell", "execute_request", {"code": code, "silent": False, "allow_stdin": True})
    ask = rk.reply_to("stdin", msg_id, timeout=10)
    assert ask is not None and ask["msg_type"] == "input_request", "no input_request on stdin"
    assert ask["signature"] == rk.sign(ask["raw_parts"]), "input_request signature does not verify"
    # A forged answer is dropped: the cell keeps waiting for a real one.
    forged = rk.parts("input_reply", {"value": "forged"}, parent=ask["header"])
    rk.send_frames("stdin", rk.frames(forged, signature=b"0" * 64))
    assert rk.reply_to("shell", msg_id, timeout=1.0) is None, "the cell ended on a forged input_reply"
    rk.send_frames("stdin", rk.frames(rk.parts("input_reply", {"value": "real"}, parent=ask["header"])))
    reply = rk.reply_to("shell", msg_id, timeout=10)
    assert reply is not None and reply["content"]["status"] == "ok"
    published = rk.iopub_for(msg_id, timeout=3)
    text = "".join(m["content"]["text"] for m in published if m["msg_type"] == "stream")
    assert text == "got real\n", repr(text)


# ---- malformed frames -----------------------------------------------------------------------------

def signed_raw(rk, parts):
    return [DELIM, rk.sign(parts)] + parts


MALFORMED = {
    "one empty frame": lambda rk: [b""],
    "garbage": lambda rk: [b"\x00\xffgarbage"],
    "no delimiter": lambda rk: [rk.sign(rk.parts("kernel_info_request"))] + rk.parts("kernel_info_request"),
    "delimiter only": lambda rk: [DELIM],
    "delimiter and signature": lambda rk: [DELIM, rk.sign([])],
    "two parts missing": lambda rk: signed_raw(rk, rk.parts("kernel_info_request")[:2]),
    "content missing": lambda rk: signed_raw(rk, rk.parts("kernel_info_request")[:3]),
    "header not json": lambda rk: signed_raw(rk, [b"{not json", b"{}", b"{}", b"{}"]),
    "header is an array": lambda rk: signed_raw(rk, [b'["kernel_info_request"]', b"{}", b"{}", b"{}"]),
    "content is a string": lambda rk: signed_raw(rk, rk.parts("kernel_info_request")[:3] + [b'"x"']),
    "parent is a number": lambda rk: signed_raw(rk, [rk.parts("kernel_info_request")[0], b"7", b"{}", b"{}"]),
    "invalid utf-8 json": lambda rk: signed_raw(rk, [b'{"msg_type": "\xff\xfe"}', b"{}", b"{}", b"{}"]),
    "header without msg_type": lambda rk: signed_raw(rk, [b'{"msg_id": "x1", "session": "s"}', b"{}", b"{}", b"{}"]),
    "msg_type not a string": lambda rk: signed_raw(rk, [b'{"msg_id": "x2", "msg_type": 5}', b"{}", b"{}", b"{}"]),
    "deeply nested json": lambda rk: signed_raw(rk, rk.parts("kernel_info_request")[:3] + [b"[" * 100000 + b"]" * 100000]),
    "empty json parts": lambda rk: signed_raw(rk, [b"", b"", b"", b""]),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_frames_keep_the_kernel_serving(rk, name):
    rk.send_frames("shell", MALFORMED[name](rk))
    time.sleep(0.2)
    assert_still_serving(rk)


@pytest.mark.parametrize("name", ["garbage", "no delimiter", "header not json", "content missing"])
def test_malformed_frames_on_control_keep_it_serving(rk, name):
    rk.send_frames("control", MALFORMED[name](rk))
    time.sleep(0.2)
    assert_still_serving(rk, "control")


def test_many_buffers_and_identities(rk):
    parts = rk.parts("kernel_info_request")
    frames = [b"extra-identity-1", b"extra-identity-2"] + signed_raw(rk, parts) + [b"buf"] * 500
    rk.send_frames("shell", frames)
    time.sleep(0.2)
    assert_still_serving(rk)


# ---- unknown types and wrong JSON types -----------------------------------------------------------

def test_unknown_message_type(rk):
    msg_id = rk.request("shell", "no_such_request", {"x": 1})
    rk.reply_to("shell", msg_id, timeout=0.5)
    assert_still_serving(rk)
    msg_id = rk.request("control", "no_such_control_request")
    rk.reply_to("control", msg_id, timeout=0.5)
    assert_still_serving(rk, "control")


WRONG_TYPES = [
    ("execute_request", {"code": 123}),
    ("execute_request", {}),
    ("execute_request", {"code": None, "silent": "yes", "store_history": [], "user_expressions": [],
                         "allow_stdin": 1, "stop_on_error": "no"}),
    ("execute_request", {"code": "1 + 1", "user_expressions": {"a": 5, "b": None}}),
    ("complete_request", {"code": 5, "cursor_pos": "x"}),
    ("complete_request", {"code": "whi", "cursor_pos": -5}),
    ("complete_request", {"code": "whi", "cursor_pos": 10 ** 12}),
    ("complete_request", {"code": "\u00e9\u00e9", "cursor_pos": 1.5}),
    ("inspect_request", {"code": None, "cursor_pos": None, "detail_level": "high"}),
    ("inspect_request", {"code": "cl_thread_start", "cursor_pos": 999999}),
    ("is_complete_request", {"code": []}),
    ("history_request", {"hist_access_type": 7, "n": "x"}),
    ("history_request", {"hist_access_type": "range", "session": "a", "start": {}, "stop": None}),
    ("history_request", {"hist_access_type": "search", "pattern": 3, "unique": "maybe"}),
    ("history_request", {"hist_access_type": "tail", "n": -10 ** 12}),
    ("comm_info_request", {"target_name": 1}),
    ("kernel_info_request", {"unexpected": [1, 2, 3]}),
    ("input_reply", {"value": 42}),
    ("comm_open", {"comm_id": 3, "target_name": None}),
]


@pytest.mark.parametrize("msg_type, content", WRONG_TYPES,
                         ids=["%s-%d" % (t, i) for i, (t, _) in enumerate(WRONG_TYPES)])
def test_wrong_json_types_keep_the_kernel_serving(rk, msg_type, content):
    msg_id = rk.request("shell", msg_type, content)
    reply = rk.reply_to("shell", msg_id, timeout=3 if msg_type == "execute_request" else 1)
    if reply is not None:
        assert "status" in reply["content"], reply["content"]
        assert reply["signature"] == rk.sign(reply["raw_parts"])
    assert_still_serving(rk)


def test_huge_message_is_survived(rk):
    code = "/*" + "x" * (2 * 1024 * 1024) + "*/"
    msg_id = rk.request("shell", "is_complete_request", {"code": code})
    reply = rk.reply_to("shell", msg_id, timeout=10)
    assert reply is not None and reply["content"]["status"] == "complete", reply and reply["content"]
    assert_still_serving(rk)


# ---- empty key, signals and shutdown ------------------------------------------------------------------

def test_empty_key_means_unsigned(conclab_bin, tmp_path):
    kernel = RawKernel(conclab_bin, str(tmp_path), key="")
    try:
        reply = kernel.wait_ready()
        assert reply["signature"] == b"", "with an empty key the reply must not be signed"
        parts = kernel.parts("kernel_info_request")
        msg_id = json.loads(parts[0])["msg_id"]
        kernel.send_frames("shell", [DELIM, b""] + parts)
        reply = kernel.reply_to("shell", msg_id, timeout=5)
        assert reply is not None and reply["content"]["status"] == "ok"
    finally:
        kernel.close()


def test_sigint_to_the_kernel_process_interrupts_the_cell(own_rk):
    rk = own_rk
    msg_id = rk.request("shell", "execute_request",
                        {"code": "#include <unistd.h>\nsleep(30);", "silent": False})
    started = None
    deadline = time.monotonic() + 10
    while started is None:
        assert time.monotonic() < deadline, "the cell never started"
        msg = rk.recv("iopub", 0.5)
        if msg and msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "execute_input":
            started = msg
    time.sleep(0.3)
    t0 = time.monotonic()
    os.kill(rk.proc.pid, signal.SIGINT)
    reply = rk.reply_to("shell", msg_id, timeout=10)
    assert reply is not None, "no execute_reply after SIGINT"
    assert time.monotonic() - t0 < 2.0
    assert reply["content"]["status"] == "error"
    assert rk.alive(), "SIGINT killed the kernel"
    assert_still_serving(rk)


def test_shutdown_request_ends_kernel_and_executor(own_rk):
    rk = own_rk
    # Make sure an executor exists, then note the kernel's children.
    msg_id = rk.request("shell", "execute_request", {"code": "int sd_x = 1;", "silent": False})
    assert rk.reply_to("shell", msg_id, timeout=30) is not None
    kids = children_of(rk.proc.pid)
    rk.seen_descendants += descendants_of(rk.proc.pid)
    msg_id = rk.request("control", "shutdown_request", {"restart": False})
    reply = rk.reply_to("control", msg_id, timeout=5)
    assert reply is not None and reply["content"]["status"] == "ok"
    assert reply["content"]["restart"] is False
    try:
        code = rk.proc.wait(5)
    except Exception:
        raise AssertionError("kernel still running 5 s after shutdown_request")
    assert code == 0, "kernel exit code %d" % code
    time.sleep(0.5)
    left = [pid for pid in kids if pid_running(pid)]
    assert left == [], "processes of the kernel outlived it: %r" % left


def test_shutdown_request_during_a_running_cell(own_rk):
    rk = own_rk
    msg_id = rk.request("shell", "execute_request", {"code": "for (;;);", "silent": False})
    deadline = time.monotonic() + 10
    while True:
        assert time.monotonic() < deadline, "the cell never started"
        msg = rk.recv("iopub", 0.5)
        if msg and msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "execute_input":
            break
    time.sleep(0.3)
    below = descendants_of(rk.proc.pid)
    rk.seen_descendants += below
    t0 = time.monotonic()
    shut = rk.request("control", "shutdown_request", {"restart": False})
    reply = rk.reply_to("control", shut, timeout=2)
    assert reply is not None, "no shutdown_reply within 2 s while a cell runs"
    try:
        rk.proc.wait(3)
    except Exception:
        raise AssertionError("kernel still running 3 s after shutdown_request during a cell")
    assert time.monotonic() - t0 < 3
    time.sleep(0.5)
    left = [pid for pid in below if pid_running(pid)]
    assert left == [], "processes of the kernel outlived it: %r" % left


def test_sigterm_ends_kernel_and_executor(own_rk):
    rk = own_rk
    msg_id = rk.request("shell", "execute_request", {"code": "int st_x = 1;", "silent": False})
    assert rk.reply_to("shell", msg_id, timeout=30) is not None
    kids = children_of(rk.proc.pid)
    rk.seen_descendants += descendants_of(rk.proc.pid)
    rk.proc.send_signal(signal.SIGTERM)
    try:
        rk.proc.wait(5)
    except Exception:
        raise AssertionError("kernel still running 5 s after SIGTERM")
    time.sleep(0.5)
    left = [pid for pid in kids if pid_running(pid)]
    assert left == [], "processes of the kernel outlived it: %r" % left


@pytest.mark.parametrize("busy", [False, True], ids=["idle", "busy"])
def test_killed_kernel_leaves_no_running_processes(own_rk, busy):
    """A kernel killed outright (SIGKILL, as Jupyter does when shutdown stalls) must not leave its
    executor, or a cell that was running, spinning on the machine."""
    rk = own_rk
    code = "for (;;);" if busy else "int kk_x = 1;"
    msg_id = rk.request("shell", "execute_request", {"code": code, "silent": False})
    deadline = time.monotonic() + 10
    while True:
        assert time.monotonic() < deadline, "the cell never started"
        msg = rk.recv("iopub", 0.5)
        if msg and msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "execute_input":
            break
    if not busy:
        assert rk.reply_to("shell", msg_id, timeout=10) is not None
    time.sleep(0.3)
    below = descendants_of(rk.proc.pid)
    rk.seen_descendants += below
    assert below, "no executor process found below the kernel"
    rk.proc.kill()
    rk.proc.wait(5)
    deadline = time.monotonic() + 3
    while True:
        left = [pid for pid in below if pid_running(pid)]
        if not left:
            break
        assert time.monotonic() < deadline, "still running 3 s after the kernel was killed: %r" % left
        time.sleep(0.1)
