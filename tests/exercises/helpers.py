"""What the exercise tests share: assertions on a verdict, the learner's untouched stubs,
and one right answer for every checker (:data:`RIGHT_ANSWERS`), written independently of
the course's code."""

from __future__ import annotations

import importlib.util
import json
import math
import re
from pathlib import Path
from types import ModuleType

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Normal

from vae_utils.exercises import CheckResult
from vae_utils.train import History

ROOT = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------------ assertions


def fails_with(result: CheckResult, key: str, *words: str) -> None:
    """``result`` failed with the recognised mistake ``key``, and its hint (and so its
    printed message) contains each of ``words`` (case ignored)."""
    assert result.status == "failed" and not result and not result.passed, result.message
    assert result.mistake == key, result.message
    for w in words:
        assert w.lower() in result.hint.lower(), result.hint
        assert w.lower() in result.message.lower()


# -------------------------------------------------------- what an untouched stub does


def stub(*args, **kwargs):
    """A stub that raises, as nbgrader's default stub does."""
    raise NotImplementedError


def returns_none(*args, **kwargs):
    """A stub whose body is only ``# YOUR CODE HERE``: it returns ``None``."""


def load_module(path: Path) -> ModuleType:
    """Import the file ``path`` as a module of its own (a learner's file)."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ----------------------------------------------------------- right answers, by notebook


def bce_sum(logits, x):  # 01
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=(1, 2, 3))


def rep_randn_like(mu, logvar):  # 02
    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)


class Heads(nn.Module):  # 02
    def __init__(self, hidden_dim, latent_dim):
        super().__init__()
        self.fc_mu = nn.Linear(hidden_dim, latent_dim)
        self.fc_logvar = nn.Linear(hidden_dim, latent_dim)

    def forward(self, h):
        return self.fc_mu(h), self.fc_logvar(h)


def history(recon: float, kl: float) -> History:  # 02: what vu.fit returns, two rows
    h = History()
    for epoch in (1, 2):
        h.epoch.append(epoch)
        for name, value in (("loss", recon + kl), ("recon", recon), ("kl", kl)):
            getattr(h, f"train_{name}").append(value + 3 - epoch)
            getattr(h, f"test_{name}").append(value + 3 - epoch)
        h.seconds.append(1.0)
    return h


def kl_formula(mu, logvar):  # 03
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1)


def kl_two(mu_q, lv_q, mu_p, lv_p):  # 03: KL between two diagonal Gaussians
    return 0.5 * (lv_p - lv_q + (lv_q.exp() + (mu_q - mu_p) ** 2) / lv_p.exp() - 1).sum(1)


def elbo_sum_then_mean(logits, x, mu, logvar, beta=1.0):  # 03
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum((1, 2, 3))
    kl = -0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp(), dim=1)
    return (recon + beta * kl).mean()


def grid_icdf(n, lo=0.05, hi=0.95):  # 04
    return Normal(0.0, 1.0).icdf(torch.linspace(lo, hi, n))


def slerp_formula(z0, z1, t):  # 05
    cos = torch.clamp(z0 @ z1 / (z0.norm() * z1.norm()), -1, 1)
    omega = torch.arccos(cos)
    if torch.sin(omega) < 1e-6:
        return (1 - t) * z0 + t * z1
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


def right_iwae(log_px_given_z, log_pz, log_qz):  # 06
    log_w = log_px_given_z + log_pz - log_qz  # (B, k)
    return torch.logsumexp(log_w, dim=1) - math.log(log_w.shape[1])


def right_iwae_from_log_w(log_w):  # 10
    return torch.logsumexp(log_w, dim=1) - math.log(log_w.shape[1])


def right_best(points):  # 06
    beta = min(points, key=lambda b: sum(points[b]))
    return beta, sum(points[beta])


def pairwise_auroc(scores_in, scores_out):  # 07
    """Count the pairs, a tie one half; returns a 0-d tensor."""
    diff = scores_out[:, None] - scores_in[None, :]
    return (diff > 0).double().mean() + 0.5 * (diff == 0).double().mean()


def conv_size(size, kernel_size, stride, padding):  # 08
    return (size + 2 * padding - kernel_size) // stride + 1


def decoder_input(z, y, num_classes):  # 08
    return torch.cat((z, F.one_hot(y, num_classes).to(z.dtype)), dim=1)


def pyro_guide(x, vae):  # 09: the encoder's Gaussian as a Pyro program
    import pyro
    import pyro.distributions as dist

    pyro.module("enc", vae.encoder)
    pyro.module("mu_head", vae.fc_mu)
    pyro.module("logvar_head", vae.fc_logvar)
    with pyro.plate("images", len(x)):
        h = vae.encoder(x.view(len(x), -1))
        sigma = vae.fc_logvar(h).mul(0.5).exp()
        pyro.sample("z", dist.Normal(vae.fc_mu(h), sigma).to_event(1))


def gaps(log_px, elbo_local, elbo_amortised):  # 09
    amort, approx = elbo_local - elbo_amortised, log_px - elbo_local
    n = len(log_px)
    return (amort.mean(), amort.std() / n**0.5, approx.mean(), approx.std() / n**0.5)


class ScratchVAE(nn.Module):  # 10: a VAE in plain PyTorch, 784-64-8
    def __init__(self, latent_dim=8, hidden=64):
        super().__init__()
        self.latent_dim = latent_dim
        self.enc = nn.Linear(784, hidden)
        self.mu, self.logvar = nn.Linear(hidden, latent_dim), nn.Linear(hidden, latent_dim)
        self.dec = nn.Sequential(nn.Linear(latent_dim, hidden), nn.ReLU(), nn.Linear(hidden, 784))

    def encode(self, x):
        h = torch.relu(self.enc(x.flatten(1)))
        return self.mu(h), self.logvar(h)

    def reparameterize(self, mu, logvar):
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)

    def decode(self, z):
        return self.dec(z).view(-1, 1, 28, 28)

    def forward(self, x):
        mu, logvar = self.encode(x)
        return self.decode(self.reparameterize(mu, logvar)), mu, logvar


def neg_elbo(logits, x, mu, logvar):  # 10
    return elbo_sum_then_mean(logits, x, mu, logvar)


#: Every coding checker of ``vae_utils.exercises``, with the arguments of a right answer.
RIGHT_ANSWERS = {
    "check_bce_recon": (bce_sum,),
    "check_reparameterize": (rep_randn_like,),
    "check_encoder_heads": (Heads,),
    "check_beta_experiment": ({0.5: history(80.0, 30.0), 1.0: history(85.0, 25.0),
                               4.0: history(100.0, 12.0)},),
    "check_kl": (kl_formula,),
    "check_kl_gaussians": (kl_two,),
    "check_elbo_loss": (elbo_sum_then_mean,),
    "check_latent_grid": (grid_icdf,),
    "check_slerp": (slerp_formula,),
    "check_iwae_bound": (right_iwae,),
    "check_best_elbo": (right_best,),
    "check_auroc": (pairwise_auroc,),
    "check_conv_output_size": (conv_size,),
    "check_decoder_input": (decoder_input,),
    "check_guide": (pyro_guide,),
    "check_gaps": (gaps,),
    "check_vae": (ScratchVAE(),),
    "check_neg_elbo": (neg_elbo,),
    "check_lk": (right_iwae_from_log_w,),
}


def answer_key() -> dict[str, str]:
    """The right letters of the multiple-choice questions, read from the solved notebooks
    (the instructors' copy): the package itself holds only their salted digests."""
    key = {}
    for path in sorted((ROOT / "notebooks" / "solutions").glob("*.ipynb")):
        cells = ["".join(cell["source"]) for cell in json.loads(path.read_text())["cells"]]
        for answer_cell, check_cell in zip(cells, cells[1:]):  # the answer, then its check
            letter = re.search(r'### BEGIN SOLUTION\nanswer = "(\w)"', answer_cell)
            question = re.search(r'^check_answer\("(\w+)", answer\)$', check_cell, re.M)
            if letter and question:
                key[question.group(1)] = letter.group(1)
    return key
