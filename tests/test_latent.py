"""Tests of vae_utils.latent: grids of codes, decoding them, lerp/slerp, KL per dimension."""

import math

import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")

from vae_utils.evaluation import kl_per_dimension  # noqa: E402
from vae_utils.latent import decode_grid, interpolate, latent_grid, lerp, slerp  # noqa: E402
from vae_utils.losses import kl_to_standard_normal  # noqa: E402
from vae_utils.models import VAE  # noqa: E402
from vae_utils.plots import plot_latent_grid  # noqa: E402

pytestmark = pytest.mark.usefixtures("figures")


def test_quantile_grid_matches_normal_inverse_cdf():
    grid = latent_grid(n=20, lo=0.05, hi=0.95, kind="quantile")
    assert grid.z.shape == (400, 2) and grid.z.dtype == torch.float32
    # Reference: 0.95 quantile of N(0, 1) is 1.6448536 (textbook value).
    assert grid.coords[-1].item() == pytest.approx(1.6448536, abs=1e-5)
    assert grid.coords[0].item() == pytest.approx(-1.6448536, abs=1e-5)
    # Each coordinate's CDF recovers the evenly spaced probabilities.
    cdf = torch.distributions.Normal(0.0, 1.0).cdf(grid.coords.double())
    assert torch.allclose(cdf, torch.linspace(0.05, 0.95, 20, dtype=torch.float64), atol=1e-6)
    # Symmetric about 0 and strictly increasing.
    assert torch.allclose(grid.coords, -grid.coords.flip(0), atol=1e-6)
    assert bool((grid.coords.diff() > 0).all())


def test_quantile_grid_far_in_the_tails_is_finite():
    """Review finding: latent_grid(5, lo=1e-300) gave -inf codes (Normal.icdf computes
    erfinv(2p - 1), and 2p - 1 rounds to -1 for p < 1e-16)."""
    for lo, hi in ((1e-300, 0.95), (5e-324, 0.5), (0.05, 1 - 2 ** -53), (1e-20, 1 - 1e-16)):
        grid = latent_grid(5, lo=lo, hi=hi)
        assert bool(torch.isfinite(grid.z).all()), (lo, hi)
        assert bool((grid.coords.diff() > 0).all()), (lo, hi)
    # reference: Phi(z) = erfc(-z / sqrt(2)) / 2, accurate in the lower tail
    z = latent_grid(5, lo=1e-300).coords[0].item()
    assert 0.5 * math.erfc(-z / math.sqrt(2)) == pytest.approx(1e-300, rel=1e-3)
    assert z == pytest.approx(-37.0471, abs=1e-3)


def test_grid_row_order_is_image_order():
    n = 5
    grid = latent_grid(n=n, kind="linear", span=2.0)
    c = grid.coords
    assert torch.allclose(c, torch.linspace(-2, 2, n))
    for i in range(n):
        for j in range(n):
            assert grid.z[i * n + j].tolist() == [c[j].item(), c[n - 1 - i].item()]
    assert grid.z[0].tolist() == [-2.0, 2.0]      # top-left: smallest z1, largest z2
    assert grid.z[-1].tolist() == [2.0, -2.0]     # bottom-right
    # Every (z1, z2) pair appears exactly once.
    assert len({tuple(p) for p in grid.z.tolist()}) == n * n


@pytest.mark.parametrize("kwargs", [dict(n=1), dict(lo=0.0), dict(hi=1.0), dict(lo=0.6, hi=0.4),
                                    dict(kind="linear", span=0.0), dict(kind="polar")])
def test_grid_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        latent_grid(**kwargs)


def test_decode_grid_matches_decoder_and_needs_2d_model():
    torch.manual_seed(0)
    model = VAE(latent_dim=2, hidden_dims=(16,))
    grid = latent_grid(n=4)
    images = decode_grid(model, grid)
    assert images.shape == (16, 1, 28, 28)
    with torch.no_grad():
        expected = torch.sigmoid(model.decode(grid.z))
    assert torch.allclose(images, expected)
    assert model.training  # mode restored
    with pytest.raises(ValueError, match="latent_dim=2"):
        decode_grid(VAE(latent_dim=3, hidden_dims=(8,)))


def test_plot_latent_grid_places_tiles_on_their_codes():
    torch.manual_seed(0)
    model = VAE(latent_dim=2, hidden_dims=(8,))
    grid = latent_grid(n=4, kind="linear", span=1.5)
    fig = plot_latent_grid(decode_grid(model, grid), grid, z=torch.zeros(3, 2),
                           labels=torch.tensor([0, 1, 2]))
    ax = fig.axes[0]
    half = 0.5  # tiles at -1.5, -0.5, 0.5, 1.5: 1 apart
    assert ax.images[0].get_extent() == pytest.approx([-2.0, 2.0, -2.0, 2.0])
    assert ax.get_xlim() == pytest.approx((-1.5 - half, 1.5 + half))
    with pytest.raises(ValueError, match="labels"):
        plot_latent_grid(decode_grid(model, grid), grid, z=torch.zeros(3, 2))
    with pytest.raises(ValueError, match="shape"):
        plot_latent_grid(torch.zeros(15, 1, 28, 28), grid)


