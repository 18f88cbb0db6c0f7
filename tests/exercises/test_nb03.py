"""Notebook 03's checkers: ``check_kl``, ``check_kl_gaussians`` and ``check_elbo_loss``.

Right answers pass, the usual wrong ones fail with the hint that names the mistake, and
the course's own function (or ``torch.distributions``, the reference) is refused. The
ELBO's reference (``torch.distributions``) agrees with the course's ``elbo_loss``, and a
subtly wrong ELBO that passes the fixed cases is caught by the fresh random cases.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Bernoulli, Independent, Normal, kl_divergence

import vae_utils as vu
from vae_utils.exercises import check_elbo_loss, check_kl, check_kl_gaussians
from vae_utils.exercises import nb03_kl_divergence_and_elbo as nb03
from vae_utils.exercises.checking import run_check

from .helpers import elbo_sum_then_mean, fails_with, kl_formula, kl_two

SEEDS = [0, 1, 2, 3, 12345]


# ------------------------------------------------------------------------ KL to N(0, I)


def kl_distributions(mu, logvar):
    q = Independent(Normal(mu, torch.exp(0.5 * logvar)), 1)
    p = Independent(Normal(torch.zeros_like(mu), torch.ones_like(mu)), 1)
    return kl_divergence(q, p)


def kl_float64_loop(mu, logvar):
    out = []
    for m, lv in zip(mu.double(), logvar.double()):
        out.append(sum(0.5 * (mi**2 + li.exp() - 1 - li) for mi, li in zip(m, lv)))
    return torch.stack(out)


@pytest.mark.parametrize("fn", [kl_formula, kl_distributions, kl_float64_loop])
def test_kl_correct_answers_pass(fn):
    assert check_kl(fn, verbose=False).passed


@pytest.mark.parametrize("fn, key, words", [
    (lambda mu, lv: -1.0 * torch.sum(1 + lv - mu**2 - lv.exp(), 1), "missing_half", ["1/2"]),
    (lambda mu, lv: 0.5 * torch.sum(1 + lv - mu**2 - lv.exp(), 1), "wrong_sign", ["wrong sign"]),
    (lambda mu, lv: -0.5 * torch.mean(1 + lv - mu**2 - lv.exp(), 1), "mean_reduction",
     ["mean", "SUM"]),
    (lambda mu, lv: kl_formula(mu, lv).mean(), "batch_mean", ["one KL per example"]),
    (lambda mu, lv: -0.5 * torch.mean(1 + lv - mu**2 - lv.exp()), "mean_all", ["without dim"]),
    (lambda mu, lv: -0.5 * torch.sum(1 + lv - mu**2 - lv.exp()), "batch_sum", ["dim=1"]),
    (lambda mu, lv: -0.5 * torch.sum(1 + lv - mu**2 - lv, 1), "forgot_exp", ["forgot an exp"]),
    (lambda mu, lv: -0.5 * torch.sum(1 + torch.log(lv.exp() ** 2) - mu**2 - lv.exp() ** 2, 1),
     "logvar_as_log_sigma", ["log-variance", "log sigma"]),
    (lambda mu, lv: -0.5 * torch.sum(1 + lv.mul(0.5).exp() - mu**2 - lv.exp(), 1),
     "sigma_as_logvar", ["sigma"]),
    (lambda mu, lv: -0.5 * torch.sum(lv - mu**2 - lv.exp(), 1), "missing_one", ["constant term", "D/2"]),
    (lambda mu, lv: -0.5 * torch.sum(1 + lv - lv.exp(), 1), "missing_mu", ["mu^2"]),
])
def test_kl_wrong_answers_get_the_matching_hint(fn, key, words):
    fails_with(check_kl(fn, verbose=False), key, *words)


def test_kl_reference_agrees_with_torch_distributions():
    """The checker's cases themselves: its reference equals torch.distributions'."""
    from vae_utils.exercises.nb03_kl_divergence_and_elbo import _kl_cases
    for case in _kl_cases():
        mu, logvar = case.args
        torch.testing.assert_close(kl_formula(mu, logvar), kl_distributions(mu, logvar))


# ------------------------------------------------------------- KL between two Gaussians


def test_kl_gaussians_right_answer_passes_on_fresh_cases():
    for seed in (None, None, 3):  # fresh random cases at every call, or seeded ones
        assert check_kl_gaussians(kl_two, verbose=False, seed=seed).passed


@pytest.mark.parametrize("fn, key, words", [
    (lambda a, b, c, d: kl_two(c, d, a, b), "swapped", ["KL(p || q)"]),
    (lambda a, b, c, d: 2 * kl_two(a, b, c, d), "missing_half", ["1/2"]),
    (lambda a, b, c, d: kl_two(a, b, c, d) / a.shape[1], "mean_reduction", ["SUM"]),
    (lambda a, b, c, d: kl_two(a, b, c, d).mean(), "batch_mean", ["shape (B,)"]),
    (lambda a, b, c, d: kl_two(a, b, c, d) + 0.5 * a.shape[1], "missing_one", ["itself"]),
    (lambda a, b, c, d: 0.5 * (d - b + b.exp() / d.exp() + (a - c) ** 2 - 1).sum(1),
     "mean_not_scaled", ["p's variance"]),
    (lambda a, b, c, d: 0.5 * (b - d + b.exp() / d.exp() + (a - c) ** 2 / d.exp() - 1).sum(1),
     "log_ratio_sign", ["wrong sign"]),
])
def test_kl_gaussians_wrong_answers_get_the_matching_hint(fn, key, words):
    fails_with(check_kl_gaussians(fn, verbose=False, seed=0), key, *words)


def test_kl_gaussians_refuses_torch_distributions():
    from torch.distributions import Normal as N, kl_divergence as kl

    def wrapped(a, b, c, d):
        return kl(N(a, (0.5 * b).exp()), N(c, (0.5 * d).exp())).sum(1)

    fails_with(check_kl_gaussians(wrapped, verbose=False), "library", "write it yourself")


# ---------------------------------------------------------------------------- ELBO loss


def elbo_pytorch_example_divided(logits, x, mu, logvar, beta=1.0):
    recon = F.binary_cross_entropy(torch.sigmoid(logits).view(-1, 784), x.view(-1, 784),
                                   reduction="sum")
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return (recon + beta * kl) / x.shape[0]


@pytest.mark.parametrize("fn", [elbo_sum_then_mean, elbo_pytorch_example_divided])
def test_elbo_correct_answers_pass(fn):
    assert check_elbo_loss(fn, verbose=False).passed


def _bce(lo, x):
    return F.binary_cross_entropy_with_logits(lo, x, reduction="none").sum((1, 2, 3))


def _kl(mu, lv):
    return -0.5 * torch.sum(1 + lv - mu**2 - lv.exp(), dim=1)


@pytest.mark.parametrize("fn, key, words", [
    (lambda lo, x, mu, lv, beta=1.0: _bce(lo, x) + beta * _kl(mu, lv), "per_example",
     ["0-d tensor"]),
    (lambda lo, x, mu, lv, beta=1.0: (_bce(lo, x) + beta * _kl(mu, lv)).sum(), "sum_over_batch",
     ["B times", "MEAN over the batch"]),
    (lambda lo, x, mu, lv, beta=1.0: F.binary_cross_entropy_with_logits(lo, x)
     + beta * _kl(mu, lv).mean(), "mean_reduction", ["784 times", "reduction='mean'"]),
    (lambda lo, x, mu, lv, beta=1.0: F.binary_cross_entropy_with_logits(lo, x)
     + beta * -0.5 * torch.mean(1 + lv - mu**2 - lv.exp()), "mean_reduction", ["per pixel"]),
    (lambda lo, x, mu, lv, beta=1.0: (_bce(lo, x) - beta * _kl(mu, lv)).mean(), "kl_sign",
     ["plus sign"]),
    (lambda lo, x, mu, lv, beta=1.0: -(_bce(lo, x) + beta * _kl(mu, lv)).mean(), "elbo_not_loss",
     ["NEGATIVE ELBO"]),
    (lambda lo, x, mu, lv, beta=1.0: (_bce(lo, x) + beta * 2 * _kl(mu, lv)).mean(),
     "missing_half", ["1/2"]),
    (lambda lo, x, mu, lv, beta=1.0: (_bce(lo, x) + _kl(mu, lv)).mean(), "beta_ignored",
     ["beta is ignored"]),
    (lambda lo, x, mu, lv, beta=1.0: (beta * _bce(lo, x) + _kl(mu, lv)).mean(), "beta_on_recon",
     ["not the reconstruction"]),
    (lambda lo, x, mu, lv, beta=1.0: (_bce(torch.sigmoid(lo), x) + beta * _kl(mu, lv)).mean(),
     "sigmoid_twice", ["raw logits"]),
    (lambda lo, x, mu, lv, beta=1.0: (_bce(lo, x) - beta * 0.5 * torch.sum(1 - mu**2, 1)).mean(),
     "forgot_exp", ["variance term uses logvar"]),
])
def test_elbo_wrong_answers_get_the_matching_hint(fn, key, words):
    fails_with(check_elbo_loss(fn, verbose=False), key, *words)


def test_elbo_tuple_answer_is_explained():
    def returns_all(logits, x, mu, logvar, beta=1.0):
        return elbo_sum_then_mean(logits, x, mu, logvar, beta), _bce(logits, x).mean()

    fails_with(check_elbo_loss(returns_all, verbose=False), "malformed", "just the tensor")


def elbo_distributions(logits, x, mu, logvar, beta=1.0):
    """Calling torch.distributions is allowed in this exercise."""
    recon = -Independent(Bernoulli(logits=logits, validate_args=False), 3).log_prob(x)
    q = Independent(Normal(mu, (0.5 * logvar).exp()), 1)
    p = Independent(Normal(torch.zeros_like(mu), torch.ones_like(mu)), 1)
    return (recon + beta * kl_divergence(q, p)).mean()


def elbo_kl_for_20_dims(logits, x, mu, logvar, beta=1.0):
    """The KL averaged over latent dimensions, times the course's 20: right only for D = 20."""
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum((1, 2, 3))
    kl = -0.5 * torch.mean(1 + logvar - mu**2 - logvar.exp(), dim=1) * 20
    return (recon + beta * kl).mean()


