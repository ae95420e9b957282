"""make_class.py — a small instructor notebook and a class of generated submissions for it.

The assignment has three autograded questions, each fast (well under a second a cell):
  counter   (3 points): a counter shared by two threads, which must take a lock;
  first     (2 points): first_of(values, n), which the crashing variant gets wrong by a NULL read;
  worker    (2 points): run_worker(), which the deadlocking variant never returns from.

Each submission is one of the VARIANTS below; EXPECTED says what a fair grader gives it, so a
test can check the whole class's summary row by row. Usage as a script:
    make_class.py DIR  (writes DIR/source.ipynb and DIR/submissions/)
"""
import copy
import json
import os
import sys

SOLUTION = {"counter": "    // BEGIN SOLUTION\n"
                       "        cl_lock_acquire(counter_lock);\n"
                       "        long seen = counter;\n"
                       "        cl_sleep(0.00005);\n"
                       "        counter = seen + 1;\n"
                       "        cl_lock_release(counter_lock);\n"
                       "        // END SOLUTION\n",
            "first": "    // BEGIN SOLUTION\n"
                     "    return n > 0 ? values[0] : -1;\n"
                     "    // END SOLUTION\n",
            "worker": "    // BEGIN SOLUTION\n"
                      "    cl_lock_acquire(l);\n"
                      "    cl_lock_release(l);\n"
                      "    // END SOLUTION\n"}

# What each kind of student writes instead of the solution.
RACY = ("        long seen = counter;\n"
        "        cl_sleep(0.00005);\n"
        "        counter = seen + 1;\n")
CRASHING = ("    int *nothing = NULL;\n"
            "    return *nothing + n + values[0];\n")
DEADLOCKING = ("    cl_lock_acquire(l);\n"
               "    cl_lock_acquire(l);\n"
               "    cl_lock_release(l);\n")


def cell(kind, source, **nbgrader):
    meta = {"nbgrader": dict(nbgrader, schema_version=3)} if nbgrader else {}
    c = {"cell_type": kind, "metadata": meta, "source": source}
    if kind == "code":
        c.update(execution_count=None, outputs=[])
    return c


def solution_cell(grade_id, head, body, tail):
    return cell("code", head + body + tail, grade_id=grade_id, solution=True, grade=False, locked=False)


def test_cell(grade_id, points, source, **conclab):
    c = cell("code", source, grade_id=grade_id, points=points, solution=False, grade=True, locked=True)
    if conclab:
        c["metadata"]["conclab"] = conclab
    return c


def notebook(bodies):
    cells = [
        cell("markdown", "# Homework: locks, crashes and deadlocks\n", grade_id="intro", locked=True,
             solution=False, grade=False),
        solution_cell("counter",
                      "long counter = 0;\ncl_lock *counter_lock;\n\nvoid *add_many(void *arg) {\n"
                      "    (void)arg;\n    for (int i = 0; i < 50; i++) {\n    ",
                      bodies["counter"], "    }\n    return NULL;\n}\n"),
        test_cell("counter_test", 3,
                  "counter = 0;\ncounter_lock = cl_lock_new();\n"
                  "cl_thread *adder_a = cl_thread_start(add_many, NULL);\n"
                  "cl_thread *adder_b = cl_thread_start(add_many, NULL);\n"
                  "cl_thread_join(adder_a);\ncl_thread_join(adder_b);\n"
                  "cl_check(counter == 100, \"counter is %ld, expected 100\", counter);\n",
                  repeat=5, chaos=True),  # a race lost once in a quiet run is lost under perturbation
        solution_cell("first", "int first_of(const int *values, int n) {\n", bodies["first"], "}\n"),
        test_cell("crash_test", 2,
                  "int some_values[] = {7, 8};\n"
                  "cl_check(first_of(some_values, 2) == 7, \"first_of({7, 8}, 2) should be 7\");\n"
                  "cl_check(first_of(some_values, 0) == -1, \"first_of(v, 0) should be -1\");\n"),
        solution_cell("worker", "int run_worker(void) {\n    cl_lock *l = cl_lock_new();\n",
                      bodies["worker"], "    cl_lock_free(l);\n    return 1;\n}\n"),
        test_cell("hang_test", 2, "cl_check(run_worker() == 1, \"run_worker should return 1\");\n"),
    ]
    return {"cells": cells, "metadata": {"kernelspec": {"name": "conclab", "display_name": "C (conclab)",
                                                          "language": "c"},
                                           "language_info": {"name": "c"}},
            "nbformat": 4, "nbformat_minor": 5}


