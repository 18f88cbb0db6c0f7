"""The VAE as a probabilistic program: Pyro's ``model`` and ``guide`` on the course's networks.

A VAE is variational inference in one class of latent-variable models (Kingma and Welling
2014, Section 2; Pyro's "Variational Autoencoders" tutorial):

* the **model** ``p_theta(x, z) = prod_i p_theta(x_i | z_i) p(z_i)``: a standard normal
  prior on every image's code ``z_i``, independent Bernoulli pixels whose logits the
  decoder computes, a plate over the images and one global ``theta`` (the decoder's
  weights);
* the **guide** ``q_phi(z | x)``: the encoder's diagonal Gaussian, *amortised*: one network
  ``phi`` gives the posterior of every image.

:func:`model` and :func:`guide` write them as Pyro programs on a :class:`vae_utils.VAE`, whose
networks they register with ``pyro.module``, so SVI trains the very network of notebook
02. :func:`fit_local_guide` fits the other kind of guide: a Gaussian with its own mean and
log-variance for each image (*non-amortised*), all images optimised together as one batched
parameter set. :func:`gaussian_log_weights` and :func:`gaussian_bounds` measure the ELBO and
the importance-weighted bound under any diagonal Gaussian, which gives the amortisation and
approximation gaps of Cremer, Li and Duvenaud 2018, "Inference Suboptimality in Variational
Autoencoders" (their Table 1):

    approximation gap = log p(x) - ELBO[q*],     amortisation gap = ELBO[q*] - ELBO[q],

with ``q`` the encoder's Gaussian and ``q*`` the best Gaussian for each image.

Sites: ``"z"`` (the code, ``(B, D)``, one event of ``D`` dimensions) and ``"x"`` (the
pixels, ``(B, 784)``, observed, one event of 784), inside the plate ``"data"`` over the
``B`` images. Pixels must be 0 or 1: a Bernoulli has no density at grey levels, and with
Pyro's validation on (``pyro.enable_validation(True)``) the model refuses them.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import NamedTuple

import pyro
import pyro.distributions as dist
import pyro.optim
import torch
import torch.nn.functional as F
from pyro.infer import SVI, TraceMeanField_ELBO

from . import _checks
from .models import VAE

__all__ = ["LocalFit", "fit_local_guide", "gaussian_bounds", "gaussian_log_weights", "guide",
           "model"]


def _check_vae(vae: object) -> VAE:
    if not isinstance(vae, VAE):
        raise TypeError(f"vae must be a vae_utils.VAE (the MLP VAE of notebook 02, whose "
                        f"encoder and decoder the programs register); got "
                        f"{_checks.type_name(vae)}.")
    _checks.device_dtype(vae)
    return vae


def _check_x(x: object, vae: VAE) -> None:
    """Images ``(B, 1, 28, 28)`` of the model's dtype and device (values not read)."""
    _checks.images(x, values=False)
    _checks.model_input(x, next(vae.parameters()), "x", images=True)


def model(x: torch.Tensor, vae: VAE) -> None:
    """The generative model ``p(x, z) = prod_i p(x_i | z_i) p(z_i)`` as a Pyro program.

    Registers the decoder (``pyro.module("decoder", vae.decoder)``: its weights are the
    global ``theta``), then inside ``pyro.plate("data", B)`` draws ``z ~ N(0, I)`` (site
    ``"z"``, ``(B, D)``, ``to_event(1)``: the ``D`` dimensions are one event) and scores the
    pixels ``x ~ Bernoulli(logits=decoder(z))`` (site ``"x"``, ``(B, 784)``,
    ``to_event(1)``). Kingma and Welling 2014, Appendix C.2; Pyro's VAE tutorial.

    Args:
        x: binary images, float ``(B, 1, 28, 28)`` with values 0 or 1, in the model's dtype
            and on its device.
        vae: a :class:`vae_utils.VAE`.

    Raises:
        TypeError: ``vae`` is not a ``vae_utils.VAE``, or ``x`` is not a float tensor of
            its dtype.
        ValueError: ``x`` is not ``(B, 1, 28, 28)``; with Pyro's validation on, pixels
            that are not 0 or 1 (grey levels: binarise them).
        RuntimeError: ``x`` is on another device than ``vae``.
    """
    _check_vae(vae)
    _check_x(x, vae)
    pyro.module("decoder", vae.decoder)
    b, d = x.shape[0], vae.latent_dim
    zeros = x.new_zeros(b, d)
    with pyro.plate("data", b):
        z = pyro.sample("z", dist.Normal(zeros, torch.ones_like(zeros)).to_event(1))  # (B, D)
        pyro.sample("x", dist.Bernoulli(logits=_decode(vae, z)).to_event(1), obs=x.flatten(1))


