"""Training: ``fit`` for an ``Autoencoder`` or a ``VAE``, fast on a CPU and built for GPUs.

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
"""

from __future__ import annotations

import math
import os
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import nn

from .losses import _check_number, _type_name, bernoulli_nll, check_targets, elbo_loss, gaussian_nll
from .models import VAE, Autoencoder

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
    end of each row (empty in histories saved before it existed). For an ``Autoencoder`` ``*_loss`` equals ``*_recon`` and ``*_kl`` is 0. Test
    columns are NaN when ``fit`` had no test set. ``stopped`` is ``None`` after a full
    run (also when that run continued one that had stopped), ``"nan"`` after a
    non-finite loss or non-finite weights, ``"interrupted"`` after Ctrl-C, ``"error"``
    after an exception during training (e.g. in ``on_epoch_end``; see :func:`fit`).

    ``seconds`` is the wall-clock time of a whole epoch (training and test evaluation);
    ``train_seconds`` and ``test_seconds`` are its two parts (empty in histories saved
    before they existed).
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
        by optimiser step.

        Raises:
            ValueError: ``every`` is not a positive integer.
        """
        if every is not None and (not isinstance(every, int) or isinstance(every, bool)
                                  or every < 1):
            raise ValueError(f"every must be a positive integer (show every every-th row); got "
                             f"{every!r}.")
        if not self.epoch:
            return "no epoch finished"
        step = every or max(1, math.ceil(len(self.epoch) / 10))
        rows = [i for i in range(len(self.epoch)) if i % step == 0 or i == len(self.epoch) - 1]
        lines = [" step  train loss  test loss  test recon  test KL  seconds   (nats per image)"]
        for i in rows:
            step = self.step[i] if len(self.step) == len(self.epoch) else self.epoch[i]
            lines.append(f"{step:5d}  {self.train_loss[i]:10.2f}  {self.test_loss[i]:9.2f}"
                         f"  {self.test_recon[i]:10.2f}  {self.test_kl[i]:7.2f}  {self.seconds[i]:7.2f}")
        if self.stopped:
            lines.append(f"(stopped early: {self.stopped})")
        return "\n".join(lines)


def _batch_terms(model: nn.Module, x: torch.Tensor, y: torch.Tensor | None, likelihood: str,
                 sigma: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``(recon, kl)`` of one batch, each a 0-d tensor in nats per image (batch mean).

    A conditional model (``model.conditional`` true) is called as ``model(x, y)``.
    """
    if isinstance(model, VAE):
        logits, mu, logvar = model(x, y) if _is_conditional(model) else model(x)
        terms = elbo_loss(logits, x, mu, logvar, beta=1.0, likelihood=likelihood, sigma=sigma,
                          validate=False)
        return terms.recon, terms.kl
    logits, _ = model(x)
    if likelihood == "gaussian":
        recon = gaussian_nll(torch.sigmoid(logits), x, sigma).mean()
    else:
        recon = bernoulli_nll(logits, x).mean()
    return recon, torch.zeros((), device=x.device)


def _is_conditional(model: nn.Module) -> bool:
    return bool(getattr(model, "conditional", False))


def _check_model(model: nn.Module, who: str) -> None:
    if not isinstance(model, Autoencoder | VAE):
        raise TypeError(f"{who} takes a vae_utils Autoencoder or VAE (or a subclass); got "
                        f"{_type_name(model)}.")


