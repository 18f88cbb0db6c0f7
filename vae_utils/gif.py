"""Animated GIFs of the course: frames as uint8 arrays, written with imageio's v3 API
(Pillow plugin).

* :func:`to_uint8` turns images in [0, 1] into uint8 frames;
* :func:`images_to_frame` lays a batch of images out as one frame (torchvision's
  ``make_grid``), :func:`hstack_frames` puts frames side by side, :func:`add_caption`
  writes a line of text above a frame (Pillow's ``ImageDraw``);
* :func:`bounce` plays a sequence forward then back, so a looping GIF has no jump;
* :func:`save_gif` writes the file (``loop=0``: loop forever).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torchvision.utils import make_grid

from . import _checks
from ._env import figures_dir
from .images import as_pixels

__all__ = ["add_caption", "bounce", "hstack_frames", "images_to_frame", "save_gif", "to_uint8"]


def to_uint8(x: torch.Tensor | np.ndarray, invert: bool = True,
             levels: int = 256) -> np.ndarray:
    """Images in [0, 1] -> uint8 in [0, 255] (rounded), as a NumPy array.

    Args:
        x: float tensor or array of any shape, values in [0, 1] (e.g. pixel
            probabilities ``sigmoid(logits)``). A uint8 array passes through unchanged.
        invert: ``True`` maps 1 (ink) to 0 (black) on a white background, as the course's
            figures draw digits (``cmap="gray_r"``); ``False`` keeps MNIST's white on black.
        levels: number of grey levels, 2..256, evenly spaced from 0 to 255. Fewer levels
            make GIFs (LZW-compressed) several times smaller; 16 look the same to the eye.

    Returns:
        uint8 array of the same shape.

    Raises:
        TypeError: ``x`` is not numeric, or ``invert`` is not a bool.
        ValueError: values outside [0, 1] (by more than 1e-6) or NaN: did you pass logits
            (draw ``torch.sigmoid(logits)``) or 0-255 pixels (divide by 255)? Or ``levels``
            outside 2..256.
    """
    if not _checks.is_int(levels) or not 2 <= levels <= 256:
        raise ValueError(f"levels must be an integer in 2..256; got {levels!r}.")
    if not isinstance(invert, bool):
        raise TypeError(f"invert must be True or False; got {invert!r}.")
    if isinstance(x, np.ndarray) and x.dtype == np.uint8:
        return x
    a = as_pixels(x).numpy()
    if invert:
        a = 1.0 - a
    steps = levels - 1
    return np.rint(np.rint(a * steps) * (255 / steps)).astype(np.uint8)


def images_to_frame(x: torch.Tensor, nrow: int = 8, padding: int = 2, scale: int = 1,
                    invert: bool = True, levels: int = 256) -> np.ndarray:
    """A batch of grey images -> one uint8 frame ``(H, W)`` (``torchvision.utils.make_grid``).

    Args:
        x: float ``(N, 1, h, w)`` in [0, 1].
        nrow: images per row.
        padding: pixels between images (drawn as background).
        scale: integer upscaling by pixel repetition (nearest neighbour), so 28-pixel
            digits stay crisp in a browser.
        invert, levels: see :func:`to_uint8`.

    Returns:
        uint8 ``(H, W)``.

    Raises:
        TypeError: ``x`` is not numeric.
        ValueError: ``x`` is not ``(N, 1, h, w)`` with N >= 1; values outside [0, 1] or
            NaN (logits: pass ``torch.sigmoid(logits)``; 0-255 pixels: divide by 255);
            ``nrow`` or ``scale`` not a positive integer, ``padding`` negative.
    """
    x = as_pixels(x, "x")
    if x.dim() != 4 or x.shape[1] != 1 or len(x) == 0:
        raise ValueError(f"x must be grey images (N, 1, h, w) with N >= 1; got {tuple(x.shape)}."
                         + (" Add the channel with x.unsqueeze(1)." if x.dim() == 3 else ""))
    nrow, scale = _checks.positive_int(nrow, "nrow"), _checks.positive_int(scale, "scale")
    padding = _checks.positive_int(padding, "padding", minimum=0)
    grid = make_grid(x, nrow=nrow, padding=padding, pad_value=0.0)[0]  # (H, W)
    frame = to_uint8(grid, invert=invert, levels=levels)
    if scale > 1:
        frame = frame.repeat(scale, axis=0).repeat(scale, axis=1)
    return frame


def _grey_level(value: object, name: str) -> None:
    if not _checks.is_int(value) or not 0 <= value <= 255:
        raise ValueError(f"{name} must be a grey level in 0..255; got {value!r}.")


def hstack_frames(*frames: np.ndarray, gap: int = 8, fill: int = 255) -> np.ndarray:
    """Put uint8 frames ``(H_i, W_i)`` side by side, top-aligned, ``gap`` pixels apart.

    Returns:
        uint8 ``(max H_i, sum W_i + gap * (k - 1))``; empty space is ``fill``.

    Raises:
        ValueError: no frames, a frame that is not a grey uint8 NumPy array ``(H, W)``
            (make one with :func:`images_to_frame` or :func:`to_uint8`), ``gap`` negative or
            ``fill`` outside 0..255.
    """
    bad = [i for i, f in enumerate(frames)
           if not isinstance(f, np.ndarray) or f.ndim != 2 or f.dtype != np.uint8]
    if not frames or bad:
        got = (f"frame {bad[0]} is {type(frames[bad[0]]).__name__} "
               f"{getattr(frames[bad[0]], 'dtype', '')} {tuple(getattr(frames[bad[0]], 'shape', ()))}"
               if bad else "no frames")
        raise ValueError(f"hstack_frames takes one or more grey uint8 NumPy frames (H, W); {got}. "
                         "Make frames with images_to_frame(x) or to_uint8(x).")
    _checks.positive_int(gap, "gap (pixels)", minimum=0)
    _grey_level(fill, "fill")
    height = max(f.shape[0] for f in frames)
    parts = []
    for i, f in enumerate(frames):
        if i:
            parts.append(np.full((height, gap), fill, np.uint8))
        parts.append(np.pad(f, ((0, height - f.shape[0]), (0, 0)), constant_values=fill))
    return np.concatenate(parts, axis=1)


def add_caption(frame: np.ndarray, text: str, height: int = 16, fill: int = 255,
                ink: int = 0) -> np.ndarray:
    """Return ``frame`` with a strip of ``height`` pixels above it holding ``text``.

    Uses Pillow's ``ImageDraw`` and its default bitmap font.

    Args:
        frame: uint8 ``(H, W)``.
        text: one line of text (clipped at the right edge if too long).

    Returns:
        uint8 ``(H + height, W)``.

    Raises:
        TypeError: ``text`` is not a string.
        ValueError: ``frame`` is not a grey uint8 NumPy array ``(H, W)``, ``height`` is
            not a positive integer, or ``fill``/``ink`` is outside 0..255.
    """
    from PIL import Image, ImageDraw

    if not isinstance(frame, np.ndarray) or frame.ndim != 2 or frame.dtype != np.uint8:
        raise ValueError(f"frame must be a grey uint8 NumPy array (H, W); got "
                         f"{type(frame).__name__} {getattr(frame, 'dtype', '')} "
                         f"{tuple(getattr(frame, 'shape', ()))}. Make one with images_to_frame(x) "
                         "or to_uint8(x).")
    if not isinstance(text, str):
        raise TypeError(f"text must be a string; got {type(text).__name__}. Use f\"{{value}}\".")
    _checks.positive_int(height, "height (pixels)")
    _grey_level(fill, "fill")
    _grey_level(ink, "ink")
    strip = Image.new("L", (frame.shape[1], height), color=fill)
    ImageDraw.Draw(strip).text((3, 2), text, fill=ink)
    return np.concatenate([np.asarray(strip, dtype=np.uint8), frame], axis=0)


def bounce(frames: Sequence[np.ndarray] | np.ndarray) -> list[np.ndarray]:
    """Forward then back without repeating the ends: ``a b c d`` -> ``a b c d c b``.

    Played in a loop this gives ``a b c d c b a b ...``, with no jump and no frame shown
    twice in a row. An empty sequence gives ``[]``, one frame ``[a]``.

    Raises:
        TypeError: ``frames`` is not a sequence (pass a list of frames).
    """
    frames = list(frames)
    return frames + frames[-2:0:-1]


def _is_gif_duration(d: object) -> bool:
    """A whole multiple of 10 ms, at least 20 ms (GIF counts in 1/100 s)."""
    try:
        ms = _checks.number(d, "duration")
    except (TypeError, ValueError):
        return False
    return ms == int(ms) and ms >= 20 and ms % 10 == 0


def save_gif(frames: Sequence[np.ndarray] | np.ndarray, path: str | Path,
             duration: int | Sequence[int] = 80, loop: int = 0) -> Path:
    """Write frames as an animated GIF with ``imageio.v3.imwrite`` (Pillow plugin).

    Args:
        frames: ``T`` uint8 frames, all ``(H, W)`` (grey) or all ``(H, W, 3)`` (RGB); a
            plain name like ``"05_x.gif"`` is written under the course ``figures/``
            folder (:func:`vae_utils.figures_dir`).
        path: file name or path ending in ``.gif``. Parent folders are created.
        duration: milliseconds per frame, one number or one per frame. GIF stores
            hundredths of a second, so each must be a multiple of 10, and at least 20
            (browsers slow anything faster down to 100 ms).
        loop: how many times to play; 0 = forever.

    Returns:
        The path written.

    Raises:
        TypeError: ``path`` is not a path.
        ValueError: no frames, frames not uint8 or of differing shapes, a bad duration
            (not a whole multiple of 10 ms >= 20, NaN, not a number), a bad ``loop``, or
            a path not ending in ``.gif``.
    """
    import imageio.v3 as iio

    frames = [np.asarray(f) for f in frames]
    if len(frames) < 1:
        raise ValueError("save_gif needs at least one frame.")
    if any(f.dtype != np.uint8 for f in frames):
        raise ValueError("frames must be uint8 (0..255); convert images in [0, 1] with "
                         "vae_utils.gif.to_uint8.")
    shape = frames[0].shape
    if len(shape) not in (2, 3) or (len(shape) == 3 and shape[2] != 3):
        raise ValueError(f"frames must be (H, W) or (H, W, 3); got {shape}.")
    if any(f.shape != shape for f in frames):
        raise ValueError(f"all frames must have the same shape; got {sorted({f.shape for f in frames})}.")
    try:
        durations = [duration] * len(frames) if np.isscalar(duration) else list(duration)
    except TypeError:
        raise ValueError(f"duration must be milliseconds per frame, one number or one per "
                         f"frame; got {duration!r}.") from None
    if len(durations) != len(frames):
        raise ValueError(f"{len(frames)} frames but {len(durations)} durations.")
    if not all(_is_gif_duration(d) for d in durations):
        raise ValueError(f"durations must be whole multiples of 10 ms and >= 20 ms (GIF counts "
                         f"in 1/100 s); got {duration}.")
    _checks.positive_int(loop, "loop (0 = forever)", minimum=0)
    if not isinstance(path, str | Path):
        raise TypeError(f"path must be a file name or path ending in .gif; got "
                        f"{type(path).__name__}.")
    path = Path(path)
    if path.suffix.lower() != ".gif":
        raise ValueError(f"path must end in .gif; got {str(path)!r}.")
    if path.name == str(path):
        path = figures_dir() / path
    path.parent.mkdir(parents=True, exist_ok=True)
    durations = [int(d) for d in durations]
    iio.imwrite(path, np.stack(frames), extension=".gif", plugin="pillow",
                duration=durations if len(set(durations)) > 1 else durations[0], loop=loop)
    return path
