"""Exercise checkers: the learner writes a function, one call says whether it is right.

Every coding exercise of the course ends with one call such as ``check_kl(my_kl)``. The
checker runs the learner's function on several cases (edge cases included), compares
each answer with the library's own reference (``torch.testing.assert_close``), and
prints a verdict:

* ``passed``: every case matched;
* ``failed``: the first case that did not match, with the expected and received values
  and a hint. The hint is chosen by *recognising* the mistake: the checker computes the
  usual wrong answers (a missing 1/2, the wrong sign, a mean where a sum belongs, sigma
  where the log-variance belongs, ...) and says which one the learner's output equals;
* ``not attempted``: the function still raises ``NotImplementedError`` (or returns
  ``None``), so a notebook with untouched stubs runs top to bottom.

An exception raised by the learner's code is reported (``failed``, with the exception)
and never propagates, so one broken exercise does not stop the notebook.

Every checker returns a :class:`CheckResult` (truthy exactly when it passed), so a
solutions notebook can write ``assert check_kl(my_kl).passed``.

Checkers, by the notebook that uses them:

* 01: :func:`check_bce_recon`: the Bernoulli reconstruction term from logits, per image.
* 02: :func:`check_reparameterize`: ``z = mu + exp(logvar / 2) * eps``;
  :func:`check_encoder_heads`: the encoder's linear ``mu`` and ``logvar`` heads;
  :func:`check_beta_experiment`: the KL falls and reconstruction rises as ``beta`` grows.
* 03: :func:`check_kl`: the closed-form KL to ``N(0, I)``;
  :func:`check_elbo_loss`: the negative ELBO with the right reductions.
* 04: :func:`check_latent_grid`: inverse-CDF coordinates of a latent grid.
* 05: :func:`check_slerp`: spherical interpolation between two codes.
* all: :func:`check_answer`: the multiple-choice questions of :data:`QUESTIONS`.

All coding checkers are built on :func:`run_check` (cases, comparison, recognition of
the mistake, verdict).

References: :mod:`vae_utils.losses`, :func:`vae_utils.models.reparameterize`,
:mod:`vae_utils.latent`; the maths is that of Kingma and Welling 2014, "Auto-Encoding
Variational Bayes" (Eq. 10, Appendix B) and White 2016, "Sampling Generative Networks".
"""

from __future__ import annotations

import math
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from .latent import latent_grid as _latent_grid
from .latent import slerp as _slerp
from .losses import bernoulli_nll, elbo_loss, kl_to_standard_normal
from .models import reparameterize as _reparameterize

__all__ = [
    "QUESTIONS",
    "Case",
    "CheckResult",
    "Mistake",
    "Question",
    "check_answer",
    "check_bce_recon",
    "check_beta_experiment",
    "check_elbo_loss",
    "check_encoder_heads",
    "check_kl",
    "check_latent_grid",
    "check_reparameterize",
    "check_slerp",
    "question_markdown",
    "run_check",
]

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


def _finish(result: CheckResult, verbose: bool) -> CheckResult:
    if verbose:
        print(result.message)
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


def _is_stub_return(value: Any) -> bool:
    return value is None or (isinstance(value, tuple) and len(value) > 0
                             and all(v is None for v in value))


def run_check(name: str, fn: Any, cases: Sequence[Case], reference: Callable[..., Any], *,
              mistakes: Sequence[Mistake] = (), generic_hint: str = "", verbose: bool = True,
              source: str = "") -> CheckResult:
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
    for i, case in enumerate(cases, 1):
        where = f'case {i} of {len(cases)}, "{case.name}"'
        call = case.call or _default_call
        try:
            received = _call_seeded(call, case.seed, fn, case)
        except NotImplementedError:
            return _not_attempted(name, f"{fn_name} still raises NotImplementedError.",
                                  verbose)
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
            return _not_attempted(name, f"{fn_name} returned None (if you did write "
                                  "it, check that it ends with a `return`).", verbose)
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
            received = _call_seeded(case.call or _default_call, case.seed, fn, case)
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
            "F.logsigmoid), which is stable.", spot=_not_finite),
]


