"""homework_format: the instructor notebooks of notebooks/homework/ as a grader reads them —
nbgrader's schema 3 metadata, unique grade_ids, points on every graded cell, solution and
hidden-test markers balanced and only where they belong, conclab's test metadata, no outputs —
and each committed .ipynb exactly what make_homework.py makes of its source. Also: the
generator refuses broken sources, and wrong_answers.json names real cells."""
import json
import re

import nbformat
import pytest

import make_homework
from homework_runs import HOMEWORK

NOTEBOOKS = sorted(HOMEWORK.glob("*.ipynb"))
SOURCES = sorted((HOMEWORK / "src").glob("*.txt"))
NBGRADER_KEYS = {"grade", "grade_id", "locked", "schema_version", "solution", "task"}
CONCLAB_KEYS = {"repeat": int, "chaos": bool, "lockcheck": bool, "tsan": bool, "timeout": float}
WRONG_ANSWERS = json.loads((HOMEWORK.parents[1] / "tests" / "homework" / "wrong_answers.json").read_text())


def load(path):
    notebook = nbformat.read(str(path), as_version=4)
    nbformat.validate(notebook)
    return notebook


def nbgrader(cell):
    return cell.metadata.get("nbgrader")


def source_lines(cell):
    return [line.strip() for line in cell.source.splitlines()]


def test_nine_notebooks_one_per_source():
    assert len(NOTEBOOKS) == 9
    assert [path.stem for path in NOTEBOOKS] == [path.stem for path in SOURCES]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_committed_notebook_is_the_generated_one(path):
    generated = make_homework.render(make_homework.build_notebook(path.read_text(encoding="utf-8"), path.name))
    committed = (HOMEWORK / (path.stem + ".ipynb")).read_text(encoding="utf-8")
    assert committed == generated, f"{path.stem}.ipynb differs from its source: run tests/homework/make_homework.py"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_metadata(path):
    notebook = load(path)
    assert notebook.metadata.kernelspec.name == "conclab"
    assert notebook.metadata.kernelspec.language == "c"
    assert notebook.metadata.language_info.name == "c"
    assert notebook.cells[0].cell_type == "markdown" and "How it is graded" in notebook.cells[0].source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_nbgrader_schema_3(path):
    notebook = load(path)
    grade_ids = []
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, "committed without outputs"
        meta = nbgrader(cell)
        if meta is None:
            assert "conclab" not in cell.metadata, "test metadata on a cell nbgrader does not know"
            continue
        keys = set(meta) - {"points"}
        assert keys == NBGRADER_KEYS, f"{cell.id}: keys {sorted(meta)}"
        assert meta["schema_version"] == 3 and meta["task"] is False
        assert re.fullmatch(r"[A-Za-z0-9_-]+", meta["grade_id"])
        grade_ids.append(meta["grade_id"])
        if meta["grade"]:
            assert isinstance(meta["points"], int) and meta["points"] > 0, f"{cell.id}: points"
        else:
            assert "points" not in meta
        if meta["solution"]:
            assert not meta["locked"], f"{cell.id}: a solution cell the student cannot edit"
        if cell.cell_type == "code" and meta["grade"] and not meta["solution"]:
            assert meta["locked"], f"{cell.id}: an autograded test cell must be locked"
    assert len(grade_ids) == len(set(grade_ids)), "grade_ids are unique"
    assert any(nbgrader(c) and nbgrader(c)["solution"] for c in notebook.cells), "a cell for the student"
    assert any(c.cell_type == "code" and nbgrader(c) and nbgrader(c)["grade"] and not nbgrader(c)["solution"]
               for c in notebook.cells), "an autograded test"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_markers_balanced_and_in_place(path):
    for cell in load(path).cells:
        meta = nbgrader(cell) or {}
        lines = source_lines(cell)
        comment = "//" if cell.cell_type == "code" else "###"
        begins, ends = lines.count(f"{comment} BEGIN SOLUTION"), lines.count(f"{comment} END SOLUTION")
        assert begins == ends, f"{cell.id}: solution markers unbalanced"
        assert (begins > 0) == bool(meta.get("solution")), f"{cell.id}: solution markers in the wrong cell"
        order = [line for line in lines if line.endswith(("BEGIN SOLUTION", "END SOLUTION"))]
        assert order == [f"{comment} BEGIN SOLUTION", f"{comment} END SOLUTION"] * begins, f"{cell.id}: nested"
        hidden = lines.count("// BEGIN HIDDEN TESTS"), lines.count("// END HIDDEN TESTS")
        assert hidden[0] == hidden[1], f"{cell.id}: hidden-test markers unbalanced"
        if hidden[0]:
            assert cell.cell_type == "code" and meta.get("grade") and not meta.get("solution") and meta.get("locked")
        other_style = "###" if comment == "//" else "//"
        assert f"{other_style} BEGIN SOLUTION" not in lines, f"{cell.id}: the other language's marker"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_conclab_test_metadata(path):
    for cell in load(path).cells:
        extra = cell.metadata.get("conclab")
        if extra is None:
            continue
        assert nbgrader(cell)["grade"], f"{cell.id}: test metadata on a cell that is not graded"
        for key, value in extra.items():
            assert key in CONCLAB_KEYS and isinstance(value, CONCLAB_KEYS[key]), f"{cell.id}: {key}={value!r}"


