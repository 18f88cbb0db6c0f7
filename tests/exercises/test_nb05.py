"""Notebook 05's checker ``check_slerp``: right answers pass, the usual wrong ones fail
with the hint that names the mistake, and the reference keeps the angle linear in ``t``."""

import pytest
import torch
import torch.nn.functional as F

from vae_utils.exercises import check_slerp

from .helpers import fails_with, slerp_formula


def slerp_float64_batched(z0, z1, t):
    """Returns (1, D), as vae_utils.latent.slerp does; computed in float64."""
    a, b = z0.double(), z1.double()
    omega = torch.arccos(torch.clamp(F.cosine_similarity(a, b, dim=0), -1, 1))
    so = torch.sin(omega)
    t = torch.tensor([[t]], dtype=torch.float64)
    if so.abs() < 1e-6:
        return (1 - t) * a + t * b
    return torch.sin((1 - t) * omega) / so * a + torch.sin(t * omega) / so * b


@pytest.mark.parametrize("fn", [slerp_formula, slerp_float64_batched])
def test_slerp_correct_answers_pass(fn):
    assert check_slerp(fn, verbose=False).passed


def _slerp_no_fallback(z0, z1, t):
    omega = torch.arccos(z0 @ z1 / (z0.norm() * z1.norm()))
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


@pytest.mark.parametrize("fn, key, words", [
    (lambda z0, z1, t: (1 - t) * z0 + t * z1, "lerp", ["linear interpolation"]),
    (lambda z0, z1, t: slerp_formula(z0, z1, 1 - t), "swapped_t", ["backwards"]),
    (lambda z0, z1, t: slerp_formula(z0 / z0.norm(), z1 / z1.norm(), t), "normalised_output",
     ["unit length"]),
    (lambda z0, z1, t: _slerp_unnormalised_angle(z0, z1, t), "unnormalised_angle",
     ["(|z0| |z1|)"]),
    (_slerp_no_fallback, "parallel", ["parallel", "lerp"]),
])
def test_slerp_wrong_answers_get_the_matching_hint(fn, key, words):
    fails_with(check_slerp(fn, verbose=False), key, *words)


def _slerp_unnormalised_angle(z0, z1, t):
    omega = torch.arccos(torch.clamp(z0 @ z1, -1, 1))
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


def test_slerp_reference_keeps_the_angle_linear_in_t():
    """Invariant behind the checker's reference: for unit vectors, angle(z0, slerp(t)) =
    t * angle(z0, z1) and the norm stays 1."""
    from vae_utils.exercises.nb05_interpolation_gif import _slerp_ref
    g = torch.Generator().manual_seed(0)
    z0, z1 = (F.normalize(torch.randn(20, generator=g, dtype=torch.float64), dim=0)
              for _ in range(2))
    total = torch.arccos(F.cosine_similarity(z0, z1, dim=0))
    for t in (0.2, 0.5, 0.9):
        z = _slerp_ref(z0, z1, t)
        torch.testing.assert_close(torch.arccos(F.cosine_similarity(z0, z, dim=0)), t * total)
        torch.testing.assert_close(z.norm(), torch.tensor(1.0, dtype=torch.float64))
