"""test_library_help.py — the C library in inspection, completion and `name?` lines, through the
real protocol (issue 16, deliverable 2): what JupyterLab's contextual help, its Shift+Tab tooltip,
its completer and its pager show for printf, malloc, pthread_create, fork and sleep.

The expected summaries and prototypes are read from the system's manual pages themselves (the
NAME line of each page), so the tests follow the installed manpages-dev. Where it is missing,
the tests that need it are skipped with a message, and the fallback (the prelude's headers, or
found=False, never an error) is checked with the manual pages hidden (MANPATH=/nonexistent).
"""
import gzip
import os
import re

import pytest

from kernel_session import describe_failure, start_session, stop_session

MAN_ROOT = "/usr/share/man"
HAVE_MANUALS = os.path.exists(os.path.join(MAN_ROOT, "man3", "printf.3.gz"))
needs_manuals = pytest.mark.skipif(not HAVE_MANUALS, reason="manpages-dev is not installed "
                                   "(install.sh installs it): no manual pages to show")

# name, man section, header, the prototype as the page writes it, whether the prelude brings it
LAB_CALLS = [
    ("printf", "3", "<stdio.h>", "int printf(const char *restrict format, ...);", True),
    ("malloc", "3", "<stdlib.h>", "void *malloc(size_t size);", True),
    ("pthread_create", "3", "<pthread.h>", "void *(*start_routine)(void *),", False),
    ("fork", "2", "<unistd.h>", "pid_t fork(void);", False),
    ("sleep", "3", "<unistd.h>", "unsigned int sleep(unsigned int seconds);", False),
]


def page_summary(name, section):
    """The one-line description of a page's NAME section, read here with a regex, not the kernel's
    reader: `printf, fprintf, ... \\- formatted output conversion`."""
    path = os.path.join(MAN_ROOT, "man" + section[0], "%s.%s.gz" % (name, section))
    with gzip.open(path, "rt", errors="replace") as f:
        text = f.read()
    name_section = re.search(r"^\.SH NAME\n(.*?)\n\.SH", text, re.S | re.M).group(1)
    return re.sub(r"\s+", " ", name_section.split("\\-", 1)[1]).strip()


def inspect(kernel, code, detail_level=0, cursor_pos=None):
    reply = kernel.request("inspect", code, cursor_pos if cursor_pos is not None else len(code),
                           detail_level=detail_level)
    content = reply["content"]
    assert content["status"] == "ok", content
    return content


def complete(kernel, code):
    reply = kernel.request("complete", code, len(code))
    content = reply["content"]
    assert content["status"] == "ok", content
    return content


def page_of(content):
    """The text/plain of the reply's "page" payload (IPython's pager), or None."""
    pages = [p for p in content.get("payload", []) if p.get("source") == "page"]
    assert len(pages) <= 1, content["payload"]
    if not pages:
        return None
    assert pages[0]["start"] == 0, pages[0]
    return pages[0]["data"]["text/plain"]


def stdout(msgs):
    return "".join(m["content"]["text"] for m in msgs
                   if m["msg_type"] == "stream" and m["content"]["name"] == "stdout")


# ---- inspection --------------------------------------------------------------------------------

@needs_manuals
@pytest.mark.parametrize("name, section, header, prototype, in_prelude", LAB_CALLS,
                         ids=[c[0] for c in LAB_CALLS])
def test_inspect_shows_the_manual(kernel, name, section, header, prototype, in_prelude):
    c = inspect(kernel, "x = %s(" % name, cursor_pos=len("x = %s" % name) - 1)
    assert c["found"] is True, (name, c)
    text = c["data"]["text/plain"]
    assert page_summary(name, section) in text, text
    assert prototype in text, text
    assert "#include %s" % header in text, text
    assert "man %s %s" % (section, name) in text, text
    if in_prelude:
        assert "prelude includes" in text and "without an #include" in text, text
    else:
        assert "needs #include %s" % header in text, text
    assert "DESCRIPTION" not in text, "detail_level 0 is the short form: " + text
    markdown = c["data"]["text/markdown"]
    assert "```c\n#include %s" % header in markdown, markdown


@needs_manuals
def test_inspect_inside_the_call_names_the_callee(kernel):
    code = 'pthread_create(&t, NULL, work, NULL);'
    c = inspect(kernel, code, cursor_pos=code.index(" work"))  # between two arguments
    assert c["found"] is True
    assert "pthread_create - " in c["data"]["text/plain"]
    assert "Library: POSIX threads library" in c["data"]["text/plain"]


@needs_manuals
def test_detail_level_1_adds_the_description(kernel):
    short = inspect(kernel, "sleep", detail_level=0)["data"]["text/plain"]
    long = inspect(kernel, "sleep", detail_level=1)["data"]["text/plain"]
    assert "DESCRIPTION" not in short
    assert "DESCRIPTION\nsleep() causes the calling thread to sleep" in long, long
    assert "RETURN VALUE" in long, long
    assert long.startswith(short), (short, long)


@needs_manuals
def test_include_notes_follow_the_notebook(fresh_kernel):
    text = inspect(fresh_kernel, "fork")["data"]["text/plain"]
    assert "fork needs #include <unistd.h>" in text, text
    fresh_kernel.run_ok("#include <unistd.h>")
    text = inspect(fresh_kernel, "fork")["data"]["text/plain"]
    assert "Declared in <unistd.h>, which this notebook includes." in text, text
    fresh_kernel.run_ok("%prelude off")
    text = inspect(fresh_kernel, "printf")["data"]["text/plain"]
    assert "printf needs #include <stdio.h>" in text and "the prelude is off" in text, text


