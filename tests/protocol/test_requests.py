"""test_requests.py — the kernel's non-execute requests through jupyter_client: kernel_info,
is_complete, complete, inspect, history and comm_info (issue 2, item 4), checked in more depth
than jupyter_kernel_test does: exact fields, cursor positions, indents, and what the notebook
itself has defined.
"""
import os
import re

import pytest

from kernel_session import describe_failure, runtime_header_text

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUNTIME_HEADER = os.path.join(REPO, "runtime", "include", "conclab.h")


def runtime_summary(name):
    """(declaration, one-line summary) of a runtime function, read from conclab.h itself."""
    lines = runtime_header_text().splitlines()
    for i, line in enumerate(lines):
        if re.search(r"\b%s\s*\(" % re.escape(name), line) and line.rstrip().endswith(";"):
            summary = lines[i - 1].strip()
            assert summary.startswith("/*"), "conclab.h: no summary comment above %s" % name
            return line.strip().rstrip(";"), summary.strip("/* ").strip()
    raise AssertionError("conclab.h does not declare %s" % name)


def statuses(msgs):
    return [m["content"]["execution_state"] for m in msgs if m["msg_type"] == "status"]


# ---- kernel_info --------------------------------------------------------------------------------

def test_kernel_info_reply(kernel):
    msg_id = kernel.kc.kernel_info()
    reply, msgs = kernel.collect(msg_id, timeout=10)
    c = reply["content"]
    assert c["status"] == "ok"
    major, minor = (int(x) for x in c["protocol_version"].split(".")[:2])
    assert (major, minor) >= (5, 3), c["protocol_version"]
    assert c["implementation"] == "conclab"
    assert isinstance(c["implementation_version"], str) and c["implementation_version"]
    assert isinstance(c["banner"], str) and c["banner"].strip()
    assert isinstance(c["help_links"], list)
    for link in c["help_links"]:
        assert set(link) >= {"text", "url"}, link
    li = c["language_info"]
    assert li["name"] == "c"
    assert li["mimetype"] == "text/x-csrc"
    assert li["file_extension"] == ".c"
    assert li["pygments_lexer"] == "c"
    mode = li["codemirror_mode"]
    name = mode.get("name") if isinstance(mode, dict) else mode
    assert name in ("clike", "text/x-csrc"), mode
    if isinstance(mode, dict) and "mime" in mode:
        assert mode["mime"] == "text/x-csrc", mode
    assert isinstance(li.get("version"), str)
    assert statuses(msgs) == ["busy", "idle"]


def test_reply_headers_are_protocol_5_3_or_newer(kernel):
    reply = kernel.request("kernel_info")
    major, minor = (int(x) for x in reply["header"]["version"].split(".")[:2])
    assert (major, minor) >= (5, 3), reply["header"]["version"]
    assert reply["header"]["msg_type"] == "kernel_info_reply"
    assert reply["header"]["session"]


def test_comm_info_is_empty(kernel):
    reply = kernel.request("comm_info")
    assert reply["content"]["status"] == "ok"
    assert reply["content"]["comms"] == {}
    reply = kernel.request("comm_info", target_name="jupyter.widget")
    assert reply["content"]["comms"] == {}


# ---- is_complete ------------------------------------------------------------------------------------

def is_complete(kernel, code):
    reply = kernel.request("is_complete", code)
    return reply["content"]


@pytest.mark.parametrize("code", [
    'printf("hi\\n");',
    'printf("(");',
    "char c = '{';",
    "/* { */ int x;",
    "// an open brace {",
    "int f(void) {\n    return 1;\n}",
    "#include <stdio.h>",
    'printf("\\"{");',
    "char q = '\\'';",
    "int x = 1; // (",
    "",
])
def test_is_complete_complete(kernel, code):
    assert is_complete(kernel, code)["status"] == "complete", code


@pytest.mark.parametrize("code", [
    "int f(void) {",
    "x = (1 + 2",
    "int a[3] = {1, 2,",
    "int b[",
    "/* an open comment",
    '"an open string',
    "#define TWICE(x) \\",
])
def test_is_complete_incomplete_with_indent(kernel, code):
    c = is_complete(kernel, code)
    assert c["status"] == "incomplete", (code, c)
    assert isinstance(c.get("indent"), str) and c["indent"].strip() == "", (code, c)


