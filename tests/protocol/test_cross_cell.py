"""test_cross_cell.py — globals and functions give gcc's answers whichever cell uses them.

Each matrix (cross_cell_matrix.py for globals, function_matrix.py for functions declared before
they are defined) runs twice: cell by cell through a real kernel, and as one program compiled by
gcc. Every line of output must match: the expression's type and its value to the last bit. The
first is the test that would have caught `3.0 / y` of an earlier cell's `double y` printing
6.5e+296; the second, `void *worker(void *arg);` in one cell leaving `worker` undefined for good.
"""
import difflib
import os
import re
import subprocess
import tempfile

import cross_cell_matrix
import function_matrix
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


def expect_gccs_output(kernel, matrix, at_least):
    cells, program = matrix.build()
    expected = run_with_gcc(program).splitlines()
    got = run_in_kernel(kernel, cells).splitlines()
    assert len(expected) > at_least, "the matrix shrank: %d lines" % len(expected)
    if got != expected:
        diff = list(difflib.unified_diff(expected, got, "gcc", "conclab", lineterm="", n=0))
        wrong = sum(1 for line in diff if line.startswith("+") and not line.startswith("+++"))
        raise AssertionError("%d of %d lines differ from gcc's:\n%s"
                             % (wrong, len(expected), "\n".join(diff[:60])))


def test_every_global_gives_gccs_answer_in_every_cell(kernel):
    expect_gccs_output(kernel, cross_cell_matrix, 3000)


def test_functions_declared_before_their_definition_give_gccs_answers(kernel):
    expect_gccs_output(kernel, function_matrix, 80)


def test_a_call_before_the_definition_names_the_function_and_loses_nothing(kernel):
    kernel.run("long pending_total = 40;\nvoid *not_written_yet(void *arg);\nint child_not_written_yet(void *arg);")
    content, msgs = kernel.run("not_written_yet(NULL);")
    assert content["status"] == "error" and content["ename"] == "UndefinedFunction", \
        describe_failure("not_written_yet(NULL);", content, msgs)
    assert re.fullmatch(r"function 'not_written_yet', declared but not defined yet, was called at cell\[\d+\], "
                        r"line 1", content["evalue"]), content["evalue"]
    # called by a function of an earlier cell: that function is among the frames shown
    kernel.run("int doubled_later(int x);\nint use_doubled(int x) { return 2 * doubled_later(x); }")
    content, msgs = kernel.run("int twice_three = use_doubled(3);")
    assert content["ename"] == "UndefinedFunction", describe_failure("through a function", content, msgs)
    assert any(re.search(r"in use_doubled\(\) from cell\[\d+\]", line) for line in content["traceback"]), \
        content["traceback"]
    # from a thread, the same
    content, msgs = kernel.run("cl_thread_join(cl_thread_start(not_written_yet, NULL));")
    assert content["ename"] == "UndefinedFunction", describe_failure("in a thread", content, msgs)
    # from a forked process, which cannot name it in the cell's error: on its stderr
    content, msgs = kernel.run("cl_process *child = cl_process_start(child_not_written_yet, NULL);\n"
                               "cl_process_join(child);\nprintf(\"%d\\n\", cl_process_exitcode(child));")
    assert content["status"] == "ok", describe_failure("in a process", content, msgs)
    assert "function 'child_not_written_yet' is declared but has no definition yet" in stream_text(msgs, "stderr")
    assert stream_text(msgs) == "-6\n"
    content, msgs = kernel.run("void *not_written_yet(void *arg) { pending_total += 2; return arg; }\n"
                               "not_written_yet(NULL);\nprintf(\"%ld\\n\", pending_total);")
    assert content["status"] == "ok", describe_failure("the definition", content, msgs)
    assert stream_text(msgs) == "42\n"
