"""A conditional VAE: encoder and decoder both see the digit's label, one-hot.

Sohn, Lee and Yan 2015, "Learning Structured Output Representation using Deep
Conditional Generative Models" (NeurIPS), Section 3: a conditional VAE bounds the
log-likelihood of an output given a condition,

    log p(x | y) >= E_{q(z|x,y)}[ log p(x | z, y) ] - KL( q(z | x, y) || p(z | y) ),

with a recognition network ``q(z|x,y)``, a prior network ``p(z|y)`` and a generation
network ``p(x|z,y)``. Here the condition ``y`` is the digit class and the output ``x`` the
image; as in Kingma, Rezende, Mohamed and Welling 2014, "Semi-Supervised Learning with
Deep Generative Models" (model M2 with its label observed), and in the Pyro and
TensorFlow conditional-VAE examples, the prior does not depend on the label:
``p(z | y) = N(0, I)``. The loss is then the usual negative ELBO (reconstruction plus the
closed-form KL of :func:`vae_utils.losses.elbo_loss`), and ``z`` is free to carry what the
label does not: the style of the handwriting.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .models import IMAGE_SHAPE, VAE, _check_codes, _check_images, _mlp, _weight, reparameterize

__all__ = ["ConditionalVAE"]

_INT_DTYPES = (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8)


class ConditionalVAE(VAE):
    """A VAE conditioned on the digit label: ``q(z | x, y)`` and ``p(x | z, y)``.

    The label ``y`` enters both networks as a one-hot vector of ``num_classes`` entries,
    concatenated to the input (Sohn, Lee and Yan 2015, Section 3; the prior is
    ``N(0, I)``, see the module's docstring)::

        encoder: [x flattened (B, 784), one_hot(y) (B, C)] (B, 784 + C)
                 -> hidden_dims with ReLU -> (B, H)
                 -> fc_mu, fc_logvar: Linear(H, D)      -> (B, D) each
        decoder: [z (B, D), one_hot(y) (B, C)] (B, D + C)
                 -> reversed hidden_dims with ReLU -> Linear(., 784) -> logits (B, 1, 28, 28)

    ``conditional = True`` tells :func:`vae_utils.fit`, :func:`vae_utils.evaluate` and
    :func:`vae_utils.iwae_bound` to pass the labels (``y_train=``, ``y_test=``, ``y=``).
    Checkpoints store ``latent_dim``, ``hidden_dims`` and ``num_classes``.

    Args:
        latent_dim: size ``D`` of ``z``.
        hidden_dims: hidden layer sizes of the encoder (the decoder uses them reversed).
        num_classes: number of classes ``C`` (10 digits).

    Raises:
        ValueError: non-positive sizes, or ``num_classes`` < 2.
    """

    conditional = True

    def __init__(self, latent_dim: int = 2, hidden_dims: Sequence[int] = (400,),
                 num_classes: int = 10) -> None:
        nn.Module.__init__(self)  # not VAE.__init__: the input sizes differ
        hidden = self._set_sizes(latent_dim, hidden_dims)
        if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 2:
            raise ValueError(f"num_classes must be an integer >= 2; got {num_classes!r}.")
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

    def one_hot(self, y: torch.Tensor | int, n: int) -> torch.Tensor:
        """Check labels and return them one-hot, float ``(n, C)`` on the model's device.

        Args:
            y: int64 ``(n,)`` labels in ``0 .. C-1`` (any integer dtype), or one ``int``
                for all ``n`` rows.
            n: the batch size the labels must match.

        Raises:
            ValueError: ``y`` missing, of the wrong shape, or out of range.
            TypeError: ``y`` is not an integer tensor or ``int``.
        """
        device = next(self.parameters()).device
        dtype = next(self.parameters()).dtype
        if y is None:
            raise ValueError(f"a {type(self).__name__} is conditioned on the digit label: "
                             "pass y, int64 labels (B,) such as data.y_test[:B], or one int "
                             "for every image.")
        if isinstance(y, int) and not isinstance(y, bool):
            y = torch.full((n,), y, dtype=torch.int64, device=device)
        if not isinstance(y, torch.Tensor) or y.dtype not in _INT_DTYPES:
            raise TypeError(f"y must hold integer class labels (an int64 tensor or an int); "
                            f"got {getattr(y, 'dtype', type(y).__name__)}. Use data.y_train "
                            "/ data.y_test, or torch.tensor(labels).")
        if y.dim() != 1 or len(y) != n:
            raise ValueError(f"y must have shape ({n},), one label per row; got "
                             f"{tuple(y.shape)}.")
        if n and (int(y.min()) < 0 or int(y.max()) >= self.num_classes):
            raise ValueError(f"labels must lie in 0..{self.num_classes - 1}; got values from "
                             f"{int(y.min())} to {int(y.max())}.")
        return F.one_hot(y.to(device, torch.int64), self.num_classes).to(dtype)  # (n, C)

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
        _check_images(x, self.n_pixels, _weight(self))
        h = torch.cat((x.flatten(1), self.one_hot(y, len(x))), dim=1)  # (B, 784 + C)
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
        _check_codes(z, self.latent_dim, _weight(self))
        h = torch.cat((z, self.one_hot(y, len(z))), dim=1)  # (B, D) + (B, C) -> (B, D + C)
        return self.decoder(h).view(-1, *IMAGE_SHAPE)  # (B, 784) -> (B, 1, 28, 28)

    def forward(self, x: torch.Tensor, y: torch.Tensor | int | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns ``(logits, mu, logvar)``, with ``z`` sampled from ``q(z | x, y)``."""
        mu, logvar = self.encode(x, y)
        z = reparameterize(mu, logvar)  # (B, D)
        return self.decode(z, y), mu, logvar

    @torch.no_grad()
    def sample(self, n: int, y: torch.Tensor | int | None = None, *, temperature: float = 1.0,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """Generate ``n`` images of the given classes: ``z ~ N(0, temperature^2 I)``, decode
        with the labels.

        Args:
            n: number of images.
            y: one ``int`` (every image of that class) or int64 ``(n,)`` labels.
            temperature: scale of ``z``.
            generator: optional ``torch.Generator`` on the model's device.

        Returns:
            Pixel probabilities, float ``(n, 1, 28, 28)`` in [0, 1].

        Raises:
            TypeError: ``n`` is not an integer, or the labels are not integers.
            ValueError: ``n`` < 1; labels missing, of the wrong shape or out of range.
        """
        if not isinstance(n, int) or isinstance(n, bool):
            raise TypeError(f"n (the number of images) must be an integer; got {n!r}.")
        if n < 1:
            raise ValueError(f"n must be at least 1; got {n}.")
        device = next(self.parameters()).device
        z = torch.randn(n, self.latent_dim, generator=generator, device=device) * temperature
        return torch.sigmoid(self.decode(z, y))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, y: torch.Tensor | int | None = None, *,
                    use_mean: bool = True) -> torch.Tensor:
        """Pixel probabilities ``(B, 1, 28, 28)`` of decoding ``x``'s code with its label
        ``y`` (``use_mean=True`` decodes ``mu``; ``False`` a sample)."""
        mu, logvar = self.encode(x, y)
        z = mu if use_mean else reparameterize(mu, logvar)
        return torch.sigmoid(self.decode(z, y))