def guide(x: torch.Tensor, vae: VAE) -> None:
    """The amortised guide ``q(z | x) = N(mu(x), diag(exp(logvar(x))))``: the encoder.

    Registers the encoder's three parts (``pyro.module``: ``"encoder"``, ``"fc_mu"``,
    ``"fc_logvar"``; their weights are ``phi``), then inside ``pyro.plate("data", B)``
    draws ``z`` (site ``"z"``, ``(B, D)``) from the encoder's Gaussian, with standard
    deviation ``exp(logvar / 2)``.

    Args:
        x: images, float ``(B, 1, 28, 28)``, in the model's dtype and on its device.
        vae: a :class:`vae_utils.VAE`.

    Raises:
        TypeError, ValueError, RuntimeError: as :func:`model` (the pixel values are not
            read here).
    """
    _check_vae(vae)
    _check_x(x, vae)
    for name in ("encoder", "fc_mu", "fc_logvar"):
        pyro.module(name, getattr(vae, name))
    with pyro.plate("data", x.shape[0]):
        mu, logvar = vae.encode(x)  # (B, D) each
        pyro.sample("z", dist.Normal(mu, torch.exp(0.5 * logvar)).to_event(1))


@contextlib.contextmanager
def _frozen(vae: VAE) -> Iterator[VAE]:
    """Hold every weight of ``vae`` fixed (``requires_grad=False``, evaluation mode) for a
    block, and restore both afterwards."""
    flags = [p.requires_grad for p in vae.parameters()]
    was_training = vae.training
    vae.eval()
    for p in vae.parameters():
        p.requires_grad_(False)
    try:
        yield vae
    finally:
        for p, flag in zip(vae.parameters(), flags):
            p.requires_grad_(flag)
        vae.train(was_training)


class LocalFit(NamedTuple):
    """What :func:`fit_local_guide` returns.

    Attributes:
        mu, logvar: the fitted Gaussian of each image, float ``(N, D)`` (detached).
        losses: the SVI loss at each step, nats per image (the negative ELBO estimate,
            averaged over the images), a list of ``steps`` floats.
    """

    mu: torch.Tensor
    logvar: torch.Tensor
    losses: list[float]


