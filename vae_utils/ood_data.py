"""Out-of-distribution (OOD) image sets for a VAE trained on MNIST, with or without internet.

:func:`load_ood_sets` gathers inputs that are *not* MNIST digits, all as float32
``(N, 1, 28, 28)`` in ``[0, 1]`` like :func:`vae_utils.data.load_mnist`'s images:

* **Fashion-MNIST** test images (Xiao, Rasul and Vollgraf 2017), from
  ``torchvision.datasets.FashionMNIST``, kept in the same data folder as MNIST
  (:func:`vae_utils.default_data_dir`) and downloaded once when missing. Skipped,
  without looking, when the environment variable ``VAE_OFFLINE`` is set (to anything but
  ``0``), and skipped with the reason recorded when it cannot be downloaded;
* **sklearn digits**: the 1,797 handwritten digits of ``sklearn.datasets.load_digits``
  (8 x 8 pixels, grey levels 0-16, written by other people than MNIST's), scaled to
  ``[0, 1]``, resized to 20 x 20 with bilinear interpolation
  (``torchvision.transforms.v2.functional.resize``) and padded with 4 background pixels
  on every side to 28 x 28, as MNIST centres its 20 x 20 digits in a 28 x 28 field;
* **uniform noise**: every pixel ``U(0, 1)``;
* **Bernoulli noise**: every pixel 1 with probability ``p`` (by default the MNIST test
  digits' mean pixel value: as much ink as a digit, scattered at random);
* **inverted digits**: ``1 - x`` of MNIST test digits (white ink on black becomes black
  on white: mostly "on" pixels);
* **rotated digits**: MNIST test digits turned 90 degrees anticlockwise
  (``torch.rot90``);
* **small digits**: MNIST test digits shrunk to 10 x 10 (``resize``, bilinear with
  antialiasing) in the middle of an empty 28 x 28 field: a set that is mostly
  background.

The sets need no network except Fashion-MNIST; :meth:`OODSets.summary` says which sets
were used and why Fashion-MNIST was or was not among them.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import NamedTuple

import torch

from . import _checks, _env, data

__all__ = [
    "FashionMNISTUnavailable",
    "OODSets",
    "bernoulli_noise",
    "invert",
    "load_fashion_mnist",
    "load_ood_sets",
    "rotate90",
    "shrink",
    "sklearn_digits_28x28",
    "uniform_noise",
]

#: Raw files that ``torchvision.datasets.FashionMNIST`` keeps under ``<root>/FashionMNIST/raw``.
_FASHION_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                  "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


class FashionMNISTUnavailable(RuntimeError):
    """Fashion-MNIST is not in the data folder and could not be downloaded (or
    ``VAE_OFFLINE`` is set)."""


def load_fashion_mnist(data_dir: str | os.PathLike | None = None, *, train: bool = False,
                       download: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Fashion-MNIST images and labels via ``torchvision.datasets.FashionMNIST``.

    Xiao, Rasul and Vollgraf 2017, "Fashion-MNIST: a Novel Image Dataset for
    Benchmarking Machine Learning Algorithms": 60,000 / 10,000 grey 28 x 28 images of 10
    kinds of clothing, in MNIST's file format.

    Args:
        data_dir: the folder that holds ``FashionMNIST/raw``; defaults to
            :func:`vae_utils.default_data_dir`, the folder MNIST uses.
        train: the 60,000 training images instead of the 10,000 test images.
        download: let torchvision download the files when they are missing.

    Returns:
        ``(x, y)``: float32 ``(N, 1, 28, 28)`` in ``[0, 1]`` and int64 ``(N,)`` labels.

    Raises:
        FashionMNISTUnavailable: ``VAE_OFFLINE`` is set (nothing is looked for), or the
            files are missing and ``download=False`` or the download failed; the message
            says why.
    """
    if _env.offline():
        raise FashionMNISTUnavailable(f"VAE_OFFLINE={_env.offline_value()} is set, so "
                                      "Fashion-MNIST was not looked for or downloaded")
    from torchvision.datasets import FashionMNIST

    root = Path(data_dir).expanduser() if data_dir is not None else _env.data_dir()
    raw = root / "FashionMNIST" / "raw"
    present = all((raw / name).is_file() for name in _FASHION_FILES)
    if not present and not download:
        raise FashionMNISTUnavailable(f"Fashion-MNIST is not in {root} and download=False")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = FashionMNIST(str(root), train=train, download=not present)
    except Exception as err:  # URLError, RuntimeError('Error downloading ...'), OSError
        lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
        detail = lines[0] if len(lines) < 2 else f"{lines[0]} ... {lines[-1]}"
        what = "could not be read" if present else "could not be downloaded"
        raise FashionMNISTUnavailable(f"Fashion-MNIST is not usable in {root}: it {what} "
                                      f"({type(err).__name__}: {detail})") from err
    x = torch.as_tensor(ds.data).unsqueeze(1).to(torch.float32).div_(255.0)  # (N, 1, 28, 28)
    return x, torch.as_tensor(ds.targets).to(torch.int64)


