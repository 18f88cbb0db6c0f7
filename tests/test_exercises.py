"""The exercise checkers: right answers pass, the usual wrong ones fail with the hint that
names the mistake, stubs read "not attempted", and the learner's exceptions are reported.

One section per checker. Every wrong implementation below is a mistake learners make;
the test asserts both the recognised ``mistake`` key and words of the printed hint.
"""

import json
import math
import re
from collections import Counter
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Independent, Normal, kl_divergence

from vae_utils.exercises import (QUESTIONS, CheckResult, check_answer, check_bce_recon,
                                 check_beta_experiment, check_elbo_loss, check_encoder_heads,
                                 check_kl, check_kl_gaussians, check_latent_grid,
                                 check_reparameterize, check_slerp,
                                 question_markdown)
from vae_utils.exercises.checking import unseal
import vae_utils as vu
from vae_utils.train import History


ROOT = Path(__file__).resolve().parents[1]


def _fails_with(result: CheckResult, key: str, *words: str) -> None:
    assert result.status == "failed" and not result and not result.passed, result.message
    assert result.mistake == key, result.message
    for w in words:
        assert w.lower() in result.hint.lower(), result.hint
        assert w.lower() in result.message.lower()


def _stub(*args, **kwargs):
    raise NotImplementedError


def _returns_none(*args, **kwargs):
    pass


# --------------------------------------------------------------------------- the engine


def test_result_object_and_printing(capsys):
    def kl(mu, logvar):
        return -0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp(), dim=1)

    result = check_kl(kl)
    out = capsys.readouterr().out
    assert result.passed and bool(result) and result.status == "passed"
    assert out.startswith("[passed] check_kl") and out.strip() == result.message
    assert repr(result) == "CheckResult(check_kl: passed)"
    assert result._ipython_display_() is None  # a notebook shows nothing extra

    quiet = check_kl(_stub, verbose=False)
    assert capsys.readouterr().out == ""
    assert quiet.status == "not attempted" and not quiet


@pytest.mark.parametrize("checker", [check_bce_recon, check_reparameterize, check_kl,
                                     check_elbo_loss, check_latent_grid, check_slerp])
@pytest.mark.parametrize("stub", [_stub, _returns_none])
def test_every_checker_reports_an_untouched_stub(checker, stub, capsys):
    result = checker(stub)
    assert result.status == "not attempted" and not result
    assert "[not attempted yet]" in capsys.readouterr().out


@pytest.mark.parametrize("checker", [check_bce_recon, check_reparameterize, check_kl,
                                     check_elbo_loss, check_latent_grid, check_slerp])
def test_every_checker_reports_an_exception_instead_of_raising(checker):
    def broken(*args, **kwargs):
        return torch.ones(2) @ torch.ones(3)  # a shape error inside the learner's code

    result = checker(broken)
    assert result.status == "failed" and result.mistake == "exception"
    assert "RuntimeError" in result.message and "in broken" in result.message


def test_passing_a_value_instead_of_the_function():
    result = check_kl(torch.zeros(3), verbose=False)
    assert result.status == "failed" and "without calling it" in result.hint


def test_checkers_leave_the_global_random_state_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    check_reparameterize(lambda mu, lv: mu + torch.exp(0.5 * lv) * torch.randn_like(mu),
                         verbose=False)
    torch.testing.assert_close(torch.rand(3), expected)


def test_learner_editing_inputs_in_place_does_not_change_the_reference():
    def kl_in_place(mu, logvar):
        out = -0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp(), dim=1)
        mu.zero_()
        logvar.fill_(5.0)
        return out

    assert check_kl(kl_in_place, verbose=False).passed


# ------------------------------------------------------------ 01: BCE reconstruction


def bce_sum(logits, x):
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=(1, 2, 3))


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
    _fails_with(result, "library", "write it yourself")
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
    _fails_with(check_bce_recon(fn, verbose=False), key, *words)


def test_bce_failure_shows_expected_and_received():
    result = check_bce_recon(lambda lo, x: -bce_sum(lo, x), verbose=False)
    torch.testing.assert_close(result.expected, -result.received)
    assert "expected: [" in result.message and "received: [-" in result.message


