"""The checks of every public entry point of ``vae_utils``, written once.

The lowest layer of the package with :mod:`vae_utils._env` (it imports nothing else of
``vae_utils``), so the same mistake gives the same exception type and the same message
wherever it is made. Each message says what was wrong and how to fix it.

The rule of types: a value of the wrong *type* (a NumPy array where a tensor is needed,
a string where a number is) raises ``TypeError``; a value of the right type that is out
of range, of the wrong shape or NaN raises ``ValueError``; tensors on two devices raise
``RuntimeError`` (as torch itself does). Counts (``k``, ``steps``, ``batch_size``, ...)
are the one exception, kept from the start of the course: anything that is not a
positive integer raises ``ValueError`` "must be a positive integer".
"""

from __future__ import annotations

import contextlib
import math
import numbers
from collections.abc import Iterator

import numpy as np
import torch
from torch import nn

__all__ = [
    "IMAGE_SHAPE",
    "LIKELIHOODS",
    "N_PIXELS",
    "device_dtype",
    "eval_mode",
    "float_tensor",
    "gaussian_params",
    "generator",
    "images",
    "is_compiling",
    "is_int",
    "labels",
    "likelihood",
    "model_input",
    "number",
    "pixel_range",
    "positive_int",
    "prediction_and_targets",
    "same_device",
    "tensor",
    "type_name",
]

IMAGE_SHAPE = (1, 28, 28)
N_PIXELS = 784
LIKELIHOODS = ("bernoulli", "gaussian")
_INT_DTYPES = (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8)


def type_name(value: object) -> str:
    """``numpy.ndarray``, ``list``, ...: the type as a learner would import it."""
    kind = type(value)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"


def is_int(value: object) -> bool:
    """An integer (Python or NumPy), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def positive_int(value: object, name: str, *, minimum: int = 1) -> int:
    """``value`` as an ``int`` >= ``minimum``; ``ValueError`` otherwise (also for a float,
    a bool or a string)."""
    if not is_int(value) or value < minimum:
        need = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {need}; got {value!r}.")
    return int(value)


def number(value: object, name: str, *, positive: bool = False, hint: str = "") -> float:
    """A finite real number (>= 0, or > 0 with ``positive``) as a float.

    Python and NumPy numbers and one-element tensors count as numbers.

    Raises:
        TypeError: ``value`` is not a number (a string, a bool, a list).
        ValueError: it is NaN, infinite, negative (or zero with ``positive``).
    """
    ok = not isinstance(value, bool) and (
        isinstance(value, numbers.Real | np.integer | np.floating)
        or (isinstance(value, torch.Tensor) and value.numel() == 1 and value.dtype != torch.bool))
    if not ok:
        raise TypeError(f"{name} must be a number; got {type_name(value)} {value!r}.{hint}")
    result = float(value)
    if not math.isfinite(result) or result < 0 or (positive and result == 0):
        need = "> 0" if positive else ">= 0"
        raise ValueError(f"{name} must be a finite number {need}; got {result!r}.{hint}")
    return result


def float_tensor(value: object, name: str, *, images: bool = False) -> None:
    """``TypeError`` naming the fix unless ``value`` is a floating-point ``torch.Tensor``.

    Reads only the type and dtype (no host synchronisation).
    """
    if not isinstance(value, torch.Tensor):
        scale = " and divide 0-255 pixels by 255" if images else ""
        raise TypeError(f"{name} must be a torch.Tensor; got {type_name(value)}. Convert it with "
                        f"torch.as_tensor({name}, dtype=torch.float32){scale}.")
    if not value.is_floating_point():
        fix = (f"{name}.float() / 255 for 0-255 pixels, or {name}.float() for 0/1 or bool pixels"
               if images else f"{name}.float()")
        raise TypeError(f"{name} must be a floating-point tensor; got {value.dtype}. Convert it "
                        f"with {fix}.")


def same_device(**tensors: torch.Tensor) -> None:
    """``RuntimeError`` naming the fix unless all tensors sit on one device."""
    devices = {name: t.device for name, t in tensors.items()}
    if len(set(devices.values())) > 1:
        where = ", ".join(f"{name} on {d}" for name, d in devices.items())
        raise RuntimeError(f"tensors must be on one device; got {where}. Move them with "
                           ".to(device) first.")


def gaussian_params(mu: object, logvar: object, *, batch: bool = True) -> None:
    """``mu`` and ``logvar`` of a diagonal Gaussian: floating-point tensors of one shape on
    one device (``(B, D)`` when ``batch``)."""
    float_tensor(mu, "mu")
    float_tensor(logvar, "logvar")
    same_device(mu=mu, logvar=logvar)
    if mu.shape != logvar.shape or (batch and mu.dim() != 2):
        need = "both have shape (B, D)" if batch else "have the same shape"
        raise ValueError(f"mu and logvar must {need}; got {tuple(mu.shape)} and "
                         f"{tuple(logvar.shape)}.")


def prediction_and_targets(pred: object, x: object, name: str) -> None:
    """A decoder output ``pred`` (logits or pixel means) and targets ``x``: floating-point
    tensors of one shape on one device (the values are not read)."""
    float_tensor(pred, name)
    float_tensor(x, "x", images=True)
    same_device(**{name: pred, "x": x})
    if pred.shape != x.shape:
        raise ValueError(f"{name} and x must have the same shape; got {tuple(pred.shape)} and "
                         f"{tuple(x.shape)}. Reshape x with x.view_as({name}).")


def tensor(x: object, name: str) -> None:
    """``TypeError`` naming the fix unless ``x`` is a ``torch.Tensor``."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor; got {type_name(x)}. Convert them "
                        "with torch.as_tensor(x, dtype=torch.float32).")


