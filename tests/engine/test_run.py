"""`conclab run`: a notebook executed headless, from the outside — the process's exit status,
what it streams to the terminal, and the notebook it writes, read back with nbformat."""
import json
import os
import select
import shutil
import signal
import subprocess
import time
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).parent / "notebooks"
CELL_TIMEOUT = 120  # seconds for any one conclab run; the engine starts in well under that


@pytest.fixture(scope="session")
def conclab():
    binary = os.environ.get("CONCLAB_BIN")
    if not binary or not os.access(binary, os.X_OK):
        pytest.fail("CONCLAB_BIN must name the built conclab binary (ctest sets it)")
    return binary


@pytest.fixture
def notebook(tmp_path):
    """Copies a fixture notebook into a scratch directory, so runs never touch the originals."""
    def copy(name):
        target = tmp_path / name
        shutil.copyfile(NOTEBOOKS / name, target)
        return target
    return copy


def run(conclab, *args, stdin=subprocess.DEVNULL, timeout=CELL_TIMEOUT):
    return subprocess.run([conclab, "run", *map(str, args)], stdin=stdin, capture_output=True,
                          text=True, timeout=timeout)


def read_valid(path):
    """The written notebook, after nbformat has validated it against the schema."""
    nb = nbformat.read(str(path), as_version=4)
    nbformat.validate(nb)
    return nb


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def outputs_of(cell, output_type, name=None):
    return [o for o in cell.outputs
            if o.output_type == output_type and (name is None or o.get("name") == name)]


def stdout_text(cell):
    return "".join(o.text for o in outputs_of(cell, "stream", "stdout"))


# ---- a notebook that runs -------------------------------------------------------------------

def test_three_cells_keep_state_and_record_outputs(conclab, notebook, tmp_path):
    source = notebook("three_cells.ipynb")
    out = tmp_path / "out.ipynb"
    proc = run(conclab, source, "-o", out)
    assert proc.returncode == 0, proc.stderr

    nb = read_valid(out)
    cells = code_cells(nb)
    assert [c.execution_count for c in cells] == [1, 2, 3]
    assert cells[0].outputs == []
    assert stdout_text(cells[1]) == "counter is 42, h\u00e9llo \u2713\n"
    results = outputs_of(cells[2], "execute_result")
    assert len(results) == 1
    assert results[0].execution_count == 3
    assert results[0].data["text/plain"] == "84"
    # The cell's output went to the terminal as well, while it ran.
    assert "counter is 42" in proc.stdout


def test_written_notebook_keeps_everything_else(conclab, notebook, tmp_path):
    source = notebook("three_cells.ipynb")
    out = tmp_path / "out.ipynb"
    assert run(conclab, source, "-o", out).returncode == 0
    before, after = json.loads(source.read_text()), json.loads(out.read_text())

    assert after["metadata"] == before["metadata"]
    assert (after["nbformat"], after["nbformat_minor"]) == (before["nbformat"], before["nbformat_minor"])
    assert after["cells"][0] == before["cells"][0]  # the markdown cell, untouched
    for old, new in zip(before["cells"], after["cells"]):
        assert new["source"] == old["source"]
        assert new["id"] == old["id"]


def test_written_notebook_is_utf8_with_a_final_newline(conclab, notebook, tmp_path):
    out = tmp_path / "out.ipynb"
    assert run(conclab, notebook("three_cells.ipynb"), "-o", out).returncode == 0
    raw = out.read_bytes()
    assert "h\u00e9llo \u2713".encode() in raw  # not escaped as \u00e9 / \u2713
    assert raw.endswith(b"}\n")
    assert raw.startswith(b'{\n "cells": [\n')  # Jupyter's layout: indent 1


def test_without_output_the_notebook_is_left_alone(conclab, notebook):
    source = notebook("three_cells.ipynb")
    original = source.read_bytes()
    proc = run(conclab, source)
    assert proc.returncode == 0, proc.stderr
    assert "counter is 42" in proc.stdout
    assert source.read_bytes() == original
    assert sorted(p.name for p in source.parent.iterdir()) == ["three_cells.ipynb"]


