"""The checking machinery of the course's exercises: cases, recognised mistakes,
verdicts, and the multiple-choice questions.

A coding checker calls :func:`run_check` with the learner's function, a list of
:class:`Case` objects, an independent reference and a list of :class:`Mistake` objects (the
usual wrong answers, computed, so that a hint can name the mistake). Every checker
returns a :class:`CheckResult`. Each notebook's checkers and questions live in the module
named after the notebook (``nb01_autoencoder``, ...), which registers its questions here.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import inspect
import os
import signal
import textwrap
import threading
import traceback
from collections.abc import Callable, Mapping, Sequence
from types import CodeType
from dataclasses import dataclass, field
from typing import Any, Literal

import torch

__all__ = [
    "QUESTIONS",
    "AnswerError",
    "Case",
    "CheckFailed",
    "CheckResult",
    "Mistake",
    "Question",
    "answer_digest",
    "check_answer",
    "grading",
    "question_markdown",
    "register_questions",
    "seal",
    "unseal",
    "TIME_LIMIT_S",
    "run_check",
]

#: Seconds each call of the learner's function may take before the checker gives up on it
#: and reports a time-out (the checkers' cases are small: a correct answer takes far less).
TIME_LIMIT_S = 10.0

Status = Literal["passed", "failed", "not attempted"]


# --------------------------------------------------------------------------- the engine


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


def _clone(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        out = value.detach().clone()
        return out.requires_grad_(value.requires_grad)
    if isinstance(value, tuple):
        return tuple(_clone(v) for v in value)
    if isinstance(value, list):
        return [_clone(v) for v in value]
    return value


def _call_seeded(f: Callable, seed: int, *args, **kwargs) -> Any:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return f(*args, **kwargs)


class _TimeOut(Exception):
    """The learner's function ran past :data:`TIME_LIMIT_S`."""


def _with_time_limit(f: Callable, *args, **kwargs) -> Any:
    """``f(*args, **kwargs)``, stopped with :class:`_TimeOut` after :data:`TIME_LIMIT_S`.

    In the main thread of a Unix process (a notebook's kernel, a script) a ``SIGALRM``
    timer interrupts the call between two Python steps, so an endless loop or a
    ``time.sleep`` ends at the limit. Elsewhere (Windows, another thread) the call runs in
    a daemon thread that is left behind at the limit: the checker still answers in time.
    """
    limit = float(TIME_LIMIT_S)
    if hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread():
        def _alarm(signum, frame):
            raise _TimeOut()

        previous = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, limit)
        try:
            return f(*args, **kwargs)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    box: dict[str, Any] = {}

    def _run() -> None:
        try:
            box["value"] = f(*args, **kwargs)
        except BaseException as err:  # handed back to the caller below
            box["error"] = err

    worker = threading.Thread(target=_run, daemon=True)
    worker.start()
    worker.join(limit)
    if worker.is_alive():
        raise _TimeOut()
    if "error" in box:
        raise box["error"]
    return box.get("value")


