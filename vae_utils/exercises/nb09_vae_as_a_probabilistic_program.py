"""Exercises of notebook 09 · The VAE as a probabilistic program: its checkers.

* :func:`check_guide`: the amortised guide written as a Pyro program, checked by the ELBO
  it gives with :func:`vae_utils.ppl.model` (Pyro's ``TraceMeanField_ELBO``) against a
  reference computed here without Pyro, under the same noise, on fresh random networks
  and binary batches; and by what it registers (the encoder's weights);
* :func:`check_gaps`: the amortisation and approximation gaps (Cremer, Li and Duvenaud
  2018, Table 1) from per-image bounds, each with its paired standard error.

Both recognise the usual mistakes by computing them (a variance where Pyro wants a
standard deviation, the gaps' signs and order, an unpaired standard error, ...).
"""

from __future__ import annotations

import functools
import inspect
import math
import warnings
from collections.abc import Callable
from typing import Any

import pyro
import torch
import torch.nn.functional as F
from pyro import poutine
from pyro.infer import TraceMeanField_ELBO

from ..models import VAE
from ..ppl import fit_local_guide, gaussian_bounds, guide, model
from .checking import (AnswerError, Case, CheckResult, Mistake, fresh_seed, not_attempted,
                       run_check)
from .guards import library_copy

_LIBRARY = (guide, model, fit_local_guide, gaussian_bounds)


# ------------------------------------------------------------------ 09: the guide


