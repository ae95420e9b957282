"""test_output.py — what a cell reads and writes (issue 2, items 4 and 6), through jupyter_client.

Standard input goes through input_request when the request allows it and reads end-of-file when
it does not; stdout and stderr from the cell, its threads and its forked children arrive while it
runs, in order, in that cell, as valid UTF-8, and an endless printer is cut off with a note.
"""
import re
import time

import pytest

from kernel_session import (all_text, describe_failure, of_type, outputs, result_text,
                            start_session, stdout_of, stop_session, stream_text)


# ---- standard input ---------------------------------------------------------------------------------

@pytest.mark.parametrize("code, answer, expected", [
    (r'char sf_buf[64]; if (fgets(sf_buf, sizeof sf_buf, stdin)) printf("got [%s]\n", strtok(sf_buf, "\n"));',
     "hello there", "got [hello there]\n"),
    (r'int sc_n = 0; scanf("%d", &sc_n); printf("%d\n", sc_n * 2);', "21", "42\n"),
    (r'int gc_c = getchar(); printf("[%c]\n", gc_c);', "xyz", "[x]\n"),
    (r'char rd_b[32]; ssize_t rd_n = read(0, rd_b, sizeof rd_b); printf("%.3s\n", rd_b);', "abc", "abc\n"),
], ids=["fgets", "scanf", "getchar", "read"])
def test_stdin_read_sends_input_request(k, code, answer, expected):
    content, msgs = k.run(code, stdin_lines=[answer], timeout=20)
    assert content["status"] == "ok", describe_failure(code, content, msgs)
    assert len(k.input_requests) == 1, "expected one input_request, got %d" % len(k.input_requests)
    req = k.input_requests[0]["content"]
    assert isinstance(req["prompt"], str) and req["password"] is False
    assert stream_text(msgs) == expected


def test_stdin_two_reads_two_prompts(k):
    code = r'int tr_a = 0, tr_b = 0; scanf("%d", &tr_a); scanf("%d", &tr_b); printf("%d\n", tr_a + tr_b);'
    content, msgs = k.run(code, stdin_lines=["40", "2"], timeout=20)
    assert content["status"] == "ok", describe_failure(code, content, msgs)
    assert len(k.input_requests) == 2
    assert stream_text(msgs) == "42\n"


def test_stdin_one_line_serves_several_reads(k):
    code = r'''int ol_a = getchar(), ol_b = getchar(), ol_c = getchar();
int ol_x = 0, ol_y = 0;
scanf("%d %d", &ol_x, &ol_y);
printf("%c%c%d %d\n", ol_a, ol_b, ol_c == '\n', ol_x + ol_y);'''
    content, msgs = k.run(code, stdin_lines=["ab", "3 4"], timeout=20)
    assert content["status"] == "ok", describe_failure(code, content, msgs)
    assert len(k.input_requests) == 2, "one prompt per line expected, got %d" % len(k.input_requests)
    assert stream_text(msgs) == "ab1 7\n"


def test_stdin_prompt_shows_pending_output(k):
    """A prompt written with printf (no newline) before reading is what the user must see."""
    code = r'''printf("Your name: ");
char pp_name[32];
if (fgets(pp_name, sizeof pp_name, stdin)) printf("Hi %s", pp_name);'''
    # Answer only after a pause, as a person would: the prompt must be on screen by then.
    content, msgs = k.run(code, stdin_lines=["Ada"], answer_delay=0.5, timeout=20)
    assert content["status"] == "ok", describe_failure(code, content, msgs)
    assert len(k.input_requests) == 1
    asked = k.input_requests[0]
    if "Your name: " not in asked["content"]["prompt"]:
        before = [m for m in of_type(msgs, "stream") if m["_t"] < asked["_answered"]]
        assert "Your name: " in stream_text(before), \
            "the prompt text was not shown before the user answered: %r" % [
                (m["content"]["text"], round(m["_t"] - asked["_answered"], 3))
                for m in of_type(msgs, "stream")]
    assert stream_text(msgs).endswith("Hi Ada\n"), repr(stream_text(msgs))


@pytest.mark.parametrize("code, expected", [
    (r'int ns_c = getchar(); printf("eof=%d\n", ns_c == EOF);', "eof=1\n"),
    (r'char ns_buf[16]; printf("null=%d\n", fgets(ns_buf, sizeof ns_buf, stdin) == NULL);', "null=1\n"),
    (r'char ns_rb[16]; printf("read=%zd\n", read(0, ns_rb, sizeof ns_rb));', "read=0\n"),
], ids=["getchar", "fgets", "read"])
def test_stdin_not_allowed_reads_eof_at_once(k, code, expected):
    start = time.monotonic()
    content, msgs = k.run(code, allow_stdin=False, timeout=30)
    assert time.monotonic() - start < 2.0, "end of file took %.1f s" % (time.monotonic() - start)
    assert content["status"] == "ok", describe_failure(code, content, msgs)
    assert stream_text(msgs) == expected


