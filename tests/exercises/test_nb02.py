"""Notebook 02's checkers: ``check_reparameterize``, ``check_encoder_heads`` and
``check_beta_experiment``.

Right answers pass, the usual wrong ones fail with the hint that names the mistake, and
the course's own function is refused. The references are independent of the course's code
(``torch.distributions``, ``h @ W.T + b`` from the learner's own weights): each section
tests that (a) the reference agrees with the course's own function on random inputs, so
the reference is right; (b) a correct answer written independently passes, whatever the
fresh cases; (c) a subtly wrong answer that passes the fixed cases is caught by the fresh
random cases or the properties.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Normal

import vae_utils as vu
from vae_utils.exercises import check_beta_experiment, check_encoder_heads, check_reparameterize
from vae_utils.exercises import nb02_variational_autoencoder as nb02
from vae_utils.exercises.checking import _call_seeded, run_check

from .helpers import Heads, fails_with, history, rep_randn_like

SEEDS = [0, 1, 2, 3, 12345]


# ----------------------------------------------------------------------- reparameterize


def rep_sqrt_var(mu, logvar):
    std = logvar.exp().sqrt()
    return mu + std * torch.randn(mu.shape)


def rep_rsample(mu, logvar):
    return Normal(mu, torch.exp(0.5 * logvar)).rsample()


def rep_std_clamped(mu, logvar):
    """Wrong only where sigma > 3 (a "stability" clamp): the fixed cases never go there."""
    return mu + torch.exp(0.5 * logvar).clamp(max=3.0) * torch.randn_like(mu)


def _course_reparameterize(mu, logvar):
    return vu.reparameterize(mu, logvar)


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
    fails_with(check_reparameterize(fn, verbose=False), key, *words)


def test_reparameterize_reports_the_moments_it_compared():
    result = check_reparameterize(lambda mu, lv: mu + torch.exp(lv) * torch.randn_like(mu),
                                  verbose=False)
    mean, std = result.expected
    torch.testing.assert_close(std, torch.tensor([0.5, 2.0]), rtol=0.03, atol=0)
    torch.testing.assert_close(result.received[1], torch.tensor([0.25, 4.0]), rtol=0.03, atol=0)


@pytest.mark.parametrize("shape", [(1, 1), (5, 3), (7, 13), (64, 20), (3, 17)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_reparameterize_reference_draws_what_the_course_function_draws(shape, dtype):
    g = torch.Generator().manual_seed(sum(shape))
    mu = 3 * torch.randn(shape, generator=g, dtype=dtype)
    logvar = 10 * torch.rand(shape, generator=g, dtype=dtype) - 5
    for seed in SEEDS:
        ours = _call_seeded(nb02._reparam_reference, seed, mu, logvar)
        course = _call_seeded(vu.reparameterize, seed, mu, logvar)
        by_hand = _call_seeded(lambda: mu + (0.5 * logvar).exp() * torch.randn_like(mu), seed)
        torch.testing.assert_close(ours, course, rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(ours, by_hand, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("seed", SEEDS)
def test_the_course_function_passes_every_case_of_the_reference(seed):
    """Through the engine, without refusal: all cases, fixed and fresh, agree with the
    course's reparameterize (moments, gradients and the seeded draw)."""
    result = run_check("reference", _course_reparameterize, nb02._reparam_cases(seed),
                       nb02._reparam_reference, verbose=False)
    assert result.passed, result.message


def test_exact_moment_reference_has_exactly_the_target_moments():
    for case in nb02._reparam_fresh_cases(7)[:1]:
        z = _call_seeded(nb02._exact_moments_reference, case.seed, case)
        m, s = nb02._standardised_moments(z, case)
        torch.testing.assert_close(m, torch.zeros_like(m), rtol=0, atol=1e-9)
        torch.testing.assert_close(s, torch.ones_like(s), rtol=0, atol=1e-9)


