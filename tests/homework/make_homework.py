"""make_homework.py — builds the instructor notebooks of notebooks/homework/ from their text
sources in notebooks/homework/src/, so that nobody edits an .ipynb by hand.

A source file is a list of cells. Each cell starts with a header line

    @@ KIND [ATTRIBUTE ...]

where KIND is `markdown` or `code` and the attributes are words (flags) or key=value pairs:

    grade_id=NAME   the nbgrader grade_id (also the cell's id); needed by every nbgrader cell
    locked          nbgrader: the student may not edit it (set-up and test cells)
    solution        nbgrader: the student writes this cell (BEGIN/END SOLUTION inside)
    grade           nbgrader: the cell is graded (needs points=N)
    points=N        the points it is worth
    repeat=N chaos lockcheck tsan timeout=S
                    conclab's own test metadata (cell.metadata.conclab), honoured by the grader

The lines up to the next header are the cell's text (blank lines around it are dropped). A cell
without attributes is a plain cell (no nbgrader metadata). Cell ids are the grade_id, else
"cell-N" by position, so the output is the same on every run.

Usage: make_homework.py [--check] [SOURCE.txt ...]   (default: every source)
  writes notebooks/homework/NAME.ipynb next to src/; --check writes nothing and exits 1 if a
  committed notebook differs from what its source gives.
"""
import json
import re
import sys
from pathlib import Path

HOMEWORK = Path(__file__).resolve().parents[2] / "notebooks" / "homework"
HEADER = re.compile(r"^@@ (\S+)(.*)$")
NAME_OK = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
FLAGS = {"locked", "solution", "grade", "chaos", "lockcheck", "tsan"}
VALUES = {"grade_id", "points", "repeat", "timeout"}
CONCLAB_KEYS = ("repeat", "chaos", "lockcheck", "tsan", "timeout")

NOTEBOOK_METADATA = {
    "kernelspec": {"name": "conclab", "display_name": "C (conclab)", "language": "c"},
    "language_info": {"name": "c", "file_extension": ".c", "mimetype": "text/x-csrc"},
}

MARKERS = {
    "code": ("// BEGIN SOLUTION", "// END SOLUTION"),
    "markdown": ("### BEGIN SOLUTION", "### END SOLUTION"),
}
HIDDEN = ("// BEGIN HIDDEN TESTS", "// END HIDDEN TESTS")


class SourceError(Exception):
    """A mistake in a source file, with where it is."""


def parse_attributes(text, where):
    attributes = {}
    for word in text.split():
        key, equals, value = word.partition("=")
        if equals:
            if key not in VALUES:
                raise SourceError(f"{where}: unknown attribute '{key}='")
            if key in ("points", "repeat"):
                if not value.isdigit():
                    raise SourceError(f"{where}: {key} needs a whole number, not '{value}'")
                value = int(value)
            elif key == "timeout":
                value = float(value)
            attributes[key] = value
        elif word in FLAGS:
            attributes[word] = True
        else:
            raise SourceError(f"{where}: unknown attribute '{word}'")
    return attributes


def split_cells(text, name):
    """[(kind, attributes, body, line number)] from a source's text."""
    cells = []
    current = None
    for number, line in enumerate(text.splitlines(), 1):
        header = HEADER.match(line)
        if header:
            kind = header.group(1)
            if kind not in MARKERS:
                raise SourceError(f"{name}:{number}: cell kind must be markdown or code, not '{kind}'")
            current = (kind, parse_attributes(header.group(2), f"{name}:{number}"), [], number)
            cells.append(current)
        elif current is None:
            if line.strip():
                raise SourceError(f"{name}:{number}: text before the first '@@' cell header")
        else:
            current[2].append(line)
    if not cells:
        raise SourceError(f"{name}: no cells")
    return [(kind, attributes, "\n".join(lines).strip("\n"), number)
            for kind, attributes, lines, number in cells]


def count_lines(body, marker):
    return sum(1 for line in body.splitlines() if line.strip() == marker)


