"""Training: ``fit`` for any model of the course, fast on a CPU and built for GPUs.

``fit`` knows nothing about the model's family: each step calls the model's own
objective, ``model.loss_terms(x, y) -> (loss, recon, kl)`` (the negative ELBO of a VAE,
the reconstruction error of an autoencoder, see :mod:`vae_utils.models`), and weights its
KL by ``beta``.

How ``fit`` stays fast:

* the whole data set moves to the device once (MNIST is 188 MB as float32);
* each epoch draws one random permutation on the device and takes batches by
  indexing it (no ``DataLoader``, no per-image PIL transforms);
* running sums of the loss stay on the device; the host reads them only every
  ``check_every`` steps (to update the progress bar and catch a NaN) and at the end of
  each epoch, so a GPU is not stalled by a synchronisation every step;
* the default Adam is torch's fused implementation on CPU and CUDA (one kernel for the
  whole update instead of several passes per parameter tensor);
* optionally (``compile=``) the forward pass and loss are compiled with
  ``torch.compile``, whose ``"reduce-overhead"`` mode also replays each step as a CUDA
  graph on a GPU.

``benchmarks/benchmark_training.py`` measures all this against the PyTorch example's
loop (``DataLoader``, per-image ``ToTensor``, ``loss.item()`` every step).

What happens when training goes wrong: if the training loss becomes NaN or infinite, or
a row ends with non-finite weights or a non-finite test loss, training stops with a
message, the model gets back the weights it had at the end of the last good row
(weights that were checked to be finite), and the bad row is not recorded
(``history.stopped == "nan"``). Ctrl-C stops training and returns the history so far
(``"interrupted"``). Any other exception propagates with the finished rows attached as
``err.history`` (``"error"``).
"""

from __future__ import annotations

import math
import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from . import _checks, _env
from ._checks import type_name as _type_name
from .models import Autoencoder, GaussianVAE, _Model

