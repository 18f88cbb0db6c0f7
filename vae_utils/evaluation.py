"""Measuring a VAE: the importance-weighted bound on ``log p(x)``, and active units.

The ELBO is a lower bound on ``log p(x)`` that is loose by ``KL(q(z|x) || p(z|x))``.
Drawing ``k`` codes from ``q(z|x)`` and averaging their importance weights inside the
log gives a tighter bound (Burda, Grosse and Salakhutdinov 2016, "Importance Weighted
Autoencoders", Eq. 8 and Theorem 1):

    L_k(x) = E[ log (1/k) sum_{i=1..k} p(x|z_i) p(z_i) / q(z_i|x) ],  z_i ~ q(z|x),

with ``L_1 = ELBO <= L_k <= L_{k+1} <= log p(x)`` and ``L_k -> log p(x)`` as ``k`` grows
(when the weights are bounded). With ``k = 5000`` it is the usual estimate of a VAE's
test log-likelihood.

How :func:`iwae_bound` stays fast and small: the ``(image, code)`` pairs of many images
and many codes go through the decoder together, in chunks of a few thousand rows (the
decoder's output for one chunk stays in the CPU's cache; on a GPU the chunks are as
large as ``max_bytes`` allows); the chunks' log-weights are combined with a running
``logaddexp``, so memory is bounded whatever ``k``, and there is no Python loop over
codes. ``benchmarks/benchmark_iwae.py`` measures the speed against the machine's
matrix-product peak.
"""

from __future__ import annotations

import math
import numbers
from typing import Literal, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ActiveUnits", "active_units", "iwae_bound", "log_importance_weights"]

_LOG_2PI = math.log(2.0 * math.pi)
# (image, code) pairs per decoder call on a CPU: 2,048 rows of 784 float32 logits are
# 6.4 MB, which stays in cache between the matrix product and the likelihood; larger
# chunks ran slower, smaller ones pay more Python overhead (benchmarks/README.md).
_CPU_CHUNK_ROWS = 2048
_BYTES_PER_VALUE_PER_ROW = 4  # logits plus up to three temporaries of the same size


def _check_positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}.")
    return int(value)


def _check_model(model: object) -> bool:
    """Whether ``model`` is conditional; ``TypeError`` unless it can encode and decode."""
    if not (isinstance(model, nn.Module) and callable(getattr(model, "encode", None))
            and callable(getattr(model, "decode", None))):
        raise TypeError(f"model must be a VAE (an nn.Module with encode(x) -> (mu, logvar) and "
                        f"decode(z) -> logits), such as vae_utils.VAE; got "
                        f"{type(model).__name__}.")
    if next(model.parameters(), None) is None:
        raise TypeError("model has no parameters, so its device and dtype are unknown; pass a "
                        "VAE such as vae_utils.VAE.")
    return bool(getattr(model, "conditional", False))


def _check_images(x: object, name: str = "x") -> None:
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"{name} must be a float tensor of images in [0, 1]; got "
                        f"{getattr(x, 'dtype', type(x).__name__)}. Use data.x_test from "
                        "vu.load_mnist(), or x.float() / 255 for 0-255 pixels.")
    if x.dim() != 4 or tuple(x.shape[1:]) != (1, 28, 28) or len(x) == 0:
        raise ValueError(f"{name} must have shape (N, 1, 28, 28) with N >= 1; got "
                         f"{tuple(x.shape)}. Add a batch dimension with x.unsqueeze(0) for "
                         "one image.")
    lo, hi = float(x.min()), float(x.max())
    if math.isnan(lo) or math.isnan(hi):
        raise ValueError(f"{name} contains NaN; torch.isnan({name}).nonzero() lists where.")
    if not (0.0 <= lo and hi <= 1.0):
        hint = " Did you apply transforms.Normalize?" if lo < 0 else (
            " Did you forget to divide 0-255 pixels by 255?" if hi > 1 else "")
        raise ValueError(f"{name} must lie in [0, 1]; got min {lo:.3g}, max {hi:.3g}.{hint}")


def _check_labels(y: object, n: int, conditional: bool) -> None:
    if not conditional:
        if y is not None:
            raise ValueError("this model is not conditioned on labels: leave y out (y=None).")
        return
    if y is None:
        raise ValueError("this model is conditioned on the label: pass y= (int64 labels, one "
                         "per image, e.g. data.y_test).")
    if not isinstance(y, torch.Tensor) or y.is_floating_point() or y.dtype == torch.bool:
        raise TypeError(f"y must be an int64 tensor of labels; got "
                        f"{getattr(y, 'dtype', type(y).__name__)}.")
    if tuple(y.shape) != (n,):
        raise ValueError(f"y must have shape ({n},), one label per image; got {tuple(y.shape)}.")