def test_fresh_reparameterize_cases_reach_large_and_small_variances_and_change_per_call():
    cases = nb02._reparam_fresh_cases(3)
    for case in cases:
        logvar = case.args[1]
        assert logvar[:, 0].min() >= 3.0 and logvar[:, 1].max() <= -3.0
        assert logvar.abs().max() <= 6.0
    again = nb02._reparam_fresh_cases(3)
    assert all(torch.equal(a.args[1], b.args[1]) for a, b in zip(cases, again))
    first, second = nb02._reparam_fresh_cases(None), nb02._reparam_fresh_cases(None)
    assert not torch.equal(first[2].args[0][:1, :2], second[2].args[0][:1, :2])


@pytest.mark.parametrize("fn", [rep_randn_like, rep_sqrt_var, rep_rsample])
@pytest.mark.parametrize("seed", SEEDS + [None])
def test_independent_correct_reparameterize_passes(fn, seed):
    assert check_reparameterize(fn, verbose=False, seed=seed).passed


def test_a_clamped_std_passes_the_fixed_cases_but_not_the_fresh_ones():
    fixed = run_check("fixed", rep_std_clamped, nb02._reparam_fixed_cases(),
                      nb02._reparam_reference, verbose=False)
    assert fixed.passed  # the old cases alone miss it (sigma <= 2 there)
    for seed in SEEDS + [None]:
        result = check_reparameterize(rep_std_clamped, verbose=False, seed=seed)
        assert result.status == "failed" and "fresh random" in result.case, result.message


@pytest.mark.parametrize("fn, key", [
    (lambda mu, lv: mu + torch.exp(lv) * torch.randn_like(mu), "variance_not_std"),
    (lambda mu, lv: mu + 0.5 * lv * torch.randn_like(mu), "forgot_exp"),
    (lambda mu, lv: torch.exp(0.5 * lv) * torch.randn_like(mu), "forgot_mu"),
    (lambda mu, lv: mu.clone(), "no_noise"),
    (lambda mu, lv: Normal(mu, torch.exp(0.5 * lv)).sample(), "no_gradient"),
    (lambda mu, lv: mu + torch.exp(0.5 * lv).detach() * torch.randn_like(mu), "wrong_gradient"),
])
def test_the_fresh_reparameterize_cases_alone_catch_the_usual_mistakes(fn, key):
    result = run_check("fresh", fn, nb02._reparam_fresh_cases(11), nb02._reparam_reference,
                       mistakes=nb02._REPARAM_MISTAKES, verbose=False)
    assert result.status == "failed" and result.mistake == key, result.message


def test_the_fresh_moment_case_compares_with_exact_moments():
    """A draw with the right law but noise unrelated to torch's seed passes the moment
    case (it is compared with mu and sigma, not with the reference's samples) and fails
    only the seeded comparison."""
    def other_noise(mu, logvar):
        g = torch.Generator().manual_seed(99)
        return mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=g)

    moments = nb02._reparam_fresh_cases(5)[:2]
    assert run_check("moments", other_noise, moments, nb02._reparam_reference,
                     verbose=False).passed
    result = check_reparameterize(other_noise, verbose=False, seed=5)
    assert result.status == "failed" and "identical z" in result.case


def test_course_reparameterize_is_refused():
    fails_with(check_reparameterize(vu.reparameterize, verbose=False), "library")
    from vae_utils.models import reparameterize
    fails_with(check_reparameterize(reparameterize, verbose=False, seed=0), "library")
    fails_with(check_reparameterize(_course_reparameterize, verbose=False), "library")


# ------------------------------------------------------------------------ encoder heads


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
    fails_with(check_encoder_heads(_heads_with(forward), verbose=False), key, *words)


def test_encoder_heads_need_named_linear_layers_of_the_right_size():
    class Named(nn.Module):
        def __init__(self, hidden_dim, latent_dim):
            super().__init__()
            self.mean = nn.Linear(hidden_dim, latent_dim)
            self.fc_logvar = nn.Linear(hidden_dim, latent_dim)

        def forward(self, h):
            return self.mean(h), self.fc_logvar(h)

    fails_with(check_encoder_heads(Named, verbose=False), "malformed", "fc_mu")

    class Shared(Heads):
        def __init__(self, hidden_dim, latent_dim):
            super().__init__(hidden_dim, latent_dim)
            self.fc_mu = nn.Linear(hidden_dim, 2 * latent_dim)

        def forward(self, h):
            return self.fc_mu(h)[:, : self.fc_logvar.out_features], self.fc_logvar(h)

    fails_with(check_encoder_heads(Shared, verbose=False), "malformed", "latent_dim")


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
    fails_with(check_encoder_heads(Heads(4, 2), verbose=False), "malformed", "not an instance")

    class Broken(Heads):
        def forward(self, h):
            return self.fc_mu(h.t()), self.fc_logvar(h)

    result = check_encoder_heads(Broken, verbose=False)
    assert result.mistake == "exception" and "RuntimeError" in result.message


