"""`conclab assign` and `conclab grade` from the outside: real instructor notebooks and
submissions on disk, the conclab binary, the files it writes.

Each submission differs from the reference in one way (a racy counter, a crash, a deadlock, a fork
bomb, tampered test cells, stderr output, a damaged file) and the tests check that exactly that
question loses its points, and that the report says why."""
import csv
import hashlib
import html
import io
import json
import os
import shutil
import signal
import subprocess
import time
import xml.etree.ElementTree as ET

import nbformat
import pytest

import assignment as a
from conftest import by_id

STUB_MESSAGE = "not answered yet: replace this line with your code"


# ---- conclab assign ----

def nbgrader_checksum(cell):
    """nbgrader's recipe, written from its documented behaviour, to check ours against."""
    nb = cell["metadata"]["nbgrader"]
    grade, solution = nb.get("grade", False), nb.get("solution", False)
    locked = False if solution else True if grade else nb.get("locked", False)
    m = hashlib.md5()
    for part in ("".join(cell["source"]), cell["cell_type"], str(grade), str(solution), str(locked), nb["grade_id"]):
        m.update(part.encode("utf-8"))
    if grade:
        m.update(str(float(nb["points"])).encode())
    return m.hexdigest()


def test_assign_writes_a_student_version_without_solutions_or_hidden_tests(grader):
    p = grader.run("assign", "hw.ipynb", "-o", "student.ipynb")
    assert p.returncode == 0, p.stderr
    student = json.loads((grader.dir / "student.ipynb").read_text())
    nbformat.validate(nbformat.reads((grader.dir / "student.ipynb").read_text(), as_version=4))
    text = json.dumps(student)
    assert "cl_lock_acquire(sold_lock)" not in text and "return x * x" not in text
    assert a.HIDDEN_TOKEN not in text and "HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text
    assert "The lock makes the read" not in text and "YOUR ANSWER HERE" in text
    assert text.count(STUB_MESSAGE) == 4
    for cell in student["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None
        nb = cell["metadata"].get("nbgrader")
        if nb:
            assert nb["checksum"] == nbgrader_checksum(cell), nb["grade_id"]
    # the default destination: release/NAME.ipynb beside the instructor's notebook
    p = grader.run("assign", "hw.ipynb")
    assert p.returncode == 0 and (grader.dir / "release" / "hw.ipynb").exists(), p.stderr


def test_assign_refuses_a_broken_instructor_notebook_and_names_the_cell(grader):
    nb = a.instructor()
    duplicate = json.loads(json.dumps(nb))
    duplicate["cells"][a.find(nb, "deref_test")]["metadata"]["nbgrader"]["grade_id"] = "square_test"
    unbalanced = a.with_answer(nb, "square", "int square(int x) {\n    // BEGIN SOLUTION\n    return x * x;\n}\n")
    no_points = json.loads(json.dumps(nb))
    del no_points["cells"][a.find(nb, "pair_test")]["metadata"]["nbgrader"]["points"]
    leak = a.with_answer(nb, "setup", a.SETUP + "// BEGIN SOLUTION\nint answer = 42;\n// END SOLUTION\n")
    for bad, words in ((duplicate, "'square_test' is used twice"), (unbalanced, "never ended"),
                       (no_points, "pair_test' is a grade cell without points"), (leak, "not a solution cell")):
        path = grader.save(bad, "bad.ipynb")
        p = grader.run("assign", path, "-o", "out.ipynb")
        assert p.returncode == 2 and words in p.stderr, (words, p.stderr)
        assert not (grader.dir / "out.ipynb").exists()
        p = grader.run("grade", "hw.ipynb", "--source", path, "-o", "never")
        assert p.returncode == 2 and words in p.stderr and not (grader.dir / "never").exists(), p.stderr


# ---- conclab grade: the reference and the released version ----

def test_the_instructor_notebook_scores_full_marks(grader):
    results, outdir, p = grader.grade(grader.source)
    assert results["status"] == "graded" and results["error"] is None
    assert results["score"] == a.AUTOGRADED and results["max_score"] == a.MAX_SCORE
    assert results["manual_points_pending"] == 2
    tests = by_id(results)
    assert all(t["status"] == "passed" for g, t in tests.items() if g != "explain"), tests
    assert tests["explain"]["status"] == "manual" and tests["explain"]["kind"] == "manual"
    assert all(t["restored"] == "unchanged" for t in tests.values())
    assert tests["sell_test"]["runs"]["runs"] == 30 and tests["sell_test"]["runs"]["failed"] == 0
    assert "11 / 13" in p.stdout and "manual grading" in p.stdout


def test_the_released_version_scores_zero_and_says_why(grader):
    assert grader.run("assign", "hw.ipynb", "-o", "student.ipynb").returncode == 0
    results, _, _ = grader.grade(str(grader.dir / "student.ipynb"))
    assert results["score"] == 0 and results["manual_points_pending"] == 0
    for t in results["tests"]:
        if t["kind"] == "test":
            assert t["points"] == 0 and STUB_MESSAGE in t["message"], t
    assert by_id(results)["explain"]["message"].startswith("not answered")


# ---- concurrency, crashes, hangs ----

def test_an_unsynchronised_counter_loses_the_race_test_in_every_grading_run(grader):
    racy = grader.save(a.with_answer(a.instructor(), "sell", a.SELL_RACY), "racy.ipynb")
    for attempt in range(5):
        results, _, _ = grader.grade(racy)
        t = by_id(results)["sell_test"]
        assert t["points"] == 0 and t["status"] == "failed", (attempt, t)
        runs = t["runs"]
        assert runs["runs"] == 30 and runs["failed"] >= 1 and runs["first_failing_seed"] >= results["seed"]
        assert "--seed %d" % results["seed"] in runs["replay"]
        assert "%%%%chaos --seed %d" % runs["first_failing_seed"] in t["message"]
        assert results["score"] == a.AUTOGRADED - 3


def test_repeat_and_seed_options_apply_to_every_test_and_are_recorded(grader):
    nb = a.instructor(sell_repeat=1)
    racy = grader.save(a.with_answer(nb, "sell", a.SELL_RACY), "racy.ipynb")
    source = grader.save(nb, "hw-plain.ipynb")
    results, _, _ = grader.grade(racy, "--repeat", "40", "--seed", "1234", source=source)
    assert results["seed"] == 1234
    t = by_id(results)["sell_test"]
    assert t["points"] == 0 and t["runs"]["runs"] == 40, t
    assert "--seed 1234 --timeout 5 --repeat 40" in t["runs"]["replay"], t["runs"]["replay"]
    assert by_id(results)["square_test"]["runs"]["failed"] == 0


def test_a_deadlock_times_out_only_its_cell_and_says_who_waits(grader):
    deadlocked = a.with_answer(a.instructor(), "pair",
                               a.PAIR.replace("cl_lock_acquire(second_lock);", "cl_lock_acquire(first_lock);"))
    results, _, _ = grader.grade(deadlocked, "--timeout", "3")
    t = by_id(results)["pair_test"]
    assert t["status"] == "timeout" and t["points"] == 0, t
    assert "Deadlock" in t["message"] and "waits for" in t["message"], t
    assert "%%timeout" not in t["message"] + t["output"], t
    assert "('pair_test')" in t["message"] + t["output"], t  # the question, not only a cell number
    assert results["score"] == a.AUTOGRADED - 2


def test_a_segfault_loses_only_its_cell(grader):
    crash = a.with_answer(a.instructor(), "deref", "int value_or_minus_one(int *p) { return *p; }\n")
    results, _, _ = grader.grade(crash)
    t = by_id(results)["deref_test"]
    assert t["status"] == "crashed" and "SIGSEGV" in t["message"], t
    assert results["score"] == a.AUTOGRADED - 2 and by_id(results)["pair_test"]["status"] == "passed"


def test_a_fork_bomb_in_a_test_costs_only_that_cell(grader):
    bomb = a.with_answer(a.instructor(), "deref",
                         "#include <unistd.h>\nint value_or_minus_one(int *p) { (void)p; for (;;) fork(); return 0; }\n")
    results, _, _ = grader.grade(bomb)
    t = by_id(results)["deref_test"]
    assert t["status"] == "crashed" and "ProcessLimitExceeded" in t["message"], t
    assert results["score"] == a.AUTOGRADED - 2


# ---- restoring test cells ----

def test_tampered_moved_duplicated_and_deleted_tests_are_restored(grader):
    nb = a.with_answer(a.instructor(), "square", "int square(int x) { return x + x; }\n")  # wrong for -3
    nb = a.with_answer(nb, "square_test", "4\n")                     # edited: "full marks"
    cells = nb["cells"]
    deref_test = cells[a.find(nb, "deref_test")]
    cells.insert(a.find(nb, "deref_test"), json.loads(json.dumps(deref_test)))  # duplicated
    square = cells[a.find(nb, "square")]
    cells.insert(a.find(nb, "square") + 1, json.loads(json.dumps(square)))  # an answer twice: same cell id
    del cells[a.find(nb, "pair_test")]                                # deleted
    sell_test = cells.pop(a.find(nb, "sell_test"))                    # moved to the end
    cells.append(sell_test)
    cells.insert(0, a.cell("code", 'printf("student helper\\n");\n'))  # the student's own cell stays
    results, outdir, _ = grader.grade(nb)
    tests = by_id(results)
    assert tests["square_test"]["restored"] == "edited" and tests["square_test"]["points"] == 2, tests["square_test"]
    assert tests["square_test"]["status"] == "partial"
    assert tests["deref_test"]["restored"] == "duplicated" and tests["deref_test"]["points"] == 2
    assert tests["pair_test"]["restored"] == "deleted" and tests["pair_test"]["points"] == 2
    assert tests["sell_test"]["restored"] == "moved" and tests["sell_test"]["points"] == 3
    graded = json.loads((outdir / "graded.ipynb").read_text())
    nbformat.validate(nbformat.reads((outdir / "graded.ipynb").read_text(), as_version=4))
    ids = [c["metadata"].get("nbgrader", {}).get("grade_id") for c in graded["cells"]]
    expected = [c["metadata"].get("nbgrader", {}).get("grade_id") for c in a.instructor()["cells"]]
    assert [i for i in ids if i] == [i for i in expected if i]
    assert "student helper" in "".join(graded["cells"][0]["source"])
    assert a.HIDDEN_TOKEN in json.dumps(graded)  # the hidden test ran


def test_stderr_is_not_penalised_unless_the_instructor_asks(grader):
    noisy = a.with_answer(a.instructor(), "square",
                          'int square(int x) {\n    fprintf(stderr, "debug: squaring %d\\n", x);\n    return x * x;\n}\n')
    results, _, _ = grader.grade(noisy)
    assert by_id(results)["square_test"]["points"] == 4 and "debug: squaring" in by_id(results)["square_test"]["output"]
    results, _, _ = grader.grade(noisy, "--stderr-fails")
    t = by_id(results)["square_test"]
    assert t["points"] == 0 and "stderr" in t["message"], t
    strict = a.instructor()
    strict["metadata"]["conclab"] = {"grading": {"stderr_fails": True}}
    results, _, _ = grader.grade(noisy, source=grader.save(strict, "strict.ipynb"))
    assert by_id(results)["square_test"]["points"] == 0


def test_lockcheck_metadata_makes_a_lock_order_inversion_cost_the_question(grader):
    nb = a.instructor()
    nb["cells"][a.find(nb, "pair_test")]["metadata"]["conclab"] = {"lockcheck": True}
    source = grader.save(nb, "hw-lockcheck.ipynb")
    inverted = a.PAIR.replace("    cl_lock_release(first_lock);\n", "    cl_lock_release(first_lock);\n"
                              "    cl_lock_acquire(second_lock);\n    cl_lock_acquire(first_lock);\n"
                              "    cl_lock_release(first_lock);\n    cl_lock_release(second_lock);\n")
    results, _, _ = grader.grade(a.with_answer(nb, "pair", inverted), source=source)
    t = by_id(results)["pair_test"]
    assert t["points"] == 0 and "contradicting orders" in t["message"], t
    results, _, _ = grader.grade(grader.save(nb, "good.ipynb"), source=source)
    assert by_id(results)["pair_test"]["points"] == 2


# ---- unusable submissions ----

def test_unusable_submissions_exit_3_with_a_results_file_saying_why(grader):
    (grader.dir / "empty.ipynb").write_text("")
    (grader.dir / "garbage.ipynb").write_text("{not json")
    (grader.dir / "list.ipynb").write_text("[1, 2]")
    (grader.dir / "nocells.ipynb").write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    with open(grader.dir / "huge.ipynb", "wb") as f:
        f.truncate(21 << 20)
    cases = {"missing": "No such file", "empty": "is empty", "garbage": "not valid JSON", "list": "not a Jupyter notebook",
             "nocells": "has no cells", "huge": "too large"}
    for name, words in cases.items():
        results, outdir, p = grader.grade(str(grader.dir / (name + ".ipynb")), expect=3)
        assert results["status"] == "unreadable" and words in results["error"], (name, results["error"])
        assert results["score"] == 0 and results["max_score"] == a.MAX_SCORE
        assert len(results["tests"]) == 5 and all(t["points"] == 0 for t in results["tests"])
        assert (outdir / "feedback.html").exists() and words in p.stderr


def test_usage_errors_exit_2_and_write_nothing(grader):
    for args in (["grade"], ["grade", "hw.ipynb"], ["grade", "hw.ipynb", "--source", "hw.ipynb", "--repeat", "x"],
                 ["grade", "hw.ipynb", "--source", "hw.ipynb", "--timeout", "-1"],
                 ["grade", "hw.ipynb", "--source", "missing.ipynb"], ["grade", "hw.ipynb", "--source", "hw.ipynb", "--bogus"]):
        p = grader.run(*args)
        assert p.returncode == 2 and p.stderr, (args, p.stderr)
    assert not (grader.dir / "graded").exists()


# ---- the report files ----

def test_feedback_never_shows_hidden_test_source_and_escapes_output(grader):
    nb = a.with_answer(a.instructor(), "square",
                       'int square(int x) {\n    printf("<script>alert(1)</script>\\n");\n    return x * x;\n}\n')
    results, outdir, _ = grader.grade(nb)
    page = (outdir / "feedback.html").read_text()
    assert a.HIDDEN_TOKEN not in page and "square_points" not in page
    assert "<script>" not in page and html.escape("<script>alert(1)</script>") in page
    assert a.HIDDEN_TOKEN not in json.dumps(results)


def test_gradescope_csv_and_junit_agree_with_results(grader):
    crash = a.with_answer(a.instructor(), "deref", "int value_or_minus_one(int *p) { return *p; }\n")
    results, outdir, _ = grader.grade(crash)
    gs = json.loads((outdir / "gradescope.json").read_text())
    assert gs["score"] == results["score"] and gs["max_score"] == results["max_score"]
    assert [(t["name"], t["score"], t["max_score"]) for t in gs["tests"]] == \
           [(t["name"], t["points"], t["max_points"]) for t in results["tests"]]
    assert {t["visibility"] for t in gs["tests"]} <= {"visible", "after_published"}
    assert [t["visibility"] for t in gs["tests"] if t["name"] == "square_test"] == ["after_published"]
    rows = list(csv.DictReader(io.StringIO((outdir / "results.csv").read_text())))
    assert [(r["grade_id"], float(r["points"]), r["status"]) for r in rows] == \
           [(t["grade_id"], float(t["points"]), t["status"]) for t in results["tests"]]
    suite = ET.parse(outdir / "junit.xml").getroot().find("testsuite")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [t["name"] for t in results["tests"]]
    assert int(suite.get("errors")) == 1 and int(suite.get("skipped")) == 1 and int(suite.get("failures")) == 0
    crashed = [c for c in cases if c.get("name") == "deref_test"][0]
    assert "SIGSEGV" in crashed.find("error").get("message")


# ---- state lost by a crash ----

BACKGROUND = ('void *forever(void *arg) { (void)arg; for (;;) cl_sleep(0.05); return NULL; }\n'
              'cl_thread *background = cl_thread_start(forever, NULL);\n')


def test_when_a_crash_loses_the_state_earlier_cells_run_again_for_later_tests(grader):
    """A crash while a thread of an earlier cell runs takes the notebook's state with it (the
    engine cannot fork then); the grader runs the earlier cells again so a later test that needs
    square() still finds it."""
    source = a.instructor()
    source["cells"].append(a.cell("code", 'cl_check(square(5) == 25, "square(5)");\n', "square_again", points=1,
                                  grade=True, locked=True))
    source_path = grader.save(source, "hw-again.ipynb")
    nb = a.with_answer(source, "deref", "int value_or_minus_one(int *p) { return *p; }\n")
    nb["cells"].insert(a.find(nb, "deref") + 1, a.cell("code", BACKGROUND))
    results, _, p = grader.grade(nb, source=source_path)
    tests = by_id(results)
    assert tests["deref_test"]["status"] == "crashed" and "state was lost" in tests["deref_test"]["message"]
    assert tests["square_again"]["status"] == "passed", tests["square_again"]
    assert "running the" in p.stderr and "earlier cells again" in p.stderr


def test_a_thread_left_running_does_not_dodge_the_repeated_race_test(grader):
    nb = a.with_answer(a.instructor(), "sell", a.SELL_RACY + BACKGROUND)
    results, _, _ = grader.grade(nb)
    t = by_id(results)["sell_test"]
    assert t["points"] == 0 and "could not be repeated" in t["message"], t


# ---- %%tsan-clean required ----

def tsan_missing():
    gcc = shutil.which("gcc")
    if not gcc:
        return "gcc is not installed"
    found = subprocess.run([gcc, "-print-file-name=libtsan.so"], capture_output=True, text=True).stdout
    return None if "/" in found else "libtsan2 is not installed"


ADD_MANY = """long total;
cl_lock *total_lock;
cl_barrier *start_gate;  /* both adders meet first, so their loops overlap */
void *add_many(void *arg) {
    (void)arg;
    cl_barrier_wait(start_gate);
    for (int i = 0; i < 100000; i++) {
        // BEGIN SOLUTION
        cl_lock_acquire(total_lock);
        total++;
        cl_lock_release(total_lock);
        // END SOLUTION
    }
    return NULL;
}
"""
ADD_MANY_TEST = """total_lock = cl_lock_new();
start_gate = cl_barrier_new(2, NULL, NULL, 10);
cl_thread *adders[2] = {cl_thread_start(add_many, NULL), cl_thread_start(add_many, NULL)};
cl_thread_join(adders[0]);
cl_thread_join(adders[1]);
cl_check(total > 0, "the adders added");
"""


@pytest.mark.skipif(tsan_missing() is not None, reason=str(tsan_missing()))
def test_tsan_metadata_requires_a_race_free_run(grader):
    nb = a.instructor()
    nb["cells"] += [a.cell("code", ADD_MANY, "adders", solution=True),
                    a.cell("code", ADD_MANY_TEST, "adders_test", points=2, grade=True, locked=True,
                           conclab={"tsan": True})]
    source = grader.save(nb, "hw-tsan.ipynb")
    # gcc builds the ThreadSanitizer program within the cell's time limit: a generous one
    results, _, _ = grader.grade(source, "--timeout", "60", source=source)
    t = by_id(results)["adders_test"]
    assert t["status"] == "passed", (t["message"], t["output"])
    racy = a.with_answer(nb, "adders", ADD_MANY.replace("        cl_lock_acquire(total_lock);\n", "")
                         .replace("        cl_lock_release(total_lock);\n", ""))
    results, _, _ = grader.grade(racy, "--timeout", "60", source=source)
    t = by_id(results)["adders_test"]
    assert t["points"] == 0 and t["status"] == "failed" and "DataRace" in t["message"], (t["message"], t["output"])
    # the TSan report stays in the feedback, before the plain run's output
    out = t["output"]
    assert "--- ThreadSanitizer run ---" in out and "--- plain run ---" in out, out
    assert "data race" in out[:out.index("--- plain run ---")], out


@pytest.mark.skipif(tsan_missing() is not None, reason=str(tsan_missing()))
def test_a_deadlock_in_a_tsan_test_is_reported_as_a_deadlock(grader):
    nb = a.instructor()
    nb["cells"][a.find(nb, "pair_test")]["metadata"]["conclab"] = {"tsan": True}
    source = grader.save(nb, "hw-tsan-pair.ipynb")
    deadlocked = a.with_answer(nb, "pair", a.PAIR.replace("cl_lock_acquire(second_lock);", "cl_lock_acquire(first_lock);"))
    results, _, _ = grader.grade(deadlocked, "--timeout", "3", source=source)
    t = by_id(results)["pair_test"]
    assert t["status"] == "timeout" and t["points"] == 0, t
    assert "Deadlock" in t["message"] and "ThreadSanitizer" not in t["message"], t
    assert "TSan makes programs" not in t["message"] + t["output"], t


def test_a_macro_that_would_blind_the_tests_is_undone_and_reported(grader):
    cheat = a.with_answer(a.instructor(), "square", "#define cl_check(c, ...) 1\nint square(int x) { return x; }\n")
    results, _, p = grader.grade(cheat)
    tests = by_id(results)
    assert tests["square_test"]["points"] == 0 and tests["square_test"]["status"] == "failed", tests["square_test"]
    assert any("macro cl_check" in n for n in results["notes"]), results["notes"]
    assert "macro cl_check" in p.stdout


def test_a_code_answer_graded_by_hand_is_pending_unless_it_fails(grader):
    nb = a.instructor()
    nb["cells"].append(a.cell("code", "// BEGIN SOLUTION\nint answer = 42;\n// END SOLUTION\n", "essay_code",
                              points=3, solution=True, grade=True))
    source = grader.save(nb, "hw-answer.ipynb")
    results, _, _ = grader.grade(source, source=source)
    t = by_id(results)["essay_code"]
    assert t["kind"] == "answer" and t["status"] == "manual" and results["manual_points_pending"] == 5, t
    results, _, _ = grader.grade(a.with_answer(nb, "essay_code", "int answer = ;\n"), source=source)
    t = by_id(results)["essay_code"]
    assert t["status"] == "error" and t["points"] == 0 and results["manual_points_pending"] == 2, t


def test_sigterm_stops_the_running_cell_and_writes_nothing(grader):
    """A batch stopping its workers: the deadlocked cell (time limit 60 s) and every process of the
    grader go at once, exit 130, no report (a resumed batch grades the submission again)."""
    hung = grader.save(a.with_answer(a.instructor(), "pair", a.PAIR.replace(
        "cl_lock_acquire(second_lock);", "cl_lock_acquire(first_lock);")), "hung.ipynb")
    outdir = grader.dir / "out-hung"
    p = subprocess.Popen([grader.conclab, "grade", hung, "--source", grader.source, "-o", str(outdir),
                          "--timeout", "60", "-q"], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not children_of(p.pid, deep=True):
        time.sleep(0.1)
    time.sleep(1.5)  # into the deadlocked cell
    family = children_of(p.pid, deep=True)
    assert family
    p.send_signal(signal.SIGTERM)
    started = time.monotonic()
    assert p.wait(timeout=30) == 130, p.stderr.read()
    assert time.monotonic() - started < 20  # not the cell's 60 s limit
    assert "interrupted" in p.stderr.read()
    assert not (outdir / "results.json").exists()
    time.sleep(0.5)
    assert not [pid for pid in family if os.path.exists("/proc/%d" % pid) and not zombie(pid)], family


def children_of(pid, deep=False):
    found = []
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            kids = [int(k) for k in f.read().split()]
    except OSError:
        return found
    for k in kids:
        found.append(k)
        if deep:
            found += children_of(k, deep=True)
    return found


def zombie(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_a_traceback_at_a_hidden_test_line_does_not_show_that_line(grader):
    """A crash inside the hidden part: the engine's traceback quotes the line it stopped at; the
    reports show that a hidden line was there, not the line."""
    crash_on_zero = a.with_answer(a.instructor(), "square",
                                  "int square(int x) { if (x == 0) { int *p = 0; return *p; } return x * x; }\n")
    results, outdir, _ = grader.grade(crash_on_zero)
    t = by_id(results)["square_test"]
    assert t["status"] == "crashed" and "[a line of a hidden test]" in t["output"], t["output"]
    for name in ("feedback.html", "results.json", "gradescope.json", "junit.xml", "results.csv"):
        text = (outdir / name).read_text()
        assert a.HIDDEN_TOKEN not in text and "square(0)" not in text, name
    assert a.HIDDEN_TOKEN in (outdir / "graded.ipynb").read_text()  # the instructor's copy keeps it


# ---- locked cells keep their meaning (review M1) ----

HELPERS = """long run_sellers(int n) {
    sold = 0;
    cl_thread *t[8];
    for (int i = 0; i < n; i++) t[i] = cl_thread_start(seller_thread, NULL);
    for (int i = 0; i < n; i++) cl_thread_join(t[i]);
    return sold;
}
cl_check(sold_lock != NULL, "the lock exists");
"""
HELPERS_TEST = 'cl_check(run_sellers(4) == 4, "four sellers sold %ld tickets", sold);\n'
SELLER_THREAD = "void *seller_thread(void *arg) { (void)arg; sell_one(); return NULL; }\n"
SELL_NOTHING = "void sell_one(void) {}\n"


def with_helpers(grader):
    """The test assignment with a locked, ungraded helper cell that the sell test calls."""
    nb = a.instructor()
    at = a.find(nb, "sell") + 1
    nb["cells"][at:at] = [a.cell("code", SELLER_THREAD + HELPERS, "helpers", locked=True),
                          a.cell("code", HELPERS_TEST, "helpers_test", points=1, grade=True, locked=True)]
    return nb, grader.save(nb, "hw-helpers.ipynb")


def test_a_student_cell_cannot_redefine_a_locked_helper(grader):
    nb, source = with_helpers(grader)
    cheat = a.with_answer(nb, "sell", SELL_NOTHING)
    cheat["cells"].insert(a.find(cheat, "helpers") + 1,
                          a.cell("code", "long run_sellers(int n) { sold = n; return n; }\n"))
    results, _, p = grader.grade(cheat, source=source)
    t = by_id(results)["helpers_test"]
    assert t["points"] == 0 and t["status"] == "failed", t
    assert any("redefined run_sellers" in n and "'helpers'" in n for n in results["notes"]), results["notes"]
    assert any('cell "long run_sellers(int n)' in n for n in results["notes"]), results["notes"]  # found by its text


def test_a_student_macro_cannot_break_a_locked_helper(grader):
    nb, source = with_helpers(grader)
    cheat = a.with_answer(nb, "sell", SELL_NOTHING + "#define run_sellers(n) (n)\n")
    results, _, _ = grader.grade(cheat, source=source)
    t = by_id(results)["helpers_test"]
    assert t["points"] == 0 and t["status"] == "failed", t
    assert any("macro run_sellers" in n for n in results["notes"]), results["notes"]
    assert not any("locked cell 'helpers'" in n and "failed" in n for n in results["notes"]), results["notes"]


def test_a_failing_locked_cell_is_reported(grader):
    nb, source = with_helpers(grader)
    broken = a.with_answer(nb, "sell", SELL_NOTHING + "sold_lock = NULL;\n")
    results, _, _ = grader.grade(broken, source=source)
    assert any("locked cell 'helpers'" in n and "failed" in n for n in results["notes"]), results["notes"]
    t = by_id(results)["helpers_test"]
    assert t["points"] == 0 and "locked cell 'helpers'" in t["message"], t


# ---- answer cells without their metadata (review M2) ----

def test_a_recreated_answer_cell_is_graded_and_the_stub_is_not_put_back(grader):
    nb = a.instructor()
    at = a.find(nb, "square")
    nb["cells"][at] = a.cell("code", a.SQUARE)  # retyped in a new cell: no nbgrader metadata
    del nb["cells"][a.find(nb, "explain")]       # a graded written answer deleted
    results, _, _ = grader.grade(nb)
    tests = by_id(results)
    assert tests["square_test"]["points"] == 4 and tests["square_test"]["status"] == "passed", tests["square_test"]
    assert any("answer cell 'square' is missing" in n for n in results["notes"]), results["notes"]
    assert tests["explain"]["points"] == 0 and "answer cell 'explain' is missing" in tests["explain"]["message"]
    assert any("answer cell 'explain' is missing" in n for n in results["notes"]), results["notes"]


# ---- the replay command (review S5) ----

def test_the_replay_command_is_shell_quoted_and_carries_the_options(grader):
    name = "o'brien; touch PWNED.ipynb"
    shutil.copy(grader.source, grader.dir / name)
    results, _, _ = grader.grade(str(grader.dir / name), "--no-sandbox")
    replay = by_id(results)["sell_test"]["runs"]["replay"]
    assert "--timeout 5" in replay and "--no-sandbox" in replay and "--seed %d" % results["seed"] in replay, replay
    env = dict(os.environ, PATH=os.path.dirname(grader.conclab) + os.pathsep + os.environ["PATH"])
    p = subprocess.run(["bash", "-c", replay], cwd=grader.dir, env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, (replay, p.stdout, p.stderr)
    assert not (grader.dir / "PWNED").exists() and not (grader.dir / "PWNED.ipynb").exists(), replay
