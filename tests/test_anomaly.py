"""``vu.anomaly_scores`` and ``vu.auroc``: each score against its definition, a trained VAE
that tells noise from digits, invariance to batch size, and clear errors for bad input."""

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

import vae_utils as vu
from vae_utils.anomaly import SCORES, anomaly_scores, auroc
from vae_utils.data import binarize
from vae_utils.losses import bernoulli_nll, kl_to_standard_normal


@pytest.fixture(scope="module")
def trained(mnist):
    """A small VAE trained briefly on the binarised offline digits, and binarised test digits."""
    torch.manual_seed(0)
    model = vu.VAE(latent_dim=8, hidden_dims=(200,))
    vu.fit(model, mnist.x_train, steps=600, dynamic_binarize=True, progress=False, device="cpu")
    x_test = binarize(mnist.x_test, "dynamic", generator=torch.Generator().manual_seed(0))
    return model.eval(), x_test


def _untrained(latent_dim=3):
    torch.manual_seed(1)
    return vu.VAE(latent_dim=latent_dim, hidden_dims=(32,)).eval()


def _images(n, seed=0):
    return torch.bernoulli(torch.full((n, 1, 28, 28), 0.2),
                           generator=torch.Generator().manual_seed(seed))


# ------------------------------------------------------------- each score is right


def test_kl_score_is_the_closed_form_kl_of_the_encoder_output():
    model, x = _untrained(), _images(7)
    with torch.no_grad():
        mu, logvar = model.encode(x)
    expected = kl_to_standard_normal(mu, logvar)
    torch.testing.assert_close(anomaly_scores(model, x, "kl"), expected, rtol=1e-5, atol=1e-5)
    # and against torch.distributions, an independent reference
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    reference = torch.distributions.kl_divergence(q, p).sum(1)
    torch.testing.assert_close(anomaly_scores(model, x, "kl"), reference, rtol=1e-4, atol=1e-4)


def test_recon_score_is_the_mean_bernoulli_nll_over_the_same_codes():
    """Recompute recon with the library's losses and an explicit Monte Carlo average: with
    a huge k the estimate must match an independent estimate within the Monte Carlo error."""
    model, x = _untrained(), _images(4)
    k = 4000
    got = anomaly_scores(model, x, "recon", k=k, seed=3)
    with torch.no_grad():
        mu, logvar = model.encode(x)
        g = torch.Generator().manual_seed(123)
        eps = torch.randn((k, *mu.shape), generator=g)
        z = mu + torch.exp(0.5 * logvar) * eps  # (k, B, D)
        # the k draws decoded in one batch: a loop of 4,000 small decodes takes seconds
        nll = bernoulli_nll(model.decode(z.reshape(k * len(x), -1)),
                            x.repeat(k, 1, 1, 1)).view(k, len(x))  # (k, B)
    expected, se = nll.mean(0), nll.std(0) / math.sqrt(k)
    assert torch.all((got - expected).abs() < 5 * se + 1e-3), (got, expected, se)


def test_recon_with_a_zero_variance_encoder_is_the_nll_of_the_decoded_mean():
    """With logvar -> -inf every code is mu: recon must be exactly bernoulli_nll(decode(mu))."""
    model, x = _untrained(), _images(5)
    with torch.no_grad():
        model.fc_logvar.weight.zero_()
        model.fc_logvar.bias.fill_(-60.0)
        mu, _ = model.encode(x)
        expected = bernoulli_nll(model.decode(mu), x)
    got = anomaly_scores(model, x, "recon", k=3)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-4)


def test_neg_elbo_is_recon_plus_kl_and_all_scores_come_from_one_call():
    model, x = _untrained(), _images(6)
    both = anomaly_scores(model, x, SCORES, k=16, seed=5)
    assert set(both) == set(SCORES)
    torch.testing.assert_close(both["neg_elbo"], both["recon"] + both["kl"], rtol=1e-6, atol=1e-4)
    for s in ("kl", "recon", "neg_elbo"):  # the same numbers as asking for one score
        torch.testing.assert_close(anomaly_scores(model, x, s, k=16, seed=5), both[s])
    for s in SCORES:
        assert both[s].shape == (6,) and both[s].dtype == torch.float32 and both[s].device.type == "cpu"


