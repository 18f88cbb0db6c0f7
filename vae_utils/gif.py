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
        ValueError: float values outside [0, 1] (by more than 1e-6): did you pass logits?
            Or ``levels`` outside 2..256.
    """
    if not isinstance(levels, int) or not 2 <= levels <= 256:
        raise ValueError(f"levels must be an integer in 2..256; got {levels!r}.")
    if isinstance(x, np.ndarray) and x.dtype == np.uint8:
        return x
    a = torch.as_tensor(x).detach().float().cpu().numpy()
    if a.size and (a.min() < -1e-6 or a.max() > 1 + 1e-6):
        raise ValueError(f"images must lie in [0, 1]; got min {a.min():.3g}, max {a.max():.3g}. "
                         "Did you pass logits? Apply torch.sigmoid first.")
    a = np.clip(a, 0.0, 1.0)
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
        ValueError: ``x`` is not ``(N, 1, h, w)``, or ``scale`` is not a positive integer.
    """
    x = torch.as_tensor(x).detach().float().cpu()
    if x.dim() != 4 or x.shape[1] != 1:
        raise ValueError(f"x must be grey images (N, 1, h, w); got {tuple(x.shape)}.")
    if not isinstance(scale, int) or scale < 1:
        raise ValueError(f"scale must be a positive integer; got {scale!r}.")
    grid = make_grid(x.clamp(0, 1), nrow=nrow, padding=padding, pad_value=0.0)[0]  # (H, W)
    frame = to_uint8(grid, invert=invert, levels=levels)
    if scale > 1:
        frame = frame.repeat(scale, axis=0).repeat(scale, axis=1)
    return frame


def hstack_frames(*frames: np.ndarray, gap: int = 8, fill: int = 255) -> np.ndarray:
    """Put uint8 frames ``(H_i, W_i)`` side by side, top-aligned, ``gap`` pixels apart.

    Returns:
        uint8 ``(max H_i, sum W_i + gap * (k - 1))``; empty space is ``fill``.
    """
    if not frames or any(f.ndim != 2 or f.dtype != np.uint8 for f in frames):
        raise ValueError("hstack_frames takes one or more grey uint8 frames (H, W).")
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
    """
    from PIL import Image, ImageDraw

    if frame.ndim != 2 or frame.dtype != np.uint8:
        raise ValueError(f"frame must be a grey uint8 array (H, W); got {frame.dtype} "
                         f"{frame.shape}.")
    strip = Image.new("L", (frame.shape[1], height), color=fill)
    ImageDraw.Draw(strip).text((3, 2), text, fill=ink)
    return np.concatenate([np.asarray(strip, dtype=np.uint8), frame], axis=0)


def bounce(frames: Sequence[np.ndarray] | np.ndarray) -> list[np.ndarray]:
    """Forward then back without repeating the ends: ``a b c d`` -> ``a b c d c b``.

    Played in a loop this gives ``a b c d c b a b ...``, with no jump and no frame shown
    twice in a row.
    """
    frames = list(frames)
    return frames + frames[-2:0:-1]


def save_gif(frames: Sequence[np.ndarray] | np.ndarray, path: str | Path,
             duration: int | Sequence[int] = 80, loop: int = 0) -> Path:
    """Write frames as an animated GIF with ``imageio.v3.imwrite`` (Pillow plugin).

    Args:
        frames: ``T`` uint8 frames, all ``(H, W)`` (grey) or all ``(H, W, 3)`` (RGB); a
            plain name like ``"05_x.gif"`` is written under the course ``figures/``
            folder (:func:`vae_utils.plots.figures_dir`).
        path: file name or path ending in ``.gif``. Parent folders are created.
        duration: milliseconds per frame, one number or one per frame. GIF stores
            hundredths of a second, so each must be a multiple of 10, and at least 20
            (browsers slow anything faster down to 100 ms).
        loop: how many times to play; 0 = forever.

    Returns:
        The path written.

    Raises:
        ValueError: no frames, frames not uint8 or of differing shapes, a bad duration,
            or a path not ending in ``.gif``.
    """
    import imageio.v3 as iio

    from .plots import figures_dir

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
    durations = [duration] * len(frames) if np.isscalar(duration) else list(duration)
    if len(durations) != len(frames):
        raise ValueError(f"{len(frames)} frames but {len(durations)} durations.")
    if any(int(d) != d or d < 20 or d % 10 for d in durations):
        raise ValueError(f"durations must be whole multiples of 10 ms and >= 20 ms (GIF counts "
                         f"in 1/100 s); got {duration}.")
    if not isinstance(loop, int) or loop < 0:
        raise ValueError(f"loop must be an integer >= 0 (0 = forever); got {loop!r}.")
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
