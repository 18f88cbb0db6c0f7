"""The course's two models: a plain ``Autoencoder`` and a ``VAE``, both small MLPs.

The default sizes are those of the reference PyTorch VAE example (784-400-20), after
Kingma and Welling 2014, "Auto-Encoding Variational Bayes", Appendix C.2.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import torch
from torch import nn

from .losses import _require_float_tensor, _same_device, _type_name

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
        TypeError: ``mu`` or ``logvar`` is not a floating-point ``torch.Tensor``.
        ValueError: ``mu`` and ``logvar`` differ in shape.
        RuntimeError: they are on different devices.
    """
    _require_float_tensor(mu, "mu")
    _require_float_tensor(logvar, "logvar")
    _same_device(mu=mu, logvar=logvar)
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


def _is_int(value: object) -> bool:
    """An integer (Python or NumPy), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_sizes(latent_dim: int, hidden_dims: Sequence[int]) -> tuple[int, tuple[int, ...]]:
    """``(latent_dim, hidden_dims)`` as plain ints; ``TypeError``/``ValueError`` naming the
    fix otherwise."""
    if not _is_int(latent_dim):
        raise TypeError(f"latent_dim must be an integer such as 20; got {latent_dim!r}.")
    if latent_dim < 1:
        raise ValueError(f"latent_dim must be a positive integer; got {latent_dim!r}.")
    if isinstance(hidden_dims, str | bytes) or not isinstance(hidden_dims, Sequence | range) \
            and not hasattr(hidden_dims, "__iter__"):
        raise TypeError(f"hidden_dims must be a sequence of ints such as (400,); got "
                        f"{hidden_dims!r}. For one hidden layer of 400 units write "
                        "hidden_dims=(400,) (the comma makes it a tuple).")
    hidden = tuple(hidden_dims)
    if not all(_is_int(h) for h in hidden):
        raise TypeError(f"hidden_dims must be a sequence of ints such as (400,); got "
                        f"{hidden_dims!r}.")
    if not all(h > 0 for h in hidden):
        raise ValueError(f"hidden_dims must be positive integers; got {hidden_dims!r}.")
    return int(latent_dim), tuple(int(h) for h in hidden)


class _SizedModel(nn.Module):
    """What both models share: their sizes, and the config that checkpoints store."""

    n_pixels = 784

    def _set_sizes(self, latent_dim: int, hidden_dims: Sequence[int]) -> tuple[int, ...]:
        latent_dim, hidden = _check_sizes(latent_dim, hidden_dims)
        self.latent_dim = latent_dim
        self.hidden_dims = hidden
        return hidden

    def config(self) -> dict:
        """Constructor arguments, stored in checkpoints so a model can be rebuilt."""
        return {"latent_dim": self.latent_dim, "hidden_dims": list(self.hidden_dims)}


def _is_compiling() -> bool:
    """``torch.compiler.is_compiling()`` (torch >= 2.3), or its older home."""
    check = getattr(getattr(torch, "compiler", None), "is_compiling", None)
    if check is None:  # pragma: no cover - torch 2.2
        import importlib

        check = importlib.import_module("torch._dynamo").is_compiling
    return bool(check())


def _autocast_on(device_type: str) -> bool:
    """Whether autocast is active for this device type (any torch >= 2.2)."""
    try:
        return bool(torch.is_autocast_enabled(device_type))
    except TypeError:  # pragma: no cover - torch < 2.4 takes no device type
        if device_type == "cpu":
            return bool(torch.is_autocast_cpu_enabled())
        return bool(torch.is_autocast_enabled())


def _check_input(x: torch.Tensor, like: torch.Tensor | None, name: str, *, images: bool) -> None:
    """Type, dtype and device of a model input against a weight ``like`` of the model.

    Reads only metadata (no host synchronisation), and is skipped while ``torch.compile``
    traces (``fit`` has checked its data by then).
    """
    if _is_compiling():
        return
    _require_float_tensor(x, name, images=images)
    if like is None:
        return
    if x.dtype != like.dtype and not _autocast_on(x.device.type):
        raise TypeError(f"{name} is {x.dtype} but the model's weights are {like.dtype}. Convert "
                        f"the input with {name}.to({like.dtype}) ({name}.float() for float32), "
                        "or the model with model.to(dtype).")
    if x.device != like.device:
        raise RuntimeError(f"{name} is on {x.device} but the model is on {like.device}. Move "
                           f"the input with {name}.to(device) (device = "
                           "next(model.parameters()).device).")


def _check_images(x: torch.Tensor, n_pixels: int, like: torch.Tensor | None = None) -> None:
    """Images ``(B, 1, 28, 28)`` or ``(B, n_pixels)`` as float tensors that match the model
    weight ``like`` in dtype and device; ``TypeError``/``ValueError``/``RuntimeError``
    naming the fix otherwise. The values are not read (no host synchronisation)."""
    _check_input(x, like, "x", images=True)
    if x.dim() < 2 or x[0].numel() != n_pixels:
        raise ValueError(f"expected images of shape (B, 1, 28, 28) or (B, {n_pixels}); got "
                         f"{tuple(x.shape)}. Add a batch dimension with x.unsqueeze(0) for "
                         "a single image.")


def _check_codes(z: torch.Tensor, latent_dim: int, like: torch.Tensor | None) -> None:
    """Codes ``(B, latent_dim)``: float, the model's dtype and device."""
    _check_input(z, like, "z", images=False)
    if z.dim() != 2 or z.shape[1] != latent_dim:
        raise ValueError(f"z must have shape (B, {latent_dim}); got {tuple(z.shape)}. For one "
                         "code write z.unsqueeze(0) (or z.view(1, -1)).")


