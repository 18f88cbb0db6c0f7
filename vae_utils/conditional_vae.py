"""A conditional VAE: encoder and decoder both see the digit's label, one-hot.

Sohn, Lee and Yan 2015, "Learning Structured Output Representation using Deep Conditional
Generative Models" (NeurIPS), Section 4, introduced the conditional VAE for structured
output prediction (an output given an input, such as a segmentation given an image), with
a recognition network, a prior network that depends on the input and a generation network.
This module conditions the image ``x`` on the digit class ``y`` with a fixed prior
``p(z | y) = N(0, I)``: model M2 of Kingma, Rezende, Mohamed and Welling 2014,
"Semi-Supervised Learning with Deep Generative Models" (NeurIPS), Section 2.2, with every
label observed, so

    log p(x | y) >= E_{q(z|x,y)}[ log p(x | z, y) ] - KL( q(z | x, y) || N(0, I) ).

The loss is then the usual negative ELBO (reconstruction plus the closed-form KL of
:func:`vae_utils.losses.elbo_loss`), and ``z`` is free to carry what the label does not:
the style of the handwriting.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from . import _checks
from ._checks import IMAGE_SHAPE
from .models import GaussianVAE, _latent_dim, _mlp, _sizes

__all__ = ["ConditionalVAE"]


class ConditionalVAE(GaussianVAE):
    """A VAE conditioned on the digit label: ``q(z | x, y)`` and ``p(x | z, y)``.

    The label ``y`` enters both networks as a one-hot vector of ``num_classes`` entries,
    concatenated to the input (Kingma et al. 2014's M2 with the label observed; the prior is
    ``N(0, I)``, see the module's docstring)::

        encoder: [x flattened (B, 784), one_hot(y) (B, C)] (B, 784 + C)
                 -> hidden_dims with ReLU -> (B, H)
                 -> fc_mu, fc_logvar: Linear(H, D)      -> (B, D) each
        decoder: [z (B, D), one_hot(y) (B, C)] (B, D + C)
                 -> reversed hidden_dims with ReLU -> Linear(., 784) -> logits (B, 1, 28, 28)

    ``num_classes`` makes it conditional: :func:`vae_utils.fit`, :func:`vae_utils.evaluate`
    and :func:`vae_utils.iwae_bound` pass its labels (``y_train=``, ``y_test=``, ``y=``)
    to the model's own ``loss_terms`` and ``log_weights``, and ``sample(n, y)`` draws
    digits of the given classes; all three are inherited from
    :class:`~vae_utils.models.GaussianVAE`. Checkpoints store ``latent_dim``,
    ``hidden_dims`` and ``num_classes``.

    Args:
        latent_dim: size ``D`` of ``z``.
        hidden_dims: hidden layer sizes of the encoder (the decoder uses them reversed).
        num_classes: number of classes ``C`` (10 digits).

    Raises:
        ValueError: non-positive sizes, or ``num_classes`` < 2.
    """

    def __init__(self, latent_dim: int = 2, hidden_dims: Sequence[int] = (400,),
                 num_classes: int = 10) -> None:
        super().__init__()
        self.latent_dim = latent_dim = _latent_dim(latent_dim)
        self.hidden_dims = hidden = _sizes("hidden_dims", hidden_dims, "(400,)")
        if not _checks.is_int(num_classes) or num_classes < 2:
            raise ValueError(f"num_classes must be an integer >= 2; got {num_classes!r}.")
        num_classes = int(num_classes)
        self.num_classes = num_classes
        n_in = self.n_pixels + num_classes
        width = hidden[-1] if hidden else n_in
        self.encoder = (nn.Sequential(*_mlp((n_in, *hidden)), nn.ReLU())
                        if hidden else nn.Identity())  # (B, 784 + C) -> (B, H)
        self.fc_mu = nn.Linear(width, latent_dim)  # (B, H) -> (B, D), no activation
        self.fc_logvar = nn.Linear(width, latent_dim)  # (B, H) -> (B, D), no activation
        self.decoder = _mlp((latent_dim + num_classes, *hidden[::-1],
                             self.n_pixels))  # (B, D + C) -> (B, 784)

    def config(self) -> dict:
        """Constructor arguments, stored in checkpoints so the model can be rebuilt."""
        return {"latent_dim": self.latent_dim, "hidden_dims": list(self.hidden_dims),
                "num_classes": self.num_classes}

    def encode(self, x: torch.Tensor, y: torch.Tensor | int | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """Images and labels -> ``(mu, logvar)`` of ``q(z | x, y)``.

        Args:
            x: float ``(B, 1, 28, 28)`` in [0, 1] (or ``(B, 784)``).
            y: int64 ``(B,)`` labels (or one ``int`` for all).

        Returns:
            ``(mu, logvar)``, each float ``(B, D)``.

        Raises:
            TypeError: ``x`` is not a float tensor of the model's dtype (a numpy array,
                integer pixels, float64 for a float32 model); labels not integers.
            ValueError: bad image shape; labels missing, of the wrong shape or out of
                range.
            RuntimeError: ``x`` is on another device than the model.
        """
        self._check_x(x)
        h = torch.cat((x.flatten(1), self.condition(y, len(x))), dim=1)  # (B, 784 + C)
        h = self.encoder(h)  # (B, 784 + C) -> (B, H)
        return self.fc_mu(h), self.fc_logvar(h)  # (B, D) each

    def decode(self, z: torch.Tensor, y: torch.Tensor | int | None = None) -> torch.Tensor:
        """Codes and labels -> logits ``(B, 1, 28, 28)`` of ``p(x | z, y)``.

        Args:
            z: float ``(B, D)``.
            y: int64 ``(B,)`` labels (or one ``int`` for all).

        Raises:
            TypeError: ``z`` is not a float tensor of the model's dtype; labels not
                integers.
            ValueError: ``z`` not ``(B, latent_dim)``; labels missing, of the wrong shape
                or out of range.
            RuntimeError: ``z`` is on another device than the model.
        """
        self._check_z(z)
        h = torch.cat((z, self.condition(y, len(z))), dim=1)  # (B, D) + (B, C) -> (B, D + C)
        return self.decoder(h).view(-1, *IMAGE_SHAPE)  # (B, 784) -> (B, 1, 28, 28)