def test_plot_latent_grid_show_outside_keeps_every_code_in_view():
    torch.manual_seed(0)
    model = VAE(latent_dim=2, hidden_dims=(8,))
    z = torch.tensor([[0.0, 0.0], [3.5, -0.2], [-0.1, -5.0]])  # two codes far outside
    labels = torch.tensor([0, 1, 2])
    linear = latent_grid(n=4, kind="linear", span=1.5)
    images = decode_grid(model, linear)
    ax = plot_latent_grid(images, linear, z=z, labels=labels).axes[0]
    assert ax.get_xlim() == pytest.approx((-2.0, 2.0))  # default: the axes end at the grid
    ax = plot_latent_grid(images, linear, z=z, labels=labels, show_outside=True).axes[0]
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    assert x0 == pytest.approx(-2.0) and x1 > 3.5 and y0 < -5.0 and y1 == pytest.approx(2.0)
    outline = [p for p in ax.patches if p.get_width() == pytest.approx(4.0)]
    assert len(outline) == 1 and outline[0].get_xy() == pytest.approx((-2.0, -2.0))
    # quantile grid: the axis is Phi(z), so the far codes land in the band beyond the tiles
    quantile = latent_grid(n=20, lo=0.05, hi=0.95)  # tiles end at Phi(z) = 0.974
    ax = plot_latent_grid(decode_grid(model, quantile), quantile, z=z, labels=labels,
                          show_outside=True).axes[0]
    normal = torch.distributions.Normal(0.0, 1.0)
    tile_edge = ax.images[0].get_extent()[1]
    assert tile_edge < normal.cdf(torch.tensor(3.5)).item() < ax.get_xlim()[1]
    assert ax.get_ylim()[0] < normal.cdf(torch.tensor(-5.0)).item()
    assert "3" in [t.get_text() for t in ax.get_xticklabels()]  # the band's far end is labelled


def test_lerp_endpoints_and_midpoint():
    z0, z1 = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([3.0, 2.0, -1.0])
    path = lerp(z0, z1, torch.tensor([0.0, 0.5, 1.0]))
    assert torch.equal(path[0], z0) and torch.equal(path[2], z1)
    assert torch.allclose(path[1], torch.tensor([2.0, 2.0, 1.0]))


def test_slerp_known_values_on_the_unit_circle():
    e1, e2 = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    t = torch.tensor([0.0, 1 / 3, 0.5, 1.0])
    path = slerp(e1, e2, t)
    angles = t * math.pi / 2
    expected = torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    assert torch.allclose(path, expected, atol=1e-6)


def test_slerp_preserves_norm_and_angle_is_proportional_to_t():
    g = torch.Generator().manual_seed(1)
    z0 = torch.randn(20, generator=g, dtype=torch.float64)
    z1 = torch.randn(20, generator=g, dtype=torch.float64)
    z1 = z1 / z1.norm() * z0.norm()  # equal norms
    t = torch.linspace(0, 1, 11, dtype=torch.float64)
    path = slerp(z0, z1, t)
    assert torch.allclose(path[0], z0) and torch.allclose(path[-1], z1)
    assert torch.allclose(path.norm(dim=1), z0.norm().expand(11), rtol=1e-10)
    omega = torch.arccos(torch.dot(z0, z1) / (z0.norm() * z1.norm()))
    angle = torch.arccos(torch.clamp(path @ z0 / (path.norm(dim=1) * z0.norm()), -1, 1))
    assert torch.allclose(angle, t * omega, atol=1e-6)
    # lerp's midpoint is shorter than the ends; slerp's is not.
    assert lerp(z0, z1, 0.5).norm() < z0.norm() - 1e-3


def test_slerp_falls_back_to_lerp_for_parallel_and_zero_vectors():
    z0 = torch.tensor([1.0, 2.0])
    t = torch.linspace(0, 1, 5)
    for z1 in (2.0 * z0, z0 + 1e-9, torch.zeros(2)):
        path = slerp(z0, z1, t)
        assert torch.isfinite(path).all()
        assert torch.allclose(path, lerp(z0, z1, t))
    # one dimension: opposite codes have no plane to turn in
    assert torch.allclose(slerp(torch.tensor([2.0]), torch.tensor([-1.0]), t),
                          lerp(torch.tensor([2.0]), torch.tensor([-1.0]), t))


def _angle(u, v):
    """The angle between two vectors in float64, accurate near pi (unlike arccos)."""
    u, v = u.double() / u.double().norm(), v.double() / v.double().norm()
    return math.pi - 2 * math.asin(min(1.0, (u + v).norm().item() / 2))


