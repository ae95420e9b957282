"""homework_run: every instructor notebook of notebooks/homework/ run as a student's Run All
would run it, with `conclab run` and no --allow-errors: exit status 0, every code cell ran,
every graded test cell passed, and the checks printed ✓ and never ✗; and each emptied of its
solutions (a blank submission) fails every autograded test. The time each notebook
took is printed (they are meant to take under 15 s each); the only limit asserted is a generous
guard against a hang, since a shared 2-core machine may be slow for seconds."""
import json
import subprocess
import time

import pytest

from homework_runs import HOMEWORK, blank_submission, conclab_binary, run_notebook

NOTEBOOKS = sorted(HOMEWORK.glob("*.ipynb"))
GUARD_SECONDS = 120


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_instructor_notebook_runs_clean(path, tmp_path):
    executed = tmp_path / path.name
    started = time.monotonic()
    process = subprocess.run([conclab_binary(), "run", str(path), "-o", str(executed)],
                             capture_output=True, text=True, timeout=GUARD_SECONDS,
                             stdin=subprocess.DEVNULL, cwd=tmp_path)
    seconds = time.monotonic() - started
    print(f"{path.name}: {seconds:.1f} s")
    assert process.returncode == 0, process.stderr[-3000:]
    assert "✗" not in process.stdout, process.stdout[-3000:]
    cells = json.loads(executed.read_text(encoding="utf-8"))["cells"]
    checks = 0
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        assert cell["execution_count"] is not None, f"{cell['id']} did not run"
        assert not [o for o in cell["outputs"] if o["output_type"] == "error"], f"{cell['id']} failed"
        text = "".join("".join(o.get("text", "")) for o in cell["outputs"] if o["output_type"] == "stream")
        meta = cell["metadata"].get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            assert "✓" in text, f"{cell['id']}: a test cell that checked nothing"
            checks += text.count("✓")
    assert checks >= 3


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_blank_submission_fails_every_test(path):
    """A student who wrote nothing (every solution region emptied) earns no automatic point:
    each autograded test cell fails, and the run ends (no test waits forever)."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    _, stderr, outcomes = run_notebook(blank_submission(notebook), path.name)
    tests = [cell["metadata"]["nbgrader"]["grade_id"] for cell in notebook["cells"]
             if cell["cell_type"] == "code" and cell["metadata"].get("nbgrader", {}).get("grade")]
    assert tests and all(outcomes.get(test) == "fail" for test in tests), (outcomes, stderr[-2000:])
