"""test_display.py — rich display from C (issue 13, item 2) through jupyter_client.

What a cell shows with <conclab/display.h> arrives as display_data with a display id, updates as
update_display_data naming it, clears as clear_output; all in the cell that made them and in order
with its text, from the cell, its threads and the processes it forks. Bad input is refused with a
reason on stderr and nothing else is lost; big pictures travel whole; a display counts against
the cell's output limit; a thread left running can still show things between cells.
"""
import base64
import json
import re
import struct
import zlib

from kernel_session import _kernel_pid, describe_failure, of_type, outputs, start_session, stop_session, stream_text


def shown(msgs):
    """(kind, id, data) of each display message, in order."""
    return [(m["msg_type"], m["content"].get("transient", {}).get("display_id"), m["content"]["data"])
            for m in msgs if m["msg_type"] in ("display_data", "update_display_data")]


def sequence(msgs):
    """Each output as a short token, in arrival order: text lines, displays, clears."""
    seq = []
    for m in outputs(msgs):
        t, c = m["msg_type"], m["content"]
        if t == "stream":
            seq += ["%s:%s" % (c["name"], line) for line in c["text"].splitlines()]
        elif t in ("display_data", "update_display_data"):
            seq.append("%s:%s" % (t, c["data"].get("text/plain")))
        elif t == "clear_output":
            seq.append("clear:%s" % c["wait"])
    return seq


def run_ok(k, code, timeout=30):
    content, msgs = k.run(code, timeout=timeout)
    assert content["status"] == "ok", describe_failure(code, content, msgs)
    return msgs


def test_every_kind_arrives_as_display_data_with_an_id(k):
    msgs = run_ok(k, r'''
cl_display_svg("<svg xmlns='http://www.w3.org/2000/svg' width='4' height='4'/>");
cl_display_html("<b>bold</b>");
cl_display_markdown("# Title");
cl_display_latex("$$x^2$$");
cl_display_json("{\"threads\": [1, 2], \"ok\": true}");
cl_display_text("just text");
''')
    got = shown(msgs)
    assert [kind for kind, _, _ in got] == ["display_data"] * 6
    ids = [i for _, i, _ in got]
    assert all(re.fullmatch(r"cl-\d+-\d+", i) for i in ids) and len(set(ids)) == 6, ids
    data = [d for _, _, d in got]
    assert data[0]["image/svg+xml"].startswith("<svg")
    assert data[1]["text/html"] == "<b>bold</b>"
    assert data[2]["text/markdown"] == "# Title"
    assert data[3]["text/latex"] == "$$x^2$$"
    assert data[4]["application/json"] == {"threads": [1, 2], "ok": True}
    assert data[5] == {"text/plain": "just text"}
    assert all("text/plain" in d for d in data)  # consoles have something to show


def tiny_png(width, height):
    """A valid PNG of random-looking rows, big enough to need the memfd path when large."""
    rows = b"".join(b"\0" + bytes((x * 7 + y * 13) % 256 for x in range(width * 3)) for y in range(height))
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 0)) + chunk(b"IEND", b""))


def test_png_from_a_file_and_a_big_one_arrive_whole(k, tmp_path):
    small, big = tiny_png(4, 4), tiny_png(400, 300)  # the big one is ~360 KB: past a datagram
    (tmp_path / "small.png").write_bytes(small)
    (tmp_path / "big.png").write_bytes(big)
    msgs = run_ok(k, 'cl_display_png_file("%s");\ncl_display_png_file("%s");' % (tmp_path / "small.png", tmp_path / "big.png"))
    got = shown(msgs)
    assert len(got) == 2
    assert base64.b64decode(got[0][2]["image/png"]) == small
    assert base64.b64decode(got[1][2]["image/png"]) == big


def test_updates_name_the_display_they_change(k):
    msgs = run_ok(k, r'''
cl_display_id counter = cl_display_text("0 done");
cl_display_id other = cl_display_markdown("other");
for (int i = 1; i <= 3; i++) cl_update_printf(counter, "text/plain", "%d done", i);
cl_update_markdown(other, "*other, changed*");
''')
    got = shown(msgs)
    first, second = got[0][1], got[1][1]
    assert [(kind, i) for kind, i, _ in got[2:]] == [("update_display_data", first)] * 3 + [("update_display_data", second)]
    assert [d["text/plain"] for _, _, d in got[2:5]] == ["1 done", "2 done", "3 done"]
    assert got[5][2]["text/markdown"] == "*other, changed*"


def test_a_display_keeps_its_place_among_the_text(k):
    msgs = run_ok(k, r'''
printf("one\n");
cl_display_text("two");
printf("three");            /* no newline: still buffered when the next display comes */
cl_display_text("four");
fprintf(stderr, "five\n");
cl_clear_output(1);
printf("six\n");
cl_clear_output(0);
printf("seven\n");
''')
    assert sequence(msgs) == ["stdout:one", "display_data:two", "stdout:three", "display_data:four",
                              "stderr:five", "clear:True", "stdout:six", "clear:False", "stdout:seven"]


