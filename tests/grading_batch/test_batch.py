"""`conclab grade DIR/`: a class of 100 generated submissions graded the way an instructor does it.

Run by ctest as cli_grading_batch (CONCLAB_BIN names the conclab executable). The class and what
each submission deserves come from make_class.py, graded once per session (conftest.py); every
test runs the real conclab binary on real files and reads what it leaves on disk.
"""
import html.parser
import csv
import fcntl
import json
import os
import pty
import re
import shutil
import signal
import subprocess
import time

import pytest

from batch_helpers import CELL_TIMEOUT, CONCLAB, QUESTIONS, copy_class, grade, read_summary, results_mtimes, without_folder
import make_class


def test_every_submission_gets_a_report(graded_class):
    outdir, expected = graded_class["outdir"], graded_class["expected"]
    assert len(expected) == 100
    for student in expected:
        with open(os.path.join(outdir, student, "results.json")) as f:
            report = json.load(f)
        assert report["schema"] == "conclab-grade/1", student
    log = graded_class["log"]
    assert "[100/100]" in log, log[-2000:]  # not a terminal: one line per submission


def test_summary_has_one_row_per_student_with_the_deserved_points(graded_class):
    rows = read_summary(graded_class["outdir"])
    expected = graded_class["expected"]
    assert sorted(rows) == sorted(expected)
    wrong = []
    for student, (variant, status, points) in expected.items():
        row = rows[student]
        if row["status"] != status:
            wrong.append("%s: status %s, expected %s (%s)" % (student, row["status"], status, row["error"]))
            continue
        if status != "graded":
            assert row["error"], student  # a per-file error says why
            assert float(row["score"]) == 0, student
            continue
        got = {q: float(row[q]) for q in QUESTIONS}
        if got != points:
            wrong.append("%s (%s): %s, expected %s" % (student, variant, got, points))
        assert float(row["score"]) == sum(got.values()) and float(row["max_score"]) == 7, student
    assert not wrong, "\n".join(wrong)


def test_summary_json_agrees_with_the_csv(graded_class):
    with open(os.path.join(graded_class["outdir"], "summary.json")) as f:
        summary = json.load(f)
    rows = read_summary(graded_class["outdir"])
    assert [q["grade_id"] for q in summary["questions"]] == QUESTIONS
    assert summary["counts"]["students"] == 100
    unreadable = sum(1 for r in rows.values() if r["status"] == "unreadable")
    assert summary["counts"]["unreadable"] == unreadable == 15
    for s in summary["students"]:
        row = rows[s["student"]]
        assert s["status"] == row["status"]
        if s["status"] == "graded":
            assert s["score"] == float(row["score"])
            assert s["feedback"] == s["student"] + "/feedback.html"
    hang = next(q for q in summary["questions"] if q["grade_id"] == "hang_test")
    assert hang["zero"] == 6 and hang["full"] == 79  # the deadlocking six lose it, nobody else


class PageChecker(html.parser.HTMLParser):
    """Every element closed in order (void elements aside), and what the page holds."""
    VOID = {"meta", "br", "img", "line", "rect", "hr", "input", "link"}

    def __init__(self):
        super().__init__()
        self.stack, self.problems, self.charts, self.links = [], [], 0, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "svg" and attrs.get("class") == "chart":
            self.charts += 1
        if tag == "a":
            self.links.append(attrs.get("href"))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append("</%s> closes <%s>" % (tag, self.stack[-1] if self.stack else "nothing"))
        else:
            self.stack.pop()


def test_overview_is_valid_html_with_a_chart_per_question(graded_class):
    outdir = graded_class["outdir"]
    with open(os.path.join(outdir, "overview.html"), encoding="utf-8") as f:
        page = f.read()
    assert page.startswith("<!DOCTYPE html>")
    checker = PageChecker()
    checker.feed(page)
    checker.close()
    assert not checker.problems and not checker.stack, (checker.problems, checker.stack)
    assert checker.charts == len(QUESTIONS) + 1  # one per question and the total
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    for q in QUESTIONS:
        assert ">%s <small>" % q in page
    assert "s100_huge" in page and "unreadable" in page  # the per-file errors are listed
    graded = [s for s, (_, status, _) in graded_class["expected"].items() if status == "graded"]
    assert {s + "/feedback.html" for s in graded} <= set(checker.links)  # every graded student's page
    for href in checker.links:
        assert os.path.exists(os.path.join(outdir, href)), href