def fit_local_guide(vae: VAE, x: torch.Tensor, *, steps: int = 300, lr: float = 0.02,
                    num_particles: int = 8, init: str = "encoder") -> LocalFit:
    """Fit a non-amortised Gaussian ``q*_i = N(m_i, diag(exp(v_i)))`` to each image by SVI.

    Each image ``x_i`` gets its own variational parameters ``m_i`` and ``v_i`` (the
    "local" or per-datapoint guide of Cremer, Li and Duvenaud 2018, Section 3 and their
    ``optimize_local_q``), all ``N`` images held in one ``(N, D)`` parameter pair and
    optimised together: every step is one batched SVI step of Pyro's
    ``TraceMeanField_ELBO`` (closed-form KL, ``num_particles`` vectorised samples of ``z``
    per image) with Adam at learning rate ``lr``. The decoder is held fixed (it is the
    model whose posteriors are approximated), and Pyro's parameter store is left as it was.

    Args:
        vae: a trained :class:`vae_utils.VAE`; its weights are not changed.
        x: binary images ``(N, 1, 28, 28)``, in the model's dtype, on its device.
        steps: SVI steps, >= 1.
        lr: Adam's learning rate, > 0.
        num_particles: samples of ``z`` per image and step, >= 1.
        init: ``"encoder"`` (start at the encoder's ``mu``, ``logvar``: the result is then
            at least as good as the encoder's Gaussian, up to the optimiser's noise) or
            ``"prior"`` (start at ``N(0, I)``, as Cremer et al.'s code does).

    Returns:
        :class:`LocalFit` ``(mu, logvar, losses)``.

    Raises:
        TypeError: ``vae`` is not a ``vae_utils.VAE``, ``x`` not a float tensor of its
            dtype, ``lr`` not a number.
        ValueError: bad shapes, pixels other than 0 and 1, a count that is not a positive
            integer, ``lr <= 0``, an unknown ``init``.
    """
    _check_vae(vae)
    _check_x(x, vae)
    _checks.pixel_range(x, "x")
    if not bool(((x == 0) | (x == 1)).all()):
        raise ValueError("x must be binary (0/1 pixels) for the Bernoulli likelihood; got "
                         "grey levels. Binarise them, e.g. vu.binarize(x) or "
                         "vu.load_mnist(binarize='dynamic').x_test.")
    steps = _checks.positive_int(steps, "steps")
    num_particles = _checks.positive_int(num_particles, "num_particles")
    lr = _checks.number(lr, "lr", positive=True)
    if init not in ("encoder", "prior"):
        raise ValueError(f"init must be 'encoder' or 'prior'; got {init!r}.")
    n = x.shape[0]
    with torch.no_grad():
        mu0, logvar0 = vae.encode(x)
    if init == "prior":
        mu0, logvar0 = torch.zeros_like(mu0), torch.zeros_like(logvar0)

    def local_guide(x: torch.Tensor, vae: VAE) -> None:
        mu = pyro.param("local_mu", mu0.clone())  # (N, D): one mean per image
        logvar = pyro.param("local_logvar", logvar0.clone())  # (N, D)
        with pyro.plate("data", x.shape[0]):
            pyro.sample("z", dist.Normal(mu, torch.exp(0.5 * logvar)).to_event(1))

    elbo = TraceMeanField_ELBO(num_particles=num_particles, vectorize_particles=True,
                               max_plate_nesting=1)
    store = pyro.get_param_store()
    with store.scope(), _frozen(vae):
        svi = SVI(_decoder_only_model, local_guide, pyro.optim.Adam({"lr": lr}), elbo)
        losses = [svi.step(x, vae) / n for _ in range(steps)]
        mu, logvar = store["local_mu"].detach().clone(), store["local_logvar"].detach().clone()
    return LocalFit(mu, logvar, losses)


def _decoder_only_model(x: torch.Tensor, vae: VAE) -> None:
    """:func:`model` without registering the decoder (for a frozen decoder: a module whose
    weights do not require gradients has nothing to register)."""
    b, d = x.shape[0], vae.latent_dim
    zeros = x.new_zeros(b, d)
    with pyro.plate("data", b):
        z = pyro.sample("z", dist.Normal(zeros, torch.ones_like(zeros)).to_event(1))
        pyro.sample("x", dist.Bernoulli(logits=_decode(vae, z)).to_event(1), obs=x.flatten(1))


def _decode(vae: VAE, z: torch.Tensor) -> torch.Tensor:
    """Logits ``(..., 784)`` of codes ``(..., D)``: the decoder on the rows of ``z``, whatever
    its leading dimensions (Pyro's vectorised particles add one in front of the plate)."""
    return vae.decode(z.reshape(-1, z.shape[-1])).reshape(*z.shape[:-1], -1)  # (..., D) -> (..., 784)


