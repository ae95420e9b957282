"""run_labs.py — every lab notebook run the two ways a student runs it, and held to LABS.md.

For each notebook in notebooks/ (the student's copy) and notebooks/solutions/ (the exercises
solved): it must be committed without outputs and with conclab's kernelspec and language_info;
it is run through real Jupyter (nbclient, against a kernelspec for the conclab under test) and
through `conclab run`; every run must end without an error output and without a ✗ from a check
cell, within the time a lab may take. The solutions run whole both ways; a student's copy runs
through Jupyter up to its "## Exercises" heading (its exercise checks fail until the student
answers; skipped when those cells are exactly the solved copy's, whose own run takes them
through Jupyter) and whole through `conclab run`. An exercise's check is a cl_check whose text begins
with "exercise" ("exercise 2: 3 pages in %.2f s"): in the student's copy, run whole, each of
them must fail (a clean-up check after them need not). A cell that shows an error on purpose (a
%%tsan report, a %%chaos failure) carries Jupyter's `raises-exception` tag, which Notebook,
JupyterLab and nbclient honour by running on after it, and names the error it must raise in
metadata.conclab.expected_error: it must raise exactly that one. A run that fails only by
checks is run once more (its first failures printed): a core the host slows down for a few
seconds can spoil one timing, but a claim that does not hold fails twice.

    run_labs.py --conclab BIN [NOTEBOOK ...]     (default: every notebook under notebooks/)
    run_labs.py --conclab BIN --self-test        (the fixtures: one passes, the others must fail)
"""
import argparse
import copy
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
SECONDS_PER_LAB = 45.0
CROSS = "\u2717"
EXERCISE_CHECK = re.compile(r'cl_check\([^;]*?"exercise', re.S | re.I)


def problems_of_a_clean_copy(nb):
    """What makes a committed notebook not clean: outputs, counts, the wrong kernel."""
    problems = []
    meta = nb.get("metadata", {})
    if meta.get("kernelspec", {}).get("name") != "conclab":
        problems.append('metadata.kernelspec.name is not "conclab"')
    if meta.get("language_info", {}).get("name") != "c":
        problems.append('metadata.language_info.name is not "c"')
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") == "code" and (cell.get("outputs") or cell.get("execution_count") is not None):
            problems.append("cell %d was committed with outputs or an execution count" % i)
    return problems


def exercises_start(nb):
    """The index of the "## Exercises" heading, or None."""
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "markdown" and "".join(cell["source"]).lstrip().startswith("## Exercises"):
            return i
    return None


def is_solutions(path):
    return os.sep + "solutions" + os.sep in path


def up_to_exercises(nb, path):
    """A student's copy runs up to its exercises; the solutions run whole."""
    start = exercises_start(nb)
    if is_solutions(path) or start is None:
        return nb
    cut = copy.deepcopy(nb)
    cut["cells"] = cut["cells"][:start]
    return cut


def same_cells_as_its_solutions(nb, path, start):
    """True when a student's copy begins, up to its exercises, with exactly the cells of its solved
    copy: the solved copy's Jupyter run has then already run them through Jupyter."""
    solved = os.path.join(os.path.dirname(path), "solutions", os.path.basename(path))
    if not os.path.exists(solved):
        return False
    with open(solved) as f:
        cells = json.load(f)["cells"]
    def shape(cell):
        return cell["cell_type"], "".join(cell["source"]), cell.get("metadata", {})
    return len(cells) >= start and [shape(c) for c in nb["cells"][:start]] == [shape(c) for c in cells[:start]]


def unanswered_checks_that_pass(ran, start):
    """The exercise check cells of a student's copy, run whole, that passed before the student
    answered: a check that cannot fail teaches nothing."""
    passing = []
    for i, cell in enumerate(ran["cells"][start:], start):
        if cell["cell_type"] != "code" or not EXERCISE_CHECK.search("".join(cell["source"])):
            continue
        if not failures_in({"cells": [cell]}):
            passing.append("exercise check in cell %d passes on the unanswered exercise" % i)
    return passing


