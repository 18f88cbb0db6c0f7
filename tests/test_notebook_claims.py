"""Every notebook, lessons and solved sources, run to the end at both data sizes, and the
lessons' claims checked from outside (``tests/claims/``).

* ``offline``: the 5,000 digits of the offline fallback (``VAE_OFFLINE=1``), what a
  student without internet gets.
* ``mnist``: real MNIST, 60,000 / 10,000, read from ``<data folder>/MNIST/raw/`` exactly as
  after a download. The data folder is ``$VAE_DATA_DIR`` or ``~/.cache/vae-course``; CI
  fills it from its dataset cache (``.ci/run``). Without the files (and without internet to
  download them) this pass is skipped, with the reason and how to provide them.

The executed notebooks are not written back; their figures go to the temporary
``VAE_FIGURES_DIR`` of the root conftest.
"""

from __future__ import annotations

import json
import os
import subprocess
import warnings
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from claims import claims_cell, claims_for
from vae_utils import _env
from vae_utils.course import find_notebooks, kernel_env
from vae_utils.data import load_mnist

pytestmark = pytest.mark.slow

NOTEBOOKS = find_notebooks(_env.project_root(Path(__file__).parent))
RAW = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
       "t10k-labels-idx1-ubyte")
HOW = ("Real MNIST was not found and could not be downloaded. Put the four MNIST idx files "
       "in <data folder>/MNIST/raw/ (the data folder is $VAE_DATA_DIR, or ~/.cache/vae-course "
       "by default): on the course's CI machine, `bash .ci/run` unzips them there from its "
       "dataset cache; elsewhere run `python -c \"import vae_utils; vae_utils.load_mnist()\"` "
       "once with internet.")


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The data folder holding real MNIST; the pass is skipped when there is none."""
    folder = _env.data_dir()
    if not all((folder / "MNIST" / "raw" / name).is_file() for name in RAW):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                load_mnist(folder, source="torchvision")
        except Exception as err:  # no internet: RuntimeError naming the cause
            pytest.skip(f"{HOW} ({type(err).__name__})")
    return folder


def _run(path: Path, env: dict[str, str]) -> tuple[nbformat.NotebookNode, dict]:
    nb = nbformat.read(path, as_version=4)
    claims = claims_for(path)
    if claims:
        nb.cells.append(nbformat.v4.new_code_cell(claims_cell(claims)))
    client = NotebookClient(nb, timeout=900, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute(stderr=subprocess.DEVNULL, env=env)
    results = {}
    if claims:
        text = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
        results = json.loads(text.split("CLAIMS-JSON ", 1)[1])
        nb.cells.pop()
    return nb, results


def _check(nb: nbformat.NotebookNode, results: dict, path: Path, size: str) -> None:
    failed = [f"  - {sentence!r}: {'false' if got is False else got}"
              for sentence, got in results.items() if got is not True]
    assert not failed, (f"{path.name} at the {size} size: the lesson says something its run "
                        "does not show:\n" + "\n".join(failed))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_offline_fallback(path, monkeypatch):
    env = kernel_env(path)
    env["VAE_OFFLINE"] = "1"
    nb, results = _run(path, env)
    _check(nb, results, path, "offline")
    text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                     for o in c.outputs)
    assert "OFFLINE FALLBACK" in text and "4,000 train / 1,000 test" in text


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_real_mnist(path, mnist_dir):
    env = kernel_env(path)
    env.pop("VAE_OFFLINE", None)
    env["VAE_DATA_DIR"] = str(mnist_dir)
    nb, results = _run(path, env)
    _check(nb, results, path, "real MNIST")
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    text = "\n".join(o.get("text", "") for o in outputs)
    assert "60,000 train / 10,000 test" in text and "OFFLINE" not in text
    if path.parent.name == "notebooks":  # a lesson: nothing on stderr (warnings, logs)
        stderr = [o.get("text", "")[:200] for o in outputs if o.get("name") == "stderr"]
        assert not stderr, f"{path.name} writes to stderr: {stderr}"


def test_every_lesson_has_claims():
    lessons = [p for p in NOTEBOOKS if p.parent.name == "notebooks"]
    assert len(lessons) >= 8
    missing = [p.name for p in lessons if not claims_for(p)]
    assert not missing, f"lessons whose prose no test checks: {missing}"


def test_a_false_claim_fails_and_names_its_sentence(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 2")])
    nb.cells.append(nbformat.v4.new_code_cell(claims_cell(
        [("x is two", "x == 2"), ("x is three", "x == 3"), ("y exists", "y > 0")])))
    NotebookClient(nb, timeout=60, kernel_name="python3").execute(
        stderr=subprocess.DEVNULL, env=dict(os.environ))
    results = json.loads(nb.cells[-1].outputs[0]["text"].split("CLAIMS-JSON ", 1)[1])
    assert results["x is two"] is True and results["x is three"] is False
    assert results["y exists"].startswith("NameError")
    with pytest.raises(AssertionError, match="'x is three': false"):
        _check(nb, results, tmp_path / "demo.ipynb", "offline")
