"""The engine of the exercise checkers: cases, recognised mistakes, verdicts.

A coding checker calls :func:`run_check` with the learner's function, a list of
:class:`Case` objects, an independent reference and a list of :class:`Mistake` objects (the
usual wrong answers, computed, so that a hint can name the mistake). Every checker returns
a :class:`CheckResult`. Each notebook's checkers live in the module named after the
notebook (``nb01_autoencoder``, ...); the multiple-choice questions are in
:mod:`~vae_utils.exercises.questions`, the time limit and the refusal of library code in
:mod:`~vae_utils.exercises.guards`.

The helpers for writing a checker, public so that the notebook modules share one
behaviour:

* verdicts: :func:`passed`, :func:`failed` and :func:`not_attempted` build, print and
  return a :class:`CheckResult` through :func:`finish`, which raises :class:`CheckFailed`
  while nbgrader grades (:func:`grading`);
* comparison: :func:`clone` (a copy of the arguments for one call), :func:`close`
  (``torch.testing.assert_close`` as a bool, on tensors or tuples of them) and
  :func:`not_finite` (a :attr:`Mistake.spot` for NaN or infinite answers);
* fresh random cases: :func:`fresh_seed` and :func:`fresh_generator`, which draw from the
  operating system (:mod:`secrets`) and never touch torch's, NumPy's or Python's global
  random state, so checking an answer does not change the learner's random numbers.
"""

from __future__ import annotations

import inspect
import secrets
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import torch

from .._env import grading
from . import guards
from .guards import TimeOut, library_copy, with_time_limit

__all__ = [
    "AnswerError",
    "Case",
    "CheckFailed",
    "CheckResult",
    "Mistake",
    "clone",
    "close",
    "failed",
    "finish",
    "fresh_generator",
    "fresh_seed",
    "grading",
    "not_attempted",
    "not_finite",
    "passed",
    "run_check",
]

Status = Literal["passed", "failed", "not attempted"]


# ----------------------------------------------------------------------- the objects


@dataclass
class CheckResult:
    """The verdict of one checker call.

    Attributes:
        name: the checker, e.g. ``"check_kl"``.
        status: ``"passed"``, ``"failed"`` or ``"not attempted"``.
        message: the full text that was printed.
        case: name of the first failing case (``None`` unless failed on a case).
        expected, received: the values of that case (tensors), when there are any.
        mistake: key of the recognised mistake (e.g. ``"missing_half"``), or ``None``.
        hint: the hint that was printed, or ``None``.

    ``bool(result)`` is ``result.passed``. In a notebook the object displays nothing
    (the checker has already printed its verdict).
    """

    name: str
    status: Status
    message: str
    case: str | None = None
    expected: Any = None
    received: Any = None
    mistake: str | None = None
    hint: str | None = None

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        extra = f", mistake={self.mistake!r}" if self.mistake else ""
        return f"CheckResult({self.name}: {self.status}{extra})"

    def _ipython_display_(self) -> None:
        """Show nothing as a cell's last value: the verdict is already printed."""


@dataclass(frozen=True)
class Case:
    """One input on which the learner's answer is compared with the reference.

    Attributes:
        name: what the case tests, printed when it fails ("all-zero mu and logvar").
        args, kwargs: the arguments (tensors are cloned for every call, so an in-place
            edit by the learner cannot change the reference's input).
        seed: ``torch.manual_seed`` set before the learner's call and again before the
            reference's, so stochastic functions draw the same noise (the caller's
            random state is restored afterwards).
        rtol, atol: tolerances of ``torch.testing.assert_close``.
        transform: optional ``f(output, case) -> comparable``: what is compared (e.g. the
            mean and standard deviation of samples) instead of the raw output.
        call: optional ``f(fn, case) -> output`` replacing ``fn(*args, **kwargs)``.
        reference: optional ``f(case) -> expected`` replacing the checker's reference.
    """

    name: str
    args: tuple = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0
    rtol: float = 1e-4
    atol: float = 1e-5
    transform: Callable[[Any, Case], Any] | None = None
    call: Callable[[Callable, Case], Any] | None = None
    reference: Callable[[Case], Any] | None = None


