"""The validation layer (vae_utils._checks): each check on its own, and the promise it
makes to the whole package: the same mistake gives the same exception type and the same
message at every public entry point."""

import math

import numpy as np
import pytest
import torch

import vae_utils as vu
from vae_utils import _checks


def test_positive_int_takes_python_and_numpy_integers_only():
    assert _checks.positive_int(np.int64(3), "k") == 3 and type(_checks.positive_int(3, "k")) is int
    for bad in (0, -1, 2.5, True, "3", None):
        with pytest.raises(ValueError, match="k must be a positive integer"):
            _checks.positive_int(bad, "k")
    assert _checks.positive_int(0, "seed", minimum=0) == 0
    with pytest.raises(ValueError, match="seed must be an integer >= 0"):
        _checks.positive_int(-1, "seed", minimum=0)


def test_number_types_and_ranges():
    assert _checks.number(np.float32(0.5), "beta") == 0.5
    assert _checks.number(torch.tensor(2.0), "beta") == 2.0
    for bad in ("a", None, True, [1.0], torch.ones(2)):
        with pytest.raises(TypeError, match="beta must be a number"):
            _checks.number(bad, "beta")
    for bad in (math.nan, math.inf, -1.0):
        with pytest.raises(ValueError, match="beta must be a finite number >= 0"):
            _checks.number(bad, "beta")
    with pytest.raises(ValueError, match="sigma must be a finite number > 0"):
        _checks.number(0.0, "sigma", positive=True)


def test_images_names_the_fix():
    good = torch.rand(2, 1, 28, 28)
    _checks.images(good)
    cases = [
        (good.numpy(), TypeError, "torch.as_tensor"),
        ((good * 255).to(torch.uint8), TypeError, r"/ 255"),
        (good.view(2, 784), ValueError, r"view\(-1, 1, 28, 28\)"),
        (good[0], ValueError, r"unsqueeze\(0\)"),
        (good[:0], ValueError, "empty"),
        (good * 255, ValueError, "divide 0-255 pixels by 255"),
        (good - 1, ValueError, "Normalize"),
        (torch.full((1, 1, 28, 28), math.nan), ValueError, "NaN"),
    ]
    for x, error, words in cases:
        with pytest.raises(error, match=words):
            _checks.images(x)


def test_labels():
    _checks.labels(None, 3, None)
    _checks.labels(torch.tensor([0, 9, 3]), 3, 10)
    with pytest.raises(ValueError, match="does not use labels"):
        _checks.labels(torch.zeros(3, dtype=torch.int64), 3, None)
    with pytest.raises(ValueError, match="conditioned on the digit label: pass y="):
        _checks.labels(None, 3, 10)
    with pytest.raises(TypeError, match="integer class labels"):
        _checks.labels(torch.zeros(3), 3, 10)
    with pytest.raises(ValueError, match=r"y must have shape \(3,\)"):
        _checks.labels(torch.zeros(2, dtype=torch.int64), 3, 10)
    with pytest.raises(ValueError, match=r"labels must lie in 0..9; got values from 0 to 10"):
        _checks.labels(torch.tensor([0, 10, 1]), 3, 10)


def test_eval_mode_restores_the_mode_even_after_an_error():
    model = vu.VAE(latent_dim=2, hidden_dims=(8,)).train()
    with pytest.raises(RuntimeError):
        with _checks.eval_mode(model):
            assert not model.training
            raise RuntimeError
    assert model.training
    model.eval()
    with _checks.eval_mode(model):
        pass
    assert not model.training


# ------------------------------------------------ one mistake, one error, everywhere

_VAE = vu.VAE(latent_dim=2, hidden_dims=(8,))
_ENTRY_POINTS = {
    "fit": lambda x, y=None, **kw: vu.fit(_VAE, x, y_train=y, epochs=1, progress=False, **kw),
    "evaluate": lambda x, **kw: vu.evaluate(_VAE, x, **kw),
    "iwae_bound": lambda x, **kw: vu.iwae_bound(_VAE, x, 2, **kw),
    "active_units": lambda x, **kw: vu.active_units(_VAE, x, **kw),
    "anomaly_scores": lambda x, **kw: vu.anomaly_scores(_VAE, x, "kl", **kw),
}


def _error(call):
    """The exception's type and message; fit's argument is called x_train where the
    others' is x, so the name is read as x."""
    with pytest.raises(Exception) as info:
        call()
    return type(info.value), str(info.value).replace("x_train", "x").replace("y_train", "y")


@pytest.mark.parametrize("bad", [
    lambda x: x * 255,
    lambda x: x[:0],
    lambda x: x.numpy(),
    lambda x: (x * 255).to(torch.uint8),
    lambda x: x.view(-1, 784),
    lambda x: torch.where(x > 0.5, torch.tensor(math.nan), x),
], ids=["0-255", "empty", "numpy", "uint8", "flat", "nan"])
def test_bad_images_give_one_error_at_every_entry_point(bad):
    x = bad(torch.rand(4, 1, 28, 28))
    errors = {name: _error(lambda f=f: f(x)) for name, f in _ENTRY_POINTS.items()}
    assert len(set(errors.values())) == 1, errors


def test_labels_for_a_model_without_labels_give_one_error_at_every_entry_point():
    x, y = torch.rand(4, 1, 28, 28), torch.zeros(4, dtype=torch.int64)
    errors = {name: _error(lambda f=f: f(x, y=y)) for name, f in _ENTRY_POINTS.items()}
    errors["encode"] = _error(lambda: _VAE.encode(x, y))
    errors["sample"] = _error(lambda: _VAE.sample(4, y))
    assert len(set(errors.values())) == 1, errors
    assert next(iter(errors.values()))[0] is ValueError


def test_missing_labels_of_a_conditional_model_give_one_error():
    model = vu.ConditionalVAE(latent_dim=2, hidden_dims=(8,))
    x = torch.rand(4, 1, 28, 28)
    errors = {
        "evaluate": _error(lambda: vu.evaluate(model, x)),
        "iwae_bound": _error(lambda: vu.iwae_bound(model, x, 2)),
        "anomaly_scores": _error(lambda: vu.anomaly_scores(model, x, "kl")),
        "encode": _error(lambda: model.encode(x)),
        "sample": _error(lambda: model.sample(4)),
    }
    assert len(set(errors.values())) == 1, errors


@pytest.mark.parametrize("beta", ["a", None, math.nan, -1.0])
def test_a_bad_beta_gives_one_error(beta):
    x = torch.rand(4, 1, 28, 28)
    logits, mu, logvar = _VAE(x)
    fit_error = _error(lambda: vu.fit(_VAE, x, epochs=1, progress=False, beta=beta))
    evaluate_error = _error(lambda: vu.evaluate(_VAE, x, beta=beta))
    loss_error = _error(lambda: vu.elbo_loss(logits, x, mu, logvar, beta=beta))
    assert fit_error[0] is evaluate_error[0] is loss_error[0]
    assert evaluate_error[1] == loss_error[1] and fit_error[1].startswith(evaluate_error[1])


@pytest.mark.parametrize("kwargs", [{"likelihood": "poisson"}, {"likelihood": "gaussian", "sigma": 0},
                                    {"likelihood": "gaussian", "sigma": "1"}])
def test_a_bad_likelihood_gives_one_error(kwargs):
    x = torch.rand(4, 1, 28, 28)
    errors = {name: _error(lambda f=f: f(x, **kwargs)) for name, f in _ENTRY_POINTS.items()
              if name != "active_units"}
    assert len(set(errors.values())) == 1, errors
