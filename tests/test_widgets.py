"""Tests of vae_utils.widgets: the explorer redraws the decoded digit of the slider values."""

import io

import matplotlib
import numpy as np
import pytest
import torch
from PIL import Image

matplotlib.use("Agg")

from vae_utils.gif import to_uint8  # noqa: E402
from vae_utils.models import VAE  # noqa: E402
from vae_utils.widgets import LatentExplorer, plot_traversal, traversal_codes  # noqa: E402

pytestmark = pytest.mark.usefixtures("figures")


@pytest.fixture
def model():
    torch.manual_seed(0)
    return VAE(latent_dim=5, hidden_dims=(16,))


def _png_to_array(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("L"))


def test_traversal_codes_sweep_one_dimension_at_a_time():
    base = torch.arange(4, dtype=torch.float32)
    z = traversal_codes(4, dims=(1, 3), values=torch.tensor([-1.0, 0.0, 1.0]), base_z=base)
    assert z.shape == (6, 4)
    assert z[:3, 1].tolist() == [-1.0, 0.0, 1.0] and z[3:, 3].tolist() == [-1.0, 0.0, 1.0]
    assert (z[:3, [0, 2, 3]] == base[[0, 2, 3]]).all()
    assert (z[3:, [0, 1, 2]] == base[[0, 1, 2]]).all()


def test_explorer_redraws_the_decoding_of_the_slider_values(model):
    base = torch.linspace(-1, 1, 5)
    explorer = LatentExplorer(model, dims=(1, 3), base_z=base, scale=2)
    assert [s.description for s in explorer.sliders] == ["z2", "z4"]
    assert torch.allclose(explorer.current_z()[0], base)  # sliders start at base_z
    before = explorer.image.value
    explorer.sliders[1].value = 2.5  # as if a learner dragged the z4 slider
    z = explorer.current_z()
    expected_z = base.clone()
    expected_z[3] = 2.5
    assert torch.allclose(z[0], expected_z)
    with torch.no_grad():
        expected = torch.sigmoid(model.decode(expected_z.unsqueeze(0)))[0, 0]
    shown = _png_to_array(explorer.image.value)
    assert shown.shape == (56, 56)
    assert np.array_equal(shown[::2, ::2], to_uint8(expected))
    assert explorer.image.value != before


def test_explorer_display_has_a_readable_fallback(model):
    explorer = LatentExplorer(model, dims=(0,))
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"].startswith("LatentExplorer: sliders z1")


@pytest.mark.parametrize("kwargs", [dict(dims=(5,)), dict(dims=(0, 0)), dict(dims=()),
                                    dict(base_z=torch.zeros(4)), dict(span=0.0)])
def test_explorer_rejects_bad_arguments(model, kwargs):
    with pytest.raises(ValueError):
        LatentExplorer(model, **kwargs)


def test_plot_traversal_shows_the_decoded_sweep(model):
    values = torch.tensor([-2.0, 0.0, 2.0])
    fig = plot_traversal(model, dims=(0, 4), values=values)
    picture = fig.axes[0].images[0].get_array()
    assert picture.shape == (2 * 30 + 2, 3 * 30 + 2)
    with torch.no_grad():
        x_hat = torch.sigmoid(model.decode(traversal_codes(5, (0, 4), values)))
    # Tile (row 1, column 2) is z5 = 2 with the rest at 0.
    tile = picture[2 + 30:2 + 30 + 28, 2 + 60:2 + 60 + 28]
    assert np.allclose(tile, x_hat[5, 0].numpy(), atol=1e-6)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["$z_{1}$", "$z_{5}$"]


# ---------------------------------------------------------------- bad input
# Bad input: each hostile input either gives the correct result or an error of the
# documented type whose message says what was wrong and how to fix it.


def test_traversal_and_explorer_refuse_bad_arguments():
    model = VAE(latent_dim=3, hidden_dims=(8,))
    with pytest.raises(TypeError, match=r"dims=\(1,\)"):
        plot_traversal(model, dims=1)
    with pytest.raises(TypeError, match="integer indices"):
        traversal_codes(3, dims=(1.5,), values=torch.zeros(2))
    with pytest.raises(ValueError, match="finite"):
        plot_traversal(model, dims=(0,), values=torch.tensor([0.0, float("nan")]))
    with pytest.raises(ValueError, match="empty"):
        traversal_codes(3, dims=(0,), values=[])
    with pytest.raises(ValueError, match="base_z"):
        LatentExplorer(model, dims=(0,), base_z=torch.tensor([0.0, float("nan"), 0.0]))
    for kwargs in (dict(step=0.0), dict(span=float("inf")), dict(scale=0), dict(step=10.0)):
        with pytest.raises(ValueError):
            LatentExplorer(model, dims=(0,), **kwargs)


def test_latent_explorer_reads_well_outside_jupyter():
    explorer = LatentExplorer(VAE(latent_dim=3, hidden_dims=(8,)), dims=(0, 2))
    text = repr(explorer)
    assert "object at 0x" not in text and text == str(explorer)
    assert "sliders z1, z3" in text and "static_figure()" in text and "latent_dim=3" in text
