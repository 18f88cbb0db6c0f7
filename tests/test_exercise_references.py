"""The checkers of the reparameterisation trick, the encoder's heads and the ELBO compare
with references independent of the course's code (``torch.distributions``, ``h @ W.T +
b`` from the learner's own weights) and with properties on fresh random cases.

Each section tests that (a) the independent reference agrees with the course's own
function on random inputs, so the reference is right; (b) a correct answer written
independently passes, whatever the fresh cases; (c) a subtly wrong answer that passes
the fixed cases is caught by the fresh random cases or the new properties; (d) the
course's own function is refused.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Bernoulli, Independent, Normal, kl_divergence

import vae_utils as vu
from vae_utils.exercises import check_elbo_loss, check_encoder_heads, check_reparameterize
from vae_utils.exercises import nb02_variational_autoencoder as nb02
from vae_utils.exercises import nb03_kl_divergence_and_elbo as nb03
from vae_utils.exercises.checking import _call_seeded, run_check
from test_exercises import (Heads, _fails_with,  # the shared helpers of the exercise tests
                            elbo_pytorch_example_divided, elbo_sum_then_mean)

SEEDS = [0, 1, 2, 3, 12345]


# -------------------------------------------------------------- 02: reparameterize


def rep_randn_like(mu, logvar):
    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)


def rep_sqrt_var(mu, logvar):
    return mu + logvar.exp().sqrt() * torch.randn(mu.shape)


def rep_rsample(mu, logvar):
    return Normal(mu, torch.exp(logvar / 2)).rsample()


def rep_std_clamped(mu, logvar):
    """Wrong only where sigma > 3 (a "stability" clamp): the fixed cases never go there."""
    return mu + torch.exp(0.5 * logvar).clamp(max=3.0) * torch.randn_like(mu)


def _course_reparameterize(mu, logvar):
    return vu.reparameterize(mu, logvar)


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
    _fails_with(check_reparameterize(vu.reparameterize, verbose=False), "library")
    from vae_utils.models import reparameterize
    _fails_with(check_reparameterize(reparameterize, verbose=False, seed=0), "library")
    _fails_with(check_reparameterize(_course_reparameterize, verbose=False), "library")


# ------------------------------------------------------------- 02: encoder heads


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
    _fails_with(result, key, "no activation")
    assert "large features" in result.case


@pytest.mark.parametrize("cls", [OneSharedLayer, TiedWeight])
def test_heads_that_share_a_layer_or_a_weight_are_refused(cls):
    result = check_encoder_heads(cls, verbose=False)
    _fails_with(result, "same_head", "own nn.Linear")
    assert "fc_mu(h)" not in result.hint and "h @" not in result.hint  # no solution code


def test_the_course_vae_itself_is_refused():
    _fails_with(check_encoder_heads(vu.VAE, verbose=False), "library")


# ----------------------------------------------------------------- 03: ELBO loss


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


def test_elbo_checker_leaves_the_global_random_state_alone():
    torch.manual_seed(321)
    expected = torch.rand(3)
    torch.manual_seed(321)
    check_elbo_loss(elbo_sum_then_mean, verbose=False)
    check_encoder_heads(Heads, verbose=False)
    check_reparameterize(rep_randn_like, verbose=False)
    torch.testing.assert_close(torch.rand(3), expected)


def test_course_elbo_is_refused():
    _fails_with(check_elbo_loss(vu.elbo_loss, verbose=False), "library")
    _fails_with(check_elbo_loss(_course_elbo, verbose=False, seed=0), "library")
