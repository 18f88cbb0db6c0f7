"""One source per exercise (``vae_utils.exercises.generate``): the solved notebooks generate
the lessons' exercise sections.

The lessons must match what ``python -m vae_utils.exercises.generate`` makes from the solved
notebooks (so an edit by hand, or a source changed without generating, fails here); the
sources must be valid nbgrader notebooks; and the committed lessons must have been run after
generating (every check cell shows its "not attempted" verdict).
"""

import ast
import re
import shutil

import pytest

import nbformat
import nbgrader  # noqa: F401  (the dev extra installs it; a missing install is an error here)

from vae_utils.exercises import generate

from .helpers import ROOT

SOURCES = generate.sources(ROOT)


def _read(path):
    return nbformat.read(path, as_version=4)


def _nbgrader(cell):
    return cell.metadata.get("nbgrader", {})


def test_every_lesson_has_a_solved_source():
    lessons = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
    assert len(SOURCES) == len(lessons) >= 9
    assert [generate.lesson_path(s) for s in SOURCES] == lessons


def test_the_lessons_match_their_sources():
    stale = generate.stale_lessons(ROOT)
    assert not stale, (f"out of date with notebooks/solutions/: {[p.name for p in stale]}; "
                       "run python -m vae_utils.exercises.generate, then re-run those lessons")


def test_a_hand_edit_is_caught_and_generate_repairs_it(tmp_path):
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    lesson = tmp_path / "notebooks" / "03_kl_divergence_and_elbo.ipynb"
    nb = _read(lesson)
    tagged = [c for c in nb.cells if "exercise" in c.metadata.get("tags", [])]
    code = [c for c in tagged if c.cell_type == "code"]
    kept_outputs = code[1].outputs
    assert kept_outputs  # the committed lesson has outputs
    code[0].source = code[0].source.replace("# YOUR CODE HERE", "return 0.0  # edited by hand")
    nbformat.write(nb, lesson)
    assert generate.stale_lessons(tmp_path) == [lesson]

    assert generate.generate(tmp_path) == [lesson]
    assert generate.stale_lessons(tmp_path) == []
    fixed = [c for c in _read(lesson).cells if c.cell_type == "code"
             and "exercise" in c.metadata.get("tags", [])]
    assert "# YOUR CODE HERE" in fixed[0].source and not fixed[0].outputs  # rewritten
    assert fixed[1].outputs == kept_outputs  # an unchanged cell keeps its outputs


def test_a_changed_source_is_caught(tmp_path):
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    source = tmp_path / "notebooks" / "solutions" / SOURCES[0].name
    nb = _read(source)
    first = next(c for c in nb.cells if c.cell_type == "markdown"
                 and "exercise" in c.metadata.get("tags", []))
    first.source += "\n\nOne more sentence."
    nbformat.write(nb, source)
    assert generate.stale_lessons(tmp_path) == [generate.lesson_path(source)]


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name[:2])
def test_the_source_is_a_valid_nbgrader_notebook(source):
    from nbgrader.preprocessors import CheckCellMetadata

    nb = _read(source)
    CheckCellMetadata().preprocess(nb, {})  # nbgrader's own check of the cell metadata
    cells = [c for c in nb.cells if "exercise" in c.metadata.get("tags", [])]
    graded = [c for c in cells if _nbgrader(c).get("grade")]
    ids = [_nbgrader(c)["grade_id"] for c in cells if _nbgrader(c)]
    assert len(ids) == len(set(ids))
    checks = [c for c in graded if c.cell_type == "code"]
    open_questions = [c for c in graded if c.cell_type == "markdown"]
    assert 2 <= len(checks) <= 4 and len(open_questions) == 1
    for cell in checks:  # a locked test cell that calls one checker, worth 1 or 2 points
        meta = _nbgrader(cell)
        assert meta["locked"] and not meta["solution"] and meta["points"] in (1, 2)
        assert re.fullmatch(r"(from vae_utils\.exercises(\.nb\d\d_\w+)? import \w+\n\n)?"
                            r"check_\w+\(.*\)", cell.source.strip()), cell.source
        assert "BEGIN SOLUTION" not in cell.source
    assert _nbgrader(open_questions[0])["points"] == 4
    for cell in cells:  # every solution sits in a solution cell, between the markers
        if "### BEGIN SOLUTION" in cell.source:
            assert _nbgrader(cell).get("solution"), cell.source
    assert sum(_nbgrader(c).get("points", 0) for c in graded) == \
        sum(2 if "check_answer" not in c.source else 1 for c in checks) + 4


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name[:2])
def test_the_generated_cells_are_python_and_give_nothing_away(source):
    solved = _read(source)
    letters = re.findall(r'answer = "(\w)"', "".join(c.source for c in solved.cells))
    for cell in generate.exercise_cells(source):
        assert "SOLUTION" not in cell.source and "Model answer" not in cell.source
        assert "nbgrader" not in cell.metadata and "exercise" in cell.metadata["tags"]
        if cell.cell_type == "code":
            ast.parse(cell.source)  # a stub in place of a function body still parses
            for letter in letters:
                assert f'answer = "{letter}"' not in cell.source


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name[:2])
def test_the_committed_lesson_ran_after_generating(source):
    lesson = _read(generate.lesson_path(source))
    checks = [c for c in lesson.cells if c.cell_type == "code"
              and "exercise" in c.metadata.get("tags", []) and "check_" in c.source
              and "def " not in c.source and "for " not in c.source]
    assert checks
    for cell in checks:
        text = "".join(o.get("text", "") for o in cell.outputs)
        assert text.startswith("[not attempted yet]"), (cell.source, text)


def test_the_walkthrough_config_uses_the_generators_stubs():
    text = (ROOT / "INSTRUCTORS.md").read_text()
    assert f'c.ClearSolutions.code_stub = {{"python": "{generate.CODE_STUB}"}}' in text
    assert f'c.ClearSolutions.text_stub = "{generate.TEXT_STUB}"' in text


def test_the_check_command_reports(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert generate.main(["--check"]) == 0
    assert re.search(r"all \d+ lessons match", capsys.readouterr().out)


def test_the_check_command_finds_the_course_from_a_subfolder(capsys, monkeypatch):
    monkeypatch.chdir(ROOT / "notebooks" / "solutions")
    assert generate.main(["--check"]) == 0
    assert re.search(r"all \d+ lessons match", capsys.readouterr().out)
