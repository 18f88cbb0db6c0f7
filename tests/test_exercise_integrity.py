"""The coding checkers cannot be passed without doing the exercise (issue: exercises that
cannot be passed by copying): the library's own function, a function that calls it and a
copy of its source are refused; a function that never returns is stopped at the time
limit; and the hint for an unrecognised wrong answer does not print the solution."""

from __future__ import annotations

import importlib.util
import inspect
import threading
import time

import pytest
import torch

import vae_utils as vu
from vae_utils.exercises import checking
from vae_utils.exercises import (check_bce_recon, check_elbo_loss, check_kl, check_latent_grid,
                                 check_reparameterize, check_slerp)

# (checker, the library function that solves its exercise)
SOLVED_BY_THE_LIBRARY = [
    (check_bce_recon, vu.bernoulli_nll),
    (check_reparameterize, vu.reparameterize),
    (check_kl, vu.kl_to_standard_normal),
    (check_elbo_loss, vu.elbo_loss),
    (check_latent_grid, vu.latent_grid),
    (check_slerp, vu.slerp),
]
IDS = [checker.__name__ for checker, _ in SOLVED_BY_THE_LIBRARY]


@pytest.mark.parametrize("checker, library", SOLVED_BY_THE_LIBRARY, ids=IDS)
def test_the_library_function_itself_is_refused(checker, library):
    result = checker(library, verbose=False)
    assert result.status == "failed" and result.mistake == "library"
    assert "library's own function" in result.message


@pytest.mark.parametrize("checker, library", SOLVED_BY_THE_LIBRARY, ids=IDS)
def test_a_function_that_calls_the_library_is_refused(checker, library, tmp_path):
    path = tmp_path / f"wrapper_{library.__name__}.py"
    path.write_text(f"import vae_utils as vu\n\n\ndef mine(*args, **kwargs):\n"
                    f"    return vu.{library.__name__}(*args, **kwargs)\n")
    result = checker(_load(path).mine, verbose=False)
    assert result.status == "failed" and result.mistake == "library"
    assert f"calls the library's {library.__name__}" in result.message


@pytest.mark.parametrize("checker, library", SOLVED_BY_THE_LIBRARY, ids=IDS)
def test_a_copy_of_the_library_source_is_refused(checker, library, tmp_path):
    source = inspect.getsource(library).replace(f"def {library.__name__}(", "def my_copy(", 1)
    head, quote, rest = source.partition('"""')  # a new docstring: the statements still match
    _, _, after = rest.partition('"""')
    source = head + '"""My own work, honestly."""' + after if quote else source
    path = tmp_path / f"copy_{library.__name__}.py"
    path.write_text("from __future__ import annotations\n\n" + source)
    result = checker(_load(path).my_copy, verbose=False)
    assert result.status == "failed" and result.mistake == "library"
    assert f"copy of the library's {library.__name__}" in result.message


def test_the_learners_own_correct_function_still_passes():
    def my_kl(mu, logvar):
        return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)

    assert check_kl(my_kl, verbose=False).passed


def test_a_function_that_never_returns_is_stopped(monkeypatch):
    monkeypatch.setattr(checking, "TIME_LIMIT_S", 0.5)

    def my_kl(mu, logvar):
        time.sleep(60)

    start = time.perf_counter()
    result = check_kl(my_kl, verbose=False)
    assert time.perf_counter() - start < 10
    assert result.status == "failed" and result.mistake == "timeout"
    assert "did not return within 0.5 s" in result.message


def test_an_endless_loop_is_stopped_outside_the_main_thread_too(monkeypatch):
    monkeypatch.setattr(checking, "TIME_LIMIT_S", 0.5)
    stop = threading.Event()

    def my_kl(mu, logvar):
        while not stop.is_set():  # endless for the checker; the test ends it afterwards
            time.sleep(0.01)

    results = []
    worker = threading.Thread(target=lambda: results.append(check_kl(my_kl, verbose=False)))
    worker.start()
    worker.join(20)
    stop.set()
    assert not worker.is_alive() and results[0].mistake == "timeout"


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


def _load(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SOLUTION_CODE = ["exp(0.5 * logvar)", "torch.linspace(lo, hi, n)", "sum(1 + logvar - mu",
                 "sin((1 - t) W)", "mu + sigma * eps", "z = mu + ", "Normal(0, 1).icdf(p)"]


def test_no_recognised_mistake_hint_spells_out_the_solution():
    from vae_utils.exercises import (nb02_variational_autoencoder, nb03_kl_divergence_and_elbo,
                                     nb04_latent_grid_sampling, nb05_interpolation_gif)
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
    from vae_utils.exercises import check_answer, check_kl_gaussians

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


def test_a_stub_body_reads_not_attempted():
    def my_slerp(z0, z1, t):
        """Spherical interpolation."""
        # YOUR CODE HERE

    result = check_slerp(my_slerp, verbose=False)
    assert result.status == "not attempted" and "# YOUR CODE HERE" in result.message


def test_the_course_runs_solved_notebooks_as_the_autograder_does(monkeypatch, tmp_path):
    from vae_utils.course import kernel_env

    monkeypatch.setenv("NBGRADER_EXECUTION", "validate")
    assert kernel_env(tmp_path / "notebooks" / "solutions" / "x_solutions.ipynb")[
        "NBGRADER_EXECUTION"] == "autograde"
    assert "NBGRADER_EXECUTION" not in kernel_env(tmp_path / "notebooks" / "x.ipynb")
