"""Notebook 04's checker ``check_latent_grid``: right answers (a tensor, float64, a Python
list) pass, and the usual wrong ones fail with the hint that names the mistake."""

import math

import pytest
import torch
from torch.distributions import Normal

from vae_utils.exercises import check_latent_grid

from .helpers import fails_with, grid_icdf


def grid_erfinv(n, lo=0.05, hi=0.95):
    p = torch.linspace(lo, hi, n, dtype=torch.float64)
    return math.sqrt(2) * torch.erfinv(2 * p - 1)


def grid_python_list(n, lo=0.05, hi=0.95):
    from statistics import NormalDist
    return [NormalDist().inv_cdf(lo + (hi - lo) * i / (n - 1)) for i in range(n)]


@pytest.mark.parametrize("fn", [grid_icdf, grid_erfinv, grid_python_list])
def test_latent_grid_correct_answers_pass(fn):
    assert check_latent_grid(fn, verbose=False).passed


@pytest.mark.parametrize("fn, key, words", [
    (lambda n, lo=0.05, hi=0.95: torch.linspace(-3, 3, n), "linear_in_z",
     ["evenly spaced in z", "PROBABILITY"]),
    (lambda n, lo=0.05, hi=0.95: torch.linspace(-2, 2, n), "linear_in_z", ["PROBABILITY"]),
    (lambda n, lo=0.05, hi=0.95: Normal(0.0, 1.0).icdf(torch.linspace(0, 1, n)), "endpoints_0_1",
     ["inf"]),
    (lambda n, lo=0.05, hi=0.95: Normal(0.0, 1.0).cdf(torch.linspace(lo, hi, n)), "cdf_not_icdf",
     ["applied the CDF", "other way"]),
    (lambda n, lo=0.05, hi=0.95: torch.linspace(lo, hi, n), "probabilities", ["probabilities themselves"]),
    (lambda n, lo=0.05, hi=0.95: grid_icdf(n).flip(0), "descending", ["ascending"]),
    (lambda n, lo=0.05, hi=0.95: grid_icdf(n), "ignored_lo_hi", ["lo and hi"]),
    (lambda n, lo=0.05, hi=0.95: Normal(0.0, 1.0).icdf((torch.arange(n) + 0.5) / n), "midpoints",
     ["both ends"]),
])
def test_latent_grid_wrong_answers_get_the_matching_hint(fn, key, words):
    fails_with(check_latent_grid(fn, verbose=False), key, *words)
