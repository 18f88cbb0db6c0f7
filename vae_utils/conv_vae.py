"""A convolutional VAE: the same Gaussian encoder and Bernoulli decoder as :class:`VAE`,
with convolutions in place of the first and last dense layers.

The architecture is built after the TensorFlow tutorial "Convolutional Variational Autoencoder"
(tensorflow.org/tutorials/generative/cvae): two stride-2 convolutions bring the image from
28 x 28 to 14 x 14 to 7 x 7, a flatten and one linear layer per Gaussian parameter give
``mu`` and ``logvar``; the decoder mirrors it (a linear layer back to 7 x 7 feature maps,
then two stride-2 transposed convolutions, 7 -> 14 -> 28). We use 4 x 4 kernels with
padding 1, which halve (and double) the size exactly, so the decoder mirrors the encoder
layer for layer. The maths (ELBO, reparameterisation, KL) is that of Kingma and Welling
2014, "Auto-Encoding Variational Bayes", unchanged: only the networks differ.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._checks import IMAGE_SHAPE
from .models import GaussianVAE, _latent_dim, _sizes

__all__ = ["ConvVAE"]


class ConvVAE(GaussianVAE):
    """A VAE with a convolutional encoder and a transposed-convolutional decoder.

    Encoder (``C1, C2 = channels``; shapes for a batch of ``B`` images)::

        x (B, 1, 28, 28)
        Conv2d(1, C1, 4, stride 2, padding 1) + ReLU   -> (B, C1, 14, 14)
        Conv2d(C1, C2, 4, stride 2, padding 1) + ReLU  -> (B, C2, 7, 7)
        flatten                                        -> (B, C2 * 49)
        fc_mu, fc_logvar: Linear(C2 * 49, D)           -> (B, D) each, no activation

    Decoder (the mirror image)::

        z (B, D)
        Linear(D, C2 * 49) + ReLU, unflatten           -> (B, C2, 7, 7)
        ConvTranspose2d(C2, C1, 4, stride 2, pad 1) + ReLU -> (B, C1, 14, 14)
        ConvTranspose2d(C1, 1, 4, stride 2, pad 1)     -> logits (B, 1, 28, 28)

    After the TensorFlow tutorial "Convolutional Variational Autoencoder" (two stride-2
    convolutions, 32 and 64 channels, the default here); the loss is the negative ELBO of
    Kingma and Welling 2014 as for :class:`VAE`, and :func:`vae_utils.fit`,
    :func:`vae_utils.evaluate`, :func:`vae_utils.iwae_bound` and the checkpoints treat it
    like any VAE: it defines only ``encode``, ``decode`` and ``config``, and inherits
    ``forward``, ``sample``, ``reconstruct``, ``loss_terms`` and ``log_weights`` from
    :class:`~vae_utils.models.GaussianVAE`.

    Args:
        latent_dim: size ``D`` of ``z``.
        channels: ``(C1, C2)``, the channels of the two convolutions.

    Raises:
        TypeError: ``channels`` is not a sequence (``ConvVAE(16, 32)``).
        ValueError: ``latent_dim`` or a channel count not a positive integer, or
            ``channels`` not of length 2.
    """

    def __init__(self, latent_dim: int = 16, channels: Sequence[int] = (32, 64)) -> None:
        super().__init__()
        self.latent_dim = latent_dim = _latent_dim(latent_dim)
        if isinstance(channels, str | bytes) or not hasattr(channels, "__iter__"):
            raise TypeError(f"channels must be two integers (C1, C2) such as (32, 64); got "
                            f"{channels!r}. ConvVAE's arguments are (latent_dim, channels).")
        channels = _sizes("channels", channels, "(32, 64)", length=2)
        self.channels = channels
        c1, c2 = channels
        self.encoder = nn.Sequential(
            nn.Conv2d(1, c1, 4, stride=2, padding=1),  # (B, 1, 28, 28) -> (B, C1, 14, 14)
            nn.ReLU(),
            nn.Conv2d(c1, c2, 4, stride=2, padding=1),  # (B, C1, 14, 14) -> (B, C2, 7, 7)
            nn.ReLU(),
            nn.Flatten(),  # (B, C2, 7, 7) -> (B, C2 * 49)
        )
        width = c2 * 7 * 7
        self.fc_mu = nn.Linear(width, latent_dim)  # (B, C2 * 49) -> (B, D), no activation
        self.fc_logvar = nn.Linear(width, latent_dim)  # (B, C2 * 49) -> (B, D), no activation
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, width),  # (B, D) -> (B, C2 * 49)
            nn.ReLU(),
            nn.Unflatten(1, (c2, 7, 7)),  # (B, C2 * 49) -> (B, C2, 7, 7)
            nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1),  # -> (B, C1, 14, 14)
            nn.ReLU(),
            nn.ConvTranspose2d(c1, 1, 4, stride=2, padding=1),  # -> (B, 1, 28, 28), logits
        )

    def config(self) -> dict:
        """Constructor arguments, stored in checkpoints so the model can be rebuilt."""
        return {"latent_dim": self.latent_dim, "channels": list(self.channels)}

    def encode(self, x: torch.Tensor, y: None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Images -> ``(mu, logvar)`` of ``q(z|x)``.

        Args:
            x: float ``(B, 1, 28, 28)`` in [0, 1] (``(B, 784)`` is reshaped).

        Returns:
            ``(mu, logvar)``, each float ``(B, D)``.

        Raises:
            TypeError: ``x`` is not a float tensor (a numpy array, integer pixels), or its
                dtype is not the model's.
            ValueError: ``x`` does not hold 28 x 28 images with a batch dimension, or a
                ``y`` was given (this model takes no labels).
            RuntimeError: ``x`` is on another device than the model.
        """
        self._check_x(x)
        self.condition(y, len(x))
        h = self.encoder(x.reshape(-1, *IMAGE_SHAPE))  # (B, 1, 28, 28) -> (B, C2 * 49)
        return self.fc_mu(h), self.fc_logvar(h)  # (B, D) each

    def decode(self, z: torch.Tensor, y: None = None) -> torch.Tensor:
        """Latent codes ``z`` float ``(B, D)`` -> logits ``(B, 1, 28, 28)``.

        Raises:
            TypeError: ``z`` is not a float tensor of the model's dtype.
            ValueError: ``z`` is not ``(B, latent_dim)``.
            RuntimeError: ``z`` is on another device than the model.
        """
        self._check_z(z)
        self.condition(y, len(z))
        return self.decoder(z)  # (B, D) -> (B, 1, 28, 28)

