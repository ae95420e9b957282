"""homework_runs.py — runs a homework notebook with `conclab run` and says which graded cells
passed, as a grader would see it: a test cell passes when it ran without an error output.
Shared by the homework tests and check_wrong_answers.py."""
import json
import os
import subprocess
import tempfile
from pathlib import Path

HOMEWORK = Path(__file__).resolve().parents[2] / "notebooks" / "homework"
RUN_TIMEOUT = 300  # seconds for a whole notebook: a guard against a hang, not a measurement
CELL_TIMEOUT = 30  # seconds for one cell: a wrong answer that hangs fails its cell, the rest go on


def conclab_binary():
    binary = os.path.abspath(os.environ.get("CONCLAB_BIN", ""))
    if not os.access(binary, os.X_OK):
        raise SystemExit("CONCLAB_BIN must name the built conclab binary (ctest sets it)")
    return binary


def grade_id(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def with_replacements(notebook, replace):
    """A copy of notebook whose cells named in replace ({grade_id: source}) hold that source."""
    copy = json.loads(json.dumps(notebook))
    missing = set(replace)
    for cell in copy["cells"]:
        name = grade_id(cell)
        if name in replace:
            cell["source"] = replace[name]
            missing.discard(name)
    if missing:
        raise KeyError(f"no cell with grade_id {sorted(missing)}")
    return copy


def run_notebook(notebook, name="homework.ipynb", allow_errors=True):
    """Runs notebook (a dict); returns (exit status, stderr text, {grade_id: outcome}) where the
    outcome of each code cell with a grade_id is "pass", "fail" or "not run"."""
    conclab = conclab_binary()
    with tempfile.TemporaryDirectory(prefix="conclab-homework-") as scratch:
        source = Path(scratch) / name
        executed = Path(scratch) / ("executed-" + name)
        source.write_text(json.dumps(notebook), encoding="utf-8")
        arguments = [conclab, "run", "-q", str(source), "-o", str(executed), "--timeout", str(CELL_TIMEOUT)]
        if allow_errors:
            arguments.append("--allow-errors")
        try:
            process = subprocess.run(arguments, capture_output=True, text=True, timeout=RUN_TIMEOUT,
                                     cwd=scratch, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return None, f"conclab run did not end within {RUN_TIMEOUT} s", {}
        outcomes = {}
        if executed.exists():
            for cell in json.loads(executed.read_text(encoding="utf-8"))["cells"]:
                if cell["cell_type"] != "code" or not grade_id(cell):
                    continue
                if cell.get("execution_count") is None:
                    outcomes[grade_id(cell)] = "not run"
                elif any(output["output_type"] == "error" for output in cell["outputs"]):
                    outcomes[grade_id(cell)] = "fail"
                else:
                    outcomes[grade_id(cell)] = "pass"
        return process.returncode, process.stderr, outcomes


def cell_text(executed_cell):
    """Everything a cell printed (streams and error), for messages."""
    parts = []
    for output in executed_cell.get("outputs", []):
        if output["output_type"] == "stream":
            parts.append("".join(output["text"]))
        elif output["output_type"] == "error":
            parts.append(output["ename"] + ": " + output["evalue"])
    return "".join(parts)


def blank_submission(notebook, stub=""):
    """The notebook as a student who wrote nothing hands it in: every solution region of every
    code cell replaced by stub (the markers go too, as nbgrader's ClearSolutions does)."""
    copy = json.loads(json.dumps(notebook))
    for cell in copy["cells"]:
        if cell["cell_type"] != "code" or not cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            continue
        kept, inside = [], False
        for line in "".join(cell["source"]).splitlines(keepends=True):
            marker = line.strip()
            if marker == "// BEGIN SOLUTION":
                inside = True
                if stub:
                    kept.append(line[:len(line) - len(line.lstrip())] + stub + "\n")
            elif marker == "// END SOLUTION":
                inside = False
            elif not inside:
                kept.append(line)
        cell["source"] = kept
    return copy


def grade_notebook(notebook, source, name="homework.ipynb"):
    """Grades notebook (a dict) against the instructor notebook at source with `conclab grade`;
    returns (exit status, stderr text, {grade_id: "pass" | "fail"}) for its autograded tests,
    "pass" meaning full points (repeat, chaos, lockcheck and tsan metadata honoured)."""
    with tempfile.TemporaryDirectory(prefix="conclab-homework-") as scratch:
        submission = Path(scratch) / name
        submission.write_text(json.dumps(notebook), encoding="utf-8")
        report = Path(scratch) / "graded"
        try:
            process = subprocess.run([conclab_binary(), "grade", str(submission), "--source", str(source),
                                      "-o", str(report), "-q"], capture_output=True, text=True,
                                     timeout=RUN_TIMEOUT * 3, cwd=scratch, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return None, f"conclab grade did not end within {RUN_TIMEOUT * 3} s", {}
        results_file = report / "results.json"
        if not results_file.exists():
            return process.returncode, process.stderr, {}
        results = json.loads(results_file.read_text(encoding="utf-8"))
        return process.returncode, process.stderr, {
            test["grade_id"]: "pass" if test["points"] == test["max_points"] else "fail"
            for test in results["tests"] if test["kind"] == "test"}
