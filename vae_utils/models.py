"""The course's models and the one protocol they share.

Every model maps images ``x`` (and, for a conditional model, labels ``y``) to the logits
of Bernoulli pixels through a latent code ``z``:

* :class:`Autoencoder`: a deterministic code, ``encode(x) -> z``; its objective is the
  reconstruction error alone.
* :class:`GaussianVAE`: the base of every VAE of the course. A family defines only
  ``__init__``, ``encode(x, y=None) -> (mu, logvar)``, ``decode(z, y=None) -> logits`` and
  ``config()``; the base implements, once, ``forward``, ``sample``, ``reconstruct``, the
  model's objective :meth:`~GaussianVAE.loss_terms` (the negative ELBO, Kingma and
  Welling 2014, Eq. 10) and its importance log-weights :meth:`~GaussianVAE.log_weights`
  (Burda et al. 2016, Eq. 8), which :func:`vae_utils.fit`, :func:`vae_utils.evaluate`,
  :func:`vae_utils.iwae_bound` and :func:`vae_utils.anomaly_scores` use without knowing
  the family.
* :class:`VAE`: the MLP VAE. The default sizes are those of the reference PyTorch VAE
  example (784-400-20), after Kingma and Welling 2014, "Auto-Encoding Variational
  Bayes", Appendix C.2. :class:`~vae_utils.ConvVAE` and :class:`~vae_utils.ConditionalVAE`
  are the other families.

Labels: a model with ``num_classes = None`` takes no labels and refuses a ``y``; a
conditional model (``num_classes`` set) needs one.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Literal, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from . import _checks
from ._checks import IMAGE_SHAPE, N_PIXELS
from .losses import ELBOLoss, elbo_loss, reconstruction_nll

__all__ = ["Autoencoder", "GaussianVAE", "LogWeights", "VAE", "reparameterize"]

_LOG_2PI = math.log(2.0 * math.pi)
#: (image, code) pairs per decoder call of :meth:`GaussianVAE.log_weights` by default:
#: 2,048 rows of 784 float32 logits are 6.4 MB, which stays in a CPU's cache between the
#: matrix product and the likelihood (benchmarks/README.md).
CHUNK_ROWS = 2048


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
    _checks.gaussian_params(mu, logvar, batch=False)
    std = torch.exp(0.5 * logvar)
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


def _latent_dim(latent_dim: object) -> int:
    if not _checks.is_int(latent_dim):
        raise TypeError(f"latent_dim must be an integer such as 20; got {latent_dim!r}.")
    if latent_dim < 1:
        raise ValueError(f"latent_dim must be a positive integer; got {latent_dim!r}.")
    return int(latent_dim)


def _sizes(name: str, sizes: object, example: str, length: int | None = None) -> tuple[int, ...]:
    """A sequence of positive ints (``hidden_dims``, ``channels``) as a tuple of ints."""
    if isinstance(sizes, str | bytes) or not hasattr(sizes, "__iter__"):
        raise TypeError(f"{name} must be a sequence of ints such as {example}; got {sizes!r}. "
                        f"For one hidden layer of 400 units write hidden_dims=(400,) (the comma "
                        "makes it a tuple)." if name == "hidden_dims" else
                        f"{name} must be two integers (C1, C2) such as {example}; got {sizes!r}.")
    values = tuple(sizes)
    if not all(_checks.is_int(v) for v in values):
        raise TypeError(f"{name} must be a sequence of ints such as {example}; got {sizes!r}.")
    if not all(v > 0 for v in values) or (length is not None and len(values) != length):
        count = f"{length} " if length is not None else ""
        raise ValueError(f"{name} must be {count}positive integers; got {sizes!r}.")
    return tuple(int(v) for v in values)


class LogWeights(NamedTuple):
    """One chunk of :meth:`GaussianVAE.log_weights`: ``s`` codes of each of ``b`` images.

    Attributes:
        log_px: ``log p(x | z_i)``, float ``(b, s)`` in nats.
        log_pz_minus_log_qz: ``log p(z_i) - log q(z_i | x)``, float ``(b, s)`` in nats.
    The importance log-weight is their sum.
    """

    log_px: torch.Tensor
    log_pz_minus_log_qz: torch.Tensor


class _Model(nn.Module):
    """What every model of the course shares: the input checks, the labels, the config."""

    n_pixels = N_PIXELS
    #: ``None``: the model takes no labels; an int: a conditional model with that many classes.
    num_classes: int | None = None

    def config(self) -> dict:  # pragma: no cover - every family defines its own
        """Constructor arguments, stored in checkpoints so a model can be rebuilt."""
        raise NotImplementedError

    def _weight(self) -> torch.Tensor:
        return next(self.parameters())

    def _check_x(self, x: torch.Tensor) -> None:
        """Images ``(B, 1, 28, 28)`` or ``(B, 784)`` of the model's dtype and device (the
        values are not read: no host synchronisation)."""
        _checks.model_input(x, self._weight(), "x", images=True)
        if x.dim() < 2 or x[0].numel() != self.n_pixels:
            raise ValueError(f"expected images of shape (B, 1, 28, 28) or (B, {self.n_pixels}); "
                             f"got {tuple(x.shape)}. Add a batch dimension with x.unsqueeze(0) "
                             "for a single image.")

    def _check_z(self, z: torch.Tensor) -> None:
        """Codes ``(B, latent_dim)`` of the model's dtype and device."""
        _checks.model_input(z, self._weight(), "z", images=False)
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must have shape (B, {self.latent_dim}); got {tuple(z.shape)}. "
                             "For one code write z.unsqueeze(0) (or z.view(1, -1)).")

    def condition(self, y: torch.Tensor | int | None, n: int) -> torch.Tensor | None:
        """The labels of ``n`` rows as the networks take them: ``None`` for a model without
        labels (which refuses a ``y``), else one-hot, float ``(n, num_classes)`` in the
        model's dtype and on its device.

        Args:
            y: int64 labels ``(n,)`` (any integer dtype), or one ``int`` for every row.
            n: the number of rows.

        Raises:
            ValueError: labels given to a model without labels, missing for a conditional
                model, of the wrong shape or out of range.
            TypeError: labels that are not integers.
        """
        if self.num_classes is None:
            _checks.labels(y, n, None)
            return None
        weight = self._weight()
        if _checks.is_int(y):
            y = torch.full((n,), int(y), dtype=torch.int64, device=weight.device)
        if not _checks.is_compiling():
            _checks.labels(y, n, self.num_classes)
        return F.one_hot(y.to(weight.device, torch.int64), self.num_classes).to(weight.dtype)

    @property
    def conditional(self) -> bool:
        """Whether the model takes labels (``num_classes`` is set)."""
        return self.num_classes is not None


