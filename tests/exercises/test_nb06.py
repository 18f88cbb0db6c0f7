"""Notebook 06's checkers: right answers pass, the usual wrong ones fail with the hint that
names the mistake (and never the solution), stubs read "not attempted", the library's
own function is refused, and the reference agrees with ``vu.iwae_bound``'s maths."""

from __future__ import annotations

import functools
import math

import pytest
import torch

import vae_utils as vu
from vae_utils.exercises import QUESTIONS, check_answer, check_best_elbo, check_iwae_bound
from vae_utils.exercises.nb06_evaluating_a_vae import _best_cases, _iwae_cases, _iwae_reference

from .helpers import fails_with, right_best, right_iwae, stub


# ------------------------------------------------------------------- check_iwae_bound


def test_right_answer_passes(capsys):
    result = check_iwae_bound(right_iwae)
    assert result.passed, result.message
    assert "[passed] check_iwae_bound" in capsys.readouterr().out


def test_right_answer_written_differently_passes():
    def with_max(a, b, c):  # the max subtracted by hand, in float64
        log_w = (a + b - c).double()
        top = log_w.max(1, keepdim=True).values
        out = top[:, 0] + torch.log(torch.exp(log_w - top).mean(1))
        return out.to(a.dtype)

    assert check_iwae_bound(with_max, verbose=False).passed


@pytest.mark.parametrize("wrong, key, words", [
    (lambda a, b, c: torch.log(torch.exp(a + b - c).mean(1)), "exp_underflow", ["logsumexp",
                                                                              "underflow"]),
    (lambda a, b, c: torch.logsumexp(a + b - c, 1), "forgot_log_k", ["log k", "mean"]),
    (lambda a, b, c: torch.logsumexp(a + b - c, 1) + math.log(a.shape[1]), "plus_log_k",
     ["subtract log k"]),
    (lambda a, b, c: (a + b - c).mean(1), "mean_of_logs", ["averaged the log-weights"]),
    (lambda a, b, c: (a + b - c).sum(1), "sum_of_logs", ["a sum where the mean belongs"]),
    (lambda a, b, c: right_iwae(a, torch.zeros_like(b), c), "missing_prior", ["prior"]),
    (lambda a, b, c: right_iwae(a, b, torch.zeros_like(c)), "missing_encoder", ["encoder"]),
    (lambda a, b, c: right_iwae(a, b, -c), "q_sign", ["minus sign"]),
    (lambda a, b, c: right_iwae(a, -b, c), "prior_sign", ["plus sign"]),
    (lambda a, b, c: torch.logsumexp(a + b - c, 0) - math.log(a.shape[0]), "wrong_dim",
     ["dim=1"]),
    (lambda a, b, c: right_iwae(a, b, c).mean(), "batch_reduced", ["one L_k per image"]),
])
def test_usual_mistakes_are_recognised(wrong, key, words):
    result = check_iwae_bound(wrong, verbose=False)
    fails_with(result, key, *words)


def test_hints_never_print_the_solution():
    texts = [check_iwae_bound(lambda a, b, c: (a + b - c).mean(1), verbose=False).message,
             check_iwae_bound(lambda a, b, c: a[:, 0], verbose=False).message]
    for text in texts:
        assert "logsumexp(" not in text and "math.log(" not in text and "- log k)" not in text


def test_the_library_function_is_refused():
    for fn in (vu.iwae_bound, vu.log_importance_weights,
               functools.partial(vu.iwae_bound, k=10)):
        result = check_iwae_bound(fn, verbose=False)
        assert result.status == "failed" and result.mistake == "library"
        assert "library's own function" in result.message and "yourself" in result.hint


def test_a_function_that_calls_the_library_is_refused():
    def mine(log_px_given_z, log_pz, log_qz):
        return vu.log_importance_weights(log_px_given_z, log_pz, log_qz)

    result = check_iwae_bound(mine, verbose=False)
    assert result.mistake == "library" and "calls the library's log_importance_weights" \
        in result.message


def test_stub_and_crash():
    assert check_iwae_bound(stub, verbose=False).status == "not attempted"
    assert check_iwae_bound(lambda a, b, c: None, verbose=False).status == "not attempted"
    crash = check_iwae_bound(lambda a, b, c: a @ b, verbose=False)
    assert crash.status == "failed" and crash.mistake == "exception"


