"""Test-command settings shared by the unit tests and the notebooks run under nbval.

Two commands, told apart by the ``slow`` marker (registered in ``pyproject.toml``):

* ``python -m pytest -m "not slow"``: the fast loop for daily work, the unit tests of
  ``tests/`` in about a minute on a 2-core CPU. No notebook runs and no kernel starts;
  the benchmarks' ``--quick`` runs and the tests of more than a few seconds are left out;
* ``python -m pytest``: everything, as CI runs it. nbval executes every notebook in
  ``notebooks/`` (``testpaths``) on the offline digits, the notebook passes in ``tests/``
  run them again (``test_notebook_claims.py``: offline and on real MNIST, with the
  lessons' claims checked), and the slow unit tests run too.

Slow are every notebook item (``pytest_collection_modifyitems`` below marks them: nbval
collects the notebooks itself, so no decorator can), and in ``tests/`` whatever starts a
kernel or runs a benchmark, and the tests that take more than about 3 s, each marked in
its own file (``pytestmark = pytest.mark.slow`` or ``@pytest.mark.slow``). A new slow
test is marked the same way, or made faster.

Set before any notebook kernel starts (kernels inherit the environment):

* ``VAE_FIGURES_DIR``: a temporary folder, so the figures the notebooks save do not
  overwrite the committed ones in ``figures/`` (``git status`` stays clean);
* ``VAE_OFFLINE=1``: nbval runs every notebook on the offline 5,000 digits (the
  notebook passes in ``tests/`` set their kernels' data themselves);
* ``VAE_PROGRESS=0``: no progress bars in the outputs;
* ``NBGRADER_EXECUTION=autograde`` while nbval runs a solved notebook
  (``notebooks/solutions/``), and unset otherwise: its check cells then raise on a wrong
  answer, as under nbgrader's autograder (the rule is ``vae_utils.course.kernel_env``,
  which the course command uses too).
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


@pytest.hookimpl(tryfirst=True)  # before -m "not slow" deselects
def pytest_collection_modifyitems(config, items):
    # nbval's cell items: the notebooks themselves are slow.
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.slow)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    # Runs before the item's notebook (its nbval collector) starts a kernel, which
    # inherits os.environ: the rule of the course command, kernel_env, decides. The unit
    # tests (tests/*.py) run with the variable unset.
    from vae_utils.course import kernel_env

    value = kernel_env(Path(str(item.fspath))).get("NBGRADER_EXECUTION")
    if value is None:
        os.environ.pop("NBGRADER_EXECUTION", None)
    else:
        os.environ["NBGRADER_EXECUTION"] = value


def pytest_unconfigure(config):
    for folder in _made:
        shutil.rmtree(folder, ignore_errors=True)