def source_notebook():
    return notebook(SOLUTION)


def answered(**changes):
    return notebook(dict(SOLUTION, **changes))


def with_test_edited(nb):
    """The counter test rewritten to pass whatever the counter holds: the grader must restore it."""
    nb = copy.deepcopy(nb)
    for c in nb["cells"]:
        if c["metadata"].get("nbgrader", {}).get("grade_id") == "counter_test":
            c["source"] = "cl_check(1, \"all good\");\n"
    return nb


def with_test_deleted(nb):
    nb = copy.deepcopy(nb)
    nb["cells"] = [c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") != "counter_test"]
    return nb


def dump(nb):
    return json.dumps(nb, indent=1).encode()


# variant: (how many, file suffix, the file's bytes, expected status, expected points per question)
FULL = {"counter_test": 3, "crash_test": 2, "hang_test": 2}
VARIANTS = {
    "correct": (36, ".ipynb", lambda: dump(source_notebook()), "graded", FULL),
    "racy": (14, ".ipynb", lambda: dump(answered(counter=RACY)), "graded", dict(FULL, counter_test=0)),
    "deadlocking": (6, ".ipynb", lambda: dump(answered(worker=DEADLOCKING)), "graded", dict(FULL, hang_test=0)),
    "crashing": (12, ".ipynb", lambda: dump(answered(first=CRASHING)), "graded", dict(FULL, crash_test=0)),
    "test_edited": (6, ".ipynb", lambda: dump(with_test_edited(answered(counter=RACY))), "graded",
                    dict(FULL, counter_test=0)),
    "test_deleted": (5, ".ipynb", lambda: dump(with_test_deleted(answered(counter=RACY))), "graded",
                     dict(FULL, counter_test=0)),
    "nbgrader_folder": (6, "/homework.ipynb", lambda: dump(source_notebook()), "graded", FULL),
    "empty": (4, ".ipynb", lambda: b"", "unreadable", None),
    "not_json": (4, ".ipynb", lambda: b"{\"cells\": [ this is not json", "unreadable", None),
    "png": (4, ".png", lambda: b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "unreadable", None),
    "not_a_notebook": (2, ".ipynb", lambda: b"[1, 2, 3]\n", "unreadable", None),
    "huge": (1, ".ipynb", lambda: b"{\"cells\": [], \"padding\": \"" + b"x" * (21 << 20) + b"\"}", "unreadable", None),
}


def write_class(root):
    """Writes root/source.ipynb and root/submissions/; returns {student: (variant, status, points)}."""
    subs = os.path.join(root, "submissions")
    os.makedirs(subs, exist_ok=True)
    with open(os.path.join(root, "source.ipynb"), "wb") as f:
        f.write(dump(source_notebook()))
    expected = {}
    number = 0
    for variant, (count, suffix, make, status, points) in VARIANTS.items():
        data = make()
        for _ in range(count):
            number += 1
            student = "s%03d_%s" % (number, variant)
            path = os.path.join(subs, student + suffix)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
            name = student + (".png" if suffix == ".png" else "")
            expected[name] = (variant, status, points)
    return expected


if __name__ == "__main__":
    print(len(write_class(sys.argv[1])), "submissions")
