"""Exercises of notebook 04 · Sampling the latent space: its checkers and its questions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from ..latent import latent_grid as _latent_grid
from .checking import (Case, CheckResult, Mistake, Question, _not_finite, register_questions, run_check)


# --------------------------------------------------------------------- 04: latent grid


def _grid_ref(n, lo=0.05, hi=0.95):
    return _latent_grid(n, lo=lo, hi=hi, kind="quantile").coords


def _grid_cases() -> list[Case]:
    return [
        Case("n = 5 with the default quantiles 0.05 ... 0.95", (5,)),
        Case("n = 2: just the two end quantiles", (2,)),
        Case("n = 20, the notebook's grid", (20,)),
        Case("n = 7 with lo=0.01, hi=0.99", (7,), kwargs={"lo": 0.01, "hi": 0.99}),
    ]


def _evenly_spaced(r: Any, e: Any, case: Case) -> bool:
    if not isinstance(r, torch.Tensor) or r.dim() != 1 or len(r) < 3:
        return False
    steps = r.double().diff()
    return bool(torch.allclose(steps, steps[0].expand_as(steps), rtol=1e-3, atol=1e-6))


_STD_NORMAL = torch.distributions.Normal(0.0, 1.0)
_GRID_MISTAKES = [
    Mistake("descending", "your coordinates run from high to low: return them ascending "
            "(the image's top row, largest z2, is handled when the grid is laid out).",
            wrong=lambda n, lo=0.05, hi=0.95: _grid_ref(n, lo, hi).flip(0)),
    Mistake("cdf_not_icdf", "these are probabilities in (0, 1): you applied the CDF, which "
            "maps z to a probability. You need the map the other way.",
            wrong=lambda n, lo=0.05, hi=0.95: _STD_NORMAL.cdf(torch.linspace(lo, hi, n))),
    Mistake("probabilities", "these are the evenly spaced probabilities themselves: one step "
            "is missing, the map from a probability to the z that the prior puts there.",
            wrong=lambda n, lo=0.05, hi=0.95: torch.linspace(lo, hi, n)),
    Mistake("ignored_lo_hi", "you ignored lo and hi: the evenly spaced probabilities must run "
            "from lo to hi.",
            wrong=lambda n, lo=0.05, hi=0.95: _grid_ref(n)),
    Mistake("midpoints", "you used the midpoints (i + 1/2) / n; this course's grid puts its "
            "first and last probabilities exactly at lo and hi, both ends included.",
            wrong=lambda n, lo=0.05, hi=0.95: _STD_NORMAL.icdf((torch.arange(n) + 0.5) / n)),
    Mistake("endpoints_0_1", "the inverse CDF is -inf at 0 and +inf at 1: keep the "
            "probabilities strictly inside (0, 1), from lo to hi.", spot=_not_finite),
    Mistake("linear_in_z", "your coordinates are evenly spaced in z. The point of the "
            "exercise: space them evenly in PROBABILITY, then map them to z, so they bunch up "
            "near 0 where the prior puts its codes.",
            spot=_evenly_spaced),
]


def check_latent_grid(fn: Callable[..., torch.Tensor], *, verbose: bool = True) -> CheckResult:
    """Check ``fn(n, lo=0.05, hi=0.95) -> (n,)``: the coordinates of an inverse-CDF grid.

    ``coords = Phi^{-1}(linspace(lo, hi, n))``, ascending, with ``Phi^{-1}`` the inverse
    CDF of N(0, 1) (Kingma and Welling 2014, Figure 4). Reference
    ``vae_utils.latent.latent_grid(n, lo, hi).coords``.

    Args:
        fn: ``n`` int >= 2, ``lo``, ``hi`` floats in (0, 1) -> float ``(n,)``.
        verbose: print the verdict.

    Returns:
        :class:`CheckResult`; recognised mistakes: ``descending``, ``cdf_not_icdf``,
        ``probabilities``, ``ignored_lo_hi``, ``midpoints``, ``endpoints_0_1``,
        ``linear_in_z``.
    """
    return run_check("check_latent_grid", fn, _grid_cases(), _grid_ref, mistakes=_GRID_MISTAKES,
                     generic_hint="the coordinates are evenly spaced in probability from lo to hi, then "
                                  "mapped through the inverse CDF of N(0, 1): check the "
                                  "spacing, the two end points and the map.",
                     library=(_latent_grid,),
                     verbose=verbose, source="vae_utils.latent.latent_grid")


QUESTIONS: dict[str, Question] = {
    "temperature": Question(
        prompt="You sample the 20-D VAE of this notebook with temperature 0.5 instead of 1: "
               "z ~ N(0, 0.25 I). Compared with temperature 1, the decoded digits are...",
        options={"b": "greyer, blurrier and more alike: the codes are about half as long as "
                      "the codes the decoder was trained on, so they land where it hardly "
                      "ever trained, between the codes of many digits, and it hedges between them.",
                 "a": "more varied, because the codes are spread further out.",
                 "c": "the same digits, only fainter, because z is scaled by 0.5.",
                 "d": "cleaner and more typical, but less varied: the codes stay near the "
                      "centre of the latent space, where most training digits are."},
        answer="b",
        why={"b": "In 20 dimensions the codes the decoder is trained on, z ~ q(z|x), have "
                  "a length close to sqrt(20), about 4.5, and so do prior samples at "
                  "temperature 1. At temperature 0.5 the codes are about 2.2 long, shorter "
                  "than nearly every training code; there the decoder blends the digits "
                  "around, so the samples come out greyer and more alike (section 3 "
                  "measures both).",
             "a": "A lower temperature shrinks z towards 0: the codes spread LESS, and so do "
                  "the samples.",
             "c": "The decoder is non-linear: scaling z does not scale the image. Section 3 "
                  "measures about the same amount of ink at both temperatures; what changes "
                  "is how it is spread, because the shorter codes fall where the decoder "
                  "hardly ever trained.",
             "d": "In 20 dimensions almost no code lies near the centre: the training codes "
                  "are about sqrt(20), 4.5, long. Codes at temperature 0.5 are shorter than "
                  "nearly all of them, a region the decoder hardly ever saw in training."},
        hint="How long is a code z = 0.5 eps in 20 dimensions, and how long are the codes the "
             "decoder was trained on? Section 3 of this notebook measures both."),
}
register_questions(QUESTIONS)
