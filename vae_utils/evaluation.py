"""Measuring a VAE: the importance-weighted bound on ``log p(x)``, active units and the KL
of each latent dimension.

The ELBO is a lower bound on ``log p(x)`` that is loose by ``KL(q(z|x) || p(z|x))``.
Drawing ``k`` codes from ``q(z|x)`` and averaging their importance weights inside the
log gives a tighter bound (Burda, Grosse and Salakhutdinov 2016, "Importance Weighted
Autoencoders", Eq. 8 and Theorem 1):

    L_k(x) = E[ log (1/k) sum_{i=1..k} p(x|z_i) p(z_i) / q(z_i|x) ],  z_i ~ q(z|x),

with ``L_1 = ELBO <= L_k <= L_{k+1} <= log p(x)`` and ``L_k -> log p(x)`` as ``k`` grows
(when the weights are bounded). With ``k = 5000`` it is the usual estimate of a VAE's
test log-likelihood.

Every function here is generic over the models: the importance log-weights come from the
model's own :meth:`~vae_utils.models.GaussianVAE.log_weights`, which decodes the
``(image, code)`` pairs of many images and many codes together, in chunks of a few
thousand rows (the decoder's output for one chunk stays in the CPU's cache; on a GPU the
chunks are as large as ``max_bytes`` allows); :func:`iwae_bound` combines the chunks with
a running ``logaddexp``, so memory is bounded whatever ``k``, and there is no Python loop
over codes. ``benchmarks/benchmark_iwae.py`` measures the speed against the machine's
matrix-product peak.
"""

from __future__ import annotations

import math
from typing import Literal, NamedTuple

import torch

from . import _checks
from .models import CHUNK_ROWS, GaussianVAE, _Model

__all__ = ["PUBLISHED_MNIST_NLL", "ActiveUnits", "active_units", "iwae_bound", "kl_per_dimension",
           "log_importance_weights", "require_vae"]


#: Published test negative log-likelihoods of one-stochastic-layer VAEs on binarised MNIST,
#: the numbers this course sets its own beside (notebooks 06 and 10): ``(source, model and
#: training, nats per image)``, each ``-L_5000`` on the 10,000 test digits. Burda, Grosse and
#: Salakhutdinov (2016), "Importance Weighted Autoencoders", ICLR, Table 1; and the nbip/IWAE
#: reproduction (README at commit 3a5e38b).
PUBLISHED_MNIST_NLL: tuple[tuple[str, str, float], ...] = (
    ("Burda, Grosse and Salakhutdinov (2016), Table 1, MNIST, VAE column, 1 stochastic layer, k = 1",
     "784-200-200-50 tanh VAE; 3,280 passes, batch 20", 86.76),
    ("Burda et al. (2016), Table 1, MNIST, IWAE column, 1 stochastic layer, k = 50",
     "the same network, trained on L_50 instead of the ELBO", 84.78),
    ("nbip/IWAE on GitHub (TensorFlow 2), README at commit 3a5e38b, 1 stochastic layer VAE, k = 1",
     "Burda et al.'s VAE and schedule, reimplemented", 86.35),
)

_BYTES_PER_VALUE_PER_ROW = 4  # logits plus up to three temporaries of the same size


def require_vae(model: object) -> GaussianVAE:
    """``model`` if it is a VAE of the course (a :class:`~vae_utils.models.GaussianVAE`),
    else ``TypeError`` naming the fix: an autoencoder has no ``q(z|x)``, and a VAE of
    one's own becomes one by subclassing ``GaussianVAE`` with its ``encode`` and
    ``decode``."""
    if not isinstance(model, GaussianVAE):
        extra = (" An Autoencoder has no q(z|x), so it has no KL, ELBO or likelihood bound: "
                 "train a vu.VAE for those, and use vu.evaluate for the autoencoder's "
                 "reconstruction error." if isinstance(model, _Model) else
                 " A VAE of your own works once it subclasses vu.GaussianVAE and defines "
                 "encode(x, y=None) -> (mu, logvar) and decode(z, y=None) -> logits.")
        raise TypeError(f"model must be a VAE (vu.VAE, vu.ConvVAE, vu.ConditionalVAE or another "
                        f"vu.GaussianVAE); got {_checks.type_name(model)}.{extra}")
    _checks.device_dtype(model)
    return model


