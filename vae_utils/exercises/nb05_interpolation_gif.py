"""Exercises of notebook 05 · Interpolation: its checkers and its questions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from ..latent import slerp as _slerp
from .checking import Case, CheckResult, Mistake, clone, not_finite, run_check
from .questions import Question, register_questions


# -------------------------------------------------------------------------- 05: slerp


def _slerp_ref(z0, z1, t):
    """Shoemake's formula written out in float64, independently of ``vae_utils.latent.slerp``
    (lerp where the codes are parallel to 1e-6), back in the codes' dtype."""
    a, b, t = z0.double(), z1.double(), float(t)
    cos = torch.clamp(torch.dot(a, b) / (a.norm() * b.norm()), -1.0, 1.0)
    omega = torch.arccos(cos)
    if torch.sin(omega) < 1e-6:
        out = (1 - t) * a + t * b
    else:
        out = (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)
    return out.to(z0.dtype)


def _slerp_cases() -> list[Case]:
    g = torch.Generator().manual_seed(6)
    e0, e1 = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    a, b = torch.randn(20, generator=g), torch.randn(20, generator=g) * 2
    near = a * 1.5 + 1e-5 * torch.randn(20, generator=g)
    return [
        Case("orthogonal unit vectors, t = 0.5: (e0 + e1) / sqrt(2)", (e0, e1, 0.5)),
        Case("orthogonal unit vectors, t = 0.25", (e0, e1, 0.25)),
        Case("t = 0 gives z0", (a, b, 0.0)),
        Case("t = 1 gives z1", (a, b, 1.0)),
        Case("D = 20 codes of different norms, t = 0.3", (a, b, 0.3)),
        Case("(nearly) parallel codes: the formula is 0/0, fall back to lerp", (a, near, 0.5),
             rtol=1e-3, atol=1e-3),
    ]


def _lerp(z0, z1, t):
    return (1 - t) * z0 + t * z1


_SLERP_MISTAKES = [
    Mistake("lerp", "this is linear interpolation: your weights are (1 - t) and t. "
            "Slerp's weights are ratios of sines of the angle between the codes (the formula "
            "of the exercise).",
            wrong=_lerp),
    Mistake("swapped_t", "your path runs backwards: t = 0 must give z0 and t = 1 give z1. "
            "Check which weight goes with which code.",
            wrong=lambda z0, z1, t: _slerp_ref(z0, z1, 1 - t)),
    Mistake("normalised_output", "your result has unit length: normalise only to compute the "
            "angle W (cos W = z0 . z1 / (|z0| |z1|)); apply the weights to z0 and z1 themselves.",
            wrong=lambda z0, z1, t: _slerp_ref(z0 / z0.norm(), z1 / z1.norm(), t)),
    Mistake("unnormalised_angle", "the angle needs normalised vectors: cos W = z0 . z1 / "
            "(|z0| |z1|), not z0 . z1.",
            wrong=lambda z0, z1, t: _slerp_with_cos(z0, z1, t, torch.clamp(z0 @ z1, -1, 1))),
    Mistake("parallel", "your function gives inf/NaN for (nearly) parallel codes: there "
            "sin W is about 0. When sin W is tiny (say < 1e-6), return lerp instead.",
            spot=not_finite),
]


def _slerp_with_cos(z0, z1, t, cos):
    omega = torch.arccos(cos)
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


def _slerp_call(fn: Callable, case: Case) -> Any:
    out = fn(*clone(case.args))
    if isinstance(out, torch.Tensor) and out.dim() == 2 and out.shape[0] == 1:
        out = out[0]  # (1, D), as vae_utils.latent.slerp returns, is fine too
    return out


def check_slerp(fn: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor], *,
                verbose: bool = True) -> CheckResult:
    """Check ``fn(z0, z1, t) -> z``: spherical linear interpolation between two codes.

    ``slerp = sin((1 - t) W) / sin W * z0 + sin(t W) / sin W * z1`` with
    ``cos W = z0 . z1 / (|z0| |z1|)`` (Shoemake 1985; White 2016, "Sampling Generative
    Networks", Section 2.1), and linear interpolation when ``z0``, ``z1`` are (nearly)
    parallel. Reference: the formula written out in float64 in this module, independent of
    ``vae_utils.latent.slerp``, which (like a function that calls it or copies it) is refused.

    Args:
        fn: ``z0``, ``z1`` float ``(D,)``, ``t`` a float in [0, 1] -> float ``(D,)``
            (``(1, D)`` is accepted too).
        verbose: print the verdict.

    Returns:
        :class:`CheckResult`; recognised mistakes: ``lerp``, ``swapped_t``,
        ``normalised_output``, ``unnormalised_angle``, ``parallel``.
    """
    cases = [Case(c.name, c.args, rtol=c.rtol, atol=c.atol, call=_slerp_call)
             for c in _slerp_cases()]
    return run_check("check_slerp", fn, cases, _slerp_ref, mistakes=_SLERP_MISTAKES,
                     generic_hint="compute the angle between the two codes from their normalised dot "
                                  "product, then weight each code as in the formula of the "
                                  "exercise; check which weight goes with which code, and "
                                  "the fallback for (nearly) parallel codes.",
                     library=(_slerp,),
                     verbose=verbose, source="Shoemake's formula, written out in float64")