class Autoencoder(_Model):
    """A plain (deterministic) autoencoder: ``x -> z -> logits``.

    Encoder ``784 -> hidden_dims -> latent_dim`` with ReLU between layers and a linear
    code; the decoder mirrors it and returns logits (apply ``torch.sigmoid`` for pixel
    intensities). Its objective (:meth:`loss_terms`) is the reconstruction error alone.

    Args:
        latent_dim: size ``D`` of the code ``z``.
        hidden_dims: hidden layer sizes of the encoder, a sequence of ints such as
            ``(400,)`` (the decoder uses them reversed).

    Raises:
        TypeError: ``latent_dim`` is not an integer, or ``hidden_dims`` is not a sequence
            of integers (``Autoencoder(2, 400)`` instead of ``(400,)``).
        ValueError: non-positive sizes.

    Calling the model (``model(x)``, ``encode``, ``decode``) raises ``TypeError`` for an
    input that is not a float tensor of the model's dtype, ``ValueError`` for a wrong
    shape and ``RuntimeError`` for another device; it does not read the values (no host
    synchronisation), so it does not check ``[0, 1]``.
    """

    def __init__(self, latent_dim: int = 20, hidden_dims: Sequence[int] = (400,)) -> None:
        super().__init__()
        self.latent_dim = latent_dim = _latent_dim(latent_dim)
        self.hidden_dims = hidden = _sizes("hidden_dims", hidden_dims, "(400,)")
        self.encoder = _mlp((self.n_pixels, *hidden, latent_dim))  # (B, 784) -> (B, D)
        self.decoder = _mlp((latent_dim, *hidden[::-1], self.n_pixels))  # (B, D) -> (B, 784)

    def config(self) -> dict:
        """Constructor arguments, stored in checkpoints so a model can be rebuilt."""
        return {"latent_dim": self.latent_dim, "hidden_dims": list(self.hidden_dims)}

    def encode(self, x: torch.Tensor, y: None = None) -> torch.Tensor:
        """Images ``(B, 1, 28, 28)`` (or ``(B, 784)``) in [0, 1] -> codes ``z`` ``(B, D)``."""
        self._check_x(x)
        self.condition(y, len(x))
        return self.encoder(x.flatten(1))  # (B, 784) -> (B, D)

    def decode(self, z: torch.Tensor, y: None = None) -> torch.Tensor:
        """Codes ``z`` ``(B, D)`` -> logits ``(B, 1, 28, 28)``."""
        self._check_z(z)
        self.condition(y, len(z))
        return self.decoder(z).view(-1, *IMAGE_SHAPE)  # (B, D) -> (B, 784) -> (B, 1, 28, 28)

    def forward(self, x: torch.Tensor, y: None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns ``(logits, z)``: logits ``(B, 1, 28, 28)`` and codes ``(B, D)``."""
        z = self.encode(x, y)
        return self.decode(z, y), z

    def loss_terms(self, x: torch.Tensor, y: None = None, *,
                   likelihood: Literal["bernoulli", "gaussian"] = "bernoulli",
                   sigma: float = 1.0) -> ELBOLoss:
        """The autoencoder's objective on a batch: ``(loss, recon, kl)`` in nats per image,
        with ``loss = recon`` (the reconstruction negative log-likelihood of
        :func:`vae_utils.losses.reconstruction_nll`, batch mean) and ``kl = 0``."""
        logits, _ = self(x, y)
        recon = reconstruction_nll(logits, x, likelihood=likelihood, sigma=sigma).mean()
        return ELBOLoss(recon, recon, torch.zeros((), dtype=recon.dtype, device=recon.device))

    def log_weights(self, *args, **kwargs):
        """An autoencoder has no ``q(z|x)``: raises ``TypeError``."""
        raise TypeError("an Autoencoder has no q(z|x), so it has no KL, ELBO or likelihood "
                        "bound: train a vu.VAE for those, and use vu.evaluate for the "
                        "autoencoder's reconstruction error.")


class GaussianVAE(_Model):
    """The base of every VAE of the course: a diagonal Gaussian ``q(z|x)``, the prior
    ``N(0, I)`` and Bernoulli pixels (Kingma and Welling 2014, Appendix C.2).

    A family subclasses it and defines ``__init__`` (calling ``super().__init__()`` and
    setting ``latent_dim``), ``encode(x, y=None) -> (mu, logvar)``,
    ``decode(z, y=None) -> logits`` and ``config()``. Everything else is here, once:
    ``forward``, :meth:`sample`, :meth:`reconstruct`, the objective :meth:`loss_terms`
    and the importance log-weights :meth:`log_weights`.

    ``forward`` always samples ``z`` with :func:`reparameterize`, in training and in
    evaluation mode alike; ask for the mean explicitly (``encode(x)[0]``, or
    ``reconstruct(x, use_mean=True)``) when a figure wants it.
    """

    latent_dim: int

    def encode(self, x: torch.Tensor, y: torch.Tensor | int | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:  # pragma: no cover - abstract
        """Images (and labels) -> ``(mu, logvar)`` of ``q(z|x)``, each ``(B, D)``."""
        raise NotImplementedError

    def decode(self, z: torch.Tensor, y: torch.Tensor | int | None = None
               ) -> torch.Tensor:  # pragma: no cover - abstract
        """Codes ``(B, D)`` (and labels) -> logits ``(B, 1, 28, 28)`` of ``p(x|z)``."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor, y: torch.Tensor | int | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns ``(logits, mu, logvar)`` with ``z`` sampled from ``q(z|x)`` (any mode)."""
        mu, logvar = self.encode(x, y)
        z = reparameterize(mu, logvar)  # (B, D)
        return self.decode(z, y), mu, logvar

    def loss_terms(self, x: torch.Tensor, y: torch.Tensor | None = None, *,
                   likelihood: Literal["bernoulli", "gaussian"] = "bernoulli",
                   sigma: float = 1.0) -> ELBOLoss:
        """The model's objective on a batch: the negative ELBO with one sampled ``z`` per
        image, ``(loss, recon, kl)`` in nats per image (batch means, ``beta = 1``; a
        trainer weights ``kl`` by its own ``beta``). Kingma and Welling 2014, Eq. 10; see
        :func:`vae_utils.losses.elbo_loss`. The values of ``x`` are not checked here."""
        logits, mu, logvar = self(x, y)
        return elbo_loss(logits, x, mu, logvar, likelihood=likelihood, sigma=sigma,
                         validate=False)

    def log_weights(self, x: torch.Tensor, k: int, y: torch.Tensor | None = None, *,
                    likelihood: Literal["bernoulli", "gaussian"] = "bernoulli",
                    sigma: float = 1.0, eps: torch.Tensor | None = None,
                    generator: torch.Generator | None = None,
                    max_rows: int = CHUNK_ROWS) -> Iterator[LogWeights]:
        """The importance log-weights of ``k`` codes per image, decoded in chunks.

        ``log w_i = log p(x|z_i) + log p(z_i) - log q(z_i|x)`` with ``z_i = mu + sigma *
        eps_i`` drawn from ``q(z|x)`` and ``p(z) = N(0, I)``: the terms inside the IWAE
        bound (Burda, Grosse and Salakhutdinov 2016, Eq. 8). The ``b * k`` (image, code)
        pairs go through the decoder ``max_rows`` at a time (all ``b`` images, a slice of
        their codes), so memory is bounded whatever ``k``. With ``eps ~ N(0, I)`` the
        Gaussian terms simplify: ``log p(z) - log q(z|x) = sum_d (eps_d^2 - z_d^2 +
        logvar_d) / 2`` (the ``2 pi`` cancels).

        Args:
            x: images ``(b, 1, 28, 28)`` on the model's device and in its dtype (values
                in ``[0, 1]``, not checked here).
            k: codes per image, >= 1.
            y: int64 labels ``(b,)`` for a conditional model.
            likelihood, sigma: the decoder's likelihood, as in
                :func:`vae_utils.losses.elbo_loss`.
            eps: optional standard normal noise ``(b, k, D)`` to use instead of fresh
                draws (reproducible scores whatever the batching).
            generator: optional ``torch.Generator`` on the model's device for the draws.
            max_rows: (image, code) pairs per decoder call.

        Yields:
            :class:`LogWeights` ``(log_px, log_pz_minus_log_qz)``, each ``(b, s)`` in nats,
            for consecutive slices of ``s`` codes (image-major within a chunk).
        """
        mu, logvar = self.encode(x, y)  # (b, D) each
        b, d = mu.shape
        x_flat = x.reshape(b, -1)  # (b, P)
        std = torch.exp(0.5 * logvar)
        codes = max(1, min(k, max_rows // max(b, 1)))  # codes per image per decoder call
        for start in range(0, k, codes):
            s = min(codes, k - start)
            e = (eps[:, start:start + s] if eps is not None else
                 torch.randn((b, s, d), generator=generator, dtype=mu.dtype, device=mu.device))
            z = torch.addcmul(mu.unsqueeze(1), std.unsqueeze(1), e)  # (b, s, D)
            y_rows = y.repeat_interleave(s) if isinstance(y, torch.Tensor) else y
            logits = self.decode(z.reshape(b * s, d), y_rows).reshape(b, s, -1)  # (b, s, P)
            if likelihood == "bernoulli":
                # log Bern(x; sigmoid(l)) = x * l - softplus(l), summed over the P pixels;
                # the x * l sum of every code of an image is one batched matrix-vector product.
                log_px = torch.bmm(logits, x_flat.unsqueeze(-1)).squeeze(-1) \
                    - F.softplus(logits).sum(-1)
            else:
                sq = (x_flat.unsqueeze(1) - torch.sigmoid(logits)).square().sum(-1)  # (b, s)
                log_px = -sq / (2.0 * sigma**2) - x_flat.shape[1] * (math.log(sigma)
                                                                    + 0.5 * _LOG_2PI)
            log_pz_qz = 0.5 * ((e.square() - z.square()).sum(-1) + logvar.sum(-1, keepdim=True))
            yield LogWeights(log_px, log_pz_qz)

    @torch.no_grad()
    def sample(self, n: int, y: torch.Tensor | int | None = None, *, temperature: float = 1.0,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """Generate ``n`` images: ``z ~ N(0, temperature^2 I)``, then decode (with the labels
        ``y`` for a conditional model).

        Args:
            n: number of images (a Python or NumPy integer).
            y: for a conditional model, one ``int`` (every image of that class) or int64
                ``(n,)`` labels; ``None`` otherwise.
            temperature: scale of ``z``; 1.0 samples the prior itself.
            generator: optional ``torch.Generator`` (on the model's device) for
                reproducible samples.

        Returns:
            Pixel probabilities ``sigmoid(logits)``, float ``(n, 1, 28, 28)`` in [0, 1], in
            the model's dtype (the Bernoulli means; draw ``torch.bernoulli`` of them for
            binary images).

        Raises:
            TypeError: ``n`` is not an integer, ``temperature`` not a number, ``generator``
                not a ``torch.Generator``, or labels that are not integers.
            ValueError: ``n < 1``, ``temperature`` negative or not finite, a generator on
                another device than the model, or labels missing, given to a model without
                labels, of the wrong shape or out of range.
        """
        if not _checks.is_int(n):
            raise TypeError(f"n (the number of images) must be an integer; got {n!r}.")
        if n < 1:
            raise ValueError(f"n must be at least 1; got {n}.")
        temperature = _checks.number(temperature, "temperature",
                                     hint=" 1.0 samples the prior; 0 decodes z = 0.")
        device, dtype = _checks.device_dtype(self)
        _checks.generator(generator, device)
        z = torch.randn(int(n), self.latent_dim, generator=generator, device=device,
                        dtype=dtype) * temperature
        return torch.sigmoid(self.decode(z, y))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, y: torch.Tensor | int | None = None, *,
                    use_mean: bool = True) -> torch.Tensor:
        """Pixel probabilities ``(B, 1, 28, 28)`` of decoding ``x``'s code (with its labels
        ``y`` for a conditional model). ``use_mean=True`` decodes ``mu`` (the usual
        picture); ``False`` decodes a sample."""
        mu, logvar = self.encode(x, y)
        z = mu if use_mean else reparameterize(mu, logvar)
        return torch.sigmoid(self.decode(z, y))


class VAE(GaussianVAE):
    """A variational autoencoder with MLP networks: a diagonal Gaussian encoder and a
    Bernoulli decoder.

    Kingma and Welling 2014, "Auto-Encoding Variational Bayes", Appendix C.2: the encoder
    maps ``x`` to the mean ``mu`` and log-variance ``logvar`` of ``q(z|x)`` through two
    linear heads (no activation on either: ``mu`` can be any real number and ``logvar``
    too, since ``sigma^2 = exp(logvar)`` is then always positive). The decoder maps ``z``
    to the logits of independent Bernoulli pixels. ``forward``, ``sample``,
    ``reconstruct``, ``loss_terms`` and ``log_weights`` come from :class:`GaussianVAE`.

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
        self.latent_dim = latent_dim = _latent_dim(latent_dim)
        self.hidden_dims = hidden = _sizes("hidden_dims", hidden_dims, "(400,)")
        width = hidden[-1] if hidden else self.n_pixels
        self.encoder = (nn.Sequential(*_mlp((self.n_pixels, *hidden)), nn.ReLU())
                        if hidden else nn.Identity())  # (B, 784) -> (B, H)
        self.fc_mu = nn.Linear(width, latent_dim)  # (B, H) -> (B, D), no activation
        self.fc_logvar = nn.Linear(width, latent_dim)  # (B, H) -> (B, D), no activation
        self.decoder = _mlp((latent_dim, *hidden[::-1], self.n_pixels))  # (B, D) -> (B, 784)

    def config(self) -> dict:
        """Constructor arguments, stored in checkpoints so a model can be rebuilt."""
        return {"latent_dim": self.latent_dim, "hidden_dims": list(self.hidden_dims)}

    def encode(self, x: torch.Tensor, y: None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Images ``(B, 1, 28, 28)`` (or ``(B, 784)``) -> ``(mu, logvar)``, each ``(B, D)``."""
        self._check_x(x)
        self.condition(y, len(x))
        h = self.encoder(x.flatten(1))  # (B, 784) -> (B, H)
        return self.fc_mu(h), self.fc_logvar(h)

    def decode(self, z: torch.Tensor, y: None = None) -> torch.Tensor:
        """Latent codes ``z`` ``(B, D)`` -> logits ``(B, 1, 28, 28)``."""
        self._check_z(z)
        self.condition(y, len(z))
        return self.decoder(z).view(-1, *IMAGE_SHAPE)  # (B, D) -> (B, 784) -> (B, 1, 28, 28)
