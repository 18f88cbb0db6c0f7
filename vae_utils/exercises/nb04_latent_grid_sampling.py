"""Exercises of notebook 04 · Sampling the latent space: its checkers and its questions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from ..latent import latent_grid as _latent_grid
from .checking import Case, CheckResult, Mistake, not_finite, run_check
from .questions import Question, register_questions


# --------------------------------------------------------------------- 04: latent grid


def _grid_ref(n, lo=0.05, hi=0.95):
    """Evenly spaced probabilities through the standard normal's quantile function, by
    ``torch.special.ndtri`` in float64: independent of ``vae_utils.latent.latent_grid``."""
    return torch.special.ndtri(torch.linspace(lo, hi, n, dtype=torch.float64)).float()


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
            "probabilities strictly inside (0, 1), from lo to hi.", spot=not_finite),
    Mistake("linear_in_z", "your coordinates are evenly spaced in z. The point of the "
            "exercise: space them evenly in PROBABILITY, then map them to z, so they bunch up "
            "near 0 where the prior puts its codes.",
            spot=_evenly_spaced),
]


def check_latent_grid(fn: Callable[..., torch.Tensor], *, verbose: bool = True) -> CheckResult:
    """Check ``fn(n, lo=0.05, hi=0.95) -> (n,)``: the coordinates of an inverse-CDF grid.

    ``coords = Phi^{-1}(linspace(lo, hi, n))``, ascending, with ``Phi^{-1}`` the inverse
    CDF of N(0, 1) (Kingma and Welling 2014, Figure 4). Reference: ``torch.special.ndtri``
    of evenly spaced probabilities in float64, independent of the course's ``latent_grid``,
    which (like a function that calls it or copies it) is refused.

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
                     verbose=verbose, source="an independent float64 reference")