QUESTIONS: dict[str, Question] = {
    "slerp_norm": Question(
        prompt='In D = 20 dimensions, z0 and z1 are two draws from N(0, I). Why interpolate '
               'between them with slerp rather than a straight line?',
        options={"a": 'Slerp moves at an even pace through the images: each of its '
                      'steps changes the decoded pixels equally.',
                 "b": "The prior's density is highest on the sphere of radius "
                      'sqrt(D), and slerp keeps to that sphere.',
                 "c": "Draws have norm near sqrt(D), but the line's midpoint is "
                      'near sqrt(D / 2), where the prior rarely goes.',
                 "d": 'Two draws in 20 dimensions are nearly parallel, so the line '
                      'between them barely moves; an arc turns further.'},
        answer_digest="ed8419eda155ff1295723541",
        why={"a": "ShmG/uk7yyNbTz1qVlnf/8tnmCRyUHgdYTNbbVfxgynriD0YZUzisl8DkTWlhYzihfVsahny"
                   "c6MNDaMs/4CJqiGKtrxJf3y0RjZkcqExS2BDLRv1z6OoDuf5xCa69TGiTKPMM/cNY6wQaBzd"
                   "QIN7ubZoWsFDWDblnZLdQSBTLm/MowIax8im+zGnsgYWVqavDsNqiLua1172QkyJZMdb3OWw"
                   "2m4OSM+JOp2Wwy4CQzdWjgQ9UXe6ff9NPKzDQfif5gTXCaH+SYgSP6IdRq+01iozFr6k0dbC"
                   "pvgp7diTCjLoEDuvCoE=",
             "b": "4qO2956xPQOFMzjE7p/SRZUvsKzUC1Ghs0/7EVydo0bfZXBV3lAqJzVswjTMMIWkeLzRjji0"
                   "q0qXNeqGZwT2D2gxjcbI7z79mbflH2tc6EAWjHFjtuNk6TqrQ+i55kp7PXCnGmjcc6JzyaXj"
                   "raxok4hPaIabv4g4lq1YK7ZcfKPFqvadmvl/FtzLRJ18uIJVfLRCS3d6BD5PpAcYAcCnUINb"
                   "V6MbcsooQzYqQ7SpEhwm6Xo92y3TZmpC2mv+QQIgwKJ1g1RDd9Kq4bNaPCLsew1Q8LjKh0mb"
                   "oS63C5ho8L655AyznF0NglvJIEFYgmR53LYy4175yxN3KOY/1g==",
             "c": "+bf0rKZI7/jSicGvNPzdQzQOFubqnLBxqzI6FHqkvVPhUTOEJA4q80HrcECFKFFcjK0p5Cal"
                   "UW7EBAg9v/4Ms9/RXfPKotbEk3+0BJrhyd07OWGkhTCznW1ltLcQV6vTM/vyK2eomv0uB8cc"
                   "d9RawE6+e/oGZJGo7jxMysLCYsCknuAv/TyIUzZepwwd4S42zGIbR5zbkfdXl/3s7pVrW9kz"
                   "20JWbT75N0bRIR/ZPkCz7jgPrbn9/mU64Juu5kEA",
             "d": "8r3mAxeKtJFm/8ZNTXPHixww7KtYNKUy+pDKwEAaun/AOSGEx10R4e8FyeIOX9/1fhQHw+2Y"
                   "/X+pn6qJuJgQYo0OUdfrPQPzPA0mGENFoZFggCJ5DR4wH7o+mGZ3dgu2I1Q9oTAaBJmk0RsU"
                   "y1/I7MNl6sEFpeEoVNwSbutbHLAWnYouPHMUZNn1TiKXZE1z98pjBy3oo122/y+WAwMly2eL"
                   "WMCo94qLufYEhhA+a8gNzuQxNakIND9jxyPx/L8tmt6XeqyCJ1AOxAr8gFsggq2qcm3hFIIU"
                   "hxxSfw=="},
        hint='Draw a few pairs with D = 20 and measure: the lengths of z0 and z1, '
             'the length of the point halfway along each path, and the angle '
             'between z0 and z1. Where does the prior put most of its codes?'),
}
register_questions(QUESTIONS)
