"""Walking the latent space: grids of codes, interpolation between codes, and figures of
what a decoder makes of them.

* :func:`latent_grid` lays an ``n x n`` grid over a 2-D latent space, either at evenly
  spaced quantiles of N(0, 1) (Kingma and Welling 2014, Figure 4: "linearly spaced
  coordinates on the unit square were transformed through the inverse CDF of the
  Gaussian") or evenly spaced in z itself.
* :func:`decode_grid` decodes such a grid; :func:`plot_latent_grid` draws it, optionally
  with the encoded test digits scattered on the same axes.
* :func:`lerp`, :func:`slerp` and :func:`interpolate` walk from one code to another
  (slerp: Shoemake 1985; White 2016, "Sampling Generative Networks", Section 2.1).
* :func:`kl_per_dimension` says which latent dimensions a VAE actually uses.
"""

from __future__ import annotations

import math
from typing import Literal, NamedTuple

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from torchvision.utils import make_grid

__all__ = [
    "LatentGrid",
    "decode_grid",
    "interpolate",
    "latent_grid",
    "lerp",
    "plot_latent_grid",
    "slerp",
]

_STANDARD_NORMAL = torch.distributions.Normal(0.0, 1.0)


class LatentGrid(NamedTuple):
    """An ``n x n`` grid of 2-D latent codes.

    Attributes:
        z: float32 ``(n*n, 2)``. Row-major like an image: ``z[i*n + j]`` is the tile in
            row ``i`` (row 0 = top = largest ``z2``) and column ``j`` (column 0 = left =
            smallest ``z1``), i.e. ``z[i*n + j] = (coords[j], coords[n-1-i])``.
        coords: float32 ``(n,)``, the 1-D coordinates, ascending; the same for both axes.
        kind: ``"quantile"`` or ``"linear"``.
    """

    z: torch.Tensor
    coords: torch.Tensor
    kind: str


