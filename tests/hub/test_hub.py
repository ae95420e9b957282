#!/usr/bin/python3
"""A class on JupyterHub, end to end: `conclab hub-config`'s configuration on Debian's JupyterHub.

Two temporary Unix users (real accounts: each kernel must run as its own user) log in through
the hub's login form (PAM, passwords set with chpasswd), get their servers, and run cells
through the hub's proxy: jupyter_server's REST API and the kernel's websocket, as a browser
does. Checks: the labs were copied into each home (an edited one kept, solutions/ left out),
each kernel runs as its own user with its own state, the limits reached the kernel, and at the
end nothing is left running (hub, proxy, servers, kernels).

Needs root (useradd), jupyterhub, node and hub/node_modules (install.sh's `npm ci`): without
them it exits 77, which ctest reports as skipped. Everything listens on 127.0.0.1, on free
ports; users, processes and files are removed whatever happens.
"""
import html
import http.cookiejar
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
PROXY = os.path.join(HERE, "..", "..", "hub", "node_modules", "configurable-http-proxy", "bin",
                     "configurable-http-proxy")
LAB = os.path.join(HERE, "..", "..", "lab")  # conclab's JupyterLab: server/ and the build in dist/
SKIP = 77
DEADLINE = time.monotonic() + 80  # the whole test, ctest's TIMEOUT being 120
results = {"passed": 0, "failed": 0}


def check(ok, what):
    results["passed" if ok else "failed"] += 1
    print(("ok    " if ok else "FAIL  ") + what, flush=True)
    return ok


def skip_reason():
    if not os.path.exists("/usr/bin/jupyterhub"):
        return "jupyterhub not installed (Debian package jupyterhub; ./install.sh installs it)"
    if not shutil.which("node"):
        return "node not found (Debian package nodejs)"
    if not os.path.exists(PROXY):
        return "hub/node_modules has no configurable-http-proxy (./install.sh runs npm ci in hub/)"
    if os.geteuid() != 0:
        return "needs root: it creates two temporary Unix users (useradd) and runs a hub as root"
    if not shutil.which("useradd") or not shutil.which("chpasswd"):
        return "useradd/chpasswd not found"
    try:
        import websocket  # noqa: F401  (Debian: python3-websocket)
    except ImportError:
        return "python3-websocket not installed"
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(*argv, input=""):
    """Runs a command (never reading our stdin); a failure raises with its message."""
    done = subprocess.run(argv, input=input, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(argv), done.stderr.strip()))
    return done


# ---- the class: a group, two users, the labs ----------------------------------------------

class Class:
    def __init__(self, tmp):
        prefix = "clhub" + secrets.token_hex(3)  # unique: never an existing account
        self.group = prefix + "g"
        self.names = [prefix + "a", prefix + "b"]
        self.password = secrets.token_urlsafe(12)
        self.created = []
        self.tmp = tmp

    def create(self):
        run("groupadd", self.group)
        self.created.append(("group", self.group))
        for name in self.names:
            run("useradd", "-m", "-s", "/bin/bash", "-G", self.group, name)
            self.created.append(("user", name))
        run("chpasswd", input="".join("%s:%s\n" % (n, self.password) for n in self.names))

    def uids(self):
        import pwd
        return {pwd.getpwnam(n).pw_uid for n in self.names if self.exists(n)}

    @staticmethod
    def exists(name):
        import pwd
        try:
            pwd.getpwnam(name)
            return True
        except KeyError:
            return False

    def remove(self):
        kill_pids(processes_of(self.uids()))
        for kind, name in reversed(self.created):
            cmd = ["userdel", "-r", name] if kind == "user" else ["groupdel", name]
            subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True)


def processes_of(uids):
    """PIDs of live processes owned by these uids (read from /proc)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/status" % entry) as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
            if int(fields["Uid"].split()[0]) in uids and not fields["State"].strip().startswith("Z"):
                pids.append(int(entry))
        except (OSError, KeyError, ValueError):
            continue
    return pids


def rss_mb(uid):
    total = 0
    for pid in processes_of({uid}):
        try:
            with open("/proc/%d/status" % pid) as f:
                total += next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        except (OSError, StopIteration):
            pass
    return total / 1024


def alive(pid):
    """A process that still runs: a zombie (exited, not yet reaped by init) does not count."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def kill_pids(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def write_labs(labs):
    """The test's own labs: one notebook with a code cell, and a solutions/ folder (not copied)."""
    os.makedirs(os.path.join(labs, "solutions"))
    notebook = {
        "cells": [{"cell_type": "code", "execution_count": None, "id": "c1", "metadata": {}, "outputs": [],
                   "source": ["printf(\"lab cell ran as %s\\n\", getenv(\"USER\"));\n"]}],
        "metadata": {"kernelspec": {"name": "conclab", "display_name": "C (conclab)", "language": "c"}},
        "nbformat": 4, "nbformat_minor": 5,
    }
    for path in ("lab1.ipynb", "solutions/lab1.ipynb"):
        with open(os.path.join(labs, path), "w") as f:
            json.dump(notebook, f)