def check_cell(kind, attributes, body, where):
    """The rules a cell must keep; raises SourceError naming the first it breaks."""
    nbgrader = any(key in attributes for key in ("locked", "solution", "grade", "grade_id", "points"))
    if nbgrader and "grade_id" not in attributes:
        raise SourceError(f"{where}: an nbgrader cell needs grade_id=")
    if "grade_id" in attributes and not NAME_OK.match(attributes["grade_id"]):
        raise SourceError(f"{where}: grade_id may hold only letters, digits, '-' and '_'")
    if attributes.get("grade") and "points" not in attributes:
        raise SourceError(f"{where}: a graded cell needs points=")
    if "points" in attributes and not attributes.get("grade"):
        raise SourceError(f"{where}: points= on a cell that is not graded")
    if attributes.get("solution") and attributes.get("locked"):
        raise SourceError(f"{where}: a solution cell cannot be locked")
    begin, end = MARKERS[kind]
    begins, ends = count_lines(body, begin), count_lines(body, end)
    if begins != ends:
        raise SourceError(f"{where}: {begins} '{begin}' for {ends} '{end}'")
    if attributes.get("solution") and begins == 0:
        raise SourceError(f"{where}: a solution cell needs '{begin}' ... '{end}'")
    if begins and not attributes.get("solution"):
        raise SourceError(f"{where}: solution markers in a cell that is not a solution cell")
    hidden = count_lines(body, HIDDEN[0]), count_lines(body, HIDDEN[1])
    if hidden[0] != hidden[1]:
        raise SourceError(f"{where}: hidden-test markers unbalanced")
    if hidden[0] and not (kind == "code" and attributes.get("grade") and not attributes.get("solution")):
        raise SourceError(f"{where}: hidden tests belong in autograded test cells only")
    if any(key in attributes for key in CONCLAB_KEYS) and not attributes.get("grade"):
        raise SourceError(f"{where}: test metadata (repeat, chaos, ...) on a cell that is not graded")


def build_cell(kind, attributes, body, index):
    metadata = {}
    if "grade_id" in attributes:
        nbgrader = {
            "grade": bool(attributes.get("grade")),
            "grade_id": attributes["grade_id"],
            "locked": bool(attributes.get("locked")),
            "schema_version": 3,
            "solution": bool(attributes.get("solution")),
            "task": False,
        }
        if attributes.get("grade"):
            nbgrader["points"] = attributes["points"]
        metadata["nbgrader"] = nbgrader
    conclab = {key: attributes[key] for key in CONCLAB_KEYS if key in attributes}
    if conclab:
        metadata["conclab"] = conclab
    cell = {
        "cell_type": kind,
        "id": attributes.get("grade_id", f"cell-{index}"),
        "metadata": metadata,
        "source": body.splitlines(keepends=True),
    }
    if kind == "code":
        cell["execution_count"] = None
        cell["outputs"] = []
    return cell


def build_notebook(text, name):
    """The notebook (a dict in nbformat 4.5 shape) that a source's text describes."""
    cells = []
    grade_ids = set()
    for index, (kind, attributes, body, number) in enumerate(split_cells(text, name), 1):
        where = f"{name}:{number}"
        check_cell(kind, attributes, body, where)
        grade_id = attributes.get("grade_id")
        if grade_id in grade_ids:
            raise SourceError(f"{where}: grade_id '{grade_id}' used twice")
        if grade_id:
            grade_ids.add(grade_id)
        cells.append(build_cell(kind, attributes, body, index))
    return {"cells": cells, "metadata": NOTEBOOK_METADATA, "nbformat": 4, "nbformat_minor": 5}


def render(notebook):
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def target_of(source):
    return source.parent.parent / (source.stem + ".ipynb")


def main(argv):
    check = "--check" in argv
    sources = [Path(arg) for arg in argv if arg != "--check"] or sorted((HOMEWORK / "src").glob("*.txt"))
    stale = []
    for source in sources:
        try:
            text = render(build_notebook(source.read_text(encoding="utf-8"), source.name))
        except (OSError, SourceError) as error:
            print(f"make_homework: {error}", file=sys.stderr)
            return 2
        target = target_of(source)
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if check:
            if current != text:
                stale.append(target.name)
        elif current != text:
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target}")
    if stale:
        print("make_homework: out of date (run tests/homework/make_homework.py): " + ", ".join(stale),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
