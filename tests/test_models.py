"""Models and the reparameterisation trick."""

import numpy as np
import pytest
import torch
from torch import nn

from vae_utils.models import VAE, Autoencoder, reparameterize
from vae_utils.train import load_checkpoint, save_checkpoint


def test_gradients_reach_mu_and_logvar():
    mu = torch.tensor([[0.3, -1.2]], requires_grad=True)
    logvar = torch.tensor([[0.5, -2.0]], requires_grad=True)
    g = torch.Generator().manual_seed(3)
    z = reparameterize(mu, logvar, generator=g)
    eps = torch.randn(1, 2, generator=torch.Generator().manual_seed(3))
    z.sum().backward()
    # z = mu + exp(logvar / 2) * eps: dz/dmu = 1, dz/dlogvar = exp(logvar / 2) * eps / 2
    torch.testing.assert_close(mu.grad, torch.ones_like(mu))
    torch.testing.assert_close(logvar.grad, 0.5 * torch.exp(0.5 * logvar.detach()) * eps)
    assert (logvar.grad != 0).all()


def test_reparameterize_has_the_right_distribution():
    mu = torch.full((200_000, 1), 2.0)
    logvar = torch.full((200_000, 1), torch.log(torch.tensor(0.25)).item())
    z = reparameterize(mu, logvar)
    assert abs(z.mean().item() - 2.0) < 0.01
    assert abs(z.std().item() - 0.5) < 0.01  # std = exp(logvar / 2), not exp(logvar)


def test_reparameterize_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="same shape"):
        reparameterize(torch.zeros(2, 3), torch.zeros(2, 2))


def test_vae_shapes_and_linear_heads():
    model = VAE(latent_dim=7, hidden_dims=(64, 32))
    x = torch.rand(5, 1, 28, 28)
    logits, mu, logvar = model(x)
    assert logits.shape == (5, 1, 28, 28) and mu.shape == logvar.shape == (5, 7)
    assert isinstance(model.fc_mu, nn.Linear) and isinstance(model.fc_logvar, nn.Linear)
    # No activation on the heads: each head's output is exactly the linear map of the hidden layer.
    h = model.encoder(x.flatten(1))
    torch.testing.assert_close(mu, model.fc_mu(h))
    torch.testing.assert_close(logvar, model.fc_logvar(h))
    assert model.encode(x.view(5, 784))[0].shape == (5, 7)


def test_default_vae_is_784_400_20():
    model = VAE()
    assert model.latent_dim == 20
    assert model.fc_mu.in_features == 400 and model.decoder[-1].out_features == 784
    n_params = sum(p.numel() for p in model.parameters())
    assert n_params == (784 * 400 + 400) + 2 * (400 * 20 + 20) + (20 * 400 + 400) + (400 * 784 + 784)


def test_forward_samples_in_eval_mode_too():
    model = VAE(latent_dim=4).eval()
    x = torch.rand(3, 1, 28, 28)
    a, _, _ = model(x)
    b, _, _ = model(x)
    assert not torch.allclose(a, b)
    torch.testing.assert_close(model.reconstruct(x), model.reconstruct(x))  # the mean: fixed


def test_sample_and_temperature():
    model = VAE(latent_dim=3)
    s = model.sample(10)
    assert s.shape == (10, 1, 28, 28) and 0 <= s.min() and s.max() <= 1
    cold = model.sample(4, temperature=0.0)
    torch.testing.assert_close(cold, cold[:1].expand_as(cold))  # z = 0 for every sample
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    torch.testing.assert_close(model.sample(2, generator=g1), model.sample(2, generator=g2))


def test_autoencoder_shapes():
    model = Autoencoder(latent_dim=2)
    logits, z = model(torch.rand(4, 1, 28, 28))
    assert logits.shape == (4, 1, 28, 28) and z.shape == (4, 2)


@pytest.mark.parametrize("cls", [VAE, Autoencoder])
def test_bad_sizes_and_inputs(cls):
    with pytest.raises(ValueError, match="latent_dim"):
        cls(latent_dim=0)
    with pytest.raises(ValueError, match="hidden_dims"):
        cls(hidden_dims=(400, -1))
    with pytest.raises(ValueError, match="unsqueeze"):
        cls().encode(torch.rand(1, 28, 28)[0])
    with pytest.raises(ValueError, match=r"\(B, 1, 28, 28\)"):
        cls()(torch.rand(2, 3, 32, 32))


def test_vae_decode_rejects_wrong_latent_size():
    with pytest.raises(ValueError, match=r"\(B, 20\)"):
        VAE().decode(torch.zeros(2, 3))


# ---------------------------------------------------------------- bad input
# Bad input: each hostile input either gives the correct result or an error of the
# documented type whose message says what was wrong and how to fix it.


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
