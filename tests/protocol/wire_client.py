"""wire_client.py — a kernel spoken to frame by frame, with no jupyter_client in between.

RawKernel starts `conclab kernel -f FILE` on free ports with a key of the test's choosing and
connects plain pyzmq sockets, so a test can send exactly the bytes it wants: good messages,
forged signatures, truncated frames, nonsense JSON. Everything it waits for has a timeout, and
close() always ends the kernel it started.
"""
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import time
import uuid
from datetime import datetime, timezone

import zmq

DELIM = b"<IDS|MSG>"


def free_ports(n):
    """n TCP ports free right now on 127.0.0.1 (held open together so they differ)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def children_of(pid):
    """Pids whose parent is pid, read from /proc."""
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        # The command name may hold spaces: fields after its closing parenthesis are fixed.
        fields = stat[stat.rfind(")") + 2:].split()
        if int(fields[1]) == pid:
            kids.append(int(entry))
    return kids


def descendants_of(pid):
    """Every process below pid: children, their children, and so on."""
    found, todo = [], [pid]
    while todo:
        kids = children_of(todo.pop())
        found += kids
        todo += kids
    return found


def pid_running(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2:].split()[0] != "Z"


class RawKernel:
    def __init__(self, binary, workdir, key="wire-test-key"):
        self.key = key.encode()
        self.session = uuid.uuid4().hex
        ports = free_ports(5)
        self.ports = dict(zip(("shell", "iopub", "stdin", "control", "hb"), ports))
        self.connection_file = os.path.join(workdir, "kernel-%s.json" % self.session[:8])
        info = {"transport": "tcp", "ip": "127.0.0.1", "key": key,
                "signature_scheme": "hmac-sha256", "kernel_name": "conclab-test"}
        info.update({name + "_port": port for name, port in self.ports.items()})
        with open(self.connection_file, "w") as f:
            json.dump(info, f)
        self.log_path = self.connection_file + ".log"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([binary, "kernel", "-f", self.connection_file],
                                     stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
                                     start_new_session=True)
        self.seen_descendants = []  # pids a test found below the kernel; close() ends survivors
        self.ctx = zmq.Context()
        self.sockets = {}
        for name, kind in (("shell", zmq.DEALER), ("control", zmq.DEALER), ("stdin", zmq.DEALER),
                           ("iopub", zmq.SUB), ("hb", zmq.REQ)):
            s = self.ctx.socket(kind)
            s.setsockopt(zmq.LINGER, 0)
            if kind == zmq.SUB:
                s.setsockopt(zmq.SUBSCRIBE, b"")
            elif kind == zmq.DEALER:
                # One identity for shell and stdin, as jupyter_client does: the kernel routes
                # input_request to the identity that sent the execute_request.
                s.setsockopt(zmq.IDENTITY, self.session.encode())
            s.connect("tcp://127.0.0.1:%d" % self.ports[name])
            self.sockets[name] = s

    # -- building and sending ---------------------------------------------------------------

    def sign(self, parts, key=None):
        key = self.key if key is None else key
        if not key:
            return b""
        h = hmac.new(key, digestmod=hashlib.sha256)
        for p in parts:
            h.update(p)
        return h.hexdigest().encode()

    def header(self, msg_type, msg_id=None):
        return {"msg_id": msg_id or uuid.uuid4().hex, "session": self.session, "username": "test",
                "date": datetime.now(timezone.utc).isoformat(), "msg_type": msg_type,
                "version": "5.3"}

    def parts(self, msg_type, content=None, msg_id=None, parent=None):
        """The four JSON parts of a fresh message, as bytes."""
        return [json.dumps(self.header(msg_type, msg_id)).encode(),
                json.dumps(parent or {}).encode(), b"{}",
                json.dumps({} if content is None else content).encode()]

    def frames(self, parts, signature=None):
        """Wire frames for parts; signature None means sign them correctly."""
        return [DELIM, self.sign(parts) if signature is None else signature] + list(parts)

    def send_frames(self, channel, frames):
        self.sockets[channel].send_multipart(frames)

    def request(self, channel, msg_type, content=None):
        """Sends a correctly signed request; returns its msg_id."""
        parts = self.parts(msg_type, content)
        self.send_frames(channel, self.frames(parts))
        return json.loads(parts[0])["msg_id"]

    # -- receiving ---------------------------------------------------------------------------

    def recv(self, channel, timeout):
        """One multipart message as a dict (plus its raw frames), or None after timeout seconds."""
        s = self.sockets[channel]
        if not s.poll(int(timeout * 1000)):
            return None
        frames = s.recv_multipart()
        i = frames.index(DELIM)
        sig, raw = frames[i + 1], frames[i + 2:i + 6]
        msg = {name: json.loads(part) for name, part in
               zip(("header", "parent_header", "metadata", "content"), raw)}
        msg["signature"], msg["raw_parts"], msg["buffers"] = sig, raw, frames[i + 6:]
        msg["msg_type"] = msg["header"]["msg_type"]
        return msg

    def reply_to(self, channel, msg_id, timeout=5.0):
        """The message on channel whose parent is msg_id, or None; others are skipped."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            msg = self.recv(channel, left)
            if msg is not None and msg["parent_header"].get("msg_id") == msg_id:
                return msg

    def iopub_for(self, msg_id, timeout):
        """Every iopub message of msg_id received within timeout seconds (stops at idle)."""
        got, deadline = [], time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return got
            msg = self.recv("iopub", left)
            if msg is None or msg["parent_header"].get("msg_id") != msg_id:
                continue
            got.append(msg)
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return got

    def wait_ready(self, timeout=20):
        """Waits for a kernel_info_reply on shell (DEALER queues the request until the bind)."""
        msg_id = self.request("shell", "kernel_info_request")
        reply = self.reply_to("shell", msg_id, timeout)
        if reply is None:
            raise AssertionError("kernel did not answer kernel_info within %d s; log:\n%s"
                                 % (timeout, self.log()))
        time.sleep(0.2)  # let the iopub subscription settle
        self.drain()
        return reply

    def drain(self):
        for s in self.sockets.values():
            if s.type == zmq.REQ:
                continue
            while s.poll(0):
                s.recv_multipart()

    def alive(self):
        return self.proc.poll() is None

    def log(self):
        self._log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def close(self):
        """Ends the kernel this object started (and its process group), then the sockets."""
        # The executor may lead a process group of its own: note everything below the kernel
        # now, so whatever outlives the kernel can still be ended by its pid.
        below = descendants_of(self.proc.pid) if self.alive() else []
        below += self.seen_descendants
        try:
            if self.alive():
                self.proc.terminate()
                try:
                    self.proc.wait(3)
                except subprocess.TimeoutExpired:
                    pass
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the group this kernel leads
            except OSError:
                pass
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(3)
            for pid in below:
                if pid_running(pid):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
        finally:
            for s in self.sockets.values():
                s.close(0)
            self.ctx.term()
            self._log.close()