def _network(seed: int, latent_dim: int, hidden: int, logvar_bias: float) -> VAE:
    """A random :class:`~vae_utils.VAE`, built without touching torch's global generator."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        vae = VAE(latent_dim=latent_dim, hidden_dims=(hidden,))
    with torch.no_grad():
        vae.fc_logvar.bias.fill_(logvar_bias)  # codes narrower or wider than N(0, 1)
    return vae


def _guide_cases(seed: int | None = None) -> list[Case]:
    g = torch.Generator().manual_seed(fresh_seed(seed))
    specs = [  # (name, latent_dim, hidden, logvar bias, batch, pixel density)
        ("a small network, D=2, 3 images", 2, 16, 0.0, 3, 0.3),
        ("D=5, 8 images, narrow codes (logvar about -2)", 5, 32, -2.0, 8, 0.2),
        ("one image, D=4", 4, 16, -1.0, 1, 0.5),
        ("D=20 as in the lesson, 16 images, wide codes (logvar about +1)", 20, 64, 1.0, 16, 0.15),
    ]
    cases = []
    for name, d, h, bias, b, density in specs:
        vae = _network(int(torch.randint(2**31, (1,), generator=g)), d, h, bias)
        x = torch.bernoulli(torch.full((b, 1, 28, 28), density), generator=g)
        cases.append(Case(name, (vae, x), seed=int(torch.randint(2**31, (1,), generator=g)),
                          rtol=1e-4, atol=1e-3, call=_guide_call, reference=_guide_reference))
    return cases


def _negative_elbo(vae: VAE, x: torch.Tensor, loc: torch.Tensor, scale: torch.Tensor
                   ) -> torch.Tensor:
    """``-ELBO`` of the batch, summed over the images (Pyro's convention), in nats: one
    code per image drawn as ``loc + scale * eps`` with ``eps`` from torch's generator,
    the closed-form KL of ``N(loc, scale^2)`` to ``N(0, I)`` (Kingma and Welling 2014,
    Appendix B). Written without Pyro and without :mod:`vae_utils.losses`."""
    with torch.no_grad():
        z = loc + scale * torch.randn(loc.shape)  # (B, D)
        logits = vae.decoder(z)  # (B, 784)
        recon = F.binary_cross_entropy_with_logits(logits, x.flatten(1), reduction="none").sum(1)
        var = scale.square()
        kl = 0.5 * (loc.square() + var - 1.0 - var.log()).sum(1)
        return (recon + kl).sum().double()


def _encoder(vae: VAE, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.no_grad():
        h = vae.encoder(x.flatten(1))
        return vae.fc_mu(h), vae.fc_logvar(h)


def _guide_reference(case: Case) -> torch.Tensor:
    vae, x = case.args
    mu, logvar = _encoder(vae, x)
    return _negative_elbo(vae, x, mu, torch.exp(0.5 * logvar))


def _wrong_guide(loc_scale: Callable[[torch.Tensor, torch.Tensor], tuple]) -> Callable:
    def wrong(case: Case) -> torch.Tensor:
        vae, x = case.args
        loc, scale = loc_scale(*_encoder(vae, x))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(case.seed)  # the noise of the learner's call
            return _negative_elbo(vae, x, loc, scale)
    return wrong


_PYRO_ERRORS = [  # (words in Pyro's message, key, hint)
    ("Shape mismatch inside plate", "event_dim",
     "Pyro read the D dimensions of each code as D independent draws, one per image of the "
     "plate: one code is ONE event of D dimensions. Look up what .to_event(1) does to a "
     "distribution."),
    ("invalid log_prob shape", "no_plate",
     "your site 'z' holds one code per image, but Pyro does not know that the images are "
     "independent: draw it inside the same plate as the model, pyro.plate(\"data\", len(x))."),
    ("GreaterThan(lower_bound=0.0)", "logvar_as_scale",
     "a Normal's scale must be positive, and yours has negative entries: dist.Normal takes a "
     "standard deviation, and the encoder gives the log-variance log sigma^2."),
]


def _guide_call(fn: Callable, case: Case) -> torch.Tensor:
    """Pyro's ``TraceMeanField_ELBO`` loss of :func:`vae_utils.ppl.model` with the learner's
    guide (validation on, a fresh parameter store), then what the guide registered."""
    vae, x = case.args
    store = pyro.get_param_store()
    with store.scope(), pyro.validation_enabled(True), warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        try:
            loss = TraceMeanField_ELBO().loss(model, fn, x, vae)
        except (ValueError, KeyError, RuntimeError) as err:
            text = f"{type(err).__name__}: {err}"
            if "vars in model but not guide" in " ".join(str(w.message) for w in seen) \
                    or isinstance(err, KeyError):
                raise AnswerError("the model's code is the site named 'z'; your guide must "
                                  "draw a site of that same name, so that Pyro pairs q(z|x) "
                                  "with p(z).", key="site_name") from None
            for words, key, hint in _PYRO_ERRORS:
                if words in text:
                    raise AnswerError(hint, key=key) from None
            raise
        if loss is None:
            return None
        with torch.random.fork_rng(devices=[]):
            params = poutine.trace(fn, param_only=True).get_trace(x, vae)
    registered = {id(site["value"]) for site in params.nodes.values() if site["type"] == "param"}
    encoder = [p for part in (vae.encoder, vae.fc_mu, vae.fc_logvar) for p in part.parameters()]
    if not all(id(p) in registered for p in encoder):
        raise AnswerError("the ELBO is right, but SVI would not train your encoder: its weights "
                          "are not registered with Pyro. Register each of its three parts "
                          "(vae.encoder, vae.fc_mu, vae.fc_logvar) with pyro.module.",
                          key="not_registered")
    return torch.tensor(float(loss), dtype=torch.float64)


def _draws_nothing(fn: Callable, case: Case) -> bool:
    """Whether the guide, run once on ``case``, neither draws a sample site nor registers a
    parameter (an untouched stub). Any error counts as "it did something": the engine runs
    the case again and reports it."""
    vae, x = case.args
    try:
        with pyro.get_param_store().scope(), torch.random.fork_rng(devices=[]), \
                warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trace = poutine.trace(fn).get_trace(x.clone(), vae)
    except Exception:
        return False
    return not any(site["type"] == "param" or (site["type"] == "sample"
                                              and type(site.get("fn")).__name__ != "_Subsample")
                   for site in trace.nodes.values())


_GUIDE_MISTAKES = [
    Mistake("variance_as_scale", "dist.Normal takes a standard deviation sigma, and you gave "
            "it the variance exp(logvar) = sigma^2. Take the square root, in log space.",
            spot=lambda r, e, c: _matches(r, _wrong_guide(lambda m, lv: (m, lv.exp()))(c))),
    Mistake("swapped", "mean and log-variance are swapped: vae.encode(x) returns (mu, logvar), "
            "in that order.",
            spot=lambda r, e, c: _matches(r, _wrong_guide(lambda m, lv: (lv, (0.5 * m).exp()))(c))),
    Mistake("prior_guide", "your guide ignores the image: its codes come from N(0, I), the "
            "prior. The guide is the encoder's Gaussian q(z|x): encode x first.",
            spot=lambda r, e, c: _matches(r, _wrong_guide(
                lambda m, lv: (torch.zeros_like(m), torch.ones_like(lv)))(c))),
]


def _matches(received: Any, wrong: torch.Tensor) -> bool:
    return isinstance(received, torch.Tensor) and received.shape == wrong.shape and bool(
        torch.isclose(received.double(), wrong.double(), rtol=1e-4, atol=1e-3).all())


def check_guide(fn: Callable[[torch.Tensor, VAE], None], *, verbose: bool = True,
                seed: int | None = None) -> CheckResult:
    """Check ``fn(x, vae)``: the amortised guide ``q(z|x)`` of a :class:`vae_utils.VAE` as a
    Pyro program.

    On each case (a fresh random VAE and a fresh binary batch; ``seed`` fixes them, for
    tests) the checker computes Pyro's ``TraceMeanField_ELBO`` loss of
    :func:`vae_utils.ppl.model` with ``fn`` as the guide, with Pyro's validation on and
    in a fresh parameter store, and compares it with a reference computed here without
    Pyro: ``-ELBO = sum_i [ BCE(decoder(z_i), x_i) + KL(N(mu_i, sigma_i^2) || N(0, I)) ]``
    with ``z_i = mu_i + sigma_i * eps_i``, the same ``eps`` (Kingma and Welling 2014, Eq. 10
    and Appendix B). It then checks that the guide registers the encoder's weights with
    ``pyro.module``. Passing :func:`vae_utils.ppl.guide` (or a copy or call of it) is
    refused.

    Returns:
        :class:`CheckResult`; recognised mistakes: ``library``, ``variance_as_scale``,
        ``swapped``, ``prior_guide``, ``event_dim``, ``no_plate``,
        ``logvar_as_scale``, ``site_name``, ``not_registered``.
    """
    cases = _guide_cases(seed)
    if callable(fn) and library_copy(fn, _LIBRARY) is None and _draws_nothing(fn, cases[0]):
        name = getattr(fn, "__name__", "your guide")
        return not_attempted("check_guide", f"{name} drew no sample site and registered no "
                             "network (is its body still the stub?).", verbose,
                             todo="Write your code where it says `# YOUR CODE HERE`, run that "
                                  "cell, then run this check again.")
    # A guide returns None by design: hand the engine a partial, which it runs as it is
    # (the engine reads a routine's None as an untouched stub; the refusal of the library
    # looks through the partial).
    answer = functools.partial(fn) if inspect.isroutine(fn) else fn
    return run_check("check_guide", answer, cases, None, mistakes=_GUIDE_MISTAKES,
                     generic_hint="inside pyro.plate(\"data\", len(x)), draw the site 'z' from "
                                  "a Normal whose mean and standard deviation come from "
                                  "vae.encode(x), as one event of D dimensions.",
                     verbose=verbose, source="an ELBO computed without Pyro under the same noise",
                     library=_LIBRARY)


# --------------------------------------------------------------------- 09: the gaps


def _gap_stats(a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    a = a.double()
    return a.mean(), a.std(correction=1) / math.sqrt(len(a))


def _gaps_reference(log_px: torch.Tensor, elbo_local: torch.Tensor, elbo_amortised: torch.Tensor
                    ) -> tuple[torch.Tensor, ...]:
    """(amortisation mean, SE, approximation mean, SE), in nats: Cremer, Li and Duvenaud
    2018, Table 1, with paired standard errors (the sample standard deviation of the
    per-image differences over sqrt(N))."""
    return (*_gap_stats(elbo_local - elbo_amortised), *_gap_stats(log_px - elbo_local))


def _gap_cases(seed: int | None = None) -> list[Case]:
    g = torch.Generator().manual_seed(fresh_seed(seed))

    def bounds(n: int, amort: float, approx: float, spread: float = 20.0) -> tuple:
        log_px = -95.0 - spread * torch.rand(n, generator=g, dtype=torch.float64)
        local = log_px - approx * torch.rand(n, generator=g, dtype=torch.float64) * 2
        amortised = local - amort * torch.rand(n, generator=g, dtype=torch.float64) * 2
        return log_px, local, amortised

    return [Case(name, bounds(*spec), rtol=1e-6, atol=1e-6, call=_gaps_call) for name, spec in [
        ("200 images, amortisation gap about 4 nats, approximation gap about 2", (200, 4.0, 2.0)),
        ("five images", (5, 1.0, 1.5)),
        ("two images: the standard error divides by N - 1", (2, 3.0, 0.5)),
        ("50 images, a large approximation gap and a small amortisation gap", (50, 0.3, 6.0)),
    ]]


def _gaps_call(fn: Callable, case: Case) -> tuple[torch.Tensor, ...]:
    out = fn(*(t.clone() for t in case.args))
    if out is None:
        return None
    if not isinstance(out, tuple | list) or len(out) != 4:
        raise AnswerError("return four numbers: (amortisation gap, its SE, approximation gap, "
                          f"its SE); got {type(out).__name__}"
                          + (f" of length {len(out)}" if isinstance(out, tuple | list) else "")
                          + ".", key="malformed")
    try:
        return tuple(torch.as_tensor(float(v), dtype=torch.float64) for v in out)
    except (TypeError, ValueError):
        raise AnswerError("each of the four must be one number (a float or a 0-d tensor); "
                          "reduce over the images.", key="malformed") from None


def _se_unpaired(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.sqrt(_gap_stats(a)[1] ** 2 + _gap_stats(b)[1] ** 2)


def _wrong_gaps(f: Callable) -> Callable:
    return lambda p, loc, am: tuple(torch.as_tensor(v, dtype=torch.float64) for v in f(p, loc, am))


def _close_tuple(received: Any, wrong: tuple) -> bool:
    return (isinstance(received, tuple) and len(received) == len(wrong)
            and all(bool(torch.isclose(r.double(), torch.as_tensor(w, dtype=torch.float64),
                                       rtol=1e-6, atol=1e-6)) for r, w in zip(received, wrong)))


def _gap_mistake(key: str, hint: str, f: Callable) -> Mistake:
    return Mistake(key, hint, spot=lambda r, e, c: _close_tuple(r, _wrong_gaps(f)(*c.args)))


_GAP_MISTAKES = [
    _gap_mistake("swapped", "the two gaps are in each other's place: the amortisation gap is "
                 "what the per-image Gaussian gains over the encoder's, ELBO[q*] - ELBO[q]; the "
                 "approximation gap is what even q* misses, log p(x) - ELBO[q*].",
                 lambda p, l, a: (*_gap_stats(p - l), *_gap_stats(l - a))),
    _gap_mistake("sign", "your gaps are negative: each is the larger bound minus the smaller "
                 "(log p(x) >= ELBO[q*] >= ELBO[q], up to noise).",
                 lambda p, l, a: (-_gap_stats(l - a)[0], _gap_stats(l - a)[1],
                                  -_gap_stats(p - l)[0], _gap_stats(p - l)[1])),
    _gap_mistake("inference_gap", "your approximation gap is the whole inference gap, log p(x) - "
                 "ELBO[q]: it includes the amortisation gap. Measure it from the best Gaussian, "
                 "q*.", lambda p, l, a: (*_gap_stats(l - a), *_gap_stats(p - a))),
    _gap_mistake("unpaired_se", "your standard errors treat the two bounds as independent "
                 "samples. They are measured on the same images: take the standard error of the "
                 "per-image differences (paired), which removes the spread between images.",
                 lambda p, l, a: (_gap_stats(l - a)[0], _se_unpaired(l, a),
                                  _gap_stats(p - l)[0], _se_unpaired(p, l))),
    _gap_mistake("sd_not_se", "that is the standard deviation of the per-image gaps, not the "
                 "standard error of their mean: divide by sqrt(N).",
                 lambda p, l, a: (_gap_stats(l - a)[0], _gap_stats(l - a)[1] * math.sqrt(len(p)),
                                  _gap_stats(p - l)[0], _gap_stats(p - l)[1] * math.sqrt(len(p)))),
    _gap_mistake("population_sd", "your standard errors use the population standard deviation "
                 "(divided by N); the sample standard deviation divides by N - 1 (torch.std's "
                 "default).",
                 lambda p, l, a: (_gap_stats(l - a)[0], (l - a).std(correction=0) / math.sqrt(len(p)),
                                  _gap_stats(p - l)[0], (p - l).std(correction=0) / math.sqrt(len(p)))),
]


def check_gaps(fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], tuple], *,
               verbose: bool = True, seed: int | None = None) -> CheckResult:
    """Check ``fn(log_px, elbo_local, elbo_amortised) -> (amort, amort_se, approx, approx_se)``.

    The arguments are float64 ``(N,)`` tensors of per-image bounds in nats: an estimate of
    ``log p(x)``, the ELBO under the per-image Gaussian ``q*`` and the ELBO under the
    encoder's ``q``. The answer: the mean amortisation gap ``ELBO[q*] - ELBO[q]`` and the
    mean approximation gap ``log p(x) - ELBO[q*]`` (Cremer, Li and Duvenaud 2018, Table 1),
    each with its paired standard error (the sample standard deviation of the per-image
    differences over ``sqrt(N)``). Cases are fresh at every call (``seed`` fixes them).

    Returns:
        :class:`CheckResult`; recognised mistakes: ``swapped``, ``sign``,
        ``inference_gap``, ``unpaired_se``, ``sd_not_se``, ``population_sd``, ``malformed``.
    """
    return run_check("check_gaps", fn, _gap_cases(seed), _gaps_reference, mistakes=_GAP_MISTAKES,
                     generic_hint="each gap is a difference of two bounds, image by image; "
                                  "report the mean of those differences and their standard "
                                  "error.",
                     verbose=verbose, source="Cremer et al. 2018, Table 1, with paired "
                                             "standard errors")
