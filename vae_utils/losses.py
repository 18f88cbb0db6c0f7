"""The VAE loss, term by term, in nats.

Every per-example quantity is a sum over that example's pixels (or latent
dimensions); :func:`elbo_loss` then averages over the batch, so the numbers are
"nats per image" whatever the batch size.

Reference: Kingma and Welling 2014, "Auto-Encoding Variational Bayes", Eq. 3 (the
ELBO), Eq. 10 and Appendix B (the closed-form KL against N(0, I)).
"""

from __future__ import annotations

import math
from typing import Literal, NamedTuple

import torch
import torch.nn.functional as F

from . import _checks

__all__ = [
    "ELBOLoss",
    "bernoulli_nll",
    "check_targets",
    "elbo_loss",
    "gaussian_nll",
    "kl_to_standard_normal",
    "reconstruction_nll",
]


def kl_to_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Closed-form ``KL(N(mu, diag(exp(logvar))) || N(0, I))`` per example, in nats.

    Kingma and Welling 2014, Appendix B: ``-1/2 * sum_j (1 + logvar_j - mu_j^2 -
    exp(logvar_j))``, summed over the ``D`` latent dimensions.

    Args:
        mu: float ``(B, D)``.
        logvar: float ``(B, D)``, the log-variance ``log sigma^2``.

    Returns:
        float ``(B,)``, each entry >= 0, zero exactly when ``mu = 0`` and ``logvar = 0``
        (empty for an empty batch).

    Raises:
        TypeError: ``mu`` or ``logvar`` is not a floating-point ``torch.Tensor`` (a NumPy
            array, an integer tensor).
        ValueError: ``mu`` and ``logvar`` differ in shape or are not 2-D.
        RuntimeError: they are on different devices.
    """
    _checks.gaussian_params(mu, logvar)
    return -0.5 * torch.sum(1.0 + logvar - mu.pow(2) - logvar.exp(), dim=1)


def check_targets(x: torch.Tensor, name: str = "targets x") -> None:
    """Raise ``ValueError`` unless every value of ``x`` lies in ``[0, 1]``.

    The Bernoulli likelihood needs targets in ``[0, 1]`` (pixel intensities or 0/1
    pixels). Costs one host synchronisation; :func:`vae_utils.train.fit` checks the
    whole data set once instead of every batch. An empty tensor passes. ``name`` is how
    the message calls ``x``.

    Raises:
        TypeError: ``x`` is not a ``torch.Tensor`` (e.g. a NumPy array).
        ValueError: a value is outside ``[0, 1]``, or NaN; the message suggests the usual
            cause (``transforms.Normalize``, 0-255 pixels).
    """
    _checks.tensor(x, name)
    _checks.pixel_range(x, name)


def bernoulli_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Reconstruction term ``-log p(x|z)`` of independent Bernoulli pixels, per example.

    ``-log Bern(x; sigmoid(l)) = BCE(sigmoid(l), x)``, computed stably from the logits
    (``F.binary_cross_entropy_with_logits``) and summed over all pixels.

    Args:
        logits: decoder output, float ``(B, ...)``.
        x: targets of the same shape and a floating dtype, values in ``[0, 1]`` (not
            checked here, to save a host synchronisation; see :func:`check_targets`).

    Returns:
        float ``(B,)`` in nats (empty for an empty batch).

    Raises:
        TypeError: ``logits`` or ``x`` is not a floating-point ``torch.Tensor``.
        ValueError: shapes differ.
        RuntimeError: they are on different devices.
    """
    _checks.prediction_and_targets(logits, x, "logits")
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)


def gaussian_nll(x_mean: torch.Tensor, x: torch.Tensor, sigma: float = 1.0) -> torch.Tensor:
    """Reconstruction term ``-log N(x; x_mean, sigma^2 I)`` per example, in nats.

    ``sum_i [ (x_i - x_mean_i)^2 / (2 sigma^2) + log sigma + log(2 pi) / 2 ]``: the squared
    error (the "MSE view") scaled by ``1 / (2 sigma^2)`` plus a constant. A small
    ``sigma`` weighs reconstruction heavily against the KL; a large one weighs it lightly.

    Args:
        x_mean: predicted pixel means, float ``(B, ...)`` (for our decoders,
            ``torch.sigmoid(logits)``).
        x: targets, same shape.
        sigma: the fixed standard deviation of every pixel, > 0.

    Returns:
        float ``(B,)`` in nats (empty for an empty batch).

    Raises:
        TypeError: ``x_mean`` or ``x`` is not a floating-point ``torch.Tensor``, or
            ``sigma`` is not a number.
        ValueError: shapes differ, or ``sigma`` is not a finite number > 0.
        RuntimeError: they are on different devices.
    """
    _checks.prediction_and_targets(x_mean, x, "x_mean")
    sigma = _checks.number(sigma, "sigma", positive=True)
    sq = (x - x_mean).pow(2).flatten(1).sum(1)  # squared error per image
    n = x[0].numel()  # pixels per image
    return sq / (2.0 * sigma**2) + n * (math.log(sigma) + 0.5 * math.log(2.0 * math.pi))