def latent_grid(n: int = 20, lo: float = 0.05, hi: float = 0.95,
                kind: Literal["quantile", "linear"] = "quantile",
                span: float = 3.0) -> LatentGrid:
    """An ``n x n`` grid of points in a 2-D latent space.

    ``kind="quantile"``: ``coords = Phi^{-1}(linspace(lo, hi, n))`` with ``Phi^{-1}`` the
    inverse CDF of N(0, 1) (``torch.distributions.Normal.icdf``). Each tile then covers
    the same probability mass of the prior, so the grid is dense where the prior puts its
    codes (Kingma and Welling 2014, "Auto-Encoding Variational Bayes", Figure 4).
    ``kind="linear"``: ``coords = linspace(-span, span, n)``, evenly spaced in z.

    Args:
        n: tiles per side (>= 2).
        lo, hi: lowest and highest quantile, ``0 < lo < hi < 1`` (quantile grids only).
        kind: ``"quantile"`` or ``"linear"``.
        span: half-width of a linear grid, > 0 (linear grids only).

    Returns:
        :class:`LatentGrid` ``(z, coords, kind)``: ``z`` float32 ``(n*n, 2)`` in image
        order (row 0 = top = largest ``z2``; see :class:`LatentGrid`), ``coords`` float32
        ``(n,)`` ascending.

    Raises:
        ValueError: ``n`` not an integer >= 2, quantiles outside (0, 1) or not
            increasing, ``span`` not a finite number > 0, or an unknown ``kind``.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ValueError(f"n must be an integer >= 2; got {n!r}.")
    for name, value in (("lo", lo), ("hi", hi), ("span", span)):
        if isinstance(value, bool) or not isinstance(value, int | float | np.floating):
            raise ValueError(f"{name} must be a number; got {value!r}.")
    if kind == "quantile":
        if not 0.0 < lo < hi < 1.0:
            raise ValueError(f"quantiles need 0 < lo < hi < 1; got lo={lo}, hi={hi}. The "
                             "inverse CDF is infinite at 0 and 1.")
        probs = torch.linspace(lo, hi, n, dtype=torch.float64)
        coords = _STANDARD_NORMAL.icdf(probs).float()
    elif kind == "linear":
        if not (span > 0 and math.isfinite(span)):
            raise ValueError(f"span must be a finite number > 0; got {span}.")
        coords = torch.linspace(-span, span, n, dtype=torch.float32)
    else:
        raise ValueError(f"kind must be 'quantile' or 'linear'; got {kind!r}.")
    z2, z1 = torch.meshgrid(coords.flip(0), coords, indexing="ij")  # (n, n) each: row i, col j
    z = torch.stack([z1.reshape(-1), z2.reshape(-1)], dim=1)  # (n*n, 2)
    return LatentGrid(z=z, coords=coords, kind=kind)


@torch.no_grad()
def decode_grid(model: torch.nn.Module, grid: LatentGrid | torch.Tensor | None = None,
                **grid_kwargs) -> torch.Tensor:
    """Decode every code of a 2-D grid to pixel probabilities.

    Args:
        model: a ``VAE`` or ``Autoencoder`` with ``latent_dim == 2``.
        grid: a :class:`LatentGrid`, a float tensor ``(N, 2)`` of codes, or ``None`` to
            build ``latent_grid(**grid_kwargs)``.

    Returns:
        ``sigmoid(decode(z))``: float32 ``(N, 1, 28, 28)`` in [0, 1] on the CPU, in the
        grid's order (image order for a :class:`LatentGrid`).

    Raises:
        TypeError: ``model`` has no ``decode``, or ``grid`` is neither a
            :class:`LatentGrid` nor numeric, or ``grid_kwargs`` come with a ``grid``
            (they would be ignored).
        ValueError: the model's latent space is not 2-D, or the codes are not ``(N, 2)``
            finite numbers with N >= 1.
    """
    if not callable(getattr(model, "decode", None)):
        raise TypeError(f"decode_grid needs a vae_utils VAE or Autoencoder; got "
                        f"{type(model).__name__}.")
    if grid is not None and grid_kwargs:
        raise TypeError(f"decode_grid got a grid and also {sorted(grid_kwargs)}, which only "
                        "build a grid when grid is None; pass latent_grid(...) with them "
                        "instead.")
    if getattr(model, "latent_dim", None) != 2:
        raise ValueError(f"decode_grid needs a model with latent_dim=2; got "
                         f"{getattr(model, 'latent_dim', None)}. For a larger latent space, "
                         "vary a few dimensions instead (vae_utils.widgets.plot_traversal).")
    if grid is None:
        grid = latent_grid(**grid_kwargs)
    try:
        z = grid.z if isinstance(grid, LatentGrid) else torch.as_tensor(grid, dtype=torch.float32)
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(f"grid must be a LatentGrid or a float tensor (N, 2) of codes; got "
                        f"{type(grid).__name__} ({err}).") from None
    if z.dim() != 2 or z.shape[1] != 2 or len(z) == 0:
        raise ValueError(f"grid codes must have shape (N, 2) with N >= 1; got {tuple(z.shape)}.")
    if not bool(torch.isfinite(z).all()):
        raise ValueError("grid codes contain NaN or inf; a decoded picture of them would be "
                         "meaningless. Check how the codes were made.")
    first = next(model.parameters())
    z = z.to(first.dtype)
    device = first.device
    was_training = model.training
    model.eval()
    try:
        x_hat = torch.sigmoid(model.decode(z.to(device)))  # (N, 2) -> (N, 1, 28, 28)
    finally:
        model.train(was_training)
    return x_hat.cpu()


def _axis_position(z: np.ndarray, kind: str) -> np.ndarray:
    """Where a z value sits on the plot axis: Phi(z) for quantile grids, z for linear."""
    if kind == "quantile":
        return _STANDARD_NORMAL.cdf(torch.as_tensor(z, dtype=torch.float64)).numpy()
    return np.asarray(z, dtype=np.float64)


def plot_latent_grid(images: torch.Tensor, grid: LatentGrid, z: torch.Tensor | None = None,
                     labels: torch.Tensor | None = None, ax: plt.Axes | None = None,
                     title: str | None = None, save: str | None = None,
                     s: float = 6.0, alpha: float = 0.8, show_outside: bool = False) -> Figure:
    """Draw a decoded grid on latent axes, optionally with encoded digits on top.

    The tiles are drawn so that the centre of each sits at its code. For a quantile grid
    the axes are in prior probability ``Phi(z)`` (where its tiles are evenly spaced) and
    the tick labels give z; scattered codes go through the same ``Phi``, so every point
    lands on the tile that decodes its neighbourhood.

    Args:
        images: ``decode_grid`` output, ``(n*n, 1, 28, 28)`` in [0, 1], image order.
        grid: the :class:`LatentGrid` the images were decoded from.
        z: optional codes to scatter, float ``(N, 2)`` (e.g. ``mu`` of test digits).
        labels: digit labels ``(N,)`` colouring ``z``; required with ``z``.
        ax: axes to draw on (a new figure if ``None``).
        title, save: figure title; file name under ``figures/`` (see
            :func:`vae_utils.plots.save_figure`).
        s, alpha: marker size and opacity of the scatter (the tiles are drawn at half
            opacity when there is a scatter, so both stay visible).
        show_outside: widen the axes so that every scattered code is visible, also those
            outside the grid, and outline the grid's tiles. By default the axes end at
            the grid and codes outside it are not drawn. On a quantile grid's probability
            axes the codes beyond the grid fall in a narrow band around it (ticks at
            ``z = +-3`` mark how far out that band reaches).

    Returns:
        The matplotlib ``Figure``.

    Raises:
        TypeError: ``grid`` is not a :class:`LatentGrid`.
        ValueError: ``images`` does not match the grid or holds values outside [0, 1] or
            NaN (decoder logits: pass ``torch.sigmoid(logits)``, as ``decode_grid`` does),
            or ``z``/``labels`` are malformed (``z`` not ``(N, 2)`` finite codes, labels
            missing or not one per code).
    """
    from .gif import _as_pixels
    from .plots import save_figure

    if not isinstance(grid, LatentGrid):
        raise TypeError(f"grid must be the LatentGrid the images were decoded from (from "
                        f"latent_grid(...)); got {type(grid).__name__}.")
    n = len(grid.coords)
    images = _as_pixels(images, "images")
    if images.shape != (n * n, 1, 28, 28):
        raise ValueError(f"images must have shape ({n * n}, 1, 28, 28) for a {n}x{n} grid; got "
                         f"{tuple(images.shape)}. Decode the same grid with decode_grid.")
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.0, 5.4))
    else:
        fig = ax.figure
    # make_grid with no padding: one (n*28, n*28) picture, row 0 at the top.
    picture = make_grid(images.clamp(0, 1), nrow=n, padding=0)[0].numpy()
    pos = _axis_position(grid.coords.numpy(), grid.kind)
    half = (pos[-1] - pos[0]) / (n - 1) / 2  # tiles are evenly spaced on the axis
    extent = (pos[0] - half, pos[-1] + half, pos[0] - half, pos[-1] + half)
    ax.imshow(picture, cmap="gray_r", vmin=0, vmax=1, extent=extent, origin="upper",
              interpolation="nearest", alpha=0.5 if z is not None else 1.0)  # fainter under dots
    if z is not None:
        z = torch.as_tensor(z).detach().float().cpu().numpy()
        if labels is None:
            raise ValueError("pass labels with z: the scatter is coloured by digit label.")
        labels = torch.as_tensor(labels).detach().cpu().numpy()
        if z.ndim != 2 or z.shape[1] != 2 or labels.ndim != 1 or len(labels) != len(z):
            raise ValueError(f"z must be (N, 2) with N labels; got z {z.shape}, labels "
                             f"{labels.shape}.")
        if not np.isfinite(z).all():
            raise ValueError("z holds NaN or inf codes, which the scatter would silently leave "
                             "out; check the model that encoded them.")
        points = ax.scatter(_axis_position(z[:, 0], grid.kind), _axis_position(z[:, 1], grid.kind),
                            c=labels, cmap="tab10", vmin=-0.5, vmax=9.5, s=s, alpha=alpha,
                            linewidths=0)
        fig.colorbar(points, ax=ax, ticks=range(10), label="digit (encoded test image)")
    lims = list(extent)
    if show_outside and z is not None:
        from matplotlib.patches import Rectangle

        pad = 0.02 * (extent[1] - extent[0])
        for k, column in ((0, 0), (2, 1)):  # x limits from z1, y limits from z2
            p = _axis_position(z[:, column], grid.kind)
            lims[k], lims[k + 1] = min(extent[k], p.min() - pad), max(extent[k + 1], p.max() + pad)
        ax.add_patch(Rectangle((extent[0], extent[2]), extent[1] - extent[0], extent[3] - extent[2],
                               fill=False, edgecolor="black", linewidth=0.8))
    ax.set_xlim(lims[0], lims[1])
    ax.set_ylim(lims[2], lims[3])
    if grid.kind == "quantile":
        ticks = np.array([-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5])
        ticks = ticks[(ticks >= float(grid.coords[0])) & (ticks <= float(grid.coords[-1]))]
        for set_ticks, set_labels, (lo, hi) in ((ax.set_xticks, ax.set_xticklabels, lims[:2]),
                                                (ax.set_yticks, ax.set_yticklabels, lims[2:])):
            outer = np.array([t for t in (-3.0, 3.0) if abs(t) > float(grid.coords[-1])
                              and lo <= _axis_position(np.array([t]), "quantile")[0] <= hi])
            axis_ticks = np.sort(np.concatenate([ticks, outer]))
            set_ticks(_axis_position(axis_ticks, "quantile"))
            set_labels([f"{t:g}" for t in axis_ticks])
        ax.set_xlabel("$z_1$ (axis spaced by prior probability)")
        ax.set_ylabel("$z_2$ (axis spaced by prior probability)")
    else:
        ax.set_xlabel("$z_1$")
        ax.set_ylabel("$z_2$")
    ax.set_title(title or f"Decoded {n}x{n} {grid.kind} grid")
    if save:
        save_figure(fig, save)
    return fig


def _check_pair(z0: torch.Tensor, z1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Two finite float codes ``(D,)`` on one device, promoted to a common dtype."""
    try:
        z0, z1 = torch.as_tensor(z0), torch.as_tensor(z1)
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(f"z0 and z1 must be tensors (or arrays) of codes (D,); {err}.") from None
    if z0.dim() != 1 or z0.shape != z1.shape:
        raise ValueError(f"z0 and z1 must be 1-D codes of the same shape (D,); got "
                         f"{tuple(z0.shape)} and {tuple(z1.shape)}. For a batch row, pass "
                         "mu[i], not mu[i:i+1].")
    if not (z0.is_floating_point() and z1.is_floating_point()):
        raise TypeError(f"z0 and z1 must be floating-point tensors; got {z0.dtype} and "
                        f"{z1.dtype}. Convert with z.float().")
    if z0.device != z1.device:
        raise ValueError(f"z0 is on {z0.device} but z1 on {z1.device}; move both to one "
                         "device with .to(device).")
    if not bool(torch.isfinite(z0).all() and torch.isfinite(z1).all()):
        raise ValueError("z0 and z1 must be finite codes; one of them holds NaN or inf (check "
                         "the model that encoded them).")
    dtype = torch.promote_types(z0.dtype, z1.dtype)
    return z0.to(dtype), z1.to(dtype)