def test_a_display_comes_after_all_the_text_before_it_however_long(k):
    msgs = run_ok(k, r'''
for (int i = 0; i < 20000; i++) printf("line %05d of text before the picture\n", i);
cl_display_text("the picture");
printf("after\n");
''')
    out = outputs(msgs)
    at = [m["msg_type"] for m in out].index("display_data")
    before = "".join(m["content"]["text"] for m in out[:at])
    after = "".join(m["content"]["text"] for m in out[at + 1:])
    assert before == "".join("line %05d of text before the picture\n" % i for i in range(20000))
    assert after == "after\n"


def test_threads_and_forked_children_show_in_the_cell_in_order(k):
    msgs = run_ok(k, r'''
void *dt_worker(void *arg) {
    long n = (long)arg;
    for (int i = 0; i < 3; i++) {
        printf("thread %ld line %d\n", n, i);
        cl_display_printf("text/plain", "thread %ld display %d", n, i);
    }
    return NULL;
}
cl_thread *dt_threads[4];
for (long i = 0; i < 4; i++) dt_threads[i] = cl_thread_start(dt_worker, (void *)i);
for (int i = 0; i < 4; i++) cl_thread_join(dt_threads[i]);
for (int c = 0; c < 3; c++) {
    pid_t child = fork();
    if (child == 0) {
        for (int i = 0; i < 3; i++) {
            printf("child %d line %d\n", c, i);
            cl_display_printf("text/plain", "child %d display %d", c, i);
        }
        fflush(stdout);
        _exit(0);
    }
    waitpid(child, NULL, 0);
}
printf("end\n");
''')
    seq = sequence(msgs)
    assert seq[-1] == "stdout:end"
    for who in ["thread %d" % n for n in range(4)] + ["child %d" % c for c in range(3)]:
        mine = [s for s in seq if (who + " ") in s]
        want = []
        for i in range(3):
            want += ["stdout:%s line %d" % (who, i), "display_data:%s display %d" % (who, i)]
        assert mine == want, (who, seq)


def test_progress_bar_ticks_while_threads_run(k):
    msgs = run_ok(k, r'''
cl_progress *pb = cl_progress_new("crunching", 40);
void *pb_work(void *arg) { (void)arg; for (int i = 0; i < 10; i++) { cl_sleep(0.03); cl_progress_advance(pb, 1); } return NULL; }
cl_thread *pb_t[4];
for (int i = 0; i < 4; i++) pb_t[i] = cl_thread_start(pb_work, NULL);
for (int i = 0; i < 4; i++) cl_thread_join(pb_t[i]);
cl_progress_done(pb);
''')
    got = shown(msgs)
    assert got[0][0] == "display_data" and "image/svg+xml" in got[0][2]
    bar_id = got[0][1]
    updates = got[1:]
    assert len(updates) >= 2 and all(kind == "update_display_data" and i == bar_id for kind, i, _ in updates)
    counts = [int(re.search(r"(\d+)/40", d["text/plain"]).group(1)) for _, _, d in got]
    assert counts == sorted(counts) and counts[0] == 0 and counts[-1] == 40, counts
    assert 0 < counts[1] < 40  # it ticked while the threads ran, not only at the end
    assert "100%" in updates[-1][2]["image/svg+xml"]


def test_bad_displays_are_refused_with_a_reason_and_the_cell_goes_on(k):
    content, msgs = k.run(r'''
cl_display_json("{not json");
cl_display_png("not a png", 9);
cl_mime weird = {"no-slash", "x", 0};
cl_display(&weird, 1);
int upd_rc = cl_update_text(12345, "to a display nobody made");
printf("still here %d\n", upd_rc);
''')
    assert content["status"] == "ok", describe_failure("", content, msgs)
    err = stream_text(msgs, "stderr")
    assert "cl_display_json: not valid JSON" in err
    assert "cl_display_png: not a PNG image" in err
    assert "cl_display: a representation without a MIME type" in err
    assert "cl_update_text: no display with that id was shown" in err
    assert stream_text(msgs) == "still here -1\n"
    assert shown(msgs) == []  # nothing false reached the notebook


def test_a_flood_of_displays_meets_the_output_limit():
    session = start_session(env={"CONCLAB_OUTPUT_LIMIT": "200000"})
    try:
        code = r'''
char *fl_big = malloc(50001); memset(fl_big, 'x', 50000); fl_big[50000] = 0;
for (int i = 0; i < 100; i++) cl_display_text(fl_big);
'''
        content, msgs = session.run("#include <string.h>\n#include <stdlib.h>\n" + code, timeout=30)
        assert content["status"] == "error", describe_failure(code, content, msgs)
        assert 1 <= len(shown(msgs)) <= 4
        assert "output limit reached" in stream_text(msgs, "stderr")
        content, msgs = session.run('printf("next\\n");')
        assert content["status"] == "ok" and stream_text(msgs) == "next\n"
    finally:
        stop_session(session)