def test_only_regrades_one_student_and_updates_the_summary(graded_class, tmp_path):
    subs, source = copy_class(graded_class, tmp_path)
    outdir = str(tmp_path / "graded")
    shutil.copytree(graded_class["outdir"], outdir)
    before = results_mtimes(outdir)
    # the student resubmits a racy counter; only they are regraded
    with open(os.path.join(subs, "s001_correct.ipynb"), "wb") as f:
        f.write(make_class.dump(make_class.answered(counter=make_class.RACY)))
    run = grade(subs, "--source", source, "-o", outdir, "--only", "s001_correct", "--timeout", CELL_TIMEOUT)
    assert run.returncode == 0, run.stderr
    after = results_mtimes(outdir)
    assert [s for s in after if after[s] != before[s]] == ["s001_correct"]
    assert "[1/1] s001_correct: 4/7" in run.stderr, run.stderr
    rows = read_summary(outdir)
    assert len(rows) == 100 and float(rows["s001_correct"]["counter_test"]) == 0
    assert read_summary(graded_class["outdir"])["s002_correct"] == rows["s002_correct"]


def test_an_unknown_only_name_is_a_usage_error(graded_class):
    run = grade(graded_class["subs"], "--source", graded_class["source"], "-o", graded_class["outdir"],
                "--only", "nobody")
    assert run.returncode == 2 and "nobody" in run.stderr


def test_two_shards_then_the_summary_equal_the_unsharded_batch(graded_class, tmp_path):
    chosen = {s for i, s in enumerate(sorted(graded_class["expected"])) if i % 10 == 0 or "huge" in s}
    subs, source = copy_class(graded_class, tmp_path, chosen)
    outdir = str(tmp_path / "sharded")
    logs = []
    for shard in ("1/2", "2/2"):
        run = grade(subs, "--source", source, "-o", outdir, "--shard", shard, "--jobs", "2", "--timeout", CELL_TIMEOUT)
        assert run.returncode == 0, run.stderr
        logs.append(run.stderr)
    graded_first = {line.split(":")[0].split("] ")[1] for line in logs[0].splitlines() if line.startswith("[")}
    graded_second = {line.split(":")[0].split("] ")[1] for line in logs[1].splitlines() if line.startswith("[")}
    assert graded_first | graded_second == chosen and not graded_first & graded_second
    assert abs(len(graded_first) - len(graded_second)) <= 1
    run = grade(subs, "--source", source, "-o", outdir, "--summary-only")
    assert run.returncode == 0, run.stderr
    whole = without_folder(read_summary(graded_class["outdir"]), graded_class["subs"])
    sharded = without_folder(read_summary(outdir), subs)
    assert sharded == {s: whole[s] for s in chosen}