def test_neg_elbo_mean_matches_evaluate():
    """vu.evaluate's loss is the one-sample negative ELBO averaged over the images."""
    model, x = _untrained(), _images(200)
    torch.manual_seed(0)
    ours = float(anomaly_scores(model, x, "neg_elbo", k=64).mean())
    theirs = np.mean([vu.evaluate(model, x)["loss"] for _ in range(20)])
    assert abs(ours - theirs) < 0.01 * abs(theirs)


def test_neg_iwae_is_minus_iwae_bound_and_below_neg_elbo(trained):
    model, x_test = trained
    x = x_test[:50]
    got = anomaly_scores(model, x, "neg_iwae", k=64, seed=4)
    generator = torch.Generator().manual_seed(4)
    torch.testing.assert_close(got, -vu.iwae_bound(model, x, 64, generator=generator))
    # L_k >= ELBO in expectation (Burda et al. 2016, Theorem 1): on average over 50 images
    # and k = 64 draws, -L_k is clearly below the negative ELBO
    neg_elbo = anomaly_scores(model, x, "neg_elbo", k=64, seed=4)
    assert float(got.mean()) < float(neg_elbo.mean()) - 0.5


# -------------------------------------------------------- properties of the scores


@pytest.mark.parametrize("score", SCORES)
def test_scores_do_not_depend_on_the_batch_size(score):
    model, x = _untrained(), _images(2100, seed=2)  # more than two noise blocks of 1,024
    whole = anomaly_scores(model, x, score, k=4, batch_size=2100)
    for batch_size in (7, 500, 1000):
        torch.testing.assert_close(anomaly_scores(model, x, score, k=4, batch_size=batch_size),
                                   whole, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("score", ("recon", "neg_elbo"))
def test_an_image_gets_the_same_noise_across_a_block_boundary_whatever_the_batching(score):
    model, x = _untrained(), _images(1030, seed=6)
    a = anomaly_scores(model, x, score, k=3, batch_size=1)
    b = anomaly_scores(model, x, score, k=3, batch_size=1030)
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-4)


def test_scores_are_reproducible_and_change_with_the_seed():
    model, x = _untrained(), _images(20)
    a = anomaly_scores(model, x, ("recon", "neg_iwae"), k=8, seed=0)
    b = anomaly_scores(model, x, ("recon", "neg_iwae"), k=8, seed=0)
    c = anomaly_scores(model, x, ("recon", "neg_iwae"), k=8, seed=1)
    for s in a:
        assert torch.equal(a[s], b[s]) and not torch.equal(a[s], c[s])


def test_model_mode_is_restored_and_memory_is_bounded_for_10000_images():
    model = _untrained()
    model.train()
    x = torch.zeros(10_000, 1, 28, 28)
    x[:, :, 10:18, 12:16] = 1.0
    scores = anomaly_scores(model, x, "neg_elbo", k=2)
    assert model.training and scores.shape == (10_000,) and torch.isfinite(scores).all()


def test_trained_vae_scores_uniform_noise_above_test_digits(trained):
    """AUROC of uniform noise vs test digits above 0.95 on the offline digits."""
    model, x_test = trained
    noise = binarize(torch.rand(500, 1, 28, 28, generator=torch.Generator().manual_seed(0)),
                     "dynamic", generator=torch.Generator().manual_seed(1))
    for score in SCORES:
        s_in = anomaly_scores(model, x_test[:500], score, k=16)
        s_out = anomaly_scores(model, noise, score, k=16)
        assert auroc(s_in, s_out) > 0.95, score
        assert float(s_out.median()) > float(s_in.median())