__all__ = [
    "History",
    "evaluate",
    "fit",
    "get_device",
    "load_checkpoint",
    "save_checkpoint",
    "seed_everything",
]


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy and torch (CPU and every CUDA device).

    Raises:
        TypeError: ``seed`` is not an integer.
    """
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool):
        raise TypeError(f"seed must be an integer; got {seed!r}.")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device


def get_device(device: str | torch.device | None = None) -> torch.device:
    """The device to train on: CUDA if present, then Apple's MPS, then the CPU.

    Args:
        device: ``None`` chooses automatically; ``"cpu"``, ``"cuda"``, ``"cuda:1"``,
            ``"mps"`` or a ``torch.device`` asks for that one.

    Returns:
        A ``torch.device``.

    Raises:
        RuntimeError: the requested device is not available on this machine.
        ValueError: the string is not a device name torch knows.
        TypeError: ``device`` is neither a string, a ``torch.device`` nor ``None``.
    """
    if device is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except RuntimeError as err:
        raise ValueError(f"{device!r} is not a device name; use 'cpu', 'cuda' or 'mps'.") from err
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError("device 'cuda' was requested but this torch sees no CUDA GPU "
                               f"(torch {torch.__version__}, CUDA build: {torch.version.cuda}). "
                               "Use device=None to choose automatically, or 'cpu'.")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise RuntimeError(f"device {dev} was requested but only {torch.cuda.device_count()} "
                               "CUDA device(s) exist.")
    elif dev.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise RuntimeError("device 'mps' was requested but is not available (it needs an "
                               "Apple-silicon Mac). Use device=None or 'cpu'.")
    return dev


@dataclass
class History:
    """Record of a :func:`fit` run, one row per epoch (or per ``eval_every`` steps when
    ``fit`` had a step budget). Losses are in nats per image.

    ``epoch`` numbers the rows (1, 2, ...); ``step`` is the optimiser step reached at the
    end of each row. For an ``Autoencoder`` ``*_loss`` equals ``*_recon`` and ``*_kl`` is
    0. Test columns are NaN when ``fit`` had no test set. ``stopped`` is ``None`` after a
    full run (also when that run continued one that had stopped), ``"nan"`` after a
    non-finite loss or non-finite weights, ``"interrupted"`` after Ctrl-C, ``"error"``
    after an exception during training (e.g. in ``on_epoch_end``; see :func:`fit`).

    ``seconds`` is the wall-clock time of a whole row (training and test evaluation);
    ``train_seconds`` and ``test_seconds`` are its two parts. They describe the machine,
    not the model: :meth:`summary` does not show them.
    """

    epoch: list[int] = field(default_factory=list)
    step: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_recon: list[float] = field(default_factory=list)
    train_kl: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_recon: list[float] = field(default_factory=list)
    test_kl: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    train_seconds: list[float] = field(default_factory=list)
    test_seconds: list[float] = field(default_factory=list)
    stopped: str | None = None

    def __len__(self) -> int:
        return len(self.epoch)

    def append_row(self, row: int, step: int, train: list[float], test: dict[str, float],
                   seconds: float, train_seconds: float) -> None:
        """Record one row: ``train`` is ``[loss, recon, kl]``, ``test`` a dict of the same."""
        self.epoch.append(row)
        self.step.append(step)
        for column, value in zip((self.train_loss, self.train_recon, self.train_kl), train):
            column.append(value)
        for column, key in ((self.test_loss, "loss"), (self.test_recon, "recon"),
                            (self.test_kl, "kl")):
            column.append(test[key])
        self.seconds.append(seconds)
        self.train_seconds.append(train_seconds)
        self.test_seconds.append(seconds - train_seconds)

    def as_dict(self) -> dict:
        """Plain lists and numbers (safe for ``torch.load(weights_only=True)``)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> History:
        """The inverse of :meth:`as_dict` (unknown keys are ignored, missing columns empty).

        Raises:
            TypeError: ``d`` is not a dict.
        """
        if not isinstance(d, dict):
            raise TypeError(f"History.from_dict takes the dict made by History.as_dict(); got "
                            f"{_type_name(d)}.")
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def summary(self, every: int | None = None) -> str:
        """A small text table of the rows (all of them, or every ``every``-th and the last),
        by optimiser step, in nats per image.

        Raises:
            ValueError: ``every`` is not a positive integer.
        """
        if every is not None:
            every = _checks.positive_int(every, "every (show every every-th row)")
        if not self.epoch:
            return "no epoch finished"
        every = every or max(1, math.ceil(len(self.epoch) / 10))
        last = len(self.epoch) - 1
        lines = [" step  train loss  test loss  test recon  test KL   (nats per image)"]
        for i in range(len(self.epoch)):
            if i % every == 0 or i == last:
                lines.append(f"{self.step[i]:5d}  {self.train_loss[i]:10.2f}  "
                             f"{self.test_loss[i]:9.2f}  {self.test_recon[i]:10.2f}  "
                             f"{self.test_kl[i]:7.2f}")
        if self.stopped:
            lines.append(f"(stopped early: {self.stopped})")
        return "\n".join(lines)


def _check_model(model: object, who: str) -> None:
    if not isinstance(model, _Model):
        raise TypeError(f"{who} takes a vae_utils Autoencoder or VAE (VAE, ConvVAE, "
                        f"ConditionalVAE or another GaussianVAE subclass); got "
                        f"{_type_name(model)}.")


def _check_data(model: _Model, x: torch.Tensor | None, y: torch.Tensor | None,
                name: str) -> None:
    """Images for fit/evaluate (``(N, 1, 28, 28)`` in ``[0, 1]``: one host synchronisation
    for the range) and their labels, which a conditional model needs and no other takes."""
    if x is None:
        if y is not None:
            raise ValueError(f"{name.replace('x', 'y')} was given without the images it labels.")
        return
    _checks.images(x, name)
    _checks.labels(y, len(x), model.num_classes, name.replace("x", "y"))


def _beta(value: object, where: str = "") -> float:
    hint = (f"{where} For a schedule pass a function of the step, e.g. beta=lambda step: "
            "min(1.0, step / 1000).")
    return _checks.number(value, "beta", hint=hint)


