"""Notebook 09's checkers: right answers pass, the usual wrong ones fail with the hint that
names the mistake (and never the solution), stubs read "not attempted", the library's own
guide is refused, and the references agree with Pyro and with the library."""

from __future__ import annotations

import math

import pyro
import pyro.distributions as dist
import pytest
import torch
from pyro.infer import TraceMeanField_ELBO

from vae_utils import ppl
from vae_utils.exercises import check_gaps, check_guide
from vae_utils.exercises.nb09_vae_as_a_probabilistic_program import (_gap_cases, _gaps_reference,
                                                                      _guide_cases,
                                                                      _guide_reference)

from .helpers import fails_with, gaps, pyro_guide, stub


def _guide(loc_scale, *, plate=True, event=True, register=True, name="z"):
    """A guide with one thing changed."""
    def g(x, vae):
        if register:
            for part in ("encoder", "fc_mu", "fc_logvar"):
                pyro.module(part, getattr(vae, part))
        mu, logvar = vae.encode(x)
        d = dist.Normal(*loc_scale(mu, logvar))
        d = d.to_event(1) if event else d
        if plate:
            with pyro.plate("data", len(x)):
                pyro.sample(name, d)
        else:
            pyro.sample(name, d)
    return g


RIGHT = lambda mu, lv: (mu, torch.exp(0.5 * lv))  # noqa: E731


# ------------------------------------------------------------------------ check_guide


def test_right_guides_pass(capsys):
    result = check_guide(pyro_guide)
    assert result.passed, result.message
    assert "[passed] check_guide" in capsys.readouterr().out
    assert check_guide(_guide(lambda mu, lv: (mu, lv.exp().sqrt())), verbose=False).passed


@pytest.mark.parametrize("wrong, key, words", [
    (_guide(lambda mu, lv: (mu, lv.exp())), "variance_as_scale", ["standard deviation"]),
    (_guide(lambda mu, lv: (lv, torch.exp(0.5 * mu))), "swapped", ["(mu, logvar)"]),
    (_guide(lambda mu, lv: (torch.zeros_like(mu), torch.ones_like(lv))), "prior_guide", ["prior"]),
    (_guide(lambda mu, lv: (mu, lv)), "logvar_as_scale", ["positive", "log-variance"]),
    (_guide(RIGHT, event=False), "event_dim", ["to_event"]),
    (_guide(RIGHT, plate=False), "no_plate", ["plate"]),
    (_guide(RIGHT, name="code"), "site_name", ["'z'"]),
    (_guide(RIGHT, register=False), "not_registered", ["pyro.module"]),
])
def test_guide_mistakes_are_recognised(wrong, key, words):
    fails_with(check_guide(wrong, verbose=False, seed=0), key, *words)


def test_guide_hints_never_print_the_solution():
    for wrong in (_guide(lambda mu, lv: (mu, lv.exp())), _guide(RIGHT, event=False)):
        text = check_guide(wrong, verbose=False).message
        assert "exp(0.5" not in text and "to_event(1))" not in text and "logvar / 2" not in text


def test_the_library_guide_is_refused():
    result = check_guide(ppl.guide, verbose=False)
    assert result.mistake == "library" and "yourself" in result.hint

    def mine(x, vae):
        return ppl.guide(x, vae)

    assert check_guide(mine, verbose=False).mistake == "library"


def test_guide_stub_and_crash():
    assert check_guide(stub, verbose=False).status == "not attempted"
    assert check_guide(lambda x, vae: None, verbose=False).status == "not attempted"
    assert check_guide(lambda x, vae: x @ x, verbose=False).status == "not attempted"  # drew nothing
    crash = check_guide(lambda x, vae: vae.encode(x.view(-1)), verbose=False)
    assert crash.status == "failed" and crash.mistake == "exception"


