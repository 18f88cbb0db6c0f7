"""Exercises of notebook 06 · Evaluating a VAE honestly: its checkers and its question.

* :func:`check_iwae_bound`: the importance-weighted bound ``L_k`` of each image from its
  ``k`` log-likelihoods, log-priors and log-posteriors, computed with ``logsumexp``;
* :func:`check_best_elbo`: read the rate-distortion curve: which point has the best ELBO.

Both test the learner's function on cases drawn from a seeded generator (the same cases at
every call) against a reference written here
(not the library's :func:`vae_utils.iwae_bound`, which needs a model), and recognise the
usual mistakes by computing them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import torch

from ..evaluation import active_units, iwae_bound, log_importance_weights
from .checking import AnswerError, Case, CheckResult, Mistake, not_finite, run_check
from .questions import Question, register_questions

_LIBRARY = (iwae_bound, log_importance_weights, active_units)


# --------------------------------------------------------------- 06: the IWAE bound


def _iwae_reference(log_px_given_z: torch.Tensor, log_pz: torch.Tensor,
                    log_qz: torch.Tensor) -> torch.Tensor:
    """``log (1/k) sum_i exp(log w_i)`` per row, in float64, shifted by the row's maximum
    by hand (Burda et al. 2016, Eq. 8)."""
    log_w = (log_px_given_z.double() + log_pz.double() - log_qz.double())  # (B, k)
    top = log_w.max(dim=1, keepdim=True).values  # (B, 1)
    return (top.squeeze(1) + torch.log(torch.exp(log_w - top).mean(dim=1))).to(log_px_given_z.dtype)


def _terms(b: int, k: int, g: torch.Generator, *, scale: float = 1.0, dtype=torch.float32,
           centre_px: float = -4.0, centre_pz: float = -3.0, centre_qz: float = -2.0) -> tuple:
    """Random ``(log p(x|z), log p(z), log q(z|x))``, each ``(B, k)``."""
    def draw(centre: float) -> torch.Tensor:
        return (centre + scale * torch.randn(b, k, generator=g, dtype=torch.float64)).to(dtype)
    return draw(centre_px), draw(centre_pz), draw(centre_qz)


def _iwae_cases() -> list[Case]:
    g = torch.Generator().manual_seed(60)
    same = torch.full((2, 4), -3.0), torch.full((2, 4), -1.5), torch.full((2, 4), -2.0)
    return [
        Case("k = 1: the bound is the one-sample ELBO, log w itself (B=3)", _terms(3, 1, g)),
        Case("small log-weights (about -5 nats), B=2 images, k=5 codes", _terms(2, 5, g)),
        Case("all k log-weights of an image equal: L_k is that log-weight, whatever k",
             same),
        Case("MNIST-sized log-weights: log p(x|z) about -100 nats, B=3, k=50",
             _terms(3, 50, g, scale=5.0, centre_px=-100.0, centre_pz=-30.0, centre_qz=-12.0)),
        Case("one code dominates (log-weights spread over 40 nats), B=1, k=1000",
             _terms(1, 1000, g, scale=10.0, centre_px=-90.0)),
        Case("float64, very negative log-weights (about -800 nats), B=4, k=3",
             _terms(4, 3, g, dtype=torch.float64, centre_px=-800.0, scale=3.0),
             rtol=1e-9, atol=1e-9),
    ]


def _lse_mean(log_w: torch.Tensor) -> torch.Tensor:
    return torch.logsumexp(log_w, dim=1) - math.log(log_w.shape[1])


def _wrong_dim(received: Any, expected: Any, case: Case) -> bool:
    b, k = case.args[0].shape
    return isinstance(received, torch.Tensor) and tuple(received.shape) == (k,) and b != k


def _batch_reduced(received: Any, expected: Any, case: Case) -> bool:
    return isinstance(received, torch.Tensor) and received.dim() == 0 and expected.numel() > 1


_IWAE_MISTAKES = [
    Mistake("exp_underflow", "your result is not finite for realistic log-weights: "
            "exp(-100) is 0 in float32 (anything below about -104 underflows), so "
            "log(mean(exp(log_w))) is log 0 = -inf. Stay in log space: torch.logsumexp "
            "subtracts the largest log-weight before it exponentiates.", spot=not_finite),
    Mistake("wrong_dim", "you reduced over the images instead of the codes: the k codes of "
            "an image lie along dim=1, and the answer has one value per image, shape (B,).",
            spot=_wrong_dim),
    Mistake("batch_reduced", "return one L_k per image, shape (B,); don't average or sum over "
            "the images.", spot=_batch_reduced),
    Mistake("forgot_log_k", "your values are log k too high: logsumexp gives the log of the "
            "SUM of the k weights, and the bound is the log of their MEAN, so subtract log k.",
            wrong=lambda a, b, c: torch.logsumexp(a + b - c, dim=1)),
    Mistake("plus_log_k", "log k has the wrong sign: the mean is the sum divided by k, so "
            "subtract log k.", wrong=lambda a, b, c: torch.logsumexp(a + b - c, dim=1)
            + math.log(a.shape[1])),
    Mistake("mean_of_logs", "you averaged the log-weights: that is the average of k one-sample "
            "ELBOs, no tighter than the ELBO. The IWAE bound averages the weights themselves, "
            "inside the log.", wrong=lambda a, b, c: (a + b - c).mean(dim=1)),
    Mistake("sum_of_logs", "a sum where the mean belongs: you summed the log-weights over the "
            "k codes (the log of a product of weights). Average the weights, inside the log.",
            wrong=lambda a, b, c: (a + b - c).sum(dim=1)),
    Mistake("missing_prior", "the prior term is missing: log w = log p(x|z) + log p(z) - "
            "log q(z|x).", wrong=lambda a, b, c: _lse_mean(a - c)),
    Mistake("missing_encoder", "the encoder term is missing: the importance weight divides by "
            "q(z|x), so log w = log p(x|z) + log p(z) - log q(z|x).",
            wrong=lambda a, b, c: _lse_mean(a + b)),
    Mistake("q_sign", "log q(z|x) enters with a minus sign: the weight is p(x, z) / q(z|x).",
            wrong=lambda a, b, c: _lse_mean(a + b + c)),
    Mistake("prior_sign", "log p(z) enters with a plus sign: p(x, z) = p(x|z) p(z).",
            wrong=lambda a, b, c: _lse_mean(a - b - c)),
]


def check_iwae_bound(fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor], *,
                     verbose: bool = True) -> CheckResult:
    """Check ``fn(log_px_given_z, log_pz, log_qz) -> (B,)``: the IWAE bound of each image.

    ``L_k = log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x)`` (Burda, Grosse and Salakhutdinov
    2016, Eq. 8), from the three log-densities of ``k`` codes per image, each float
    ``(B, k)`` in nats. The reference (written here, in float64, with the maximum
    subtracted by hand) is compared on six cases: ``k = 1``, equal log-weights,
    MNIST-sized log-weights (about -100 nats, where ``exp`` underflows in float32), one
    dominant code among 1,000 and float64 inputs near -800 nats. Passing the library's
    own ``vu.iwae_bound`` (or ``vu.log_importance_weights``), a function that calls one, or
    a copy of one is refused (:func:`~vae_utils.exercises.guards.library_copy`).

    Returns:
        :class:`CheckResult`; recognised mistakes: ``library``,
        ``exp_underflow``, ``wrong_dim``, ``batch_reduced``, ``forgot_log_k``,
        ``plus_log_k``, ``mean_of_logs``, ``sum_of_logs``, ``missing_prior``,
        ``missing_encoder``, ``q_sign``, ``prior_sign``.
    """
    return run_check("check_iwae_bound", fn, _iwae_cases(), _iwae_reference,
                     mistakes=_IWAE_MISTAKES,
                     generic_hint="form the log-weight of every code, log p(x|z) + log p(z) - "
                                  "log q(z|x); the bound is the log of the MEAN of the weights "
                                  "over each image's k codes, taken in log space.",
                     verbose=verbose, source="a float64 reference of Burda et al. 2016, Eq. 8",
                     library=_LIBRARY)


# ------------------------------------------------- 06: reading the rate-distortion curve


def _best_reference(points: Mapping[float, tuple[float, float]]) -> tuple[torch.Tensor, torch.Tensor]:
    beta = min(points, key=lambda b: points[b][0] + points[b][1])
    rate, distortion = points[beta]
    return (torch.tensor(float(beta), dtype=torch.float64),
            torch.tensor(float(rate + distortion), dtype=torch.float64))


def _curve(betas: list[float], g: torch.Generator, noise: float, scale: float = 20.0,
           offset: float = 80.0) -> dict[float, tuple[float, float]]:
    """Points of a convex rate-distortion curve ``D = offset + scale * exp(-R / scale)``:
    the point trained with ``beta`` sits where the slope is ``-beta``, plus noise."""
    out = {}
    for beta in betas:
        rate = max(0.0, scale * math.log(1.0 / beta)) + 2.0
        distortion = offset + scale * beta * math.exp(-2.0 / scale)
        jitter = noise * torch.randn(2, generator=g, dtype=torch.float64)
        out[beta] = (round(rate + float(jitter[0]), 2), round(distortion + float(jitter[1]), 2))
    return out


def _best_cases() -> list[Case]:
    g = torch.Generator().manual_seed(61)
    tilted = {0.25: (40.0, 85.0), 0.5: (31.0, 90.5), 1.0: (24.0, 99.0), 2.0: (15.0, 112.0),
              4.0: (8.0, 131.0)}  # best at 0.5, not at 1
    no_one = {0.1: (60.0, 82.0), 0.3: (41.0, 86.0), 3.0: (10.0, 124.0), 10.0: (2.0, 170.0)}
    greedy = {0.05: (300.0, 79.0), 0.25: (42.0, 81.0), 1.0: (24.0, 97.0), 4.0: (8.0, 128.0)}
    return [
        Case("a smooth curve, seven betas from 0.1 to 8", (_curve([0.1, 0.25, 0.5, 1.0, 2.0, 4.0,
                                                                   8.0], g, noise=0.0),)),
        Case("a measured curve whose best ELBO is at beta = 0.5", (tilted,)),
        Case("a noisy curve, six betas", (_curve([0.2, 0.5, 1.0, 1.5, 3.0, 6.0], g, noise=2.0),)),
        Case("no beta = 1 among the points", (no_one,)),
        Case("two points only", ({0.5: (30.0, 95.0), 4.0: (6.0, 118.0)},)),
        Case("a tiny beta whose code spends 300 nats", (greedy,)),
    ]


def _best_call(fn: Callable, case: Case) -> Any:
    out = fn(dict(case.args[0]))  # a fresh copy: the learner may pop from it
    if isinstance(out, dict) or not isinstance(out, tuple | list) or len(out) != 2:
        raise AnswerError(f"return a pair (beta, negative ELBO), e.g. `return beta, "
                          f"neg_elbo`; got {type(out).__name__}.", key="malformed")
    try:
        return tuple(torch.tensor(float(v), dtype=torch.float64) for v in out)
    except (TypeError, ValueError):
        raise AnswerError("both values must be numbers: beta, and the negative ELBO in nats.",
                          key="malformed") from None


def _pick(points: Mapping[float, tuple[float, float]], score: Callable[[float, float, float], float],
          report: Callable[[float, float, float], float] = lambda b, r, d: r + d, best=min
          ) -> tuple[float, float]:
    beta = best(points, key=lambda b: score(b, *points[b]))
    return float(beta), float(report(beta, *points[beta]))


_BEST_MISTAKES = [
    Mistake("trained_objective", "you compared distortion + beta * rate, the loss each model was "
            "trained on. Every model minimises its own beta's loss, so those numbers are not on "
            "one scale. The ELBO weighs rate and distortion equally: negative ELBO = rate + "
            "distortion.", wrong=lambda p: _pick(p, lambda b, r, d: d + b * r,
                                                 report=lambda b, r, d: d + b * r)),
    Mistake("trained_objective", "you picked the point with the lowest distortion + beta * "
            "rate, the loss each model was trained on. Every model minimises its own beta's "
            "loss, so those numbers are not on one scale: compare rate + distortion.",
            wrong=lambda p: _pick(p, lambda b, r, d: d + b * r)),
    Mistake("min_distortion", "you picked the point with the lowest distortion (the sharpest "
            "reconstructions). The ELBO also pays for the rate: compare rate + distortion.",
            wrong=lambda p: _pick(p, lambda b, r, d: d)),
    Mistake("min_rate", "you picked the point with the lowest rate. The ELBO also pays for the "
            "distortion: compare rate + distortion.", wrong=lambda p: _pick(p, lambda b, r, d: r)),
    Mistake("worst_point", "you picked the WORST point: the negative ELBO is a loss, smaller is "
            "better.", wrong=lambda p: _pick(p, lambda b, r, d: r + d, best=max)),
    Mistake("elbo_sign", "return the negative ELBO (rate + distortion, a positive number of "
            "nats), not the ELBO.", wrong=lambda p: _pick(p, lambda b, r, d: r + d,
                                                         report=lambda b, r, d: -(r + d))),
    Mistake("rate_minus_distortion", "the negative ELBO is rate PLUS distortion: both cost nats.",
            wrong=lambda p: _pick(p, lambda b, r, d: d - r, report=lambda b, r, d: d - r)),
    Mistake("assumed_beta_one", "you assumed beta = 1 wins. It trains the ELBO itself, but a "
            "measured curve (short training, noise) need not put the best point there: compare "
            "rate + distortion of every point.",
            wrong=lambda p: (1.0, float(sum(p[1.0]))) if 1.0 in p else None),
]


def check_best_elbo(fn: Callable[[dict[float, tuple[float, float]]], tuple[float, float]], *,
                    verbose: bool = True) -> CheckResult:
    """Check ``fn(points) -> (beta, negative ELBO)``: the point of a rate-distortion curve
    with the best ELBO.

    ``points`` maps each ``beta`` to the ``(rate, distortion)`` of the model trained with
    it, in nats per image. The ELBO is ``-(rate + distortion)`` whatever ``beta`` trained
    the model (Alemi et al. 2018, "Fixing a Broken ELBO", Section 3), so the best point
    has the smallest ``rate + distortion``. Cases: smooth and noisy curves, a curve whose
    best point is not ``beta = 1``, one without ``beta = 1``, two points, and a tiny
    ``beta`` with a huge rate.

    Returns:
        :class:`CheckResult`; recognised mistakes: ``trained_objective``,
        ``min_distortion``, ``min_rate``, ``worst_point``, ``elbo_sign``,
        ``rate_minus_distortion``, ``assumed_beta_one``, ``malformed``.
    """
    cases = [Case(c.name, c.args, rtol=1e-6, atol=1e-6, call=_best_call) for c in _best_cases()]
    return run_check("check_best_elbo", fn, cases, _best_reference, mistakes=_BEST_MISTAKES,
                     generic_hint="whatever beta trained a model, its ELBO charges one nat for each nat "
                                  "of rate: compare the points by that, not by the loss each "
                                  "model was trained on.",
                     verbose=verbose, source="rate + distortion of every point")


QUESTIONS: dict[str, Question] = {
    "iwae_gap": Question(
        prompt="A VAE's test images give L_1 = -110 and L_1000 = -104 nats per image on "
               'average. What do the 6 nats between them measure?',
        options={"a": 'The KL from q(z|x) to the prior p(z), the rate: the nats that each '
                      'code carries about its image.',
                 "b": 'At least 6 nats of KL(q(z|x) || p(z|x)) on average: how loose the ELBO'
                      ' is for this encoder.',
                 "c": 'The Monte Carlo noise of the one-sample ELBO; with more test images it'
                      ' would average away.',
                 "d": 'How much better the model would have been had it been trained with k ='
                      ' 1000 instead of k = 1.'},
        answer_digest="c745f2abd8d195ef4b9a4f33",
        why={"a": "lEuTKTMOQtHAXKNVyZnht0Dd372tuMIyw0hTuUi1oXA21/ySuuX+SfzDk01xjxNu/VLdPSxO"
                   "B9RXwinz7XUeoS77bfDQKv7kzoDQqeqOXyyoyWbgf5jtVnI4CmbehGbxakhGnebjJ5Id2euh"
                   "NUC5gWlfiomBBstrTT33F36E",
             "b": "zwp8u8lnKB8Q9eHerhXSbCa1JQh925RjR47eTPnyXLCthZzZELddd3AsZdCh2UHHkGKDfULL"
                   "zA7pbIbRBc8zqeVwnulsIyVAF00L4Ivbu9WctcSPXalIxooJq5HqKxKptmx5dNkFjz238RF0"
                   "6bWJ//YFVQJJRR5wMId3U3oiVzAL+8qC9K7qDQSeAmLFa1A=",
             "c": "J8xYtdK8BEvvewwjw66ZRPCB0x0dxgeSddmkSB/P+RYUy44XqgovBfl5qYOdiHdrX9g0Os+F"
                   "WWYu6ox+iVNVWN8tdZx3cm9uYTAUqmEX9P98h4rLRCRr4HRn41gmwTVriPjyCccTVUvWzjGu"
                   "zz/R5nBl30P4nQ==",
             "d": "XmYmmtV6qUGDt/rEeaASHvJfaQxM2zVRPyy7mrKKtzpPKueRasQ5NVbq6uadMXam/LzfZS4h"
                   "3MLWI/baEW1mtp+9iX/jSNvyR1/cLhcMn8aQl7SrYIQj3Z3zvlGW9czPFBMLI+MC0XS7ooKk"
                   "9S4up6NugZEy8IqLbnziWKYxaC+8cBwrRN5a3w=="},
        hint='Write log p(x) = ELBO + KL(q(z|x) || p(z|x)) and place L_1 and L_1000 on that '
             'line.'),
}
register_questions(QUESTIONS)