@dataclass(frozen=True)
class Mistake:
    """A typical wrong answer and the hint that goes with it.

    A mistake is recognised either by ``wrong``, which computes the wrong answer from the
    case's arguments (the learner's output is compared with it as with the reference),
    or by ``spot(received, expected, case) -> bool``. The first recognised mistake in
    the checker's list gives the hint.
    """

    key: str
    hint: str
    wrong: Callable[..., Any] | None = None
    spot: Callable[[Any, Any, Case], bool] | None = None


class AnswerError(Exception):
    """Raised inside a checker when an answer is malformed; its text becomes the hint and
    ``key`` the result's ``mistake``."""

    def __init__(self, message: str, key: str = "malformed") -> None:
        super().__init__(message)
        self.key = key


class CheckFailed(AssertionError):
    """Raised by a checker whose answer did not pass, while nbgrader grades the notebook."""


# ------------------------------------------------------------ helpers for checker authors


def clone(value: Any) -> Any:
    """A copy of ``value`` for one call: tensors detached and cloned (keeping
    ``requires_grad``), tuples and lists copied element by element, anything else as it
    is. The learner's function gets copies, so editing its inputs in place cannot change
    the reference's."""
    if isinstance(value, torch.Tensor):
        out = value.detach().clone()
        return out.requires_grad_(value.requires_grad)
    if isinstance(value, tuple):
        return tuple(clone(v) for v in value)
    if isinstance(value, list):
        return [clone(v) for v in value]
    return value


def close(a: Any, b: Any, rtol: float = 1e-4, atol: float = 1e-5,
          equal_nan: bool = False) -> bool:
    """Whether ``a`` and ``b`` (tensors, or tuples of tensors of the same length) have the
    same shapes and agree within ``torch.testing.assert_close``'s tolerances, compared in
    float64. Never raises on a mismatch."""
    if isinstance(a, tuple) or isinstance(b, tuple):
        return (isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b)
                and all(close(x, y, rtol, atol, equal_nan) for x, y in zip(a, b)))
    if a.shape != b.shape:
        return False
    try:
        torch.testing.assert_close(a.double(), b.double(), rtol=rtol, atol=atol,
                                   equal_nan=equal_nan)
    except AssertionError:
        return False
    return True


def not_finite(received: Any, expected: Any, case: Case) -> bool:
    """A :attr:`Mistake.spot`: whether the answer (a tensor or a tuple of them) holds a NaN
    or an infinity."""
    values = received if isinstance(received, tuple) else (received,)
    return any(not torch.isfinite(v).all() for v in values)


def fresh_seed(seed: int | None = None) -> int:
    """``seed`` itself, or when it is ``None`` a new 63-bit seed from the operating system
    (:func:`secrets.randbits`): a checker's fresh random cases differ at every call without
    drawing from (and so changing) torch's, NumPy's or Python's global random state.

    Seed a NumPy or Python generator with it (``np.random.default_rng(fresh_seed(seed))``,
    ``random.Random(fresh_seed(seed))``); for torch use :func:`fresh_generator`.
    """
    return secrets.randbits(63) if seed is None else int(seed)


