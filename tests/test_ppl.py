"""vae_utils.ppl: the VAE as a Pyro program computes the course's ELBO.

* ``TraceMeanField_ELBO`` (closed-form KL) on the model and the amortised guide equals the
  course's ``elbo_loss`` on the same batch and the same sampled codes;
* ``Trace_ELBO`` (Monte Carlo KL) equals minus the course's importance log-weight under the
  same noise, and the course's loss on average;
* the per-image guide starts at the encoder's Gaussian (same ELBO) and climbs from there;
* the Gaussian log-weights agree with the model's own ``log_weights``;
* bad inputs raise the course's errors.
"""

from __future__ import annotations

import math

import pyro
import pytest
import torch
from pyro import poutine
from pyro.infer import Trace_ELBO, TraceMeanField_ELBO

import vae_utils as vu
from vae_utils import ppl


@pytest.fixture
def vae() -> vu.VAE:
    torch.manual_seed(0)
    return vu.VAE(latent_dim=5, hidden_dims=(32,))


@pytest.fixture
def x() -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    return torch.bernoulli(torch.rand(6, 1, 28, 28, generator=g) * 0.6, generator=g)


@pytest.fixture(autouse=True)
def clean_pyro():
    pyro.clear_param_store()
    with pyro.validation_enabled(True):
        yield
    pyro.clear_param_store()


def _guide_trace(x, vae):
    torch.manual_seed(3)
    return poutine.trace(ppl.guide).get_trace(x, vae)


def test_mean_field_elbo_equals_the_course_loss_on_the_same_codes(vae, x):
    tr = _guide_trace(x, vae)
    z = tr.nodes["z"]["value"]  # (B, D): the codes the guide drew
    pyro_loss = TraceMeanField_ELBO().loss(ppl.model, poutine.replay(ppl.guide, trace=tr), x, vae)
    mu, logvar = vae.encode(x)
    ours = vu.elbo_loss(vae.decode(z), x, mu, logvar)
    torch.testing.assert_close(torch.tensor(pyro_loss / len(x)), ours.loss.detach(),
                               rtol=1e-5, atol=1e-3)


def test_mean_field_elbo_equals_the_course_loss_under_the_same_seed(vae, x):
    """No replay: both draw their codes from torch's generator seeded alike."""
    torch.manual_seed(11)
    pyro_loss = TraceMeanField_ELBO().loss(ppl.model, ppl.guide, x, vae)
    torch.manual_seed(11)
    ours = vae.loss_terms(x).loss.item()
    assert pyro_loss / len(x) == pytest.approx(ours, rel=1e-5, abs=1e-3)


def test_trace_elbo_is_minus_the_log_weight_under_the_same_noise(vae, x):
    tr = _guide_trace(x, vae)
    z = tr.nodes["z"]["value"]
    mu, logvar = vae.encode(x)
    eps = ((z - mu) / torch.exp(0.5 * logvar)).detach().unsqueeze(1)  # (B, 1, D)
    pyro_loss = Trace_ELBO().loss(ppl.model, poutine.replay(ppl.guide, trace=tr), x, vae)
    with torch.no_grad():
        (chunk,) = list(vae.log_weights(x, 1, eps=eps))
    log_w = (chunk.log_px + chunk.log_pz_minus_log_qz).squeeze(1)  # (B,)
    assert pyro_loss == pytest.approx(-log_w.sum().item(), rel=1e-5, abs=1e-3)
    # the Monte Carlo KL of that sample is not the closed form: the two ELBOs differ per draw
    mf = TraceMeanField_ELBO().loss(ppl.model, poutine.replay(ppl.guide, trace=tr), x, vae)
    assert abs(mf - pyro_loss) > 1e-3


def test_trace_elbo_equals_the_course_loss_on_average(vae, x):
    torch.manual_seed(5)
    n = 4000
    est = Trace_ELBO(num_particles=n, vectorize_particles=True).loss(ppl.model, ppl.guide, x, vae)
    mu, logvar = vae.encode(x)
    with torch.no_grad():
        eps = torch.randn(len(x), n, mu.shape[1], generator=torch.Generator().manual_seed(6))
        (chunk,) = list(vae.log_weights(x, n, eps=eps, max_rows=len(x) * n))
    log_w = (chunk.log_px + chunk.log_pz_minus_log_qz).double()  # (B, n)
    exact_kl = vu.kl_to_standard_normal(mu, logvar).sum().item()
    recon = -chunk.log_px.double().mean(1).sum().item()
    se = math.sqrt(log_w.var(1).sum().item() / n)  # of the summed n-sample estimate
    assert abs(est - (recon + exact_kl)) < 5 * math.sqrt(2) * se


