"""Plot helpers: the right panels, titles and labels, and files where asked."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from vae_utils.gif import images_to_frame, to_uint8  # noqa: E402
from vae_utils.latent import latent_grid  # noqa: E402
from vae_utils.plots import (plot_image_grid, plot_latent_grid, plot_latent_scatter,  # noqa: E402
                             plot_loss_curves, plot_reconstructions, plot_samples, save_figure)
from vae_utils.train import History  # noqa: E402

pytestmark = pytest.mark.usefixtures("figures")  # saved figures go to tmp_path


def test_image_grid_uses_make_grid_layout(tmp_path):
    fig = plot_image_grid(torch.rand(10, 1, 28, 28), nrow=5, title="ten", save="grid.png")
    image = fig.axes[0].get_images()[0].get_array()
    assert image.shape == (2 * 30 + 2, 5 * 30 + 2)  # make_grid: 28 px + 2 px padding
    assert fig.axes[0].get_title() == "ten"
    assert (tmp_path / "grid.png").stat().st_size > 0


def test_reconstructions_rows_and_errors():
    x = torch.rand(8, 1, 28, 28)
    fig = plot_reconstructions(x, x.clone())
    assert fig.axes[0].get_images()[0].get_array().shape == (2 * 30 + 2, 8 * 30 + 2)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["original", "reconstruction"]
    with pytest.raises(ValueError, match="same shape"):
        plot_reconstructions(x, x[:4])


def test_samples_title():
    assert "64 samples" in plot_samples(torch.rand(64, 1, 28, 28)).axes[0].get_title()


def test_loss_curves_show_recon_and_kl_separately():
    h = History(epoch=[1, 2], step=[100, 200], train_loss=[3.0, 2.0], train_recon=[2.5, 1.6],
                train_kl=[0.5, 0.4], test_loss=[3.1, 2.2], test_recon=[2.6, 1.8],
                test_kl=[0.5, 0.4], seconds=[1, 1])
    fig = plot_loss_curves(h, title="a VAE")
    titles = [ax.get_title() for ax in fig.axes]
    assert len(titles) == 3 and "KL" in titles[2] and "reconstruction" in titles[1]
    assert all(ax.get_ylabel() == "nats per image" for ax in fig.axes)
    train, test = fig.axes[0].get_lines()
    # a training point is the mean over its row's steps (drawn mid-row); a test point is
    # measured at the row's end
    assert list(train.get_xdata()) == [50, 150] and list(test.get_xdata()) == [100, 200]
    ae = History(epoch=[1], step=[100], train_loss=[2.0], train_recon=[2.0], train_kl=[0.0],
                 test_loss=[2.1], test_recon=[2.1], test_kl=[0.0], seconds=[1])
    one = plot_loss_curves(ae, title="an autoencoder")
    assert len(one.axes) == 1 and one.axes[0].get_title() == "an autoencoder"
    assert one._suptitle is None  # the title once, not twice
    with pytest.raises(ValueError, match="1 rows but 0 steps"):
        plot_loss_curves(History(epoch=[1], train_loss=[2.0], train_recon=[2.0], train_kl=[0.0],
                                 test_loss=[2.1], test_recon=[2.1], test_kl=[0.0]))


def test_latent_scatter(tmp_path):
    z, y = torch.randn(100, 2), torch.randint(0, 10, (100,))
    fig = plot_latent_scatter(z, y, save="scatter.png")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "$z_1$" and len(ax.collections[0].get_offsets()) == 100
    assert (tmp_path / "scatter.png").exists()
    with pytest.raises(ValueError, match="TSNE"):
        plot_latent_scatter(torch.randn(10, 3), y[:10])


def test_save_figure_rejects_paths(tmp_path):
    fig = plot_samples(torch.rand(4, 1, 28, 28))
    with pytest.raises(ValueError, match="plain file name"):
        save_figure(fig, "../x.png")
    assert save_figure(fig, "plain").name == "plain.png"


# ---------------------------------------------------------------- bad input
# Bad input: each hostile input either gives the correct result or an error of the
# documented type whose message says what was wrong and how to fix it.


_LOGITS = torch.randn(4, 1, 28, 28) * 4
_BYTES = (torch.rand(4, 1, 28, 28) * 255).round()


@pytest.mark.parametrize("draw", [
    lambda x: plot_image_grid(x),
    lambda x: plot_samples(x),
    lambda x: plot_reconstructions(torch.rand(4, 1, 28, 28), x),
    lambda x: images_to_frame(x),
    lambda x: to_uint8(x),
    lambda x: plot_latent_grid(x, latent_grid(n=2)),
])
@pytest.mark.parametrize("bad, hint", [(_LOGITS, r"torch.sigmoid\(logits\)"),
                                       (_BYTES, "divide them by 255")])
def test_pictures_refuse_logits_and_0_255_pixels(draw, bad, hint):
    with pytest.raises(ValueError, match=r"\[0, 1\].*" + hint):
        draw(bad)


def test_pictures_allow_float_rounding_and_refuse_nan():
    x = torch.rand(4, 1, 28, 28)
    x[0, 0, 0, 0], x[1, 0, 0, 0] = 1 + 1e-7, -1e-7  # float rounding of a sigmoid
    assert images_to_frame(x).dtype == np.uint8
    plot_image_grid(x)
    x[2, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        plot_image_grid(x)
    with pytest.raises(ValueError, match="NaN"):
        to_uint8(x)
    with pytest.raises(ValueError, match="no images"):
        plot_image_grid(x[:0])


def test_plot_helpers_refuse_bad_arguments():
    with pytest.raises(ValueError, match="no rows"):
        plot_loss_curves(History())
    with pytest.raises(TypeError, match="History"):
        plot_loss_curves([1, 2, 3])
    z = torch.randn(5, 2)
    with pytest.raises(ValueError, match="non-finite"):
        plot_latent_scatter(torch.cat([z, torch.full((1, 2), float("nan"))]), torch.arange(6))
    with pytest.raises(ValueError, match="0..9"):
        plot_latent_scatter(z, torch.tensor([0, 1, 2, 3, 12]))
    with pytest.raises(TypeError, match="matplotlib Figure"):
        save_figure(matplotlib.pyplot.subplots()[1], "x.png")
    with pytest.raises(ValueError, match="nrow"):
        plot_image_grid(torch.rand(4, 1, 28, 28), nrow=0)
