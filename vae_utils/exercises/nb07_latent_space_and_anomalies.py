"""Exercises of notebook 07 · The latent space and anomalies: its checker and its question."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from .checking import (Case, CheckResult, Mistake, clone, failed, fresh_seed, not_finite,
                       run_check)
from .guards import library_copy
from .questions import Question, register_questions

# ------------------------------------------------------------------ 07: AUROC by hand

#: Library functions that compute an AUROC (or the U statistic) for you.
_LIBRARY_NAMES = ("roc_auc_score", "roc_curve", "mannwhitneyu", "binary_auroc", "auroc",
                  "rankdata")
_LIBRARY_MODULES = ("sklearn", "scipy", "torchmetrics", "torcheval", "vae_utils")


def _sklearn_auroc(scores_in: torch.Tensor, scores_out: torch.Tensor) -> torch.Tensor:
    """The reference: scikit-learn's ``roc_auc_score`` with the outliers as positives."""
    a = scores_in.detach().double().numpy()
    b = scores_out.detach().double().numpy()
    labels = np.r_[np.zeros(len(a)), np.ones(len(b))]
    return torch.tensor(roc_auc_score(labels, np.r_[a, b]), dtype=torch.float64)


def _pairs(scores_in: torch.Tensor, scores_out: torch.Tensor, tie: float) -> torch.Tensor:
    """Mean over all (in, out) pairs of [out > in] + tie * [out == in]."""
    diff = scores_out.double()[:, None] - scores_in.double()[None, :]  # (n_out, n_in)
    return ((diff > 0).double() + tie * (diff == 0).double()).mean()


def _u_statistic(scores_in: torch.Tensor, scores_out: torch.Tensor) -> torch.Tensor:
    """Mann-Whitney U of the outliers (average ranks for ties), not divided."""
    return _pairs(scores_in, scores_out, 0.5) * len(scores_in) * len(scores_out)


def _rank_sum_out(scores_in: torch.Tensor, scores_out: torch.Tensor) -> torch.Tensor:
    n_out = len(scores_out)
    return _u_statistic(scores_in, scores_out) + n_out * (n_out + 1) / 2


def _random_scores(rng: np.random.Generator, n: int, shift: float, ties: bool) -> torch.Tensor:
    x = rng.normal(shift, 1.0, size=n)
    if ties:
        x = np.round(x * 2) / 2  # many equal values, across and within the two sets
    return torch.tensor(x, dtype=torch.float64)


def _auroc_cases(seed: int | None = None) -> list[Case]:
    """Edge cases, then fresh random cases (a new draw every call unless ``seed`` is given)."""
    rng = np.random.default_rng(fresh_seed(seed))
    f = lambda *v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    cases = [
        Case("perfect separation: every outlier scores higher -> 1", (f(0.1, 0.2, 0.3),
                                                                     f(1.0, 2.0))),
        Case("reversed: every outlier scores lower -> 0", (f(5.0, 6.0, 7.0, 8.0), f(1.0, 2.0))),
        Case("all scores equal: every pair a tie -> 0.5", (f(3.0, 3.0, 3.0), f(3.0, 3.0))),
        Case("one tie across the sets, counted one half", (f(1.0, 2.0, 3.0), f(2.0, 4.0))),
    ]
    for i in range(4):
        n_in, n_out = int(rng.integers(5, 60)), int(rng.integers(5, 60))
        ties = i % 2 == 1
        cases.append(Case(
            f"random scores, {n_in} in-distribution and {n_out} outliers"
            + (", with many ties" if ties else ""),
            (_random_scores(rng, n_in, 0.0, ties), _random_scores(rng, n_out, 0.8, ties)),
            rtol=1e-6, atol=1e-9))
    return cases