def expected_error(cell):
    """The ename a cell tagged raises-exception must raise ("" when it names none), or None."""
    if "raises-exception" not in cell.get("metadata", {}).get("tags", []):
        return None
    return cell.get("metadata", {}).get("conclab", {}).get("expected_error", "")


def unexpected_errors(i, cell):
    """The errors of one cell that count as failures: all of them, unless the cell expects one."""
    errors = [out for out in cell.get("outputs", []) if out.get("output_type") == "error"]
    expected = expected_error(cell)
    if expected is None:
        return ["cell %d: %s: %s" % (i, e.get("ename"), e.get("evalue")) for e in errors]
    if not errors:
        return ["cell %d: tagged raises-exception, but raised nothing (expected %s)" % (i, expected or "an error")]
    return ["cell %d: raised %s: %s, not the expected %s" % (i, e.get("ename"), e.get("evalue"), expected)
            for e in errors if expected and e.get("ename") != expected]


def failures_in(nb):
    """Errors and failed checks among a run notebook's outputs."""
    found = []
    for i, cell in enumerate(nb["cells"]):
        if cell.get("cell_type") == "code":
            found += unexpected_errors(i, cell)
        if expected_error(cell) is not None:
            continue  # its ✗ is the error it shows on purpose
        for out in cell.get("outputs", []):
            text = out.get("text", "")
            text = "".join(text) if isinstance(text, list) else text
            for line in text.splitlines():
                if line.startswith(CROSS):
                    found.append("cell %d: %s" % (i, line))
    return found


def not_reproduced_in(nb):
    """A lab's "NOT REPRODUCED in this run: ..." lines: a claim the machine could not show (the
    second core was busy, say). Not a failure, but printed, so a CI log shows it."""
    found = []
    for i, cell in enumerate(nb["cells"]):
        for out in cell.get("outputs", []):
            text = out.get("text", "")
            text = "".join(text) if isinstance(text, list) else text
            found += ["cell %d: %s" % (i, line) for line in text.splitlines() if line.startswith("NOT REPRODUCED")]
    return found


def kernelspec_home(conclab):
    home = tempfile.mkdtemp(prefix="conclab-labs-")
    spec = os.path.join(home, "kernels", "conclab-test")
    os.makedirs(spec)
    with open(os.path.join(spec, "kernel.json"), "w") as f:
        json.dump({"argv": [conclab, "kernel", "-f", "{connection_file}"], "display_name": "C (conclab, under test)",
                   "language": "c"}, f)
    return home


def run_with_nbclient(nb, home, workdir):
    os.environ["JUPYTER_PATH"] = home
    import nbclient  # after JUPYTER_PATH: it finds the kernelspec under test
    import nbformat
    node = nbformat.reads(json.dumps(nb), as_version=4)  # as Jupyter reads a file: sources joined
    client = nbclient.NotebookClient(node, kernel_name="conclab-test", timeout=120, allow_errors=True,
                                     resources={"metadata": {"path": workdir}})
    client.execute()
    return json.loads(nbformat.writes(node))


def run_with_conclab(nb, conclab, workdir):
    source = os.path.join(workdir, "lab.ipynb")
    result = os.path.join(workdir, "lab.out.ipynb")
    with open(source, "w") as f:
        json.dump(nb, f)
    done = subprocess.run([conclab, "run", source, "-o", result, "--quiet", "--allow-errors", "--timeout", "60"],
                          cwd=workdir, capture_output=True, text=True, timeout=300)
    if done.returncode != 0 or not os.path.exists(result):
        return None, "conclab run exited %d: %s" % (done.returncode, done.stderr.strip()[-400:])
    with open(result) as f:
        return json.load(f), None