def _check_data(x: torch.Tensor | None, name: str) -> None:
    """Images for fit/evaluate: a float tensor ``(N, 1, 28, 28)``, N >= 1, values in
    ``[0, 1]`` (one host synchronisation for the range)."""
    if x is None:
        return
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of images (N, 1, 28, 28); got "
                        f"{_type_name(x)}. Use load_mnist(), or torch.as_tensor({name}, "
                        "dtype=torch.float32) (divided by 255 for 0-255 pixels).")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a float tensor in [0, 1]; got {x.dtype}. "
                        f"Convert with {name}.float() / 255 (0-255 pixels) or {name}.float() "
                        "(0/1 or bool pixels).")
    if x.dim() != 4 or tuple(x.shape[1:]) != (1, 28, 28):
        hint = (f" Reshape with {name}.view(-1, 1, 28, 28)." if x.numel() % 784 == 0
                and x.numel() else "")
        raise ValueError(f"{name} must have shape (N, 1, 28, 28); got {tuple(x.shape)}.{hint}")
    if len(x) == 0:
        raise ValueError(f"{name} is empty (0 images): check how it was sliced or filtered.")
    check_targets(x, name)


def _check_labels(model: nn.Module, x: torch.Tensor | None, y: torch.Tensor | None,
                  name: str) -> None:
    """Labels must come with (and only with) a conditional model, one per image, in range."""
    if x is None:
        if y is not None:
            raise ValueError(f"{name} was given without the images it labels.")
        return
    if not _is_conditional(model):
        if y is not None:
            raise ValueError(f"{name} was given, but a {type(model).__name__} does not use "
                             f"labels. Leave {name} out, or train a conditional model "
                             "(vae_utils.ConditionalVAE).")
        return
    if y is None:
        raise ValueError(f"a {type(model).__name__} is conditioned on the digit label: pass "
                         f"{name}= (int64 labels, one per image), e.g. {name}=data."
                         f"{name.replace('x_', 'y_')}.")
    if not isinstance(y, torch.Tensor) or y.dtype not in (torch.int64, torch.int32,
                                                          torch.int16, torch.uint8):
        raise TypeError(f"{name} must be an integer torch.Tensor of class labels; got "
                        f"{getattr(y, 'dtype', type(y).__name__)}. Use data.y_train / data.y_test.")
    if y.dim() != 1 or len(y) != len(x):
        raise ValueError(f"{name} must have shape ({len(x)},), one label per image; got "
                         f"{tuple(y.shape)}.")
    classes = int(getattr(model, "num_classes", 10))
    lo, hi = int(y.min()), int(y.max())
    if lo < 0 or hi >= classes:
        raise ValueError(f"{name} must hold labels 0..{classes - 1} for this model; got values "
                         f"from {lo} to {hi}.")


def _model_dtype(model: nn.Module) -> torch.dtype:
    return next(model.parameters()).dtype


