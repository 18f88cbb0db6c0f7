"""Exercises of notebook 03 · The KL term and the ELBO: its checkers and its questions."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..losses import elbo_loss, kl_to_standard_normal
from .checking import Case, CheckResult, Mistake, fresh_generator, run_check
from .questions import Question, register_questions


# ------------------------------------------------------------------------------ 03: KL


def _kl_cases() -> list[Case]:
    g = torch.Generator().manual_seed(4)
    return [
        Case("mu = 0, logvar = 0: q equals the prior, KL = 0", (torch.zeros(2, 3), torch.zeros(2, 3))),
        Case("random mu and logvar, B=4, D=3", (torch.randn(4, 3, generator=g),
                                               torch.randn(4, 3, generator=g))),
        Case("mu = 0, logvar = 0 except one entry: only the variance term",
             (torch.zeros(1, 4), torch.tensor([[0.0, 0.0, 2.0, 0.0]]))),
        Case("large and small variances (logvar = -6 and 4), B=2, D=5",
             (torch.randn(2, 5, generator=g), torch.tensor([[-6.0] * 5, [4.0] * 5]))),
        Case("one example, one dimension (B=1, D=1)", (torch.tensor([[1.5]]), torch.tensor([[-0.5]]))),
        Case("the course's size: B=8, D=20", (torch.randn(8, 20, generator=g),
                                              torch.randn(8, 20, generator=g))),
    ]


_KL_MISTAKES = [
    Mistake("mean_all", "you averaged over everything (torch.mean without dim): return one KL "
            "per example, shape (B,), the SUM over its latent dimensions.",
            wrong=lambda mu, lv: kl_to_standard_normal(mu, lv).mean() / mu.shape[1]),
    Mistake("batch_mean", "return one KL per example, shape (B,): sum over the latent "
            "dimensions only (dim=1), don't average over the batch here.",
            wrong=lambda mu, lv: kl_to_standard_normal(mu, lv).mean()),
    Mistake("batch_sum", "return one KL per example, shape (B,): sum over dim=1 only, not over "
            "the whole tensor.", wrong=lambda mu, lv: kl_to_standard_normal(mu, lv).sum()),
    Mistake("wrong_sign", "wrong sign: your values are the negative of the KL, and a KL "
            "divergence is never negative. Check the sign in front of the sum.",
            wrong=lambda mu, lv: -kl_to_standard_normal(mu, lv)),
    Mistake("missing_half", "your values are twice the reference: a factor 1/2 is missing "
            "in front of the sum.", wrong=lambda mu, lv: 2 * kl_to_standard_normal(mu, lv)),
    Mistake("mean_reduction", "your values are the reference divided by D: you took the mean "
            "over the latent dimensions. The KL of independent dimensions is their SUM.",
            wrong=lambda mu, lv: kl_to_standard_normal(mu, lv) / mu.shape[1]),
    Mistake("forgot_exp", "you forgot an exp: the last term of the closed form is the "
            "variance sigma^2, and logvar is its log.",
            wrong=lambda mu, lv: -0.5 * torch.sum(1 + lv - mu.pow(2) - lv, dim=1)),
    Mistake("logvar_as_log_sigma", "you treated logvar as log sigma (log standard deviation). "
            "Here logvar = log sigma^2 is the log-variance, so sigma^2 = exp(logvar) and "
            "log sigma^2 = logvar (no factor 2).",
            wrong=lambda mu, lv: -0.5 * torch.sum(1 + 2 * lv - mu.pow(2) - torch.exp(2 * lv),
                                                  dim=1)),
    Mistake("sigma_as_logvar", "you used sigma where the formula needs the log-variance: the "
            "closed form is written in log sigma^2 and sigma^2, not in sigma, so do not take "
            "a square root first.",
            wrong=lambda mu, lv: -0.5 * torch.sum(1 + torch.exp(0.5 * lv) - mu.pow(2)
                                                  - lv.exp(), dim=1)),
    Mistake("missing_one", "a constant term inside the sum is missing: with your formula "
            "KL(prior || prior) is D/2, not 0. Try mu = 0, logvar = 0 by hand.",
            wrong=lambda mu, lv: -0.5 * torch.sum(lv - mu.pow(2) - lv.exp(), dim=1)),
    Mistake("missing_mu", "the mu^2 term is missing (or has the wrong sign): moving the mean "
            "away from 0 must cost KL.",
            wrong=lambda mu, lv: -0.5 * torch.sum(1 + lv - lv.exp(), dim=1)),
    Mistake("missing_mu", "the mu^2 term has the wrong sign: moving the mean away from 0 "
            "must cost KL, not save it.", wrong=lambda mu, lv: -0.5 * torch.sum(1 + lv + mu.pow(2) - lv.exp(),
                                                                  dim=1)),
]


def check_kl(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], *,
             verbose: bool = True) -> CheckResult:
    """Check ``fn(mu, logvar) -> (B,)``: the closed-form KL to the standard normal.

    ``KL(N(mu, diag(exp(logvar))) || N(0, I)) = -1/2 sum_j (1 + logvar_j - mu_j^2 -
    exp(logvar_j))`` per example (Kingma and Welling 2014, Appendix B), reference
    :func:`vae_utils.losses.kl_to_standard_normal` (itself tested against
    ``torch.distributions.kl_divergence``). Cases include ``KL = 0`` at the prior, a
    single dimension, and very small and very large variances.

    Args:
        fn: ``mu``, ``logvar`` float ``(B, D)`` -> float ``(B,)`` in nats.
        verbose: print the verdict.

    Returns:
        :class:`CheckResult`; recognised mistakes: ``mean_all``, ``batch_mean``, ``batch_sum``,
        ``wrong_sign``, ``missing_half``, ``mean_reduction``, ``forgot_exp``,
        ``logvar_as_log_sigma``, ``sigma_as_logvar``, ``missing_one``, ``missing_mu``.
    """
    return run_check("check_kl", fn, _kl_cases(), kl_to_standard_normal, mistakes=_KL_MISTAKES,
                     generic_hint="compare your formula with the closed form derived in the notebook, "
                                  "term by term, for one dimension: check the sign, the "
                                  "factor 1/2, exp of the log-variance and the dimension you "
                                  "sum over.",
                     library=(kl_to_standard_normal,),
                     verbose=verbose, source="vae_utils.losses.kl_to_standard_normal")

# ----------------------------------------------------- 03: KL between two Gaussians


def _kl_gaussians_reference(mu_q, logvar_q, mu_p, logvar_p):
    """``torch.distributions``' KL of two diagonal Gaussians, summed over dimensions:
    an independent reference (not the course's code)."""
    q = torch.distributions.Independent(torch.distributions.Normal(mu_q, (0.5 * logvar_q).exp()), 1)
    p = torch.distributions.Independent(torch.distributions.Normal(mu_p, (0.5 * logvar_p).exp()), 1)
    return torch.distributions.kl_divergence(q, p)


def _kl_gaussians_cases(seed: int | None) -> list[Case]:
    """Fixed cases, then fresh random ones drawn from ``seed`` (``None``: new ones at every
    call, from their own generator: torch's global random state is left alone)."""
    g = fresh_generator(seed)
    f64 = torch.float64

    def rand(*shape, scale=1.0):
        return scale * torch.randn(*shape, generator=g, dtype=f64)

    mu, lv = rand(3, 4), rand(3, 4)
    ln4 = math.log(4.0)
    return [
        Case("q = p: the KL is 0", (mu, lv, mu.clone(), lv.clone()), rtol=1e-6, atol=1e-9),
        Case("p = N(0, I): the closed form of the notebook",
             (rand(4, 3), rand(4, 3), torch.zeros(4, 3, dtype=f64), torch.zeros(4, 3, dtype=f64)),
             rtol=1e-6, atol=1e-9),
        Case("same means, variances 4 times apart, both ways round (one dimension)",
             (torch.zeros(2, 1, dtype=f64), torch.tensor([[0.0], [ln4]], dtype=f64),
              torch.zeros(2, 1, dtype=f64), torch.tensor([[ln4], [0.0]], dtype=f64)),
             rtol=1e-6, atol=1e-9),
        Case("fresh random q and p, B=5, D=3 (drawn at every call)",
             (rand(5, 3), rand(5, 3), rand(5, 3), rand(5, 3)), rtol=1e-6, atol=1e-9),
        Case("fresh random q and p, the course's size: B=8, D=20",
             (rand(8, 20, scale=2.0), rand(8, 20), rand(8, 20), rand(8, 20, scale=0.5)),
             rtol=1e-6, atol=1e-9),
    ]


def _kl_terms(mu_q, lv_q, mu_p, lv_p):
    return lv_p - lv_q, lv_q.exp() / lv_p.exp(), (mu_q - mu_p).pow(2) / lv_p.exp()


_KL_GAUSSIANS_MISTAKES = [
    Mistake("swapped", "you computed KL(p || q): the divergence is not symmetric. The "
            "expectation is under q, the first distribution.",
            wrong=lambda mq, lq, mp, lp: _kl_gaussians_reference(mp, lp, mq, lq)),
    Mistake("missing_half", "your values are twice the reference: a factor 1/2 is missing.",
            wrong=lambda mq, lq, mp, lp: 2 * _kl_gaussians_reference(mq, lq, mp, lp)),
    Mistake("mean_reduction", "your values are the reference divided by D: the KL of "
            "independent dimensions is their SUM, not their mean.",
            wrong=lambda mq, lq, mp, lp: _kl_gaussians_reference(mq, lq, mp, lp) / mq.shape[1]),
    Mistake("batch_mean", "return one KL per example, shape (B,): reduce over the latent "
            "dimensions only.",
            wrong=lambda mq, lq, mp, lp: _kl_gaussians_reference(mq, lq, mp, lp).mean()),
    Mistake("missing_one", "a constant term is missing: with your formula the KL of a "
            "distribution to itself is not 0. Try q = p by hand.",
            wrong=lambda mq, lq, mp, lp: 0.5 * sum(_kl_terms(mq, lq, mp, lp)).sum(1)),
    Mistake("mean_not_scaled", "the squared difference of the means must be measured in "
            "units of p's variance: yours is not divided by it.",
            wrong=lambda mq, lq, mp, lp: 0.5 * (lp - lq + lq.exp() / lp.exp()
                                                + (mq - mp).pow(2) - 1).sum(1)),
    Mistake("std_not_variance", "you used a ratio of standard deviations where the formula "
            "has a ratio of variances (or half the log-variances): logvar is log sigma^2.",
            wrong=lambda mq, lq, mp, lp: 0.5 * (0.5 * (lp - lq) + (0.5 * (lq - lp)).exp()
                                                + (mq - mp).pow(2) / lp.exp() - 1).sum(1)),
    Mistake("log_ratio_sign", "the log of the variance ratio has the wrong sign: for q = "
            "N(0, 1) and p = N(0, 4) the KL must be positive.",
            wrong=lambda mq, lq, mp, lp: 0.5 * (lq - lp + lq.exp() / lp.exp()
                                                + (mq - mp).pow(2) / lp.exp() - 1).sum(1)),
]


def check_kl_gaussians(fn: Callable[..., torch.Tensor], *, verbose: bool = True,
                       seed: int | None = None) -> CheckResult:
    """Check ``fn(mu_q, logvar_q, mu_p, logvar_p) -> (B,)``: the KL between two diagonal
    Gaussians, ``KL(N(mu_q, diag e^logvar_q) || N(mu_p, diag e^logvar_p))``, in nats.

    ``1/2 sum_j [logvar_p - logvar_q + (e^logvar_q + (mu_q - mu_p)^2) / e^logvar_p - 1]``
    (the KL of two Gaussians, e.g. Kingma and Welling 2014, Appendix B, with a general
    prior). The reference is ``torch.distributions.kl_divergence`` of two ``Independent``
    ``Normal`` distributions, not the course's code, on fixed cases (``q = p``, ``p =
    N(0, I)``, a variance ratio of 4) and on fresh random cases drawn at every call.
    Passing ``torch.distributions.kl_divergence`` or a function that calls it is refused.

    Args:
        fn: four float64 ``(B, D)`` tensors -> float ``(B,)`` in nats.
        verbose: print the verdict.
        seed: draw the random cases from this seed (tests); ``None`` draws fresh ones.

    Returns:
        :class:`CheckResult`; recognised mistakes: ``library``, ``swapped``,
        ``missing_half``, ``mean_reduction``, ``batch_mean``, ``missing_one``,
        ``mean_not_scaled``, ``std_not_variance``, ``log_ratio_sign``.
    """
    return run_check("check_kl_gaussians", fn, _kl_gaussians_cases(seed),
                     _kl_gaussians_reference, mistakes=_KL_GAUSSIANS_MISTAKES,
                     generic_hint="write the KL of ONE dimension first (the expectation under q "
                                  "of log q - log p), check it on q = p and on p = N(0, 1), "
                                  "then add up the dimensions.",
                     library=(torch.distributions.kl_divergence, kl_to_standard_normal),
                     verbose=verbose, source="torch.distributions.kl_divergence")



# ---------------------------------------------------------------------- 03: ELBO loss


def _elbo_terms(logits, x, mu, logvar):
    """Per-example ``(-log p(x|z), KL(q(z|x) || N(0, I)))`` in float64 from
    ``torch.distributions``: an independent reference, not the course's code.
    ``Bernoulli(logits=...).log_prob`` summed over the pixels (grey targets allowed: the
    same formula, no support check), and ``kl_divergence`` of ``Independent`` ``Normal``
    distributions, summed over the latent dimensions."""
    dist = torch.distributions
    logits, x, mu, logvar = (t.detach().double() for t in (logits, x, mu, logvar))
    recon = -dist.Bernoulli(logits=logits, validate_args=False).log_prob(x).flatten(1).sum(1)
    q = dist.Independent(dist.Normal(mu, torch.exp(0.5 * logvar), validate_args=False), 1)
    prior = dist.Independent(dist.Normal(torch.zeros_like(mu), torch.ones_like(mu)), 1)
    return recon, dist.kl_divergence(q, prior)


def _elbo_ref(logits, x, mu, logvar, beta=1.0):
    """``mean_b [recon_b + beta * KL_b]`` from :func:`_elbo_terms`, in float64."""
    recon, kl = _elbo_terms(logits, x, mu, logvar)
    return (recon + beta * kl).mean()


def _elbo_batch(g: torch.Generator, b: int, d: int = 20, binary: bool = True,
                spread: bool = False) -> tuple:
    """Decoder logits, targets and encoder outputs of a batch of ``b`` images, ``D = d``.
    ``spread``: the scale of ``mu`` grows along the batch (from 0.5 to 8), so the codes range
    from near the prior to far from it and a loss over part of the batch is far from the
    mean over all of it, not close to it by chance. (The logits stay moderate so that a
    float32 ``binary_cross_entropy`` of probabilities does not saturate.)"""
    logits = torch.randn(b, 1, 28, 28, generator=g) * 2
    x = torch.rand(b, 1, 28, 28, generator=g)
    x = (x > 0.6).float() if binary else x
    mu_scale = torch.linspace(0.5, 8.0, b).view(b, 1) if spread else 1.0
    return (logits, x, torch.randn(b, d, generator=g) * mu_scale,
            torch.randn(b, d, generator=g) * 0.5)


def _elbo_fixed_cases() -> list[Case]:
    """The fixed cases, the same at every call."""
    g = torch.Generator().manual_seed(5)

    def batch(b: int, d: int = 20, binary: bool = True) -> tuple:
        return _elbo_batch(g, b, d, binary)

    return [
        Case("batch of 4, beta = 1 (the default)", batch(4)),
        Case("grey-level targets, batch of 16", batch(16, binary=False)),
        Case("one image (B = 1)", batch(1)),
        Case("beta = 4 (passed as beta=4.0)", batch(4), kwargs={"beta": 4.0}),
        Case("beta = 0: only the reconstruction term", batch(4), kwargs={"beta": 0.0}),
    ]


def _elbo_fresh_cases(seed: int | None) -> list[Case]:
    """Cases drawn from ``seed`` (``None``: fresh ones at every call, from a seed of the
    operating system, so torch's global random state is left alone): random batch sizes,
    latent sizes other than the course's 20, and fractional beta."""
    g = fresh_generator(seed)

    def integer(lo: int, hi: int) -> int:
        return int(torch.randint(lo, hi + 1, (), generator=g))

    def fraction() -> float:  # in [0.2, 0.8]: far from any integer
        return 0.2 + 0.6 * float(torch.rand((), generator=g))

    cases = []
    for b, d, beta, binary in [(integer(2, 40), integer(2, 16), integer(1, 3) + fraction(), True),
                               (integer(41, 130), integer(24, 48), fraction(), False)]:
        cases.append(Case(f"fresh random batch (drawn at every call): B={b}, D={d}, "
                          f"beta={beta:.3f}, {'binary' if binary else 'grey-level'} targets"
                          + ("" if binary else ", codes from near to far from the prior"),
                          _elbo_batch(g, b, d, binary, spread=not binary), kwargs={"beta": beta}))
    return cases


def _elbo_cases(seed: int | None = None) -> list[Case]:
    return _elbo_fixed_cases() + _elbo_fresh_cases(seed)


def _elbo_parts(logits, x, mu, logvar):
    return _elbo_terms(logits, x, mu, logvar)


_ELBO_MISTAKES = [
    Mistake("per_example", "return one number for the batch (a 0-d tensor): the mean over the "
            "batch of the per-image loss.",
            wrong=lambda lo, x, mu, lv, beta=1.0: (lambda r, k: r + beta * k)(
                *_elbo_parts(lo, x, mu, lv))),
    Mistake("sum_over_batch", "your loss is B times too large: you summed over the batch "
            "(reduction='sum' over everything, as in the PyTorch example). Sum over pixels and "
            "latent dimensions, then take the MEAN over the batch, so the number is in nats "
            "per image and does not change with the batch size.",
            wrong=lambda lo, x, mu, lv, beta=1.0: (lambda r, k: (r + beta * k).sum())(
                *_elbo_parts(lo, x, mu, lv))),
    Mistake("mean_reduction", "your reconstruction term is averaged over pixels "
            "(F.binary_cross_entropy_with_logits' default reduction='mean'): it is 784 times "
            "too small next to the KL. Sum over each image's pixels, then average over the batch.",
            wrong=lambda lo, x, mu, lv, beta=1.0: (lambda r, k: (r / 784 + beta * k).mean())(
                *_elbo_parts(lo, x, mu, lv))),
    Mistake("mean_reduction", "both terms are averaged over elements (pixels and latent "
            "dimensions) instead of summed: the loss is per pixel, not per image. Sum within "
            "each image (784 pixels, D latent dimensions), then average over the batch.",
            wrong=lambda lo, x, mu, lv, beta=1.0: (lambda r, k: (r / 784 + beta * k
                                                                   / mu.shape[1]).mean())(
                *_elbo_parts(lo, x, mu, lv))),
    Mistake("mean_reduction", "your KL is averaged over latent dimensions: sum it over the D "
            "dimensions of each example, then average over the batch.",
            wrong=lambda lo, x, mu, lv, beta=1.0: (lambda r, k: (r + beta * k
                                                                 / mu.shape[1]).mean())(
                *_elbo_parts(lo, x, mu, lv))),
    Mistake("kl_sign", "the KL enters the loss with a plus sign: loss = recon + beta * KL "
            "(check the sign of your KL term: it must be >= 0).",
            wrong=lambda lo, x, mu, lv, beta=1.0: (lambda r, k: (r - beta * k).mean())(
                *_elbo_parts(lo, x, mu, lv))),
    Mistake("elbo_not_loss", "you returned the ELBO itself; the loss to minimise is the "
            "NEGATIVE ELBO, recon + beta * KL.",
            wrong=lambda lo, x, mu, lv, beta=1.0: -_elbo_ref(lo, x, mu, lv, beta)),
    Mistake("missing_half", "your KL term is twice the reference: a factor 1/2 is missing "
            "in front of its sum.",
            wrong=lambda lo, x, mu, lv, beta=1.0: (lambda r, k: (r + 2 * beta * k).mean())(
                *_elbo_parts(lo, x, mu, lv))),
    Mistake("beta_ignored", "beta is ignored: multiply the KL term by beta.",
            wrong=lambda lo, x, mu, lv, beta=1.0: _elbo_ref(lo, x, mu, lv, 1.0)),
    Mistake("beta_on_recon", "beta weighs the KL term, not the reconstruction: "
            "recon + beta * KL.",
            wrong=lambda lo, x, mu, lv, beta=1.0: (lambda r, k: (beta * r + k).mean())(
                *_elbo_parts(lo, x, mu, lv))),
    Mistake("sigmoid_twice", "the reconstruction term takes the raw logits: "
            "binary_cross_entropy_with_logits(logits, x), not of torch.sigmoid(logits).",
            wrong=lambda lo, x, mu, lv, beta=1.0: _elbo_ref(torch.sigmoid(lo), x, mu, lv, beta)),
    Mistake("forgot_exp", "your KL's variance term uses logvar itself: the variance is "
            "sigma^2, and logvar is its log.",
            wrong=lambda lo, x, mu, lv, beta=1.0: (_elbo_parts(lo, x, mu, lv)[0] + beta * -0.5
                                                   * torch.sum(1 + lv - mu.pow(2) - lv,
                                                               dim=1)).mean()),
]


def check_elbo_loss(fn: Callable[..., torch.Tensor], *, verbose: bool = True,
                    seed: int | None = None) -> CheckResult:
    """Check ``fn(logits, x, mu, logvar, beta=1.0) -> loss``: the negative ELBO of a batch.

    ``loss = mean_b [ sum_pixels BCE(logits, x) + beta * KL_b ]``: each term summed within
    an image (784 pixels; D latent dimensions), then averaged over the batch, so it is in
    nats per image (Kingma and Welling 2014, Eq. 10; ``beta``: Higgins et al. 2017).
    The reference is independent of the course's code and computed in float64 with
    ``torch.distributions``: ``-Bernoulli(logits=logits).log_prob(x)`` summed over the
    pixels, plus ``beta`` times ``kl_divergence(Independent(Normal(mu, exp(logvar / 2)),
    1), Independent(Normal(0, 1), 1))``, averaged over the batch. Cases: fixed ones
    (binary and grey targets, ``B = 1``, ``beta`` = 1, 4 and 0, ``D = 20``), then fresh
    random ones drawn at every call (batch sizes up to 130, latent sizes other than 20,
    fractional ``beta``). Passing :func:`vae_utils.losses.elbo_loss`, a function that
    calls it or a copy of it is refused; using ``torch.distributions`` is allowed.

    Args:
        fn: ``logits`` float ``(B, 1, 28, 28)``, ``x`` same shape in [0, 1], ``mu`` and
            ``logvar`` float ``(B, D)``, keyword ``beta`` -> a 0-d tensor.
        verbose: print the verdict.
        seed: draw the random cases from this seed (tests); ``None`` draws fresh ones.

    Returns:
        :class:`CheckResult`; recognised mistakes: ``library``, ``per_example``,
        ``sum_over_batch``, ``mean_reduction``, ``kl_sign``, ``elbo_not_loss``,
        ``missing_half``, ``beta_ignored``, ``beta_on_recon``, ``sigmoid_twice``,
        ``forgot_exp``.
    """
    return run_check("check_elbo_loss", fn, _elbo_cases(seed), _elbo_ref,
                     mistakes=_ELBO_MISTAKES,
                     generic_hint="check each reduction in turn: within one image (over its pixels and "
                                  "its latent dimensions) and across the batch, and which "
                                  "term beta multiplies.",
                     library=(elbo_loss,),
                     verbose=verbose,
                     source="torch.distributions (Bernoulli log_prob + kl_divergence of "
                            "Normals), in float64")


QUESTIONS: dict[str, Question] = {
    "reduction": Question(
        prompt='A classmate writes `loss = F.binary_cross_entropy_with_logits(logits, x) + '
               'kl.mean()`, where `kl` is the per-example KL summed over the 20 latent '
               'dimensions. What goes wrong?',
        options={"a": 'Nothing: both terms are averages, so they are on the same scale and '
                      "the VAE trains as the course's does.",
                 "b": 'The loss changes with the batch size, so the learning rate has to be '
                      'tuned again for every batch size.',
                 "c": 'The KL is summed over the 20 latent dimensions; it should be averaged '
                      'like the BCE, so this is beta = 20.',
                 "d": 'The reconstruction is a mean over 784 pixels, 784 times too small '
                      'next to the KL, so codes carry little.'},
        answer_digest="e7a081a03d16878e0f829c17",
        why={"a": "HATcuc273CIVMKEI6a6ij9fT+nbnC1rmzT3LkE4lW8qMo4XNe3u4JugaH6xS7Y6EJvpieYw5"
                   "20VFVAAVGcEgjqkoG/9JzTHQV9OuYC0jHZhr2/8nLNEMPzy3OsIVL+Gt7PIp43p2gVDpCQ5w"
                   "cLBAxdqD7Ez+fgwNpf3tKomOKYcI",
             "b": "a9gLIGgu7xpFNC0BRT+w73MK+2ZombzgyxDufx7cOjXrYwGnNHwVc25j1/TqDwkrUaCj/MzG"
                   "cCEAUHBfS9NIiWezaZTOIl/xpT76arGEE2ZNI6xodk0Drocf9Q7BNYiyiX87a919FeBn",
             "c": "JSKAKWpmuZzjM7YvwWaI8H8srACaE0DolH6fhHMvHKtEoAjhorB9/SYcFo016DIUgZ86d4UK"
                   "kds9CPWPVKGd8I1i65t0ST+9m8ZgHIyZCgD/AB2l1TBHDly15qZxMVrFh+NHC93c98L5LsAr"
                   "9V6DFObMnIe6cuV6j+BZ1f+cSML7fDohQrHwvwhE5c13n9gXqHjBxQVVTw8mAqV0LaW6pzzf"
                   "fgq5A9TAwjZL/pfrZQap9WlA2jlNwvxvaoTt7xeZHEi0X0J4HOjQQUro9keEOjdiqPg=",
             "d": "P0sf40of6Tn3GGk29asO8teUe4Y2dkIGXSaXXkyqRrLMlZ6MSMIVdltTHjB9YspWsud55noJ"
                   "7ZXdi3T3WWoIQVobQCdSc3Bf/De5rHtEudtZdeXB7vycF7zqH/wQn4tVCqzm3iDLI6VhLUfI"
                   "9OYcnXzBKBuy784wSWIIdBvP17cu+ayZ7mYC97p8Z/zhHrmLyOPaxh4EUveWFRPfqOGoNHxU"
                   "Pw=="},
        hint="`F.binary_cross_entropy_with_logits` has `reduction='mean'` by default. Mean "
             'over what? Compare with how `kl` was reduced.'),
}
register_questions(QUESTIONS)