def _body(fn: Any) -> str | None:
    """The statements of a function's body (docstring left out) as an AST dump, or
    ``None`` when its source cannot be read."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None
    node = next((n for n in ast.walk(tree)
                 if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)), None)
    if node is None:
        return None
    body = node.body if isinstance(node.body, list) else [node.body]
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None),
                                                              ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]  # the docstring
    return "\n".join(ast.dump(stmt) for stmt in body) or None


def _cell_filled(cell: Any) -> bool:
    try:
        cell.cell_contents
    except ValueError:  # an empty closure cell
        return False
    return True


def library_copy(fn: Any, library: Sequence[Callable]) -> str | None:
    """Why ``fn`` is not the learner's own work, or ``None`` if it is.

    Refused: a function of ``vae_utils`` itself (``check_kl(vu.kl_to_standard_normal)``),
    one of ``library`` (the functions that solve the exercise), a function that calls one
    of them by name, or a copy of one of them (the same statements, whatever the
    function's name, comments and docstring).
    """
    target = getattr(fn, "func", fn)  # functools.partial
    module = getattr(inspect.getmodule(target), "__name__", "") or ""
    name = getattr(target, "__qualname__", getattr(target, "__name__", type(target).__name__))
    lib = [getattr(f, "__func__", f) for f in library]
    if any(target is f for f in lib) or module.split(".")[0] == "vae_utils":
        return f"you passed the library's own function {module}.{name}"
    code = getattr(target, "__code__", None)
    if isinstance(code, CodeType):
        names, todo = set(), [code]
        while todo:
            c = todo.pop()
            names.update(c.co_names)
            todo.extend(k for k in c.co_consts if isinstance(k, CodeType))
        called = sorted(names & {f.__name__ for f in lib})
        # ... also under another name: a global or a closure variable bound to one of them
        scope = dict(getattr(target, "__globals__", {}))
        for name, cell in zip(code.co_freevars, target.__closure__ or ()):
            if _cell_filled(cell):
                scope[name] = cell.cell_contents
        called += [f.__name__ for name, value in scope.items()
                   if name in names | set(code.co_freevars) for f in lib if value is f]
        if called:
            return f"your function calls the library's {called[0]}"
        mine = _body(target)
        for f in lib:
            if mine is not None and mine == _body(f):
                return f"your function is a copy of the library's {f.__name__}"
    return None


def _default_call(fn: Callable, case: Case) -> Any:
    return fn(*_clone(case.args), **{k: _clone(v) for k, v in case.kwargs.items()})


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


def _close(a: Any, b: Any, rtol: float, atol: float, equal_nan: bool = False) -> bool:
    if isinstance(a, tuple) or isinstance(b, tuple):
        return (isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b)
                and all(_close(x, y, rtol, atol, equal_nan) for x, y in zip(a, b)))
    if a.shape != b.shape:
        return False
    try:
        torch.testing.assert_close(a.double(), b.double(), rtol=rtol, atol=atol,
                                   equal_nan=equal_nan)
    except AssertionError:
        return False
    return True


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


def _student_frame(err: BaseException) -> str:
    """The innermost traceback line in the learner's own code (not torch, not here)."""
    frames = traceback.extract_tb(err.__traceback__)
    mine = [f for f in frames if f.filename != __file__
            and "site-packages" not in f.filename and "/torch/" not in f.filename]
    if not mine:
        return ""
    f = mine[-1]
    return f" (in {f.name}, line {f.lineno}: {(f.line or '').strip()})"


class CheckFailed(AssertionError):
    """Raised by a checker whose answer did not pass, while nbgrader grades the notebook."""


def grading() -> bool:
    """Whether the notebook is being graded: nbgrader sets ``NBGRADER_EXECUTION``
    (``"autograde"`` or ``"validate"``) in the kernel's environment while it runs a
    notebook (nbgrader FAQ, "Can I modify the notebook behavior during autograding or
    validation?").
    The course's own runs of the solved notebooks set it too (``vae_utils.course``,
    ``conftest.py``), so they are checked exactly as the autograder checks them."""
    return bool(os.environ.get("NBGRADER_EXECUTION"))


def _finish(result: CheckResult, verbose: bool) -> CheckResult:
    """Print the verdict; while :func:`grading`, raise :class:`CheckFailed` unless it passed,
    so the autograder's test cell fails (and scores 0) exactly when the answer is wrong or
    missing. In a lesson nothing is raised: the notebook runs on with the verdict printed."""
    if verbose:
        print(result.message)
    if grading() and not result.passed:
        raise CheckFailed(result.message)
    return result


def _not_attempted(name: str, why: str, verbose: bool,
                   todo: str = "Write your code in the exercise cell, run it, then run this "
                               "check again.") -> CheckResult:
    msg = f"[not attempted yet] {name}: {why} {todo}"
    return _finish(CheckResult(name, "not attempted", msg), verbose)


def _failed(name: str, text: str, verbose: bool, *, case: str | None = None, expected=None,
            received=None, mistake: str | None = None, hint: str | None = None) -> CheckResult:
    msg = f"[failed] {name}: {text}"
    if expected is not None:
        msg += f"\n  expected: {_fmt(expected)}"
    if received is not None:
        msg += f"\n  received: {_fmt(received)}"
    if hint:
        msg += f"\n  hint: {hint}"
    return _finish(CheckResult(name, "failed", msg, case, expected, received, mistake, hint),
                   verbose)


def _matches(m: Mistake, received: Any, expected: Any, case: Case) -> bool:
    """Whether the answer ``received`` to ``case`` is recognised as mistake ``m``."""
    compare = (lambda v: case.transform(v, case)) if case.transform else (lambda v: v)
    try:
        if m.wrong is not None:
            wrong = _call_seeded(m.wrong, case.seed, *_clone(case.args),
                                 **{k: _clone(v) for k, v in case.kwargs.items()})
            wrong = _to_tensor_like(wrong, expected)
            return _shape(wrong) == _shape(received) and _close(
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


def run_check(name: str, fn: Any, cases: Sequence[Case], reference: Callable[..., Any], *,
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
            or copying one is refused (see :func:`library_copy`), as is passing any
            function of ``vae_utils``.

    Every call of the learner's function runs under a time limit (:data:`TIME_LIMIT_S`);
    one that runs past it is reported as a time-out.

    Returns:
        :class:`CheckResult`. Never raises because of the learner's code.
    """
    fn_name = getattr(fn, "__name__", type(fn).__name__)
    if fn is None:
        return _not_attempted(name, "nothing to check yet (got None).", verbose)
    if not callable(fn):
        return _failed(name, f"expected your function itself, got a {type(fn).__name__}.", verbose,
                       hint=f"pass the function without calling it: {name}(my_function), "
                            f"not {name}(my_function(...)).")
    copied = library_copy(fn, library)
    if copied is not None:
        return _failed(name, f"{copied}.", verbose, mistake="library",
                       hint="the exercise is to write it yourself; the library's version is "
                            "what the checker compares your answer with.")
    guarded = _none_guard(fn) if inspect.isroutine(fn) else fn  # classes, modules: as they are
    for i, case in enumerate(cases, 1):
        where = f'case {i} of {len(cases)}, "{case.name}"'
        call = case.call or _default_call
        try:
            received = _with_time_limit(_call_seeded, call, case.seed, guarded, case)
        except _TimeOut:
            return _failed(name, f"{where}: your function did not return within "
                                 f"{TIME_LIMIT_S:g} s.", verbose, case=case.name,
                           mistake="timeout",
                           hint="look for a loop that never ends (a while loop whose condition "
                                "never changes), a sleep or an input() call, or a Python loop "
                                "over every element of a large tensor.")
        except NotImplementedError:
            return _not_attempted(name, f"{fn_name} still raises NotImplementedError.",
                                  verbose)
        except _ReturnedNone:
            received = None
        except AnswerError as err:
            return _failed(name, f"{where}: your answer has the wrong form.", verbose,
                           case=case.name, mistake=err.key,
                           hint=str(err))
        except Exception as err:  # the learner's code crashed: report, never raise
            text = f"{type(err).__name__}: {err}".strip()
            return _failed(name, f"{where}: your code raised {text}{_student_frame(err)}",
                           verbose, case=case.name, mistake="exception",
                           hint="read the error above; run your function on a small input "
                                "(the case named above) and print the shapes on the way.")
        if _is_stub_return(received):
            return _not_attempted(name, f"{fn_name} returned None (if you did write it, "
                                  "check that it ends with a `return`).", verbose,
                                  todo="Write your code where it says `# YOUR CODE HERE`, run "
                                       "that cell, then run this check again.")
        try:
            expected = _expected(case, reference)
            received = _to_tensor_like(received, expected)
        except AnswerError as err:
            return _failed(name, f"{where}: your answer has the wrong form.", verbose,
                           case=case.name, mistake=err.key,
                           hint=str(err))

        def compare(value: Any, case: Case = case) -> Any:
            return case.transform(value, case) if case.transform else value

        def others(failing: Case = case) -> list[tuple[Any, Any, Case]]:
            return _answers(fn, [c for c in cases if c is not failing], reference)

        if _shape(received) != _shape(expected):
            m = _recognise(mistakes, received, expected, case, others)
            return _failed(
                name, f"{where}: wrong shape: expected {_shape(expected)}, got "
                      f"{_shape(received)}.", verbose, case=case.name, expected=expected,
                received=received, mistake=m.key if m else "shape",
                hint=m.hint if m else "check which dimensions you sum or average over.")
        try:
            ok = _close(compare(received), compare(expected), case.rtol, case.atol)
        except Exception as err:
            return _failed(name, f"{where}: your answer could not be compared ({err}).", verbose,
                           case=case.name, mistake="malformed")
        if not ok:
            m = _recognise(mistakes, received, expected, case, others)
            return _failed(name, f"{where}: values differ from the reference.", verbose,
                           case=case.name, expected=compare(expected),
                           received=compare(received), mistake=m.key if m else None,
                           hint=m.hint if m else generic_hint)
    against = f" against {source}" if source else ""
    msg = f"[passed] {name}: all {len(cases)} cases match{against}. Well done!"
    return _finish(CheckResult(name, "passed", msg), verbose)


def _expected(case: Case, reference: Callable[..., Any] | None) -> Any:
    """The reference answer to ``case``, detached, as a tensor or tuple of tensors."""
    ref = case.reference or (lambda c: reference(*_clone(c.args),
                                                 **{k: _clone(v) for k, v in c.kwargs.items()}))
    expected = _detach(_call_seeded(ref, case.seed, case))
    return expected if isinstance(expected, (tuple, torch.Tensor)) else torch.as_tensor(expected)


def _answers(fn: Callable, cases: Sequence[Case],
             reference: Callable[..., Any] | None) -> list[tuple[Any, Any, Case]]:
    """``(received, expected, case)`` for every case the learner's function answers."""
    out = []
    for case in cases:
        try:
            received = _with_time_limit(_call_seeded, case.call or _default_call, case.seed,
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


def _not_finite(received: Any, expected: Any, case: Case) -> bool:
    values = received if isinstance(received, tuple) else (received,)
    return any(not torch.isfinite(v).all() for v in values)


# ---------------------------------------------------------- multiple-choice questions


@dataclass(frozen=True)
class Question:
    """A multiple-choice question whose answer key is not readable from the package.

    ``options`` maps a letter to a choice and ``hint`` goes in a collapsible block under the
    question (both are in the notebook anyway). The right letter is stored only as
    ``answer_digest`` (:func:`answer_digest`: a salted SHA-256 of the question's key and
    the letter), and each letter's explanation only sealed (:func:`seal`, with that letter
    as the key), so it is released when the learner chooses that letter. This keeps the
    key out of sight of a learner who reads the package, not from one who tries the four
    letters with :func:`check_answer`, which is what the checker is for.

    To write or change a question: seal the texts with ``seal(key, letter, text)`` and
    ``answer_digest(key, right_letter)`` and paste the results; ``unseal(key, letter,
    q.why[letter])`` reads an explanation back.
    """

    prompt: str
    options: Mapping[str, str]
    answer_digest: str
    why: Mapping[str, str]
    hint: str


_SALT = "vae-course/questions/v1"


def _keystream(key: str, letter: str, n: int) -> bytes:
    blocks, i = [], 0
    while 32 * len(blocks) < n:
        blocks.append(hashlib.sha256(f"{_SALT}|{key}|{letter}|{i}".encode()).digest())
        i += 1
    return b"".join(blocks)[:n]


def seal(key: str, letter: str, text: str) -> str:
    """``text`` (an explanation) sealed for question ``key`` and option ``letter``: base64
    of the UTF-8 bytes XOR a SHA-256 keystream of the salt, the key and the letter."""
    data = text.encode("utf-8")
    mixed = bytes(a ^ b for a, b in zip(data, _keystream(key, letter, len(data))))
    return base64.b64encode(mixed).decode("ascii")


def unseal(key: str, letter: str, sealed: str) -> str:
    """The text that :func:`seal` sealed for ``key`` and ``letter``."""
    data = base64.b64decode(sealed)
    return bytes(a ^ b for a, b in zip(data, _keystream(key, letter, len(data)))).decode("utf-8")


def answer_digest(key: str, letter: str) -> str:
    """The salted digest that stands for "``letter`` is the right answer to ``key``"."""
    return hashlib.sha256(f"{_SALT}|{key}|answer|{letter}".encode()).hexdigest()[:24]


QUESTIONS: dict[str, Question] = {}


def register_questions(questions: Mapping[str, Question]) -> None:
    """Add a notebook's questions to :data:`QUESTIONS`.

    Raises:
        ValueError: a key is already taken (two notebooks used the same name).
    """
    for key, question in questions.items():
        if key in QUESTIONS:
            raise ValueError(f"question {key!r} is registered twice.")
        QUESTIONS[key] = question


def question_markdown(key: str) -> str:
    """The question ``key`` of :data:`QUESTIONS` as notebook markdown, with its options
    and a collapsible hint (an HTML ``<details>`` block).

    Raises:
        KeyError: unknown ``key`` (the message lists the known ones).
    """
    q = _question(key)
    options = "\n".join(f"- **({letter})** {text}" for letter, text in sorted(q.options.items()))
    return (f"{q.prompt}\n\n{options}\n\n<details><summary>Hint</summary>\n\n{q.hint}\n\n"
            "</details>")


def _question(key: str) -> Question:
    if key not in QUESTIONS:
        raise KeyError(f"no question {key!r}; the questions are {sorted(QUESTIONS)}.")
    return QUESTIONS[key]


def check_answer(key: str, answer: str | None, *, verbose: bool = True) -> CheckResult:
    """Check the answer to the multiple-choice question ``key`` of :data:`QUESTIONS`.

    Prints whether the answer is right and the explanation for the chosen option (for a
    wrong option: why it is wrong, without giving the right letter away).

    Args:
        key: the question, e.g. ``"ae_gaps"``.
        answer: a letter such as ``"b"`` (case and brackets ignored); ``None`` or ``""``
            means not attempted yet.
        verbose: print the verdict.

    Returns:
        :class:`CheckResult` (``mistake`` is the wrong letter chosen).

    Raises:
        KeyError: unknown ``key`` (a bug in the notebook, not in the learner's answer).
    """
    q = _question(key)
    name = f"check_answer({key!r})"
    if answer is None or str(answer).strip() == "":
        return _not_attempted(name, "no answer yet.", verbose,
                              todo=f"Set it to one letter ({', '.join(sorted(q.options))}) and run "
                                   "this cell again.")
    letter = str(answer).strip().strip("()").strip().lower()
    if letter not in q.options:
        return _failed(name, f"{answer!r} is not one of the options.", verbose, mistake="invalid",
                       hint=f"answer with one letter: {', '.join(sorted(q.options))}.")
    why = unseal(key, letter, q.why[letter])
    if answer_digest(key, letter) == q.answer_digest:
        return _finish(CheckResult(name, "passed", f"[passed] {name}: ({letter}) is right. "
                                   f"{why}"), verbose)
    return _failed(name, f"({letter}) is not the best answer.", verbose, mistake=letter,
                   hint=why + " Read the other options again and try once more.")