def test_inplace_writes_back_over_the_input(conclab, notebook):
    source = notebook("three_cells.ipynb")
    assert run(conclab, source, "--inplace").returncode == 0
    cells = code_cells(read_valid(source))
    assert outputs_of(cells[2], "execute_result")[0].data["text/plain"] == "84"
    assert sorted(p.name for p in source.parent.iterdir()) == ["three_cells.ipynb"]


def test_consecutive_chunks_of_a_stream_make_one_output(conclab, notebook, tmp_path):
    out = tmp_path / "out.ipynb"
    proc = run(conclab, notebook("chunks.ipynb"), "-o", out)
    assert proc.returncode == 0, proc.stderr
    (cell,) = code_cells(read_valid(out))
    streams = outputs_of(cell, "stream")
    assert len(streams) == 1, cell.outputs
    assert streams[0].name == "stdout"
    assert streams[0].text == "line 0\nline 1\nline 2\n"


def test_quiet_shows_nothing_but_still_records(conclab, notebook, tmp_path):
    out = tmp_path / "out.ipynb"
    proc = run(conclab, notebook("three_cells.ipynb"), "-q", "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert "counter is 42" not in proc.stderr
    assert stdout_text(code_cells(read_valid(out))[1]).startswith("counter is 42")


# ---- a notebook that fails ------------------------------------------------------------------

def test_compile_error_stops_the_run(conclab, notebook, tmp_path):
    out = tmp_path / "out.ipynb"
    proc = run(conclab, notebook("compile_error.ipynb"), "-o", out)
    assert proc.returncode == 1, proc.stderr

    first, broken, after = code_cells(read_valid(out))
    assert stdout_text(first) == "before\n"
    assert broken.execution_count == 2
    errors = outputs_of(broken, "error")
    assert len(errors) == 1
    assert errors[0].ename and errors[0].traceback
    assert stdout_text(broken) == ""
    assert after.execution_count is None
    assert after.outputs == []
    # The user is told where the run stopped; the third cell never ran.
    assert "In [2]" in proc.stderr
    assert "after" not in proc.stdout


def test_allow_errors_records_the_error_and_goes_on(conclab, notebook, tmp_path):
    out = tmp_path / "out.ipynb"
    proc = run(conclab, notebook("compile_error.ipynb"), "--allow-errors", "-o", out)
    assert proc.returncode == 0, proc.stderr
    first, broken, after = code_cells(read_valid(out))
    assert len(outputs_of(broken, "error")) == 1
    assert after.execution_count == 3
    assert stdout_text(after) == "after\n"


def test_a_cell_tagged_raises_exception_shows_its_error_and_the_run_goes_on(conclab, notebook, tmp_path):
    """Jupyter's raises-exception tag (a %%tsan report shown on purpose): recorded, not a failure."""
    source = tmp_path / "tagged.ipynb"
    nb = read_valid(notebook("compile_error.ipynb"))
    code_cells(nb)[1].metadata["tags"] = ["raises-exception"]
    nbformat.write(nb, str(source))
    out = tmp_path / "out.ipynb"
    proc = run(conclab, source, "-o", out)
    assert proc.returncode == 0, proc.stderr
    first, broken, after = code_cells(read_valid(out))
    assert len(outputs_of(broken, "error")) == 1
    assert stdout_text(after) == "after\n"
    assert "stopped" not in proc.stderr and "failed" not in proc.stderr


def test_failure_is_reported_even_when_quiet(conclab, notebook):
    proc = run(conclab, notebook("compile_error.ipynb"), "-q")
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "In [2]" in proc.stderr


def test_timeout_stops_a_cell_that_runs_too_long(conclab, notebook, tmp_path):
    out = tmp_path / "out.ipynb"
    started = time.monotonic()
    proc = run(conclab, notebook("sleeps.ipynb"), "--timeout", "2", "-o", out)
    elapsed = time.monotonic() - started
    assert proc.returncode == 1, proc.stderr
    assert elapsed < 30, f"the 60 s cell was not stopped (took {elapsed:.1f} s)"
    sleeper, after = code_cells(read_valid(out))
    assert len(outputs_of(sleeper, "error")) == 1
    assert after.execution_count is None


# ---- the terminal ---------------------------------------------------------------------------

def test_output_streams_to_the_terminal_while_the_cell_runs(conclab, notebook):
    """The cell prints, sleeps a second, prints: the first line must reach our pipe about a
    second before the second one, not both at the end of the cell."""
    proc = subprocess.Popen([conclab, "run", str(notebook("live_output.ipynb"))],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    seen, arrivals = b"", {}
    deadline = time.monotonic() + CELL_TIMEOUT
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], 0.05)
            if not ready:
                continue
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            seen += chunk
            for word in (b"first", b"second"):
                if word in seen and word not in arrivals:
                    arrivals[word] = time.monotonic()
    finally:
        proc.kill()
        proc.wait()
    assert b"first" in arrivals and b"second" in arrivals, seen
    gap = arrivals[b"second"] - arrivals[b"first"]
    assert gap > 0.5, f"'first' arrived only {gap:.2f} s before 'second': output was held back"


