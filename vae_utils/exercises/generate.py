"""The exercise section of every lesson, generated from its one source: the solved notebook.

Each exercise is written once, solved, in ``notebooks/solutions/NN_name_solutions.ipynb``.
Its cells carry the tag ``exercise`` and nbgrader's cell metadata: the learner's code cell
is an nbgrader *solution* cell with the solution between ``### BEGIN SOLUTION`` and
``### END SOLUTION``, the cell that calls the checker is a locked *autograder test* cell
with its points, and the open question's answer is a *manually graded answer* cell. This
module turns those cells into the exercise section of the lesson
``notebooks/NN_name.ipynb``: nbgrader's own ``ClearSolutions`` preprocessor replaces each
solution region with :data:`CODE_STUB` (code) or :data:`TEXT_STUB` (markdown), the nbgrader
metadata is dropped, and the result replaces the lesson's cells tagged ``exercise``.

Run from the course folder (it needs the ``instructor`` extra: ``pip install -e
".[instructor]"``)::

    python -m vae_utils.exercises.generate          # rewrite the exercise sections
    python -m vae_utils.exercises.generate --check  # only report the lessons that are stale

A rewritten cell loses its outputs; run the lesson again
(``python -m vae_utils.course --inplace notebooks/NN_name.ipynb``) to refresh them. The test
command runs the check, so a lesson edited by hand, or a source changed without
regenerating, fails the tests.

The same solved notebook is what an instructor gives ``nbgrader generate_assignment``
(INSTRUCTORS.md): with the stubs below set in ``nbgrader_config.py``, the released
assignment's cells are exactly the lesson's.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .._env import project_root

__all__ = ["CODE_STUB", "TEXT_STUB", "TAG", "exercise_cells", "lesson_path", "sources",
           "stale_lessons", "generate", "main"]

#: What replaces a solution region in a code cell. It is not nbgrader's default (which ends
#: in ``raise NotImplementedError()``): a stub that raises at the top of a cell would stop
#: "Run all" at the first multiple-choice answer. A function whose body is only this stub
#: returns ``None``, which every checker reports as "not attempted yet".
CODE_STUB = "# YOUR CODE HERE"

#: What replaces the model answer of an open question (a markdown solution cell).
TEXT_STUB = "YOUR ANSWER HERE (three to five sentences)"

#: The cell tag that marks a cell of the exercise section, in the source and in the lesson.
TAG = "exercise"


def _nbformat():
    import nbformat

    return nbformat


def _clear_solutions():
    try:
        from nbgrader.preprocessors import ClearSolutions
    except ImportError as err:  # pragma: no cover - depends on the install
        raise ImportError("generating the exercise sections uses nbgrader's ClearSolutions; "
                          "install it with: python -m pip install -e \".[instructor]\"") from err
    return ClearSolutions(code_stub={"python": CODE_STUB}, text_stub=TEXT_STUB)


def _tagged(cell: Any) -> bool:
    return TAG in cell.get("metadata", {}).get("tags", [])


def _block(cells: list, where: Path) -> tuple[int, int]:
    """``(start, stop)`` of the one contiguous run of cells tagged :data:`TAG`."""
    idx = [i for i, cell in enumerate(cells) if _tagged(cell)]
    if not idx:
        raise ValueError(f"{where} has no cells tagged {TAG!r}: tag its exercise cells.")
    if idx != list(range(idx[0], idx[-1] + 1)):
        gaps = sorted(set(range(idx[0], idx[-1] + 1)) - set(idx))
        raise ValueError(f"{where}: the cells tagged {TAG!r} must be one contiguous run; "
                         f"cells {gaps} in between are not tagged.")
    return idx[0], idx[-1] + 1


def exercise_cells(source: Path | str) -> list:
    """The lesson's exercise cells, generated from the solved notebook ``source``.

    Args:
        source: a solved notebook (``notebooks/solutions/NN_name_solutions.ipynb``).

    Returns:
        ``nbformat`` cells without outputs or nbgrader metadata, in order, each tagged
        :data:`TAG`, their solution regions replaced by the stubs.

    Raises:
        ValueError: no tagged cells, or they are not contiguous.
        RuntimeError: nbgrader's: a solution region outside a cell marked as a solution
            cell, or an unclosed or nested region.
    """
    nbformat = _nbformat()
    source = Path(source)
    nb = nbformat.read(source, as_version=4)
    start, stop = _block(nb.cells, source)
    # the whole notebook, as nbgrader generate_assignment processes it (so a marker that
    # nbgrader would trip over anywhere in it fails here too)
    nb, _ = _clear_solutions().preprocess(nb, {})
    cells = nb.cells[start:stop]
    for cell in cells:
        cell.metadata.pop("nbgrader", None)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return list(cells)


def lesson_path(source: Path | str) -> Path:
    """``notebooks/solutions/NN_name_solutions.ipynb`` -> ``notebooks/NN_name.ipynb``.

    Raises:
        ValueError: ``source`` is not named ``*_solutions.ipynb`` inside a ``solutions``
            folder.
    """
    source = Path(source)
    if source.parent.name != "solutions" or not source.name.endswith("_solutions.ipynb"):
        raise ValueError(f"{source} is not a solved notebook "
                         "(notebooks/solutions/NN_name_solutions.ipynb).")
    return source.parent.parent / source.name.replace("_solutions.ipynb", ".ipynb")


def sources(root: Path | str) -> list[Path]:
    """The solved notebooks of the course at ``root``, in order."""
    return sorted((Path(root) / "notebooks" / "solutions").glob("*_solutions.ipynb"))


def _key(cell: Any) -> tuple:
    """What must agree between a generated cell and the lesson's (outputs aside)."""
    return (cell.cell_type, cell.get("id"), cell.source, cell.metadata.get("tags", []))


