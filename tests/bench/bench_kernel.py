#!/usr/bin/python3
"""bench_kernel.py — conclab against ipykernel, side by side, in one run.

Two figures, each measured for both kernels with runs interleaved (A, B, A, B, ...) so that both
see the same machine conditions:

  startup     launching the kernel process -> kernel_info_reply received on shell.
  round trip  execute_request of a trivial cell sent -> status idle for it received on iopub
              (`printf("hi\\n");` for conclab, `print("hi")` for ipykernel).

The client is written at the socket level (pyzmq, HMAC-SHA256 signing with hmac/hashlib) so the
clock measures the kernel, not jupyter_client's polling. Targets from the issue: startup at most
1/10 of ipykernel's, round trip no slower than ipykernel's. Exit status is 0 whatever the figures,
unless --check is given.

Run with Debian's python (it has pyzmq and jupyter_client):
    /usr/bin/python3 tests/bench/bench_kernel.py --conclab build/kernel/conclab --json out.json
"""
import argparse
import datetime
import hashlib
import hmac
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

import zmq

STARTUP_TARGET = 0.1    # conclab / ipykernel, at most
ROUNDTRIP_TARGET = 1.0  # conclab / ipykernel, at most
# A DEALER queues a request sent before the kernel has bound and delivers it the moment the
# connection is made, so one request suffices and the clock does not depend on a resend period
# (measured: 10 ms resends and one request give the same startup figure). Resending every 10 ms
# would only pile up dozens of duplicate requests in a slow-starting kernel, delaying whatever is
# sent next. The resend is a safety net against a lost request.
RESEND_EVERY = 1.0
STARTUP_LIMIT = 30.0    # seconds a kernel may take to answer before the run is called failed
CELL_LIMIT = 30.0       # seconds a trivial cell may take
SHUTDOWN_LIMIT = 3.0    # seconds a kernel gets to exit after shutdown_request before SIGKILL
WARMUP_CELLS = 3

CELLS = {"conclab": 'printf("hi\\n");', "ipykernel": 'print("hi")'}


class BenchError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Wire protocol: just enough of it to sign, send and read messages.

class Session:
    """Signs and parses Jupyter messages (protocol 5.3) with one key and one session id."""

    def __init__(self, key):
        self.key = key
        self.session = uuid.uuid4().hex

    def sign(self, parts):
        mac = hmac.new(self.key, digestmod=hashlib.sha256)
        for part in parts:
            mac.update(part)
        return mac.hexdigest().encode()

    def send(self, sock, msg_type, content):
        header = {
            "msg_id": uuid.uuid4().hex,
            "session": self.session,
            "username": "bench",
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "msg_type": msg_type,
            "version": "5.3",
        }
        parts = [json.dumps(p).encode() for p in (header, {}, {}, content)]
        sock.send_multipart([b"<IDS|MSG>", self.sign(parts)] + parts)
        return header["msg_id"]

    def recv(self, sock):
        """Reads one message (the socket must be readable). Rejects a bad signature."""
        frames = sock.recv_multipart()
        try:
            at = frames.index(b"<IDS|MSG>")
        except ValueError:
            raise BenchError("message without <IDS|MSG> delimiter")
        signature, parts = frames[at + 1], frames[at + 2:at + 6]
        if len(parts) != 4:
            raise BenchError("truncated message")
        if not hmac.compare_digest(signature, self.sign(parts)):
            raise BenchError("message with a bad signature")
        header, parent, _metadata, content = (json.loads(p) for p in parts)
        return {"header": header, "parent_header": parent, "content": content}


def parent_id(msg):
    return msg["parent_header"].get("msg_id")


def execute_content(code):
    return {"code": code, "silent": False, "store_history": True, "user_expressions": {},
            "allow_stdin": False, "stop_on_error": True}


# ---------------------------------------------------------------------------------------------
# Kernel processes.

