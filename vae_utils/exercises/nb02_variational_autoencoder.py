"""Exercises of notebook 02 · The variational autoencoder: its checkers and its questions."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..models import reparameterize as _reparameterize
from ..train import History, evaluate
from .checking import (AnswerError, Case, CheckResult, Mistake, close, failed, fresh_generator,
                       not_attempted, passed, run_check)
from .questions import Question, register_questions


# ------------------------------------------------------------------ 02: reparameterize


def _moments(z: Any, case: Case) -> tuple[torch.Tensor, torch.Tensor]:
    """Column means and standard deviations of many samples ``(N, D)``."""
    return z.mean(0), z.std(0)


def _standardised_moments(z: Any, case: Case) -> tuple[torch.Tensor, torch.Tensor]:
    """``((mean - mu) / sigma, std / sigma)`` of the columns of many samples ``(N, D)``,
    ``mu`` and ``sigma = exp(logvar / 2)`` read from the case's first row: ``(0, 1)`` for a
    right answer, up to sampling noise of about ``1 / sqrt(N)``."""
    mu, logvar = (a[0].double() for a in case.args)
    sigma = torch.exp(0.5 * logvar)
    z = z.double()
    return (z.mean(0) - mu) / sigma, z.std(0) / sigma


def _reparam_reference(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """An independent reference, not the course's code: a reparameterised draw of
    ``torch.distributions.Normal(mu, exp(logvar / 2))``. ``rsample`` draws its standard
    normal noise as ``torch.randn_like(mu)`` does, so under the same seed both give the
    same ``z``."""
    normal = torch.distributions.Normal(mu, torch.exp(0.5 * logvar), validate_args=False)
    return normal.rsample()


def _exact_moments_reference(case: Case) -> torch.Tensor:
    """Samples ``(N, D)`` whose column means and standard deviations are exactly ``mu``
    and ``exp(logvar / 2)`` (standard normal noise, standardised per column): the target
    of :func:`_standardised_moments` is then exactly ``(0, 1)``."""
    mu, logvar = (a.double() for a in case.args)
    eps = torch.randn(mu.shape, dtype=torch.float64)
    eps = (eps - eps.mean(0)) / eps.std(0)
    return mu + torch.exp(0.5 * logvar) * eps


def _reparam_gradients(fn: Callable, case: Case) -> tuple[torch.Tensor, torch.Tensor]:
    """Call ``fn`` on leaf tensors and return ``(dz/dmu, dz/dlogvar - (z - mu) / 2)``,
    computed by autograd.

    For ``z = mu + exp(logvar / 2) * eps`` the first is all ones and the second all zeros
    (``dz/dlogvar = sigma * eps / 2``), whatever ``eps`` was drawn.
    """
    mu, logvar = (a.detach().clone().requires_grad_(True) for a in case.args)
    z = fn(mu, logvar)
    if z is None:
        return None
    if not isinstance(z, torch.Tensor):
        raise AnswerError(f"expected a tensor; got {type(z).__name__}.")
    if not z.requires_grad:
        raise AnswerError("no gradient reaches mu or logvar: z must be computed from them "
                          "with differentiable operations (z = mu + std * eps), not under "
                          "torch.no_grad(), .detach() or .sample().", key="no_gradient")
    if z.shape != mu.shape:
        raise AnswerError(f"z must have the shape of mu {tuple(mu.shape)}; got "
                          f"{tuple(z.shape)}.")
    g_mu, g_logvar = torch.autograd.grad(z.sum(), [mu, logvar], allow_unused=True)
    g_mu = torch.zeros_like(mu) if g_mu is None else g_mu
    g_logvar = torch.zeros_like(logvar) if g_logvar is None else g_logvar
    return g_mu.detach(), (g_logvar - 0.5 * (z - mu)).detach()


def _ones_zeros(case: Case) -> tuple[torch.Tensor, torch.Tensor]:
    """What :func:`_reparam_gradients` returns for a right answer."""
    mu = case.args[0]
    return torch.ones_like(mu), torch.zeros_like(mu)


def _reparam_fixed_cases() -> list[Case]:
    """The fixed cases, the same at every call."""
    g = torch.Generator().manual_seed(2)
    mu = torch.randn(5, 3, generator=g)
    logvar = torch.randn(5, 3, generator=g)
    n = 20_000
    mu_big = torch.tensor([1.5, -2.0]).repeat(n, 1)
    logvar_big = torch.tensor([math.log(0.25), math.log(4.0)]).repeat(n, 1)  # sigma 0.5 and 2
    return [
        Case("20,000 samples: mean mu = (1.5, -2), std exp(logvar / 2) = (0.5, 2)",
             (mu_big, logvar_big), transform=_moments, rtol=0.03, atol=0.05),
        Case("tiny variance (logvar = -30): z must equal mu", (mu, torch.full_like(mu, -30.0)),
             atol=1e-4),
        Case("gradients: dz/dmu = 1 and dz/dlogvar = (z - mu) / 2", (mu, logvar),
             call=_reparam_gradients, reference=_ones_zeros, atol=1e-5),
        Case("same seed as the reference (eps = torch.randn_like(mu)): identical z, (5, 3)",
             (mu, logvar)),
    ]


def _reparam_fresh_cases(seed: int | None) -> list[Case]:
    """Cases drawn from ``seed`` (``None``: a fresh seed at every call): random sizes,
    means and log-variances in [-6, 6], with one column of large variances (sigma >= 4.4)
    and one of small ones (sigma <= 0.23) in each."""
    g = fresh_generator(seed)

    def integer(lo: int, hi: int) -> int:
        return int(torch.randint(lo, hi + 1, (), generator=g))

    def uniform(lo: float, hi: float, *shape: int, dtype=torch.float32) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(*shape, generator=g, dtype=dtype)

    def gaussian(b: int, d: int, bound: float, dtype=torch.float32) -> tuple:
        mu = 2.0 * torch.randn(b, d, generator=g, dtype=dtype)
        logvar = uniform(-bound, bound, b, d, dtype=dtype)
        logvar[:, 0] = uniform(3.0, bound, b, dtype=dtype)   # sigma >= exp(1.5) = 4.5
        logvar[:, 1] = uniform(-bound, -3.0, b, dtype=dtype)  # sigma <= exp(-1.5) = 0.22
        return mu, logvar

    n, d = 20_000, integer(3, 6)
    mu_row, logvar_row = gaussian(1, d, 6.0)
    seeds = [integer(0, 2**31 - 1) for _ in range(3)]
    return [
        Case(f"fresh random mu and logvar in [-6, 6] (drawn at every call), 20,000 samples, "
             f"D={d}: (mean - mu) / sigma = 0 and std / sigma = 1",
             (mu_row.repeat(n, 1), logvar_row.repeat(n, 1)), seed=seeds[0],
             transform=_standardised_moments, reference=_exact_moments_reference,
             rtol=0.0, atol=0.05),
        Case("fresh random mu and logvar in [-5, 5], float64: dz/dmu = 1 and dz/dlogvar = "
             "(z - mu) / 2", gaussian(integer(2, 8), integer(2, 8), 5.0, torch.float64),
             seed=seeds[1], call=_reparam_gradients, reference=_ones_zeros, atol=1e-4),
        Case("fresh random mu and logvar in [-5, 5], random size: identical z under the same "
             "seed", gaussian(integer(2, 12), integer(2, 12), 5.0), seed=seeds[2]),
    ]


def _reparam_cases(seed: int | None = None) -> list[Case]:
    return _reparam_fixed_cases() + _reparam_fresh_cases(seed)


def _eps_like(mu: torch.Tensor) -> torch.Tensor:
    return torch.randn_like(mu)


_REPARAM_MISTAKES = [
    Mistake("variance_not_std", "you scaled the noise by the variance, not by the standard "
            "deviation: logvar is log sigma^2, so taking sigma from it needs one more step (a "
            "factor 1/2 is missing).",
            wrong=lambda mu, logvar: mu + torch.exp(logvar) * _eps_like(mu)),
    Mistake("logvar_as_sigma", "you used logvar as if it were sigma: logvar is the log of the "
            "variance, and can be negative; work out sigma from it first.",
            wrong=lambda mu, logvar: mu + logvar * _eps_like(mu)),
    Mistake("forgot_exp", "you forgot an exp: half the log-variance is log sigma, not "
            "sigma.",
            wrong=lambda mu, logvar: mu + 0.5 * logvar * _eps_like(mu)),
    Mistake("forgot_mu", "your z is not centred on mu: you left mu out.",
            wrong=lambda mu, logvar: torch.exp(0.5 * logvar) * _eps_like(mu)),
    Mistake("no_noise", "your z has no noise: it is the same at every call. The "
            "trick needs a fresh standard normal draw, scaled by sigma.",
            wrong=lambda mu, logvar: mu + 0 * logvar),
    Mistake("no_noise", "your z has no noise: you added sigma itself. The trick "
            "needs a fresh standard normal draw, scaled by sigma.",
            wrong=lambda mu, logvar: mu + torch.exp(0.5 * logvar)),
    Mistake("torch_normal", "no gradient reaches mu: torch.normal(mu, std) and "
            "Normal(mu, std).sample() do not pass gradients. The point of the trick is to "
            "draw the randomness separately, so z is a differentiable function of mu and "
            "sigma.",
            spot=lambda r, e, c: isinstance(r, tuple) and bool((r[0] == 0).all())),
    Mistake("wrong_gradient", "the gradient with respect to logvar is not (z - mu) / 2: "
            "sigma must be computed from logvar inside your function, with gradients, not "
            "detached or squared.",
            spot=lambda r, e, c: isinstance(r, tuple) and c.call is _reparam_gradients),
]


def check_reparameterize(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], *,
                         verbose: bool = True, seed: int | None = None) -> CheckResult:
    """Check ``fn(mu, logvar) -> z``: the reparameterisation trick.

    ``z = mu + exp(logvar / 2) * eps``, ``eps ~ N(0, I)`` (Kingma and Welling 2014,
    Section 2.4). The reference is independent of the course's code:
    ``torch.distributions.Normal(mu, exp(logvar / 2)).rsample()``, which draws the same
    ``eps`` as ``torch.randn_like(mu)`` under the same seed, plus properties that hold
    whatever ``eps`` is. Fixed cases: the mean and standard deviation of 20,000 samples
    (so the hint does not depend on how ``eps`` is drawn), ``z = mu`` when the variance
    is tiny, the gradients ``dz/dmu = 1`` and ``dz/dlogvar = (z - mu) / 2 = sigma * eps /
    2`` (by autograd), and, with the generator seeded, ``z`` equal to the reference's draw
    (``torch.randn``, ``randn_like``, ``normal_`` and ``Normal(...).rsample()`` all draw
    the same numbers). Then fresh random cases drawn at every call, with log-variances in
    [-6, 6]: the sample mean and standard deviation of 20,000 draws against the exact
    ``mu`` and ``sigma`` (within 0.05 sigma: about 7 standard errors), the gradients, and
    the seeded draw. Passing :func:`vae_utils.models.reparameterize`, a function that
    calls it or a copy of it is refused.

    Args:
        fn: ``mu`` float ``(B, D)``, ``logvar`` float ``(B, D)`` (log sigma^2) -> ``z``
            float ``(B, D)``.
        verbose: print the verdict.
        seed: draw the random cases from this seed (tests); ``None`` draws fresh ones.

    Returns:
        :class:`CheckResult`; recognised mistakes: ``library``, ``variance_not_std``,
        ``logvar_as_sigma``, ``forgot_exp``, ``forgot_mu``, ``no_noise``,
        ``torch_normal``, ``no_gradient``, ``wrong_gradient``.
    """
    cases = _reparam_cases(seed)
    return run_check("check_reparameterize", fn, cases, _reparam_reference,
                     mistakes=_REPARAM_MISTAKES,
                     generic_hint="recheck how the standard deviation follows from logvar (a "
                                  "log-variance), and draw the noise with "
                                  "torch.randn_like(mu): the checker seeds the random "
                                  "generator, so that noise matches the reference exactly.",
                     library=(_reparameterize,),
                     verbose=verbose,
                     source="torch.distributions.Normal(mu, exp(logvar / 2)).rsample() and "
                            "exact moments")


# ------------------------------------------------------------- 02: mu and logvar heads
#
# The reference is computed from the learner's own layers, so each check keeps the module
# it built for each case in a dict ``built``, keyed by (hidden_dim, latent_dim) (unique per
# case), local to one call of check_encoder_heads.

Built = dict[tuple[int, int], nn.Module]


def _heads_call(built: Built) -> Callable[[Any, Case], Any]:
    def call(cls: Any, case: Case) -> Any:
        hidden_dim, latent_dim, h = case.args
        if isinstance(cls, nn.Module):
            raise AnswerError("pass the class itself, not an instance: check_encoder_heads("
                              "GaussianHeads).")
        module = cls(hidden_dim, latent_dim)
        built[(hidden_dim, latent_dim)] = module
        return module(h.clone())
    return call


def _heads_reference(built: Built) -> Callable[..., tuple[torch.Tensor, torch.Tensor]]:
    """The right answer for the module the learner's class built for a case: the affine
    maps ``h @ W.T + b`` of its two layers, computed here in float64 from their parameters
    (not by calling the layers or anything of the course). The two layers must be
    ``nn.Linear(hidden_dim, latent_dim)`` layers named ``fc_mu`` and ``fc_logvar``, and
    two separate ones: sharing one layer, or a weight, makes mu and logvar one head."""
    def reference(hidden_dim: int, latent_dim: int, h: torch.Tensor) -> tuple:
        module = built.get((hidden_dim, latent_dim))
        layers = []
        for attr in ("fc_mu", "fc_logvar"):
            layer = getattr(module, attr, None)
            if not isinstance(layer, nn.Linear):
                raise AnswerError(f"your module needs a layer named {attr}, an nn.Linear (as in "
                                  "vu.VAE); name the two heads fc_mu and fc_logvar.")
            if (layer.in_features, layer.out_features) != (hidden_dim, latent_dim):
                raise AnswerError(f"{attr} must map hidden_dim={hidden_dim} features to "
                                  f"latent_dim={latent_dim}; it is nn.Linear("
                                  f"{layer.in_features}, {layer.out_features}).")
            layers.append(layer)
        fc_mu, fc_logvar = layers
        if fc_mu is fc_logvar or any(p is q for p in fc_mu.parameters()
                                     for q in fc_logvar.parameters()):
            raise AnswerError("fc_mu and fc_logvar share one layer (or one weight), so mu and "
                              "logvar cannot differ: each head needs its own nn.Linear, with "
                              "its own weights.", key="same_head")
        with torch.no_grad():
            x = h.detach().double()
            out = []
            for layer in layers:
                y = x @ layer.weight.detach().double().T
                out.append(y if layer.bias is None else y + layer.bias.detach().double())
            return tuple(out)
    return reference


def _heads_cases(built: Built) -> list[Case]:
    g = torch.Generator().manual_seed(3)
    h_pos = torch.relu(torch.randn(6, 16, generator=g))
    ref = _heads_reference(built)
    kw = {"call": _heads_call(built), "reference": lambda c: ref(*c.args)}
    return [
        Case("hidden_dim=16, latent_dim=3, batch of 6 (post-ReLU features)", (16, 3, h_pos), **kw),
        Case("hidden_dim=12, latent_dim=4, features of both signs",
             (12, 4, torch.randn(6, 12, generator=g) * 3), seed=1, **kw),
        Case("the course's sizes: hidden_dim=400, latent_dim=20, batch of 2",
             (400, 20, torch.relu(torch.randn(2, 400, generator=g))), seed=2, **kw),
        Case("one example (B = 1)", (8, 2, torch.randn(1, 8, generator=g)), seed=3, **kw),
        Case("large features of both signs, outputs of size ~50: mu and logvar are "
             "unbounded (no clamp, no squashing)",
             (24, 5, torch.randn(5, 24, generator=g) * 60), seed=4, **kw),
    ]


def _heads_mistakes(built: Built) -> list[Mistake]:
    ref = _heads_reference(built)

    def wrong(f_mu: Callable, f_logvar: Callable) -> Callable[..., tuple]:
        def answer(hidden_dim: int, latent_dim: int, h: torch.Tensor) -> tuple:
            mu, logvar = ref(hidden_dim, latent_dim, h)
            return f_mu(mu, logvar), f_logvar(mu, logvar)
        return answer

    return [
        Mistake("swapped", "mu and logvar are swapped: return (mu, logvar) in that order.",
                wrong=wrong(lambda mu, lv: lv, lambda mu, lv: mu)),
        Mistake("same_head", "mu and logvar come out equal: both must have their own layer "
                "(self.fc_mu(h), self.fc_logvar(h)).",
                wrong=wrong(lambda mu, lv: mu, lambda mu, lv: mu)),
        Mistake("logvar_sigma_exp", "your second output is sigma = exp(.), not the "
                "log-variance: return the raw output of fc_logvar (the model works with "
                "log sigma^2, any real number; sigma = exp(0.5 * logvar) is computed later).",
                wrong=wrong(lambda mu, lv: mu, lambda mu, lv: torch.exp(lv))),
        Mistake("logvar_sigma_exp", "your second output is exp(0.5 * .) = sigma, not the "
                "log-variance: return the raw output of fc_logvar.",
                wrong=wrong(lambda mu, lv: mu, lambda mu, lv: torch.exp(0.5 * lv))),
        Mistake("activation_logvar", "no activation on the logvar head: logvar = log sigma^2 "
                "must be able to go negative (sigma < 1). A softplus/ReLU there gives sigma, or "
                "a clipped value, not the log-variance.",
                wrong=wrong(lambda mu, lv: mu, lambda mu, lv: F.softplus(lv))),
        Mistake("activation_logvar", "no activation on the logvar head: a ReLU forbids "
                "logvar < 0, i.e. sigma < 1.",
                wrong=wrong(lambda mu, lv: mu, lambda mu, lv: torch.relu(lv))),
        Mistake("activation_mu", "no activation on the mu head: the mean can be any real "
                "number, so fc_mu's output is returned as it is (no ReLU, sigmoid or tanh).",
                spot=lambda r, e, c: isinstance(r, tuple) and not close(r[0], e[0], 1e-4, 1e-5)
                and close(r[1], e[1], 1e-4, 1e-5)),
        Mistake("activation_logvar", "no activation on the logvar head: return fc_logvar(h) "
                "as it is (a log-variance can be any real number).",
                spot=lambda r, e, c: isinstance(r, tuple) and close(r[0], e[0], 1e-4, 1e-5)),
    ]


def check_encoder_heads(cls: type, *, verbose: bool = True) -> CheckResult:
    """Check the learner's ``nn.Module`` class for the encoder's two Gaussian heads.

    ``cls(hidden_dim, latent_dim)`` must build two ``nn.Linear(hidden_dim, latent_dim)``
    layers named ``fc_mu`` and ``fc_logvar``, and ``forward(h)`` must return
    ``(mu, logvar)``, each float ``(B, latent_dim)``, with NO activation on either head:
    ``mu`` is any real number, and ``logvar = log sigma^2`` too (Kingma and Welling 2014,
    Appendix C.2; :class:`vae_utils.models.VAE` does the same). The reference is
    independent of the course's code: ``h @ W.T + b`` computed in float64 from the
    parameters of the learner's own two layers, so any weights pass; the two layers must
    be separate (no shared layer or weight). Cases: post-ReLU features, features of both
    signs, the course's sizes, ``B = 1``, and large features whose outputs reach ~50 in
    size, so that a clamp or a squashing activation on either head shows.

    Args:
        cls: the class (not an instance).
        verbose: print the verdict.

    Returns:
        :class:`CheckResult`; recognised mistakes: ``swapped``, ``same_head``,
        ``logvar_sigma_exp``, ``activation_logvar``, ``activation_mu``, ``malformed``
        (missing or mis-sized layers, not a tuple of two).
    """
    built: Built = {}
    return run_check("check_encoder_heads", cls, _heads_cases(built), None,
                     mistakes=_heads_mistakes(built),
                     generic_hint="forward must return the two heads' outputs, mu first, each computed "
                                  "from the hidden layer h with no activation after it.",
                     verbose=verbose,
                     source="h @ W.T + b from the weights of your own fc_mu and fc_logvar")


# ---------------------------------------------------------------- 02: beta experiment


def check_beta_experiment(results: Mapping[float, Any], x_test: torch.Tensor | None = None, *,
                          kl_above: float | None = None, kl_below: float | None = None,
                          verbose: bool = True) -> CheckResult:
    """Check a beta experiment by measuring it: as ``beta`` grows, the KL falls and the
    reconstruction term rises.

    The learner trains one VAE per ``beta`` (same seed, same number of optimiser steps) and
    passes either the trained models, ``{beta: model}`` with the test images ``x_test``
    (the checker evaluates every model itself, with :func:`vae_utils.train.evaluate`, the
    same draw of ``z`` for each), or ``{beta: history}``, the :class:`vae_utils.train.History`
    that ``vu.fit`` returned for each (its last test row; every run must have trained for
    the same number of steps). Numbers typed in are refused: the checker measures. It
    prints the test reconstruction and KL of each model and checks the beta-VAE trade-off
    (Higgins et al. 2017, "beta-VAE"): the KL strictly decreasing and the reconstruction
    term strictly increasing in ``beta``.

    With ``kl_above`` and ``kl_below`` the experiment must also span a range: the model of
    the smallest ``beta`` must carry more than ``kl_above`` nats of KL, and the model of the
    largest less than ``kl_below``, so that choosing the values takes knowing which way
    ``beta`` moves the KL and by about how much.

    Args:
        results: at least two ``beta`` values, each with a trained model or its History.
        x_test: float ``(N, 1, 28, 28)`` test images, needed with models (e.g. data.x_test).
        kl_above: if given, the smallest beta's test KL must exceed it (nats per image).
        kl_below: if given, the largest beta's test KL must stay below it (nats per image).
        verbose: print the table and the verdict.

    Returns:
        :class:`CheckResult`; mistakes ``numbers`` (numbers instead of models or
        histories), ``malformed``, ``no_test_images``, ``unequal_budgets``, ``too_few``
        (fewer than two betas), ``not_finite``, ``kl_not_falling``, ``recon_not_rising``,
        ``kl_not_high_enough``, ``kl_not_low_enough``.
    """
    name = "check_beta_experiment"
    if not results:
        return not_attempted(name, "no beta has been trained yet (results is "
                             "empty).", verbose)
    rows, steps = [], set()
    try:
        for beta in sorted(results):
            r = results[beta]
            if isinstance(r, nn.Module):
                if x_test is None:
                    return failed(name, "got trained models but no test images to measure "
                                  "them on.", verbose, mistake="no_test_images",
                                  hint="pass the test images too: "
                                       "check_beta_experiment(models, data.x_test).")
                device = next(r.parameters()).device
                with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
                    torch.manual_seed(0)  # the same draw of z for every model
                    measured = evaluate(r, x_test.to(device), beta=1.0)
                recon, kl = measured["recon"], measured["kl"]
            elif isinstance(r, History):
                recon, kl = r.test_recon[-1], r.test_kl[-1]
                if recon != recon:  # no test set: use the training numbers
                    recon, kl = r.train_recon[-1], r.train_kl[-1]
                steps.add(r.step[-1] if r.step else len(r.epoch))
            elif isinstance(r, (tuple, list)) or isinstance(r, (int, float)):
                return failed(name, "got numbers, not trained models: the checker measures "
                              "the models itself.", verbose, mistake="numbers",
                              hint="keep each trained model, models[beta] = vu.VAE(...), "
                                   "train it with vu.fit, then call "
                                   "check_beta_experiment(models, data.x_test).")
            else:
                raise TypeError(f"got a {type(r).__name__} for beta = {beta}")
            rows.append((float(beta), float(recon), float(kl)))
    except Exception as err:
        return failed(name, f"could not read results ({type(err).__name__}: {err}).", verbose,
                      mistake="malformed", hint="pass a dict {beta: model} of the models you "
                      "trained, with data.x_test, or {beta: history} with the History that "
                      "vu.fit returned.")
    table = "\n".join(["   beta   recon (nats)   KL (nats)"]
                      + [f"  {b:5.2f}   {r:12.2f}   {k:9.2f}" for b, r, k in rows])
    if verbose:
        print(table)
    if len(steps) > 1:
        return failed(name, f"the runs trained for different numbers of steps "
                      f"({sorted(steps)}).", verbose, mistake="unequal_budgets",
                      hint="give every beta the same steps= (and the same seed), so that "
                           "beta is the only difference.")
    if len(rows) < 2:
        return failed(name, "one beta shows no trend.", verbose, mistake="too_few",
                      hint="train at least two values of beta, e.g. 0.5, 1 and 4.")
    if not all(math.isfinite(v) for row in rows for v in row[1:]):
        return failed(name, "some numbers are NaN or infinite.", verbose, mistake="not_finite",
                      hint="a run diverged: lower the learning rate or check the loss.")
    kls = [k for _, _, k in rows]
    recons = [r for _, r, _ in rows]
    if any(a <= b for a, b in zip(kls, kls[1:])):
        return failed(name, "the KL does not fall as beta grows.", verbose,
                      mistake="kl_not_falling",
                      hint="did you pass beta=beta to vu.fit, and train every model for the "
                           "same number of steps from the same seed?")
    if any(a >= b for a, b in zip(recons, recons[1:])):
        return failed(name, "the reconstruction term does not rise as beta grows.", verbose,
                      mistake="recon_not_rising",
                      hint="train each model a few hundred steps longer (steps=...), with the "
                           "same seed, so the trade-off is visible above the noise.")
    if kl_above is not None and kls[0] <= kl_above:
        return failed(name, f"the smallest beta ({rows[0][0]:g}) leaves {kls[0]:.1f} nats of KL; "
                      f"the range asked for starts above {kl_above:g}.", verbose,
                      mistake="kl_not_high_enough",
                      hint="which way does beta have to move for the code to carry more nats? "
                           "Add a value further in that direction (a factor of a few at a time).")
    if kl_below is not None and kls[-1] >= kl_below:
        return failed(name, f"the largest beta ({rows[-1][0]:g}) leaves {kls[-1]:.1f} nats of KL; "
                      f"the range asked for ends below {kl_below:g}.", verbose,
                      mistake="kl_not_low_enough",
                      hint="which way does beta have to move for the code to carry fewer nats? "
                           "Add a value further in that direction (a factor of a few at a time).")
    return passed(name, f"as beta grows the KL falls ({kls[0]:.1f} -> {kls[-1]:.1f} nats) and "
                        f"the reconstruction term rises ({recons[0]:.1f} -> {recons[-1]:.1f} "
                        "nats), as measured by the checker.", verbose)


QUESTIONS: dict[str, Question] = {
    "beta_effect": Question(
        prompt='You trained the same VAE with several values of beta (say 0.25, 1 and 4). As '
               'beta grows, what happens to the two terms of the loss?',
        options={"a": 'Nothing that matters changes: beta only rescales the whole loss, so '
                      'the optimiser finds the same model.',
                 "b": 'The KL falls and the reconstruction term stays the same: the code drops '
                      'only what the decoder was not using.',
                 "c": 'The KL rises and the reconstruction term falls: a larger beta rewards '
                      'the code for carrying more information.',
                 "d": 'The KL falls and the reconstruction term rises: codes carry less '
                      'information about x, and images blur.'},
        answer_digest="93d62ca779d0758630d288d3",
        why={"a": "XYFp5nZ3ebSGRwv/b7mPjG0FYwqypbCpwre0EnhhMtJkrvWi1NRVRUFjuzjDX2pOW6CK/xa1"
                   "3ZZuJAxfCFBiK33KTW8LJiTXCeONHlRMnABqwAVqmll58mXPxfNXCJEXtWQ=",
             "b": "3OeDI4zRzUE3JvWpVW67e5XyrwGzRZJZaScfCM2TmBRBq0sbryrt/6uZjBeariTHy7iCkymg"
                   "dP14D9sHmG8DTDy3vzLjTwkxr97RfyEgxmQdZPegulKAM78kusVvvi/4I8Fe3Z87KpNuK4On"
                   "woSoQ/DR59kUJ0uoNg1BQ9+7xQ9BTs8Ye/PMVA/yObG7j2zX4KDj5e4mPfChWCT6eg9j5sle"
                   "4h2HseJr5SqLidJ9+CneTFAWD5OPgR40A+0Bv6cNFef/65NmXCyjRf9VMH15jXqym1J6U3MG"
                   "ojRcH9ak",
             "c": "4yGYHVVyLGIWJJEmDuOzMSFucprxT0ZWwvJpcIKpjZBIgu0/56YlNsiRkPhjha0U0wMfAfZt"
                   "fOh+4cXMwIovsVqoBPYWHJjKXQGyDJFfBIrvQShLS8nwr3J9o2hCa7NliUcrx1+6qxxVVGcA"
                   "XQ==",
             "d": "Xz0iXYkfEt3EdmjeX/7io1qY6ggSw+nVye5Z+wGPy3aYTBmzYb+dBIPqeQghQV0JS1XmKvRA"
                   "5iFKk/+hbjfO81ezu9MXS8TKZYh7cGXEQk+H+kOjIMcby9mzAAxVWkAOC8hiB94xrQiCGbh/"
                   "+zjaHg8MXF0u1RqjG/YufZ656S5+TMIrxQLPP5SRGSgZqiFlj9PucXhge15DwMFUnvhzqnJn"
                   "4qpccYLDL/eJo8SyLRqyNx4srfjCv2EQHluiqLnKt36T"},
        hint='beta multiplies only the KL term. If KL becomes more expensive, would the '
             'optimiser buy more of it or less, and what does it give up?'),
}
register_questions(QUESTIONS)