def test_is_complete_indent_follows_nesting(kernel):
    one = is_complete(kernel, "int f(void) {")
    two = is_complete(kernel, "int f(void) {\n    for (;;) {")
    assert one["status"] == two["status"] == "incomplete"
    assert len(one["indent"]) > 0
    assert len(two["indent"]) > len(one["indent"]), (one, two)


@pytest.mark.parametrize("code", ["}", "int x = (1 + 2));", ")", "int y = 1; ]"])
def test_is_complete_invalid(kernel, code):
    assert is_complete(kernel, code)["status"] == "invalid", code


# ---- complete --------------------------------------------------------------------------------------

def complete(kernel, code, cursor_pos=None):
    msg_id = kernel.kc.complete(code, cursor_pos)
    reply, msgs = kernel.collect(msg_id, timeout=10)
    c = reply["content"]
    assert c["status"] == "ok", c
    assert statuses(msgs) == ["busy", "idle"]
    return c


def test_complete_keyword_with_cursor_range(kernel):
    c = complete(kernel, "whi")
    assert "while" in c["matches"]
    assert (c["cursor_start"], c["cursor_end"]) == (0, 3)


def test_complete_in_the_middle_of_a_line(kernel):
    code = "int a = whi + 1;"
    c = complete(kernel, code, cursor_pos=11)
    assert "while" in c["matches"]
    assert c["cursor_start"] == 8, c
    assert c["cursor_end"] == 11, c


def test_complete_counts_code_points_not_bytes(kernel):
    code = "/* \u00e9\u00e8 */ whi"   # two 2-byte characters before the word
    c = complete(kernel, code, cursor_pos=len(code))
    assert "while" in c["matches"], c
    assert (c["cursor_start"], c["cursor_end"]) == (len(code) - 3, len(code)), c


def test_complete_runtime_api(kernel):
    assert "cl_lock_acquire" in complete(kernel, "cl_lock_ac")["matches"]


def test_complete_nothing_matches(kernel):
    c = complete(kernel, "zzqq_nothing_is_called_this")
    assert c["matches"] == []


def test_complete_names_the_notebook_defined(kernel):
    kernel.run_ok(r'''#define CP_LIMIT_MAX 10
typedef struct { int a; } cp_pair_t;
enum cp_mode { CP_MODE_FIRST, CP_MODE_SECOND };
double cp_ratio_value = 1.0;
int cp_compute_total(int a) { return a; }''')
    for prefix, name in [("cp_compute_t", "cp_compute_total"), ("cp_ratio_v", "cp_ratio_value"),
                         ("CP_LIMIT_", "CP_LIMIT_MAX"), ("cp_pair", "cp_pair_t"),
                         ("CP_MODE_S", "CP_MODE_SECOND")]:
        assert name in complete(kernel, "x = " + prefix)["matches"], prefix


def test_complete_names_from_included_headers(kernel):
    kernel.run_ok("#include <sys/utsname.h>")
    assert "uname" in complete(kernel, "unam")["matches"]


# ---- inspect ---------------------------------------------------------------------------------------

def inspect(kernel, code, cursor_pos=None):
    msg_id = kernel.kc.inspect(code, cursor_pos)
    reply, msgs = kernel.collect(msg_id, timeout=10)
    assert reply["content"]["status"] == "ok", reply["content"]
    assert statuses(msgs) == ["busy", "idle"]
    return reply["content"]


def names_cell(text, n):
    return re.search(r"(cell\s*\[?\s*%d\s*\]?|In\s*\[\s*%d\s*\])" % (n, n), text, re.I)


def test_inspect_notebook_function(kernel):
    content, msgs = kernel.run("int ip_area(int w, int h) { return w * h; }")
    assert content["status"] == "ok", describe_failure("ip_area", content, msgs)
    n = content["execution_count"]
    c = inspect(kernel, "ip_area")
    assert c["found"] is True
    text = c["data"]["text/plain"]
    assert "int ip_area(int w, int h)" in text, text
    assert names_cell(text, n), "the text should name cell %d: %r" % (n, text)