def _default_adam(model: nn.Module, lr: float, device: torch.device) -> torch.optim.Adam:
    """Adam(lr) over the model's parameters: the fused implementation where torch has one.

    ``fused=True`` runs the whole Adam update in one kernel instead of several passes
    per parameter tensor; it is the same algorithm (results equal up to float rounding).
    On this course's VAE it cut the optimiser's share of a CPU step from about 7 ms to
    2 ms (``benchmarks/README.md``). Other devices get the default implementation.
    """
    if device.type in ("cpu", "cuda"):
        try:
            return torch.optim.Adam(model.parameters(), lr=lr, fused=True)
        except (RuntimeError, TypeError, ValueError):  # no fused Adam for this device/torch
            pass
    return torch.optim.Adam(model.parameters(), lr=lr)


def _check_optimizer(optimizer: object, model: nn.Module) -> None:
    """The optimiser must be a torch optimiser over (some of) this model's parameters."""
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer such as "
                        f"torch.optim.Adam(model.parameters(), lr=1e-3), or None; got "
                        f"{_type_name(optimizer)}.")
    own = {id(p) for p in model.parameters()}
    held = [p for group in optimizer.param_groups for p in group["params"]]
    foreign = sum(id(p) not in own for p in held)
    if foreign or not held:
        raise ValueError(
            f"the optimizer updates {foreign} of its {len(held)} parameter tensor(s) that are "
            f"not this {type(model).__name__}'s, so training would not change the model. It "
            "was probably made for another model (e.g. before a cell that re-creates the "
            "model was run again). Make it after the model: optimizer=torch.optim.Adam("
            "model.parameters(), lr=1e-3), or leave optimizer out (Adam with lr=lr).")


def _weights_finite(model: nn.Module) -> bool:
    """Every floating-point parameter and buffer is finite (one host synchronisation)."""
    flags = [torch.isfinite(v).all() for v in model.state_dict().values() if v.is_floating_point()]
    return bool(torch.stack(flags).all()) if flags else True


def _copy_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: v.detach().clone() for name, v in model.state_dict().items()}


def _attach_history(err: BaseException, history: History) -> None:
    """Keep the finished rows reachable from an exception that ends ``fit``."""
    try:
        err.history = history
        err.add_note(f"fit: the {len(history)} finished row(s) are kept in this exception's "
                     "history (history.stopped == 'error'); the model keeps its current "
                     "weights. Get them back with `history = err.history` in an `except` "
                     "block, or `import sys; history = sys.last_value.history` right after "
                     "the error in a notebook; pass history=history to fit to go on.")
    except (AttributeError, TypeError):  # an exception type that takes no attributes
        pass


@torch.no_grad()
def evaluate(model: _Model, x: torch.Tensor, *, y: torch.Tensor | None = None,
             beta: float = 1.0, batch_size: int = 1000,
             likelihood: Literal["bernoulli", "gaussian"] = "bernoulli",
             sigma: float = 1.0) -> dict[str, float]:
    """Average loss, reconstruction and KL (nats per image) of ``model`` on ``x``.

    The model's own objective (``model.loss_terms``): for a VAE ``z`` is sampled (one
    sample per image), as in the ELBO itself, so with ``beta = 1`` the loss is a
    one-sample estimate of the negative ELBO. Runs in evaluation mode and restores the
    model's previous mode.

    Args:
        model: an ``Autoencoder`` or a VAE (conditional ones need ``y``).
        x: float ``(N, 1, 28, 28)`` in ``[0, 1]``, any floating dtype, on any device: each
            batch is moved to the model's device and dtype.
        y: int64 labels ``(N,)``, for a conditional model only.
        beta: weight of the KL in ``loss``.
        batch_size: images per forward pass (memory, not results).
        likelihood, sigma: see :func:`vae_utils.losses.elbo_loss`.

    Returns:
        ``{"loss": recon + beta * kl, "recon": ..., "kl": ...}`` in nats per image.

    Raises:
        TypeError: ``model`` is not a vae_utils model; ``x`` is not a float tensor;
            labels are not an integer tensor; ``beta`` or ``sigma`` is not a number.
        ValueError: ``x`` is not ``(N, 1, 28, 28)``, is empty, or has values outside
            ``[0, 1]`` or NaN; labels missing for a conditional model, given for another,
            or out of range; ``beta`` negative or not finite; ``batch_size`` not a
            positive integer; unknown ``likelihood``; ``sigma`` not > 0.
    """
    _check_model(model, "evaluate")
    _check_data(model, x, y, "x")
    beta = _checks.number(beta, "beta")
    batch_size = _checks.positive_int(batch_size, "batch_size")
    sigma = _checks.likelihood(likelihood, sigma)
    return _evaluate(model, x, y, beta, batch_size, likelihood, sigma)