def test_a_student_another_batch_is_grading_is_left_to_it(graded_class, tmp_path):
    """A second `conclab grade` over the same output (another terminal, overlapping Slurm shards)
    leaves alone the student whose grading the first holds: here the test holds that lock."""
    chosen = {s for s in graded_class["expected"] if s < "s005"}
    subs, source = copy_class(graded_class, tmp_path, chosen)
    outdir = str(tmp_path / "graded")
    busy = sorted(chosen)[1]
    os.makedirs(os.path.join(outdir, busy))
    with open(os.path.join(outdir, busy, ".grading.lock"), "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        run = grade(subs, "--source", source, "-o", outdir, "--jobs", "2", "--timeout", CELL_TIMEOUT)
        assert run.returncode == 0, run.stderr
        assert "%s: another conclab grade is grading it now: left to it" % busy in run.stderr, run.stderr
        assert "1 left to another conclab grade grading them" in run.stderr, run.stderr
        assert not os.path.exists(os.path.join(outdir, busy, "results.json"))
        assert all(os.path.exists(os.path.join(outdir, s, "results.json")) for s in chosen - {busy})
    # the lock let go (the other batch ended): the next run grades that student, and only them
    before = results_mtimes(outdir)
    run = grade(subs, "--source", source, "-o", outdir, "--jobs", "2", "--timeout", CELL_TIMEOUT)
    assert run.returncode == 0, run.stderr
    after = results_mtimes(outdir)
    assert [s for s in after if after.get(s) != before.get(s)] == [busy], run.stderr
    rows = read_summary(outdir)
    assert rows[busy]["status"] == graded_class["expected"][busy][1]


def test_a_batch_killed_outright_takes_its_graders_and_locks_with_it(graded_class, tmp_path):
    """SIGKILL leaves the batch no say: its graders die with it (they would otherwise grade on,
    unlocked, beside the next batch), and the next run finds every student free."""
    chosen = {s for s in graded_class["expected"] if "deadlocking" in s}
    subs, source = copy_class(graded_class, tmp_path, chosen)
    outdir = str(tmp_path / "graded")
    # a deadlocked cell keeps its grader busy for the whole 30 s cell limit: long after the checks below
    args = [CONCLAB, "grade", subs, "--source", source, "-o", outdir, "--jobs", "2", "--timeout", "30"]
    batch = subprocess.Popen(args, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(
            [f for f in (os.listdir(outdir) if os.path.isdir(outdir) else []) if f.startswith("s")]) < 2:
        time.sleep(0.05)
    time.sleep(0.5)  # the two graders are into the deadlocking cell
    batch.kill()
    batch.wait(timeout=10)
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and subprocess.run(["pgrep", "-f", outdir], capture_output=True).returncode == 0:
        time.sleep(0.1)
    left = subprocess.run(["pgrep", "-a", "-f", outdir], capture_output=True, text=True).stdout
    assert left.strip() == "", left
    run = grade(subs, "--source", source, "-o", outdir, "--jobs", "2", "--timeout", CELL_TIMEOUT)
    assert run.returncode == 0, run.stderr
    assert "grading it now" not in run.stderr, run.stderr
    assert len(results_mtimes(outdir)) == len(chosen), run.stderr


def test_an_interrupted_batch_resumes_without_regrading(graded_class, tmp_path):
    chosen = {s for s in graded_class["expected"] if s < "s017"}
    subs, source = copy_class(graded_class, tmp_path, chosen)
    outdir = str(tmp_path / "graded")
    args = [CONCLAB, "grade", subs, "--source", source, "-o", outdir, "--jobs", "2", "--timeout", CELL_TIMEOUT]
    batch = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while len(results_mtimes(outdir) if os.path.isdir(outdir) else {}) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    batch.send_signal(signal.SIGINT)
    _, log = batch.communicate(timeout=60)
    assert batch.returncode == 130, log
    assert "interrupted" in log
    first = results_mtimes(outdir)
    assert 4 <= len(first) < len(chosen), log  # stopped midway
    # the last line counts what was done, not what was planned
    done = re.search(r"conclab grade: (\d+) submissions? graded, (\d+) failed, 0 already graded, (\d+) not reached", log)
    assert done, log
    graded, failed, not_reached = map(int, done.groups())
    assert graded <= len(first) and not_reached >= 1 and graded + failed + not_reached == len(chosen), log
    # no grader of this batch is left running
    out = subprocess.run(["pgrep", "-f", outdir], capture_output=True, text=True).stdout
    assert out.strip() == "", out

    run = grade(subs, "--source", source, "-o", outdir, "--jobs", "2", "--timeout", CELL_TIMEOUT)
    assert run.returncode == 0, run.stderr
    after = results_mtimes(outdir)
    assert len(after) == len(chosen)
    assert "%d already graded" % len(first) in run.stderr, run.stderr
    for student, mtime in first.items():
        assert after[student] == mtime, student + " was graded again"
        assert "%s: already graded" % student in run.stderr
    whole = without_folder(read_summary(graded_class["outdir"]), graded_class["subs"])
    assert without_folder(read_summary(outdir), subs) == {s: whole[s] for s in chosen}


def test_a_submission_over_its_time_limit_is_an_error_and_the_batch_goes_on(graded_class, tmp_path):
    subs, source = copy_class(graded_class, tmp_path, {"s001_correct", "s051_deadlocking"})
    outdir = str(tmp_path / "graded")
    run = grade(subs, "--source", source, "-o", outdir, "--timeout", "30", "--submission-timeout", "3")
    assert run.returncode == 0, run.stderr
    rows = read_summary(outdir)
    assert rows["s001_correct"]["status"] == "graded" and float(rows["s001_correct"]["score"]) == 7
    assert rows["s051_deadlocking"]["status"] == "error"
    assert "time limit" in rows["s051_deadlocking"]["error"] or "longer than" in rows["s051_deadlocking"]["error"]
    # the killed grader's whole process group went with it
    left = subprocess.run(["pgrep", "-f", "s051_deadlocking"], capture_output=True, text=True).stdout
    assert left.strip() == "", left
    # no report: the next run grades it again (with the whole-submission limit raised, in full)
    run = grade(subs, "--source", source, "-o", outdir, "--timeout", CELL_TIMEOUT)
    assert "s051_deadlocking: 5/7" in run.stderr, run.stderr
    assert "s001_correct: options changed: regrading" in run.stderr, run.stderr  # --timeout 30 before
    assert read_summary(outdir)["s051_deadlocking"]["status"] == "graded"


def test_a_terminal_gets_a_progress_bar(graded_class, tmp_path):
    subs, source = copy_class(graded_class, tmp_path, {"s001_correct", "s002_correct", "s090_not_json"})
    outdir = str(tmp_path / "graded")
    primary, secondary = pty.openpty()
    batch = subprocess.Popen([CONCLAB, "grade", subs, "--source", source, "-o", outdir, "--jobs", "1"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=secondary)
    os.close(secondary)
    shown = b""
    while True:  # read as it comes: a full terminal would stall the batch
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # EIO: every writer has closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(primary)
    text = shown.decode()
    assert batch.wait(timeout=120) == 0, text
    assert "\r\033[K[" in text and "3/3  errors 1" in text and "ETA" in text, text
    assert "s090_not_json: unreadable" in text  # an error keeps a line of its own
    assert "[1/3]" not in text  # no per-submission log lines on a terminal


def test_nbgrader_folders_and_odd_entries(tmp_path):
    subs = tmp_path / "submitted"
    (subs / "alice").mkdir(parents=True)
    (subs / "alice" / "homework.ipynb").write_bytes(make_class.dump(make_class.source_notebook()))
    (subs / "bob").mkdir()  # submitted nothing
    (subs / "carol").mkdir()
    for name in ("a.ipynb", "b.ipynb"):
        (subs / "carol" / name).write_text("{}")
    (subs / ".ipynb_checkpoints").mkdir()
    odd = "Zoë, O'Brien & <co>"  # a name to quote in CSV, escape in HTML and encode in a link
    (subs / (odd + ".ipynb")).write_bytes(make_class.dump(make_class.source_notebook()))
    source = tmp_path / "homework.ipynb"
    source.write_bytes(make_class.dump(make_class.source_notebook()))
    outdir = subs / "graded"  # inside the folder: not a student
    run = grade(str(subs), "--source", str(source), "-o", str(outdir), "--timeout", CELL_TIMEOUT)
    assert run.returncode == 0, run.stderr
    rows = read_summary(str(outdir))
    assert sorted(rows) == sorted(["alice", "bob", "carol", odd])
    assert rows[odd]["status"] == "graded" and float(rows[odd]["score"]) == 7
    with open(outdir / "overview.html", encoding="utf-8") as f:
        page = f.read()
    assert "Zoë, O&#39;Brien &amp; &lt;co&gt;" in page and "<co>" not in page
    assert 'href="Zo%C3%AB%2C%20O%27Brien%20%26%20%3Cco%3E/feedback.html"' in page
    assert rows["alice"]["status"] == "graded" and float(rows["alice"]["score"]) == 7
    assert rows["bob"]["status"] == "error" and "no notebook" in rows["bob"]["error"]
    assert rows["carol"]["status"] == "error" and "2 notebooks" in rows["carol"]["error"]


@pytest.mark.parametrize("args, message", [
    ([], "--source"),
    (["--source", "MISSING.ipynb"], "MISSING.ipynb"),
    (["--source", "SOURCE", "--shard", "3/2"], "--shard"),
    (["--source", "SOURCE", "--jobs", "0"], "--jobs"),
    (["--source", "SOURCE", "--bogus"], "--bogus"),
])
def test_usage_errors(graded_class, tmp_path, args, message):
    args = [graded_class["source"] if a == "SOURCE" else a for a in args]
    run = grade(graded_class["subs"], "-o", str(tmp_path / "out"), *args)
    assert run.returncode == 2 and message in run.stderr, run.stderr
    assert not (tmp_path / "out").exists()  # nothing written


def test_a_failed_regrade_shows_as_an_error_not_the_old_score(graded_class, tmp_path):
    subs, source = copy_class(graded_class, tmp_path, {"s001_correct"})
    outdir = str(tmp_path / "graded")
    shutil.copytree(os.path.join(graded_class["outdir"], "s001_correct"), os.path.join(outdir, "s001_correct"))
    assert grade(subs, "--source", source, "-o", outdir, "--summary-only").returncode == 0
    assert read_summary(outdir)["s001_correct"]["status"] == "graded"
    os.utime(source)  # the source was fixed: the regrade is killed before it can write a report
    run = grade(subs, "--source", source, "-o", outdir, "--submission-timeout", "0.05")
    assert "s001_correct: error:" in run.stderr, run.stderr
    row = read_summary(outdir)["s001_correct"]
    assert row["status"] == "error" and row["score"] == "" and "longer than" in row["error"], row
    student = os.path.join(outdir, "s001_correct")
    assert not os.path.exists(os.path.join(student, "results.json"))
    assert not os.path.exists(os.path.join(student, "feedback.html"))  # no stale page for the student
    assert os.path.exists(os.path.join(student, "results.previous.json"))
    students = {s["student"]: s for s in json.load(open(os.path.join(outdir, "summary.json")))["students"]}
    assert students["s001_correct"]["status"] == "error" and students["s001_correct"]["score"] is None


def test_resume_regrades_a_submission_graded_with_other_options(graded_class, tmp_path):
    subs, source = copy_class(graded_class, tmp_path, {"s001_correct"})
    outdir = str(tmp_path / "graded")
    shutil.copytree(os.path.join(graded_class["outdir"], "s001_correct"), os.path.join(outdir, "s001_correct"))
    same = ["--timeout", CELL_TIMEOUT]
    run = grade(subs, "--source", source, "-o", outdir, *same)
    assert "s001_correct: already graded" in run.stderr, run.stderr
    before = results_mtimes(outdir)["s001_correct"]
    run = grade(subs, "--source", source, "-o", outdir, *same, "--seed", "7")
    assert "s001_correct: options changed: regrading" in run.stderr, run.stderr
    assert "s001_correct: already graded" not in run.stderr and results_mtimes(outdir)["s001_correct"] != before
    run = grade(subs, "--source", source, "-o", outdir, *same, "--seed", "7")
    assert "s001_correct: already graded" in run.stderr, run.stderr


def test_grading_without_a_sandbox_is_said_where_the_instructor_looks(graded_class, tmp_path):
    subs, source = copy_class(graded_class, tmp_path, {"s001_correct", "s002_correct"})
    outdir = str(tmp_path / "graded")
    no_bwrap = tmp_path / "bin"  # a PATH without bwrap: the grader falls back to no sandbox
    no_bwrap.mkdir()
    run = grade(subs, "--source", source, "-o", outdir, "--jobs", "1", "--timeout", CELL_TIMEOUT,
                env=dict(os.environ, PATH=str(no_bwrap)))
    assert run.returncode == 0, run.stderr
    assert run.stderr.count("WITHOUT a sandbox") == 1, run.stderr  # once per batch, with the count
    assert "2 submissions were graded WITHOUT a sandbox" in run.stderr, run.stderr
    summary = json.load(open(os.path.join(outdir, "summary.json")))
    assert summary["counts"]["unsandboxed"] == 2
    assert [s["sandboxed"] for s in summary["students"]] == [False, False]
    page = open(os.path.join(outdir, "overview.html")).read()
    assert 'class="warning"' in page and "without a sandbox" in page and "s002_correct" in page.split("<h2>")[0]


def test_a_sandboxed_class_has_no_sandbox_warning(graded_class):
    if not shutil.which("bwrap"):
        pytest.skip("bwrap is not installed here")
    summary = json.load(open(os.path.join(graded_class["outdir"], "summary.json")))
    assert summary["counts"]["unsandboxed"] == 0
    assert all(s["sandboxed"] is not False for s in summary["students"])
    assert 'class="warning"' not in open(os.path.join(graded_class["outdir"], "overview.html")).read()
    assert "WITHOUT a sandbox" not in graded_class["log"]


def grade_odd_names(source, tmp_path):
    """A batch of empty files (unreadable at once, no code to run) whose names are the point."""
    subs = tmp_path / "batch"
    subs.mkdir()
    for name in ["=HYPERLINK(1)", "+1", "-2", "@SUM(A1)", "bell\x07name", "plain"]:
        (subs / (name + ".ipynb")).write_text("")
    outdir = str(tmp_path / "graded")
    run = grade(str(subs) + "//", "--source", source, "-o", outdir + "/", "--only", "plain")
    assert run.returncode == 0, run.stderr
    return outdir, run


def test_the_overview_drops_control_characters_as_feedback_does(graded_class, tmp_path):
    outdir, _ = grade_odd_names(graded_class["source"], tmp_path)
    page = open(os.path.join(outdir, "overview.html")).read()
    assert "\x07" not in page and "bellname" in page


def test_csv_cells_cannot_be_formulas_and_paths_have_no_double_slash(graded_class, tmp_path):
    outdir, run = grade_odd_names(graded_class["source"], tmp_path)
    assert "1 failed" in run.stderr and "1 submissions" not in run.stderr, run.stderr
    assert "//" not in run.stderr, run.stderr  # batch/plain.ipynb, not batch//plain.ipynb
    with open(os.path.join(outdir, "summary.csv"), newline="") as f:
        students = [row[0] for row in csv.reader(f)][1:]
    assert students == ["'+1", "'-2", "'=HYPERLINK(1)", "'@SUM(A1)", "bell\x07name", "plain"], students
    page = open(os.path.join(outdir, "overview.html")).read()
    assert "6 submissions," in page and "1 students" not in page
