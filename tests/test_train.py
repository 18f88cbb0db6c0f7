"""fit, evaluate, devices, checkpoints and seeding."""

import math

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


class _PoisonAfter(torch.optim.Adam):
    """Adam that writes NaN into the weights at its n-th step (a blown-up update)."""

    def __init__(self, params, n):
        super().__init__(params, lr=1e-3)
        self.calls, self.n = 0, n

    def step(self, closure=None):
        super().step(closure)
        self.calls += 1
        if self.calls == self.n:
            with torch.no_grad():
                for group in self.param_groups:
                    for p in group["params"]:
                        p.fill_(float("nan"))


def test_nan_stops_training_and_keeps_last_good_weights(mnist, capsys):
    seed_everything(0)
    model = VAE(latent_dim=4)
    x = mnist.x_train[:1024]  # 8 steps per epoch at batch size 128
    saved = {}
    opt = _PoisonAfter(model.parameters(), n=8 + 3)  # poisoned in epoch 2, step 3
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


@pytest.mark.parametrize("beta", [float("nan"), float("inf"), -1.0, "1", None])
def test_bad_beta_is_refused(mnist, beta):
    with pytest.raises(ValueError, match="beta must be a finite number >= 0"):
        fit(VAE(), mnist.x_train[:64], epochs=1, beta=beta, progress=False)


def test_bad_beta_from_a_schedule_names_the_step(mnist):
    with pytest.raises(ValueError, match="at step 3"):
        fit(VAE(), mnist.x_train[:640], steps=5, progress=False,
            beta=lambda step: float("nan") if step == 3 else 1.0)


def test_labels_only_with_a_conditional_model(mnist):
    with pytest.raises(ValueError, match="does not use labels"):
        fit(VAE(), mnist.x_train[:64], epochs=1, y_train=mnist.y_train[:64], progress=False)
    with pytest.raises(ValueError, match="does not use labels"):
        evaluate(VAE(), mnist.x_test[:64], y=mnist.y_test[:64])