def _check_beta(value: float, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or value < 0:
        raise ValueError(f"beta must be a finite number >= 0; got {value!r}{where}. For a "
                         "schedule pass a function of the step, e.g. beta=lambda step: "
                         "min(1.0, step / 1000).")
    return float(value)


def _default_adam(model: nn.Module, lr: float, device: torch.device) -> torch.optim.Adam:
    """Adam(lr) over the model's parameters: the fused implementation where torch has one.

    ``fused=True`` runs the whole Adam update in one kernel instead of several passes
    per parameter tensor; it is the same algorithm (results equal up to float rounding).
    On this course's VAE it cut the optimiser's share of a CPU step from about 7 ms to
    2 ms (``benchmarks/README.md``). Older torch releases and other devices get the
    default implementation.
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
def evaluate(model: nn.Module, x: torch.Tensor, *, y: torch.Tensor | None = None,
             beta: float = 1.0, batch_size: int = 1000,
             likelihood: Literal["bernoulli", "gaussian"] = "bernoulli",
             sigma: float = 1.0) -> dict[str, float]:
    """Average loss, reconstruction and KL (nats per image) of ``model`` on ``x``.

    The VAE's ``z`` is sampled (one sample per image), as in the ELBO itself, so with
    ``beta = 1`` the loss is a one-sample estimate of the negative ELBO. Runs in
    evaluation mode and restores the model's previous mode.

    Args:
        model: an ``Autoencoder`` or a VAE (conditional ones need ``y``).
        x: float32 ``(N, 1, 28, 28)`` in ``[0, 1]``.
        y: int64 labels ``(N,)``, for a conditional model only.
        beta: weight of the KL in ``loss``.
        batch_size: images per forward pass (memory, not results).
        likelihood, sigma: see :func:`vae_utils.losses.elbo_loss`.

    Returns:
        ``{"loss": recon + beta * kl, "recon": ..., "kl": ...}`` in nats per image.

    ``x`` may be any floating dtype on any device: each batch is moved to the model's
    device and converted to its dtype (float64 images become float32 for a float32
    model; values in ``[0, 1]`` lose nothing that matters).

    Raises:
        TypeError: ``model`` is not a vae_utils model; ``x`` is not a float tensor (a
            NumPy array, uint8 or bool images); labels are not an integer tensor.
        ValueError: ``x`` is not ``(N, 1, 28, 28)``, is empty, or has values outside
            ``[0, 1]`` or NaN (e.g. 0-255 pixels); labels missing for a conditional model,
            given for another, or out of range; ``beta`` negative or not finite;
            ``batch_size`` not a positive integer; unknown ``likelihood``; ``sigma`` not > 0.
    """
    _check_model(model, "evaluate")
    _check_data(x, "x")
    _check_labels(model, x, y, "y")
    beta = _check_number(beta, "beta (the weight of the KL term)")
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}.")
    if likelihood not in ("bernoulli", "gaussian"):
        raise ValueError(f"likelihood must be 'bernoulli' or 'gaussian'; got {likelihood!r}.")
    _check_number(sigma, "sigma (the pixel standard deviation)", positive=True)
    return _evaluate(model, x, y, beta, batch_size, likelihood, sigma)


@torch.no_grad()
def _evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor | None, beta: float,
              batch_size: int, likelihood: str, sigma: float) -> dict[str, float]:
    """:func:`evaluate` without its checks (``fit`` has checked the same data already)."""
    device = next(model.parameters()).device
    dtype = _model_dtype(model)
    was_training = model.training
    model.eval()
    sums = torch.zeros(2, device=device)
    for i in range(0, len(x), batch_size):
        xb = x[i:i + batch_size].to(device, dtype, non_blocking=True)
        yb = y[i:i + batch_size].to(device) if y is not None else None
        sums += torch.stack(_batch_terms(model, xb, yb, likelihood, sigma)) * len(xb)
    model.train(was_training)
    recon, kl = (sums / len(x)).tolist()
    return {"loss": recon + beta * kl, "recon": recon, "kl": kl}


def _index_batches(n: int, batch_size: int, device: torch.device):
    """Endless stream of index batches: a fresh permutation of ``range(n)`` per pass, cut
    into batches (the last, smaller batch of a pass is kept)."""
    while True:
        perm = torch.randperm(n, device=device)
        for i in range(0, n, batch_size):
            yield perm[i:i + batch_size]


def fit(
    model: Autoencoder | VAE,
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
    """Train an ``Autoencoder`` (reconstruction loss) or any VAE (negative ELBO).

    The one training loop of the course: plain, convolutional and conditional VAEs and
    the autoencoder all train here. The budget is either a number of passes over the
    data (``epochs``) or a number of optimiser steps (``steps``); a step budget gives a
    model the same amount of training whatever the size of the data set, which is how
    the notebooks train (the same notebook on 4,000 or 60,000 digits).

    Args:
        model: the model; it is moved to ``device`` and trained in place.
        x_train: float32 ``(N, 1, 28, 28)`` in ``[0, 1]`` (CPU or already on the device).
            Another floating dtype (e.g. float64) is converted once to the model's dtype.
        x_test: optional held-out images, same format; evaluated after every epoch (or
            every ``eval_every`` steps).
        epochs: number of passes over ``x_train``; one row of the history per pass.
            Default 10 when neither ``epochs`` nor ``steps`` is given.
        steps: number of optimiser steps instead (mutually exclusive with ``epochs``).
            Batches run on across passes (a fresh shuffle at each pass); the history
            gets one row per ``eval_every`` steps.
        eval_every: with ``steps``, the steps per history row (test evaluation,
            ``on_epoch_end`` call); default ``ceil(steps / 20)``.
        batch_size: images per step; the last, smaller batch of a pass is kept.
        lr: learning rate of the default Adam optimiser (ignored if ``optimizer`` given).
        beta: weight of the KL term (VAE only): a number >= 0, or a schedule, a function
            ``beta(step) -> float`` of the optimiser step (1, 2, ..., counted on across
            continued histories), e.g. KL annealing (Bowman et al. 2016, "Generating
            Sentences from a Continuous Space", Section 3.1):
            ``beta=lambda step: min(1.0, step / 2000)``. The history's losses use the
            ``beta`` of their step (the test loss that of the row's last step).
        y_train, y_test: int64 digit labels ``(N,)`` of ``x_train`` / ``x_test``, for a
            conditional model (``model.conditional`` true) only.
        optimizer: an optimiser over ``model.parameters()`` (or some of them, to train
            part of the model); if ``None``, Adam(lr) with its fused implementation on CPU
            and CUDA (one kernel for the whole update; the same algorithm as the default
            Adam, several times faster per step). An optimiser that holds parameters of
            another model (one made before a cell re-created the model) is refused.
        device: ``None`` for automatic (CUDA, then MPS, then CPU) or a device name.
        dynamic_binarize: draw a fresh Bernoulli sample of every training image each
            time it is used (dynamic binarisation).
        likelihood, sigma: see :func:`vae_utils.losses.elbo_loss`.
        progress: show a tqdm progress bar with the current loss. ``None`` (default)
            shows it unless the environment variable ``VAE_PROGRESS`` is ``"0"`` (the
            course command sets that, so committed notebooks hold no widget output).
        check_every: read the loss on the host every this many steps (progress bar
            update and NaN check); larger means fewer GPU synchronisations.
        on_epoch_end: called as ``on_epoch_end(epoch, model)`` after each history row
            (e.g. to save a frame of a training GIF).
        history: a :class:`History` to continue (rows and steps are numbered on from it);
            its ``stopped`` is reset, so it says how this run ended.
        compile: ``False`` (default) runs eagerly. ``True`` compiles the forward pass and
            loss of a training step with ``torch.compile`` (its backward is compiled
            too); a string picks ``torch.compile``'s mode, e.g. ``"reduce-overhead"``,
            which on a GPU also records each step as a CUDA graph. Same maths, same
            results up to float rounding; the first steps pay the compilation (tens of
            seconds on a laptop CPU), so it pays off only for long runs.
            ``benchmarks/README.md`` has measured numbers.

    Returns:
        :class:`History` of per-row train and test loss, reconstruction, KL, the
        optimiser step reached and seconds (whole row, and its training and test parts).
        If the training loss becomes NaN or infinite, or a row ends with non-finite
        weights or a non-finite test loss, training stops with a message, the model gets
        back the weights it had at the end of the last good row (weights that were
        checked to be finite), and that bad row is not recorded
        (``history.stopped == "nan"``). Ctrl-C stops training and returns the history
        so far (``history.stopped == "interrupted"``).

    Raises:
        TypeError, ValueError: data of the wrong type, shape or range (values must lie in
            ``[0, 1]``; NaN, empty data and uint8/bool images are refused), labels
            missing, unexpected or out of range, both ``epochs`` and ``steps`` given, bad
            hyper-parameters (``beta`` negative, NaN or infinite, also when a schedule
            returns it: the message names the step), an ``optimizer`` over another
            model's parameters, a non-callable ``on_epoch_end``, or a model whose weights
            are already NaN or infinite. All of these are checked before the first step.
        RuntimeError: the requested device is not available.
        Exception: whatever ``on_epoch_end`` (or a ``beta`` schedule, or torch) raises
            during training propagates, but the finished rows are not lost: the
            exception carries the history as ``err.history`` (``stopped == "error"``),
            the same object as ``history=`` if one was passed, and a note in its
            traceback says how to get it back (``history = err.history`` in an
            ``except`` block, or ``history = sys.last_value.history`` right after the
            error in a notebook). The model keeps its current weights.
    """
    _check_model(model, "fit")
    _check_data(x_train, "x_train")
    _check_data(x_test, "x_test")
    _check_labels(model, x_train, y_train, "y_train")
    _check_labels(model, x_test, y_test, "y_test")
    if epochs is not None and steps is not None:
        raise ValueError(f"give a budget of epochs or of steps, not both; got epochs={epochs!r} "
                         f"and steps={steps!r}.")
    if steps is None and eval_every is not None:
        raise ValueError("eval_every goes with steps=; with epochs= the history has one row "
                         "per epoch.")
    if epochs is None and steps is None:
        epochs = 10
    for name, value in (("epochs", epochs), ("steps", steps), ("eval_every", eval_every),
                        ("batch_size", batch_size), ("check_every", check_every)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                  or value < 1):
            raise ValueError(f"{name} must be a positive integer; got {value!r}.")
    beta_at = beta if callable(beta) else (lambda step, b=_check_beta(beta, ""): b)
    if likelihood not in ("bernoulli", "gaussian"):
        raise ValueError(f"likelihood must be 'bernoulli' or 'gaussian'; got {likelihood!r}.")
    if not isinstance(compile, bool | str):
        raise TypeError(f"compile must be True, False or a torch.compile mode name such as "
                        f"'reduce-overhead'; got {compile!r}.")
    if optimizer is None:
        _check_number(lr, "lr (the learning rate)", positive=True)
    else:
        _check_optimizer(optimizer, model)
    _check_number(sigma, "sigma (the pixel standard deviation)", positive=True)
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
    dtype = _model_dtype(model)
    x_train = x_train.to(dev, dtype)  # once: every batch below is an index into device memory
    x_test = x_test.to(dev, dtype) if x_test is not None else None
    y_train = y_train.to(dev, torch.int64) if y_train is not None else None
    y_test = y_test.to(dev, torch.int64) if y_test is not None else None
    if optimizer is None:
        optimizer = _default_adam(model, lr, dev)
    history = history if history is not None else History()
    history.stopped = None  # a continued run says how *it* ended
    first_row = (history.epoch[-1] + 1) if history.epoch else 1
    step0 = history.step[-1] if history.step else 0
    n = len(x_train)
    steps_per_epoch = math.ceil(n / batch_size)
    if steps is None:
        round_steps, total_steps = steps_per_epoch, epochs * steps_per_epoch
    else:
        round_steps, total_steps = (eval_every or math.ceil(steps / 20)), steps

    def batch_terms(xb: torch.Tensor, yb: torch.Tensor | None
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        return _batch_terms(model, xb, yb, likelihood, sigma)

    mark_step = None
    if compile is not False:
        mode = None if compile is True else compile
        # dynamic=False: one graph for the full batches and one for the smaller last batch.
        batch_terms = torch.compile(batch_terms, mode=mode, dynamic=False)
        if dev.type == "cuda" and mode is not None and "reduce-overhead" in mode:
            mark_step = torch.compiler.cudagraph_mark_step_begin  # one CUDA graph per step

    bar = None
    if progress is None:
        progress = os.environ.get("VAE_PROGRESS", "1") != "0"
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=total_steps, desc=type(model).__name__, unit="step", leave=True)

    batches = _index_batches(n, batch_size, dev)
    done = 0  # steps taken in this call
    row = first_row
    good_weights = _copy_weights(model)  # checked finite above; renewed after every good row
    try:
        while done < total_steps:
            k = min(round_steps, total_steps - done)
            if done and not _weights_finite(model):  # on_epoch_end changed the weights
                model.load_state_dict(good_weights)
                history.stopped = "nan"
                print(f"Training stopped before row {row}: the model's weights became NaN or "
                      f"infinite after row {row - 1} (in on_epoch_end?). The model keeps its "
                      f"weights from the end of row {row - 1} (step {step0 + done}).")
                return history
            model.train()
            start = time.perf_counter()
            sums = torch.zeros(3, device=dev)  # (loss, recon, kl) summed over images
            seen = 0
            for s in range(1, k + 1):
                idx = next(batches)
                xb = x_train[idx]  # (B, 1, 28, 28), gathered on the device
                yb = y_train[idx] if y_train is not None else None
                if dynamic_binarize:
                    xb = torch.bernoulli(xb)
                step_beta = _check_beta(beta_at(step0 + done + s), f" at step {step0 + done + s}")
                if mark_step is not None:
                    mark_step()
                recon, kl = batch_terms(xb, yb)
                loss = recon + step_beta * kl
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                sums += torch.stack((loss, recon, kl)).detach() * len(xb)
                seen += len(xb)
                if s % check_every == 0 or s == k:
                    running = (sums[0] / seen).item()  # the one host sync per check_every steps
                    if not math.isfinite(running):
                        model.load_state_dict(good_weights)
                        history.stopped = "nan"
                        print(f"Training stopped at step {step0 + done + s} (row {row}): the loss "
                              f"became {running}. The model keeps its weights from before this "
                              f"row (step {step0 + done}). Try a smaller learning rate "
                              f"(lr={lr:g} now), check the data for NaN, or lower beta.")
                        return history
                    if bar is not None:
                        bar.update(done + s - bar.n)
                        bar.set_postfix(row=row, loss=f"{running:.1f}")
            done += k
            train = (sums / seen).tolist()  # host sync: the row's steps have all finished
            train_seconds = time.perf_counter() - start
            test = (_evaluate(model, x_test, y_test, step_beta, 1000, likelihood, sigma)
                    if x_test is not None else {"loss": math.nan, "recon": math.nan, "kl": math.nan})
            seconds = time.perf_counter() - start
            weights_ok = _weights_finite(model)
            if not (weights_ok and (x_test is None or math.isfinite(test["loss"]))):
                model.load_state_dict(good_weights)
                history.stopped = "nan"
                what = ("the model's weights became NaN or infinite" if not weights_ok else
                        f"the test loss became {test['loss']}")
                print(f"Training stopped at step {step0 + done} (row {row}): {what}. The model "
                      f"keeps its weights from before this row (step {step0 + done - k}), and "
                      f"the row is not recorded. Try a smaller learning rate (lr={lr:g} now) "
                      "or lower beta.")
                return history
            good_weights = _copy_weights(model)
            history.epoch.append(row)
            history.step.append(step0 + done)
            history.train_loss.append(train[0])
            history.train_recon.append(train[1])
            history.train_kl.append(train[2])
            history.test_loss.append(test["loss"])
            history.test_recon.append(test["recon"])
            history.test_kl.append(test["kl"])
            history.seconds.append(seconds)
            history.train_seconds.append(train_seconds)
            history.test_seconds.append(seconds - train_seconds)
            if bar is not None:
                bar.set_postfix(row=row, train=f"{train[0]:.1f}", test=f"{test['loss']:.1f}")
            if on_epoch_end is not None:
                on_epoch_end(row, model)
            row += 1
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


def save_checkpoint(path: str | Path, model: Autoencoder | VAE,
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
    """The course's model classes by name: ``Autoencoder``, ``VAE`` and every subclass
    of them (convolutional, conditional, ...), so checkpoints of new models load too."""
    found: dict[str, type] = {}
    todo: list[type] = [Autoencoder, VAE]
    while todo:
        cls = todo.pop()
        found.setdefault(cls.__name__, cls)
        todo.extend(cls.__subclasses__())
    return found


def load_checkpoint(path: str | Path, model: Autoencoder | VAE | None = None,
                    map_location: str | torch.device = "cpu",
                    ) -> tuple[Autoencoder | VAE, History | None]:
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
