"""An interactive latent-space explorer (ipywidgets) and its static twin.

:class:`LatentExplorer` shows one slider per chosen latent dimension and the decoded
digit, redrawn live as a slider moves. Widgets need a live Jupyter kernel and a widget
front end; in a static viewer (GitHub, nbviewer, CI logs) they render as nothing, so
every notebook that shows the explorer also draws :func:`plot_traversal`, the same
thing as a figure: each chosen dimension swept across the slider range while the
others stay fixed (a latent traversal; Higgins et al. 2017, "beta-VAE", Figure 1).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from torchvision.utils import make_grid

from .gif import to_uint8

__all__ = ["LatentExplorer", "plot_traversal", "traversal_codes"]


def _check_dims(model: torch.nn.Module, dims: Sequence[int]) -> tuple[int, ...]:
    latent_dim = getattr(model, "latent_dim", None)
    if latent_dim is None:
        raise TypeError(f"expected a vae_utils VAE or Autoencoder; got {type(model).__name__}.")
    dims = tuple(int(d) for d in dims)
    if not dims:
        raise ValueError("choose at least one latent dimension (dims=(0, 1), ...).")
    bad = [d for d in dims if not 0 <= d < latent_dim]
    if bad:
        raise ValueError(f"dims are 0-based indices into z and must lie in 0..{latent_dim - 1}; "
                         f"got {bad}.")
    if len(set(dims)) != len(dims):
        raise ValueError(f"dims must not repeat; got {dims}.")
    return dims


def _base(model: torch.nn.Module, base_z: torch.Tensor | None) -> torch.Tensor:
    if base_z is None:
        return torch.zeros(model.latent_dim)
    base_z = torch.as_tensor(base_z, dtype=torch.float32).detach().cpu().reshape(-1)
    if base_z.numel() != model.latent_dim:
        raise ValueError(f"base_z must have {model.latent_dim} values (one per latent "
                         f"dimension); got shape {tuple(base_z.shape)}.")
    return base_z.clone()


@torch.no_grad()
def _decode(model: torch.nn.Module, z: torch.Tensor) -> torch.Tensor:
    """Codes ``(N, D)`` -> pixel probabilities ``(N, 1, 28, 28)`` on the CPU, eval mode."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        return torch.sigmoid(model.decode(z.to(device))).cpu()
    finally:
        model.train(was_training)


def traversal_codes(latent_dim: int, dims: Sequence[int], values: torch.Tensor,
                    base_z: torch.Tensor | None = None) -> torch.Tensor:
    """Codes of a latent traversal: for each ``d`` in ``dims`` and each ``v`` in
    ``values``, ``base_z`` with ``z[d] = v``.

    Args:
        latent_dim: D.
        dims: 0-based indices of the dimensions to sweep, ``k`` of them.
        values: float ``(V,)``.
        base_z: float ``(D,)``; zeros (the prior's mean) if ``None``.

    Returns:
        float ``(k * V, D)``, row-major: row ``i * V + j`` sweeps ``dims[i]`` to ``values[j]``.
    """
    values = torch.as_tensor(values, dtype=torch.float32).reshape(-1)
    base = torch.zeros(latent_dim) if base_z is None else torch.as_tensor(
        base_z, dtype=torch.float32).reshape(-1)
    z = base.repeat(len(dims) * len(values), 1)  # (k*V, D)
    for i, d in enumerate(dims):
        z[i * len(values):(i + 1) * len(values), d] = values
    return z