def sklearn_digits_28x28() -> tuple[torch.Tensor, torch.Tensor]:
    """The 1,797 digits of ``sklearn.datasets.load_digits``, made to look like MNIST's.

    The 8 x 8 images (grey levels 0-16; Alpaydin and Kaynak 1998, UCI "Optical
    Recognition of Handwritten Digits") are divided by 16, resized to 20 x 20 with
    bilinear interpolation (``torchvision.transforms.v2.functional.resize``), clamped
    to ``[0, 1]`` and padded with 4 zero pixels on every side, as MNIST centres each
    digit's 20 x 20 box in a 28 x 28 field.

    Returns:
        ``(x, y)``: float32 ``(1797, 1, 28, 28)`` in ``[0, 1]`` and int64 ``(1797,)``
        labels 0-9.
    """
    from sklearn.datasets import load_digits
    from torchvision.transforms.v2 import InterpolationMode
    from torchvision.transforms.v2 import functional as TF

    digits = load_digits()
    x = torch.as_tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0  # (N, 1, 8, 8)
    x = TF.resize(x, [20, 20], interpolation=InterpolationMode.BILINEAR, antialias=True)
    x = TF.pad(x.clamp(0.0, 1.0), [4, 4, 4, 4], fill=0.0)  # (N, 1, 28, 28)
    return x.contiguous(), torch.as_tensor(digits.target, dtype=torch.int64)