def check_bce_recon(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], *,
                    verbose: bool = True) -> CheckResult:
    """Check ``fn(logits, x) -> (B,)``: the Bernoulli reconstruction term per image.

    The expected answer is ``-log p(x|z) = sum_i BCE(sigmoid(logits_i), x_i)`` summed over
    the 784 pixels of each image, in nats (:func:`vae_utils.losses.bernoulli_nll`;
    Kingma and Welling 2014, Appendix C.1). Cases: binary and grey targets, ``B = 1``,
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
    return run_check("check_bce_recon", fn, _bce_cases(), bernoulli_nll, mistakes=_BCE_MISTAKES,
                     generic_hint="compute F.binary_cross_entropy_with_logits(logits, x, "
                                  "reduction='none') and sum it over each image's pixels.",
                     verbose=verbose, source="vae_utils.losses.bernoulli_nll")


# ------------------------------------------------------------------ 02: reparameterize


def _moments(z: Any, case: Case) -> tuple[torch.Tensor, torch.Tensor]:
    """Column means and standard deviations of many samples ``(N, D)``."""
    return z.mean(0), z.std(0)


def _reparam_gradients(fn: Callable, case: Case) -> tuple[torch.Tensor, torch.Tensor]:
    """Call ``fn`` on leaf tensors and return ``(dz/dmu, dz/dlogvar - (z - mu) / 2)``.

    For ``z = mu + exp(logvar / 2) * eps`` the first is all ones and the second all zeros,
    whatever ``eps`` was drawn.
    """
    mu, logvar = (a.detach().clone().requires_grad_(True) for a in case.args)
    z = fn(mu, logvar)
    if z is None:
        return None
    if not isinstance(z, torch.Tensor):
        raise AnswerError(f"expected a tensor; got {type(z).__name__}.")
    if not z.requires_grad:
        raise AnswerError("no gradient reaches mu or logvar: z must be computed from them "
                          "with differentiable operations (z = mu + std * eps), not under "
                          "torch.no_grad(), .detach() or .sample().", key="no_gradient")
    if z.shape != mu.shape:
        raise AnswerError(f"z must have the shape of mu {tuple(mu.shape)}; got "
                          f"{tuple(z.shape)}.")
    g_mu, g_logvar = torch.autograd.grad(z.sum(), [mu, logvar], allow_unused=True)
    g_mu = torch.zeros_like(mu) if g_mu is None else g_mu
    g_logvar = torch.zeros_like(logvar) if g_logvar is None else g_logvar
    return g_mu.detach(), (g_logvar - 0.5 * (z - mu)).detach()


def _reparam_cases() -> list[Case]:
    g = torch.Generator().manual_seed(2)
    mu = torch.randn(5, 3, generator=g)
    logvar = torch.randn(5, 3, generator=g)
    n = 20_000
    mu_big = torch.tensor([1.5, -2.0]).repeat(n, 1)
    logvar_big = torch.tensor([math.log(0.25), math.log(4.0)]).repeat(n, 1)  # sigma 0.5 and 2
    ones_zeros = lambda c: (torch.ones(5, 3), torch.zeros(5, 3))  # noqa: E731
    return [
        Case("20,000 samples: mean mu = (1.5, -2), std exp(logvar / 2) = (0.5, 2)",
             (mu_big, logvar_big), transform=_moments, rtol=0.03, atol=0.05),
        Case("tiny variance (logvar = -30): z must equal mu", (mu, torch.full_like(mu, -30.0)),
             atol=1e-4),
        Case("gradients: dz/dmu = 1 and dz/dlogvar = (z - mu) / 2", (mu, logvar),
             call=_reparam_gradients, reference=ones_zeros, atol=1e-5),
        Case("same seed as the reference (eps = torch.randn_like(mu)): identical z, (5, 3)",
             (mu, logvar)),
    ]


def _eps_like(mu: torch.Tensor) -> torch.Tensor:
    return torch.randn_like(mu)


_REPARAM_MISTAKES = [
    Mistake("variance_not_std", "you scaled eps by the variance exp(logvar); scale it by the "
            "standard deviation sigma = exp(logvar / 2) = exp(0.5 * logvar) (the missing 1/2).",
            wrong=lambda mu, logvar: mu + torch.exp(logvar) * _eps_like(mu)),
    Mistake("logvar_as_sigma", "you used logvar as if it were sigma: logvar = log sigma^2 can "
            "be negative; sigma = exp(0.5 * logvar).",
            wrong=lambda mu, logvar: mu + logvar * _eps_like(mu)),
    Mistake("forgot_exp", "you forgot the exp: sigma = exp(0.5 * logvar), not 0.5 * logvar.",
            wrong=lambda mu, logvar: mu + 0.5 * logvar * _eps_like(mu)),
    Mistake("forgot_mu", "z must be centred on mu: z = mu + sigma * eps (you left out mu).",
            wrong=lambda mu, logvar: torch.exp(0.5 * logvar) * _eps_like(mu)),
    Mistake("no_noise", "z has no noise: you returned mu (or mu + sigma). Multiply sigma by "
            "eps = torch.randn_like(sigma).",
            wrong=lambda mu, logvar: mu + 0 * logvar),
    Mistake("no_noise", "z has no noise: you returned mu + sigma. Multiply sigma by "
            "eps = torch.randn_like(sigma).",
            wrong=lambda mu, logvar: mu + torch.exp(0.5 * logvar)),
    Mistake("torch_normal", "no gradient reaches mu: torch.normal(mu, std) and "
            "Normal(mu, std).sample() do not pass gradients. Write z = mu + std * eps with "
            "eps = torch.randn_like(std) (or use .rsample()).",
            spot=lambda r, e, c: isinstance(r, tuple) and bool((r[0] == 0).all())),
    Mistake("wrong_gradient", "the gradient with respect to logvar is not (z - mu) / 2: "
            "use sigma = exp(0.5 * logvar) inside the sum, not a detached or squared version.",
            spot=lambda r, e, c: isinstance(r, tuple) and c.call is _reparam_gradients),
]


def check_reparameterize(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], *,
                         verbose: bool = True) -> CheckResult:
    """Check ``fn(mu, logvar) -> z``: the reparameterisation trick.

    Reference :func:`vae_utils.models.reparameterize`: ``z = mu + exp(logvar / 2) * eps``,
    ``eps ~ N(0, I)`` (Kingma and Welling 2014, Section 2.4). The checker compares the
    mean and standard deviation of 20,000 samples (so the hint does not depend on how
    ``eps`` is drawn), checks ``z = mu`` when the variance is tiny, the gradients
    ``dz/dmu = 1`` and ``dz/dlogvar = (z - mu) / 2``, and finally, with the generator
    seeded, that ``z`` equals the reference's draw (``torch.randn``, ``randn_like``,
    ``normal_`` and ``Normal(...).rsample()`` all draw the same numbers).

    Args:
        fn: ``mu`` float ``(B, D)``, ``logvar`` float ``(B, D)`` (log sigma^2) -> ``z``
            float ``(B, D)``.
        verbose: print the verdict.

    Returns:
        :class:`CheckResult`; recognised mistakes: ``variance_not_std``,
        ``logvar_as_sigma``, ``forgot_exp``, ``forgot_mu``, ``no_noise``,
        ``torch_normal``, ``wrong_gradient``.
    """
    cases = _reparam_cases()
    return run_check("check_reparameterize", fn, cases, _reparameterize,
                     mistakes=_REPARAM_MISTAKES,
                     generic_hint="z = mu + torch.exp(0.5 * logvar) * eps with eps = "
                                  "torch.randn_like(mu). (The checker seeds the random "
                                  "generator, so with randn_like your z equals the reference "
                                  "exactly.)",
                     verbose=verbose, source="vae_utils.models.reparameterize")


# ------------------------------------------------------------- 02: mu and logvar heads
#
# The reference is computed from the learner's own layers, so each check keeps the module
# it built for each case in a dict ``built``, keyed by (hidden_dim, latent_dim) (unique per
# case), local to one call of check_encoder_heads.

Built = dict[tuple[int, int], nn.Module]


def _heads_call(built: Built) -> Callable[[Any, Case], Any]:
    def call(cls: Any, case: Case) -> Any:
        hidden_dim, latent_dim, h = case.args
        if isinstance(cls, nn.Module):
            raise AnswerError("pass the class itself, not an instance: check_encoder_heads("
                              "GaussianHeads).")
        module = cls(hidden_dim, latent_dim)
        built[(hidden_dim, latent_dim)] = module
        return module(h.clone())
    return call


def _heads_reference(built: Built) -> Callable[..., tuple[torch.Tensor, torch.Tensor]]:
    def reference(hidden_dim: int, latent_dim: int, h: torch.Tensor) -> tuple:
        module = built.get((hidden_dim, latent_dim))
        layers = []
        for attr in ("fc_mu", "fc_logvar"):
            layer = getattr(module, attr, None)
            if not isinstance(layer, nn.Linear):
                raise AnswerError(f"your module needs a layer named {attr}, an nn.Linear (as in "
                                  "vu.VAE); name the two heads fc_mu and fc_logvar.")
            if (layer.in_features, layer.out_features) != (hidden_dim, latent_dim):
                raise AnswerError(f"{attr} must map hidden_dim={hidden_dim} features to "
                                  f"latent_dim={latent_dim}; it is nn.Linear("
                                  f"{layer.in_features}, {layer.out_features}).")
            layers.append(layer)
        with torch.no_grad():
            return tuple(F.linear(h, layer.weight, layer.bias) for layer in layers)
    return reference


def _heads_cases(built: Built) -> list[Case]:
    g = torch.Generator().manual_seed(3)
    h_pos = torch.relu(torch.randn(6, 16, generator=g))
    ref = _heads_reference(built)
    kw = {"call": _heads_call(built), "reference": lambda c: ref(*c.args)}
    return [
        Case("hidden_dim=16, latent_dim=3, batch of 6 (post-ReLU features)", (16, 3, h_pos), **kw),
        Case("hidden_dim=12, latent_dim=4, features of both signs",
             (12, 4, torch.randn(6, 12, generator=g) * 3), seed=1, **kw),
        Case("the course's sizes: hidden_dim=400, latent_dim=20, batch of 2",
             (400, 20, torch.relu(torch.randn(2, 400, generator=g))), seed=2, **kw),
        Case("one example (B = 1)", (8, 2, torch.randn(1, 8, generator=g)), seed=3, **kw),
    ]


def _heads_mistakes(built: Built) -> list[Mistake]:
    ref = _heads_reference(built)

    def wrong(f_mu: Callable, f_logvar: Callable) -> Callable[..., tuple]:
        def answer(hidden_dim: int, latent_dim: int, h: torch.Tensor) -> tuple:
            mu, logvar = ref(hidden_dim, latent_dim, h)
            return f_mu(mu, logvar), f_logvar(mu, logvar)
        return answer

    return [
        Mistake("swapped", "mu and logvar are swapped: return (mu, logvar) in that order.",
                wrong=wrong(lambda mu, lv: lv, lambda mu, lv: mu)),
        Mistake("same_head", "mu and logvar come out equal: both must have their own layer "
                "(self.fc_mu(h), self.fc_logvar(h)).",
                wrong=wrong(lambda mu, lv: mu, lambda mu, lv: mu)),
        Mistake("logvar_sigma_exp", "your second output is sigma = exp(.), not the "
                "log-variance: return the raw output of fc_logvar (the model works with "
                "log sigma^2, any real number; sigma = exp(0.5 * logvar) is computed later).",
                wrong=wrong(lambda mu, lv: mu, lambda mu, lv: torch.exp(lv))),
        Mistake("logvar_sigma_exp", "your second output is exp(0.5 * .) = sigma, not the "
                "log-variance: return the raw output of fc_logvar.",
                wrong=wrong(lambda mu, lv: mu, lambda mu, lv: torch.exp(0.5 * lv))),
        Mistake("activation_logvar", "no activation on the logvar head: logvar = log sigma^2 "
                "must be able to go negative (sigma < 1). A softplus/ReLU there gives sigma, or "
                "a clipped value, not the log-variance.",
                wrong=wrong(lambda mu, lv: mu, lambda mu, lv: F.softplus(lv))),
        Mistake("activation_logvar", "no activation on the logvar head: a ReLU forbids "
                "logvar < 0, i.e. sigma < 1.",
                wrong=wrong(lambda mu, lv: mu, lambda mu, lv: torch.relu(lv))),
        Mistake("activation_mu", "no activation on the mu head: the mean can be any real "
                "number, so fc_mu's output is returned as it is (no ReLU, sigmoid or tanh).",
                spot=lambda r, e, c: isinstance(r, tuple) and not _close(r[0], e[0], 1e-4, 1e-5)
                and _close(r[1], e[1], 1e-4, 1e-5)),
        Mistake("activation_logvar", "no activation on the logvar head: return fc_logvar(h) "
                "as it is (a log-variance can be any real number).",
                spot=lambda r, e, c: isinstance(r, tuple) and _close(r[0], e[0], 1e-4, 1e-5)),
    ]


def check_encoder_heads(cls: type, *, verbose: bool = True) -> CheckResult:
    """Check the learner's ``nn.Module`` class for the encoder's two Gaussian heads.

    ``cls(hidden_dim, latent_dim)`` must build two ``nn.Linear(hidden_dim, latent_dim)``
    layers named ``fc_mu`` and ``fc_logvar``, and ``forward(h)`` must return
    ``(mu, logvar)``, each float ``(B, latent_dim)``, with NO activation on either head:
    ``mu`` is any real number, and ``logvar = log sigma^2`` too (Kingma and Welling 2014,
    Appendix C.2; :class:`vae_utils.models.VAE` does the same). The reference is the
    affine map of the learner's own layers, so any weights pass.

    Args:
        cls: the class (not an instance).
        verbose: print the verdict.

    Returns:
        :class:`CheckResult`; recognised mistakes: ``swapped``, ``same_head``,
        ``logvar_sigma_exp``, ``activation_logvar``, ``activation_mu``, ``malformed``
        (missing or mis-sized layers, not a tuple of two).
    """
    built: Built = {}
    return run_check("check_encoder_heads", cls, _heads_cases(built), None,
                     mistakes=_heads_mistakes(built),
                     generic_hint="forward should be `return self.fc_mu(h), self.fc_logvar(h)`.",
                     verbose=verbose, source="the affine maps of your own fc_mu and fc_logvar")


# ---------------------------------------------------------------- 02: beta experiment


def check_beta_experiment(results: Mapping[float, Any], *, verbose: bool = True) -> CheckResult:
    """Check a beta experiment: as ``beta`` grows, the KL falls and reconstruction rises.

    The learner trains one VAE per ``beta`` (same seed, same epochs) and passes
    ``{beta: history}`` (:class:`vae_utils.train.History`) or ``{beta: (recon, kl)}`` in
    nats per image. The checker prints the final test reconstruction and KL of each and
    checks the beta-VAE trade-off (Higgins et al. 2017, "beta-VAE"): the KL is strictly
    decreasing and the reconstruction term strictly increasing in ``beta``.

    Args:
        results: at least two ``beta`` values.
        verbose: print the table and the verdict.

    Returns:
        :class:`CheckResult`; mistakes ``too_few`` (fewer than two betas), ``not_finite``,
        ``kl_not_falling``, ``recon_not_rising``.
    """
    name = "check_beta_experiment"
    if not results:
        return _not_attempted(name, "no beta has been trained yet (results is "
                              "empty).", verbose)
    rows = []
    try:
        for beta in sorted(results):
            r = results[beta]
            if hasattr(r, "test_recon"):
                recon, kl = r.test_recon[-1], r.test_kl[-1]
                if recon != recon:  # no test set: use the training numbers
                    recon, kl = r.train_recon[-1], r.train_kl[-1]
            else:
                recon, kl = r
            rows.append((float(beta), float(recon), float(kl)))
    except Exception as err:
        return _failed(name, f"could not read results ({type(err).__name__}: {err}).", verbose,
                       mistake="malformed", hint="pass a dict {beta: history} with the History "
                       "that vu.fit returned, or {beta: (recon, kl)}.")
    table = "\n".join(["   beta   recon (nats)   KL (nats)"]
                      + [f"  {b:5.2f}   {r:12.2f}   {k:9.2f}" for b, r, k in rows])
    if verbose:
        print(table)
    if len(rows) < 2:
        return _failed(name, "one beta shows no trend.", verbose, mistake="too_few",
                       hint="train at least two values of beta, e.g. 0.5, 1 and 4.")
    if not all(math.isfinite(v) for row in rows for v in row[1:]):
        return _failed(name, "some numbers are NaN or infinite.", verbose, mistake="not_finite",
                       hint="a run diverged: lower the learning rate or check the loss.")
    kls = [k for _, _, k in rows]
    recons = [r for _, r, _ in rows]
    if any(a <= b for a, b in zip(kls, kls[1:])):
        return _failed(name, "the KL does not fall as beta grows.", verbose,
                       mistake="kl_not_falling",
                       hint="did you pass beta=beta to vu.fit, and train every model for the "
                            "same epochs from the same seed?")
    if any(a >= b for a, b in zip(recons, recons[1:])):
        return _failed(name, "the reconstruction term does not rise as beta grows.", verbose,
                       mistake="recon_not_rising",
                       hint="train each model a few epochs longer, with the same seed, so the "
                            "trade-off is visible above the noise.")
    msg = (f"[passed] {name}: as beta grows the KL falls ({kls[0]:.1f} -> {kls[-1]:.1f} nats) "
           f"and the reconstruction term rises ({recons[0]:.1f} -> {recons[-1]:.1f} nats).")
    return _finish(CheckResult(name, "passed", msg), verbose)


# ------------------------------------------------------------------------------ 03: KL


def _kl_cases() -> list[Case]:
    g = torch.Generator().manual_seed(4)
    return [
        Case("mu = 0, logvar = 0: q equals the prior, KL = 0", (torch.zeros(2, 3), torch.zeros(2, 3))),
        Case("random mu and logvar, B=4, D=3", (torch.randn(4, 3, generator=g),
                                               torch.randn(4, 3, generator=g))),
        Case("mu = 0, logvar = 0 except one entry: only the variance term",
             (torch.zeros(1, 4), torch.tensor([[0.0, 0.0, 2.0, 0.0]]))),
        Case("large and small variances (logvar = -6 and 4), B=2, D=5",
             (torch.randn(2, 5, generator=g), torch.tensor([[-6.0] * 5, [4.0] * 5]))),
        Case("one example, one dimension (B=1, D=1)", (torch.tensor([[1.5]]), torch.tensor([[-0.5]]))),
        Case("the course's size: B=8, D=20", (torch.randn(8, 20, generator=g),
                                              torch.randn(8, 20, generator=g))),
    ]


_KL_MISTAKES = [
    Mistake("mean_all", "you averaged over everything (torch.mean without dim): return one KL "
            "per example, shape (B,), the SUM over its latent dimensions.",
            wrong=lambda mu, lv: kl_to_standard_normal(mu, lv).mean() / mu.shape[1]),
    Mistake("batch_mean", "return one KL per example, shape (B,): sum over the latent "
            "dimensions only (dim=1), don't average over the batch here.",
            wrong=lambda mu, lv: kl_to_standard_normal(mu, lv).mean()),
    Mistake("batch_sum", "return one KL per example, shape (B,): sum over dim=1 only, not over "
            "the whole tensor.", wrong=lambda mu, lv: kl_to_standard_normal(mu, lv).sum()),
    Mistake("wrong_sign", "wrong sign: a KL divergence is never negative. It is "
            "-1/2 * sum(1 + logvar - mu^2 - exp(logvar)), with the minus in front.",
            wrong=lambda mu, lv: -kl_to_standard_normal(mu, lv)),
    Mistake("missing_half", "your values are twice the reference: the missing 1/2 in front of "
            "the sum (-0.5 * sum(...)).", wrong=lambda mu, lv: 2 * kl_to_standard_normal(mu, lv)),
    Mistake("mean_reduction", "your values are the reference divided by D: you took the mean "
            "over the latent dimensions. The KL of independent dimensions is their SUM.",
            wrong=lambda mu, lv: kl_to_standard_normal(mu, lv) / mu.shape[1]),
    Mistake("forgot_exp", "you forgot the exp: the variance is sigma^2 = exp(logvar), so the "
            "last term is logvar.exp(), not logvar.",
            wrong=lambda mu, lv: -0.5 * torch.sum(1 + lv - mu.pow(2) - lv, dim=1)),
    Mistake("logvar_as_log_sigma", "you treated logvar as log sigma (log standard deviation). "
            "Here logvar = log sigma^2 is the log-variance, so sigma^2 = exp(logvar) and "
            "log sigma^2 = logvar (no factor 2).",
            wrong=lambda mu, lv: -0.5 * torch.sum(1 + 2 * lv - mu.pow(2) - torch.exp(2 * lv),
                                                  dim=1)),
    Mistake("sigma_as_logvar", "you used sigma where the formula needs the log-variance: the "
            "second term is logvar itself and the last exp(logvar) (do not take sqrt or "
            "exp(0.5 * logvar) first).",
            wrong=lambda mu, lv: -0.5 * torch.sum(1 + torch.exp(0.5 * lv) - mu.pow(2)
                                                  - lv.exp(), dim=1)),
    Mistake("missing_one", "the 1 inside the sum is missing: -1/2 * sum(1 + logvar - mu^2 - "
            "exp(logvar)); without it KL(prior || prior) is D/2, not 0.",
            wrong=lambda mu, lv: -0.5 * torch.sum(lv - mu.pow(2) - lv.exp(), dim=1)),
    Mistake("missing_mu", "the mu^2 term is missing (or has the wrong sign): moving the mean "
            "away from 0 must cost KL.",
            wrong=lambda mu, lv: -0.5 * torch.sum(1 + lv - lv.exp(), dim=1)),
    Mistake("missing_mu", "mu^2 enters with a minus sign inside the sum: 1 + logvar - mu^2 - "
            "exp(logvar).", wrong=lambda mu, lv: -0.5 * torch.sum(1 + lv + mu.pow(2) - lv.exp(),
                                                                  dim=1)),
]


def check_kl(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], *,
             verbose: bool = True) -> CheckResult:
    """Check ``fn(mu, logvar) -> (B,)``: the closed-form KL to the standard normal.

    ``KL(N(mu, diag(exp(logvar))) || N(0, I)) = -1/2 sum_j (1 + logvar_j - mu_j^2 -
    exp(logvar_j))`` per example (Kingma and Welling 2014, Appendix B), reference
    :func:`vae_utils.losses.kl_to_standard_normal` (itself tested against
    ``torch.distributions.kl_divergence``). Cases include ``KL = 0`` at the prior, a
    single dimension, and very small and very large variances.

    Args:
        fn: ``mu``, ``logvar`` float ``(B, D)`` -> float ``(B,)`` in nats.
        verbose: print the verdict.

    Returns:
        :class:`CheckResult`; recognised mistakes: ``mean_all``, ``batch_mean``, ``batch_sum``,
        ``wrong_sign``, ``missing_half``, ``mean_reduction``, ``forgot_exp``,
        ``logvar_as_log_sigma``, ``sigma_as_logvar``, ``missing_one``, ``missing_mu``.
    """
    return run_check("check_kl", fn, _kl_cases(), kl_to_standard_normal, mistakes=_KL_MISTAKES,
                     generic_hint="KL = -0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp(), "
                                  "dim=1).",
                     verbose=verbose, source="vae_utils.losses.kl_to_standard_normal")


# ---------------------------------------------------------------------- 03: ELBO loss


def _elbo_ref(logits, x, mu, logvar, beta=1.0):
    return elbo_loss(logits, x, mu, logvar, beta=beta).loss


def _elbo_cases() -> list[Case]:
    g = torch.Generator().manual_seed(5)

    def batch(b: int, d: int = 20, binary: bool = True) -> tuple:
        logits = torch.randn(b, 1, 28, 28, generator=g) * 2
        x = torch.rand(b, 1, 28, 28, generator=g)
        x = (x > 0.6).float() if binary else x
        return (logits, x, torch.randn(b, d, generator=g), torch.randn(b, d, generator=g) * 0.5)

    return [
        Case("batch of 4, beta = 1 (the default)", batch(4)),
        Case("grey-level targets, batch of 16", batch(16, binary=False)),
        Case("one image (B = 1)", batch(1)),
        Case("beta = 4 (passed as beta=4.0)", batch(4), kwargs={"beta": 4.0}),
        Case("beta = 0: only the reconstruction term", batch(4), kwargs={"beta": 0.0}),
    ]


def _elbo_parts(logits, x, mu, logvar):
    return bernoulli_nll(logits, x), kl_to_standard_normal(mu, logvar)


_ELBO_MISTAKES = [
    Mistake("per_example", "return one number for the batch (a 0-d tensor): the mean over the "
            "batch of the per-image loss.",
            wrong=lambda lo, x, mu, lv, beta=1.0: (lambda r, k: r + beta * k)(
                *_elbo_parts(lo, x, mu, lv))),
    Mistake("sum_over_batch", "your loss is B times too large: you summed over the batch "
            "(reduction='sum' over everything, as in the PyTorch example). Sum over pixels and "
            "latent dimensions, then take the MEAN over the batch, so the number is in nats "
            "per image and does not change with the batch size.",
            wrong=lambda lo, x, mu, lv, beta=1.0: (lambda r, k: (r + beta * k).sum())(
                *_elbo_parts(lo, x, mu, lv))),
    Mistake("mean_reduction", "your reconstruction term is averaged over pixels "
            "(F.binary_cross_entropy_with_logits' default reduction='mean'): it is 784 times "
            "too small next to the KL. Sum over each image's pixels, then average over the batch.",
            wrong=lambda lo, x, mu, lv, beta=1.0: (lambda r, k: (r / 784 + beta * k).mean())(
                *_elbo_parts(lo, x, mu, lv))),
    Mistake("mean_reduction", "both terms are averaged over elements (pixels and latent "
            "dimensions) instead of summed: the loss is per pixel, not per image. Sum within "
            "each image (784 pixels, D latent dimensions), then average over the batch.",
            wrong=lambda lo, x, mu, lv, beta=1.0: (lambda r, k: (r / 784 + beta * k
                                                                   / mu.shape[1]).mean())(
                *_elbo_parts(lo, x, mu, lv))),
    Mistake("mean_reduction", "your KL is averaged over latent dimensions: sum it over the D "
            "dimensions of each example, then average over the batch.",
            wrong=lambda lo, x, mu, lv, beta=1.0: (lambda r, k: (r + beta * k
                                                                 / mu.shape[1]).mean())(
                *_elbo_parts(lo, x, mu, lv))),
    Mistake("kl_sign", "the KL enters the loss with a plus sign: loss = recon + beta * KL "
            "(check the sign of your KL term: it must be >= 0).",
            wrong=lambda lo, x, mu, lv, beta=1.0: (lambda r, k: (r - beta * k).mean())(
                *_elbo_parts(lo, x, mu, lv))),
    Mistake("elbo_not_loss", "you returned the ELBO itself; the loss to minimise is the "
            "NEGATIVE ELBO, recon + beta * KL.",
            wrong=lambda lo, x, mu, lv, beta=1.0: -_elbo_ref(lo, x, mu, lv, beta)),
    Mistake("missing_half", "your KL term is twice the reference: the missing 1/2 in "
            "-0.5 * sum(1 + logvar - mu^2 - exp(logvar)).",
            wrong=lambda lo, x, mu, lv, beta=1.0: (lambda r, k: (r + 2 * beta * k).mean())(
                *_elbo_parts(lo, x, mu, lv))),
    Mistake("beta_ignored", "beta is ignored: multiply the KL term by beta.",
            wrong=lambda lo, x, mu, lv, beta=1.0: _elbo_ref(lo, x, mu, lv, 1.0)),
    Mistake("beta_on_recon", "beta weighs the KL term, not the reconstruction: "
            "recon + beta * KL.",
            wrong=lambda lo, x, mu, lv, beta=1.0: (lambda r, k: (beta * r + k).mean())(
                *_elbo_parts(lo, x, mu, lv))),
    Mistake("sigmoid_twice", "the reconstruction term takes the raw logits: "
            "binary_cross_entropy_with_logits(logits, x), not of torch.sigmoid(logits).",
            wrong=lambda lo, x, mu, lv, beta=1.0: _elbo_ref(torch.sigmoid(lo), x, mu, lv, beta)),
    Mistake("forgot_exp", "the KL's variance term is exp(logvar), not logvar.",
            wrong=lambda lo, x, mu, lv, beta=1.0: (bernoulli_nll(lo, x) + beta * -0.5 * torch.sum(
                1 + lv - mu.pow(2) - lv, dim=1)).mean()),
]


def check_elbo_loss(fn: Callable[..., torch.Tensor], *, verbose: bool = True) -> CheckResult:
    """Check ``fn(logits, x, mu, logvar, beta=1.0) -> loss``: the negative ELBO of a batch.

    ``loss = mean_b [ sum_pixels BCE(logits, x) + beta * KL_b ]``: each term summed within
    an image (784 pixels; D latent dimensions), then averaged over the batch, so it is in
    nats per image (Kingma and Welling 2014, Eq. 10; ``beta``: Higgins et al. 2017).
    Reference ``vae_utils.losses.elbo_loss(...).loss``.

    Args:
        fn: ``logits`` float ``(B, 1, 28, 28)``, ``x`` same shape in [0, 1], ``mu`` and
            ``logvar`` float ``(B, D)``, keyword ``beta`` -> a 0-d tensor.
        verbose: print the verdict.

    Returns:
        :class:`CheckResult`; recognised mistakes: ``per_example``, ``sum_over_batch``,
        ``mean_reduction``, ``kl_sign``, ``elbo_not_loss``, ``missing_half``,
        ``beta_ignored``, ``beta_on_recon``, ``sigmoid_twice``, ``forgot_exp``.
    """
    return run_check("check_elbo_loss", fn, _elbo_cases(), _elbo_ref, mistakes=_ELBO_MISTAKES,
                     generic_hint="recon = BCE-with-logits summed per image, kl = the closed "
                                  "form summed per example; return (recon + beta * kl).mean().",
                     verbose=verbose, source="vae_utils.losses.elbo_loss")


# --------------------------------------------------------------------- 04: latent grid


def _grid_ref(n, lo=0.05, hi=0.95):
    return _latent_grid(n, lo=lo, hi=hi, kind="quantile").coords


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
    Mistake("cdf_not_icdf", "these are probabilities in (0, 1): you applied the CDF. Apply the "
            "INVERSE CDF (Normal(0, 1).icdf) to evenly spaced probabilities.",
            wrong=lambda n, lo=0.05, hi=0.95: _STD_NORMAL.cdf(torch.linspace(lo, hi, n))),
    Mistake("probabilities", "these are the evenly spaced probabilities themselves: pass them "
            "through the inverse CDF, Normal(0, 1).icdf(p), to get z.",
            wrong=lambda n, lo=0.05, hi=0.95: torch.linspace(lo, hi, n)),
    Mistake("ignored_lo_hi", "you ignored lo and hi: the probabilities are "
            "torch.linspace(lo, hi, n).",
            wrong=lambda n, lo=0.05, hi=0.95: _grid_ref(n)),
    Mistake("midpoints", "you used the midpoints (i + 1/2) / n; this course's grid uses "
            "torch.linspace(lo, hi, n), both ends included.",
            wrong=lambda n, lo=0.05, hi=0.95: _STD_NORMAL.icdf((torch.arange(n) + 0.5) / n)),
    Mistake("endpoints_0_1", "the inverse CDF is -inf at 0 and +inf at 1: keep the "
            "probabilities strictly inside (0, 1), from lo to hi.", spot=_not_finite),
    Mistake("linear_in_z", "your coordinates are evenly spaced in z. The point of the "
            "exercise: space them evenly in PROBABILITY (torch.linspace(lo, hi, n)) and map "
            "through Normal(0, 1).icdf, so they bunch up near 0 where the prior puts its codes.",
            spot=_evenly_spaced),
]


def check_latent_grid(fn: Callable[..., torch.Tensor], *, verbose: bool = True) -> CheckResult:
    """Check ``fn(n, lo=0.05, hi=0.95) -> (n,)``: the coordinates of an inverse-CDF grid.

    ``coords = Phi^{-1}(linspace(lo, hi, n))``, ascending, with ``Phi^{-1}`` the inverse
    CDF of N(0, 1) (Kingma and Welling 2014, Figure 4). Reference
    ``vae_utils.latent.latent_grid(n, lo, hi).coords``.

    Args:
        fn: ``n`` int >= 2, ``lo``, ``hi`` floats in (0, 1) -> float ``(n,)``.
        verbose: print the verdict.

    Returns:
        :class:`CheckResult`; recognised mistakes: ``descending``, ``cdf_not_icdf``,
        ``probabilities``, ``ignored_lo_hi``, ``midpoints``, ``endpoints_0_1``,
        ``linear_in_z``.
    """
    return run_check("check_latent_grid", fn, _grid_cases(), _grid_ref, mistakes=_GRID_MISTAKES,
                     generic_hint="p = torch.linspace(lo, hi, n); "
                                  "z = torch.distributions.Normal(0., 1.).icdf(p).",
                     verbose=verbose, source="vae_utils.latent.latent_grid")


# -------------------------------------------------------------------------- 05: slerp


def _slerp_ref(z0, z1, t):
    return _slerp(z0, z1, t)[0]


def _slerp_cases() -> list[Case]:
    g = torch.Generator().manual_seed(6)
    e0, e1 = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    a, b = torch.randn(20, generator=g), torch.randn(20, generator=g) * 2
    near = a * 1.5 + 1e-5 * torch.randn(20, generator=g)
    return [
        Case("orthogonal unit vectors, t = 0.5: (e0 + e1) / sqrt(2)", (e0, e1, 0.5)),
        Case("orthogonal unit vectors, t = 0.25", (e0, e1, 0.25)),
        Case("t = 0 gives z0", (a, b, 0.0)),
        Case("t = 1 gives z1", (a, b, 1.0)),
        Case("D = 20 codes of different norms, t = 0.3", (a, b, 0.3)),
        Case("(nearly) parallel codes: the formula is 0/0, fall back to lerp", (a, near, 0.5),
             rtol=1e-3, atol=1e-3),
    ]


def _lerp(z0, z1, t):
    return (1 - t) * z0 + t * z1


_SLERP_MISTAKES = [
    Mistake("lerp", "this is linear interpolation (1 - t) z0 + t z1. Slerp weights z0 and z1 "
            "by sin((1 - t) W) / sin W and sin(t W) / sin W, W = the angle between them.",
            wrong=_lerp),
    Mistake("swapped_t", "your path runs backwards: t = 0 must give z0 and t = 1 give z1. "
            "z0's weight is sin((1 - t) W) / sin W.",
            wrong=lambda z0, z1, t: _slerp_ref(z0, z1, 1 - t)),
    Mistake("normalised_output", "your result has unit length: normalise only to compute the "
            "angle W (cos W = z0 . z1 / (|z0| |z1|)); apply the weights to z0 and z1 themselves.",
            wrong=lambda z0, z1, t: _slerp_ref(z0 / z0.norm(), z1 / z1.norm(), t)),
    Mistake("unnormalised_angle", "the angle needs normalised vectors: cos W = z0 . z1 / "
            "(|z0| |z1|), not z0 . z1.",
            wrong=lambda z0, z1, t: _slerp_with_cos(z0, z1, t, torch.clamp(z0 @ z1, -1, 1))),
    Mistake("parallel", "your function gives inf/NaN for (nearly) parallel codes: there "
            "sin W is about 0. When sin W is tiny (say < 1e-6), return lerp instead.",
            spot=_not_finite),
]


def _slerp_with_cos(z0, z1, t, cos):
    omega = torch.arccos(cos)
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


def _slerp_call(fn: Callable, case: Case) -> Any:
    out = fn(*_clone(case.args))
    if isinstance(out, torch.Tensor) and out.dim() == 2 and out.shape[0] == 1:
        out = out[0]  # (1, D), as vae_utils.latent.slerp returns, is fine too
    return out


def check_slerp(fn: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor], *,
                verbose: bool = True) -> CheckResult:
    """Check ``fn(z0, z1, t) -> z``: spherical linear interpolation between two codes.

    ``slerp = sin((1 - t) W) / sin W * z0 + sin(t W) / sin W * z1`` with
    ``cos W = z0 . z1 / (|z0| |z1|)`` (Shoemake 1985; White 2016, "Sampling Generative
    Networks", Section 2.1), and linear interpolation when ``z0``, ``z1`` are (nearly)
    parallel. Reference ``vae_utils.latent.slerp``.

    Args:
        fn: ``z0``, ``z1`` float ``(D,)``, ``t`` a float in [0, 1] -> float ``(D,)``
            (``(1, D)`` is accepted too).
        verbose: print the verdict.

    Returns:
        :class:`CheckResult`; recognised mistakes: ``lerp``, ``swapped_t``,
        ``normalised_output``, ``unnormalised_angle``, ``parallel``.
    """
    cases = [Case(c.name, c.args, rtol=c.rtol, atol=c.atol, call=_slerp_call)
             for c in _slerp_cases()]
    return run_check("check_slerp", fn, cases, _slerp_ref, mistakes=_SLERP_MISTAKES,
                     generic_hint="W = arccos(z0 @ z1 / (z0.norm() * z1.norm())); return "
                                  "(sin((1 - t) W) * z0 + sin(t W) * z1) / sin(W).",
                     verbose=verbose, source="vae_utils.latent.slerp")


# --------------------------------------------------------------- conceptual questions


@dataclass(frozen=True)
class Question:
    """A multiple-choice question: ``options`` maps a letter to a choice, ``why`` maps each
    letter to the explanation printed when it is chosen, ``answer`` is the right letter,
    ``hint`` goes in a collapsible block under the question."""

    prompt: str
    options: Mapping[str, str]
    answer: str
    why: Mapping[str, str]
    hint: str


QUESTIONS: dict[str, Question] = {
    "ae_gaps": Question(
        prompt="You decode random codes with the plain autoencoder of this notebook (as in its "
               "last figure) and many come out as smudges that are no digit. Why?",
        options={"a": "The decoder is under-trained: more epochs would fix it.",
                 "c": "Nothing in the autoencoder's loss says where codes should lie, so the "
                      "training codes form clusters with empty gaps between them, and the "
                      "decoder never learned what to draw for a point in a gap.",
                 "b": "A 2-D latent space is too small to store ten digit classes.",
                 "d": "The sigmoid on the decoder output saturates for random codes."},
        answer="c",
        why={"a": "More training makes the decoder better where the codes are, but the gaps "
                  "stay empty: the loss only looks at codes of training images.",
             "c": "The loss is reconstruction only, so the encoder may place codes "
                  "anywhere. A VAE adds the KL term, which pulls q(z|x) towards N(0, I) and "
                  "fills the space we later sample from.",
             "b": "Two dimensions are enough to separate digits (the scatter plot shows it); "
                  "the problem is what lies between the clusters.",
             "d": "The sigmoid only turns logits into pixel probabilities; the smudge comes "
                  "from decoding a code unlike any the decoder saw in training."},
        hint="Look at the scatter plot of the codes: where would a random N(0, I) point land, "
             "and which training images have codes there?"),
    "beta_effect": Question(
        prompt="You trained the same VAE with several values of beta (say 0.25, 1 and 4). As "
               "beta grows, what happens to the two terms of the loss?",
        options={"d": "The KL falls and the reconstruction term rises: codes carry less "
                      "information about x, reconstructions get blurrier, and q(z|x) stays "
                      "closer to the prior.",
                 "b": "Both terms fall, because a larger beta is a stronger training signal.",
                 "c": "The KL rises and the reconstruction term falls.",
                 "a": "Nothing changes: beta only rescales the loss."},
        answer="d",
        why={"d": "Beta prices every nat of information the code carries about x. A "
                  "higher price buys less information (lower KL), so the decoder gets less to "
                  "work with and reconstructs worse (Higgins et al. 2017).",
             "b": "The two terms trade off: lowering one costs the other. Look at the table "
                  "printed by check_beta_experiment.",
             "c": "That is what happens when beta is LOWERED: KL is cheaper, so the model uses "
                  "more of it to reconstruct better.",
             "a": "beta multiplies only the KL term, so it changes the balance between the "
                  "terms, not just the scale."},
        hint="beta multiplies only the KL term. If KL becomes more expensive, would the "
             "optimiser buy more of it or less, and what does it give up?"),
    "reduction": Question(
        prompt="A classmate writes `loss = F.binary_cross_entropy_with_logits(logits, x) + "
               "kl.mean()`, where `kl` is the per-example KL summed over the 20 latent dimensions. "
               "What goes wrong?",
        options={"a": "Nothing: both terms are averages, so they are on the same scale.",
                 "d": "The reconstruction term is a mean over 784 pixels, so it is 784 times "
                      "too small next to the KL: the model is told to care mostly about the KL, "
                      "codes carry little information and reconstructions come out blurry.",
                 "c": "The KL is 20 times too large, so training diverges.",
                 "b": "The loss depends on the batch size."},
        answer="d",
        why={"a": "Both are averages, but over different things: the BCE over pixels, the KL "
                  "over examples only. The ELBO needs the sum over pixels.",
             "d": "It is a beta-VAE with beta = 784 in disguise. Sum the BCE over the "
                  "pixels of each image (reduction='none' then .flatten(1).sum(1)) and then "
                  "average over the batch.",
             "c": "The KL summed over dimensions is correct; the problem is the other term.",
             "b": "Both terms are averaged over the batch, so the batch size does not matter "
                  "here; the pixel reduction does."},
        hint="`F.binary_cross_entropy_with_logits` has `reduction='mean'` by default. Mean over "
             "what? Compare with how `kl` was reduced."),
    "temperature": Question(
        prompt="You sample with temperature 0.5 instead of 1: z ~ N(0, 0.25 I). Compared with "
               "temperature 1, the decoded digits are...",
        options={"b": "cleaner and more typical, but less varied: the codes stay near the "
                      "centre of the latent space, where most training digits are.",
                 "a": "more varied, because the codes are spread further out.",
                 "c": "the same digits, only fainter, because z is scaled by 0.5.",
                 "d": "mostly noise, because the decoder was trained on N(0, I) codes only."},
        answer="b",
        why={"b": "A lower temperature trades diversity for quality. The codes fall in "
                  "the dense middle of the prior, and the outskirts, where unusual or "
                  "ambiguous digits live, are rarely visited.",
             "a": "A lower temperature shrinks z towards 0: the codes spread LESS.",
             "c": "The decoder is non-linear: scaling z does not scale the image; it moves to "
                  "other codes, which decode to other (more typical) digits.",
             "d": "The decoder was trained on codes from q(z|x), which cover the middle of the "
                  "prior well; codes near 0 are the ones it knows best."},
        hint="Where do codes with temperature 0.5 land on the latent grid of this notebook? "
             "Which digits are drawn there?"),
    "slerp_norm": Question(
        prompt="In D = 20 dimensions, z0 and z1 are two draws from N(0, I). Why interpolate "
               "between them with slerp rather than a straight line?",
        options={"c": "Draws from N(0, I) have norm close to sqrt(D), but the straight line's "
                      "midpoint has norm close to sqrt(D / 2): it passes through a region the "
                      "prior almost never produces. Slerp keeps the norm near sqrt(D).",
                 "b": "A straight line is slower to compute.",
                 "a": "A straight line does not end exactly at z1.",
                 "d": "Slerp passes through the origin, the most likely point of the prior."},
        answer="c",
        why={"c": "In many dimensions almost all the prior's mass lies in a thin shell "
                  "of radius about sqrt(D) (White 2016). The lerp midpoint of two independent "
                  "draws is inside that shell; slerp walks along it.",
             "b": "Both cost a few vector operations.",
             "a": "Both end exactly at z1 (t = 1).",
             "d": "Slerp does not pass through the origin; and although the origin has the "
                  "highest density, codes with norm near 0 are very rare in 20 dimensions."},
        hint="Compute `z0.norm()`, `z1.norm()` and `((z0 + z1) / 2).norm()` for a few random "
             "draws with D = 20."),
}


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
    if letter == q.answer:
        return _finish(CheckResult(name, "passed", f"[passed] {name}: ({letter}) is right. "
                                   f"{q.why[letter]}"), verbose)
    return _failed(name, f"({letter}) is not the best answer.", verbose, mistake=letter,
                   hint=q.why[letter] + " Read the other options again and try once more.")
