"""fit, evaluate, devices, checkpoints and seeding."""

import math
import os
import sys

import pytest
import torch

from vae_utils.models import VAE, Autoencoder
from vae_utils.train import (History, evaluate, fit, get_device, load_checkpoint,
                             save_checkpoint, seed_everything)


def test_fit_lowers_the_test_loss_on_real_digits(mnist):
    seed_everything(0)
    model = VAE()
    before = evaluate(model, mnist.x_test)
    history = fit(model, mnist.x_train, mnist.x_test, epochs=3, progress=False)
    assert len(history) == 3 and history.epoch == [1, 2, 3] and history.stopped is None
    assert history.test_loss[-1] < history.test_loss[0] < before["loss"]
    assert history.test_loss[-1] < 0.5 * before["loss"]  # untrained: about 543 nats per image
    for i in range(3):
        assert math.isclose(history.train_loss[i], history.train_recon[i] + history.train_kl[i],
                            rel_tol=1e-4)
        assert history.test_kl[i] > 0 and history.seconds[i] > 0
    assert sum(history.seconds) < 60  # "within seconds": about 1 s on a quiet 2-core CPU


def test_fit_autoencoder_has_no_kl(mnist):
    seed_everything(0)
    history = fit(Autoencoder(latent_dim=2), mnist.x_train, mnist.x_test, epochs=2, progress=False)
    assert history.train_kl == [0.0, 0.0]
    assert history.test_loss == history.test_recon
    assert history.test_loss[1] < history.test_loss[0]


def test_seeded_runs_are_identical(mnist):
    runs = []
    for _ in range(2):
        seed_everything(123)
        runs.append(fit(VAE(latent_dim=4), mnist.x_train[:512], mnist.x_test[:256], epochs=2,
                        progress=False))
    assert runs[0].train_loss == runs[1].train_loss and runs[0].test_loss == runs[1].test_loss


def test_beta_changes_the_trade_off(mnist):
    kls = {}
    for beta in (0.5, 4.0):
        seed_everything(0)
        kls[beta] = fit(VAE(latent_dim=8), mnist.x_train, mnist.x_test, epochs=2, beta=beta,
                        progress=False).test_kl[-1]
    assert kls[4.0] < kls[0.5]  # a heavier KL weight squeezes q(z|x) towards the prior


def test_nan_stops_training_and_keeps_last_good_weights(mnist, capsys):
    seed_everything(0)
    model = VAE(latent_dim=4)
    x = mnist.x_train[:1024]  # 8 steps per epoch at batch size 128
    saved = {}
    opt = _BreakAfter(model, n=8 + 3)  # poisoned in epoch 2, step 3
    history = fit(model, x, mnist.x_test[:200], epochs=4, optimizer=opt, progress=False,
                  check_every=2, on_epoch_end=lambda e, m: saved.update(
                      {e: {k: v.clone() for k, v in m.state_dict().items()}}))
    assert history.stopped == "nan" and history.epoch == [1]
    for k, v in model.state_dict().items():
        assert torch.isfinite(v).all()
        torch.testing.assert_close(v, saved[1][k])  # the weights at the end of epoch 1
    out = capsys.readouterr().out
    assert "loss became nan" in out and "smaller learning rate" in out


def test_ctrl_c_returns_the_history_so_far(mnist):
    def interrupt(epoch, model):
        if epoch == 2:
            raise KeyboardInterrupt

    history = fit(VAE(latent_dim=2), mnist.x_train[:256], None, epochs=5, progress=False,
                  on_epoch_end=interrupt)
    assert history.stopped == "interrupted" and history.epoch == [1, 2]
    assert math.isnan(history.test_loss[0])


def test_history_continues(mnist):
    model = VAE(latent_dim=2)
    h = fit(model, mnist.x_train[:256], mnist.x_test[:64], epochs=2, progress=False)
    h = fit(model, mnist.x_train[:256], mnist.x_test[:64], epochs=1, progress=False, history=h)
    assert h.epoch == [1, 2, 3]
    assert "step" in h.summary() and h.step == [2, 4, 6] and History.from_dict(h.as_dict()) == h


def test_progress_bar_runs(mnist, capsys):
    fit(VAE(latent_dim=2), mnist.x_train[:256], None, epochs=1, progress=True, check_every=1)
    assert "2/2" in capsys.readouterr().err  # tqdm counted both steps


