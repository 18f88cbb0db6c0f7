"""Notebook 01's checker ``check_bce_recon``: right answers pass, the usual wrong ones fail
with the hint that names the mistake, and the reference distribution itself is refused."""

import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Independent

from vae_utils.exercises import check_bce_recon

from .helpers import bce_sum, fails_with


def bce_logsigmoid(logits, x):
    per_pixel = -(x * F.logsigmoid(logits) + (1 - x) * F.logsigmoid(-logits))
    return per_pixel.flatten(1).sum(1)


def bce_distribution(logits, x):
    bernoulli = torch.distributions.Bernoulli(logits=logits, validate_args=False)  # grey x too
    return -Independent(bernoulli, 3).log_prob(x)


@pytest.mark.parametrize("fn", [bce_sum, bce_logsigmoid])
def test_bce_correct_answers_pass(fn):
    assert check_bce_recon(fn, verbose=False).passed


def test_bce_from_the_reference_distribution_is_refused():
    # torch.distributions is the checker's independent reference: calling it is not the exercise
    result = check_bce_recon(bce_distribution, verbose=False)
    fails_with(result, "library", "write it yourself")
    assert "Bernoulli" in result.message


@pytest.mark.parametrize("fn, key, words", [
    (lambda lo, x: F.binary_cross_entropy_with_logits(lo, x), "mean_all", ["reduction='none'"]),
    (lambda lo, x: F.binary_cross_entropy_with_logits(lo, x, reduction="sum") / len(x),
     "batch_mean", ["one number per image"]),
    (lambda lo, x: F.binary_cross_entropy_with_logits(lo, x, reduction="sum"),
     "batch_sum", ["shape (B,)"]),
    (lambda lo, x: F.binary_cross_entropy_with_logits(lo, x, reduction="none").mean((1, 2, 3)),
     "mean_over_pixels", ["784 times", "sum"]),
    (lambda lo, x: -bce_sum(lo, x), "wrong_sign", ["wrong sign"]),
    (lambda lo, x: bce_sum(torch.sigmoid(lo), x), "sigmoid_twice", ["raw logits"]),
    (lambda lo, x: (torch.sigmoid(lo) - x).pow(2).sum((1, 2, 3)), "squared_error",
     ["squared error"]),
    (lambda lo, x: -(x * torch.log(torch.sigmoid(lo)) + (1 - x) * torch.log(1 - torch.sigmoid(lo))
                     ).sum((1, 2, 3)), "unstable", ["inf or NaN", "with_logits"]),
])
def test_bce_wrong_answers_get_the_matching_hint(fn, key, words):
    fails_with(check_bce_recon(fn, verbose=False), key, *words)


def test_bce_failure_shows_expected_and_received():
    result = check_bce_recon(lambda lo, x: -bce_sum(lo, x), verbose=False)
    torch.testing.assert_close(result.expected, -result.received)
    assert "expected: [" in result.message and "received: [-" in result.message