def write_kernelspec(jupyter_path, conclab):
    """A kernelspec named like the installed one, starting the binary under test."""
    spec = os.path.join(jupyter_path, "kernels", "conclab")
    os.makedirs(spec)
    with open(os.path.join(spec, "kernel.json"), "w") as f:
        json.dump({"argv": [conclab, "kernel", "-f", "{connection_file}"],
                   "display_name": "C (conclab, under test)", "language": "c"}, f)


# ---- the hub --------------------------------------------------------------------------------

def write_config(tmp, conclab, group, ports):
    path = os.path.join(tmp, "jupyterhub_config.py")
    run(conclab, "hub-config", "--group", group, "--ip", "127.0.0.1", "--port", str(ports[0]),
        "--api-ports", "%d,%d" % (ports[1], ports[2]), "--state-dir", os.path.join(tmp, "state"),
        "--labs", os.path.join(tmp, "labs"), "--memory", "512M", "--processes", "32",
        "--timeout", "30", "--cpu", "0.5", "--student-memory", "2G", "--tasks", "900", "--idle", "0",
        "-o", path)
    with open(path) as f:  # the JupyterLab under test (a copy the students can read), when built
        text = f.read()
    lab = os.path.join(tmp, "lab") if copy_lab(tmp) else os.path.join(tmp, "no-lab")
    text = re.sub(r"^LAB_FRONTEND = .*$", "LAB_FRONTEND = %r  # the test's" % lab, text, count=1, flags=re.M)
    with open(path, "w") as f:
        f.write(text)
    with open(path, "a") as f:  # adapted for the test: its own kernelspec and proxy
        f.write("\n# ---- added by tests/hub/test_hub.py ----\n")
        f.write("c.Spawner.environment['JUPYTER_PATH'] = %r\n" % os.path.join(tmp, "jupyter"))
        f.write("c.ConfigurableHTTPProxy.command = [%r]\n" % os.path.abspath(PROXY))
    return path


def copy_lab(tmp):
    """lab/server and the built lab/dist into tmp/lab; False when the front-end is not built."""
    if not os.path.isfile(os.path.join(LAB, "dist", "static", "build.json")):
        return False
    shutil.copytree(os.path.join(LAB, "server"), os.path.join(tmp, "lab", "server"),
                    ignore=shutil.ignore_patterns("__pycache__"))
    for part in ("static", "schemas", "themes"):
        shutil.copytree(os.path.join(LAB, "dist", part), os.path.join(tmp, "lab", "dist", part))
    return True


def wait_for(url, seconds):
    """True once url answers 200 (the proxy answers 404 before the hub has added its route)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return True
        except OSError:  # refused, or an HTTPError such as that 404
            time.sleep(0.2)
    return False


class Student:
    """One browser: a cookie jar, logged in through the form."""

    def __init__(self, base, name, password):
        self.base, self.name, self.password = base, name, password
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def open(self, path, data=None, method=None, headers=None, timeout=30):
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers or {})
        return self.opener.open(req, timeout=timeout)

    def log_in(self):
        self.open("/hub/login").read()
        form = urllib.parse.urlencode({"username": self.name, "password": self.password}).encode()
        with self.open("/hub/login?next=", data=form) as r:
            r.read()
        return any(c.name.startswith("jupyterhub-session-id") or c.name == "jupyterhub-hub-login" for c in self.jar)

    def start_server(self):
        """/hub/spawn, following the redirects (pending page, OAuth) until the server's page."""
        end = time.monotonic() + 40
        while time.monotonic() < end:
            with self.open("/hub/spawn/" + self.name) as r:
                r.read()
                if "/user/%s/" % self.name in r.geturl():
                    return r.geturl()
            time.sleep(0.5)
        return None

    def xsrf(self):
        return next((c.value for c in self.jar if c.name == "_xsrf"), "")

    def api(self, path, body=None, method="GET", root="api"):
        """The server's REST API (root "api"), or JupyterLab's (root "lab/api")."""
        data = json.dumps(body).encode() if body is not None else None
        headers = {"X-XSRFToken": self.xsrf(), "Content-Type": "application/json"}
        with self.open("/user/%s/%s/%s" % (self.name, root, path), data=data, method=method, headers=headers) as r:
            text = r.read()
        return json.loads(text) if text else None

    def cookie_header(self):
        return "; ".join("%s=%s" % (c.name, c.value) for c in self.jar)