# -------------------------------------------------------------- 02: reparameterize


def rep_randn_like(mu, logvar):
    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)


def rep_sqrt_var(mu, logvar):
    std = logvar.exp().sqrt()
    return mu + std * torch.randn(mu.shape)


def rep_rsample(mu, logvar):
    return Normal(mu, torch.exp(0.5 * logvar)).rsample()


@pytest.mark.parametrize("fn", [rep_randn_like, rep_sqrt_var, rep_rsample])
def test_reparameterize_correct_answers_pass(fn):
    assert check_reparameterize(fn, verbose=False).passed


@pytest.mark.parametrize("fn, key, words", [
    (lambda mu, lv: mu + torch.exp(lv) * torch.randn_like(mu), "variance_not_std",
     ["variance", "1/2"]),
    (lambda mu, lv: mu + lv * torch.randn_like(mu), "logvar_as_sigma", ["as if it were sigma"]),
    (lambda mu, lv: mu + 0.5 * lv * torch.randn_like(mu), "forgot_exp", ["forgot an exp"]),
    (lambda mu, lv: torch.exp(0.5 * lv) * torch.randn_like(mu), "forgot_mu", ["left mu out"]),
    (lambda mu, lv: mu.clone(), "no_noise", ["no noise"]),
    (lambda mu, lv: torch.normal(mu, torch.exp(0.5 * lv)), "torch_normal", ["no gradient"]),
    (lambda mu, lv: Normal(mu, torch.exp(0.5 * lv)).sample(), "no_gradient", ["no gradient"]),
])
def test_reparameterize_wrong_answers_get_the_matching_hint(fn, key, words):
    _fails_with(check_reparameterize(fn, verbose=False), key, *words)


def test_reparameterize_reports_the_moments_it_compared():
    result = check_reparameterize(lambda mu, lv: mu + torch.exp(lv) * torch.randn_like(mu),
                                  verbose=False)
    mean, std = result.expected
    torch.testing.assert_close(std, torch.tensor([0.5, 2.0]), rtol=0.03, atol=0)
    torch.testing.assert_close(result.received[1], torch.tensor([0.25, 4.0]), rtol=0.03, atol=0)


# ------------------------------------------------------------- 02: encoder heads


class Heads(nn.Module):
    def __init__(self, hidden_dim, latent_dim):
        super().__init__()
        self.fc_mu = nn.Linear(hidden_dim, latent_dim)
        self.fc_logvar = nn.Linear(hidden_dim, latent_dim)

    def forward(self, h):
        return self.fc_mu(h), self.fc_logvar(h)


class HeadsList(Heads):
    def forward(self, h):
        return [self.fc_mu(h), self.fc_logvar(h)]  # a list is fine too


def _heads_with(forward):
    return type("WrongHeads", (Heads,), {"forward": forward})


@pytest.mark.parametrize("cls", [Heads, HeadsList])
def test_encoder_heads_correct_answers_pass(cls):
    assert check_encoder_heads(cls, verbose=False).passed


@pytest.mark.parametrize("forward, key, words", [
    (lambda self, h: (self.fc_logvar(h), self.fc_mu(h)), "swapped", ["swapped"]),
    (lambda self, h: (self.fc_mu(h), self.fc_mu(h)), "same_head", ["own layer"]),
    (lambda self, h: (self.fc_mu(h), self.fc_logvar(h).exp()), "logvar_sigma_exp",
     ["sigma", "log-variance"]),
    (lambda self, h: (self.fc_mu(h), torch.exp(0.5 * self.fc_logvar(h))), "logvar_sigma_exp",
     ["sigma", "log-variance"]),
    (lambda self, h: (self.fc_mu(h), F.softplus(self.fc_logvar(h))), "activation_logvar",
     ["no activation on the logvar head"]),
    (lambda self, h: (self.fc_mu(h), torch.relu(self.fc_logvar(h))), "activation_logvar",
     ["no activation on the logvar head"]),
    (lambda self, h: (torch.tanh(self.fc_mu(h)), self.fc_logvar(h)), "activation_mu",
     ["no activation on the mu head"]),
    (lambda self, h: torch.cat([self.fc_mu(h), self.fc_logvar(h)], 1), "malformed",
     ["tuple of 2"]),
])
def test_encoder_heads_wrong_answers_get_the_matching_hint(forward, key, words):
    _fails_with(check_encoder_heads(_heads_with(forward), verbose=False), key, *words)


