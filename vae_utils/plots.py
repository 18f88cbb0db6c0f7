"""Figures of the course. Every function returns the matplotlib ``Figure`` and, given a
``save`` name, also writes it as a PNG under the course's ``figures/`` folder.

Images are drawn only when they hold pixel values in [0, 1] (a tolerance of 1e-6 for
float rounding): logits or 0-255 pixels are refused with a ``ValueError`` that says
what to pass instead (``torch.sigmoid(logits)``, ``x / 255``), because clamping them
would draw a believable digit that is not what the model produced.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from torchvision.utils import make_grid

from .gif import _as_pixels

__all__ = [
    "figures_dir",
    "plot_image_grid",
    "plot_latent_scatter",
    "plot_loss_curves",
    "plot_reconstructions",
    "plot_samples",
    "save_figure",
]


def figures_dir() -> Path:
    """Where figures are written: ``$VAE_FIGURES_DIR`` if set, else the ``figures/``
    folder of the course checkout that contains the working directory (found by walking
    up to the folder holding ``pyproject.toml`` and ``notebooks/``), else ``./figures``."""
    env = os.environ.get("VAE_FIGURES_DIR")
    if env:
        return Path(env).expanduser()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "notebooks").is_dir():
            return folder / "figures"
    return here / "figures"


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
            ``plt.subplots`` use its first result), or ``name`` is not a string.
        ValueError: ``name`` is a path rather than a plain file name, or ``dpi`` is not
            a positive number.
    """
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure; got {type(fig).__name__}. From "
                        "fig, ax = plt.subplots() pass fig; from an Axes pass ax.figure.")
    if not isinstance(name, str):
        raise TypeError(f"name must be a file name such as '02_samples.png'; got {name!r}.")
    if isinstance(dpi, bool) or not isinstance(dpi, int | float) or not dpi > 0:
        raise ValueError(f"dpi must be a positive number; got {dpi!r}.")
    if Path(name).name != name or not name:
        raise ValueError(f"name must be a plain file name, not a path; got {name!r}.")
    out = Path(folder) if folder is not None else figures_dir()
    out.mkdir(parents=True, exist_ok=True)
    path = out / (name if Path(name).suffix else f"{name}.png")
    fig.savefig(path, dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    return path


def _as_images(x: torch.Tensor, name: str = "x") -> torch.Tensor:
    """Images as a float32 CPU tensor ``(N, 1, H, W)``, N >= 1, values in [0, 1]."""
    x = _as_pixels(x, name)
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


def _check_nrow(nrow: int) -> None:
    if isinstance(nrow, bool) or not isinstance(nrow, int) or nrow < 1:
        raise ValueError(f"nrow (images per row) must be a positive integer; got {nrow!r}.")


def _grid_array(x: torch.Tensor, nrow: int, padding: int = 2) -> np.ndarray:
    """``(N, 1, H, W)`` in [0, 1] -> one grey ``(rows*H, nrow*W)`` array via make_grid."""
    grid = make_grid(_as_images(x), nrow=nrow, padding=padding, pad_value=1.0)
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
        TypeError: ``x`` is not numeric.
        ValueError: values outside [0, 1] or NaN (logits: pass ``torch.sigmoid(logits)``;
            0-255 pixels: divide by 255), no images, an unknown shape, or ``nrow``/``scale``
            not positive.
    """
    _check_nrow(nrow)
    if isinstance(scale, bool) or not isinstance(scale, int | float) or not scale > 0:
        raise ValueError(f"scale must be a positive number (inches per image); got {scale!r}.")
    x = _as_images(x)
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
    x, x_hat = _as_images(x, "x"), _as_images(x_hat, "x_hat")
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
    against the optimiser step (each point is one row of the history: the training
    average over that row's steps, and the test value at its end).

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
    needed = [k for k in ("epoch", "train_loss", "train_recon", "train_kl", "test_loss",
                          "test_recon", "test_kl") if k not in h]
    if needed:
        raise ValueError(f"history misses the column(s) {needed}; pass the History that fit "
                         "returned.")
    if not h["epoch"]:
        raise ValueError("history has no rows: training stopped before the first row finished "
                         f"(stopped={h.get('stopped')!r}), so there is no curve to draw.")
    by_step = len(h.get("step") or []) == len(h["epoch"])  # histories from before steps
    xs = h["step"] if by_step else h["epoch"]
    has_kl = any(abs(v) > 0 for v in h["train_kl"])
    ncols = 3 if has_kl else 1
    fig, axes = plt.subplots(1, ncols, figsize=(4.2 * ncols, 3.2), squeeze=False)
    panels = [("loss", "total loss" if has_kl else "reconstruction loss")]
    if has_kl:
        panels += [("recon", "reconstruction  -log p(x|z)"), ("kl", "KL(q(z|x) || p(z))")]
    for ax, (key, label) in zip(axes[0], panels):
        ax.plot(xs, h[f"train_{key}"], marker=".", label="train")
        if not all(np.isnan(h[f"test_{key}"])):
            ax.plot(xs, h[f"test_{key}"], marker=".", label="test")
        ax.set_xlabel("optimiser step" if by_step else "epoch")
        ax.set_ylabel("nats per image")
        ax.set_title(label)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
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