def test_slerp_of_nearly_opposite_float32_unit_codes_stays_on_the_sphere():
    """Review finding: the angle from arccos of a float32 cosine took the path of nearly
    opposite unit codes off the sphere (norm off by 0.13), and exactly opposite codes fell
    back to lerp, through 0."""
    g = torch.Generator().manual_seed(0)
    t = torch.linspace(0, 1, 11)
    for gap in (1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 0.0):
        z0 = torch.randn(20, generator=g)
        z0 = z0 / z0.norm()
        z1 = -z0 + gap * torch.randn(20, generator=g)
        z1 = z1 / z1.norm()
        path = slerp(z0, z1, t)
        assert path.dtype == torch.float32
        assert (path.double().norm(dim=1) - 1).abs().max().item() < 1e-6, gap
        assert torch.allclose(path[0], z0, atol=1e-6) and torch.allclose(path[-1], z1, atol=1e-6)
        omega = _angle(z0, z1)  # pi for gap = 0
        for tk, zk in zip(t.tolist(), path):  # the angle to z0 grows linearly with t
            assert _angle(z0, zk) == pytest.approx(tk * omega, abs=1e-5), (gap, tk)
    # float64 codes: on the sphere to float64 rounding
    z0 = torch.randn(20, generator=g, dtype=torch.float64)
    z0 = z0 / z0.norm()
    z1 = -z0 + 1e-5 * torch.randn(20, generator=g, dtype=torch.float64)
    z1 = z1 / z1.norm()
    assert (slerp(z0, z1, t.double()).norm(dim=1) - 1).abs().max().item() < 1e-12


def test_slerp_of_opposite_codes_of_unequal_norms_interpolates_the_norms():
    z0 = torch.tensor([3.0, 4.0, 0.0])  # norm 5
    t = torch.linspace(0, 1, 5)
    path = slerp(z0, -0.2 * z0, t)  # norm 1, exactly opposite
    assert torch.allclose(path.norm(dim=1), (1 - t) * 5 + t * 1, atol=1e-5)
    assert torch.allclose(path[0], z0) and torch.allclose(path[-1], -0.2 * z0, atol=1e-6)
    assert path[2] @ z0 == pytest.approx(0.0, abs=1e-5)  # half way: a quarter turn


def test_interpolate_shapes_methods_and_errors():
    z0, z1 = torch.zeros(4), torch.ones(4)
    lin = interpolate(z0, z1, steps=5, method="linear")
    assert lin.shape == (5, 4)
    assert torch.allclose(lin[:, 0], torch.linspace(0, 1, 5))
    sph = interpolate(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0]), steps=3, method="slerp")
    assert torch.allclose(sph[1], torch.tensor([math.sqrt(0.5), math.sqrt(0.5)]), atol=1e-6)
    with pytest.raises(ValueError, match="same shape"):
        interpolate(torch.zeros(4), torch.zeros(5))
    with pytest.raises(ValueError, match="same shape"):
        slerp(torch.zeros(1, 4), torch.zeros(1, 4), 0.5)
    with pytest.raises(ValueError, match="steps"):
        interpolate(z0, z1, steps=1)
    with pytest.raises(ValueError, match="method"):
        interpolate(z0, z1, method="cubic")


def test_kl_per_dimension_sums_to_the_closed_form_kl():
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(64, 6, generator=g, dtype=torch.float64)
    logvar = torch.randn(64, 6, generator=g, dtype=torch.float64)
    per_dim = kl_per_dimension(mu, logvar)
    assert per_dim.shape == (6,)
    assert per_dim.sum().item() == pytest.approx(kl_to_standard_normal(mu, logvar).mean().item())
    # A dimension that matches the prior exactly carries zero KL.
    mu[:, 2], logvar[:, 2] = 0.0, 0.0
    assert kl_per_dimension(mu, logvar)[2].item() == 0.0
    with pytest.raises(ValueError):
        kl_per_dimension(mu, logvar[:, :5])


# ---------------------------------------------------------------- bad input
# Bad input: each hostile input either gives the correct result or an error of the
# documented type whose message says what was wrong and how to fix it.


def test_latent_helpers_refuse_bad_arguments():
    model = VAE(latent_dim=2, hidden_dims=(8,))
    with pytest.raises(TypeError, match="only build a grid when grid is None"):
        decode_grid(model, latent_grid(n=3), n=5)
    with pytest.raises(ValueError, match="NaN or inf"):
        decode_grid(model, torch.tensor([[0.0, float("nan")]]))
    with pytest.raises(ValueError, match="span"):
        latent_grid(kind="linear", span=float("inf"))
    with pytest.raises(ValueError, match="finite"):
        lerp(torch.zeros(2), torch.tensor([1.0, float("nan")]), 0.5)
    with pytest.raises(TypeError, match=r"z.float\(\)"):
        slerp(torch.zeros(2, dtype=torch.long), torch.ones(2, dtype=torch.long), 0.5)
    with pytest.raises(ValueError, match="t must be finite"):
        lerp(torch.zeros(2), torch.ones(2), float("nan"))
    with pytest.raises(ValueError, match="B = 0"):
        kl_per_dimension(torch.zeros(0, 3), torch.zeros(0, 3))
    with pytest.raises(TypeError, match="torch.as_tensor"):
        kl_per_dimension(np.zeros((2, 3)), torch.zeros(2, 3))
    # mixed precision codes are promoted, not refused
    path = interpolate(torch.zeros(2), torch.ones(2, dtype=torch.float64), steps=3)
    assert path.dtype == torch.float64 and path[1].tolist() == [0.5, 0.5]
