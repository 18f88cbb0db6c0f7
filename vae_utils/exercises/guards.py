"""What keeps a checker honest and responsive: the time limit on the learner's code, and the
refusal of answers that are not the learner's own work.

* :func:`with_time_limit` runs one call of the learner's function and stops it after
  :data:`TIME_LIMIT_S` seconds (an endless loop, a ``time.sleep``, an ``input()``), so a
  checker always answers.
* :func:`library_copy` says why a function is not the learner's own: it *is* a library
  function, it *calls* one, or it is a *copy* of one (the same statements under another
  name, with other comments and docstring).

:func:`~vae_utils.exercises.checking.run_check` uses both on every coding checker; a checker
with its own refusal message (``check_auroc``) calls :func:`library_copy` itself.
"""

from __future__ import annotations

import ast
import inspect
import signal
import textwrap
import threading
from collections.abc import Callable, Iterable, Sequence
from types import CodeType
from typing import Any

__all__ = ["TIME_LIMIT_S", "TimeOut", "code_names", "library_copy", "with_time_limit"]

#: Seconds each call of the learner's function may take before the checker gives up on it
#: and reports a time-out (the checkers' cases are small: a correct answer takes far less).
TIME_LIMIT_S = 10.0


# ------------------------------------------------------------------------ the time limit


class TimeOut(Exception):
    """The learner's function ran past the time limit; ``limit`` is that limit in seconds."""

    def __init__(self, limit: float) -> None:
        super().__init__(f"no answer within {limit:g} s")
        self.limit = limit


def with_time_limit(f: Callable, *args, **kwargs) -> Any:
    """``f(*args, **kwargs)``, stopped with :class:`TimeOut` after :data:`TIME_LIMIT_S`
    seconds (read at every call, so a test may lower it).

    In the main thread of a Unix process (a notebook's kernel, a script) a ``SIGALRM``
    timer interrupts the call between two Python steps, so an endless loop or a
    ``time.sleep`` ends at the limit. Elsewhere (Windows, another thread) the call runs in
    a daemon thread that is left behind at the limit: the checker still answers in time.

    Raises:
        TimeOut: the call ran past the limit.
        Exception: whatever ``f`` raised.
    """
    limit = float(TIME_LIMIT_S)
    if hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread():
        return _with_alarm(limit, f, *args, **kwargs)
    return _in_thread(limit, f, *args, **kwargs)


def _with_alarm(limit: float, f: Callable, *args, **kwargs) -> Any:
    def _alarm(signum, frame):
        raise TimeOut(limit)

    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        return f(*args, **kwargs)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _in_thread(limit: float, f: Callable, *args, **kwargs) -> Any:
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
        raise TimeOut(limit)
    if "error" in box:
        raise box["error"]
    return box.get("value")


# ------------------------------------------------------------- the learner's own work


def code_names(code: CodeType) -> set[str]:
    """Every global or attribute name that ``code`` and the functions, lambdas and
    comprehensions nested in it refer to (``co_names``): ``vu.elbo_loss(...)`` gives
    ``{"vu", "elbo_loss"}``."""
    names: set[str] = set()
    todo = [code]
    while todo:
        c = todo.pop()
        names.update(c.co_names)
        todo.extend(k for k in c.co_consts if isinstance(k, CodeType))
    return names


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


def _bound_to(target: Any, code: CodeType, used: set[str], lib: Iterable[Callable]) -> list[str]:
    """The library functions that a global or closure variable of ``target`` named in
    ``used`` is bound to (a library function called under another name)."""
    scope = dict(getattr(target, "__globals__", {}))
    for name, cell in zip(code.co_freevars, target.__closure__ or ()):
        if _cell_filled(cell):
            scope[name] = cell.cell_contents
    wanted = used | set(code.co_freevars)
    return [f.__name__ for name, value in scope.items() if name in wanted
            for f in lib if value is f]


def library_copy(fn: Any, library: Sequence[Callable], *, modules: Iterable[str] = (),
                 names: Iterable[str] = ()) -> str | None:
    """Why ``fn`` is not the learner's own work, or ``None`` if it is.

    Refused:

    * a function of ``vae_utils`` itself (``check_kl(vu.kl_to_standard_normal)``), of one of
      ``modules`` (top-level package names, e.g. ``"sklearn"``), or one of ``library``
      (the functions that solve the exercise); a ``functools.partial`` of one too;
    * a function that calls one of ``library`` or one of ``names`` (function names, e.g.
      ``"roc_auc_score"``) by name, or a library function bound to another name (a global
      or closure variable);
    * a copy of one of ``library`` (the same statements, whatever the function's name,
      comments and docstring).

    Args:
        fn: the learner's answer (any object: a non-function is never refused here).
        library: the functions that solve the exercise.
        modules: further packages none of whose functions may be passed.
        names: further function names that the learner's code may not call.

    Returns:
        A sentence for the verdict ("you passed the library's own function ...", "your
        function calls the library's ...", "your function is a copy of the library's
        ..."), or ``None``.
    """
    target = getattr(fn, "func", fn)  # functools.partial
    module = getattr(inspect.getmodule(target), "__name__", "") or ""
    name = getattr(target, "__qualname__", getattr(target, "__name__", type(target).__name__))
    lib = [getattr(f, "__func__", f) for f in library]
    if any(target is f for f in lib) or module.split(".")[0] in {"vae_utils", *modules}:
        return f"you passed the library's own function {module}.{name}"
    code = getattr(target, "__code__", None)
    if not isinstance(code, CodeType):
        return None
    used = code_names(code)
    called = sorted(used & ({f.__name__ for f in lib} | set(names)))
    called += _bound_to(target, code, used, lib)
    if called:
        return f"your function calls the library's {called[0]}"
    mine = _body(target)
    for f in lib:
        if mine is not None and mine == _body(f):
            return f"your function is a copy of the library's {f.__name__}"
    return None
