"""Walking the latent space: grids of codes, and paths from one code to another.

* :func:`latent_grid` lays an ``n x n`` grid over a 2-D latent space, either at evenly
  spaced quantiles of N(0, 1) (Kingma and Welling 2014, Figure 4: "linearly spaced
  coordinates on the unit square were transformed through the inverse CDF of the
  Gaussian") or evenly spaced in z itself.
* :func:`decode_grid` decodes such a grid; :func:`vae_utils.plots.plot_latent_grid`
  draws it, optionally with the encoded test digits scattered on the same axes.
* :func:`lerp`, :func:`slerp` and :func:`interpolate` walk from one code to another
  (slerp: Shoemake 1985; White 2016, "Sampling Generative Networks", Section 2.1).

Only the maths: this module draws nothing (it does not import matplotlib).
"""

from __future__ import annotations

import math
from typing import Literal, NamedTuple

import torch

from . import _checks
from .models import _Model

__all__ = [
    "LatentGrid",
    "decode_grid",
    "interpolate",
    "latent_grid",
    "lerp",
    "slerp",
]


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
    inverse CDF of N(0, 1), in float64 (``torch.special.ndtri``, accurate and finite
    however close to 0 or 1 a quantile is). Each tile then covers the same probability
    mass of the prior, so the grid is dense where the prior puts its codes (Kingma and
    Welling 2014, "Auto-Encoding Variational Bayes", Figure 4).
    ``kind="linear"``: ``coords = linspace(-span, span, n)``, evenly spaced in z.

    Args:
        n: tiles per side (>= 2).
        lo, hi: lowest and highest quantile, ``0 < lo < hi < 1`` (quantile grids only).
        kind: ``"quantile"`` or ``"linear"``.
        span: half-width of a linear grid, > 0 (linear grids only).

    Returns:
        :class:`LatentGrid` ``(z, coords, kind)``: ``z`` float32 ``(n*n, 2)`` in image
        order (row 0 = top = largest ``z2``; see :class:`LatentGrid`), ``coords`` float32
        ``(n,)`` ascending and finite (``|coords| < 38.5`` for any quantiles).

    Raises:
        TypeError: ``lo``, ``hi`` or ``span`` is not a number.
        ValueError: ``n`` not an integer >= 2, quantiles outside (0, 1) or not
            increasing, ``span`` not a finite number > 0, or an unknown ``kind``.
    """
    n = _checks.positive_int(n, "n", minimum=2)
    if kind == "quantile":
        lo, hi = _checks.number(lo, "lo"), _checks.number(hi, "hi")
        if not 0.0 < lo < hi < 1.0:
            raise ValueError(f"quantiles need 0 < lo < hi < 1; got lo={lo}, hi={hi}. The "
                             "inverse CDF is infinite at 0 and 1.")
        # ndtri, not Normal.icdf: icdf goes through erfinv(2p - 1), and 2p - 1 rounds to -1
        # (an infinite code) for p < 1e-16.
        coords = torch.special.ndtri(torch.linspace(lo, hi, n, dtype=torch.float64)).float()
    elif kind == "linear":
        span = _checks.number(span, "span", positive=True)
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
        TypeError: ``model`` is not a vae_utils model, or ``grid`` is neither a
            :class:`LatentGrid` nor numeric, or ``grid_kwargs`` come with a ``grid``
            (they would be ignored).
        ValueError: the model's latent space is not 2-D, or the codes are not ``(N, 2)``
            finite numbers with N >= 1.
    """
    if not isinstance(model, _Model):
        raise TypeError(f"decode_grid needs a vae_utils VAE or Autoencoder; got "
                        f"{_checks.type_name(model)}.")
    if grid is not None and grid_kwargs:
        raise TypeError(f"decode_grid got a grid and also {sorted(grid_kwargs)}, which only "
                        "build a grid when grid is None; pass latent_grid(...) with them "
                        "instead.")
    if model.latent_dim != 2:
        raise ValueError(f"decode_grid needs a model with latent_dim=2; got {model.latent_dim}. "
                         "For a larger latent space, vary a few dimensions instead "
                         "(vae_utils.widgets.plot_traversal).")
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
    device, dtype = _checks.device_dtype(model)
    with _checks.eval_mode(model):
        x_hat = torch.sigmoid(model.decode(z.to(device, dtype)))  # (N, 2) -> (N, 1, 28, 28)
    return x_hat.cpu()


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
    _checks.same_device(z0=z0, z1=z1)
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
        ValueError: ``z0`` and ``z1`` differ in shape, are not 1-D or hold NaN/inf;
            ``t`` is not 0-D/1-D or not finite.
        RuntimeError: ``z0`` and ``z1`` are on two devices.
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
    exactly (for nearly opposite codes of unequal norms it swings far out, as
    ``1 / sin(W)``). Under a Gaussian prior in many dimensions nearly all codes have norm
    near sqrt(D), while the linear midpoint of two of them is shorter; slerp keeps to that
    shell.

    Computed in float64 (on the CPU; returned in the codes' dtype and device), with the
    angle from ``W = 2 atan2(|u0 - u1|, |u0 + u1|)``, ``u = z / |z|`` (Kahan), accurate at
    every angle, where ``arccos`` of a rounded cosine is not. Codes whose norms agree to
    their dtype's rounding (two float32 unit vectors) count as equal: the path turns by
    ``t W`` and its length goes linearly from ``|z0|`` to ``|z1|``, so it stays on the
    sphere, where the formula would magnify the rounding of the two norms by ``1 / sin(W)``.

    When ``sin(W) < eps`` the formula is 0/0 and the path is its limit:

    * ``z0`` and ``z1`` parallel (``W`` near 0), or one of them zero: :func:`lerp`;
    * ``z0`` and ``z1`` opposite (``W`` near pi): no single great circle joins them, so the
      path turns by ``t W`` in the plane of ``z0`` and the part of ``z1`` orthogonal to it
      (any plane through ``z0`` if that part is lost in rounding), with a length going
      linearly from ``|z0|`` to ``|z1|``; on the sphere when the lengths are equal. For
      ``D = 1`` there is no such plane, and the path is :func:`lerp`.

    Args:
        z0, z1: codes, float ``(D,)``.
        t: a number or float ``(T,)``; 0 gives ``z0``, 1 gives ``z1``.
        eps: threshold on ``sin(W)`` below which the limit is used, > 0.

    Returns:
        float ``(T, D)``.

    Raises:
        TypeError: ``z0``/``z1`` are not floating-point, or ``t`` or ``eps`` is not
            numeric.
        ValueError: ``z0`` and ``z1`` differ in shape, are not 1-D or hold NaN/inf;
            ``t`` is not 0-D/1-D or not finite; ``eps`` is not a finite number > 0.
        RuntimeError: ``z0`` and ``z1`` are on two devices.
    """
    z0, z1 = _check_pair(z0, z1)
    t = _check_t(t, z0)
    eps = _checks.number(eps, "eps", positive=True)
    a, b, s = (v.to("cpu", torch.float64) for v in (z0, z1, t))  # (D,), (D,), (T, 1)
    r0, r1 = a.norm(), b.norm()
    if r0 == 0 or r1 == 0:
        return lerp(z0, z1, t.reshape(-1))
    u0, u1 = a / r0, b / r1
    omega = 2 * torch.atan2((u0 - u1).norm(), (u0 + u1).norm())  # W in [0, pi]
    sin = torch.sin(omega)
    opposite = sin < eps and omega > math.pi / 2
    if (sin < eps and not opposite) or (opposite and len(a) == 1):
        return lerp(z0, z1, t.reshape(-1))
    rounding = 4 * math.sqrt(len(a)) * torch.finfo(z0.dtype).eps
    if opposite or abs(r0 - r1) <= rounding * max(r0, r1):
        w = _orthogonal_direction(u0, u1)  # u1 = cos(W) u0 + sin(W) w
        turn = s * omega  # (T, 1)
        path = ((1 - s) * r0 + s * r1) * (torch.cos(turn) * u0 + torch.sin(turn) * w)
    else:
        path = (torch.sin((1 - s) * omega) * a + torch.sin(s * omega) * b) / sin  # (T, D)
    return path.to(z0.device, z0.dtype)


def _orthogonal_direction(u0: torch.Tensor, u1: torch.Tensor) -> torch.Tensor:
    """A unit vector orthogonal to the unit vector ``u0``: in the plane of ``u0`` and
    ``u1`` when ``u1``'s part orthogonal to ``u0`` is more than rounding, else along the
    axis on which ``u0`` is smallest. Gram-Schmidt twice, so orthogonal to rounding."""
    v = u1 - (u0 @ u1) * u0
    v = v - (u0 @ v) * u0
    if v.norm() < 1e-12:
        v = torch.zeros_like(u0)
        v[u0.abs().argmin()] = 1.0  # |v - (u0 . v) u0| >= sqrt(1 - 1/D)
        v = v - (u0 @ v) * u0
    v = v - (u0 @ v) * u0
    return v / v.norm()


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
        RuntimeError: ``z0`` and ``z1`` are on two devices.
    """
    if method not in ("linear", "slerp"):
        raise ValueError(f"method must be 'linear' or 'slerp'; got {method!r}.")
    steps = _checks.positive_int(steps, "steps (both ends included)", minimum=2)
    z0, z1 = _check_pair(z0, z1)
    t = torch.linspace(0, 1, steps, dtype=z0.dtype, device=z0.device)
    return lerp(z0, z1, t) if method == "linear" else slerp(z0, z1, t)
