"""The conditional VAE: shapes, the one-hot label in both networks, gradients,
checkpoints, training with labels, samples that honour the label, errors."""

import pytest
import torch
import torch.nn.functional as F

import vae_utils as vu
from vae_utils.conditional_vae import ConditionalVAE


@pytest.fixture
def model():
    torch.manual_seed(0)
    return ConditionalVAE(latent_dim=3, hidden_dims=(32,))


@pytest.fixture(scope="module")
def trained(mnist):
    """A small conditional VAE trained briefly on the offline digits, and its history."""
    torch.manual_seed(0)
    model = ConditionalVAE(latent_dim=2, hidden_dims=(128,))
    history = vu.fit(model, mnist.x_train[:2000], mnist.x_test[:300], steps=300, eval_every=100,
                     y_train=mnist.y_train[:2000], y_test=mnist.y_test[:300], lr=2e-3,
                     device="cpu", progress=False)
    return model, history


def test_is_a_conditional_vae_exported_at_the_top_level(model):
    assert vu.ConditionalVAE is ConditionalVAE
    assert isinstance(model, vu.GaussianVAE)
    assert model.conditional is True and model.num_classes == 10
    for name in ("forward", "sample", "reconstruct", "loss_terms", "log_weights"):
        assert name not in vars(ConditionalVAE)
        assert getattr(ConditionalVAE, name) is getattr(vu.GaussianVAE, name)


def test_shapes(model):
    x, y = torch.rand(4, 1, 28, 28), torch.tensor([0, 3, 9, 3])
    mu, logvar = model.encode(x, y)
    assert mu.shape == logvar.shape == (4, 3)
    assert model.encoder[0].in_features == 784 + 10 and model.decoder[0].in_features == 3 + 10
    logits, mu2, _ = model(x, y)
    assert logits.shape == (4, 1, 28, 28)
    torch.testing.assert_close(mu2, mu)
    assert model.decode(torch.randn(4, 3), y).shape == (4, 1, 28, 28)
    assert model.sample(5, 7).shape == (5, 1, 28, 28)
    recon = model.reconstruct(x, y)
    torch.testing.assert_close(recon, torch.sigmoid(model.decode(mu, y)))


def test_the_label_is_one_hot_after_z_and_after_x(model):
    """decode(z, y) is the decoder on [z, one_hot(y)]; encode on [x, one_hot(y)]: the
    layout of the notebook's exercise."""
    z, y = torch.randn(6, 3), torch.tensor([0, 1, 2, 7, 8, 9])
    expected = model.decoder(torch.cat((z, F.one_hot(y, 10).float()), 1)).view(6, 1, 28, 28)
    torch.testing.assert_close(model.decode(z, y), expected)
    x = torch.rand(6, 1, 28, 28)
    h = model.encoder(torch.cat((x.flatten(1), F.one_hot(y, 10).float()), 1))
    torch.testing.assert_close(model.encode(x, y)[0], model.fc_mu(h))
    # one int stands for the same label on every row
    torch.testing.assert_close(model.decode(z, 4), model.decode(z, torch.full((6,), 4)))


def test_the_label_changes_the_output(model):
    z = torch.randn(3, 3)
    assert not torch.allclose(model.decode(z, 1), model.decode(z, 2))
    x = torch.rand(3, 1, 28, 28)
    assert not torch.allclose(model.encode(x, 1)[0], model.encode(x, 2)[0])


def test_gradients_reach_every_parameter(model):
    x, y = torch.rand(4, 1, 28, 28), torch.tensor([1, 2, 3, 4])
    logits, mu, logvar = model(x, y)
    vu.elbo_loss(logits, x, mu, logvar).loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_checkpoint_round_trip_without_a_model(tmp_path):
    torch.manual_seed(0)
    model = ConditionalVAE(latent_dim=4, hidden_dims=(16, 8), num_classes=5)
    path = vu.save_checkpoint(tmp_path / "cvae.pt", model)
    loaded, history = vu.load_checkpoint(path)
    assert type(loaded) is ConditionalVAE and history is None
    assert loaded.config() == {"latent_dim": 4, "hidden_dims": [16, 8], "num_classes": 5}
    x, y, z = torch.rand(3, 1, 28, 28), torch.tensor([0, 4, 2]), torch.randn(3, 4)
    torch.testing.assert_close(loaded.encode(x, y), model.encode(x, y))
    torch.testing.assert_close(loaded.decode(z, y), model.decode(z, y))