def test_inspect_notebook_variable_with_cursor_inside_the_name(kernel):
    content, _ = kernel.run("double ip_scale = 2.5;")
    n = content["execution_count"]
    code = "x = ip_scale * 2;"
    c = inspect(kernel, code, cursor_pos=code.index("scale"))
    assert c["found"] is True
    text = c["data"]["text/plain"]
    assert "double ip_scale" in text, text
    assert names_cell(text, n), text


@pytest.mark.parametrize("definition, name, expected", [
    ("#define IP_LIMIT 10", "IP_LIMIT", "IP_LIMIT 10"),
    ("typedef unsigned long ip_size_t;", "ip_size_t", "unsigned long"),
    ("enum ip_dir { IP_NORTH, IP_SOUTH };", "IP_SOUTH", "IP_SOUTH"),
], ids=["macro", "typedef", "enum-constant"])
def test_inspect_other_notebook_definitions(kernel, definition, name, expected):
    content, _ = kernel.run(definition)
    assert content["status"] == "ok"
    c = inspect(kernel, "x = " + name)
    assert c["found"] is True, (definition, c)
    text = c["data"]["text/plain"]
    assert expected in text, text
    assert names_cell(text, content["execution_count"]), text


def test_inspect_runtime_function(kernel):
    declaration, summary = runtime_summary("cl_lock_acquire")
    c = inspect(kernel, "cl_lock_acquire")
    assert c["found"] is True
    text = c["data"]["text/plain"]
    assert re.sub(r"\s+", " ", declaration) in re.sub(r"\s+", " ", text), (declaration, text)
    assert summary in text, (summary, text)


def test_inspect_unknown_name(kernel):
    c = inspect(kernel, "zzqq_nothing_is_called_this")
    assert c["found"] is False


# ---- history -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def history_cells(kernel):
    cells = ["int hs_marker_a = 1;", "int hs_marker_b = 2;", "hs_marker_a + 41"]
    counts = []
    for code in cells:
        content, _ = kernel.run(code)
        assert content["status"] == "ok", code
        counts.append(content["execution_count"])
    return list(zip(counts, cells))


def history(kernel, **kwargs):
    kwargs.setdefault("raw", True)
    kwargs.setdefault("output", False)
    reply = kernel.request("history", **kwargs)
    assert reply["content"]["status"] == "ok", reply["content"]
    return reply["content"]["history"]


def test_history_tail(kernel, history_cells):
    h = history(kernel, hist_access_type="tail", n=3)
    assert [(e[1], e[2]) for e in h] == history_cells


def test_history_tail_with_output(kernel, history_cells):
    h = history(kernel, hist_access_type="tail", n=1, output=True)
    assert len(h) == 1
    line, (source, output) = h[0][1], h[0][2]
    assert (line, source) == history_cells[-1]
    assert "42" in str(output), h


def test_history_range(kernel, history_cells):
    tail = history(kernel, hist_access_type="tail", n=1)
    session = tail[0][0]
    first, last = history_cells[0][0], history_cells[-1][0]
    h = history(kernel, hist_access_type="range", session=session, start=first, stop=last + 1)
    assert [(e[1], e[2]) for e in h] == history_cells
    h = history(kernel, hist_access_type="range", session=session, start=first + 1, stop=first + 2)
    assert [(e[1], e[2]) for e in h] == history_cells[1:2]


def test_history_search(kernel, history_cells):
    h = history(kernel, hist_access_type="search", pattern="int hs_marker_*")
    assert [(e[1], e[2]) for e in h] == history_cells[:2]
    h = history(kernel, hist_access_type="search", pattern="int hs_marker_*", n=1)
    assert [(e[1], e[2]) for e in h] == history_cells[1:2]
    assert history(kernel, hist_access_type="search", pattern="nothing-like-this*") == []


def test_history_search_unique(kernel, history_cells):
    kernel.run_ok("int hs_marker_a = 1;")   # the same input again
    h = history(kernel, hist_access_type="search", pattern="int hs_marker_a*", unique=True)
    assert len(h) == 1 and h[0][2] == "int hs_marker_a = 1;"
    h = history(kernel, hist_access_type="search", pattern="int hs_marker_a*")
    assert len(h) == 2
