"""Figures of the course. Every function returns the matplotlib ``Figure`` and, given a
``save`` name, also writes it as a PNG under the course's ``figures/`` folder.

Images are drawn only when they hold pixel values in [0, 1] (a tolerance of 1e-6 for
float rounding): logits or 0-255 pixels are refused with a ``ValueError`` that says
what to pass instead (``torch.sigmoid(logits)``, ``x / 255``), because clamping them
would draw a believable digit that is not what the model produced.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from torchvision.utils import make_grid

from . import _checks
from ._env import figures_dir
from .images import as_pixels
from .latent import LatentGrid

__all__ = [
    "figures_dir",
    "plot_image_grid",
    "plot_latent_grid",
    "plot_latent_scatter",
    "plot_loss_curves",
    "plot_reconstructions",
    "plot_samples",
    "save_figure",
]


def save_figure(fig: Figure, name: str, folder: str | Path | None = None, dpi: int = 120) -> Path:
    """Save ``fig`` as ``<folder>/<name>`` (PNG unless ``name`` has another suffix).

    Args:
        fig: the figure.
        name: file name such as ``"02_samples.png"``; no folders.
        folder: defaults to :func:`figures_dir`.

    Returns:
        The path written.

    Raises:
        TypeError: ``fig`` is not a matplotlib ``Figure`` (a plot helper returns one; for
            ``plt.subplots`` use its first result), ``name`` is not a string, or ``dpi``
            is not a number.
        ValueError: ``name`` is a path rather than a plain file name, or ``dpi`` is not
            a finite number > 0.
    """
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure; got {type(fig).__name__}. From "
                        "fig, ax = plt.subplots() pass fig; from an Axes pass ax.figure.")
    if not isinstance(name, str):
        raise TypeError(f"name must be a file name such as '02_samples.png'; got {name!r}.")
    _checks.number(dpi, "dpi", positive=True)
    if Path(name).name != name or not name:
        raise ValueError(f"name must be a plain file name, not a path; got {name!r}.")
    out = Path(folder) if folder is not None else figures_dir()
    out.mkdir(parents=True, exist_ok=True)
    path = out / (name if Path(name).suffix else f"{name}.png")
    fig.savefig(path, dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    return path


def _image_batch(x: object, name: str = "x") -> torch.Tensor:
    """Images as a float32 CPU tensor ``(N, 1, H, W)``, N >= 1, values in [0, 1]
    (:func:`vae_utils.images.as_pixels`); ``(N, 28, 28)`` and ``(N, 784)`` are reshaped."""
    x = as_pixels(x, name)
    if x.dim() == 2 and x.shape[1] == 784:
        x = x.view(-1, 1, 28, 28)
    elif x.dim() == 3:
        x = x.unsqueeze(1)
    if x.dim() != 4:
        raise ValueError(f"expected images (N, 1, 28, 28), (N, 28, 28) or (N, 784); got "
                         f"{tuple(x.shape)}.")
    if len(x) == 0:
        raise ValueError(f"{name} holds no images (shape {tuple(x.shape)}): check how it was "
                         "sliced or filtered.")
    return x


def _grid_array(x: torch.Tensor, nrow: int, padding: int = 2) -> np.ndarray:
    """``(N, 1, H, W)`` in [0, 1] -> one grey ``(rows*H, nrow*W)`` array via make_grid."""
    grid = make_grid(_image_batch(x), nrow=nrow, padding=padding, pad_value=1.0)
    return grid[0].numpy()


def _maybe_save(fig: Figure, save: str | None) -> Figure:
    if save:
        save_figure(fig, save)
    return fig


def plot_image_grid(x: torch.Tensor, nrow: int = 8, title: str | None = None,
                    save: str | None = None, scale: float = 0.6) -> Figure:
    """Show images ``(N, 1, 28, 28)`` in [0, 1] as one grid (``torchvision.utils.make_grid``).

    Args:
        x: N >= 1 images ``(N, 1, 28, 28)``, ``(N, 28, 28)`` or ``(N, 784)`` with values in
            [0, 1] (tensor or array, any device): data, or ``torch.sigmoid(logits)``.
        nrow: images per row.
        title, save: figure title; file name under ``figures/``.
        scale: inches per image.

    Raises:
        TypeError: ``x`` is not numeric, or ``scale`` is not a number.
        ValueError: values outside [0, 1] or NaN (logits: pass ``torch.sigmoid(logits)``;
            0-255 pixels: divide by 255), no images, an unknown shape, or ``nrow``/``scale``
            not positive.
    """
    nrow = _checks.positive_int(nrow, "nrow (images per row)")
    scale = _checks.number(scale, "scale (inches per image)", positive=True)
    x = _image_batch(x)
    rows = int(np.ceil(len(x) / nrow))
    fig, ax = plt.subplots(figsize=(max(2.0, nrow * scale), max(1.0, rows * scale) + 0.4))
    ax.imshow(_grid_array(x, nrow), cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return _maybe_save(fig, save)


def plot_reconstructions(x: torch.Tensor, x_hat: torch.Tensor, title: str | None = None,
                         save: str | None = None) -> Figure:
    """Originals (top row) over reconstructions (bottom row).

    Args:
        x: originals ``(N, 1, 28, 28)`` in [0, 1].
        x_hat: reconstructions of the same shape, pixel probabilities in [0, 1]
            (``torch.sigmoid(logits)`` or ``model.reconstruct(x)``, not the logits).

    Raises:
        TypeError: an input is not numeric.
        ValueError: values outside [0, 1] or NaN (logits: pass ``torch.sigmoid(logits)``;
            0-255 pixels: divide by 255), no images, or shapes that differ.
    """
    x, x_hat = _image_batch(x, "x"), _image_batch(x_hat, "x_hat")
    if x.shape != x_hat.shape:
        raise ValueError(f"x and x_hat must have the same shape; got {tuple(x.shape)} and "
                         f"{tuple(x_hat.shape)}.")
    n = len(x)
    fig, ax = plt.subplots(figsize=(max(3.0, n * 0.75), 2.0))
    ax.imshow(_grid_array(torch.cat([x, x_hat]), nrow=n), cmap="gray_r", vmin=0, vmax=1,
              interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([14, 44])
    ax.set_yticklabels(["original", "reconstruction"])
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_title(title or "Test digits (top) and their reconstructions (bottom)")
    return _maybe_save(fig, save)


def plot_samples(samples: torch.Tensor, nrow: int = 8, title: str | None = None,
                 save: str | None = None) -> Figure:
    """A grid of generated images, e.g. ``model.sample(64)`` (values in [0, 1]).

    Raises:
        ValueError, TypeError: as :func:`plot_image_grid`.
    """
    return plot_image_grid(samples, nrow=nrow, save=save,
                           title=title or f"{len(samples)} samples: z ~ N(0, I), then decode")


def plot_loss_curves(history, title: str | None = None, save: str | None = None) -> Figure:
    """Training and test loss, and (for a VAE) reconstruction and KL on separate axes,
    against the optimiser step. Each point is one row of the history: the training
    average over that row's steps, drawn at the row's middle step, and the test value
    measured at its last step (so early in training the test point can lie below the
    training one: it was measured after more steps).

    Args:
        history: a :class:`vae_utils.train.History` or its ``as_dict()``.

    Raises:
        TypeError: ``history`` is neither.
        ValueError: the history has no rows (training stopped before the first row
            finished) or misses a column.
    """
    if hasattr(history, "as_dict"):
        h = history.as_dict()
    elif isinstance(history, dict):
        h = dict(history)
    else:
        raise TypeError(f"history must be the History that fit returned (or its as_dict()); "
                        f"got {type(history).__name__}.")
    needed = [k for k in ("epoch", "step", "train_loss", "train_recon", "train_kl", "test_loss",
                          "test_recon", "test_kl") if k not in h]
    if needed:
        raise ValueError(f"history misses the column(s) {needed}; pass the History that fit "
                         "returned.")
    if not h["epoch"]:
        raise ValueError("history has no rows: training stopped before the first row finished "
                         f"(stopped={h.get('stopped')!r}), so there is no curve to draw.")
    if len(h["step"]) != len(h["epoch"]):
        raise ValueError(f"history has {len(h['epoch'])} rows but {len(h['step'])} steps; pass "
                         "the History that fit returned.")
    steps = np.asarray(h["step"], dtype=float)
    # a training value is the mean over its row's steps: draw it at the row's middle step;
    # a test value is measured at the row's last step
    train_x = (np.r_[0.0, steps[:-1]] + steps) / 2
    has_kl = any(abs(v) > 0 for v in h["train_kl"])
    ncols = 3 if has_kl else 1
    fig, axes = plt.subplots(1, ncols, figsize=(4.2 * ncols, 3.2), squeeze=False)
    panels = [("loss", "total loss" if has_kl else (title or "reconstruction loss"))]
    if has_kl:
        panels += [("recon", "reconstruction  -log p(x|z)"), ("kl", "KL(q(z|x) || p(z))")]
    for ax, (key, label) in zip(axes[0], panels):
        ax.plot(train_x, h[f"train_{key}"], marker=".", label="train (mean over each row)")
        if not all(np.isnan(h[f"test_{key}"])):
            ax.plot(steps, h[f"test_{key}"], marker=".", label="test (at the row's end)")
        ax.set_xlabel("optimiser step")
        ax.set_ylabel("nats per image")
        ax.set_title(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    if title and has_kl:
        fig.suptitle(title)
    fig.tight_layout()
    return _maybe_save(fig, save)


def plot_latent_scatter(z: torch.Tensor, labels: torch.Tensor, ax: plt.Axes | None = None,
                        title: str | None = None, save: str | None = None,
                        s: float = 4.0, alpha: float = 0.7) -> Figure:
    """Scatter 2-D codes ``z`` ``(N, 2)`` coloured by digit label ``(N,)``.

    Draws on ``ax`` if given (to put two models side by side), else on a new figure.

    Raises:
        ValueError: ``z`` is not ``(N, 2)`` with N >= 1 finite codes (NaN codes would
            silently be left out), or the labels are not N integers in 0..9.
    """
    z = torch.as_tensor(z).detach().float().cpu().numpy()
    labels = torch.as_tensor(labels).detach().cpu().numpy()
    if z.ndim != 2 or z.shape[1] != 2:
        raise ValueError(f"z must have shape (N, 2) for a 2-D scatter; got {z.shape}. For a "
                         "larger latent_dim, project first (e.g. sklearn.manifold.TSNE).")
    if len(z) == 0:
        raise ValueError("z holds no codes (shape (0, 2)): nothing to scatter.")
    if not np.isfinite(z).all():
        raise ValueError(f"z holds {int((~np.isfinite(z)).any(1).sum())} non-finite code(s) "
                         "(NaN or inf), which a scatter would silently leave out; check the "
                         "model (did training stop with history.stopped == 'nan'?).")
    if labels.ndim != 1 or len(labels) != len(z):
        raise ValueError(f"{len(z)} codes but labels of shape {labels.shape}; pass one label "
                         "per code, (N,).")
    if not (np.issubdtype(labels.dtype, np.number) and np.isfinite(labels).all()
            and (labels == np.round(labels)).all() and labels.min() >= 0 and labels.max() <= 9):
        raise ValueError("labels must be digit labels, integers 0..9 (the colour scale); got "
                         f"values from {labels.min()} to {labels.max()}.")
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.2, 4.6))
    else:
        fig = ax.figure
    points = ax.scatter(z[:, 0], z[:, 1], c=labels, cmap="tab10", vmin=-0.5, vmax=9.5, s=s,
                        alpha=alpha, linewidths=0)
    cbar = fig.colorbar(points, ax=ax, ticks=range(10))
    cbar.set_label("digit")
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    ax.set_title(title or "Test digits in the latent space")
    ax.grid(alpha=0.3)
    return _maybe_save(fig, save)


def _axis_position(z: np.ndarray, kind: str) -> np.ndarray:
    """Where a z value sits on the plot axis: Phi(z) for quantile grids, z for linear."""
    if kind == "quantile":
        return torch.special.ndtr(torch.as_tensor(z, dtype=torch.float64)).numpy()
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
        images: :func:`vae_utils.latent.decode_grid` output, ``(n*n, 1, 28, 28)`` in
            [0, 1], image order.
        grid: the :class:`LatentGrid` the images were decoded from.
        z: optional codes to scatter, float ``(N, 2)`` (e.g. ``mu`` of test digits).
        labels: digit labels ``(N,)`` colouring ``z``; required with ``z``.
        ax: axes to draw on (a new figure if ``None``).
        title, save: figure title; file name under ``figures/`` (see
            :func:`save_figure`).
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
    if not isinstance(grid, LatentGrid):
        raise TypeError(f"grid must be the LatentGrid the images were decoded from (from "
                        f"latent_grid(...)); got {type(grid).__name__}.")
    n = len(grid.coords)
    images = as_pixels(images, "images")
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
    return _maybe_save(fig, save)
