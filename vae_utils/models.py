"""The course's two models: a plain ``Autoencoder`` and a ``VAE``, both small MLPs.

The default sizes are those of the reference PyTorch VAE example (784-400-20), after
Kingma and Welling 2014, "Auto-Encoding Variational Bayes", Appendix C.2.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["Autoencoder", "VAE", "reparameterize"]

IMAGE_SHAPE = (1, 28, 28)


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """Draw ``z ~ N(mu, diag(exp(logvar)))`` so that gradients reach ``mu`` and ``logvar``.

    The reparameterisation trick (Kingma and Welling 2014, Section 2.4, Eq. 10 with the
    Gaussian case of Section 2.6): ``z = mu + sigma * eps`` with ``eps ~ N(0, I)`` and
    ``sigma = exp(logvar / 2)``. The randomness sits in ``eps``, which does not depend on
    the parameters, so ``z`` is a differentiable function of ``mu`` and ``logvar``.

    Args:
        mu: mean, float ``(B, D)``.
        logvar: log-variance ``log sigma^2``, float ``(B, D)`` (not sigma, not variance).
        generator: optional ``torch.Generator`` for reproducible draws.

    Returns:
        ``z``, float ``(B, D)``.

    Raises:
        ValueError: ``mu`` and ``logvar`` differ in shape.
    """
    if mu.shape != logvar.shape:
        raise ValueError(f"mu and logvar must have the same shape; got {tuple(mu.shape)} and "
                         f"{tuple(logvar.shape)}.")
    std = torch.exp(0.5 * logvar)
    if generator is None:
        eps = torch.randn_like(std)
    else:
        eps = torch.randn(std.shape, generator=generator, dtype=std.dtype, device=std.device)
    return mu + std * eps


def _mlp(sizes: Sequence[int]) -> nn.Sequential:
    """Linear layers of the given sizes with ReLU between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def _check_sizes(latent_dim: int, hidden_dims: Sequence[int]) -> tuple[int, ...]:
    if not isinstance(latent_dim, int) or latent_dim < 1:
        raise ValueError(f"latent_dim must be a positive integer; got {latent_dim!r}.")
    hidden = tuple(hidden_dims)
    if not all(isinstance(h, int) and h > 0 for h in hidden):
        raise ValueError(f"hidden_dims must be positive integers; got {hidden_dims!r}.")
    return hidden


class _SizedModel(nn.Module):
    """What both models share: their sizes, and the config that checkpoints store."""

    n_pixels = 784

    def _set_sizes(self, latent_dim: int, hidden_dims: Sequence[int]) -> tuple[int, ...]:
        hidden = _check_sizes(latent_dim, hidden_dims)
        self.latent_dim = latent_dim
        self.hidden_dims = hidden
        return hidden

    def config(self) -> dict:
        """Constructor arguments, stored in checkpoints so a model can be rebuilt."""
        return {"latent_dim": self.latent_dim, "hidden_dims": list(self.hidden_dims)}


def _check_images(x: torch.Tensor, n_pixels: int) -> None:
    if x.dim() < 2 or x[0].numel() != n_pixels:
        raise ValueError(f"expected images of shape (B, 1, 28, 28) or (B, {n_pixels}); got "
                         f"{tuple(x.shape)}. Add a batch dimension with x.unsqueeze(0) for "
                         "a single image.")


class Autoencoder(_SizedModel):
    """A plain (deterministic) autoencoder: ``x -> z -> logits``.

    Encoder ``784 -> hidden_dims -> latent_dim`` with ReLU between layers and a linear
    code; the decoder mirrors it and returns logits (apply ``torch.sigmoid`` for pixel
    intensities).

    Args:
        latent_dim: size ``D`` of the code ``z``.
        hidden_dims: hidden layer sizes of the encoder (the decoder uses them reversed).

    Raises:
        ValueError: non-positive sizes.
    """

    def __init__(self, latent_dim: int = 20, hidden_dims: Sequence[int] = (400,)) -> None:
        super().__init__()
        hidden = self._set_sizes(latent_dim, hidden_dims)
        self.encoder = _mlp((self.n_pixels, *hidden, latent_dim))  # (B, 784) -> (B, D)
        self.decoder = _mlp((latent_dim, *hidden[::-1], self.n_pixels))  # (B, D) -> (B, 784)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images ``(B, 1, 28, 28)`` (or ``(B, 784)``) in [0, 1] -> codes ``z`` ``(B, D)``."""
        _check_images(x, self.n_pixels)
        return self.encoder(x.flatten(1))  # (B, 784) -> (B, D)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Codes ``z`` ``(B, D)`` -> logits ``(B, 1, 28, 28)``."""
        return self.decoder(z).view(-1, *IMAGE_SHAPE)  # (B, D) -> (B, 784) -> (B, 1, 28, 28)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns ``(logits, z)``: logits ``(B, 1, 28, 28)`` and codes ``(B, D)``."""
        z = self.encode(x)
        return self.decode(z), z