def test_conditional_models_need_their_labels():
    class Conditional(vu.VAE):
        """The plain VAE's networks, but a model that needs (and checks) its labels."""

        num_classes = 10

    torch.manual_seed(0)
    model = Conditional(latent_dim=2, hidden_dims=(16,)).eval()
    x, y = _images(5), torch.arange(5)
    with pytest.raises(ValueError, match="pass y="):
        anomaly_scores(model, x, "neg_elbo")
    got = anomaly_scores(model, x, SCORES, y=y, k=4)
    plain = vu.VAE(latent_dim=2, hidden_dims=(16,))
    plain.load_state_dict(model.state_dict())
    expected = anomaly_scores(plain.eval(), x, SCORES, k=4)
    for s in ("kl", "recon", "neg_elbo"):
        torch.testing.assert_close(got[s], expected[s])


# ----------------------------------------------------------------------- bad input


@pytest.mark.parametrize("x, error, words", [
    (np.zeros((2, 1, 28, 28), dtype=np.float32), TypeError, "torch.as_tensor"),
    (torch.zeros(2, 1, 28, 28, dtype=torch.uint8), TypeError, "/ 255"),
    (torch.zeros(1, 28, 28), ValueError, "unsqueeze"),
    (torch.zeros(2, 784), ValueError, "(N, 1, 28, 28)"),
    (torch.zeros(0, 1, 28, 28), ValueError, "no images"),
    (torch.full((2, 1, 28, 28), -0.5), ValueError, "Normalize"),
    (torch.full((2, 1, 28, 28), 255.0), ValueError, "[0, 1]"),
    (torch.full((2, 1, 28, 28), float("nan")), ValueError, "[0, 1]"),
])
def test_bad_images_are_refused_with_the_fix(x, error, words):
    with pytest.raises(error) as info:
        anomaly_scores(_untrained(), x, "kl")
    assert words in str(info.value)


def test_bad_arguments_are_refused():
    model, x = _untrained(), _images(2)
    with pytest.raises(ValueError, match="score must be one of"):
        anomaly_scores(model, x, "elbo")
    with pytest.raises(ValueError, match="score must be one of"):
        anomaly_scores(model, x, ())
    for name, value in (("k", 0), ("k", 2.5), ("batch_size", 0), ("seed", -1), ("k", True)):
        with pytest.raises(ValueError, match=name):
            anomaly_scores(model, x, "neg_elbo", **{name: value})
    with pytest.raises(TypeError, match="Autoencoder"):
        anomaly_scores(vu.Autoencoder(latent_dim=2), x, "kl")
    with pytest.raises(TypeError, match="VAE"):
        anomaly_scores(torch.nn.Linear(3, 3), x, "kl")
    with pytest.raises(ValueError, match="does not use labels"):
        anomaly_scores(model, x, "kl", y=torch.zeros(2, dtype=torch.int64))


# ----------------------------------------------------------------------------- auroc


def test_auroc_matches_sklearn_and_counts_ties_one_half():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=40).round(1), rng.normal(0.7, 1, size=30).round(1)
    expected = roc_auc_score(np.r_[np.zeros(40), np.ones(30)], np.r_[a, b])
    assert auroc(torch.tensor(a), torch.tensor(b)) == pytest.approx(expected)
    pairs = (b[:, None] > a[None]).mean() + 0.5 * (b[:, None] == a[None]).mean()
    assert auroc(a, b) == pytest.approx(pairs)
    assert auroc([1.0, 2.0, 3.0], [2.0, 4.0]) == pytest.approx(4.5 / 6)  # one tie, 4 wins
    assert auroc([0.0, 1.0], [2.0, 3.0]) == 1.0 and auroc([2.0, 3.0], [0.0, 1.0]) == 0.0


def test_auroc_refuses_empty_or_non_finite_scores():
    with pytest.raises(ValueError, match="both sets"):
        auroc([], [1.0])
    with pytest.raises(ValueError, match="finite"):
        auroc([1.0, float("nan")], [1.0])