def elbo_integer_beta(logits, x, mu, logvar, beta=1.0):
    """beta rounded to an integer: right for the fixed betas 0, 1 and 4."""
    return elbo_sum_then_mean(logits, x, mu, logvar, round(beta))


def elbo_first_16_images(logits, x, mu, logvar, beta=1.0):
    """A leftover debugging slice: right for batches of at most 16 images."""
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum((1, 2, 3))
    kl = -0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp(), dim=1)
    return (recon + beta * kl)[:16].mean()


def _course_elbo(logits, x, mu, logvar, beta=1.0):
    return vu.elbo_loss(logits, x, mu, logvar, beta=beta).loss


@pytest.mark.parametrize("seed", SEEDS)
def test_elbo_reference_agrees_with_the_course_function(seed):
    g = torch.Generator().manual_seed(seed)
    b, d = int(torch.randint(1, 100, (), generator=g)), int(torch.randint(1, 40, (), generator=g))
    beta = 5 * float(torch.rand((), generator=g))
    logits = 3 * torch.randn(b, 1, 28, 28, generator=g)
    x = torch.rand(b, 1, 28, 28, generator=g)
    if seed % 2:
        x = (x > 0.5).float()
    mu, logvar = 2 * torch.randn(b, d, generator=g), 2 * torch.randn(b, d, generator=g)
    ours = nb03._elbo_ref(logits, x, mu, logvar, beta)
    assert ours.dtype == torch.float64 and ours.dim() == 0
    course = vu.elbo_loss(logits, x, mu, logvar, beta=beta)
    torch.testing.assert_close(ours.float(), course.loss, rtol=1e-5, atol=1e-4)
    recon, kl = nb03._elbo_terms(logits, x, mu, logvar)
    torch.testing.assert_close(recon.float(), vu.bernoulli_nll(logits, x), rtol=1e-5, atol=1e-3)
    torch.testing.assert_close(kl.float(), vu.kl_to_standard_normal(mu, logvar), rtol=1e-5,
                               atol=1e-4)