def _check_inputs(model: object, x: object, y: object, likelihood: object,
                  sigma: object) -> float:
    """The checks shared by the public functions here; returns ``sigma`` as a float."""
    require_vae(model)
    _checks.images(x)
    _checks.labels(y, len(x), model.num_classes)
    return _checks.likelihood(likelihood, sigma)


@torch.no_grad()
def log_importance_weights(model: GaussianVAE, x: torch.Tensor, k: int, *,
                           y: torch.Tensor | None = None,
                           likelihood: Literal["bernoulli", "gaussian"] = "bernoulli",
                           sigma: float = 1.0,
                           generator: torch.Generator | None = None) -> torch.Tensor:
    """``log w_i = log p(x|z_i) + log p(z_i) - log q(z_i|x)`` for ``k`` codes per image.

    The terms inside Burda et al. 2016, Eq. 8: ``z_i ~ q(z|x)`` drawn with the
    reparameterisation ``z = mu + sigma * eps``, ``p(z) = N(0, I)``, computed by the
    model's :meth:`~vae_utils.models.GaussianVAE.log_weights` and returned whole: it holds
    ``N * k`` log-weights at once (use :func:`iwae_bound` for many images or a large
    ``k``). Runs the model in whatever mode it is in.

    Args:
        model: a VAE; a conditional one needs ``y``.
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
    sigma = _check_inputs(model, x, y, likelihood, sigma)
    k = _checks.positive_int(k, "k")
    device, dtype = _checks.device_dtype(model)
    _checks.generator(generator, device)
    yb = y.to(device) if y is not None else None
    chunks = model.log_weights(x.to(device, dtype), k, yb, likelihood=likelihood, sigma=sigma,
                               generator=generator, max_rows=len(x) * k)
    return torch.cat([c.log_px + c.log_pz_minus_log_qz for c in chunks], dim=1)  # (N, k)


@torch.no_grad()
def iwae_bound(model: GaussianVAE, x: torch.Tensor, k: int, *, y: torch.Tensor | None = None,
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
    rows (the model's :meth:`~vae_utils.models.GaussianVAE.log_weights`): all ``k`` codes
    of several images at once when ``k`` is small, a slice of one image's codes when
    ``k`` is large. Chunks are combined with a running ``logaddexp``, so the memory used
    is bounded (about ``4 * chunk_size * 784`` floats) whatever ``k``. Runs in evaluation
    mode on the model's device and restores the model's mode.

    Args:
        model: a VAE (any :class:`~vae_utils.models.GaussianVAE`); a conditional one
            needs ``y``.
        x: images ``(N, 1, 28, 28)`` in ``[0, 1]``, on any device (moved chunk by chunk).
            Binarise them (``vu.load_mnist(binarize="dynamic")``'s test set) for numbers
            that compare with the literature's.
        k: importance samples per image, >= 1.
        y: int64 labels ``(N,)`` for a conditional model, else ``None``.
        likelihood, sigma: the decoder's likelihood, as in training
            (:func:`vae_utils.losses.elbo_loss`).
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
    sigma = _check_inputs(model, x, y, likelihood, sigma)
    k = _checks.positive_int(k, "k")
    max_bytes = _checks.positive_int(max_bytes, "max_bytes")
    if chunk_size is not None:
        chunk_size = _checks.positive_int(chunk_size, "chunk_size")
    device, dtype = _checks.device_dtype(model)
    _checks.generator(generator, device)
    row_bytes = _BYTES_PER_VALUE_PER_ROW * x[0].numel() * torch.finfo(dtype).bits // 8
    allowed = max_bytes // row_bytes
    if allowed < 1:
        raise ValueError(f"max_bytes={max_bytes} is less than one row needs ({row_bytes} bytes "
                         f"for {x[0].numel()} pixels); raise it.")
    rows = min(chunk_size or (CHUNK_ROWS if device.type == "cpu" else allowed), allowed)
    images = max(1, min(len(x), rows // k))  # images per chunk
    out = torch.empty(len(x), dtype=dtype)
    with _checks.eval_mode(model):
        for i in range(0, len(x), images):
            xb = x[i:i + images].to(device, dtype)
            yb = y[i:i + images].to(device) if y is not None else None
            total = None
            for c in model.log_weights(xb, k, yb, likelihood=likelihood, sigma=sigma,
                                       generator=generator, max_rows=rows):
                part = torch.logsumexp(c.log_px + c.log_pz_minus_log_qz, dim=1)  # (b,)
                total = part if total is None else torch.logaddexp(total, part)
            out[i:i + len(xb)] = (total - math.log(k)).cpu()
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
def active_units(model: GaussianVAE, x: torch.Tensor, *, y: torch.Tensor | None = None,
                 threshold: float = 0.01, batch_size: int = 1000) -> ActiveUnits:
    """The latent dimensions the encoder uses: Burda et al. 2016's active units.

    Burda, Grosse and Salakhutdinov 2016, "Importance Weighted Autoencoders", Section
    5.2: unit ``u`` is active when ``A_u = Cov_x(E_{q(z|x)}[z_u]) > 10^-2``, the variance
    over the data of its posterior mean. An inactive unit's ``q(z_u|x)`` is (nearly)
    the same for every image, so it carries no information about ``x``: the posterior
    has collapsed in that dimension. :func:`kl_per_dimension` measures the same collapse
    in nats.

    Args:
        model: a VAE; a conditional one needs ``y``.
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
    require_vae(model)
    _checks.images(x)
    _checks.labels(y, len(x), model.num_classes)
    batch_size = _checks.positive_int(batch_size, "batch_size")
    if len(x) < 2:
        raise ValueError("active_units needs at least two images: it measures a variance over x.")
    threshold = _checks.number(threshold, "threshold")
    device, dtype = _checks.device_dtype(model)
    means = []
    with _checks.eval_mode(model):
        for i in range(0, len(x), batch_size):
            yb = y[i:i + batch_size].to(device) if y is not None else None
            mu, _ = model.encode(x[i:i + batch_size].to(device, dtype), yb)
            means.append(mu.double().cpu())
    variance = torch.cat(means).var(dim=0, correction=0).to(dtype)
    active = variance > threshold
    return ActiveUnits(variance, active, int(active.sum()))


def kl_per_dimension(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Average KL(q(z_d|x) || N(0, 1)) of each latent dimension, in nats.

    ``0.5 * (mu_d^2 + exp(logvar_d) - 1 - logvar_d)`` averaged over the batch (Kingma and
    Welling 2014, Appendix B). Summed over ``d`` it is the batch mean of
    :func:`vae_utils.losses.kl_to_standard_normal`. A dimension with KL near 0 is unused
    ("inactive", Burda et al. 2016; see :func:`active_units`): the encoder ignores it and
    the decoder learns to.

    Args:
        mu, logvar: float ``(B, D)``.

    Returns:
        float ``(D,)``, nats per image.

    Raises:
        TypeError: ``mu`` or ``logvar`` is not a floating-point ``torch.Tensor``.
        ValueError: shapes differ or are not ``(B, D)``, or the batch is empty (its mean
            would be NaN).
    """
    _checks.gaussian_params(mu, logvar)
    if len(mu) == 0:
        raise ValueError("mu and logvar hold no examples (B = 0): the average over the batch "
                         "is undefined. Encode at least one image.")
    return (0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar)).mean(0)
