"""Measuring a VAE: the importance-weighted bound on ``log p(x)``, in nats.

The ELBO is a lower bound on ``log p(x)`` that is loose by ``KL(q(z|x) || p(z|x))``.
Drawing ``k`` codes from ``q(z|x)`` and averaging their importance weights inside the
log gives a tighter bound (Burda, Grosse and Salakhutdinov 2016, "Importance Weighted
Autoencoders", Eq. 8 and Theorem 1):

    L_k(x) = E[ log (1/k) sum_{i=1..k} p(x|z_i) p(z_i) / q(z_i|x) ],  z_i ~ q(z|x),

with ``L_1 = ELBO <= L_k <= L_{k+1} <= log p(x)`` and ``L_k -> log p(x)`` as ``k`` grows
(when the weights are bounded). With ``k = 5000`` it is the usual estimate of a VAE's
test log-likelihood.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["iwae_bound", "log_importance_weights"]

_LOG_2PI = math.log(2.0 * math.pi)


def log_importance_weights(model: nn.Module, x: torch.Tensor, k: int, *,
                           y: torch.Tensor | None = None,
                           likelihood: Literal["bernoulli", "gaussian"] = "bernoulli",
                           sigma: float = 1.0,
                           generator: torch.Generator | None = None) -> torch.Tensor:
    """``log w_i = log p(x|z_i) + log p(z_i) - log q(z_i|x)`` for ``k`` codes per image.

    One batch, no chunking (use :func:`iwae_bound` for many images or large ``k``).

    Args:
        model: a VAE (``encode``, ``decode``, ``latent_dim``); a conditional one
            (``model.conditional``) needs ``y``.
        x: images ``(B, 1, 28, 28)`` in ``[0, 1]``, on the model's device.
        k: codes per image.
        y: int64 labels ``(B,)`` for a conditional model.
        likelihood, sigma: the decoder's likelihood, as in
            :func:`vae_utils.losses.elbo_loss`.
        generator: optional ``torch.Generator`` (on the model's device).

    Returns:
        float ``(k, B)`` in nats.
    """
    conditional = bool(getattr(model, "conditional", False))
    mu, logvar = model.encode(x, y) if conditional else model.encode(x)  # (B, D) each
    std = torch.exp(0.5 * logvar)
    eps = torch.randn((k, *mu.shape), generator=generator, dtype=mu.dtype, device=mu.device)
    z = mu + std * eps  # (k, B, D)
    flat = z.reshape(-1, z.shape[-1])  # (k*B, D)
    if conditional:
        logits = model.decode(flat, y.repeat(k))
    else:
        logits = model.decode(flat)
    logits = logits.reshape(k, len(x), -1)  # (k, B, 784)
    target = x.reshape(1, len(x), -1)  # (1, B, 784), broadcast over the k codes
    if likelihood == "bernoulli":
        # log Bern(x; sigmoid(l)) = x * l - softplus(l), summed over pixels
        log_px = (target * logits - F.softplus(logits)).sum(-1)  # (k, B)
    elif likelihood == "gaussian":
        n = logits.shape[-1]
        sq = (target - torch.sigmoid(logits)).pow(2).sum(-1)
        log_px = -sq / (2.0 * sigma**2) - n * (math.log(sigma) + 0.5 * _LOG_2PI)
    else:
        raise ValueError(f"likelihood must be 'bernoulli' or 'gaussian'; got {likelihood!r}.")
    log_pz = (-0.5 * z.pow(2) - 0.5 * _LOG_2PI).sum(-1)  # (k, B): N(0, I)
    log_qz = (-0.5 * eps.pow(2) - 0.5 * logvar - 0.5 * _LOG_2PI).sum(-1)  # (k, B): N(mu, std^2)
    return log_px + log_pz - log_qz


@torch.no_grad()
def iwae_bound(model: nn.Module, x: torch.Tensor, k: int, *, y: torch.Tensor | None = None,
               batch_size: int = 100, max_bytes: int = 256 * 2**20,
               likelihood: Literal["bernoulli", "gaussian"] = "bernoulli", sigma: float = 1.0,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """The importance-weighted lower bound ``L_k`` on ``log p(x)`` of every image, in nats.

    ``L_k(x) = log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x)`` with ``z_i ~ q(z|x)`` (Burda,
    Grosse and Salakhutdinov 2016, "Importance Weighted Autoencoders", Eq. 8), one
    draw of the ``k`` codes per image, computed with ``logsumexp``. ``k = 1`` is a
    one-sample ELBO (its mean over images is minus :func:`vae_utils.train.evaluate`'s
    loss, in expectation); ``L_k`` rises with ``k`` towards ``log p(x)``.

    Images go through in chunks of ``batch_size`` and codes in chunks small enough that
    the decoder's output for one chunk stays under ``max_bytes``; the chunks' weights
    are combined with a running ``logaddexp``, so memory stays bounded whatever ``k``.
    Runs in evaluation mode on the model's device and restores the model's mode.

    Args:
        model: a VAE (``encode``/``decode``); conditional models need ``y``.
        x: images ``(N, 1, 28, 28)`` in ``[0, 1]`` (binarised for a Bernoulli decoder
            whose numbers are to be compared with the literature).
        k: importance samples per image, >= 1.
        y: int64 labels ``(N,)`` for a conditional model.
        batch_size: images per chunk.
        max_bytes: bound on the size of one chunk's decoder output.
        likelihood, sigma: the decoder's likelihood, as in training.
        generator: optional ``torch.Generator`` on the model's device.

    Returns:
        float32 ``(N,)`` on the CPU: ``L_k`` of each image in nats (negative; minus it
        is an upper bound on the negative log-likelihood).

    Raises:
        TypeError: ``x`` is not a float tensor.
        ValueError: ``k`` or ``batch_size`` not a positive integer, ``x`` not
            ``(N, 1, 28, 28)`` in ``[0, 1]``, or labels missing for a conditional model.
    """
    for name, value in (("k", k), ("batch_size", batch_size), ("max_bytes", max_bytes)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}.")
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"x must be a float tensor of images in [0, 1]; got "
                        f"{getattr(x, 'dtype', type(x).__name__)}.")
    if x.dim() != 4 or tuple(x.shape[1:]) != (1, 28, 28) or len(x) == 0:
        raise ValueError(f"x must have shape (N, 1, 28, 28) with N >= 1; got {tuple(x.shape)}.")
    lo, hi = float(x.min()), float(x.max())
    if not (0.0 <= lo and hi <= 1.0):
        raise ValueError(f"x must lie in [0, 1]; got min {lo:.3g}, max {hi:.3g}.")
    conditional = bool(getattr(model, "conditional", False))
    if conditional and y is None:
        raise ValueError("this model is conditioned on the label: pass y= (int64, one per image).")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    n_pixels = x[0].numel()
    out = torch.empty(len(x), dtype=torch.float32)
    try:
        for i in range(0, len(x), batch_size):
            xb = x[i:i + batch_size].to(device)
            yb = y[i:i + batch_size].to(device) if conditional else None
            # one chunk of codes: logits and two temporaries of (chunk, B, 784) floats
            chunk = max(1, min(k, max_bytes // (3 * 4 * n_pixels * len(xb))))
            total = torch.full((len(xb),), -math.inf, device=device)
            done = 0
            while done < k:
                s = min(chunk, k - done)
                log_w = log_importance_weights(model, xb, s, y=yb, likelihood=likelihood,
                                               sigma=sigma, generator=generator)
                total = torch.logaddexp(total, torch.logsumexp(log_w, dim=0))
                done += s
            out[i:i + len(xb)] = (total - math.log(k)).float().cpu()
    finally:
        model.train(was_training)
    return out
