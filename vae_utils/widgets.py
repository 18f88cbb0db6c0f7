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
import numbers
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from torchvision.utils import make_grid

from . import _checks
from .gif import to_uint8
from .models import _Model
from .plots import save_figure

__all__ = ["LatentExplorer", "plot_traversal", "traversal_codes"]


def _check_model(model: object, who: str) -> None:
    if not isinstance(model, _Model):
        raise TypeError(f"{who} needs a vae_utils VAE or Autoencoder; got "
                        f"{_checks.type_name(model)}.")


def _check_dim_indices(latent_dim: int, dims: Sequence[int]) -> tuple[int, ...]:
    """0-based, distinct, in range, integers (1.5 is refused, not truncated)."""
    if isinstance(dims, torch.Tensor):
        dims = dims.tolist()
    if isinstance(dims, numbers.Integral) or not hasattr(dims, "__iter__"):
        raise TypeError(f"dims must be a sequence of dimension indices such as (0, 1); got "
                        f"{dims!r}. For one dimension write dims=({dims!r},).")
    dims = tuple(dims)
    if not all(_checks.is_int(d) for d in dims):
        raise TypeError(f"dims must hold integer indices (0-based) such as (0, 1); got {dims!r}.")
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
    base_z = _as_values(base_z, "base_z")
    if base_z.numel() != model.latent_dim:
        raise ValueError(f"base_z must have {model.latent_dim} values (one per latent "
                         f"dimension); got shape {tuple(base_z.shape)}.")
    return base_z.clone()


def _as_values(values: object, name: str) -> torch.Tensor:
    """Finite numbers as a flat float32 CPU tensor."""
    try:
        t = torch.as_tensor(values, dtype=torch.float32).detach().cpu().reshape(-1)
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(f"{name} must be a tensor or sequence of numbers; got "
                        f"{type(values).__name__} ({err}).") from None
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} must be finite numbers; got NaN or inf in {t.tolist()[:8]}.")
    return t


@torch.no_grad()
def _decode(model: torch.nn.Module, z: torch.Tensor) -> torch.Tensor:
    """Codes ``(N, D)`` -> pixel probabilities ``(N, 1, 28, 28)`` on the CPU, eval mode."""
    device, dtype = _checks.device_dtype(model)
    with _checks.eval_mode(model):
        return torch.sigmoid(model.decode(z.to(device, dtype))).float().cpu()


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

    Raises:
        TypeError: ``latent_dim`` is not an integer, ``dims`` not a sequence of integers,
            or ``values``/``base_z`` not numeric.
        ValueError: ``latent_dim < 1``; ``dims`` empty, repeated or outside
            ``0..latent_dim-1``; ``values`` empty or not finite; ``base_z`` not
            ``latent_dim`` finite values.
    """
    if not _checks.is_int(latent_dim):
        raise TypeError(f"latent_dim must be an integer (the model's D); got {latent_dim!r}.")
    if latent_dim < 1:
        raise ValueError(f"latent_dim must be >= 1; got {latent_dim}.")
    dims = _check_dim_indices(int(latent_dim), dims)
    values = _as_values(values, "values")
    if values.numel() == 0:
        raise ValueError("values is empty: give at least one value to sweep to.")
    base = torch.zeros(latent_dim) if base_z is None else _as_values(base_z, "base_z")
    if base.numel() != latent_dim:
        raise ValueError(f"base_z must have {latent_dim} values (one per latent dimension); "
                         f"got {base.numel()}.")
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
        TypeError: ``model`` is not a vae_utils model, ``dims`` not integers.
        ValueError: ``dims`` outside ``0..D-1``, repeated or empty; ``base_z`` of the wrong
            size or not finite; ``values`` empty or not finite.
    """
    _check_model(model, "plot_traversal")
    dims = _check_dim_indices(model.latent_dim, dims)
    base = _base(model, base_z)
    values = torch.linspace(-3, 3, 9) if values is None else _as_values(values, "values")
    if values.numel() == 0:
        raise ValueError("values is empty: give at least one value to sweep to.")
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
    :meth:`static_figure`. Outside Jupyter (``print(explorer)``, a plain Python prompt)
    it reads as a line that names the model, the sliders and ``static_figure()``.

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
        TypeError: ``model`` is not a vae_utils model, ``dims`` not integers, or ``span``
            or ``step`` not a number.
        ValueError: bad ``dims``, ``base_z`` (wrong size, NaN), ``span`` (not a finite
            number > 0), ``step`` (not a finite number in (0, span]) or ``scale`` (not a
            positive integer).
    """

    def __init__(self, model: torch.nn.Module, dims: Sequence[int] = (0, 1),
                 base_z: torch.Tensor | None = None, span: float = 3.0, step: float = 0.05,
                 scale: int = 6) -> None:
        try:
            import ipywidgets as widgets
        except ImportError as err:  # pragma: no cover - ipywidgets is a dependency
            raise ImportError("LatentExplorer needs ipywidgets: pip install ipywidgets") from err
        span = _checks.number(span, "span", positive=True)
        step = _checks.number(step, "step", positive=True)
        if step > span:
            raise ValueError(f"step (the slider resolution) must be at most span={span}; got "
                             f"{step}.")
        scale = _checks.positive_int(scale, "scale")
        _check_model(model, "LatentExplorer")
        self.model = model
        self.dims = _check_dim_indices(model.latent_dim, dims)
        self.base_z = _base(model, base_z)
        self.span = span
        self.scale = scale
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
        slider range).

        Raises:
            TypeError, ValueError: as :func:`plot_traversal` (``values`` empty or not finite).
        """
        if values is None:
            values = torch.linspace(-self.span, self.span, 9)
        return plot_traversal(self.model, self.dims, values, self.base_z, title=title, save=save)

    def __repr__(self) -> str:
        names = ", ".join(s.description for s in self.sliders)
        return (f"<LatentExplorer of a {type(self.model).__name__} (latent_dim="
                f"{self.model.latent_dim}): sliders {names} from {-self.span:g} to "
                f"{self.span:g} -> decoded digit. Interactive only in Jupyter with "
                "ipywidgets; elsewhere call .static_figure() for the same sweep as a figure.>")

    def _repr_mimebundle_(self, **kwargs) -> dict:
        bundle = dict(self.widget._repr_mimebundle_(**kwargs))
        names = ", ".join(s.description for s in self.sliders)
        bundle["text/plain"] = (f"LatentExplorer: sliders {names} -> decoded digit. It needs a "
                                "live Jupyter kernel; the figure beside it shows the same "
                                "thing statically.")
        return bundle