def fresh_generator(seed: int | None = None) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with :func:`fresh_seed` (``seed``): pass it as
    ``generator=`` to ``torch.randn``, ``torch.rand`` and ``torch.randint`` to draw a
    checker's random cases. With ``seed`` the cases are the same at every call (tests);
    with ``None`` they are new at every call. The global generator is never used."""
    return torch.Generator().manual_seed(fresh_seed(seed))


def finish(result: CheckResult, verbose: bool) -> CheckResult:
    """Print the verdict (if ``verbose``) and return it; while :func:`grading`, raise
    :class:`CheckFailed` unless it passed, so the autograder's test cell fails (and scores 0)
    exactly when the answer is wrong or missing. In a lesson nothing is raised: the notebook
    runs on with the verdict printed.

    :func:`grading` is :func:`vae_utils._env.grading`: nbgrader sets ``NBGRADER_EXECUTION``
    (``"autograde"`` or ``"validate"``) in the kernel's environment while it runs a notebook
    (nbgrader FAQ, "Can I modify the notebook behavior during autograding or validation?"),
    and the course's own runs of the solved notebooks set it too (``vae_utils.course``,
    ``conftest.py``), so they are checked exactly as the autograder checks them.

    Raises:
        CheckFailed: grading, and ``result`` did not pass.
    """
    if verbose:
        print(result.message)
    if grading() and not result.passed:
        raise CheckFailed(result.message)
    return result


def passed(name: str, text: str, verbose: bool) -> CheckResult:
    """The verdict "passed" of checker ``name``: ``[passed] name: text``, printed."""
    return finish(CheckResult(name, "passed", f"[passed] {name}: {text}"), verbose)


def not_attempted(name: str, why: str, verbose: bool,
                  todo: str = "Write your code in the exercise cell, run it, then run this "
                              "check again.") -> CheckResult:
    """The verdict "not attempted" (an untouched stub, an empty answer): ``why`` says what
    the checker saw, ``todo`` what to do next."""
    msg = f"[not attempted yet] {name}: {why} {todo}"
    return finish(CheckResult(name, "not attempted", msg), verbose)


def failed(name: str, text: str, verbose: bool, *, case: str | None = None, expected=None,
           received=None, mistake: str | None = None, hint: str | None = None) -> CheckResult:
    """The verdict "failed": ``text`` says what was wrong; ``expected`` and ``received``
    (tensors) are printed rounded, then the ``hint``. ``mistake`` is the key of the
    recognised mistake, ``case`` the name of the failing case."""
    msg = f"[failed] {name}: {text}"
    if expected is not None:
        msg += f"\n  expected: {_fmt(expected)}"
    if received is not None:
        msg += f"\n  received: {_fmt(received)}"
    if hint:
        msg += f"\n  hint: {hint}"
    return finish(CheckResult(name, "failed", msg, case, expected, received, mistake, hint),
                  verbose)


# ------------------------------------------------------------------------ the engine


@dataclass(frozen=True)
class _Check:
    """One call of :func:`run_check`: what every case is checked with."""

    name: str
    fn: Any
    cases: Sequence[Case]
    reference: Callable[..., Any] | None
    mistakes: Sequence[Mistake]
    generic_hint: str
    verbose: bool

    @property
    def fn_name(self) -> str:
        return getattr(self.fn, "__name__", type(self.fn).__name__)


@dataclass
class _Outcome:
    """What one case gave: the learner's answer and the reference's (converted to the same
    structure), or the exception that stopped the call, or ``stub`` (it returned ``None``)."""

    case: Case
    received: Any = None
    expected: Any = None
    error: Exception | None = None
    stub: bool = False


def run_check(name: str, fn: Any, cases: Sequence[Case], reference: Callable[..., Any] | None, *,
              mistakes: Sequence[Mistake] = (), generic_hint: str = "", verbose: bool = True,
              source: str = "", library: Sequence[Callable] = ()) -> CheckResult:
    """The shared engine of every checker: run, compare, recognise, print.

    Args:
        name: the checker's name, printed in the verdict.
        fn: the learner's function (or class, for checkers with a custom ``Case.call``).
        cases: the cases, in order; the first failing one is reported.
        reference: ``reference(*case.args, **case.kwargs)`` gives the right answer
            (unless a case brings its own ``reference``).
        mistakes: typical wrong answers, in priority order (see :class:`Mistake`).
        generic_hint: the hint when no mistake is recognised.
        verbose: print the verdict (the default).
        source: what the answer was compared with, named in the "passed" line.
        library: the library functions that solve the exercise: passing one, calling one
            or copying one is refused (see :func:`~vae_utils.exercises.guards.library_copy`),
            as is passing any function of ``vae_utils``.

    Every call of the learner's function runs under a time limit
    (:data:`~vae_utils.exercises.guards.TIME_LIMIT_S`); one that runs past it is reported
    as a time-out.

    Returns:
        :class:`CheckResult`. Never raises because of the learner's code (but raises
        :class:`CheckFailed` for an answer that did not pass while :func:`grading`).
    """
    check = _Check(name, fn, tuple(cases), reference, tuple(mistakes), generic_hint, verbose)
    refused = _refusal(check, library)
    if refused is not None:
        return refused
    guarded = _none_guard(fn) if inspect.isroutine(fn) else fn  # classes, modules: as they are
    for i, case in enumerate(check.cases, 1):
        where = f'case {i} of {len(check.cases)}, "{case.name}"'
        result = _verdict(check, _run_case(guarded, case, reference), where)
        if result is not None:
            return result
    against = f" against {source}" if source else ""
    return passed(name, f"all {len(check.cases)} cases match{against}. Well done!", verbose)


def _refusal(check: _Check, library: Sequence[Callable]) -> CheckResult | None:
    """The verdict when there is nothing of the learner's own to run: no answer yet, a
    value instead of a function, or the library's function (or a call or a copy of it)."""
    name, fn, verbose = check.name, check.fn, check.verbose
    if fn is None:
        return not_attempted(name, "nothing to check yet (got None).", verbose)
    if not callable(fn):
        return failed(name, f"expected your function itself, got a {type(fn).__name__}.",
                      verbose, hint=f"pass the function without calling it: {name}(my_function), "
                                    f"not {name}(my_function(...)).")
    copied = library_copy(fn, library)
    if copied is not None:
        return failed(name, f"{copied}.", verbose, mistake="library",
                      hint="the exercise is to write it yourself; the library's version is "
                           "what the checker compares your answer with.")
    return None