_AUROC_MISTAKES = [
    Mistake("swapped", "your AUROC is 1 minus the right one: the outliers are the positive "
            "class, so count how often an OUTLIER outranks an in-distribution score (higher "
            "score = more anomalous).",
            wrong=lambda a, b: _sklearn_auroc(b, a)),
    Mistake("ties_as_losses", "a tie between an outlier and an in-distribution score counts "
            "as 0 in your answer; it must count one half (give tied scores the average of "
            "their ranks).",
            wrong=lambda a, b: _pairs(a, b, 0.0)),
    Mistake("ties_as_wins", "a tie between an outlier and an in-distribution score counts "
            "as 1 in your answer; it must count one half (give tied scores the average of "
            "their ranks).",
            wrong=lambda a, b: _pairs(a, b, 1.0)),
    Mistake("not_divided", "this is the Mann-Whitney U statistic itself: divide it by "
            "n_in * n_out to get a probability in [0, 1].",
            wrong=_u_statistic),
    Mistake("rank_sum", "you divided the outliers' RANK SUM by n_in * n_out: subtract "
            "n_out (n_out + 1) / 2 (the smallest rank sum the outliers can have) first.",
            wrong=lambda a, b: _rank_sum_out(a, b) / (len(a) * len(b))),
    Mistake("ranks_from_zero", "your ranks start at 0: with ranks 1..n the outliers' rank "
            "sum minus n_out (n_out + 1) / 2 is U (with 0-based ranks subtract n_out "
            "(n_out - 1) / 2 instead).",
            wrong=lambda a, b: _pairs(a, b, 0.5) - 1.0 / len(a)),
    Mistake("not_finite", "your answer is NaN or infinite: check for a division by zero.",
            spot=not_finite),
    Mistake("not_one_number", "return one number (a float or a 0-d tensor) for the whole "
            "pair of sets, not one value per score.",
            spot=lambda received, expected, case: isinstance(received, torch.Tensor)
            and received.dim() > 0),
]


def _auroc_call(fn: Callable, case: Case) -> Any:
    out = fn(*clone(case.args))
    if isinstance(out, np.ndarray | np.generic):
        out = torch.as_tensor(np.asarray(out, dtype=np.float64))
    if isinstance(out, torch.Tensor):
        out = out.detach().double().reshape(()) if out.numel() == 1 else out.detach().double()
    return out


def check_auroc(fn: Callable[[torch.Tensor, torch.Tensor], Any], *, verbose: bool = True,
                seed: int | None = None) -> CheckResult:
    """Check ``fn(scores_in, scores_out) -> float``: the AUROC of a score, by ranks.

    The area under the ROC curve when the outliers (``scores_out``) are the positive
    class and a higher score means "more anomalous": ``U / (n_in * n_out)``, where ``U``
    is the Mann-Whitney statistic of the outliers (their rank sum among all scores,
    minus ``n_out (n_out + 1) / 2``, with tied scores given the average of their ranks;
    Hanley and McNeil 1982, "The meaning and use of the area under a receiver operating
    characteristic (ROC) curve"). Reference: ``sklearn.metrics.roc_auc_score``, on edge
    cases and on fresh random cases drawn at every call (with and without ties).

    A library function passed in (scikit-learn's ``roc_auc_score`` itself, scipy's
    ``mannwhitneyu``, ``vae_utils.auroc``), or a function that calls one, is refused: the
    exercise is to compute it by hand.

    Args:
        fn: ``scores_in`` float64 ``(n_in,)``, ``scores_out`` float64 ``(n_out,)`` ->
            a float (or 0-d tensor or array) in ``[0, 1]``.
        verbose: print the verdict.
        seed: draw the random cases from this seed (tests); ``None`` draws fresh ones.

    Returns:
        :class:`CheckResult`; recognised mistakes: ``library``, ``swapped``,
        ``ties_as_losses``, ``ties_as_wins``, ``not_divided``, ``rank_sum``,
        ``ranks_from_zero``, ``not_finite``, ``not_one_number``.
    """
    library = library_copy(fn, (), modules=_LIBRARY_MODULES, names=_LIBRARY_NAMES)
    if library is not None:
        return failed("check_auroc", f"{library}; a library function does the work the "
                      "exercise asks for.", verbose, mistake="library",
                      hint="the exercise is to compute the AUROC by hand, from the ranks of "
                           "the scores; scikit-learn is the reference the checker compares "
                           "your answer with.")
    cases = [Case(c.name, c.args, rtol=c.rtol, atol=c.atol, call=_auroc_call)
             for c in _auroc_cases(seed)]
    return run_check("check_auroc", fn, cases, _sklearn_auroc, mistakes=_AUROC_MISTAKES,
                     generic_hint="try your function on the small example of the hint (the answer is "
                                  "3/4): ranks start at 1 for the lowest score, tied scores "
                                  "share the average of their ranks, and only the outliers' "
                                  "ranks are added up.",
                     verbose=verbose, source="sklearn.metrics.roc_auc_score")


