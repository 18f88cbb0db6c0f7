"""Anomaly scores of a trained VAE: one number per image, higher = more anomalous, in nats.

A VAE trained on digits gives every input three numbers that say how unlike the
training data it is:

* ``"kl"``: ``KL(q(z|x) || p(z))``, how far the encoder's code for ``x`` is from the
  prior (the closed form of Kingma and Welling 2014, Appendix B). Cheap (one encoder
  pass), but blind to the decoder: an input the encoder maps to an ordinary-looking
  code scores as ordinary however badly it is reconstructed.
* ``"recon"``: ``E_q[-log p(x|z)]``, the reconstruction term of the negative ELBO.
* ``"neg_elbo"``: ``recon + kl``, minus the ELBO (Kingma and Welling 2014, Eq. 3), an
  upper bound on ``-log p(x)``.
* ``"neg_iwae"``: minus the importance-weighted bound ``L_k`` of
  :func:`vae_utils.evaluation.iwae_bound` (Burda, Grosse and Salakhutdinov 2016,
  Eq. 8), a tighter upper bound on ``-log p(x)``.

The last two are likelihood scores: they inherit the known failure of likelihoods
for out-of-distribution detection, that simple inputs (mostly background) can be more
likely than the training data itself (Nalisnick et al. 2019, "Do Deep Generative Models
Know What They Don't Know?"). :func:`auroc` measures how well a score separates two
sets (scikit-learn's ``roc_auc_score``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch

from . import _checks
from .evaluation import iwae_bound, require_vae
from .losses import kl_to_standard_normal
from .models import GaussianVAE

__all__ = ["SCORES", "anomaly_scores", "auroc"]

#: The names :func:`anomaly_scores` knows, cheapest first.
SCORES = ("kl", "recon", "neg_elbo", "neg_iwae")
#: Images per block of pre-drawn noise: each block has its own seed, so the codes of an
#: image do not depend on how the images are batched.
_NOISE_BLOCK = 1024
#: At most this many decoded images per decoder pass (bounds memory: 16384 x 784 floats).
_MAX_ROWS = 16384


@torch.no_grad()
def anomaly_scores(model: GaussianVAE, x: torch.Tensor, score: str | Sequence[str] = "neg_elbo",
                   *, k: int = 64, y: torch.Tensor | None = None, batch_size: int = 500,
                   seed: int = 0, likelihood: Literal["bernoulli", "gaussian"] = "bernoulli",
                   sigma: float = 1.0) -> torch.Tensor | dict[str, torch.Tensor]:
    """One anomaly score per image, in nats; higher means more unlike the training data.

    ``score`` is one of :data:`SCORES` (or a sequence of them, computed in one pass):

    * ``"kl"``: ``KL(q(z|x) || N(0, I))`` in closed form from the encoder's ``mu`` and
      ``logvar`` (Kingma and Welling 2014, Appendix B); exactly
      :func:`vae_utils.losses.kl_to_standard_normal` of the encoder output.
    * ``"recon"``: ``E_q[-log p(x|z)]`` under the decoder's likelihood, the mean over
      ``k`` codes ``z = mu + sigma * eps`` drawn from ``q(z|x)`` (the model's
      :meth:`~vae_utils.models.GaussianVAE.log_weights`).
    * ``"neg_elbo"``: ``recon + kl``, minus the ELBO (Kingma and Welling 2014, Eq. 3),
      with the same ``k`` codes.
    * ``"neg_iwae"``: ``-L_k(x)``, minus :func:`vae_utils.evaluation.iwae_bound` with
      ``k`` importance samples (Burda et al. 2016, Eq. 8); ``-L_k <= neg_elbo`` in
      expectation, and both are upper bounds on ``-log p(x)``.

    The scores do not depend on ``batch_size`` and are reproducible for a given
    ``seed``: ``kl``, ``recon`` and ``neg_elbo`` draw each image's noise from a CPU
    generator seeded with ``seed`` and the image's block of 1,024 images, so they are
    equal whatever the batching (up to float rounding); ``neg_iwae`` gets all of ``x``
    at once and ``iwae_bound`` chunks it its own way (with a generator seeded with
    ``seed`` on the model's device).

    Images go through ``batch_size`` at a time with at most 16,384 decoded images per
    decoder pass, and ``iwae_bound`` bounds its own memory, so 10,000 or 60,000 images
    fit in well under 1 GB whatever ``k``. Runs in evaluation mode on the model's device
    and restores the model's mode.

    Args:
        model: a trained VAE (any :class:`~vae_utils.models.GaussianVAE`); a conditional
            one needs ``y``.
        x: float ``(N, 1, 28, 28)`` in ``[0, 1]`` (binarise like the training data so
            the numbers are Bernoulli log-likelihoods), on any device.
        score: a name from :data:`SCORES`, or a sequence of names.
        k: codes drawn from ``q(z|x)`` per image (not used by ``"kl"``).
        y: int64 labels ``(N,)`` for a conditional model.
        batch_size: images per encoder pass for ``kl``, ``recon`` and ``neg_elbo``
            (memory, not results).
        seed: seed of the codes' noise.
        likelihood, sigma: the decoder's likelihood, as in training
            (:func:`vae_utils.losses.elbo_loss`).

    Returns:
        float32 ``(N,)`` on the CPU in nats per image, or, when ``score`` is a sequence,
        a dict from each name to such a tensor.

    Raises:
        TypeError: ``x`` is not a float tensor, or ``model`` is not a VAE.
        ValueError: unknown score name, ``x`` not ``(N, 1, 28, 28)`` in ``[0, 1]``,
            ``k`` or ``batch_size`` not a positive integer, labels missing for a
            conditional model or given for another.
    """
    names = (score,) if isinstance(score, str) else tuple(score)
    unknown = [s for s in names if s not in SCORES]
    if not names or unknown:
        raise ValueError(f"score must be one of {SCORES} (or a sequence of them); got "
                         f"{score!r}.")
    require_vae(model)
    _checks.images(x)
    _checks.labels(y, len(x), model.num_classes)
    k = _checks.positive_int(k, "k")
    batch_size = _checks.positive_int(batch_size, "batch_size")
    seed = _checks.positive_int(seed, "seed", minimum=0)
    sigma = _checks.likelihood(likelihood, sigma)
    device = _checks.device_dtype(model)[0]
    out: dict[str, torch.Tensor] = {}
    with _checks.eval_mode(model):
        if any(s in ("kl", "recon", "neg_elbo") for s in names):
            recon, kl = _terms(model, x, y, k if any(s != "kl" for s in names) else 0,
                               batch_size, seed, likelihood, sigma)
            out.update(kl=kl, recon=recon, neg_elbo=recon + kl)
        if "neg_iwae" in names:
            generator = torch.Generator(device=device).manual_seed(seed)
            # iwae_bound batches the (image, code) pairs itself, in bounded memory
            out["neg_iwae"] = -iwae_bound(model, x, k, y=y, likelihood=likelihood, sigma=sigma,
                                          generator=generator)
    result = {s: out[s].float() for s in names}
    return result[names[0]] if isinstance(score, str) else result


def _terms(model: GaussianVAE, x: torch.Tensor, y: torch.Tensor | None, k: int,
           batch_size: int, seed: int, likelihood: str, sigma: float
           ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(recon, kl)``, each float64 ``(N,)`` on the CPU; ``recon`` is NaN when ``k = 0``.

    Each image's ``k`` codes come from its own block of pre-drawn noise, so the scores do
    not depend on the batching."""
    device, dtype = _checks.device_dtype(model)
    noise = _BlockNoise(seed, k, model.latent_dim) if k > 0 else None
    recon = torch.full((len(x),), float("nan"), dtype=torch.float64)
    kl = torch.empty(len(x), dtype=torch.float64)
    batch_size = min(batch_size, _MAX_ROWS)
    for i in range(0, len(x), batch_size):
        xb = x[i:i + batch_size].to(device, dtype)  # (B, 1, 28, 28)
        yb = y[i:i + batch_size].to(device) if y is not None else None
        mu, logvar = model.encode(xb, yb)  # (B, D) each
        kl[i:i + len(xb)] = kl_to_standard_normal(mu, logvar).double().cpu()
        if noise is None:
            continue
        eps = noise(i, i + len(xb)).to(device=device, dtype=dtype)  # (B, k, D)
        log_px = torch.cat([c.log_px for c in model.log_weights(
            xb, k, yb, likelihood=likelihood, sigma=sigma, eps=eps, max_rows=_MAX_ROWS)], dim=1)
        recon[i:i + len(xb)] = -log_px.double().mean(1).cpu()  # mean over the k codes
    return recon, kl


class _BlockNoise:
    """``eps ~ N(0, I)`` of shape ``(k, D)`` per image, the same whatever the batching.

    Image ``i``'s noise comes from block ``i // _NOISE_BLOCK``, drawn on the CPU by a
    generator seeded from ``(seed, block)``; one block is kept at a time, so memory stays
    at ``_NOISE_BLOCK * k * D`` floats however many images there are.
    """

    def __init__(self, seed: int, k: int, latent_dim: int) -> None:
        self.seed, self.k, self.latent_dim = seed, k, latent_dim
        self._cached: tuple[int, torch.Tensor] | None = None

    def _block(self, b: int) -> torch.Tensor:
        if self._cached is None or self._cached[0] != b:
            state = np.random.SeedSequence([self.seed, b]).generate_state(1, dtype=np.uint64)
            g = torch.Generator().manual_seed(int(state[0]))
            self._cached = (b, torch.randn((_NOISE_BLOCK, self.k, self.latent_dim), generator=g))
        return self._cached[1]

    def __call__(self, start: int, stop: int) -> torch.Tensor:
        """Noise of images ``start`` to ``stop - 1``: float32 ``(stop - start, k, D)``."""
        parts = []
        i = start
        while i < stop:
            b, offset = divmod(i, _NOISE_BLOCK)
            take = min(stop - i, _NOISE_BLOCK - offset)
            parts.append(self._block(b)[offset:offset + take])
            i += take
        return torch.cat(parts)


def auroc(scores_in: torch.Tensor, scores_out: torch.Tensor) -> float:
    """Area under the ROC curve of a score that should be higher on ``scores_out``.

    The probability that a random out-of-distribution input scores higher than a random
    in-distribution one, ties counting one half (the Mann-Whitney U statistic divided by
    ``n_in * n_out``). 1.0 separates the sets perfectly, 0.5 is chance, below 0.5 the
    score ranks the outliers as *more* typical. Computed by
    ``sklearn.metrics.roc_auc_score`` with the outliers as the positive class.

    Args:
        scores_in: scores of in-distribution inputs, any shape, flattened.
        scores_out: scores of out-of-distribution inputs.

    Returns:
        A float in ``[0, 1]``.

    Raises:
        ValueError: an empty set or a non-finite score.
    """
    from sklearn.metrics import roc_auc_score

    a = np.asarray(torch.as_tensor(scores_in).detach().cpu().double().reshape(-1))
    b = np.asarray(torch.as_tensor(scores_out).detach().cpu().double().reshape(-1))
    if len(a) == 0 or len(b) == 0:
        raise ValueError(f"both sets need scores; got {len(a)} in-distribution and {len(b)} "
                         "out-of-distribution.")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("scores must be finite; got NaN or inf.")
    labels = np.r_[np.zeros(len(a)), np.ones(len(b))]
    return float(roc_auc_score(labels, np.r_[a, b]))