def test_fit_rejects_bad_data(mnist):
    model = VAE()
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        fit(model, mnist.x_train[:8] * 255, epochs=1, progress=False)
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\)"):
        fit(model, mnist.x_train[:8].view(8, 784), epochs=1, progress=False)
    with pytest.raises(TypeError, match="float"):
        fit(model, (mnist.x_train[:8] * 255).to(torch.uint8), epochs=1, progress=False)
    with pytest.raises(ValueError, match="epochs"):
        fit(model, mnist.x_train[:8], epochs=0, progress=False)
    with pytest.raises(TypeError, match="Autoencoder or VAE"):
        fit(torch.nn.Linear(2, 2), mnist.x_train[:8], epochs=1, progress=False)


def test_device_choice():
    assert get_device("cpu") == torch.device("cpu")
    auto = get_device()
    assert auto.type == ("cuda" if torch.cuda.is_available() else auto.type)
    if not torch.cuda.is_available():
        assert auto.type in ("cpu", "mps")
        with pytest.raises(RuntimeError, match="no CUDA GPU.*device=None"):
            get_device("cuda")
    with pytest.raises(ValueError, match="not a device name"):
        get_device("banana")


def test_checkpoint_round_trip(tmp_path, mnist):
    model = VAE(latent_dim=3, hidden_dims=(32,))
    history = fit(model, mnist.x_train[:128], mnist.x_test[:64], epochs=1, progress=False)
    path = save_checkpoint(tmp_path / "ckpt" / "vae.pt", model, history)
    loaded, h2 = load_checkpoint(path)  # rebuilt from the stored config
    assert isinstance(loaded, VAE) and loaded.latent_dim == 3 and h2 == history
    x = mnist.x_test[:4]
    torch.testing.assert_close(loaded.reconstruct(x), model.cpu().reconstruct(x))
    assert torch.load(path, weights_only=True)["model_class"] == "VAE"
    with pytest.raises(ValueError, match="holds a VAE"):
        load_checkpoint(path, Autoencoder(latent_dim=3))
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")


def test_seed_everything_rejects_non_integers():
    with pytest.raises(TypeError, match="integer"):
        seed_everything(1.5)


def test_step_budget_is_the_same_training_at_every_data_size(mnist):
    """steps= gives the same number of optimiser steps and history rows whatever N is."""
    rows = {}
    for n in (256, 2048):
        seed_everything(0)
        h = fit(VAE(latent_dim=4), mnist.x_train[:n], mnist.x_test[:100], steps=30,
                eval_every=10, progress=False)
        assert h.step == [10, 20, 30] and h.epoch == [1, 2, 3] and h.stopped is None
        rows[n] = h
    # 256 images are 2 steps a pass: 15 passes; 2048 images are 16 steps a pass: < 2 passes
    assert rows[256].test_loss[-1] < rows[256].test_loss[0]
    h = fit(VAE(latent_dim=4), mnist.x_train[:300], steps=7, progress=False)
    assert h.step == list(range(1, 8))  # default eval_every = ceil(7 / 20) = 1
    h = fit(VAE(latent_dim=4), mnist.x_train[:300], steps=5, eval_every=3, progress=False,
            history=h)
    assert h.step == [1, 2, 3, 4, 5, 6, 7, 10, 12] and h.epoch[-1] == 9


def test_budget_arguments_are_checked(mnist):
    x = mnist.x_train[:64]
    with pytest.raises(ValueError, match="not both"):
        fit(VAE(), x, epochs=1, steps=10, progress=False)
    with pytest.raises(ValueError, match="eval_every goes with steps"):
        fit(VAE(), x, epochs=1, eval_every=3, progress=False)
    for bad in (0, -5, 2.5, True):
        with pytest.raises(ValueError, match="steps must be a positive integer"):
            fit(VAE(), x, steps=bad, progress=False)


def test_beta_schedule_is_called_with_the_step(mnist):
    seen = []

    def schedule(step):
        seen.append(step)
        return 0.0 if step <= 4 else 1.0

    h = fit(VAE(latent_dim=4), mnist.x_train[:256], mnist.x_test[:64], steps=8, eval_every=4,
            beta=schedule, progress=False)
    assert seen == list(range(1, 9))
    # rows 1: beta = 0, so the train loss is the reconstruction alone; row 2: beta = 1
    assert math.isclose(h.train_loss[0], h.train_recon[0], rel_tol=1e-6)
    assert math.isclose(h.train_loss[1], h.train_recon[1] + h.train_kl[1], rel_tol=1e-4)
    assert h.train_kl[1] > 0
    assert math.isclose(h.test_loss[1], h.test_recon[1] + h.test_kl[1], rel_tol=1e-4)
    fit(VAE(latent_dim=4), mnist.x_train[:256], steps=2, beta=schedule, progress=False,
        history=h)
    assert seen[-2:] == [9, 10]  # a continued history counts its steps on


