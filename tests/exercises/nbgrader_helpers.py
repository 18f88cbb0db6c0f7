"""What the nbgrader tests share: the course folder's config as INSTRUCTORS.md prints it, one
nbgrader command, the solved sources of a notebook's solution cells, and students who fetch,
fill in and submit a released notebook."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat

from .helpers import ROOT


def config_from_instructors() -> str:
    """The ``nbgrader_config.py`` of INSTRUCTORS.md's walkthrough."""
    text = (ROOT / "INSTRUCTORS.md").read_text()
    found = re.search(r"^( *)```python\n( *# nbgrader_config\.py\n.*?)^ *```", text, re.S | re.M)
    assert found, "INSTRUCTORS.md has no ```python block starting with # nbgrader_config.py"
    return textwrap.dedent(found.group(2))


def nbgrader_run(*args: str, cwd: Path, exchange: Path, env: dict[str, str] | None = None) -> str:
    """``python -m nbgrader ARGS --Exchange.root=EXCHANGE`` in ``cwd``; its output. The
    environment is this process's (or ``env``), without ``NBGRADER_EXECUTION``."""
    env = {k: v for k, v in (os.environ if env is None else env).items()
           if k != "NBGRADER_EXECUTION"}
    # nbgrader runs console scripts (alembic) through PATH: put this interpreter's scripts
    # first, so the test passes with the environment's python even when it is not activated.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args,
                           f"--Exchange.root={exchange}"],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def solutions(source: Path) -> dict[str, str]:
    """grade_id -> the solved source of each solution cell of ``source`` (markers removed)."""
    out = {}
    for cell in nbformat.read(source, as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            lines = [line for line in cell.source.split("\n")
                     if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line]
            out[meta["grade_id"]] = "\n".join(lines)
    return out


def answer(path: Path, answers: dict[str, str]) -> None:
    """Fill the student's released notebook: the cells of ``answers`` get that source."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    nbformat.write(nb, path)


def submit_as_students(work: dict[str, dict[str, str]], homes: Path, assignment: str,
                       notebook: str, exchange: Path) -> None:
    """Each student of ``work`` (name -> the answers of :func:`answer`) fetches
    ``assignment`` into ``homes/<name>``, fills in ``notebook`` and submits it."""
    for student, answers in work.items():
        home = homes / student
        home.mkdir()
        nbgrader_run("fetch_assignment", assignment, "--course=vae-course", cwd=home,
                     exchange=exchange)
        answer(home / assignment / f"{notebook}.ipynb", answers)
        nbgrader_run("submit", assignment, "--course=vae-course", f"--student={student}",
                     cwd=home, exchange=exchange)