def _check_t(t: torch.Tensor | float, like: torch.Tensor) -> torch.Tensor:
    try:
        t = torch.as_tensor(t, dtype=like.dtype, device=like.device)
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(f"t must be a number or a 1-D tensor (T,); got {type(t).__name__} "
                        f"({err}).") from None
    if t.dim() > 1:
        raise ValueError(f"t must be a number or a 1-D tensor (T,); got shape {tuple(t.shape)}.")
    if not bool(torch.isfinite(t).all()):
        raise ValueError("t must be finite (0 gives z0, 1 gives z1); it holds NaN or inf.")
    return t.reshape(-1, 1)  # (T, 1)


def lerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor | float) -> torch.Tensor:
    """Linear interpolation ``(1 - t) z0 + t z1``.

    Args:
        z0, z1: codes, float ``(D,)``.
        t: a number or float ``(T,)``; 0 gives ``z0``, 1 gives ``z1``.

    Returns:
        float ``(T, D)`` (``T = 1`` for a number).

    Raises:
        TypeError: ``z0``/``z1`` are not floating-point, or ``t`` is not numeric.
        ValueError: ``z0`` and ``z1`` differ in shape or device, are not 1-D or hold
            NaN/inf; ``t`` is not 0-D/1-D or not finite.
    """
    z0, z1 = _check_pair(z0, z1)
    t = _check_t(t, z0)
    return (1 - t) * z0 + t * z1  # (T, 1) * (D,) -> (T, D)


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor | float,
          eps: float = 1e-6) -> torch.Tensor:
    """Spherical linear interpolation (Shoemake 1985, "Animating rotation with quaternion
    curves"; used for generative models by White 2016, "Sampling Generative Networks",
    Section 2.1)::

        slerp(z0, z1; t) = sin((1 - t) W) / sin(W) * z0 + sin(t W) / sin(W) * z1,
        W = arccos(z0 . z1 / (|z0| |z1|))

    For ``|z0| = |z1|`` it moves along the great circle at constant angular speed (the
    angle between ``z0`` and the result is ``t W``) and the norm stays the same along the
    whole path; for unequal norms the path bends between the two, and neither holds
    exactly. Under a
    Gaussian prior in many dimensions nearly all codes have norm near sqrt(D), while
    the linear midpoint of two of them is shorter; slerp keeps to that shell.

    When ``sin(W) < eps`` (``z0`` and ``z1`` (anti)parallel, or one of them is zero) the
    formula is 0/0, and this falls back to :func:`lerp`.

    Args:
        z0, z1: codes, float ``(D,)``.
        t: a number or float ``(T,)``; 0 gives ``z0``, 1 gives ``z1``.
        eps: threshold on ``sin(W)`` below which lerp is used.

    Returns:
        float ``(T, D)``.

    Raises:
        TypeError: ``z0``/``z1`` are not floating-point, or ``t`` is not numeric.
        ValueError: ``z0`` and ``z1`` differ in shape or device, are not 1-D or hold
            NaN/inf; ``t`` is not 0-D/1-D or not finite.
    """
    z0, z1 = _check_pair(z0, z1)
    t = _check_t(t, z0)
    norms = z0.norm() * z1.norm()
    if norms == 0:
        return lerp(z0, z1, t.reshape(-1))
    cos = torch.clamp(torch.dot(z0, z1) / norms, -1.0, 1.0)
    omega = torch.arccos(cos)
    sin = torch.sin(omega)
    if sin < eps:
        return lerp(z0, z1, t.reshape(-1))
    return (torch.sin((1 - t) * omega) / sin) * z0 + (torch.sin(t * omega) / sin) * z1  # (T, D)


