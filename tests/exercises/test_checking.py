"""The engine of the checkers (``vae_utils.exercises.checking``): the verdict object and its
printing, stubs and exceptions of the learner's code, the global random state left alone,
hints that name a mistake without printing the solution, and grading under nbgrader."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

import vae_utils.exercises as exercises
from vae_utils.exercises import (check_answer, check_bce_recon, check_elbo_loss,
                                 check_encoder_heads, check_kl, check_kl_gaussians,
                                 check_latent_grid, check_reparameterize, check_slerp, checking)
from vae_utils.exercises import (nb02_variational_autoencoder, nb03_kl_divergence_and_elbo,
                                 nb04_latent_grid_sampling, nb05_interpolation_gif)
from vae_utils.exercises.checking import (CheckFailed, clone, close, failed, fresh_generator,
                                          fresh_seed, not_attempted, not_finite, passed)

from .helpers import (RIGHT_ANSWERS, Heads, answer_key, elbo_sum_then_mean, rep_randn_like,
                      returns_none, stub)

BASIC_CHECKERS = [check_bce_recon, check_reparameterize, check_kl, check_elbo_loss,
                  check_latent_grid, check_slerp]


# -------------------------------------------------------------------- the verdict


def test_result_object_and_printing(capsys):
    def kl(mu, logvar):
        return -0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp(), dim=1)

    result = check_kl(kl)
    out = capsys.readouterr().out
    assert result.passed and bool(result) and result.status == "passed"
    assert out.startswith("[passed] check_kl") and out.strip() == result.message
    assert repr(result) == "CheckResult(check_kl: passed)"
    assert result._ipython_display_() is None  # a notebook shows nothing extra

    quiet = check_kl(stub, verbose=False)
    assert capsys.readouterr().out == ""
    assert quiet.status == "not attempted" and not quiet


def test_the_verdict_helpers_build_print_and_return_the_result(capsys):
    ok = passed("check_x", "all 3 cases match.", True)
    assert ok.passed and capsys.readouterr().out.strip() == "[passed] check_x: all 3 cases match."
    todo = not_attempted("check_x", "nothing yet.", False, todo="Write it.")
    assert todo.status == "not attempted" and todo.message == \
        "[not attempted yet] check_x: nothing yet. Write it."
    bad = failed("check_x", "values differ.", False, case="c1", expected=torch.tensor([1.0]),
                 received=torch.tensor([-0.0, 2.0]), mistake="m", hint="look again.")
    assert (bad.status, bad.case, bad.mistake, bad.hint) == ("failed", "c1", "m", "look again.")
    assert bad.message == ("[failed] check_x: values differ.\n  expected: [1]  shape (1,)\n"
                           "  received: [0, 2]  shape (2,)\n  hint: look again.")
    assert capsys.readouterr().out == ""


def test_the_comparison_helpers():
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    copied = clone((a, [a], 3))
    assert copied[0] is not a and copied[0].requires_grad and copied[1][0] is not a
    assert copied[2] == 3 and torch.equal(copied[0], a)
    assert close(torch.tensor([1.0]), torch.tensor([1.0 + 1e-7]))
    assert not close(torch.tensor([1.0]), torch.tensor([1.1]))
    assert not close(torch.ones(2), torch.ones(3))  # shapes differ: False, no exception
    assert close((torch.ones(2), torch.zeros(1)), (torch.ones(2), torch.zeros(1)))
    assert not close((torch.ones(2),), torch.ones(2))
    assert not_finite(torch.tensor([1.0, float("nan")]), None, None)
    assert not_finite((torch.ones(1), torch.tensor([float("inf")])), None, None)
    assert not not_finite(torch.ones(3), None, None)


@pytest.mark.parametrize("checker", BASIC_CHECKERS)
@pytest.mark.parametrize("stub", [stub, returns_none])
def test_every_checker_reports_an_untouched_stub(checker, stub, capsys):
    result = checker(stub)
    assert result.status == "not attempted" and not result
    assert "[not attempted yet]" in capsys.readouterr().out


def test_a_stub_body_reads_not_attempted():
    def my_slerp(z0, z1, t):
        """Spherical interpolation."""
        # YOUR CODE HERE

    result = check_slerp(my_slerp, verbose=False)
    assert result.status == "not attempted" and "# YOUR CODE HERE" in result.message


@pytest.mark.parametrize("checker", BASIC_CHECKERS)
def test_every_checker_reports_an_exception_instead_of_raising(checker):
    def broken(*args, **kwargs):
        return torch.ones(2) @ torch.ones(3)  # a shape error inside the learner's code

    result = checker(broken)
    assert result.status == "failed" and result.mistake == "exception"
    assert "RuntimeError" in result.message and "in broken" in result.message


def test_passing_a_value_instead_of_the_function():
    result = check_kl(torch.zeros(3), verbose=False)
    assert result.status == "failed" and "without calling it" in result.hint


def test_learner_editing_inputs_in_place_does_not_change_the_reference():
    def kl_in_place(mu, logvar):
        out = -0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp(), dim=1)
        mu.zero_()
        logvar.fill_(5.0)
        return out

    assert check_kl(kl_in_place, verbose=False).passed


# ------------------------------------------------------------- the global random state


def _global_random_states() -> tuple:
    np_state = np.random.get_state()
    return torch.get_rng_state(), (np_state[0], np_state[1].copy(), *np_state[2:]), \
        random.getstate()


def _assert_unchanged(before: tuple) -> None:
    torch_state, np_state, py_state = before
    assert torch.equal(torch.get_rng_state(), torch_state), "torch's global generator moved"
    now = np.random.get_state()
    assert np.array_equal(now[1], np_state[1]) and now[2:] == np_state[2:], \
        "NumPy's global generator moved"
    assert random.getstate() == py_state, "Python's random module moved"


def test_the_right_answers_cover_every_checker():
    checkers = {name for name in exercises.__all__ if name.startswith("check_")}
    assert set(RIGHT_ANSWERS) == checkers - {"check_answer"}


@pytest.mark.parametrize("name", sorted(RIGHT_ANSWERS))
def test_every_checker_leaves_the_global_random_states_alone(name):
    """Checking a right answer draws its fresh cases from its own generators: torch's,
    NumPy's and Python's global random states are where the learner left them."""
    torch.manual_seed(7)
    np.random.seed(7)
    random.seed(7)
    before = _global_random_states()
    result = getattr(exercises, name)(*RIGHT_ANSWERS[name], verbose=False)
    assert result.passed, result.message
    _assert_unchanged(before)


def test_checking_the_questions_leaves_the_global_random_states_alone():
    before = _global_random_states()
    for key, letter in answer_key().items():
        assert check_answer(key, letter, verbose=False).passed
    _assert_unchanged(before)


def test_checkers_leave_the_global_random_state_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    check_reparameterize(lambda mu, lv: mu + torch.exp(0.5 * lv) * torch.randn_like(mu),
                         verbose=False)
    torch.testing.assert_close(torch.rand(3), expected)


def test_elbo_checker_leaves_the_global_random_state_alone():
    torch.manual_seed(321)
    expected = torch.rand(3)
    torch.manual_seed(321)
    check_elbo_loss(elbo_sum_then_mean, verbose=False)
    check_encoder_heads(Heads, verbose=False)
    check_reparameterize(rep_randn_like, verbose=False)
    torch.testing.assert_close(torch.rand(3), expected)


def test_fresh_generators_are_new_at_every_call_unless_seeded():
    before = _global_random_states()
    draws = [torch.randn(4, generator=fresh_generator()) for _ in range(3)]
    assert not torch.equal(draws[0], draws[1]) and not torch.equal(draws[1], draws[2])
    torch.testing.assert_close(torch.randn(4, generator=fresh_generator(5)),
                               torch.randn(4, generator=torch.Generator().manual_seed(5)))
    assert fresh_seed(12) == 12 and fresh_seed() != fresh_seed()
    assert 0 <= fresh_seed() < 2**63
    _assert_unchanged(before)


# ----------------------------------------------------------------------- the hints


@pytest.mark.parametrize("checker, wrong, leaks", [
    (check_kl, lambda mu, logvar: 3.7 * mu.sum(1) + 1.3, ["1 + logvar", "logvar.exp()", "-0.5 *"]),
    (check_bce_recon, lambda logits, x: 2.5 * logits.flatten(1).sum(1) + 1.0,
     ["binary_cross_entropy_with_logits", "reduction="]),
    (check_slerp, lambda z0, z1, t: z0 * 0.3 + 1.0, ["arccos(", "sin((1 - t)"]),
    (check_latent_grid, lambda n, lo=0.05, hi=0.95: torch.linspace(-7, 3, n), ["icdf(", "linspace(lo, hi"]),
    (check_reparameterize, lambda mu, logvar: mu * 3.1 + 0.2, ["torch.exp(0.5 * logvar)",
                                                               "mu + "]),
])
def test_the_hint_for_an_unrecognised_answer_does_not_print_the_solution(checker, wrong, leaks):
    result = checker(wrong, verbose=False)
    assert result.status == "failed" and result.hint
    assert "expected:" in result.message and "received:" in result.message
    for text in leaks:
        assert text not in result.hint, (text, result.hint)


SOLUTION_CODE = ["exp(0.5 * logvar)", "torch.linspace(lo, hi, n)", "sum(1 + logvar - mu",
                 "sin((1 - t) W)", "mu + sigma * eps", "z = mu + ", "Normal(0, 1).icdf(p)"]


def test_no_recognised_mistake_hint_spells_out_the_solution():
    hints = [m.hint for module in (nb02_variational_autoencoder, nb03_kl_divergence_and_elbo,
                                   nb04_latent_grid_sampling, nb05_interpolation_gif)
             for value in vars(module).values() if isinstance(value, list | tuple)
             for m in value if isinstance(m, checking.Mistake)]
    assert len(hints) > 30
    for hint in hints:
        assert not any(code in hint for code in SOLUTION_CODE), hint


# ------------------------------------------------- graded by nbgrader: a check cell fails


def test_under_nbgrader_a_wrong_or_missing_answer_raises_and_a_right_one_does_not(monkeypatch,
                                                                                   capsys):
    def right(mu_q, lv_q, mu_p, lv_p):
        return 0.5 * (lv_p - lv_q + (lv_q.exp() + (mu_q - mu_p) ** 2) / lv_p.exp() - 1).sum(1)

    def stub(mu_q, lv_q, mu_p, lv_p):
        """The generated stub: a body of only '# YOUR CODE HERE' returns None."""

    assert not checking.grading()
    assert check_kl_gaussians(lambda *a: 2 * right(*a), verbose=False).status == "failed"
    for mode in ("autograde", "validate"):  # the two values nbgrader sets
        monkeypatch.setenv("NBGRADER_EXECUTION", mode)
        assert checking.grading()
        assert check_kl_gaussians(right).passed
        with pytest.raises(checking.CheckFailed, match=r"(?s)\[failed\] check_kl_gaussians.*1/2"):
            check_kl_gaussians(lambda *a: 2 * right(*a))
        with pytest.raises(checking.CheckFailed, match="not attempted yet"):
            check_kl_gaussians(stub)
        with pytest.raises(checking.CheckFailed, match="no answer yet"):
            check_answer("reduction", None)
        assert isinstance(checking.CheckFailed("x"), AssertionError)
    assert "[failed]" in capsys.readouterr().out  # the verdict is printed before the raise


def test_the_verdict_helpers_raise_while_grading(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert passed("check_x", "fine.", False).passed
    with pytest.raises(CheckFailed, match="nothing yet"):
        not_attempted("check_x", "nothing yet.", False)
    with pytest.raises(CheckFailed, match="wrong"):
        failed("check_x", "wrong.", False)


def test_the_course_runs_solved_notebooks_as_the_autograder_does(monkeypatch, tmp_path):
    from vae_utils.course import kernel_env

    monkeypatch.setenv("NBGRADER_EXECUTION", "validate")
    assert kernel_env(tmp_path / "notebooks" / "solutions" / "x_solutions.ipynb")[
        "NBGRADER_EXECUTION"] == "autograde"
    assert "NBGRADER_EXECUTION" not in kernel_env(tmp_path / "notebooks" / "x.ipynb")