def free_ports(n):
    """n distinct free TCP ports on localhost (bound together so they differ)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class Kernel:
    """One kernel process, its connection file and a shell, control and (optionally) iopub socket.

    The process runs in its own session (process group) so that everything it forks — conclab's
    executor, ipykernel's helpers — goes when we kill the group."""

    def __init__(self, name, argv_template, workdir, ctx):
        self.name = name
        self.ctx = ctx
        self.key = uuid.uuid4().hex.encode()
        self.session = Session(self.key)
        ports = free_ports(5)
        self.ports = dict(zip(("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port"),
                              ports))
        tag = uuid.uuid4().hex[:8]
        self.conn_path = os.path.join(workdir, f"{name}-{tag}.json")
        self.log_path = os.path.join(workdir, f"{name}-{tag}.log")
        with open(self.conn_path, "w") as f:
            json.dump(dict(self.ports, ip="127.0.0.1", transport="tcp", key=self.key.decode(),
                           signature_scheme="hmac-sha256", kernel_name=name), f)
        self.argv = [a.replace("{connection_file}", self.conn_path) for a in argv_template]
        self.proc = None
        self.sockets = []
        self.started_at = None
        self.info = {}
        self.shell = None

    def endpoint(self, port_name):
        return f"tcp://127.0.0.1:{self.ports[port_name]}"

    def socket(self, kind, port_name):
        sock = self.ctx.socket(kind)
        sock.setsockopt(zmq.LINGER, 0)
        # libzmq retries a refused connect every 100 ms by default; the kernel binds some time
        # after launch, so a coarse retry would quantize the startup figure. Retry every 1 ms.
        sock.setsockopt(zmq.RECONNECT_IVL, 1)
        sock.connect(self.endpoint(port_name))
        self.sockets.append(sock)
        return sock

    def launch(self):
        """Starts the process and returns the monotonic time it was launched at."""
        log = open(self.log_path, "wb")
        try:
            t0 = time.perf_counter()
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            log.close()
        return t0

    def log_tail(self, limit=2000):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-limit:].decode(errors="replace")
        except OSError:
            return ""

    def check_alive(self):
        status = self.exit_status()
        if status is not None:
            raise BenchError(f"{self.name} exited with status {status}; its output:\n"
                             f"{self.log_tail()}")

    def wait_kernel_info(self, shell, started_at):
        """Sends kernel_info_request at once (again every RESEND_EVERY) and polls with 1 ms
        timeouts until the first reply to any of them. Returns the seconds from started_at to
        that reply, and the reply."""
        sent = set()
        next_send = 0.0
        deadline = started_at + STARTUP_LIMIT
        while True:
            now = time.perf_counter()
            if now >= next_send:
                sent.add(self.session.send(shell, "kernel_info_request", {}))
                next_send = now + RESEND_EVERY
            if shell.poll(timeout=1):  # ms; short so the reply is seen within ~1 ms
                msg = self.session.recv(shell)
                if msg["header"]["msg_type"] == "kernel_info_reply" and parent_id(msg) in sent:
                    return time.perf_counter() - started_at, msg
            elif now > deadline:
                self.check_alive()
                raise BenchError(f"{self.name}: no kernel_info_reply within {STARTUP_LIMIT} s")
            else:
                self.check_alive()

    def start(self):
        """Launches the kernel and waits for its kernel_info_reply. Returns the startup seconds and
        keeps the launch time and the reply's content for later use."""
        shell = self.socket(zmq.DEALER, "shell_port")
        self.started_at = self.launch()
        elapsed, reply = self.wait_kernel_info(shell, self.started_at)
        if reply["content"].get("status", "ok") != "ok":
            raise BenchError(f"{self.name}: kernel_info_reply status {reply['content']}")
        self.info = reply["content"]
        self.shell = shell
        return elapsed

    def first_cell(self, code):
        """Right after start(): runs one cell and returns the seconds from launch to its
        execute_reply. Not a target; it shows whether anything was left to do after the kernel
        said it was ready (an executor still starting, a compiler still loading)."""
        msg_id = self.session.send(self.shell, "execute_request", execute_content(code))
        deadline = time.perf_counter() + CELL_LIMIT
        while time.perf_counter() < deadline:
            if self.shell.poll(timeout=100):
                msg = self.session.recv(self.shell)
                if parent_id(msg) == msg_id and msg["header"]["msg_type"] == "execute_reply":
                    if msg["content"].get("status") != "ok":
                        raise BenchError(f"{self.name}: first cell failed: {msg['content']}")
                    return time.perf_counter() - self.started_at
            else:
                self.check_alive()
        raise BenchError(f"{self.name}: first cell did not finish within {CELL_LIMIT} s")

    def stop(self):
        """shutdown_request on control, then a bounded wait, then SIGKILL to the whole group."""
        if self.proc is None:
            return
        try:
            if self.exit_status() is None:
                try:
                    control = self.socket(zmq.DEALER, "control_port")
                    self.session.send(control, "shutdown_request", {"restart": False})
                except zmq.ZMQError:
                    pass
                self.wait_exit(SHUTDOWN_LIMIT)
        finally:
            self.kill_group()
            for sock in self.sockets:
                sock.close(linger=0)
            self.sockets = []
            for path in (self.conn_path, self.log_path):
                try:
                    os.unlink(path)
                except OSError:
                    pass

    def exit_status(self):
        """The kernel's exit status once it has exited, else None. Does not reap it: while the
        zombie stays, its pid (which is also its process group id) cannot be reused, so the
        killpg in kill_group() cannot hit a stranger."""
        info = os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        if info is None or info.si_pid == 0:
            return None
        if info.si_code == os.CLD_EXITED:
            return info.si_status
        return -info.si_status  # killed by a signal, as subprocess reports it

    def wait_exit(self, limit):
        deadline = time.perf_counter() + limit
        while self.exit_status() is None and time.perf_counter() < deadline:
            time.sleep(0.005)

    def kill_group(self):
        # The group id is the kernel's pid (start_new_session); children it left behind share it.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=SHUTDOWN_LIMIT)  # reaps the kernel
        except subprocess.TimeoutExpired:
            pass