@pytest.mark.parametrize("seed", SEEDS)
def test_the_course_elbo_passes_every_case_of_the_reference(seed):
    result = run_check("reference", _course_elbo, nb03._elbo_cases(seed), nb03._elbo_ref,
                       verbose=False)
    assert result.passed, result.message


def test_fresh_elbo_cases_vary_batch_latent_size_and_beta():
    cases = nb03._elbo_fresh_cases(4)
    assert len(cases) == 2
    sizes = [(c.args[2].shape[0], c.args[2].shape[1], c.kwargs["beta"]) for c in cases]
    assert all(d != 20 for _, d, _ in sizes)
    assert any(b > 16 for b, _, _ in sizes)
    assert all(0.15 < beta % 1 < 0.85 for _, _, beta in sizes)
    again = [(c.args[2].shape[0], c.args[2].shape[1], c.kwargs["beta"])
             for c in nb03._elbo_fresh_cases(4)]
    assert again == sizes


@pytest.mark.parametrize("fn", [elbo_sum_then_mean, elbo_pytorch_example_divided,
                                elbo_distributions])
@pytest.mark.parametrize("seed", SEEDS + [None])
def test_independent_correct_elbo_passes(fn, seed):
    assert check_elbo_loss(fn, verbose=False, seed=seed).passed


@pytest.mark.parametrize("fn", [elbo_kl_for_20_dims, elbo_integer_beta, elbo_first_16_images])
def test_subtly_wrong_elbo_passes_the_fixed_cases_but_not_the_fresh_ones(fn):
    fixed = run_check("fixed", fn, nb03._elbo_fixed_cases(), nb03._elbo_ref, verbose=False)
    assert fixed.passed  # the old cases alone miss it
    for seed in SEEDS + [None]:
        result = check_elbo_loss(fn, verbose=False, seed=seed)
        assert result.status == "failed" and "fresh random" in result.case, result.message


def test_course_elbo_is_refused():
    fails_with(check_elbo_loss(vu.elbo_loss, verbose=False), "library")
    fails_with(check_elbo_loss(_course_elbo, verbose=False, seed=0), "library")
