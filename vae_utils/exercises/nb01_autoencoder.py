"""Exercises of notebook 01 · A plain autoencoder: its checkers and its questions."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..losses import bernoulli_nll
from .checking import Case, CheckResult, Mistake, not_finite, run_check
from .questions import Question, register_questions


# ---------------------------------------------------------------- 01: reconstruction


def _bce_cases() -> list[Case]:
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(4, 1, 28, 28, generator=g) * 3
    x_grey = torch.rand(4, 1, 28, 28, generator=g)
    x_bin = (x_grey > 0.5).float()
    big = torch.tensor([-60.0, -20.0, 0.0, 20.0, 60.0]).repeat(2, 1, 1)  # (2, 1, 5)
    big = big.repeat(1, 1, 157)[:, :, :784].reshape(2, 1, 28, 28)
    x_big = torch.zeros(2, 1, 28, 28)
    x_big[1] = 1.0
    return [
        Case("binary pixels, batch of 4", (logits, x_bin)),
        Case("grey-level pixels in [0, 1]", (logits, x_grey)),
        Case("one image (B = 1)", (logits[:1], x_bin[:1])),
        Case("all logits 0 (every pixel p = 1/2): 784 log 2 nats per image",
             (torch.zeros(3, 1, 28, 28), x_bin[:3])),
        Case("very confident logits (+-60): must stay finite", (big, x_big), rtol=1e-4, atol=1e-3),
    ]


_BCE_MISTAKES = [
    Mistake("mean_all", "reduction='mean' (the default of binary_cross_entropy_with_logits) "
            "averages over every pixel of every image. Use reduction='none', then sum over "
            "each image's pixels: shape (B,), in nats per image.",
            wrong=lambda logits, x: bernoulli_nll(logits, x).mean() / 784),
    Mistake("batch_mean", "you averaged over the batch as well: return one number per image, "
            "shape (B,), summed over its 784 pixels (the batch mean comes later, in the loss).",
            wrong=lambda logits, x: bernoulli_nll(logits, x).mean()),
    Mistake("batch_sum", "you summed over the batch as well: return one number per image, "
            "shape (B,). Sum over dimensions 1, 2, 3 only (x.flatten(1).sum(1)).",
            wrong=lambda logits, x: bernoulli_nll(logits, x).sum()),
    Mistake("mean_over_pixels", "your values are 784 times too small: you took the mean over "
            "pixels (reduction='mean'). The log-likelihood of an image is the SUM over its "
            "pixels: use reduction='none' and .flatten(1).sum(1).",
            wrong=lambda logits, x: bernoulli_nll(logits, x) / 784),
    Mistake("wrong_sign", "wrong sign: the reconstruction term is the NEGATIVE log-likelihood, "
            "-sum_i [x_i log p_i + (1 - x_i) log(1 - p_i)], which is >= 0.",
            wrong=lambda logits, x: -bernoulli_nll(logits, x)),
    Mistake("sigmoid_twice", "you applied the sigmoid and then a loss that applies it again: "
            "binary_cross_entropy_with_logits takes the raw logits, not torch.sigmoid(logits).",
            wrong=lambda logits, x: bernoulli_nll(torch.sigmoid(logits), x)),
    Mistake("squared_error", "this is the squared error of sigmoid(logits), not the Bernoulli "
            "negative log-likelihood: use F.binary_cross_entropy_with_logits.",
            wrong=lambda logits, x: (torch.sigmoid(logits) - x).pow(2).flatten(1).sum(1)),
    Mistake("unstable", "your answer is inf or NaN for very confident logits: log(sigmoid(l)) "
            "underflows. Compute from the logits with F.binary_cross_entropy_with_logits (or "
            "F.logsigmoid), which is stable.", spot=not_finite),
]


def _bce_reference(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``-log p(x|z)`` per image from ``torch.distributions`` (grey targets allowed: the
    same formula, no support check)."""
    bernoulli = torch.distributions.Bernoulli(logits=logits, validate_args=False)
    return -bernoulli.log_prob(x).flatten(1).sum(1)  # (B, 1, 28, 28) -> (B,)


def check_bce_recon(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], *,
                    verbose: bool = True) -> CheckResult:
    """Check ``fn(logits, x) -> (B,)``: the Bernoulli reconstruction term per image.

    The expected answer is ``-log p(x|z) = sum_i BCE(sigmoid(logits_i), x_i)`` summed over
    the 784 pixels of each image, in nats (Kingma and Welling 2014, Appendix C.1). The
    reference is ``torch.distributions.Bernoulli(logits=logits).log_prob(x)`` summed per
    image, independent of the course's :func:`vae_utils.losses.bernoulli_nll`, which (like
    a function that calls it or copies it) is refused. Cases: binary and grey targets, ``B = 1``,
    all-zero logits (exactly ``784 log 2``) and logits of +-60 (must stay finite).

    Args:
        fn: the learner's function: ``logits`` float ``(B, 1, 28, 28)``, ``x`` float
            ``(B, 1, 28, 28)`` in [0, 1] -> float ``(B,)``.
        verbose: print the verdict.

    Returns:
        :class:`CheckResult`; recognised mistakes: ``mean_all``, ``batch_mean``, ``batch_sum``,
        ``mean_over_pixels``, ``wrong_sign``, ``sigmoid_twice``, ``squared_error``,
        ``unstable``.
    """
    return run_check("check_bce_recon", fn, _bce_cases(), _bce_reference, mistakes=_BCE_MISTAKES,
                     generic_hint="compare your numbers with the failing case above: one number per "
                                  "image, in nats, computed from the logits (not from "
                                  "probabilities); check which dimensions you reduce and "
                                  "whether your formula stays finite for large logits.",
                     library=(bernoulli_nll, torch.distributions.Bernoulli),
                     verbose=verbose, source="torch.distributions.Bernoulli(logits=...).log_prob")


