"""What lesson 03 (the KL term and the ELBO) says about its own outputs.

Each pair is (a short quote of the sentence, an expression over the lesson's variables that
must be true after its last cell, at both data sizes). Numbers the prose reports are rendered
from the run; these are the qualitative statements around them.
"""

CLAIMS = [
    # section 1: the toy model (float64, no data)
    ("The last two columns agree to every printed digit: the gap *is* KL(q || p(z|x))",
     "max(abs(gap - kl) for gap, kl in gaps.values()) < 1e-9"),
    ("it is zero only when q is the true posterior",
     "gaps['q = true posterior'][0] < 1e-9 and "
     "min(gap for name, (gap, kl) in gaps.items() if name != 'q = true posterior') > 0.1"),
    ("the mean of the log weights ... is the ELBO, far below",
     "abs(elbo_estimate - elbo_off) < 0.05 and elbo_estimate < is_estimate - 1"),
    ("one estimate can land on either side [of log p(x)] ... N standard deviations from log p(x)",
     "abs(is_gap) < 4 * is_sd"),
    # section 2: the closed-form KL
    ("The closed form and `torch.distributions` agree to rounding error",
     "torch.allclose(kl_ours, kl_reference, rtol=0, atol=1e-12)"),
    ("the Monte Carlo estimates scatter around the same value",
     "rmse[-1] < 0.05 * kl_exact"),
    ("the error falls on a straight line of slope -1/2",
     "-0.6 < slope < -0.4"),
    # section 3: the likelihoods
    ("bernoulli_nll, -Bernoulli.log_prob and the formula by hand give the same numbers",
     "torch.allclose(nll_ours, nll_reference) and torch.allclose(nll_ours, nll_by_hand)"),
    ("`gaussian_nll - SSE/(2 sigma^2)` is the same number for every image and equals the constant",
     "all(torch.allclose(const, torch.full_like(const, expected), atol=1e-6) and matches "
     "for const, expected, matches in gauss_check.values())"),
    # section 4: the hidden beta
    ("Two of the five are the ELBO ... beta = 784 ... 784/D ... 1/B",
     "all(abs(beta_eff[name] - want) < 1e-6 * max(1.0, want) for name, want in zip(beta_eff, "
     "[1.0, 1.0, 784.0, 784.0 / D, 1.0 / B]))"),
    ("with the default eps the 'mean' run is close to beta = 784, but not the same steps; the real "
     "ELBO goes elsewhere, farther than any parameter moved",
     "0.02 * moved[1e-8] < diff[1e-8]['beta=784'] < diff[1e-8]['beta=1'] / 2 "
     "and diff[1e-8]['beta=1'] > moved[1e-8]"),
    ("With eps = 1e-12 the difference to beta = 784 shrinks N-fold ... while the ELBO run stays away",
     "diff[1e-12]['beta=784'] < diff[1e-8]['beta=784'] / 10 "
     "and diff[1e-12]['beta=784'] < moved[1e-12] / 20 and diff[1e-12]['beta=1'] > moved[1e-12]"),
    ("With beta = 784 the KL stays at (almost) zero from the first measurement on",
     "max(kl_784) < 0.1 and final[784.0]['kl'] < 0.1 and final[1.0]['kl'] > 5"),
    ("every reconstruction is the same blurry 'average digit' (spread about 1/N of beta = 1's)",
     "spread[784.0] < spread[1.0] / 20"),
    ("Its samples vary far less too",
     "sample_spread[784.0] < sample_spread[1.0] / 2"),
    ("With beta = 1 the KL grows over training, from the first measurement to the last",
     "kl_1[-1] > kl_1[0] + 3"),
    ("The collapsed model is worse by the true ELBO too: its reconstruction costs more, and the KL "
     "it saved cannot pay for that",
     "final[1.0]['recon'] < final[784.0]['recon'] - 20 and final[1.0]['loss'] < final[784.0]['loss']"),
    # section 5: sigma
    ("Left of the break-even sigma this code pays for itself; F.mse_loss + KL sits far to the right",
     "sse_code < sse_mean and 0.05 < sigma_star < math.sqrt(392) / 5"),
    ("under F.mse_loss + KL even a perfect reconstruction saves less than a tenth of a nat",
     "sse_mean / 784 < 0.1"),
]
