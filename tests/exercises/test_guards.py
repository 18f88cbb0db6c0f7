"""The coding checkers cannot be passed without doing the exercise
(``vae_utils.exercises.guards``): the library's own function, a function that calls it and
a copy of its source are refused; and a function that never returns is stopped at the
time limit."""

from __future__ import annotations

import functools
import inspect
import threading
import time

import pytest

import vae_utils as vu
from vae_utils.exercises import (check_bce_recon, check_elbo_loss, check_kl, check_latent_grid,
                                 check_reparameterize, check_slerp, guards)
from vae_utils.exercises.guards import TimeOut, code_names, library_copy, with_time_limit

from .helpers import load_module

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


# ------------------------------------------------------------- the learner's own work


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
    result = checker(load_module(path).mine, verbose=False)
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
    result = checker(load_module(path).my_copy, verbose=False)
    assert result.status == "failed" and result.mistake == "library"
    assert f"copy of the library's {library.__name__}" in result.message


def test_the_learners_own_correct_function_still_passes():
    def my_kl(mu, logvar):
        return -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)

    assert check_kl(my_kl, verbose=False).passed


def test_library_copy_refuses_the_modules_and_names_it_is_given(tmp_path):
    import math

    def mine(x):
        return [math.floor(v) for v in x]  # a nested comprehension's names count too

    assert library_copy(mine, ()) is None
    assert library_copy(mine, (), names=("floor",)) == "your function calls the library's floor"
    assert library_copy(math.floor, ()) is None
    assert library_copy(math.floor, (), modules=("math",)) == \
        "you passed the library's own function math.floor"
    assert library_copy(functools.partial(vu.slerp, t=0.5), ()).startswith(
        "you passed the library's own function vae_utils.")  # vae_utils: always refused
    path = tmp_path / "alias.py"  # a library function under another name
    path.write_text("from vae_utils import slerp as my_helper\n\n\n"
                    "def mine(z0, z1, t):\n    return my_helper(z0, z1, t)\n")
    assert library_copy(load_module(path).mine, (vu.slerp,)) == \
        "your function calls the library's slerp"
    assert library_copy(0.5, (vu.slerp,)) is None and library_copy(None, ()) is None


def test_code_names_walks_nested_code():
    def outer(x):
        def inner(y):
            return torch_like.exp(y)  # noqa: F821 (never called)
        return [inner(v) for v in x] + list(map(abs, x))

    assert {"torch_like", "exp", "map", "abs", "list"} <= code_names(outer.__code__)


# ------------------------------------------------------------------------ the time limit


def test_a_function_that_never_returns_is_stopped(monkeypatch):
    monkeypatch.setattr(guards, "TIME_LIMIT_S", 0.5)

    def my_kl(mu, logvar):
        time.sleep(60)

    start = time.perf_counter()
    result = check_kl(my_kl, verbose=False)
    assert time.perf_counter() - start < 10
    assert result.status == "failed" and result.mistake == "timeout"
    assert "did not return within 0.5 s" in result.message


def test_an_endless_loop_is_stopped_outside_the_main_thread_too(monkeypatch):
    monkeypatch.setattr(guards, "TIME_LIMIT_S", 0.5)
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


def test_with_time_limit_returns_or_raises_what_the_call_does(monkeypatch):
    monkeypatch.setattr(guards, "TIME_LIMIT_S", 0.2)
    assert with_time_limit(lambda a, b=0: a + b, 1, b=2) == 3
    with pytest.raises(ZeroDivisionError):
        with_time_limit(lambda: 1 / 0)
    with pytest.raises(TimeOut) as stopped:
        with_time_limit(time.sleep, 5)
    assert stopped.value.limit == 0.2
