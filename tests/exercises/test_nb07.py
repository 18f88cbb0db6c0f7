"""Notebook 07's exercises: ``check_auroc`` accepts correct AUROCs in several forms, names
the usual mistakes, refuses library functions, and draws fresh cases; the multiple-choice
question ``kl_blind_spot``."""

import functools

import numpy as np
import pytest
import torch
from scipy.stats import mannwhitneyu
from sklearn.metrics import roc_auc_score

import vae_utils as vu
from vae_utils.exercises import QUESTIONS, check_answer, check_auroc, question_markdown
from vae_utils.exercises.nb07_latent_space_and_anomalies import _auroc_cases

from .helpers import fails_with, pairwise_auroc


# ------------------------------------------------------------------ right answers


def rank_auroc(scores_in, scores_out):
    """The solution: average ranks for ties, Mann-Whitney U, divided."""
    scores = torch.cat([scores_in, scores_out]).double()
    ranks = torch.empty_like(scores)
    ranks[scores.argsort()] = torch.arange(1, len(scores) + 1, dtype=scores.dtype)
    _, group, count = torch.unique(scores, return_inverse=True, return_counts=True)
    rank_sum = torch.zeros(len(count), dtype=scores.dtype).index_add_(0, group, ranks)
    ranks = (rank_sum / count)[group]
    n_in, n_out = len(scores_in), len(scores_out)
    return ((ranks[n_in:].sum() - n_out * (n_out + 1) / 2) / (n_in * n_out)).item()


def numpy_auroc(scores_in, scores_out):
    """A right answer in NumPy, returning a NumPy float."""
    a, b = scores_in.numpy(), scores_out.numpy()
    return np.mean(b[:, None] > a[None]) + 0.5 * np.mean(b[:, None] == a[None])


@pytest.mark.parametrize("fn", [rank_auroc, pairwise_auroc, numpy_auroc])
def test_right_answers_pass_on_fresh_cases(fn, capsys):
    for _ in range(5):  # fresh random cases every call
        assert check_auroc(fn).passed
    assert "[passed] check_auroc" in capsys.readouterr().out


def test_cases_are_fresh_unless_seeded_and_cover_ties():
    def sizes(cases):
        return [(len(c.args[0]), len(c.args[1])) for c in cases]

    draws = [sizes(_auroc_cases()) for _ in range(5)]
    assert len({tuple(d) for d in draws}) > 1  # new random cases on (almost) every call
    assert sizes(_auroc_cases(seed=1)) == sizes(_auroc_cases(seed=1))
    cases = _auroc_cases(seed=2)
    assert any("ties" in c.name for c in cases)
    tied = [c for c in cases if "many ties" in c.name][0]
    both = torch.cat(tied.args)
    assert len(both.unique()) < len(both)  # the "ties" cases really have ties
    # the edge cases' answers, from scikit-learn itself
    expected = [1.0, 0.0, 0.5, 0.75]
    for case, value in zip(cases[:4], expected):
        a, b = case.args
        labels = np.r_[np.zeros(len(a)), np.ones(len(b))]
        assert roc_auc_score(labels, np.r_[a.numpy(), b.numpy()]) == pytest.approx(value)


# ------------------------------------------------------------------ the usual mistakes


def swapped(a, b):
    return rank_auroc(b, a)


def ties_ignored(a, b):
    return (b[:, None] > a[None]).double().mean()


def ordinal_ranks(a, b):
    """argsort ranks without averaging ties: stable sort puts in-distribution first."""
    s = torch.cat([a, b])
    r = torch.empty_like(s)
    r[s.argsort(stable=True)] = torch.arange(1, len(s) + 1, dtype=s.dtype)
    return (r[len(a):].sum() - len(b) * (len(b) + 1) / 2) / (len(a) * len(b))


def u_only(a, b):
    return rank_auroc(a, b) * len(a) * len(b)


