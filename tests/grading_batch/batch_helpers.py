"""batch_helpers.py — running `conclab grade` on a class and reading what it wrote, for the tests."""
import csv
import os
import shutil
import subprocess

CONCLAB = os.environ.get("CONCLAB_BIN", "conclab")
QUESTIONS = ["counter_test", "crash_test", "hang_test"]
CELL_TIMEOUT = "2"  # the deadlocking variant's cell is stopped after this many seconds


def grade(*args, timeout=300, **kw):
    return subprocess.run([CONCLAB, "grade", *args], capture_output=True, text=True, timeout=timeout, **kw)


def read_summary(outdir):
    with open(os.path.join(outdir, "summary.csv"), newline="") as f:
        return {row["student"]: row for row in csv.DictReader(f)}


def without_folder(rows, subs):
    """Rows as a copy of the class in another folder would have them (errors name the file)."""
    return {s: dict(r, error=r["error"].replace(subs + "/", "")) for s, r in rows.items()}


def results_mtimes(outdir):
    times = {}
    for student in os.listdir(outdir):
        path = os.path.join(outdir, student, "results.json")
        if os.path.exists(path):
            times[student] = os.stat(path).st_mtime_ns
    return times


def copy_class(graded_class, tmp_path, students=None):
    """A copy of the class (and of its reports), mtimes kept, to change without disturbing others."""
    subs = str(tmp_path / "submissions")
    os.makedirs(subs)
    for name in sorted(os.listdir(graded_class["subs"])):
        student = name[:-len(".ipynb")] if name.endswith(".ipynb") else name
        if students is None or student in students:
            src = os.path.join(graded_class["subs"], name)
            (shutil.copytree if os.path.isdir(src) else shutil.copy2)(src, os.path.join(subs, name))
    source = str(tmp_path / "source.ipynb")
    shutil.copy2(graded_class["source"], source)
    return subs, source


