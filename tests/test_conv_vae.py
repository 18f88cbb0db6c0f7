"""The convolutional VAE: shapes layer by layer, gradients, checkpoints, training, errors."""

import pytest
import torch

import vae_utils as vu
from vae_utils.conv_vae import ConvVAE


@pytest.fixture
def model():
    torch.manual_seed(0)
    return ConvVAE(latent_dim=6, channels=(4, 8))


def test_is_a_vae_exported_at_the_top_level(model):
    assert vu.ConvVAE is ConvVAE
    # a VAE of the course: it inherits forward, sample, reconstruct, loss_terms and
    # log_weights from the base, and defines only its networks
    assert isinstance(model, vu.GaussianVAE) and not model.conditional
    for name in ("forward", "sample", "reconstruct", "loss_terms", "log_weights"):
        assert name not in vars(ConvVAE) and getattr(ConvVAE, name) is getattr(vu.GaussianVAE, name)


def test_shapes_of_every_layer(model):
    x = torch.rand(5, 1, 28, 28)
    h = x
    shapes = []
    for layer in model.encoder:
        h = layer(h)
        shapes.append(tuple(h.shape))
    assert shapes == [(5, 4, 14, 14), (5, 4, 14, 14), (5, 8, 7, 7), (5, 8, 7, 7), (5, 8 * 49)]
    z = torch.randn(5, 6)
    h = z
    shapes = []
    for layer in model.decoder:
        h = layer(h)
        shapes.append(tuple(h.shape))
    assert shapes == [(5, 392), (5, 392), (5, 8, 7, 7), (5, 4, 14, 14), (5, 4, 14, 14),
                      (5, 1, 28, 28)]


def test_encode_decode_forward_sample_reconstruct_shapes(model):
    x = torch.rand(3, 1, 28, 28)
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (3, 6)
    torch.testing.assert_close(model.encode(x.flatten(1))[0], mu)  # (B, 784) works too
    logits, mu2, logvar2 = model(x)
    assert logits.shape == (3, 1, 28, 28) and mu2.shape == (3, 6)
    torch.testing.assert_close(mu2, mu)
    samples = model.sample(4, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (4, 1, 28, 28) and 0 <= samples.min() and samples.max() <= 1
    torch.testing.assert_close(samples, model.sample(4, generator=torch.Generator().manual_seed(0)))
    recon = model.reconstruct(x)
    torch.testing.assert_close(recon, torch.sigmoid(model.decode(mu)))


def test_gradients_reach_every_parameter(model):
    x = torch.rand(4, 1, 28, 28)
    logits, mu, logvar = model(x)
    vu.elbo_loss(logits, x, mu, logvar).loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_parameter_count_matches_the_architecture(model):
    c1, c2, d = 4, 8, 6
    expected = ((1 * 16 + 1) * c1 + (c1 * 16 + 1) * c2 + 2 * (c2 * 49 + 1) * d
                + (d + 1) * c2 * 49 + (c2 * 16 + 1) * c1 + (c1 * 16 + 1) * 1)
    assert sum(p.numel() for p in model.parameters()) == expected


def test_checkpoint_round_trip_without_a_model(model, tmp_path):
    history = vu.History(epoch=[1], step=[10], train_loss=[1.0], train_recon=[1.0],
                         train_kl=[0.0], test_loss=[2.0], test_recon=[2.0], test_kl=[0.0],
                         seconds=[0.1])
    path = vu.save_checkpoint(tmp_path / "conv.pt", model, history)
    loaded, hist = vu.load_checkpoint(path)
    assert type(loaded) is ConvVAE
    assert loaded.config() == {"latent_dim": 6, "channels": [4, 8]}
    assert hist.step == [10]
    x = torch.rand(2, 1, 28, 28)
    z = torch.randn(2, 6)
    torch.testing.assert_close(loaded.encode(x), model.encode(x))
    torch.testing.assert_close(loaded.decode(z), model.decode(z))
    with pytest.raises(ValueError, match="holds a ConvVAE, not a VAE"):
        vu.load_checkpoint(path, vu.VAE(latent_dim=6))


def test_the_loss_falls_on_the_offline_digits(mnist):
    torch.manual_seed(0)
    model = ConvVAE(latent_dim=8, channels=(8, 16))
    x_train, x_test = mnist.x_train[:1000], mnist.x_test[:200]
    before = vu.evaluate(model, x_test)["loss"]
    history = vu.fit(model, x_train, x_test, steps=80, eval_every=40, batch_size=64,
                     lr=2e-3, device="cpu", progress=False)
    assert history.step == [40, 80]
    assert history.test_loss[-1] < before - 150, (before, history.test_loss)
    assert history.test_loss[-1] < history.test_loss[0]
    bound = vu.iwae_bound(model, x_test[:20], 10)
    assert bound.shape == (20,) and torch.isfinite(bound).all() and (bound < 0).all()


def test_bad_input_gets_a_clear_error(model):
    with pytest.raises(ValueError, match="shape"):
        model.encode(torch.rand(2, 3, 28, 28))
    with pytest.raises(ValueError, match="unsqueeze"):
        model.encode(torch.rand(28, 28))
    with pytest.raises(TypeError, match="float"):
        model.encode(torch.zeros(2, 1, 28, 28, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"z must have shape \(B, 6\)"):
        model.decode(torch.randn(2, 5))
    with pytest.raises(ValueError, match="does not use labels"):
        vu.evaluate(model, torch.rand(4, 1, 28, 28), y=torch.zeros(4, dtype=torch.int64))
    for bad in [(16,), (16, 0), (16, 32, 64)]:
        with pytest.raises(ValueError, match="channels"):
            ConvVAE(latent_dim=4, channels=bad)
    with pytest.raises(TypeError, match="channels"):  # as hidden_dims=(400.0,) does
        ConvVAE(latent_dim=4, channels=(16.0, 32))
    with pytest.raises(ValueError, match="latent_dim"):
        ConvVAE(latent_dim=0)


def test_constructor_and_inputs_name_the_fix(model):
    with pytest.raises(TypeError, match=r"channels must be two integers \(C1, C2\)"):
        ConvVAE(16, 32)  # channels is a pair, not one number
    with pytest.raises(TypeError, match="torch.as_tensor"):
        model.encode(torch.rand(2, 1, 28, 28).numpy())
    with pytest.raises(TypeError, match=r"x.to\(torch.float32\)"):
        model.encode(torch.rand(2, 1, 28, 28, dtype=torch.float64))
    with pytest.raises(TypeError, match="floating-point"):
        model.decode(torch.zeros(2, model.latent_dim, dtype=torch.int64))