def test_encoder_heads_need_named_linear_layers_of_the_right_size():
    class Named(nn.Module):
        def __init__(self, hidden_dim, latent_dim):
            super().__init__()
            self.mean = nn.Linear(hidden_dim, latent_dim)
            self.fc_logvar = nn.Linear(hidden_dim, latent_dim)

        def forward(self, h):
            return self.mean(h), self.fc_logvar(h)

    _fails_with(check_encoder_heads(Named, verbose=False), "malformed", "fc_mu")

    class Shared(Heads):
        def __init__(self, hidden_dim, latent_dim):
            super().__init__(hidden_dim, latent_dim)
            self.fc_mu = nn.Linear(hidden_dim, 2 * latent_dim)

        def forward(self, h):
            return self.fc_mu(h)[:, : self.fc_logvar.out_features], self.fc_logvar(h)

    _fails_with(check_encoder_heads(Shared, verbose=False), "malformed", "latent_dim")


def test_encoder_heads_stub_instance_and_exception():
    class Stub(nn.Module):
        def __init__(self, hidden_dim, latent_dim):
            super().__init__()
            raise NotImplementedError

    assert check_encoder_heads(Stub, verbose=False).status == "not attempted"

    class StubForward(Heads):
        def forward(self, h):
            return None, None

    assert check_encoder_heads(StubForward, verbose=False).status == "not attempted"
    _fails_with(check_encoder_heads(Heads(4, 2), verbose=False), "malformed", "not an instance")

    class Broken(Heads):
        def forward(self, h):
            return self.fc_mu(h.t()), self.fc_logvar(h)

    result = check_encoder_heads(Broken, verbose=False)
    assert result.mistake == "exception" and "RuntimeError" in result.message


# ------------------------------------------------------------ 02: beta experiment


def _history(recon: float, kl: float) -> History:
    h = History()
    for epoch in (1, 2):
        h.epoch.append(epoch)
        for name, value in (("loss", recon + kl), ("recon", recon), ("kl", kl)):
            getattr(h, f"train_{name}").append(value + 3 - epoch)
            getattr(h, f"test_{name}").append(value + 3 - epoch)
        h.seconds.append(1.0)
    return h


def test_beta_experiment_trend(capsys):
    good = {0.5: _history(80.0, 30.0), 1.0: _history(85.0, 25.0), 4.0: _history(100.0, 12.0)}
    result = check_beta_experiment(good)
    out = capsys.readouterr().out
    assert result.passed and "4.00" in out and "13.00" in out  # the last epoch's numbers

    assert check_beta_experiment({}, verbose=False).status == "not attempted"
    _fails_with(check_beta_experiment({1.0: _history(85.0, 25.0)}, verbose=False), "too_few",
                "two")
    _fails_with(check_beta_experiment({0.5: _history(80.0, 30.0), 4.0: _history(100.0, 31.0)},
                                      verbose=False), "kl_not_falling", "beta=beta")
    _fails_with(check_beta_experiment({0.5: _history(80.0, 30.0), 4.0: _history(79.0, 12.0)},
                                      verbose=False), "recon_not_rising", "same seed")
    _fails_with(check_beta_experiment({0.5: _history(math.nan, 30.0), 4.0: _history(79.0, 12.0)},
                                      verbose=False), "not_finite", "diverged")
    _fails_with(check_beta_experiment({0.5: "oops", 4.0: _history(79.0, 12.0)}, verbose=False),
                "malformed", "{beta: model}")


def test_beta_experiment_refuses_numbers_typed_in():
    # the hole this closes: made-up numbers in the right order used to pass
    for typed in ({1.0: (110, 20), 1.01: (110.5, 19.9)}, {0.5: 80.0, 4.0: 100.0}):
        _fails_with(check_beta_experiment(typed, verbose=False), "numbers", "models")