QUESTIONS: dict[str, Question] = {
    "kl_blind_spot": Question(
        prompt='An input is nothing like a digit, yet its KL(q(z|x) || p(z)) is as small as a'
               " typical test digit's, while its negative ELBO is far above theirs. How can "
               'the KL score miss it when the reconstruction term catches it?',
        options={"a": 'The KL sees only the code the encoder chose; only the reconstruction '
                      'checks that it explains the pixels.',
                 "b": 'The KL is small for every input, because the training objective pushes'
                      ' it towards zero for all images.',
                 "c": 'The KL is estimated by Monte Carlo, so it is too noisy to separate the'
                      ' sets; the reconstruction is exact.',
                 "d": 'An encoder shown an input unlike its training data falls back to the '
                      'prior, so every such KL is near zero.'},
        answer_digest="d9823fdf381279f49bbe5f7d",
        why={"a": "2T1XdB46YRs3ldeUnjqHHcBxqHU+qrnL+ASWn1SljwYHpAR4Q/HqvmO3vcZkYN/3Wj6jIT9Q"
                   "DKPQw5O4lvfLzO28ja0OwBHIQIDWEsQlhRYoWLc+eDPdoU4L2qca+JR0z+vKvq5FJSxZOZqe"
                   "swFbVwBVQs9nVGtzV3tNs5t0VT6L//uK8IENdH+yy2pKPXEsGWV5BvXGKjr81n8Yg4UnwWp2"
                   "b4PF6z2dhrFLTEhxODE13MnkvGx2Hz94rccZZe9xMsgPf9GYvHq6YeT9fQhsWtyPKwGxOhyW"
                   "Vy17fqADFxP5CZFDxZTLSFdp3biC5HugfUqYCoQEcCxGuuLv09muCoy/+/6LkQKh74LBjlIr"
                   "p7FCrc8s5aVg1+Z3",
             "b": "bMbNegCwsmOapHwpqP7k88y0/Pv/ms0uOtdaKViSvYfp41Iudi00EgcCy/Y3CI1AZotTk9mn"
                   "EKcPwg8js23Y8JkPvArkMEMG11ETxdB2HtRitSRw03wVgn7Y/5pxTOz7f0szHQwFNXgtowU+"
                   "pTRoSt+34QT9M8p32pXFeVmM/I/id0J8Y5SrT630kOhmgkvJqs/RVsRPNBk1ddJdomkT8Q3W"
                   "4URsl9FIVt87cCvtG7ab8GvyvMfslmvo/zor8jgBAIo3Ng1Z5N97YXf4KgGro+pf+z6OA7bJ",
             "c": "jMHtqeou0Sqba88+M0lui/pQYjf0zI0eW1YtsjNeo+QRBnxIOUr8ypEW2nvVafaSOhTuI/z6"
                   "BOf8+OIP9PYTudgRcdiTou+fjwsh2JEAsyVnTUMOq2ouFd1X2RvxQri1zLeHdnyI3th6dqMI"
                   "4CfMV///WvKdqIhdTl4mqtPGnQrWsTmLCzKVNiTf8qvmK0oglHorjoRSoF3RtCoVzUFEkyOC"
                   "37JyfMpL72JT6rHQ9Je5uy4YW0YP3W6eCw==",
             "d": "KYkxcAe9Ttf1wvmCER6l4P/gMduATlTHQfKjqep5u1WDVSqWGiJnW1alyF5cMwnTQIZv/+El"
                   "YcpqRgJs5hBRaJqiZc9vhK4RtCBDZVSuB1tVcFp1t2MXsKzitghQ8XicBGADAF9gvsOHH+9v"
                   "WrQyw5afCR2CeFmmDAQUG2XQ9raPO6gwWbc2CiD/Ki32XtVrY/FOYsgH4LmJKDoNjjBznAae"
                   "OB4pwqK+iQTJTgMRZ+zB3fn49ap8+ayieIVeZHNVsGvRYwct+iXTGSEhZdUP8WoNDudY1Lfz"
                   "OQ1vW/nDYuVOrT0rtBhsnCECSvVPC3SvFiuDweJZesKeZ1tOl+TVTNHu3QoZd2kQOzhVdU1Z"
                   "ef4PlwX9DFLSLCYRh7fB9OJt2AGc7fNZfoKpohHdxArQxJ/b/wpaQVIOsekW/txulZVVoVz9"
                   "w0IaOgXlWAIY6chEYKe3KhPsTqvFVsDxxYWHE7YM3Ezaj7x9MntirYdqsDV77YryP7EwiQ=="},
        hint="What does the KL score depend on: the encoder's output, the decoder's, or both?"
             " Look at where the uniform-noise image and the Bernoulli-noise image fell in the "
             "histogram of the lesson's Section 3: what would have to happen for an input's code to look "
             "ordinary?"),
}
register_questions(QUESTIONS)
