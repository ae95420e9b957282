"""check_wrong_answers.py — each realistic wrong submission of tests/homework/wrong_answers.json,
substituted into its instructor notebook and run with `conclab run --allow-errors`: the test
cells it names under "fails" must fail and those under "passes" must pass, on every one of
--times runs (racy answers must fail reliably, not now and then). With --grader, each is graded
by `conclab grade` instead (a test "passes" with full points; its repeat, chaos, lockcheck and
tsan metadata then count).

Usage: CONCLAB_BIN=build/kernel/conclab check_wrong_answers.py [--times N] [--only NOTEBOOK] [--grader]"""
import argparse
import json
import sys
from pathlib import Path

from homework_runs import HOMEWORK, grade_notebook, run_notebook, with_replacements

WRONG_ANSWERS = Path(__file__).resolve().parent / "wrong_answers.json"


def check(entry, times, grader=False):
    """Problems found for one wrong answer (empty: it behaves as described)."""
    source = HOMEWORK / entry["notebook"]
    submission = with_replacements(json.loads(source.read_text(encoding="utf-8")), entry["replace"])
    problems = []
    for attempt in range(1, times + 1):
        if grader:
            _, stderr, outcomes = grade_notebook(submission, source, entry["notebook"])
        else:
            _, stderr, outcomes = run_notebook(submission, entry["notebook"])
        for test in entry["fails"]:
            if outcomes.get(test) != "fail":
                problems.append(f"run {attempt}: {test} should fail, was {outcomes.get(test, 'absent')}")
        for test in entry["passes"]:
            if outcomes.get(test) != "pass":
                problems.append(f"run {attempt}: {test} should pass, was {outcomes.get(test, 'absent')}")
        if problems:
            problems.append("stderr tail: " + stderr[-800:])
            break
    return problems


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--times", type=int, default=1)
    parser.add_argument("--only", default=None, help="only the wrong answers of this notebook")
    parser.add_argument("--grader", action="store_true", help="grade with conclab grade instead of conclab run")
    options = parser.parse_args()
    entries = json.loads(WRONG_ANSWERS.read_text(encoding="utf-8"))
    failed = 0
    for entry in entries:
        if options.only and not entry["notebook"].startswith(options.only):
            continue
        problems = check(entry, options.times, options.grader)
        verdict = "ok" if not problems else "WRONG"
        print(f"{verdict:5} {entry['notebook']}: {entry['name']}", flush=True)
        for problem in problems:
            print("      " + problem)
        failed += bool(problems)
    print(f"{failed} wrong answer(s) did not behave as described")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