class VAE(_SizedModel):
    """A variational autoencoder with a diagonal Gaussian encoder and a Bernoulli decoder.

    Kingma and Welling 2014, "Auto-Encoding Variational Bayes", Appendix C.2: the encoder
    maps ``x`` to the mean ``mu`` and log-variance ``logvar`` of ``q(z|x)`` through two
    linear heads (no activation on either: ``mu`` can be any real number and ``logvar``
    too, since ``sigma^2 = exp(logvar)`` is then always positive). The decoder maps ``z``
    to the logits of independent Bernoulli pixels.

    ``forward`` always samples ``z`` with :func:`reparameterize`, in training and in
    evaluation mode alike; ask for the mean explicitly (``encode(x)[0]``, or
    ``reconstruct(x, use_mean=True)``) when a figure wants it.

    Args:
        latent_dim: size ``D`` of ``z``.
        hidden_dims: hidden layer sizes of the encoder (the decoder uses them reversed).

    Raises:
        ValueError: non-positive sizes.
    """

    def __init__(self, latent_dim: int = 20, hidden_dims: Sequence[int] = (400,)) -> None:
        super().__init__()
        hidden = self._set_sizes(latent_dim, hidden_dims)
        width = hidden[-1] if hidden else self.n_pixels
        self.encoder = (nn.Sequential(*_mlp((self.n_pixels, *hidden)), nn.ReLU())
                        if hidden else nn.Identity())  # (B, 784) -> (B, H)
        self.fc_mu = nn.Linear(width, latent_dim)  # (B, H) -> (B, D), no activation
        self.fc_logvar = nn.Linear(width, latent_dim)  # (B, H) -> (B, D), no activation
        self.decoder = _mlp((latent_dim, *hidden[::-1], self.n_pixels))  # (B, D) -> (B, 784)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Images ``(B, 1, 28, 28)`` (or ``(B, 784)``) -> ``(mu, logvar)``, each ``(B, D)``."""
        _check_images(x, self.n_pixels)
        h = self.encoder(x.flatten(1))  # (B, 784) -> (B, H)
        return self.fc_mu(h), self.fc_logvar(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latent codes ``z`` ``(B, D)`` -> logits ``(B, 1, 28, 28)``."""
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must have shape (B, {self.latent_dim}); got {tuple(z.shape)}.")
        return self.decoder(z).view(-1, *IMAGE_SHAPE)  # (B, D) -> (B, 784) -> (B, 1, 28, 28)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns ``(logits, mu, logvar)`` with ``z`` sampled from ``q(z|x)`` (any mode)."""
        mu, logvar = self.encode(x)
        z = reparameterize(mu, logvar)  # (B, D)
        return self.decode(z), mu, logvar

    @torch.no_grad()
    def sample(self, n: int, *, temperature: float = 1.0,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """Generate ``n`` images: ``z ~ N(0, temperature^2 I)``, then decode.

        Args:
            n: number of images.
            temperature: scale of ``z``; 1.0 samples the prior itself.
            generator: optional ``torch.Generator`` (on the model's device) for
                reproducible samples.

        Returns:
            Pixel probabilities ``sigmoid(logits)``, float ``(n, 1, 28, 28)`` in [0, 1]
            (the Bernoulli means; draw ``torch.bernoulli`` of them for binary images).
        """
        if n < 1:
            raise ValueError(f"n must be at least 1; got {n}.")
        device = next(self.parameters()).device
        z = torch.randn(n, self.latent_dim, generator=generator, device=device) * temperature
        return torch.sigmoid(self.decode(z))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, *, use_mean: bool = True) -> torch.Tensor:
        """Pixel probabilities ``(B, 1, 28, 28)`` of decoding ``x``'s code.

        ``use_mean=True`` decodes ``mu`` (the usual picture); ``False`` decodes a sample.
        """
        mu, logvar = self.encode(x)
        z = mu if use_mean else reparameterize(mu, logvar)
        return torch.sigmoid(self.decode(z))
