"""test_sandbox.py — `conclab run --sandbox` against cells written the way a malicious submission
would write them (issue 18, item 3), and a normal cell that must still work sandboxed.

Each test writes a notebook, runs the conclab binary on it (CONCLAB_BIN) with --sandbox and
--allow-errors, and reads what each cell printed and how it ended from the executed notebook.
Escapes are checked from outside: the secret is not in any output, the file outside was not
written, the server saw no connection, the process outside is alive.

Skipped (never passed) only where bwrap is missing or cannot make namespaces; run through
run_sandbox_tests.py, ctest then reports the suite as skipped. A failure of conclab's own
sandbox is a failure.
"""
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest

CONCLAB = os.environ.get("CONCLAB_BIN", "conclab")


def bwrap_unavailable():
    """Why the sandbox cannot run here, or None."""
    bwrap = shutil.which("bwrap")
    if not bwrap:
        return "bwrap is not installed (Debian: bubblewrap)"
    probe = subprocess.run([bwrap, "--unshare-all", "--ro-bind", "/", "/", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        return "bwrap cannot make namespaces here: " + probe.stderr.strip()
    return None


pytestmark = pytest.mark.skipif(bwrap_unavailable() is not None, reason=str(bwrap_unavailable()))


class Ran:
    """One `conclab run`: its exit status, its output, and each cell's text and error."""

    def __init__(self, proc, notebook):
        self.status = proc.returncode
        self.stdout, self.stderr = proc.stdout, proc.stderr
        self.cells = notebook["cells"] if notebook else []

    def text(self, i):
        return "".join("".join(o.get("text", "")) for o in self.cells[i].get("outputs", []) if o["output_type"] == "stream")

    def error(self, i):
        """(ename, evalue + traceback) of cell i, or None when it ran."""
        for o in self.cells[i].get("outputs", []):
            if o["output_type"] == "error":
                return o["ename"], o["evalue"] + "\n" + "\n".join(o.get("traceback", []))
        return None

    def describe(self):
        return "exit %d\nstdout:\n%s\nstderr:\n%s" % (self.status, self.stdout[-3000:], self.stderr[-3000:])


def run_cells(tmp_path, cells, *options, sandbox=True, timeout=120, name="nb", env=None):
    """Runs the cells (a list of C sources) through `conclab run`; returns a Ran."""
    nb = {"nbformat": 4, "nbformat_minor": 5,
          "metadata": {"kernelspec": {"name": "conclab", "display_name": "C (conclab)", "language": "c"}},
          "cells": [{"cell_type": "code", "id": "c%d" % i, "metadata": {}, "execution_count": None, "outputs": [],
                     "source": src} for i, src in enumerate(cells)]}
    path, out = tmp_path / (name + ".ipynb"), tmp_path / (name + "-out.ipynb")
    path.write_text(json.dumps(nb))
    if out.exists():
        out.unlink()
    argv = [CONCLAB, "run", str(path), "-o", str(out), "--allow-errors", "-q"] + (["--sandbox"] if sandbox else []) + list(options)
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=tmp_path,
                          env=dict(os.environ, **(env or {})))
    return Ran(proc, json.loads(out.read_text()) if out.exists() else None)


def sandbox_dir(tmp_path):
    d = tmp_path / "submission"
    d.mkdir(exist_ok=True)
    return d


def c_string(s):
    return json.dumps(str(s))


# ---------------------------------------------------------------- files

@pytest.fixture
def home_secret():
    """A secret file under $HOME, removed afterwards."""
    path = os.path.join(os.path.expanduser("~"), ".conclab-sandbox-secret-" + secrets.token_hex(4))
    token = "HOME-SECRET-" + secrets.token_hex(8)
    with open(path, "w") as f:
        f.write(token)
    yield path, token
    os.unlink(path)


READ_FILE = r'''
#include <errno.h>
#include <string.h>
void try_read(const char *path) {
    FILE *f = fopen(path, "r");
    char buf[200] = "";
    if (!f) { printf("DENIED %s: %s\n", path, strerror(errno)); return; }
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    printf("READ %s: %s\n", path, buf);
}
'''


def test_secret_files_outside_cannot_be_read(tmp_path, home_secret):
    secret = tmp_path / "answers.txt"
    token = "GRADER-SECRET-" + secrets.token_hex(8)
    secret.write_text(token)
    home_path, home_token = home_secret
    cell = READ_FILE + "try_read(%s);\ntry_read(%s);\n" % (c_string(secret), c_string(home_path))
    cell += 'system("cat %s %s 2>&1; ls -a %s %s 2>&1");\n' % (secret, home_path, tmp_path, os.path.dirname(home_path))
    # the same cell unsandboxed reads both: the test can fail
    plain = run_cells(tmp_path, [cell], sandbox=False, name="plain")
    assert token in plain.text(0) and home_token in plain.text(0), plain.describe()
    boxed = run_cells(tmp_path, [cell], "--sandbox-dir", str(sandbox_dir(tmp_path)))
    assert boxed.status == 0 and boxed.error(0) is None, boxed.describe()
    out = boxed.text(0)
    assert out.count("DENIED") == 2, out
    assert token not in out and home_token not in out, out
    assert "answers.txt" not in out.splitlines(), out  # not even listed beside the sandbox's folder


def test_writes_outside_the_sandbox_folder_fail(tmp_path):
    graded = tmp_path / "grader-output"
    graded.mkdir()
    work = sandbox_dir(tmp_path)
    home = os.path.expanduser("~")
    name = "forged-" + secrets.token_hex(4)
    targets = [graded / "results.json", tmp_path / name, os.path.join(home, name), "/etc/" + name, "/usr/" + name]
    cell = "#include <errno.h>\n#include <string.h>\n"
    cell += "void try_write(const char *p) { FILE *f = fopen(p, \"w\"); if (f) { fputs(\"{\\\"score\\\": 100}\", f); fclose(f); printf(\"WROTE %s\\n\", p); } else printf(\"DENIED %s: %s\\n\", p, strerror(errno)); }\n"
    for t in targets:
        cell += "try_write(%s);\n" % c_string(t)
    scratch = "/tmp/" + name
    cell += 'try_write("mine.txt");\ntry_write(%s);\n' % c_string(scratch)
    ran = run_cells(tmp_path, [cell], "--sandbox-dir", str(work))
    assert ran.error(0) is None, ran.describe()
    out = ran.text(0)
    for t in targets:
        assert not os.path.exists(t), "%s was written from the sandbox" % t
    # the sandbox sees its folder's parents as empty folders of its own /tmp: writing there
    # writes into that private /tmp, gone with it; the rest is not there or read-only
    for t in targets[2:]:
        assert "DENIED %s" % t in out, out
    assert (work / "mine.txt").read_text() == '{"score": 100}', out   # its own folder is its to write
    assert "WROTE " + scratch in out and not os.path.exists(scratch), out  # its private /tmp


def test_tmp_of_one_run_is_invisible_to_the_next(tmp_path):
    marker = "/tmp/conclab-sandbox-marker-" + secrets.token_hex(4)
    first = run_cells(tmp_path, ['FILE *f = fopen(%s, "w"); printf("%%s\\n", f ? "made" : "not made"); if (f) fclose(f);' % c_string(marker)])
    assert first.text(0).strip() == "made", first.describe()
    assert not os.path.exists(marker), "the sandbox's /tmp is the host's"
    second = run_cells(tmp_path, ['#include <unistd.h>\nprintf("%%s\\n", access(%s, F_OK) == 0 ? "seen" : "unseen");' % c_string(marker)])
    assert second.text(0).strip() == "unseen", second.describe()


# ---------------------------------------------------------------- network, processes

def test_no_connection_to_a_server_on_the_hosts_loopback(tmp_path):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.settimeout(0.2)
    port = server.getsockname()[1]
    accepted = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                pass

    t = threading.Thread(target=accept)
    t.start()
    cell = r'''
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
int s = socket(AF_INET, SOCK_STREAM, 0);
struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(%d)};
inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
int rc = connect(s, (struct sockaddr *)&a, sizeof a);
printf(rc == 0 ? "CONNECTED\n" : "REFUSED %%s\n", strerror(errno));
close(s);
''' % port
    try:
        plain = run_cells(tmp_path, [cell], sandbox=False, name="plain")
        assert "CONNECTED" in plain.text(0), plain.describe()  # the test can fail
        seen = len(accepted)
        boxed = run_cells(tmp_path, [cell])
    finally:
        stop.set()
        t.join()
        server.close()
    assert boxed.error(0) is None, boxed.describe()
    assert "REFUSED" in boxed.text(0), boxed.text(0)
    assert len(accepted) == seen, "the server saw a connection from the sandbox"


def test_a_process_outside_cannot_be_signalled(tmp_path):
    victim = subprocess.Popen(["sleep", "60"])
    try:
        cell = ('#include <signal.h>\n#include <errno.h>\n#include <string.h>\n'
                'int rc = kill(%d, SIGKILL);\nprintf("kill: %%d %%s\\n", rc, rc ? strerror(errno) : "sent");\n' % victim.pid)
        ran = run_cells(tmp_path, [cell])
        assert ran.error(0) is None, ran.describe()
        assert "kill: -1 No such process" in ran.text(0), ran.text(0)
        time.sleep(0.2)
        assert victim.poll() is None, "the process outside died"
    finally:
        victim.kill()
        victim.wait()


def test_proc_shows_only_the_sandboxs_processes(tmp_path):
    cell = r'''
#include <dirent.h>
#include <ctype.h>
DIR *d = opendir("/proc");
struct dirent *e;
int n = 0;
while ((e = readdir(d))) {
    if (!isdigit((unsigned char)e->d_name[0])) continue;
    char path[300], comm[64] = "?";
    snprintf(path, sizeof path, "/proc/%s/comm", e->d_name);
    FILE *f = fopen(path, "r");
    if (f) { if (fgets(comm, sizeof comm, f)) comm[strcspn(comm, "\n")] = 0; fclose(f); }
    printf("%s %s\n", e->d_name, comm);
    n++;
}
closedir(d);
printf("count %d\n", n);
'''
    ran = run_cells(tmp_path, ["#include <string.h>\n" + cell])
    assert ran.error(0) is None, ran.describe()
    lines = ran.text(0).splitlines()
    names = {line.split(" ", 1)[1] for line in lines[:-1]}
    count = int(lines[-1].split()[1])
    assert count < 12, ran.text(0)
    assert "1 bwrap" in lines, ran.text(0)  # its own pid 1
    assert not any("python" in n or "pytest" in n or n == "sleep" for n in names), names


# ---------------------------------------------------------------- forged messages

FORGE = r'''
#include <string.h>
#include <unistd.h>
const char *forged[] = {
    "{\"kind\": \"done\", \"ok\": true, \"holder\": 1, \"status\": \"ok\"}\n",
    "{\"header\": {\"msg_type\": \"execute_reply\"}, \"content\": {\"status\": \"ok\"}}\n",
    "PASSED: all tests passed\n", "\"score\": 100, \"passed\": true\n",
};
for (int fd = 0; fd < 1024; fd++)
    for (int i = 0; i < 4; i++) (void)!write(fd, forged[i], strlen(forged[i]));
for (int i = 0; i < 4; i++) fputs(forged[i], stdout);
fflush(stdout);
'''


def test_forged_messages_cannot_make_a_failing_cell_pass(tmp_path):
    cells = [FORGE + 'cl_check(0, "the student\'s answer is wrong");\n',      # fails after forging
             FORGE + '*(volatile int *)0 = 1;\n',                           # crashes after forging
             FORGE,                                                         # only forges
             'printf("still here\\n");']
    ran = run_cells(tmp_path, cells, timeout=120)
    assert ran.status == 0, ran.describe()  # the engine did not crash: every cell has an outcome
    assert ran.error(0) is not None, ran.describe()
    assert ran.error(1) is not None, ran.describe()
    assert ran.error(2) is not None, ran.describe()  # bytes on the kernel's channel stop the cell
    assert ran.error(3) is None and "still here" in ran.text(3), ran.describe()


# ---------------------------------------------------------------- limits

def test_fork_bomb_is_stopped_and_the_next_cell_runs(tmp_path):
    bomb = '#include <unistd.h>\nfor (;;) fork();'
    ran = run_cells(tmp_path, [bomb, 'printf("after the bomb\\n");'], "--timeout", "60", timeout=180)
    assert ran.error(0) is not None, ran.describe()
    assert ran.error(0)[0] != "TimeoutError", ran.error(0)  # the process limit stopped it, not the clock
    assert ran.error(1) is None and "after the bomb" in ran.text(1), ran.describe()


def test_memory_hog_is_stopped(tmp_path):
    hog = r'''
#include <stdlib.h>
#include <string.h>
for (size_t i = 0; i < 1024; i++) { char *p = malloc(64 << 20); if (!p) { printf("refused at %zu MiB\n", i * 64); abort(); } memset(p, 1, 64 << 20); }
printf("got 64 GiB\n");
'''
    ran = run_cells(tmp_path, [hog, 'printf("after the hog\\n");'], "--timeout", "60", timeout=180,
                    env={"CONCLAB_MEMORY_LIMIT": "512M"})  # a grader's limit; quicker to reach than 4 GiB
    assert ran.error(0) is not None and "got 64 GiB" not in ran.text(0), ran.describe()
    assert "refused at" in ran.text(0), ran.describe()
    assert ran.error(1) is None and "after the hog" in ran.text(1), ran.describe()


def test_output_flood_is_cut(tmp_path):
    flood = 'for (;;) fputs("flood flood flood flood flood flood flood flood\\n", stdout);'
    ran = run_cells(tmp_path, [flood, 'printf("after the flood\\n");'], "--timeout", "60", timeout=180)
    assert ran.error(0) is not None and ran.error(0)[0] != "TimeoutError", ran.describe()
    assert len(ran.text(0)) < 8 << 20, len(ran.text(0))
    assert ran.error(1) is None and "after the flood" in ran.text(1), ran.describe()


DEADLOCK = r'''
cl_lock *left = cl_lock_new(), *right = cl_lock_new();
void *left_then_right(void *arg) { cl_lock_acquire(left); cl_sleep(0.1); cl_lock_acquire(right); return NULL; }
void *right_then_left(void *arg) { cl_lock_acquire(right); cl_sleep(0.1); cl_lock_acquire(left); return NULL; }
'''


def test_a_hang_times_out_with_its_report(tmp_path):
    ran = run_cells(tmp_path, [
        DEADLOCK + 'cl_lock_set_name(left, "left"); cl_lock_set_name(right, "right");',
        '%%timeout 2\ncl_thread *one = cl_thread_start_named("diner-1", left_then_right, NULL);\n'
        'cl_thread *two = cl_thread_start_named("diner-2", right_then_left, NULL);\n'
        'cl_thread_join(one);\ncl_thread_join(two);',
        'printf("after the hang\\n");'], timeout=120)
    assert ran.error(0) is None, ran.describe()
    ename, text = ran.error(1)
    assert ename == "TimeoutError", text
    assert "waits for lock `right` held by diner-2" in text and "waits for lock `left` held by diner-1" in text, text
    assert ran.error(2) is None and "after the hang" in ran.text(2), ran.describe()


def test_interrupt_ends_the_whole_sandbox(tmp_path):
    tag = str(900000 + secrets.randbelow(99999))
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
          "cells": [{"cell_type": "code", "id": "a", "metadata": {}, "execution_count": None, "outputs": [],
                     "source": '#include <unistd.h>\nsystem("setsid sleep %s &");\nputs("started"); fflush(stdout);\nfor (;;) pause();' % tag}]}
    path = tmp_path / "hang.ipynb"
    path.write_text(json.dumps(nb))
    proc = subprocess.Popen([CONCLAB, "run", "--sandbox", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert "started" in line, line + proc.stderr.read()
    proc.send_signal(signal.SIGINT)
    status = proc.wait(timeout=60)
    proc.stdout.close()
    proc.stderr.close()
    assert status == 130, status
    time.sleep(0.3)
    left = [p for p in os.listdir("/proc") if p.isdigit() and tag in read_cmdline(p)]
    assert not left, "processes of the sandbox outlived it: %s" % left


def test_a_stopped_cells_escaped_processes_end_and_a_dead_executor_is_replaced(tmp_path):
    tag = str(800000 + secrets.randbelow(99999))
    ran = run_cells(tmp_path, [
        '%%%%timeout 1\nsystem("setsid sleep %s &");\nfor (;;) cl_sleep(1);' % tag,
        'cl_sleep(0.3);\nsystem("ps -eo args");',
        '#include <signal.h>\n#include <unistd.h>\nint kept = 5;\n'
        'if (fork() == 0) { usleep(300000); kill(getppid(), SIGKILL); _exit(0); }',  # kills the holder later
        'cl_sleep(1.5);',
        'printf("fresh: %s\\n", "yes");'], timeout=120)
    assert ran.error(0) and ran.error(0)[0] == "TimeoutError", ran.describe()
    assert ran.error(1) is None and "sleep " + tag not in ran.text(1), ran.text(1)
    assert ran.error(3) and ran.error(3)[0] == "ExecutorDied", ran.describe()
    assert ran.error(4) is None and "fresh: yes" in ran.text(4), ran.describe()


def read_cmdline(pid):
    try:
        with open("/proc/%s/cmdline" % pid, "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:
        return ""


# ---------------------------------------------------------------- what still works

NORMAL = [r'''
void *add_up(void *arg) { long n = 0; for (int i = 0; i < 1000; i++) n += i; return (void *)n; }
int child(void *arg) { return 7; }  /* its exit code */
void *nap(void *arg) { cl_async_sleep(0.05); return arg; }
''', r'''
cl_thread *t = cl_thread_start(add_up, NULL);
printf("thread %ld\n", (long)cl_thread_join(t));
cl_process *p = cl_process_start(child, NULL);
cl_process_join(p);
printf("process %d\n", cl_process_exitcode(p));
cl_process_free(p);
void *r = NULL;
cl_async_run(nap, (void *)42, &r);
printf("loop %ld\n", (long)r);
''', r'''
cl_http_server *srv = cl_http_server_start("127.0.0.1", 0, NULL);
char url[64];
snprintf(url, sizeof url, "http://127.0.0.1:%d/hello", cl_http_server_port(srv));
cl_http_response *resp = cl_http_get(url, 10.0);
printf("http %d %s\n", resp ? cl_http_response_status(resp) : -1, resp ? cl_http_response_body(resp) : "");
cl_http_response_free(resp);
cl_http_server_stop(srv);
''']


def test_threads_processes_event_loop_and_local_http_work_sandboxed(tmp_path):
    ran = run_cells(tmp_path, NORMAL, timeout=120)
    for i in range(len(NORMAL)):
        assert ran.error(i) is None, ran.describe()
    out = "".join(ran.text(i) for i in range(len(NORMAL)))
    assert "thread 499500" in out and "process 7" in out and "loop 42" in out, out
    assert "http 200 /hello" in out, out


def test_a_conclab_under_tmp_still_reaches_its_files(tmp_path):
    """The sandbox's /tmp is private: a conclab built or unpacked under /tmp must be bound on top."""
    lib = subprocess.run(["ldd", CONCLAB], capture_output=True, text=True).stdout
    libconclab = next((line.split("=>")[1].split()[0] for line in lib.splitlines() if "libconclab" in line), None)
    if libconclab is None:
        pytest.skip("this conclab links libconclab statically")
    here = tmp_path / "unpacked"
    (here / "bin").mkdir(parents=True)
    (here / "lib").mkdir()
    shutil.copy(CONCLAB, here / "bin" / "conclab")
    shutil.copy(libconclab, here / "lib")
    source = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    shutil.copytree(os.path.join(source, "runtime", "include"), here / "include")
    nb = tmp_path / "t.ipynb"
    nb.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "id": "a", "metadata": {}, "execution_count": None, "outputs": [],
         "source": 'cl_lock *l = cl_lock_new(); cl_lock_acquire(l); cl_lock_release(l);\n'
                   'printf("compiled against %s\\n", "conclab.h");'}]}))
    env = dict(os.environ, LD_LIBRARY_PATH=str(here / "lib"), CONCLAB_RUNTIME_INCLUDE=str(here / "include"))
    proc = subprocess.run([str(here / "bin" / "conclab"), "run", "--sandbox", str(nb)], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 0 and "compiled against conclab.h" in proc.stdout, proc.stdout + proc.stderr


def test_a_missing_sandbox_folder_is_a_clear_error(tmp_path):
    ran = run_cells(tmp_path, ['printf("x\\n");'], "--sandbox-dir", str(tmp_path / "nowhere"))
    assert ran.status == 2 and "nowhere" in ran.stderr and "not a folder" in ran.stderr, ran.describe()


def test_without_namespaces_the_sandbox_says_why(tmp_path):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "bwrap").write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
    (fake / "bwrap").chmod(0o755)
    nb = tmp_path / "one.ipynb"
    nb.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []}))
    env = dict(os.environ, PATH=str(fake) + ":" + os.environ.get("PATH", "/usr/bin:/bin"))
    proc = subprocess.run([CONCLAB, "run", "--sandbox", str(nb)], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 2, proc
    assert "user namespaces" in proc.stderr and "No permissions to create new namespace" in proc.stderr, proc.stderr
    env["PATH"] = str(tmp_path / "empty")
    proc = subprocess.run([CONCLAB, "run", "--sandbox", str(nb)], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 2 and "bubblewrap" in proc.stderr, proc.stderr


TSAN_RACE = r'''%%tsan
long sold = 0;
cl_barrier *both_started;
// Both sellers meet before they sell: had one ended before the other began, the runtime's own
// bookkeeping between them would order their accesses, and TSan would rightly see no race.
void *sell(void *unused) { cl_barrier_wait(both_started); for (int i = 0; i < 200000; i++) sold++; return NULL; }
both_started = cl_barrier_new(2, NULL, NULL, 10);
cl_thread *a = cl_thread_start(sell, NULL), *b = cl_thread_start(sell, NULL);
cl_thread_join(a);
cl_thread_join(b);
'''


@pytest.mark.skipif(not shutil.which("gcc"), reason="%%tsan needs gcc")
def test_tsan_runs_its_build_and_program_in_the_sandbox(tmp_path, home_secret):
    """%%tsan compiles and runs the notebook outside the executor: in a sandboxed notebook both gcc
    and the program run in the sandbox too, so neither a file it opens nor one it #includes shows."""
    home_path, home_token = home_secret
    secret = tmp_path / "answers.txt"
    token = "GRADER-SECRET-" + secrets.token_hex(8)
    secret.write_text(token)
    reader = "%%tsan\n" + READ_FILE + "try_read(%s);\ntry_read(%s);\n" % (c_string(secret), c_string(home_path))
    includer = "%%%%tsan\n#include %s\n" % c_string(secret)
    plain = run_cells(tmp_path, [reader, includer], sandbox=False, name="plain")
    if plain.error(0) and plain.error(0)[0] in ("ToolMissing", "TsanUnavailable"):
        pytest.skip("ThreadSanitizer cannot run here: %s" % (plain.error(0),))
    assert token in plain.text(0) and home_token in plain.text(0), plain.describe()
    assert token in json.dumps(plain.cells[1]["outputs"]), plain.describe()  # gcc quotes the line
    boxed = run_cells(tmp_path, [reader, includer, TSAN_RACE], "--sandbox-dir", str(sandbox_dir(tmp_path)))
    everything = json.dumps(boxed.cells) + boxed.stdout + boxed.stderr
    assert token not in everything and home_token not in everything, boxed.describe()
    assert boxed.text(0).count("DENIED") == 2, boxed.describe()
    assert boxed.error(1) is not None, boxed.describe()  # the file to include is not there
    assert boxed.error(2) and boxed.error(2)[0] == "DataRace", json.dumps(boxed.cells[2]["outputs"])[:3000]


def test_export_is_refused_in_the_sandbox(tmp_path):
    target = tmp_path / "escape.c"
    ran = run_cells(tmp_path, ['int x = 1;', '%export ' + str(target)])
    assert ran.error(1) and ran.error(1)[0] == "SandboxError", ran.describe()
    assert not target.exists()