@torch.no_grad()
def gaussian_log_weights(vae: VAE, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
                         k: int, *, generator: torch.Generator | None = None,
                         max_rows: int = 4096) -> torch.Tensor:
    """``log w = log p(x|z) + log p(z) - log q(z)`` of ``k`` codes per image drawn from a
    given diagonal Gaussian ``q = N(mu, diag(exp(logvar)))``, one per image.

    The terms inside Burda, Grosse and Salakhutdinov 2016, Eq. 8, for any Gaussian
    proposal (the encoder's, or a per-image fit from :func:`fit_local_guide`), not only
    the encoder's as in :meth:`vae_utils.GaussianVAE.log_weights`. With ``z = mu + sigma *
    eps``, ``log p(z) - log q(z) = sum_d (eps_d^2 - z_d^2 + logvar_d) / 2``. The codes go
    through the decoder ``max_rows`` (image, code) pairs at a time.

    Args:
        vae: a :class:`vae_utils.VAE`.
        x: binary images ``(N, 1, 28, 28)`` in the model's dtype, on its device.
        mu, logvar: the Gaussian of each image, float ``(N, D)``.
        k: codes per image, >= 1.
        generator: optional ``torch.Generator`` on the model's device.
        max_rows: (image, code) pairs per decoder call, >= 1.

    Returns:
        float64 ``(N, k)`` in nats, on the CPU.

    Raises:
        TypeError, ValueError, RuntimeError: a model that is not a ``vae_utils.VAE``, bad
            shapes, dtypes or devices, ``mu`` and ``logvar`` not ``(N, D)``, counts that are
            not positive integers.
    """
    _check_vae(vae)
    _check_x(x, vae)
    _checks.gaussian_params(mu, logvar)
    n, d = mu.shape
    if n != x.shape[0] or d != vae.latent_dim:
        raise ValueError(f"mu and logvar must be (N, D) = ({x.shape[0]}, {vae.latent_dim}), one "
                         f"row per image; got {tuple(mu.shape)}.")
    k = _checks.positive_int(k, "k")
    max_rows = _checks.positive_int(max_rows, "max_rows")
    device, dtype = _checks.device_dtype(vae)
    _checks.generator(generator, device)
    x_flat = x.reshape(n, -1)  # (N, 784)
    std = torch.exp(0.5 * logvar)
    out = torch.empty(n, k, dtype=torch.float64)
    per_call = max(1, max_rows // k)  # images per decoder call when k is small
    codes = max(1, min(k, max_rows))  # codes per call
    with _checks.eval_mode(vae):
        for i in range(0, n, per_call):
            sl = slice(i, min(n, i + per_call))
            b = sl.stop - sl.start
            for start in range(0, k, codes):
                s = min(codes, k - start)
                eps = torch.randn((b, s, d), generator=generator, dtype=dtype, device=device)
                z = mu[sl].unsqueeze(1) + std[sl].unsqueeze(1) * eps  # (b, s, D)
                logits = vae.decode(z.reshape(b * s, d)).reshape(b, s, -1)  # (b, s, 784)
                log_px = -F.binary_cross_entropy_with_logits(
                    logits, x_flat[sl].unsqueeze(1).expand_as(logits), reduction="none").sum(-1)
                log_pz_qz = 0.5 * ((eps.square() - z.square()).sum(-1)
                                   + logvar[sl].sum(-1, keepdim=True))
                out[sl, start:start + s] = (log_px + log_pz_qz).double().cpu()
    return out


class Bounds(NamedTuple):
    """What :func:`gaussian_bounds` returns, each float64 ``(N,)`` in nats, on the CPU.

    Attributes:
        elbo: the ELBO of each image under the Gaussian (the mean of its ``k`` log-weights).
        iwae: ``L_k`` of each image with the Gaussian as proposal (log of the mean weight).
    """

    elbo: torch.Tensor
    iwae: torch.Tensor


def gaussian_bounds(vae: VAE, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, k: int,
                    *, generator: torch.Generator | None = None) -> Bounds:
    """The ELBO and ``L_k`` of each image under a given diagonal Gaussian ``q``, from the
    same ``k`` codes per image (:func:`gaussian_log_weights`).

    ``ELBO(x) ~ (1/k) sum_i log w_i`` (a ``k``-sample Monte Carlo estimate of
    ``E_q[log p(x, z) - log q(z)]``, Kingma and Welling 2014, Eq. 3) and ``L_k(x) = log
    (1/k) sum_i w_i`` (Burda et al. 2016, Eq. 8). Arguments and errors as
    :func:`gaussian_log_weights`.

    Returns:
        :class:`Bounds` ``(elbo, iwae)``.
    """
    log_w = gaussian_log_weights(vae, x, mu, logvar, k, generator=generator)  # (N, k)
    return Bounds(log_w.mean(1), torch.logsumexp(log_w, 1) - math.log(log_w.shape[1]))