def test_the_programs_register_the_course_networks(vae, x):
    guide_params = poutine.trace(ppl.guide, param_only=True).get_trace(x, vae)
    model_params = poutine.trace(ppl.model, param_only=True).get_trace(x, vae)
    ids = lambda tr: {id(site["value"]) for site in tr.nodes.values()}  # noqa: E731
    encoder = {id(p) for m in (vae.encoder, vae.fc_mu, vae.fc_logvar) for p in m.parameters()}
    decoder = {id(p) for p in vae.decoder.parameters()}
    assert ids(guide_params) == encoder and ids(model_params) == decoder
    sites = poutine.trace(ppl.model).get_trace(x, vae).nodes
    assert sites["z"]["fn"].event_shape == (5,) and sites["x"]["fn"].event_shape == (784,)
    assert sites["x"]["is_observed"] and sites["z"]["cond_indep_stack"][0].name == "data"


def test_local_guide_starts_at_the_encoder(vae, x):
    store_before = dict(pyro.get_param_store().items())
    fit = ppl.fit_local_guide(vae, x, steps=1, lr=1e-12, num_particles=2000)
    mu, logvar = vae.encode(x)
    torch.testing.assert_close(fit.mu, mu.detach(), rtol=0, atol=1e-6)
    torch.testing.assert_close(fit.logvar, logvar.detach(), rtol=0, atol=1e-6)
    # its first SVI loss is the encoder's negative ELBO (2,000 codes per image: within noise)
    torch.manual_seed(0)
    enc = vu.evaluate(vae, x)["recon"] + vu.evaluate(vae, x)["kl"]
    bounds = ppl.gaussian_bounds(vae, x, mu.detach(), logvar.detach(), 2000,
                                 generator=torch.Generator().manual_seed(2))
    assert fit.losses[0] == pytest.approx(-bounds.elbo.mean().item(), abs=0.5)
    assert abs(fit.losses[0] - enc) < 25  # one-sample vu.evaluate: noisier
    assert dict(pyro.get_param_store().items()) == store_before  # the store is left alone
    assert all(p.requires_grad for p in vae.parameters()) and vae.training


def test_local_guide_climbs_above_the_encoder(vae, x):
    before = [p.detach().clone() for p in vae.parameters()]
    fit = ppl.fit_local_guide(vae, x, steps=150, lr=0.05)
    g = torch.Generator().manual_seed(4)
    mu, logvar = vae.encode(x)
    enc = ppl.gaussian_bounds(vae, x, mu.detach(), logvar.detach(), 500, generator=g).elbo
    local = ppl.gaussian_bounds(vae, x, fit.mu, fit.logvar, 500, generator=g).elbo
    assert (local > enc).all() and fit.losses[-1] < fit.losses[0]
    assert all(torch.equal(a, b) for a, b in zip(before, vae.parameters()))  # decoder fixed


def test_gaussian_log_weights_are_the_models_own(vae, x):
    mu, logvar = (t.detach() for t in vae.encode(x))
    k = 7
    ours = ppl.gaussian_log_weights(vae, x, mu, logvar, k, generator=torch.Generator().manual_seed(9))
    eps = torch.randn((len(x), k, 5), generator=torch.Generator().manual_seed(9))
    with torch.no_grad():
        (chunk,) = list(vae.log_weights(x, k, eps=eps))
    torch.testing.assert_close(ours, (chunk.log_px + chunk.log_pz_minus_log_qz).double(),
                               rtol=1e-5, atol=1e-3)
    b = ppl.gaussian_bounds(vae, x, mu, logvar, k, generator=torch.Generator().manual_seed(9))
    torch.testing.assert_close(b.iwae, torch.logsumexp(ours, 1) - math.log(k))
    assert (b.iwae >= b.elbo).all()  # Jensen, draw by draw


def test_bad_inputs(vae, x):
    with pytest.raises(TypeError, match="vae_utils.VAE"):
        ppl.model(x, vu.Autoencoder())
    with pytest.raises(TypeError, match="float tensor"):
        ppl.guide(x.to(torch.uint8), vae)
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\)"):
        ppl.model(x.view(6, 784), vae)
    with pytest.raises(ValueError):  # Pyro's validation: a Bernoulli has no grey levels
        TraceMeanField_ELBO().loss(ppl.model, ppl.guide, x * 0.5, vae)
    with pytest.raises(ValueError, match="binary"):
        ppl.fit_local_guide(vae, x * 0.5)
    with pytest.raises(ValueError, match="init"):
        ppl.fit_local_guide(vae, x, init="zeros")
    with pytest.raises(ValueError, match="steps"):
        ppl.fit_local_guide(vae, x, steps=0)
    mu = torch.zeros(6, 5)
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        ppl.gaussian_log_weights(vae, x, mu[:5], mu[:5], 3)
    with pytest.raises(ValueError, match="k"):
        ppl.gaussian_bounds(vae, x, mu, mu, 0)