def pixel_range(x: torch.Tensor, name: str, *, tolerance: float = 0.0) -> None:
    """``ValueError`` naming the usual cause unless every value of ``x`` lies in ``[0, 1]``
    (within ``tolerance``). One host synchronisation; an empty tensor passes."""
    if x.numel() == 0:
        return
    lo, hi = float(x.min()), float(x.max())
    if math.isnan(lo) or math.isnan(hi):
        raise ValueError(f"{name} must lie in [0, 1]; they contain NaN. Find where the NaN "
                         "came from (e.g. a division by zero while preprocessing) and fix it "
                         f"there; torch.isnan({name.split()[-1]}).nonzero() lists them.")
    if lo < -tolerance or hi > 1.0 + tolerance:
        hint = " Did you apply transforms.Normalize?" if lo < 0 else ""
        hint = hint or (" Did you forget to divide 0-255 pixels by 255?" if hi > 1 else "")
        raise ValueError(f"{name} must lie in [0, 1]; got min {lo:.3g}, max {hi:.3g}.{hint}")


def images(x: object, name: str = "x", *, values: bool = True) -> None:
    """A data set or batch of images: a float tensor ``(N, 1, 28, 28)`` with ``N >= 1``,
    values in ``[0, 1]`` (checked with one host synchronisation when ``values``).

    Raises:
        TypeError: not a tensor (a NumPy array), or not floating point (uint8, bool).
        ValueError: another shape (the message suggests the reshape), no images, or
            values outside ``[0, 1]`` or NaN.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a float tensor of images (N, 1, 28, 28) in [0, 1]; got "
                        f"{type_name(x)}. Use load_mnist(), or torch.as_tensor({name}, "
                        "dtype=torch.float32) (divided by 255 for 0-255 pixels).")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a float tensor in [0, 1]; got {x.dtype}. "
                        f"Convert with {name}.float() / 255 (0-255 pixels) or {name}.float() "
                        "(0/1 or bool pixels).")
    if x.dim() != 4 or tuple(x.shape[1:]) != IMAGE_SHAPE:
        if x.dim() == 3 and tuple(x.shape) == IMAGE_SHAPE:
            hint = f" For one image add a batch dimension with {name}.unsqueeze(0)."
        elif x.numel() % N_PIXELS == 0 and x.numel():
            hint = f" Reshape with {name}.view(-1, 1, 28, 28)."
        else:
            hint = ""
        raise ValueError(f"{name} must have shape (N, 1, 28, 28); got {tuple(x.shape)}.{hint}")
    if len(x) == 0:
        raise ValueError(f"{name} is empty: it holds no images (N >= 1 needed); check how it "
                         "was sliced or filtered.")
    if values:
        pixel_range(x, name)


def labels(y: object, n: int, num_classes: int | None, name: str = "y") -> None:
    """Labels that go with ``n`` images: ``None`` for a model without labels
    (``num_classes is None``), else an integer tensor ``(n,)`` in ``0 .. num_classes-1``.

    Raises:
        ValueError: labels given to a model that takes none, or missing for one that needs
            them; the wrong shape; values out of range.
        TypeError: not an integer tensor.
    """
    if num_classes is None:
        if y is not None:
            raise ValueError(f"{name} was given, but this model does not use labels (it is not "
                             f"conditioned on labels). Leave {name} out, or train a conditional "
                             "model (vae_utils.ConditionalVAE).")
        return
    if y is None:
        raise ValueError(f"this model is conditioned on the digit label: pass {name}= (int64 "
                         "labels, one per image, e.g. data.y_test).")
    if not isinstance(y, torch.Tensor) or y.dtype not in _INT_DTYPES:
        raise TypeError(f"{name} must hold integer class labels (an int64 tensor); got "
                        f"{getattr(y, 'dtype', type_name(y))}. Use data.y_train / data.y_test, "
                        "or torch.tensor(labels).")
    if y.dim() != 1 or len(y) != n:
        raise ValueError(f"{name} must have shape ({n},), one label per image; got "
                         f"{tuple(y.shape)}.")
    if n:
        lo, hi = int(y.min()), int(y.max())
        if lo < 0 or hi >= num_classes:
            raise ValueError(f"{name}: labels must lie in 0..{num_classes - 1}; got values from "
                             f"{lo} to {hi} (this model has {num_classes} classes).")


def likelihood(name: object, sigma: object) -> float:
    """The decoder's likelihood, ``"bernoulli"`` or ``"gaussian"``, and the Gaussian's pixel
    standard deviation ``sigma`` (> 0), returned as a float."""
    if name not in LIKELIHOODS:
        raise ValueError(f"likelihood must be 'bernoulli' or 'gaussian' (the one the model was "
                         f"trained with); got {name!r}.")
    return number(sigma, "sigma", positive=True)


def device_dtype(model: nn.Module) -> tuple[torch.device, torch.dtype]:
    """The device and floating dtype of a model's parameters.

    Raises:
        TypeError: ``model`` has no parameters.
    """
    weight = next(model.parameters(), None)
    if weight is None:
        raise TypeError(f"the {type(model).__name__} has no parameters, so its device and dtype "
                        "are unknown; pass a model such as vae_utils.VAE().")
    return weight.device, weight.dtype


def generator(gen: object, device: torch.device) -> None:
    """``None``, or a ``torch.Generator`` on ``device``'s type."""
    if gen is None:
        return
    if not isinstance(gen, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None; got {type_name(gen)}.")
    if gen.device.type != device.type:
        raise ValueError(f"the generator is on {gen.device.type} but the model is on {device}: "
                         "make it with torch.Generator(device=device).manual_seed(seed).")


def is_compiling() -> bool:
    """Whether ``torch.compile`` is tracing the code now (checks that read values skip)."""
    check = getattr(getattr(torch, "compiler", None), "is_compiling", None)
    return bool(check()) if check is not None else False


def _autocast_on(device_type: str) -> bool:
    try:
        return bool(torch.is_autocast_enabled(device_type))
    except TypeError:  # pragma: no cover - torch < 2.4 takes no device type
        if device_type == "cpu":
            return bool(torch.is_autocast_cpu_enabled())
        return bool(torch.is_autocast_enabled())


def model_input(x: object, like: torch.Tensor, name: str, *, images: bool) -> None:
    """A model input's type, dtype and device against a weight ``like`` of the model.

    Reads only metadata (no host synchronisation) and is skipped while ``torch.compile``
    traces (``fit`` has checked its data by then).
    """
    if is_compiling():
        return
    float_tensor(x, name, images=images)
    if x.dtype != like.dtype and not _autocast_on(x.device.type):
        raise TypeError(f"{name} is {x.dtype} but the model's weights are {like.dtype}. Convert "
                        f"the input with {name}.to({like.dtype}) ({name}.float() for float32), "
                        "or the model with model.to(dtype).")
    if x.device != like.device:
        raise RuntimeError(f"{name} is on {x.device} but the model is on {like.device}. Move "
                           f"the input with {name}.to(device) (device = "
                           "next(model.parameters()).device).")


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Run a block with ``model.eval()`` and restore the model's mode afterwards."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)