# ---------------------------------------------------------------------------------------------
# Round trips on a running kernel.

class Client:
    """A started kernel with shell and iopub connected, ready to run cells."""

    def __init__(self, kernel):
        self.kernel = kernel
        self.shell = kernel.shell
        self.iopub = kernel.socket(zmq.SUB, "iopub_port")
        self.iopub.setsockopt(zmq.SUBSCRIBE, b"")
        self.wait_iopub_ready()

    def wait_iopub_ready(self):
        """A SUB socket misses what is published before its subscription reaches the kernel: send
        kernel_info_requests until one's status message arrives on iopub (as jupyter_client does)."""
        deadline = time.perf_counter() + STARTUP_LIMIT
        while time.perf_counter() < deadline:
            msg_id = self.kernel.session.send(self.shell, "kernel_info_request", {})
            until = time.perf_counter() + 0.2
            while time.perf_counter() < until:
                if self.iopub.poll(timeout=10):
                    msg = self.kernel.session.recv(self.iopub)
                    if parent_id(msg) == msg_id:
                        self.drain()
                        return
            self.kernel.check_alive()
        raise BenchError(f"{self.kernel.name}: iopub never delivered a status message")

    def drain(self):
        """Reads whatever is pending on shell and iopub (replies to earlier requests)."""
        time.sleep(0.05)
        for sock in (self.shell, self.iopub):
            while sock.poll(timeout=0):
                sock.recv_multipart()

    def run_cell(self, code):
        """Sends execute_request; returns seconds until status idle for it on iopub. Also waits for
        the execute_reply (not timed) and checks that the cell printed "hi"."""
        session = self.kernel.session
        content = execute_content(code)
        t0 = time.perf_counter()
        msg_id = session.send(self.shell, "execute_request", content)
        elapsed = None
        reply = None
        stdout = ""
        deadline = t0 + CELL_LIMIT
        poller = zmq.Poller()
        poller.register(self.iopub, zmq.POLLIN)
        poller.register(self.shell, zmq.POLLIN)
        while elapsed is None or reply is None:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                self.kernel.check_alive()
                raise BenchError(f"{self.kernel.name}: cell did not finish within {CELL_LIMIT} s")
            ready = dict(poller.poll(timeout=min(remaining, 1.0) * 1000))
            if self.iopub in ready:
                msg = session.recv(self.iopub)
                if parent_id(msg) == msg_id:
                    kind = msg["header"]["msg_type"]
                    if kind == "status" and msg["content"]["execution_state"] == "idle":
                        elapsed = time.perf_counter() - t0
                    elif kind == "stream" and msg["content"]["name"] == "stdout":
                        stdout += msg["content"]["text"]
            if self.shell in ready:
                msg = session.recv(self.shell)
                if parent_id(msg) == msg_id and msg["header"]["msg_type"] == "execute_reply":
                    reply = msg
        if reply["content"].get("status") != "ok":
            raise BenchError(f"{self.kernel.name}: cell failed: {reply['content']}")
        if stdout != "hi\n":
            raise BenchError(f"{self.kernel.name}: cell printed {stdout!r}, expected 'hi\\n'")
        return elapsed