def execute(student, kernel_id, code, seconds=30):
    """Runs code in the kernel over its websocket, through the proxy; returns (stdout, error)."""
    import websocket
    url = "ws://%s/user/%s/api/kernels/%s/channels" % (student.base[len("http://"):], student.name, kernel_id)
    ws = websocket.create_connection(url, cookie=student.cookie_header(), timeout=seconds,
                                     origin=student.base)
    msg_id = uuid.uuid4().hex
    ws.send(json.dumps({
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": student.name,
                   "session": uuid.uuid4().hex, "version": "5.3", "date": ""},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                    "allow_stdin": False, "stop_on_error": True}}))
    out, error = "", None
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            msg = json.loads(ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if kind == "stream":
                out += msg["content"]["text"]
            elif kind == "error":
                error = msg["content"]["ename"] + ": " + msg["content"]["evalue"]
            elif kind == "status" and msg["content"]["execution_state"] == "idle":
                break
    finally:
        ws.close()
    return out, error


# ---- the test -------------------------------------------------------------------------------

IDENTITY = ('#include <unistd.h>\n'
            'printf("uid=%d user=%s\\n", (int)getuid(), getenv("USER"));\n')


BUSY = ('#include <time.h>\n'
        'struct timespec w0, w1; clock_gettime(CLOCK_MONOTONIC, &w0); clock_t c0 = clock();\n'
        'do { clock_gettime(CLOCK_MONOTONIC, &w1); }\n'
        'while (w1.tv_sec - w0.tv_sec + (w1.tv_nsec - w0.tv_nsec) / 1e9 < 1.5);\n'
        'printf("cpu share %.2f\\n", (double)(clock() - c0) / CLOCKS_PER_SEC / 1.5);\n')


def kernel_pids(name):
    import pwd
    uid = pwd.getpwnam(name).pw_uid
    pids = []
    for pid in processes_of({uid}):
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if len(argv) > 2 and argv[0].endswith(b"conclab") and argv[1] == b"kernel":
            pids.append(pid)
    return pids


def check_student_cgroup(name):
    """The student's kernel is in their cgroup, whose cpu quota is half a core."""
    pids = kernel_pids(name)
    if not check(len(pids) == 1, "%s's kernel process found (pids %s)" % (name, pids)):
        return
    with open("/proc/%d/cgroup" % pids[0]) as f:
        lines = [line.rstrip("\n").split(":", 2) for line in f]
    v2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers")
    for controller, file, want in (("cpu", "cpu.max" if v2 else "cpu.cfs_quota_us", "50000"),
                                   ("memory", "memory.max" if v2 else "memory.limit_in_bytes", str(2 << 30)),
                                   ("pids", "pids.max", "900")):
        path = next((p for _, c, p in lines if (c == "" if v2 else controller in c.split(","))), None)
        value = ""
        if path and path.endswith("/conclab-hub/" + name):
            with open(os.path.join("/sys/fs/cgroup", "" if v2 else controller, path.lstrip("/"), file)) as f:
                value = f.read().split()[0]
        check(value == want, "%s's kernel is in %s with %s = %s" % (name, path, file, value or "?"))


def page_config(page):
    found = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page, re.S)
    return json.loads(html.unescape(found.group(1))) if found else {}