def _check_likelihood(likelihood: object, sigma: object) -> float:
    if likelihood not in ("bernoulli", "gaussian"):
        raise ValueError(f"likelihood must be 'bernoulli' or 'gaussian' (the one the model was "
                         f"trained with); got {likelihood!r}.")
    if isinstance(sigma, bool) or not isinstance(sigma, numbers.Real):
        raise TypeError(f"sigma must be a number; got {type(sigma).__name__}.")
    if not (math.isfinite(float(sigma)) and float(sigma) > 0):
        raise ValueError(f"sigma (the pixel standard deviation) must be a finite number > 0; "
                         f"got {sigma!r}.")
    return float(sigma)


def _log_weights(model: nn.Module, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
                 s: int, y: torch.Tensor | None, likelihood: str, sigma: float,
                 generator: torch.Generator | None) -> torch.Tensor:
    """``log p(x|z) + log p(z) - log q(z|x)`` of ``s`` fresh codes for each of ``b`` images.

    ``x`` ``(b, P)``, ``mu`` and ``logvar`` ``(b, D)`` -> ``(b, s)`` in nats. The ``b * s``
    codes are decoded in one call (image-major: the codes of image 0, then image 1, ...).
    """
    b, d = mu.shape
    eps = torch.randn((b, s, d), generator=generator, dtype=mu.dtype, device=mu.device)
    z = torch.addcmul(mu.unsqueeze(1), torch.exp(0.5 * logvar).unsqueeze(1), eps)  # (b, s, D)
    flat = z.reshape(b * s, d)  # (b*s, D)
    logits = model.decode(flat, y.repeat_interleave(s)) if y is not None else model.decode(flat)
    logits = logits.reshape(b, s, -1)  # (b*s, 1, 28, 28) -> (b, s, P)
    if likelihood == "bernoulli":
        # log Bern(x; sigmoid(l)) = x * l - softplus(l), summed over the P pixels; the x * l
        # sum of every code of an image is one batched matrix-vector product.
        log_px = torch.bmm(logits, x.unsqueeze(-1)).squeeze(-1) - F.softplus(logits).sum(-1)
    else:
        sq = (x.unsqueeze(1) - torch.sigmoid(logits)).square().sum(-1)  # (b, s)
        log_px = -sq / (2.0 * sigma**2) - x.shape[1] * (math.log(sigma) + 0.5 * _LOG_2PI)
    # log N(z; 0, I) - log N(z; mu, sigma^2) = sum_d [eps^2 - z^2 + logvar] / 2 (2 pi cancels)
    log_pz_minus_log_qz = 0.5 * ((eps.square() - z.square()).sum(-1) + logvar.sum(-1, keepdim=True))
    return log_px + log_pz_minus_log_qz  # (b, s)


