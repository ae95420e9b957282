"""test_errors.py — errors that teach, as a notebook front end receives them.

A compile error's evalue is tcc's first real message; its traceback shows the cell's own line
with carets under the token the message names; C11 features tcc lacks get a hint naming the
runtime's replacement; a crash shows the line it stopped at. Compiler warnings come before the
cell's output, as HTML in a muted block with a plain-text fallback. A cell defining main runs it.
"""
import re

import pytest

from kernel_session import describe_failure, of_type, result_text, stream_text

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def error_of(k, code):
    content, msgs = k.run(code)
    assert content["status"] == "error", describe_failure(code, content, msgs)
    errors = of_type(msgs, "error")
    assert len(errors) == 1, describe_failure(code, content, msgs)
    tb = [ANSI.sub("", line) for line in content["traceback"]]
    return content, tb


def test_the_first_real_message_not_the_include_context(k):
    content, tb = error_of(k, "#include <stdatomic.h>")
    assert content["ename"] == "CompileError"
    assert content["evalue"].startswith("cell[%d]:1: error: include file 'stdatomic.h' not found"
                                        % content["execution_count"]), content["evalue"]
    assert not any(line.startswith("In file included from") for line in tb), tb


def test_the_cells_line_with_carets_under_the_token(k):
    code = "int er_fine = 1;\nint er_y = er_missing_name + 1;"
    content, tb = error_of(k, code)
    assert "'er_missing_name' undeclared" in content["evalue"]
    at = tb.index("    int er_y = er_missing_name + 1;")
    assert tb[at + 1] == "               " + "^" * len("er_missing_name"), tb


def test_a_syntax_error_points_at_what_tcc_got(k):
    content, tb = error_of(k, "int er_z = 3\nint er_q = 4;")
    assert "';' expected (got \"int\")" in content["evalue"]
    at = tb.index("    int er_q = 4;")
    assert tb[at + 1] == "    ^^^", tb


@pytest.mark.parametrize("code, line, message", [
    ("int er_g(void) {\n    return 1;\n", 1, "'{' is never closed"),
    ("int er_h = 1;\n}\n", 2, "unexpected '}'"),
    ("int er_i = 1;\nconst char *er_s = \"open;", 2, "a string is never closed"),
    ("int er_j = 1;\n\n/* a note that goes on", 3, "a /* comment is never closed"),
], ids=["brace", "closer", "string", "comment"])
def test_a_cell_that_cannot_be_split_says_where(k, code, line, message):
    content, tb = error_of(k, code)
    assert content["ename"] == "CompileError"
    assert content["evalue"].startswith("cell[%d]:%d: error: %s" % (content["execution_count"], line, message)), \
        content["evalue"]


@pytest.mark.parametrize("code, replacement", [
    ("#include <stdatomic.h>\natomic_int er_a;", "cl_atomic_"),
    ("_Atomic int er_b;", "cl_atomic_"),
    ("__thread int er_c;", "cl_local"),
    ("_Thread_local int er_d;", "cl_local"),
    ("long er_e = 0;\n__atomic_fetch_add(&er_e, 1, 0);", "cl_atomic_"),
    ("long er_f = 0;\n__sync_fetch_and_add(&er_f, 1);", "cl_atomic_"),
], ids=["stdatomic", "_Atomic", "__thread", "_Thread_local", "__atomic", "__sync"])
def test_c11_features_tcc_lacks_name_the_runtimes_replacement(k, code, replacement):
    content, tb = error_of(k, code)
    assert "hint: " in content["evalue"] and replacement in content["evalue"], content["evalue"]
    assert any(line.startswith("hint: ") and replacement in line for line in tb), tb


def test_thread_local_is_refused_not_silently_shared(k):
    content, _ = error_of(k, "_Thread_local int er_shared_by_all;")
    assert "'_Thread_local' is not supported" in content["evalue"]


def test_a_crash_shows_the_line_it_stopped_at(k):
    code = "int *er_nowhere = 0;\nint er_before = 1;\n*er_nowhere = er_before;"
    content, tb = error_of(k, code)
    assert content["ename"] == "SIGSEGV"
    at = tb.index("    *er_nowhere = er_before;")
    assert tb[at - 1] == "  cell[%d], line 3:" % content["execution_count"], tb
    assert tb[at + 1] == "    ^", tb


def test_warnings_come_first_muted_and_in_html(k):
    code = 'int *er_warned = 7;\nprintf("after the warning\\n");'
    content, msgs = k.run(code)
    assert content["status"] == "ok", describe_failure(code, content, msgs)
    kinds = [m["msg_type"] for m in msgs if m["msg_type"] in ("display_data", "stream")]
    assert kinds == ["display_data", "stream"], kinds
    data = of_type(msgs, "display_data")[0]["content"]["data"]
    assert "warning" in data["text/plain"]
    assert data["text/html"].startswith('<pre class="conclab-warnings"') and "warning" in data["text/html"]
    assert stream_text(msgs) == "after the warning\n"
    assert stream_text(msgs, "stderr") == ""


def test_warnings_come_first_for_every_run(k):
    """The order must not depend on luck: 30 runs of a cell that warns then prints at once."""
    for i in range(30):
        code = 'int *er_w%d = 7;\nputs("out");' % i
        _, msgs = k.run(code)
        kinds = [m["msg_type"] for m in msgs if m["msg_type"] in ("display_data", "stream")]
        assert kinds == ["display_data", "stream"], (i, kinds)


def test_a_cell_that_defines_main_runs_it_and_shows_its_exit_status(k):
    code = 'int main(void) {\n    printf("hello from main\\n");\n    return 0;\n}'
    content, msgs = k.run(code)
    assert content["status"] == "ok", describe_failure(code, content, msgs)
    assert stream_text(msgs) == "hello from main\n"
    assert result_text(msgs) == "exit status 0"
    code = 'int main(int argc, char **argv) {\n    printf("%d %s\\n", argc, argv[0]);\n    return 3;\n}'
    content, msgs = k.run(code)
    assert stream_text(msgs) == "1 cell[%d]\n" % content["execution_count"]
    assert result_text(msgs) == "exit status 3"
    # a later cell that does not define main does not run it again
    content, msgs = k.run("int er_after_main = 1;")
    assert stream_text(msgs) == "" and result_text(msgs) is None