def test_reference_is_the_bound_of_the_library():
    """The checker's reference, fed the library's own log-weights, gives vu.iwae_bound."""
    vu.seed_everything(0)
    model = vu.VAE(latent_dim=4, hidden_dims=(32,)).eval()
    x = torch.bernoulli(torch.full((6, 1, 28, 28), 0.3))
    log_w = vu.log_importance_weights(model, x, 40, generator=torch.Generator().manual_seed(3))
    zeros = torch.zeros_like(log_w)
    ours = _iwae_reference(log_w, zeros, zeros)
    lib = vu.iwae_bound(model, x, 40, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(ours, lib, rtol=1e-5, atol=1e-4)


def test_cases_include_the_underflow_and_are_fresh():
    cases = _iwae_cases()
    naive = [torch.log(torch.exp(c.args[0] + c.args[1] - c.args[2]).mean(1)) for c in cases]
    assert any(not torch.isfinite(v).all() for v in naive)  # the case that catches it
    assert any(torch.isfinite(v).all() for v in naive)  # ... not every case
    assert {c.args[0].shape[1] for c in cases} >= {1, 5, 50, 1000}


# ------------------------------------------------------------------- check_best_elbo


def test_best_elbo_right_answer_passes():
    assert check_best_elbo(right_best, verbose=False).passed

    def popping(points):  # mutating its argument is fine
        best = None
        while points:
            beta, (r, d) = points.popitem()
            if best is None or r + d < best[1]:
                best = (beta, r + d)
        return best

    assert check_best_elbo(popping, verbose=False).passed


@pytest.mark.parametrize("wrong, key, words", [
    (lambda p: (lambda b: (b, p[b][1] + b * p[b][0]))(min(p, key=lambda b: p[b][1] + b * p[b][0])),
     "trained_objective", ["trained on"]),
    (lambda p: (lambda b: (b, sum(p[b])))(min(p, key=lambda b: p[b][1])), "min_distortion",
     ["lowest distortion"]),
    (lambda p: (lambda b: (b, sum(p[b])))(min(p, key=lambda b: p[b][0])), "min_rate",
     ["lowest rate"]),
    (lambda p: (lambda b: (b, sum(p[b])))(max(p, key=lambda b: sum(p[b]))), "worst_point",
     ["smaller is better"]),
    (lambda p: (lambda b: (b, -sum(p[b])))(min(p, key=lambda b: sum(p[b]))), "elbo_sign",
     ["negative ELBO"]),
    (lambda p: (1.0, sum(p[1.0])), "assumed_beta_one", ["beta = 1"]),
    (lambda p: min(p, key=lambda b: sum(p[b])), "malformed", ["pair"]),
])
def test_best_elbo_mistakes(wrong, key, words):
    fails_with(check_best_elbo(wrong, verbose=False), key, *words)


def test_best_elbo_cases_separate_the_mistakes():
    """Each wrong rule picks a different point from the right one on some case."""
    cases = [c.args[0] for c in _best_cases()]
    rules = {"trained objective": lambda p, b: p[b][1] + b * p[b][0],
             "min distortion": lambda p, b: p[b][1], "min rate": lambda p, b: p[b][0]}
    for name, rule in rules.items():
        assert any(min(p, key=lambda b: rule(p, b)) != right_best(p)[0] for p in cases), name
    assert any(right_best(p)[0] != 1.0 for p in cases)
    assert any(min(p, key=lambda b: rules["trained objective"](p, b))
               != min(p, key=lambda b: rules["min distortion"](p, b)) for p in cases)


def test_best_elbo_stub():
    assert check_best_elbo(stub, verbose=False).status == "not attempted"


# ------------------------------------------------------------------------- question


def test_question_iwae_gap():
    assert "iwae_gap" in QUESTIONS
    right = "b"  # the solved notebook's answer; the package holds only a digest
    assert check_answer("iwae_gap", right, verbose=False).passed
    for letter in set(QUESTIONS["iwae_gap"].options) - {right}:
        result = check_answer("iwae_gap", letter, verbose=False)
        assert not result.passed and f"({right})" not in result.message