def test_ctrl_c_interrupts_the_cell_and_still_writes_the_notebook(conclab, notebook, tmp_path):
    out = tmp_path / "out.ipynb"
    proc = subprocess.Popen([conclab, "run", str(notebook("sleeps.ipynb")), "-o", str(out)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        header = b""
        while b"In [1]" not in header:  # the first cell has been sent to the engine
            chunk = os.read(proc.stderr.fileno(), 4096)
            assert chunk, "conclab run ended before running the first cell"
            header += chunk
        time.sleep(1.0)  # let the cell start sleeping
        proc.send_signal(signal.SIGINT)
        status = proc.wait(timeout=20)
    finally:
        proc.kill()
        proc.wait()
    assert status == 130
    sleeper, after = code_cells(read_valid(out))
    assert len(outputs_of(sleeper, "error")) == 1
    assert after.execution_count is None


def test_cells_reading_stdin_see_end_of_file(conclab, notebook, tmp_path):
    """stdin is left open and silent: a cell that waited for it would hang until the timeout."""
    out = tmp_path / "out.ipynb"
    proc = run(conclab, notebook("reads_stdin.ipynb"), "-o", out, stdin=subprocess.PIPE, timeout=60)
    assert proc.returncode == 0, proc.stderr
    (cell,) = code_cells(read_valid(out))
    assert stdout_text(cell) == "getchar gave -1\n"


def test_help_documents_the_options(conclab):
    proc = run(conclab, "--help")
    assert proc.returncode == 0
    for option in ("-o", "--inplace", "--allow-errors", "--timeout", "--quiet"):
        assert option in proc.stdout


# ---- what cannot run ------------------------------------------------------------------------

@pytest.mark.parametrize("content, complaint", [
    (None, "No such file"),
    ('{"cells": [', "not valid JSON"),
    ('{"metadata": {}, "nbformat": 4, "nbformat_minor": 5}', "not a Jupyter notebook"),
    ('[1, 2, 3]', "not a Jupyter notebook"),
    ('{"cells": [{"cell_type": "code", "source": 42}], "nbformat": 4}', "source"),
])
def test_unusable_input_is_refused_clearly(conclab, tmp_path, content, complaint):
    source = tmp_path / "input.ipynb"
    if content is not None:
        source.write_text(content)
    out = tmp_path / "out.ipynb"
    proc = run(conclab, source, "-o", out)
    assert proc.returncode != 0
    assert complaint in proc.stderr
    assert "input.ipynb" in proc.stderr
    assert proc.stdout == ""
    assert not out.exists()


@pytest.mark.parametrize("args", [
    [],
    ["--no-such-option", "x.ipynb"],
    ["x.ipynb", "-o"],
    ["x.ipynb", "--timeout", "soon"],
    ["x.ipynb", "-o", "y.ipynb", "--inplace"],
])
def test_usage_errors_exit_2(conclab, args):
    proc = run(conclab, *args)
    assert proc.returncode == 2
    assert proc.stderr.strip()
