"""The committed notebooks, read as files: what a reader sees on GitHub or the website.

Lessons carry no test machinery (no ``assert``, no nbval markers: their claims are checked
from outside, ``tests/claims/``); their committed outputs come from one top-to-bottom run on
real MNIST, in order, with nothing on stderr, no errors and no machine timings.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from vae_utils import _env
from vae_utils.course import find_notebooks

NOTEBOOKS = find_notebooks(_env.project_root(Path(__file__).parent))
LESSONS = [p for p in NOTEBOOKS if p.parent.name == "notebooks"]


def _code(path: Path) -> list[nbformat.NotebookNode]:
    nb = nbformat.read(path, as_version=4)
    return [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]


def _text(cells) -> str:
    return "\n".join(o.get("text", "") or "".join(o.get("data", {}).get("text/plain", ""))
                     for c in cells for o in c.outputs)


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_lessons_carry_no_test_machinery(path):
    for cell in _code(path):
        lines = cell.source.splitlines()
        assert not any(line.lstrip().startswith("assert ") for line in lines), cell.source[:300]
        assert "NBVAL" not in cell.source, cell.source[:300]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_outputs_are_one_clean_run_on_real_mnist(path):
    cells = _code(path)
    counts = [c.execution_count for c in cells]
    assert None not in counts and counts == sorted(counts) and len(set(counts)) == len(counts), \
        "not executed top to bottom in one run"
    outputs = [o for c in cells for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = _text(cells)
    assert "MNIST (torchvision); 60,000 train / 10,000 test" in text, \
        "the committed outputs are not from real MNIST"
    assert "OFFLINE" not in text
    if path in LESSONS:
        stderr = [o.get("text", "")[:200] for o in outputs if o.get("name") == "stderr"]
        assert not stderr, f"stderr in the committed lesson: {stderr}"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_lessons_show_no_machine_timings_or_test_talk(path):
    nb = nbformat.read(path, as_version=4)
    text = _text(_code(path)) + "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for pattern in (r"\bms per step\b", r"\bseconds?\b.*\bper (row|step)\b", r"\bbusy\b",
                    r"\bnbval\b", r"\bfull-size test folder\b", r"\bCI\b", r"/tmp/", r"/root/"):
        assert not re.search(pattern, text), f"{path.name}: {pattern!r} in the lesson"