@torch.no_grad()
def _evaluate(model: _Model, x: torch.Tensor, y: torch.Tensor | None, beta: float,
              batch_size: int, likelihood: str, sigma: float) -> dict[str, float]:
    """:func:`evaluate` without its checks (``fit`` has checked the same data already)."""
    device, dtype = _checks.device_dtype(model)
    sums = torch.zeros(2, device=device)
    with _checks.eval_mode(model):
        for i in range(0, len(x), batch_size):
            xb = x[i:i + batch_size].to(device, dtype, non_blocking=True)
            yb = y[i:i + batch_size].to(device) if y is not None else None
            terms = model.loss_terms(xb, yb, likelihood=likelihood, sigma=sigma)
            sums += torch.stack((terms.recon, terms.kl)) * len(xb)
    recon, kl = (sums / len(x)).tolist()
    return {"loss": recon + beta * kl, "recon": recon, "kl": kl}


def _index_batches(n: int, batch_size: int, device: torch.device) -> Iterator[torch.Tensor]:
    """Endless stream of index batches: a fresh permutation of ``range(n)`` per pass, cut
    into batches (the last, smaller batch of a pass is kept)."""
    while True:
        perm = torch.randperm(n, device=device)
        for i in range(0, n, batch_size):
            yield perm[i:i + batch_size]


class _NonFinite(Exception):
    """Training produced a NaN or an infinity; the message says where and what to try."""


@dataclass
class _Plan:
    """Everything a run of :func:`fit` needs once its arguments are checked."""

    model: _Model
    x_train: torch.Tensor
    y_train: torch.Tensor | None
    x_test: torch.Tensor | None
    y_test: torch.Tensor | None
    optimizer: torch.optim.Optimizer
    batch_terms: Callable[[torch.Tensor, torch.Tensor | None], object]
    beta_at: Callable[[int], float]
    round_steps: int
    total_steps: int
    batch_size: int
    check_every: int
    dynamic_binarize: bool
    likelihood: str
    sigma: float
    lr: float
    mark_step: Callable[[], None] | None