def plot_traversal(model: torch.nn.Module, dims: Sequence[int] = (0, 1),
                   values: torch.Tensor | None = None, base_z: torch.Tensor | None = None,
                   title: str | None = None, save: str | None = None) -> Figure:
    """Decode a latent traversal: one row per dimension in ``dims``, swept over ``values``.

    Args:
        model: a ``VAE`` or ``Autoencoder``.
        dims: 0-based indices of the dimensions to sweep (rows are labelled ``z1, z2, ...``,
            1-based, as in the maths).
        values: float ``(V,)``; default ``linspace(-3, 3, 9)``, the slider range of
            :class:`LatentExplorer`.
        base_z: the code the other dimensions keep, float ``(D,)``; zeros if ``None``.
        title, save: figure title; file name under ``figures/``.

    Returns:
        The matplotlib ``Figure``.

    Raises:
        ValueError: ``dims`` outside ``0..D-1`` or repeated; ``base_z`` of the wrong size.
    """
    from .plots import save_figure

    dims = _check_dims(model, dims)
    base = _base(model, base_z)
    values = torch.linspace(-3, 3, 9) if values is None else torch.as_tensor(
        values, dtype=torch.float32).reshape(-1)
    x_hat = _decode(model, traversal_codes(model.latent_dim, dims, values, base))
    picture = make_grid(x_hat, nrow=len(values), padding=2, pad_value=0.0)[0].numpy()
    fig, ax = plt.subplots(figsize=(0.62 * len(values) + 1.2, 0.62 * len(dims) + 0.9))
    ax.imshow(picture, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    step = 28 + 2
    ax.set_xticks([2 + 14 + step * j for j in range(len(values))])
    ax.set_xticklabels([f"{v:.3g}" for v in values.tolist()])
    ax.set_yticks([2 + 14 + step * i for i in range(len(dims))])
    ax.set_yticklabels([f"$z_{{{d + 1}}}$" for d in dims])
    ax.tick_params(length=0)
    ax.set_xlabel("value of the swept dimension (the others fixed)")
    ax.set_ylabel("swept dimension")
    ax.set_title(title or "Latent traversal: one dimension at a time")
    if save:
        save_figure(fig, save)
    return fig


class LatentExplorer:
    """Sliders for chosen latent dimensions and the digit they decode to, redrawn live.

    Display it (``display(explorer)`` or as a cell's last expression) in Jupyter with
    ipywidgets. A static viewer shows only a line of text, so pair it with
    :meth:`static_figure`.

    Args:
        model: a ``VAE`` or ``Autoencoder`` (its decoder is used).
        dims: 0-based indices of the dimensions that get a slider; default ``(0, 1)``
            (both dimensions of a 2-D model). Slider ``z{d+1}`` sets ``z[d]``.
        base_z: float ``(D,)``: the value of the other dimensions (and the sliders'
            start); zeros, the prior's mean, if ``None``. Pass an encoded digit's ``mu``
            to explore around it.
        span: the sliders run from ``-span`` to ``span`` (about 3 prior standard
            deviations by default).
        step: slider resolution.
        scale: the 28-pixel digit is shown ``scale`` times larger.

    Attributes:
        sliders: the ``ipywidgets.FloatSlider`` per dimension, in ``dims`` order.
        image: the ``ipywidgets.Image`` (PNG) of the decoded digit.
        widget: the whole ``ipywidgets.HBox``.

    Raises:
        ImportError: ipywidgets is not installed.
        ValueError: bad ``dims``, ``base_z`` or ``span``.
    """

    def __init__(self, model: torch.nn.Module, dims: Sequence[int] = (0, 1),
                 base_z: torch.Tensor | None = None, span: float = 3.0, step: float = 0.05,
                 scale: int = 6) -> None:
        try:
            import ipywidgets as widgets
        except ImportError as err:  # pragma: no cover - ipywidgets is a dependency
            raise ImportError("LatentExplorer needs ipywidgets: pip install ipywidgets") from err
        if not span > 0:
            raise ValueError(f"span must be > 0; got {span}.")
        self.model = model
        self.dims = _check_dims(model, dims)
        self.base_z = _base(model, base_z)
        self.span = float(span)
        self.scale = int(scale)
        self.sliders = [
            widgets.FloatSlider(value=float(np.clip(float(self.base_z[d]), -span, span)), min=-span,
                                max=span, step=step, description=f"z{d + 1}",
                                continuous_update=True, readout_format=".2f")
            for d in self.dims
        ]
        self.image = widgets.Image(format="png", width=28 * self.scale, height=28 * self.scale)
        for slider in self.sliders:
            slider.observe(self._redraw, names="value")
        self.widget = widgets.HBox([widgets.VBox(self.sliders), self.image])
        self._redraw()

    def current_z(self) -> torch.Tensor:
        """The code the sliders describe: float ``(1, D)``."""
        z = self.base_z.clone()
        for d, slider in zip(self.dims, self.sliders):
            z[d] = slider.value
        return z.unsqueeze(0)

    def decoded(self) -> np.ndarray:
        """The decoded digit for :meth:`current_z`: float ``(28, 28)`` pixel probabilities."""
        return _decode(self.model, self.current_z())[0, 0].numpy()

    def _redraw(self, change: dict | None = None) -> None:
        from PIL import Image

        frame = to_uint8(self.decoded())  # (28, 28) uint8, ink dark on white
        frame = frame.repeat(self.scale, axis=0).repeat(self.scale, axis=1)
        buffer = io.BytesIO()
        Image.fromarray(frame).save(buffer, format="PNG")
        self.image.value = buffer.getvalue()

    def static_figure(self, values: torch.Tensor | None = None, title: str | None = None,
                      save: str | None = None) -> Figure:
        """What the sliders show, as a figure: :func:`plot_traversal` of the same
        dimensions around the same ``base_z``, at ``values`` (default 9 points over the
        slider range)."""
        if values is None:
            values = torch.linspace(-self.span, self.span, 9)
        return plot_traversal(self.model, self.dims, values, self.base_z, title=title, save=save)

    def _repr_mimebundle_(self, **kwargs) -> dict:
        bundle = dict(self.widget._repr_mimebundle_(**kwargs))
        names = ", ".join(s.description for s in self.sliders)
        bundle["text/plain"] = (f"LatentExplorer: sliders {names} -> decoded digit. It needs a "
                                "live Jupyter kernel; the figure beside it shows the same "
                                "thing statically.")
        return bundle