def uniform_noise(n: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` images of independent ``U(0, 1)`` pixels: float32 ``(n, 1, 28, 28)``."""
    return torch.rand((_checks.positive_int(n, "n"), 1, 28, 28), generator=generator)


def bernoulli_noise(n: int, p: float, *, generator: torch.Generator | None = None
                    ) -> torch.Tensor:
    """``n`` images of independent 0/1 pixels, each 1 with probability ``p``.

    Returns:
        float32 ``(n, 1, 28, 28)`` holding only 0.0 and 1.0.

    Raises:
        TypeError: ``p`` is not a number.
        ValueError: ``p`` outside ``[0, 1]`` or ``n`` not a positive integer.
    """
    if _checks.number(p, "p (a probability in [0, 1])") > 1.0:
        raise ValueError(f"p must be a probability in [0, 1]; got {p!r}.")
    probs = torch.full((_checks.positive_int(n, "n"), 1, 28, 28), float(p))
    return torch.bernoulli(probs, generator=generator)


def invert(x: torch.Tensor) -> torch.Tensor:
    """``1 - x``: dark ink on a white page instead of white ink on black."""
    _checks.images(x)
    return 1.0 - x


def rotate90(x: torch.Tensor) -> torch.Tensor:
    """Images turned 90 degrees anticlockwise (``torch.rot90``, exact: no interpolation)."""
    _checks.images(x)
    return torch.rot90(x, 1, dims=(2, 3)).contiguous()


def shrink(x: torch.Tensor, size: int = 10) -> torch.Tensor:
    """Images shrunk to ``size x size`` in the middle of an empty 28 x 28 field.

    ``torchvision.transforms.v2.functional.resize`` (bilinear, antialiased), then zero
    padding; the result is mostly background.

    Raises:
        ValueError: ``size`` not in ``1..28``, or ``x`` not images in ``[0, 1]``.
    """
    _checks.images(x)
    if not _checks.is_int(size) or not 1 <= size <= 28:
        raise ValueError(f"size must be an integer from 1 to 28; got {size!r}.")
    from torchvision.transforms.v2 import InterpolationMode
    from torchvision.transforms.v2 import functional as TF

    small = TF.resize(x, [size, size], interpolation=InterpolationMode.BILINEAR, antialias=True)
    before = (28 - size) // 2
    after = 28 - size - before
    return TF.pad(small.clamp(0.0, 1.0), [before, before, after, after], fill=0.0).contiguous()


class OODSets(NamedTuple):
    """What :func:`load_ood_sets` returns.

    Attributes:
        sets: name -> float32 ``(n, 1, 28, 28)`` in ``[0, 1]``, in a fixed order
            (Fashion-MNIST first when it is there).
        descriptions: name -> one line saying what the set is.
        fashion: ``True`` when Fashion-MNIST is among the sets.
        fashion_note: why Fashion-MNIST is or is not among them.
        binarize: the binarisation applied to every set (``None``, ``"threshold"`` or
            ``"dynamic"``), as in :func:`vae_utils.data.load_mnist`.
    """

    sets: dict[str, torch.Tensor]
    descriptions: dict[str, str]
    fashion: bool
    fashion_note: str
    binarize: str | None = None

    def summary(self) -> str:
        """Lines for a notebook's output: which sets, how many images, and Fashion-MNIST."""
        pixels = {None: "grey levels", "threshold": "binarised at 0.5",
                  "dynamic": "binarised once (one Bernoulli draw per pixel)"}[self.binarize]
        lines = [f"Out-of-distribution sets ({pixels}):"]
        lines += [f"  {name:<16} {len(x):>6,} images: {self.descriptions[name]}"
                  for name, x in self.sets.items()]
        lines.append(f"Fashion-MNIST: {'used' if self.fashion else 'not used'} "
                     f"({self.fashion_note}).")
        return "\n".join(lines)


def load_ood_sets(x_test: torch.Tensor, n: int = 1000, *,
                  data_dir: str | os.PathLike | None = None, download: bool = True,
                  fashion: bool = True, binarize: str | None = None, seed: int = 0,
                  bernoulli_p: float | None = None) -> OODSets:
    """The out-of-distribution sets of notebook 07, ``n`` images each where possible.

    Fashion-MNIST (when ``fashion`` and it can be had: see :func:`load_fashion_mnist`;
    otherwise the reason is recorded and the other sets are used), sklearn digits,
    uniform noise, Bernoulli noise, inverted, rotated and small MNIST test digits (see
    the module docstring for how each is made).

    Args:
        x_test: MNIST test images, float ``(N, 1, 28, 28)`` in ``[0, 1]``; the first
            ``n`` are transformed (inverted, rotated, shrunk), and their mean pixel value
            is the default ``bernoulli_p``.
        n: images per set (at most 1,797 for sklearn digits, and at most ``len(x_test)``
            for the transformed digits).
        data_dir, download: where Fashion-MNIST is kept and whether it may be
            downloaded (see :func:`load_fashion_mnist`).
        fashion: try Fashion-MNIST at all.
        binarize: ``None`` keeps grey levels; ``"threshold"`` or ``"dynamic"`` (one
            Bernoulli draw per pixel, seeded) binarises every set, as ``load_mnist``
            binarises the test digits: score OOD sets the way the test set is scored.
        seed: seed of the noise, of the choice of sklearn and Fashion-MNIST images and of
            the dynamic binarisation.
        bernoulli_p: pixel probability of the Bernoulli noise; default the mean pixel
            value of ``x_test``.

    Returns:
        :class:`OODSets`.

    Raises:
        TypeError, ValueError: ``x_test`` not float images in ``[0, 1]``, ``n`` not a
            positive integer, unknown ``binarize``.
    """
    _checks.images(x_test, "x_test")
    n = _checks.positive_int(n, "n")
    if binarize not in (None, "threshold", "dynamic"):
        raise ValueError(f"binarize must be None, 'threshold' or 'dynamic'; got {binarize!r}.")
    g = torch.Generator().manual_seed(seed)
    p = float(x_test.mean()) if bernoulli_p is None else float(bernoulli_p)
    digits = x_test[:n]
    sets: dict[str, torch.Tensor] = {}
    descriptions: dict[str, str] = {}

    used_fashion, note = False, "not asked for (fashion=False)"
    if fashion:
        try:
            xf, _ = load_fashion_mnist(data_dir, train=False, download=download)
        except FashionMNISTUnavailable as err:
            note = str(err)
        else:
            sets["fashion_mnist"] = xf[torch.randperm(len(xf), generator=g)[:n]]
            descriptions["fashion_mnist"] = "Fashion-MNIST test images (clothing)"
            used_fashion, note = True, "torchvision.datasets.FashionMNIST, test split"

    xs, _ = sklearn_digits_28x28()
    sets["sklearn_digits"] = xs[torch.randperm(len(xs), generator=g)[:n]]
    descriptions["sklearn_digits"] = ("sklearn's 8x8 handwritten digits, resized to 20x20 "
                                      "and padded to 28x28")
    sets["uniform_noise"] = uniform_noise(n, generator=g)
    descriptions["uniform_noise"] = "every pixel U(0, 1)"
    sets["bernoulli_noise"] = bernoulli_noise(n, p, generator=g)
    descriptions["bernoulli_noise"] = f"every pixel 1 with probability {p:.2f} (the digits' mean)"
    sets["inverted"] = invert(digits)
    descriptions["inverted"] = "MNIST test digits, 1 - x"
    sets["rotated"] = rotate90(digits)
    descriptions["rotated"] = "MNIST test digits turned 90 degrees"
    sets["small_digits"] = shrink(digits, 10)
    descriptions["small_digits"] = "MNIST test digits shrunk to 10x10 in an empty field"

    if binarize is not None:
        gb = torch.Generator().manual_seed(seed)
        sets = {name: data.binarize(x, binarize, generator=gb) for name, x in sets.items()}
    return OODSets(sets, descriptions, used_fashion, note, binarize)
