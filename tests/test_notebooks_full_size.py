"""Every notebook, lessons and solutions, run at full size: 60,000 / 10,000 images.

nbval (``notebooks/`` in ``testpaths``) runs them on the offline 5,000 digits; this
runs them again with ``VAE_DATA_DIR`` pointing at a full-size MNIST-format folder
made offline by :func:`vae_utils.full_size.make_full_size_mnist`, so ``load_mnist``
takes its torchvision path exactly as after a download. A cell that fails, or an
assertion about an output that does not hold at full size, fails the test. The
executed notebooks are not written back, and their figures go to the temporary
``VAE_FIGURES_DIR`` set by the root conftest.

Slow (about four minutes on a 2-core CPU): not in ``python -m pytest -m "not slow"``.
"""

import os
from pathlib import Path

import pytest

from vae_utils.course import execute_notebook, find_notebooks, project_root
from vae_utils.full_size import make_full_size_mnist

NOTEBOOKS = find_notebooks(project_root(Path(__file__).parent))

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def full_size_dir(tmp_path_factory):
    return make_full_size_mnist(tmp_path_factory.mktemp("mnist-full-size"))


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 10


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_at_full_size(path, full_size_dir, monkeypatch):
    monkeypatch.setenv("VAE_DATA_DIR", str(full_size_dir))
    monkeypatch.delenv("VAE_OFFLINE", raising=False)
    assert os.environ["VAE_FIGURES_DIR"]  # figures go to the temporary folder
    nb, _ = execute_notebook(path, timeout=900)
    text = "\n".join(out.get("text", "") for cell in nb.cells if cell.cell_type == "code"
                     for out in cell.get("outputs", []))
    if "Data:" in text:  # the setup cell says which data it used
        assert "FULL-SIZE TEST FOLDER" in text and "60,000 train / 10,000 test" in text
        assert "OFFLINE" not in text
