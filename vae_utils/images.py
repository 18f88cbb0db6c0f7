"""Pixels for pictures: the one reader of images that are about to be drawn.

The lowest layer of ``vae_utils`` with :mod:`vae_utils._env` and :mod:`vae_utils._checks`
(it imports nothing else of the package). The figures (:mod:`vae_utils.plots`), the GIF
frames (:mod:`vae_utils.gif`) and the latent-space widgets all read their images through
:func:`as_pixels`, so a picture of logits or of 0-255 pixels is refused in the same words
everywhere, instead of being clamped into a believable digit that the model never made.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ._checks import type_name

__all__ = ["PIXEL_TOLERANCE", "as_pixels"]

#: How far outside [0, 1] a pixel may lie (float rounding of a sigmoid) before it is refused.
PIXEL_TOLERANCE = 1e-6

_INT_DTYPES = (torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)


def as_pixels(x: object, name: str = "images") -> torch.Tensor:
    """``x`` (tensor or array, any shape, any device) as a float32 CPU tensor in [0, 1].

    Values within :data:`PIXEL_TOLERANCE` of the interval are clamped into it (float
    rounding); anything further out, or NaN, is refused: a picture drawn from logits or
    from 0-255 pixels would be clamped into a believable but false digit. An empty
    ``x`` comes back empty.

    Raises:
        TypeError: ``x`` cannot be read as a tensor of real numbers.
        ValueError: values outside [0, 1] (the message says: ``torch.sigmoid(logits)``,
            or divide 0-255 pixels by 255) or NaN.
    """
    try:
        t = torch.as_tensor(x if isinstance(x, torch.Tensor) else np.asarray(x))
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(f"{name} must be a tensor or array of pixel values; got "
                        f"{type_name(x)} ({err}).") from None
    if not (t.is_floating_point() or t.dtype in _INT_DTYPES):
        raise TypeError(f"{name} must hold real pixel values; got {t.dtype}.")
    t = t.detach().float().cpu()
    if t.numel() == 0:
        return t
    lo, hi = float(t.min()), float(t.max())
    if math.isnan(lo) or math.isnan(hi):
        raise ValueError(f"{name} contain NaN, so there is nothing true to draw; find where the "
                         "NaN came from (torch.isnan(x).nonzero()).")
    if lo < -PIXEL_TOLERANCE or hi > 1 + PIXEL_TOLERANCE:
        raise ValueError(f"{name} must hold pixel values in [0, 1]; got min {lo:.3g}, max "
                         f"{hi:.3g}. Did you pass logits? Draw torch.sigmoid(logits) (the "
                         "pixel probabilities). 0-255 images: divide them by 255.")
    return t.clamp_(0.0, 1.0)