def test_a_thread_left_running_shows_between_cells(k):
    code = r'''
void *late_worker(void *arg) { (void)arg; cl_sleep(0.3); cl_display_text("late display"); return NULL; }
cl_thread_start(late_worker, NULL);
'''
    msg_id = k.execute(code)
    k.wait_for_reply(msg_id, 20)
    late = k.wait_for_iopub(msg_id, lambda m: m["msg_type"] == "display_data"
                            and m["content"]["data"].get("text/plain") == "late display", 10)
    assert late["parent_header"]["msg_id"] == msg_id  # it belongs to the cell that started it
    content, msgs = k.run('printf("after\\n");')
    assert content["status"] == "ok" and stream_text(msgs) == "after\n"


def test_threads_show_while_the_cell_waits_for_input(k):
    code = r"""
void *in_worker(void *arg) { (void)arg; cl_sleep(0.2); cl_display_text("shown while input waits"); return NULL; }
cl_thread *in_t = cl_thread_start(in_worker, NULL);
char in_line[32];
if (fgets(in_line, sizeof in_line, stdin)) printf("read %s", in_line);
cl_thread_join(in_t);
"""
    content, msgs = k.run(code, stdin_lines=["typed"], answer_delay=1.5, timeout=30)
    assert content["status"] == "ok", describe_failure(code, content, msgs)
    display = next(m for m in msgs if m["msg_type"] == "display_data")
    asked = k.input_requests[0]["_t"]
    assert display["_t"] - asked < 1.0  # not held until the answer came, 1.5 s later
    assert stream_text(msgs) == "read typed\n"


def test_a_cell_that_closes_the_display_socket_is_told_and_later_cells_still_show():
    session = start_session()
    try:
        code = r"""#include <sys/socket.h>
for (int fd = 3; fd < 4096; fd++) {
    int type = 0; socklen_t len = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_SEQPACKET) close(fd);
}
"""
        content, msgs = session.run(code)
        assert content["status"] == "error" and content["ename"] == "DescriptorClosed", describe_failure(code, content, msgs)
        content, msgs = session.run('cl_display_text("after");')
        assert content["status"] == "ok", describe_failure("", content, msgs)
        assert [d for _, _, d in shown(msgs)] == [{"text/plain": "after"}]
    finally:
        stop_session(session)


def test_a_display_too_big_for_the_limit_is_refused_before_it_costs_the_kernel():
    session = start_session(env={"CONCLAB_OUTPUT_LIMIT": "1000000"})
    try:
        code = r"""#include <stdlib.h>
#include <string.h>
size_t big_n = 20u << 20;
char *big = malloc(big_n + 3);
big[0] = '[';
for (size_t i = 1; i < big_n; i += 2) { big[i] = '0'; big[i + 1] = ','; }
big[big_n - 1] = '0'; big[big_n] = ']'; big[big_n + 1] = 0;
double big_t0 = cl_now();
cl_display_id big_id = cl_display_json(big);
printf("id %lld after %.2f s\n", big_id, cl_now() - big_t0);
"""
        kernel = _kernel_pid(session.km)
        content, msgs = session.run(code, timeout=60)
        assert content["status"] == "error" and content["ename"] == "OutputLimitExceeded", describe_failure(code, content, msgs)
        assert "output limit reached" in stream_text(msgs, "stderr")
        assert shown(msgs) == []
        # refused by its size, not after parsing 40 MB of JSON (which costs the kernel ~0.5 GB)
        peak_kb = int(re.search(r"VmHWM:\s+(\d+) kB", open("/proc/%d/status" % kernel).read()).group(1))
        assert peak_kb < 100 * 1024, peak_kb
        content, msgs = session.run('printf("next\\n");')
        assert content["status"] == "ok" and stream_text(msgs) == "next\n"
    finally:
        stop_session(session)


def test_progress_bar_keeps_its_last_state_when_a_child_advances_after_done(k):
    msgs = run_ok(k, r"""
cl_progress *late_bar = cl_progress_new("late", 10);
pid_t late_child = fork();
if (late_child == 0) { cl_sleep(0.3); for (int i = 0; i < 50; i++) { cl_progress_advance(late_bar, 1); cl_sleep(0.01); } _exit(0); }
cl_progress_advance(late_bar, 10);
cl_progress_done(late_bar);
waitpid(late_child, NULL, 0);
""")
    got = shown(msgs)
    assert "10/10" in got[-1][2]["text/plain"] and "100%" in got[-1][2]["text/plain"], got[-1]