def _fit_plan(model, x_train, x_test, *, epochs, steps, eval_every, batch_size, lr, beta,
              y_train, y_test, optimizer, device, dynamic_binarize, likelihood, sigma,
              check_every, on_epoch_end, history, compile, progress) -> _Plan:
    """Check every argument of :func:`fit` (before the first step) and set the run up:
    data on the device, the optimiser, the step budget and the (compiled) objective."""
    _check_model(model, "fit")
    _check_data(model, x_train, y_train, "x_train")
    _check_data(model, x_test, y_test, "x_test")
    if epochs is not None and steps is not None:
        raise ValueError(f"give a budget of epochs or of steps, not both; got epochs={epochs!r} "
                         f"and steps={steps!r}.")
    if steps is None and eval_every is not None:
        raise ValueError("eval_every goes with steps=; with epochs= the history has one row "
                         "per epoch.")
    epochs = 10 if epochs is None and steps is None else epochs
    for name, value in (("epochs", epochs), ("steps", steps), ("eval_every", eval_every),
                        ("batch_size", batch_size), ("check_every", check_every)):
        if value is not None:
            _checks.positive_int(value, name)
    beta_at = beta if callable(beta) else (lambda step, b=_beta(beta): b)
    sigma = _checks.likelihood(likelihood, sigma)
    if not isinstance(compile, bool | str):
        raise TypeError(f"compile must be True, False or a torch.compile mode name such as "
                        f"'reduce-overhead'; got {compile!r}.")
    if optimizer is None:
        lr = _checks.number(lr, "lr", positive=True)
    else:
        _check_optimizer(optimizer, model)
    if on_epoch_end is not None and not callable(on_epoch_end):
        raise TypeError(f"on_epoch_end must be a function called as on_epoch_end(epoch, model); "
                        f"got {_type_name(on_epoch_end)} {on_epoch_end!r}. Pass the function "
                        "itself (on_epoch_end=snapshot), not what calling it returns.")
    if history is not None and not isinstance(history, History):
        raise TypeError(f"history must be a vae_utils History to continue (what fit returned) "
                        f"or None; got {_type_name(history)}. For a saved dict use "
                        "History.from_dict(d).")
    for name, value in (("dynamic_binarize", dynamic_binarize), ("progress", progress)):
        if not isinstance(value, bool) and not (name == "progress" and value is None):
            raise TypeError(f"{name} must be True or False; got {value!r}.")
    if not _weights_finite(model):
        raise ValueError(f"the {type(model).__name__}'s weights already contain NaN or infinite "
                         "values, so training cannot start. Build a new model (re-run the cell "
                         "that creates it) or load a checkpoint (vae_utils.load_checkpoint).")

    dev = get_device(device)
    model.to(dev)
    dtype = _checks.device_dtype(model)[1]

    def to_device(x, y):  # once: every batch is then an index into device memory
        return (None if x is None else x.to(dev, dtype)), (None if y is None else y.to(dev, torch.int64))

    def batch_terms(xb: torch.Tensor, yb: torch.Tensor | None):
        return model.loss_terms(xb, yb, likelihood=likelihood, sigma=sigma)

    mark_step = None
    if compile is not False:
        mode = None if compile is True else compile
        # dynamic=False: one graph for the full batches and one for the smaller last batch.
        batch_terms = torch.compile(batch_terms, mode=mode, dynamic=False)
        if dev.type == "cuda" and mode is not None and "reduce-overhead" in mode:
            mark_step = torch.compiler.cudagraph_mark_step_begin  # one CUDA graph per step
    steps_per_epoch = math.ceil(len(x_train) / batch_size)
    round_steps, total_steps = ((steps_per_epoch, epochs * steps_per_epoch) if steps is None
                                else (eval_every or math.ceil(steps / 20), steps))
    return _Plan(model, *to_device(x_train, y_train), *to_device(x_test, y_test),
                 optimizer if optimizer is not None else _default_adam(model, lr, dev),
                 batch_terms, beta_at, round_steps, total_steps, batch_size, check_every,
                 dynamic_binarize, likelihood, sigma, float(lr), mark_step)


def _train_round(plan: _Plan, batches: Iterator[torch.Tensor], k: int, step0: int,
                 row: int, bar: tqdm | None) -> tuple[list[float], float]:
    """``k`` optimiser steps from step ``step0``; returns the row's mean ``[loss, recon,
    kl]`` over its images and the ``beta`` of its last step. Raises :class:`_NonFinite`
    when the running loss is not finite (read every ``check_every`` steps)."""
    plan.model.train()
    sums = torch.zeros(3, device=plan.x_train.device)  # (loss, recon, kl) summed over images
    seen = shown = 0
    for s in range(1, k + 1):
        idx = next(batches)
        xb = plan.x_train[idx]  # (B, 1, 28, 28), gathered on the device
        yb = plan.y_train[idx] if plan.y_train is not None else None
        if plan.dynamic_binarize:
            xb = torch.bernoulli(xb)
        beta = _beta(plan.beta_at(step0 + s), f" The beta schedule returned it at step {step0 + s}.")
        if plan.mark_step is not None:
            plan.mark_step()
        terms = plan.batch_terms(xb, yb)
        loss = terms.recon + beta * terms.kl
        plan.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        plan.optimizer.step()
        sums += torch.stack((loss, terms.recon, terms.kl)).detach() * len(xb)
        seen += len(xb)
        if s % plan.check_every == 0 or s == k:
            running = (sums[0] / seen).item()  # the one host sync per check_every steps
            if not math.isfinite(running):
                raise _NonFinite(
                    f"Training stopped at step {step0 + s} (row {row}): the loss became "
                    f"{running}. The model keeps its weights from before this row (step "
                    f"{step0}). Try a smaller learning rate (lr={plan.lr:g} now), check the "
                    "data for NaN, or lower beta.")
            if bar is not None:
                bar.update(s - shown)
                shown = s
                bar.set_postfix(row=row, loss=f"{running:.1f}")
    return (sums / seen).tolist(), beta