def _splice(source: Path) -> tuple[Any, bool]:
    """The lesson of ``source`` with its exercise section generated, and whether it changed.
    An unchanged cell keeps its outputs."""
    nbformat = _nbformat()
    lesson_file = lesson_path(source)
    if not lesson_file.is_file():
        raise FileNotFoundError(f"{source} has no lesson at {lesson_file}.")
    lesson = nbformat.read(lesson_file, as_version=4)
    start, stop = _block(lesson.cells, lesson_file)
    old = {(c.get("id"), c.source): c for c in lesson.cells[start:stop]}
    new = []
    for cell in exercise_cells(source):
        kept = old.get((cell.get("id"), cell.source))
        new.append(kept if kept is not None and _key(kept) == _key(cell) else cell)
    changed = [_key(c) for c in lesson.cells[start:stop]] != [_key(c) for c in new]
    lesson.cells[start:stop] = new
    return lesson, changed


def stale_lessons(root: Path | str) -> list[Path]:
    """The lessons whose exercise section differs from what their solved notebook
    generates (cell types, ids, sources and tags; outputs are not compared)."""
    return [lesson_path(s) for s in sources(root) if _splice(s)[1]]


def generate(root: Path | str) -> list[Path]:
    """Rewrite the exercise section of every stale lesson; return the lessons rewritten."""
    nbformat = _nbformat()
    written = []
    for source in sources(root):
        lesson, changed = _splice(source)
        if changed:
            nbformat.write(lesson, lesson_path(source))
            written.append(lesson_path(source))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vae_utils.exercises.generate",
        description="Generate each lesson's exercise section from its solved notebook.")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a lesson is out of date with its source")
    args = parser.parse_args(argv)
    root = project_root()
    if args.check:
        stale = stale_lessons(root)
        for path in stale:
            print(f"out of date: {path.relative_to(root)} (run python -m "
                  "vae_utils.exercises.generate, then re-run that lesson)")
        if not stale:
            print(f"all {len(sources(root))} lessons match their solved notebooks")
        return 1 if stale else 0
    written = generate(root)
    for path in written:
        print(f"rewrote the exercise section of {path.relative_to(root)}; run it again: "
              f"python -m vae_utils.course --inplace {path.relative_to(root)}")
    if not written:
        print(f"all {len(sources(root))} lessons already match their solved notebooks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