def check_lab(student, tmp):
    """conclab's JupyterLab in the student's server, through the proxy, as their browser sees it."""
    import pwd
    name, prefix = student.name, "/user/%s/" % student.name
    check(student.opened == prefix + "lab", "%s's server opened %s (JupyterLab by default)" % (name, student.opened))
    with student.open(prefix + "lab") as r:
        config = page_config(r.read().decode())
    with open(os.path.join(tmp, "lab", "dist", "static", "build.json")) as f:
        bundle = json.load(f)["main"]
    check(config.get("baseUrl") == prefix and config.get("fullStaticUrl") == prefix + "static/conclab_lab"
          and config.get("conclabBundle") == bundle,
          "%slab: page config baseUrl %s, static %s, bundle %s" % (prefix, config.get("baseUrl"),
                                                                 config.get("fullStaticUrl"), config.get("conclabBundle")))
    for script in config.get("conclabBundle") or []:
        with student.open("%s/%s" % (config["fullStaticUrl"], script)) as r:
            size = len(r.read())
        check(r.status == 200 and size > 100000, "its bundle %s loads through the proxy (200, %.1f MB)" % (script, size / 1e6))
    me = student.api("me").get("identity", {})
    check(me.get("username") == name, "/api/me says %s" % me.get("username"))
    plugins = student.api("settings", root="lab/api").get("settings", [])
    check(len(plugins) > 20, "lab/api/settings lists %d plugins" % len(plugins))
    with student.open(config.get("fullMathjaxUrl") or prefix + "conclab/mathjax/MathJax.js") as r:
        check(r.status == 200, "MathJax (Debian's) loads from %s" % config.get("fullMathjaxUrl"))
    layout = {"data": {"test:mark": name}, "metadata": {"id": "default"}}
    student.api("workspaces/default", layout, "PUT", root="lab/api")
    back = student.api("workspaces/default", root="lab/api").get("data", {})
    home = pwd.getpwnam(name)
    folder = os.path.join(home.pw_dir, ".local", "share", "jupyter", "conclab", "lab", "workspaces")
    files = os.listdir(folder) if os.path.isdir(folder) else []
    owned = files and os.stat(os.path.join(folder, files[0])).st_uid == home.pw_uid
    check(back.get("test:mark") == name and owned,
          "the workspace is saved in %s's own %s (%s)" % (name, folder.replace(home.pw_dir, "~"), files))