def _run_case(fn: Callable, case: Case, reference: Callable[..., Any] | None) -> _Outcome:
    """Call the learner's function on ``case`` (seeded, under the time limit) and the
    reference; an exception from the learner's side is kept in the outcome, not raised."""
    try:
        received = with_time_limit(_call_seeded, case.call or _default_call, case.seed, fn, case)
    except _ReturnedNone:
        received = None
    except Exception as err:  # the learner's code: time-out, stub, malformed, crash
        return _Outcome(case, error=err)
    if _is_stub_return(received):
        return _Outcome(case, stub=True)
    try:
        expected = _expected(case, reference)
        received = _to_tensor_like(received, expected)
    except AnswerError as err:
        return _Outcome(case, error=err)
    return _Outcome(case, received, expected)


def _verdict(check: _Check, outcome: _Outcome, where: str) -> CheckResult | None:
    """The verdict on one case, or ``None`` when the answer matches the reference."""
    name, verbose, case, err = check.name, check.verbose, outcome.case, outcome.error
    if isinstance(err, TimeOut):
        return failed(name, f"{where}: your function did not return within {err.limit:g} s.",
                      verbose, case=case.name, mistake="timeout",
                      hint="look for a loop that never ends (a while loop whose condition "
                           "never changes), a sleep or an input() call, or a Python loop "
                           "over every element of a large tensor.")
    if isinstance(err, NotImplementedError):
        return not_attempted(name, f"{check.fn_name} still raises NotImplementedError.", verbose)
    if isinstance(err, AnswerError):
        return failed(name, f"{where}: your answer has the wrong form.", verbose,
                      case=case.name, mistake=err.key, hint=str(err))
    if err is not None:
        text = f"{type(err).__name__}: {err}".strip()
        return failed(name, f"{where}: your code raised {text}{_student_frame(err)}", verbose,
                      case=case.name, mistake="exception",
                      hint="read the error above; run your function on a small input "
                           "(the case named above) and print the shapes on the way.")
    if outcome.stub:
        return not_attempted(name, f"{check.fn_name} returned None (if you did write it, "
                             "check that it ends with a `return`).", verbose,
                             todo="Write your code where it says `# YOUR CODE HERE`, run "
                                  "that cell, then run this check again.")
    return _compare(check, outcome, where)