def test_the_loss_falls_on_the_offline_digits(trained, mnist):
    model, history = trained
    assert history.step == [100, 200, 300]
    untrained = ConditionalVAE(latent_dim=2, hidden_dims=(128,))
    before = vu.evaluate(untrained, mnist.x_test[:300], y=mnist.y_test[:300])["loss"]
    assert history.test_loss[-1] < history.test_loss[0] < before - 200
    after = vu.evaluate(model, mnist.x_test[:300], y=mnist.y_test[:300])
    assert after["loss"] < before - 200
    bound = vu.iwae_bound(model, mnist.x_test[:20], 20, y=mnist.y_test[:20])
    assert bound.shape == (20,) and torch.isfinite(bound).all()


def _batch_mean(model, n, label, seed):
    return model.sample(n, label, generator=torch.Generator().manual_seed(seed)).mean(0)


def test_samples_honour_the_label(trained):
    """Classifier-free: the mean sample of two different labels differ far more than the
    mean samples of two independent batches with the same label."""
    model, _ = trained
    for a, b in [(0, 1), (3, 8), (4, 9), (7, 2)]:
        same = (_batch_mean(model, 200, a, 1) - _batch_mean(model, 200, a, 2)).norm()
        different = (_batch_mean(model, 200, a, 1) - _batch_mean(model, 200, b, 3)).norm()
        assert different > 3 * same, (a, b, float(different), float(same))
    # the same generator and labels give the same images; a labels tensor works per row
    torch.testing.assert_close(model.sample(4, 5, generator=torch.Generator().manual_seed(0)),
                               model.sample(4, 5, generator=torch.Generator().manual_seed(0)))
    mixed = model.sample(2, torch.tensor([0, 1]), generator=torch.Generator().manual_seed(0))
    zeros = model.sample(2, 0, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(mixed[0], zeros[0])
    assert not torch.allclose(mixed[1], zeros[1])


def test_bad_input_gets_a_clear_error(model):
    x, y = torch.rand(3, 1, 28, 28), torch.tensor([0, 1, 2])
    with pytest.raises(ValueError, match="conditioned on the digit label"):
        model.encode(x)
    with pytest.raises(ValueError, match="conditioned on the digit label"):
        model(x)
    with pytest.raises(ValueError, match="conditioned on the digit label"):
        model.sample(4)
    with pytest.raises(ValueError, match=r"labels must lie in 0..9; got values from 0 to 10"):
        model.decode(torch.randn(3, 3), torch.tensor([0, 10, 2]))
    with pytest.raises(ValueError, match="labels must lie in 0..9"):
        model.sample(2, -1)
    with pytest.raises(ValueError, match=r"y must have shape \(3,\)"):
        model.encode(x, torch.tensor([0, 1]))
    with pytest.raises(TypeError, match="integer class labels"):
        model.encode(x, torch.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match="shape"):
        model.encode(torch.rand(3, 1, 14, 14), y)
    with pytest.raises(ValueError, match=r"z must have shape \(B, 3\)"):
        model.decode(torch.randn(3, 2), y)
    with pytest.raises(ValueError, match="num_classes"):
        ConditionalVAE(num_classes=1)


def test_fit_evaluate_and_iwae_bound_demand_labels(model):
    x = torch.rand(8, 1, 28, 28)
    with pytest.raises(ValueError, match="y_train="):
        vu.fit(model, x, steps=1, progress=False)
    with pytest.raises(ValueError, match="0..9"):
        vu.fit(model, x, steps=1, y_train=torch.full((8,), 10), progress=False)
    with pytest.raises(ValueError, match="pass y="):
        vu.evaluate(model, x)
    with pytest.raises(ValueError, match="pass y="):
        vu.iwae_bound(model, x, 2)


def test_dtype_and_type_errors_name_the_fix(model):
    x, y = torch.rand(3, 1, 28, 28), torch.tensor([0, 1, 2])
    with pytest.raises(TypeError, match=r"x.to\(torch.float32\)"):
        model.encode(x.double(), y)
    with pytest.raises(TypeError, match="torch.as_tensor"):
        model.encode(x.numpy(), y)
    with pytest.raises(TypeError, match="floating-point"):
        model.decode(torch.zeros(3, model.latent_dim, dtype=torch.int64), y)
    with pytest.raises(TypeError, match=r"hidden_dims=\(400,\)"):
        ConditionalVAE(2, 400)