def test_guide_reference_is_pyros_elbo_of_the_library_guide():
    """The reference (no Pyro) equals Pyro's TraceMeanField_ELBO of ppl.model and ppl.guide
    under the same seed, on every case."""
    for case in _guide_cases(seed=3):
        vae, x = case.args
        torch.manual_seed(case.seed)
        ours = _guide_reference(case).item()
        with pyro.get_param_store().scope(), pyro.validation_enabled(True):
            torch.manual_seed(case.seed)
            theirs = TraceMeanField_ELBO().loss(ppl.model, ppl.guide, x, vae)
        assert ours == pytest.approx(theirs, rel=1e-5, abs=1e-3), case.name


def test_guide_cases_are_fresh_and_leave_the_param_store_alone():
    a, b = _guide_cases(), _guide_cases()
    assert not torch.equal(a[0].args[1], b[0].args[1]) or not torch.equal(
        a[0].args[0].fc_mu.weight, b[0].args[0].fc_mu.weight)
    pyro.clear_param_store()
    check_guide(pyro_guide, verbose=False)
    assert len(pyro.get_param_store()) == 0
    assert len({c.args[1].shape[0] for c in a}) == len(a)  # batch sizes differ
    assert all(c.args[1].shape[0] != c.args[0].latent_dim for c in a)  # B != D: to_event shows


# ------------------------------------------------------------------------- check_gaps


def test_gaps_right_answer_passes():
    assert check_gaps(gaps, verbose=False).passed

    def floats(log_px, local, amortised):  # plain floats, float64 by hand
        a = (local - amortised).tolist()
        b = (log_px - local).tolist()
        def mean_se(v):
            m = sum(v) / len(v)
            return m, math.sqrt(sum((u - m) ** 2 for u in v) / (len(v) - 1) / len(v))
        return (*mean_se(a), *mean_se(b))

    assert check_gaps(floats, verbose=False).passed


def _se(v):
    return v.std() / math.sqrt(len(v))


@pytest.mark.parametrize("wrong, key, words", [
    (lambda p, l, a: (*gaps(p, l, a)[2:], *gaps(p, l, a)[:2]), "swapped", ["ELBO[q*] - ELBO[q]"]),
    (lambda p, l, a: (-(l - a).mean(), _se(l - a), -(p - l).mean(), _se(p - l)), "sign",
     ["negative"]),
    (lambda p, l, a: ((l - a).mean(), _se(l - a), (p - a).mean(), _se(p - a)), "inference_gap",
     ["inference gap"]),
    (lambda p, l, a: ((l - a).mean(), (_se(l) ** 2 + _se(a) ** 2).sqrt(), (p - l).mean(),
                      (_se(p) ** 2 + _se(l) ** 2).sqrt()), "unpaired_se", ["paired"]),
    (lambda p, l, a: ((l - a).mean(), (l - a).std(), (p - l).mean(), (p - l).std()), "sd_not_se",
     ["sqrt(N)"]),
    (lambda p, l, a: ((l - a).mean(), (l - a).std(correction=0) / len(p) ** 0.5, (p - l).mean(),
                      (p - l).std(correction=0) / len(p) ** 0.5), "population_sd", ["N - 1"]),
    (lambda p, l, a: ((l - a).mean(), (p - l).mean()), "malformed", ["four numbers"]),
    (lambda p, l, a: (l - a, _se(l - a), p - l, _se(p - l)), "malformed", ["one number"]),
])
def test_gap_mistakes_are_recognised(wrong, key, words):
    fails_with(check_gaps(wrong, verbose=False), key, *words)


def test_gaps_stub_and_reference():
    assert check_gaps(stub, verbose=False).status == "not attempted"
    p = torch.tensor([-100.0, -102.0, -98.0], dtype=torch.float64)
    l = p - torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    a = l - torch.tensor([4.0, 4.0, 7.0], dtype=torch.float64)
    amort, amort_se, approx, approx_se = _gaps_reference(p, l, a)
    assert amort.item() == pytest.approx(5.0) and approx.item() == pytest.approx(2.0)
    assert amort_se.item() == pytest.approx(math.sqrt(3.0) / math.sqrt(3))  # sd 1.732 / sqrt 3
    assert approx_se.item() == pytest.approx(1.0 / math.sqrt(3))
    cases = _gap_cases(seed=1)
    assert {len(c.args[0]) for c in cases} >= {2, 5, 200}