def _compare(check: _Check, outcome: _Outcome, where: str) -> CheckResult | None:
    """Compare an answer with the reference (shape, then values); on a difference, the
    verdict names the recognised mistake."""
    name, verbose = check.name, check.verbose
    case, received, expected = outcome.case, outcome.received, outcome.expected

    def compared(value: Any) -> Any:
        return case.transform(value, case) if case.transform else value

    def others() -> list[tuple[Any, Any, Case]]:
        return _answers(check.fn, [c for c in check.cases if c is not case], check.reference)

    if _shape(received) != _shape(expected):
        m = _recognise(check.mistakes, received, expected, case, others)
        return failed(name, f"{where}: wrong shape: expected {_shape(expected)}, got "
                            f"{_shape(received)}.", verbose, case=case.name, expected=expected,
                      received=received, mistake=m.key if m else "shape",
                      hint=m.hint if m else "check which dimensions you sum or average over.")
    try:
        ok = close(compared(received), compared(expected), case.rtol, case.atol)
    except Exception as err:
        return failed(name, f"{where}: your answer could not be compared ({err}).", verbose,
                      case=case.name, mistake="malformed")
    if ok:
        return None
    m = _recognise(check.mistakes, received, expected, case, others)
    return failed(name, f"{where}: values differ from the reference.", verbose,
                  case=case.name, expected=compared(expected), received=compared(received),
                  mistake=m.key if m else None, hint=m.hint if m else check.generic_hint)


# ------------------------------------------------------------------- engine internals


def _call_seeded(f: Callable, seed: int, *args, **kwargs) -> Any:
    """``f(*args, **kwargs)`` with torch's global generator seeded with ``seed``, and the
    caller's random state restored afterwards."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return f(*args, **kwargs)


def _default_call(fn: Callable, case: Case) -> Any:
    return fn(*clone(case.args), **{k: clone(v) for k, v in case.kwargs.items()})


def _expected(case: Case, reference: Callable[..., Any] | None) -> Any:
    """The reference answer to ``case``, detached, as a tensor or tuple of tensors."""
    ref = case.reference or (lambda c: reference(*clone(c.args),
                                                 **{k: clone(v) for k, v in c.kwargs.items()}))
    expected = _detach(_call_seeded(ref, case.seed, case))
    return expected if isinstance(expected, (tuple, torch.Tensor)) else torch.as_tensor(expected)


def _answers(fn: Callable, cases: Sequence[Case],
             reference: Callable[..., Any] | None) -> list[tuple[Any, Any, Case]]:
    """``(received, expected, case)`` for every case the learner's function answers."""
    out = []
    for case in cases:
        try:
            received = with_time_limit(_call_seeded, case.call or _default_call, case.seed,
                                       fn, case)
            if _is_stub_return(received):
                continue
            expected = _expected(case, reference)
            out.append((_to_tensor_like(received, expected), expected, case))
        except Exception:
            continue
    return out


def _detach(value: Any) -> Any:
    if isinstance(value, tuple):
        return tuple(_detach(v) for v in value)
    return value.detach().cpu() if isinstance(value, torch.Tensor) else value


def _to_tensor_like(value: Any, like: Any) -> Any:
    """Convert an answer to the structure of ``like`` (tensor or tuple of tensors)."""
    if isinstance(like, tuple):
        if not isinstance(value, (tuple, list)):
            raise AnswerError(f"expected a tuple of {len(like)} tensors; got "
                              f"{type(value).__name__}.")
        if len(value) != len(like):
            raise AnswerError(f"expected a tuple of {len(like)} tensors; got {len(value)} "
                              "values.")
        return tuple(_to_tensor_like(v, l) for v, l in zip(value, like))
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, (tuple, list)) and any(isinstance(v, torch.Tensor) for v in value):
        raise AnswerError(f"expected one tensor; got a {type(value).__name__} of "
                          f"{len(value)} values. Return just the tensor.")
    try:
        return torch.as_tensor(value, dtype=like.dtype)
    except (TypeError, ValueError, RuntimeError):
        raise AnswerError(f"expected a tensor; got {type(value).__name__}.") from None