QUESTIONS: dict[str, Question] = {
    "ae_gaps": Question(
        prompt='You decode random codes with the plain autoencoder of this notebook (as in '
               'its last figure) and many come out as smudges that are no digit. Why?',
        options={"a": 'The decoder is under-trained: with more epochs it would learn to draw '
                      'a digit for every code in the box.',
                 "b": 'Two numbers are too few to hold a digit: with a 2-D code most of the box '
                      'must decode to smudges, whatever the training.',
                 "c": 'Nothing in the loss says where codes should lie, so the decoder never '
                      'learned to draw the gaps between clusters.',
                 "d": 'The decoder is a smooth function, so between two clusters it must blend '
                      'their digits, and no loss could change that.'},
        answer_digest="f299af1a0f89ecbcc6d8bf8f",
        why={"a": "6Kq9nYyzlQIBJm2gz9s/QY6DNOhIunGFmU736K8XC+Q7k8dFuK7Qq481PMxs5KkerQyfN1RE"
                   "pkG4HSGU6jwrmiJ04SL2TNsOYmTIMfdJxLCfcR52s345gu3yoppDYrSb1VoaBNHyEI3mmx4D"
                   "FwcHhsQ/+wJCFmVt6HWdZHrgjyWkvcDPgg==",
             "b": "LUkRf8WjZPxkNsXRgOunVy8o+fjSP3sflkBduqDhSSBFajaw6Qnq8N+h6OKLhdZgATZxEBPN"
                   "9yKCdWCi4d8eMFx7NLKhOOhdyW/j7I7JbNP/q6OfdV4C4ip2uzoj1RDWsruv6evI+tuTkjxj"
                   "U3aJxWVgrS8dAM40HKk2JjivWFapspmYgSQKlWMAKJS8gEK+evFxBKIOf91AaM+Kq/ViCXjQ"
                   "AQm4mx3kpMRA2qsebFHIGyzGq6b6O+yio8HqqJw9NQilAnCoZ/AbXvOYTM+hlGSbJ3YjsMVH"
                   "Oms5bCOrlM/3EKZ2+Qb9OKatuCOxdFV18BHlE+4pDX9aZ1ZED9Q37yOtqIh8VWaQmcHSJ59+"
                   "9bzDTx/FoXSZgQTRYiwFho5mmbTX7x9QiLjh5wV51liH2QYy70bvXtS4N3ziw9PVLKebkYeK"
                   "pE57ksOYgh3z+luMySbeCgdcHvaAPtyX4T04t7rdGO8Z/ZP/boF/SAopjdaeGSS6A43CokfY"
                   "1DKLvxLsFiAt0RkhAWXi4wPqssCcMxqFQ9gJW9i7oK/1dA==",
             "c": "AeUsrrPbZPSiYUshSN+8JxL1gVUBzGEJAjiJ/V34UgWRhffIxYvLlfPTJQrTeDzebHDYssuR"
                   "uewunMu2M8ZQqn900afhSpvsdEOvyeSi6gDZbx5XG+g0ScOlDfOMYNVdH73Ou7fW9Zi8CSfF"
                   "pfPFsjFUS8+RSZIhj83MaiIAXzZtI4R3qjk4DOc6tYIT7wuf/rH8M7P1yA8lsWBUp3O1Uhym"
                   "HEqya/yLsbhS8kXg",
             "d": "9JijpQAjjN0vW7BdG18i8q74wkstjtT+Zz1XS7LdtCDD18ZYwn7atN5x9yUNA57O/ZEMnvpi"
                   "0Ysl4RvgBzyIvcs2JnESLhcAQH80TPGcfwwVfb+uoY9AItlM23bdpLZBekSYzgAAh7H535CU"
                   "O/XHxN8jTZvRcJ2RNTmJKBLvqm6Idt1WP1Yp4VQDykIga/TxfpfqaWpgy+YjkHHup5oohzRr"
                   "Wm6jQodmg3mRtSScUz3RmoeN+TpfSydJ1Sy2PfItlbQYtNwyRtkIIDdMw9U/qKwN9cwHl41y"
                   "ExyjTM9DujLVZlACEw=="},
        hint='Look at the scatter plot of the codes: where would a code drawn uniformly from '
             'the box of the last figure land, and which training images have codes there?'),
}
register_questions(QUESTIONS)
