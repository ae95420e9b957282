"""test_cross_cell.py — globals give gcc's answers whichever cell uses them.

The matrix (cross_cell_matrix.py) runs twice: cell by cell through a real kernel, and as one
program compiled by gcc. Every line of output must match: the expression's type and its value to
the last bit. This is the test that would have caught `3.0 / y` of an earlier cell's
`double y` printing 6.5e+296.
"""
import difflib
import os
import subprocess
import tempfile

from cross_cell_matrix import build
from kernel_session import describe_failure, stream_text


def run_with_gcc(program):
    with tempfile.TemporaryDirectory(prefix="conclab-oracle-") as tmp:
        source, binary = os.path.join(tmp, "matrix.c"), os.path.join(tmp, "matrix")
        with open(source, "w") as f:
            f.write(program)
        subprocess.run(["gcc", "-std=gnu11", "-O0", "-w", source, "-o", binary], check=True)
        return subprocess.run([binary], check=True, capture_output=True, text=True).stdout


def run_in_kernel(kernel, cells):
    out = []
    for code in cells:
        content, msgs = kernel.run(code, timeout=60)
        assert content["status"] == "ok", describe_failure(code, content, msgs)
        assert stream_text(msgs, "stderr") == "", describe_failure(code, content, msgs)
        out.append(stream_text(msgs))
    return "".join(out)


def test_every_global_gives_gccs_answer_in_every_cell(kernel):
    cells, program = build()
    expected = run_with_gcc(program).splitlines()
    got = run_in_kernel(kernel, cells).splitlines()
    assert len(expected) > 3000, "the matrix shrank: %d lines" % len(expected)
    if got != expected:
        diff = list(difflib.unified_diff(expected, got, "gcc", "conclab", lineterm="", n=0))
        wrong = sum(1 for line in diff if line.startswith("+") and not line.startswith("+++"))
        raise AssertionError("%d of %d lines differ from gcc's:\n%s"
                             % (wrong, len(expected), "\n".join(diff[:60])))