def _weight(model: nn.Module) -> torch.Tensor | None:
    """A parameter of ``model``: its dtype and device are the model's."""
    return next(model.parameters(), None)


class Autoencoder(_SizedModel):
    """A plain (deterministic) autoencoder: ``x -> z -> logits``.

    Encoder ``784 -> hidden_dims -> latent_dim`` with ReLU between layers and a linear
    code; the decoder mirrors it and returns logits (apply ``torch.sigmoid`` for pixel
    intensities).

    Args:
        latent_dim: size ``D`` of the code ``z``.
        hidden_dims: hidden layer sizes of the encoder, a sequence of ints such as
            ``(400,)`` (the decoder uses them reversed).

    Raises:
        TypeError: ``latent_dim`` is not an integer, or ``hidden_dims`` is not a sequence
            of integers (``Autoencoder(2, 400)`` instead of ``(400,)``).
        ValueError: non-positive sizes.

    Calling the model (``model(x)``, ``encode``, ``decode``) raises ``TypeError`` for an
    input that is not a float tensor of the model's dtype (a NumPy array, uint8 or bool
    images), ``ValueError`` for a wrong shape and ``RuntimeError`` for another device; it
    does not read the values (no host synchronisation), so it does not check ``[0, 1]``.
    """

    def __init__(self, latent_dim: int = 20, hidden_dims: Sequence[int] = (400,)) -> None:
        super().__init__()
        hidden = self._set_sizes(latent_dim, hidden_dims)
        latent_dim = self.latent_dim
        self.encoder = _mlp((self.n_pixels, *hidden, latent_dim))  # (B, 784) -> (B, D)
        self.decoder = _mlp((latent_dim, *hidden[::-1], self.n_pixels))  # (B, D) -> (B, 784)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images ``(B, 1, 28, 28)`` (or ``(B, 784)``) in [0, 1] -> codes ``z`` ``(B, D)``."""
        _check_images(x, self.n_pixels, _weight(self))
        return self.encoder(x.flatten(1))  # (B, 784) -> (B, D)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Codes ``z`` ``(B, D)`` -> logits ``(B, 1, 28, 28)``."""
        _check_codes(z, self.latent_dim, _weight(self))
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
        hidden_dims: hidden layer sizes of the encoder, a sequence of ints such as
            ``(400,)`` (the decoder uses them reversed).

    Raises:
        TypeError: ``latent_dim`` is not an integer, or ``hidden_dims`` is not a sequence
            of integers (``VAE(20, 400)`` instead of ``VAE(20, (400,))``).
        ValueError: non-positive sizes.

    Calling the model (``model(x)``, ``encode``, ``decode``, ``reconstruct``) raises
    ``TypeError`` for an input that is not a float tensor of the model's dtype (a NumPy
    array, uint8 or bool images, float64 images for a float32 model), ``ValueError`` for a
    wrong shape and ``RuntimeError`` for another device. It does not read the values (no
    host synchronisation), so it does not check ``[0, 1]``: :func:`vae_utils.train.fit`
    and :func:`vae_utils.train.evaluate` do.
    """

    def __init__(self, latent_dim: int = 20, hidden_dims: Sequence[int] = (400,)) -> None:
        super().__init__()
        hidden = self._set_sizes(latent_dim, hidden_dims)
        latent_dim = self.latent_dim
        width = hidden[-1] if hidden else self.n_pixels
        self.encoder = (nn.Sequential(*_mlp((self.n_pixels, *hidden)), nn.ReLU())
                        if hidden else nn.Identity())  # (B, 784) -> (B, H)
        self.fc_mu = nn.Linear(width, latent_dim)  # (B, H) -> (B, D), no activation
        self.fc_logvar = nn.Linear(width, latent_dim)  # (B, H) -> (B, D), no activation
        self.decoder = _mlp((latent_dim, *hidden[::-1], self.n_pixels))  # (B, D) -> (B, 784)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Images ``(B, 1, 28, 28)`` (or ``(B, 784)``) -> ``(mu, logvar)``, each ``(B, D)``."""
        _check_images(x, self.n_pixels, _weight(self))
        h = self.encoder(x.flatten(1))  # (B, 784) -> (B, H)
        return self.fc_mu(h), self.fc_logvar(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latent codes ``z`` ``(B, D)`` -> logits ``(B, 1, 28, 28)``."""
        _check_codes(z, self.latent_dim, _weight(self))
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

        Raises:
            TypeError: ``n`` is not an integer, ``temperature`` not a number, or
                ``generator`` not a ``torch.Generator``.
            ValueError: ``n < 1``, ``temperature`` negative or not finite, or a generator
                on another device than the model.
        """
        if not _is_int(n):
            raise TypeError(f"n (the number of images) must be an integer; got {n!r}.")
        if n < 1:
            raise ValueError(f"n must be at least 1; got {n}.")
        if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real):
            raise TypeError(f"temperature must be a number; got {_type_name(temperature)}.")
        if not math.isfinite(temperature) or temperature < 0:
            raise ValueError(f"temperature must be a finite number >= 0 (1.0 samples the "
                             f"prior); got {temperature!r}.")
        weight = next(self.parameters())
        device = weight.device
        if generator is not None:
            if not isinstance(generator, torch.Generator):
                raise TypeError(f"generator must be a torch.Generator; got "
                                f"{_type_name(generator)}.")
            if generator.device.type != device.type:
                raise ValueError(f"the generator is on {generator.device.type} but the model is "
                                 f"on {device}: make it with torch.Generator(device=device)"
                                 ".manual_seed(seed).")
        z = torch.randn(n, self.latent_dim, generator=generator, device=device,
                        dtype=weight.dtype) * temperature
        return torch.sigmoid(self.decode(z))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, *, use_mean: bool = True) -> torch.Tensor:
        """Pixel probabilities ``(B, 1, 28, 28)`` of decoding ``x``'s code.

        ``use_mean=True`` decodes ``mu`` (the usual picture); ``False`` decodes a sample.
        """
        mu, logvar = self.encode(x)
        z = mu if use_mean else reparameterize(mu, logvar)
        return torch.sigmoid(self.decode(z))