QUESTIONS: dict[str, Question] = {
    "temperature": Question(
        prompt='You sample the 20-D VAE of this notebook with temperature 0.5 instead of 1: '
               'z ~ N(0, 0.25 I). Compared with temperature 1, the decoded digits are...',
        options={"a": 'sharper, because the KL term pulls the training codes towards the '
                      'origin, where the decoder saw most.',
                 "b": 'greyer, blurrier and more alike, because such short codes land where '
                      'the decoder rarely trained.',
                 "c": 'the same digits, only fainter, because every code, and so every '
                      "pixel's logit, is scaled by 0.5.",
                 "d": 'cleaner and more typical, because the codes stay near the centre, '
                      'where most training digits are.'},
        answer_digest="89d019f1f6e04a6fa4fe9260",
        why={"a": "MaxCYog6rh1PtGJ3NDQ9Ap2IAkuMwZ8th3adp6wM8PDXyoM6jLKaFCj3GUbwt71JpQAWm0L5"
                   "4IszOg3WJ1vl4r0qvvNT3JQe69AOVlQzMf/izJbk38Ty39oibREu8xB1c0zD6NrvfaEWE3b9"
                   "IwIkJZDgN+c/xtIUHfBGYxxpWu9EsAx+2u6dPniiIo1n01pFI3QlBvVtcDWTtdHwUjVsRwM7"
                   "51cZ73B9A2rMxiU8t2y3G221ulM7LKd/vfkWEKtqc/VVLyQFa9f9Ge8gBZznX9LUqONmICJ4"
                   "MgNlFJLZHVnvD/LIq8beEDStmXr8NHQbuAaWmRfOARveI++8/quwNDhR3O9k1NoCxEnHhOTC"
                   "sc1s2Zs=",
             "b": "CUA7QCVITw5Rxd80/Wz83hY6192AN6w08SZm+PHWe+rgPx73zc81COJPaiMnxQOpWmNSRU+T"
                   "F2S4GUXMZRIGtRuwhM6fcIwM+/F+n2wWT49RghAU3QepIgxwco2+S9e5alUpPVoSOClTGz0l"
                   "UGE0/96swgf7huspJ57CG7id2KZ88wKg94f6+0dnW22vHU1jTFe0NgqSWEiaRCVDy8g9aj7K"
                   "99/83GmoxCItgZF2GjvJw2RVhJXtrC1nQtOmdfY3PJ4E/upBqRjnAM+YGlKNoXLX/6umrv05"
                   "hgGB9/pywQ9wFN4SiJcKNDSJu0D+LABT+IoYoMiiI6Es0oEdm42YjnK+wYO2eXQX2e5fWonc"
                   "tH/VOE/OKF+cWwbzsiWpyG2j902oSbmEXZMIXm2CX1pkipltcNnF16BV78XZToltBCSHQQ2h"
                   "eR3wOYfK4PW7uSUg4qwdpcTjwExB1rh/WpcO7Hn/kEiHYh6DGTUrH2VD+gAAnByydcjgvYgo"
                   "Zr+uqN0tLzdZOAS4TAI8S0kJd2m1rGvHUX9qyIQLt089AL79OkJz7fg8jRREslGvakA9UmMG"
                   "JIpgt73Qm5JF7n71CAARPdH0KQeCRbQwt+zp1k6mjSIvqxSnqsEuOko0CzAQ/rmBBkd+o5rj"
                   "QFHBIHLvty4WVQ1eQ27tibT9dH2EgTu8UxAou/IjR5mgVBO5AEswtnixzMhEr32igUN0zvMR"
                   "Omf8Jg==",
             "c": "X+KHOR3Tlgsvut1USdDsYtsiaslYhH1YzLmldfkqp+1pY9SGjzHshB9ybWw8L00v0UQH+4e7"
                   "ufrinJNmN7HfP/aYYrh3KbHpqNyW6OQzgNVuIK9DScV4zG7lO2LGhbV0viI7ZWoeviOvzAN5"
                   "xrcfesAS4qBlFozS4uTBt5R3qWfKSG+cI2fFWHKZdRAyJZAxonRclFh3XSHyx2WPBrgQwg5f"
                   "Iw3N5Af14lSmNg3WElG6ck476goIQvMOFNY861SJIf6hoc0KtJ0Zo+n7O6OeDaNdV7ZSy09q"
                   "DPF0YhA4LHLk8HENZ+GopTJWWkg=",
             "d": "/yQfwqzcOt1HEH0urYCBqTJiHZofNFzvo8bQe6M+1NOFIMka5O4L4u+CIXCEK1/9+0RC/DjR"
                   "mViIqlXI2CfNGKYuzlpMI1vKFmgOPtS1MgLj22PSFi127oixJwH1hwqHglSafOh8db+yuvej"
                   "pEyJRzMIO4C4QQ2nz7XEIYTrJc9k342ubXKM1x9KUVDi3XWMnWuMeipLeIZD2QgzteSoo8cw"
                   "S1VFhqwnxD6WgkF1PskWmo4wqHr294sHQWi5tnpOMHv3XKSnnB4Rz5nH26IzT/s8cVZhnFvB"
                   "XnSIU5wwg/wZnYyY3AtrPCJQt2jE61IWfyERix0f4ldze/fwcul84njBld+qrvAoykuiEHy3"
                   "4TaY0c6ACo0dHzQ+fo4zWWLq8nttVcdhw2dFQ7mSMVzwJHv453csM7L16f6v0hYGnlspbhYA"
                   "fD+iX99ltRlJmgB/fxyOcMRkrEaZuDEQ+1qEoRg++kHH4SFT7GRTEdLiMy+NV6nAVa1rNzki"
                   "XTW92t0egaZifG4Ur6ZjaY7nrQBkvF0DSKGbm//HjeLzSyQDCDmFoaE+Byw="},
        hint='How long is a code z = 0.5 eps in 20 dimensions, and how long are the codes '
             'the decoder was trained on? Section 3 of this notebook measures both.'),
}
register_questions(QUESTIONS)