class HeadsByHand(Heads):
    def forward(self, h):
        return (h @ self.fc_mu.weight.T + self.fc_mu.bias,
                torch.addmm(self.fc_logvar.bias, h, self.fc_logvar.weight.T))


class HeadsFromTheCourseVAE(nn.Module):
    """The heads of the course's VAE, in a class of the learner's: not refused."""

    def __init__(self, hidden_dim, latent_dim):
        super().__init__()
        vae = vu.VAE(latent_dim=latent_dim, hidden_dims=(hidden_dim,))
        self.fc_mu, self.fc_logvar = vae.fc_mu, vae.fc_logvar

    def forward(self, h):
        return self.fc_mu(h), self.fc_logvar(h)


class LogvarClamped(Heads):
    """A "stability" clamp on logvar: only wrong where |logvar| > 10."""

    def forward(self, h):
        return self.fc_mu(h), self.fc_logvar(h).clamp(-10.0, 10.0)


class MuClamped(Heads):
    def forward(self, h):
        return self.fc_mu(h).clamp(-10.0, 10.0), self.fc_logvar(h)


class OneSharedLayer(Heads):
    def __init__(self, hidden_dim, latent_dim):
        super().__init__(hidden_dim, latent_dim)
        self.fc_logvar = self.fc_mu


class TiedWeight(Heads):
    def __init__(self, hidden_dim, latent_dim):
        super().__init__(hidden_dim, latent_dim)
        self.fc_logvar.weight = self.fc_mu.weight


@pytest.mark.parametrize("hidden_dim, latent_dim", [(16, 3), (400, 20), (8, 2)])
def test_heads_reference_agrees_with_the_course_vae(hidden_dim, latent_dim):
    torch.manual_seed(hidden_dim)
    vae = vu.VAE(latent_dim=latent_dim, hidden_dims=(hidden_dim,))
    x = torch.rand(5, 1, 28, 28)
    with torch.no_grad():
        h = vae.encoder(x.flatten(1))
        mu, logvar = vae.encode(x)
    reference = nb02._heads_reference({(hidden_dim, latent_dim): vae})
    ref_mu, ref_logvar = reference(hidden_dim, latent_dim, h)
    assert ref_mu.dtype == torch.float64 and ref_mu.shape == (5, latent_dim)
    torch.testing.assert_close(ref_mu.float(), mu, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ref_logvar.float(), logvar, rtol=1e-5, atol=1e-5)


def test_heads_reference_handles_layers_without_bias():
    layer_mu, layer_logvar = nn.Linear(6, 2, bias=False), nn.Linear(6, 2)
    module = nn.Module()
    module.fc_mu, module.fc_logvar = layer_mu, layer_logvar
    h = torch.randn(3, 6)
    mu, logvar = nb02._heads_reference({(6, 2): module})(6, 2, h)
    with torch.no_grad():
        torch.testing.assert_close(mu.float(), layer_mu(h))
        torch.testing.assert_close(logvar.float(), layer_logvar(h))


@pytest.mark.parametrize("cls", [Heads, HeadsByHand, HeadsFromTheCourseVAE])
def test_independent_correct_heads_pass(cls):
    assert check_encoder_heads(cls, verbose=False).passed


def test_the_large_feature_case_has_large_outputs_of_both_signs():
    built = {}
    case = nb02._heads_cases(built)[-1]
    out = case.call(Heads, case)
    for value in out:
        assert value.max() > 10 and value.min() < -10


@pytest.mark.parametrize("cls, key", [(LogvarClamped, "activation_logvar"),
                                      (MuClamped, "activation_mu")])