def test_class(tmp, klass, conclab):
    import pwd
    ports = [free_port() for _ in range(3)]
    base = "http://127.0.0.1:%d" % ports[0]
    config = write_config(tmp, conclab, klass.group, ports)

    # Student b already edited lab1 (say, on a previous term's copy): it must stay theirs.
    b = pwd.getpwnam(klass.names[1])
    edited = os.path.join(b.pw_dir, "conclab-labs", "lab1.ipynb")
    os.makedirs(os.path.dirname(edited))
    with open(edited, "w") as f:
        f.write('{"edited": "by the student"}')
    for path in (os.path.dirname(edited), edited):
        os.chown(path, b.pw_uid, b.pw_gid)

    log = open(os.path.join(tmp, "jupyterhub.log"), "w")
    hub = subprocess.Popen(["/usr/bin/jupyterhub", "-f", config], cwd=tmp, stdin=subprocess.DEVNULL,
                           stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        started = time.monotonic()
        if not check(wait_for(base + "/hub/api/", 30), "the hub answers on 127.0.0.1:%d (%.1f s)"
                     % (ports[0], time.monotonic() - started)):
            return hub
        students = [Student(base, name, klass.password) for name in klass.names]
        outsider = Student(base, "root", "not-the-password")
        check(not outsider.log_in(), "a user outside the class group cannot log in")
        for s in students:
            check(s.log_in(), "%s logs in through the login form (PAM)" % s.name)
            t0 = time.monotonic()
            url = s.start_server()
            s.opened = url and urllib.parse.urlparse(url).path
            check(url is not None, "%s's server started and opened %s (%.1f s)"
                  % (s.name, url and urllib.parse.urlparse(url).path, time.monotonic() - t0))

        if os.path.isdir(os.path.join(tmp, "lab")):
            for s in students:
                check_lab(s, tmp)
        else:
            print("info  lab/dist is not built (./install.sh): the hub opens /tree and JupyterLab is not checked")

        home_a = pwd.getpwnam(klass.names[0]).pw_dir
        copied = os.path.join(home_a, "conclab-labs", "lab1.ipynb")
        check(os.path.exists(copied) and os.stat(copied).st_uid == pwd.getpwnam(klass.names[0]).pw_uid,
              "the labs were copied into %s's home, owned by them" % klass.names[0])
        check(not os.path.exists(os.path.join(home_a, "conclab-labs", "solutions")),
              "solutions/ was not copied")
        with open(edited) as f:
            check("by the student" in f.read(), "%s's edited lab1.ipynb was not overwritten" % klass.names[1])

        kernels = {}
        for s in students:
            kernels[s.name] = s.api("kernels", {"name": "conclab"}, "POST")["id"]
        a, b_ = students
        ka, kb = kernels[a.name], kernels[b_.name]

        for s in students:
            uid = pwd.getpwnam(s.name).pw_uid
            out, err = execute(s, kernels[s.name], IDENTITY)
            check(out.strip() == "uid=%d user=%s" % (uid, s.name), "%s's kernel runs as them: %r" % (s.name, out.strip()))

        notebook = a.api("contents/conclab-labs/lab1.ipynb")["content"]
        out, err = execute(a, ka, "".join(notebook["cells"][0]["source"]))
        check(out.strip() == "lab cell ran as " + a.name, "the copied lab's cell runs in %s's server: %r" % (a.name, out.strip()))

        execute(a, ka, "int class_mark = 42;")
        out, err = execute(a, ka, 'printf("%d\\n", class_mark);')
        check(out.strip() == "42", "%s's global keeps its value in their kernel" % a.name)
        out, err = execute(b_, kb, 'printf("%d\\n", class_mark);')
        check(err is not None and "class_mark" in (out + err), "%s's kernel does not know it: %s" % (b_.name, err))

        out, err = execute(b_, kb, "%limits")
        check("512 MiB" in out and "32 at once" in out and "30 s" in out,
              "the limits reached the kernel (%limits: memory 512 MiB, processes 32, time 30 s)")
        check_student_cgroup(b_.name)
        out, err = execute(b_, kb, BUSY)
        share = float(out.split()[-1]) if out.startswith("cpu share") else None
        check(share is not None and share < 0.75,
              "a busy cell got %s of a core in 1.5 s (quota 0.5)" % (share if share is not None else repr((out, err))))

        for s in students:  # for README's sizing: what one student's server and kernel hold
            print("info  %s's processes hold %.0f MB (RSS)" % (s.name, rss_mb(pwd.getpwnam(s.name).pw_uid)))
        for s in students:
            s.api("kernels/" + kernels[s.name], method="DELETE")
        return hub
    except Exception as e:  # a failure must still reach the clean-up and the summary
        check(False, "unexpected %s: %s" % (type(e).__name__, e))
        return hub


def stop_hub(hub, klass, tmp):
    """SIGTERM: the hub stops every server (cleanup_servers) and its proxy, then exits."""
    state = os.path.join(tmp, "state")
    proxy_pid = None
    try:
        with open(os.path.join(state, "proxy.pid")) as f:
            proxy_pid = int(f.read())
    except (OSError, ValueError):
        pass
    hub.send_signal(signal.SIGTERM)
    try:
        hub.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(hub.pid, signal.SIGKILL)
        hub.wait()
    check(hub.returncode is not None, "the hub stopped (exit status %s)" % hub.returncode)
    time.sleep(0.5)
    left = processes_of(klass.uids())
    check(not left, "no process of the students is left (servers, kernels): %s" % left)
    proxy_alive = proxy_pid is not None and alive(proxy_pid)
    check(proxy_pid is not None and not proxy_alive, "the proxy (pid %s) stopped" % proxy_pid)
    try:
        os.killpg(hub.pid, signal.SIGKILL)  # anything the hub's group still holds
    except ProcessLookupError:
        pass
    if proxy_alive:
        kill_pids([proxy_pid])


def main():
    reason = skip_reason()
    if reason:
        print("test_hub: skipped: " + reason)
        return SKIP
    conclab = os.environ.get("CONCLAB_BIN") or shutil.which("conclab")
    tmp = tempfile.mkdtemp(prefix="conclab-hub-")
    os.chmod(tmp, 0o755)  # the students' servers read the kernelspec and labs from here
    os.makedirs(os.path.join(tmp, "jupyter"))
    write_kernelspec(os.path.join(tmp, "jupyter"), conclab)
    write_labs(os.path.join(tmp, "labs"))
    klass = Class(tmp)
    hub = None
    started = time.monotonic()
    try:
        klass.create()
        hub = test_class(tmp, klass, conclab)
    finally:
        if hub is not None:
            stop_hub(hub, klass, tmp)
        klass.remove()
        check(not any(Class.exists(n) for n in klass.names), "the temporary users were removed")
        if results["failed"]:
            with open(os.path.join(tmp, "jupyterhub.log")) as f:
                print("---- jupyterhub.log (last lines) ----\n" + "".join(f.readlines()[-40:]))
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed (%.1f s)" % (results["passed"], results["failed"], time.monotonic() - started))
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
