"""The loss terms against torch.distributions and against their defining invariants."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Bernoulli, Independent, Normal, kl_divergence

from vae_utils.losses import (bernoulli_nll, check_targets, elbo_loss, gaussian_nll,
                              kl_to_standard_normal)
from vae_utils.models import reparameterize


def _random_posterior(b=16, d=5, scale=2.0):
    mu = torch.randn(b, d, dtype=torch.float64) * scale
    logvar = torch.randn(b, d, dtype=torch.float64) * scale
    return mu, logvar


def test_kl_matches_torch_distributions():
    mu, logvar = _random_posterior()
    q = Independent(Normal(mu, torch.exp(0.5 * logvar)), 1)
    p = Independent(Normal(torch.zeros_like(mu), torch.ones_like(mu)), 1)
    torch.testing.assert_close(kl_to_standard_normal(mu, logvar), kl_divergence(q, p))


def test_kl_matches_monte_carlo():
    mu = torch.tensor([[0.5, -1.0, 2.0]], dtype=torch.float64)
    logvar = torch.tensor([[-1.0, 0.3, 0.0]], dtype=torch.float64)
    q = Independent(Normal(mu, torch.exp(0.5 * logvar)), 1)
    p = Independent(Normal(torch.zeros_like(mu), torch.ones_like(mu)), 1)
    g = torch.Generator().manual_seed(1)
    eps = torch.randn(200_000, 1, 3, generator=g, dtype=torch.float64)
    z = mu + torch.exp(0.5 * logvar) * eps
    samples = q.log_prob(z) - p.log_prob(z)  # (S, 1): log q(z) - log p(z)
    estimate, stderr = samples.mean(), samples.std() / math.sqrt(len(samples))
    exact = kl_to_standard_normal(mu, logvar)[0]
    assert abs(estimate - exact) < 4 * stderr
    assert stderr < 0.01 * exact  # the check above is sharp, not vacuous


def test_kl_zero_at_prior_and_positive_elsewhere():
    zero = kl_to_standard_normal(torch.zeros(3, 4), torch.zeros(3, 4))
    assert torch.equal(zero, torch.zeros(3))
    mu, logvar = _random_posterior(b=1000, d=2)
    assert (kl_to_standard_normal(mu, logvar) > 0).all()
    only_var = kl_to_standard_normal(torch.zeros(1, 1), torch.tensor([[0.5]]))
    assert only_var.item() > 0


def test_kl_shape_errors():
    with pytest.raises(ValueError, match="same|shape"):
        kl_to_standard_normal(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match=r"\(B, D\)"):
        kl_to_standard_normal(torch.zeros(3), torch.zeros(3))


def test_bernoulli_nll_equals_summed_bce():
    logits = torch.randn(6, 1, 28, 28, dtype=torch.float64) * 3
    x = torch.rand(6, 1, 28, 28, dtype=torch.float64)
    got = bernoulli_nll(logits, x)
    bce = torch.stack([F.binary_cross_entropy(torch.sigmoid(l), t, reduction="sum")
                       for l, t in zip(logits, x)])
    torch.testing.assert_close(got, bce)
    xb = torch.bernoulli(x)
    ref = -Independent(Bernoulli(logits=logits), 3).log_prob(xb)
    torch.testing.assert_close(bernoulli_nll(logits, xb), ref)


def test_gaussian_nll_matches_normal_log_prob():
    x_mean = torch.rand(4, 1, 28, 28, dtype=torch.float64)
    x = torch.rand(4, 1, 28, 28, dtype=torch.float64)
    for sigma in (0.1, 1.0, 3.0):
        ref = -Normal(x_mean, sigma).log_prob(x).flatten(1).sum(1)
        torch.testing.assert_close(gaussian_nll(x_mean, x, sigma), ref)
    with pytest.raises(ValueError, match="sigma"):
        gaussian_nll(x_mean, x, 0.0)


def test_elbo_loss_is_independent_of_batch_size():
    logits = torch.randn(8, 1, 28, 28, dtype=torch.float64)
    x = torch.rand(8, 1, 28, 28, dtype=torch.float64)
    mu, logvar = _random_posterior(b=8, d=20)
    small = elbo_loss(logits, x, mu, logvar)
    doubled = elbo_loss(*(torch.cat([t, t]) for t in (logits, x, mu, logvar)))
    for a, b in zip(small, doubled):
        torch.testing.assert_close(a, b)
    halves = [elbo_loss(logits[s], x[s], mu[s], logvar[s]).loss for s in (slice(0, 4), slice(4, 8))]
    torch.testing.assert_close(small.loss, (halves[0] + halves[1]) / 2)


def test_elbo_loss_terms_and_beta():
    logits = torch.randn(5, 1, 28, 28, dtype=torch.float64)
    x = torch.rand(5, 1, 28, 28, dtype=torch.float64)
    mu, logvar = _random_posterior(b=5, d=3)
    out = elbo_loss(logits, x, mu, logvar, beta=4.0)
    torch.testing.assert_close(out.recon, bernoulli_nll(logits, x).mean())
    torch.testing.assert_close(out.kl, kl_to_standard_normal(mu, logvar).mean())
    torch.testing.assert_close(out.loss, out.recon + 4.0 * out.kl)
    gauss = elbo_loss(logits, x, mu, logvar, likelihood="gaussian", sigma=0.5)
    torch.testing.assert_close(gauss.recon, gaussian_nll(torch.sigmoid(logits), x, 0.5).mean())
    assert out.recon.item() > 0 and out.kl.item() > 0


def test_elbo_loss_rejects_bad_input():
    logits = torch.zeros(2, 1, 28, 28)
    mu = logvar = torch.zeros(2, 4)
    with pytest.raises(ValueError, match=r"\[0, 1\].*Normalize"):
        elbo_loss(logits, torch.full((2, 1, 28, 28), -0.42), mu, logvar)
    with pytest.raises(ValueError, match=r"\[0, 1\].*255"):
        elbo_loss(logits, torch.full((2, 1, 28, 28), 255.0), mu, logvar)
    with pytest.raises(ValueError, match="same shape"):
        elbo_loss(logits, torch.zeros(2, 784), mu, logvar)
    with pytest.raises(ValueError, match="beta"):
        elbo_loss(logits, torch.zeros(2, 1, 28, 28), mu, logvar, beta=-1)
    with pytest.raises(ValueError, match="likelihood"):
        elbo_loss(logits, torch.zeros(2, 1, 28, 28), mu, logvar, likelihood="poisson")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        check_targets(torch.tensor([0.5, float("nan")]))


# ---------------------------------------------------------------- bad input
# Bad input: each hostile input either gives the correct result or an error of the
# documented type whose message says what was wrong and how to fix it.


def _batch(b=2, d=3):
    return torch.zeros(b, 1, 28, 28), torch.full((b, 1, 28, 28), 0.5), torch.zeros(b, d), \
        torch.zeros(b, d)


def test_elbo_loss_on_an_empty_batch_raises():
    with pytest.raises(ValueError, match="at least one image"):
        elbo_loss(*_batch(b=0))
    assert bernoulli_nll(*_batch(b=0)[:2]).shape == (0,)  # per-example: empty is fine


@pytest.mark.parametrize("call", [
    lambda lo, x, mu, lv: elbo_loss(lo.numpy(), x, mu, lv),
    lambda lo, x, mu, lv: elbo_loss(lo, x.numpy(), mu, lv),
    lambda lo, x, mu, lv: bernoulli_nll(lo, x.numpy()),
    lambda lo, x, mu, lv: gaussian_nll(lo.numpy(), x),
    lambda lo, x, mu, lv: kl_to_standard_normal(mu.numpy(), lv),
    lambda lo, x, mu, lv: reparameterize(mu.numpy(), lv),
    lambda lo, x, mu, lv: check_targets(x.numpy()),
])
def test_numpy_arrays_get_a_type_error_naming_the_fix(call):
    with pytest.raises(TypeError, match="torch.as_tensor"):
        call(*_batch())


def test_losses_refuse_integer_tensors_and_bad_numbers():
    logits, x, mu, logvar = _batch()
    with pytest.raises(TypeError, match=r"x.float\(\) / 255"):
        bernoulli_nll(logits, (x * 255).to(torch.uint8))
    with pytest.raises(TypeError, match=r"mu.float\(\)"):
        kl_to_standard_normal(mu.long(), logvar)
    for beta in (float("nan"), float("inf"), -1.0):
        with pytest.raises(ValueError, match="beta"):
            elbo_loss(logits, x, mu, logvar, beta=beta)
    with pytest.raises(TypeError, match="beta"):
        elbo_loss(logits, x, mu, logvar, beta="1")
    for sigma in (float("inf"), float("nan"), 0.0):
        with pytest.raises(ValueError, match="sigma"):
            gaussian_nll(x, x, sigma)
    with pytest.raises(ValueError, match="one row per image"):
        elbo_loss(logits, x, mu[:1], logvar[:1])
    with pytest.raises(ValueError, match="contain NaN"):
        check_targets(torch.tensor([0.5, float("nan")]))
