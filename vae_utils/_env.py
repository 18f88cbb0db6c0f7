"""Every setting of the course in one place: environment variables and folders.

The lowest layer of ``vae_utils`` (it imports nothing of the package). Each setting is
read when it is asked for, so a notebook or a test may change the environment first.

======================  ==============================================================
variable                meaning
======================  ==============================================================
``VAE_DATA_DIR``        where MNIST (and Fashion-MNIST) are downloaded and read
``VAE_OFFLINE``         anything but ``0``: never try the network, use the fallback
``VAE_FIGURES_DIR``     where figures and GIFs are written
``VAE_PROGRESS``        ``0``: no progress bars (the course command sets it)
``NBGRADER_EXECUTION``  set by nbgrader while it autogrades or validates a notebook
======================  ==============================================================
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["data_dir", "figures_dir", "grading", "offline", "progress_default", "project_root"]


def _find_root(start: Path) -> Path | None:
    here = start.resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "notebooks").is_dir():
            return folder
    return None


def project_root(start: Path | str | None = None) -> Path:
    """The course checkout: the nearest folder up from ``start`` (default: the working
    directory) holding ``pyproject.toml`` and ``notebooks/``.

    Raises:
        FileNotFoundError: no such folder at or above ``start``.
    """
    here = Path(start if start is not None else Path.cwd())
    root = _find_root(here)
    if root is None:
        raise FileNotFoundError(f"no course checkout (a folder with pyproject.toml and "
                                f"notebooks/) at or above {here.resolve()}; run this from inside "
                                "the course folder.")
    return root


def data_dir() -> Path:
    """The folder MNIST is downloaded into; the same wherever a notebook runs from.

    ``$VAE_DATA_DIR`` if set, otherwise ``$XDG_CACHE_HOME/vae-course`` (by default
    ``~/.cache/vae-course``). Never inside ``notebooks/``.
    """
    env = os.environ.get("VAE_DATA_DIR")
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache).expanduser() / "vae-course"


def figures_dir() -> Path:
    """Where figures are written: ``$VAE_FIGURES_DIR`` if set, else the ``figures/``
    folder of the course checkout that contains the working directory, else
    ``./figures``."""
    env = os.environ.get("VAE_FIGURES_DIR")
    if env:
        return Path(env).expanduser()
    here = Path.cwd()
    root = _find_root(here)
    return (root if root is not None else here.resolve()) / "figures"


def offline() -> bool:
    """Whether ``VAE_OFFLINE`` asks never to use the network (set, and not ``0``)."""
    return os.environ.get("VAE_OFFLINE", "0") not in ("", "0")


def offline_value() -> str:
    """The value of ``VAE_OFFLINE``, for messages."""
    return os.environ.get("VAE_OFFLINE", "0")


def progress_default() -> bool:
    """Whether progress bars are shown by default (``VAE_PROGRESS`` is not ``0``)."""
    return os.environ.get("VAE_PROGRESS", "1") != "0"


def grading() -> bool:
    """Whether the notebook runs under nbgrader's autograder or validator: nbgrader sets
    ``NBGRADER_EXECUTION`` (``"autograde"`` or ``"validate"``) in the kernel's
    environment while it runs a notebook."""
    return bool(os.environ.get("NBGRADER_EXECUTION"))