# ---------------------------------------------------------------------------------------------
# Statistics and reporting.

def percentile(samples, q):
    """Linear interpolation between closest ranks (q in [0, 1])."""
    ordered = sorted(samples)
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summarize(samples):
    return {"n": len(samples), "median": percentile(samples, 0.5), "p10": percentile(samples, 0.1),
            "p90": percentile(samples, 0.9), "min": min(samples), "max": max(samples),
            "samples": samples}


ROWS = [  # (key in results, label, target ratio or None when informational)
    ("startup", "startup: launch -> kernel_info_reply", "startup"),
    ("roundtrip", "round trip: execute_request -> idle", "roundtrip"),
    ("first_cell", "launch -> first cell's execute_reply", None),
]


def print_table(results, out=sys.stdout):
    m = results["machine"]
    print(f"\nmachine: {m['cpus']} cores, {m['cpu_model']}, {m['platform']}", file=out)
    print(f"{'':38} {'kernel':>9} {'n':>3} {'median ms':>10} {'p10 ms':>8} {'p90 ms':>8}", file=out)
    for key, label, _target in ROWS:
        for kernel in ("conclab", "ipykernel"):
            st = results[kernel][key]
            print(f"{label:38} {kernel:>9} {st['n']:3d} {st['median'] * 1e3:10.2f} "
                  f"{st['p10'] * 1e3:8.2f} {st['p90'] * 1e3:8.2f}", file=out)
            label = ""
    print("", file=out)
    for key, _label, target in ROWS:
        ratio = results["ratios"][key]
        if target is None:
            verdict = "informational, no target"
        else:
            limit = results["targets"][target]
            verdict = f"target <= {limit:g}: {'met' if ratio <= limit else 'MISSED'}"
        print(f"{key:10} conclab/ipykernel median = {ratio:6.3f}   ({verdict})", file=out)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown cpu"


def machine_info():
    return {"cpus": os.cpu_count(), "cpu_model": cpu_model(), "platform": platform.platform(),
            "python": platform.python_version(), "zmq": zmq.zmq_version(),
            "pyzmq": zmq.pyzmq_version(), "loadavg_at_start": os.getloadavg()}


# ---------------------------------------------------------------------------------------------
# The benchmark.

def measure_startups(kernels, runs, workdir, ctx, progress):
    """Returns {kernel: {"startup": [...], "first_cell": [...]}}, runs interleaved A, B, A, B."""
    samples = {name: {"startup": [], "first_cell": []} for name in kernels}
    for i in range(runs):
        for name, argv in kernels.items():
            kernel = Kernel(name, argv, workdir, ctx)
            try:
                samples[name]["startup"].append(kernel.start())
                samples[name]["first_cell"].append(kernel.first_cell(CELLS[name]))
            finally:
                kernel.stop()
        progress(f"startup {i + 1}/{runs}: " +
                 ", ".join(f"{n} {samples[n]['startup'][-1] * 1e3:.1f} ms" for n in kernels))
    return samples