def test_beta_experiment_refuses_unequal_budgets():
    short = _history(100.0, 12.0)
    short.step = [1, 2]
    long = _history(80.0, 30.0)
    long.step = [100, 200]
    _fails_with(check_beta_experiment({0.5: long, 4.0: short}, verbose=False),
                "unequal_budgets", "same steps")


def test_beta_experiment_measures_the_models_itself(mnist):
    models = {}
    for beta in (0.25, 4.0):
        vu.seed_everything(0)
        models[beta] = vu.VAE(latent_dim=8, hidden_dims=(64,))
        vu.fit(models[beta], mnist.x_train[:1000], steps=150, beta=beta, progress=False)
    _fails_with(check_beta_experiment(models, verbose=False), "no_test_images", "data.x_test")
    result = check_beta_experiment(models, mnist.x_test[:300], verbose=False)
    assert result.passed, result.message
    torch.manual_seed(0)
    kl_small = vu.evaluate(models[0.25], mnist.x_test[:300])["kl"]
    assert f"{kl_small:.1f} ->" in result.message  # the checker's own measurement
    swapped = {0.25: models[4.0], 4.0: models[0.25]}  # labels that do not match the models
    assert check_beta_experiment(swapped, mnist.x_test[:300], verbose=False).mistake == \
        "kl_not_falling"


# ---------------------------------------------------------------------- 03: KL


def kl_formula(mu, logvar):
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1)


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
    _fails_with(check_kl(fn, verbose=False), key, *words)


def test_kl_reference_agrees_with_torch_distributions():
    """The checker's cases themselves: its reference equals torch.distributions'."""
    from vae_utils.exercises.nb03_kl_divergence_and_elbo import _kl_cases
    for case in _kl_cases():
        mu, logvar = case.args
        torch.testing.assert_close(kl_formula(mu, logvar), kl_distributions(mu, logvar))


# ----------------------------------------------------------------- 03: ELBO loss


def elbo_sum_then_mean(logits, x, mu, logvar, beta=1.0):
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum((1, 2, 3))
    kl = -0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp(), dim=1)
    return (recon + beta * kl).mean()


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
    _fails_with(check_elbo_loss(fn, verbose=False), key, *words)


def test_elbo_tuple_answer_is_explained():
    def returns_all(logits, x, mu, logvar, beta=1.0):
        return elbo_sum_then_mean(logits, x, mu, logvar, beta), _bce(logits, x).mean()

    _fails_with(check_elbo_loss(returns_all, verbose=False), "malformed", "just the tensor")


# --------------------------------------------------------------- 04: latent grid


def grid_icdf(n, lo=0.05, hi=0.95):
    return Normal(0.0, 1.0).icdf(torch.linspace(lo, hi, n))


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
    _fails_with(check_latent_grid(fn, verbose=False), key, *words)


# --------------------------------------------------------------------- 05: slerp


def slerp_formula(z0, z1, t):
    cos = torch.clamp(z0 @ z1 / (z0.norm() * z1.norm()), -1, 1)
    omega = torch.arccos(cos)
    if torch.sin(omega) < 1e-6:
        return (1 - t) * z0 + t * z1
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


def slerp_float64_batched(z0, z1, t):
    """Returns (1, D), as vae_utils.latent.slerp does; computed in float64."""
    a, b = z0.double(), z1.double()
    omega = torch.arccos(torch.clamp(F.cosine_similarity(a, b, dim=0), -1, 1))
    so = torch.sin(omega)
    t = torch.tensor([[t]], dtype=torch.float64)
    if so.abs() < 1e-6:
        return (1 - t) * a + t * b
    return torch.sin((1 - t) * omega) / so * a + torch.sin(t * omega) / so * b


@pytest.mark.parametrize("fn", [slerp_formula, slerp_float64_batched])
def test_slerp_correct_answers_pass(fn):
    assert check_slerp(fn, verbose=False).passed


def _slerp_no_fallback(z0, z1, t):
    omega = torch.arccos(z0 @ z1 / (z0.norm() * z1.norm()))
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