# ---- live output --------------------------------------------------------------------------------------

def first_arrival(msgs, name, needle):
    for m in msgs:
        if m["msg_type"] == "stream" and m["content"]["name"] == name and needle in m["content"]["text"]:
            return m["_t"]
    raise AssertionError("no %s stream containing %r in %r" % (name, needle, outputs(msgs)))


@pytest.mark.parametrize("code, name", [
    (r'printf("first\n"); fflush(stdout); sleep(1); printf("second\n");', "stdout"),
    (r'printf("first\n"); sleep(1); printf("second\n");', "stdout"),
    (r'fprintf(stderr, "first\n"); sleep(1); fprintf(stderr, "second\n");', "stderr"),
], ids=["stdout-flushed", "stdout-line", "stderr"])
def test_output_arrives_while_the_cell_runs(k, code, name):
    msg_id = k.execute(code)
    reply, msgs = k.collect(msg_id, timeout=15)
    assert reply["content"]["status"] == "ok"
    lead = reply["_t"] - first_arrival(msgs, name, "first")
    assert lead > 0.8, "first line arrived only %.3f s before the reply" % lead
    assert stream_text(msgs, name) == "first\nsecond\n"


def test_each_stream_keeps_its_order(k):
    code = r'''for (int i = 0; i < 300; i++) {
    printf("o%d\n", i);
    fprintf(stderr, "e%d\n", i);
}'''
    content, msgs = k.run(code)
    assert content["status"] == "ok"
    assert stream_text(msgs) == "".join("o%d\n" % i for i in range(300))
    assert stream_text(msgs, "stderr") == "".join("e%d\n" % i for i in range(300))


def test_thread_output_lands_in_the_cell(k):
    code = r'''void *tw_talk(void *arg) { printf("from pthread %ld\n", (long)arg); return NULL; }
pthread_t tw_t;
pthread_create(&tw_t, NULL, tw_talk, (void *)7);
pthread_join(tw_t, NULL);
cl_thread *tw_c = cl_thread_start(tw_talk, (void *)8);
void *tw_r = cl_thread_join(tw_c);'''
    assert stdout_of(k, code) == "from pthread 7\nfrom pthread 8\n"


def test_forked_child_output_lands_in_the_cell_once(k):
    code = r'''printf("before fork\n");
pid_t fk_pid = fork();
if (fk_pid == 0) { printf("from child\n"); fflush(stdout); _exit(0); }
waitpid(fk_pid, NULL, 0);
printf("parent done\n");'''
    out = stdout_of(k, code)
    assert out.count("before fork\n") == 1, out
    assert out.count("from child\n") == 1, out
    assert out.endswith("parent done\n"), out