def fit(
    model: _Model,
    x_train: torch.Tensor,
    x_test: torch.Tensor | None = None,
    *,
    epochs: int | None = None,
    steps: int | None = None,
    eval_every: int | None = None,
    batch_size: int = 128,
    lr: float = 1e-3,
    beta: float | Callable[[int], float] = 1.0,
    y_train: torch.Tensor | None = None,
    y_test: torch.Tensor | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    device: str | torch.device | None = None,
    dynamic_binarize: bool = False,
    likelihood: Literal["bernoulli", "gaussian"] = "bernoulli",
    sigma: float = 1.0,
    progress: bool | None = None,
    check_every: int = 50,
    on_epoch_end: Callable[[int, nn.Module], None] | None = None,
    history: History | None = None,
    compile: bool | str = False,
) -> History:
    """Train any model of the course on its own objective (``model.loss_terms``).

    The one training loop of the course: plain, convolutional and conditional VAEs and
    the autoencoder all train here, each step minimising ``recon + beta * kl`` of the
    model's ``loss_terms``. The budget is either a number of passes over the data
    (``epochs``) or a number of optimiser steps (``steps``); a step budget gives a model
    the same amount of training whatever the size of the data set, which is how the
    notebooks train. What happens on a NaN, Ctrl-C or an exception: see the module's
    docstring.

    Args:
        model: the model; it is moved to ``device`` and trained in place.
        x_train: float ``(N, 1, 28, 28)`` in ``[0, 1]`` (CPU or already on the device;
            another floating dtype is converted once to the model's dtype).
        x_test: optional held-out images, same format; evaluated after every row.
        epochs: passes over ``x_train``, one history row each (default 10 when neither
            ``epochs`` nor ``steps`` is given).
        steps: optimiser steps instead (not with ``epochs``); batches run on across
            passes, a fresh shuffle each pass.
        eval_every: with ``steps``, the steps per history row (test evaluation,
            ``on_epoch_end`` call); default ``ceil(steps / 20)``.
        batch_size: images per step; the last, smaller batch of a pass is kept.
        lr: learning rate of the default Adam (ignored when ``optimizer`` is given).
        beta: weight of the KL term: a number >= 0, or a function ``beta(step)`` of the
            optimiser step (1, 2, ..., counted on across continued histories), e.g. KL
            annealing (Bowman et al. 2016, Section 3.1): ``lambda step: min(1.0, step /
            2000)``. The history's losses use the ``beta`` of their step.
        y_train, y_test: int64 labels ``(N,)``, for a conditional model only.
        optimizer: an optimiser over (some of) ``model.parameters()``; default Adam(lr),
            fused on CPU and CUDA. One over another model's parameters is refused.
        device: ``None`` for automatic (CUDA, then MPS, then CPU) or a device name.
        dynamic_binarize: a fresh Bernoulli draw of every training image each time it is
            used (dynamic binarisation).
        likelihood, sigma: see :func:`vae_utils.losses.elbo_loss`.
        progress: a tqdm progress bar; ``None`` shows it unless ``VAE_PROGRESS=0``.
        check_every: read the loss on the host every this many steps (progress bar and
            NaN check); larger means fewer GPU synchronisations.
        on_epoch_end: called as ``on_epoch_end(epoch, model)`` after each history row.
        history: a :class:`History` to continue; its ``stopped`` is reset.
        compile: ``True`` or a ``torch.compile`` mode (``"reduce-overhead"``: CUDA graphs
            on a GPU) compiles the step's forward pass and loss; same results up to float
            rounding, after a compilation of tens of seconds (``benchmarks/README.md``).

    Returns:
        The :class:`History`: per-row train and test loss, reconstruction and KL, the
        optimiser step reached, and seconds.

    Raises:
        TypeError, ValueError: before the first step, for data of the wrong type, shape
            or range, labels missing or unexpected, both budgets, bad hyper-parameters,
            an optimiser over another model, a non-callable ``on_epoch_end``, or weights
            that are already NaN. A ``beta`` schedule that returns a bad value raises
            during training, naming the step.
        RuntimeError: the requested device is not available.
        Exception: whatever ``on_epoch_end`` or torch raises, with ``err.history``.
    """
    plan = _fit_plan(model, x_train, x_test, epochs=epochs, steps=steps, eval_every=eval_every,
                     batch_size=batch_size, lr=lr, beta=beta, y_train=y_train, y_test=y_test,
                     optimizer=optimizer, device=device, dynamic_binarize=dynamic_binarize,
                     likelihood=likelihood, sigma=sigma, check_every=check_every,
                     on_epoch_end=on_epoch_end, history=history, compile=compile,
                     progress=progress)
    history = history if history is not None else History()
    history.stopped = None  # a continued run says how *it* ended
    row = (history.epoch[-1] + 1) if history.epoch else 1
    step0 = history.step[-1] if history.step else 0
    show = _env.progress_default() if progress is None else progress
    bar = tqdm(total=plan.total_steps, desc=type(model).__name__, unit="step") if show else None
    batches = _index_batches(len(plan.x_train), batch_size, plan.x_train.device)
    done = 0  # steps taken in this call
    good_weights = _copy_weights(model)  # checked finite; renewed after every good row
    try:
        while done < plan.total_steps:
            if done and not _weights_finite(model):
                raise _NonFinite(f"Training stopped before row {row}: the model's weights "
                                 f"became NaN or infinite after row {row - 1} (in "
                                 f"on_epoch_end?). The model keeps its weights from the end of "
                                 f"row {row - 1} (step {step0 + done}).")
            k = min(plan.round_steps, plan.total_steps - done)
            start = time.perf_counter()
            train, beta_now = _train_round(plan, batches, k, step0 + done, row, bar)
            done += k
            train_seconds = time.perf_counter() - start
            test = (_evaluate(model, plan.x_test, plan.y_test, beta_now, 1000, likelihood,
                              plan.sigma) if plan.x_test is not None else
                    {"loss": math.nan, "recon": math.nan, "kl": math.nan})
            bad = ("the model's weights became NaN or infinite" if not _weights_finite(model)
                   else f"the test loss became {test['loss']}"
                   if plan.x_test is not None and not math.isfinite(test["loss"]) else None)
            if bad:
                raise _NonFinite(f"Training stopped at step {step0 + done} (row {row}): {bad}. "
                                 f"The model keeps its weights from before this row (step "
                                 f"{step0 + done - k}), and the row is not recorded. Try a "
                                 f"smaller learning rate (lr={plan.lr:g} now) or lower beta.")
            good_weights = _copy_weights(model)
            history.append_row(row, step0 + done, train, test, time.perf_counter() - start,
                               train_seconds)
            if bar is not None:
                bar.set_postfix(row=row, train=f"{train[0]:.1f}", test=f"{test['loss']:.1f}")
            if on_epoch_end is not None:
                on_epoch_end(row, model)
            row += 1
    except _NonFinite as stop:
        model.load_state_dict(good_weights)
        history.stopped = "nan"
        print(stop)
    except KeyboardInterrupt:
        history.stopped = "interrupted"
        print(f"Training interrupted after {len(history)} finished row(s) (step "
              f"{history.step[-1] if history.step else 0}); returning the history so far. The "
              "model keeps its current weights.")
    except Exception as err:
        history.stopped = "error"
        _attach_history(err, history)
        raise
    finally:
        if bar is not None:
            bar.close()
    return history


