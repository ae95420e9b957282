"""Fixtures for the grading suite: the conclab binary (ctest sets CONCLAB_BIN) and a helper that
runs `conclab grade` or `conclab assign` the way an instructor does, on real files."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))
import assignment  # noqa: E402

GUARD_S = 120  # a guard against a stuck grader, not a performance claim


@pytest.fixture
def conclab():
    binary = os.environ.get("CONCLAB_BIN")
    if not binary or not os.access(binary, os.X_OK):
        pytest.fail("CONCLAB_BIN must name the built conclab binary (ctest sets it)")
    return binary


class Grader:
    def __init__(self, conclab, tmp_path):
        self.conclab = conclab
        self.dir = tmp_path
        self.source = assignment.save(assignment.instructor(), tmp_path / "hw.ipynb")

    def save(self, nb, name):
        return assignment.save(nb, self.dir / name)

    def run(self, *args):
        return subprocess.run([self.conclab, *args], cwd=self.dir, capture_output=True, text=True, timeout=GUARD_S)

    def grade(self, submission, *extra, expect=0, source=None):
        """Grades submission (a path or a notebook dict); returns (results, outdir, process)."""
        if isinstance(submission, dict):
            submission = self.save(submission, "submission-%d.ipynb" % len(list(self.dir.iterdir())))
        outdir = self.dir / ("out-" + Path(submission).stem)
        p = self.run("grade", str(submission), "--source", source or self.source, "-o", str(outdir),
                     "--timeout", "5", *extra)
        assert p.returncode == expect, (p.returncode, p.stdout, p.stderr)
        results = json.loads((outdir / "results.json").read_text())
        return results, outdir, p


@pytest.fixture
def grader(conclab, tmp_path):
    return Grader(conclab, tmp_path)


def by_id(results):
    return {t["grade_id"]: t for t in results["tests"]}