def measure_round_trips(kernels, cells, workdir, ctx, progress):
    """Starts one kernel of each kind, warms both up, then times cells interleaved. Returns the
    samples and each kernel's kernel_info_reply content."""
    samples = {name: [] for name in kernels}
    infos = {}
    started = []
    try:
        clients = {}
        for name, argv in kernels.items():
            kernel = Kernel(name, argv, workdir, ctx)
            started.append(kernel)
            kernel.start()
            infos[name] = kernel.info
            clients[name] = Client(kernel)
        for name, client in clients.items():
            for _ in range(WARMUP_CELLS):
                client.run_cell(CELLS[name])
        for i in range(cells):
            for name, client in clients.items():
                samples[name].append(client.run_cell(CELLS[name]))
            if (i + 1) % 10 == 0 or i + 1 == cells:
                progress(f"round trip {i + 1}/{cells}: " +
                         ", ".join(f"{n} {samples[n][-1] * 1e3:.2f} ms" for n in kernels))
    finally:
        for kernel in started:
            kernel.stop()
    return samples, infos


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--conclab", default=None,
                   help="conclab binary (default: $CONCLAB_BIN, build/kernel/conclab, or PATH)")
    p.add_argument("--python", default="/usr/bin/python3", help="python that runs ipykernel")
    p.add_argument("--runs", type=int, default=25, help="startups per kernel (default 25)")
    p.add_argument("--cells", type=int, default=50, help="timed round trips per kernel (default 50)")
    p.add_argument("--quick", action="store_true", help="smoke run: 5 startups, 10 round trips")
    p.add_argument("--json", metavar="PATH", help="write the results as JSON to PATH")
    p.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    p.add_argument("--startup-target", type=float, default=STARTUP_TARGET, metavar="RATIO",
                   help=f"startup conclab/ipykernel at most (default {STARTUP_TARGET})")
    p.add_argument("--roundtrip-target", type=float, default=ROUNDTRIP_TARGET, metavar="RATIO",
                   help=f"round trip conclab/ipykernel at most (default {ROUNDTRIP_TARGET})")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    args = p.parse_args(argv)
    if args.quick:
        args.runs, args.cells = 5, 10
    if args.runs < 1 or args.cells < 1:
        p.error("--runs and --cells must be at least 1")
    return args


def find_conclab(given):
    if given:
        return os.path.abspath(given)
    if os.environ.get("CONCLAB_BIN"):
        return os.path.abspath(os.environ["CONCLAB_BIN"])
    here = os.path.dirname(os.path.abspath(__file__))
    candidate = os.path.join(here, "..", "..", "build", "kernel", "conclab")
    if os.access(candidate, os.X_OK):
        return os.path.abspath(candidate)
    return shutil.which("conclab")


def build_results(args, argv, kernels, startups, trips, infos):
    results = {
        "command": [sys.executable, os.path.abspath(__file__)] + argv,
        "machine": machine_info(),
        "kernels": {name: {"argv": kernels[name], "cell": CELLS[name],
                           "implementation": infos[name].get("implementation"),
                           "implementation_version": infos[name].get("implementation_version")}
                    for name in kernels},
        "targets": {"startup": args.startup_target, "roundtrip": args.roundtrip_target},
    }
    for name in kernels:
        results[name] = {"startup": summarize(startups[name]["startup"]),
                         "first_cell": summarize(startups[name]["first_cell"]),
                         "roundtrip": summarize(trips[name])}
    results["ratios"] = {key: results["conclab"][key]["median"] / results["ipykernel"][key]["median"]
                         for key, _label, _target in ROWS}
    results["met"] = {key: results["ratios"][key] <= limit
                      for key, limit in results["targets"].items()}
    return results


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    conclab = find_conclab(args.conclab)
    if not conclab or not os.access(conclab, os.X_OK):
        print("bench_kernel: conclab binary not found (use --conclab PATH)", file=sys.stderr)
        return 2
    kernels = {
        "conclab": [conclab, "kernel", "-f", "{connection_file}"],
        "ipykernel": [args.python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
    }

    def progress(line):
        if not args.quiet:
            print(line, file=sys.stderr, flush=True)

    if args.runs < 20 or args.cells < 20:
        progress(f"note: {args.runs} startups / {args.cells} round trips is below the 20 runs the "
                 "issue asks for; figures are indicative only")
    ctx = zmq.Context()
    workdir = tempfile.mkdtemp(prefix="conclab-bench-")
    try:
        startups = measure_startups(kernels, args.runs, workdir, ctx, progress)
        trips, infos = measure_round_trips(kernels, args.cells, workdir, ctx, progress)
    except BenchError as e:
        print(f"bench_kernel: {e}", file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        ctx.term()

    results = build_results(args, argv, kernels, startups, trips, infos)
    print_table(results)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    if args.check and not all(results["met"].values()):
        missed = ", ".join(key for key, ok in results["met"].items() if not ok)
        print(f"bench_kernel: target missed: {missed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