def rank_sum_divided(a, b):
    return (rank_auroc(a, b) * len(a) * len(b) + len(b) * (len(b) + 1) / 2) / (len(a) * len(b))


def zero_based(a, b):
    return rank_auroc(a, b) - 1 / len(a)


def per_score(a, b):
    return (b[:, None] > a[None]).double().mean(1)


@pytest.mark.parametrize("fn, key, words", [
    (swapped, "swapped", ["positive class"]),
    (ties_ignored, "ties_as_losses", ["tie", "one half"]),
    (ordinal_ranks, "ties_as_wins", ["tie", "average of their ranks"]),
    (u_only, "not_divided", ["n_in * n_out"]),
    (rank_sum_divided, "rank_sum", ["subtract"]),
    (zero_based, "ranks_from_zero", ["start at 0"]),
    (per_score, "not_one_number", ["one number"]),
    (lambda a, b: torch.tensor(float("nan")), "not_finite", ["NaN"]),
])
def test_mistakes_are_named(fn, key, words):
    for _ in range(3):
        fails_with(check_auroc(fn, verbose=False), key, *words)


def test_hints_never_print_the_solution():
    for fn in (swapped, ties_ignored, u_only, zero_based):
        msg = check_auroc(fn, verbose=False).message
        assert "def " not in msg and "argsort" not in msg and "index_add" not in msg


# --------------------------------------------------------------- library functions


@pytest.mark.parametrize("fn, name", [
    (roc_auc_score, "roc_auc_score"),
    (vu.auroc, "auroc"),
    (functools.partial(roc_auc_score), "roc_auc_score"),
    (lambda a, b: roc_auc_score(np.r_[np.zeros(len(a)), np.ones(len(b))],
                                np.r_[a.numpy(), b.numpy()]), "roc_auc_score"),
    (lambda a, b: mannwhitneyu(b, a).statistic / (len(a) * len(b)), "mannwhitneyu"),
])
def test_library_functions_are_refused_with_a_message_saying_so(fn, name, capsys):
    result = check_auroc(fn)
    out = capsys.readouterr().out
    assert result.status == "failed" and result.mistake == "library"
    assert name in result.message and "library function" in out
    assert "by hand" in result.hint


# ------------------------------------------------------------------ the engine's paths


def test_stub_exception_and_value_instead_of_function():
    def stub(a, b):
        raise NotImplementedError

    assert check_auroc(stub, verbose=False).status == "not attempted"
    assert check_auroc(lambda a, b: None, verbose=False).status == "not attempted"

    def broken(a, b):
        return torch.ones(2) @ torch.ones(3)

    result = check_auroc(broken, verbose=False)
    assert result.mistake == "exception" and "RuntimeError" in result.message
    result = check_auroc(0.5, verbose=False)
    assert result.status == "failed" and "without calling it" in result.hint


def test_the_learners_inputs_cannot_corrupt_the_reference():
    def sorts_in_place(a, b):
        a.sort()  # returns a copy: harmless; now one that writes into its input
        a.mul_(0)
        return pairwise_auroc(a, b)

    assert not check_auroc(sorts_in_place, verbose=False).passed
    assert check_auroc(pairwise_auroc, verbose=False).passed


# ------------------------------------------------------------------------- question


def test_kl_blind_spot_question():
    q = QUESTIONS["kl_blind_spot"]
    assert set(q.options) == set(q.why) == {"a", "b", "c", "d"}
    assert check_answer("kl_blind_spot", "a", verbose=False).passed
    assert check_answer("kl_blind_spot", "(A)", verbose=False).passed
    for wrong in "bcd":
        result = check_answer("kl_blind_spot", wrong, verbose=False)
        assert result.status == "failed" and result.mistake == wrong
        assert "(a)" not in result.message  # the right letter is not given away
    assert check_answer("kl_blind_spot", None, verbose=False).status == "not attempted"
    text = question_markdown("kl_blind_spot")
    assert all(f"**({letter})**" in text for letter in "abcd") and "<details>" in text