def interpolate(z0: torch.Tensor, z1: torch.Tensor, steps: int = 10,
                method: Literal["linear", "slerp"] = "linear") -> torch.Tensor:
    """``steps`` codes from ``z0`` to ``z1`` inclusive, at ``t = linspace(0, 1, steps)``.

    Args:
        z0, z1: codes, float ``(D,)`` (e.g. ``mu[0]`` and ``mu[1]`` of two test digits).
        steps: number of codes, >= 2 (both endpoints included).
        method: ``"linear"`` (:func:`lerp`) or ``"slerp"`` (:func:`slerp`).

    Returns:
        float ``(steps, D)``; row 0 is ``z0`` and the last row is ``z1``.

    Raises:
        TypeError: ``z0``/``z1`` are not floating-point.
        ValueError: ``steps`` not an integer >= 2, an unknown ``method``, or mismatched or
            non-finite ``z0``/``z1``.
    """
    if method not in ("linear", "slerp"):
        raise ValueError(f"method must be 'linear' or 'slerp'; got {method!r}.")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
        raise ValueError(f"steps must be an integer >= 2 (it includes both ends); got {steps!r}.")
    z0, z1 = _check_pair(z0, z1)
    t = torch.linspace(0, 1, steps, dtype=z0.dtype, device=z0.device)
    if method == "linear":
        return lerp(z0, z1, t)
    if method == "slerp":
        return slerp(z0, z1, t)
    raise ValueError(f"method must be 'linear' or 'slerp'; got {method!r}.")
