"""assignment.py — a small instructor notebook in nbgrader's format, and submissions made from it.

One question of each kind the grader must handle: a lost update fixed with a lock (tested under
schedule perturbation), a partial-credit question with a hidden test, a question whose wrong
answer crashes, one whose wrong answer deadlocks, and a written answer graded by hand.
"""
import copy
import json

HIDDEN_TOKEN = "HIDDEN_TOKEN_7731"

SETUP = """long sold = 0;
cl_lock *sold_lock = cl_lock_new();
"""

SELL = """void sell_one(void) {
    // BEGIN SOLUTION
    cl_lock_acquire(sold_lock);
    long seen = cl_atomic_load(&sold);
    cl_atomic_store(&sold, seen + 1);
    cl_lock_release(sold_lock);
    // END SOLUTION
}
"""
SELL_RACY = """void sell_one(void) {
    long seen = cl_atomic_load(&sold);
    cl_atomic_store(&sold, seen + 1);
}
"""
SELL_TEST = """void *seller(void *arg) { (void)arg; sell_one(); return NULL; }
sold = 0;
cl_thread *sellers[4];
for (int i = 0; i < 4; i++) sellers[i] = cl_thread_start(seller, NULL);
for (int i = 0; i < 4; i++) cl_thread_join(sellers[i]);
cl_check(sold == 4, "four sellers sold %ld tickets", sold);
"""

SQUARE = """int square(int x) {
    // BEGIN SOLUTION
    return x * x;
    // END SOLUTION
}
"""
SQUARE_TEST = """int square_points = 0;
if (square(2) == 4) square_points += 2;
if (square(-3) == 9) square_points += 2;
// BEGIN HIDDEN TESTS
if (square(0) != 0) square_points = 0; /* %s */
// END HIDDEN TESTS
square_points
""" % HIDDEN_TOKEN

DEREF = """int value_or_minus_one(int *p) {
    // BEGIN SOLUTION
    return p ? *p : -1;
    // END SOLUTION
}
"""
DEREF_TEST = """int forty_two = 42;
cl_check(value_or_minus_one(&forty_two) == 42, "reads the value");
cl_check(value_or_minus_one(NULL) == -1, "NULL gives -1");
"""

PAIR = """cl_lock *first_lock = cl_lock_new(), *second_lock = cl_lock_new();
void take_both(void) {
    // BEGIN SOLUTION
    cl_lock_acquire(first_lock);
    cl_lock_acquire(second_lock);
    cl_lock_release(second_lock);
    cl_lock_release(first_lock);
    // END SOLUTION
}
"""
PAIR_TEST = """take_both();
cl_check(!cl_lock_locked(first_lock) && !cl_lock_locked(second_lock), "both locks released");
"""

EXPLAIN = """### BEGIN SOLUTION
The lock makes the read and the write one step: no other seller can come in between.
### END SOLUTION
"""


def lines(text):
    out = text.splitlines(True)
    return out


def cell(kind, source, grade_id=None, points=None, solution=False, grade=False, locked=False, conclab=None):
    cell.count = getattr(cell, "count", 0) + 1
    c = {"cell_type": kind, "id": grade_id or "cell-%d" % cell.count, "metadata": {}, "source": lines(source)}
    if kind == "code":
        c["outputs"] = []
        c["execution_count"] = None
    if grade_id:
        nb = {"grade_id": grade_id, "grade": grade, "solution": solution, "locked": locked, "schema_version": 3}
        if points is not None:
            nb["points"] = points
        c["metadata"]["nbgrader"] = nb
    if conclab:
        c["metadata"]["conclab"] = conclab
    return c


def instructor(sell_repeat=30):
    cells = [
        cell("markdown", "# Homework: locks\n"),
        cell("code", SETUP, "setup", locked=True),
        cell("code", SELL, "sell", solution=True),
        cell("code", SELL_TEST, "sell_test", points=3, grade=True, locked=True, conclab={"repeat": sell_repeat}),
        cell("code", SQUARE, "square", solution=True),
        cell("code", SQUARE_TEST, "square_test", points=4, grade=True, locked=True),
        cell("code", DEREF, "deref", solution=True),
        cell("code", DEREF_TEST, "deref_test", points=2, grade=True, locked=True),
        cell("code", PAIR, "pair", solution=True),
        cell("code", PAIR_TEST, "pair_test", points=2, grade=True, locked=True),
        cell("markdown", EXPLAIN, "explain", points=2, solution=True, grade=True),
    ]
    return {
        "cells": cells,
        "metadata": {"kernelspec": {"name": "conclab", "display_name": "C (conclab)", "language": "c"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


MAX_SCORE = 13
AUTOGRADED = 11


def find(nb, grade_id):
    for i, c in enumerate(nb["cells"]):
        if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            return i
    raise KeyError(grade_id)


def with_answer(nb, grade_id, source):
    """A copy of nb whose cell grade_id holds source."""
    nb = copy.deepcopy(nb)
    nb["cells"][find(nb, grade_id)]["source"] = lines(source)
    return nb


def save(nb, path):
    with open(path, "w") as f:
        json.dump(nb, f, indent=1)
    return str(path)