@pytest.mark.parametrize("fn, key, words", [
    (lambda z0, z1, t: (1 - t) * z0 + t * z1, "lerp", ["linear interpolation"]),
    (lambda z0, z1, t: slerp_formula(z0, z1, 1 - t), "swapped_t", ["backwards"]),
    (lambda z0, z1, t: slerp_formula(z0 / z0.norm(), z1 / z1.norm(), t), "normalised_output",
     ["unit length"]),
    (lambda z0, z1, t: _slerp_unnormalised_angle(z0, z1, t), "unnormalised_angle",
     ["(|z0| |z1|)"]),
    (_slerp_no_fallback, "parallel", ["parallel", "lerp"]),
])
def test_slerp_wrong_answers_get_the_matching_hint(fn, key, words):
    _fails_with(check_slerp(fn, verbose=False), key, *words)


def _slerp_unnormalised_angle(z0, z1, t):
    omega = torch.arccos(torch.clamp(z0 @ z1, -1, 1))
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


def test_slerp_reference_keeps_the_angle_linear_in_t():
    """Invariant behind the checker's reference: for unit vectors, angle(z0, slerp(t)) =
    t * angle(z0, z1) and the norm stays 1."""
    from vae_utils.exercises.nb05_interpolation_gif import _slerp_ref
    g = torch.Generator().manual_seed(0)
    z0, z1 = (F.normalize(torch.randn(20, generator=g, dtype=torch.float64), dim=0)
              for _ in range(2))
    total = torch.arccos(F.cosine_similarity(z0, z1, dim=0))
    for t in (0.2, 0.5, 0.9):
        z = _slerp_ref(z0, z1, t)
        torch.testing.assert_close(torch.arccos(F.cosine_similarity(z0, z, dim=0)), t * total)
        torch.testing.assert_close(z.norm(), torch.tensor(1.0, dtype=torch.float64))


# ---------------------------------------------------------- conceptual questions


def _answer_key() -> dict[str, str]:
    """The right letters, read from the solved notebooks (the instructors' copy): the
    package itself holds only their salted digests."""
    key = {}
    for path in sorted((ROOT / "notebooks" / "solutions").glob("*.ipynb")):
        cells = ["".join(cell["source"]) for cell in json.loads(path.read_text())["cells"]]
        for answer_cell, check_cell in zip(cells, cells[1:]):  # the answer, then its check
            letter = re.search(r'### BEGIN SOLUTION\nanswer = "(\w)"', answer_cell)
            question = re.search(r'^check_answer\("(\w+)", answer\)$', check_cell, re.M)
            if letter and question:
                key[question.group(1)] = letter.group(1)
    return key


ANSWER_KEY = _answer_key()


def test_every_question_has_a_solved_answer():
    assert set(ANSWER_KEY) == set(QUESTIONS) and len(QUESTIONS) == 8


@pytest.mark.parametrize("key", sorted(QUESTIONS))
def test_questions_answer_back(key, capsys):
    q, right_letter = QUESTIONS[key], ANSWER_KEY[key]
    assert right_letter in q.options and set(q.why) == set(q.options)
    right = check_answer(key, right_letter.upper())
    assert right.passed and unseal(key, right_letter, q.why[right_letter]) in capsys.readouterr().out
    assert check_answer(key, f"({right_letter})", verbose=False).passed
    for letter in q.options:
        if letter != right_letter:
            wrong = check_answer(key, letter, verbose=False)
            assert wrong.status == "failed" and wrong.mistake == letter
            assert unseal(key, letter, q.why[letter]) in wrong.hint
            assert f"({right_letter})" not in wrong.message  # the right letter is not given away
    assert check_answer(key, None, verbose=False).status == "not attempted"
    assert check_answer(key, "", verbose=False).status == "not attempted"
    assert check_answer(key, "z", verbose=False).mistake == "invalid"
    md = question_markdown(key)
    assert q.prompt in md and "<details>" in md and q.hint in md


def test_the_answer_key_is_not_readable_from_the_package():
    package = "\n".join(path.read_text() for path in (ROOT / "vae_utils").rglob("*.py"))
    for key, q in QUESTIONS.items():
        assert not hasattr(q, "answer")
        for letter in q.options:  # no explanation is stored as plain text
            text = unseal(key, letter, q.why[letter])
            assert len(text) > 20 and text[:40] not in package


