"""test_tsan.py — %%tsan (issue 17, item 2): the notebook so far plus the cell, built with gcc's
ThreadSanitizer and run outside the notebook, its data races shown as the cell's error with the
student's cells and lines.

A racy counter is reported with the cell and line of both accesses and the threads' names and
where they were started; the same counter under cl_lock is silent (the runtime's futex locks are
explained to TSan by the shim, tsan_shim.h); a cell gcc refuses gives gcc's message at the
cell's line; the notebook's state is not touched; without gcc the magic says what to install.
Skipped, with the reason, only where gcc or its TSan runtime (libtsan2) is not installed.
"""
import shutil
import subprocess

import pytest

from kernel_session import describe_failure, start_session, stop_session, stream_text


def _tsan_missing():
    gcc = shutil.which("gcc")
    if not gcc:
        return "gcc is not installed (Debian package gcc)"
    found = subprocess.run([gcc, "-print-file-name=libtsan.so"], capture_output=True, text=True).stdout
    return None if "/" in found else "gcc's ThreadSanitizer runtime is not installed (Debian package libtsan2)"


pytestmark = pytest.mark.skipif(_tsan_missing() is not None, reason=str(_tsan_missing()))

# Both workers meet at `go` before their loops, so the loops overlap: had one ended before the other
# began, the runtime's own bookkeeping between them would order their accesses and TSan would see no race.
WORKERS = """long counter;
cl_lock *lock;
cl_barrier *go;
void *worker(void *locked) {
    cl_barrier_wait(go);
    for (int i = 0; i < 200000; i++) {
        if (locked) cl_lock_acquire(lock);
        counter++;
        if (locked) cl_lock_release(lock);
    }
    return NULL;
}"""
RACE_LINE = 8  # counter++

START = """%%tsan
go = cl_barrier_new(2, NULL, NULL, 10);
lock = cl_lock_new();
cl_thread *a = cl_thread_start_named("adder-1", worker, {arg});
cl_thread *b = cl_thread_start_named("adder-2", worker, {arg});
cl_thread_join(a);
cl_thread_join(b);
printf("counter = %ld\\n", counter);"""


@pytest.fixture(scope="module")
def workers(k):
    """The execution count of the cell that defines the workers."""
    content, msgs = k.run(WORKERS)
    assert content["status"] == "ok", describe_failure(WORKERS, content, msgs)
    return content["execution_count"]


def test_racy_counter_is_reported_at_its_cell_and_line(k, workers):
    code = START.format(arg="NULL")
    content, msgs = k.run(code, timeout=120)
    assert content["status"] == "error", describe_failure(code, content, msgs)
    here = content["execution_count"]
    assert content["ename"] == "DataRace", describe_failure(code, content, msgs)
    where = "cell[%d], line %d" % (workers, RACE_LINE)
    assert "data race on `counter` (%s)" % where in content["evalue"], content["evalue"]
    tb = content["traceback"]
    assert "DataRace: " + content["evalue"] in tb[0], tb[0]
    # both accesses, each with its thread, function and place; the older one said to be earlier
    accesses = [line for line in tb if ("in worker() at " + where) in line]
    assert len(accesses) == 2, "\n".join(tb)
    assert any(line.startswith("  earlier, write of 8 bytes by adder-") for line in accesses), "\n".join(tb)
    assert {"adder-1", "adder-2"} <= {name for line in accesses for name in ("adder-1", "adder-2") if name in line}, \
        "\n".join(tb)
    # where each thread was started: this cell's lines 4 and 5
    for name, line in (("adder-1", 4), ("adder-2", 5)):
        assert any(t.startswith("  " + name) and t.endswith("was started at cell[%d], line %d" % (here, line))
                   for t in tb), "\n".join(tb)
    # TSan's own text folded below, its frames naming the cell, not a temporary path
    assert "  ThreadSanitizer's report:" in tb
    assert any(t.strip().startswith("#0 worker cell[%d]:%d" % (workers, RACE_LINE)) for t in tb), "\n".join(tb)
    assert not any("/tmp/" in t or "conclab-tsan-" in t for t in tb), "\n".join(tb)
    out = stream_text(msgs)
    assert out.startswith("[tsan] "), out
    assert "nothing this cell defines or changes stays in it" in out.splitlines()[0], out
    assert "counter = " in out, out


def test_counter_under_a_lock_is_silent(k, workers):
    code = START.format(arg="lock")
    content, msgs = k.run(code, timeout=120)
    assert content["status"] == "ok", describe_failure(code, content, msgs)
    assert stream_text(msgs, "stderr") == "", describe_failure(code, content, msgs)
    assert stream_text(msgs).splitlines()[1:] == ["counter = 400000"], describe_failure(code, content, msgs)


def test_the_notebook_is_not_changed(k, workers):
    code = "%%tsan\nint made_by_tsan = 7;\ncounter = 12345;\nprintf(\"%d %ld\\n\", made_by_tsan, counter);"
    content, msgs = k.run(code, timeout=120)
    assert content["status"] == "ok", describe_failure(code, content, msgs)
    assert "7 12345" in stream_text(msgs)
    content, msgs = k.run('printf("%ld\\n", counter);')
    assert stream_text(msgs) == "0\n", describe_failure("counter", content, msgs)
    content, msgs = k.run("made_by_tsan;")
    assert content["status"] == "error", describe_failure("made_by_tsan", content, msgs)


def test_only_this_cell_runs_its_statements_alone(k, workers):
    """--only-this-cell: earlier cells give their definitions; their statements do not run again."""
    k.run_ok('printf("earlier statements ran\\n");')
    code = START.format(arg="NULL").replace("%%tsan", "%%tsan --only-this-cell")
    content, msgs = k.run(code, timeout=120)
    assert content["ename"] == "DataRace", describe_failure(code, content, msgs)
    out = stream_text(msgs)
    assert "the definitions of the" in out and "earlier statements ran" not in out, out
    assert "data race on `counter` (cell[%d], line %d)" % (workers, RACE_LINE) in content["evalue"], content["evalue"]
    content, msgs = k.run("%%tsan --only-that-cell\nint x;")
    assert content["ename"] == "MagicError" or "--only-this-cell" in content["evalue"], content


def test_a_compile_error_names_the_cells_line(k, workers):
    code = "%%tsan\nint fine = 1;\nint broken = ;\n"
    content, msgs = k.run(code, timeout=120)
    assert content["status"] == "error", describe_failure(code, content, msgs)
    assert content["ename"] == "CompileError", describe_failure(code, content, msgs)
    assert "expected expression" in content["evalue"], content["evalue"]
    here = content["execution_count"]
    assert any(t.startswith("cell[%d]:3:" % here) and "error" in t for t in content["traceback"]), \
        "\n".join(content["traceback"])


def test_without_gcc_the_magic_says_what_to_install(jupyter_home):
    session = start_session(env={"CONCLAB_TSAN_CC": "/nonexistent/gcc"})
    try:
        content, msgs = session.run("%%tsan\nputs(\"hi\");", timeout=60)
    finally:
        stop_session(session)
    assert content["status"] == "error", describe_failure("%%tsan", content, msgs)
    assert content["ename"] == "ToolMissing"
    assert "gcc" in content["evalue"] and "libtsan2" in content["evalue"], content["evalue"]
