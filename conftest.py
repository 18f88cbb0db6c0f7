"""Test-command settings shared by the unit tests and the notebooks run under nbval.

Set before any notebook kernel starts (kernels inherit the environment):

* ``VAE_FIGURES_DIR``: a temporary folder, so the figures the notebooks save do not
  overwrite the committed ones in ``figures/`` (``git status`` stays clean);
* ``VAE_OFFLINE=1``: nbval runs every notebook on the offline 5,000 digits; the
  full-size pass (``tests/test_notebooks_full_size.py``) runs them again on a
  60,000 / 10,000 MNIST-format folder;
* ``VAE_PROGRESS=0``: no progress bars in the outputs;
* ``NBGRADER_EXECUTION=autograde`` while nbval runs a solved notebook
  (``notebooks/solutions/``), and unset otherwise: its check cells then raise on a wrong
  answer, as under nbgrader's autograder (``vae_utils.course.kernel_env`` does the same
  for the course command).
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

_made: list[str] = []


def pytest_configure(config):
    if "VAE_FIGURES_DIR" not in os.environ:
        folder = tempfile.mkdtemp(prefix="vae-test-figures-")
        _made.append(folder)
        os.environ["VAE_FIGURES_DIR"] = folder
    os.environ["VAE_OFFLINE"] = "1"
    os.environ.setdefault("VAE_PROGRESS", "0")
    os.environ.setdefault("PYTHONHASHSEED", "0")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    # Runs before the item's notebook (its nbval collector) starts a kernel, which
    # inherits os.environ; the unit tests run with the variable unset.
    if Path(str(item.fspath)).parent.name == "solutions":
        os.environ["NBGRADER_EXECUTION"] = "autograde"
    else:
        os.environ.pop("NBGRADER_EXECUTION", None)


def pytest_unconfigure(config):
    for folder in _made:
        shutil.rmtree(folder, ignore_errors=True)