def test_notebook_and_runtime_names_come_first(kernel):
    kernel.run_ok("int printf_calls = 0;")
    text = inspect(kernel, "printf_calls")["data"]["text/plain"]
    assert "int printf_calls" in text and "man 3" not in text, text
    text = inspect(kernel, "cl_thread_start")["data"]["text/plain"]
    assert "conclab runtime" in text, text


def test_unknown_name_is_not_found(kernel):
    c = inspect(kernel, "zzqq_no_page_has_this_name")
    assert c["found"] is False and c["data"] == {}, c


# ---- completion --------------------------------------------------------------------------------

@needs_manuals
@pytest.mark.parametrize("prefix, name", [("pthread_cr", "pthread_create"), ("mall", "malloc"),
                                          ("pri", "printf"), ("for", "fork"), ("slee", "sleep")])
def test_complete_library_names(kernel, prefix, name):
    c = complete(kernel, "x = " + prefix)
    assert name in c["matches"], (prefix, c["matches"])
    types = {t["text"]: t for t in c["metadata"]["_jupyter_types_experimental"]}
    assert types[name]["type"] == "function", types[name]
    assert (c["cursor_start"], c["cursor_end"]) == (4, 4 + len(prefix)), c


def test_complete_one_letter_is_capped_and_ranked(kernel):
    kernel.run_ok("int p_local_counter = 0;")
    c = complete(kernel, "p")
    matches = c["matches"]
    assert len(matches) <= 120, len(matches)
    assert len(set(matches)) == len(matches)
    assert matches[0] == "p_local_counter", matches[:5]   # the notebook's own first
    assert "printf" in matches, matches                    # the prelude before the manual
    assert len(c["metadata"]["_jupyter_types_experimental"]) == len(matches)


def test_bare_tab_does_not_list_the_library(kernel):
    c = complete(kernel, "x = ")
    assert "printf" not in c["matches"] and "malloc" not in c["matches"], len(c["matches"])


# ---- `name?` lines -------------------------------------------------------------------------------

@needs_manuals
def test_question_mark_cell_pages_the_inspection(kernel):
    content, msgs = kernel.run("printf?")
    assert content["status"] == "ok", describe_failure("printf?", content, msgs)
    page = page_of(content)
    assert page is not None, content
    assert "int printf(const char *restrict format, ...);" in page, page
    assert page_summary("printf", "3") in page, page
    assert stdout(msgs) == ""
    assert not [m for m in msgs if m["msg_type"] in ("error", "execute_result")], msgs
    pages = [p for p in content["payload"] if p["source"] == "page"]
    assert "text/markdown" in pages[0]["data"]


@needs_manuals
def test_double_question_mark_says_more(kernel):
    content, _ = kernel.run("??malloc")
    page = page_of(content)
    assert "DESCRIPTION" in page and "allocates size bytes" in page, page


def test_question_line_inside_a_cell_and_the_rest_runs(kernel):
    code = "int hl_value = 7;\nhl_value?\nprintf(\"value %d\\n\", hl_value);\nhl_value + 1"
    content, msgs = kernel.run(code)
    assert content["status"] == "ok", describe_failure(code, content, msgs)
    assert stdout(msgs) == "value 7\n"
    assert "int hl_value" in page_of(content)
    results = [m for m in msgs if m["msg_type"] == "execute_result"]
    assert results and results[0]["content"]["data"]["text/plain"] == "8", results


def test_error_lines_keep_their_numbers(kernel):
    content, msgs = kernel.run("printf?\n\nint broken = ;")
    assert content["status"] == "error"
    assert page_of(content) is not None
    assert re.search(r"cell\[\d+\]:3:", content["evalue"]), content  # the blanked line still counts


def test_unknown_name_says_not_found(kernel):
    content, msgs = kernel.run("nosuchname?")
    assert content["status"] == "ok", content
    page = page_of(content)
    assert "nosuchname" in page and "not found" in page, page


def test_question_marks_of_c_are_left_alone(kernel):
    code = (
        "int tq_a = 3, tq_b = 9;\n"
        "int tq_m = tq_a > tq_b ? tq_a : tq_b;\n"
        "printf(\"%d %s %c\\n\", tq_m, \"what?\", '?'); // really?\n"
        "/* a comment\n"
        "tq_a?\n"
        "*/\n"
        "int tq_r = 0;\n"
        "tq_r = tq_a\n"
        "  ? 10 : 20;\n"
        "int tq_flag = 0;\n"
        "tq_flag?\n"
        "  tq_r = tq_r + 1 : (tq_r = tq_r + 2);\n"
        "tq_r"
    )
    content, msgs = kernel.run(code)
    assert content["status"] == "ok", describe_failure(code, content, msgs)
    assert page_of(content) is None, content["payload"]
    assert stdout(msgs) == "9 what? ?\n"
    results = [m for m in msgs if m["msg_type"] == "execute_result"]
    assert results and results[0]["content"]["data"]["text/plain"] == "12", results


# ---- without manual pages ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def no_manuals(jupyter_home):
    session = start_session(env={"MANPATH": "/nonexistent/man"})
    try:
        yield session
    finally:
        stop_session(session)


def test_without_manuals_the_prelude_answers(no_manuals):
    c = inspect(no_manuals, "printf")
    assert c["found"] is True, c
    text = c["data"]["text/plain"]
    assert "printf (" in text and "<stdio.h>" in text and "prelude" in text, text
    assert "manpages-dev" in text, text
    assert inspect(no_manuals, "fork")["found"] is False  # <unistd.h> is not in the prelude
    assert "malloc" in complete(no_manuals, "mall")["matches"]
    assert complete(no_manuals, "pthread_cr")["matches"] == []
    content, _ = no_manuals.run("fork?")
    assert content["status"] == "ok" and "not found" in page_of(content), content