def test_points_and_the_grader_metadata_across_the_set():
    points = {"manual": 0, "auto": 0}
    hidden = chaos = lockcheck = 0
    for path in NOTEBOOKS:
        for cell in load(path).cells:
            meta = nbgrader(cell) or {}
            if meta.get("grade"):
                manual = cell.cell_type == "markdown"
                points["manual" if manual else "auto"] += meta["points"]
                if manual:
                    assert path.stem.startswith("01-"), "manual points only in the written answer of 01"
            hidden += "// BEGIN HIDDEN TESTS" in cell.source
            chaos += bool(cell.metadata.get("conclab", {}).get("chaos"))
            lockcheck += bool(cell.metadata.get("conclab", {}).get("lockcheck"))
    assert 80 <= points["manual"] + points["auto"] <= 100, points
    assert 0 < points["manual"] <= 10, points
    assert hidden >= 5 and chaos >= 5 and lockcheck >= 1


BROKEN_SOURCES = {
    "unknown attribute": "@@ code grade_id=a lockd\nint x;\n",
    "graded without points": "@@ code grade_id=a grade locked\nint x;\n",
    "points on an ungraded cell": "@@ code grade_id=a locked points=2\nint x;\n",
    "no grade_id": "@@ code locked\nint x;\n",
    "solution without markers": "@@ code grade_id=a solution\nint x;\n",
    "unbalanced markers": "@@ code grade_id=a solution\n// BEGIN SOLUTION\nint x;\n",
    "markers outside a solution cell": "@@ code grade_id=a locked\n// BEGIN SOLUTION\n// END SOLUTION\n",
    "hidden tests in a solution cell": ("@@ code grade_id=a solution\n// BEGIN SOLUTION\n// END SOLUTION\n"
                                        "// BEGIN HIDDEN TESTS\n// END HIDDEN TESTS\n"),
    "duplicate grade_id": "@@ code grade_id=a locked\nint x;\n@@ code grade_id=a locked\nint y;\n",
    "test metadata on an ungraded cell": "@@ code grade_id=a locked repeat=3\nint x;\n",
    "text before the first cell": "int x;\n@@ code\nint y;\n",
    "bad cell kind": "@@ raw\nx\n",
}


@pytest.mark.parametrize("name", sorted(BROKEN_SOURCES))
def test_generator_refuses_broken_sources(name):
    with pytest.raises(make_homework.SourceError):
        make_homework.build_notebook(BROKEN_SOURCES[name], "broken.txt")


def test_generator_output_is_deterministic_and_ids_stable():
    text = "@@ markdown\n# T\n@@ code grade_id=q1 solution\n// BEGIN SOLUTION\nint x;\n// END SOLUTION\n"
    first = make_homework.render(make_homework.build_notebook(text, "t.txt"))
    assert first == make_homework.render(make_homework.build_notebook(text, "t.txt"))
    cells = json.loads(first)["cells"]
    assert [c["id"] for c in cells] == ["cell-1", "q1"]


def test_wrong_answers_name_real_cells():
    by_notebook = {}
    for entry in WRONG_ANSWERS:
        assert set(entry) == {"notebook", "name", "replace", "fails", "passes"}
        notebook = load(HOMEWORK / entry["notebook"])
        solutions = {nbgrader(c)["grade_id"] for c in notebook.cells if nbgrader(c) and nbgrader(c)["solution"]}
        tests = {nbgrader(c)["grade_id"] for c in notebook.cells
                 if c.cell_type == "code" and nbgrader(c) and nbgrader(c)["grade"] and not nbgrader(c)["solution"]}
        assert set(entry["replace"]) <= solutions, entry["name"]
        assert entry["fails"] and set(entry["fails"]) <= tests, entry["name"]
        assert set(entry["passes"]) <= tests and not set(entry["passes"]) & set(entry["fails"]), entry["name"]
        by_notebook.setdefault(entry["notebook"], []).append(entry["name"])
    assert sorted(by_notebook) == [path.name for path in NOTEBOOKS]
    assert all(len(names) >= 3 for names in by_notebook.values()), by_notebook