@pytest.mark.parametrize("beta", [float("nan"), float("inf"), -1.0])
def test_bad_beta_is_refused(mnist, beta):
    with pytest.raises(ValueError, match="beta must be a finite number >= 0"):
        fit(VAE(), mnist.x_train[:64], epochs=1, beta=beta, progress=False)


@pytest.mark.parametrize("beta", ["1", None])
def test_a_beta_that_is_not_a_number_is_a_type_error_as_in_evaluate(mnist, beta):
    for call in (lambda: fit(VAE(), mnist.x_train[:64], epochs=1, beta=beta, progress=False),
                 lambda: evaluate(VAE(), mnist.x_train[:64], beta=beta)):
        with pytest.raises(TypeError, match="beta must be a number"):
            call()


def test_bad_beta_from_a_schedule_names_the_step(mnist):
    with pytest.raises(ValueError, match="at step 3"):
        fit(VAE(), mnist.x_train[:640], steps=5, progress=False,
            beta=lambda step: float("nan") if step == 3 else 1.0)


def test_labels_only_with_a_conditional_model(mnist):
    with pytest.raises(ValueError, match="does not use labels"):
        fit(VAE(), mnist.x_train[:64], epochs=1, y_train=mnist.y_train[:64], progress=False)
    with pytest.raises(ValueError, match="does not use labels"):
        evaluate(VAE(), mnist.x_test[:64], y=mnist.y_test[:64])


# ---------------------------------------------------------------- fit: the optimiser
# Bad input: each hostile input either gives the correct result or an error of the
# documented type whose message says what was wrong and how to fix it.


def _small_vae(latent_dim=4):
    return VAE(latent_dim=latent_dim, hidden_dims=(32,))


def _weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


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


def test_history_survives_in_sys_last_value_style(mnist):
    """The note's recipe: an uncaught error leaves the history on the exception object."""
    try:
        fit(_small_vae(), mnist.x_train[:128], epochs=2, progress=False,
            on_epoch_end=lambda e, m: 1 / 0)
    except ZeroDivisionError:
        sys.last_value = sys.exc_info()[1]  # what IPython and the REPL do for an uncaught error
    assert sys.last_value.history.epoch == [1]
    del sys.last_value


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


# ---------------------------------------------------------------- checkpoints and History


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


# ---------------------------------------- fit: timing, the default optimiser, compile


def test_fit_times_train_and_test_parts_of_each_epoch(mnist):
    data = mnist
    torch.manual_seed(0)
    history = fit(VAE(), data.x_train[:512], data.x_test[:256], epochs=2, progress=False,
                  device="cpu")
    assert len(history.train_seconds) == len(history.test_seconds) == 2
    for total, train, test in zip(history.seconds, history.train_seconds, history.test_seconds):
        assert train > 0 and test > 0
        assert train + test == pytest.approx(total)
    restored = History.from_dict(history.as_dict())
    assert restored.train_seconds == history.train_seconds


def test_fit_default_fused_adam_matches_plain_adam(mnist):
    """The default optimiser (fused Adam on CPU) is the same algorithm as torch's Adam."""
    x_train, x_test = mnist.x_train[:512], mnist.x_test[:256]
    results = []
    for make_optimizer in (None, lambda m: torch.optim.Adam(m.parameters(), lr=1e-3)):
        torch.manual_seed(0)
        model = VAE()
        optimizer = make_optimizer(model) if make_optimizer else None
        torch.manual_seed(1)  # same batches, same eps
        history = fit(model, x_train, x_test, epochs=2, optimizer=optimizer, progress=False,
                      device="cpu")
        results.append((history.train_loss, history.test_loss))
    (fused_train, fused_test), (plain_train, plain_test) = results
    assert fused_train[-1] < fused_train[0]  # it trained
    assert fused_train == pytest.approx(plain_train, rel=1e-3)
    assert fused_test == pytest.approx(plain_test, rel=1e-3)


def test_fit_rejects_a_bad_compile_option(mnist):
    with pytest.raises(TypeError, match="compile must be"):
        fit(VAE(), mnist.x_train[:64], epochs=1, progress=False, compile=1)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("VAE_SLOW_TESTS"),
                    reason="the first torch.compile takes about a minute on a 2-core CPU; "
                           "set VAE_SLOW_TESTS=1 to run it")
def test_fit_compiled_matches_eager(mnist):
    x_train, x_test = mnist.x_train[:1024], mnist.x_test[:256]
    losses = []
    for compile in (False, True):
        torch.manual_seed(0)
        model = VAE()
        torch.manual_seed(1)
        history = fit(model, x_train, x_test, epochs=2, progress=False, device="cpu",
                      compile=compile)
        losses.append(history.test_loss)
    assert losses[1] == pytest.approx(losses[0], rel=1e-2)