def save_checkpoint(path: str | Path, model: _Model,
                    history: History | None = None) -> Path:
    """Save a model's class, constructor arguments, weights and (optionally) history.

    Returns:
        The path written. Parent folders are created.

    Raises:
        TypeError: ``path`` is not a path, ``model`` is not a vae_utils model (it needs
            ``config()`` to be rebuilt), or ``history`` is not a :class:`History`.
        ValueError: ``path`` is an existing folder.
    """
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"path must be a file path (str or pathlib.Path); got {_type_name(path)}.")
    _check_model(model, "save_checkpoint")
    if history is not None and not isinstance(history, History):
        raise TypeError(f"history must be the History that fit returned, or None; got "
                        f"{_type_name(history)}.")
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder; give a file name such as {path / 'vae.pt'}.")
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({
        "model_class": type(model).__name__,
        "config": model.config(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "history": history.as_dict() if history is not None else None,
    }, path)
    return path


def _model_classes() -> dict[str, type]:
    """The course's model classes by name: ``Autoencoder``, every :class:`GaussianVAE`
    (``VAE``, ``ConvVAE``, ``ConditionalVAE``, ...) and their subclasses, so checkpoints
    of new models load too."""
    found: dict[str, type] = {}
    todo: list[type] = [Autoencoder, GaussianVAE]
    while todo:
        cls = todo.pop()
        found.setdefault(cls.__name__, cls)
        todo.extend(cls.__subclasses__())
    return found


def load_checkpoint(path: str | Path, model: _Model | None = None,
                    map_location: str | torch.device = "cpu",
                    ) -> tuple[_Model, History | None]:
    """Load a checkpoint written by :func:`save_checkpoint`, with ``weights_only=True``.

    Args:
        path: the file.
        model: a model to load the weights into; if ``None`` one is built from the
            stored class and constructor arguments.
        map_location: where the tensors go.

    Returns:
        ``(model, history)``; ``history`` is ``None`` if none was saved.

    Raises:
        FileNotFoundError: no such file.
        TypeError: ``path`` is not a path, or ``model`` is not a vae_utils model.
        ValueError: the file is not a vae_utils checkpoint ("not a vae_utils checkpoint":
            a text file, an empty or truncated file, a dictionary without the class,
            config or weights), its class does not match ``model``, or its weights do
            not fit ``model`` (a model of other sizes: the message gives the
            checkpoint's config and suggests leaving ``model`` out).
        RuntimeError: ``map_location`` names a device this machine does not have.
    """
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"path must be a file path (str or pathlib.Path); got {_type_name(path)}.")
    if model is not None:
        _check_model(model, "load_checkpoint")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}; train the model first or fix the path.")
    if isinstance(map_location, str | torch.device):
        get_device(map_location)  # a clear error for a device this machine does not have
    not_ours = (f"{path} is not a vae_utils checkpoint (a file written by "
                "vae_utils.save_checkpoint)")
    if path.stat().st_size == 0:
        raise ValueError(f"{not_ours}: it is empty. Save the model again with "
                         "save_checkpoint(path, model, history).")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except OSError:
        raise
    except Exception as err:  # UnpicklingError, EOFError, zip errors: not a torch.save file
        raise ValueError(f"{not_ours}: torch.load could not read it ({type(err).__name__}: "
                         f"{str(err).splitlines()[0] if str(err) else 'no detail'}). Is it "
                         "a text file, or truncated?") from err
    missing = [k for k in ("model_class", "config", "state_dict")
               if not isinstance(ckpt, dict) or k not in ckpt]
    if missing:
        got = (f"a dict without {', '.join(map(repr, missing))}" if isinstance(ckpt, dict)
               else f"a {_type_name(ckpt)}")
        raise ValueError(f"{not_ours}: it holds {got}. A checkpoint has 'model_class', "
                         "'config' and 'state_dict'; for a bare state_dict use "
                         "model.load_state_dict(torch.load(path)).")
    cls_name, config = ckpt["model_class"], ckpt["config"]
    if not isinstance(config, dict) or not isinstance(ckpt["state_dict"], dict):
        raise ValueError(f"{not_ours}: its config or state_dict is not a dict.")
    classes = _model_classes()
    built = model is None
    if model is None:
        if cls_name not in classes:
            raise ValueError(f"{path} holds an unknown model class {cls_name!r}; import the "
                             "module that defines it first.")
        try:
            model = classes[cls_name](**config)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{path} holds a {cls_name} whose config {config} does not build "
                             f"one ({err}).") from err
    elif type(model).__name__ != cls_name:
        raise ValueError(f"{path} holds a {cls_name}, not a {type(model).__name__}. Leave "
                         f"model out to rebuild the {cls_name}: model, history = "
                         "load_checkpoint(path).")
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as err:
        if built:
            raise ValueError(f"{not_ours}: its weights do not fit the {cls_name} its own config "
                             f"{config} builds, so the file is damaged; save it again. (torch: "
                             f"{str(err).splitlines()[0]})") from err
        yours = model.config()
        raise ValueError(
            f"{path} holds a {cls_name} with config {config}, but the model you passed has "
            f"config {yours}, so its weights do not fit. Leave model out to rebuild the model "
            f"from the checkpoint: model, history = load_checkpoint(path). (torch: "
            f"{str(err).splitlines()[0]})") from err
    try:
        history = History.from_dict(ckpt["history"]) if ckpt.get("history") else None
    except TypeError as err:
        raise ValueError(f"{path} holds a history that is not a History.as_dict(): {err}.") from err
    return model, history
