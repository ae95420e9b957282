"""homework_grade: the homework through the real grader. Each instructor notebook graded
against itself with `conclab grade` earns every automatic point (its repeat/chaos, lockcheck and
tsan metadata honoured); the student version `conclab assign` makes of it, handed in unanswered,
earns none."""
import json
import subprocess

import pytest

from homework_runs import HOMEWORK, conclab_binary

NOTEBOOKS = sorted(HOMEWORK.glob("*.ipynb"))
GUARD_SECONDS = 600


def grade(submission, source, out):
    process = subprocess.run([conclab_binary(), "grade", str(submission), "--source", str(source),
                              "-o", str(out), "-q"], capture_output=True, text=True,
                             timeout=GUARD_SECONDS, stdin=subprocess.DEVNULL)
    assert process.returncode == 0, process.stderr[-3000:]
    return json.loads((out / "results.json").read_text(encoding="utf-8"))


def automatic(results):
    return [test for test in results["tests"] if test["kind"] == "test"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_instructor_version_earns_every_automatic_point(path, tmp_path):
    results = grade(path, path, tmp_path / "graded")
    tests = automatic(results)
    assert tests
    lost = [(t["grade_id"], t["points"], t["max_points"], t.get("message")) for t in tests
            if t["points"] != t["max_points"]]
    assert not lost, lost


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_unanswered_student_version_earns_nothing(path, tmp_path):
    student = tmp_path / path.name
    subprocess.run([conclab_binary(), "assign", str(path), "-o", str(student), "-q"], check=True,
                   timeout=60)
    assert "BEGIN SOLUTION" not in student.read_text(encoding="utf-8")
    assert "BEGIN HIDDEN TESTS" not in student.read_text(encoding="utf-8")
    results = grade(student, path, tmp_path / "graded")
    assert results["score"] == 0, [(t["grade_id"], t["points"]) for t in results["tests"]]