def test_options_are_alike_and_right_letters_spread():
    strictly_longest = 0
    for key, q in QUESTIONS.items():
        lengths = {letter: len(text) for letter, text in q.options.items()}
        assert max(lengths.values()) <= 1.3 * min(lengths.values()), (key, lengths)
        right = lengths.pop(ANSWER_KEY[key])
        strictly_longest += right > max(lengths.values())
    assert strictly_longest <= 1  # the longest option is no clue
    counts = Counter(ANSWER_KEY.values())
    assert set(counts) == set("abcd") and max(counts.values()) <= 3


def test_the_notebooks_show_the_packages_options():
    for path in sorted((ROOT / "notebooks").rglob("*.ipynb")):
        text = "".join("".join(cell["source"]) for cell in json.loads(path.read_text())["cells"])
        for key in re.findall(r'check_answer\("(\w+)"', text):
            for letter, option in QUESTIONS[key].options.items():
                assert f"- **({letter})** {option}" in text, (path.name, key, letter)


def test_unknown_question_is_a_clear_error():
    with pytest.raises(KeyError, match="the questions are"):
        check_answer("no_such_question", "a")


# ------------------------------------------------------- 03: KL between two Gaussians


def _kl_two(mu_q, lv_q, mu_p, lv_p):
    return 0.5 * (lv_p - lv_q + (lv_q.exp() + (mu_q - mu_p) ** 2) / lv_p.exp() - 1).sum(1)


def test_kl_gaussians_right_answer_passes_on_fresh_cases():
    for seed in (None, None, 3):  # fresh random cases at every call, or seeded ones
        assert check_kl_gaussians(_kl_two, verbose=False, seed=seed).passed


@pytest.mark.parametrize("fn, key, words", [
    (lambda a, b, c, d: _kl_two(c, d, a, b), "swapped", ["KL(p || q)"]),
    (lambda a, b, c, d: 2 * _kl_two(a, b, c, d), "missing_half", ["1/2"]),
    (lambda a, b, c, d: _kl_two(a, b, c, d) / a.shape[1], "mean_reduction", ["SUM"]),
    (lambda a, b, c, d: _kl_two(a, b, c, d).mean(), "batch_mean", ["shape (B,)"]),
    (lambda a, b, c, d: _kl_two(a, b, c, d) + 0.5 * a.shape[1], "missing_one", ["itself"]),
    (lambda a, b, c, d: 0.5 * (d - b + b.exp() / d.exp() + (a - c) ** 2 - 1).sum(1),
     "mean_not_scaled", ["p's variance"]),
    (lambda a, b, c, d: 0.5 * (b - d + b.exp() / d.exp() + (a - c) ** 2 / d.exp() - 1).sum(1),
     "log_ratio_sign", ["wrong sign"]),
])
def test_kl_gaussians_wrong_answers_get_the_matching_hint(fn, key, words):
    _fails_with(check_kl_gaussians(fn, verbose=False, seed=0), key, *words)


def test_kl_gaussians_refuses_torch_distributions():
    from torch.distributions import Normal as N, kl_divergence as kl

    def wrapped(a, b, c, d):
        return kl(N(a, (0.5 * b).exp()), N(c, (0.5 * d).exp())).sum(1)

    _fails_with(check_kl_gaussians(wrapped, verbose=False), "library", "write it yourself")


def test_every_notebook_has_one_open_question_with_a_rubric_and_a_model_answer():
    instructors = (ROOT / "INSTRUCTORS.md").read_text()
    lessons = sorted((ROOT / "notebooks").glob("0*.ipynb"))
    assert len(lessons) == 8
    for path in lessons:
        cells = json.loads(path.read_text())["cells"]
        titles = [re.match(r"### Exercise \d+ · (.+) \(open question\)", "".join(c["source"]))
                  for c in cells if c["cell_type"] == "markdown"]
        titles = [t.group(1) for t in titles if t]
        assert len(titles) == 1, (path.name, titles)
        assert f"**{path.name[:2]} · {titles[0]}** Rubric:" in instructors
        solved = (ROOT / "notebooks" / "solutions" / f"{path.stem}_solutions.ipynb").read_text()
        assert f"{titles[0]} (open question)" in solved and "**Model answer.**" in solved
