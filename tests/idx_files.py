"""Write MNIST's idx files, for tests that need a small MNIST folder without a network.

The idx format (LeCun et al., the MNIST page): a big-endian header (magic number 2051 for
images, 2049 for labels, then one 32-bit size per dimension), then the uint8 data.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np


def write_idx(path: str | os.PathLike, array: np.ndarray) -> Path:
    """Write a uint8 array as an idx file: images ``(N, 28, 28)`` (magic 2051) or labels
    ``(N,)`` (magic 2049), N >= 1; ``ValueError`` for what ``load_mnist`` would refuse."""
    array = np.asarray(array)
    if array.dtype != np.uint8:
        raise ValueError(f"idx data must be uint8; got {array.dtype}.")
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