def _shape(value: Any) -> Any:
    if isinstance(value, tuple):
        return tuple(_shape(v) for v in value)
    return tuple(value.shape)


def _fmt(value: Any, width: int = 6) -> str:
    """Rounded, machine-independent text of a tensor (or tuple of them)."""
    if isinstance(value, tuple):
        return "(" + ", ".join(_fmt(v, width) for v in value) + ")"
    if not isinstance(value, torch.Tensor):
        return repr(value)
    t = value.detach().double().cpu()
    flat = [f"{v + 0.0:.4g}" for v in t.reshape(-1)[:width].tolist()]  # + 0.0: no "-0"
    if t.numel() == 0:
        body = "[]"
    elif t.dim() == 0:
        body = flat[0]
    else:
        body = "[" + ", ".join(flat) + (", ..." if t.numel() > width else "") + "]"
    return body if t.dim() == 0 else f"{body}  shape {tuple(t.shape)}"


#: The engine's own files, left out of the traceback line shown for a learner's exception.
_ENGINE_FILES = frozenset({__file__, guards.__file__})


def _student_frame(err: BaseException) -> str:
    """The innermost traceback line in the learner's own code (not torch, not here)."""
    frames = traceback.extract_tb(err.__traceback__)
    mine = [f for f in frames if f.filename not in _ENGINE_FILES
            and "site-packages" not in f.filename and "/torch/" not in f.filename]
    if not mine:
        return ""
    f = mine[-1]
    return f" (in {f.name}, line {f.lineno}: {(f.line or '').strip()})"


def _matches(m: Mistake, received: Any, expected: Any, case: Case) -> bool:
    """Whether the answer ``received`` to ``case`` is recognised as mistake ``m``."""
    compare = (lambda v: case.transform(v, case)) if case.transform else (lambda v: v)
    try:
        if m.wrong is not None:
            wrong = _call_seeded(m.wrong, case.seed, *clone(case.args),
                                 **{k: clone(v) for k, v in case.kwargs.items()})
            wrong = _to_tensor_like(wrong, expected)
            return _shape(wrong) == _shape(received) and close(
                compare(received), compare(wrong), case.rtol, case.atol, equal_nan=True)
        return m.spot is not None and bool(m.spot(received, expected, case))
    except Exception:  # a wrong variant that cannot even be computed is not this one
        return False


def _recognise(mistakes: Sequence[Mistake], received: Any, expected: Any, case: Case,
               others: Callable[[], list[tuple[Any, Any, Case]]]) -> Mistake | None:
    """The first mistake that explains the failing answer.

    When several explain it (at ``mu = 0`` a missing 1/2 and a wrong sign both give 0),
    the learner's answers to the other cases (``others()``: ``(received, expected,
    case)`` triples) decide: a mistake computed by ``wrong`` must explain those too.
    """
    found = [m for m in mistakes if _matches(m, received, expected, case)]
    if len(found) > 1:
        rest = others()
        consistent = [m for m in found if m.wrong is None
                      or all(_matches(m, r, e, c) for r, e, c in rest)]
        found = consistent or found
    return found[0] if found else None


class _ReturnedNone(Exception):
    """The learner's function returned ``None`` inside a checker's custom ``Case.call``."""


def _none_guard(fn: Callable) -> Callable:
    """``fn``, raising :class:`_ReturnedNone` when it returns ``None`` (an untouched stub),
    so that a case with its own ``call`` (which would otherwise report the ``None`` as an
    answer of the wrong form) reads "not attempted" like every other case."""
    def guarded(*args, **kwargs):
        out = fn(*args, **kwargs)
        if _is_stub_return(out):
            raise _ReturnedNone
        return out

    guarded.__name__ = getattr(fn, "__name__", "guarded")
    return guarded


def _is_stub_return(value: Any) -> bool:
    return value is None or (isinstance(value, tuple) and len(value) > 0
                             and all(v is None for v in value))