def run_one_way(way, nb, path, start, student, conclab, home):
    """One run of a notebook one way: (problems, the notebook as run or None, seconds taken)."""
    runnable = up_to_exercises(nb, path) if way == "jupyter" else nb
    workdir = tempfile.mkdtemp(prefix="conclab-lab-run-")
    started = time.monotonic()
    try:
        if way == "jupyter":
            ran, error = run_with_nbclient(runnable, home, workdir), None
        else:
            ran, error = run_with_conclab(runnable, conclab, workdir)
    except Exception as e:  # a kernel that died, a timeout: the lab failed
        ran, error = None, "%s: %s" % (type(e).__name__, e)
    took = time.monotonic() - started
    shutil.rmtree(workdir, ignore_errors=True)
    if error:
        return ["%s: %s" % (way, error)], None, took
    if student and way == "conclab run":
        problems = failures_in({"cells": ran["cells"][:start]}) + unanswered_checks_that_pass(ran, start)
    else:
        problems = failures_in(ran)
    problems = ["%s: %s" % (way, p) for p in problems]
    if took > SECONDS_PER_LAB:
        problems.append("%s: took %.1f s, more than a lab may (%.0f s)" % (way, took, SECONDS_PER_LAB))
    return problems, ran, took


def only_failed_checks(problems):
    """True when every problem is a check cell's ✗ (or the CheckFailed error it raises): a
    measurement that came out wrong, which a core the host slowed for a few seconds can cause."""
    return bool(problems) and all(re.match(r"[^:]+: cell \d+: (CheckFailed: |%s)" % CROSS, p) for p in problems)


def check_notebook(path, conclab, home):
    """Problems of one notebook (empty when it passes), with a line of what was run.

    Solutions run whole both ways. A student's copy runs up to its exercises through Jupyter,
    and whole through `conclab run`: its cells before the exercises must pass there too, and
    each exercise check must fail (one run serves both, which keeps CI short).

    A run whose only problems are failed checks gets one second run, and the first run's
    failures are printed: the labs time a shared 2-core machine whose host can slow a core down
    unseen, and a claim that really does not hold fails both runs."""
    with open(path) as f:
        nb = json.load(f)
    problems = problems_of_a_clean_copy(nb)
    start = exercises_start(nb)
    student = not is_solutions(path) and start is not None
    for way in ("jupyter", "conclab run"):
        if way == "jupyter" and student and same_cells_as_its_solutions(nb, path, start):
            print("  jupyter: its %d cells before the exercises are the solved copy's, run through Jupyter there" % start)
            continue
        found, ran, took = run_one_way(way, nb, path, start, student, conclab, home)
        if only_failed_checks(found):
            for line in found:
                print("    first run failed, running it again: " + line)
            found, ran, took = run_one_way(way, nb, path, start, student, conclab, home)
        problems += found
        if ran is None:
            continue
        print("  %s: %d cells in %.1f s" % (way, len(ran["cells"]), took))
        for line in not_reproduced_in(ran):
            print("    note: " + line)
    return problems


def lab_notebooks():
    return sorted(glob.glob(os.path.join(ROOT, "notebooks", "*.ipynb")) +
                  glob.glob(os.path.join(ROOT, "notebooks", "solutions", "*.ipynb")))


def self_test(conclab, home):
    """The fixtures: good.ipynb must pass; every other one must be caught."""
    wrong = []
    for path in sorted(glob.glob(os.path.join(FIXTURES, "*.ipynb"))):
        name = os.path.basename(path)
        print(name)
        problems = check_notebook(path, conclab, home)
        should_pass = name == "good.ipynb"
        if should_pass and problems:
            wrong.append("%s should pass but: %s" % (name, problems))
        elif not should_pass and not problems:
            wrong.append("%s should fail but passed" % name)
        else:
            print("  %s as it should: %s" % ("passes" if should_pass else "fails", problems or "no problems"))
    return wrong


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--conclab", required=True)
    parser.add_argument("--self-test", action="store_true")
    parser.add_argument("notebooks", nargs="*")
    args = parser.parse_args()
    conclab = os.path.abspath(args.conclab)
    home = kernelspec_home(conclab)
    try:
        if args.self_test:
            wrong = self_test(conclab, home)
        else:
            paths = args.notebooks or lab_notebooks()
            if not paths:
                print("no lab notebooks under notebooks/")
                return 1
            wrong = []
            for path in paths:
                print(os.path.relpath(path, ROOT))
                wrong += ["%s: %s" % (os.path.relpath(path, ROOT), p) for p in check_notebook(path, conclab, home)]
    finally:
        shutil.rmtree(home, ignore_errors=True)
    for line in wrong:
        print("FAIL " + line)
    print("%s" % ("all good" if not wrong else "%d problems" % len(wrong)))
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
