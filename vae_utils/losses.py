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


def _type_name(value: object) -> str:
    """``numpy.ndarray``, ``list``, ...: the type as a learner would import it."""
    kind = type(value)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"


def _require_float_tensor(value: object, name: str, *, images: bool = False) -> None:
    """``TypeError`` naming the fix unless ``value`` is a floating-point ``torch.Tensor``.

    Costs no host synchronisation (it reads only the type and dtype).
    """
    if not isinstance(value, torch.Tensor):
        scale = " and divide 0-255 pixels by 255" if images else ""
        raise TypeError(f"{name} must be a torch.Tensor; got {_type_name(value)}. Convert it with "
                        f"torch.as_tensor({name}, dtype=torch.float32){scale}.")
    if not value.is_floating_point():
        fix = (f"{name}.float() / 255 for 0-255 pixels, or {name}.float() for 0/1 or bool pixels"
               if images else f"{name}.float()")
        raise TypeError(f"{name} must be a floating-point tensor; got {value.dtype}. Convert it "
                        f"with {fix}.")


def _same_device(**tensors: torch.Tensor) -> None:
    """``RuntimeError`` naming the fix unless all tensors sit on one device."""
    devices = {name: t.device for name, t in tensors.items()}
    if len(set(devices.values())) > 1:
        where = ", ".join(f"{name} on {d}" for name, d in devices.items())
        raise RuntimeError(f"tensors must be on one device; got {where}. Move them with "
                           ".to(device) first.")


def _check_number(value: object, name: str, *, positive: bool = False) -> float:
    """A finite real number (>= 0, or > 0 with ``positive``) as a float; ``ValueError``
    (``TypeError`` for a non-number) naming what was wrong otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float | torch.Tensor) or (
            isinstance(value, torch.Tensor) and value.numel() != 1):
        try:
            import numpy as np  # numpy scalars are numbers too
            ok = isinstance(value, np.integer | np.floating)
        except ImportError:  # pragma: no cover - numpy is a dependency
            ok = False
        if not ok:
            raise TypeError(f"{name} must be a number; got {_type_name(value)} {value!r}.")
    number = float(value)
    if not math.isfinite(number) or number < 0 or (positive and number == 0):
        need = "> 0" if positive else ">= 0"
        raise ValueError(f"{name} must be a finite number {need}; got {number!r}.")
    return number


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
    _require_float_tensor(mu, "mu")
    _require_float_tensor(logvar, "logvar")
    _same_device(mu=mu, logvar=logvar)
    if mu.shape != logvar.shape or mu.dim() != 2:
        raise ValueError(f"mu and logvar must both have shape (B, D); got {tuple(mu.shape)} "
                         f"and {tuple(logvar.shape)}.")
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
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor; got {_type_name(x)}. Convert them "
                        "with torch.as_tensor(x, dtype=torch.float32).")
    if x.numel() == 0:
        return
    lo, hi = float(x.min()), float(x.max())
    if math.isnan(lo) or math.isnan(hi):
        raise ValueError(f"{name} must lie in [0, 1]; they contain NaN. Find where the NaN "
                         "came from (e.g. a division by zero while preprocessing) and fix it "
                         "there; torch.isnan(x).nonzero() lists them.")
    if not (0.0 <= lo and hi <= 1.0):
        hint = " Did you apply transforms.Normalize?" if lo < 0 else ""
        hint = hint or (" Did you forget to divide 0-255 pixels by 255?" if hi > 1 else "")
        raise ValueError(f"{name} must lie in [0, 1]; got min {lo:.3g}, max {hi:.3g}.{hint}")


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
    _require_float_tensor(logits, "logits")
    _require_float_tensor(x, "x", images=True)
    _same_device(logits=logits, x=x)
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
        float ``(B,)`` in nats (empty for an empty batch).

    Raises:
        TypeError: ``x_mean`` or ``x`` is not a floating-point ``torch.Tensor``, or
            ``sigma`` is not a number.
        ValueError: shapes differ, or ``sigma`` is not a finite number > 0.
        RuntimeError: they are on different devices.
    """
    _require_float_tensor(x_mean, "x_mean")
    _require_float_tensor(x, "x", images=True)
    _same_device(x_mean=x_mean, x=x)
    _same_shape(x_mean, x, "x_mean")
    _check_number(sigma, "sigma (the pixel standard deviation)", positive=True)
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
        TypeError: an input is not a floating-point ``torch.Tensor`` (a NumPy array, an
            integer tensor), or ``beta``/``sigma`` is not a number.
        ValueError: targets outside ``[0, 1]`` or NaN, mismatched shapes, an empty batch
            (the batch mean of nothing is undefined), ``beta`` negative, NaN or infinite,
            ``sigma`` not > 0, or an unknown ``likelihood``.
        RuntimeError: the tensors are on different devices.
    """
    for name, value in (("logits", logits), ("x", x), ("mu", mu), ("logvar", logvar)):
        _require_float_tensor(value, name, images=name == "x")
    _same_device(logits=logits, x=x, mu=mu, logvar=logvar)
    if not isinstance(beta, torch.Tensor) or beta.numel() == 1:
        _check_number(beta, "beta (the weight of the KL term)")
    if likelihood not in ("bernoulli", "gaussian"):
        raise ValueError(f"likelihood must be 'bernoulli' or 'gaussian'; got {likelihood!r}.")
    if x.dim() == 0 or x.shape[0] == 0:
        raise ValueError(f"elbo_loss needs a batch of at least one image; got x of shape "
                         f"{tuple(x.shape)}. The loss is a mean over the batch, which is "
                         "undefined (NaN) for an empty one: check how the batch was sliced.")
    if mu.dim() == 0 or mu.shape[0] != x.shape[0]:
        raise ValueError(f"mu has shape {tuple(mu.shape)} but x has {x.shape[0]} images: mu "
                         "and logvar need one row per image, (B, D).")
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