def _encode(model: nn.Module, x: torch.Tensor, y: torch.Tensor | None
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(mu, logvar)`` of ``q(z|x)``, each ``(b, D)``; ``TypeError`` if the model's
    ``encode`` gives anything else (an autoencoder's single code, say)."""
    out = model.encode(x, y) if y is not None else model.encode(x)
    if not (isinstance(out, tuple | list) and len(out) == 2
            and all(isinstance(t, torch.Tensor) and t.dim() == 2 for t in out)):
        raise TypeError(f"model must be a VAE whose encode(x) returns (mu, logvar), each (B, D); "
                        f"{type(model).__name__}.encode returned "
                        f"{type(out).__name__}. An Autoencoder has no q(z|x) and no likelihood "
                        "bound: use vu.evaluate for its reconstruction error.")
    return out[0], out[1]


def _model_device_dtype(model: nn.Module) -> tuple[torch.device, torch.dtype]:
    p = next(model.parameters())
    return p.device, p.dtype


@torch.no_grad()
def log_importance_weights(model: nn.Module, x: torch.Tensor, k: int, *,
                           y: torch.Tensor | None = None,
                           likelihood: Literal["bernoulli", "gaussian"] = "bernoulli",
                           sigma: float = 1.0,
                           generator: torch.Generator | None = None) -> torch.Tensor:
    """``log w_i = log p(x|z_i) + log p(z_i) - log q(z_i|x)`` for ``k`` codes per image.

    The terms inside Burda et al. 2016, Eq. 8: ``z_i ~ q(z|x)`` drawn with the
    reparameterisation ``z = mu + sigma * eps``, ``p(z) = N(0, I)``. One batch, no
    chunking: it holds ``N * k`` decoder outputs at once (use :func:`iwae_bound` for many
    images or a large ``k``). Runs the model in whatever mode it is in.

    Args:
        model: a VAE (``encode``/``decode``); a conditional one (``model.conditional``)
            needs ``y``.
        x: images ``(N, 1, 28, 28)`` in ``[0, 1]``.
        k: codes per image, >= 1.
        y: int64 labels ``(N,)`` for a conditional model.
        likelihood, sigma: the decoder's likelihood, as in
            :func:`vae_utils.losses.elbo_loss`.
        generator: optional ``torch.Generator`` on the model's device.

    Returns:
        ``(N, k)`` in nats, on the model's device, in the model's dtype: row ``n`` holds
        the ``k`` log-weights of image ``n``.

    Raises:
        TypeError, ValueError: as :func:`iwae_bound`.
    """
    conditional = _check_model(model)
    k = _check_positive_int(k, "k")
    _check_images(x)
    _check_labels(y, len(x), conditional)
    sigma = _check_likelihood(likelihood, sigma)
    device, dtype = _model_device_dtype(model)
    xb = x.to(device, dtype)
    yb = y.to(device) if y is not None else None
    mu, logvar = _encode(model, xb, yb)  # (N, D) each
    return _log_weights(model, xb.flatten(1), mu, logvar, k, yb, likelihood, sigma, generator)


@torch.no_grad()
def iwae_bound(model: nn.Module, x: torch.Tensor, k: int, *, y: torch.Tensor | None = None,
               likelihood: Literal["bernoulli", "gaussian"] = "bernoulli", sigma: float = 1.0,
               max_bytes: int = 256 * 2**20, chunk_size: int | None = None,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """The importance-weighted lower bound ``L_k`` on ``log p(x)`` of every image, in nats.

    ``L_k(x) = log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x)`` with ``z_i ~ q(z|x)`` (Burda,
    Grosse and Salakhutdinov 2016, "Importance Weighted Autoencoders", Eq. 8): one draw
    of the ``k`` codes per image, computed in log space with ``logsumexp`` (never
    ``exp`` of a log-weight, which underflows to 0 for an MNIST image's -100 nats).
    ``k = 1`` is a one-sample ELBO: its mean over images is minus
    :func:`vae_utils.train.evaluate`'s loss in expectation. Each value is a random
    lower bound: ``E[L_k] <= E[L_{k+1}] <= log p(x)``, and ``L_k -> log p(x)`` as ``k``
    grows (Burda et al. 2016, Theorem 1).

    The ``N * k`` pairs (image, code) go through the decoder in chunks of ``chunk_size``
    rows: all ``k`` codes of several images at once when ``k`` is small, a slice of one
    image's codes when ``k`` is large. Chunks are combined with a running ``logaddexp``,
    so the memory used is bounded (about ``4 * chunk_size * 784`` floats) whatever
    ``k``. Runs in evaluation mode on the model's device and restores the model's mode.

    Args:
        model: a VAE (``encode(x) -> (mu, logvar)``, ``decode(z) -> logits``) with a
            diagonal Gaussian ``q(z|x)`` and the prior ``N(0, I)``; a conditional model
            (``model.conditional``) needs ``y``.
        x: images ``(N, 1, 28, 28)`` in ``[0, 1]``, on any device (moved chunk by chunk).
            Binarise them (``vu.load_mnist(binarize="dynamic")``'s test set) for numbers
            that compare with the literature's.
        k: importance samples per image, >= 1.
        y: int64 labels ``(N,)`` for a conditional model, else ``None``.
        likelihood, sigma: the decoder's likelihood, as in training
            (:func:`vae_utils.losses.elbo_loss`): ``"bernoulli"`` or ``"gaussian"`` with
            pixel standard deviation ``sigma``.
        max_bytes: upper bound on the memory of one chunk (decoder output and its
            temporaries, counted as 4 values per pixel per row); default 256 MiB.
        chunk_size: (image, code) rows per decoder call; default 2,048 on a CPU (fast:
            the chunk stays in cache), on other devices as many as ``max_bytes`` allows.
            Never more than ``max_bytes`` allows.
        generator: optional ``torch.Generator`` on the model's device, for reproducible
            draws (the draws depend on the chunking, the distribution does not).

    Returns:
        ``(N,)`` on the CPU, in the model's dtype (float32 for the course's models):
        ``L_k`` of each image in nats (negative; ``-L_k`` is an upper bound on the
        negative log-likelihood, in expectation).

    Raises:
        TypeError: ``model`` is not a VAE, ``x`` is not a float tensor, ``y`` is not an
            integer tensor, ``sigma`` is not a number.
        ValueError: ``k``, ``max_bytes`` or ``chunk_size`` not a positive integer,
            ``max_bytes`` too small for one row, ``x`` not ``(N, 1, 28, 28)`` in
            ``[0, 1]`` (or NaN), labels missing, of the wrong shape or given to an
            unconditional model, unknown ``likelihood`` or ``sigma <= 0``.
    """
    conditional = _check_model(model)
    k = _check_positive_int(k, "k")
    max_bytes = _check_positive_int(max_bytes, "max_bytes")
    if chunk_size is not None:
        chunk_size = _check_positive_int(chunk_size, "chunk_size")
    _check_images(x)
    _check_labels(y, len(x), conditional)
    sigma = _check_likelihood(likelihood, sigma)
    device, dtype = _model_device_dtype(model)

    n_pixels = x[0].numel()
    row_bytes = _BYTES_PER_VALUE_PER_ROW * n_pixels * torch.finfo(dtype).bits // 8
    allowed = max_bytes // row_bytes
    if allowed < 1:
        raise ValueError(f"max_bytes={max_bytes} is less than one row needs ({row_bytes} bytes "
                         f"for {n_pixels} pixels); raise it.")
    if chunk_size is None:
        chunk_size = _CPU_CHUNK_ROWS if device.type == "cpu" else allowed
    rows = min(chunk_size, allowed)
    images = max(1, min(len(x), rows // k))  # images per chunk
    codes = max(1, min(k, rows // images))  # codes per image per chunk

    was_training = model.training
    model.eval()
    out = torch.empty(len(x), dtype=dtype)
    log_k = math.log(k)
    try:
        for i in range(0, len(x), images):
            xb = x[i:i + images].to(device, dtype)
            yb = y[i:i + images].to(device) if conditional else None
            mu, logvar = _encode(model, xb, yb)  # (b, D) each
            x_flat = xb.flatten(1)  # (b, P)
            total = None
            for done in range(0, k, codes):
                log_w = _log_weights(model, x_flat, mu, logvar, min(codes, k - done), yb,
                                     likelihood, sigma, generator)  # (b, s)
                part = torch.logsumexp(log_w, dim=1)  # (b,)
                total = part if total is None else torch.logaddexp(total, part)
            out[i:i + len(xb)] = (total - log_k).cpu()
    finally:
        model.train(was_training)
    return out


class ActiveUnits(NamedTuple):
    """What :func:`active_units` returns.

    Attributes:
        variance: float ``(D,)``: the variance over the images of each dimension's
            posterior mean ``E_q[z_u] = mu_u(x)``.
        active: bool ``(D,)``: ``variance > threshold``.
        count: the number of active units, an ``int``.
    """

    variance: torch.Tensor
    active: torch.Tensor
    count: int


@torch.no_grad()
def active_units(model: nn.Module, x: torch.Tensor, *, y: torch.Tensor | None = None,
                 threshold: float = 0.01, batch_size: int = 1000) -> ActiveUnits:
    """The latent dimensions the encoder uses: Burda et al. 2016's active units.

    Burda, Grosse and Salakhutdinov 2016, "Importance Weighted Autoencoders", Section
    5.2: unit ``u`` is active when ``A_u = Cov_x(E_{q(z|x)}[z_u]) > 10^-2``, the variance
    over the data of its posterior mean. An inactive unit's ``q(z_u|x)`` is (nearly)
    the same for every image, so it carries no information about ``x``: the posterior
    has collapsed in that dimension.

    Args:
        model: a VAE (``encode``); a conditional one needs ``y``.
        x: images ``(N, 1, 28, 28)`` in ``[0, 1]``, ``N >= 2``.
        y: int64 labels ``(N,)`` for a conditional model.
        threshold: the activity threshold (Burda et al. use 0.01).
        batch_size: images per encoder call.

    Returns:
        :class:`ActiveUnits` ``(variance, active, count)``, tensors on the CPU. The
        variance is the population variance (divided by ``N``).

    Raises:
        TypeError, ValueError: as :func:`iwae_bound`; also fewer than two images, or a
            negative ``threshold``.
    """
    conditional = _check_model(model)
    _check_images(x)
    _check_labels(y, len(x), conditional)
    batch_size = _check_positive_int(batch_size, "batch_size")
    if len(x) < 2:
        raise ValueError("active_units needs at least two images: it measures a variance over x.")
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) or threshold < 0:
        raise ValueError(f"threshold must be a number >= 0; got {threshold!r}.")
    device, dtype = _model_device_dtype(model)
    was_training = model.training
    model.eval()
    try:
        means = []
        for i in range(0, len(x), batch_size):
            xb = x[i:i + batch_size].to(device, dtype)
            mu, _ = _encode(model, xb, y[i:i + batch_size].to(device) if conditional else None)
            means.append(mu.double().cpu())
    finally:
        model.train(was_training)
    variance = torch.cat(means).var(dim=0, correction=0).to(dtype)
    active = variance > threshold
    return ActiveUnits(variance, active, int(active.sum()))