def reconstruction_nll(logits: torch.Tensor, x: torch.Tensor, *,
                       likelihood: Literal["bernoulli", "gaussian"] = "bernoulli",
                       sigma: float = 1.0) -> torch.Tensor:
    """``-log p(x|z)`` per example, in nats, under the decoder's likelihood.

    ``"bernoulli"``: :func:`bernoulli_nll` of the logits; ``"gaussian"``:
    :func:`gaussian_nll` of the pixel means ``sigmoid(logits)`` with standard deviation
    ``sigma``.

    Args:
        logits: decoder output, float ``(B, ...)``.
        x: targets of the same shape, values in ``[0, 1]`` (not checked here).
        likelihood: ``"bernoulli"`` or ``"gaussian"``.
        sigma: the Gaussian's pixel standard deviation, > 0.

    Returns:
        float ``(B,)`` in nats.

    Raises:
        TypeError, ValueError, RuntimeError: as :func:`bernoulli_nll` and
            :func:`gaussian_nll`; ``ValueError`` for an unknown ``likelihood``.
    """
    sigma = _checks.likelihood(likelihood, sigma)
    if likelihood == "gaussian":
        return gaussian_nll(torch.sigmoid(logits), x, sigma)
    return bernoulli_nll(logits, x)


class ELBOLoss(NamedTuple):
    """What :func:`elbo_loss` returns; each a 0-d tensor in nats per image.

    Attributes:
        loss: ``recon + beta * kl``, batch-averaged; minimise it. With ``beta = 1`` it
            is the negative ELBO.
        recon: batch-averaged ``-log p(x|z)``.
        kl: batch-averaged ``KL(q(z|x) || p(z))``.
    """

    loss: torch.Tensor
    recon: torch.Tensor
    kl: torch.Tensor


def elbo_loss(
    logits: torch.Tensor,
    x: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    *,
    beta: float = 1.0,
    likelihood: Literal["bernoulli", "gaussian"] = "bernoulli",
    sigma: float = 1.0,
    validate: bool = True,
) -> ELBOLoss:
    """The (beta-weighted) negative ELBO of a batch, with its two terms.

    ``loss = mean_b [ -log p(x_b|z_b) + beta * KL(q(z|x_b) || N(0, I)) ]`` with one sample
    ``z_b ~ q(z|x_b)`` (Kingma and Welling 2014, Eq. 10; ``beta`` from Higgins et al.
    2017, "beta-VAE"). Reconstruction is summed over pixels and KL over latent
    dimensions *before* averaging over the batch, so both are in nats per image and the
    result does not depend on the batch size.

    Args:
        logits: decoder output for the sampled ``z``, float ``(B, 1, 28, 28)``.
        x: targets, same shape, values in ``[0, 1]``.
        mu, logvar: encoder output, float ``(B, D)``.
        beta: weight of the KL term, >= 0; 1 gives the ELBO.
        likelihood: ``"bernoulli"`` (binary cross-entropy with logits) or ``"gaussian"``
            (squared error of ``sigmoid(logits)`` with fixed ``sigma``).
        sigma: pixel standard deviation of the Gaussian likelihood.
        validate: check that ``x`` lies in ``[0, 1]`` (one host sync).

    Returns:
        :class:`ELBOLoss` ``(loss, recon, kl)``.

    Raises:
        TypeError: an input is not a floating-point ``torch.Tensor`` (a NumPy array, an
            integer tensor), or ``beta``/``sigma`` is not a number.
        ValueError: targets outside ``[0, 1]`` or NaN, mismatched shapes, an empty batch
            (the batch mean of nothing is undefined), ``beta`` negative, NaN or infinite,
            ``sigma`` not > 0, or an unknown ``likelihood``.
        RuntimeError: the tensors are on different devices.
    """
    _check_batch(logits, x, mu, logvar, beta, validate)
    recon = reconstruction_nll(logits, x, likelihood=likelihood, sigma=sigma)  # (B,)
    kl = kl_to_standard_normal(mu, logvar)  # (B,)
    return ELBOLoss((recon + beta * kl).mean(), recon.mean(), kl.mean())


def _check_batch(logits: torch.Tensor, x: torch.Tensor, mu: torch.Tensor,
                 logvar: torch.Tensor, beta: object, validate: bool) -> None:
    """The checks of :func:`elbo_loss` that its two terms do not make themselves."""
    for name, value in (("logits", logits), ("x", x), ("mu", mu), ("logvar", logvar)):
        _checks.float_tensor(value, name, images=name == "x")
    _checks.same_device(logits=logits, x=x, mu=mu, logvar=logvar)
    if not isinstance(beta, torch.Tensor) or beta.numel() == 1:
        _checks.number(beta, "beta")
    if x.dim() == 0 or x.shape[0] == 0:
        raise ValueError(f"elbo_loss needs a batch of at least one image; got x of shape "
                         f"{tuple(x.shape)}. The loss is a mean over the batch, which is "
                         "undefined (NaN) for an empty one: check how the batch was sliced.")
    if mu.dim() == 0 or mu.shape[0] != x.shape[0]:
        raise ValueError(f"mu has shape {tuple(mu.shape)} but x has {x.shape[0]} images: mu "
                         "and logvar need one row per image, (B, D).")
    if validate:
        check_targets(x)
