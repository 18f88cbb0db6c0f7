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

__all__ = [
    "ELBOLoss",
    "bernoulli_nll",
    "check_targets",
    "elbo_loss",
    "gaussian_nll",
    "kl_to_standard_normal",
]


def kl_to_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Closed-form ``KL(N(mu, diag(exp(logvar))) || N(0, I))`` per example, in nats.

    Kingma and Welling 2014, Appendix B: ``-1/2 * sum_j (1 + logvar_j - mu_j^2 -
    exp(logvar_j))``, summed over the ``D`` latent dimensions.

    Args:
        mu: float ``(B, D)``.
        logvar: float ``(B, D)``, the log-variance ``log sigma^2``.

    Returns:
        float ``(B,)``, each entry >= 0, zero exactly when ``mu = 0`` and ``logvar = 0``.

    Raises:
        ValueError: ``mu`` and ``logvar`` differ in shape or are not 2-D.
    """
    if mu.shape != logvar.shape or mu.dim() != 2:
        raise ValueError(f"mu and logvar must both have shape (B, D); got {tuple(mu.shape)} "
                         f"and {tuple(logvar.shape)}.")
    return -0.5 * torch.sum(1.0 + logvar - mu.pow(2) - logvar.exp(), dim=1)


def check_targets(x: torch.Tensor) -> None:
    """Raise ``ValueError`` unless every value of ``x`` lies in ``[0, 1]``.

    The Bernoulli likelihood needs targets in ``[0, 1]`` (pixel intensities or 0/1
    pixels). Costs one host synchronisation; :func:`vae_utils.train.fit` checks the
    whole data set once instead of every batch.
    """
    if x.numel() == 0:
        return
    lo, hi = float(x.min()), float(x.max())
    if not (0.0 <= lo and hi <= 1.0):  # also False for NaN
        hint = " Did you apply transforms.Normalize?" if lo < 0 else ""
        hint = hint or (" Did you forget to divide 0-255 pixels by 255?" if hi > 1 else "")
        raise ValueError(f"targets x must lie in [0, 1]; got min {lo:.3g}, max {hi:.3g}.{hint}")


def bernoulli_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Reconstruction term ``-log p(x|z)`` of independent Bernoulli pixels, per example.

    ``-log Bern(x; sigmoid(l)) = BCE(sigmoid(l), x)``, computed stably from the logits
    (``F.binary_cross_entropy_with_logits``) and summed over all pixels.

    Args:
        logits: decoder output, float ``(B, ...)``.
        x: targets of the same shape, values in ``[0, 1]`` (not checked here; see
            :func:`check_targets`).

    Returns:
        float ``(B,)`` in nats.

    Raises:
        ValueError: shapes differ.
    """
    _same_shape(logits, x, "logits")
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
        float ``(B,)`` in nats.

    Raises:
        ValueError: shapes differ or ``sigma <= 0``.
    """
    _same_shape(x_mean, x, "x_mean")
    if not sigma > 0:
        raise ValueError(f"sigma must be positive; got {sigma}.")
    sq = (x - x_mean).pow(2).flatten(1).sum(1)
    n = x[0].numel()
    return sq / (2.0 * sigma**2) + n * (math.log(sigma) + 0.5 * math.log(2.0 * math.pi))


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
        ValueError: targets outside ``[0, 1]``, mismatched shapes, negative ``beta`` or
            unknown ``likelihood``.
    """
    if beta < 0:
        raise ValueError(f"beta must be >= 0; got {beta}.")
    if mu.shape[0] != x.shape[0]:
        raise ValueError(f"mu has {mu.shape[0]} rows but x has {x.shape[0]} images.")
    if validate:
        check_targets(x)
    if likelihood == "bernoulli":
        recon = bernoulli_nll(logits, x)
    elif likelihood == "gaussian":
        recon = gaussian_nll(torch.sigmoid(logits), x, sigma)
    else:
        raise ValueError(f"likelihood must be 'bernoulli' or 'gaussian'; got {likelihood!r}.")
    kl = kl_to_standard_normal(mu, logvar)
    return ELBOLoss((recon + beta * kl).mean(), recon.mean(), kl.mean())


def _same_shape(pred: torch.Tensor, x: torch.Tensor, name: str) -> None:
    if pred.shape != x.shape:
        raise ValueError(f"{name} and x must have the same shape; got {tuple(pred.shape)} and "
                         f"{tuple(x.shape)}. Reshape x with x.view_as({name}).")