def test_a_clamped_head_passes_the_old_cases_but_not_the_large_feature_case(cls, key):
    built = {}
    old = run_check("old", cls, nb02._heads_cases(built)[:4], None,
                    mistakes=nb02._heads_mistakes(built), verbose=False)
    assert old.passed  # the old cases alone miss it (outputs of size < 10 there)
    result = check_encoder_heads(cls, verbose=False)
    fails_with(result, key, "no activation")
    assert "large features" in result.case


@pytest.mark.parametrize("cls", [OneSharedLayer, TiedWeight])
def test_heads_that_share_a_layer_or_a_weight_are_refused(cls):
    result = check_encoder_heads(cls, verbose=False)
    fails_with(result, "same_head", "own nn.Linear")
    assert "fc_mu(h)" not in result.hint and "h @" not in result.hint  # no solution code


def test_the_course_vae_itself_is_refused():
    fails_with(check_encoder_heads(vu.VAE, verbose=False), "library")


# ---------------------------------------------------------------------- beta experiment


def test_beta_experiment_trend(capsys):
    good = {0.5: history(80.0, 30.0), 1.0: history(85.0, 25.0), 4.0: history(100.0, 12.0)}
    result = check_beta_experiment(good)
    out = capsys.readouterr().out
    assert result.passed and "4.00" in out and "13.00" in out  # the last epoch's numbers

    assert check_beta_experiment({}, verbose=False).status == "not attempted"
    fails_with(check_beta_experiment({1.0: history(85.0, 25.0)}, verbose=False), "too_few",
               "two")
    fails_with(check_beta_experiment({0.5: history(80.0, 30.0), 4.0: history(100.0, 31.0)},
                                     verbose=False), "kl_not_falling", "beta=beta")
    fails_with(check_beta_experiment({0.5: history(80.0, 30.0), 4.0: history(79.0, 12.0)},
                                     verbose=False), "recon_not_rising", "same seed")
    fails_with(check_beta_experiment({0.5: history(math.nan, 30.0), 4.0: history(79.0, 12.0)},
                                     verbose=False), "not_finite", "diverged")
    fails_with(check_beta_experiment({0.5: "oops", 4.0: history(79.0, 12.0)}, verbose=False),
               "malformed", "{beta: model}")


def test_beta_experiment_refuses_numbers_typed_in():
    # the hole this closes: made-up numbers in the right order used to pass
    for typed in ({1.0: (110, 20), 1.01: (110.5, 19.9)}, {0.5: 80.0, 4.0: 100.0}):
        fails_with(check_beta_experiment(typed, verbose=False), "numbers", "models")


def test_beta_experiment_refuses_unequal_budgets():
    short = history(100.0, 12.0)
    short.step = [1, 2]
    long = history(80.0, 30.0)
    long.step = [100, 200]
    fails_with(check_beta_experiment({0.5: long, 4.0: short}, verbose=False),
               "unequal_budgets", "same steps")


@pytest.mark.slow  # trains two VAEs (150 steps each) and loads the digits: 2 to 10 s
def test_beta_experiment_measures_the_models_itself(mnist):
    models = {}
    for beta in (0.25, 4.0):
        vu.seed_everything(0)
        models[beta] = vu.VAE(latent_dim=8, hidden_dims=(64,))
        vu.fit(models[beta], mnist.x_train[:1000], steps=150, beta=beta, progress=False)
    fails_with(check_beta_experiment(models, verbose=False), "no_test_images", "data.x_test")
    state = torch.get_rng_state()
    result = check_beta_experiment(models, mnist.x_test[:300], verbose=False)
    assert result.passed, result.message
    assert torch.equal(torch.get_rng_state(), state)  # measuring leaves the learner's state
    torch.manual_seed(0)
    kl_small = vu.evaluate(models[0.25], mnist.x_test[:300])["kl"]
    assert f"{kl_small:.1f} ->" in result.message  # the checker's own measurement
    swapped = {0.25: models[4.0], 4.0: models[0.25]}  # labels that do not match the models
    assert check_beta_experiment(swapped, mnist.x_test[:300], verbose=False).mistake == \
        "kl_not_falling"