def test_output_latency_under_100_ms(k):
    """Each line carries the CLOCK_MONOTONIC time it was written (time.monotonic's clock)."""
    code = r'''for (int i = 0; i < 6; i++) {
    struct timespec lt_ts;
    clock_gettime(CLOCK_MONOTONIC, &lt_ts);
    printf("%ld.%09ld\n", (long)lt_ts.tv_sec, lt_ts.tv_nsec);
    usleep(150000);
}'''
    content, msgs = k.run(code, timeout=15)
    assert content["status"] == "ok", describe_failure(code, content, msgs)
    delays = []
    for m in of_type(msgs, "stream"):
        for line in m["content"]["text"].splitlines():
            delays.append(m["_t"] - float(line))
    assert len(delays) == 6, delays
    delays.sort()
    assert delays[len(delays) // 2] < 0.1, "median delay %.3f s: %r" % (delays[len(delays) // 2], delays)
    assert delays[-1] < 0.25, "worst delay %.3f s: %r" % (delays[-1], delays)


def test_output_without_final_newline_is_delivered(k):
    code = r'printf("no newline"); fprintf(stderr, "err no newline"); write(1, " raw", 4);'
    content, msgs = k.run(code)
    assert content["status"] == "ok", describe_failure(code, content, msgs)
    assert stream_text(msgs) in ("no newline raw", " rawno newline"), repr(stream_text(msgs))
    assert stream_text(msgs, "stderr") == "err no newline"


def test_large_output_below_the_cap_arrives_whole(k):
    code = r'for (int i = 0; i < 20000; i++) printf("%05d %s\n", i, "0123456789012345678901234567890123456789");'
    content, msgs = k.run(code, timeout=60)
    assert content["status"] == "ok", describe_failure(code, content, msgs)
    expected = "".join("%05d 0123456789012345678901234567890123456789\n" % i for i in range(20000))
    text = stream_text(msgs)
    assert len(text) == len(expected) and text == expected


def test_unicode_passes_through(k):
    code = '// comment with \u00fcml\u00e4uts\nprintf("h\u00e9llo \u2713 \u65e5\u672c\\n");'
    assert stdout_of(k, code) == "h\u00e9llo \u2713 \u65e5\u672c\n"


def test_windows_line_endings(k):
    code = 'int crlf_v = 3;\r\nprintf("%d\\n", crlf_v);\r\ncrlf_v * 2\r\n'
    content, msgs = k.run(code)
    assert content["status"] == "ok", describe_failure(code, content, msgs)
    assert stream_text(msgs) == "3\n"
    assert result_text(msgs) == "6"


def test_clear_output_comes_between_the_lines_it_separates(k):
    code = 'printf("before\\n");\ncl_clear_output(0);\nprintf("after\\n");'
    content, msgs = k.run(code)
    assert content["status"] == "ok", describe_failure(code, content, msgs)
    seq = [(m["msg_type"], m["content"].get("text")) for m in outputs(msgs)]
    assert ("clear_output", None) in seq, seq
    cut = seq.index(("clear_output", None))
    assert "".join(t for kind, t in seq[:cut] if kind == "stream") == "before\n", seq
    assert "".join(t for kind, t in seq[cut + 1:] if kind == "stream") == "after\n", seq


def test_empty_and_comment_only_cells(k):
    for code in ("", "   \n", "// just a comment", "/* a block\n   comment */"):
        content, msgs = k.run(code)
        assert content["status"] == "ok", describe_failure(code, content, msgs)
        assert outputs(msgs) == [], describe_failure(code, content, msgs)


def test_invalid_utf8_is_replaced(k):
    content, msgs = k.run(r'printf("\xff\xfe ok\n");')
    assert content["status"] == "ok"
    text = stream_text(msgs)
    assert "\ufffd" in text and "ok" in text, repr(text)


def test_utf8_split_across_writes_is_kept_whole(k):
    code = r'''printf("\xc3"); fflush(stdout); usleep(300000);
printf("\xa9t\xc3\xa9 done\n");'''
    text = stdout_of(k, code)
    assert text == "\u00e9t\u00e9 done\n", repr(text)


FLOODS = {
    "stdout": "while (1) puts(fl_line);",
    "stderr": "while (1) fputs(fl_line, stderr);",
    "thread": "void *fl_spin(void *a) { while (1) puts(fl_line); return a; }\n"
              "cl_thread_join(cl_thread_start(fl_spin, NULL));",
    "child": "pid_t fl_pid = fork();\nif (fl_pid == 0) { while (1) puts(fl_line); }\nwaitpid(fl_pid, NULL, 0);",
}
DEFAULT_OUTPUT_LIMIT = 4 << 20   # README: Limits
LIMIT_NOTE = r"\d+(\.\d+)?\s*(MB|MiB|KB|KiB|kB|bytes|B)\b"


def flood(k, kind, timeout=90):
    """Runs an endless printer of 1000-character lines; returns (content, msgs, bytes received)."""
    k.run_ok(r'''#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <conclab.h>
int fl_before = 5;
char fl_line[1002];
memset(fl_line, 'x', 1000); fl_line[1000] = '\n'; fl_line[1001] = 0;''')
    content, msgs = k.run(FLOODS[kind], timeout=timeout)
    received = sum(len(m["content"]["text"].encode()) for m in of_type(msgs, "stream"))
    return content, msgs, received


def flood_notes(content, msgs):
    return [line for line in all_text(content, msgs).splitlines() if line.strip("x")]


def assert_kernel_usable_after_flood(k):
    assert k.km.is_alive()
    content, msgs = k.run(r'printf("%d\n", fl_before);')
    assert content["status"] == "ok" and stream_text(msgs) == "5\n", describe_failure("next", content, msgs)


@pytest.mark.parametrize("kind", sorted(FLOODS))
def test_output_flood_is_cut_off_with_a_note(fresh_kernel, kind):
    content, msgs, received = flood(fresh_kernel, kind)
    assert content["status"] == "error" and content["ename"] == "OutputLimitExceeded", \
        describe_failure(kind, content, msgs)
    # the default limit, and the note about it on stderr
    assert received <= DEFAULT_OUTPUT_LIMIT + 1024, "%d bytes of output reached the client" % received
    assert received >= DEFAULT_OUTPUT_LIMIT - 64 * 1024, "only %d bytes before the limit cut in" % received
    notes = flood_notes(content, msgs)
    assert any(re.search(LIMIT_NOTE, n) for n in notes), \
        "no note naming the output limit among %r" % notes[-10:]
    assert_kernel_usable_after_flood(fresh_kernel)


def test_output_limit_is_configurable(jupyter_home):
    limit = 100000
    k = start_session(env={"CONCLAB_OUTPUT_LIMIT": str(limit)})
    try:
        content, msgs, received = flood(k, "stdout", timeout=30)
        assert received <= limit + 64 * 1024, "%d bytes got through a %d-byte limit" % (received, limit)
        assert received >= limit // 2, "only %d bytes before a %d-byte limit cut in" % (received, limit)
        notes = flood_notes(content, msgs)
        assert any(str(limit) in n or re.search(r"(100|97\.\d+)\s*(kB|KB|KiB)", n) for n in notes), \
            "no note naming the %d-byte limit among %r" % (limit, notes[-10:])
        assert_kernel_usable_after_flood(k)
    finally:
        stop_session(k)


# ---- the output limit at every boundary (issue 12 item 4) -------------------------------------------

# 2 x 64 KiB: a read of the kernel's 64 KiB chunks can end exactly on it, and stdio's 4 KiB
# flushes of a 16-byte fputs reach it exactly too.
EXACT_LIMIT = 131072
LIMIT_FLOODS = {
    "fputs": 'for (;;) fputs("0123456789abcdef", stdout);',
    "write": 'static char lf_buf[65536];\nmemset(lf_buf, \'w\', sizeof lf_buf);\n'
             'for (;;) if (write(1, lf_buf, sizeof lf_buf) < 0) break;',
    "one_printf": 'char *lf_big = malloc(50 << 20);\nmemset(lf_big, \'p\', (50 << 20) - 2);\n'
                  'lf_big[(50 << 20) - 2] = \'\\n\'; lf_big[(50 << 20) - 1] = 0;\nprintf("%s", lf_big);',
    "one_line": 'char *lf_line = malloc(10 << 20);\nmemset(lf_line, \'l\', (10 << 20) - 1);\n'
                'lf_line[(10 << 20) - 1] = 0;\nfputs(lf_line, stdout);\nfflush(stdout);\nfor (;;) pause();',
}


@pytest.fixture(scope="module")
def exact_limit_kernel(jupyter_home):
    k = start_session(env={"CONCLAB_OUTPUT_LIMIT": str(EXACT_LIMIT)})
    try:
        k.run_ok("int lf_kept = 41;\nlf_kept++;")
        yield k
    finally:
        stop_session(k)


@pytest.mark.parametrize("kind", sorted(LIMIT_FLOODS))
def test_output_limit_holds_at_every_boundary(exact_limit_kernel, kind):
    k = exact_limit_kernel
    started = time.monotonic()
    content, msgs = k.run("#include <unistd.h>\n" + LIMIT_FLOODS[kind], timeout=60)
    elapsed = time.monotonic() - started
    out = stream_text(msgs).encode()
    assert content["status"] == "error" and content["ename"] == "OutputLimitExceeded", \
        describe_failure(kind, content, msgs)
    assert len(out) <= EXACT_LIMIT, "%d bytes of stdout got through a %d-byte limit" % (len(out), EXACT_LIMIT)
    assert len(out) >= EXACT_LIMIT - 4096, "only %d bytes arrived before the limit cut in" % len(out)
    assert any(str(EXACT_LIMIT) in line for line in stream_text(msgs, "stderr").splitlines()), \
        "no note naming the limit: %r" % stream_text(msgs, "stderr")[-300:]
    assert elapsed < 30, "the cell was stopped only after %.1f s" % elapsed
    assert stdout_of(k, 'printf("%d\\n", lf_kept);') == "42\n", "the notebook's state was lost"


def test_a_huge_string_value_is_shown_short(exact_limit_kernel):
    """A 20 MB string as the cell's value: shown abridged (render.h), quickly, the state kept."""
    k = exact_limit_kernel
    k.run_ok("char *lf_huge;\nlf_huge = malloc(20 << 20);\nmemset(lf_huge, 'h', (20 << 20) - 1);\n"
             "lf_huge[(20 << 20) - 1] = 0;")
    started = time.monotonic()
    content, msgs = k.run("lf_huge")
    assert content["status"] == "ok", describe_failure("lf_huge", content, msgs)
    shown = result_text(msgs)
    assert shown.startswith('"hhhh') and shown.endswith("…") and len(shown.encode()) < EXACT_LIMIT, shown[-80:]
    assert time.monotonic() - started < 10
    assert stdout_of(k, 'printf("%d\\n", lf_kept);') == "42\n"
